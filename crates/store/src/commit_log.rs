//! The commit log: every message of every topic appended to one logical byte log, split into
//! fixed-size segment files (store-and-ha.md §1). Records are Java's exactly (the wire crate's
//! [`StoredMessage`]); the store sets BODYCRC, PHYSICALOFFSET and STORETIMESTAMP on append.
//!
//! ```text
//! segment [start, start+S):  record record ... record | BLANK filler
//! filler: TOTALSIZE = S - pos (i32) | MAGIC 0xCBD43194 (u32) | rest of the segment left as zeros
//! ```
//! Invariants: a record never spans two segments; every record leaves at least 8 bytes after it
//! in its segment, so a filler always fits; bytes in `[min_offset, write_offset)` are whole valid
//! records or fillers; bytes past `write_offset` are zeros. One writer: `append` takes `&mut self`.
//!
//! Recovery on open (§4.3): scan record by record (TOTALSIZE, magic, lengths, body CRC, no zeroed
//! tail), jump over fillers, stop at the first invalid or partial record, and make its start the
//! end of the log (later segments deleted, the tail zeroed). The scan starts at the store's
//! checkpointed offset when it has one ([`CommitLog::open_from`]: everything before it was synced,
//! so recovery reads only the tail written since), else at the start of the third-to-last segment
//! as Java's normal recovery does.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::BytesMut;
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::record::{
    BLANK_MAGIC_CODE, MessageVersion, RECORD_BYTES_MAX, RECORD_BYTES_MIN, store_timestamp_position,
};
use ferrocket_wire::message::sysflag;

use crate::encoded::{BLANK_BYTES, EncodedRecords, RecordLimits};
use crate::error::{StoreError, StoreResult, io_error};
use crate::log_maps::SegmentMaps;
use crate::offsets::CommitLogOffset;
use crate::open_files::{COMMIT_LOG_FILES_OPEN_MAX, CachedPath, OpenFiles};
use crate::segments::{DamagedFiles, SegmentSet, sync_path};

/// Java's `mappedFileSizeCommitLog`.
pub const SEGMENT_BYTES_DEFAULT: u64 = 1 << 30;
/// The filler stores the rest of the segment in an i32 TOTALSIZE.
pub const SEGMENT_BYTES_MAX: u64 = i32::MAX as u64;
/// Java's `maxMessageSize`: the largest body accepted.
pub const BODY_BYTES_MAX_DEFAULT: usize = 4 * 1024 * 1024;
/// Java's normal recovery starts this many segments from the end (4.x `recoverNormally`).
const RECOVERY_SEGMENTS: usize = 3;
/// How far past the recovered end a truncation is measured for the recovery report: a torn
/// record is at most a whole record long.
const TRUNCATED_PROBE_BYTES_MAX: u64 = RECORD_BYTES_MAX as u64;

/// Where the commit log lives and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLogConfig {
    /// `<root>/commitlog`.
    pub dir: PathBuf,
    pub segment_bytes: u64,
    pub body_bytes_max: usize,
}

impl CommitLogConfig {
    /// Java's defaults in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> CommitLogConfig {
        CommitLogConfig {
            dir: dir.into(),
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            body_bytes_max: BODY_BYTES_MAX_DEFAULT,
        }
    }
}

/// What one append wrote (Java's `AppendMessageResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// `wroteOffset`: the record's first byte in the log.
    pub physical_offset: CommitLogOffset,
    /// `wroteBytes`: the record's TOTALSIZE.
    pub size: u32,
    pub store_timestamp_ms: i64,
    /// As encoded in the record (assigned by the caller).
    pub queue_offset: i64,
    /// BODYCRC as written (computed once, here).
    pub body_crc: i32,
}

impl AppendResult {
    /// One past the record: what a SYNC_FLUSH put waits for the flushed offset to reach.
    pub fn end_offset(&self) -> CommitLogOffset {
        self.physical_offset.plus_bytes(u64::from(self.size))
    }
}

/// A flush in progress (see [`CommitLog::begin_flush`]): the files to sync and the handle cache,
/// so the `fsync` needs no access to the log.
pub struct FlushTicket {
    files: Arc<OpenFiles>,
    paths: Vec<CachedPath>,
    up_to: u64,
}

