//! Transactional messages, the pure part (remoting.md §4.5): Java's
//! `TransactionalMessageBridge.parseHalfMessageInner`, `EndTransactionProcessor.endMessageTransaction`
//! and the op records of `TransactionalMessageServiceImpl`, plus [`Decisions`], the book of
//! half messages already committed or rolled back.
//!
//! A prepared send (`TRAN_MSG=true`) is stored in [`TRANS_HALF_TOPIC`] queue 0 with sysFlag
//! reset to "not transactional" (so it takes a consume-queue slot) and `REAL_TOPIC`/`REAL_QID`
//! naming where it belongs. A decision writes an op record to [`TRANS_OP_HALF_TOPIC`] queue 0,
//! tag `d`, whose body lists half-queue offsets as text, each followed by `,` (Java batches
//! several offsets per record; we write one per decision, which Java reads the same way).
//! Invariant: an offset is in [`Decisions`] once its op record is stored, or while the handler
//! that claimed it is storing one, so a half message is never decided (or delivered) twice.
//! Our check copies name the offset they copy (`TRAN_PREPARED_QUEUE_OFFSET`); a Java broker's
//! do not, so [`Decisions`] also keeps the transaction ids (`UNIQ_KEY`) decided lately, which
//! link a copy left in a Java-written store to its message's decision.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::net::SocketAddr;

use bytes::Bytes;
use ferrocket_store::{GetMessages, MessageStore, QueueId, QueueOffset};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag::{self, TransactionType};
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage};
use ferrocket_wire::system_topics::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};

use crate::state::consumer_offsets::ConsumerOffsetTable;
use crate::state::subscription_groups::CID_SYS_RMQ_TRANS;

/// `TransactionalMessageUtil.REMOVE_TAG`: the tag of every op record.
pub const REMOVE_TAG: &str = "d";
/// `TransactionalMessageUtil.OFFSET_SEPARATOR`: ends each offset in an op record's body.
pub const OFFSET_SEPARATOR: char = ',';
/// Decided half offsets kept in memory. Each is forgotten once the check loop's half-queue
/// offset passes it; a broker whose producers decide but never get checked keeps the newest
/// ones (an older decision still in the op queue is only re-read at the next start).
pub const DECIDED_OFFSETS_MAX: usize = 1_000_000;
/// Op records read per store lookup while loading decisions (Java's `OP_MSG_PULL_NUMS`).
pub const OP_RECORDS_PER_READ: u32 = 32;
/// Decided transaction ids kept in memory, the oldest forgotten first. A Java check copy of a
/// decided message exists only for a few check rounds after the decision (until the check loop
/// passes it), so the newest ones are the ones that matter.
pub const DECIDED_KEYS_MAX: usize = 100_000;
/// The newest op records whose half messages are read at start-up for their transaction ids
/// (each read is one lookup in the half queue; Java batches many offsets per op record, and
/// [`DECIDED_KEYS_MAX`] caps the lookups too).
pub const OP_RECORDS_READ_FOR_KEYS_MAX: u64 = 1_000;

/// Java's `Boolean.parseBoolean(TRAN_MSG)`: whether a send is a prepared transactional message.
pub fn is_prepared(properties: &MessageProperties) -> bool {
    properties
        .get(keys::TRAN_MSG)
        .is_some_and(|flag| flag.eq_ignore_ascii_case("true"))
}

/// `SendMessageProcessor`'s choice of the prepared path: `TRAN_MSG` true, unless the message is
/// a retry with a delay level (what clients before 4.6.1 sent back).
pub fn takes_prepared_path(message: &StoredMessage) -> bool {
    let delayed = message
        .properties
        .get(keys::DELAY)
        .and_then(|level| level.parse::<i32>().ok())
        .is_some_and(|level| level > 0);
    is_prepared(&message.properties) && !(message.reconsume_times > 0 && delayed)
}

