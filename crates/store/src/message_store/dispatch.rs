//! Dispatch (store-and-ha.md §4.5): the two dispatchers, "build consume queue" and "build
//! index", run for each record in log order, and the bookkeeping of how far they got. Also the
//! lazy next-offset lookup and the sparse logging of descriptor exhaustion.
//!
//! A dispatch that fails part way leaves `dispatched_offset` at the first record not dispatched,
//! so a retry resumes there; both dispatchers are idempotent for a record they already took.

use crate::arrivals::PendingArrivals;
use crate::checkpoint::Checkpoint;
use crate::commit_log::{CommitLog, ScannedRecord};
use crate::consume_queue::QueuePutOutcome;
use crate::consume_queues::{ConsumeQueues, entry_tags_code};
use crate::error::{StoreError, StoreResult};
use crate::index_files::IndexFiles;
use crate::offsets::{CommitLogOffset, QueueId, QueueOffset};
use crate::open_files::QUEUE_FILES_OPEN_MAX;
use crate::store_config::FlushDiskType;

use super::{MessageStore, OPEN_FILES_LOG_INTERVAL_MS};

/// The parts of the store a dispatch writes, borrowed apart from the commit log it reads.
struct Dispatcher<'a> {
    queues: &'a mut ConsumeQueues,
    index: &'a mut IndexFiles,
    checkpoint: &'a mut Checkpoint,
    arrivals: &'a mut PendingArrivals,
    index_enabled: bool,
}

impl Dispatcher<'_> {
    fn dispatch(&mut self, log: &CommitLog, record: &ScannedRecord, now_ms: i64) -> StoreResult<()> {
        let message = &record.message;
        if self.queues.dispatch(record, log)? == Some(QueuePutOutcome::Written) {
            self.checkpoint.logics_msg_timestamp_ms = message.store_timestamp_ms;
            let new_max = QueueOffset::from_java_long(message.queue_offset)
                .unwrap_or_default()
                .next();
            let tags_code = entry_tags_code(message, self.queues.delay_levels_ms());
            self.arrivals
                .record(&message.topic, QueueId(message.queue_id), new_max, tags_code);
        }
        if self.index_enabled
            && let Some(filled_end_ms) = self.index.dispatch(record, now_ms)?
        {
            self.checkpoint.index_msg_timestamp_ms = filled_end_ms;
        }
        Ok(())
    }
}

impl MessageStore {
    /// Where dispatch must reach: the flushed offset under SYNC_FLUSH (consumers see only what
    /// is on disk), the end of the log under ASYNC_FLUSH.
    pub(super) fn dispatch_target(&self) -> CommitLogOffset {
        match self.config.flush_disk_type {
            FlushDiskType::Sync => self.log.flushed_offset(),
            FlushDiskType::Async => self.log.max_offset(),
        }
    }

    /// Dispatches the records between `dispatched_offset` and `end` (SYNC_FLUSH's flushed tail,
    /// a slave's append, a catch-up after a transient error), and follows them in the queue
    /// offset table (a slave's records carry their offsets).
    pub(super) fn dispatch_until(&mut self, end: CommitLogOffset, now_ms: i64) -> StoreResult<()> {
        if self.dispatched_offset >= end {
            return Ok(());
        }
        let from = self.dispatched_offset.max(self.log.min_offset());
        let mut done = from;
        let MessageStore {
            log,
            queues,
            index,
            checkpoint,
            arrivals,
            next_queue_offsets,
            last_store_timestamp_ms,
            config,
            ..
        } = self;
        let mut dispatcher = Dispatcher {
            queues,
            index,
            checkpoint,
            arrivals,
            index_enabled: config.message_index_enable,
        };
        let scanned = log.scan_until(from, end, |record| {
            dispatcher.dispatch(log, &record, now_ms)?;
            let message = &record.message;
            if message.transaction_type().takes_queue_offset() {
                let next = QueueOffset::from_java_long(message.queue_offset)
                    .unwrap_or_default()
                    .next();
                let entry = next_queue_offsets
                    .entry((message.topic.clone(), QueueId(message.queue_id)))
                    .or_default();
                *entry = (*entry).max(next);
            }
            *last_store_timestamp_ms = (*last_store_timestamp_ms).max(message.store_timestamp_ms);
            done = record.physical_offset.plus_bytes(u64::from(record.size));
            Ok(())
        });
        match scanned {
            Ok(reached) => {
                self.dispatched_offset = reached;
                Ok(())
            }
            Err(error) => {
                self.dispatched_offset = done;
                if !error.is_transient() {
                    self.not_writeable = Some(format!("dispatch failed: {error}"));
                }
                Err(error)
            }
        }
    }

    /// The two dispatchers for one record. A failure other than a transient one leaves the
    /// store refusing puts, as Java flags a "logics queue error".
    pub(super) fn dispatch_one(&mut self, record: &ScannedRecord, now_ms: i64) -> StoreResult<()> {
        let mut dispatcher = Dispatcher {
            queues: &mut self.queues,
            index: &mut self.index,
            checkpoint: &mut self.checkpoint,
            arrivals: &mut self.arrivals,
            index_enabled: self.config.message_index_enable,
        };
        let result = dispatcher.dispatch(&self.log, record, now_ms);
        if let Err(error) = &result
            && !error.is_transient()
        {
            self.not_writeable = Some(format!("dispatch failed: {error}"));
        }
        result
    }

    /// The next offset for a put to `key`: from the table, else the queue's max offset. Either
    /// way the queue is loaded (created if new) first, so a put that cannot get a descriptor
    /// for it is refused before its record is appended.
    pub(super) fn next_offset_for(&mut self, key: &(String, QueueId)) -> StoreResult<QueueOffset> {
        let (topic, queue_id) = key;
        let max = self.queues.prepare(topic, *queue_id, &self.log)?;
        Ok(*self.next_queue_offsets.entry(key.clone()).or_insert(max))
    }

    /// `error`, after logging it if it is transient (see [`MessageStore::note_transient`]).
    pub(super) fn noted(&mut self, error: StoreError, now_ms: i64) -> StoreError {
        self.note_transient(&error, now_ms);
        error
    }

    /// Logs a transient error as an error an operator can act on, at most once every
    /// [`OPEN_FILES_LOG_INTERVAL_MS`], with how many went unlogged since.
    pub(super) fn note_transient(&mut self, error: &StoreError, now_ms: i64) {
        if !error.is_transient() {
            return;
        }
        let log = &mut self.open_files_log;
        if log
            .last_logged_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < OPEN_FILES_LOG_INTERVAL_MS)
        {
            log.suppressed += 1;
            return;
        }
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        tracing::error!(
            %error,
            since_last_report = log.suppressed,
            open_files_soft_limit = ?limit.current,
            open_files_hard_limit = ?limit.maximum,
            store_queue_files_open_max = QUEUE_FILES_OPEN_MAX,
            "the process has no file descriptor left: puts that need a new file are refused \
             (CREATE_MAPPED_FILE_FAILED) and dispatch waits until one frees up; raise the \
             open-file limit (ulimit -n, systemd LimitNOFILE) or reduce client connections"
        );
        log.last_logged_ms = Some(now_ms);
        log.suppressed = 0;
    }
}
