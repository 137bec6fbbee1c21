//! What loading a consume queue against the commit log checks, and the repairs it can make. A
//! queue is derived data: whatever a crash (or a damaged disk) leaves wrong in it is rebuilt
//! from the commit log, never a reason to refuse to start.
//!
//! * Entries past the log's end, or whose record is not the one they claim (a power loss lost
//!   the log's tail after the entries were written, and new records took its place), are
//!   dropped from the end ([`ConsumeQueue::drop_unmatched_tail`]); more than
//!   [`STALE_ENTRIES_MAX`] of them and the queue is not trusted at all ([`ConsumeQueue::reset`]).
//! * A damaged file or garbage after the valid end marks the queue damaged
//!   ([`ConsumeQueue::is_damaged`]): its owner rebuilds the lost entries from the log.
//! * Re-dispatching the log's unsynced tail rewrites any entry that differs from its record
//!   ([`ConsumeQueue::put_repairing`]), so holes a crash left behind the end are filled too.

use super::{ConsumeQueue, ConsumeQueueEntry, ENTRY_BYTES, QueuePutOutcome};
use crate::error::StoreResult;
use crate::offsets::{CommitLogOffset, QueueOffset};

/// Trailing entries checked against their records before a queue whose last entries keep
/// failing the check is dropped and rebuilt whole: a crash can only leave wrong the entries
/// written since the last checkpoint (about a second's worth for one queue); more means damage.
pub const STALE_ENTRIES_MAX: u64 = 1024;

/// What [`ConsumeQueue::drop_unmatched_tail`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailCheck {
    /// The tail now ends at an entry that matches its record (or cannot be checked).
    Kept { dropped: u64 },
    /// More than [`STALE_ENTRIES_MAX`] entries failed: nothing in the queue can be trusted.
    Untrustworthy,
}

impl ConsumeQueue {
    /// Whether opening found entries it could not trust (see the module doc).
    pub(crate) fn is_damaged(&self) -> bool {
        self.damaged
    }

    /// Drops trailing entries that point at or past `log_end`, then those for which `matches`
    /// (given the entry's queue offset) says the record there is not theirs, stopping at a
    /// blank, at an entry below `log_min` (its record is gone; nothing to check) or at the
    /// first match.
    pub(crate) fn drop_unmatched_tail(
        &mut self,
        log_min: CommitLogOffset,
        log_end: CommitLogOffset,
        mut matches: impl FnMut(QueueOffset, &ConsumeQueueEntry) -> bool,
    ) -> StoreResult<TailCheck> {
        let before = self.write_position;
        self.truncate_to_commit_log_end(log_end)?;
        let mut checked = 0;
        let mut end = self.write_position;
        while end > self.min_position {
            let position = end - ENTRY_BYTES;
            let entry = self.entry_at(position)?;
            let below_log = u64::try_from(entry.physical_offset).unwrap_or(0) < log_min.0;
            if entry.is_blank() || below_log || matches(QueueOffset(position / ENTRY_BYTES), &entry) {
                break;
            }
            checked += 1;
            if checked > STALE_ENTRIES_MAX {
                return Ok(TailCheck::Untrustworthy);
            }
            end = position;
        }
        if end < self.write_position {
            self.write_pending()?;
            self.write_position = end;
            self.written_position = end;
            self.segments.truncate(end)?;
            self.refresh_max_physical_end()?;
        }
        Ok(TailCheck::Kept {
            dropped: (before - self.write_position) / ENTRY_BYTES,
        })
    }

    /// Deletes every file: the queue starts again empty, to be rebuilt from the log.
    pub(crate) fn reset(&mut self) -> StoreResult<()> {
        self.pending = Vec::new();
        self.segments.truncate(0)?;
        self.min_position = 0;
        self.write_position = 0;
        self.written_position = 0;
        self.max_physical_end = 0;
        Ok(())
    }

