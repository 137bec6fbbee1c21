//! POP checkpoints in flight: which popped messages are still invisible, which were
//! acknowledged, and when the rest are due to reappear (Java's `PopCheckPoint` bookkeeping in
//! `PopReviveService`, kept here as one table instead of re-read from the revive log).
//!
//! The revive topic is the durable record, as in Java: every checkpoint and every ack is a
//! message there (`ck`, `ack`, `bAck`), written before the consumer hears of it; this table is
//! rebuilt from those records at start-up ([`PopCheckpoints::replay`]). Invariants:
//! * a checkpoint leaves the table when all its messages are acknowledged or when it is taken
//!   as due ([`PopCheckpoints::take_due`]); the shell then writes the unacknowledged messages to
//!   the retry topic and a `bAck` settling them, so a replay does not revive them twice;
//! * the revive offset of a revive queue (the group `CID_RMQ_SYS_REVIVE_GROUP`'s offset there)
//!   never passes the record of a checkpoint still in the table ([`PopCheckpoints::revive_floor`]);
//!   a checkpoint whose record is still being written holds its queue's floor where it is;
//! * at most [`POP_CHECKPOINTS_MAX`] checkpoints are held; a pop past it takes nothing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;

use crate::limit_warnings::{LimitWarning, limit_warning};
use bytes::Bytes;
use ferrocket_wire::body::{AckMsg, BatchAckMsg, PopCheckPoint};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag;
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage};

/// Checkpoints in flight at most: each pop of up to 32 messages adds one, and the table is
/// keyed by what consumers send. Java's counterpart is `popInflightMessageThreshold` (10 000
/// messages per queue) plus the revive log on disk.
pub const POP_CHECKPOINTS_MAX: usize = 100_000;
pub static CHECKPOINTS_FULL: LimitWarning = limit_warning!(POP_CHECKPOINTS_MAX);

/// `PopAckConstants.REVIVE_GROUP`: whose offsets in the revive topic say how far it is settled.
pub const REVIVE_GROUP: &str = "CID_RMQ_SYS_REVIVE_GROUP";

/// One checkpoint's identity: what an ack names (`startOffset`, `popTime` from the receipt).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckpointKey {
    pub group: String,
    /// The real topic read: the topic or its pop retry topic.
    pub topic: String,
    pub queue_id: i32,
    pub start_offset: i64,
    pub pop_time_ms: i64,
}

/// A checkpoint in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflight {
    pub invisible_time_ms: i64,
    pub revive_qid: i32,
    /// The checkpoint record's offset in its revive queue; `None` while it is being written.
    pub record_offset: Option<u64>,
    /// The popped messages' queue offsets, and whether each is acknowledged.
    pub offsets: Vec<(i64, bool)>,
}

impl Inflight {
    pub fn revive_time_ms(&self, key: &CheckpointKey) -> i64 {
        key.pop_time_ms.saturating_add(self.invisible_time_ms)
    }

    /// The offsets not yet acknowledged.
    pub fn unacked(&self) -> Vec<i64> {
        self.offsets
            .iter()
            .filter(|(_, acked)| !acked)
            .map(|(offset, _)| *offset)
            .collect()
    }
}

/// What an ack found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The message was in flight and is now acknowledged.
    Acked,
    /// Already acknowledged, revived, or never popped under that checkpoint: nothing changes
    /// (Java accepts such acks too).
    Unknown,
}

/// The checkpoints in flight, by key and by revive time.
#[derive(Debug, Default)]
pub struct PopCheckpoints {
    live: HashMap<CheckpointKey, Inflight>,
    by_revive_time: BTreeSet<(i64, CheckpointKey)>,
}

