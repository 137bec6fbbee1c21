//! Admin requests the broker answers by asking consumers over their own connections
//! (CONSUME_MESSAGE_DIRECTLY, INVOKE_BROKER_TO_GET_CONSUMER_STATUS) and QUERY_CONSUME_TIME_SPAN,
//! against a real broker on 127.0.0.1 with consumers played by our transport client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{TIMEOUT, advance, ask, client, consumer_heartbeat, create_topic, send_v2, start_broker, with_header};

use std::collections::BTreeMap;
use std::time::Duration;

use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::body::{GetConsumerStatusBody, JsonBody, MessageQueue, QueryConsumeTimeSpanBody};
use ferrocket_wire::header::{
    ConsumeMessageDirectlyResultRequestHeader, CustomHeader, GetConsumerStatusRequestHeader,
    QueryConsumeTimeSpanRequestHeader, SendMessageResponseHeader, UpdateConsumerOffsetRequestHeader,
    ViewMessageRequestHeader,
};
use ferrocket_wire::message::OffsetMessageId;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::mpsc;

const GROUP: &str = "cg";
const TOPIC: &str = "RelayTopic";
/// What a Java client answers CONSUME_MESSAGE_DIRECTLY with after its listener ran.
const DIRECT_RESULT: &str = r#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"spentTimeMills":2}"#;

/// A consumer process: answers CONSUME_MESSAGE_DIRECTLY with [`DIRECT_RESULT`] and
/// GET_CONSUMER_STATUS_FROM_CLIENT with `offset` for each queue of the asked topic (or refuses
/// when `offset` is negative), and hands every request it got to the test.
fn consumer(offset: i64, seen: mpsc::UnboundedSender<RemotingCommand>) -> Client {
    let seen_status = seen.clone();
    let router = Router::new()
        .route(
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            move |request: RemotingCommand, _: ConnectionHandle| {
                let _ = seen.send(request.clone());
                async move {
                    Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(DIRECT_RESULT))
                }
            },
        )
        .route(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
            move |request: RemotingCommand, _: ConnectionHandle| {
                let _ = seen_status.send(request.clone());
                async move {
                    if offset < 0 {
                        return Some(RemotingCommand::response_to(
                            &request,
                            ResponseCode::SYSTEM_ERROR,
                            Some("no".into()),
                        ));
                    }
                    let header = GetConsumerStatusRequestHeader::from_command(&request).unwrap();
                    let body = GetConsumerStatusBody {
                        message_queue_table: (0..2)
                            .map(|queue| (MessageQueue::new(&header.topic, "broker-a", queue), offset))
                            .collect(),
                        ..GetConsumerStatusBody::default()
                    };
                    Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body.encode()))
                }
            },
        );
    Client::new(router, ClientConfig::default())
}

fn direct(client_id: &str, msg_id: &str) -> RemotingCommand {
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: GROUP.into(),
        client_id: Some(client_id.into()),
        msg_id: Some(msg_id.into()),
        topic: Some(TOPIC.into()),
        ..Default::default()
    };
    with_header(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header)
}

fn status(group: &str, origin: &str) -> RemotingCommand {
    let header = GetConsumerStatusRequestHeader {
        topic: TOPIC.into(),
        group: group.into(),
        client_addr: Some(origin.into()),
        ..Default::default()
    };
    with_header(RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS, &header)
}

fn failure(response: &RemotingCommand) -> (i32, Option<&str>) {
    (response.code, response.remark.as_deref())
}