/// `parseHalfMessageInner`: the message parked in the half topic's queue 0.
pub fn into_half_message(message: &mut StoredMessage) {
    if let Some(unique_key) = message.properties.get(keys::UNIQ_KEY).filter(|k| !k.is_empty()) {
        let unique_key = unique_key.to_owned();
        message.properties.insert(keys::TRANSACTION_ID, unique_key);
    }
    message.properties.insert(keys::REAL_TOPIC, message.topic.clone());
    message.properties.insert(keys::REAL_QID, message.queue_id.to_string());
    message.sys_flag = sysflag::with_transaction_type(message.sys_flag, TransactionType::Not);
    message.topic = TRANS_HALF_TOPIC.to_owned();
    message.queue_id = 0;
    message.version = MessageVersion::for_topic_bytes(TRANS_HALF_TOPIC.len());
}

/// `endMessageTransaction` for a commit: the half message back in its real topic and queue,
/// sysFlag COMMIT, `preparedTransactionOffset` = the half record's commit-log offset. The
/// properties are the half record's, `REAL_TOPIC`, `REAL_QID` and `TRAN_MSG` included: Java sets
/// the properties string before it clears those keys from the map, and its store writes the
/// string (as with delayed deliveries' `DELAY`). `None` when it names no real topic or queue.
pub fn committed_message(half: &StoredMessage) -> Option<StoredMessage> {
    let topic = half.properties.get(keys::REAL_TOPIC)?.to_owned();
    let queue_id = half.properties.get(keys::REAL_QID)?.parse::<i32>().ok()?;
    Some(StoredMessage {
        version: MessageVersion::for_topic_bytes(topic.len()),
        queue_id,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: sysflag::with_transaction_type(half.sys_flag, TransactionType::Commit),
        store_timestamp_ms: half.store_timestamp_ms,
        prepared_transaction_offset: half.physical_offset,
        topic,
        ..half.clone()
    })
}

/// `makeOpMessageInner` for one decision: the op record deleting `half_offsets` (a check's copy
/// and the offset it copies). Properties as Java's store writes them: `TAGS=d` and `WAIT=true`
/// (the string is made before `WAIT=false` and the `UNIQ_KEY` reach the map).
pub fn op_message(half_offsets: &[i64], store_host: SocketAddr, now_ms: i64) -> StoredMessage {
    let body: String = half_offsets
        .iter()
        .map(|offset| format!("{offset}{OFFSET_SEPARATOR}"))
        .collect();
    let mut properties = MessageProperties::new();
    properties.insert(keys::TAGS, REMOVE_TAG);
    properties.insert(keys::WAIT, "true");
    StoredMessage {
        version: MessageVersion::for_topic_bytes(TRANS_OP_HALF_TOPIC.len()),
        body_crc: 0,
        queue_id: 0,
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
        topic: TRANS_OP_HALF_TOPIC.to_owned(),
        properties,
    }
}

/// The half offsets an op record deletes: `fillOpRemoveMap` reads only records tagged `d` and
/// skips pieces that are not numbers (Java's `getLong` gives -1, below every offset).
pub fn deleted_offsets(op: &StoredMessage) -> Vec<i64> {
    if op.properties.get(keys::TAGS) != Some(REMOVE_TAG) {
        return Vec::new();
    }
    String::from_utf8_lossy(&op.body)
        .split(OFFSET_SEPARATOR)
        .filter_map(|piece| piece.parse::<i64>().ok())
        .filter(|offset| *offset >= 0)
        .collect()
}

/// Java's `getImmunityTime`: `CHECK_IMMUNITY_TIME_IN_SECONDS` in ms, never below the timeout.
pub fn immunity_ms(half: &StoredMessage, transaction_timeout_ms: i64) -> i64 {
    let seconds = half
        .properties
        .get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    seconds.saturating_mul(1000).max(transaction_timeout_ms)
}

/// `rejectCommitOrRollback`: a producer's own decision (not an answer to a check) for a message
/// with `CHECK_IMMUNITY_TIME_IN_SECONDS`, arriving after its immunity time, is refused; the
/// check will ask again.
pub fn decision_too_late(half: &StoredMessage, from_check: bool, transaction_timeout_ms: i64, now_ms: i64) -> bool {
    let has_immunity = half
        .properties
        .get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .is_some_and(|s| !s.is_empty());
    !from_check
        && has_immunity
        && now_ms.saturating_sub(half.born_timestamp_ms) > immunity_ms(half, transaction_timeout_ms)
}

