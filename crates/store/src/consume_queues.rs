//! Every consume queue of a store, keyed by topic and queue id, and the dispatch that fills them
//! from the commit log (store-and-ha.md §4.5 "build consume queue", §4.3 recovery).
//!
//! Queues load lazily: opening lists the queue directories and nothing more, and a queue's files
//! are read the first time it is written, read or cleaned. Loading checks the queue against the
//! commit log and repairs it (see `consume_queue/repair.rs`), so a queue a crash left wrong is
//! fixed whenever it is first touched, and restart time does not grow with the number of queues.
//! A load can happen under `&self` (a pull of a cold queue); one mutex serialises loads, and a
//! loaded queue never unloads.
//!
//! Invariant after [`ConsumeQueues::recover`] or [`ConsumeQueues::redispatch`]: every queue that
//! is loaded has no entry pointing at or past the commit log's end, and every record from the
//! recovery start to the end of the log has been dispatched.
//!
//! An entry's tags code is the Java hash of its TAGS, except in [`SCHEDULE_TOPIC`], where it is
//! the message's delivery time (§2.3): a rebuilt queue then delivers on the original schedule.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;
use ferrocket_wire::system_topics::SCHEDULE_TOPIC;

use crate::commit_log::{CommitLog, ScannedRecord};
use crate::consume_queue::{ConsumeQueue, ConsumeQueueEntry, QueuePutOutcome, TailCheck};
use crate::error::{StoreError, StoreResult, io_error};
use crate::offsets::{CommitLogOffset, QueueId, QueueOffset};
use crate::open_files::{CachedPath, OpenFiles, QUEUE_FILES_OPEN_MAX};
use crate::segments::sync_path;

/// Java's `messageDelayLevel` default, "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h",
/// in milliseconds; index = level - 1.
pub const DELAY_LEVELS_MS_DEFAULT: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
    600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];
/// Java's `computeDeliverTimestamp` fallback for a level its table lacks.
const UNKNOWN_LEVEL_DELAY_MS: i64 = 1_000;

type QueueKey = (String, QueueId);

/// What loading and re-dispatching repaired, for the store's recovery report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueRepairs {
    /// Queues read from disk so far.
    pub queues_loaded: u64,
    /// Queues loading had to change (stale entries dropped, files dropped or regrown, entries
    /// rebuilt from the log).
    pub queues_repaired: u64,
    /// Entries dropped because their record was lost or is not theirs.
    pub entries_dropped: u64,
    /// Entries rewritten or rebuilt from the commit log.
    pub entries_rebuilt: u64,
}

#[derive(Default)]
struct RepairCounters {
    queues_loaded: AtomicU64,
    queues_repaired: AtomicU64,
    entries_dropped: AtomicU64,
    entries_rebuilt: AtomicU64,
}

pub struct ConsumeQueues {
    store_root: PathBuf,
    file_entries: u64,
    /// The one cache of open queue files.
    files: Arc<OpenFiles>,
    /// Every known queue; loaded on first use.
    queues: BTreeMap<QueueKey, OnceLock<ConsumeQueue>>,
    /// Serialises loads under `&self`.
    load_lock: Mutex<()>,
    /// Delay of each level (index = level - 1), for schedule-topic tags codes.
    delay_levels_ms: Vec<i64>,
    /// Below this commit-log offset every entry was synced (the checkpoint recovery started
    /// from): loading scans only entries at or past it. `None`: Java's three-file scan.
    synced_end: Option<CommitLogOffset>,
    repairs: RepairCounters,
}