#[tokio::test(start_paused = true)]
async fn consume_message_directly_forwards_the_stored_record_to_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let admin = client();
    assert_eq!(ask(&admin, &broker, create_topic(TOPIC, 2)).await.code, 0);
    let sent = ask(&admin, &broker, send_v2(TOPIC, 1, "", b"direct-body")).await;
    let msg_id = SendMessageResponseHeader::from_command(&sent).unwrap().msg_id;
    let (seen, mut requests) = mpsc::unbounded_channel();
    let consumer = consumer(0, seen);
    assert_eq!(
        ask(&consumer, &broker, consumer_heartbeat("10.0.0.1@1", GROUP, TOPIC, 1))
            .await
            .code,
        0
    );

    let response = ask(&admin, &broker, direct("10.0.0.1@1", &msg_id)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    assert_eq!(response.body.as_deref(), Some(DIRECT_RESULT.as_bytes()));

    let forwarded = tokio::time::timeout(TIMEOUT, requests.recv()).await.unwrap().unwrap();
    let header = ConsumeMessageDirectlyResultRequestHeader::from_command(&forwarded).unwrap();
    let broker_name = broker.broker().config().broker_name.clone();
    assert_eq!(header.broker_name.as_deref(), Some(broker_name.as_str()));
    assert_eq!((header.topic_sys_flag, header.group_sys_flag), (Some(0), Some(0)));
    assert_eq!(
        (header.consumer_group.as_str(), header.msg_id.as_deref()),
        (GROUP, Some(msg_id.as_str()))
    );
    // The body is the stored record, byte for byte what VIEW_MESSAGE_BY_ID answers.
    let view = ViewMessageRequestHeader {
        offset: OffsetMessageId::decode(&msg_id).unwrap().physical_offset,
        ..Default::default()
    };
    let viewed = ask(&admin, &broker, with_header(RequestCode::VIEW_MESSAGE_BY_ID, &view)).await;
    assert_eq!(forwarded.body, viewed.body);
    assert!(forwarded.body.is_some());

    let response = ask(&admin, &broker, direct("10.0.0.2@2", &msg_id)).await;
    assert_eq!(
        failure(&response),
        (1, Some("The Consumer <cg> <10.0.0.2@2> not online"))
    );
    let beyond = OffsetMessageId {
        physical_offset: 1 << 40,
        ..OffsetMessageId::decode(&msg_id).unwrap()
    }
    .to_string();
    for bad in ["", "XYZ", beyond.as_str()] {
        let response = ask(&admin, &broker, direct("10.0.0.1@1", bad)).await;
        let remark = format!("The message <{bad}> is not stored in this broker");
        assert_eq!(failure(&response), (1, Some(remark.as_str())));
    }
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn consumer_status_gathers_the_offsets_of_each_client_that_answers() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let admin = client();
    assert_eq!(ask(&admin, &broker, create_topic(TOPIC, 2)).await.code, 0);
    let (seen, mut requests) = mpsc::unbounded_channel();
    let clients = [("10.0.0.1@1", 5), ("10.0.0.2@2", 7), ("10.0.0.3@3", -1)]
        .map(|(id, offset)| (id, consumer(offset, seen.clone())));
    for (id, consumer) in &clients {
        assert_eq!(
            ask(consumer, &broker, consumer_heartbeat(id, GROUP, TOPIC, 1))
                .await
                .code,
            0
        );
    }
    let table_of = |response: &RemotingCommand| {
        assert_eq!(response.code, 0, "{:?}", response.remark);
        let body = GetConsumerStatusBody::decode(response.body.as_deref().unwrap()).unwrap();
        assert!(body.message_queue_table.is_empty());
        body.consumer_table
    };
    let offsets = |offset: i64| -> BTreeMap<MessageQueue, i64> {
        (0..2)
            .map(|queue| (MessageQueue::new(TOPIC, "broker-a", queue), offset))
            .collect()
    };

    // Everyone is asked; the client that refused is left out.
    let everyone = table_of(&ask(&admin, &broker, status(GROUP, "")).await);
    assert_eq!(
        everyone,
        BTreeMap::from([
            ("10.0.0.1@1".to_owned(), offsets(5)),
            ("10.0.0.2@2".to_owned(), offsets(7))
        ])
    );
    for _ in 0..3 {
        let asked = tokio::time::timeout(TIMEOUT, requests.recv()).await.unwrap().unwrap();
        assert_eq!(asked.code, RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT.0);
        let header = GetConsumerStatusRequestHeader::from_command(&asked).unwrap();
        assert_eq!((header.topic.as_str(), header.group.as_str()), (TOPIC, GROUP));
    }

    let one = table_of(&ask(&admin, &broker, status(GROUP, "10.0.0.2@2")).await);
    assert_eq!(one, BTreeMap::from([("10.0.0.2@2".to_owned(), offsets(7))]));
    assert!(table_of(&ask(&admin, &broker, status(GROUP, "10.0.0.9@9")).await).is_empty());

    let response = ask(&admin, &broker, status("nobody", "")).await;
    assert_eq!(
        failure(&response),
        (1, Some("No Any Consumer online in the consumer group: [nobody]"))
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn consume_time_span_reads_store_times_around_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let admin = client();
    assert_eq!(ask(&admin, &broker, create_topic(TOPIC, 2)).await.code, 0);
    let mut stored_at = Vec::new();
    for _ in 0..3 {
        stored_at.push(broker.broker().clock().now_ms());
        assert_eq!(ask(&admin, &broker, send_v2(TOPIC, 0, "", b"m")).await.code, 0);
        advance(&broker, Duration::from_secs(1)).await;
    }
    // The heartbeat creates the group, which a commit needs.
    assert_eq!(
        ask(&admin, &broker, consumer_heartbeat("10.0.0.1@1", GROUP, TOPIC, 1))
            .await
            .code,
        0
    );
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        commit_offset: 2,
        ..Default::default()
    };
    assert_eq!(
        ask(
            &admin,
            &broker,
            with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit)
        )
        .await
        .code,
        0
    );

    let span_request = |topic: &str| {
        let header = QueryConsumeTimeSpanRequestHeader {
            topic: topic.into(),
            group: GROUP.into(),
            ..Default::default()
        };
        with_header(RequestCode::QUERY_CONSUME_TIME_SPAN, &header)
    };
    let response = ask(&admin, &broker, span_request(TOPIC)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let now_ms = broker.broker().clock().now_ms();
    let spans = QueryConsumeTimeSpanBody::decode(response.body.as_deref().unwrap())
        .unwrap()
        .consume_time_span_set;
    assert_eq!(spans.len(), 2);
    let queue = |id: i32| spans.iter().find(|s| s.message_queue.queue_id == id).unwrap();
    let used = queue(0);
    assert_eq!(
        (
            used.min_time_stamp,
            used.max_time_stamp,
            used.consume_time_stamp,
            used.delay_time
        ),
        (stored_at[0], stored_at[2], stored_at[1], now_ms - stored_at[2])
    );
    // Never committed: Java subtracts the store time of offset -1, which is -1.
    let empty = queue(1);
    assert_eq!(
        (
            empty.min_time_stamp,
            empty.max_time_stamp,
            empty.consume_time_stamp,
            empty.delay_time
        ),
        (-1, -1, -1, now_ms + 1)
    );

    let response = ask(&admin, &broker, span_request("NoSuchTopic")).await;
    assert_eq!(failure(&response), (17, Some("topic[NoSuchTopic] not exist")));
    broker.shutdown().await;
}
