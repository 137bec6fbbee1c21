//! Every consume queue of a store, keyed by topic and queue id, and the dispatch that fills them
//! from the commit log (store-and-ha.md §4.5 "build consume queue", §4.3 recovery).
//!
//! Invariant after [`ConsumeQueues::recover`]: no entry points at or past the commit log's end,
//! and every record from the newest queued record to the end of the log has been dispatched.
//!
//! An entry's tags code is the Java hash of its TAGS, except in [`SCHEDULE_TOPIC`], where it is
//! the message's delivery time (§2.3): a rebuilt queue then delivers on the original schedule.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;

use crate::commit_log::{CommitLog, ScannedRecord};
use crate::consume_queue::{ConsumeQueue, ConsumeQueueEntry, PutOutcome};
use crate::error::{StoreResult, io_error};

/// Java's `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`: delayed messages wait here, queue = level - 1.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Java's `messageDelayLevel` default, "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h",
/// in milliseconds; index = level - 1.
pub const DELAY_LEVELS_MS_DEFAULT: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
    600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];
/// Java's `computeDeliverTimestamp` fallback for a level its table lacks.
const UNKNOWN_LEVEL_DELAY_MS: i64 = 1_000;

pub struct ConsumeQueues {
    store_root: PathBuf,
    file_entries: u64,
    queues: BTreeMap<(String, i32), ConsumeQueue>,
    /// Delay of each level (index = level - 1), for schedule-topic tags codes.
    delay_levels_ms: Vec<i64>,
}

