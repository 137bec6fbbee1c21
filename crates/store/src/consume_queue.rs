//! Consume queues: per topic and queue id, an array of fixed 20-byte entries pointing into the
//! commit log (store-and-ha.md §2), in `consumequeue/<topic>/<queueId>/<20-digit byte offset>`.
//!
//! ```text
//! entry k at byte k*20:  commit-log offset (i64) | record size (i32) | tags code (i64)
//! pre-blank entry:       0                       | 0x7FFFFFFF        | 0
//! ```
//! Invariants: entries `[min, max)` are readable; an entry is valid when its offset is ≥ 0 and
//! its size > 0; commit-log offsets grow with the queue offset; `max_physical_end` is the end of
//! the record the last entry points at, so re-dispatching a record is a no-op (Java's idempotence
//! rules). Opening finds the end by scanning up to the first invalid entry: from the third-to-last
//! file, as Java does, or, when the store's checkpoint says below which commit-log offset
//! everything was synced, only the entries at or past it (found by binary search: entries grow
//! with the offset), so loading a queue costs its unsynced tail, not its size. See `repair.rs`
//! for what loading against the commit log checks and rebuilds; the store then re-dispatches
//! the commit log's tail.
//!
//! The queue keeps no descriptors: its files are opened on demand through the store's bounded
//! [`OpenFiles`] cache, so a store of any number of queues holds a bounded number of them.
//!
//! Write-behind tail: [`ConsumeQueue::put`] only appends the entry to an in-memory `pending`
//! buffer (except a file's first entry, written at once so the file exists), written with one
//! positioned write when it would pass [`PENDING_BYTES_MAX`] or cross into the next file, when
//! the queue is dropped in a live process, at every flush (before the files to `fsync` are
//! taken, so a checkpoint never claims an entry that was not written), and before the files are
//! truncated or deleted.
//! Reads see pending entries as if written. A crash loses at most the pending tail, which
//! [`crate::consume_queues::ConsumeQueues::recover`] rebuilds from the commit log (the commit-log
//! write itself is never deferred): recovery re-dispatches everything after the checkpoint (or
//! the last three commit-log files), and the store's flush thread writes every tail and then the
//! checkpoint about once a second, so a lost tail is always inside that window. Memory: at most [`PENDING_BYTES_MAX`] per queue, and only for
//! queues written since the last flush (a flush frees the buffer), so the total is bounded by
//! active queues × [`PENDING_BYTES_MAX`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{StoreError, StoreResult};
use crate::offsets::{CommitLogOffset, QueueId, QueueOffset};
use crate::open_files::{CachedPath, OpenFiles, QUEUE_FILES_OPEN_MAX};
use crate::segments::{DamagedFiles, SegmentSet};

mod repair;

pub use repair::STALE_ENTRIES_MAX;
pub(crate) use repair::TailCheck;

/// `CQ_STORE_UNIT_SIZE`.
pub const ENTRY_BYTES: u64 = 20;
/// Java's `mappedFileSizeConsumeQueue` is 300 000 entries (6 000 000 bytes).
pub const FILE_ENTRIES_DEFAULT: u64 = 300_000;
/// The most entries one [`ConsumeQueue::read`] returns; a pull asks for at most a few thousand.
pub const READ_ENTRIES_MAX: usize = 64 * 1024;
/// The size field of a pre-blank entry (`fillPreBlank`).
const BLANK_ENTRY_SIZE: i32 = i32::MAX;
/// Entries read per system call while scanning.
const SCAN_CHUNK_ENTRIES: usize = 1024;
/// Java's consume-queue recovery starts this many files from the end.
const RECOVERY_FILES: usize = 3;
/// Bytes of entries a queue buffers before writing them: 256 entries turn 256 write calls into
/// one, while 10 000 busy queues hold at most 51 MB between two flushes.
pub const PENDING_BYTES_MAX: usize = 256 * ENTRY_BYTES as usize;

