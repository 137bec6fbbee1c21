//! A directory of fixed-size files that together hold one logical byte range, each named by the
//! 20-digit zero-padded offset of its first byte (`UtilAll.offset2FileName`). Used by the commit
//! log and by every consume queue.
//!
//! ```text
//! dir/00000000000000000000   bytes [0, S)
//! dir/00000000000000065536   bytes [S, 2S)      S = segment_bytes
//! ```
//! Invariants: starts are multiples of `S` and consecutive; every file is exactly `S` bytes
//! (created sparse with `set_len`); a read or write never spans two files. A zero-length last
//! file (a crash during creation) is deleted at open, as Java does; a shorter last file (a crash
//! inside `truncate`) is regrown with zeros (Java would refuse to start). Any other bad length or
//! a gap is corrupt for the commit log (the data itself); a consume queue, rebuilt from the log,
//! drops that file and every later one instead ([`DamagedFiles`]).
//!
//! The set keeps no descriptors: every read and write borrows a handle from the shared
//! [`OpenFiles`] cache, and "dirty" is a flag per file, synced through a handle when flushed.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::{StoreError, StoreResult, io_error};
use crate::open_files::{CachedPath, OpenFiles};

/// Width of a segment file name (`UtilAll.offset2FileName`).
const FILE_NAME_DIGITS: usize = 20;
/// Bytes read per call when measuring how much data a truncation dropped.
const PROBE_CHUNK_BYTES: usize = 64 * 1024;

/// The file name of the segment starting at `start`.
pub(crate) fn file_name(start: u64) -> String {
    format!("{start:0width$}", width = FILE_NAME_DIGITS)
}

/// What opening does with a file of the wrong length, or a gap, that a crash cannot explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DamagedFiles {
    /// Refuse to open (`StoreError::Corrupt`): the files are the data (the commit log).
    Refuse,
    /// Delete that file and every later one: the files are rebuilt from the commit log.
    Drop,
}

struct Segment {
    start: u64,
    file: CachedPath,
    /// Written since the last `sync`.
    dirty: bool,
}

pub(crate) struct SegmentSet {
    dir: PathBuf,
    segment_bytes: u64,
    segments: Vec<Segment>,
    files: Arc<OpenFiles>,
    /// Files opening deleted, regrew or dropped (crash leftovers and damage).
    repaired_files: usize,
    /// Whether opening dropped damaged files (data the owner must rebuild).
    dropped_damaged: bool,
    /// A segment was created but syncing the directory failed: retried at the next sync.
    dir_unsynced: bool,
}

