//! The two message ids: the offset id (`MessageDecoder.createMessageId` / `decodeMessageId`) and
//! the client unique id carried in `UNIQ_KEY` (`MessageClientIDSetter.createUniqID`).
//!
//! ```text
//! offset id:  store ip (4 | 16) | port i32 | commit-log offset i64        -> 32 | 56 hex chars
//! unique id:  client ip (4 | 16) | pid u16 | class-loader hash i32
//!             | ms since the month started i32 | counter u16                -> 32 | 56 hex chars
//! ```
//! Both are uppercase hex of big-endian bytes; decoding also accepts lowercase, as Java upper-cases
//! first. Nothing here reads a clock, a pid or a counter: the client passes them in.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{WireError, WireResult};
use crate::reader::Reader;

/// Hex length of an id built on an IPv4 address (16 bytes).
pub const ID_HEX_LEN_V4: usize = 32;
/// Hex length of an id built on an IPv6 address (28 bytes).
pub const ID_HEX_LEN_V6: usize = 56;

/// Where a stored message lives: the broker's store host and the record's commit-log offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetMessageId {
    pub store_host: SocketAddr,
    pub physical_offset: i64,
}

impl OffsetMessageId {
    /// Parses an offset id; a 32-character id is IPv4, a 56-character one IPv6.
    pub fn decode(text: &str) -> WireResult<OffsetMessageId> {
        let bytes = decode_hex_id(text, "offset message id")?;
        let mut r = Reader::new(&bytes);
        let ip = read_ip(&mut r, bytes.len() == ID_HEX_LEN_V6 / 2)?;
        let port = r.i32()?;
        let port = u16::try_from(port).map_err(|_| WireError::BadField {
            field: "offset message id",
            value: text.to_owned(),
        })?;
        let physical_offset = r.i64()?;
        Ok(OffsetMessageId {
            store_host: SocketAddr::new(ip, port),
            physical_offset,
        })
    }
}

impl fmt::Display for OffsetMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = ip_octets(self.store_host.ip());
        bytes.extend_from_slice(&i32::from(self.store_host.port()).to_be_bytes());
        bytes.extend_from_slice(&self.physical_offset.to_be_bytes());
        f.write_str(&hex_upper(&bytes))
    }
}

/// The parts of a client unique id (`UNIQ_KEY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqueId {
    /// A local non-loopback address, or 4 pseudo-random bytes when there is none.
    pub ip: IpAddr,
    /// The low 16 bits of the process id.
    pub pid: u16,
    /// Java writes its class loader's `hashCode()`; any per-process random int serves.
    pub class_loader_hash: i32,
    /// Milliseconds since 00:00:00.000 on the 1st of the current month, local time.
    pub ms_since_month_start: i32,
    /// A per-process counter, incremented per id; only its low 16 bits are kept.
    pub counter: u16,
}

impl UniqueId {
    /// Parses a unique id; a 32-character id carries IPv4, a 56-character one IPv6.
    pub fn decode(text: &str) -> WireResult<UniqueId> {
        let bytes = decode_hex_id(text, "unique message id")?;
        let mut r = Reader::new(&bytes);
        Ok(UniqueId {
            ip: read_ip(&mut r, bytes.len() == ID_HEX_LEN_V6 / 2)?,
            pid: r.i16()? as u16,
            class_loader_hash: r.i32()?,
            ms_since_month_start: r.i32()?,
            counter: r.i16()? as u16,
        })
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = ip_octets(self.ip);
        bytes.extend_from_slice(&self.pid.to_be_bytes());
        bytes.extend_from_slice(&self.class_loader_hash.to_be_bytes());
        bytes.extend_from_slice(&self.ms_since_month_start.to_be_bytes());
        bytes.extend_from_slice(&self.counter.to_be_bytes());
        f.write_str(&hex_upper(&bytes))
    }
}

fn ip_octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn read_ip(r: &mut Reader<'_>, v6: bool) -> WireResult<IpAddr> {
    Ok(if v6 {
        IpAddr::V6(Ipv6Addr::from(r.array::<16>()?))
    } else {
        IpAddr::V4(Ipv4Addr::from(r.array::<4>()?))
    })
}

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0F] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// Hex of exactly 32 or 56 digits, either case.
fn decode_hex_id(text: &str, field: &'static str) -> WireResult<Vec<u8>> {
    let bad = || WireError::BadField {
        field,
        value: text.chars().take(ID_HEX_LEN_V6 + 8).collect(),
    };
    if text.len() != ID_HEX_LEN_V4 && text.len() != ID_HEX_LEN_V6 {
        return Err(bad());
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|value| value as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_id_worked_example_from_remoting_md() {
        let id = OffsetMessageId {
            store_host: "192.168.1.10:10911".parse().unwrap(),
            physical_offset: 0x1234,
        };
        assert_eq!(id.to_string(), "C0A8010A00002A9F0000000000001234");
        assert_eq!(OffsetMessageId::decode("C0A8010A00002A9F0000000000001234").unwrap(), id);
        assert_eq!(OffsetMessageId::decode("c0a8010a00002a9f0000000000001234").unwrap(), id);
    }

    #[test]
    fn offset_id_ipv6_round_trip() {
        let id = OffsetMessageId {
            store_host: "[2001:db8::7]:10911".parse().unwrap(),
            physical_offset: -2,
        };
        let text = id.to_string();
        assert_eq!(text.len(), ID_HEX_LEN_V6);
        assert_eq!(text, "20010DB800000000000000000000000700002A9FFFFFFFFFFFFFFFFE");
        assert_eq!(OffsetMessageId::decode(&text).unwrap(), id);
    }

    #[test]
    fn bad_ids_are_errors() {
        let good = "C0A8010A00002A9F0000000000001234";
        for cut in 0..good.len() {
            assert!(OffsetMessageId::decode(&good[..cut]).is_err(), "cut {cut}");
            assert!(UniqueId::decode(&good[..cut]).is_err(), "cut {cut}");
        }
        assert!(OffsetMessageId::decode("G0A8010A00002A9F0000000000001234").is_err());
        assert!(OffsetMessageId::decode("C0A8010A00002A9F000000000000123é").is_err());
        // Port 0x10000 does not fit.
        assert!(OffsetMessageId::decode("C0A8010A000100000000000000001234").is_err());
    }

    #[test]
    fn unique_id_layout() {
        let id = UniqueId {
            ip: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
            pid: 0x1234,
            class_loader_hash: -1,
            ms_since_month_start: 0x0102_0304,
            counter: 0xFFFE,
        };
        assert_eq!(id.to_string(), "0A0102031234FFFFFFFF01020304FFFE");
        assert_eq!(UniqueId::decode(&id.to_string()).unwrap(), id);
        let v6 = UniqueId {
            ip: "fe80::1".parse().unwrap(),
            ..id
        };
        assert_eq!(v6.to_string().len(), ID_HEX_LEN_V6);
        assert_eq!(UniqueId::decode(&v6.to_string()).unwrap(), v6);
    }
}