/// The decisions the op queue records from `op_from` on (the check loop's op offset, or the
/// queue's start), for half offsets from `half_from` on (the check loop's half offset): what a
/// restarted broker must not decide or check again. Also the transaction ids of the half
/// messages the newest [`OP_RECORDS_READ_FOR_KEYS_MAX`] op records decide, so that a Java
/// broker's check copies of them are passed. Reads [`OP_RECORDS_PER_READ`] at a time.
pub fn recorded_decisions(store: &MessageStore, op_from: Option<i64>, half_from: i64) -> Decisions {
    let mut decisions = Decisions::default();
    let queue_id = QueueId(0);
    let min = store.min_offset_in_queue(TRANS_OP_HALF_TOPIC, queue_id);
    let max = store.max_offset_in_queue(TRANS_OP_HALF_TOPIC, queue_id);
    let from = op_from.and_then(|offset| u64::try_from(offset).ok()).map(QueueOffset);
    let from = from.unwrap_or(min).clamp(min, max.max(min));
    let keys_from = QueueOffset(max.0.saturating_sub(OP_RECORDS_READ_FOR_KEYS_MAX)).max(min);
    let mut key_lookups = 0;
    let mut offset = from.min(keys_from);
    while offset < max {
        let query = GetMessages {
            topic: TRANS_OP_HALF_TOPIC,
            queue_id,
            offset,
            max_count: OP_RECORDS_PER_READ,
            filter: None,
            record_filter: None,
        };
        let Ok(found) = store.get_messages(&query) else {
            break;
        };
        for record in &found.records {
            let Ok((op, _)) = StoredMessage::decode(record) else {
                continue;
            };
            let deleted = deleted_offsets(&op);
            if op.queue_offset >= from.to_java_long() {
                decisions.record(deleted.iter().copied().filter(|o| *o >= half_from));
            }
            if op.queue_offset >= keys_from.to_java_long() {
                for half_offset in deleted {
                    if key_lookups >= DECIDED_KEYS_MAX {
                        break;
                    }
                    key_lookups += 1;
                    if let Some(key) = half_key_at(store, half_offset) {
                        decisions.record_key(&key);
                    }
                }
            }
        }
        if found.next_begin_offset <= offset {
            break;
        }
        offset = found.next_begin_offset;
    }
    decisions
}

/// The transaction id of the half message at `half_offset`, if it is still readable.
fn half_key_at(store: &MessageStore, half_offset: i64) -> Option<String> {
    let query = GetMessages {
        topic: TRANS_HALF_TOPIC,
        queue_id: QueueId(0),
        offset: QueueOffset(u64::try_from(half_offset).ok()?),
        max_count: 1,
        filter: None,
        record_filter: None,
    };
    let found = store.get_messages(&query).ok()?;
    let (half, _) = StoredMessage::decode(found.records.first()?).ok()?;
    transaction_key(&half).map(str::to_owned)
}

/// What the check loop does with the half message at one offset (`TransactionalMessageServiceImpl.check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStep {
    /// Decided (itself or the message it copies), or unreadable: pass it.
    Pass,
    /// Too young (or stored during this round): stop here until the next round.
    Stop,
    /// Checked `transactionCheckMax` times: park this copy in `TRANS_CHECK_MAX_TIME_TOPIC`.
    Discard(Box<StoredMessage>),
    /// Store this copy at the half queue's end, then ask the producer about it.
    Check(Box<StoredMessage>),
}

/// The facts of one check round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckRound {
    pub started_ms: i64,
    pub transaction_timeout_ms: i64,
    pub check_max: u32,
}

