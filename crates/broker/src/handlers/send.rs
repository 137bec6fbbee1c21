//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): Java's
//! `SendMessageProcessor` and `AbstractSendMessageProcessor.msgCheck` (remoting.md §4.2.1,
//! store-and-ha.md §1.8–1.10); CONSUMER_SEND_MSG_BACK (36) is in [`send_back`].
//!
//! Order of checks, as Java's: broker role, header, `msgCheck` (order topic on a read-only
//! broker, topic name, forbidden system topics, auto-creation from the default topic or as a
//! retry topic, queue id), then retry/DLQ redirection for `%RETRY%` topics, body and batch
//! rules, the put, and the status mapping. Every response, failures included, carries
//! `MSG_REGION` and `TRACE_ON`, which the Java client reads straight from `extFields`.
//! "Batch or not" comes from the header's batch flag, not from the request code.

mod message_build;
mod recall;
mod response;
mod send_back;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::body::{TopicConfig, TopicFilterType};
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeader, SendMessageResponseHeader};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::{StoredMessage, sysflag};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::{
    OFFSET_MOVED_EVENT_TOPIC, RETRY_GROUP_TOPIC_PREFIX, SCHEDULE_TOPIC, SELF_TEST_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC,
    TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, dlq_topic,
};
use ferrocket_wire::{ExtFields, RemotingCommand, ResponseCode};

use crate::config::{BrokerConfig, BrokerRole};
use crate::error::{BrokerError, BrokerResult, IllegalMessage, error_response, respond};
use crate::handlers::Answer;
use crate::names::{TOPIC_NAME_CHARS_MAX, validate_topic};
use crate::state::Broker;
use crate::state::metrics::MessageType;
use crate::state::replication;
use crate::state::schedule;
use crate::state::subscription_groups::SubscriptionGroupTable;
use crate::state::timer::{self, TimerRefusal};
use crate::state::topics::TopicTable;
use crate::state::transactions;

pub use message_build::{SendFacts, offset_message_ids, socket_addr};
pub use recall::serve as serve_recall;
pub use response::put_response;

/// Java's `BrokerConfig.regionId` default; our configuration has no region.
pub const REGION_ID: &str = "DefaultRegion";
/// Java's `BrokerConfig.traceOn` default.
pub const TRACE_ON: bool = true;
/// `TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`.
const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    SCHEDULE_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT_TOPIC,
];
/// `MQVersion.Version.V3_4_9.ordinal()`: from this version on the header's maxReconsumeTimes counts.
const VERSION_V3_4_9: i32 = 97;
/// `DLQ_NUMS_PER_GROUP`.
const DLQ_QUEUE_NUMS: i32 = 1;

/// SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE.
pub fn serve(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move {
        if let Some(rejected) = reject_on_slave(&broker, &request) {
            return Some(rejected);
        }
        Some(handle_send(&broker, &request, &connection).await)
    })
}

/// CONSUMER_SEND_MSG_BACK.
pub fn serve_send_back(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move {
        if let Some(rejected) = reject_on_slave(&broker, &request) {
            return Some(rejected);
        }
        respond(&request, send_back::handle(&broker, &request).await)
    })
}

/// Java 5.x's `SendMessageProcessor.rejectRequest`: a slave turns away every request of the
/// processor (sends and send-backs) with the remoting layer's bare SYSTEM_BUSY answer.
fn reject_on_slave(b: &Broker, request: &RemotingCommand) -> Option<RemotingCommand> {
    (b.config().broker_role == BrokerRole::Slave).then(|| error_response(request, &BrokerError::RejectedBySlave))
}

