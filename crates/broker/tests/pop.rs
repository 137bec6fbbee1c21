//! POP consumption against a real broker on 127.0.0.1, on a manual clock and paused time:
//! popped messages stay invisible until acked or their invisible time is over, then come back
//! through the group's pop retry topic with one more reconsume time; changing the invisible
//! time moves that moment; a restart keeps what is in flight and forgets what was acked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{advance, ask, client, create_topic, ok_code, send_v2, start_broker, start_broker_on, with_header};
use ferrocket_broker::{BrokerHandle, Clock};
use ferrocket_net::Client;
use ferrocket_wire::body::{
    JsonBody, MessageModel, MessageQueueAssignment, MessageRequestMode, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use ferrocket_wire::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, CustomHeader, NotificationRequestHeader,
    NotificationResponseHeader, PeekMessageRequestHeader, PollingInfoRequestHeader, PollingInfoResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::decode_all;
use ferrocket_wire::pop_receipt::{PopReceipt, RetryMark, receipt_of};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

const TOPIC: &str = "PopTopic";
const GROUP: &str = "popGroup";
const RETRY: &str = "%RETRY%popGroup_PopTopic";
const INVISIBLE_MS: i64 = 10_000;

fn pop_request(broker: &BrokerHandle, max: i32, poll_time: i64) -> RemotingCommand {
    let header = PopMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: -1,
        max_msg_nums: max,
        invisible_time: INVISIBLE_MS,
        poll_time,
        born_time: broker.broker().now_ms(),
        init_mode: 1,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        ..PopMessageRequestHeader::default()
    };
    with_header(RequestCode::POP_MESSAGE, &header)
}

/// A popped message and the receipt the Java client would build for it.
struct Popped {
    message: StoredMessage,
    receipt: String,
}

/// Pops once (no waiting) and builds each message's receipt from the response header as
/// Java's `MQClientAPIImpl.processPopResponse` does.
async fn pop(client: &Client, broker: &BrokerHandle) -> (ResponseCode, Vec<Popped>) {
    let response = ask(client, broker, pop_request(broker, 32, 0)).await;
    let code = ResponseCode(response.code);
    if code != ResponseCode::SUCCESS {
        return (code, Vec::new());
    }
    let header = PopMessageResponseHeader::from_command(&response).unwrap();
    let decoded = decode_all(response.body.as_deref().unwrap());
    assert!(decoded.error.is_none());
    let popped = decoded
        .messages
        .into_iter()
        .map(|message| {
            let receipt = receipt_of(
                (&message.topic, message.queue_id, message.queue_offset),
                message.properties.get("POP_CK"),
                &header,
                &broker.broker().config().broker_name,
            )
            .unwrap();
            Popped { message, receipt }
        })
        .collect();
    (code, popped)
}

/// The topic an ack or change names: the real topic, from the receipt.
fn real_topic(receipt: &PopReceipt) -> String {
    receipt.retry.real_topic(TOPIC, GROUP)
}

async fn ack(client: &Client, broker: &BrokerHandle, popped: &Popped) -> RemotingCommand {
    let receipt = PopReceipt::parse(&popped.receipt).unwrap();
    let header = AckMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: real_topic(&receipt),
        queue_id: receipt.queue_id,
        extra_info: popped.receipt.clone(),
        offset: receipt.msg_queue_offset.unwrap(),
        ..AckMessageRequestHeader::default()
    };
    ask(client, broker, with_header(RequestCode::ACK_MESSAGE, &header)).await
}

async fn change_invisible(client: &Client, broker: &BrokerHandle, popped: &Popped, ms: i64) -> RemotingCommand {
    let receipt = PopReceipt::parse(&popped.receipt).unwrap();
    let header = ChangeInvisibleTimeRequestHeader {
        consumer_group: GROUP.into(),
        topic: real_topic(&receipt),
        queue_id: receipt.queue_id,
        extra_info: popped.receipt.clone(),
        offset: receipt.msg_queue_offset.unwrap(),
        invisible_time: ms,
        ..ChangeInvisibleTimeRequestHeader::default()
    };
    ask(
        client,
        broker,
        with_header(RequestCode::CHANGE_MESSAGE_INVISIBLETIME, &header),
    )
    .await
}