/// The first offset a half message stands for: `TRAN_PREPARED_QUEUE_OFFSET` on a copy the check
/// loop made, else its own queue offset. Deciding either decides both.
pub fn original_offset(half: &StoredMessage) -> i64 {
    half.properties
        .get(keys::TRAN_PREPARED_QUEUE_OFFSET)
        .and_then(|offset| offset.parse::<i64>().ok())
        .unwrap_or(half.queue_offset)
}

/// The transaction id a half message (or any copy of it) carries: its `UNIQ_KEY`.
pub fn transaction_key(half: &StoredMessage) -> Option<&str> {
    half.properties.get(keys::UNIQ_KEY).filter(|key| !key.is_empty())
}

/// One step of the check loop over the half message at `offset` (`None`: unreadable). Java's
/// order: decided, check count (`needDiscard`), stored this round, younger than its immunity.
/// Unlike Java, a message whose decision is recorded is never checked: [`Decisions`] is written
/// before the op record, and copies carry the offset they copy. Also unlike Java, a transaction
/// is checked (or discarded) once per round: `asked_this_round` holds the original offsets of
/// this round's checks and discards, and a later copy of one of them is passed. The round meets
/// two copies of one transaction when a crash lost the loop's saved position after a check had
/// stored its copy; passing the later one ends that second line of copies.
pub fn check_step(
    half: Option<&StoredMessage>,
    decisions: &Decisions,
    asked_this_round: &mut BTreeSet<i64>,
    round: &CheckRound,
) -> CheckStep {
    let Some(half) = half else {
        return CheckStep::Pass;
    };
    let original = original_offset(half);
    let key_decided = transaction_key(half).is_some_and(|key| decisions.is_key_decided(key));
    if decisions.is_decided(half.queue_offset)
        || decisions.is_decided(original)
        || key_decided
        || asked_this_round.contains(&original)
    {
        return CheckStep::Pass;
    }
    let checks = half
        .properties
        .get(keys::TRANSACTION_CHECK_TIMES)
        .map(|n| n.parse::<u32>().unwrap_or(0));
    if checks.is_some_and(|n| n >= round.check_max) {
        asked_this_round.insert(original);
        return CheckStep::Discard(Box::new(discarded_message(half)));
    }
    if half.store_timestamp_ms >= round.started_ms {
        return CheckStep::Stop;
    }
    let age_ms = round.started_ms.saturating_sub(half.born_timestamp_ms);
    if (0..immunity_ms(half, round.transaction_timeout_ms)).contains(&age_ms) {
        return CheckStep::Stop;
    }
    let mut copy = half.clone();
    let next = checks.map_or(1, |n| n.saturating_add(1));
    copy.properties.insert(keys::TRANSACTION_CHECK_TIMES, next.to_string());
    copy.properties
        .insert(keys::TRAN_PREPARED_QUEUE_OFFSET, original.to_string());
    asked_this_round.insert(original);
    copy.queue_offset = 0;
    copy.physical_offset = 0;
    copy.store_timestamp_ms = 0;
    CheckStep::Check(Box::new(copy))
}

/// `toMessageExtBrokerInner`: the half message in `TRANS_CHECK_MAX_TIME_TOPIC` queue 0
/// (`TCMT_QUEUE_NUMS` is 1), everything else as it was.
pub fn discarded_message(half: &StoredMessage) -> StoredMessage {
    StoredMessage {
        version: MessageVersion::for_topic_bytes(TRANS_CHECK_MAX_TIME_TOPIC.len()),
        topic: TRANS_CHECK_MAX_TIME_TOPIC.to_owned(),
        queue_id: 0,
        queue_offset: 0,
        physical_offset: 0,
        store_timestamp_ms: 0,
        ..half.clone()
    }
}

/// The body of CHECK_TRANSACTION_STATE: the stored half record with its real topic and queue
/// (`sendCheckMessage`).
pub fn check_body(stored: &StoredMessage) -> StoredMessage {
    let mut message = stored.clone();
    if let Some(topic) = stored.properties.get(keys::REAL_TOPIC) {
        message.version = MessageVersion::for_topic_bytes(topic.len());
        message.topic = topic.to_owned();
    }
    if let Some(queue_id) = stored.properties.get(keys::REAL_QID).and_then(|q| q.parse().ok()) {
        message.queue_id = queue_id;
    }
    message
}