/// One 20-byte entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeQueueEntry {
    pub physical_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl ConsumeQueueEntry {
    /// A placeholder for positions before a queue's first real entry.
    pub const BLANK: ConsumeQueueEntry = ConsumeQueueEntry {
        physical_offset: 0,
        size: BLANK_ENTRY_SIZE,
        tags_code: 0,
    };

    pub fn encode(&self) -> [u8; ENTRY_BYTES as usize] {
        let mut out = [0u8; ENTRY_BYTES as usize];
        let (offset, rest) = out.split_at_mut(8);
        let (size, tags) = rest.split_at_mut(4);
        offset.copy_from_slice(&self.physical_offset.to_be_bytes());
        size.copy_from_slice(&self.size.to_be_bytes());
        tags.copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; ENTRY_BYTES as usize]) -> ConsumeQueueEntry {
        let (offset, rest) = bytes.split_at(8);
        let (size, tags) = rest.split_at(4);
        ConsumeQueueEntry {
            physical_offset: i64::from_be_bytes(offset.try_into().unwrap_or_default()),
            size: i32::from_be_bytes(size.try_into().unwrap_or_default()),
            tags_code: i64::from_be_bytes(tags.try_into().unwrap_or_default()),
        }
    }

    /// Java's recovery test: anything else ends the queue.
    pub fn is_valid(&self) -> bool {
        self.physical_offset >= 0 && self.size > 0
    }

    pub fn is_blank(&self) -> bool {
        *self == ConsumeQueueEntry::BLANK
    }

    /// One past the referenced record (0 for a blank).
    fn physical_end(&self) -> u64 {
        if self.is_blank() {
            return 0;
        }
        u64::try_from(self.physical_offset).unwrap_or(0) + u64::try_from(self.size).unwrap_or(0)
    }
}

/// What [`ConsumeQueue::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuePutOutcome {
    Written,
    /// The entry was already there (a re-dispatch after recovery).
    AlreadyPresent,
    /// A re-dispatch after a crash found a different entry at its position and rewrote it.
    Repaired,
}

pub struct ConsumeQueue {
    topic: String,
    queue_id: QueueId,
    segments: SegmentSet,
    /// Byte position of the first readable entry.
    min_position: u64,
    /// Byte position of the next entry (counting pending entries).
    write_position: u64,
    /// Byte position where `pending` starts: everything before it is in the files.
    written_position: u64,
    /// Entries `[written_position, write_position)`, not yet written; inside one file.
    pending: Vec<u8>,
    max_physical_end: u64,
    /// Opening found entries it could not trust (a damaged file, garbage after the valid end):
    /// the owner rebuilds them from the commit log.
    damaged: bool,
}

impl ConsumeQueue {
    /// `<store root>/consumequeue/<topic>/<queueId>`.
    pub fn dir(store_root: &Path, topic: &str, queue_id: QueueId) -> StoreResult<PathBuf> {
        if !ConsumeQueue::names_a_dir(topic) {
            return Err(StoreError::InvalidTopic {
                topic: topic.to_owned(),
            });
        }
        Ok(store_root.join("consumequeue").join(topic).join(queue_id.0.to_string()))
    }

    /// Whether `topic` can name a queue directory ([`ConsumeQueue::dir`] succeeds for it).
    pub fn names_a_dir(topic: &str) -> bool {
        !(topic.is_empty() || topic == "." || topic == ".." || topic.contains(['/', '\0']))
    }

    /// Opens (creating if needed) the queue and recovers its valid end by Java's rule, with a
    /// handle cache of its own.
    pub fn open(store_root: &Path, topic: &str, queue_id: QueueId, file_entries: u64) -> StoreResult<ConsumeQueue> {
        let files = OpenFiles::new(QUEUE_FILES_OPEN_MAX);
        ConsumeQueue::open_in(store_root, topic, queue_id, file_entries, files, None)
    }