impl ConsumeQueues {
    /// Lists every `consumequeue/<topic>/<queueId>` directory under `store_root`; opens no file.
    pub fn open(store_root: &Path, file_entries: u64) -> StoreResult<ConsumeQueues> {
        let mut queues = BTreeMap::new();
        let base = store_root.join("consumequeue");
        crate::durable_dir::create_dir_all_durably(&base).map_err(io_error(&base))?;
        for topic_dir in fs::read_dir(&base).map_err(io_error(&base))? {
            let topic_dir = topic_dir.map_err(io_error(&base))?;
            if !topic_dir.file_type().map_err(io_error(&base))?.is_dir() {
                continue;
            }
            let topic_dir = topic_dir.path();
            let Some(topic) = topic_dir.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
                continue;
            };
            for queue_dir in fs::read_dir(&topic_dir).map_err(io_error(&topic_dir))? {
                let queue_dir = queue_dir.map_err(io_error(&topic_dir))?.path();
                let Some(queue_id) = queue_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse().ok())
                    .map(QueueId)
                else {
                    continue;
                };
                queues.insert((topic.clone(), queue_id), OnceLock::new());
            }
        }
        Ok(ConsumeQueues {
            store_root: store_root.to_owned(),
            file_entries,
            files: OpenFiles::new(QUEUE_FILES_OPEN_MAX),
            queues,
            load_lock: Mutex::new(()),
            delay_levels_ms: DELAY_LEVELS_MS_DEFAULT.to_vec(),
            synced_end: None,
            repairs: RepairCounters::default(),
        })
    }

    /// The delay levels (`messageDelayLevel`, index = level - 1) schedule-topic entries use;
    /// set before [`ConsumeQueues::recover`] so rebuilt entries get the same delivery times.
    pub fn with_delay_levels_ms(mut self, delay_levels_ms: Vec<i64>) -> ConsumeQueues {
        self.delay_levels_ms = delay_levels_ms;
        self
    }

    /// The queue, loading (and repairing) it against `log` on first use; `None` for a queue
    /// that never received a message.
    pub fn get(&self, topic: &str, queue_id: QueueId, log: &CommitLog) -> StoreResult<Option<&ConsumeQueue>> {
        let Some(slot) = self.queues.get(&(topic.to_owned(), queue_id)) else {
            return Ok(None);
        };
        if let Some(queue) = slot.get() {
            return Ok(Some(queue));
        }
        let _loading = self.load_lock.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.get().is_none() {
            let queue = self.load(topic, queue_id, log)?;
            // Under the load lock nobody else can have set it.
            let _ = slot.set(queue);
        }
        Ok(slot.get())
    }

    /// Every known queue, loaded or not, in topic then queue-id order.
    pub fn keys(&self) -> impl Iterator<Item = &QueueKey> {
        self.queues.keys()
    }

    /// How many queues the store has.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Loads every queue (the recovery without a checkpoint, and tests that inspect them all).
    pub fn load_all(&mut self, log: &CommitLog) -> StoreResult<()> {
        let keys: Vec<QueueKey> = self.queues.keys().cloned().collect();
        keys.iter()
            .try_for_each(|(topic, queue_id)| self.loaded_mut(topic, *queue_id, log).map(|_| ()))
    }

    /// What loads and re-dispatches repaired so far.
    pub fn repairs(&self) -> QueueRepairs {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        QueueRepairs {
            queues_loaded: read(&self.repairs.queues_loaded),
            queues_repaired: read(&self.repairs.queues_repaired),
            entries_dropped: read(&self.repairs.entries_dropped),
            entries_rebuilt: read(&self.repairs.entries_rebuilt),
        }
    }

    /// Queue files open now.
    pub fn open_files(&self) -> usize {
        self.files.open_count()
    }

    /// The most queue files kept open (see `open_files.rs`).
    pub fn open_files_max(&self) -> usize {
        self.files.limit()
    }

    /// Adds the entry for one commit-log record to its queue, creating the queue on first use.
    /// Prepared and rolled-back transactional messages get no entry, nor does a topic that
    /// cannot name a directory (the broker never accepts one; see [`ConsumeQueue::dir`]).
    /// The delay levels that give a [`SCHEDULE_TOPIC`] entry its tags code.
    pub fn delay_levels_ms(&self) -> &[i64] {
        &self.delay_levels_ms
    }

    pub fn dispatch(&mut self, record: &ScannedRecord, log: &CommitLog) -> StoreResult<Option<QueuePutOutcome>> {
        self.dispatch_with(record, log, false)
    }

    /// The next offset of (topic, queue id) by its queue: loads it, creating its directory if it
    /// is new, so whatever a put needs from the file system before its record is appended (a
    /// descriptor to list the directory, say) fails before the append, not after. A topic that
    /// cannot name a directory gets no queue (see [`ConsumeQueues::dispatch`]): 0.
    pub(crate) fn prepare(&mut self, topic: &str, queue_id: QueueId, log: &CommitLog) -> StoreResult<QueueOffset> {
        if ConsumeQueue::dir(&self.store_root, topic, queue_id).is_err() {
            return Ok(QueueOffset(0));
        }
        Ok(self.loaded_mut(topic, queue_id, log)?.max_offset())
    }

    /// Makes the queues agree with a recovered commit log when nothing says how far they got:
    /// loads every queue (each checked against the log), then dispatches every record a queue
    /// may lack, from the newest queued record or the log's recovery start, whichever is first.
    ///
    /// Java's normal recovery re-dispatches only after the newest queued record, trusting every
    /// queue to be as far along; after a power loss one queue may lag another, or be missing. We
    /// re-dispatch the whole commit-log recovery window ([`CommitLog::recovery_start`]) as well,
    /// which is idempotent for complete queues; before it, queue data is taken as durable, as the
    /// log itself is.
    /// Returns how many records were re-dispatched.
    pub fn recover(&mut self, log: &CommitLog) -> StoreResult<u64> {
        self.load_all(log)?;
        let newest = self
            .queues
            .values()
            .filter_map(OnceLock::get)
            .map(ConsumeQueue::max_physical_end)
            .max()
            .unwrap_or_default();
        self.redispatch(log, newest.min(log.recovery_start()))
    }

    /// Re-dispatches every record from `from` (a record start) to the end of the log, rewriting
    /// entries that differ: the recovery after a checkpoint said everything before `from` is on
    /// disk. Only the queues those records name are loaded. Returns how many records it read.
    pub fn redispatch(&mut self, log: &CommitLog, from: CommitLogOffset) -> StoreResult<u64> {
        self.synced_end = Some(from);
        let mut records = 0;
        log.scan(from, |record| {
            records += 1;
            self.dispatch_with(&record, log, true).map(|_| ())
        })?;
        Ok(records)
    }

    /// Drops every queue of `topic` and deletes its `consumequeue/<topic>` directory
    /// (`DELETE_TOPIC_IN_BROKER`); returns the queue ids removed.
    pub fn remove_topic(&mut self, topic: &str) -> StoreResult<Vec<QueueId>> {
        let queue_ids: Vec<QueueId> = self
            .queues
            .keys()
            .filter(|(name, _)| name == topic)
            .map(|(_, queue_id)| *queue_id)
            .collect();
        for queue_id in &queue_ids {
            self.queues.remove(&(topic.to_owned(), *queue_id));
        }
        // Validated like a queue directory, so a crafted topic cannot name another path.
        let queue_dir = ConsumeQueue::dir(&self.store_root, topic, QueueId(0))?;
        if let Some(topic_dir) = queue_dir.parent()
            && topic_dir.exists()
        {
            self.files.forget_under(topic_dir);
            fs::remove_dir_all(topic_dir).map_err(io_error(topic_dir))?;
        }
        Ok(queue_ids)
    }

    /// Deletes every queue's files that only point below the log's min offset and corrects min
    /// offsets (`CleanConsumeQueueService`); returns how many files were deleted. Queues not
    /// loaded yet are loaded (loading corrects their min offset too).
    pub fn delete_files_below(&mut self, log: &CommitLog) -> StoreResult<usize> {
        let commit_log_min = log.min_offset();
        let keys: Vec<QueueKey> = self.queues.keys().cloned().collect();
        let mut deleted = 0;
        for (topic, queue_id) in &keys {
            deleted += self
                .loaded_mut(topic, *queue_id, log)?
                .delete_files_below(commit_log_min)?;
        }
        Ok(deleted)
    }

    /// `fsync`s every loaded queue (the others were not written).
    pub fn flush(&mut self) -> StoreResult<()> {
        self.queues
            .values_mut()
            .filter_map(OnceLock::get_mut)
            .try_for_each(ConsumeQueue::flush)
    }

    /// The queue files written since the last flush, marked clean, and the cache to sync them
    /// through outside the store's lock. On an error nothing is marked clean.
    pub(crate) fn take_dirty_files(&mut self) -> StoreResult<(Arc<OpenFiles>, Vec<CachedPath>)> {
        let mut paths = Vec::new();
        for queue in self.queues.values_mut().filter_map(OnceLock::get_mut) {
            match queue.take_dirty_files() {
                Ok(taken) => paths.extend(taken),
                Err(error) => {
                    self.mark_all_dirty();
                    return Err(error);
                }
            }
        }
        Ok((Arc::clone(&self.files), paths))
    }

    /// Writes every loaded queue's write-behind tail (not synced): afterwards every entry
    /// dispatched so far is in the files' page cache.
    pub(crate) fn write_pending_tails(&mut self) -> StoreResult<()> {
        self.queues
            .values_mut()
            .filter_map(OnceLock::get_mut)
            .try_for_each(ConsumeQueue::write_pending_tail)
    }

    /// After a failed handed-out sync: every queue file is synced again at the next flush.
    pub(crate) fn mark_all_dirty(&mut self) {
        self.queues
            .values_mut()
            .filter_map(OnceLock::get_mut)
            .for_each(ConsumeQueue::mark_all_dirty);
    }

    /// The entry of `record` in its queue; `repair` rewrites a different entry already there.
    fn dispatch_with(
        &mut self,
        record: &ScannedRecord,
        log: &CommitLog,
        repair: bool,
    ) -> StoreResult<Option<QueuePutOutcome>> {
        let message = &record.message;
        let queue_id = QueueId(message.queue_id);
        if !message.transaction_type().takes_queue_offset() || !ConsumeQueue::names_a_dir(&message.topic) {
            return Ok(None);
        }
        let entry = entry_of(record, &self.delay_levels_ms);
        let queue_offset = QueueOffset(u64::try_from(message.queue_offset).unwrap_or(u64::MAX));
        let queue = self.loaded_mut(&message.topic, queue_id, log)?;
        if !repair {
            return queue.put(queue_offset, entry).map(Some);
        }
        let outcome = queue.put_repairing(queue_offset, entry)?;
        if outcome == QueuePutOutcome::Repaired {
            self.repairs.entries_rebuilt.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Some(outcome))
    }

    /// The queue, loaded, creating it (and its slot) if it is new.
    fn loaded_mut(&mut self, topic: &str, queue_id: QueueId, log: &CommitLog) -> StoreResult<&mut ConsumeQueue> {
        let key = (topic.to_owned(), queue_id);
        if self.queues.get(&key).is_none_or(|slot| slot.get().is_none()) {
            let queue = self.load(topic, queue_id, log)?;
            self.queues.insert(key.clone(), OnceLock::from(queue));
        }
        self.queues
            .get_mut(&key)
            .and_then(OnceLock::get_mut)
            .ok_or_else(|| StoreError::Corrupt {
                file: self.store_root.join("consumequeue").join(topic),
                offset: 0,
                reason: "queue vanished while loading".to_owned(),
            })
    }

    /// Reads one queue from disk and makes it agree with `log`: min offset corrected, stale or
    /// foreign entries dropped from the end, and a damaged queue rebuilt from the log.
    fn load(&self, topic: &str, queue_id: QueueId, log: &CommitLog) -> StoreResult<ConsumeQueue> {
        let mut queue = ConsumeQueue::open_in(
            &self.store_root,
            topic,
            queue_id,
            self.file_entries,
            Arc::clone(&self.files),
            self.synced_end,
        )?;
        queue.correct_min_offset(log.min_offset())?;
        let check = queue.drop_unmatched_tail(log.min_offset(), log.max_offset(), |queue_offset, entry| {
            entry_matches(log, topic, queue_id, queue_offset, entry)
        })?;
        let mut repaired = queue.repaired_files() > 0;
        let rebuild_from = match check {
            TailCheck::Untrustworthy => {
                queue.reset()?;
                Some(log.min_offset())
            }
            TailCheck::Kept { dropped } => {
                self.repairs.entries_dropped.fetch_add(dropped, Ordering::Relaxed);
                // A file deleted, regrown or dropped may have held entries the checkpoint
                // vouched for: whatever the log holds after the queue's end is put back.
                let rebuild = repaired || queue.is_damaged();
                repaired |= dropped > 0;
                rebuild.then(|| queue.max_physical_end().max(log.min_offset()))
            }
        };
        if let Some(from) = rebuild_from {
            let rebuilt = self.rebuild(&mut queue, log, from)?;
            tracing::warn!(
                topic,
                queue_id = queue_id.0,
                files_repaired = queue.repaired_files(),
                entries_rebuilt = rebuilt,
                "consume queue files a crash or the disk left wrong; entries rebuilt from the commit log"
            );
            self.repairs.entries_rebuilt.fetch_add(rebuilt, Ordering::Relaxed);
            repaired = true;
        }
        self.repairs.queues_loaded.fetch_add(1, Ordering::Relaxed);
        if repaired {
            self.repairs.queues_repaired.fetch_add(1, Ordering::Relaxed);
        }
        Ok(queue)
    }

    /// Puts every record of the queue's (topic, queue id) from `from` on; returns how many
    /// entries that wrote.
    fn rebuild(&self, queue: &mut ConsumeQueue, log: &CommitLog, from: CommitLogOffset) -> StoreResult<u64> {
        let (topic, queue_id) = (queue.topic().to_owned(), queue.queue_id());
        let mut written = 0;
        log.scan(from, |record| {
            let message = &record.message;
            if message.topic != topic
                || QueueId(message.queue_id) != queue_id
                || !message.transaction_type().takes_queue_offset()
            {
                return Ok(());
            }
            let queue_offset = QueueOffset(u64::try_from(message.queue_offset).unwrap_or(u64::MAX));
            if queue.put_repairing(queue_offset, entry_of(&record, &self.delay_levels_ms))?
                != QueuePutOutcome::AlreadyPresent
            {
                written += 1;
            }
            Ok(())
        })?;
        Ok(written)
    }
}

