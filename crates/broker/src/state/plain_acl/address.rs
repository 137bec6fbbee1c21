//! The address patterns of `plain_acl.yml` (`whiteRemoteAddress`, `globalWhiteRemoteAddresses`),
//! with the meaning Java 4.9.8's `RemoteAddressStrategyFactory` gives them (acl.md §6.5):
//!
//! ```text
//! (blank)                         never matches
//! *   *.*.*.*   *:*:*:*:*:*:*:*   matches every address
//! 192.168.1.{1,2,3}   a:b::{1,2}  the set of addresses the braces spell
//! 10.0.0.1,10.0.0.2               the listed addresses
//! 192.168.1.*  10.10.1-5.*  ...   the first of parts 2..4 holding `*` or `a-b` decides: the parts
//!                                 before it equal, that part in range, later parts unchecked
//! 1050::5:600:300c:1-200          IPv6: the head's groups equal (`::` fills it to seven), the
//! 1050:5:600:*                    next group in the hex range (`*`: any), later groups unchecked
//! 1050::5:600:300c:1-200:*        the same with a head of at most six groups
//! 10.0.0.1   ::1                  that address (IPv6 compared as an address, not as text)
//! ```
//!
//! Java throws at start-up for malformed patterns and we refuse them the same way, with two
//! differences, both refusals of patterns Java accepts but cannot use: a wildcard pattern without
//! a wildcard in parts 2..4 (`*.1.1.1`: Java fails every request it meets with a
//! NullPointerException), and an IPv6 range whose head ends in `::` (`1050::*`: Java expands it
//! to two groups, not seven, and compares the wrong group).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    Never,
    Any,
    /// Exact addresses (the braces, a comma list or one address).
    Set(HashSet<IpAddr>),
    /// IPv4 `head.` followed by a part in `low..=high` at index `part` (1..=3).
    Range {
        head: Vec<u8>,
        part: usize,
        low: u8,
        high: u8,
    },
    /// IPv6: the first `head.len()` groups (6 or 7) equal, the next in `low..=high`.
    Ipv6Range {
        head: Vec<u16>,
        low: u16,
        high: u16,
    },
}

/// Why a pattern was refused; the text says what is wrong with it.
pub type PatternError = String;

impl AddressPattern {
    pub fn parse(pattern: &str) -> Result<AddressPattern, PatternError> {
        if pattern.trim().is_empty() {
            return Ok(AddressPattern::Never);
        }
        if matches!(pattern, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Any);
        }
        if pattern.ends_with('}') {
            return braces(pattern);
        }
        if pattern.contains(',') {
            return set(pattern.split(',').filter(|a| !a.is_empty()));
        }
        if pattern.contains('*') || pattern.contains('-') {
            return range(pattern);
        }
        set(std::iter::once(pattern))
    }

    /// Whether `source_ip` (the client's address without its port) matches.
    pub fn matches(&self, source_ip: &str) -> bool {
        match self {
            AddressPattern::Never => false,
            AddressPattern::Any => true,
            AddressPattern::Set(addresses) => source_ip.parse::<IpAddr>().is_ok_and(|ip| addresses.contains(&ip)),
            AddressPattern::Range { head, part, low, high } => {
                let Ok(ip) = source_ip.parse::<Ipv4Addr>() else {
                    return false;
                };
                let octets = ip.octets();
                octets.get(..head.len()) == Some(head.as_slice())
                    && octets.get(*part).is_some_and(|value| (*low..=*high).contains(value))
            }
            AddressPattern::Ipv6Range { head, low, high } => {
                let Ok(ip) = source_ip.parse::<Ipv6Addr>() else {
                    return false;
                };
                let groups = ip.segments();
                groups.get(..head.len()) == Some(head.as_slice())
                    && groups
                        .get(head.len())
                        .is_some_and(|value| (*low..=*high).contains(value))
            }
        }
    }
}

fn address(text: &str) -> Result<IpAddr, PatternError> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("Netaddress examine Exception netaddress is {text}"))
}

fn set<'a>(addresses: impl Iterator<Item = &'a str>) -> Result<AddressPattern, PatternError> {
    Ok(AddressPattern::Set(addresses.map(address).collect::<Result<_, _>>()?))
}

/// `a.b.c.{x,y}` or `a:b:{x,y}`: the text before `{` followed by each listed part.
fn braces(pattern: &str) -> Result<AddressPattern, PatternError> {
    let separator = if pattern.contains(':') { ':' } else { '.' };
    let parts: Vec<&str> = pattern.split(separator).filter(|p| !p.is_empty()).collect();
    if separator == '.' && parts.len() < 4 {
        return Err(format!("{pattern}: a brace pattern needs four IPv4 parts"));
    }
    let last = parts.last().copied().unwrap_or_default();
    let (Some(open), Some(inner)) = (
        pattern.find('{'),
        last.strip_prefix('{').and_then(|l| l.strip_suffix('}')),
    ) else {
        return Err(format!("{pattern}: braces may only hold the last part"));
    };
    let head = pattern.get(..open).unwrap_or_default();
    let addresses: Vec<String> = inner
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| format!("{head}{p}"))
        .collect();
    set(addresses.iter().map(String::as_str))
}