impl FlushTicket {
    /// `fsync`s (data only) every file written before the ticket was taken.
    pub fn sync(&self) -> StoreResult<()> {
        self.paths.iter().try_for_each(|path| sync_path(&self.files, path))
    }

    /// The log offset everything below which is on disk once this ticket is synced.
    pub fn up_to(&self) -> CommitLogOffset {
        CommitLogOffset(self.up_to)
    }
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedRecord {
    pub physical_offset: CommitLogOffset,
    pub size: u32,
    pub message: StoredMessage,
}

pub struct CommitLog {
    segments: SegmentSet,
    body_bytes_max: usize,
    /// One past the last valid record: where the next append goes.
    write_offset: u64,
    /// Everything below is on disk.
    flushed_offset: u64,
    /// Where recovery began checking records; everything before was trusted.
    recovery_start: u64,
    /// What recovery at open found.
    recovered: LogRecovery,
    /// Reused encode buffer, so appends do not allocate.
    scratch: BytesMut,
    /// The segments' memory maps: pulls copy out of them, appends `pwrite` the tail's (`log_maps.rs`).
    maps: SegmentMaps,
}

/// What the commit log's recovery at open did, for the store's recovery report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogRecovery {
    /// Records checked (CRC included) from the recovery start to the valid end.
    pub records_scanned: u64,
    /// Bytes of data past the valid end that were dropped (a torn record, or records whose
    /// bytes a crash lost), zeros not counted.
    pub bytes_truncated: u64,
    /// Segment files deleted or regrown because a crash left them empty or short.
    pub files_repaired: usize,
    /// Whether the scan started at a checkpointed offset rather than three segments back.
    pub from_checkpoint: bool,
    /// Whether it started at a written mark past the synced end (after a process kill).
    pub from_written_mark: bool,
}

/// The outcome of checking the bytes at one offset (`checkMessageAndReturnSize`).
enum RecordCheck {
    Message(Box<ScannedRecord>),
    /// A filler: the rest of this segment holds nothing.
    EndOfSegment,
    Invalid(String),
}

impl CommitLog {
    /// Opens the log in `config.dir` and recovers its valid end, checking the last three segments.
    pub fn open(config: &CommitLogConfig) -> StoreResult<CommitLog> {
        CommitLog::open_from(config, None)
    }

    /// Opens the log and recovers its valid end, checking records from `synced_end` (a record
    /// boundary below which everything is known to be on disk, from the store's checkpoint) when
    /// it lies within the files, else from the start of the third-to-last segment.
    pub fn open_from(config: &CommitLogConfig, synced_end: Option<CommitLogOffset>) -> StoreResult<CommitLog> {
        CommitLog::open_recovering(config, synced_end, None)
    }