/// The entry a record gets in its queue.
fn entry_of(record: &ScannedRecord, delay_levels_ms: &[i64]) -> ConsumeQueueEntry {
    ConsumeQueueEntry {
        physical_offset: record.physical_offset.to_java_long(),
        size: i32::try_from(record.size).unwrap_or(i32::MAX),
        tags_code: entry_tags_code(&record.message, delay_levels_ms),
    }
}

/// Whether the record `entry` points at is the message at `queue_offset` of (topic, queue id).
fn entry_matches(
    log: &CommitLog,
    topic: &str,
    queue_id: QueueId,
    queue_offset: QueueOffset,
    entry: &ConsumeQueueEntry,
) -> bool {
    let Some(offset) = CommitLogOffset::from_java_long(entry.physical_offset) else {
        return false;
    };
    log.read(offset).is_ok_and(|record| {
        let message = &record.message;
        i64::from(record.size) == i64::from(entry.size)
            && message.topic == topic
            && message.queue_id == queue_id.0
            && message.queue_offset == queue_offset.to_java_long()
    })
}

/// Syncs `paths` through `files`, for a flush outside the store's lock.
pub(crate) fn sync_queue_files(files: &OpenFiles, paths: &[CachedPath]) -> StoreResult<()> {
    paths.iter().try_for_each(|path| sync_path(files, path))
}

