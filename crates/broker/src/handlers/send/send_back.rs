//! CONSUMER_SEND_MSG_BACK (36): a consumer hands back a message it failed to consume; Java's
//! `AbstractSendMessageProcessor.consumerSendMsgBack` (store-and-ha.md §9.2).
//!
//! The stored original is copied into `%RETRY%group` (reconsume times + 1, `RETRY_TOPIC` and
//! `ORIGIN_MESSAGE_ID` kept from the first failure), or into `%DLQ%group` once it has been
//! retried `maxReconsumeTimes` times or the consumer asks for it (delay level below 0).
//!
//! A retry is put with its DELAY level, so the put hook ([`crate::state::schedule`]) parks it in
//! `SCHEDULE_TOPIC_XXXX` for that level's delay (10 s, 30 s, 1 min, ...) before it reaches the
//! retry topic.

use std::net::SocketAddr;

use ferrocket_store::{CommitLogOffset, PutStatus};
use ferrocket_wire::body::TopicConfig;
use ferrocket_wire::header::{ConsumerSendMsgBackRequestHeader, CustomHeader};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::{dlq_topic, retry_topic};
use ferrocket_wire::topic_sys_flags::topic_sys_flag;
use ferrocket_wire::{RemotingCommand, ResponseCode};

use super::{DLQ_QUEUE_NUMS, VERSION_V3_4_9, random_seed, socket_addr};
use crate::error::{BrokerError, BrokerResult, PutMessageStatus};
use crate::state::Broker;

/// Java's first retry waits at delay level 3 (10 s), one level more per retry.
const FIRST_RETRY_DELAY_LEVEL: i32 = 3;

/// Where a handed-back message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The group's retry topic, after `delay_level` (recorded in the message's DELAY property).
    Retry {
        delay_level: i32,
    },
    DeadLetter,
}

/// Java's decision: the DLQ once `reconsume_times ≥ max` or when asked (level below 0), else a
/// retry at the requested level or, for 0, at `3 + reconsume_times`.
pub fn destination(reconsume_times: i32, max_reconsume_times: i32, delay_level: i32) -> Destination {
    if reconsume_times >= max_reconsume_times || delay_level < 0 {
        return Destination::DeadLetter;
    }
    let delay_level = match delay_level {
        0 => FIRST_RETRY_DELAY_LEVEL.saturating_add(reconsume_times),
        level => level,
    };
    Destination::Retry { delay_level }
}

/// The copy Java stores: same body, flag, sysFlag, born time and host; this broker as store
/// host; reconsume times + 1; properties with RETRY_TOPIC, ORIGIN_MESSAGE_ID and WAIT=false.
pub fn handed_back_record(
    original: &StoredMessage,
    topic: &str,
    queue_id: i32,
    store_host: SocketAddr,
    delay_level: i32,
) -> StoredMessage {
    let mut properties = original.properties.clone();
    if properties.get(keys::RETRY_TOPIC).is_none() {
        properties.insert(keys::RETRY_TOPIC, original.topic.clone());
    }
    properties.insert(keys::WAIT, "false");
    // 0 for a dead letter: Java clears the level so the DLQ copy is not delayed.
    properties.insert(keys::DELAY, delay_level.to_string());
    if properties.get(keys::ORIGIN_MESSAGE_ID).is_none_or(str::is_empty) {
        properties.insert(keys::ORIGIN_MESSAGE_ID, original.offset_message_id());
    }
    let sys_flag =
        ferrocket_wire::message::sysflag::with_host_flags(original.sys_flag, &original.born_host, &store_host);
    StoredMessage {
        version: MessageVersion::for_topic_bytes(topic.len()),
        queue_id,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        prepared_transaction_offset: 0,
        topic: topic.to_owned(),
        properties,
        ..original.clone()
    }
}

