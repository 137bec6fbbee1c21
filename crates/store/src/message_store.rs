//! The message store: one commit log, its consume queues and index files, the checkpoint and the
//! abort file, behind one single-writer API (Java's `DefaultMessageStore`, store-and-ha.md §1.9,
//! §2, §4). Puts assign queue offsets from the per-(topic, queue) "next offset" table, append to
//! the commit log and dispatch the record to its consume queue and the index. Reads live in
//! `reads.rs`. The caller owns threads and clocks (`service.rs` is the threaded shell).
//!
//! Invariants: the next-offset table is ≥ every queue's max offset; records below
//! `dispatched_offset` have been dispatched, records above it have not; under ASYNC_FLUSH
//! `dispatched_offset` is the commit log's end after every put, under SYNC_FLUSH it never passes
//! the flushed offset (consumers only see records that are on disk). While the store is open its
//! abort file exists.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::record::body_crc;

use crate::abort_file::AbortFile;
use crate::checkpoint::Checkpoint;
use crate::commit_log::{CommitLog, CommitLogConfig, FlushTicket, ScannedRecord};
use crate::consume_queue::PutOutcome;
use crate::consume_queues::ConsumeQueues;
use crate::disk::{self, DiskState, DiskThresholds};
use crate::error::{StoreError, StoreResult, io_error};
use crate::index_files::IndexFiles;
use crate::retention::{self, CleanReport, RetentionPolicy};
use crate::store_config::{FlushDiskType, MessageStoreConfig};

/// `DELETE_EXPIRED_COMMITLOG` arms this many clean-up runs that delete regardless of the hour
/// (Java's `MANUAL_DELETE_FILE_SEVERAL_TIMES`).
pub const MANUAL_DELETE_RUNS: u32 = 20;

/// What a put stored (Java's `AppendMessageResult`). For a batch, the first member's offsets
/// and the whole batch's extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// `wroteOffset` of the (first) record.
    pub physical_offset: u64,
    /// `wroteBytes`: the sum of the records' sizes.
    pub wrote_bytes: u32,
    /// `logicsOffset`: the (first) queue offset assigned (0 for prepared/rollback messages).
    pub queue_offset: u64,
    pub msg_count: u32,
    pub store_timestamp_ms: i64,
    /// One past the last record: what a SYNC_FLUSH put waits for.
    pub end_offset: u64,
    /// Every record's physical offset, in order (a batch's msgId lists one per member).
    pub physical_offsets: Vec<u64>,
}

/// Figures for `GET_BROKER_RUNTIME_INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub commit_log_min_offset: u64,
    pub commit_log_max_offset: u64,
    pub flushed_offset: u64,
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
}

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

    pub fn up_to(&self) -> u64 {
        self.ticket.up_to()
    }
}

/// A consume-queue, index and checkpoint flush in progress (see
/// [`MessageStore::begin_queue_flush`]).
pub struct QueueFlush {
    files: Vec<(PathBuf, fs::File)>,
    /// The newest index file; older ones were synced when they filled up.
    index_file: Option<PathBuf>,
    /// Written after the queues are synced, so it never claims more than is on disk.
    checkpoint: Checkpoint,
    checkpoint_path: PathBuf,
}

impl QueueFlush {
    /// `fsync`s the queue files and the index, then writes the checkpoint; touches no store
    /// state.
    pub fn sync(&self) -> StoreResult<()> {
        for (path, file) in &self.files {
            file.sync_data().map_err(io_error(path))?;
        }
        if let Some(path) = &self.index_file {
            // Any descriptor of a file flushes all of its dirty pages.
            fs::File::open(path)
                .and_then(|file| file.sync_data())
                .map_err(io_error(path))?;
        }
        self.checkpoint.store(&self.checkpoint_path)
    }
}

pub struct MessageStore {
    pub(crate) config: MessageStoreConfig,
    pub(crate) log: CommitLog,
    pub(crate) queues: ConsumeQueues,
    pub(crate) index: IndexFiles,
    checkpoint: Checkpoint,
    abort: AbortFile,
    /// `topicQueueTable`: the next queue offset to assign per (topic, queue id).
    next_queue_offsets: HashMap<(String, i32), u64>,
    /// Records below this commit-log offset are in the consume queues and the index.
    dispatched_offset: u64,
    /// Store time of the newest appended record.
    last_store_timestamp_ms: i64,
    /// New max offsets per queue since the last [`MessageStore::take_arrivals`] (coalesced, so
    /// bounded by the number of queues).
    arrivals: BTreeMap<(String, i32), u64>,
    /// Why puts are refused (shut down, dispatch failed), if they are.
    not_writeable: Option<String>,
    /// The disk-full flag of the last clean-up run; refuses puts while set.
    disk_state: DiskState,
    disk_full_remark: String,
    retention: RetentionPolicy,
    /// Clean-up runs left that an admin `DELETE_EXPIRED_COMMITLOG` armed.
    manual_delete_runs: u32,
    recovered_abnormally: bool,
    put_times_total: u64,
    put_bytes_total: u64,
    pub(crate) read_counters: ReadCounters,
    /// Reused to validate batch members before any is written.
    scratch: BytesMut,
}