/// Answers one send: SUCCESS (or a flush-timeout code) with the full header, or Java's failure
/// code and remark; both with `MSG_REGION` and `TRACE_ON`.
pub async fn handle_send(b: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> RemotingCommand {
    let (code, remark, mut fields) = match send(b, request, connection).await {
        Ok((code, header)) => (code, None, header.to_ext_fields()),
        Err(error) => (error.response_code(), Some(error.to_string()), ExtFields::new()),
    };
    fields.insert(keys::MSG_REGION, REGION_ID);
    fields.insert(keys::TRACE_ON, TRACE_ON.to_string());
    RemotingCommand::response_to(request, code, remark).with_ext_fields(fields)
}

async fn send(
    b: &Broker,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<(ResponseCode, SendMessageResponseHeader)> {
    let config = b.config();
    let header = SendMessageRequestHeader::from_send_command(request)?;
    let now_ms = b.now_ms();
    let peer = connection.peer_addr();
    let (topic_config, traffic) = {
        let mut topics = b.topics.lock();
        let topic_config = msg_check(
            &mut topics,
            &header,
            peer,
            (&config.broker_ip1, config.broker_permission),
            now_ms,
        )?;
        // The topic's counters, from the entry this lock already guards (metrics on only).
        let traffic = b.metrics.enabled().then(|| topics.traffic(&header.topic)).flatten();
        (topic_config, traffic)
    };
    let queue_id = if header.queue_id < 0 {
        message_build::random_queue_id(random_seed(), topic_config.write_queue_nums).ok_or_else(|| {
            BrokerError::NoWritableQueue {
                topic: header.topic.clone(),
            }
        })?
    } else {
        header.queue_id
    };
    // Java's store refuses a message without a body as illegal.
    let body = request.body.clone().ok_or(BrokerError::MessageIllegal {
        why: IllegalMessage::NoBody,
        body_bytes_max: config.store.body_bytes_max,
    })?;
    let store_host = socket_addr(b.address());
    let facts = SendFacts {
        topic: &header.topic,
        queue_id,
        sys_flag: multi_tags(header.sys_flag, &topic_config),
        flag: header.flag,
        born_timestamp_ms: header.born_timestamp,
        born_host: socket_addr(peer),
        store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
    };
    let (messages, transaction_id) = if header.batch.unwrap_or(false) {
        batch_records(&config, &header, &facts, &body)?
    } else {
        let orderly = header
            .topic
            .strip_prefix(RETRY_GROUP_TOPIC_PREFIX)
            .is_some_and(|group| !b.clients.lock().queue_locks.all_expired(group, now_ms));
        // Only a send to a retry topic can be redirected; the tables are not locked otherwise.
        let dead_letter = if !header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            None
        } else {
            let mut topics = b.topics.lock();
            let mut groups = b.groups.lock();
            let retry = RetryFacts {
                request_version: request.version,
                auto_create_group: config.auto_create_subscription_group,
                orderly,
            };
            retry_or_dead_letter(&mut topics, &mut groups, &header, &retry, now_ms)?
        };
        if let (Some(_), Some(group)) = (&dead_letter, header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX)) {
            b.metrics.record_dead_letter(group, &header.topic, now_ms);
        }
        let (mut messages, transaction_id) =
            single_record(&config, &header, &facts, dead_letter, body, store_host, now_ms)?;
        // Java's prepared path (`TransactionalMessageBridge.parseHalfMessageInner`).
        for message in messages.iter_mut().filter(|m| transactions::takes_prepared_path(m)) {
            if config.reject_transaction_message {
                return Err(BrokerError::TransactionMessageForbidden {
                    broker_ip: config.broker_ip1.clone(),
                });
            }
            transactions::into_half_message(message);
        }
        // Java's put hook applies to single messages only, not to a batch.
        for message in &mut messages {
            park_timer(b, &config, message, now_ms)?;
        }
        (messages, transaction_id)
    };
    // Java's put hook: a delayed message waits in the schedule topic.
    let messages = schedule::park_delayed(messages, &config.store.message_delay_levels_ms);
    // `attachRecallHandle`: a single timer send learns how to take the timer back.
    let recall_handle = match header.batch.unwrap_or(false) {
        true => None,
        false => messages
            .first()
            .and_then(|m| timer::recall::handle_of(m, &config.broker_name)),
    };
    // Java counts a parked timer or delayed message under the topic it is stored in (its put
    // hook rewrites the message in place before the metrics read it); the rare case only locks.
    let traffic = match messages.first() {
        Some(parked) if traffic.is_some() && parked.topic != header.topic => b.topics.lock().traffic(&parked.topic),
        _ => traffic,
    };
    // Java's `isWaitStoreMsgOK`, read from the (first) message as the store reads it.
    let wait_store_msg_ok = messages
        .first()
        .is_none_or(|m| m.properties.get(keys::WAIT) != Some("false"));
    let outcome = b.store.put_batch(messages).await;
    if let (Some(traffic), Some(stored)) = (&traffic, &outcome.result) {
        let kind = MessageType::of_properties(property_pairs(header.properties.as_deref().unwrap_or("")));
        traffic.record_put(kind, stored.msg_count, stored.wrote_bytes);
    }
    let replicas = match &outcome.result {
        Some(result) => replication::after_put(b, &config, result.end_offset, wait_store_msg_ok).await,
        None => None,
    };
    let (code, mut response) = put_response(
        outcome,
        replicas,
        store_host,
        queue_id,
        transaction_id,
        config.store.body_bytes_max,
    )?;
    response.recall_handle = recall_handle;
    Ok((code, response))
}

