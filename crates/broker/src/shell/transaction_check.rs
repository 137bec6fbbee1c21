//! The transaction check loop (Java's `TransactionalMessageCheckService`): every
//! `transactionCheckInterval`, on a master, walk the half queue from the offset of group
//! `CID_RMQ_SYS_TRANS`, and for each undecided half message older than its immunity store a copy
//! at the queue's end (one more `TRANSACTION_CHECK_TIMES`) and send CHECK_TRANSACTION_STATE,
//! oneway, to a live producer of its group; after `transactionCheckMax` checks the message goes
//! to `TRANS_CHECK_MAX_TIME_TOPIC`. The decisions themselves come back as END_TRANSACTION.
//! All state lives in the store (half and op queues) and the group's consumer offset, so the
//! loop resumes where it stopped after a restart.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_store::{CommitLogOffset, GetMessages, QueueId, QueueOffset};
use ferrocket_wire::header::{CheckTransactionStateRequestHeader, CustomHeader, RpcFields};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC};
use ferrocket_wire::{RemotingCommand, RequestCode};
use tracing::warn;

use crate::config::BrokerRole;
use crate::handlers::send::{offset_message_ids, socket_addr};
use crate::state::Broker;
use crate::state::subscription_groups::CID_SYS_RMQ_TRANS;
use crate::state::transactions::{CheckRound, CheckStep, check_body, check_step};

/// Half messages looked at per round, so one round cannot hold the loop for long (Java bounds a
/// round by `MAX_PROCESS_TIME_LIMIT`, 60 s); the next round goes on from there.
pub const CHECK_STEPS_PER_ROUND_MAX: usize = 10_000;
/// How long a check waits for room in the producer connection's writer queue.
pub const CHECK_SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs a check round every `transactionCheckInterval`, forever; slaves skip the rounds.
pub async fn run(broker: Arc<Broker>) {
    loop {
        let interval_ms = broker.config().transaction_check_interval_ms;
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
        if broker.config().broker_role != BrokerRole::Slave {
            check_round(&broker).await;
        }
    }
}

/// One walk over the half queue; records how far it got as the group's consumer offset.
pub async fn check_round(b: &Broker) {
    let config = b.config();
    let round = CheckRound {
        started_ms: b.now_ms(),
        transaction_timeout_ms: i64::try_from(config.transaction_timeout_ms).unwrap_or(i64::MAX),
        check_max: config.transaction_check_max,
    };
    let queue_id = QueueId(0);
    let (min, max) = b.store.read(|s| {
        (
            s.min_offset_in_queue(TRANS_HALF_TOPIC, queue_id),
            s.max_offset_in_queue(TRANS_HALF_TOPIC, queue_id),
        )
    });
    let recorded = b.offsets.lock().query(CID_SYS_RMQ_TRANS, TRANS_HALF_TOPIC, 0);
    let start = recorded
        .and_then(|offset| u64::try_from(offset).ok())
        .map_or(min, QueueOffset)
        .clamp(min, max.max(min));
    let mut offset = start;
    // At most one entry per step: bounded by CHECK_STEPS_PER_ROUND_MAX.
    let mut asked_this_round = BTreeSet::new();
    for _ in 0..CHECK_STEPS_PER_ROUND_MAX {
        if offset >= max {
            break;
        }
        let half = half_at(b, offset);
        let step = check_step(half.as_ref(), &b.transactions.lock(), &mut asked_this_round, &round);
        match step {
            CheckStep::Pass => {}
            CheckStep::Stop => break,
            CheckStep::Discard(message) => {
                create_check_max_time_topic(b).await;
                // Java moves on whether or not the put worked.
                if b.store.put(*message).await.result.is_none() {
                    warn!(
                        offset = offset.0,
                        "half message not moved to TRANS_CHECK_MAX_TIME_TOPIC"
                    );
                }
            }
            CheckStep::Check(copy) => {
                if !check(b, *copy, &config.broker_name).await {
                    break;
                }
            }
        }
        offset = QueueOffset(offset.0.saturating_add(1));
    }
    if offset != start {
        let now_ms = b.now_ms();
        b.offsets
            .lock()
            .commit(CID_SYS_RMQ_TRANS, TRANS_HALF_TOPIC, 0, offset.to_java_long(), now_ms);
    }
}

/// `createTopicOfTranCheckMaxTime(1, RW)`: the topic is created on first use and registered
/// with the name servers at once.
async fn create_check_max_time_topic(b: &Broker) {
    let created = {
        let mut topics = b.topics.lock();
        topics.get(TRANS_CHECK_MAX_TIME_TOPIC).is_none()
            && topics
                .create_retry_topic(
                    TRANS_CHECK_MAX_TIME_TOPIC,
                    1,
                    PERM_READ | PERM_WRITE,
                    false,
                    0,
                    b.now_ms(),
                )
                .is_some()
    };
    if created {
        b.register_now().await;
    }
}

/// The half message at `offset`, with its queue and commit-log offsets.
fn half_at(b: &Broker, offset: QueueOffset) -> Option<StoredMessage> {
    let query = GetMessages {
        topic: TRANS_HALF_TOPIC,
        queue_id: QueueId(0),
        offset,
        max_count: 1,
        filter: None,
        record_filter: None,
    };
    let found = b.store.read(|s| s.get_messages(&query)).ok()?;
    let record = found.records.first()?;
    StoredMessage::decode(record).ok().map(|(message, _)| message)
}

/// Stores the copy and asks its producer group about it; `false` when the copy could not be
/// stored (the round stops and the next one tries again).
async fn check(b: &Broker, copy: StoredMessage, broker_name: &str) -> bool {
    let Some(stored) = b.store.put(copy).await.result else {
        return false;
    };
    let Ok(record) = b.store.read(|s| s.message_at(stored.physical_offset)) else {
        return false;
    };
    let half = record.message;
    let Some(group) = half.properties.get(keys::PGROUP) else {
        return true;
    };
    let channel = b.clients.lock().producer_channel(group);
    let Some(channel) = channel else {
        warn!(group, "transaction check: no producer of the group is online");
        return true;
    };
    let Some(request) = check_request(&half, stored.physical_offset, broker_name) else {
        return true;
    };
    if let Err(error) = channel.oneway(request, CHECK_SEND_TIMEOUT).await {
        warn!(group, %error, "transaction check not sent");
    }
    true
}

/// `sendCheckMessage`'s request: the header names the stored copy; the body is the copy with
/// its real topic and queue.
fn check_request(half: &StoredMessage, physical_offset: CommitLogOffset, broker_name: &str) -> Option<RemotingCommand> {
    let unique_key = half.properties.get(keys::UNIQ_KEY).map(str::to_owned);
    let header = CheckTransactionStateRequestHeader {
        topic: Some(half.topic.clone()),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.physical_offset,
        msg_id: unique_key.clone(),
        transaction_id: unique_key,
        offset_msg_id: Some(offset_message_ids(
            socket_addr(&half.store_host.to_string()),
            &[physical_offset],
        )),
        rpc: RpcFields {
            broker_name: Some(broker_name.to_owned()),
            ..RpcFields::default()
        },
    };
    let mut body = BytesMut::new();
    check_body(half).encode(&mut body).ok()?;
    Some(
        RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE)
            .with_ext_fields(header.to_ext_fields())
            .with_body(body.freeze()),
    )
}
