//! Orderly consumers against a real broker on 127.0.0.1, on the manual clock: queue locks
//! (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) last 60 s unrenewed, whether or not their holder is still
//! connected, and a `%RETRY%` send of a group that holds a live lock becomes a dead letter at
//! once, as the Java client's orderly send-back expects (docs/protocol-notes.md, "Orderly
//! consumption"). The 2 → 3 → 2 hand-over with the official client is `OrderlyTest` in
//! interop/java.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{advance, ask, client, properties, send_v2_header, start_broker, with_header};

use std::time::Duration;

use bytes::Bytes;
use ferrocket_broker::BrokerHandle;
use ferrocket_net::Client;
use ferrocket_wire::body::{JsonBody, LockBatchRequestBody, LockBatchResponseBody, MessageQueue};
use ferrocket_wire::header::{PullMessageRequestHeader, SendMessageRequestHeaderV2};
use ferrocket_wire::message::{StoredMessage, decode_all};
use ferrocket_wire::{RemotingCommand, RequestCode};

const GROUP: &str = "orderly-cg";
/// Java's `rocketmq.broker.rebalance.lockMaxLiveTime`: a lock lapses once it is older than this.
const LOCK_LIVE: Duration = Duration::from_secs(60);
/// `PullSysFlag.FLAG_SUBSCRIPTION`.
const FLAG_SUBSCRIPTION: i32 = 0x4;

fn queues(ids: &[i32]) -> Vec<MessageQueue> {
    ids.iter()
        .map(|id| MessageQueue::new("OrderTopic", "broker-a", *id))
        .collect()
}

fn lock_request(code: RequestCode, client_id: &str, queues: &[MessageQueue]) -> RemotingCommand {
    let body = LockBatchRequestBody {
        client_id: client_id.into(),
        consumer_group: GROUP.into(),
        mq_set: queues.to_vec(),
        only_this_broker: false,
    };
    RemotingCommand::request(code).with_body(body.encode())
}

/// LOCK_BATCH_MQ from `client_id`; the queues it now holds, sorted.
async fn lock(client: &Client, broker: &BrokerHandle, client_id: &str, ids: &[i32]) -> Vec<i32> {
    let response = ask(
        client,
        broker,
        lock_request(RequestCode::LOCK_BATCH_MQ, client_id, &queues(ids)),
    )
    .await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let body = LockBatchResponseBody::decode(response.body.as_deref().unwrap()).unwrap();
    let mut held: Vec<i32> = body.lock_ok_mq_set.iter().map(|q| q.queue_id).collect();
    held.sort_unstable();
    held
}

/// What the 5.3.3 client's orderly `sendMessageBack` sends once a message reached its
/// `maxReconsumeTimes`: a plain SEND_MESSAGE_V2 to the retry topic, delay level 3 + n.
fn orderly_send_back(reconsume_times: i32, max_reconsume_times: i32) -> RemotingCommand {
    let props = properties(&[
        ("UNIQ_KEY", "7F00000100002A9F0000000000000001"),
        ("ORIGIN_MESSAGE_ID", "7F00000100002A9F0000000000000001"),
        ("RETRY_TOPIC", "OrderTopic"),
        ("DELAY", "5"),
        ("WAIT", "true"),
    ]);
    let header = SendMessageRequestHeaderV2 {
        producer_group: "CLIENT_INNER_PRODUCER".into(),
        reconsume_times: Some(reconsume_times),
        max_reconsume_times: Some(max_reconsume_times),
        ..send_v2_header(&format!("%RETRY%{GROUP}"), 0, &props)
    };
    with_header(RequestCode::SEND_MESSAGE_V2, &header).with_body(Bytes::from_static(b"poisoned"))
}

/// Everything in `topic` queue 0 from offset 0.
async fn pull_all(client: &Client, broker: &BrokerHandle, topic: &str) -> Vec<StoredMessage> {
    let header = PullMessageRequestHeader {
        consumer_group: "reader".into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: FLAG_SUBSCRIPTION,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    let response = ask(client, broker, with_header(RequestCode::PULL_MESSAGE, &header)).await;
    if response.code != 0 {
        return Vec::new();
    }
    let decoded = decode_all(response.body.as_deref().unwrap());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    decoded.messages
}

#[tokio::test(start_paused = true)]
async fn a_lock_outlives_its_holders_connection_until_it_is_older_than_sixty_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let holder = client();
    let other = client();
    assert_eq!(lock(&holder, &broker, "a", &[0, 1]).await, [0, 1]);
    advance(&broker, Duration::from_secs(20)).await;
    // The client's renewal (every 20 s) of the one queue it still holds.
    assert_eq!(lock(&holder, &broker, "a", &[0]).await, [0]);
    holder.shutdown().await;
    advance(&broker, Duration::from_secs(1)).await;
    // Java frees no lock when its holder's connection closes: the holder may still be consuming
    // for up to 30 s (its own view of the lock), so a new holder must wait out the 60 s.
    assert!(lock(&other, &broker, "b", &[0, 1]).await.is_empty());
    advance(&broker, LOCK_LIVE - Duration::from_secs(21)).await;
    assert!(
        lock(&other, &broker, "b", &[1]).await.is_empty(),
        "60 s old is not yet expired"
    );
    advance(&broker, Duration::from_millis(1)).await;
    assert_eq!(
        lock(&other, &broker, "b", &[0, 1]).await,
        [1],
        "queue 0 was renewed at 20 s"
    );
    advance(&broker, Duration::from_secs(20)).await;
    assert_eq!(lock(&other, &broker, "b", &[0, 1]).await, [0, 1]);
    // UNLOCK_BATCH_MQ from anyone but the holder changes nothing.
    let foreign = ask(
        &other,
        &broker,
        lock_request(RequestCode::UNLOCK_BATCH_MQ, "a", &queues(&[0])),
    )
    .await;
    assert_eq!(foreign.code, 0);
    assert!(lock(&client(), &broker, "c", &[0]).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_orderly_groups_retry_is_a_dead_letter_while_the_group_holds_a_live_lock() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let dlq = format!("%DLQ%{GROUP}");
    // The orderly client's own send-back is over its maximum: a dead letter, lock or not.
    let sent = ask(&client, &broker, orderly_send_back(3, 2)).await;
    assert_eq!(sent.code, 0, "{:?}", sent.remark);
    let dead = pull_all(&client, &broker, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!((&dead[0].body[..], dead[0].reconsume_times), (&b"poisoned"[..], 3));
    assert_eq!(
        dead[0].properties.get("DELAY"),
        Some("-1"),
        "Java marks a dead letter DELAY=-1"
    );
    assert_eq!(dead[0].properties.get("RETRY_TOPIC"), Some("OrderTopic"));

    // Under its maximum, a retry of a group that holds a live lock goes to the DLQ too.
    assert_eq!(lock(&client, &broker, "a", &[0]).await, [0]);
    let sent = ask(&client, &broker, orderly_send_back(1, 16)).await;
    assert_eq!(sent.code, 0, "{:?}", sent.remark);
    assert_eq!(pull_all(&client, &broker, &dlq).await.len(), 2);
    // Once every lock of the group is older than 60 s the group counts as concurrent again: the
    // same send is an ordinary (delayed) retry.
    advance(&broker, LOCK_LIVE + Duration::from_millis(1)).await;
    let sent = ask(&client, &broker, orderly_send_back(1, 16)).await;
    assert_eq!(sent.code, 0, "{:?}", sent.remark);
    assert_eq!(pull_all(&client, &broker, &dlq).await.len(), 2);
    broker.shutdown().await;
}