/// The name-value pairs of a properties string (`name\u0001value\u0002`…), borrowed: the
/// metrics read the message type from them without building a map.
fn property_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split('\u{2}').filter_map(|pair| pair.split_once('\u{1}'))
}

/// Java's put hook for timer messages (`HookUtils.handleScheduleMessage`): a message asking for
/// a later delivery time waits in the timer topic (`state::timer`), or is refused with Java's
/// code. Sends, send-backs and transaction commits all pass here.
pub fn park_timer(b: &Broker, config: &BrokerConfig, message: &mut StoredMessage, now_ms: i64) -> BrokerResult<()> {
    let settings = timer::TimerSettings::of(config);
    // The wheel is locked only for a message that is a timer.
    let pending = || b.timers.lock().pending();
    match timer::park_if_timer(message, &settings, now_ms, pending) {
        Ok(_) => Ok(()),
        Err(TimerRefusal::NotEnabled) => Err(BrokerError::TimerNotEnabled),
        Err(TimerRefusal::Illegal) => Err(BrokerError::TimerMessageIllegal {
            max_delay_ms: settings.max_delay_ms,
        }),
        Err(TimerRefusal::FlowControl) => Err(BrokerError::TimerFlowControl {
            limit: timer::TIMERS_PENDING_MAX,
        }),
    }
}

/// Java's `msgCheck`: the topic's config, auto-created when allowed, or the failure. `broker`
/// is `(brokerIP1, brokerPermission)`.
pub fn msg_check(
    topics: &mut TopicTable,
    header: &SendMessageRequestHeader,
    peer: &str,
    broker: (&str, i32),
    now_ms: i64,
) -> BrokerResult<TopicConfig> {
    let (broker_ip1, broker_permission) = broker;
    let topic = header.topic.as_str();
    let existing = topics.get(topic);
    if broker_permission & PERM_WRITE == 0 && existing.as_ref().is_some_and(|c| c.order) {
        return Err(BrokerError::BrokerSendForbidden {
            broker_ip: broker_ip1.to_owned(),
        });
    }
    validate_topic(topic)?;
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(BrokerError::SendToSystemTopicForbidden {
            topic: topic.to_owned(),
        });
    }
    let config = match existing {
        Some(config) => config,
        None => create_on_send(topics, header, peer, now_ms)?.ok_or_else(|| BrokerError::SendTopicNotExist {
            topic: topic.to_owned(),
        })?,
    };
    let valid = config.write_queue_nums.max(config.read_queue_nums);
    if header.queue_id >= valid {
        return Err(BrokerError::SendQueueIdIllegal {
            queue_id: header.queue_id,
            topic_config: Box::new(config),
            producer: peer.to_owned(),
        });
    }
    Ok(config)
}

/// The unknown-topic branch of `msgCheck`: from the default topic, else as a retry topic.
fn create_on_send(
    topics: &mut TopicTable,
    header: &SendMessageRequestHeader,
    peer: &str,
    now_ms: i64,
) -> BrokerResult<Option<TopicConfig>> {
    let is_retry = header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
    // `TopicSysFlag.buildSysFlag(unit, hasUnitSub)`: unit = 1, has-unit-subscription = 2.
    let topic_sys_flag = match (header.unit_mode.unwrap_or(false), is_retry) {
        (false, _) => 0,
        (true, true) => 2,
        (true, false) => 1,
    };
    let created = topics.create_on_send(
        &header.topic,
        &header.default_topic,
        header.default_topic_queue_nums,
        topic_sys_flag,
        peer,
        now_ms,
    )?;
    if created.is_some() || !is_retry {
        return Ok(created);
    }
    Ok(topics.create_retry_topic(&header.topic, 1, PERM_READ | PERM_WRITE, false, topic_sys_flag, now_ms))
}