async fn setup(client: &Client, broker: &BrokerHandle, messages: &[&'static [u8]]) {
    ok_code(&ask(client, broker, create_topic(TOPIC, 2)).await);
    for (n, body) in messages.iter().enumerate() {
        ok_code(&ask(client, broker, send_v2(TOPIC, i32::try_from(n % 2).unwrap(), "", body)).await);
    }
}

/// Lets the revive task run past `ms` of invisible time.
async fn pass(broker: &BrokerHandle, ms: u64) {
    for _ in 0..ms.div_ceil(500) {
        advance(broker, Duration::from_millis(500)).await;
    }
}

fn bodies(popped: &[Popped]) -> Vec<&[u8]> {
    let mut bodies: Vec<&[u8]> = popped.iter().map(|p| &p.message.body[..]).collect();
    bodies.sort();
    bodies
}

#[tokio::test(start_paused = true)]
async fn acked_messages_stay_gone_and_unacked_ones_come_back_through_the_retry_topic() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[b"a", b"b", b"c"]).await;
    let (code, popped) = pop(&client, &broker).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    assert_eq!(bodies(&popped), [&b"a"[..], b"b", b"c"]);
    for done in popped.iter().filter(|p| &p.message.body[..] != b"c") {
        ok_code(&ack(&client, &broker, done).await);
    }
    let (code, _) = pop(&client, &broker).await;
    assert_eq!(code, ResponseCode::POLLING_TIMEOUT, "all three are invisible");
    pass(&broker, 9_000).await;
    assert_eq!(pop(&client, &broker).await.0, ResponseCode::POLLING_TIMEOUT, "not yet");
    pass(&broker, 2_000).await;
    let (code, again) = pop(&client, &broker).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    assert_eq!(bodies(&again), [&b"c"[..]], "only the unacked one comes back");
    let back = &again[0];
    assert_eq!((back.message.topic.as_str(), back.message.reconsume_times), (TOPIC, 1));
    let receipt = PopReceipt::parse(&back.receipt).unwrap();
    assert_eq!(
        receipt.retry,
        RetryMark::RetryV1,
        "handed out under the topic, its receipt names {RETRY}"
    );
    assert!(back.message.properties.get("1ST_POP_TIME").is_some());
    ok_code(&ack(&client, &broker, back).await);
    ok_code(&ack(&client, &broker, back).await);
    pass(&broker, 12_000).await;
    assert_eq!(pop(&client, &broker).await.0, ResponseCode::POLLING_TIMEOUT);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn changing_the_invisible_time_moves_the_return() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[b"late", b"soon"]).await;
    let (_, popped) = pop(&client, &broker).await;
    assert_eq!(popped.len(), 2);
    let soon = popped.iter().find(|p| &p.message.body[..] == b"soon").unwrap();
    let late = popped.iter().find(|p| &p.message.body[..] == b"late").unwrap();
    let changed = change_invisible(&client, &broker, soon, 1_000).await;
    ok_code(&changed);
    assert!(changed.ext_fields.as_ref().unwrap().get("popTime").is_some());
    ok_code(&change_invisible(&client, &broker, late, 60_000).await);
    pass(&broker, 2_000).await;
    let (_, back) = pop(&client, &broker).await;
    assert_eq!(bodies(&back), [&b"soon"[..]]);
    ok_code(&ack(&client, &broker, &back[0]).await);
    pass(&broker, 20_000).await;
    assert_eq!(
        pop(&client, &broker).await.0,
        ResponseCode::POLLING_TIMEOUT,
        "late is still invisible"
    );
    pass(&broker, 45_000).await;
    let (_, back) = pop(&client, &broker).await;
    assert_eq!(bodies(&back), [&b"late"[..]]);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_unacked_messages_and_forgets_acked_ones() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[b"acked", b"kept"]).await;
    let (_, popped) = pop(&client, &broker).await;
    let acked = popped.iter().find(|p| &p.message.body[..] == b"acked").unwrap();
    ok_code(&ack(&client, &broker, acked).await);
    broker.shutdown().await;

    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    assert_eq!(pop(&client, &broker).await.0, ResponseCode::POLLING_TIMEOUT);
    pass(&broker, 11_000).await;
    let (_, back) = pop(&client, &broker).await;
    assert_eq!(bodies(&back), [&b"kept"[..]]);
    ok_code(&ack(&client, &broker, &back[0]).await);
    broker.shutdown().await;

    let broker = start_broker_on(dir.path(), clock, |_| {}).await;
    pass(&broker, 30_000).await;
    assert_eq!(
        pop(&client, &broker).await.0,
        ResponseCode::POLLING_TIMEOUT,
        "nothing revived twice"
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_waiting_pop_and_a_notification_are_answered_by_an_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[]).await;
    let notification = NotificationRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: -1,
        poll_time: 5_000,
        born_time: broker.broker().now_ms(),
        ..NotificationRequestHeader::default()
    };
    let notified = ask(&client, &broker, with_header(RequestCode::NOTIFICATION, &notification)).await;
    assert!(!NotificationResponseHeader::from_command(&notified).unwrap().has_msg);
    let held = {
        let (client, request) = (client.clone(), pop_request(&broker, 32, 20_000));
        let addr = broker.local_addr().to_string();
        tokio::spawn(async move { client.invoke(&addr, request, common::TIMEOUT).await.unwrap() })
    };
    advance(&broker, Duration::from_millis(1_000)).await;
    assert!(!held.is_finished());
    ok_code(&ask(&client, &broker, send_v2(TOPIC, 1, "", b"wake")).await);
    let response = held.await.unwrap();
    assert_eq!((response.code, response.remark.as_deref()), (0, Some("FOUND")));
    let timed_out = ask(&client, &broker, pop_request(&broker, 32, 1_000)).await;
    assert_eq!(
        (ResponseCode(timed_out.code), timed_out.remark.as_deref()),
        (ResponseCode::POLLING_TIMEOUT, Some("NO_MESSAGE_IN_QUEUE"))
    );
    broker.shutdown().await;
}