/// Serves CONSUMER_SEND_MSG_BACK.
pub async fn handle(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ConsumerSendMsgBackRequestHeader::from_command(request)?;
    let config = b.config();
    let group = header.group.as_str();
    let now_ms = b.now_ms();
    let Some(group_config) = b
        .groups
        .lock()
        .find_or_auto_create(group, config.auto_create_subscription_group, now_ms)
    else {
        return Err(BrokerError::RetryGroupNotExist {
            group: group.to_owned(),
        });
    };
    if config.broker_permission & PERM_WRITE == 0 {
        return Err(BrokerError::BrokerSendForbidden {
            broker_ip: config.broker_ip1.clone(),
        });
    }
    if group_config.retry_queue_nums <= 0 {
        return Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None));
    }
    let retry = retry_topic(group);
    // The retry topic of a unit-mode consumer has a unit subscription.
    let topic_sys_flag = topic_sys_flag(false, header.unit_mode);
    let retry_config = create_registered(b, &retry, group_config.retry_queue_nums, topic_sys_flag, now_ms).await;
    let Some(retry_config) = retry_config else {
        return Err(BrokerError::RetryTopicNotCreated { topic: retry });
    };
    if retry_config.perm & PERM_WRITE == 0 {
        return Err(BrokerError::TopicSendForbidden { topic: retry });
    }
    let not_found = || BrokerError::SendBackMessageNotFound { offset: header.offset };
    let offset = CommitLogOffset::from_java_long(header.offset).ok_or_else(not_found)?;
    let original = b.store.read(|s| s.message_at(offset)).map_err(|_| not_found())?.message;
    let max_reconsume_times = match header.max_reconsume_times {
        Some(max) if request.version >= VERSION_V3_4_9 => max,
        _ => group_config.retry_max_times,
    };
    let (topic, queue_id, delay_level) =
        match destination(original.reconsume_times, max_reconsume_times, header.delay_level) {
            Destination::DeadLetter => {
                let dead = dlq_topic(group);
                let origin_topic = header.origin_topic.as_deref().unwrap_or_default();
                b.metrics.record_dead_letter(group, origin_topic, now_ms);
                if create_registered(b, &dead, DLQ_QUEUE_NUMS, 0, now_ms).await.is_none() {
                    return Err(BrokerError::RetryTopicNotCreated { topic: dead });
                }
                (dead, 0, 0)
            }
            Destination::Retry { delay_level } => {
                let queues = u64::try_from(group_config.retry_queue_nums).unwrap_or(1).max(1);
                let queue_id = i32::try_from(random_seed() % queues).unwrap_or(0);
                (retry, queue_id, delay_level)
            }
        };
    let mut record = handed_back_record(&original, &topic, queue_id, socket_addr(b.address()), delay_level);
    super::park_timer(b, &config, &mut record, now_ms)?;
    crate::state::schedule::park_if_delayed(&mut record, &config.store.message_delay_levels_ms);
    let outcome = b.store.put(record).await;
    let store_status = outcome.status;
    let replicas = match &outcome.result {
        // Only a put stored in time waits for the slaves here.
        Some(result) if store_status == PutStatus::PutOk => {
            crate::state::replication::after_put(b, &b.config(), result.end_offset, true).await
        }
        _ => None,
    };
    match PutMessageStatus::of(store_status, replicas) {
        PutMessageStatus::PutOk => Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)),
        status => Err(BrokerError::SendBackPutFailed { status }),
    }
}

/// Java's `createTopicInSendMessageBackMethod` for a retry or dead-letter topic: a new one is
/// registered with the name servers before the send-back goes on, as Java's is.
async fn create_registered(
    b: &Broker,
    topic: &str,
    queue_nums: i32,
    topic_sys_flag: i32,
    now_ms: i64,
) -> Option<TopicConfig> {
    let (config, created) = {
        let mut topics = b.topics.lock();
        let existed = topics.get(topic).is_some();
        let config =
            topics.create_retry_topic(topic, queue_nums, PERM_READ | PERM_WRITE, false, topic_sys_flag, now_ms);
        let created = !existed && config.is_some();
        (config, created)
    };
    if created {
        b.register_now().await;
    }
    config
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrocket_wire::message::MessageProperties;

    use super::*;

    #[test]
    fn destinations_follow_javas_rule() {
        assert_eq!(destination(0, 16, 0), Destination::Retry { delay_level: 3 });
        assert_eq!(destination(5, 16, 0), Destination::Retry { delay_level: 8 });
        assert_eq!(destination(5, 16, 2), Destination::Retry { delay_level: 2 });
        assert_eq!(destination(16, 16, 0), Destination::DeadLetter);
        assert_eq!(destination(0, 16, -1), Destination::DeadLetter);
        assert_eq!(
            destination(i32::MAX - 1, i32::MAX, 0),
            Destination::Retry { delay_level: i32::MAX }
        );
    }

    #[test]
    fn the_copy_keeps_the_message_and_records_its_history() {
        let original = StoredMessage {
            version: MessageVersion::V1,
            body_crc: ferrocket_wire::message::record::body_crc(b"body"),
            queue_id: 3,
            flag: 9,
            queue_offset: 17,
            physical_offset: 0x1234,
            sys_flag: 0,
            born_timestamp_ms: 1_700_000_000_000,
            born_host: socket_addr("10.0.0.9:1"),
            store_timestamp_ms: 1_700_000_000_001,
            store_host: socket_addr("192.168.1.10:10911"),
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"body"),
            topic: "TopicTest".into(),
            properties: [("TAGS", "TagA"), ("UNIQ_KEY", "U1")]
                .into_iter()
                .collect::<MessageProperties>(),
        };
        let copy = handed_back_record(&original, "%RETRY%cg", 0, socket_addr("127.0.0.1:10911"), 5);
        assert_eq!(
            (copy.topic.as_str(), copy.queue_id, copy.reconsume_times),
            ("%RETRY%cg", 0, 3)
        );
        assert_eq!(
            (copy.flag, &copy.body[..], copy.born_timestamp_ms),
            (9, &b"body"[..], 1_700_000_000_000)
        );
        assert_eq!(copy.properties.get("RETRY_TOPIC"), Some("TopicTest"));
        assert_eq!(
            copy.properties.get("ORIGIN_MESSAGE_ID"),
            Some("C0A8010A00002A9F0000000000001234")
        );
        assert_eq!(copy.properties.get("WAIT"), Some("false"));
        assert_eq!(copy.properties.get("DELAY"), Some("5"));
        assert_eq!(copy.properties.get("UNIQ_KEY"), Some("U1"));
        // A second failure keeps the first topic and id.
        let again = handed_back_record(&copy, "%DLQ%cg", 0, socket_addr("127.0.0.1:10911"), 0);
        assert_eq!(again.properties.get("RETRY_TOPIC"), Some("TopicTest"));
        assert_eq!(
            again.properties.get("ORIGIN_MESSAGE_ID"),
            Some("C0A8010A00002A9F0000000000001234")
        );
        assert_eq!(again.reconsume_times, 4);
    }
}