/// Where a dead letter goes instead of its retry topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub topic: String,
    pub queue_id: i32,
}

/// What decides a retry's fate besides the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryFacts {
    /// The request's `version`: clients from 3.4.9 on send `maxReconsumeTimes`.
    pub request_version: i32,
    pub auto_create_group: bool,
    /// The group holds a live queue lock: an orderly group, whose retries go straight to the DLQ.
    pub orderly: bool,
}

/// Java's `handleRetryAndDLQ`: a message for `%RETRY%group` past its group's (or the header's)
/// max reconsume times, or of an orderly group, goes to `%DLQ%group` queue 0 instead.
pub fn retry_or_dead_letter(
    topics: &mut TopicTable,
    groups: &mut SubscriptionGroupTable,
    header: &SendMessageRequestHeader,
    retry: &RetryFacts,
    now_ms: i64,
) -> BrokerResult<Option<DeadLetter>> {
    let Some(group) = header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(None);
    };
    let Some(group_config) = groups.find_or_auto_create(group, retry.auto_create_group, now_ms) else {
        return Err(BrokerError::RetryGroupNotExist {
            group: group.to_owned(),
        });
    };
    let max_reconsume_times = match header.max_reconsume_times {
        Some(max) if retry.request_version >= VERSION_V3_4_9 => max,
        _ => group_config.retry_max_times,
    };
    if header.reconsume_times.unwrap_or(0) <= max_reconsume_times && !retry.orderly {
        return Ok(None);
    }
    let topic = dlq_topic(group);
    if topics
        .create_retry_topic(&topic, DLQ_QUEUE_NUMS, PERM_READ | PERM_WRITE, false, 0, now_ms)
        .is_none()
    {
        return Err(BrokerError::RetryTopicNotCreated { topic });
    }
    Ok(Some(DeadLetter { topic, queue_id: 0 }))
}

/// One record from a single-message send; also its UNIQ_KEY for `transactionId`.
fn single_record(
    config: &BrokerConfig,
    header: &SendMessageRequestHeader,
    facts: &SendFacts<'_>,
    dead_letter: Option<DeadLetter>,
    body: Bytes,
    store_host: SocketAddr,
    now_ms: i64,
) -> BrokerResult<(Vec<StoredMessage>, Option<String>)> {
    check_body_bytes(body.len(), config.store.body_bytes_max)?;
    let mut properties =
        message_build::single_message_properties(header.properties.as_deref(), &config.broker_cluster_name, || {
            next_unique_id(store_host, now_ms)
        });
    let mut facts = facts.clone();
    if let Some(dead_letter) = &dead_letter {
        // Java marks a dead letter with delay level -1 and sends it to queue 0.
        properties.insert(keys::DELAY, "-1");
        facts.topic = &dead_letter.topic;
        facts.queue_id = dead_letter.queue_id;
    }
    check_properties_bytes(properties.encoded_len(), config.store.body_bytes_max)?;
    let transaction_id = properties.get(keys::UNIQ_KEY).map(str::to_owned);
    Ok((
        vec![message_build::single_message(&facts, properties, body)],
        transaction_id,
    ))
}

/// The records of a batch send, after Java's batch-only refusals.
fn batch_records(
    config: &BrokerConfig,
    header: &SendMessageRequestHeader,
    facts: &SendFacts<'_>,
    body: &Bytes,
) -> BrokerResult<(Vec<StoredMessage>, Option<String>)> {
    let body_bytes_max = config.store.body_bytes_max;
    let illegal = |why: IllegalMessage| BrokerError::MessageIllegal { why, body_bytes_max };
    let topic_chars = header.topic.chars().count();
    if topic_chars > TOPIC_NAME_CHARS_MAX {
        return Err(BrokerError::BatchTopicTooLong { topic_chars });
    }
    if header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        return Err(BrokerError::BatchToRetryTopic {
            topic: header.topic.clone(),
        });
    }
    check_body_bytes(body.len(), config.store.body_bytes_max)?;
    let properties = message_build::batch_properties(header.properties.as_deref(), &config.broker_cluster_name);
    // The store refuses transactional or delayed batches; so do we, before decoding.
    let transactional = sysflag::TransactionType::from_sys_flag(header.sys_flag) != sysflag::TransactionType::Not;
    if transactional || properties.get(keys::DELAY).is_some_and(|level| level != "0") {
        return Err(illegal(IllegalMessage::TransactionalOrDelayedBatch));
    }
    let messages = message_build::batch_messages(facts, &properties, body)
        .map_err(|error| illegal(IllegalMessage::BatchUndecodable { error }))?;
    if messages.is_empty() {
        return Err(illegal(IllegalMessage::EmptyBatch));
    }
    Ok((messages, properties.get(keys::UNIQ_KEY).map(str::to_owned)))
}

