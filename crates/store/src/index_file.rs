//! One index file (store-and-ha.md §3, `IndexFile`/`IndexHeader`): a hash table from message keys
//! (`topic#key`) to commit-log offsets, as a fixed-size file of a header, a slot table and
//! chained 20-byte entries. All integers big-endian.
//!
//! ```text
//! 0    header: beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64
//!              | hashSlotCount i32 | indexCount i32                               (40 bytes)
//! 40   slots:  hashSlots × i32, the number of the newest entry of that slot (0 = empty)
//! 40+4S entries: entriesMax × (keyHash i32 | phyOffset i64 | timeDiff s i32 | prev entry i32)
//! ```
//! Invariants: entry 0 is never used, so 0 means "none"; `indexCount` is the next entry number
//! (starts at 1); entries are appended in commit-log order and each one heads its slot's chain
//! when written, so the newest entries can be undone in reverse order ([`IndexFile::truncate_to`]).
//! Every write order is chosen so that a process killed between two writes leaves a file that
//! reads correctly (see `put` and `truncate_to`). The file is opened on demand through the
//! store's bounded handle cache; the file being written (the newest) is also memory-mapped at its
//! first put ([`crate::mapped`]), so a put is memory accesses, not four system calls. A file
//! system that cannot allocate ahead keeps positioned I/O.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use ferrocket_wire::message::tag_hash::java_string_hash;

use crate::error::{StoreError, StoreResult, io_error};
use crate::mapped::MappedFile;
use crate::open_files::{CachedPath, OpenFiles};
use crate::segments::sync_path;

/// `IndexHeader.INDEX_HEADER_SIZE`.
pub const HEADER_BYTES: u64 = 40;
/// One slot: the newest entry number of its chain.
pub const SLOT_BYTES: u64 = 4;
/// One entry: key hash, offset, time diff, previous entry.
pub const ENTRY_BYTES: u64 = 20;
/// Java's `maxHashSlotNum`.
pub const HASH_SLOTS_DEFAULT: u32 = 5_000_000;
/// Java's `maxIndexNum`.
pub const ENTRIES_DEFAULT: u32 = 20_000_000;

/// The shape of an index file; all files of a store share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexGeometry {
    pub hash_slots: u32,
    /// Entry numbers run below this (entry 0 unused).
    pub entries_max: u32,
}

impl IndexGeometry {
    pub const DEFAULT: IndexGeometry = IndexGeometry {
        hash_slots: HASH_SLOTS_DEFAULT,
        entries_max: ENTRIES_DEFAULT,
    };

    /// 420 000 040 bytes for the default.
    pub fn file_bytes(&self) -> u64 {
        HEADER_BYTES + u64::from(self.hash_slots) * SLOT_BYTES + u64::from(self.entries_max) * ENTRY_BYTES
    }

    fn check(&self) -> StoreResult<()> {
        // Both counts are Java ints; at least one slot and one usable entry (entry 0 is unused).
        let fits = |n: u32| i32::try_from(n).is_ok();
        if self.hash_slots == 0 || self.entries_max < 2 || !fits(self.hash_slots) || !fits(self.entries_max) {
            return Err(StoreError::BadConfig {
                reason: format!("index geometry {self:?}"),
            });
        }
        Ok(())
    }

    fn slot_position(&self, key_hash: i32) -> u64 {
        // `key_hash` is never negative (see `key_hash`).
        HEADER_BYTES + (u64::from(key_hash.unsigned_abs()) % u64::from(self.hash_slots)) * SLOT_BYTES
    }

    fn entry_position(&self, number: u32) -> u64 {
        HEADER_BYTES + u64::from(self.hash_slots) * SLOT_BYTES + u64::from(number) * ENTRY_BYTES
    }
}

/// The 40-byte header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexHeader {
    pub begin_timestamp_ms: i64,
    pub end_timestamp_ms: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    /// Insertions into an empty slot (informational).
    pub hash_slot_count: i32,
    /// The next entry number.
    pub index_count: i32,
}

