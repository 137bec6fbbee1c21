//! The message store: one commit log, its consume queues and index files, the checkpoint and the
//! abort file, behind one single-writer API (Java's `DefaultMessageStore`, store-and-ha.md §1.9,
//! §2, §4). Puts assign queue offsets from the per-(topic, queue) "next offset" table, append to
//! the commit log and dispatch the record to its consume queue and the index. Reads live in
//! `reads.rs`. The caller owns threads and clocks (`service.rs` is the threaded shell).
//!
//! Invariants: the next-offset table is ≥ every queue's max offset (a queue missing from it has
//! its max offset as next offset; it is filled lazily, like the queues); records below
//! `dispatched_offset` have been dispatched, records above it have not; under ASYNC_FLUSH
//! `dispatched_offset` is the commit log's end after every put unless a transient error (no
//! descriptor left) held dispatch back, which the next put or flush catches up; under SYNC_FLUSH
//! it never passes the flushed offset (consumers only see records that are on disk). While the
//! store is open its abort file exists.
//!
//! A transient error ([`StoreError::is_transient`]) refuses the put it hits (or delays a
//! dispatch) and is logged as an error at most every [`OPEN_FILES_LOG_INTERVAL_MS`]; it never
//! leaves the store refusing puts. Any other dispatch failure does, as Java flags a "logics
//! queue error".

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use ferrocket_wire::message::StoredMessage;

use crate::abort_file::AbortFile;
use crate::arrivals::{Arrival, PendingArrivals};
use crate::checkpoint::Checkpoint;
use crate::commit_log::{CommitLog, FlushTicket, ScannedRecord};
use crate::consume_queues::{ConsumeQueues, QueueRepairs, sync_queue_files};
use crate::disk::{self, DiskState, DiskThresholds};
use crate::encoded::{EncodedRecords, RecordLimits};
use crate::error::{StoreError, StoreResult, io_error};
use crate::index_files::IndexFiles;
use crate::offsets::{CommitLogOffset, QueueId, QueueOffset};
use crate::open_files::{CachedPath, OpenFiles};
use crate::recovery::{self, RecoveryReport};
use crate::retention::{self, CleanReport, RetentionPolicy};
use crate::store_config::{FlushDiskType, MessageStoreConfig};
use crate::written_mark::{self, MarkIdentity, MarkWriter};

mod dispatch;

/// `DELETE_EXPIRED_COMMITLOG` arms this many clean-up runs that delete regardless of the hour
/// (Java's `MANUAL_DELETE_FILE_SEVERAL_TIMES`).
pub const MANUAL_DELETE_RUNS: u32 = 20;
/// Running out of descriptors is logged as an error at most this often (with a count of the
/// refusals in between): every put may hit it, and one line per put would flood the log.
pub const OPEN_FILES_LOG_INTERVAL_MS: i64 = 10_000;

/// What a put stored (Java's `AppendMessageResult`). For a batch, the first member's offsets
/// and the whole batch's extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// `wroteOffset` of the (first) record.
    pub physical_offset: CommitLogOffset,
    /// `wroteBytes`: the sum of the records' sizes.
    pub wrote_bytes: u32,
    /// `logicsOffset`: the (first) queue offset assigned (0 for prepared/rollback messages).
    pub queue_offset: QueueOffset,
    pub msg_count: u32,
    pub store_timestamp_ms: i64,
    /// One past the last record: what a SYNC_FLUSH put waits for.
    pub end_offset: CommitLogOffset,
    /// Every record's physical offset, in order (a batch's msgId lists one per member).
    pub physical_offsets: Vec<CommitLogOffset>,
}

/// Figures for `GET_BROKER_RUNTIME_INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub commit_log_min_offset: CommitLogOffset,
    pub commit_log_max_offset: CommitLogOffset,
    pub flushed_offset: CommitLogOffset,
    /// `dispatchBehindBytes`: log bytes not yet in consume queues.
    pub dispatch_behind_bytes: u64,
    /// `putMessageTimesTotal`.
    pub put_message_times_total: u64,
    /// `putMessageSizeTotal`.
    pub put_message_size_total: u64,
    /// `getMessageTimesTotalFound`.
    pub get_message_found_total: u64,
    /// `getMessageTimesTotalMiss`.
    pub get_message_miss_total: u64,
    /// `getMessageTransferedMsgCount`.
    pub get_message_transferred_total: u64,
    pub consume_queue_count: usize,
    /// The last open found the abort file.
    pub recovered_abnormally: bool,
}