    /// [`CommitLog::open_from`], checking records only from `written_end` too when it is later:
    /// a record boundary below which a killed process had written everything (the store's
    /// `written_mark.rs`). What lies between the two is trusted to be whole but not on disk, so
    /// the flushed offset stays at `synced_end` and the first flush syncs from there.
    pub fn open_recovering(
        config: &CommitLogConfig,
        synced_end: Option<CommitLogOffset>,
        written_end: Option<CommitLogOffset>,
    ) -> StoreResult<CommitLog> {
        let smallest = RECORD_BYTES_MIN as u64 + BLANK_BYTES;
        if !(smallest..=SEGMENT_BYTES_MAX).contains(&config.segment_bytes) {
            return Err(StoreError::BadConfig {
                reason: format!(
                    "commit-log segment size {} outside {smallest}..={SEGMENT_BYTES_MAX}",
                    config.segment_bytes
                ),
            });
        }
        let files = OpenFiles::new(COMMIT_LOG_FILES_OPEN_MAX);
        let segments = SegmentSet::open(&config.dir, config.segment_bytes, files, DamagedFiles::Refuse)?;
        let mut log = CommitLog {
            segments,
            body_bytes_max: config.body_bytes_max,
            write_offset: 0,
            flushed_offset: 0,
            recovery_start: 0,
            recovered: LogRecovery::default(),
            scratch: BytesMut::new(),
            maps: SegmentMaps::default(),
        };
        let starts = log.segments.starts();
        let first = log.segments.first_start().unwrap_or(0);
        // Below the first file everything was deleted by clean-up: start at that file.
        let known = |offset: Option<CommitLogOffset>| {
            offset
                .filter(|offset| offset.0 <= log.segments.end())
                .map(|offset| offset.0.max(first))
        };
        let (synced, written) = (known(synced_end), known(written_end));
        let durable = if synced.is_some() || written.is_some() {
            log.recovery_start = synced.max(written).unwrap_or(first);
            log.recovered.from_checkpoint = true;
            log.recovered.from_written_mark = written > synced;
            synced.unwrap_or(first)
        } else {
            log.recovery_start = starts
                .get(starts.len().saturating_sub(RECOVERY_SEGMENTS))
                .copied()
                .unwrap_or(0);
            log.recovery_start
        };
        // The scan reads through read-only maps: no system call or buffer per record. They are
        // dropped before the truncation below (`log_maps.rs`) and mapped again after it.
        for start in starts
            .iter()
            .filter(|&&start| start + config.segment_bytes > log.recovery_start)
        {
            log.maps.map(log.segments.dir(), *start, false);
        }
        let (end, records_scanned) = log.recover_end()?;
        log.maps.clear();
        log.recovered.records_scanned = records_scanned;
        log.recovered.bytes_truncated = log.segments.data_bytes_from(end, TRUNCATED_PROBE_BYTES_MAX)?;
        log.recovered.files_repaired = log.segments.repaired_files();
        log.segments.truncate(end)?;
        log.write_offset = end;
        // The tail recovery read, and what a written mark vouched for, may be only in the page
        // cache (the process died, not the machine): the first flush syncs it before anything
        // claims it is on disk.
        log.flushed_offset = durable.min(end);
        if log.flushed_offset < end {
            log.segments.mark_dirty_from(log.flushed_offset);
        }
        let last = log.segments.last_start();
        for start in log.segments.starts() {
            log.maps.map(log.segments.dir(), start, Some(start) == last);
        }
        Ok(log)
    }

    /// Appends `message` as one record at the end of the log, stamped with `now_ms`, its body CRC
    /// and its physical offset. Moves to a new segment (after a filler) if it does not fit.
    pub fn append(&mut self, message: &StoredMessage, now_ms: i64) -> StoreResult<AppendResult> {
        let appended = self.append_all(std::slice::from_ref(message), now_ms)?;
        appended.first().copied().ok_or_else(|| StoreError::NotWriteable {
            reason: "an append of one record wrote none".to_owned(),
        })
    }

    /// Appends `messages` as consecutive records, each as [`CommitLog::append`] would, with one
    /// write per segment they land in rather than one per record (a batch send's members).
    ///
    /// Every record is encoded and checked before anything is written, so a member too large
    /// or not encodable leaves the log as it was. A failed write leaves the log's end after the
    /// runs written before it.
    pub fn append_all(&mut self, messages: &[StoredMessage], now_ms: i64) -> StoreResult<Vec<AppendResult>> {
        let encoded = EncodedRecords::encode(messages, self.record_limits(), std::mem::take(&mut self.scratch))?;
        self.append_encoded(encoded, messages, now_ms)
    }