impl ConsumeQueues {
    /// Opens every `consumequeue/<topic>/<queueId>` directory under `store_root`.
    pub fn open(store_root: &Path, file_entries: u64) -> StoreResult<ConsumeQueues> {
        let mut queues = BTreeMap::new();
        let base = store_root.join("consumequeue");
        fs::create_dir_all(&base).map_err(io_error(&base))?;
        for topic_dir in fs::read_dir(&base).map_err(io_error(&base))? {
            let topic_dir = topic_dir.map_err(io_error(&base))?.path();
            let Some(topic) = topic_dir.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
                continue;
            };
            if !topic_dir.is_dir() {
                continue;
            }
            for queue_dir in fs::read_dir(&topic_dir).map_err(io_error(&topic_dir))? {
                let queue_dir = queue_dir.map_err(io_error(&topic_dir))?.path();
                let Some(queue_id) = queue_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse().ok())
                else {
                    continue;
                };
                let queue = ConsumeQueue::open(store_root, &topic, queue_id, file_entries)?;
                queues.insert((topic.clone(), queue_id), queue);
            }
        }
        Ok(ConsumeQueues {
            store_root: store_root.to_owned(),
            file_entries,
            queues,
            delay_levels_ms: DELAY_LEVELS_MS_DEFAULT.to_vec(),
        })
    }

    /// The delay levels (`messageDelayLevel`, index = level - 1) schedule-topic entries use;
    /// set before [`ConsumeQueues::recover`] so rebuilt entries get the same delivery times.
    pub fn with_delay_levels_ms(mut self, delay_levels_ms: Vec<i64>) -> ConsumeQueues {
        self.delay_levels_ms = delay_levels_ms;
        self
    }

    pub fn get(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.queues.get(&(topic.to_owned(), queue_id))
    }

    /// Every queue, in topic then queue-id order.
    pub fn iter(&self) -> impl Iterator<Item = (&(String, i32), &ConsumeQueue)> {
        self.queues.iter()
    }

    /// Adds the entry for one commit-log record to its queue, creating the queue on first use.
    /// Prepared and rolled-back transactional messages get no entry, nor does a topic that
    /// cannot name a directory (the broker never accepts one; see [`ConsumeQueue::dir`]).
    pub fn dispatch(&mut self, record: &ScannedRecord) -> StoreResult<Option<PutOutcome>> {
        let message = &record.message;
        if !message.transaction_type().takes_queue_offset()
            || ConsumeQueue::dir(&self.store_root, &message.topic, message.queue_id).is_err()
        {
            return Ok(None);
        }
        let key = (message.topic.clone(), message.queue_id);
        let queue = match self.queues.entry(key) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => entry.insert(ConsumeQueue::open(
                &self.store_root,
                &message.topic,
                message.queue_id,
                self.file_entries,
            )?),
        };
        let entry = ConsumeQueueEntry {
            physical_offset: i64::try_from(record.physical_offset).unwrap_or(i64::MAX),
            size: i32::try_from(record.size).unwrap_or(i32::MAX),
            tags_code: entry_tags_code(message, &self.delay_levels_ms),
        };
        let queue_offset = u64::try_from(message.queue_offset).unwrap_or(u64::MAX);
        queue.put(queue_offset, entry).map(Some)
    }

    /// Makes the queues agree with a recovered commit log: drops entries past its end, moves
    /// min offsets up to its min offset, then dispatches every record a queue may lack.
    ///
    /// Java's normal recovery re-dispatches only after the newest queued record, trusting every
    /// queue to be as far along; after a power loss one queue may lag another, or be missing. We
    /// re-dispatch the whole commit-log recovery window ([`CommitLog::recovery_start`]) as well,
    /// which is idempotent for complete queues; before it, queue data is taken as durable, as the
    /// log itself is.
    pub fn recover(&mut self, log: &CommitLog) -> StoreResult<()> {
        self.align_with(log)?;
        let newest = self
            .queues
            .values()
            .map(ConsumeQueue::max_physical_end)
            .max()
            .unwrap_or(0);
        let from = newest.min(log.recovery_start());
        self.redispatch(log, from)
    }

    /// [`ConsumeQueues::recover`] from a chosen commit-log offset (a record start), for callers
    /// that know an earlier safe point (a checkpoint after an abnormal exit).
    pub fn redispatch(&mut self, log: &CommitLog, from: u64) -> StoreResult<()> {
        self.align_with(log)?;
        log.scan(from, |record| self.dispatch(&record).map(|_| ()))?;
        Ok(())
    }

    /// Drops entries past the log's end and moves min offsets up to the log's min offset.
    fn align_with(&mut self, log: &CommitLog) -> StoreResult<()> {
        for queue in self.queues.values_mut() {
            queue.truncate_to_commit_log_end(log.max_offset())?;
            queue.correct_min_offset(log.min_offset())?;
        }
        Ok(())
    }

    /// Drops every queue of `topic` and deletes its `consumequeue/<topic>` directory
    /// (`DELETE_TOPIC_IN_BROKER`); returns the queue ids removed.
    pub fn remove_topic(&mut self, topic: &str) -> StoreResult<Vec<i32>> {
        let queue_ids: Vec<i32> = self
            .queues
            .keys()
            .filter(|(name, _)| name == topic)
            .map(|(_, queue_id)| *queue_id)
            .collect();
        for queue_id in &queue_ids {
            self.queues.remove(&(topic.to_owned(), *queue_id));
        }
        // Validated like a queue directory, so a crafted topic cannot name another path.
        let queue_dir = ConsumeQueue::dir(&self.store_root, topic, 0)?;
        if let Some(topic_dir) = queue_dir.parent()
            && topic_dir.exists()
        {
            fs::remove_dir_all(topic_dir).map_err(io_error(topic_dir))?;
        }
        Ok(queue_ids)
    }

    /// Deletes every queue's files that only point below `commit_log_min` and corrects min
    /// offsets (`CleanConsumeQueueService`); returns how many files were deleted.
    pub fn delete_files_below(&mut self, commit_log_min: u64) -> StoreResult<usize> {
        let mut deleted = 0;
        for queue in self.queues.values_mut() {
            deleted += queue.delete_files_below(commit_log_min)?;
        }
        Ok(deleted)
    }

    /// `fsync`s every queue.
    pub fn flush(&mut self) -> StoreResult<()> {
        self.queues.values_mut().try_for_each(ConsumeQueue::flush)
    }

    /// Handles of every queue file written since the last flush, marked clean, for an `fsync`
    /// outside the store's lock. On an error nothing is marked clean.
    pub(crate) fn take_dirty_files(&mut self) -> StoreResult<Vec<(PathBuf, fs::File)>> {
        let mut files = Vec::new();
        for queue in self.queues.values_mut() {
            match queue.take_dirty_files() {
                Ok(taken) => files.extend(taken),
                Err(error) => {
                    self.mark_all_dirty();
                    return Err(error);
                }
            }
        }
        Ok(files)
    }

    /// After a failed handed-out sync: every queue file is synced again at the next flush.
    pub(crate) fn mark_all_dirty(&mut self) {
        self.queues.values_mut().for_each(ConsumeQueue::mark_all_dirty);
    }
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