/// The tags code of a record's entry (`CommitLog.checkMessageAndReturnSize`): for a delayed
/// message in [`SCHEDULE_TOPIC`] its delivery time, otherwise the hash of its TAGS.
pub fn entry_tags_code(message: &StoredMessage, delay_levels_ms: &[i64]) -> i64 {
    let tags = message.properties.get(keys::TAGS).map_or(0, tags_code);
    if message.topic != SCHEDULE_TOPIC {
        return tags;
    }
    // Java fails the whole record on an unparsable level; the broker never writes one.
    match message
        .properties
        .get(keys::DELAY)
        .and_then(|level| level.parse::<i32>().ok())
    {
        Some(level) => deliver_at_ms(delay_levels_ms, level, message.store_timestamp_ms).unwrap_or(tags),
        None => tags,
    }
}

/// Java's delivery time of a message stored at `store_timestamp_ms` with delay `level`: the
/// level is capped at the highest one; `None` for a level that is not positive after the cap.
pub fn deliver_at_ms(delay_levels_ms: &[i64], level: i32, store_timestamp_ms: i64) -> Option<i64> {
    let highest = i32::try_from(delay_levels_ms.len()).unwrap_or(i32::MAX);
    let level = level.min(highest);
    if level <= 0 {
        return None;
    }
    let delay_ms = usize::try_from(level - 1)
        .ok()
        .and_then(|index| delay_levels_ms.get(index))
        .copied()
        .unwrap_or(UNKNOWN_LEVEL_DELAY_MS);
    Some(store_timestamp_ms.saturating_add(delay_ms))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrocket_wire::message::{MessageProperties, MessageVersion};

    use super::*;

    fn message(topic: &str, properties: &[(&str, &str)]) -> StoredMessage {
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp_ms: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp_ms: 1_700_000_000_000,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            topic: topic.into(),
            properties: properties.iter().copied().collect::<MessageProperties>(),
        }
    }

    #[test]
    fn schedule_entries_carry_the_delivery_time_and_others_the_tags_hash() {
        let levels = DELAY_LEVELS_MS_DEFAULT;
        let tagged = [("TAGS", "TagA"), ("DELAY", "3")];
        assert_eq!(
            entry_tags_code(&message(SCHEDULE_TOPIC, &tagged), &levels),
            1_700_000_010_000
        );
        // Above the highest level counts as the highest (2 h).
        let far = [("DELAY", "99")];
        assert_eq!(
            entry_tags_code(&message(SCHEDULE_TOPIC, &far), &levels),
            1_700_007_200_000
        );
        let hash = tags_code("TagA");
        assert_ne!(hash, 0);
        assert_eq!(entry_tags_code(&message("TopicTest", &tagged), &levels), hash);
        for level in ["0", "-1", "x"] {
            let odd = [("TAGS", "TagA"), ("DELAY", level)];
            assert_eq!(entry_tags_code(&message(SCHEDULE_TOPIC, &odd), &levels), hash);
        }
        assert_eq!(entry_tags_code(&message(SCHEDULE_TOPIC, &[]), &levels), 0);
    }

    #[test]
    fn delivery_times_follow_the_configured_levels() {
        assert_eq!(deliver_at_ms(&[1_000, 2_000], 2, 10), Some(2_010));
        assert_eq!(deliver_at_ms(&[1_000, 2_000], 5, 10), Some(2_010));
        assert_eq!(deliver_at_ms(&[], 1, 10), None);
        assert_eq!(deliver_at_ms(&[1_000], 0, 10), None);
        assert_eq!(deliver_at_ms(&[i64::MAX], 1, 10), Some(i64::MAX));
    }
}