    /// Appends records [`EncodedRecords::encode`]d from `messages` (before the caller took its
    /// lock), as [`CommitLog::append_all`] would: each record gets its message's queue offset,
    /// its physical offset and `now_ms` patched in, then every run within a segment is one write.
    pub fn append_encoded(
        &mut self,
        encoded: EncodedRecords,
        messages: &[StoredMessage],
        now_ms: i64,
    ) -> StoreResult<Vec<AppendResult>> {
        if encoded.len() != messages.len() {
            return Err(StoreError::NotWriteable {
                reason: format!("{} records encoded for {} messages", encoded.len(), messages.len()),
            });
        }
        let EncodedRecords { mut bytes, records } = encoded;
        let segment_bytes = self.segments.segment_bytes();
        // Where each record goes and where each write starts, planned in full before writing.
        let mut planned: Vec<AppendResult> = Vec::with_capacity(records.len());
        let mut fillers: Vec<(usize, u64, u64)> = Vec::new();
        let mut next = self.write_offset;
        for (record, message) in records.iter().zip(messages) {
            let size = record.layout.len;
            let room = segment_bytes - next % segment_bytes;
            if size as u64 + BLANK_BYTES > room {
                // The records before this one end the segment's run; a filler closes it.
                fillers.push((record.start, next, room));
                next += room;
            }
            let bytes = bytes
                .get_mut(record.start..record.start + size)
                .ok_or_else(|| StoreError::NotWriteable {
                    reason: "encoded record outside its buffer".to_owned(),
                })?;
            record.layout.set_queue_offset(bytes, message.queue_offset)?;
            record
                .layout
                .set_physical_offset(bytes, i64::try_from(next).unwrap_or(i64::MAX))?;
            record.layout.set_store_timestamp(bytes, now_ms)?;
            planned.push(AppendResult {
                physical_offset: CommitLogOffset(next),
                // At most `record_bytes_max`, well inside u32.
                size: size as u32,
                store_timestamp_ms: now_ms,
                queue_offset: message.queue_offset,
                body_crc: record.body_crc,
            });
            next += size as u64;
        }
        let written = self.write_runs(&bytes, &fillers);
        self.scratch = bytes;
        written?;
        Ok(planned)
    }

    /// The limits [`EncodedRecords::encode`] checks records against in this log.
    pub fn record_limits(&self) -> RecordLimits {
        RecordLimits::new(self.segments.segment_bytes(), self.body_bytes_max)
    }

    /// Writes `records` from the log's end, a filler at each planned segment end `(scratch
    /// position, log offset, room)`: one write per run of records within a segment.
    fn write_runs(&mut self, records: &[u8], fillers: &[(usize, u64, u64)]) -> StoreResult<()> {
        let mut run_start = 0usize;
        for &(scratch_at, log_at, room) in fillers {
            let run = records.get(run_start..scratch_at).unwrap_or_default();
            if !run.is_empty() {
                self.write_log(self.write_offset, run)?;
                self.write_offset += run.len() as u64;
            }
            debug_assert_eq!(self.write_offset, log_at, "planned filler offset");
            self.write_filler(room)?;
            run_start = scratch_at;
        }
        let rest = records.get(run_start..).unwrap_or_default();
        if !rest.is_empty() {
            self.write_log(self.write_offset, rest)?;
            self.write_offset += rest.len() as u64;
        }
        Ok(())
    }

    /// Appends bytes replicated from a master (store-and-ha.md §7.3) verbatim at `offset`, which
    /// must be the log's end; a log holding nothing starts at any segment boundary instead (a new
    /// slave takes the master's last segment first). `bytes` must be whole records, each leaving
    /// room for a filler in its segment, and fillers reaching their segment's end; nothing is
    /// written otherwise. Record sizes are not held to this log's body limit: the master accepted
    /// them. The caller dispatches the records.
    pub fn append_raw(&mut self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        let CommitLogOffset(offset) = offset;
        let segment_bytes = self.segments.segment_bytes();
        let holds_nothing = self.write_offset == self.min_offset().0;
        let restart = offset != self.write_offset && holds_nothing && offset.is_multiple_of(segment_bytes);
        if offset != self.write_offset && !restart {
            let reason = format!(
                "replicated bytes for offset {offset}, log ends at {}",
                self.write_offset
            );
            return Err(self.corrupt(offset, reason));
        }
        self.check_raw_units(offset, bytes)?;
        if restart {
            // No map may see its file shortened (`log_maps.rs`).
            self.maps.clear();
            self.segments.truncate(0)?;
            self.write_offset = offset;
            self.flushed_offset = offset;
            self.recovery_start = offset;
        }
        let end = offset + bytes.len() as u64;
        let mut at = offset;
        while at < end {
            let run_end = end.min(self.segments.segment_start(at) + segment_bytes);
            // Both bounds lie in `[offset, end]`, so inside `bytes`.
            let run = bytes
                .get((at - offset) as usize..(run_end - offset) as usize)
                .unwrap_or_default();
            self.write_log(at, run)?;
            at = run_end;
        }
        self.write_offset = end;
        Ok(())
    }