impl SegmentSet {
    /// Opens (creating if needed) `dir` and loads its segment files in offset order; handles
    /// come from `files`.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        files: Arc<OpenFiles>,
        damaged: DamagedFiles,
    ) -> StoreResult<SegmentSet> {
        if segment_bytes == 0 {
            return Err(StoreError::BadConfig {
                reason: "segment size 0".to_owned(),
            });
        }
        crate::durable_dir::create_dir_all_durably(dir).map_err(io_error(dir))?;
        let mut set = SegmentSet {
            dir: dir.to_owned(),
            segment_bytes,
            segments: Vec::new(),
            files,
            repaired_files: 0,
            dropped_damaged: false,
            dir_unsynced: false,
        };
        let starts = set.list_starts()?;
        let count = starts.len();
        for (index, &start) in starts.iter().enumerate() {
            let path = dir.join(file_name(start));
            let len = fs::metadata(&path).map_err(io_error(&path))?.len();
            let is_last = index + 1 == count;
            if len == 0 && is_last {
                fs::remove_file(&path).map_err(io_error(&path))?;
                set.repaired_files += 1;
                continue;
            }
            let misplaced = start % segment_bytes != 0
                || set
                    .segments
                    .last()
                    .is_some_and(|last| last.start + segment_bytes != start);
            // A short last file is a `truncate` killed between its shrink and its regrow: the
            // bytes it lost were meant to be zeros, so it is regrown below.
            let bad_length = len > segment_bytes || (len < segment_bytes && !is_last);
            if misplaced || bad_length {
                let reason = if misplaced {
                    "segment not aligned or not consecutive".to_owned()
                } else {
                    format!("length {len}, expected {segment_bytes}")
                };
                match damaged {
                    DamagedFiles::Refuse => return Err(corrupt(&path, 0, &reason)),
                    DamagedFiles::Drop => {
                        tracing::warn!(file = %path.display(), %reason, "dropping damaged file and later ones; they are rebuilt from the commit log");
                        set.drop_files(starts.get(index..).unwrap_or_default())?;
                        break;
                    }
                }
            }
            let cached = set.files.key(path);
            if len < segment_bytes {
                let file = set.files.get(&cached)?;
                file.set_len(segment_bytes).map_err(io_error(cached.path()))?;
                file.sync_all().map_err(io_error(cached.path()))?;
                set.repaired_files += 1;
            }
            set.segments.push(Segment {
                start,
                file: cached,
                dirty: false,
            });
        }
        Ok(set)
    }

    pub(crate) fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files opening deleted, regrew or dropped.
    pub(crate) fn repaired_files(&self) -> usize {
        self.repaired_files
    }

    /// Whether opening dropped damaged files whose data must be rebuilt.
    pub(crate) fn dropped_damaged(&self) -> bool {
        self.dropped_damaged
    }

    /// Start offsets of the segments, oldest first.
    pub(crate) fn starts(&self) -> Vec<u64> {
        self.segments.iter().map(|s| s.start).collect()
    }

    /// First byte covered by a segment, if any.
    pub(crate) fn first_start(&self) -> Option<u64> {
        self.segments.first().map(|s| s.start)
    }

    /// Start of the last segment, if any.
    pub(crate) fn last_start(&self) -> Option<u64> {
        self.segments.last().map(|s| s.start)
    }

    /// One past the last byte covered by a segment (0 when there is none).
    pub(crate) fn end(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.start + self.segment_bytes)
    }

    /// Start of the segment that holds `offset`.
    pub(crate) fn segment_start(&self, offset: u64) -> u64 {
        offset - offset % self.segment_bytes
    }

    /// Reads exactly `buf.len()` bytes at `offset`, all inside one existing segment.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> StoreResult<()> {
        let (segment, at) = self.locate(offset, buf.len())?;
        let file = self.files.get(&segment.file)?;
        file.read_exact_at(buf, at).map_err(io_error(segment.file.path()))
    }

    /// Writes `buf` at `offset`, inside one segment, creating that segment if `offset` is the
    /// first byte past the end (or the set is empty).
    pub(crate) fn write_at(&mut self, offset: u64, buf: &[u8]) -> StoreResult<()> {
        if offset >= self.end() || self.segments.is_empty() {
            self.create(self.segment_start(offset))?;
        }
        let (index, at) = self.locate_index(offset, buf.len())?;
        let segment = self.segments.get_mut(index).ok_or_else(|| missing(&self.dir, offset))?;
        let file = self.files.get(&segment.file)?;
        file.write_all_at(buf, at).map_err(io_error(segment.file.path()))?;
        segment.dirty = true;
        Ok(())
    }

    /// Marks the segment holding `offset` written (its bytes changed through a memory map).
    pub(crate) fn mark_written(&mut self, offset: u64) {
        if let Ok((index, _)) = self.locate_index(offset, 0)
            && let Some(segment) = self.segments.get_mut(index)
        {
            segment.dirty = true;
        }
    }

    /// `fsync`s (data only) every segment written since the last call.
    pub(crate) fn sync(&mut self) -> StoreResult<()> {
        self.sync_dir_if_needed()?;
        for segment in self.segments.iter_mut().filter(|s| s.dirty) {
            sync_path(&self.files, &segment.file)?;
            segment.dirty = false;
        }
        Ok(())
    }

    /// The segments written since the last sync, now marked clean, so the caller can `fsync`
    /// them (with [`sync_path`]) without holding the set (the store flushes outside its lock).
    pub(crate) fn take_dirty(&mut self) -> Vec<CachedPath> {
        if let Err(error) = self.sync_dir_if_needed() {
            tracing::warn!(%error, dir = %self.dir.display(), "directory of a new segment not synced; retried at the next flush");
        }
        self.segments
            .iter_mut()
            .filter(|s| s.dirty)
            .map(|segment| {
                segment.dirty = false;
                segment.file.clone()
            })
            .collect()
    }

    /// The handle cache this set reads and writes through.
    pub(crate) fn files(&self) -> &Arc<OpenFiles> {
        &self.files
    }

    /// Marks every segment dirty (a handed-out sync of some of them failed).
    pub(crate) fn mark_all_dirty(&mut self) {
        for segment in &mut self.segments {
            segment.dirty = true;
        }
    }

    /// Marks the segment holding `offset` and every later one dirty.
    pub(crate) fn mark_dirty_from(&mut self, offset: u64) {
        let segment_bytes = self.segment_bytes;
        for segment in self.segments.iter_mut().filter(|s| s.start + segment_bytes > offset) {
            segment.dirty = true;
        }
    }

    /// Marks the segment stored at `file` dirty again (a handed-out sync failed).
    pub(crate) fn mark_dirty(&mut self, file: &CachedPath) {
        if let Some(segment) = self.segments.iter_mut().find(|s| s.file == *file) {
            segment.dirty = true;
        }
    }

    /// Makes `end` the end of the data: deletes segments starting at or after it and zeroes the
    /// rest of the one containing it (so stale bytes can never be read back as records), synced.
    pub(crate) fn truncate(&mut self, end: u64) -> StoreResult<()> {
        while let Some(last) = self.segments.last() {
            if last.start < end {
                break;
            }
            self.files.forget(&last.file);
            fs::remove_file(last.file.path()).map_err(io_error(last.file.path()))?;
            self.segments.pop();
        }
        let segment_bytes = self.segment_bytes;
        if let Some(last) = self.segments.last_mut()
            && end < last.start + segment_bytes
        {
            // Shrinking then regrowing frees the tail's blocks and reads back as zeros.
            let path = last.file.path();
            let file = self.files.get(&last.file)?;
            file.set_len(end - last.start).map_err(io_error(path))?;
            file.set_len(segment_bytes).map_err(io_error(path))?;
            file.sync_all().map_err(io_error(path))?;
            last.dirty = false;
        }
        Ok(())
    }

    /// Bytes that are not zeros from `from` to the end of its segment and in every later
    /// segment, each probed up to `probe_max` bytes: what a truncation at `from` throws away
    /// (zeros past a torn record are not data).
    pub(crate) fn data_bytes_from(&self, from: u64, probe_max: u64) -> StoreResult<u64> {
        let mut total = 0;
        for segment in self.segments.iter().filter(|s| s.start + self.segment_bytes > from) {
            let begin = from.max(segment.start);
            let limit = (segment.start + self.segment_bytes).min(begin.saturating_add(probe_max));
            let file = self.files.get(&segment.file)?;
            let mut chunk = vec![0u8; PROBE_CHUNK_BYTES];
            let mut position = begin;
            let mut last_data = None;
            while position < limit {
                let len =
                    usize::try_from(limit - position).map_or(PROBE_CHUNK_BYTES, |left| left.min(PROBE_CHUNK_BYTES));
                let buf = chunk.get_mut(..len).unwrap_or_default();
                file.read_exact_at(buf, position - segment.start)
                    .map_err(io_error(segment.file.path()))?;
                match buf.iter().rposition(|&byte| byte != 0) {
                    Some(at) => last_data = Some(position + at as u64),
                    None => break,
                }
                position += len as u64;
            }
            total += last_data.map_or(0, |at| at + 1 - begin);
        }
        Ok(total)
    }

    /// Start and last-modified time (ms since the epoch; 0 if unknown or before it) of every
    /// segment, oldest first, for retention.
    pub(crate) fn modified_ms(&self) -> StoreResult<Vec<(u64, i64)>> {
        self.segments
            .iter()
            .map(|segment| {
                let modified = fs::metadata(segment.file.path())
                    .and_then(|metadata| metadata.modified())
                    .map_err(io_error(segment.file.path()))?;
                Ok((segment.start, Clock::ms_since_epoch(modified)))
            })
            .collect()
    }

    /// Deletes the oldest segment unless it is the only one (the active segment is never
    /// deleted); returns its start.
    pub(crate) fn remove_first(&mut self) -> StoreResult<Option<u64>> {
        if self.segments.len() < 2 {
            return Ok(None);
        }
        let first = self.segments.remove(0);
        self.files.forget(&first.file);
        fs::remove_file(first.file.path()).map_err(io_error(first.file.path()))?;
        Ok(Some(first.start))
    }

    /// Starts of the segment files in the directory, sorted.
    fn list_starts(&self) -> StoreResult<Vec<u64>> {
        let mut starts = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() == FILE_NAME_DIGITS && name.bytes().all(|b| b.is_ascii_digit()) {
                let start: u64 = name.parse().map_err(|_| corrupt(&entry.path(), 0, "bad file name"))?;
                starts.push(start);
            }
        }
        starts.sort_unstable();
        Ok(starts)
    }

    /// Deletes the files starting at `starts` (damaged ones and those after them).
    fn drop_files(&mut self, starts: &[u64]) -> StoreResult<()> {
        for start in starts {
            let path = self.dir.join(file_name(*start));
            fs::remove_file(&path).map_err(io_error(&path))?;
            self.repaired_files += 1;
        }
        self.dropped_damaged = true;
        Ok(())
    }

    /// Creates the segment starting at `start`, which must follow the last one (or be the first).
    fn create(&mut self, start: u64) -> StoreResult<()> {
        assert!(
            start.is_multiple_of(self.segment_bytes),
            "unaligned segment start {start}"
        );
        assert!(
            self.segments.is_empty() || start == self.end(),
            "segment {start} would leave a gap after {}",
            self.end()
        );
        let cached = self.files.key(self.dir.join(file_name(start)));
        let file = self.files.create_new(&cached)?;
        if let Err(error) = file.set_len(self.segment_bytes) {
            // Never leave a file of the wrong length behind: the next attempt creates it again.
            self.files.forget(&cached);
            let _ = fs::remove_file(cached.path());
            return Err(io_error(cached.path())(error));
        }
        self.segments.push(Segment {
            start,
            file: cached,
            dirty: true,
        });
        // The new name must survive a crash, or recovery would not find data written into it.
        // If that fails the segment stays (it is whole) and the next sync retries the directory.
        self.dir_unsynced = true;
        self.sync_dir_if_needed()
    }

    fn sync_dir_if_needed(&mut self) -> StoreResult<()> {
        if self.dir_unsynced {
            File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(io_error(&self.dir))?;
            self.dir_unsynced = false;
        }
        Ok(())
    }

    fn locate(&self, offset: u64, len: usize) -> StoreResult<(&Segment, u64)> {
        let (index, at) = self.locate_index(offset, len)?;
        let segment = self.segments.get(index).ok_or_else(|| missing(&self.dir, offset))?;
        Ok((segment, at))
    }

    /// Index of the segment holding `[offset, offset + len)` and the position inside it.
    fn locate_index(&self, offset: u64, len: usize) -> StoreResult<(usize, u64)> {
        let first = self.first_start().ok_or_else(|| missing(&self.dir, offset))?;
        if offset < first || offset >= self.end() {
            return Err(missing(&self.dir, offset));
        }
        let index = usize::try_from((offset - first) / self.segment_bytes).map_err(|_| missing(&self.dir, offset))?;
        let at = offset % self.segment_bytes;
        if at.saturating_add(len as u64) > self.segment_bytes {
            return Err(StoreError::Corrupt {
                file: self.dir.join(file_name(offset - at)),
                offset: at,
                reason: format!("{len} bytes would cross the end of the segment"),
            });
        }
        Ok((index, at))
    }
}