impl MessageStore {
    /// Opens the store in `config.root`, recovering after a clean or an abnormal exit (the abort
    /// file tells which), and creates the abort file.
    pub fn open(config: MessageStoreConfig, now_ms: i64) -> StoreResult<MessageStore> {
        config.validate()?;
        let retention = RetentionPolicy::new(config.file_reserved_hours, &config.delete_when)?;
        fs::create_dir_all(&config.root).map_err(io_error(&config.root))?;
        let abort = AbortFile::new(&config.root);
        let abnormal = abort.exists();
        let checkpoint = Checkpoint::load(&config.checkpoint_path())?;
        let log = CommitLog::open(&CommitLogConfig {
            dir: config.root.join("commitlog"),
            segment_bytes: config.commit_log_segment_bytes,
            body_bytes_max: config.body_bytes_max,
        })?;
        let mut queues = ConsumeQueues::open(&config.root, config.consume_queue_file_entries)?
            .with_delay_levels_ms(config.message_delay_levels_ms.clone());
        queues.recover(&log)?;
        let mut index = IndexFiles::open(&config.root, config.index)?;
        if abnormal {
            index.delete_after_abnormal_exit(checkpoint.index_msg_timestamp_ms)?;
        }
        if config.message_index_enable {
            index.recover(&log, now_ms)?;
        }
        let next_queue_offsets = queues
            .iter()
            .map(|((topic, queue_id), queue)| ((topic.clone(), *queue_id), queue.max_offset()))
            .collect();
        abort.create()?;
        let dispatched_offset = log.max_offset();
        Ok(MessageStore {
            config,
            log,
            queues,
            index,
            checkpoint,
            abort,
            next_queue_offsets,
            dispatched_offset,
            last_store_timestamp_ms: checkpoint.physic_msg_timestamp_ms,
            arrivals: BTreeMap::new(),
            not_writeable: None,
            disk_state: DiskState::default(),
            disk_full_remark: String::new(),
            retention,
            manual_delete_runs: 0,
            recovered_abnormally: abnormal,
            put_times_total: 0,
            put_bytes_total: 0,
            read_counters: ReadCounters::default(),
            scratch: BytesMut::new(),
        })
    }

    /// Assigns the queue offset (per topic+queue counter), appends, and under ASYNC_FLUSH
    /// dispatches to the consume queue and index at once.
    pub fn put(&mut self, message: StoredMessage, now_ms: i64) -> StoreResult<PutResult> {
        self.put_batch(vec![message], now_ms)
    }

