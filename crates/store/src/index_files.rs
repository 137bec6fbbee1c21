//! The index files of a store, `<root>/index/<yyyyMMddHHmmssSSS>` (store-and-ha.md §3.2–3.4,
//! `IndexService`): the "build index" dispatcher, rotation to a new file when the newest is
//! full, query by key newest file first, and recovery against the commit log.
//!
//! Invariants: files are ordered by name, which is their creation time, so the newest is last;
//! only the newest file takes new entries; a new file's begin fields start at the previous
//! file's end; after [`IndexFiles::truncate_to`] no entry points at or past the commit log's end;
//! after [`IndexFiles::recover`] every record of the log is indexed exactly once.
//!
//! The index is derived data: a file a crash left empty, short or unreadable (killed between
//! creating and sizing it, say) is deleted at open together with every newer file, and
//! [`IndexFiles::recover`] re-indexes the log from the end of the newest file that remains.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrocket_wire::message::calendar;
use ferrocket_wire::message::properties::{MessageProperties, keys};
use ferrocket_wire::message::sysflag::TransactionType;

use crate::commit_log::{CommitLog, ScannedRecord};
use crate::error::{StoreError, StoreResult, io_error};
use crate::index_file::{IndexFile, IndexGeometry, index_key_hash};
use crate::offsets::CommitLogOffset;
use crate::open_files::{INDEX_FILES_OPEN_MAX, OpenFiles};

/// Java's `maxMsgsNumBatch`: the most offsets one query returns.
pub const QUERY_RESULTS_MAX: usize = 64;
/// `yyyyMMddHHmmssSSS`.
const FILE_NAME_DIGITS: usize = 17;
/// Separates the business keys of the `KEYS` property (`MessageConst.KEY_SEPARATOR`).
const KEY_SEPARATOR: char = ' ';
/// Creation attempts at distinct millisecond names before giving up (two files in one ms).
const NAME_ATTEMPTS: i64 = 1000;

/// The index keys of one message: `topic#UNIQ_KEY`, then `topic#key` for each non-empty key of
/// `KEYS` split on single spaces.
pub fn index_keys(topic: &str, properties: &MessageProperties) -> Vec<String> {
    key_parts(properties).map(|key| format!("{topic}#{key}")).collect()
}

/// The part after `topic#` of each of [`index_keys`], without building the keys.
fn key_parts(properties: &MessageProperties) -> impl Iterator<Item = &str> {
    let unique = properties.get(keys::UNIQ_KEY);
    let business = properties
        .get(keys::KEYS)
        .into_iter()
        .flat_map(|keys| keys.split(KEY_SEPARATOR))
        .filter(|key| !key.is_empty());
    unique.into_iter().chain(business)
}

/// What a query found (`QueryOffsetResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOffsets {
    /// Newest file first, newest entry first within a file.
    pub phy_offsets: Vec<i64>,
    /// The newest file's end time (`indexLastUpdateTimestamp`).
    pub last_update_timestamp_ms: i64,
    /// The newest file's end offset (`indexLastUpdatePhyoffset`).
    pub last_update_phy_offset: i64,
}

pub struct IndexFiles {
    dir: PathBuf,
    geometry: IndexGeometry,
    /// Oldest first.
    files: Vec<IndexFile>,
    handles: Arc<OpenFiles>,
    /// Files opening or recovery deleted because a crash left them unusable or empty.
    repaired_files: usize,
}