/// `fsync`s (data only) `file` through `files`; a file deleted meanwhile (clean-up, truncation)
/// has nothing left to sync.
pub(crate) fn sync_path(files: &OpenFiles, file: &CachedPath) -> StoreResult<()> {
    match files.get(file) {
        Ok(handle) => handle.sync_data().map_err(io_error(file.path())),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

fn corrupt(path: &Path, offset: u64, reason: &str) -> StoreError {
    StoreError::Corrupt {
        file: path.to_owned(),
        offset,
        reason: reason.to_owned(),
    }
}

fn missing(dir: &Path, offset: u64) -> StoreError {
    StoreError::Corrupt {
        file: dir.to_owned(),
        offset,
        reason: "no segment holds this offset".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, damaged: DamagedFiles) -> StoreResult<SegmentSet> {
        SegmentSet::open(dir, 64, OpenFiles::new(4), damaged)
    }

    #[test]
    fn names_are_twenty_digits() {
        assert_eq!(file_name(0), "00000000000000000000");
        assert_eq!(file_name(1_073_741_824), "00000000001073741824");
    }

    #[test]
    fn writes_create_consecutive_segments_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        set.write_at(0, b"hello").unwrap();
        set.write_at(64, b"world").unwrap();
        assert!(set.write_at(60, b"crossing").is_err());
        set.sync().unwrap();
        let set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        assert_eq!(set.starts(), vec![0, 64]);
        let mut buf = [0u8; 5];
        set.read_at(64, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert!(set.read_at(128, &mut buf).is_err());
    }

    #[test]
    fn truncate_deletes_later_segments_and_zeroes_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        set.write_at(0, &[7u8; 64]).unwrap();
        set.write_at(64, &[8u8; 10]).unwrap();
        set.truncate(10).unwrap();
        assert_eq!(set.starts(), vec![0]);
        let mut buf = [0u8; 64];
        set.read_at(0, &mut buf).unwrap();
        assert_eq!(&buf[..10], &[7u8; 10]);
        assert!(buf[10..].iter().all(|&b| b == 0));
    }

    #[test]
    fn zero_length_last_file_is_dropped_and_wrong_length_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        set.write_at(0, b"x").unwrap();
        File::create(dir.path().join(file_name(64))).unwrap();
        let set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        assert_eq!(set.starts(), vec![0]);
        fs::write(dir.path().join(file_name(64)), [1u8; 65]).unwrap();
        assert!(matches!(
            open(dir.path(), DamagedFiles::Refuse),
            Err(StoreError::Corrupt { .. })
        ));
        fs::write(dir.path().join(file_name(64)), [1u8; 64]).unwrap();
        fs::write(dir.path().join(file_name(128)), [1u8; 64]).unwrap();
        fs::write(dir.path().join(file_name(0)), b"short").unwrap();
        assert!(matches!(
            open(dir.path(), DamagedFiles::Refuse),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn short_last_file_from_an_interrupted_truncate_is_regrown_with_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        set.write_at(0, &[7u8; 64]).unwrap();
        set.write_at(64, &[7u8; 10]).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(file_name(64)))
            .unwrap()
            .set_len(5)
            .unwrap();
        let set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        assert_eq!(set.starts(), vec![0, 64]);
        let mut buf = [0u8; 64];
        set.read_at(64, &mut buf).unwrap();
        assert_eq!(&buf[..5], &[7u8; 5]);
        assert!(buf[5..].iter().all(|&b| b == 0));
    }

    #[test]
    fn derived_files_drop_a_damaged_file_and_every_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Drop).unwrap();
        for start in [0, 64, 128] {
            set.write_at(start, b"x").unwrap();
        }
        fs::write(dir.path().join(file_name(64)), b"short").unwrap();
        let set = open(dir.path(), DamagedFiles::Drop).unwrap();
        assert_eq!(set.starts(), vec![0]);
        assert!(set.dropped_damaged());
        assert_eq!(set.repaired_files(), 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn data_bytes_count_what_is_not_zeros_past_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = open(dir.path(), DamagedFiles::Refuse).unwrap();
        set.write_at(10, &[1u8; 5]).unwrap();
        set.write_at(64, &[2u8; 3]).unwrap();
        assert_eq!(set.data_bytes_from(12, 1 << 20).unwrap(), 3 + 3);
        assert_eq!(set.data_bytes_from(15, 1 << 20).unwrap(), 3);
        assert_eq!(set.data_bytes_from(67, 1 << 20).unwrap(), 0);
    }
}
