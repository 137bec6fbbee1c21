//! The POP revive task (Java's `PopReviveService`, one loop for every revive queue): every
//! [`REVIVE_TICK_MS`] on a master it takes the checkpoints whose invisible time is over, puts
//! each message still unacknowledged into the group's pop retry topic (reconsume times + 1, as
//! `reviveRetry` does), writes a `bAck` record settling them so a restart does not revive them
//! again, and moves each revive queue's offset (group `CID_RMQ_SYS_REVIVE_GROUP`) up to its
//! oldest checkpoint still in flight.
//!
//! Java's revive never sends to the DLQ: in 5.x the proxy (gRPC) forwards a message past its
//! max attempts there, and the remoting POP client acks or delays it itself.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_store::{PutStatus, QueueId};
use ferrocket_wire::body::{BATCH_ACK_TAG, BatchAckMsg, JsonBody};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::pop_receipt::{RETRY_PREFIX, pop_retry_topic};
use tracing::warn;

use crate::handlers::pop::{append_revive_record, message_at};
use crate::handlers::send::socket_addr;
use crate::state::Broker;
use crate::state::pop::{CheckpointKey, Inflight, REVIVE_GROUP, revive_topic};
use crate::state::topics::REVIVE_QUEUE_NUMS;

/// `reviveInterval`: how often due checkpoints are looked for.
pub const REVIVE_TICK_MS: u64 = 1_000;
/// Checkpoints revived in one tick at most, so a backlog does not starve the runtime.
pub const REVIVES_PER_TICK_MAX: usize = 1_024;
/// `PopAckConstants.retryQueueNum`: a pop retry topic has one queue.
const POP_RETRY_QUEUE_NUMS: i32 = 1;

/// Runs the revive loop while this broker is a master, forever.
pub async fn run(broker: Arc<Broker>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(REVIVE_TICK_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if broker.config().is_master() {
            revive_due(&broker).await;
        }
    }
}

/// One tick: revives what is due and moves the revive offsets.
pub async fn revive_due(b: &Broker) {
    let due = b.pop.lock().checkpoints.take_due(b.now_ms(), REVIVES_PER_TICK_MAX);
    for (key, inflight) in due {
        if !revive(b, &key, &inflight).await {
            // The store refused: keep the checkpoint for the next tick.
            b.pop.lock().checkpoints.insert(key, inflight);
            break;
        }
    }
    commit_revive_offsets(b);
}

/// Puts one checkpoint's unacknowledged messages into the retry topic and settles them.
async fn revive(b: &Broker, key: &CheckpointKey, inflight: &Inflight) -> bool {
    let unacked = inflight.unacked();
    let config = b.config();
    let retry_topic = if key.topic.starts_with(RETRY_PREFIX) {
        key.topic.clone()
    } else {
        pop_retry_topic(&key.topic, &key.group, config.enable_retry_topic_v2)
    };
    if !ensure_retry_topic(b, &retry_topic).await {
        return false;
    }
    for offset in &unacked {
        // A message cleaned up since it was popped has nothing to revive.
        let Some(original) = message_at(b, &key.topic, key.queue_id, *offset) else {
            continue;
        };
        let message = retry_message(&original, &retry_topic, key.pop_time_ms, socket_addr(b.address()));
        let outcome = b.store.put(message).await;
        if !matches!(outcome.status, PutStatus::PutOk | PutStatus::FlushDiskTimeout) {
            warn!(status = ?outcome.status, topic = %retry_topic, "reviving a popped message failed; retrying");
            return false;
        }
    }
    let settle = BatchAckMsg {
        ack_offset: -1,
        ack_offset_list: unacked,
        broker_name: Some(config.broker_name.clone()),
        consumer_group: key.group.clone(),
        pop_time: key.pop_time_ms,
        queue_id: key.queue_id,
        start_offset: key.start_offset,
        topic: key.topic.clone(),
    };
    let unique_key = format!(
        "{}@{}@{:?}@{}@{}@bAck",
        key.topic, key.queue_id, settle.ack_offset_list, key.group, key.pop_time_ms
    );
    // Without the settling record a restart revives these once more: at least once, never lost.
    append_revive_record(b, inflight.revive_qid, (BATCH_ACK_TAG, unique_key), settle.encode()).await;
    true
}

/// `reviveRetry`: the message again, in the retry topic's queue 0, reconsume times + 1, the
/// first pop time remembered, born and stored by this broker.
pub fn retry_message(
    original: &StoredMessage,
    retry_topic: &str,
    pop_time_ms: i64,
    store_host: std::net::SocketAddr,
) -> StoredMessage {
    let mut properties = original.properties.clone();
    if original.reconsume_times == 0 || properties.get(keys::FIRST_POP_TIME).is_none() {
        properties.insert(keys::FIRST_POP_TIME, pop_time_ms.to_string());
    }
    // A revived message is not a delayed one, and must not wait for a flush it never asked for.
    properties.remove(keys::DELAY);
    let sys_flag = ferrocket_wire::message::sysflag::with_host_flags(original.sys_flag, &store_host, &store_host);
    StoredMessage {
        version: ferrocket_wire::message::MessageVersion::for_topic_bytes(retry_topic.len()),
        queue_id: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag,
        born_host: store_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        prepared_transaction_offset: 0,
        topic: retry_topic.to_owned(),
        properties,
        ..original.clone()
    }
}

/// `addRetryTopicIfNotExist`: the pop retry topic, created with one queue and registered.
async fn ensure_retry_topic(b: &Broker, topic: &str) -> bool {
    let (exists, created) = {
        let mut topics = b.topics.lock();
        let existed = topics.get(topic).is_some();
        let config = topics.create_retry_topic(
            topic,
            POP_RETRY_QUEUE_NUMS,
            PERM_READ | PERM_WRITE,
            false,
            0,
            b.now_ms(),
        );
        (config.is_some(), !existed && config.is_some())
    };
    if created {
        b.register_now().await;
    }
    exists
}

/// Moves every revive queue's offset up to its oldest checkpoint in flight.
fn commit_revive_offsets(b: &Broker) {
    let topic = revive_topic(&b.config().broker_cluster_name);
    let now_ms = b.now_ms();
    for revive_qid in 0..REVIVE_QUEUE_NUMS {
        let end = b.store.read(|s| s.max_offset_in_queue(&topic, QueueId(revive_qid))).0;
        let floor = b.pop.lock().checkpoints.revive_floor(revive_qid, end);
        let Some(floor) = floor.and_then(|f| i64::try_from(f).ok()) else {
            continue;
        };
        let mut offsets = b.offsets.lock();
        // Like Java's, the offset is stored once it moves: an unused revive queue leaves no entry.
        let stored = offsets.query(REVIVE_GROUP, &topic, revive_qid);
        if stored != Some(floor) && (stored.is_some() || floor > 0) {
            offsets.commit(REVIVE_GROUP, &topic, revive_qid, floor, now_ms);
        }
    }
}