/// POLLING_INFO's answer for the group on `topic` and `queue_id`: (code, pollingNum).
async fn polling_info(client: &Client, broker: &BrokerHandle, topic: &str, queue_id: i32) -> (ResponseCode, i32) {
    let header = PollingInfoRequestHeader {
        consumer_group: GROUP.into(),
        topic: topic.into(),
        queue_id,
        ..PollingInfoRequestHeader::default()
    };
    let response = ask(client, broker, with_header(RequestCode::POLLING_INFO, &header)).await;
    let waiting = PollingInfoResponseHeader::from_command(&response).map_or(-1, |h| h.polling_num);
    (ResponseCode(response.code), waiting)
}

#[tokio::test(start_paused = true)]
async fn polling_info_counts_the_pops_waiting_on_a_topic_group_and_queue() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[]).await;
    assert_eq!(
        polling_info(&client, &broker, TOPIC, -1).await,
        (ResponseCode::SUCCESS, 0)
    );
    let held: Vec<_> = (0..2)
        .map(|_| {
            let (client, request) = (client.clone(), pop_request(&broker, 32, 5_000));
            let addr = broker.local_addr().to_string();
            tokio::spawn(async move { client.invoke(&addr, request, common::TIMEOUT).await.unwrap() })
        })
        .collect();
    advance(&broker, Duration::from_millis(1_000)).await;
    // Pops of every queue wait under queue -1, as Java keys them.
    assert_eq!(
        polling_info(&client, &broker, TOPIC, -1).await,
        (ResponseCode::SUCCESS, 2)
    );
    assert_eq!(
        polling_info(&client, &broker, TOPIC, 0).await,
        (ResponseCode::SUCCESS, 0)
    );
    advance(&broker, Duration::from_millis(5_000)).await;
    for pop in held {
        assert_eq!(ResponseCode(pop.await.unwrap().code), ResponseCode::POLLING_TIMEOUT);
    }
    assert_eq!(
        polling_info(&client, &broker, TOPIC, -1).await,
        (ResponseCode::SUCCESS, 0)
    );
    assert_eq!(
        polling_info(&client, &broker, "Nowhere", -1).await.0,
        ResponseCode::TOPIC_NOT_EXIST
    );
    assert_eq!(
        polling_info(&client, &broker, TOPIC, 9).await.0,
        ResponseCode::INVALID_PARAMETER
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_batch_ack_acks_the_offsets_its_bit_set_names() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, 1)).await);
    for body in [&b"x0"[..], b"x1", b"x2"] {
        ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, "", body)).await);
    }
    let (_, popped) = pop(&client, &broker).await;
    assert_eq!(popped.len(), 3);
    let receipt = PopReceipt::parse(&popped[0].receipt).unwrap();
    // Offsets 0 and 2 of the checkpoint: bits 0 and 2, the byte 0x05, base64 "BQ==".
    let body = format!(
        r#"{{"acks":[{{"b":"BQ==","c":"{GROUP}","it":{INVISIBLE_MS},"pt":{},"q":0,"r":"0","rq":{},"so":{},"t":"{TOPIC}"}}]}}"#,
        receipt.pop_time_ms, receipt.revive_qid, receipt.ck_queue_offset
    );
    let batch = RemotingCommand::request(RequestCode::BATCH_ACK_MESSAGE).with_body(body.into_bytes());
    ok_code(&ask(&client, &broker, batch).await);
    let empty = RemotingCommand::request(RequestCode::BATCH_ACK_MESSAGE).with_body(&b"{}"[..]);
    assert_eq!(
        ResponseCode(ask(&client, &broker, empty).await.code),
        ResponseCode::NO_MESSAGE
    );
    pass(&broker, 11_000).await;
    let (_, back) = pop(&client, &broker).await;
    assert_eq!(bodies(&back), [&b"x1"[..]]);
    broker.shutdown().await;
}

