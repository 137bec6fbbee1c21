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
//! inside `truncate`) is regrown with zeros (Java would refuse to start); any other length is
//! corrupt.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{StoreError, StoreResult, io_error};

/// Width of a segment file name (`UtilAll.offset2FileName`).
const FILE_NAME_DIGITS: usize = 20;

/// The file name of the segment starting at `start`.
pub(crate) fn file_name(start: u64) -> String {
    format!("{start:0width$}", width = FILE_NAME_DIGITS)
}

struct Segment {
    start: u64,
    path: PathBuf,
    file: File,
    /// Written since the last `sync`.
    dirty: bool,
}

pub(crate) struct SegmentSet {
    dir: PathBuf,
    segment_bytes: u64,
    segments: Vec<Segment>,
}

impl SegmentSet {
    /// Opens (creating if needed) `dir` and loads its segment files in offset order.
    pub(crate) fn open(dir: &Path, segment_bytes: u64) -> StoreResult<SegmentSet> {
        if segment_bytes == 0 {
            return Err(StoreError::BadConfig {
                reason: "segment size 0".to_owned(),
            });
        }
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut starts = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() == FILE_NAME_DIGITS && name.bytes().all(|b| b.is_ascii_digit()) {
                let start: u64 = name.parse().map_err(|_| corrupt(&entry.path(), 0, "bad file name"))?;
                starts.push(start);
            }
        }
        starts.sort_unstable();
        let mut set = SegmentSet {
            dir: dir.to_owned(),
            segment_bytes,
            segments: Vec::with_capacity(starts.len()),
        };
        let count = starts.len();
        for (index, start) in starts.into_iter().enumerate() {
            let path = dir.join(file_name(start));
            let len = fs::metadata(&path).map_err(io_error(&path))?.len();
            if len == 0 && index + 1 == count {
                fs::remove_file(&path).map_err(io_error(&path))?;
                continue;
            }
            let is_last = index + 1 == count;
            // A short last file is a `truncate` killed between its shrink and its regrow: the
            // bytes it lost were meant to be zeros, so it is regrown below.
            if len > segment_bytes || (len < segment_bytes && !is_last) {
                return Err(corrupt(&path, 0, &format!("length {len}, expected {segment_bytes}")));
            }
            if start % segment_bytes != 0
                || set
                    .segments
                    .last()
                    .is_some_and(|last| last.start + segment_bytes != start)
            {
                return Err(corrupt(&path, 0, "segment not aligned or not consecutive"));
            }
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_error(&path))?;
            if len < segment_bytes {
                file.set_len(segment_bytes).map_err(io_error(&path))?;
                file.sync_all().map_err(io_error(&path))?;
            }
            set.segments.push(Segment {
                start,
                path,
                file,
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

    /// Start offsets of the segments, oldest first.
    pub(crate) fn starts(&self) -> Vec<u64> {
        self.segments.iter().map(|s| s.start).collect()
    }

    /// First byte covered by a segment, if any.
    pub(crate) fn first_start(&self) -> Option<u64> {
        self.segments.first().map(|s| s.start)
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
        segment.file.read_exact_at(buf, at).map_err(io_error(&segment.path))
    }

    /// Writes `buf` at `offset`, inside one segment, creating that segment if `offset` is the
    /// first byte past the end (or the set is empty).
    pub(crate) fn write_at(&mut self, offset: u64, buf: &[u8]) -> StoreResult<()> {
        if offset >= self.end() || self.segments.is_empty() {
            self.create(self.segment_start(offset))?;
        }
        let (index, at) = self.locate_index(offset, buf.len())?;
        let segment = self.segments.get_mut(index).ok_or_else(|| missing(&self.dir, offset))?;
        segment.file.write_all_at(buf, at).map_err(io_error(&segment.path))?;
        segment.dirty = true;
        Ok(())
    }

    /// `fsync`s (data only) every segment written since the last call.
    pub(crate) fn sync(&mut self) -> StoreResult<()> {
        for segment in self.segments.iter_mut().filter(|s| s.dirty) {
            segment.file.sync_data().map_err(io_error(&segment.path))?;
            segment.dirty = false;
        }
        Ok(())
    }

    /// Duplicated handles of the segments written since the last sync, now marked clean, so the
    /// caller can `fsync` them without holding the set (the store flushes outside its lock).
    pub(crate) fn take_dirty(&mut self) -> StoreResult<Vec<(PathBuf, File)>> {
        let mut taken = Vec::new();
        for segment in self.segments.iter().filter(|s| s.dirty) {
            let file = segment.file.try_clone().map_err(io_error(&segment.path))?;
            taken.push((segment.path.clone(), file));
        }
        // Marked clean only once every handle was duplicated, so an error leaves all dirty.
        for segment in self.segments.iter_mut() {
            segment.dirty = false;
        }
        Ok(taken)
    }

    /// Marks every segment dirty (a handed-out sync of some of them failed).
    pub(crate) fn mark_all_dirty(&mut self) {
        for segment in &mut self.segments {
            segment.dirty = true;
        }
    }

    /// Marks the segment stored at `path` dirty again (a handed-out sync failed).
    pub(crate) fn mark_dirty(&mut self, path: &Path) {
        if let Some(segment) = self.segments.iter_mut().find(|s| s.path == path) {
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
            fs::remove_file(&last.path).map_err(io_error(&last.path))?;
            self.segments.pop();
        }
        let segment_bytes = self.segment_bytes;
        if let Some(last) = self.segments.last_mut()
            && end < last.start + segment_bytes
        {
            // Shrinking then regrowing frees the tail's blocks and reads back as zeros.
            last.file.set_len(end - last.start).map_err(io_error(&last.path))?;
            last.file.set_len(segment_bytes).map_err(io_error(&last.path))?;
            last.file.sync_all().map_err(io_error(&last.path))?;
            last.dirty = false;
        }
        Ok(())
    }

    /// Start and last-modified time (ms since the epoch; 0 if unknown or before it) of every
    /// segment, oldest first, for retention.
    pub(crate) fn modified_ms(&self) -> StoreResult<Vec<(u64, i64)>> {
        self.segments
            .iter()
            .map(|segment| {
                let modified = segment
                    .file
                    .metadata()
                    .and_then(|metadata| metadata.modified())
                    .map_err(io_error(&segment.path))?;
                let ms = modified
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX));
                Ok((segment.start, ms))
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
        fs::remove_file(&first.path).map_err(io_error(&first.path))?;
        Ok(Some(first.start))
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
        let path = self.dir.join(file_name(start));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.set_len(self.segment_bytes).map_err(io_error(&path))?;
        // The new name must survive a crash, or recovery would not find data written into it.
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(&self.dir))?;
        self.segments.push(Segment {
            start,
            path,
            file,
            dirty: true,
        });
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

    #[test]
    fn names_are_twenty_digits() {
        assert_eq!(file_name(0), "00000000000000000000");
        assert_eq!(file_name(1_073_741_824), "00000000001073741824");
    }

    #[test]
    fn writes_create_consecutive_segments_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = SegmentSet::open(dir.path(), 64).unwrap();
        set.write_at(0, b"hello").unwrap();
        set.write_at(64, b"world").unwrap();
        assert!(set.write_at(60, b"crossing").is_err());
        set.sync().unwrap();
        let set = SegmentSet::open(dir.path(), 64).unwrap();
        assert_eq!(set.starts(), vec![0, 64]);
        let mut buf = [0u8; 5];
        set.read_at(64, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert!(set.read_at(128, &mut buf).is_err());
    }

    #[test]
    fn truncate_deletes_later_segments_and_zeroes_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = SegmentSet::open(dir.path(), 64).unwrap();
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
        let mut set = SegmentSet::open(dir.path(), 64).unwrap();
        set.write_at(0, b"x").unwrap();
        File::create(dir.path().join(file_name(64))).unwrap();
        let set = SegmentSet::open(dir.path(), 64).unwrap();
        assert_eq!(set.starts(), vec![0]);
        fs::write(dir.path().join(file_name(64)), [1u8; 65]).unwrap();
        assert!(matches!(
            SegmentSet::open(dir.path(), 64),
            Err(StoreError::Corrupt { .. })
        ));
        fs::write(dir.path().join(file_name(64)), [1u8; 64]).unwrap();
        fs::write(dir.path().join(file_name(128)), [1u8; 64]).unwrap();
        fs::write(dir.path().join(file_name(0)), b"short").unwrap();
        assert!(matches!(
            SegmentSet::open(dir.path(), 64),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn short_last_file_from_an_interrupted_truncate_is_regrown_with_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = SegmentSet::open(dir.path(), 64).unwrap();
        set.write_at(0, &[7u8; 64]).unwrap();
        set.write_at(64, &[7u8; 10]).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(file_name(64)))
            .unwrap()
            .set_len(5)
            .unwrap();
        let set = SegmentSet::open(dir.path(), 64).unwrap();
        assert_eq!(set.starts(), vec![0, 64]);
        let mut buf = [0u8; 64];
        set.read_at(64, &mut buf).unwrap();
        assert_eq!(&buf[..5], &[7u8; 5]);
        assert!(buf[5..].iter().all(|&b| b == 0));
    }
}