/// The check loop's consumer offsets (group `CID_RMQ_SYS_TRANS`): `(op queue, half queue)`.
pub fn check_offsets(offsets: &ConsumerOffsetTable) -> (Option<i64>, Option<i64>) {
    (
        offsets.query(CID_SYS_RMQ_TRANS, TRANS_OP_HALF_TOPIC, 0),
        offsets.query(CID_SYS_RMQ_TRANS, TRANS_HALF_TOPIC, 0),
    )
}

/// Half-queue offsets with a decision (stored in the op queue, or being stored now), and the
/// transaction ids decided lately.
#[derive(Debug, Default)]
pub struct Decisions {
    decided: BTreeSet<i64>,
    keys: HashSet<String>,
    /// `keys` in the order recorded, to forget the oldest first; may hold ids already forgotten.
    key_order: VecDeque<String>,
}

impl Decisions {
    /// Takes `half_offset` for a decision; `false` when it already has one (or one is under way).
    pub fn claim(&mut self, half_offset: i64) -> bool {
        if self.decided.contains(&half_offset) {
            return false;
        }
        if self.decided.len() >= DECIDED_OFFSETS_MAX {
            self.decided.pop_first();
        }
        self.decided.insert(half_offset)
    }

    /// Takes every offset of `half_offsets` and the transaction id `key` for one decision, or
    /// nothing when one of them is already decided.
    pub fn claim_all(&mut self, half_offsets: &[i64], key: Option<&str>) -> bool {
        if half_offsets.iter().any(|offset| self.decided.contains(offset)) || key.is_some_and(|k| self.keys.contains(k))
        {
            return false;
        }
        if let Some(key) = key {
            self.record_key(key);
        }
        half_offsets.iter().all(|offset| self.claim(*offset))
    }

    /// Gives back a claim whose op record could not be stored.
    pub fn release(&mut self, half_offset: i64, key: Option<&str>) {
        self.decided.remove(&half_offset);
        if let Some(key) = key {
            self.keys.remove(key);
        }
    }

    /// Records a decided transaction id, forgetting the oldest beyond [`DECIDED_KEYS_MAX`].
    pub fn record_key(&mut self, key: &str) {
        if self.keys.contains(key) {
            return;
        }
        while self.key_order.len() >= DECIDED_KEYS_MAX {
            if let Some(oldest) = self.key_order.pop_front() {
                self.keys.remove(&oldest);
            }
        }
        self.keys.insert(key.to_owned());
        self.key_order.push_back(key.to_owned());
    }

