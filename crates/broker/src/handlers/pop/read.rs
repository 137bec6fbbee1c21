//! One queue read of a pop (Java's `popMsgFromQueue`): claim the queue, find the group's pop
//! offset (initialising it as Java does), read, write the checkpoint record to the revive log,
//! move the offset past what was read, release the queue.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrocket_store::{
    CommitLogOffset, GetMessageStatus, GetMessages, GetMessagesResult, PutStatus, QueueId, QueueOffset,
};
use ferrocket_wire::body::{CK_TAG, JsonBody};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::pop_receipt::{PopReceipt, RETRY_PREFIX, RetryMark};
use tracing::warn;

use crate::error::BrokerResult;
use crate::handlers::pull::{TagFilter, record_matches};
use crate::handlers::send::socket_addr;
use crate::state::Broker;
use crate::state::pop::{
    CheckpointKey, Inflight, QueueKey, checkpoint_record, checkpoint_unique_key, revive_message, revive_topic,
};
use crate::state::sql_filter::Expression;

/// `ConsumeInitMode.MIN`: a group new to a queue starts at its first message.
pub const CONSUME_INIT_MODE_FIRST: i32 = 1;

/// Which messages a pop takes.
#[derive(Clone)]
pub struct PopFilter {
    pub tags: TagFilter,
    pub sql: Option<Arc<Expression>>,
}

/// One queue read's inputs.
pub struct QueueRead<'a> {
    pub group: &'a str,
    /// The topic the consumer asked for (retry-topic messages are handed out under it).
    pub origin_topic: &'a str,
    /// The topic read: `origin_topic` or its pop retry topic.
    pub topic: &'a str,
    pub queue_id: i32,
    pub max: usize,
    pub init_mode: i32,
    pub invisible_time_ms: i64,
    pub pop_time_ms: i64,
    pub revive_qid: i32,
    pub filter: &'a PopFilter,
    /// Orderly: no checkpoint; the queue is blocked until the pop is acked or over.
    pub order: bool,
    pub attempt_id: Option<&'a str>,
}

/// One queue read's outcome.
#[derive(Debug, Default)]
pub struct QueueReadOutcome {
    /// Messages left in the queue behind what was taken.
    pub rest: i64,
    /// The checkpoint's start offset and the taken messages' offsets, when any were taken.
    pub taken: Option<(i64, Vec<i64>)>,
    pub records: Vec<Bytes>,
    /// Orderly: each message's earlier pops (those above 0) and the least over the pop.
    pub order_counts: Option<(Vec<(i64, i32)>, i32)>,
}

/// Releases a claimed queue however the read ends.
struct Claim<'a> {
    b: &'a Broker,
    key: QueueKey,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.b.pop.lock().release(&self.key);
    }
}