impl IndexFiles {
    /// Opens every index file in `<store_root>/index`; the first that cannot be read as an
    /// index file (wrong length, impossible header) is deleted with every newer one.
    pub fn open(store_root: &Path, geometry: IndexGeometry) -> StoreResult<IndexFiles> {
        let dir = store_root.join("index");
        crate::durable_dir::create_dir_all_durably(&dir).map_err(io_error(&dir))?;
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let name = entry.map_err(io_error(&dir))?.file_name();
            if let Some(name) = name.to_str()
                && name.len() == FILE_NAME_DIGITS
                && name.bytes().all(|b| b.is_ascii_digit())
            {
                names.push(name.to_owned());
            }
        }
        names.sort_unstable();
        let handles = OpenFiles::new(INDEX_FILES_OPEN_MAX);
        let mut files = Vec::with_capacity(names.len());
        let mut repaired_files = 0;
        for (position, name) in names.iter().enumerate() {
            let path = dir.join(name);
            match IndexFile::open(&path, Arc::clone(&handles), geometry) {
                Ok(file) => files.push(file),
                Err(StoreError::Corrupt { reason, .. }) => {
                    let dropped = names.get(position..).unwrap_or_default();
                    tracing::warn!(file = %path.display(), %reason, newer = dropped.len() - 1, "deleting an unusable index file and every newer one; they are rebuilt from the commit log");
                    for name in dropped {
                        remove_path(&dir.join(name))?;
                    }
                    repaired_files += dropped.len();
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(IndexFiles {
            dir,
            geometry,
            files,
            handles,
            repaired_files,
        })
    }

    /// Files opening or recovery deleted because a crash left them unusable or empty.
    pub fn repaired_files(&self) -> usize {
        self.repaired_files
    }

    /// After an abnormal exit, deletes every file whose end time is after the checkpoint's
    /// `indexMsgTimestamp` (§4.3 step 2); re-dispatch rebuilds them.
    pub fn delete_after_abnormal_exit(&mut self, index_msg_timestamp_ms: i64) -> StoreResult<()> {
        let (keep, delete): (Vec<_>, Vec<_>) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|file| file.header().end_timestamp_ms <= index_msg_timestamp_ms);
        self.files = keep;
        delete.iter().try_for_each(remove)
    }

    /// Undoes entries pointing at or past `commit_log_end`, newest file first; a file left
    /// without entries is deleted.
    pub fn truncate_to(&mut self, commit_log_end: CommitLogOffset) -> StoreResult<()> {
        while let Some(last) = self.files.last_mut() {
            last.truncate_to(commit_log_end.0)?;
            // Entries follow log order across files: once one survives, all older ones do.
            if last.header().index_count > 1 {
                break;
            }
            if let Some(empty) = self.files.pop() {
                remove(&empty)?;
            }
        }
        Ok(())
    }

    /// Makes the index agree with a recovered commit log: deletes newest files without entries
    /// (a crash right after creating one), drops entries past the log's end and those of the
    /// newest indexed record (a crash may have indexed only some of its keys), then re-indexes
    /// from that record to the end of the log.
    pub fn recover(&mut self, log: &CommitLog, now_ms: i64) -> StoreResult<()> {
        while let Some(newest) = self.files.last()
            && newest.header().index_count <= 1
        {
            remove(newest)?;
            self.files.pop();
            self.repaired_files += 1;
        }
        self.truncate_to(log.max_offset())?;
        let from = match self.files.last() {
            Some(newest) if newest.header().index_count > 1 => {
                let from = CommitLogOffset::from_java_long(newest.header().end_phy_offset).unwrap_or_default();
                self.truncate_to(from)?;
                from
            }
            _ => CommitLogOffset(0),
        };
        log.scan(from, |record| self.dispatch(&record, now_ms).map(|_| ()))?;
        Ok(())
    }

    /// Indexes one commit-log record (`buildIndex`) at `now_ms` (names new files). Returns the
    /// end time of a file this filled up and flushed, for the checkpoint's `indexMsgTimestamp`.
    pub fn dispatch(&mut self, record: &ScannedRecord, now_ms: i64) -> StoreResult<Option<i64>> {
        let message = &record.message;
        let phy_offset = record.physical_offset.to_java_long();
        if self
            .files
            .last()
            .is_some_and(|last| phy_offset < last.header().end_phy_offset)
            || message.transaction_type() == TransactionType::Rollback
        {
            return Ok(None);
        }
        let mut filled = None;
        // Only each key's hash is stored, so the `topic#key` strings are never built.
        for key in key_parts(&message.properties) {
            let hash = index_key_hash(&message.topic, key);
            let put = self.put_key(hash, phy_offset, message.store_timestamp_ms, now_ms, &mut filled);
            if let Err(error) = put {
                // Undo this record's keys, so a retry (the error may pass) indexes it whole.
                if let Err(undo) = self.truncate_to(record.physical_offset) {
                    tracing::warn!(%undo, "index entries of a failed dispatch not undone");
                }
                return Err(error);
            }
        }
        Ok(filled)
    }

    /// One key into the newest file, first rolling to a new file when it is full (noting the
    /// full file's end time in `filled`).
    fn put_key(
        &mut self,
        key_hash: i32,
        phy_offset: i64,
        store_timestamp_ms: i64,
        now_ms: i64,
        filled: &mut Option<i64>,
    ) -> StoreResult<()> {
        if self.put_in_newest(key_hash, phy_offset, store_timestamp_ms)? {
            return Ok(());
        }
        if let Some(full) = self.files.last() {
            full.flush()?;
            *filled = Some(full.header().end_timestamp_ms);
        }
        self.create_file(now_ms)?;
        self.put_in_newest(key_hash, phy_offset, store_timestamp_ms)?;
        Ok(())
    }

    /// Offsets of records stored within `[begin_ms, end_ms]` under `topic#key`, at most
    /// `max` (capped at `QUERY_RESULTS_MAX`), newest file first (`queryOffset`).
    pub fn query(&self, topic: &str, key: &str, max: usize, begin_ms: i64, end_ms: i64) -> StoreResult<QueryOffsets> {
        let max = max.min(QUERY_RESULTS_MAX);
        let full_key = format!("{topic}#{key}");
        let mut result = QueryOffsets::default();
        if let Some(newest) = self.files.last() {
            result.last_update_timestamp_ms = newest.header().end_timestamp_ms;
            result.last_update_phy_offset = newest.header().end_phy_offset;
        }
        for file in self.files.iter().rev() {
            if file.overlaps(begin_ms, end_ms) {
                file.query(&full_key, begin_ms, end_ms, max, &mut result.phy_offsets)?;
            }
            if file.header().begin_timestamp_ms < begin_ms || result.phy_offsets.len() >= max {
                break;
            }
        }
        Ok(result)
    }

    /// Every file, oldest first.
    pub fn files(&self) -> &[IndexFile] {
        &self.files
    }

    /// Deletes files, oldest first and never the newest, whose end offset is below
    /// `commit_log_min` (`IndexService.deleteExpiredFile`); returns how many.
    pub fn delete_files_below(&mut self, commit_log_min: CommitLogOffset) -> StoreResult<usize> {
        let min = commit_log_min.to_java_long();
        let mut deleted = 0;
        while self.files.len() > 1
            && self
                .files
                .first()
                .is_some_and(|oldest| oldest.header().end_phy_offset < min)
        {
            let oldest = self.files.remove(0);
            remove(&oldest)?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// `fsync`s the newest file (older ones were flushed when they filled up).
    pub fn flush(&self) -> StoreResult<()> {
        self.files.last().map_or(Ok(()), IndexFile::flush)
    }

    /// Puts into the newest file; `false` when there is none or it is full.
    fn put_in_newest(&mut self, key_hash: i32, phy_offset: i64, store_timestamp_ms: i64) -> StoreResult<bool> {
        match self.files.last_mut() {
            Some(newest) => newest.put_hash(key_hash, phy_offset, store_timestamp_ms),
            None => Ok(false),
        }
    }

    /// A new newest file named after `now_ms` (or the next free millisecond), starting where
    /// the previous one ended.
    fn create_file(&mut self, now_ms: i64) -> StoreResult<()> {
        let (end_timestamp, end_offset) = self.files.last().map_or((0, 0), |last| {
            (last.header().end_timestamp_ms, last.header().end_phy_offset)
        });
        // Names must sort after the newest file even if the clock went back.
        let newest_name = self
            .files
            .last()
            .and_then(|last| last.path().file_name())
            .and_then(|name| name.to_str())
            .map(str::to_owned)
            .unwrap_or_default();
        let mut last_error = None;
        for bump in 0..NAME_ATTEMPTS {
            let name = file_name(now_ms.saturating_add(bump));
            if name <= newest_name {
                continue;
            }
            let path = self.dir.join(&name);
            // The full file is no longer written: its map goes.
            if let Some(previous) = self.files.last_mut() {
                previous.unmap();
            }
            match IndexFile::create(
                &path,
                Arc::clone(&self.handles),
                self.geometry,
                end_timestamp,
                end_offset,
            ) {
                Ok(file) => {
                    self.files.push(file);
                    return Ok(());
                }
                // Two files in one millisecond: try the next name. Any other error is final.
                Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                    last_error = Some(StoreError::Io { path, source });
                }
                Err(error) => return Err(error),
            }
        }
        let name = file_name(now_ms);
        Err(last_error.unwrap_or_else(|| StoreError::Corrupt {
            file: self.dir.join(name),
            offset: 0,
            reason: "no free index file name after the newest".to_owned(),
        }))
    }
}

/// Deletes an index file, closing its handle first.
fn remove(file: &IndexFile) -> StoreResult<()> {
    file.forget_handle();
    remove_path(file.path())
}

fn remove_path(path: &Path) -> StoreResult<()> {
    fs::remove_file(path).map_err(io_error(path))
}

/// `yyyyMMddHHmmssSSS` of `ms` since the epoch, in UTC (Java uses the local time zone).
pub fn file_name(ms: i64) -> String {
    let (year, month, day, hour, minute, second, milli) = calendar::utc_fields(ms);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}{milli:03}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferrocket_wire::message::StoredMessage;
    use ferrocket_wire::message::record::MessageVersion;
    use ferrocket_wire::message::sysflag;

    const T0: i64 = 1_700_000_000_000;
    /// Three entries per file.
    const SMALL: IndexGeometry = IndexGeometry {
        hash_slots: 4,
        entries_max: 4,
    };

    fn record(offset: u64, n: usize, sys_flag: i32) -> ScannedRecord {
        let message = StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: offset as i64,
            sys_flag,
            born_timestamp_ms: T0,
            born_host: "10.0.0.5:50000".parse().unwrap(),
            store_timestamp_ms: T0 + 1000 * n as i64,
            store_host: "192.168.1.10:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"x"),
            topic: "T".to_owned(),
            properties: [("UNIQ_KEY", format!("U{n}")), ("KEYS", format!("k{n} shared"))]
                .into_iter()
                .collect(),
        };
        ScannedRecord {
            physical_offset: CommitLogOffset(offset),
            size: 100,
            message,
        }
    }

