//! The threaded shell around [`MessageStore`]: one store behind a read-write lock (pulls read in
//! parallel, everything else writes), shared by the broker's tasks, a flush thread and a clean-up
//! thread (store-and-ha.md §5). The shell owns the clock.
//!
//! * ASYNC_FLUSH: puts return after the write (records are dispatched at once); the flush thread
//!   flushes the commit log every `flush_interval_ms`.
//! * SYNC_FLUSH: a put registers a oneshot waiter for its end offset with the [`GroupCommit`]
//!   and wakes the flush thread, which `fsync`s *without holding the store lock*
//!   ([`MessageStore::begin_flush`] hands out duplicated file handles), dispatches the flushed
//!   records and releases every waiter the flush covers. Waiters whose deadline passed first get
//!   `FLUSH_DISK_TIMEOUT` (the message is stored), as Java's `FlushDiskWatcher` decides.
//!
//! Lock order: store (written), then group commit; the flush thread never holds both. No lock is
//! held across an `.await`. The arrival listener runs after dispatch, with no lock held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use tokio::sync::oneshot;

use crate::arrivals::Arrival;
use crate::clock::Clock;
use crate::encoded::{EncodedRecords, RecordLimits};
use crate::error::{StoreError, StoreResult};
use crate::group_commit::{FlushOutcome, GroupCommit};
use crate::message_store::{MessageStore, PutResult};
use crate::offsets::CommitLogOffset;
use crate::recovery::RecoveryReport;
use crate::retention::CleanReport;
use crate::store_config::{FlushDiskType, MessageStoreConfig};

/// Called after dispatch for each queue that grew (its new max offset and the tags codes that
/// arrived); wakes long polls.
pub type ArrivalListener = Arc<dyn Fn(&Arrival) + Send + Sync>;

/// Java's `GroupCommitService` waits this long for requests before flushing anyway.
const GROUP_COMMIT_WAIT_MS: u64 = 10;
/// Java flushes consume queues (and the checkpoint) every `flushIntervalConsumeQueue`.
const QUEUE_FLUSH_INTERVAL_MS: i64 = 1000;
/// Java's `cleanResourceInterval`.
const CLEAN_INTERVAL_MS: u64 = 10_000;
/// How often the written mark moves up (`written_mark.rs`): after a kill, recovery checks about
/// this much of the newest writes. Its own thread, since a flush that lags under load (its
/// `fsync` waits for the disk) must not hold the mark back; each tick writes the queues'
/// write-behind tails, so shorter ticks mean smaller queue writes.
const WRITTEN_MARK_INTERVAL_MS: u64 = 200;

/// Java's `PutMessageStatus`, as far as this store produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    PutOk,
    /// Stored, but not on disk within `syncFlushTimeout` (response code 10).
    FlushDiskTimeout,
    /// Shut down, disk full or a dispatch error (response code 14).
    ServiceNotAvailable,
    /// No file could be opened for it (descriptors exhausted): Java's `CREATE_MAPPED_FILE_FAILED`
    /// (response code 1). Transient: the next put may succeed.
    CreateMappedFileFailed,
    /// Too large or not encodable (response code 13).
    MessageIllegal,
    /// Too many puts waiting for a flush (response code 2, `SYSTEM_BUSY`).
    OsPageCacheBusy,
    UnknownError,
}

/// What a put through the shell ended with.
#[derive(Debug)]
pub struct PutOutcome {
    pub status: PutStatus,
    /// Present whenever the message was stored (also with `FlushDiskTimeout`).
    pub result: Option<PutResult>,
    /// The store error behind a failure; the broker names it in the response remark.
    pub error: Option<StoreError>,
}

#[derive(Clone)]
pub struct StoreHandle {
    shared: Arc<Shared>,
}