/// Reads one queue for a pop.
pub async fn read_queue(b: &Broker, read: &QueueRead<'_>) -> BrokerResult<QueueReadOutcome> {
    let topic = read.topic;
    let mut outcome = QueueReadOutcome::default();
    if read.max == 0 || b.topics.lock().get(topic).is_none() {
        return Ok(outcome);
    }
    let key: QueueKey = (topic.to_owned(), read.group.to_owned(), read.queue_id);
    if !b.pop.lock().try_claim(&key) {
        // Another pop is reading this queue: Java counts its backlog and moves on.
        outcome.rest = backlog(b, read.group, topic, read.queue_id);
        return Ok(outcome);
    }
    let _claim = Claim { b, key: key.clone() };
    let now_ms = b.now_ms();
    let mut offset = pop_offset(b, read, now_ms);
    if read.order && b.pop.lock().order.is_blocked(&key, read.attempt_id, now_ms) {
        // Java adds no backlog for a blocked queue: it would wake pops that cannot take it.
        return Ok(outcome);
    }
    let mut result = get(b, read, offset)?;
    if matches!(
        result.status,
        GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetFoundNull
    ) {
        // The stored offset is out of the queue: Java commits where the store points and reads there.
        commit(b, read, result.next_begin_offset, now_ms);
        offset = result.next_begin_offset;
        result = get(b, read, offset)?;
    }
    outcome.rest = i64::try_from(result.max_offset.0.saturating_sub(result.next_begin_offset.0)).unwrap_or(i64::MAX);
    if result.records.is_empty() {
        if result.next_begin_offset > offset {
            // Only filtered-out messages: Java moves the offset past them.
            commit(b, read, result.next_begin_offset, now_ms);
        }
        return Ok(outcome);
    }
    let messages: Vec<StoredMessage> = result
        .records
        .iter()
        .filter_map(|record| StoredMessage::decode(record).ok().map(|(m, _)| m))
        .collect();
    let offsets: Vec<i64> = messages.iter().map(|m| m.queue_offset).collect();
    // The checkpoint starts where the read started (Java's `finalOffset`), not at the first
    // message taken, which a filter may have moved.
    let ck_start = offset.to_java_long();
    if read.order {
        let times = (read.pop_time_ms, read.invisible_time_ms);
        let attempt = read.attempt_id.map(str::to_owned);
        let Some(counts) = b.pop.lock().order.record_pop(key, attempt, times, &offsets) else {
            outcome.rest = outcome.rest.saturating_add(i64::try_from(offsets.len()).unwrap_or(0));
            return Ok(outcome);
        };
        // The group's offset stays at the first message until the acks move it.
        commit(b, read, offset, b.now_ms());
        outcome.order_counts = Some(counts);
    } else {
        if !write_checkpoint(b, read, ck_start, &offsets).await {
            outcome.rest = outcome.rest.saturating_add(i64::try_from(offsets.len()).unwrap_or(0));
            return Ok(outcome);
        }
        commit(b, read, result.next_begin_offset, b.now_ms());
    }
    outcome.records = if read.topic.starts_with(RETRY_PREFIX) {
        let broker_name = b.config().broker_name.clone();
        messages
            .iter()
            .filter_map(|m| recode_retry(m, read, ck_start, &broker_name))
            .collect()
    } else {
        result.records
    };
    outcome.taken = Some((ck_start, offsets));
    Ok(outcome)
}

/// Whether the group has messages to pop in `topic`/`queue_id`.
pub fn has_backlog(b: &Broker, group: &str, topic: &str, queue_id: i32) -> bool {
    backlog(b, group, topic, queue_id) > 0
}

fn backlog(b: &Broker, group: &str, topic: &str, queue_id: i32) -> i64 {
    let queue = QueueId(queue_id);
    let (min, max) = b
        .store
        .read(|s| (s.min_offset_in_queue(topic, queue), s.max_offset_in_queue(topic, queue)));
    let at = b
        .offsets
        .lock()
        .query(group, topic, queue_id)
        .and_then(QueueOffset::from_java_long)
        .unwrap_or(min);
    i64::try_from(max.0.saturating_sub(at.0.max(min.0))).unwrap_or(i64::MAX)
}

/// Java's `getPopOffset`/`getInitOffset`: the group's offset, or for a group new to the queue
/// its first message (MIN, retry topics, or a queue still starting at 0) or its last one (LAST),
/// committed at once.
fn pop_offset(b: &Broker, read: &QueueRead<'_>, now_ms: i64) -> QueueOffset {
    if let Some(offset) = b
        .offsets
        .lock()
        .query(read.group, read.topic, read.queue_id)
        .and_then(QueueOffset::from_java_long)
    {
        return offset;
    }
    let queue = QueueId(read.queue_id);
    let (min, max) = b.store.read(|s| {
        (
            s.min_offset_in_queue(read.topic, queue),
            s.max_offset_in_queue(read.topic, queue),
        )
    });
    // `initPopOffsetByCheckMsgInMem`: a queue that still starts at 0 is read from 0.
    let offset = if read.init_mode == CONSUME_INIT_MODE_FIRST || read.topic.starts_with(RETRY_PREFIX) || min.0 == 0 {
        min
    } else {
        QueueOffset(max.0.saturating_sub(1))
    };
    commit(b, read, offset, now_ms);
    offset
}

fn commit(b: &Broker, read: &QueueRead<'_>, offset: QueueOffset, now_ms: i64) {
    b.offsets
        .lock()
        .commit(read.group, read.topic, read.queue_id, offset.to_java_long(), now_ms);
}

fn get(b: &Broker, read: &QueueRead<'_>, offset: QueueOffset) -> BrokerResult<GetMessagesResult> {
    let tags = &read.filter.tags;
    let matches = |tags_code: i64| tags.matches(tags_code);
    let sql = read.filter.sql.as_deref();
    let sql_matches = |record: &[u8]| sql.is_none_or(|sql| record_matches(record, sql));
    let result = b.store.read(|store| {
        store.get_messages(&GetMessages {
            topic: read.topic,
            queue_id: QueueId(read.queue_id),
            offset,
            max_count: u32::try_from(read.max).unwrap_or(u32::MAX),
            filter: if tags.all { None } else { Some(&matches) },
            record_filter: if sql.is_some() { Some(&sql_matches) } else { None },
        })
    })?;
    Ok(result)
}

