//! The one clock: milliseconds since the epoch, as Java's `System.currentTimeMillis()` stamps
//! records, deadlines and file ages.
//!
//! Why one: every server module takes `now_ms` as an argument or reads it from a [`Clock`] handed
//! down at start-up, so a test can run the whole store (and the broker over it) on manual time,
//! and a reader finds the only wall-clock read here, in [`Clock::system`]. No other library
//! module reads `SystemTime`.
//!
//! A clone shares its source: advancing a manual clock moves every clone, from any thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from; cheap to clone.
#[derive(Debug, Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// The wall clock.
    System,
    /// Time that moves only when a test moves it.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The wall clock (production).
    pub fn system() -> Clock {
        Clock { source: Source::System }
    }

    /// A clock that reads `start_ms` until [`Clock::advance`] or [`Clock::set`] moves it.
    pub fn manual(start_ms: i64) -> Clock {
        Clock {
            source: Source::Manual(Arc::new(AtomicI64::new(start_ms))),
        }
    }

    /// Milliseconds since the epoch (0 for a wall clock set before 1970).
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
            Source::Manual(now_ms) => now_ms.load(Ordering::SeqCst),
        }
    }

    /// A file time (an mtime, say) in the same milliseconds since the epoch as [`Clock::now_ms`];
    /// 0 for a time before 1970. Not a clock read: the time comes from the caller.
    pub fn ms_since_epoch(time: SystemTime) -> i64 {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// Moves a manual clock forward by `ms`. Moving the wall clock is a bug in the caller.
    pub fn advance(&self, ms: i64) {
        self.manual_time().fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets a manual clock to `now_ms`. Setting the wall clock is a bug in the caller.
    pub fn set(&self, now_ms: i64) {
        self.manual_time().store(now_ms, Ordering::SeqCst);
    }

    fn manual_time(&self) -> &AtomicI64 {
        match &self.source {
            Source::Manual(now_ms) => now_ms,
            Source::System => panic!("only a manual clock can be moved"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = Clock::manual(1_000);
        let clone = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        clone.advance(250);
        assert_eq!(clock.now_ms(), 1_250);
        clock.set(5);
        assert_eq!(clone.now_ms(), 5);
    }

    #[test]
    fn the_system_clock_reads_the_wall_clock() {
        // 2020-01-01: any real wall clock is past it.
        assert!(Clock::system().now_ms() > 1_577_836_800_000);
    }

    #[test]
    #[should_panic(expected = "only a manual clock")]
    fn moving_the_system_clock_is_a_bug() {
        Clock::system().advance(1);
    }
}