fn check_body_bytes(body_bytes: usize, body_bytes_max: usize) -> BrokerResult<()> {
    if body_bytes > body_bytes_max {
        return Err(BrokerError::MessageIllegal {
            why: IllegalMessage::BodyTooLarge { body_bytes },
            body_bytes_max,
        });
    }
    Ok(())
}

fn check_properties_bytes(properties_bytes: usize, body_bytes_max: usize) -> BrokerResult<()> {
    if properties_bytes > ferrocket_wire::message::properties::PROPERTIES_BYTES_MAX {
        return Err(BrokerError::MessageIllegal {
            why: IllegalMessage::PropertiesTooLarge { properties_bytes },
            body_bytes_max,
        });
    }
    Ok(())
}

/// `sysFlag` with MULTI_TAGS when the topic's filter type says so.
fn multi_tags(sys_flag: i32, config: &TopicConfig) -> i32 {
    if config.topic_filter_type == TopicFilterType::MultiTag {
        sys_flag | sysflag::MULTI_TAGS
    } else {
        sys_flag
    }
}

/// A fresh UNIQ_KEY with this broker's address, pid and a process-wide counter.
fn next_unique_id(store_host: SocketAddr, now_ms: i64) -> String {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    static PROCESS_HASH: OnceLock<i32> = OnceLock::new();
    let hash = *PROCESS_HASH.get_or_init(|| random_seed() as i32);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    message_build::unique_id(store_host.ip(), std::process::id(), hash, counter, now_ms)
}

