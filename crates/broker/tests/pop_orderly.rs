//! Orderly POP against a real broker on a manual clock: a queue popped with `order=true` stays
//! blocked for its group until the pop is acked or its invisible time is over, the group's
//! offset moves only with the acks, and a message popped again carries its pop count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{advance, ask, client, create_topic, ok_code, send_v2, start_broker, with_header};
use ferrocket_broker::BrokerHandle;
use ferrocket_net::Client;
use ferrocket_wire::header::{
    AckMessageRequestHeader, CustomHeader, PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferrocket_wire::message::decode_all;
use ferrocket_wire::pop_receipt::{ORDER_REVIVE_QUEUE, receipt_of};
use ferrocket_wire::{RequestCode, ResponseCode};

const TOPIC: &str = "OrderTopic";
const GROUP: &str = "orderGroup";

/// Pops `max` in order; the code, each message's body and receipt, and the order count info.
async fn pop(
    client: &Client,
    broker: &BrokerHandle,
    max: i32,
) -> (ResponseCode, Vec<(Vec<u8>, String)>, Option<String>) {
    let header = PopMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        max_msg_nums: max,
        invisible_time: 10_000,
        poll_time: 0,
        born_time: broker.broker().now_ms(),
        init_mode: 1,
        order: true,
        ..PopMessageRequestHeader::default()
    };
    let response = ask(client, broker, with_header(RequestCode::POP_MESSAGE, &header)).await;
    let code = ResponseCode(response.code);
    if code != ResponseCode::SUCCESS {
        return (code, Vec::new(), None);
    }
    let header = PopMessageResponseHeader::from_command(&response).unwrap();
    assert_eq!(header.revive_qid, ORDER_REVIVE_QUEUE);
    let messages = decode_all(response.body.as_deref().unwrap()).messages;
    let popped = messages
        .iter()
        .map(|m| {
            let receipt = receipt_of((&m.topic, m.queue_id, m.queue_offset), None, &header, "b").unwrap();
            (m.body.to_vec(), receipt)
        })
        .collect();
    (code, popped, header.order_count_info)
}

async fn ack(client: &Client, broker: &BrokerHandle, receipt: &str) -> ResponseCode {
    let offset = receipt.rsplit(' ').next().unwrap().parse().unwrap();
    let header = AckMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        extra_info: receipt.into(),
        offset,
        ..AckMessageRequestHeader::default()
    };
    ResponseCode(
        ask(client, broker, with_header(RequestCode::ACK_MESSAGE, &header))
            .await
            .code,
    )
}

fn bodies(popped: &[(Vec<u8>, String)]) -> Vec<&[u8]> {
    popped.iter().map(|(body, _)| &body[..]).collect()
}

#[tokio::test(start_paused = true)]
async fn an_orderly_pop_blocks_its_queue_until_acked_or_over() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, 1)).await);
    for body in [&b"m0"[..], b"m1", b"m2"] {
        ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, "", body)).await);
    }
    let (_, first, counts) = pop(&client, &broker, 2).await;
    assert_eq!(bodies(&first), [&b"m0"[..], b"m1"]);
    assert_eq!(counts.as_deref(), Some("0 0 0"), "nothing popped before");
    assert_eq!(
        pop(&client, &broker, 2).await.0,
        ResponseCode::POLLING_TIMEOUT,
        "blocked"
    );
    assert_eq!(ack(&client, &broker, &first[0].1).await, ResponseCode::SUCCESS);
    assert_eq!(
        pop(&client, &broker, 2).await.0,
        ResponseCode::POLLING_TIMEOUT,
        "m1 still in flight"
    );
    advance(&broker, Duration::from_millis(10_500)).await;
    let (_, again, counts) = pop(&client, &broker, 2).await;
    assert_eq!(
        bodies(&again),
        [&b"m1"[..], b"m2"],
        "from the first unacked message, in order"
    );
    assert_eq!(counts.as_deref(), Some("0 qo0%1 1;0 0 0"), "m1 was popped once before");
    // Offset 3 is in the queue (the next to be written) but not in this pop.
    let bogus = again[0]
        .1
        .rsplit_once(' ')
        .map(|(head, _)| format!("{head} 3"))
        .unwrap();
    assert_eq!(ack(&client, &broker, &bogus).await, ResponseCode::MESSAGE_ILLEGAL);
    for (_, receipt) in &again {
        assert_eq!(ack(&client, &broker, receipt).await, ResponseCode::SUCCESS);
    }
    assert_eq!(
        pop(&client, &broker, 2).await.0,
        ResponseCode::POLLING_TIMEOUT,
        "all consumed"
    );
    ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, "", b"m3")).await);
    let (_, last, _) = pop(&client, &broker, 2).await;
    assert_eq!(bodies(&last), [&b"m3"[..]], "acks freed the queue at once");
    broker.shutdown().await;
}