    /// [`ConsumeQueue::put`] for re-dispatch after a crash: an entry already inside the queue is
    /// compared with `entry` and rewritten when it differs (`Repaired`).
    pub(crate) fn put_repairing(
        &mut self,
        queue_offset: QueueOffset,
        entry: ConsumeQueueEntry,
    ) -> StoreResult<QueuePutOutcome> {
        let position = queue_offset.0.saturating_mul(ENTRY_BYTES);
        if position >= self.write_position {
            return self.put(queue_offset, entry);
        }
        if position < self.min_position || self.entry_at(position)? == entry {
            return Ok(QueuePutOutcome::AlreadyPresent);
        }
        let bytes = entry.encode();
        if position >= self.written_position {
            let from = usize::try_from(position - self.written_position).map_err(|_| self.corrupt(position))?;
            let Some(slot) = self.pending.get_mut(from..from + ENTRY_BYTES as usize) else {
                return Err(self.corrupt(position));
            };
            slot.copy_from_slice(&bytes);
        } else {
            self.segments.write_at(position, &bytes)?;
        }
        if position + ENTRY_BYTES == self.write_position {
            self.refresh_max_physical_end()?;
        }
        Ok(QueuePutOutcome::Repaired)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::entry;
    use super::*;
    use crate::offsets::QueueId;

    const TOPIC: &str = "TopicTest";

    fn queue(root: &std::path::Path) -> ConsumeQueue {
        ConsumeQueue::open(root, TOPIC, QueueId(0), 4).unwrap()
    }

    #[test]
    fn entries_past_the_log_or_not_matching_their_record_are_dropped_from_the_end() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = queue(root.path());
        for k in 0..10 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        // Entry k covers [100k, 100k + 100): 9 ends past 900; 7 and 8 "point at other records".
        let check = queue
            .drop_unmatched_tail(CommitLogOffset(0), CommitLogOffset(900), |k, _| k.0 < 7)
            .unwrap();
        assert_eq!(check, TailCheck::Kept { dropped: 3 });
        assert_eq!(queue.max_offset(), QueueOffset(7));
        assert_eq!(queue.max_physical_end(), CommitLogOffset(700));
        drop(queue);
        assert_eq!(self::queue(root.path()).max_offset(), QueueOffset(7));
    }

    #[test]
    fn a_tail_failing_past_the_bound_is_untrustworthy_and_reset_empties_the_queue() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 2_000).unwrap();
        for k in 0..STALE_ENTRIES_MAX + 2 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        let check = queue
            .drop_unmatched_tail(CommitLogOffset(0), CommitLogOffset(u64::MAX), |_, _| false)
            .unwrap();
        assert_eq!(check, TailCheck::Untrustworthy);
        queue.reset().unwrap();
        assert_eq!(
            (queue.min_offset(), queue.max_offset()),
            (QueueOffset(0), QueueOffset(0))
        );
        queue.put(QueueOffset(5), entry(5)).unwrap();
        assert_eq!(queue.min_offset(), QueueOffset(5));
    }

    #[test]
    fn repairing_puts_rewrite_entries_that_differ_on_disk_and_pending() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = queue(root.path());
        for k in 0..6 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        let mut other = entry(2);
        other.tags_code = 99;
        // 2 is on disk (its file filled), 5 is pending.
        assert_eq!(
            queue.put_repairing(QueueOffset(2), other).unwrap(),
            QueuePutOutcome::Repaired
        );
        assert_eq!(
            queue.put_repairing(QueueOffset(2), other).unwrap(),
            QueuePutOutcome::AlreadyPresent
        );
        let mut last = entry(5);
        last.size = 150;
        assert_eq!(
            queue.put_repairing(QueueOffset(5), last).unwrap(),
            QueuePutOutcome::Repaired
        );
        assert_eq!(queue.max_physical_end(), CommitLogOffset(650));
        assert_eq!(
            queue.put_repairing(QueueOffset(6), entry(6)).unwrap(),
            QueuePutOutcome::Written
        );
        queue.flush().unwrap();
        drop(queue);
        let queue = self::queue(root.path());
        assert_eq!(queue.get(QueueOffset(2)).unwrap(), Some(other));
        assert_eq!(queue.get(QueueOffset(5)).unwrap(), Some(last));
    }
}
