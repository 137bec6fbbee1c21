//! Host names and addresses of the command line: `--host localhost` resolved to an IP to bind,
//! and the address a broker announces when none is configured, chosen as Java's
//! `NetworkUtil.getLocalInetAddress` chooses it (so remote clients get a reachable address).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use anyhow::Context;

/// `host:port` to bind: an IP as given, or a name (`localhost`) resolved, IPv4 first.
pub fn bind_addr(role: &str, host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolved: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("bad {role} host {host:?}: not an IP address or a name this machine resolves"))?
        .collect();
    resolved
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .with_context(|| format!("{role} host {host:?} resolves to no address"))
}

/// The address a broker announces (`brokerIP1`) when not configured: a specific bind address
/// itself, else the host's address as Java picks it.
pub fn default_announced(bind: IpAddr) -> String {
    match bind.is_unspecified() {
        true => local_address().to_string(),
        false => bind.to_string(),
    }
}

/// Java's choice among the host's interface addresses: skip loopback and bridge interfaces; the
/// first public IPv4 address, else the last private one; then the first public IPv6 address,
/// else the first one; `127.0.0.1` on a host with no other address.
pub fn local_address() -> IpAddr {
    let addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|interface| !is_bridge(&interface.name))
        .map(|interface| interface.ip())
        .collect();
    choose_local_address(&addresses)
}

/// The pure half of [`local_address`].
pub fn choose_local_address(addresses: &[IpAddr]) -> IpAddr {
    let usable = addresses.iter().filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = usable.partition(|ip| ip.is_ipv4());
    let public_v4 = v4.iter().find(|ip| !is_internal(ip));
    let public_v6 = v6.iter().find(|ip| !is_internal(ip));
    public_v4
        .or(v4.last())
        .or(public_v6)
        .or(v6.first())
        .copied()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Java's `isInternalIP` (10/8, 172.16/12, 192.168/16) and `isInternalV6IP` (site- and
/// link-local).
fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or_default();
            (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 || (first & 0xfe00) == 0xfc00
        }
    }
}

/// Java skips bridge interfaces (a container or VM bridge is not where clients come from).
fn is_bridge(name: &str) -> bool {
    !name.contains('/')
        && std::path::Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn the_announced_address_is_chosen_as_java_chooses_it() {
        let pick = |list: &[&str]| choose_local_address(&ips(list)).to_string();
        assert_eq!(
            pick(&["127.0.0.1", "10.0.0.5", "192.168.1.9"]),
            "192.168.1.9",
            "last private"
        );
        assert_eq!(
            pick(&["127.0.0.1", "10.0.0.5", "203.0.113.7", "10.0.0.6"]),
            "203.0.113.7"
        );
        assert_eq!(pick(&["::1", "fe80::1", "2001:db8::1"]), "2001:db8::1");
        assert_eq!(pick(&["::1", "fe80::1"]), "fe80::1");
        assert_eq!(pick(&["fe80::1", "10.1.1.1"]), "10.1.1.1", "IPv4 first");
        assert_eq!(pick(&["127.0.0.1", "::1"]), "127.0.0.1");
        assert_eq!(pick(&[]), "127.0.0.1");
    }

    #[test]
    fn names_resolve_and_a_specific_bind_address_is_announced() {
        assert_eq!(bind_addr("broker", "localhost", 7).unwrap().to_string(), "127.0.0.1:7");
        assert_eq!(bind_addr("broker", "0.0.0.0", 7).unwrap().to_string(), "0.0.0.0:7");
        assert!(bind_addr("broker", "no such host.invalid", 7).is_err());
        assert_eq!(default_announced("127.0.0.1".parse().unwrap()), "127.0.0.1");
        assert!(!default_announced("0.0.0.0".parse().unwrap()).is_empty());
    }
}
