//! Resident memory and CPU time of a process, from Linux's `/proc/<pid>/status` and
//! `/proc/<pid>/stat`; every reading is `None` where those files do not exist or do not parse.

use std::time::Duration;

/// `USER_HZ`, the unit of CPU times in `/proc/<pid>/stat`: 100 on every mainstream Linux port.
const PROC_CLOCK_TICKS_PER_SECOND: u64 = 100;
/// `utime` and `stime` are fields 14 and 15 of `/proc/<pid>/stat`; counted here from field 3,
/// the first after the parenthesised command name (which may contain spaces).
const PROC_STAT_UTIME_AFTER_COMM: usize = 11;

/// `VmRSS` of this process (`None`) or of `pid`, in bytes; `None` off Linux.
pub(crate) fn resident_bytes(pid: Option<u32>) -> Option<u64> {
    status_bytes(pid, "VmRSS:")
}

/// The anonymous part of [`resident_bytes`] (heap and stacks): what a process holds besides
/// file pages it maps, which are the page cache (a memory-mapped index file counts in RSS).
pub(crate) fn resident_anon_bytes(pid: Option<u32>) -> Option<u64> {
    status_bytes(pid, "RssAnon:")
}

/// A `kB` line of `/proc/<pid>/status`, in bytes.
fn status_bytes(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

/// CPU time (user + system, all threads) of this process (`None`) or of `pid`; `None` off Linux.
pub(crate) fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    let (_, after_comm) = stat.rsplit_once(')')?;
    let mut fields = after_comm.split_whitespace().skip(PROC_STAT_UTIME_AFTER_COMM);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks = user.checked_add(system)?;
    Some(Duration::from_millis(
        ticks.checked_mul(1000)? / PROC_CLOCK_TICKS_PER_SECOND,
    ))
}

/// `total` plus `after - before`; `None` once any reading failed.
pub(crate) fn add_elapsed(
    total: Option<Duration>,
    before: Option<Duration>,
    after: Option<Duration>,
) -> Option<Duration> {
    Some(total? + after?.checked_sub(before?)?)
}