impl IndexHeader {
    pub fn encode(&self) -> [u8; HEADER_BYTES as usize] {
        let mut out = [0u8; HEADER_BYTES as usize];
        let (longs, ints) = out.split_at_mut(32);
        let values = [
            self.begin_timestamp_ms,
            self.end_timestamp_ms,
            self.begin_phy_offset,
            self.end_phy_offset,
        ];
        for (chunk, value) in longs.chunks_exact_mut(8).zip(values) {
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        for (chunk, value) in ints.chunks_exact_mut(4).zip([self.hash_slot_count, self.index_count]) {
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8; HEADER_BYTES as usize]) -> IndexHeader {
        let long = |at: usize| i64::from_be_bytes(array(bytes, at));
        let int = |at: usize| i32::from_be_bytes(array(bytes, at));
        IndexHeader {
            begin_timestamp_ms: long(0),
            end_timestamp_ms: long(8),
            begin_phy_offset: long(16),
            end_phy_offset: long(24),
            hash_slot_count: int(32),
            index_count: int(36),
        }
    }
}

/// `N` bytes of `bytes` at `at`, zeros where `bytes` is too short (callers pass fixed sizes).
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..at.saturating_add(N))
        .and_then(|slice| slice.try_into().ok())
        .unwrap_or([0u8; N])
}

/// One 20-byte entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub key_hash: i32,
    pub phy_offset: i64,
    /// Seconds since the header's begin timestamp.
    pub time_diff_s: i32,
    /// The previous entry of the same slot (0 = none).
    pub prev: i32,
}

impl IndexEntry {
    pub fn encode(&self) -> [u8; ENTRY_BYTES as usize] {
        let mut out = [0u8; ENTRY_BYTES as usize];
        let (hash, rest) = out.split_at_mut(4);
        let (offset, rest) = rest.split_at_mut(8);
        let (diff, prev) = rest.split_at_mut(4);
        hash.copy_from_slice(&self.key_hash.to_be_bytes());
        offset.copy_from_slice(&self.phy_offset.to_be_bytes());
        diff.copy_from_slice(&self.time_diff_s.to_be_bytes());
        prev.copy_from_slice(&self.prev.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; ENTRY_BYTES as usize]) -> IndexEntry {
        IndexEntry {
            key_hash: i32::from_be_bytes(array(bytes, 0)),
            phy_offset: i64::from_be_bytes(array(bytes, 4)),
            time_diff_s: i32::from_be_bytes(array(bytes, 12)),
            prev: i32::from_be_bytes(array(bytes, 16)),
        }
    }
}

/// Java's `indexKeyHashMethod`: `abs(String.hashCode)`, with `Integer.MIN_VALUE` mapped to 0.
pub fn key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// [`key_hash`] of `topic#key`, without building the string: `String.hashCode` runs over the
/// UTF-16 units in order, so it continues from one part to the next.
pub fn index_key_hash(topic: &str, key: &str) -> i32 {
    topic
        .encode_utf16()
        .chain("#".encode_utf16())
        .chain(key.encode_utf16())
        .fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
        .checked_abs()
        .unwrap_or(0)
}

pub struct IndexFile {
    path: CachedPath,
    files: Arc<OpenFiles>,
    geometry: IndexGeometry,
    header: IndexHeader,
    map: MapState,
}

/// Whether the file's bytes are reached through a memory map.
enum MapState {
    /// Not yet tried: mapped at the first put.
    Unmapped,
    Mapped(MappedFile),
    /// Mapping failed once (logged); positioned I/O from then on.
    Unavailable,
}

impl IndexFile {
    /// Creates `path` (sparse, full size) with begin/end pre-set to the previous file's end, as
    /// `IndexService` does, and writes its header.
    pub(crate) fn create(
        path: &Path,
        files: Arc<OpenFiles>,
        geometry: IndexGeometry,
        prev_end_timestamp_ms: i64,
        prev_end_phy_offset: i64,
    ) -> StoreResult<IndexFile> {
        geometry.check()?;
        // A crash before `set_len` leaves a short file, which opening the store deletes; an
        // error removes it at once.
        let cached = files.key(path.to_owned());
        let file = files.create_new(&cached)?;
        if let Err(error) = file.set_len(geometry.file_bytes()) {
            files.forget(&cached);
            let _ = std::fs::remove_file(path);
            return Err(io_error(path)(error));
        }
        let mut header = IndexHeader {
            index_count: 1,
            ..IndexHeader::default()
        };
        if prev_end_phy_offset > 0 {
            header.begin_phy_offset = prev_end_phy_offset;
            header.end_phy_offset = prev_end_phy_offset;
        }
        if prev_end_timestamp_ms > 0 {
            header.begin_timestamp_ms = prev_end_timestamp_ms;
            header.end_timestamp_ms = prev_end_timestamp_ms;
        }
        let mut index = IndexFile {
            path: cached,
            files,
            geometry,
            header,
            map: MapState::Unmapped,
        };
        if let Err(error) = index.write_header() {
            index.files.forget(&index.path);
            let _ = std::fs::remove_file(path);
            return Err(error);
        }
        Ok(index)
    }