/// `RangeRemoteAddressStrategy` for IPv4: four parts; the first of parts 1..=3 (from 0) that is
/// `*` or a range `a-b` (with `b` > 0, as Java skips `0-0`) decides; the parts before it are the
/// head and must be numbers 0..=255.
fn range(pattern: &str) -> Result<AddressPattern, PatternError> {
    if pattern.contains(':') {
        return ipv6_range(pattern);
    }
    let parts: Vec<&str> = pattern.split('.').filter(|p| !p.is_empty()).map(str::trim).collect();
    if parts.len() != 4 {
        return Err(format!("Netaddress examine scope Exception netaddress is {pattern}"));
    }
    for (part, text) in parts.iter().enumerate().skip(1) {
        let (low, high) = match *text {
            "*" => (0, 255),
            text if text.contains('-') => bounds(pattern, text)?,
            _ => continue,
        };
        if high == 0 {
            continue;
        }
        let head = parts
            .iter()
            .take(part)
            .map(|p| p.parse::<u8>())
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| format!("Netaddress examine scope Exception netaddress is {pattern}"))?;
        return Ok(AddressPattern::Range { head, part, low, high });
    }
    Err(format!("{pattern}: no `*` or range in the last three parts"))
}

fn bounds(pattern: &str, text: &str) -> Result<(u8, u8), PatternError> {
    let refuse = || format!("RangeRemoteAddressStrategy netaddress examine scope Exception value {text} in {pattern}");
    let mut ends = text.split('-').filter(|e| !e.is_empty());
    if text.starts_with('-') {
        return Err(refuse());
    }
    let (Some(low), Some(high)) = (ends.next(), ends.next()) else {
        return Err(refuse());
    };
    match (low.trim().parse::<u8>(), high.trim().parse::<u8>()) {
        (Ok(low), Ok(high)) if low <= high => Ok((low, high)),
        _ => Err(refuse()),
    }
}

/// `RangeRemoteAddressStrategy` for IPv6 (with `AclUtils.IPv6AddressCheck`): `*` only as the
/// last group; `head:x-y` or `head:*` (head of up to seven groups) or `head:x-y:*` (up to six);
/// bounds in hex; a `::` in the head fills it to seven (six) groups, as Java's `expandIP` does.
fn ipv6_range(pattern: &str) -> Result<AddressPattern, PatternError> {
    let refuse = || format!("Netaddress examine scope Exception netaddress is {pattern}");
    if pattern.find('*').is_some_and(|at| at + 1 != pattern.len()) {
        return Err(refuse());
    }
    let (rest, any_last) = match pattern.strip_suffix(":*") {
        Some(rest) if rest.contains('-') => (rest, true),
        _ => (pattern, false),
    };
    let (head_text, decider) = rest.rsplit_once(':').ok_or_else(refuse)?;
    let (low, high) = match decider.trim() {
        "*" => (0, u16::MAX),
        text => {
            let (low, high) = text.split_once('-').ok_or_else(refuse)?;
            match (
                u16::from_str_radix(low.trim(), 16),
                u16::from_str_radix(high.trim(), 16),
            ) {
                (Ok(low), Ok(high)) if low <= high && high > 0 => (low, high),
                _ => {
                    return Err(format!(
                        "RangeRemoteAddressStrategy netaddress examine scope Exception value {text} in {pattern}"
                    ));
                }
            }
        }
    };
    if head_text.contains(['-', '*']) {
        return Err(refuse());
    }
    let groups = if any_last { 6 } else { 7 };
    let head = ipv6_groups(head_text, groups)
        .ok_or_else(|| format!("{pattern}: an IPv6 range needs 1 to {groups} hex groups before its range"))?;
    Ok(AddressPattern::Ipv6Range { head, low, high })
}

/// `text` as 1 to `count` hex groups; with `::` (not at its end) exactly `count`, the `::`
/// standing for as many zero groups as are missing.
fn ipv6_groups(text: &str, count: usize) -> Option<Vec<u16>> {
    let hex = |part: &str| u16::from_str_radix(part, 16).ok();
    let pieces = |side: &str| -> Option<Vec<u16>> {
        match side {
            "" => Some(Vec::new()),
            side => side.split(':').map(hex).collect(),
        }
    };
    let groups = match text.split_once("::") {
        Some((_, "")) => return None,
        Some((left, right)) => {
            let (left, right) = (pieces(left)?, pieces(right)?);
            let zeros = count.checked_sub(left.len() + right.len())?;
            [left, vec![0; zeros], right].concat()
        }
        None => pieces(text)?,
    };
    (1..=count).contains(&groups.len()).then_some(groups)
}