    /// One batch (members of one topic and queue): consecutive queue offsets, one store time.
    /// Every member is validated before the first is written.
    pub fn put_batch(&mut self, messages: Vec<StoredMessage>, now_ms: i64) -> StoreResult<PutResult> {
        if let Some(reason) = &self.not_writeable {
            return Err(StoreError::NotWriteable { reason: reason.clone() });
        }
        if self.disk_state.refuses_puts() {
            return Err(StoreError::NotWriteable {
                reason: self.disk_full_remark.clone(),
            });
        }
        if messages.is_empty() {
            return Err(StoreError::NotWriteable {
                reason: "empty batch".to_owned(),
            });
        }
        // A single record is checked by the append itself; a batch is checked whole first.
        if messages.len() > 1 {
            for message in &messages {
                self.validate_message(message)?;
            }
        }
        let mut result: Option<PutResult> = None;
        for mut message in messages {
            let key = (message.topic.clone(), message.queue_id);
            let takes_offset = message.transaction_type().takes_queue_offset();
            let queue_offset = if takes_offset {
                self.next_queue_offsets.get(&key).copied().unwrap_or(0)
            } else {
                0
            };
            message.queue_offset = i64::try_from(queue_offset).unwrap_or(i64::MAX);
            let appended = self.log.append(&message, now_ms)?;
            if takes_offset {
                self.next_queue_offsets.insert(key, queue_offset.saturating_add(1));
            }
            self.last_store_timestamp_ms = now_ms;
            self.put_times_total += 1;
            self.put_bytes_total += u64::from(appended.size);
            let summary = result.get_or_insert_with(|| PutResult {
                physical_offset: appended.physical_offset,
                wrote_bytes: 0,
                queue_offset,
                msg_count: 0,
                store_timestamp_ms: now_ms,
                end_offset: appended.end_offset(),
                physical_offsets: Vec::new(),
            });
            summary.wrote_bytes = summary.wrote_bytes.saturating_add(appended.size);
            summary.msg_count += 1;
            summary.end_offset = appended.end_offset();
            summary.physical_offsets.push(appended.physical_offset);
            if self.config.flush_disk_type == FlushDiskType::Async {
                message.physical_offset = i64::try_from(appended.physical_offset).unwrap_or(i64::MAX);
                message.store_timestamp_ms = now_ms;
                message.body_crc = body_crc(&message.body);
                let record = ScannedRecord {
                    physical_offset: appended.physical_offset,
                    size: appended.size,
                    message,
                };
                self.dispatch_one(&record, now_ms)?;
                self.dispatched_offset = appended.end_offset();
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
    pub fn finish_flush(&mut self, flush: StoreFlush, synced: bool, now_ms: i64) -> StoreResult<u64> {
        let flushed = self.log.finish_flush(flush.ticket, synced);
        if synced {
            self.checkpoint.physic_msg_timestamp_ms = flush.store_timestamp_ms;
        }
        self.dispatch_flushed(now_ms)?;
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
    pub fn begin_queue_flush(&mut self) -> StoreResult<QueueFlush> {
        Ok(QueueFlush {
            files: self.queues.take_dirty_files()?,
            index_file: self.index.files().last().map(|file| file.path().to_owned()),
            checkpoint: self.checkpoint,
            checkpoint_path: self.config.checkpoint_path(),
        })
    }

    /// Ends a flush begun by [`MessageStore::begin_queue_flush`]; after a failure every queue
    /// file is synced again next time.
    pub fn finish_queue_flush(&mut self, synced: bool) {
        if !synced {
            self.queues.mark_all_dirty();
        }
    }

    /// Flushes everything: the commit log, then (dispatching under SYNC_FLUSH) the consume
    /// queues, the index and the checkpoint. Returns the flushed commit-log offset.
    pub fn flush(&mut self, now_ms: i64) -> StoreResult<u64> {
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
        self.arrivals.retain(|(name, _), _| name != topic);
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
        let check = disk::check(&thresholds, commit_log_ratio, queue_ratio);
        if self.disk_state.apply(&check) && self.disk_state.refuses_puts() {
            self.disk_full_remark = disk::service_not_available_remark(commit_log_ratio, queue_ratio, None);
        }
        let manual = self.manual_delete_runs > 0;
        self.manual_delete_runs = self.manual_delete_runs.saturating_sub(1);
        retention::clean_expired(
            &mut self.log,
            &mut self.queues,
            &mut self.index,
            &self.retention,
            now_ms,
            &check,
            manual,
        )
    }

    /// Arms the next [`MANUAL_DELETE_RUNS`] clean-up runs to delete expired files whatever the
    /// hour (`DELETE_EXPIRED_COMMITLOG`).
    pub fn arm_manual_delete(&mut self) {
        self.manual_delete_runs = MANUAL_DELETE_RUNS;
    }

    /// The queues that grew since the last call, each with its new max offset (what the arrival
    /// listener and long polls want).
    pub fn take_arrivals(&mut self) -> Vec<(String, i32, u64)> {
        std::mem::take(&mut self.arrivals)
            .into_iter()
            .map(|((topic, queue_id), max)| (topic, queue_id, max))
            .collect()
    }

    pub fn commit_log_min_offset(&self) -> u64 {
        self.log.min_offset()
    }

    pub fn commit_log_max_offset(&self) -> u64 {
        self.log.max_offset()
    }

    pub fn flushed_offset(&self) -> u64 {
        self.log.flushed_offset()
    }

    /// Records below this offset are visible to consumers.
    pub fn dispatched_offset(&self) -> u64 {
        self.dispatched_offset
    }

    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn recovered_abnormally(&self) -> bool {
        self.recovered_abnormally
    }

    /// The next queue offset a put to (topic, queue) gets.
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> u64 {
        self.next_queue_offsets
            .get(&(topic.to_owned(), queue_id))
            .copied()
            .unwrap_or(0)
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commit_log_min_offset: self.log.min_offset(),
            commit_log_max_offset: self.log.max_offset(),
            flushed_offset: self.log.flushed_offset(),
            dispatch_behind_bytes: self.log.max_offset().saturating_sub(self.dispatched_offset),
            put_message_times_total: self.put_times_total,
            put_message_size_total: self.put_bytes_total,
            get_message_found_total: self.read_counters.found.load(Ordering::Relaxed),
            get_message_miss_total: self.read_counters.miss.load(Ordering::Relaxed),
            get_message_transferred_total: self.read_counters.transferred.load(Ordering::Relaxed),
            consume_queue_count: self.queues.iter().count(),
            recovered_abnormally: self.recovered_abnormally,
        }
    }

    /// Under SYNC_FLUSH, dispatches the records between `dispatched_offset` and the flushed
    /// offset (ASYNC_FLUSH dispatches on put, so there is nothing left).
    fn dispatch_flushed(&mut self, now_ms: i64) -> StoreResult<()> {
        self.dispatch_until(self.log.flushed_offset(), now_ms)
    }

    /// A slave's append: `bytes` are whole records and fillers copied from the master's log at
    /// `offset` (they already carry their queue offsets). They are dispatched at once, so reads
    /// from the slave see them, and the queue-offset table follows them, so a slave promoted
    /// later would continue where the master stopped.
    pub fn append_replicated(&mut self, offset: u64, bytes: &[u8], now_ms: i64) -> StoreResult<()> {
        self.log.append_raw(offset, bytes)?;
        self.dispatch_until(self.log.max_offset(), now_ms)
    }

    /// Dispatches the records between `dispatched_offset` and `end`.
    fn dispatch_until(&mut self, end: u64, now_ms: i64) -> StoreResult<()> {
        if self.dispatched_offset >= end {
            return Ok(());
        }
        let from = self.dispatched_offset.max(self.log.min_offset());
        let mut records = Vec::new();
        let reached = self.log.scan_until(from, end, |record| {
            records.push(record);
            Ok(())
        })?;
        for record in &records {
            self.dispatch_one(record, now_ms)?;
            let message = &record.message;
            if message.transaction_type().takes_queue_offset() {
                let next = u64::try_from(message.queue_offset).unwrap_or(0).saturating_add(1);
                let entry = self
                    .next_queue_offsets
                    .entry((message.topic.clone(), message.queue_id))
                    .or_insert(0);
                *entry = (*entry).max(next);
            }
            self.last_store_timestamp_ms = self.last_store_timestamp_ms.max(message.store_timestamp_ms);
        }
        self.dispatched_offset = reached;
        Ok(())
    }

    /// The two dispatchers (§4.5): build consume queue, build index. A failure leaves the store
    /// refusing puts, as Java flags a "logics queue error".
    fn dispatch_one(&mut self, record: &ScannedRecord, now_ms: i64) -> StoreResult<()> {
        let result = self.try_dispatch(record, now_ms);
        if let Err(error) = &result {
            self.not_writeable = Some(format!("dispatch failed: {error}"));
        }
        result
    }

    fn try_dispatch(&mut self, record: &ScannedRecord, now_ms: i64) -> StoreResult<()> {
        let message = &record.message;
        if self.queues.dispatch(record)? == Some(PutOutcome::Written) {
            self.checkpoint.logics_msg_timestamp_ms = message.store_timestamp_ms;
            let new_max = u64::try_from(message.queue_offset).unwrap_or(0).saturating_add(1);
            self.arrivals.insert((message.topic.clone(), message.queue_id), new_max);
        }
        if self.config.message_index_enable
            && let Some(filled_end_ms) = self.index.dispatch(record, now_ms)?
        {
            self.checkpoint.index_msg_timestamp_ms = filled_end_ms;
        }
        Ok(())
    }

    /// Body length and encodability, before anything of a batch is written.
    fn validate_message(&mut self, message: &StoredMessage) -> StoreResult<()> {
        if message.body.len() > self.config.body_bytes_max {
            return Err(StoreError::MessageTooLarge {
                bytes: message.body.len(),
                limit: self.config.body_bytes_max,
            });
        }
        self.scratch.clear();
        message.encode(&mut self.scratch)?;
        Ok(())
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
        assert_eq!(half.queue_offset, 0);
        assert_eq!(store.log.read(half.physical_offset).unwrap().message.queue_offset, 0);
        assert_eq!(store.max_offset_in_queue("T", 2), 0);
        assert!(store.take_arrivals().is_empty());
        let normal = store.put(message(0), T0 + 1).unwrap();
        assert_eq!(normal.queue_offset, 0);
        assert_eq!(store.put(message(0), T0 + 2).unwrap().queue_offset, 1);
        assert_eq!(store.take_arrivals(), vec![("T".to_owned(), 2, 2)]);
        assert_eq!(store.stats().put_message_times_total, 3);
        // The caller's queue offset is ignored: the store assigns it.
        assert_eq!(store.log.read(normal.physical_offset).unwrap().message.queue_offset, 0);
    }
}