    /// Opens an existing file, which must have exactly the geometry's size and a header that
    /// can be true (a count within the file, offsets that are not negative).
    pub(crate) fn open(path: &Path, files: Arc<OpenFiles>, geometry: IndexGeometry) -> StoreResult<IndexFile> {
        geometry.check()?;
        let len = std::fs::metadata(path).map_err(io_error(path))?.len();
        if len != geometry.file_bytes() {
            return Err(corrupt(
                path,
                0,
                format!("length {len}, expected {}", geometry.file_bytes()),
            ));
        }
        // Read through a handle of its own: a file that turns out unusable is deleted next.
        let mut bytes = [0u8; HEADER_BYTES as usize];
        std::fs::File::open(path)
            .and_then(|file| file.read_exact_at(&mut bytes, 0))
            .map_err(io_error(path))?;
        let mut header = IndexHeader::decode(&bytes);
        // Java's new file is zeros; its `IndexHeader.load` treats a count of 0 as a fresh file.
        if header.index_count < 0 || header.index_count.unsigned_abs() > geometry.entries_max {
            return Err(corrupt(path, 36, format!("index count {}", header.index_count)));
        }
        header.index_count = header.index_count.max(1);
        if header.begin_phy_offset < 0 || header.end_phy_offset < header.begin_phy_offset {
            let reason = format!(
                "offsets {}..{} in the header",
                header.begin_phy_offset, header.end_phy_offset
            );
            return Err(corrupt(path, 16, reason));
        }
        Ok(IndexFile {
            path: files.key(path.to_owned()),
            files,
            geometry,
            header,
            map: MapState::Unmapped,
        })
    }

    pub fn path(&self) -> &Path {
        self.path.path()
    }

    /// Closes the file's handle (before it is deleted).
    pub(crate) fn forget_handle(&self) {
        self.files.forget(&self.path);
    }

    /// Drops the memory map (the file is no longer written); reads go through the handle cache.
    pub(crate) fn unmap(&mut self) {
        self.map = MapState::Unmapped;
    }

    /// Maps the file for writing unless it is or cannot be; every byte up to the next entry is
    /// allocated on disk first (see `mapped`).
    fn map_for_writes(&mut self) {
        if !matches!(self.map, MapState::Unmapped) {
            return;
        }
        let allocate_to = self.geometry.entry_position(self.header.index_count.unsigned_abs());
        self.map = match MappedFile::open(self.path.path(), allocate_to) {
            Ok(mapped) => MapState::Mapped(mapped),
            Err(error) => {
                tracing::warn!(file = %self.path.path().display(), %error, "index file not memory-mapped; writing it with positioned I/O");
                MapState::Unavailable
            }
        };
    }

    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    /// No entry number is left (`indexCount ≥ indexNum`).
    pub fn is_full(&self) -> bool {
        self.header.index_count.unsigned_abs() >= self.geometry.entries_max
    }

    /// Adds `key` for the record at `phy_offset` stored at `store_timestamp_ms` (`putKey`);
    /// `false` when the file is full.
    pub fn put(&mut self, key: &str, phy_offset: i64, store_timestamp_ms: i64) -> StoreResult<bool> {
        self.put_hash(key_hash(key), phy_offset, store_timestamp_ms)
    }