/// Read-side counters, bumped through `&self`.
#[derive(Debug, Default)]
pub(crate) struct ReadCounters {
    pub(crate) found: AtomicU64,
    pub(crate) miss: AtomicU64,
    pub(crate) transferred: AtomicU64,
    /// Queue loads a read could not do; logged one in [`READ_LOAD_FAILURES_LOGGED_EVERY`].
    pub(crate) load_failures: AtomicU64,
}

/// A read that cannot load its queue (no descriptor left, say) is logged once in this many:
/// reads take `&self` and no clock, and every pull of every cold queue may meet it.
pub const READ_LOAD_FAILURES_LOGGED_EVERY: u64 = 1000;

/// A commit-log flush in progress, to be synced without holding the store.
pub struct StoreFlush {
    ticket: FlushTicket,
    /// Store time of the newest record the flush covers (checkpoint `physicMsgTimestamp`).
    store_timestamp_ms: i64,
}

impl StoreFlush {
    /// `fsync`s the segments; touches no store state.
    pub fn sync(&self) -> StoreResult<()> {
        self.ticket.sync()
    }

    pub fn up_to(&self) -> CommitLogOffset {
        self.ticket.up_to()
    }
}

/// A consume-queue, index and checkpoint flush in progress (see
/// [`MessageStore::begin_queue_flush`]).
pub struct QueueFlush {
    /// The queue files written since the last flush, and the cache to open them through.
    queue_files: (Arc<OpenFiles>, Vec<CachedPath>),
    /// The newest index file; older ones were synced when they filled up.
    index_file: Option<PathBuf>,
    /// Written after the queues are synced, so it never claims more than is on disk.
    checkpoint: Checkpoint,
    checkpoint_path: PathBuf,
    /// After a recovery from a written mark: the store root, whose queue and index files are
    /// all synced first (the killed process's writes to them were never synced).
    sync_recovered_files: Option<PathBuf>,
}

impl QueueFlush {
    /// `fsync`s the queue files and the index, then writes the checkpoint; touches no store
    /// state.
    pub fn sync(&self) -> StoreResult<()> {
        if let Some(root) = &self.sync_recovered_files {
            written_mark::sync_queue_and_index_files(root).map_err(io_error(root))?;
        }
        let (files, paths) = &self.queue_files;
        sync_queue_files(files, paths)?;
        if let Some(path) = &self.index_file {
            // Any descriptor of a file flushes all of its dirty pages.
            fs::File::open(path)
                .and_then(|file| file.sync_data())
                .map_err(io_error(path))?;
        }
        self.checkpoint.store(&self.checkpoint_path)
    }
}

/// An error logged at most every [`OPEN_FILES_LOG_INTERVAL_MS`], counting the ones in between.
#[derive(Debug, Default)]
struct RateLimitedLog {
    last_logged_ms: Option<i64>,
    suppressed: u64,
}

pub struct MessageStore {
    pub(crate) config: MessageStoreConfig,
    pub(crate) log: CommitLog,
    pub(crate) queues: ConsumeQueues,
    pub(crate) index: IndexFiles,
    checkpoint: Checkpoint,
    abort: AbortFile,
    /// Writes this opening's written marks (`written_mark.rs`); `None` without a boot id.
    written_mark: Option<MarkWriter>,
    /// Recovery trusted a written mark past the synced end: the next checkpoint syncs every
    /// queue and index file first.
    unsynced_recovered: bool,
    /// `topicQueueTable`: the next queue offset to assign per (topic, queue id); a queue not in
    /// it continues from its max offset (read when first needed).
    next_queue_offsets: HashMap<(String, QueueId), QueueOffset>,
    /// Records below this commit-log offset are in the consume queues and the index.
    dispatched_offset: CommitLogOffset,
    /// Store time of the newest appended record.
    last_store_timestamp_ms: i64,
    /// The queues that grew since the last [`MessageStore::take_arrivals`].
    arrivals: PendingArrivals,
    /// Why puts are refused (shut down, dispatch failed), if they are.
    not_writeable: Option<String>,
    /// Why puts wait for now (a master taking back from its slave the tail a power cut took
    /// from its own log, `crates/replication/src/tail.rs`); replicated appends still go on.
    puts_held: Option<String>,
    /// The disk-full flag of the last clean-up run; refuses puts while set.
    disk_state: DiskState,
    /// Java's `diskUtil()` text of the run that set the flag: what a refused put's remark quotes.
    disk_util: String,
    retention: RetentionPolicy,
    /// See [`MessageStore::set_keep_from`]; the log's end-of-time (`u64::MAX`) until set.
    keep_from: CommitLogOffset,
    /// Clean-up runs left that an admin `DELETE_EXPIRED_COMMITLOG` armed.
    manual_delete_runs: u32,
    recovered_abnormally: bool,
    recovery: RecoveryReport,
    /// Descriptor exhaustion, logged sparingly.
    open_files_log: RateLimitedLog,
    put_times_total: u64,
    put_bytes_total: u64,
    pub(crate) read_counters: ReadCounters,
}