impl PopCheckpoints {
    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.live.len() >= POP_CHECKPOINTS_MAX
    }

    /// Messages popped and not yet acknowledged, per (group, topic read): Java's
    /// `PopInflightMessageCounter`, which `rocketmq_consumer_inflight_messages` reads.
    pub fn unacked_counts(&self) -> HashMap<(String, String), i64> {
        let mut counts: HashMap<(String, String), i64> = HashMap::new();
        for (key, inflight) in &self.live {
            let unacked = inflight.offsets.iter().filter(|(_, acked)| !acked).count();
            if unacked > 0 {
                *counts.entry((key.group.clone(), key.topic.clone())).or_default() +=
                    i64::try_from(unacked).unwrap_or(i64::MAX);
            }
        }
        counts
    }

    /// Adds a checkpoint; false when the table is full or the key is already in flight (two
    /// pops of one queue in the same millisecond cannot start at the same offset).
    pub fn insert(&mut self, key: CheckpointKey, inflight: Inflight) -> bool {
        if self.is_full() || self.live.contains_key(&key) || inflight.offsets.is_empty() {
            return false;
        }
        self.by_revive_time.insert((inflight.revive_time_ms(&key), key.clone()));
        self.live.insert(key, inflight);
        true
    }

    /// The checkpoint's record is written at `record_offset` of its revive queue.
    pub fn set_record_offset(&mut self, key: &CheckpointKey, record_offset: u64) {
        if let Some(inflight) = self.live.get_mut(key) {
            inflight.record_offset = Some(record_offset);
        }
    }

    /// Forgets a checkpoint whose record could not be written.
    pub fn remove(&mut self, key: &CheckpointKey) -> Option<Inflight> {
        let inflight = self.live.remove(key)?;
        self.by_revive_time.remove(&(inflight.revive_time_ms(key), key.clone()));
        Some(inflight)
    }

    /// Acknowledges the message at `offset` of a checkpoint; the checkpoint leaves once all its
    /// messages are acknowledged.
    pub fn ack(&mut self, key: &CheckpointKey, offset: i64) -> AckOutcome {
        let Some(inflight) = self.live.get_mut(key) else {
            return AckOutcome::Unknown;
        };
        let Some(entry) = inflight.offsets.iter_mut().find(|(o, acked)| *o == offset && !acked) else {
            return AckOutcome::Unknown;
        };
        entry.1 = true;
        if inflight.offsets.iter().all(|(_, acked)| *acked) {
            self.remove(key);
        }
        AckOutcome::Acked
    }

    /// Whether the message at `offset` of a checkpoint is in flight and not acknowledged.
    pub fn is_unacked(&self, key: &CheckpointKey, offset: i64) -> bool {
        self.live
            .get(key)
            .is_some_and(|inflight| inflight.offsets.iter().any(|(o, acked)| *o == offset && !acked))
    }

    /// Takes up to `max` checkpoints whose revive time is at or before `now_ms`, whose record
    /// is written, earliest first.
    pub fn take_due(&mut self, now_ms: i64, max: usize) -> Vec<(CheckpointKey, Inflight)> {
        let due: Vec<CheckpointKey> = self
            .by_revive_time
            .iter()
            .take_while(|(revive_ms, _)| *revive_ms <= now_ms)
            .filter(|(_, key)| self.live.get(key).is_some_and(|i| i.record_offset.is_some()))
            .take(max)
            .map(|(_, key)| key.clone())
            .collect();
        due.into_iter()
            .filter_map(|key| self.remove(&key).map(|inflight| (key, inflight)))
            .collect()
    }

    /// How far revive queue `revive_qid` is settled: the record offset of its oldest checkpoint
    /// in flight, `queue_end` when none is, `None` (do not move) while one is being written.
    pub fn revive_floor(&self, revive_qid: i32, queue_end: u64) -> Option<u64> {
        let mut floor = queue_end;
        for inflight in self.live.values().filter(|i| i.revive_qid == revive_qid) {
            floor = floor.min(inflight.record_offset?);
        }
        Some(floor)
    }

    /// Rebuilds from one revive-log record, read in log order from the revive offset.
    pub fn replay(&mut self, record: ReviveRecord, revive_qid: i32, record_offset: u64) {
        match record {
            ReviveRecord::Checkpoint(ck) => {
                let Some((key, inflight)) = from_checkpoint(&ck, revive_qid, Some(record_offset)) else {
                    return;
                };
                self.insert(key, inflight);
            }
            ReviveRecord::Ack(ack) => {
                self.ack(
                    &ack_key(
                        &ack.consumer_group,
                        &ack.topic,
                        ack.queue_id,
                        ack.start_offset,
                        ack.pop_time,
                    ),
                    ack.ack_offset,
                );
            }
            ReviveRecord::BatchAck(batch) => {
                let key = ack_key(
                    &batch.consumer_group,
                    &batch.topic,
                    batch.queue_id,
                    batch.start_offset,
                    batch.pop_time,
                );
                for offset in batch.ack_offset_list {
                    self.ack(&key, offset);
                }
            }
        }
    }
}

