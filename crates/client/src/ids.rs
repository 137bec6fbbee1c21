//! Identities the client makes up: its client id (`clientIP@instanceName`, what brokers list in a
//! group and what rebalance sorts) and message unique ids (`UNIQ_KEY`,
//! `MessageClientIDSetter.createUniqID`).
//!
//! A unique id is the client's address, the low 16 bits of the pid, a per-process random int
//! (Java: its class loader's hash), the milliseconds since the month started and a counter
//! (wire's [`UniqueId`] lays out the bytes). The random parts come from std's per-process
//! `RandomState` keys, so two processes started in the same millisecond still differ.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use ferrocket_wire::message::UniqueId;
use ferrocket_wire::message::calendar::ms_since_month_start;

/// Makes `UNIQ_KEY` values; one per client, shared by its producers.
#[derive(Debug)]
pub struct UniqueIdSource {
    ip: IpAddr,
    pid: u16,
    process_random: i32,
    counter: AtomicU16,
}

impl UniqueIdSource {
    /// A source for this process, stamping ids with `ip`.
    pub fn new(ip: IpAddr) -> UniqueIdSource {
        UniqueIdSource {
            ip,
            pid: (std::process::id() & 0xFFFF) as u16,
            process_random: random_u64() as i32,
            counter: AtomicU16::new(random_u64() as u16),
        }
    }

    /// The next id at wall-clock time `now_ms`, in Java's upper-case hex.
    pub fn next(&self, now_ms: i64) -> String {
        UniqueId {
            ip: self.ip,
            pid: self.pid,
            class_loader_hash: self.process_random,
            ms_since_month_start: ms_since_month_start(now_ms),
            counter: self.counter.fetch_add(1, Ordering::Relaxed),
        }
        .to_string()
    }
}

/// A fresh instance name, `pid#n`: Java 5.x names an instance `pid#nanoTime` by default, so that
/// two clients in one process count as two members of a group.
pub fn instance_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}#{}{:08x}", std::process::id(), n, random_u64() as u32)
}

/// The client id brokers see: `ip@instance`.
pub fn client_id(ip: IpAddr, instance: &str) -> String {
    format!("{ip}@{instance}")
}

/// The address stamped into ids when the caller gives none.
pub const DEFAULT_CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A fresh random number per call (std's randomly keyed hasher): enough to spread, not a secret.
pub(crate) fn random_u64() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_decode_and_differ() {
        let source = UniqueIdSource::new(DEFAULT_CLIENT_IP);
        let first = source.next(1_700_000_000_000);
        let second = source.next(1_700_000_000_000);
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
        let decoded = UniqueId::decode(&first).unwrap();
        assert_eq!(decoded.ip, DEFAULT_CLIENT_IP);
        assert_eq!(decoded.ms_since_month_start, ms_since_month_start(1_700_000_000_000));
        assert_eq!(
            UniqueId::decode(&second).unwrap().counter,
            decoded.counter.wrapping_add(1)
        );
    }

    #[test]
    fn instance_names_are_distinct() {
        assert_ne!(instance_name(), instance_name());
        assert!(client_id(DEFAULT_CLIENT_IP, "1#x").starts_with("127.0.0.1@"));
    }
}
