//! Every consume queue of a store, keyed by topic and queue id, and the dispatch that fills them
//! from the commit log (store-and-ha.md §4.5 "build consume queue", §4.3 recovery).
//!
//! Invariant after [`ConsumeQueues::recover`]: no entry points at or past the commit log's end,
//! and every record from the newest queued record to the end of the log has been dispatched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;

use crate::commit_log::{CommitLog, ScannedRecord};
use crate::consume_queue::{ConsumeQueue, ConsumeQueueEntry, PutOutcome};
use crate::error::{StoreResult, io_error};

pub struct ConsumeQueues {
    store_root: PathBuf,
    file_entries: u64,
    queues: BTreeMap<(String, i32), ConsumeQueue>,
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
        })
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
            tags_code: message.properties.get(keys::TAGS).map_or(0, tags_code),
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