/// A queue being popped: (topic, group, queue). Java's `QueueLockManager` key.
pub type QueueKey = (String, String, i32);

/// Everything POP keeps: the checkpoints, the queues a pop is reading right now (two pops of
/// one queue must not take the same messages), and how many pops were served (it picks which
/// queue a pop of every queue starts at, and when a pop reads the retry topic first).
#[derive(Debug, Default)]
pub struct PopState {
    pub checkpoints: PopCheckpoints,
    /// Orderly pops in flight, by queue.
    pub order: crate::state::pop_order::OrderBlocks,
    busy: HashSet<QueueKey>,
    pub pops_served: u64,
}

impl PopState {
    /// Claims a queue for one pop; false when another pop is reading it.
    pub fn try_claim(&mut self, key: &QueueKey) -> bool {
        self.busy.insert(key.clone())
    }

    pub fn release(&mut self, key: &QueueKey) {
        self.busy.remove(key);
    }
}

/// A message of the revive log (`buildCkMsg`, `appendAck`): tag, body, and Java's unique key
/// so two writes of one record are recognisable.
pub fn revive_message(
    revive_topic: &str,
    revive_qid: i32,
    (tag, unique_key): (&str, String),
    body: Vec<u8>,
    store_host: SocketAddr,
    now_ms: i64,
) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert(keys::TAGS, tag);
    properties.insert(keys::UNIQ_KEY, unique_key);
    StoredMessage {
        version: MessageVersion::for_topic_bytes(revive_topic.len()),
        body_crc: 0,
        queue_id: revive_qid,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: sysflag::with_host_flags(0, &store_host, &store_host),
        born_timestamp_ms: now_ms,
        born_host: store_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body),
        topic: revive_topic.to_owned(),
        properties,
    }
}

/// `genCkUniqueId`: `topic@queue@startOffset@group@popTime@broker@ck`.
pub fn checkpoint_unique_key(key: &CheckpointKey, broker_name: &str) -> String {
    format!(
        "{}@{}@{}@{}@{}@{}@ck",
        key.topic, key.queue_id, key.start_offset, key.group, key.pop_time_ms, broker_name
    )
}

/// `genAckUniqueId`: `topic@queue@ackOffset@group@popTime@broker@ack`.
pub fn ack_unique_key(key: &CheckpointKey, ack_offset: i64, broker_name: &str) -> String {
    format!(
        "{}@{}@{}@{}@{}@{}@ack",
        key.topic, key.queue_id, ack_offset, key.group, key.pop_time_ms, broker_name
    )
}

/// Reads a revive-log record by its tag; `None` for anything else.
pub fn parse_revive_record(message: &StoredMessage) -> Option<ReviveRecord> {
    use ferrocket_wire::body::{ACK_TAG, BATCH_ACK_TAG, CK_TAG, JsonBody};
    let body = &message.body[..];
    match message.properties.get(keys::TAGS)? {
        CK_TAG => PopCheckPoint::decode(body).ok().map(ReviveRecord::Checkpoint),
        ACK_TAG => AckMsg::decode(body).ok().map(ReviveRecord::Ack),
        BATCH_ACK_TAG => BatchAckMsg::decode(body).ok().map(ReviveRecord::BatchAck),
        _ => None,
    }
}

/// A record of the revive log, by its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviveRecord {
    Checkpoint(PopCheckPoint),
    Ack(AckMsg),
    BatchAck(BatchAckMsg),
}

/// The key an ack names.
pub fn ack_key(group: &str, topic: &str, queue_id: i32, start_offset: i64, pop_time_ms: i64) -> CheckpointKey {
    CheckpointKey {
        group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        start_offset,
        pop_time_ms,
    }
}