struct Shared {
    /// Pulls read in parallel; puts, flushes and clean-up write.
    store: RwLock<MessageStore>,
    /// What puts encode their records against before taking the lock.
    record_limits: RecordLimits,
    flush_disk_type: FlushDiskType,
    flush_interval_ms: u64,
    group: Mutex<GroupCommit<oneshot::Sender<FlushOutcome>>>,
    /// Set by puts that wait for a flush; the condvar wakes the flush thread.
    flush_requested: Mutex<bool>,
    flush_wake: Condvar,
    stopping: AtomicBool,
    /// The clean-up thread sleeps on this (shares the flag mutex's condvar pattern).
    clean_wake: Condvar,
    clean_lock: Mutex<()>,
    on_arrival: ArrivalListener,
    clock: Clock,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl StoreHandle {
    /// Opens the store (recovering it) and starts the flush and clean-up threads; every time
    /// the store stamps or compares comes from `clock`.
    pub fn open(config: MessageStoreConfig, on_arrival: ArrivalListener, clock: Clock) -> StoreResult<StoreHandle> {
        let started_ms = clock.now_ms();
        let store = MessageStore::open(config.clone(), started_ms)?;
        log_recovery(store.recovery_report(), clock.now_ms().saturating_sub(started_ms));
        let shared = Arc::new(Shared {
            record_limits: store.record_limits(),
            store: RwLock::new(store),
            flush_disk_type: config.flush_disk_type,
            flush_interval_ms: config.flush_interval_ms.max(1),
            group: Mutex::new(GroupCommit::new(config.sync_flush_timeout_ms)),
            flush_requested: Mutex::new(false),
            flush_wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            clean_wake: Condvar::new(),
            clean_lock: Mutex::new(()),
            on_arrival,
            clock,
            threads: Mutex::new(Vec::new()),
        });
        let flusher = Arc::clone(&shared);
        let cleaner = Arc::clone(&shared);
        let marker = Arc::clone(&shared);
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(body)
                .map_err(|source| StoreError::Io {
                    path: config.root.clone(),
                    source,
                })
        };
        let flush_thread = spawn("store-flush", Box::new(move || flusher.flush_loop()))?;
        let clean_thread = spawn("store-clean", Box::new(move || cleaner.clean_loop()))?;
        let mark_thread = spawn("store-mark", Box::new(move || marker.mark_loop()))?;
        lock(&shared.threads).extend([flush_thread, clean_thread, mark_thread]);
        Ok(StoreHandle { shared })
    }

    /// Stores one message; under SYNC_FLUSH returns once it is on disk (or timed out).
    pub async fn put(&self, message: StoredMessage) -> PutOutcome {
        self.put_batch(vec![message]).await
    }

    /// Stores one batch (members of one topic and queue) with consecutive queue offsets.
    pub async fn put_batch(&self, messages: Vec<StoredMessage>) -> PutOutcome {
        // Java waits for the flush only when the (first) message says so (`WAIT`, default true).
        let wait = messages
            .first()
            .is_none_or(|m| m.properties.get(keys::WAIT) != Some("false"));
        let shared = &self.shared;
        // Encoding and the body CRC need nothing of the store: done before its lock is taken.
        let encoded = match EncodedRecords::encode(&messages, shared.record_limits, BytesMut::new()) {
            Ok(encoded) => encoded,
            Err(error) => return failure(error),
        };
        let now_ms = shared.clock.now_ms();
        let (result, arrivals, waiter) = {
            let mut store = write_lock(&shared.store);
            let result = match store.put_encoded(messages, encoded, now_ms) {
                Ok(result) => result,
                Err(error) => return failure(error),
            };
            let arrivals = store.take_arrivals();
            let waiter = if shared.flush_disk_type == FlushDiskType::Sync && wait {
                let (sender, receiver) = oneshot::channel();
                // Registered under the store lock, so end offsets arrive in log order.
                let registered = lock(&shared.group).register(result.end_offset, now_ms, sender);
                Some(registered.map(|()| receiver))
            } else {
                None
            };
            (result, arrivals, waiter)
        };
        shared.notify_arrivals(arrivals);
        let status = match waiter {
            None => PutStatus::PutOk,
            Some(Err(_)) => PutStatus::OsPageCacheBusy,
            Some(Ok(receiver)) => {
                shared.request_flush();
                match receiver.await {
                    Ok(FlushOutcome::Flushed) => PutStatus::PutOk,
                    Ok(FlushOutcome::TimedOut) | Err(_) => PutStatus::FlushDiskTimeout,
                }
            }
        };
        PutOutcome {
            status,
            result: Some(result),
            error: None,
        }
    }