    /// [`IndexFile::put`] of a key by its [`key_hash`] (all the file keeps of it).
    pub fn put_hash(&mut self, hash: i32, phy_offset: i64, store_timestamp_ms: i64) -> StoreResult<bool> {
        if self.is_full() {
            return Ok(false);
        }
        self.map_for_writes();
        let slot_position = self.geometry.slot_position(hash);
        let count = self.header.index_count;
        let mut slot_value = self.read_i32(slot_position)?;
        if slot_value <= 0 || slot_value > count {
            slot_value = 0;
        }
        // Against the begin time as it is before this put: Java's quirk for a file's first entry.
        let time_diff_s = if self.header.begin_timestamp_ms <= 0 {
            0
        } else {
            let diff = store_timestamp_ms.saturating_sub(self.header.begin_timestamp_ms) / 1000;
            i32::try_from(diff.max(0)).unwrap_or(i32::MAX)
        };
        let entry = IndexEntry {
            key_hash: hash,
            phy_offset,
            time_diff_s,
            prev: slot_value,
        };
        let entry_position = self.geometry.entry_position(count.unsigned_abs());
        self.write(entry_position, &entry.encode())?;
        if count <= 1 {
            self.header.begin_phy_offset = phy_offset;
            self.header.begin_timestamp_ms = store_timestamp_ms;
        }
        if slot_value == 0 {
            self.header.hash_slot_count = self.header.hash_slot_count.saturating_add(1);
        }
        self.header.index_count = count.saturating_add(1);
        self.header.end_phy_offset = phy_offset;
        self.header.end_timestamp_ms = store_timestamp_ms;
        // Entry, header, then slot (Java writes the slot before the header): a crash in between
        // leaves at worst a counted entry no slot reaches yet, which `truncate_to` can undo,
        // never a slot pointing at an entry the next put overwrites.
        self.write_header()?;
        self.write(slot_position, &count.to_be_bytes())?;
        Ok(true)
    }

    /// Whether `[begin_ms, end_ms]` overlaps the file's time span (`isTimeMatched`).
    pub fn overlaps(&self, begin_ms: i64, end_ms: i64) -> bool {
        let (first, last) = (self.header.begin_timestamp_ms, self.header.end_timestamp_ms);
        (begin_ms < first && end_ms > last) || (first..=last).contains(&begin_ms) || (first..=last).contains(&end_ms)
    }

    /// Appends to `out` the offsets of entries for `key` stored within `[begin_ms, end_ms]`,
    /// newest first, until `out` holds `max` (`selectPhyOffset`). Hashes collide: callers re-check
    /// the key on the records.
    pub fn query(&self, key: &str, begin_ms: i64, end_ms: i64, max: usize, out: &mut Vec<i64>) -> StoreResult<()> {
        let hash = key_hash(key);
        let count = self.header.index_count;
        let mut number = self.read_i32(self.geometry.slot_position(hash))?;
        if number <= 0 || number > count || count <= 1 {
            return Ok(());
        }
        // A chain only links to older entries; the bound stops a corrupt file's cycles.
        for _ in 0..count {
            if out.len() >= max {
                break;
            }
            let entry = self.entry(number.unsigned_abs())?;
            if entry.time_diff_s < 0 {
                break;
            }
            let time_ms = self
                .header
                .begin_timestamp_ms
                .saturating_add(i64::from(entry.time_diff_s) * 1000);
            if entry.key_hash == hash && (begin_ms..=end_ms).contains(&time_ms) {
                out.push(entry.phy_offset);
            }
            if entry.prev <= 0 || entry.prev > count || entry.prev == number || time_ms < begin_ms {
                break;
            }
            number = entry.prev;
        }
        Ok(())
    }