impl MessageStore {
    /// Opens the store in `config.root`, recovering after a clean or an abnormal exit (the abort
    /// file tells which), and creates the abort file.
    pub fn open(config: MessageStoreConfig, now_ms: i64) -> StoreResult<MessageStore> {
        config.validate()?;
        let retention = RetentionPolicy::new(config.file_reserved_hours, &config.delete_when)?;
        crate::durable_dir::create_dir_all_durably(&config.root).map_err(io_error(&config.root))?;
        let abort = AbortFile::new(&config.root);
        let abnormal = abort.exists();
        let checkpoint = Checkpoint::load(&config.checkpoint_path())?;
        // Only the process that created the abort file as it is now, in this boot, wrote a mark
        // that holds (`written_mark.rs`).
        let written_end = abnormal
            .then(|| MarkIdentity::current(abort.path()))
            .flatten()
            .and_then(|identity| written_mark::load(&config.root, &identity));
        let recovery::Recovered {
            log,
            queues,
            index,
            report,
        } = recovery::recover(&config, &checkpoint, abnormal, written_end, now_ms)?;
        abort.create()?;
        let written_mark = MarkIdentity::current(abort.path()).and_then(|identity| {
            MarkWriter::open(&config.root, identity)
                .inspect_err(|error| tracing::warn!(%error, "no written mark: a crash recovers from the checkpoint"))
                .ok()
        });
        let dispatched_offset = log.max_offset();
        Ok(MessageStore {
            config,
            log,
            queues,
            index,
            checkpoint,
            abort,
            written_mark,
            unsynced_recovered: report.from_written_mark,
            next_queue_offsets: HashMap::new(),
            dispatched_offset,
            last_store_timestamp_ms: checkpoint.physic_msg_timestamp_ms,
            arrivals: PendingArrivals::default(),
            not_writeable: None,
            puts_held: None,
            disk_state: DiskState::default(),
            disk_util: String::new(),
            retention,
            keep_from: CommitLogOffset(u64::MAX),
            manual_delete_runs: 0,
            recovered_abnormally: abnormal,
            recovery: report,
            open_files_log: RateLimitedLog::default(),
            put_times_total: 0,
            put_bytes_total: 0,
            read_counters: ReadCounters::default(),
        })
    }

    /// What a record may weigh in this store: encode with these outside the lock.
    pub fn record_limits(&self) -> RecordLimits {
        self.log.record_limits()
    }

    /// Assigns the queue offset (per topic+queue counter), appends, and under ASYNC_FLUSH
    /// dispatches to the consume queue and index at once.
    pub fn put(&mut self, message: StoredMessage, now_ms: i64) -> StoreResult<PutResult> {
        self.put_batch(vec![message], now_ms)
    }

    /// One batch (members of one topic and queue): consecutive queue offsets, one store time.
    /// Every member is validated before the first is written.
    pub fn put_batch(&mut self, messages: Vec<StoredMessage>, now_ms: i64) -> StoreResult<PutResult> {
        let encoded = EncodedRecords::encode(&messages, self.log.record_limits(), BytesMut::new())?;
        self.put_encoded(messages, encoded, now_ms)
    }