    pub fn is_key_decided(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Records decisions read back from the op queue.
    pub fn record(&mut self, half_offsets: impl IntoIterator<Item = i64>) {
        for offset in half_offsets {
            self.claim(offset);
        }
    }

    pub fn is_decided(&self, half_offset: i64) -> bool {
        self.decided.contains(&half_offset)
    }

    /// Forgets offsets below `half_offset`: the check loop will never look at them again.
    pub fn forget_below(&mut self, half_offset: i64) {
        self.decided = self.decided.split_off(&half_offset);
    }

    pub fn len(&self) -> usize {
        self.decided.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decided.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared() -> StoredMessage {
        let mut properties = MessageProperties::new();
        properties.insert(keys::TRAN_MSG, "true");
        properties.insert(keys::PGROUP, "pg");
        properties.insert(keys::UNIQ_KEY, "U1");
        properties.insert(keys::TAGS, "TagA");
        let host: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        StoredMessage {
            version: MessageVersion::for_topic_bytes(9),
            body_crc: 0,
            queue_id: 3,
            flag: 7,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: sysflag::with_transaction_type(0, TransactionType::Prepared),
            born_timestamp_ms: 1_000,
            born_host: host,
            store_timestamp_ms: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"hello"),
            topic: "TopicTest".into(),
            properties,
        }
    }

    #[test]
    fn only_tran_msg_true_marks_a_prepared_send() {
        let mut properties = MessageProperties::new();
        assert!(!is_prepared(&properties));
        properties.insert(keys::TRAN_MSG, "TRUE");
        assert!(is_prepared(&properties));
        properties.insert(keys::TRAN_MSG, "yes");
        assert!(!is_prepared(&properties));
    }

    #[test]
    fn a_half_message_waits_in_queue_0_of_the_half_topic_and_commits_back() {
        let mut half = prepared();
        into_half_message(&mut half);
        assert_eq!((half.topic.as_str(), half.queue_id), (TRANS_HALF_TOPIC, 0));
        assert_eq!(half.transaction_type(), TransactionType::Not);
        assert_eq!(half.properties.get(keys::REAL_TOPIC), Some("TopicTest"));
        assert_eq!(half.properties.get(keys::REAL_QID), Some("3"));
        assert_eq!(half.properties.get(keys::TRANSACTION_ID), Some("U1"));
        assert_eq!(half.properties.get(keys::TRAN_MSG), Some("true"));

        half.physical_offset = 4096;
        half.store_timestamp_ms = 2_000;
        let committed = committed_message(&half).unwrap();
        assert_eq!((committed.topic.as_str(), committed.queue_id), ("TopicTest", 3));
        assert_eq!(committed.transaction_type(), TransactionType::Commit);
        assert_eq!(committed.prepared_transaction_offset, 4096);
        assert_eq!((committed.flag, committed.born_timestamp_ms), (7, 1_000));
        assert_eq!(committed.properties.get(keys::REAL_TOPIC), Some("TopicTest"));
        assert_eq!(committed.properties.get(keys::TRAN_MSG), Some("true"));
        assert_eq!(committed.properties.get(keys::PGROUP), Some("pg"));
        assert_eq!(committed.properties.get(keys::TRANSACTION_ID), Some("U1"));
        assert_eq!(committed.body, half.body);

        half.properties.remove(keys::REAL_QID);
        assert!(committed_message(&half).is_none());
    }

    #[test]
    fn op_records_carry_the_half_offset_as_text_with_tag_d() {
        let host: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let op = op_message(&[42], host, 5);
        assert_eq!((op.topic.as_str(), op.queue_id), (TRANS_OP_HALF_TOPIC, 0));
        assert_eq!(&op.body[..], b"42,");
        assert_eq!(deleted_offsets(&op), vec![42]);
        let mut batched = op.clone();
        batched.body = Bytes::from_static(b"1,2,x,3,");
        assert_eq!(deleted_offsets(&batched), vec![1, 2, 3]);
        batched.properties.insert(keys::TAGS, "other");
        assert!(deleted_offsets(&batched).is_empty());
    }

    #[test]
    fn immunity_delays_only_a_producers_own_decision() {
        let mut half = prepared();
        assert!(!decision_too_late(&half, false, 6_000, 1_000_000));
        half.properties.insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "10");
        assert_eq!(immunity_ms(&half, 6_000), 10_000);
        assert!(!decision_too_late(&half, false, 6_000, 11_000));
        assert!(decision_too_late(&half, false, 6_000, 11_001));
        assert!(!decision_too_late(&half, true, 6_000, 11_001));
        half.properties.insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, "1");
        assert_eq!(immunity_ms(&half, 6_000), 6_000);
    }

    #[test]
    fn a_half_offset_is_decided_once() {
        let mut decisions = Decisions::default();
        assert!(decisions.claim(5));
        assert!(!decisions.claim(5));
        decisions.release(5, None);
        assert!(decisions.claim(5));
        decisions.record([1, 2, 9]);
        assert!(decisions.is_decided(9) && !decisions.is_decided(3));
        decisions.forget_below(5);
        assert_eq!(decisions.len(), 2);
        assert!(!decisions.is_decided(1));
    }

    #[test]
    fn the_check_loop_passes_decided_messages_and_waits_for_young_ones() {
        let mut half = prepared();
        into_half_message(&mut half);
        half.queue_offset = 4;
        half.store_timestamp_ms = 1_500;
        let round = CheckRound {
            started_ms: 10_000,
            transaction_timeout_ms: 6_000,
            check_max: 2,
        };
        let mut decisions = Decisions::default();
        assert_eq!(
            check_step(None, &decisions, &mut BTreeSet::new(), &round),
            CheckStep::Pass
        );
        let CheckStep::Check(copy) = check_step(Some(&half), &decisions, &mut BTreeSet::new(), &round) else {
            panic!("an old undecided message is checked");
        };
        assert_eq!(copy.properties.get(keys::TRANSACTION_CHECK_TIMES), Some("1"));
        assert_eq!(copy.properties.get(keys::TRAN_PREPARED_QUEUE_OFFSET), Some("4"));
        assert_eq!(copy.topic, TRANS_HALF_TOPIC);
        let young = CheckRound {
            started_ms: 6_999,
            ..round
        };
        assert_eq!(
            check_step(Some(&half), &decisions, &mut BTreeSet::new(), &young),
            CheckStep::Stop
        );
        let stored_now = CheckRound {
            started_ms: 1_500,
            ..round
        };
        assert_eq!(
            check_step(Some(&half), &decisions, &mut BTreeSet::new(), &stored_now),
            CheckStep::Stop
        );
        // A copy is decided when the message it copies is.
        let mut copy = *copy;
        copy.queue_offset = 9;
        decisions.record([4]);
        assert_eq!(
            check_step(Some(&copy), &decisions, &mut BTreeSet::new(), &round),
            CheckStep::Pass
        );
        copy.properties.insert(keys::TRANSACTION_CHECK_TIMES, "2");
        copy.properties.insert(keys::TRAN_PREPARED_QUEUE_OFFSET, "5");
        let CheckStep::Discard(parked) = check_step(Some(&copy), &decisions, &mut BTreeSet::new(), &round) else {
            panic!("checked too often");
        };
        assert_eq!(
            (parked.topic.as_str(), parked.queue_id),
            (TRANS_CHECK_MAX_TIME_TOPIC, 0)
        );
        assert!(decisions.claim_all(&[9, 5], Some("K9")));
        assert!(!decisions.claim_all(&[10, 5], None));
        assert!(
            !decisions.claim_all(&[11], Some("K9")),
            "one decision per transaction id"
        );
        assert!(!decisions.is_decided(11));
        assert!(!decisions.is_decided(10));
    }

    #[test]
    fn a_transaction_is_checked_once_per_round_whatever_copies_the_round_meets() {
        let mut half = prepared();
        into_half_message(&mut half);
        half.queue_offset = 4;
        half.store_timestamp_ms = 1_500;
        let round = CheckRound {
            started_ms: 10_000,
            transaction_timeout_ms: 6_000,
            check_max: 3,
        };
        let decisions = Decisions::default();
        let mut asked = BTreeSet::new();
        // An earlier round's copy, met again after a crash rewound the loop's position.
        let CheckStep::Check(copy) = check_step(Some(&half), &decisions, &mut asked, &round) else {
            panic!("the message is checked");
        };
        let mut copy = *copy;
        copy.queue_offset = 5;
        copy.store_timestamp_ms = 1_600;
        assert_eq!(check_step(Some(&copy), &decisions, &mut asked, &round), CheckStep::Pass);
        // In the next round, the copy is the one checked.
        let mut next = BTreeSet::new();
        assert!(matches!(
            check_step(Some(&copy), &decisions, &mut next, &round),
            CheckStep::Check(_)
        ));
        assert_eq!(check_step(Some(&half), &decisions, &mut next, &round), CheckStep::Pass);
        // A discarded transaction is not checked in the same round either.
        copy.properties.insert(keys::TRANSACTION_CHECK_TIMES, "3");
        let mut discarding = BTreeSet::new();
        assert!(matches!(
            check_step(Some(&copy), &decisions, &mut discarding, &round),
            CheckStep::Discard(_)
        ));
        assert_eq!(
            check_step(Some(&half), &decisions, &mut discarding, &round),
            CheckStep::Pass
        );
    }
}
