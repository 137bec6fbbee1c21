//! The data path against a real broker on 127.0.0.1, driven by our transport client as the Java
//! client drives a Java broker: sends in the three forms pulled back byte for byte, long polling
//! released by a send, tag filters, offsets, heartbeats with NOTIFY_CONSUMER_IDS_CHANGED seen by
//! another connection, resets, queries, and bad input answered with Java's codes while the
//! broker keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{TIMEOUT, ask, client, properties, send_v2, start_broker, with_header};

use std::time::Duration;

use tokio::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::body::{
    ConsumeFromWhere, ConsumeType, ConsumerConnection, ConsumerData, ConsumerIdList, HeartbeatData, JsonBody,
    LockBatchRequestBody, LockBatchResponseBody, MessageModel, MessageQueue, ProducerData, ResetOffsetBody,
    SubscriptionData,
};
use ferrocket_wire::header::{
    BoundaryType, ConsumerSendMsgBackRequestHeader, CustomHeader, GetConsumerListByGroupRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader, GetMinOffsetResponseHeader,
    NotifyConsumerIdsChangedRequestHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, QueryMessageRequestHeader,
    ResetOffsetRequestHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, UnregisterClientRequestHeader,
    UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
};
use ferrocket_wire::message::tag_hash::TagExpression;
use ferrocket_wire::message::{BatchMember, OffsetMessageId, StoredMessage, decode_all, encode_batch};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::mpsc;

const GROUP: &str = "cg";
/// `PullSysFlag` bits.
const FLAG_COMMIT_OFFSET: i32 = 0x1;
const FLAG_SUSPEND: i32 = 0x2;
const FLAG_SUBSCRIPTION: i32 = 0x4;

fn send_v1(topic: &str, queue_id: i32, props: &str, body: Bytes) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        flag: 3,
        born_timestamp: 1_700_000_000_001,
        properties: Some(props.into()),
        batch: Some(false),
        ..SendMessageRequestHeader::default()
    };
    with_header(RequestCode::SEND_MESSAGE, &header).with_body(body)
}

fn send_batch(topic: &str, queue_id: i32, count: usize) -> RemotingCommand {
    let members: Vec<BatchMember> = (0..count)
        .map(|i| BatchMember {
            flag: 0,
            body: Bytes::from(format!("batch-{i}")),
            properties: [("UNIQ_KEY", format!("BATCHKEY{i}")), ("TAGS", "TagB".into())]
                .into_iter()
                .collect(),
        })
        .collect();
    let mut body = BytesMut::new();
    encode_batch(&members, &mut body).unwrap();
    let header = SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        born_timestamp: 1_700_000_000_002,
        properties: Some(properties(&[("WAIT", "true")])),
        batch: Some(true),
        ..SendMessageRequestHeaderV2::default()
    };
    with_header(RequestCode::SEND_BATCH_MESSAGE, &header).with_body(body.freeze())
}

fn pull(topic: &str, queue_id: i32, offset: i64, sys_flag: i32, subscription: Option<&str>) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag,
        suspend_timeout_millis: 10_000,
        subscription: subscription.map(str::to_owned),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    with_header(RequestCode::PULL_MESSAGE, &header)
}

