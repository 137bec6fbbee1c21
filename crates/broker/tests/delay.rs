//! Delayed messages against a real broker on 127.0.0.1 (store-and-ha.md §10): a message sent
//! with a DELAY level, and a consumer's retry, wait in `SCHEDULE_TOPIC_XXXX` and reach their
//! real topic only after their level's delay, with the message intact; the level's delay offset
//! advances and is persisted, so parked messages are delivered once across a restart, even when
//! the schedule topic's consume queue has to be rebuilt from the commit log.
//!
//! Levels are set to whole seconds (Java's units stop at seconds). The tests run on paused time:
//! the broker's clock and tokio's move together by `common::advance`, so seconds of delay cost
//! none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{TIMEOUT, advance, ask, client, properties, send_v2_header, start_broker, start_broker_on, with_header};

use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use ferrocket_broker::BrokerHandle;
use ferrocket_net::Client;
use ferrocket_wire::body::{DelayOffsetSerializeWrapper, JsonBody};
use ferrocket_wire::header::{
    ConsumerSendMsgBackRequestHeader, CustomHeader, PullMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, ViewMessageRequestHeader,
};
use ferrocket_wire::message::{OffsetMessageId, StoredMessage, decode_all};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

const GROUP: &str = "cg";
/// `PullSysFlag.FLAG_SUBSCRIPTION`.
const FLAG_SUBSCRIPTION: i32 = 0x4;
/// How early a delivery may look, measured from before the send: the broker's manual clock and
/// tokio's paused clock move together, so only rounding is left.
const CLOCK_SLACK: Duration = Duration::from_millis(1);

/// A send whose flag (5) must survive the delay.
fn send(topic: &str, queue_id: i32, props: &str, body: &'static [u8]) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        flag: 5,
        ..send_v2_header(topic, queue_id, props)
    };
    with_header(RequestCode::SEND_MESSAGE_V2, &header).with_body(Bytes::from_static(body))
}

fn ok_send(response: &RemotingCommand) -> SendMessageResponseHeader {
    assert_eq!(response.code, 0, "{:?}", response.remark);
    SendMessageResponseHeader::from_command(response).unwrap()
}

fn pull(topic: &str, queue_id: i32, subscription: &str) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: FLAG_SUBSCRIPTION,
        suspend_timeout_millis: 10_000,
        subscription: Some(subscription.into()),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    with_header(RequestCode::PULL_MESSAGE, &header)
}

/// Everything in `topic`/`queue_id` from offset 0; empty when the pull finds nothing.
async fn pull_all(client: &Client, broker: &BrokerHandle, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
    let response = ask(client, broker, pull(topic, queue_id, "*")).await;
    if response.code == ResponseCode::PULL_NOT_FOUND.0 {
        return Vec::new();
    }
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let decoded = decode_all(response.body.as_deref().unwrap());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    decoded.messages
}

/// Pulls until `topic`/`queue_id` holds `count` messages; returns them and when they were seen.
async fn wait_for(
    client: &Client,
    broker: &BrokerHandle,
    topic: &str,
    queue_id: i32,
    count: usize,
) -> (Vec<StoredMessage>, Instant) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let messages = pull_all(client, broker, topic, queue_id).await;
        if messages.len() >= count {
            return (messages, Instant::now());
        }
        assert!(Instant::now() < deadline, "timed out waiting for {count} in {topic}");
        advance(broker, Duration::from_millis(20)).await;
    }
}

async fn delay_offsets(client: &Client, broker: &BrokerHandle) -> DelayOffsetSerializeWrapper {
    let response = ask(
        client,
        broker,
        RemotingCommand::request(RequestCode::GET_ALL_DELAY_OFFSET),
    )
    .await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    DelayOffsetSerializeWrapper::decode(response.body.as_deref().unwrap()).unwrap()
}