/// The table's view of a checkpoint record (`None` for one naming no message).
pub fn from_checkpoint(
    ck: &PopCheckPoint,
    revive_qid: i32,
    record_offset: Option<u64>,
) -> Option<(CheckpointKey, Inflight)> {
    let offsets: Vec<(i64, bool)> = ck
        .queue_offset_diff
        .iter()
        .enumerate()
        .map(|(bit, diff)| {
            let acked = u32::try_from(bit)
                .ok()
                .and_then(|b| 1i32.checked_shl(b))
                .is_some_and(|mask| ck.bit_map & mask != 0);
            (ck.start_offset.saturating_add(i64::from(*diff)), acked)
        })
        .collect();
    if offsets.is_empty() {
        return None;
    }
    let key = ack_key(&ck.cid, &ck.topic, ck.queue_id, ck.start_offset, ck.pop_time);
    let inflight = Inflight {
        invisible_time_ms: ck.invisible_time,
        revive_qid,
        record_offset,
        offsets,
    };
    Some((key, inflight))
}

/// The checkpoint record for a pop (`appendCheckPoint`): `bm` 0, one diff per message.
pub fn checkpoint_record(
    key: &CheckpointKey,
    invisible_time_ms: i64,
    offsets: &[i64],
    broker_name: &str,
) -> PopCheckPoint {
    PopCheckPoint {
        bit_map: 0,
        broker_name: Some(broker_name.to_owned()),
        cid: key.group.clone(),
        queue_offset_diff: offsets
            .iter()
            .map(|offset| i32::try_from(offset.saturating_sub(key.start_offset)).unwrap_or(i32::MAX))
            .collect(),
        invisible_time: invisible_time_ms,
        num: i32::try_from(offsets.len()).unwrap_or(i32::MAX),
        pop_time: key.pop_time_ms,
        queue_id: key.queue_id,
        revive_offset: 0,
        re_put_times: None,
        start_offset: key.start_offset,
        topic: key.topic.clone(),
    }
}

/// Queue entries read under one store lock while replaying the revive log.
const REPLAY_BATCH: u32 = 32;

/// Java's revive topic for a cluster: `rmq_sys_REVIVE_LOG_<cluster>`.
pub fn revive_topic(cluster_name: &str) -> String {
    format!("{}{cluster_name}", ferrocket_wire::system_topics::REVIVE_TOPIC_PREFIX)
}

/// Rebuilds the checkpoints in flight from the revive log: every revive queue from the revive
/// group's offset (its start when none is stored) to its end.
pub fn restore(
    store: &ferrocket_store::StoreHandle,
    offsets: &crate::state::consumer_offsets::ConsumerOffsetTable,
    cluster_name: &str,
) -> PopState {
    use ferrocket_store::{GetMessageStatus, GetMessages, QueueId, QueueOffset};
    let topic = revive_topic(cluster_name);
    let mut state = PopState::default();
    for revive_qid in 0..crate::state::topics::REVIVE_QUEUE_NUMS {
        let queue = QueueId(revive_qid);
        let stored = offsets
            .query(REVIVE_GROUP, &topic, revive_qid)
            .and_then(QueueOffset::from_java_long);
        let (min, max) = store.read(|s| {
            (
                s.min_offset_in_queue(&topic, queue),
                s.max_offset_in_queue(&topic, queue),
            )
        });
        let mut next = stored.unwrap_or(min).max(min);
        while next < max {
            let read = store.read(|s| {
                s.get_messages(&GetMessages {
                    topic: &topic,
                    queue_id: queue,
                    offset: next,
                    max_count: REPLAY_BATCH,
                    filter: None,
                    record_filter: None,
                })
            });
            let Ok(read) = read else { break };
            for record in &read.records {
                let Ok((message, _)) = StoredMessage::decode(record) else {
                    continue;
                };
                let (Some(parsed), Ok(offset)) = (parse_revive_record(&message), u64::try_from(message.queue_offset))
                else {
                    continue;
                };
                state.checkpoints.replay(parsed, revive_qid, offset);
            }
            if read.status != GetMessageStatus::Found || read.next_begin_offset <= next {
                break;
            }
            next = read.next_begin_offset;
        }
    }
    state
}

#[cfg(test)]
mod tests;