fn ok_send(response: &RemotingCommand) -> SendMessageResponseHeader {
    assert_eq!(response.code, 0, "{:?}", response.remark);
    assert_eq!(response.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(response.ext("TRACE_ON"), Some("true"));
    SendMessageResponseHeader::from_command(response).unwrap()
}

fn pull_header(response: &RemotingCommand) -> PullMessageResponseHeader {
    PullMessageResponseHeader::from_command(response).unwrap()
}

fn pulled(response: &RemotingCommand) -> Vec<StoredMessage> {
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let decoded = decode_all(response.body.as_deref().unwrap());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    decoded.messages
}

#[tokio::test(start_paused = true)]
async fn v1_v2_and_batch_sends_pull_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let props = properties(&[
        ("TAGS", "TagA"),
        ("KEYS", "k1"),
        ("WAIT", "true"),
        ("UNIQ_KEY", "AC11000100012A9F0000000000000001"),
    ]);
    let v2 = ok_send(&ask(&client, &broker, send_v2("DataTopic", 0, &props, b"hello")).await);
    assert_eq!((v2.queue_id, v2.queue_offset), (0, 0));
    assert_eq!(v2.transaction_id.as_deref(), Some("AC11000100012A9F0000000000000001"));
    let v1 = ok_send(
        &ask(
            &client,
            &broker,
            send_v1(
                "DataTopic",
                0,
                &properties(&[("TAGS", "TagB")]),
                Bytes::from_static(b"world"),
            ),
        )
        .await,
    );
    assert_eq!(v1.queue_offset, 1);
    // The broker made up a UNIQ_KEY for the message that had none.
    assert_eq!(v1.transaction_id.as_deref().map(str::len), Some(32));
    let batch = ok_send(&ask(&client, &broker, send_batch("DataTopic", 0, 3)).await);
    assert_eq!(batch.queue_offset, 2);
    let ids: Vec<OffsetMessageId> = [v2.msg_id.as_str(), v1.msg_id.as_str()]
        .into_iter()
        .chain(batch.msg_id.split(','))
        .map(|id| OffsetMessageId::decode(id).unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(
        ids.iter()
            .all(|id| id.store_host.to_string() == broker.broker().address())
    );

    let response = ask(&client, &broker, pull("DataTopic", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    let header = pull_header(&response);
    assert_eq!(
        (header.next_begin_offset, header.min_offset, header.max_offset),
        (5, 0, 5)
    );
    assert_eq!(response.remark.as_deref(), Some("FOUND"));
    let messages = pulled(&response);
    let bodies: Vec<&[u8]> = messages.iter().map(|m| m.body.as_ref()).collect();
    assert_eq!(bodies, [&b"hello"[..], b"world", b"batch-0", b"batch-1", b"batch-2"]);
    for (index, message) in messages.iter().enumerate() {
        assert_eq!(message.topic, "DataTopic");
        assert_eq!(message.queue_offset, index as i64);
        assert_eq!(message.physical_offset, ids[index].physical_offset);
        assert_eq!(message.born_host.ip().to_string(), "127.0.0.1");
        assert_eq!(message.properties.get("CLUSTER"), Some("DefaultCluster"));
        assert!(message.body_crc_matches());
    }
    assert_eq!(messages[0].properties.get("KEYS"), Some("k1"));
    assert_eq!(messages[1].flag, 3);
    assert_eq!(messages[3].properties.get("UNIQ_KEY"), Some("BATCHKEY1"));
    assert_eq!(messages[3].properties.get("WAIT"), Some("true"));
    assert_eq!(messages[0].born_timestamp_ms, 1_700_000_000_000);

    // Every record pulled is byte for byte the one VIEW_MESSAGE_BY_ID returns, and re-encodes
    // to the same bytes.
    let body = response.body.clone().unwrap();
    let mut at = 0;
    for (message, id) in messages.iter().zip(&ids) {
        let view = ViewMessageRequestHeader {
            topic: None,
            offset: id.physical_offset,
        };
        let viewed = ask(&client, &broker, with_header(RequestCode::VIEW_MESSAGE_BY_ID, &view)).await;
        assert_eq!(viewed.code, 0);
        let record = viewed.body.unwrap();
        assert_eq!(&body[at..at + record.len()], &record[..]);
        let mut encoded = BytesMut::new();
        message.encode(&mut encoded).unwrap();
        assert_eq!(&encoded[..], &record[..]);
        at += record.len();
    }
    assert_eq!(at, body.len());
    broker.shutdown().await;
}

/// Polls `condition` until it holds, moving paused time on between polls; the broker's state
/// changes on its own tasks.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::advance(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_held_pull_is_released_by_a_send_or_answered_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    ok_send(&ask(&client, &broker, send_v2("PollTopic", 1, "", b"first")).await);
    let addr = broker.local_addr().to_string();
    let started = Instant::now();
    let held = client
        .invoke_async(
            &addr,
            pull("PollTopic", 1, 1, FLAG_SUBSCRIPTION | FLAG_SUSPEND, Some("*")),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let holds = std::sync::Arc::clone(&broker.broker().pull_holds);
    eventually("the pull to be held", || holds.len() == 1).await;
    ok_send(&ask(&client, &broker, send_v2("PollTopic", 1, "", b"second")).await);
    let response = held.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the send did not release the pull"
    );
    let messages = pulled(&response);
    assert_eq!(messages.len(), 1);
    assert_eq!(&messages[0].body[..], b"second");
    assert!(holds.is_empty());

    // Nothing arrives: PULL_NOT_FOUND when the suspend time is up.
    let mut request = pull("PollTopic", 1, 2, FLAG_SUBSCRIPTION | FLAG_SUSPEND, Some("*"));
    if let Some(fields) = request.ext_fields.as_mut() {
        fields.insert("suspendTimeoutMillis", "300");
    }
    let started = Instant::now();
    let response = ask(&client, &broker, request).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.code, ResponseCode::PULL_NOT_FOUND.0);
    assert_eq!(response.remark.as_deref(), Some("OFFSET_OVERFLOW_ONE"));
    assert_eq!(pull_header(&response).next_begin_offset, 2);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn tag_filters_pass_only_subscribed_tags() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    for tag in ["TagA", "TagB", "TagC"] {
        let props = properties(&[("TAGS", tag)]);
        ok_send(&ask(&client, &broker, send_v2("TagTopic", 0, &props, b"x")).await);
    }
    let response = ask(
        &client,
        &broker,
        pull("TagTopic", 0, 0, FLAG_SUBSCRIPTION, Some("TagA || TagC")),
    )
    .await;
    let tags: Vec<String> = pulled(&response)
        .iter()
        .map(|m| m.properties.get("TAGS").unwrap().to_owned())
        .collect();
    assert_eq!(tags, ["TagA", "TagC"]);
    assert_eq!(pull_header(&response).next_begin_offset, 3);
    let response = ask(
        &client,
        &broker,
        pull("TagTopic", 0, 0, FLAG_SUBSCRIPTION, Some("TagZ")),
    )
    .await;
    assert_eq!(response.code, ResponseCode::PULL_RETRY_IMMEDIATELY.0);
    assert_eq!(response.remark.as_deref(), Some("NO_MATCHED_MESSAGE"));
    assert_eq!(pull_header(&response).next_begin_offset, 3);
    broker.shutdown().await;
}

fn query_offset(topic: &str, queue_id: i32, set_zero: Option<bool>) -> RemotingCommand {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: topic.into(),
        queue_id,
        set_zero_if_not_found: set_zero,
        ..Default::default()
    };
    with_header(RequestCode::QUERY_CONSUMER_OFFSET, &header)
}