/// Polls GET_ALL_DELAY_OFFSET until `level` shows `offset` (it is recorded right after the put).
async fn wait_for_delay_offset(client: &Client, broker: &BrokerHandle, level: i32, offset: i64) {
    let deadline = Instant::now() + TIMEOUT;
    while delay_offsets(client, broker).await.offset_table.get(&level) != Some(&offset) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for level {level} at {offset}"
        );
        advance(broker, Duration::from_millis(20)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_delayed_message_reaches_its_topic_only_after_its_delay_and_intact() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.store.message_delay_levels_ms = vec![1_000, 5_000]
    })
    .await;
    let client = client();
    let props = properties(&[
        ("TAGS", "TagA"),
        ("KEYS", "k1"),
        ("DELAY", "1"),
        ("UNIQ_KEY", "AC110001000100000000000000000042"),
    ]);
    let sent_at = Instant::now();
    let sent = ok_send(&ask(&client, &broker, send("DelayTopic", 1, &props, b"later")).await);
    // The producer is told the queue it chose; the offset is the schedule queue's.
    assert_eq!((sent.queue_id, sent.queue_offset), (1, 0));
    assert!(pull_all(&client, &broker, "DelayTopic", 1).await.is_empty());

    // Parked: level 1 is schedule queue 0, with the real topic and queue recorded.
    let view = ViewMessageRequestHeader {
        topic: None,
        offset: OffsetMessageId::decode(&sent.msg_id).unwrap().physical_offset,
    };
    let viewed = ask(&client, &broker, with_header(RequestCode::VIEW_MESSAGE_BY_ID, &view)).await;
    let parked = &decode_all(viewed.body.as_deref().unwrap()).messages[0];
    assert_eq!((parked.topic.as_str(), parked.queue_id), ("SCHEDULE_TOPIC_XXXX", 0));
    assert_eq!(parked.properties.get("REAL_TOPIC"), Some("DelayTopic"));
    assert_eq!(parked.properties.get("REAL_QID"), Some("1"));

    let (delivered, seen_at) = wait_for(&client, &broker, "DelayTopic", 1, 1).await;
    assert!(
        seen_at - sent_at + CLOCK_SLACK >= Duration::from_secs(1),
        "{:?}",
        seen_at - sent_at
    );
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(
        (message.topic.as_str(), message.queue_id, message.queue_offset),
        ("DelayTopic", 1, 0)
    );
    assert_eq!((&message.body[..], message.flag), (&b"later"[..], 5));
    assert_eq!(message.born_timestamp_ms, parked.born_timestamp_ms);
    assert!(message.store_timestamp_ms >= parked.store_timestamp_ms + 1_000);
    for (key, value) in [
        ("TAGS", "TagA"),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "AC110001000100000000000000000042"),
        // Java's `messageTimeUp` serialises the properties before clearing DELAY: all stay.
        ("DELAY", "1"),
        ("REAL_TOPIC", "DelayTopic"),
        ("REAL_QID", "1"),
    ] {
        assert_eq!(message.properties.get(key), Some(value), "{key}");
    }
    // The entry in the real topic has the tags hash again: a tag subscription finds it.
    let tagged = ask(&client, &broker, pull("DelayTopic", 1, "TagA")).await;
    assert_eq!(tagged.code, 0, "{:?}", tagged.remark);

    wait_for_delay_offset(&client, &broker, 1, 1).await;
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_level_above_the_highest_waits_the_highest_delay() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.store.message_delay_levels_ms = vec![60_000, 1_000]
    })
    .await;
    let client = client();
    let props = properties(&[("DELAY", "7")]);
    let sent_at = Instant::now();
    ok_send(&ask(&client, &broker, send("CappedTopic", 0, &props, b"capped")).await);
    let (delivered, seen_at) = wait_for(&client, &broker, "CappedTopic", 0, 1).await;
    assert!(seen_at - sent_at + CLOCK_SLACK >= Duration::from_secs(1));
    // Java rewrites the level to the highest one.
    assert_eq!(delivered[0].properties.get("DELAY"), Some("2"));
    wait_for_delay_offset(&client, &broker, 2, 1).await;
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_reaches_the_retry_topic_only_after_its_delay() {
    let dir = tempfile::tempdir().unwrap();
    // A first retry waits at level 3.
    let broker = start_broker(dir.path(), |config| {
        config.store.message_delay_levels_ms = vec![60_000, 60_000, 1_000]
    })
    .await;
    let client = client();
    let props = properties(&[("TAGS", "TagA"), ("UNIQ_KEY", "AC110001000100000000000000000043")]);
    let sent = ok_send(&ask(&client, &broker, send("BackTopic", 0, &props, b"retry me")).await);
    let header = ConsumerSendMsgBackRequestHeader {
        offset: OffsetMessageId::decode(&sent.msg_id).unwrap().physical_offset,
        group: GROUP.into(),
        delay_level: 0,
        origin_msg_id: Some("AC110001000100000000000000000043".into()),
        origin_topic: Some("BackTopic".into()),
        max_reconsume_times: Some(16),
        ..Default::default()
    };
    let sent_back_at = Instant::now();
    let response = ask(
        &client,
        &broker,
        with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header),
    )
    .await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    assert!(pull_all(&client, &broker, "%RETRY%cg", 0).await.is_empty());

    let (retried, seen_at) = wait_for(&client, &broker, "%RETRY%cg", 0, 1).await;
    assert!(seen_at - sent_back_at + CLOCK_SLACK >= Duration::from_secs(1));
    let retry = &retried[0];
    assert_eq!((&retry.body[..], retry.reconsume_times), (&b"retry me"[..], 1));
    assert_eq!(retry.properties.get("RETRY_TOPIC"), Some("BackTopic"));
    assert_eq!(retry.properties.get("REAL_TOPIC"), Some("%RETRY%cg"));
    assert_eq!(retry.properties.get("DELAY"), Some("3"));
    wait_for_delay_offset(&client, &broker, 3, 1).await;
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn parked_messages_are_delivered_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let levels = [1_000, 4_000];
    let broker = start_broker(dir.path(), |config| {
        config.store.message_delay_levels_ms = levels.to_vec()
    })
    .await;
    let client = client();
    let sent_at = Instant::now();
    let parked: [(&str, &'static [u8]); 2] = [("1", b"first"), ("2", b"second")];
    for (level, body) in parked {
        let props = properties(&[("DELAY", level)]);
        ok_send(&ask(&client, &broker, send("RestartTopic", 0, &props, body)).await);
    }
    wait_for(&client, &broker, "RestartTopic", 0, 1).await;
    wait_for_delay_offset(&client, &broker, 1, 1).await;
    // Level 2's entry is waiting; Java records its offset too.
    wait_for_delay_offset(&client, &broker, 2, 0).await;
    let clock = broker.broker().clock().clone();
    broker.shutdown().await;
    let saved = std::fs::read_to_string(dir.path().join("store/config/delayOffset.json")).unwrap();
    assert!(saved.contains("\"offsetTable\""), "{saved}");

    // The schedule topic's queue is rebuilt from the commit log: its entries must again carry
    // delivery times, or the second message would be delivered at once. (Without the checkpoint
    // the store re-dispatches the last segments whole, as Java does; with it, only the tail.)
    std::fs::remove_dir_all(dir.path().join("store/consumequeue/SCHEDULE_TOPIC_XXXX")).unwrap();
    std::fs::remove_file(dir.path().join("store/checkpoint")).unwrap();
    let broker = start_broker_on(dir.path(), clock, |config| {
        config.store.message_delay_levels_ms = levels.to_vec()
    })
    .await;
    let offsets = delay_offsets(&client, &broker).await.offset_table;
    assert_eq!((offsets.get(&1), offsets.get(&2)), (Some(&1), Some(&0)));
    let (messages, seen_at) = wait_for(&client, &broker, "RestartTopic", 0, 2).await;
    assert!(
        seen_at - sent_at + CLOCK_SLACK >= Duration::from_secs(4),
        "{:?}",
        seen_at - sent_at
    );
    let bodies: Vec<&[u8]> = messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [&b"first"[..], b"second"]);
    wait_for_delay_offset(&client, &broker, 2, 1).await;
    // Nothing is delivered twice.
    advance(&broker, Duration::from_millis(300)).await;
    assert_eq!(pull_all(&client, &broker, "RestartTopic", 0).await.len(), 2);
    broker.shutdown().await;
}