    /// Runs `f` on the store under its lock; every read goes through this. Keep `f` short.
    pub fn read<R>(&self, f: impl FnOnce(&MessageStore) -> R) -> R {
        f(&self.shared.store.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` on the store under its lock, for writes other than puts (delete a topic, ...).
    pub fn write<R>(&self, f: impl FnOnce(&mut MessageStore) -> R) -> R {
        let (result, arrivals) = {
            let mut store = write_lock(&self.shared.store);
            let result = f(&mut store);
            (result, store.take_arrivals())
        };
        self.shared.notify_arrivals(arrivals);
        result
    }

    /// One clean-up run at `now_ms` (the clean-up thread calls this every 10 s).
    pub fn run_cleanup_once(&self, now_ms: i64) -> StoreResult<CleanReport> {
        write_lock(&self.shared.store).run_cleanup_once(now_ms)
    }

    /// Stops the threads, flushes everything and closes the store cleanly (abort file removed).
    /// Puts afterwards answer `ServiceNotAvailable`. Idempotent.
    pub fn shutdown(&self) {
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        shared.request_flush();
        {
            let _guard = lock(&shared.clean_lock);
            shared.clean_wake.notify_all();
        }
        let threads = std::mem::take(&mut *lock(&shared.threads));
        for thread in threads {
            // A panicked thread has nothing left to stop; the store is still closed below.
            let _ = thread.join();
        }
        let now_ms = shared.clock.now_ms();
        let (flushed, arrivals) = {
            let mut store = write_lock(&shared.store);
            // A failed final flush leaves the abort file, so the next open recovers fully.
            let _ = store.shutdown(now_ms);
            (store.flushed_offset(), store.take_arrivals())
        };
        shared.notify_arrivals(arrivals);
        shared.release_waiters(flushed, now_ms);
    }

    /// The time now on the clock this handle uses.
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }
}

impl Shared {
    fn flush_loop(&self) {
        let wait_ms = match self.flush_disk_type {
            FlushDiskType::Sync => GROUP_COMMIT_WAIT_MS,
            FlushDiskType::Async => self.flush_interval_ms,
        };
        let mut last_queue_flush_ms = self.clock.now_ms();
        while !self.stopping.load(Ordering::SeqCst) {
            {
                let requested = lock(&self.flush_requested);
                let (mut requested, _) = self
                    .flush_wake
                    .wait_timeout_while(requested, Duration::from_millis(wait_ms), |requested| {
                        !*requested && !self.stopping.load(Ordering::SeqCst)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                *requested = false;
            }
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            self.flush_round();
            let now_ms = self.clock.now_ms();
            if now_ms.saturating_sub(last_queue_flush_ms) >= QUEUE_FLUSH_INTERVAL_MS {
                last_queue_flush_ms = now_ms;
                self.flush_queues();
            }
        }
    }

    /// Flushes the commit log with the `fsync` outside the store lock, dispatches (SYNC_FLUSH),
    /// tells the listener and answers the waiters.
    fn flush_round(&self) {
        let Ok(flush) = write_lock(&self.store).begin_flush() else {
            return;
        };
        let synced = flush.sync().is_ok();
        let now_ms = self.clock.now_ms();
        let (flushed, arrivals) = {
            let mut store = write_lock(&self.store);
            // A dispatch error flags the store not writeable; waiters still learn the flush.
            let flushed = store
                .finish_flush(flush, synced, now_ms)
                .unwrap_or_else(|_| store.flushed_offset());
            (flushed, store.take_arrivals())
        };
        self.notify_arrivals(arrivals);
        self.release_waiters(flushed, self.clock.now_ms());
    }

    /// Syncs the consume queues, the index and the checkpoint outside the store lock. An error
    /// is retried next interval; the commit log is what puts wait for.
    fn flush_queues(&self) {
        let Ok(flush) = write_lock(&self.store).begin_queue_flush() else {
            return;
        };
        let synced = flush.sync().is_ok();
        write_lock(&self.store).finish_queue_flush(synced);
    }

    /// Times out waiters past their deadline first (Java's watcher fires at the deadline,
    /// whatever the flush is doing), then releases those the flush covers.
    fn release_waiters(&self, flushed: CommitLogOffset, now_ms: i64) {
        let released = {
            let mut group = lock(&self.group);
            let mut released = group.expire(now_ms);
            released.extend(group.on_flushed(flushed, now_ms));
            released
        };
        for (waiter, outcome) in released {
            // The put may have been cancelled; nobody is left to tell.
            let _ = waiter.send(outcome);
        }
    }

    fn clean_loop(&self) {
        while self.sleep(CLEAN_INTERVAL_MS) {
            let now_ms = self.clock.now_ms();
            // A failed run is retried at the next interval.
            let _ = write_lock(&self.store).run_cleanup_once(now_ms);
        }
    }

    fn mark_loop(&self) {
        while self.sleep(WRITTEN_MARK_INTERVAL_MS) {
            // A failed mark leaves the older one, which still holds; the next tick retries.
            let _ = write_lock(&self.store).write_mark();
        }
    }

    /// Waits `interval_ms` or until shutdown; false when stopping.
    fn sleep(&self, interval_ms: u64) -> bool {
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        {
            let guard = lock(&self.clean_lock);
            let _ = self
                .clean_wake
                .wait_timeout_while(guard, Duration::from_millis(interval_ms), |()| {
                    !self.stopping.load(Ordering::SeqCst)
                });
        }
        !self.stopping.load(Ordering::SeqCst)
    }

    fn request_flush(&self) {
        *lock(&self.flush_requested) = true;
        self.flush_wake.notify_one();
    }

    fn notify_arrivals(&self, arrivals: Vec<Arrival>) {
        for arrival in &arrivals {
            (self.on_arrival)(arrival);
        }
    }
}

/// The one line that says what opening the store found, with the time it took.
fn log_recovery(report: &RecoveryReport, elapsed_ms: i64) {
    tracing::info!(
        abnormal_exit = report.abnormal_exit,
        from_checkpoint = report.from_checkpoint,
        from_written_mark = report.from_written_mark,
        recovery_start = report.recovery_start.0,
        log_end = report.log_end.0,
        records_scanned = report.records_scanned,
        records_redispatched = report.records_redispatched,
        bytes_truncated = report.bytes_truncated,
        commit_log_files_repaired = report.commit_log_files_repaired,
        queues_loaded = report.queues_loaded,
        queues_repaired = report.queues_repaired,
        queue_entries_dropped = report.queue_entries_dropped,
        queue_entries_rebuilt = report.queue_entries_rebuilt,
        index_files_repaired = report.index_files_repaired,
        elapsed_ms,
        "store recovered"
    );
}

/// A put that stored nothing.
fn failure(error: StoreError) -> PutOutcome {
    let status = match error {
        StoreError::MessageTooLarge { .. } | StoreError::Encode(_) | StoreError::InvalidTopic { .. } => {
            PutStatus::MessageIllegal
        }
        StoreError::NotWriteable { .. } | StoreError::DiskFull { .. } | StoreError::DiskUsageOverLimit { .. } => {
            PutStatus::ServiceNotAvailable
        }
        StoreError::OpenFilesExhausted { .. } => PutStatus::CreateMappedFileFailed,
        _ => PutStatus::UnknownError,
    };
    PutOutcome {
        status,
        result: None,
        error: Some(error),
    }
}

/// A poisoned lock means a panic elsewhere already reported the bug; the data stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