    /// What recovery at open found.
    pub fn recovered(&self) -> LogRecovery {
        self.recovered
    }

    /// `fsync`s every segment written since the last flush; returns the flushed offset.
    pub fn flush(&mut self) -> StoreResult<CommitLogOffset> {
        self.segments.sync()?;
        self.flushed_offset = self.write_offset;
        Ok(CommitLogOffset(self.flushed_offset))
    }

    /// Starts a flush that runs without `&mut self`: duplicated handles of the segments written
    /// so far and the offset they cover. `FlushTicket::sync` them, then [`CommitLog::finish_flush`].
    pub fn begin_flush(&mut self) -> StoreResult<FlushTicket> {
        Ok(FlushTicket {
            files: Arc::clone(self.segments.files()),
            paths: self.segments.take_dirty(),
            up_to: self.write_offset,
        })
    }

    /// Ends a flush begun by [`CommitLog::begin_flush`]: on success the flushed offset moves up to
    /// what the ticket covered; on failure its segments are marked for the next flush again.
    pub fn finish_flush(&mut self, ticket: FlushTicket, synced: bool) -> CommitLogOffset {
        if synced {
            self.flushed_offset = self.flushed_offset.max(ticket.up_to.min(self.write_offset));
        } else {
            for path in &ticket.paths {
                self.segments.mark_dirty(path);
            }
        }
        CommitLogOffset(self.flushed_offset)
    }

    /// Like [`CommitLog::scan`], but stops before `end` (a record boundary, such as the flushed
    /// offset): SYNC_FLUSH dispatches only records that are on disk.
    pub fn scan_until(
        &self,
        from: CommitLogOffset,
        end: CommitLogOffset,
        mut visit: impl FnMut(ScannedRecord) -> StoreResult<()>,
    ) -> StoreResult<CommitLogOffset> {
        let segment_bytes = self.segments.segment_bytes();
        let limit = end.0.min(self.write_offset);
        let mut offset = from.0.max(self.min_offset().0);
        while offset < limit {
            match self.check_record_at(offset, limit, false)? {
                RecordCheck::Message(record) => {
                    offset += u64::from(record.size);
                    visit(*record)?;
                }
                RecordCheck::EndOfSegment => offset = self.segments.segment_start(offset) + segment_bytes,
                RecordCheck::Invalid(reason) => return Err(self.corrupt(offset, reason)),
            }
        }
        Ok(CommitLogOffset(offset.max(from.0)))
    }

    /// Reads and decodes the record starting at `physical_offset`.
    pub fn read(&self, physical_offset: CommitLogOffset) -> StoreResult<ScannedRecord> {
        let CommitLogOffset(physical_offset) = physical_offset;
        self.check_range(physical_offset, 1)?;
        match self.check_record_at(physical_offset, self.write_offset, false)? {
            RecordCheck::Message(record) => Ok(*record),
            RecordCheck::EndOfSegment => Err(self.corrupt(physical_offset, "filler, not a message".to_owned())),
            RecordCheck::Invalid(reason) => Err(self.corrupt(physical_offset, reason)),
        }
    }

    /// The raw bytes `[physical_offset, physical_offset + len)`, which must lie in one segment
    /// below the write offset (a pull reads whole records this way).
    pub fn read_bytes(&self, physical_offset: CommitLogOffset, len: u32) -> StoreResult<Vec<u8>> {
        let CommitLogOffset(physical_offset) = physical_offset;
        self.check_range(physical_offset, u64::from(len))?;
        if let Some(bytes) = self.mapped(physical_offset, len) {
            return Ok(bytes.to_vec());
        }
        let mut buf = vec![0u8; len as usize];
        self.segments.read_at(physical_offset, &mut buf)?;
        Ok(buf)
    }