fn update_offset(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        commit_offset: offset,
        ..Default::default()
    };
    with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header)
}

fn offset_of(response: &RemotingCommand) -> i64 {
    assert_eq!(response.code, 0, "{:?}", response.remark);
    QueryConsumerOffsetResponseHeader::from_command(response)
        .unwrap()
        .offset
}

#[tokio::test(start_paused = true)]
async fn new_groups_start_by_javas_rule_and_commits_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    for body in [&b"a"[..], b"b", b"c"] {
        ok_send(&ask(&client, &broker, send_v2("OffsetTopic", 0, "", body)).await);
    }
    // A new group on a queue that still starts at 0 in memory starts at 0 ...
    assert_eq!(
        offset_of(&ask(&client, &broker, query_offset("OffsetTopic", 0, None)).await),
        0
    );
    // ... unless told not to; an empty queue has nothing to start from.
    let response = ask(&client, &broker, query_offset("OffsetTopic", 0, Some(false))).await;
    assert_eq!(response.code, ResponseCode::QUERY_NOT_FOUND.0);
    assert_eq!(
        response.remark.as_deref(),
        Some("Not found, do not set to zero, maybe this group boot first")
    );
    let response = ask(&client, &broker, query_offset("OffsetTopic", 1, None)).await;
    assert_eq!(response.code, ResponseCode::QUERY_NOT_FOUND.0);
    assert_eq!(
        response.remark.as_deref(),
        Some("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
    );

    // A pull creates the group; UPDATE_CONSUMER_OFFSET and a pull's commit flag both commit.
    ask(
        &client,
        &broker,
        pull("OffsetTopic", 0, 0, FLAG_SUBSCRIPTION, Some("*")),
    )
    .await;
    let response = ask(&client, &broker, update_offset(GROUP, "OffsetTopic", 0, 2)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    assert_eq!(
        offset_of(&ask(&client, &broker, query_offset("OffsetTopic", 0, Some(false))).await),
        2
    );
    let mut commit = pull("OffsetTopic", 0, 3, FLAG_SUBSCRIPTION | FLAG_COMMIT_OFFSET, Some("*"));
    if let Some(fields) = commit.ext_fields.as_mut() {
        fields.insert("commitOffset", "3");
    }
    ask(&client, &broker, commit).await;
    assert_eq!(
        offset_of(&ask(&client, &broker, query_offset("OffsetTopic", 0, None)).await),
        3
    );
    let response = ask(&client, &broker, update_offset("nobody", "OffsetTopic", 0, 1)).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST.0,
            Some("Group nobody not exist!")
        )
    );
    let response = ask(&client, &broker, update_offset(GROUP, "NoTopic", 0, 1)).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::TOPIC_NOT_EXIST.0, Some("Topic NoTopic not exist!"))
    );

    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn queue_bounds_store_times_and_searches_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    for body in [&b"a"[..], b"b", b"c"] {
        ok_send(&ask(&client, &broker, send_v2("OffsetTopic", 0, "", body)).await);
    }
    let max = GetMaxOffsetRequestHeader {
        topic: "OffsetTopic".into(),
        queue_id: 0,
        ..Default::default()
    };
    let response = ask(&client, &broker, with_header(RequestCode::GET_MAX_OFFSET, &max)).await;
    assert_eq!(GetMaxOffsetResponseHeader::from_command(&response).unwrap().offset, 3);
    let min = GetMinOffsetRequestHeader {
        topic: "OffsetTopic".into(),
        queue_id: 0,
        ..Default::default()
    };
    let response = ask(&client, &broker, with_header(RequestCode::GET_MIN_OFFSET, &min)).await;
    assert_eq!(GetMinOffsetResponseHeader::from_command(&response).unwrap().offset, 0);
    let earliest = GetEarliestMsgStoretimeRequestHeader {
        topic: "OffsetTopic".into(),
        queue_id: 0,
        ..Default::default()
    };
    let response = ask(
        &client,
        &broker,
        with_header(RequestCode::GET_EARLIEST_MSG_STORETIME, &earliest),
    )
    .await;
    let stored_at = GetEarliestMsgStoretimeResponseHeader::from_command(&response)
        .unwrap()
        .timestamp;
    assert!(stored_at > 1_700_000_000_000);
    let lower = None;
    let upper = Some(BoundaryType::Upper);
    for (timestamp, boundary_type, expected) in
        [(0, lower, 0), (i64::MAX, lower, 3), (i64::MAX, upper, 2), (0, upper, 0)]
    {
        let search = SearchOffsetRequestHeader {
            topic: "OffsetTopic".into(),
            queue_id: 0,
            timestamp,
            boundary_type,
            ..Default::default()
        };
        let response = ask(
            &client,
            &broker,
            with_header(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &search),
        )
        .await;
        assert_eq!(
            SearchOffsetResponseHeader::from_command(&response).unwrap().offset,
            expected
        );
    }
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_reset_moves_the_next_pull_and_holds_off_stale_commits() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    for body in [&b"a"[..], b"b"] {
        ok_send(&ask(&client, &broker, send_v2("ResetTopic", 0, "", body)).await);
    }
    ask(&client, &broker, pull("ResetTopic", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    let reset = ResetOffsetRequestHeader {
        group: GROUP.into(),
        topic: "ResetTopic".into(),
        queue_id: -1,
        timestamp: -1,
        force: true,
        ..Default::default()
    };
    let response = ask(
        &client,
        &broker,
        with_header(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &reset),
    )
    .await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let body = ResetOffsetBody::decode(response.body.as_deref().unwrap()).unwrap();
    let offsets: Vec<(i32, i64)> = body
        .offset_table
        .iter()
        .map(|(queue, offset)| (queue.queue_id, *offset))
        .collect();
    assert_eq!(offsets, [(0, 2), (1, 0), (2, 0), (3, 0)]);
    let response = ask(&client, &broker, update_offset(GROUP, "ResetTopic", 0, 0)).await;
    assert_eq!(response.remark.as_deref(), Some("Offset has been previously reset"));
    let response = ask(&client, &broker, pull("ResetTopic", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::PULL_OFFSET_MOVED.0, Some("OFFSET_RESET"))
    );
    assert_eq!(pull_header(&response).next_begin_offset, 2);
    assert_eq!(
        offset_of(&ask(&client, &broker, query_offset("ResetTopic", 0, None)).await),
        2
    );
    // A pull held at the end is answered by the next reset at once, not at its timeout.
    let addr = broker.local_addr().to_string();
    let held_pull = pull("ResetTopic", 0, 2, FLAG_SUBSCRIPTION | FLAG_SUSPEND, Some("*"));
    let held = client
        .invoke_async(&addr, held_pull, Duration::from_secs(30))
        .await
        .unwrap();
    let holds = std::sync::Arc::clone(&broker.broker().pull_holds);
    eventually("the pull to be held", || holds.len() == 1).await;
    let started = Instant::now();
    let to_start = ResetOffsetRequestHeader {
        timestamp: 0,
        ..reset.clone()
    };
    let response = ask(
        &client,
        &broker,
        with_header(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &to_start),
    )
    .await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let response = held.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(response.remark.as_deref(), Some("OFFSET_RESET"));
    assert_eq!(pull_header(&response).next_begin_offset, 0);
    let missing = ResetOffsetRequestHeader {
        topic: "NoTopic".into(),
        ..reset
    };
    let response = ask(
        &client,
        &broker,
        with_header(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &missing),
    )
    .await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::TOPIC_NOT_EXIST.0, Some("Topic NoTopic does not exist"))
    );
    broker.shutdown().await;
}

