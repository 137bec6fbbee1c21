//! What the broker's integration tests share: a broker on 127.0.0.1 port 0 over a temp store,
//! a plain client, and request builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_broker::{BrokerConfig, BrokerHandle, Clock};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, JsonBody, MessageModel, SubscriptionData,
};
use ferrocket_wire::header::{CreateTopicRequestHeader, CustomHeader, SendMessageRequestHeaderV2};
use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::{RemotingCommand, RequestCode};

/// Generous: only a broken broker takes this long to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A broker with no name server and small files (the tests write a handful of messages),
/// adjusted by `tweak`, on a manual clock that starts at the wall clock's now and moves only by
/// [`advance`].
pub async fn start_broker(dir: &Path, tweak: impl FnOnce(&mut BrokerConfig)) -> BrokerHandle {
    start_broker_on(dir, Clock::manual(Clock::system().now_ms()), tweak).await
}

/// [`start_broker`] on a given clock (a restarted broker keeps its predecessor's time).
pub async fn start_broker_on(dir: &Path, clock: Clock, tweak: impl FnOnce(&mut BrokerConfig)) -> BrokerHandle {
    let mut config = BrokerConfig::standalone(dir, "127.0.0.1", 0, "127.0.0.1:1");
    config.namesrv_addr = None;
    config.store.commit_log_segment_bytes = 1 << 24;
    config.store.consume_queue_file_entries = 1000;
    tweak(&mut config);
    ferrocket_broker::start(config, clock, None).await.unwrap()
}

/// Moves the broker's clock and tokio's paused clock forward together, and lets the broker's
/// timers run. Tests run with `start_paused`, so this costs no real time.
pub async fn advance(broker: &BrokerHandle, by: Duration) {
    broker.broker().clock().advance(i64::try_from(by.as_millis()).unwrap());
    tokio::time::advance(by).await;
}

/// Advances time in `step`s until `condition` holds; fails after [`TIMEOUT`] of test time.
pub async fn advance_until<F: Future<Output = bool>>(
    broker: &BrokerHandle,
    what: &str,
    step: Duration,
    mut condition: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        advance(broker, step).await;
    }
}

pub fn client() -> Client {
    Client::new(Router::new(), ClientConfig::default())
}

pub async fn ask(client: &Client, broker: &BrokerHandle, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(&broker.local_addr().to_string(), request, TIMEOUT)
        .await
        .unwrap()
}

pub fn with_header(code: RequestCode, header: &impl CustomHeader) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(header.to_ext_fields())
}

pub fn properties(pairs: &[(&str, &str)]) -> String {
    pairs.iter().copied().collect::<MessageProperties>().encode().unwrap()
}

/// SEND_MESSAGE_V2's header as the Java client fills it, for `topic`/`queue_id`.
pub fn send_v2_header(topic: &str, queue_id: i32, props: &str) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    }
}

pub fn send_v2(topic: &str, queue_id: i32, props: &str, body: &'static [u8]) -> RemotingCommand {
    with_header(RequestCode::SEND_MESSAGE_V2, &send_v2_header(topic, queue_id, props))
        .with_body(Bytes::from_static(body))
}

/// UPDATE_AND_CREATE_TOPIC with `queues` read and write queues, readable and writable.
pub fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    create_topic_with(topic, queues, queues, 6)
}

/// UPDATE_AND_CREATE_TOPIC with every number the caller's.
pub fn create_topic_with(topic: &str, read: i32, write: i32, perm: i32) -> RemotingCommand {
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header)
}

/// HEART_BEAT of one clustering consumer of `group` subscribed to all of `topic`.
pub fn consumer_heartbeat(client_id: &str, group: &str, topic: &str, sub_version: i64) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: "*".into(),
                sub_version,
                ..SubscriptionData::default()
            }],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode())
}

/// Everything in `topic`/`queue_id` from offset 0 as group `cg` pulls it (no hold); empty when
/// the pull finds nothing.
pub async fn pull_queue(
    client: &Client,
    broker: &BrokerHandle,
    topic: &str,
    queue_id: i32,
) -> Vec<ferrocket_wire::message::StoredMessage> {
    let header = ferrocket_wire::header::PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: 0,
        max_msg_nums: 32,
        // `PullSysFlag.FLAG_SUBSCRIPTION`, no suspend flag: answered at once.
        sys_flag: 0x4,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let response = ask(client, broker, with_header(RequestCode::PULL_MESSAGE, &header)).await;
    if response.code != 0 {
        return Vec::new();
    }
    let decoded = ferrocket_wire::message::decode_all(response.body.as_deref().unwrap_or_default());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    decoded.messages
}

/// Fails with the remark unless `response` is SUCCESS.
pub fn ok_code(response: &RemotingCommand) {
    assert_eq!(response.code, 0, "{:?}", response.remark);
}