    #[test]
    fn keys_are_the_unique_key_then_each_business_key() {
        let properties: MessageProperties = [("UNIQ_KEY", "U1"), ("KEYS", " a  b ")].into_iter().collect();
        assert_eq!(index_keys("T", &properties), vec!["T#U1", "T#a", "T#b"]);
        assert_eq!(index_keys("T", &MessageProperties::new()), Vec::<String>::new());
    }

    #[test]
    fn file_names_are_the_creation_time() {
        assert_eq!(file_name(0), "19700101000000000");
        assert_eq!(file_name(T0 + 123), "20231114221320123");
        assert_eq!(file_name(951_782_400_000 - 1), "20000228235959999");
        assert_eq!(file_name(951_782_400_000 + 86_400_000), "20000301000000000");
    }

    #[test]
    fn dispatch_rotates_full_files_and_queries_span_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = IndexFiles::open(dir.path(), SMALL).unwrap();
        // Three keys per record, three entries per file: one file per record.
        assert_eq!(index.dispatch(&record(0, 0, 0), T0).unwrap(), None);
        assert_eq!(index.dispatch(&record(100, 1, 0), T0 + 1).unwrap(), Some(T0));
        assert_eq!(index.dispatch(&record(200, 2, 0), T0 + 2).unwrap(), Some(T0 + 1000));
        let rollback = sysflag::with_transaction_type(0, TransactionType::Rollback);
        assert_eq!(index.dispatch(&record(300, 3, rollback), T0 + 3).unwrap(), None);
        // Already indexed: below the newest file's end offset.
        assert_eq!(index.dispatch(&record(100, 1, 0), T0 + 4).unwrap(), None);
        let names: Vec<_> = index.files().iter().map(|f| f.path().to_owned()).collect();
        assert_eq!(names.len(), 3);
        assert!(names[0].ends_with("20231114221320000"));
        assert_eq!(index.files()[1].header().begin_timestamp_ms, T0 + 1000);
        let shared = index.query("T", "shared", 64, 0, i64::MAX).unwrap();
        assert_eq!(shared.phy_offsets, vec![200, 100, 0]);
        assert_eq!(
            (shared.last_update_timestamp_ms, shared.last_update_phy_offset),
            (T0 + 2000, 200)
        );
        assert_eq!(
            index.query("T", "shared", 2, 0, i64::MAX).unwrap().phy_offsets,
            vec![200, 100]
        );
        assert_eq!(index.query("T", "U1", 64, 0, i64::MAX).unwrap().phy_offsets, vec![100]);
        let range = index.query("T", "shared", 64, T0 + 1000, T0 + 1500).unwrap();
        assert_eq!(range.phy_offsets, vec![100]);
        assert!(index.query("T", "U3", 64, 0, i64::MAX).unwrap().phy_offsets.is_empty());
        index.flush().unwrap();
        let reopened = IndexFiles::open(dir.path(), SMALL).unwrap();
        assert_eq!(reopened.query("T", "shared", 64, 0, i64::MAX).unwrap(), shared);
    }

    #[test]
    fn recovery_truncates_to_the_commit_log_and_drops_files_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = IndexFiles::open(dir.path(), SMALL).unwrap();
        for n in 0..3 {
            index.dispatch(&record(100 * n as u64, n, 0), T0 + n as i64).unwrap();
        }
        let mut index = IndexFiles::open(dir.path(), SMALL).unwrap();
        index.truncate_to(CommitLogOffset(150)).unwrap();
        assert_eq!(index.files().len(), 2);
        assert_eq!(
            index.query("T", "shared", 64, 0, i64::MAX).unwrap().phy_offsets,
            vec![100, 0]
        );
        index.dispatch(&record(150, 5, 0), T0 + 9).unwrap();
        assert_eq!(
            index.query("T", "shared", 64, 0, i64::MAX).unwrap().phy_offsets,
            vec![150, 100, 0]
        );
        index.truncate_to(CommitLogOffset(0)).unwrap();
        assert!(index.files().is_empty());
        assert_eq!(fs::read_dir(dir.path().join("index")).unwrap().count(), 0);

        for n in 0..3 {
            index
                .dispatch(&record(100 * n as u64, n, 0), T0 + 10 + n as i64)
                .unwrap();
        }
        let mut index = IndexFiles::open(dir.path(), SMALL).unwrap();
        index.delete_after_abnormal_exit(T0 + 1000).unwrap();
        assert_eq!(index.files().len(), 2);
        assert_eq!(IndexFiles::open(dir.path(), SMALL).unwrap().files().len(), 2);
    }
}