    /// [`MessageStore::put_batch`] of records the caller [`EncodedRecords::encode`]d from
    /// `messages` before taking the store's lock (with [`MessageStore::record_limits`]).
    pub fn put_encoded(
        &mut self,
        messages: Vec<StoredMessage>,
        encoded: EncodedRecords,
        now_ms: i64,
    ) -> StoreResult<PutResult> {
        if let Some(reason) = self.not_writeable.as_ref().or(self.puts_held.as_ref()) {
            return Err(StoreError::NotWriteable { reason: reason.clone() });
        }
        if self.disk_state.refuses_puts() {
            return Err(StoreError::DiskUsageOverLimit {
                disk_util: self.disk_util.clone(),
            });
        }
        if messages.is_empty() {
            return Err(StoreError::NotWriteable {
                reason: "empty batch".to_owned(),
            });
        }
        let mut dispatching = self.config.flush_disk_type == FlushDiskType::Async;
        if dispatching {
            // A dispatch a transient error held back goes first; while it cannot, puts are
            // refused rather than pile up out of consumers' sight.
            self.dispatch_until(self.log.max_offset(), now_ms)
                .map_err(|error| self.noted(error, now_ms))?;
        }
        // Queue offsets first (consecutive per topic and queue), then every record in one
        // append (one write per segment), then dispatch in log order.
        let mut messages = messages;
        let mut next_offsets: Vec<((String, QueueId), QueueOffset)> = Vec::new();
        for message in &mut messages {
            if !message.transaction_type().takes_queue_offset() {
                message.queue_offset = 0;
                continue;
            }
            let key = (message.topic.clone(), QueueId(message.queue_id));
            let assigned = match next_offsets.iter_mut().find(|(k, _)| *k == key) {
                Some((_, next)) => next,
                None => {
                    let first = self.next_offset_for(&key).map_err(|error| self.noted(error, now_ms))?;
                    next_offsets.push((key, first));
                    next_offsets
                        .last_mut()
                        .map(|(_, next)| next)
                        .ok_or_else(|| StoreError::NotWriteable {
                            reason: "queue offset table".to_owned(),
                        })?
                }
            };
            message.queue_offset = assigned.to_java_long();
            *assigned = assigned.next();
        }
        let appended = self
            .log
            .append_encoded(encoded, &messages, now_ms)
            .map_err(|error| self.noted(error, now_ms))?;
        for (key, next) in next_offsets {
            self.next_queue_offsets.insert(key, next);
        }
        let mut result: Option<PutResult> = None;
        for (mut message, appended) in messages.into_iter().zip(appended) {
            self.last_store_timestamp_ms = now_ms;
            self.put_times_total += 1;
            self.put_bytes_total += u64::from(appended.size);
            let summary = result.get_or_insert_with(|| PutResult {
                physical_offset: appended.physical_offset,
                wrote_bytes: 0,
                queue_offset: QueueOffset::from_java_long(appended.queue_offset).unwrap_or_default(),
                msg_count: 0,
                store_timestamp_ms: now_ms,
                end_offset: appended.end_offset(),
                physical_offsets: Vec::new(),
            });
            summary.wrote_bytes = summary.wrote_bytes.saturating_add(appended.size);
            summary.msg_count += 1;
            summary.end_offset = appended.end_offset();
            summary.physical_offsets.push(appended.physical_offset);
            if dispatching {
                message.physical_offset = appended.physical_offset.to_java_long();
                message.store_timestamp_ms = now_ms;
                message.body_crc = appended.body_crc;
                let record = ScannedRecord {
                    physical_offset: appended.physical_offset,
                    size: appended.size,
                    message,
                };
                match self.dispatch_one(&record, now_ms) {
                    Ok(()) => self.dispatched_offset = appended.end_offset(),
                    // Stored all the same (Java dispatches behind the put too): the next put or
                    // flush dispatches it, and the rest of this batch, in order.
                    Err(error) if error.is_transient() => {
                        self.note_transient(&error, now_ms);
                        dispatching = false;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        result.ok_or_else(|| StoreError::NotWriteable {
            reason: "empty batch".to_owned(),
        })
    }

    /// Starts a commit-log flush whose `fsync` may run without the store (see `service.rs`).
    pub fn begin_flush(&mut self) -> StoreResult<StoreFlush> {
        Ok(StoreFlush {
            ticket: self.log.begin_flush()?,
            store_timestamp_ms: self.last_store_timestamp_ms,
        })
    }

    /// Ends a flush: moves the flushed offset, then (SYNC_FLUSH) dispatches the newly flushed
    /// records. Returns the flushed offset.
    pub fn finish_flush(&mut self, flush: StoreFlush, synced: bool, now_ms: i64) -> StoreResult<CommitLogOffset> {
        let flushed = self.log.finish_flush(flush.ticket, synced);
        if synced {
            self.checkpoint.physic_msg_timestamp_ms = flush.store_timestamp_ms;
        }
        match self.dispatch_until(self.dispatch_target(), now_ms) {
            Err(error) if error.is_transient() => self.note_transient(&error, now_ms),
            other => other?,
        }
        Ok(flushed)
    }

    /// `fsync`s the consume queues and the index and writes the checkpoint (Java does this on
    /// its own 1 s timers).
    pub fn flush_queues_and_checkpoint(&mut self) -> StoreResult<()> {
        let flush = self.begin_queue_flush()?;
        let synced = flush.sync();
        self.finish_queue_flush(synced.is_ok());
        synced
    }

    /// Starts a consume-queue, index and checkpoint flush whose `fsync`s may run without the
    /// store: handles of the files written so far and the checkpoint as it stands.
    ///
    /// The checkpoint's synced end is what this flush makes durable: records both flushed and
    /// dispatched, whose queue entries are in the files taken here (pending tails included).
    pub fn begin_queue_flush(&mut self) -> StoreResult<QueueFlush> {
        let mut checkpoint = self.checkpoint;
        checkpoint.synced_end = Some(self.dispatched_offset.min(self.log.flushed_offset()));
        let queue_files = self.queues.take_dirty_files()?;
        // The queue tails were just written: a mark costs one small write more. Its failure
        // must not fail the flush (the files just taken would go unsynced); the old mark holds.
        if let Err(error) = self.write_mark_only() {
            tracing::debug!(%error, "written mark not moved");
        }
        Ok(QueueFlush {
            queue_files,
            index_file: self.index.files().last().map(|file| file.path().to_owned()),
            checkpoint,
            checkpoint_path: self.config.checkpoint_path(),
            sync_recovered_files: self.unsynced_recovered.then(|| self.config.root.clone()),
        })
    }

    /// Ends a flush begun by [`MessageStore::begin_queue_flush`]; after a failure every queue
    /// file is synced again next time.
    pub fn finish_queue_flush(&mut self, synced: bool) {
        if synced {
            self.unsynced_recovered = false;
        } else {
            self.queues.mark_all_dirty();
        }
    }

    /// Writes every queue's write-behind tail into its file, then the written mark at the
    /// dispatched offset (`written_mark.rs`): after a kill of this process, recovery checks only
    /// what was written after it. Nothing is synced; the store's mark thread calls this a few
    /// times a second.
    pub fn write_mark(&mut self) -> StoreResult<()> {
        if self.written_mark.is_none() {
            return Ok(());
        }
        self.queues.write_pending_tails()?;
        self.write_mark_only()
    }

    /// The mark alone, for when every queue tail is already written.
    fn write_mark_only(&self) -> StoreResult<()> {
        match &self.written_mark {
            Some(writer) => writer.write(self.dispatched_offset.min(self.log.max_offset())),
            None => Ok(()),
        }
    }

    /// Flushes everything: the commit log, then (dispatching under SYNC_FLUSH) the consume
    /// queues, the index and the checkpoint. Returns the flushed commit-log offset.
    pub fn flush(&mut self, now_ms: i64) -> StoreResult<CommitLogOffset> {
        let flush = self.begin_flush()?;
        let synced = flush.sync();
        let flushed = self.finish_flush(flush, synced.is_ok(), now_ms)?;
        synced?;
        self.flush_queues_and_checkpoint()?;
        Ok(flushed)
    }

    /// Flushes everything, refuses further puts and removes the abort file (only when every
    /// record was dispatched, as Java requires).
    pub fn shutdown(&mut self, now_ms: i64) -> StoreResult<()> {
        self.flush(now_ms)?;
        self.not_writeable = Some("store shut down".to_owned());
        if self.dispatched_offset >= self.log.max_offset() {
            self.abort.remove()?;
        }
        Ok(())
    }

    /// Removes every consume queue of `topic` and forgets its queue offsets. Its records stay in
    /// the commit log until clean-up.
    pub fn delete_topic(&mut self, topic: &str) -> StoreResult<()> {
        self.queues.remove_topic(topic)?;
        self.next_queue_offsets.retain(|(name, _), _| name != topic);
        self.arrivals.forget_topic(topic);
        Ok(())
    }

    /// Refuses (with the reason) or again accepts puts.
    pub fn set_not_writeable(&mut self, reason: Option<String>) {
        self.not_writeable = reason;
    }

    pub fn is_writeable(&self) -> bool {
        self.not_writeable.is_none() && !self.disk_state.refuses_puts()
    }

    /// One clean-up run (Java's `CleanCommitLogService` + `CleanConsumeQueueService`, every
    /// 10 s): measures the disks, sets or clears the disk-full flag, and deletes expired
    /// commit-log segments and the queue and index files below the new min offset.
    pub fn run_cleanup_once(&mut self, now_ms: i64) -> StoreResult<CleanReport> {
        let thresholds = DiskThresholds::from_percents(
            self.config.disk_max_used_space_ratio,
            disk::CLEAN_FORCIBLY_PERCENT_DEFAULT,
            disk::WARNING_LEVEL_PERCENT_DEFAULT,
        );
        let commit_log_ratio = disk::used_ratio_of(&self.config.root.join("commitlog"));
        let queue_ratio = disk::used_ratio_of(&self.config.root.join("consumequeue"));
        let check = thresholds.check(commit_log_ratio, queue_ratio);
        if self.disk_state.apply(&check) && self.disk_state.refuses_puts() {
            let index_ratio = disk::used_ratio_of(&self.config.root.join("index"));
            self.disk_util = disk::disk_util_text(commit_log_ratio, queue_ratio, index_ratio);
        }
        let manual = self.manual_delete_runs > 0;
        self.manual_delete_runs = self.manual_delete_runs.saturating_sub(1);
        let run = retention::CleanRun {
            now_ms,
            disk: &check,
            manual,
            keep_from: self.keep_from,
        };
        retention::clean_expired(&mut self.log, &mut self.queues, &mut self.index, &self.retention, &run)
    }

    /// The oldest log offset the broker still has to deliver from (parked timers, delayed and
    /// half messages): clean-up deletes no segment holding a record at or after it.
    pub fn set_keep_from(&mut self, keep_from: CommitLogOffset) {
        self.keep_from = keep_from;
    }

    /// Arms the next `MANUAL_DELETE_RUNS` clean-up runs to delete expired files whatever the
    /// hour (`DELETE_EXPIRED_COMMITLOG`).
    pub fn arm_manual_delete(&mut self) {
        self.manual_delete_runs = MANUAL_DELETE_RUNS;
    }

    /// The queues that grew since the last call, each with its new max offset and the tags
    /// codes that arrived (what the arrival listener and long polls want).
    pub fn take_arrivals(&mut self) -> Vec<Arrival> {
        self.arrivals.take()
    }

    pub fn commit_log_min_offset(&self) -> CommitLogOffset {
        self.log.min_offset()
    }

    pub fn commit_log_max_offset(&self) -> CommitLogOffset {
        self.log.max_offset()
    }

    pub fn flushed_offset(&self) -> CommitLogOffset {
        self.log.flushed_offset()
    }

    /// Records below this offset are visible to consumers.
    pub fn dispatched_offset(&self) -> CommitLogOffset {
        self.dispatched_offset
    }

    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Refuses puts (`NotWriteable`, answered SERVICE_NOT_AVAILABLE) while `reason` is set;
    /// [`MessageStore::append_replicated`] is not held. `None` lets puts through again.
    pub fn hold_puts(&mut self, reason: Option<String>) {
        self.puts_held = reason;
    }

    pub fn recovered_abnormally(&self) -> bool {
        self.recovered_abnormally
    }

    /// The next queue offset a put to (topic, queue) gets.
    pub fn next_queue_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
        self.next_queue_offsets
            .get(&(topic.to_owned(), queue_id))
            .copied()
            .unwrap_or_else(|| self.max_offset_in_queue(topic, queue_id))
    }

    /// What opening the store found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// What loading consume queues repaired so far, recovery included (queues load lazily, so
    /// one not named by the log's tail is checked when first used).
    pub fn queue_repairs(&self) -> QueueRepairs {
        self.queues.repairs()
    }

    /// Consume-queue files open now (at most `open_files::QUEUE_FILES_OPEN_MAX`; the commit log
    /// and the index have bounded caches of their own).
    pub fn open_queue_files(&self) -> usize {
        self.queues.open_files()
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commit_log_min_offset: self.log.min_offset(),
            commit_log_max_offset: self.log.max_offset(),
            flushed_offset: self.log.flushed_offset(),
            dispatch_behind_bytes: self.log.max_offset().bytes_after(self.dispatched_offset),
            put_message_times_total: self.put_times_total,
            put_message_size_total: self.put_bytes_total,
            get_message_found_total: self.read_counters.found.load(Ordering::Relaxed),
            get_message_miss_total: self.read_counters.miss.load(Ordering::Relaxed),
            get_message_transferred_total: self.read_counters.transferred.load(Ordering::Relaxed),
            consume_queue_count: self.queues.len(),
            recovered_abnormally: self.recovered_abnormally,
        }
    }

    /// Up to `max_len` raw commit-log bytes from `offset`, never past its segment or the
    /// written end; empty when nothing is stored there (see [`CommitLog::read_chunk`]).
    pub fn read_commit_log_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.log.read_chunk(offset, max_len)
    }

    /// A slave's append: `bytes` are whole records and fillers copied from the master's log at
    /// `offset` (they already carry their queue offsets). They are dispatched at once, so reads
    /// from the slave see them, and the queue-offset table follows them, so a slave promoted
    /// later would continue where the master stopped.
    pub fn append_replicated(&mut self, offset: CommitLogOffset, bytes: &[u8], now_ms: i64) -> StoreResult<()> {
        // Anywhere but the end, the log restarts empty: no mark may outlive what it vouched for.
        if offset != self.log.max_offset()
            && let Some(writer) = &self.written_mark
        {
            writer.clear()?;
        }
        self.log.append_raw(offset, bytes)?;
        self.dispatch_until(self.log.max_offset(), now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferrocket_wire::message::MessageVersion;
    use ferrocket_wire::message::sysflag::{self, TransactionType};

    const T0: i64 = 1_700_000_000_000;

    fn message(sys_flag: i32) -> StoredMessage {
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 2,
            flag: 0,
            queue_offset: 99,
            physical_offset: 0,
            sys_flag,
            born_timestamp_ms: T0,
            born_host: "10.0.0.5:50000".parse().unwrap(),
            store_timestamp_ms: 0,
            store_host: "192.168.1.10:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"x"),
            topic: "T".to_owned(),
            properties: Default::default(),
        }
    }

    #[test]
    fn prepared_messages_take_no_queue_offset_and_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let config = MessageStoreConfig {
            commit_log_segment_bytes: 64 * 1024,
            ..MessageStoreConfig::new(dir.path())
        };
        let mut store = MessageStore::open(config, T0).unwrap();
        let prepared = sysflag::with_transaction_type(0, TransactionType::Prepared);
        let half = store.put(message(prepared), T0).unwrap();
        assert_eq!(half.queue_offset, QueueOffset(0));
        assert_eq!(store.log.read(half.physical_offset).unwrap().message.queue_offset, 0);
        assert_eq!(store.max_offset_in_queue("T", QueueId(2)), QueueOffset(0));
        assert!(store.take_arrivals().is_empty());
        let normal = store.put(message(0), T0 + 1).unwrap();
        assert_eq!(normal.queue_offset, QueueOffset(0));
        assert_eq!(store.put(message(0), T0 + 2).unwrap().queue_offset, QueueOffset(1));
        let arrivals = store.take_arrivals();
        assert_eq!(arrivals.len(), 1);
        assert_eq!(
            (arrivals[0].topic.as_str(), arrivals[0].queue_id, arrivals[0].max_offset),
            ("T", QueueId(2), QueueOffset(2))
        );
        assert_eq!(store.stats().put_message_times_total, 3);
        // The caller's queue offset is ignored: the store assigns it.
        assert_eq!(store.log.read(normal.physical_offset).unwrap().message.queue_offset, 0);
    }
}