/// A random number from the standard library's per-process hash keys and a counter.
fn random_seed() -> u64 {
    static DRAWS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemTopicSettings;

    fn topics(auto_create: bool) -> TopicTable {
        TopicTable::new(
            &SystemTopicSettings {
                cluster_name: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                auto_create_topic_enable: auto_create,
                default_topic_queue_nums: 8,
                cluster_topic_enable: true,
                broker_topic_enable: true,
                trace_topic: None,
                timer_wheel_enable: true,
            },
            0,
        )
    }

    fn header(topic: &str, queue_id: i32) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: topic.into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id,
            ..SendMessageRequestHeader::default()
        }
    }

    fn code_and_remark(result: BrokerResult<TopicConfig>) -> (ResponseCode, String) {
        let error = result.unwrap_err();
        (error.response_code(), error.to_string())
    }

    #[test]
    fn unknown_topics_are_created_from_tbw102_only_when_auto_create_is_on() {
        let mut on = topics(true);
        let config = msg_check(&mut on, &header("Fresh", 1), "10.0.0.9:1", ("10.0.0.1", 6), 0).unwrap();
        assert_eq!(
            (config.read_queue_nums, config.write_queue_nums, config.perm),
            (4, 4, 6)
        );
        let mut off = topics(false);
        let (code, remark) = code_and_remark(msg_check(
            &mut off,
            &header("Fresh", 1),
            "10.0.0.9:1",
            ("10.0.0.1", 6),
            0,
        ));
        assert_eq!(code, ResponseCode::TOPIC_NOT_EXIST);
        assert_eq!(
            remark,
            "topic[Fresh] not exist, apply first please!\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
        );
        // Retry topics are created anyway, with one queue.
        let retry = msg_check(&mut off, &header("%RETRY%cg", 0), "10.0.0.9:1", ("10.0.0.1", 6), 0).unwrap();
        assert_eq!(retry.write_queue_nums, 1);
    }

    #[test]
    fn bad_names_forbidden_topics_and_queue_ids() {
        let mut table = topics(true);
        let (code, remark) = code_and_remark(msg_check(&mut table, &header("a b", 0), "p:1", ("10.0.0.1", 6), 0));
        assert_eq!(code, ResponseCode::INVALID_PARAMETER);
        assert_eq!(
            remark,
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        );
        let (code, remark) = code_and_remark(msg_check(
            &mut table,
            &header("SCHEDULE_TOPIC_XXXX", 0),
            "p:1",
            ("10.0.0.1", 6),
            0,
        ));
        assert_eq!(
            (code, remark.as_str()),
            (
                ResponseCode::NO_PERMISSION,
                "Sending message to topic[SCHEDULE_TOPIC_XXXX] is forbidden."
            )
        );
        msg_check(&mut table, &header("T", 0), "p:1", ("10.0.0.1", 6), 0).unwrap();
        let (code, remark) = code_and_remark(msg_check(&mut table, &header("T", 4), "10.0.0.9:7", ("10.0.0.1", 6), 0));
        assert_eq!(code, ResponseCode::INVALID_PARAMETER);
        assert_eq!(
            remark,
            "request queueId[4] is illegal, TopicConfig [topicName=T, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={}] Producer: 10.0.0.9:7"
        );
        assert!(msg_check(&mut table, &header("T", -1), "p:1", ("10.0.0.1", 6), 0).is_ok());
    }

    fn facts(auto_create_group: bool, orderly: bool) -> RetryFacts {
        RetryFacts {
            request_version: 479,
            auto_create_group,
            orderly,
        }
    }

    #[test]
    fn retries_past_their_limit_or_of_orderly_groups_become_dead_letters() {
        let mut table = topics(true);
        let mut groups = SubscriptionGroupTable::new(0);
        let mut retry = header("%RETRY%cg", 0);
        retry.reconsume_times = Some(16);
        let decide = |table: &mut TopicTable, groups: &mut SubscriptionGroupTable, h: &SendMessageRequestHeader, f| {
            retry_or_dead_letter(table, groups, h, &f, 0)
        };
        assert_eq!(
            decide(&mut table, &mut groups, &retry, facts(true, false)).unwrap(),
            None
        );
        let dead = Some(DeadLetter {
            topic: "%DLQ%cg".into(),
            queue_id: 0,
        });
        assert_eq!(
            decide(&mut table, &mut groups, &retry, facts(true, true)).unwrap(),
            dead
        );
        retry.reconsume_times = Some(17);
        assert_eq!(
            decide(&mut table, &mut groups, &retry, facts(true, false)).unwrap(),
            dead
        );
        assert_eq!(table.get("%DLQ%cg").map(|c| c.write_queue_nums), Some(1));
        retry.max_reconsume_times = Some(2);
        retry.reconsume_times = Some(3);
        assert!(
            decide(&mut table, &mut groups, &retry, facts(true, false))
                .unwrap()
                .is_some()
        );
        // Clients before 3.4.9 do not send maxReconsumeTimes: the group's 16 counts.
        let old = RetryFacts {
            request_version: 96,
            ..facts(true, false)
        };
        assert_eq!(decide(&mut table, &mut groups, &retry, old).unwrap(), None);
        let error = decide(
            &mut table,
            &mut groups,
            &header("%RETRY%nobody", 0),
            facts(false, false),
        )
        .unwrap_err();
        assert_eq!(error.response_code(), ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
        assert_eq!(
            decide(&mut table, &mut groups, &header("T", 0), facts(false, true)).unwrap(),
            None
        );
    }

    #[test]
    fn a_read_only_broker_refuses_order_topics_only() {
        let mut table = topics(true);
        let mut config = crate::state::topics::new_topic("Ordered", 4, 6);
        config.order = true;
        table.update(config, "", 0).unwrap();
        let (code, remark) = code_and_remark(msg_check(
            &mut table,
            &header("Ordered", 0),
            "10.0.0.9:1",
            ("10.0.0.1", 4),
            0,
        ));
        assert_eq!(
            (code, remark.as_str()),
            (
                ResponseCode::NO_PERMISSION,
                "the broker[10.0.0.1] sending message is forbidden"
            )
        );
        assert!(msg_check(&mut table, &header("TBW102", 0), "10.0.0.9:1", ("10.0.0.1", 4), 0).is_ok());
    }
}