    /// Undoes the newest entries that point at or past `commit_log_end` (records a crash lost),
    /// restoring their slots; the end fields then describe the newest remaining entry, its time
    /// rounded down to the second. Returns whether anything was removed.
    ///
    /// Crash-safe order: first the slots are pointed back past the removed entries (newest
    /// first; redoing it after a crash changes nothing), then the header drops them from the
    /// count, and only then are their bytes zeroed. A kill at any point leaves every counted
    /// entry intact (zeroing before the count once left counted entries of zeros).
    pub fn truncate_to(&mut self, commit_log_end: u64) -> StoreResult<bool> {
        let limit = i64::try_from(commit_log_end).unwrap_or(i64::MAX);
        let old_count = self.header.index_count;
        let mut count = old_count;
        while count > 1 {
            let number = count - 1;
            let entry = self.entry(number.unsigned_abs())?;
            if entry.phy_offset < limit {
                break;
            }
            let slot_position = self.geometry.slot_position(entry.key_hash);
            if self.read_i32(slot_position)? == number {
                self.write(slot_position, &entry.prev.max(0).to_be_bytes())?;
                if entry.prev <= 0 {
                    self.header.hash_slot_count = self.header.hash_slot_count.saturating_sub(1).max(0);
                }
            }
            count = number;
        }
        let removed = count < old_count;
        if removed {
            self.header.index_count = count;
            if self.header.index_count > 1 {
                let last = self.entry((self.header.index_count - 1).unsigned_abs())?;
                self.header.end_phy_offset = last.phy_offset;
                self.header.end_timestamp_ms = self
                    .header
                    .begin_timestamp_ms
                    .saturating_add(i64::from(last.time_diff_s) * 1000);
            } else {
                self.header.end_phy_offset = self.header.begin_phy_offset;
                self.header.end_timestamp_ms = self.header.begin_timestamp_ms;
            }
            self.write_header()?;
            for number in count..old_count {
                self.write(
                    self.geometry.entry_position(number.unsigned_abs()),
                    &[0u8; ENTRY_BYTES as usize],
                )?;
            }
        }
        Ok(removed)
    }

    /// The entry numbered `number` (1 ≤ number < index count).
    pub fn entry(&self, number: u32) -> StoreResult<IndexEntry> {
        if number >= self.geometry.entries_max {
            return Err(corrupt(self.path.path(), 0, format!("entry number {number}")));
        }
        let mut bytes = [0u8; ENTRY_BYTES as usize];
        self.read(self.geometry.entry_position(number), &mut bytes)?;
        Ok(IndexEntry::decode(&bytes))
    }

    /// `fsync`s the file.
    pub fn flush(&self) -> StoreResult<()> {
        sync_path(&self.files, &self.path)
    }

    fn write_header(&mut self) -> StoreResult<()> {
        let bytes = self.header.encode();
        self.write(0, &bytes)
    }

    fn read_i32(&self, position: u64) -> StoreResult<i32> {
        let mut bytes = [0u8; 4];
        self.read(position, &mut bytes)?;
        Ok(i32::from_be_bytes(bytes))
    }

    fn read(&self, position: u64, out: &mut [u8]) -> StoreResult<()> {
        if let MapState::Mapped(mapped) = &self.map {
            return mapped
                .read(position, out)
                .ok_or_else(|| corrupt(self.path.path(), position, "read past the file's end".to_owned()));
        }
        self.files
            .get(&self.path)?
            .read_exact_at(out, position)
            .map_err(io_error(self.path.path()))
    }

    fn write(&mut self, position: u64, bytes: &[u8]) -> StoreResult<()> {
        if let MapState::Mapped(mapped) = &mut self.map {
            return mapped.write(position, bytes).map_err(io_error(self.path.path()));
        }
        self.files
            .get(&self.path)?
            .write_all_at(bytes, position)
            .map_err(io_error(self.path.path()))
    }
}

