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
//! rules). Recovery scans from the third-to-last file, stops at the first invalid entry, drops
//! entries past the commit log's end, then re-dispatches the commit log's tail.

use std::path::{Path, PathBuf};

use crate::error::{StoreError, StoreResult};
use crate::segments::SegmentSet;

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
pub enum PutOutcome {
    Written,
    /// The entry was already there (a re-dispatch after recovery).
    AlreadyPresent,
}

pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    segments: SegmentSet,
    /// Byte position of the first readable entry.
    min_position: u64,
    /// Byte position of the next entry.
    write_position: u64,
    max_physical_end: u64,
}

impl ConsumeQueue {
    /// `<store root>/consumequeue/<topic>/<queueId>`.
    pub fn dir(store_root: &Path, topic: &str, queue_id: i32) -> StoreResult<PathBuf> {
        if topic.is_empty() || topic == "." || topic == ".." || topic.contains(['/', '\0']) {
            return Err(StoreError::InvalidTopic {
                topic: topic.to_owned(),
            });
        }
        Ok(store_root.join("consumequeue").join(topic).join(queue_id.to_string()))
    }

    /// Opens (creating if needed) the queue and recovers its valid end.
    pub fn open(store_root: &Path, topic: &str, queue_id: i32, file_entries: u64) -> StoreResult<ConsumeQueue> {
        if file_entries == 0 {
            return Err(StoreError::BadConfig {
                reason: "consume-queue file of 0 entries".to_owned(),
            });
        }
        let dir = ConsumeQueue::dir(store_root, topic, queue_id)?;
        let segments = SegmentSet::open(&dir, file_entries.saturating_mul(ENTRY_BYTES))?;
        let mut queue = ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            min_position: segments.first_start().unwrap_or(0),
            write_position: segments.first_start().unwrap_or(0),
            max_physical_end: 0,
            segments,
        };
        queue.write_position = queue.recover_end()?;
        queue.segments.truncate(queue.write_position)?;
        queue.refresh_max_physical_end()?;
        queue.correct_min_offset(0)?;
        Ok(queue)
    }

    /// Writes `entry` as queue offset `queue_offset` unless it is already present. A first entry
    /// at a non-zero offset is preceded by blank entries from the start of its file.
    pub fn put(&mut self, queue_offset: u64, entry: ConsumeQueueEntry) -> StoreResult<PutOutcome> {
        if entry.physical_end() <= self.max_physical_end {
            return Ok(PutOutcome::AlreadyPresent);
        }
        let expected = queue_offset
            .checked_mul(ENTRY_BYTES)
            .ok_or_else(|| self.gap(queue_offset))?;
        if self.segments.first_start().is_none() {
            self.fill_pre_blank(expected)?;
        }
        if expected < self.write_position {
            return Ok(PutOutcome::AlreadyPresent);
        }
        if expected > self.write_position {
            return Err(self.gap(queue_offset));
        }
        self.segments.write_at(self.write_position, &entry.encode())?;
        self.write_position += ENTRY_BYTES;
        self.max_physical_end = entry.physical_end();
        Ok(PutOutcome::Written)
    }

    /// The entry at `queue_offset`, if it is in `[min, max)`.
    pub fn get(&self, queue_offset: u64) -> StoreResult<Option<ConsumeQueueEntry>> {
        let position = queue_offset.saturating_mul(ENTRY_BYTES);
        if position < self.min_position || position >= self.write_position {
            return Ok(None);
        }
        self.entry_at(position).map(Some)
    }

    /// Up to `max_entries` (capped at [`READ_ENTRIES_MAX`]) entries from `queue_offset`.
    pub fn read(&self, queue_offset: u64, max_entries: usize) -> StoreResult<Vec<ConsumeQueueEntry>> {
        let start = queue_offset.saturating_mul(ENTRY_BYTES);
        if start < self.min_position || start > self.write_position {
            return Err(StoreError::OffsetOutOfRange {
                offset: queue_offset,
                min: self.min_offset(),
                max: self.max_offset(),
            });
        }
        let wanted = (self.write_position - start) / ENTRY_BYTES;
        let count = usize::try_from(wanted)
            .unwrap_or(usize::MAX)
            .min(max_entries)
            .min(READ_ENTRIES_MAX);
        self.read_entries(start, count)
    }

    /// The first readable queue offset.
    pub fn min_offset(&self) -> u64 {
        self.min_position / ENTRY_BYTES
    }

    /// The next queue offset to be written.
    pub fn max_offset(&self) -> u64 {
        self.write_position / ENTRY_BYTES
    }

    /// One past the commit-log record the last entry points at.
    pub fn max_physical_end(&self) -> u64 {
        self.max_physical_end
    }

    /// Drops trailing entries that point at or past `commit_log_end` (§4.3 truncation).
    pub fn truncate_to_commit_log_end(&mut self, commit_log_end: u64) -> StoreResult<()> {
        while self.write_position > self.min_position {
            let last = self.entry_at(self.write_position - ENTRY_BYTES)?;
            if last.is_blank() || last.physical_end() <= commit_log_end {
                break;
            }
            self.write_position -= ENTRY_BYTES;
        }
        self.segments.truncate(self.write_position)?;
        self.refresh_max_physical_end()
    }

    /// Moves the min offset to the first real entry pointing at or past `commit_log_min`
    /// (`correctMinOffset`), by binary search: blanks come first, then offsets only grow.
    pub fn correct_min_offset(&mut self, commit_log_min: u64) -> StoreResult<()> {
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
    pub fn delete_files_below(&mut self, commit_log_min: u64) -> StoreResult<usize> {
        let file_bytes = self.segments.segment_bytes();
        let mut deleted = 0;
        while let [first, _, ..] = self.segments.starts()[..] {
            let last_entry = self.entry_at(first + file_bytes - ENTRY_BYTES)?;
            // A blank entry's offset is 0, below any min, as Java compares it.
            if u64::try_from(last_entry.physical_offset).unwrap_or(0) >= commit_log_min {
                break;
            }
            self.segments.remove_first()?;
            deleted += 1;
        }
        self.min_position = self.min_position.max(self.segments.first_start().unwrap_or(0));
        self.correct_min_offset(commit_log_min)?;
        Ok(deleted)
    }

    /// `fsync`s the files written since the last flush.
    pub fn flush(&mut self) -> StoreResult<()> {
        self.segments.sync()
    }

    /// Duplicated handles of the files written since the last flush, now marked clean, to be
    /// synced without holding the queue (see `SegmentSet::take_dirty`).
    pub(crate) fn take_dirty_files(&mut self) -> StoreResult<Vec<(PathBuf, std::fs::File)>> {
        self.segments.take_dirty()
    }

    /// After a failed handed-out sync: every file is synced again at the next flush.
    pub(crate) fn mark_all_dirty(&mut self) {
        self.segments.mark_all_dirty();
    }

    fn entry_at(&self, position: u64) -> StoreResult<ConsumeQueueEntry> {
        let mut bytes = [0u8; ENTRY_BYTES as usize];
        self.segments.read_at(position, &mut bytes)?;
        Ok(ConsumeQueueEntry::decode(&bytes))
    }

    /// Reads `count` entries from byte `position`, a file at a time.
    fn read_entries(&self, mut position: u64, count: usize) -> StoreResult<Vec<ConsumeQueueEntry>> {
        let mut entries = Vec::with_capacity(count);
        let file_bytes = self.segments.segment_bytes();
        while entries.len() < count {
            let in_file = (file_bytes - position % file_bytes) / ENTRY_BYTES;
            let chunk = (count - entries.len()).min(SCAN_CHUNK_ENTRIES).min(in_file as usize);
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

    /// Byte position of the first invalid entry, scanning from the third-to-last file.
    fn recover_end(&self) -> StoreResult<u64> {
        let starts = self.segments.starts();
        let Some(&scan_start) = starts.get(starts.len().saturating_sub(RECOVERY_FILES)) else {
            return Ok(0);
        };
        let end = self.segments.end();
        let mut position = scan_start;
        while position < end {
            let file_bytes = self.segments.segment_bytes();
            let in_file = (file_bytes - position % file_bytes) / ENTRY_BYTES;
            let chunk = (in_file as usize).min(SCAN_CHUNK_ENTRIES);
            for entry in self.read_entries(position, chunk)? {
                if !entry.is_valid() {
                    return Ok(position);
                }
                position += ENTRY_BYTES;
            }
        }
        Ok(position)
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
        Ok(())
    }

    fn gap(&self, queue_offset: u64) -> StoreError {
        StoreError::QueueOffsetGap {
            topic: self.topic.clone(),
            queue_id: self.queue_id,
            queue_offset,
            expected: self.max_offset(),
        }
    }

    fn corrupt(&self, position: u64) -> StoreError {
        StoreError::Corrupt {
            file: self.segments.dir().to_owned(),
            offset: position,
            reason: "short consume-queue entry".to_owned(),
        }
    }
}
