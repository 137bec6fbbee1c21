//! SYNC_FLUSH group commit as a pure state machine (store-and-ha.md §5.3): puts register the
//! offset their record ends at; one flush releases every put it covers; a put still waiting at
//! its deadline times out (`FLUSH_DISK_TIMEOUT`, response code 10, the message *is* stored).
//!
//! The caller owns the clock, the waiters (e.g. oneshot senders) and the `fsync`; this type only
//! decides who is released. Invariant: registered end offsets never decrease (single writer).

use std::collections::VecDeque;

use crate::offsets::CommitLogOffset;

/// Java's `syncFlushTimeout`.
pub const SYNC_FLUSH_TIMEOUT_MS: i64 = 5000;
/// Puts waiting at once; beyond it the caller should answer busy rather than queue without bound.
pub const PENDING_FLUSHES_MAX: usize = 64 * 1024;

/// How a waiting put ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// Its record is on disk (`PUT_OK`).
    Flushed,
    /// The deadline passed first (`FLUSH_DISK_TIMEOUT`).
    TimedOut,
}

#[derive(Debug)]
struct PendingFlush<W> {
    end_offset: CommitLogOffset,
    deadline_ms: i64,
    waiter: W,
}

#[derive(Debug)]
pub struct GroupCommit<W> {
    pending: VecDeque<PendingFlush<W>>,
    timeout_ms: i64,
}

impl<W> GroupCommit<W> {
    pub fn new(timeout_ms: i64) -> GroupCommit<W> {
        GroupCommit {
            pending: VecDeque::new(),
            timeout_ms,
        }
    }

    /// Waits for the flushed offset to reach `end_offset`. Returns the waiter back when full.
    pub fn register(&mut self, end_offset: CommitLogOffset, now_ms: i64, waiter: W) -> Result<(), W> {
        if self.pending.len() >= PENDING_FLUSHES_MAX {
            return Err(waiter);
        }
        assert!(
            self.pending.back().is_none_or(|last| last.end_offset <= end_offset),
            "flush requests out of log order"
        );
        self.pending.push_back(PendingFlush {
            end_offset,
            deadline_ms: now_ms.saturating_add(self.timeout_ms),
            waiter,
        });
        Ok(())
    }

    /// Whether someone waits, so the flusher should flush now rather than on its timer.
    #[cfg(test)]
    pub fn needs_flush(&self) -> bool {
        !self.pending.is_empty()
    }

    /// After a flush reached `flushed_offset`: the waiters it covers, then those past their
    /// deadline at `now_ms`, each with its outcome, in registration order within each group.
    pub fn on_flushed(&mut self, flushed_offset: CommitLogOffset, now_ms: i64) -> Vec<(W, FlushOutcome)> {
        let mut released = Vec::new();
        while let Some(front) = self.pending.front() {
            if front.end_offset > flushed_offset {
                break;
            }
            if let Some(done) = self.pending.pop_front() {
                released.push((done.waiter, FlushOutcome::Flushed));
            }
        }
        released.extend(self.expire(now_ms));
        released
    }

    /// The waiters whose deadline is at or before `now_ms` (`FlushDiskWatcher`).
    pub fn expire(&mut self, now_ms: i64) -> Vec<(W, FlushOutcome)> {
        let mut expired = Vec::new();
        let mut kept = VecDeque::with_capacity(self.pending.len());
        for pending in self.pending.drain(..) {
            if pending.deadline_ms <= now_ms {
                expired.push((pending.waiter, FlushOutcome::TimedOut));
            } else {
                kept.push_back(pending);
            }
        }
        self.pending = kept;
        expired
    }

    /// The earliest deadline, for the caller's timer.
    #[cfg(test)]
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.pending.iter().map(|p| p.deadline_ms).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_releases_every_put_it_covers_in_order() {
        let mut group = GroupCommit::new(SYNC_FLUSH_TIMEOUT_MS);
        group.register(CommitLogOffset(100), 0, "a").unwrap();
        group.register(CommitLogOffset(250), 1, "b").unwrap();
        group.register(CommitLogOffset(400), 2, "c").unwrap();
        assert!(group.needs_flush());
        assert_eq!(group.on_flushed(CommitLogOffset(99), 3), vec![]);
        assert_eq!(
            group.on_flushed(CommitLogOffset(250), 4),
            vec![("a", FlushOutcome::Flushed), ("b", FlushOutcome::Flushed)]
        );
        assert_eq!(group.next_deadline_ms(), Some(5002));
        assert_eq!(
            group.on_flushed(CommitLogOffset(1000), 5),
            vec![("c", FlushOutcome::Flushed)]
        );
        assert!(!group.needs_flush());
    }

    #[test]
    fn puts_past_their_deadline_time_out() {
        let mut group = GroupCommit::new(10);
        group.register(CommitLogOffset(100), 0, 1).unwrap();
        group.register(CommitLogOffset(200), 5, 2).unwrap();
        assert_eq!(group.expire(9), vec![]);
        assert_eq!(group.expire(10), vec![(1, FlushOutcome::TimedOut)]);
        assert_eq!(
            group.on_flushed(CommitLogOffset(50), 15),
            vec![(2, FlushOutcome::TimedOut)]
        );
        assert_eq!(group.next_deadline_ms(), None);
    }

    #[test]
    fn registration_is_bounded() {
        let mut group = GroupCommit::new(10);
        for n in 0..PENDING_FLUSHES_MAX {
            group.register(CommitLogOffset(n as u64), 0, n).unwrap();
        }
        assert_eq!(group.register(CommitLogOffset(u64::MAX), 0, 7), Err(7));
    }
}