/// Adds the checkpoint to the table and writes its record; false (and nothing kept) when the
/// table is full or the write failed, in which case the pop takes nothing from this queue.
async fn write_checkpoint(b: &Broker, read: &QueueRead<'_>, start_offset: i64, offsets: &[i64]) -> bool {
    let key = CheckpointKey {
        group: read.group.to_owned(),
        topic: read.topic.to_owned(),
        queue_id: read.queue_id,
        start_offset,
        pop_time_ms: read.pop_time_ms,
    };
    let inflight = Inflight {
        invisible_time_ms: read.invisible_time_ms,
        revive_qid: read.revive_qid,
        record_offset: None,
        offsets: offsets.iter().map(|o| (*o, false)).collect(),
    };
    if !b.pop.lock().checkpoints.insert(key.clone(), inflight) {
        crate::state::pop::CHECKPOINTS_FULL.hit(b.now_ms(), read.topic, "pop took nothing");
        return false;
    }
    let broker_name = b.config().broker_name.clone();
    let record = checkpoint_record(&key, read.invisible_time_ms, offsets, &broker_name);
    let unique_key = checkpoint_unique_key(&key, &broker_name);
    match append_revive_record(b, read.revive_qid, (CK_TAG, unique_key), record.encode()).await {
        Some(record_offset) => {
            b.pop.lock().checkpoints.set_record_offset(&key, record_offset);
            true
        }
        None => {
            b.pop.lock().checkpoints.remove(&key);
            false
        }
    }
}

/// Appends a record to revive queue `revive_qid`; its queue offset, or `None` when the store
/// refused it.
pub async fn append_revive_record(b: &Broker, revive_qid: i32, tagged: (&str, String), body: Vec<u8>) -> Option<u64> {
    let config = b.config();
    let message = revive_message(
        &revive_topic(&config.broker_cluster_name),
        revive_qid,
        tagged,
        body,
        socket_addr(b.address()),
        b.now_ms(),
    );
    let outcome = b.store.put(message).await;
    match outcome.result {
        Some(result) if matches!(outcome.status, PutStatus::PutOk | PutStatus::FlushDiskTimeout) => {
            Some(result.queue_offset.0)
        }
        _ => {
            warn!(status = ?outcome.status, "writing a revive-log record failed");
            None
        }
    }
}

/// A retry-topic message as Java hands it out (`popResponseReturnActualRetryTopic` = false):
/// under the topic the consumer asked for, with its receipt in `POP_CK`.
fn recode_retry(message: &StoredMessage, read: &QueueRead<'_>, ck_start: i64, broker_name: &str) -> Option<Bytes> {
    let receipt = PopReceipt {
        ck_queue_offset: ck_start,
        pop_time_ms: read.pop_time_ms,
        invisible_time_ms: read.invisible_time_ms,
        revive_qid: read.revive_qid,
        retry: RetryMark::of_topic(&message.topic),
        broker_name: broker_name.to_owned(),
        queue_id: message.queue_id,
        msg_queue_offset: Some(message.queue_offset),
    };
    let mut recoded = message.clone();
    if recoded.properties.get(keys::POP_CK).is_none() {
        recoded.properties.insert(keys::POP_CK, receipt.to_string());
    }
    recoded.topic = read.origin_topic.to_owned();
    recoded.version = ferrocket_wire::message::MessageVersion::for_topic_bytes(recoded.topic.len());
    let mut buffer = BytesMut::new();
    recoded.encode(&mut buffer).ok()?;
    Some(buffer.freeze())
}

/// The stored message at `topic`/`queue_id`/`offset`, if it is still there.
pub fn message_at(b: &Broker, topic: &str, queue_id: i32, offset: i64) -> Option<StoredMessage> {
    let offset = QueueOffset::from_java_long(offset)?;
    b.store.read(|s| {
        let entry = s.queue_entry_at(topic, QueueId(queue_id), offset)?;
        let physical = u64::try_from(entry.physical_offset).ok()?;
        s.message_at(CommitLogOffset(physical)).ok().map(|r| r.message)
    })
}