fn query_assignment() -> RemotingCommand {
    let body = QueryAssignmentRequestBody {
        client_id: "10.0.0.9@1#1".into(),
        consumer_group: GROUP.into(),
        message_model: MessageModel::Clustering,
        strategy_name: "AVG".into(),
        topic: TOPIC.into(),
    };
    RemotingCommand::request(RequestCode::QUERY_ASSIGNMENT).with_body(body.encode())
}

async fn assigned(client: &Client, broker: &BrokerHandle) -> Option<Vec<MessageQueueAssignment>> {
    let response = ask(client, broker, query_assignment()).await;
    ok_code(&response);
    QueryAssignmentResponseBody::decode(response.body.as_deref().unwrap())
        .unwrap()
        .message_queue_assignments
}

#[tokio::test(start_paused = true)]
async fn a_group_set_to_pop_is_assigned_every_queue_to_pop_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, 2)).await);
    assert_eq!(
        assigned(&client, &broker).await,
        None,
        "no consumer of the group: nothing to say"
    );
    ok_code(
        &ask(
            &client,
            &broker,
            common::consumer_heartbeat("10.0.0.9@1#1", GROUP, TOPIC, 1),
        )
        .await,
    );
    let pulled = assigned(&client, &broker).await.unwrap();
    assert_eq!(pulled.len(), 2);
    assert!(
        pulled.iter().all(|a| a.mode == MessageRequestMode::Pull),
        "PULL unless set"
    );
    let set = SetMessageRequestModeRequestBody {
        consumer_group: GROUP.into(),
        mode: MessageRequestMode::Pop,
        pop_share_queue_num: 0,
        topic: TOPIC.into(),
    };
    let request = RemotingCommand::request(RequestCode::SET_MESSAGE_REQUEST_MODE).with_body(set.encode());
    ok_code(&ask(&client, &broker, request).await);
    broker.shutdown().await;

    let broker = start_broker_on(dir.path(), clock, |_| {}).await;
    ok_code(
        &ask(
            &client,
            &broker,
            common::consumer_heartbeat("10.0.0.9@1#1", GROUP, TOPIC, 1),
        )
        .await,
    );
    let popped = assigned(&client, &broker).await.unwrap();
    assert_eq!(popped.len(), 1);
    assert_eq!(popped[0].mode, MessageRequestMode::Pop);
    assert_eq!(popped[0].message_queue.as_ref().unwrap().queue_id, -1);
    let retry = SetMessageRequestModeRequestBody {
        topic: RETRY.into(),
        ..set
    };
    let request = RemotingCommand::request(RequestCode::SET_MESSAGE_REQUEST_MODE).with_body(retry.encode());
    let refused = ask(&client, &broker, request).await;
    assert_eq!(
        (ResponseCode(refused.code), refused.remark.as_deref()),
        (
            ResponseCode::NO_PERMISSION,
            Some("retry topic is not allowed to set mode")
        )
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_peek_shows_what_a_pop_would_take_and_takes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[b"p0", b"p1"]).await;
    let peek = PeekMessageRequestHeader {
        topic: TOPIC.into(),
        queue_id: -1,
        max_msg_nums: 32,
        consumer_group: GROUP.into(),
        ..PeekMessageRequestHeader::default()
    };
    for _ in 0..2 {
        let peeked = ask(&client, &broker, with_header(RequestCode::PEEK_MESSAGE, &peek)).await;
        assert_eq!((peeked.code, peeked.remark.as_deref()), (0, Some("FOUND")));
        assert_eq!(decode_all(peeked.body.as_deref().unwrap()).messages.len(), 2);
        assert_eq!(PopMessageResponseHeader::from_command(&peeked).unwrap().rest_num, 2);
    }
    let (_, popped) = pop(&client, &broker).await;
    assert_eq!(bodies(&popped), [&b"p0"[..], b"p1"], "the peeks took nothing");
    let empty = ask(&client, &broker, with_header(RequestCode::PEEK_MESSAGE, &peek)).await;
    assert_eq!(ResponseCode(empty.code), ResponseCode::PULL_NOT_FOUND);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pops_are_refused_as_java_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    setup(&client, &broker, &[]).await;
    let too_many = ask(&client, &broker, pop_request(&broker, 33, 0)).await;
    assert_eq!(ResponseCode(too_many.code), ResponseCode::INVALID_PARAMETER);
    let mut header = PopMessageRequestHeader::from_command(&pop_request(&broker, 1, 0)).unwrap();
    header.topic = "Nowhere".into();
    let missing = ask(&client, &broker, with_header(RequestCode::POP_MESSAGE, &header)).await;
    assert_eq!(ResponseCode(missing.code), ResponseCode::TOPIC_NOT_EXIST);
    header.topic = TOPIC.into();
    header.born_time -= 10_000;
    let late = ask(&client, &broker, with_header(RequestCode::POP_MESSAGE, &header)).await;
    assert_eq!(ResponseCode(late.code), ResponseCode::POLLING_TIMEOUT);
    assert!(late.remark.unwrap().ends_with("pop message is timeout too much"));
    let bad_receipt = AckMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        extra_info: "not a receipt".into(),
        offset: 0,
        ..AckMessageRequestHeader::default()
    };
    let refused = ask(&client, &broker, with_header(RequestCode::ACK_MESSAGE, &bad_receipt)).await;
    assert_eq!(ResponseCode(refused.code), ResponseCode::SYSTEM_ERROR);
    broker.shutdown().await;
}