/// A consumer process: its own connection, answering what the broker asks it.
/// `useServerSideResetOffset=false` (Java 4.x): the reset goes to the online consumers in a
/// RESET_CONSUMER_CLIENT_OFFSET; with none online the admin hears CONSUMER_NOT_ONLINE.
#[tokio::test(start_paused = true)]
async fn a_client_side_reset_is_sent_to_the_online_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| config.use_server_side_reset_offset = false).await;
    let admin = client();
    let (sender, mut notices) = mpsc::unbounded_channel();
    let router = Router::new().route(
        RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
        move |request: RemotingCommand, _: ConnectionHandle| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(request);
                None
            }
        },
    );
    let mut consumer = Consumer::new("10.0.0.9@9");
    consumer.client = Client::new(router, ClientConfig::default());
    // The heartbeat creates the group, which offsets need.
    assert_eq!(ask(&consumer.client, &broker, consumer.heartbeat()).await.code, 0);
    for body in [&b"a"[..], b"b"] {
        ok_send(&ask(&admin, &broker, send_v2("ClientReset", 0, "", body)).await);
    }
    let queues = broker
        .broker()
        .topics
        .lock()
        .get("ClientReset")
        .unwrap()
        .write_queue_nums;
    for queue_id in 0..queues {
        let committed = if queue_id == 0 { 2 } else { 0 };
        let response = ask(
            &admin,
            &broker,
            update_offset(GROUP, "ClientReset", queue_id, committed),
        )
        .await;
        assert_eq!(response.code, 0, "{:?}", response.remark);
    }
    let reset = ResetOffsetRequestHeader {
        group: GROUP.into(),
        topic: "ClientReset".into(),
        timestamp: 0,
        force: false,
        ..Default::default()
    };
    let invoke = || with_header(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &reset);
    let response = ask(&admin, &broker, invoke()).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let notice = tokio::time::timeout(TIMEOUT, notices.recv()).await.unwrap().unwrap();
    let header = ResetOffsetRequestHeader::from_command(&notice).unwrap();
    assert_eq!(
        (header.group.as_str(), header.topic.as_str(), header.timestamp),
        (GROUP, "ClientReset", 0)
    );
    let table = ResetOffsetBody::decode(notice.body.as_deref().unwrap()).unwrap();
    let queue_zero = table
        .offset_table
        .iter()
        .find(|(queue, _)| queue.queue_id == 0)
        .map(|(_, offset)| *offset);
    // Back to the time's offset (0) from the committed 2; not forced, so nothing moves forward.
    assert_eq!(queue_zero, Some(0));
    assert_eq!(table.offset_table.len(), usize::try_from(queues).unwrap());
    assert_eq!(
        ResetOffsetBody::decode(response.body.as_deref().unwrap()).unwrap(),
        table
    );

    // The consumer leaves: nobody is left to apply a reset.
    consumer.client.shutdown().await;
    let registry = broker.broker();
    eventually("the consumer's channel is dropped", || {
        registry.clients.lock().consumer_channels(GROUP).is_empty()
    })
    .await;
    let response = ask(&admin, &broker, invoke()).await;
    assert_eq!(response.code, ResponseCode::CONSUMER_NOT_ONLINE.0);
    assert_eq!(
        response.remark.as_deref(),
        Some("Consumer not online, so can not reset offset, Group: cg Topic: ClientReset Timestamp: 0")
    );
}