    /// What a replication master sends next (Java's `getCommitLogData`): up to `max_len` bytes
    /// from `offset` to the end of what is written in its segment; empty when `offset` is outside
    /// the stored range.
    pub fn read_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        let end = self.max_offset();
        if offset < self.min_offset() || offset >= end {
            return Ok(Vec::new());
        }
        let segment_bytes = self.segment_bytes();
        let segment_end = (offset.0 - offset.0 % segment_bytes).saturating_add(segment_bytes);
        let len = end.0.min(segment_end).saturating_sub(offset.0).min(u64::from(max_len));
        // `len` ≤ `max_len`, a u32.
        self.read_bytes(offset, len as u32)
    }

    /// Appends the raw bytes `[physical_offset, physical_offset + len)` to `out` (same rules as
    /// [`CommitLog::read_bytes`]), so a pull reads all its records into one buffer. On error
    /// `out` is left as it was.
    pub fn read_into(&self, physical_offset: CommitLogOffset, len: u32, out: &mut BytesMut) -> StoreResult<()> {
        let CommitLogOffset(physical_offset) = physical_offset;
        self.check_range(physical_offset, u64::from(len))?;
        if let Some(bytes) = self.mapped(physical_offset, len) {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        let start = out.len();
        out.resize(start + len as usize, 0);
        let read = out
            .get_mut(start..)
            .map_or(Ok(()), |tail| self.segments.read_at(physical_offset, tail));
        if read.is_err() {
            out.truncate(start);
        }
        read
    }

    /// Calls `visit` for every record from `from` (a record start; clamped up to the min offset)
    /// to the write offset, jumping over fillers. Used to rebuild consume queues.
    pub fn scan(
        &self,
        from: CommitLogOffset,
        mut visit: impl FnMut(ScannedRecord) -> StoreResult<()>,
    ) -> StoreResult<CommitLogOffset> {
        let segment_bytes = self.segments.segment_bytes();
        let mut offset = from.0.max(self.min_offset().0);
        while offset < self.write_offset {
            match self.check_record_at(offset, self.write_offset, false)? {
                RecordCheck::Message(record) => {
                    offset += u64::from(record.size);
                    visit(*record)?;
                }
                RecordCheck::EndOfSegment => offset = self.segments.segment_start(offset) + segment_bytes,
                RecordCheck::Invalid(reason) => return Err(self.corrupt(offset, reason)),
            }
        }
        Ok(CommitLogOffset(offset))
    }

    /// The first byte still stored.
    pub fn min_offset(&self) -> CommitLogOffset {
        CommitLogOffset(self.segments.first_start().unwrap_or(0).min(self.write_offset))
    }

    /// One past the last record: the next append's offset.
    pub fn max_offset(&self) -> CommitLogOffset {
        CommitLogOffset(self.write_offset)
    }

    /// Everything below this offset survives a crash.
    pub fn flushed_offset(&self) -> CommitLogOffset {
        CommitLogOffset(self.flushed_offset)
    }

    /// Where recovery at open began checking records (the checkpointed offset, or the start of
    /// the third-to-last segment).
    pub fn recovery_start(&self) -> CommitLogOffset {
        CommitLogOffset(self.recovery_start)
    }

    /// Start and last-modified time (ms since the epoch) of every segment, oldest first: what
    /// retention decides on (`retention::decide`).
    pub fn segment_ages(&self) -> StoreResult<Vec<(CommitLogOffset, i64)>> {
        let ages = self.segments.modified_ms()?;
        Ok(ages
            .into_iter()
            .map(|(start, ms)| (CommitLogOffset(start), ms))
            .collect())
    }

    /// Deletes the oldest segment unless it is the last (the active one), moving the min offset
    /// to the next segment's start; returns the deleted segment's start.
    pub fn delete_oldest_segment(&mut self) -> StoreResult<Option<CommitLogOffset>> {
        let deleted = self.segments.remove_first()?;
        if let Some(start) = deleted {
            self.maps.forget(start);
        }
        self.recovery_start = self.recovery_start.max(self.min_offset().0);
        Ok(deleted.map(CommitLogOffset))
    }

    pub fn segment_bytes(&self) -> u64 {
        self.segments.segment_bytes()
    }

    /// Checks that `bytes`, placed at `offset`, are whole records and fillers (see
    /// [`CommitLog::append_raw`]).
    fn check_raw_units(&self, offset: u64, bytes: &[u8]) -> StoreResult<()> {
        let segment_bytes = self.segments.segment_bytes();
        let mut pos = 0usize;
        while let Some(rest) = bytes.get(pos..).filter(|rest| !rest.is_empty()) {
            let at = offset + pos as u64;
            let room = segment_bytes - at % segment_bytes;
            let Some(&[s0, s1, s2, s3, m0, m1, m2, m3]) = rest.get(..BLANK_BYTES as usize) else {
                return Err(self.corrupt(at, format!("{} bytes, not a whole record", rest.len())));
            };
            let declared = i32::from_be_bytes([s0, s1, s2, s3]);
            let unit = if u32::from_be_bytes([m0, m1, m2, m3]) == BLANK_MAGIC_CODE {
                if i64::from(declared) != room as i64 || room > rest.len() as u64 {
                    let reason = format!("filler of {declared} bytes, {room} left in the segment");
                    return Err(self.corrupt(at, reason));
                }
                room
            } else {
                let size = match StoredMessage::decode(rest) {
                    Ok((_, size)) => size as u64,
                    Err(error) => return Err(self.corrupt(at, format!("replicated record: {error}"))),
                };
                if size + BLANK_BYTES > room {
                    let reason = format!("record of {size} bytes leaves no filler room in {room}");
                    return Err(self.corrupt(at, reason));
                }
                size
            };
            // `unit` ≤ rest.len(), a usize.
            pos += unit as usize;
        }
        Ok(())
    }

    /// Writes `bytes` at `offset`, inside one segment: through the segment's map when it has
    /// one, else with a positioned write (which creates the segment when `offset` is past the
    /// end; the new segment is then mapped for the appends that follow).
    fn write_log(&mut self, offset: u64, bytes: &[u8]) -> StoreResult<()> {
        let start = self.segments.segment_start(offset);
        if let Some(written) = self.maps.write(start, offset, bytes) {
            let path = self.segments.dir().join(crate::segments::file_name(start));
            written.map_err(io_error(&path))?;
            self.segments.mark_written(offset);
            return Ok(());
        }
        let new_segment = offset >= self.segments.end() || self.segments.last_start().is_none();
        self.segments.write_at(offset, bytes)?;
        if new_segment {
            self.maps.map(self.segments.dir(), start, true);
        }
        Ok(())
    }

    /// The log bytes `[offset, offset + len)` through a segment's map, when it is mapped.
    fn mapped(&self, offset: u64, len: u32) -> Option<&[u8]> {
        self.maps
            .slice(self.segments.segment_start(offset), offset, len as usize)
    }

    /// Fills the rest of the current segment (`room` bytes, at least 8) and moves to the next.
    fn write_filler(&mut self, room: u64) -> StoreResult<()> {
        assert!(room >= BLANK_BYTES, "segment tail of {room} bytes cannot hold a filler");
        let mut filler = [0u8; BLANK_BYTES as usize];
        let (size_field, magic_field) = filler.split_at_mut(4);
        size_field.copy_from_slice(&(room as i32).to_be_bytes());
        magic_field.copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        self.write_log(self.write_offset, &filler)?;
        self.write_offset += room;
        Ok(())
    }

    /// The valid end of the log, scanning from `recovery_start`, and the records checked.
    fn recover_end(&self) -> StoreResult<(u64, u64)> {
        let end = self.segments.end();
        let segment_bytes = self.segments.segment_bytes();
        let mut offset = self.recovery_start;
        let mut records = 0;
        while offset < end {
            match self.check_record_at(offset, end, true)? {
                RecordCheck::Message(record) => {
                    offset += u64::from(record.size);
                    records += 1;
                }
                RecordCheck::EndOfSegment => offset = self.segments.segment_start(offset) + segment_bytes,
                RecordCheck::Invalid(_) => break,
            }
        }
        Ok((offset, records))
    }

    /// Checks the record at `offset`, reading nothing at or past `limit` or the segment's end.
    fn check_record_at(&self, offset: u64, limit: u64, check_crc: bool) -> StoreResult<RecordCheck> {
        let segment_end = self.segments.segment_start(offset) + self.segments.segment_bytes();
        let available = limit.min(segment_end).saturating_sub(offset);
        if available < BLANK_BYTES {
            return Ok(RecordCheck::Invalid(format!("only {available} bytes left")));
        }
        let mut header = [0u8; BLANK_BYTES as usize];
        match self.mapped(offset, BLANK_BYTES as u32) {
            Some(mapped) => header.copy_from_slice(mapped),
            None => self.segments.read_at(offset, &mut header)?,
        }
        let [s0, s1, s2, s3, m0, m1, m2, m3] = header;
        let declared = i32::from_be_bytes([s0, s1, s2, s3]);
        let magic = u32::from_be_bytes([m0, m1, m2, m3]);
        if magic == BLANK_MAGIC_CODE {
            return Ok(RecordCheck::EndOfSegment);
        }
        if MessageVersion::from_magic(magic).is_none() {
            return Ok(RecordCheck::Invalid(format!("bad magic {magic:#010x}")));
        }
        let size = match u32::try_from(declared) {
            Ok(size) if (RECORD_BYTES_MIN..=RECORD_BYTES_MAX).contains(&(size as usize)) => size,
            _ => return Ok(RecordCheck::Invalid(format!("bad total size {declared}"))),
        };
        if u64::from(size) > available {
            return Ok(RecordCheck::Invalid(format!(
                "record of {size} bytes, {available} available"
            )));
        }
        let read;
        let bytes = match self.mapped(offset, size) {
            Some(mapped) => mapped,
            None => {
                let mut buf = vec![0u8; size as usize];
                self.segments.read_at(offset, &mut buf)?;
                read = buf;
                &read
            }
        };
        let message = match StoredMessage::decode(bytes) {
            Ok((message, _)) => message,
            Err(error) => return Ok(RecordCheck::Invalid(error.to_string())),
        };
        // Java skips the check for an empty body.
        if check_crc && !message.body.is_empty() && !message.body_crc_matches() {
            return Ok(RecordCheck::Invalid("body crc mismatch".to_owned()));
        }
        if check_crc && looks_torn(&message, bytes) {
            return Ok(RecordCheck::Invalid("zeroed tail".to_owned()));
        }
        Ok(RecordCheck::Message(Box::new(ScannedRecord {
            physical_offset: CommitLogOffset(offset),
            size,
            message,
        })))
    }

    fn check_range(&self, offset: u64, len: u64) -> StoreResult<()> {
        let (min, max) = (self.min_offset().0, self.write_offset);
        if offset < min || offset.saturating_add(len) > max {
            return Err(StoreError::OffsetOutOfRange { offset, min, max });
        }
        Ok(())
    }

    fn corrupt(&self, offset: u64, reason: String) -> StoreError {
        StoreError::Corrupt {
            file: self
                .segments
                .dir()
                .join(crate::segments::file_name(self.segments.segment_start(offset))),
            offset: offset % self.segments.segment_bytes(),
            reason,
        }
    }
}

/// Whether the record's tail reads as zeros where a written record cannot have them: a topic with
/// NUL, or a non-empty properties string ending in NUL. The body CRC does not cover topic and
/// properties, so a crash that lost only the record's last page would otherwise pass Java's checks
/// (stricter than Java; only a property value ending in NUL, which no client writes, trips it).
fn looks_torn(message: &StoredMessage, record: &[u8]) -> bool {
    if message.topic.contains('\0') {
        return true;
    }
    let store_host_bytes = if sysflag::is_store_host_v6(message.sys_flag) {
        20
    } else {
        8
    };
    // STORETIMESTAMP, STOREHOST, RECONSUMETIMES, PREPARED TX OFFSET, BODYLENGTH.
    let before_body = store_timestamp_position(message.sys_flag) + 8 + store_host_bytes + 4 + 8 + 4;
    let topic_length_bytes = match message.version {
        MessageVersion::V1 => 1,
        MessageVersion::V2 => 2,
    };
    let before_properties = before_body + message.body.len() + topic_length_bytes + message.topic.len() + 2;
    record.len() > before_properties && record.last() == Some(&0)
}
