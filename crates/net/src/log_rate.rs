//! Rate limits for warnings a remote peer can trigger at will (bad frames, refused connections).
//!
//! A peer that reconnects and sends garbage in a loop must not flood the log: each kind of
//! warning is written at most once per interval, with a count of the ones left out since.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One line per second per kind is enough to notice a misbehaving peer.
const WARN_INTERVAL_MS: u64 = 1_000;

const NEVER: u64 = u64::MAX;

pub(crate) struct LogRate {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogRate {
    pub(crate) const fn new() -> LogRate {
        LogRate {
            last_ms: AtomicU64::new(NEVER),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if a warning may be written now, `n` being how many were left out before it.
    pub(crate) fn allow(&self) -> Option<u64> {
        self.allow_at(process_ms())
    }

    fn allow_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = last == NEVER || now_ms >= last.saturating_add(WARN_INTERVAL_MS);
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
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
}
