//! Rate limits for warnings a remote peer can trigger at will (bad frames, refused connections,
//! full tables).
//!
//! A peer that reconnects and sends garbage in a loop, or a client that fills a table and keeps
//! asking, must not flood the log: each kind of warning is written at most once per interval,
//! with a count of the ones left out since. [`LogRate::allow`] measures the interval on tokio's
//! clock, so a test with the clock paused sees it advance; [`LogRate::allow_at`] takes the time
//! from its caller, so a pure table that is handed `now_ms` can rate-limit without reading a
//! clock. One `LogRate` must be fed by one of the two clocks only.
//!
//! This is the one implementation of the rule for the servers: the name server and the broker
//! use it for every limit a client can hit (docs/limits.md, "Logged (rate-limited)").

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

/// One line per second per kind is enough to notice a misbehaving peer.
const WARN_INTERVAL_MS: u64 = 1_000;

/// For a limit of a server's tables that clients can hit at will: one line per limit per 10 s
/// names it while it keeps being hit, and an operator who greps for the limit finds it.
pub const LIMIT_WARN_INTERVAL_MS: u64 = 10_000;

const NEVER: u64 = u64::MAX;

/// When one kind of warning may be written next, and how many were left out since the last.
pub struct LogRate {
    interval_ms: u64,
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogRate {
    /// A warning of the transport: at most one per second.
    pub const fn new() -> LogRate {
        LogRate::every_ms(WARN_INTERVAL_MS)
    }

    /// At most one warning per `interval_ms`.
    pub const fn every_ms(interval_ms: u64) -> LogRate {
        LogRate {
            interval_ms,
            last_ms: AtomicU64::new(NEVER),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if a warning may be written now, `n` being how many were left out before it;
    /// the time is tokio's.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(process_ms())
    }

    /// [`LogRate::allow`] at `now_ms`, a time of the caller's clock (a table's `now_ms`).
    pub fn allow_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        // A clock that went back counts as due, so a reset clock cannot silence a warning.
        let due = last == NEVER || now_ms < last || now_ms >= last.saturating_add(self.interval_ms);
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms.min(NEVER - 1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

impl Default for LogRate {
    fn default() -> LogRate {
        LogRate::new()
    }
}

impl std::fmt::Debug for LogRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogRate")
            .field("interval_ms", &self.interval_ms)
            .field("suppressed", &self.suppressed.load(Ordering::Relaxed))
            .finish()
    }
}

fn process_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_one_per_interval_and_counts_the_rest() {
        let rate = LogRate::new();
        assert_eq!(rate.allow_at(0), Some(0));
        assert_eq!(rate.allow_at(10), None);
        assert_eq!(rate.allow_at(999), None);
        assert_eq!(rate.allow_at(1_000), Some(2));
        assert_eq!(rate.allow_at(1_001), None);
    }

    #[test]
    fn a_limit_warning_waits_its_own_interval_and_survives_a_clock_going_back() {
        let rate = LogRate::every_ms(LIMIT_WARN_INTERVAL_MS);
        let wall_ms = 1_700_000_000_000;
        assert_eq!(rate.allow_at(wall_ms), Some(0));
        assert_eq!(rate.allow_at(wall_ms + 9_999), None);
        assert_eq!(rate.allow_at(wall_ms + 10_000), Some(1));
        assert_eq!(rate.allow_at(5), Some(0), "a clock set back does not silence it");
        assert_eq!(rate.allow_at(6), None);
    }
}