fn corrupt(path: &Path, offset: u64, reason: String) -> StoreError {
    StoreError::Corrupt {
        file: path.to_owned(),
        offset,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;

    /// Four slots, entries 1..=3: small enough to write out byte by byte.
    const SMALL: IndexGeometry = IndexGeometry {
        hash_slots: 4,
        entries_max: 4,
    };
    const T0: i64 = 1_700_000_000_000;

    fn entry_bytes(hash: i32, offset: i64, diff: i32, prev: i32) -> Vec<u8> {
        [
            &hash.to_be_bytes()[..],
            &offset.to_be_bytes(),
            &diff.to_be_bytes(),
            &prev.to_be_bytes(),
        ]
        .concat()
    }

    fn query(index: &IndexFile, key: &str, begin: i64, end: i64, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        index.query(key, begin, end, max, &mut out).unwrap();
        out
    }

    #[test]
    fn exact_header_slot_and_entry_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20231114221320000");
        let mut index = IndexFile::create(&path, OpenFiles::new(4), SMALL, 0, 0).unwrap();
        // "T#a".hashCode() = 84*31² + 35*31 + 97 = 81906 → slot 2; "T#b" → 81907, slot 3.
        assert_eq!(key_hash("T#a"), 81906);
        for (topic, key) in [
            ("T", "a"),
            ("TopicTest", "7F0000010B1C18B4AAC2"),
            ("主题", "键"),
            ("", ""),
        ] {
            assert_eq!(index_key_hash(topic, key), key_hash(&format!("{topic}#{key}")));
        }
        assert!(index.put("T#a", 100, T0).unwrap());
        assert!(index.put("T#b", 300, T0 + 2500).unwrap());
        let mut expected = Vec::new();
        for long in [T0, T0 + 2500, 100, 300] {
            expected.extend_from_slice(&i64::to_be_bytes(long));
        }
        for int in [2i32, 3, 0, 0, 1, 2] {
            expected.extend_from_slice(&int.to_be_bytes());
        }
        expected.extend_from_slice(&[0u8; 20]);
        // The first entry's diff is against the pre-set begin (0 → diff 0).
        expected.extend(entry_bytes(81906, 100, 0, 0));
        expected.extend(entry_bytes(81907, 300, 2, 0));
        expected.extend_from_slice(&[0u8; 20]);
        assert_eq!(SMALL.file_bytes(), 136);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        let reopened = IndexFile::open(&path, OpenFiles::new(4), SMALL).unwrap();
        assert_eq!(reopened.header(), index.header());
        assert_eq!(IndexHeader::decode(&index.header().encode()), *index.header());
        assert_eq!(IndexGeometry::DEFAULT.file_bytes(), 420_000_040);
    }

    #[test]
    fn a_new_file_starts_at_the_previous_end_and_fills_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = IndexFile::create(&dir.path().join("i"), OpenFiles::new(4), SMALL, T0, 4096).unwrap();
        assert_eq!(index.header().begin_timestamp_ms, T0);
        assert_eq!(index.header().end_phy_offset, 4096);
        for n in 0..3 {
            assert!(index.put("T#k", 5000 + n, T0 + 7000).unwrap());
        }
        assert_eq!(index.entry(1).unwrap().time_diff_s, 7);
        assert!(index.is_full());
        assert!(!index.put("T#k", 9000, T0 + 8000).unwrap());
        assert_eq!(index.header().index_count, 4);
        assert_eq!(query(&index, "T#k", 0, i64::MAX, 64), vec![5002, 5001, 5000]);
    }

    #[test]
    fn colliding_keys_share_a_chain_and_are_told_apart_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let one_slot = IndexGeometry {
            hash_slots: 1,
            entries_max: 8,
        };
        let mut index = IndexFile::create(&dir.path().join("i"), OpenFiles::new(4), one_slot, 0, 0).unwrap();
        index.put("T#a", 100, T0).unwrap();
        index.put("T#b", 200, T0).unwrap();
        index.put("T#a", 300, T0).unwrap();
        assert_eq!(index.entry(3).unwrap().prev, 2);
        assert_eq!(index.entry(2).unwrap().prev, 1);
        assert_eq!(index.header().hash_slot_count, 1);
        assert_eq!(query(&index, "T#a", T0, T0, 64), vec![300, 100]);
        assert_eq!(query(&index, "T#b", T0, T0, 64), vec![200]);
        assert_eq!(query(&index, "T#a", T0, T0, 1), vec![300]);
        assert_eq!(query(&index, "T#c", T0, T0, 64), Vec::<i64>::new());
    }

    #[test]
    fn queries_keep_only_entries_inside_the_time_range() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = IndexFile::create(
            &dir.path().join("i"),
            OpenFiles::new(4),
            IndexGeometry {
                hash_slots: 16,
                entries_max: 16,
            },
            0,
            0,
        )
        .unwrap();
        for n in 0..3 {
            index.put("T#k", 100 * (n + 1), T0 + n * 10_000).unwrap();
        }
        assert_eq!(query(&index, "T#k", T0 + 5000, T0 + 15_000, 64), vec![200]);
        assert_eq!(query(&index, "T#k", T0 + 10_000, T0 + 20_000, 64), vec![300, 200]);
        assert_eq!(query(&index, "T#k", T0 + 21_000, T0 + 30_000, 64), Vec::<i64>::new());
        assert!(index.overlaps(T0 - 1, T0));
        assert!(index.overlaps(T0 - 1, T0 + 30_000));
        assert!(index.overlaps(T0 + 20_000, T0 + 30_000));
        assert!(!index.overlaps(T0 + 20_001, T0 + 30_000));
    }

    #[test]
    fn truncated_or_overfull_files_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i");
        let mut index = IndexFile::create(&path, OpenFiles::new(4), SMALL, 0, 0).unwrap();
        index.put("T#a", 100, T0).unwrap();
        drop(index);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(135).unwrap();
        assert!(matches!(
            IndexFile::open(&path, OpenFiles::new(4), SMALL),
            Err(StoreError::Corrupt { .. })
        ));
        file.set_len(136).unwrap();
        file.write_all_at(&5i32.to_be_bytes(), 36).unwrap();
        assert!(matches!(
            IndexFile::open(&path, OpenFiles::new(4), SMALL),
            Err(StoreError::Corrupt { .. })
        ));
        file.write_all_at(&0i32.to_be_bytes(), 36).unwrap();
        assert_eq!(
            IndexFile::open(&path, OpenFiles::new(4), SMALL)
                .unwrap()
                .header()
                .index_count,
            1
        );
        assert!(
            IndexFile::create(&path, OpenFiles::new(4), SMALL, 0, 0).is_err(),
            "never overwrites a file"
        );
    }

    #[test]
    fn truncation_undoes_entries_past_the_commit_log_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i");
        let geometry = IndexGeometry {
            hash_slots: 2,
            entries_max: 8,
        };
        let mut index = IndexFile::create(&path, OpenFiles::new(4), geometry, 0, 0).unwrap();
        index.put("T#a", 100, T0).unwrap();
        index.put("T#b", 200, T0 + 1000).unwrap();
        let before = std::fs::read(&path).unwrap();
        index.put("T#a", 300, T0 + 2000).unwrap();
        index.put("T#c", 300, T0 + 2000).unwrap();
        assert!(!index.truncate_to(301).unwrap());
        assert!(index.truncate_to(300).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut index = IndexFile::open(&path, OpenFiles::new(4), geometry).unwrap();
        assert_eq!(query(&index, "T#a", 0, i64::MAX, 64), vec![100]);
        index.put("T#a", 250, T0 + 1500).unwrap();
        assert_eq!(query(&index, "T#a", 0, i64::MAX, 64), vec![250, 100]);
        assert!(index.truncate_to(0).unwrap());
        assert_eq!(index.header().index_count, 1);
        assert_eq!(index.header().hash_slot_count, 0);
        assert_eq!(query(&index, "T#a", 0, i64::MAX, 64), Vec::<i64>::new());
    }

    #[test]
    fn truncation_undoes_an_entry_whose_slot_write_a_crash_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i");
        let one_slot = IndexGeometry {
            hash_slots: 1,
            entries_max: 8,
        };
        let mut index = IndexFile::create(&path, OpenFiles::new(4), one_slot, 0, 0).unwrap();
        index.put("T#a", 100, T0).unwrap();
        index.put("T#a", 200, T0).unwrap();
        // The crash hit between the header write and the slot write of entry 2.
        index.write(HEADER_BYTES, &1i32.to_be_bytes()).unwrap();
        let mut index = IndexFile::open(&path, OpenFiles::new(4), one_slot).unwrap();
        assert_eq!(query(&index, "T#a", T0, T0, 64), vec![100]);
        assert!(index.truncate_to(200).unwrap());
        assert_eq!(index.read_i32(HEADER_BYTES).unwrap(), 1);
        index.put("T#a", 200, T0).unwrap();
        assert_eq!(query(&index, "T#a", T0, T0, 64), vec![200, 100]);
    }

    #[test]
    fn key_hash_is_java_abs_with_min_as_zero() {
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(key_hash("polygenelubricants"), 0);
        assert_eq!(key_hash("T#a"), 81906);
        for (topic, key) in [
            ("T", "a"),
            ("TopicTest", "7F0000010B1C18B4AAC2"),
            ("主题", "键"),
            ("", ""),
        ] {
            assert_eq!(index_key_hash(topic, key), key_hash(&format!("{topic}#{key}")));
        }
        assert!(key_hash("TopicTest#ID1") >= 0);
    }
}