struct Consumer {
    client: Client,
    client_id: String,
    notices: mpsc::UnboundedReceiver<String>,
}

impl Consumer {
    fn new(client_id: &str) -> Consumer {
        let (sender, notices) = mpsc::unbounded_channel();
        let running_info_id = client_id.to_owned();
        let router =
            Router::new()
                .route(
                    RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
                    move |request: RemotingCommand, _: ConnectionHandle| {
                        let sender = sender.clone();
                        async move {
                            let header = NotifyConsumerIdsChangedRequestHeader::from_command(&request).unwrap();
                            let _ = sender.send(header.consumer_group);
                            None
                        }
                    },
                )
                .route(
                    RequestCode::GET_CONSUMER_RUNNING_INFO,
                    move |request: RemotingCommand, _: ConnectionHandle| {
                        let body = format!("{{\"running\":\"{running_info_id}\"}}");
                        async move {
                            Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body))
                        }
                    },
                );
        Consumer {
            client: Client::new(router, ClientConfig::default()),
            client_id: client_id.to_owned(),
            notices,
        }
    }

    fn heartbeat(&self) -> RemotingCommand {
        let data = HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: vec![ConsumerData {
                consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
                consume_type: ConsumeType::ConsumePassively,
                group_name: GROUP.into(),
                message_model: MessageModel::Clustering,
                subscription_data_set: vec![SubscriptionData {
                    topic: "MemberTopic".into(),
                    sub_string: "TagA".into(),
                    code_set: TagExpression::parse("TagA").codes(),
                    tags_set: vec!["TagA".into()],
                    sub_version: 100,
                    ..SubscriptionData::default()
                }],
                unit_mode: false,
            }],
            producer_data_set: vec![ProducerData {
                group_name: "CLIENT_INNER_PRODUCER".into(),
            }],
            ..HeartbeatData::default()
        };
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode())
    }

    async fn next_notice(&mut self) -> String {
        tokio::time::timeout(TIMEOUT, self.notices.recv())
            .await
            .unwrap()
            .unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn heartbeats_register_members_and_every_change_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let admin = client();
    let mut first = Consumer::new("10.0.0.1@1");
    let mut second = Consumer::new("10.0.0.2@2");
    let response = ask(&first.client, &broker, first.heartbeat()).await;
    assert_eq!(response.code, 0);
    assert_eq!(response.ext("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    assert_eq!(first.next_notice().await, GROUP);
    // The retry topic and the group now exist.
    assert!(broker.broker().topics.lock().contains("%RETRY%cg"));

    ask(&second.client, &broker, second.heartbeat()).await;
    assert_eq!(first.next_notice().await, GROUP);
    assert_eq!(second.next_notice().await, GROUP);
    let list = GetConsumerListByGroupRequestHeader {
        consumer_group: GROUP.into(),
        ..Default::default()
    };
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &list),
    )
    .await;
    let ids = ConsumerIdList::decode(response.body.as_deref().unwrap()).unwrap();
    assert_eq!(ids.consumer_id_list, ["10.0.0.1@1", "10.0.0.2@2"]);
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_CONNECTION_LIST, &list),
    )
    .await;
    let connections = ConsumerConnection::decode(response.body.as_deref().unwrap()).unwrap();
    assert_eq!(connections.connection_set.len(), 2);
    assert_eq!(connections.subscription_table["MemberTopic"].sub_string, "TagA");

    // A repeated heartbeat changes nothing and announces nothing.
    ask(&first.client, &broker, first.heartbeat()).await;
    // The registered subscription filters pulls sent without one.
    for tag in ["TagA", "TagB"] {
        ok_send(
            &ask(
                &admin,
                &broker,
                send_v2("MemberTopic", 0, &properties(&[("TAGS", tag)]), b"m"),
            )
            .await,
        );
    }
    let response = ask(&first.client, &broker, pull("MemberTopic", 0, 0, 0, None)).await;
    assert_eq!(pulled(&response).len(), 1);
    let mut newer = pull("MemberTopic", 0, 0, 0, None);
    if let Some(fields) = newer.ext_fields.as_mut() {
        fields.insert("subVersion", "101");
    }
    let response = ask(&first.client, &broker, newer).await;
    assert_eq!(response.code, ResponseCode::SUBSCRIPTION_NOT_LATEST.0);

    // Nothing above changed the membership, so nothing was announced.
    assert!(first.notices.try_recv().is_err());
    assert!(second.notices.try_recv().is_err());

    // Leaving by UNREGISTER_CLIENT, then by closing the connection, is announced to the rest.
    let unregister = UnregisterClientRequestHeader {
        client_id: second.client_id.clone(),
        consumer_group: Some(GROUP.into()),
        ..Default::default()
    };
    ask(
        &second.client,
        &broker,
        with_header(RequestCode::UNREGISTER_CLIENT, &unregister),
    )
    .await;
    assert_eq!(first.next_notice().await, GROUP);
    ask(&second.client, &broker, second.heartbeat()).await;
    assert_eq!(first.next_notice().await, GROUP);
    second.client.shutdown().await;
    assert_eq!(first.next_notice().await, GROUP);
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &list),
    )
    .await;
    let ids = ConsumerIdList::decode(response.body.as_deref().unwrap()).unwrap();
    assert_eq!(ids.consumer_id_list, ["10.0.0.1@1"]);
    first.client.shutdown().await;
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &list),
    )
    .await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR.0, Some("no consumer for this group, cg"))
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bad_input_gets_javas_answers_and_the_broker_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| config.auto_create_topic_enable = false).await;
    let client = client();
    let response = ask(&client, &broker, send_v2("Missing", 0, "", b"x")).await;
    assert_eq!(response.code, ResponseCode::TOPIC_NOT_EXIST.0);
    assert_eq!(
        response.remark.as_deref(),
        Some(
            "topic[Missing] not exist, apply first please!\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
        )
    );
    assert_eq!(response.ext("MSG_REGION"), Some("DefaultRegion"));

    // A topic made by its retry-topic rule accepts sends; queue 1 does not exist.
    ok_send(&ask(&client, &broker, send_v2("%RETRY%cg", 0, "", b"x")).await);
    let response = ask(&client, &broker, send_v2("%RETRY%cg", 1, "", b"x")).await;
    assert_eq!(response.code, ResponseCode::INVALID_PARAMETER.0);
    assert!(
        response
            .remark
            .as_deref()
            .unwrap()
            .starts_with("request queueId[1] is illegal, TopicConfig [topicName=%RETRY%cg")
    );

    let oversize = Bytes::from(vec![b'x'; 4 * 1024 * 1024 + 1]);
    let response = ask(&client, &broker, send_v1("%RETRY%cg", 0, "", oversize)).await;
    assert_eq!(response.code, ResponseCode::MESSAGE_ILLEGAL.0);
    assert_eq!(
        response.remark.as_deref(),
        Some(
            "the message is illegal, maybe msg body or properties length not matched. msg body length limit 4194304B, msg properties length limit 32KB."
        )
    );
    let response = ask(&client, &broker, send_v2("bad topic", 0, "", b"x")).await;
    assert_eq!(response.code, ResponseCode::INVALID_PARAMETER.0);
    let response = ask(&client, &broker, send_v2("SCHEDULE_TOPIC_XXXX", 0, "", b"x")).await;
    assert_eq!(response.code, ResponseCode::NO_PERMISSION.0);
    let mut headless = send_v2("%RETRY%cg", 0, "", b"x");
    headless.ext_fields = Some(ExtFields::new());
    assert_eq!(ask(&client, &broker, headless).await.code, ResponseCode::SYSTEM_ERROR.0);
    let garbage = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(Bytes::from_static(b"{not json"));
    assert_eq!(ask(&client, &broker, garbage).await.code, ResponseCode::SYSTEM_ERROR.0);

    // Pulls: a bad queue id, absurd offsets both ways, an unknown topic.
    let response = ask(&client, &broker, pull("%RETRY%cg", 7, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    assert_eq!(response.code, ResponseCode::INVALID_PARAMETER.0);
    assert!(
        response.remark.as_deref().unwrap().starts_with(
            "queueId[7] is illegal, topic:[%RETRY%cg] topicConfig.readQueueNums:[1] consumer:[/127.0.0.1:"
        )
    );
    let response = ask(
        &client,
        &broker,
        pull("%RETRY%cg", 0, i64::MAX, FLAG_SUBSCRIPTION, Some("*")),
    )
    .await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::PULL_OFFSET_MOVED.0, Some("OFFSET_OVERFLOW_BADLY"))
    );
    assert_eq!(pull_header(&response).next_begin_offset, 1);
    let response = ask(&client, &broker, pull("%RETRY%cg", 0, -5, FLAG_SUBSCRIPTION, Some("*"))).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::PULL_OFFSET_MOVED.0, Some("OFFSET_TOO_SMALL"))
    );
    assert_eq!(pull_header(&response).next_begin_offset, 0);
    let response = ask(&client, &broker, pull("Missing", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    assert_eq!(response.code, ResponseCode::TOPIC_NOT_EXIST.0);
    let response = ask(&client, &broker, pull("%RETRY%cg", 0, 0, 0, None)).await;
    assert_eq!(response.code, ResponseCode::SUBSCRIPTION_NOT_EXIST.0);

    // Still serving.
    ok_send(&ask(&client, &broker, send_v2("%RETRY%cg", 0, "", b"y")).await);
    let response = ask(&client, &broker, pull("%RETRY%cg", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    assert_eq!(pulled(&response).len(), 2);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn messages_are_found_by_key_and_by_unique_key() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let props = properties(&[
        ("KEYS", "order-7 order-8"),
        ("UNIQ_KEY", "AC110001000100000000000000000007"),
    ]);
    ok_send(&ask(&client, &broker, send_v2("KeyTopic", 0, &props, b"keyed")).await);
    let query = |key: &str, unique: bool| {
        let header = QueryMessageRequestHeader {
            topic: "KeyTopic".into(),
            key: key.into(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: Some(unique),
            ..Default::default()
        };
        with_header(RequestCode::QUERY_MESSAGE, &header)
    };
    for (key, unique) in [("order-8", false), ("AC110001000100000000000000000007", true)] {
        let deadline = Instant::now() + TIMEOUT;
        let response = loop {
            // The index is built behind the commit log; give it a moment.
            let response = ask(&client, &broker, query(key, unique)).await;
            if response.code == 0 || Instant::now() > deadline {
                break response;
            }
            tokio::time::advance(Duration::from_millis(20)).await;
        };
        let messages = pulled(&response);
        assert_eq!(messages.len(), 1, "{key}");
        assert_eq!(&messages[0].body[..], b"keyed");
        assert!(response.ext("indexLastUpdateTimestamp").is_some());
    }
    let response = ask(&client, &broker, query("absent", false)).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (
            ResponseCode::QUERY_NOT_FOUND.0,
            Some("can not find message, maybe time range not correct")
        )
    );
    let view = ViewMessageRequestHeader {
        topic: None,
        offset: 1 << 40,
    };
    let response = ask(&client, &broker, with_header(RequestCode::VIEW_MESSAGE_BY_ID, &view)).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (
            ResponseCode::SYSTEM_ERROR.0,
            Some("can not find message by the offset, 1099511627776")
        )
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_messages_go_back_to_the_retry_topic_then_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    // Retries wait in the schedule topic for their level (tests/delay.rs); here no time at all.
    let broker = start_broker(dir.path(), |config| config.store.message_delay_levels_ms = vec![0; 18]).await;
    let client = client();
    let props = properties(&[("TAGS", "TagA"), ("UNIQ_KEY", "AC110001000100000000000000000009")]);
    let sent = ok_send(&ask(&client, &broker, send_v2("BackTopic", 0, &props, b"retry me")).await);
    let offset = OffsetMessageId::decode(&sent.msg_id).unwrap().physical_offset;
    let back = |offset: i64, delay_level: i32| {
        let header = ConsumerSendMsgBackRequestHeader {
            offset,
            group: GROUP.into(),
            delay_level,
            origin_msg_id: Some("AC110001000100000000000000000009".into()),
            origin_topic: Some("BackTopic".into()),
            max_reconsume_times: Some(16),
            ..Default::default()
        };
        with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header)
    };
    let response = ask(&client, &broker, back(offset, 0)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let deadline = Instant::now() + TIMEOUT;
    let response = loop {
        let response = ask(&client, &broker, pull("%RETRY%cg", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
        if response.code != ResponseCode::PULL_NOT_FOUND.0 || Instant::now() > deadline {
            break response;
        }
        tokio::time::advance(Duration::from_millis(20)).await;
    };
    let retried = pulled(&response);
    assert_eq!(retried.len(), 1);
    assert_eq!(&retried[0].body[..], b"retry me");
    assert_eq!(retried[0].reconsume_times, 1);
    assert_eq!(retried[0].properties.get("RETRY_TOPIC"), Some("BackTopic"));
    assert_eq!(
        retried[0].properties.get("ORIGIN_MESSAGE_ID"),
        Some(sent.msg_id.as_str())
    );
    assert_eq!(
        retried[0].properties.get("UNIQ_KEY"),
        Some("AC110001000100000000000000000009")
    );

    let response = ask(&client, &broker, back(retried[0].physical_offset, -1)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let response = ask(&client, &broker, pull("%DLQ%cg", 0, 0, FLAG_SUBSCRIPTION, Some("*"))).await;
    let dead = pulled(&response);
    assert_eq!((dead.len(), dead[0].reconsume_times), (1, 2));
    assert_eq!(dead[0].properties.get("ORIGIN_MESSAGE_ID"), Some(sent.msg_id.as_str()));

    let response = ask(&client, &broker, back(1 << 40, 0)).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (
            ResponseCode::SYSTEM_ERROR.0,
            Some("look message by offset failed, 1099511627776")
        )
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn orderly_consumers_lock_queues_one_client_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let queues: Vec<MessageQueue> = (0..2)
        .map(|id| MessageQueue::new("LockTopic", "broker-a", id))
        .collect();
    let request = |code: RequestCode, client_id: &str, queues: &[MessageQueue]| {
        let body = LockBatchRequestBody {
            client_id: client_id.into(),
            consumer_group: GROUP.into(),
            mq_set: queues.to_vec(),
            only_this_broker: false,
        };
        RemotingCommand::request(code).with_body(body.encode())
    };
    let locked = |response: RemotingCommand| {
        assert_eq!(response.code, 0, "{:?}", response.remark);
        LockBatchResponseBody::decode(response.body.as_deref().unwrap())
            .unwrap()
            .lock_ok_mq_set
    };
    let first = ask(&client, &broker, request(RequestCode::LOCK_BATCH_MQ, "a", &queues)).await;
    assert_eq!(locked(first), queues);
    let second = ask(&client, &broker, request(RequestCode::LOCK_BATCH_MQ, "b", &queues)).await;
    assert!(locked(second).is_empty());
    let unlock = ask(
        &client,
        &broker,
        request(RequestCode::UNLOCK_BATCH_MQ, "a", &queues[..1]),
    )
    .await;
    assert_eq!(unlock.code, 0);
    let third = ask(&client, &broker, request(RequestCode::LOCK_BATCH_MQ, "b", &queues)).await;
    assert_eq!(locked(third), queues[..1]);
    let garbage = RemotingCommand::request(RequestCode::LOCK_BATCH_MQ);
    assert_eq!(ask(&client, &broker, garbage).await.code, ResponseCode::SYSTEM_ERROR.0);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn running_info_requests_are_relayed_to_the_named_client() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let admin = client();
    let second = Consumer::new("10.0.0.2@2");
    ask(&second.client, &broker, second.heartbeat()).await;
    // The admin's running-info request is relayed to the named client.
    let running = GetConsumerRunningInfoRequestHeader {
        consumer_group: GROUP.into(),
        client_id: "10.0.0.2@2".into(),
        ..Default::default()
    };
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &running),
    )
    .await;
    assert_eq!(response.body.as_deref(), Some(&b"{\"running\":\"10.0.0.2@2\"}"[..]));
    let absent = GetConsumerRunningInfoRequestHeader {
        client_id: "nobody".into(),
        ..running
    };
    let response = ask(
        &admin,
        &broker,
        with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &absent),
    )
    .await;
    assert_eq!(
        response.remark.as_deref(),
        Some("The Consumer <cg> <nobody> not online")
    );

    broker.shutdown().await;
}