    /// [`ConsumeQueue::open`] with handles from the store's shared cache; with `synced_end`, only
    /// entries pointing at or past it are scanned (see the module doc).
    pub(crate) fn open_in(
        store_root: &Path,
        topic: &str,
        queue_id: QueueId,
        file_entries: u64,
        files: Arc<OpenFiles>,
        synced_end: Option<CommitLogOffset>,
    ) -> StoreResult<ConsumeQueue> {
        if file_entries == 0 {
            return Err(StoreError::BadConfig {
                reason: "consume-queue file of 0 entries".to_owned(),
            });
        }
        let dir = ConsumeQueue::dir(store_root, topic, queue_id)?;
        let segments = SegmentSet::open(
            &dir,
            file_entries.saturating_mul(ENTRY_BYTES),
            files,
            DamagedFiles::Drop,
        )?;
        let mut queue = ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            min_position: segments.first_start().unwrap_or(0),
            write_position: segments.end(),
            written_position: segments.end(),
            pending: Vec::new(),
            max_physical_end: 0,
            damaged: segments.dropped_damaged(),
            segments,
        };
        let scan_start = match synced_end {
            Some(synced_end) => queue.first_position_past(synced_end)?,
            None => {
                let starts = queue.segments.starts();
                starts
                    .get(starts.len().saturating_sub(RECOVERY_FILES))
                    .copied()
                    .unwrap_or(0)
            }
        };
        let (end, garbage_after_end) = queue.recover_end(scan_start)?;
        queue.damaged |= garbage_after_end;
        queue.write_position = end;
        queue.written_position = queue.write_position;
        queue.segments.truncate(queue.write_position)?;
        queue.refresh_max_physical_end()?;
        queue.correct_min_offset(CommitLogOffset(0))?;
        Ok(queue)
    }

    /// Adds `entry` as queue offset `queue_offset` unless it is already present, to the pending
    /// tail (see the module doc). A first entry at a non-zero offset is preceded by blank entries
    /// from the start of its file. On an error the entry is not added.
    pub fn put(&mut self, queue_offset: QueueOffset, entry: ConsumeQueueEntry) -> StoreResult<QueuePutOutcome> {
        let QueueOffset(queue_offset) = queue_offset;
        if entry.physical_end() <= self.max_physical_end {
            return Ok(QueuePutOutcome::AlreadyPresent);
        }
        let expected = queue_offset
            .checked_mul(ENTRY_BYTES)
            .ok_or_else(|| self.gap(queue_offset))?;
        if self.segments.first_start().is_none() && self.pending.is_empty() {
            self.fill_pre_blank(expected)?;
        }
        if expected < self.write_position {
            return Ok(QueuePutOutcome::AlreadyPresent);
        }
        if expected > self.write_position {
            return Err(self.gap(queue_offset));
        }
        // The first entry of a file is written at once, creating the file: files on disk then
        // always cover `[min, max)`, as retention and the file count expect.
        let starts_file = self.write_position >= self.segments.end();
        let crosses_file =
            self.segments.segment_start(self.write_position) != self.segments.segment_start(self.written_position);
        if starts_file || crosses_file || self.pending.len() + ENTRY_BYTES as usize > PENDING_BYTES_MAX {
            self.write_pending()?;
        }
        if starts_file {
            self.segments.write_at(self.write_position, &entry.encode())?;
            self.written_position = self.write_position + ENTRY_BYTES;
        } else {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(PENDING_BYTES_MAX);
            }
            self.pending.extend_from_slice(&entry.encode());
        }
        self.write_position += ENTRY_BYTES;
        self.max_physical_end = entry.physical_end();
        Ok(QueuePutOutcome::Written)
    }

    /// The entry at `queue_offset`, if it is in `[min, max)`.
    pub fn get(&self, queue_offset: QueueOffset) -> StoreResult<Option<ConsumeQueueEntry>> {
        let position = queue_offset.0.saturating_mul(ENTRY_BYTES);
        if position < self.min_position || position >= self.write_position {
            return Ok(None);
        }
        self.entry_at(position).map(Some)
    }

    /// Up to `max_entries` (capped at `READ_ENTRIES_MAX`) entries from `queue_offset`.
    pub fn read(&self, queue_offset: QueueOffset, max_entries: usize) -> StoreResult<Vec<ConsumeQueueEntry>> {
        let start = queue_offset.0.saturating_mul(ENTRY_BYTES);
        if start < self.min_position || start > self.write_position {
            return Err(StoreError::OffsetOutOfRange {
                offset: queue_offset.0,
                min: self.min_offset().0,
                max: self.max_offset().0,
            });
        }
        let wanted = (self.write_position - start) / ENTRY_BYTES;
        let count = usize::try_from(wanted)
            .unwrap_or(usize::MAX)
            .min(max_entries)
            .min(READ_ENTRIES_MAX);
        self.read_entries(start, count)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> QueueId {
        self.queue_id
    }

    /// The first readable queue offset.
    pub fn min_offset(&self) -> QueueOffset {
        QueueOffset(self.min_position / ENTRY_BYTES)
    }

    /// The next queue offset to be written.
    pub fn max_offset(&self) -> QueueOffset {
        QueueOffset(self.write_position / ENTRY_BYTES)
    }

    /// One past the commit-log record the last entry points at.
    pub fn max_physical_end(&self) -> CommitLogOffset {
        CommitLogOffset(self.max_physical_end)
    }

    /// Drops trailing entries that point at or past `commit_log_end` (§4.3 truncation).
    pub fn truncate_to_commit_log_end(&mut self, commit_log_end: CommitLogOffset) -> StoreResult<()> {
        let CommitLogOffset(commit_log_end) = commit_log_end;
        self.write_pending()?;
        while self.write_position > self.min_position {
            let last = self.entry_at(self.write_position - ENTRY_BYTES)?;
            if last.is_blank() || last.physical_end() <= commit_log_end {
                break;
            }
            self.write_position -= ENTRY_BYTES;
        }
        self.segments.truncate(self.write_position)?;
        self.written_position = self.write_position;
        self.refresh_max_physical_end()
    }

    /// Moves the min offset to the first real entry pointing at or past `commit_log_min`
    /// (`correctMinOffset`), by binary search: blanks come first, then offsets only grow.
    pub fn correct_min_offset(&mut self, commit_log_min: CommitLogOffset) -> StoreResult<()> {
        let CommitLogOffset(commit_log_min) = commit_log_min;
        let (mut low, mut high) = (self.min_position / ENTRY_BYTES, self.write_position / ENTRY_BYTES);
        while low < high {
            let middle = low + (high - low) / 2;
            let entry = self.entry_at(middle * ENTRY_BYTES)?;
            if !entry.is_blank() && u64::try_from(entry.physical_offset).unwrap_or(0) >= commit_log_min {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        self.min_position = low * ENTRY_BYTES;
        Ok(())
    }

    /// Deletes files, oldest first and never the last, whose last entry points below
    /// `commit_log_min`, then corrects the min offset (`ConsumeQueue.deleteExpiredFile`);
    /// returns how many files were deleted.
    pub fn delete_files_below(&mut self, commit_log_min: CommitLogOffset) -> StoreResult<usize> {
        self.write_pending()?;
        let file_bytes = self.segments.segment_bytes();
        let mut deleted = 0;
        while let [first, _, ..] = self.segments.starts()[..] {
            let last_entry = self.entry_at(first + file_bytes - ENTRY_BYTES)?;
            // A blank entry's offset is 0, below any min, as Java compares it.
            if u64::try_from(last_entry.physical_offset).unwrap_or(0) >= commit_log_min.0 {
                break;
            }
            self.segments.remove_first()?;
            deleted += 1;
        }
        self.min_position = self.min_position.max(self.segments.first_start().unwrap_or(0));
        self.correct_min_offset(commit_log_min)?;
        Ok(deleted)
    }

    /// Writes the pending entries, then `fsync`s the files written since the last flush.
    pub fn flush(&mut self) -> StoreResult<()> {
        self.release_pending()?;
        self.segments.sync()
    }

    /// Writes the pending entries, then returns the files written since the last flush, now
    /// marked clean, to be synced without holding the queue (see `SegmentSet::take_dirty`).
    pub(crate) fn take_dirty_files(&mut self) -> StoreResult<Vec<CachedPath>> {
        self.release_pending()?;
        Ok(self.segments.take_dirty())
    }

    /// Files opening deleted, regrew or dropped.
    pub(crate) fn repaired_files(&self) -> usize {
        self.segments.repaired_files()
    }

    /// Entries buffered but not yet written (for tests and stats).
    pub fn pending_entries(&self) -> u64 {
        (self.write_position - self.written_position) / ENTRY_BYTES
    }

    /// Writes the pending entries (into the page cache; not synced), keeping the buffer: what
    /// the store does before a written mark vouches for every entry dispatched so far.
    pub(crate) fn write_pending_tail(&mut self) -> StoreResult<()> {
        self.write_pending()
    }

    /// Writes the pending entries with one positioned write (they lie inside one file).
    fn write_pending(&mut self) -> StoreResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.segments.write_at(self.written_position, &self.pending)?;
        self.written_position = self.write_position;
        self.pending.clear();
        Ok(())
    }

    /// [`ConsumeQueue::write_pending`], then frees the buffer, so an idle queue holds none.
    fn release_pending(&mut self) -> StoreResult<()> {
        self.write_pending()?;
        self.pending = Vec::new();
        Ok(())
    }

    /// After a failed handed-out sync: every file is synced again at the next flush.
    pub(crate) fn mark_all_dirty(&mut self) {
        self.segments.mark_all_dirty();
    }

    fn entry_at(&self, position: u64) -> StoreResult<ConsumeQueueEntry> {
        if position >= self.written_position {
            let raw = self.pending_bytes(position, 1)?;
            let raw: &[u8; ENTRY_BYTES as usize] = raw.try_into().map_err(|_| self.corrupt(position))?;
            return Ok(ConsumeQueueEntry::decode(raw));
        }
        let mut bytes = [0u8; ENTRY_BYTES as usize];
        self.segments.read_at(position, &mut bytes)?;
        Ok(ConsumeQueueEntry::decode(&bytes))
    }

    /// `count` pending entries' bytes from byte `position` (≥ `written_position`).
    fn pending_bytes(&self, position: u64, count: usize) -> StoreResult<&[u8]> {
        let from = usize::try_from(position - self.written_position).map_err(|_| self.corrupt(position))?;
        let to = from.saturating_add(count.saturating_mul(ENTRY_BYTES as usize));
        self.pending.get(from..to).ok_or_else(|| self.corrupt(position))
    }

    /// Reads `count` entries from byte `position`, a file at a time, then from `pending`.
    fn read_entries(&self, mut position: u64, count: usize) -> StoreResult<Vec<ConsumeQueueEntry>> {
        let mut entries = Vec::with_capacity(count);
        let file_bytes = self.segments.segment_bytes();
        while entries.len() < count {
            if position >= self.written_position {
                let bytes = self.pending_bytes(position, count - entries.len())?;
                for raw in bytes.chunks_exact(ENTRY_BYTES as usize) {
                    let raw: &[u8; ENTRY_BYTES as usize] = raw.try_into().map_err(|_| self.corrupt(position))?;
                    entries.push(ConsumeQueueEntry::decode(raw));
                }
                break;
            }
            let in_file = (file_bytes - position % file_bytes) / ENTRY_BYTES;
            let in_files = (self.written_position - position) / ENTRY_BYTES;
            let chunk = (count - entries.len())
                .min(SCAN_CHUNK_ENTRIES)
                .min(in_file as usize)
                .min(usize::try_from(in_files).unwrap_or(usize::MAX));
            let mut bytes = vec![0u8; chunk * ENTRY_BYTES as usize];
            self.segments.read_at(position, &mut bytes)?;
            for raw in bytes.chunks_exact(ENTRY_BYTES as usize) {
                let raw: &[u8; ENTRY_BYTES as usize] = raw.try_into().map_err(|_| self.corrupt(position))?;
                entries.push(ConsumeQueueEntry::decode(raw));
            }
            position += (chunk as u64) * ENTRY_BYTES;
        }
        Ok(entries)
    }

    /// Byte position of the first invalid entry from `scan_start` on, and whether that entry
    /// holds anything but zeros (garbage rather than the unwritten end).
    fn recover_end(&self, scan_start: u64) -> StoreResult<(u64, bool)> {
        let end = self.segments.end();
        let mut position = scan_start.max(self.segments.first_start().unwrap_or(0));
        while position < end {
            let file_bytes = self.segments.segment_bytes();
            let in_file = (file_bytes - position % file_bytes) / ENTRY_BYTES;
            let chunk = (in_file as usize).min(SCAN_CHUNK_ENTRIES);
            for entry in self.read_entries(position, chunk)? {
                if !entry.is_valid() {
                    let zeros = ConsumeQueueEntry {
                        physical_offset: 0,
                        size: 0,
                        tags_code: 0,
                    };
                    return Ok((position, entry != zeros));
                }
                position += ENTRY_BYTES;
            }
        }
        Ok((position, false))
    }

    /// Where the entries pointing at or past `synced_end` begin, by binary search (entries grow
    /// with the offset; blanks come first): over the files up to the end of the valid prefix of
    /// the last file, itself found by binary search.
    fn first_position_past(&self, synced_end: CommitLogOffset) -> StoreResult<u64> {
        let (Some(first), Some(last)) = (self.segments.first_start(), self.segments.last_start()) else {
            return Ok(0);
        };
        let (mut low, mut high) = (last / ENTRY_BYTES, self.segments.end() / ENTRY_BYTES);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.entry_at(middle * ENTRY_BYTES)?.is_valid() {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let (mut low, mut high) = (first / ENTRY_BYTES, low);
        while low < high {
            let middle = low + (high - low) / 2;
            let entry = self.entry_at(middle * ENTRY_BYTES)?;
            if !entry.is_blank() && u64::try_from(entry.physical_offset).unwrap_or(0) >= synced_end.0 {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(low * ENTRY_BYTES)
    }

    fn refresh_max_physical_end(&mut self) -> StoreResult<()> {
        self.max_physical_end = if self.write_position > self.min_position {
            self.entry_at(self.write_position - ENTRY_BYTES)?.physical_end()
        } else {
            0
        };
        Ok(())
    }

    /// Starts an empty queue at byte `expected`: its file begins with blanks up to there.
    fn fill_pre_blank(&mut self, expected: u64) -> StoreResult<()> {
        let start = self.segments.segment_start(expected);
        self.min_position = expected;
        self.write_position = start;
        let blank = ConsumeQueueEntry::BLANK.encode();
        while self.write_position < expected {
            let count = ((expected - self.write_position) / ENTRY_BYTES).min(SCAN_CHUNK_ENTRIES as u64);
            let bytes = blank.repeat(count as usize);
            self.segments.write_at(self.write_position, &bytes)?;
            self.write_position += count * ENTRY_BYTES;
        }
        self.written_position = self.write_position;
        Ok(())
    }

    fn gap(&self, queue_offset: u64) -> StoreError {
        StoreError::QueueOffsetGap {
            topic: self.topic.clone(),
            queue_id: self.queue_id.0,
            queue_offset,
            expected: self.max_offset().0,
        }
    }

    fn corrupt(&self, position: u64) -> StoreError {
        StoreError::Corrupt {
            file: self.segments.dir().to_owned(),
            offset: position,
            reason: "short consume-queue entry or read past the pending tail".to_owned(),
        }
    }
}

/// A queue dropped in a live process (a clean close, a removed topic, a test reopening the store)
/// writes its pending tail, as a write-through queue would have; only a killed process loses it.
impl Drop for ConsumeQueue {
    fn drop(&mut self) {
        if let Err(error) = self.write_pending() {
            tracing::warn!(%error, topic = %self.topic, queue_id = self.queue_id.0, "consume-queue tail not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage};

    use super::*;
    use crate::commit_log::{CommitLog, CommitLogConfig};
    use crate::consume_queues::ConsumeQueues;

    const TOPIC: &str = "TopicTest";

    pub(super) fn entry(k: u64) -> ConsumeQueueEntry {
        ConsumeQueueEntry {
            physical_offset: i64::try_from(k * 100).unwrap(),
            size: 100,
            tags_code: i64::try_from(k).unwrap(),
        }
    }

    /// The entry bytes actually in the files at queue offset `k` (zeros if never written).
    fn on_disk(root: &Path, file_entries: u64, k: u64) -> [u8; ENTRY_BYTES as usize] {
        let dir = ConsumeQueue::dir(root, TOPIC, QueueId(0)).unwrap();
        let file_bytes = file_entries * ENTRY_BYTES;
        let position = k * ENTRY_BYTES;
        let path = dir.join(crate::segments::file_name(position - position % file_bytes));
        let bytes = std::fs::read(path).unwrap_or_default();
        let at = usize::try_from(position % file_bytes).unwrap();
        bytes
            .get(at..at + ENTRY_BYTES as usize)
            .map_or([0; ENTRY_BYTES as usize], |raw| raw.try_into().unwrap())
    }

    #[test]
    fn pending_entries_read_as_if_written_but_are_not_on_disk() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 1_000).unwrap();
        for k in 0..5 {
            assert_eq!(queue.put(QueueOffset(k), entry(k)).unwrap(), QueuePutOutcome::Written);
        }
        assert_eq!(
            queue.put(QueueOffset(4), entry(4)).unwrap(),
            QueuePutOutcome::AlreadyPresent
        );
        // Entry 0 opened the file and was written; 1..5 wait.
        assert_eq!(queue.pending_entries(), 4);
        assert_eq!(on_disk(root.path(), 1_000, 0), entry(0).encode());
        assert_eq!(on_disk(root.path(), 1_000, 1), [0; 20]);
        assert_eq!(
            (queue.min_offset(), queue.max_offset()),
            (QueueOffset(0), QueueOffset(5))
        );
        assert_eq!(queue.max_physical_end(), CommitLogOffset(500));
        assert_eq!(queue.get(QueueOffset(3)).unwrap(), Some(entry(3)));
        assert_eq!(queue.get(QueueOffset(5)).unwrap(), None);
        assert_eq!(
            queue.read(QueueOffset(1), 10).unwrap(),
            (1..5).map(entry).collect::<Vec<_>>()
        );
        queue.correct_min_offset(CommitLogOffset(250)).unwrap();
        assert_eq!(queue.min_offset(), QueueOffset(3));
    }

    #[test]
    fn pending_tail_is_written_at_the_bound_and_at_each_file_boundary() {
        let root = tempfile::tempdir().unwrap();
        let bound = (PENDING_BYTES_MAX as u64) / ENTRY_BYTES;
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 1_000).unwrap();
        // Entry 0 is written with the file; 1..=bound fill the buffer; bound + 1 writes them.
        for k in 0..=bound {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        assert_eq!(queue.pending_entries(), bound);
        queue.put(QueueOffset(bound + 1), entry(bound + 1)).unwrap();
        assert_eq!(queue.pending_entries(), 1);
        assert_eq!(on_disk(root.path(), 1_000, bound), entry(bound).encode());
        assert_eq!(on_disk(root.path(), 1_000, bound + 1), [0; 20]);

        // Files of 4 entries: 5..8 are written when 8 starts (and is written with) the third file.
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        for k in 0..10 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        assert_eq!(queue.pending_entries(), 1);
        assert_eq!(on_disk(root.path(), 4, 7), entry(7).encode());
        assert_eq!(on_disk(root.path(), 4, 8), entry(8).encode());
        assert_eq!(on_disk(root.path(), 4, 9), [0; 20]);
        assert_eq!(
            queue.read(QueueOffset(0), 100).unwrap(),
            (0..10).map(entry).collect::<Vec<_>>()
        );
        assert_eq!(
            queue.read(QueueOffset(6), 3).unwrap(),
            (6..9).map(entry).collect::<Vec<_>>()
        );
        queue.flush().unwrap();
        assert_eq!(queue.pending_entries(), 0);
        assert_eq!(on_disk(root.path(), 4, 9), entry(9).encode());
        drop(queue);
        let queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        assert_eq!(
            queue.read(QueueOffset(0), 100).unwrap(),
            (0..10).map(entry).collect::<Vec<_>>()
        );
    }

    #[test]
    fn dropping_a_queue_writes_its_tail() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        for k in 0..3 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        assert_eq!(queue.pending_entries(), 2);
        assert_eq!(on_disk(root.path(), 4, 2), [0; 20]);
        drop(queue);
        assert_eq!(on_disk(root.path(), 4, 2), entry(2).encode());
        let queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        assert_eq!(
            queue.read(QueueOffset(0), 10).unwrap(),
            (0..3).map(entry).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_first_entry_past_zero_keeps_its_blanks_with_a_pending_tail() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        // Offset 4 starts a file: no blank is written; entry 4 creates the file, 5 waits.
        queue.put(QueueOffset(4), entry(4)).unwrap();
        queue.put(QueueOffset(5), entry(5)).unwrap();
        assert_eq!(queue.pending_entries(), 1);
        assert_eq!(
            (queue.min_offset(), queue.max_offset()),
            (QueueOffset(4), QueueOffset(6))
        );
        assert_eq!(queue.read(QueueOffset(4), 10).unwrap(), vec![entry(4), entry(5)]);
        let files = queue.take_dirty_files().unwrap();
        assert_eq!(files.len(), 1);
        drop(queue);
        let queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        assert_eq!(
            (queue.min_offset(), queue.max_offset()),
            (QueueOffset(4), QueueOffset(6))
        );
    }

    #[test]
    fn truncation_and_file_deletion_see_the_pending_tail() {
        let root = tempfile::tempdir().unwrap();
        let mut queue = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        for k in 0..10 {
            queue.put(QueueOffset(k), entry(k)).unwrap();
        }
        // Entry 8 ends at 900: it and 9 go.
        queue.truncate_to_commit_log_end(CommitLogOffset(850)).unwrap();
        assert_eq!(
            (queue.max_offset(), queue.max_physical_end()),
            (QueueOffset(8), CommitLogOffset(800))
        );
        queue.put(QueueOffset(8), entry(8)).unwrap();
        assert_eq!(queue.delete_files_below(CommitLogOffset(450)).unwrap(), 1);
        assert_eq!(queue.min_offset(), QueueOffset(5));
        assert_eq!(
            queue.read(QueueOffset(5), 10).unwrap(),
            (5..9).map(entry).collect::<Vec<_>>()
        );
    }

    fn message(queue_offset: i64) -> StoredMessage {
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp_ms: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp_ms: 2,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"body"),
            topic: TOPIC.into(),
            properties: MessageProperties::new(),
        }
    }

    #[test]
    fn a_crash_loses_only_the_pending_tail_and_recovery_restores_it_from_the_commit_log() {
        let root = tempfile::tempdir().unwrap();
        let log_config = CommitLogConfig::new(root.path().join("commitlog"));
        let mut log = CommitLog::open(&log_config).unwrap();
        let mut queues = ConsumeQueues::open(root.path(), 4).unwrap();
        let mut expected = Vec::new();
        for k in 0..10 {
            let appended = log.append(&message(k), 2).unwrap();
            let record = log.read(appended.physical_offset).unwrap();
            queues.dispatch(&record, &log).unwrap();
            expected.push(ConsumeQueueEntry {
                physical_offset: appended.physical_offset.to_java_long(),
                size: i32::try_from(appended.size).unwrap(),
                tags_code: 0,
            });
            if k == 5 {
                queues.flush().unwrap();
            }
        }
        // A "crash": the process dies with entry 9 pending (no drop, which would write it).
        assert_eq!(
            queues.get(TOPIC, QueueId(0), &log).unwrap().unwrap().pending_entries(),
            1
        );
        std::mem::forget(queues);
        let reopened = ConsumeQueue::open(root.path(), TOPIC, QueueId(0), 4).unwrap();
        assert_eq!(reopened.max_offset(), QueueOffset(9));
        drop(reopened);
        let mut queues = ConsumeQueues::open(root.path(), 4).unwrap();
        queues.recover(&log).unwrap();
        let queue = queues.get(TOPIC, QueueId(0), &log).unwrap().unwrap();
        assert_eq!(queue.max_offset(), QueueOffset(10));
        assert_eq!(queue.read(QueueOffset(0), 100).unwrap(), expected);
    }
}
