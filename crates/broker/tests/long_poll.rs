//! Long polling with filters against a real broker on 127.0.0.1, on paused time: a pull held on
//! one tag stays held while messages of other tags arrive, as Java's
//! `PullRequestHoldService.notifyMessageArriving` matches the arriving tags code, and is answered
//! by the first message it wants, or at its suspend timeout.
//!
//! Every case ends within 5 s of the broker's start: the periodic check (every 5 s, as Java's)
//! wakes held pulls whatever their filter, as Java's does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ask, client, properties, send_v2, start_broker, with_header};
use ferrocket_wire::header::{CustomHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use ferrocket_wire::message::decode_all;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::time::Instant;

const TOPIC: &str = "HeldTagTopic";
/// `PullSysFlag`: FLAG_SUSPEND | FLAG_SUBSCRIPTION.
const SUSPEND_WITH_SUBSCRIPTION: i32 = 0x2 | 0x4;

fn held_pull(offset: i64, subscription: &str, suspend_timeout_millis: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: TOPIC.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: SUSPEND_WITH_SUBSCRIPTION,
        suspend_timeout_millis,
        subscription: Some(subscription.into()),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    with_header(RequestCode::PULL_MESSAGE, &header)
}

fn tagged(tag: &str, body: &'static [u8]) -> RemotingCommand {
    send_v2(TOPIC, 0, &properties(&[("TAGS", tag)]), body)
}

/// Moves paused time on in small steps, so the broker's tasks run between them.
async fn let_time_pass(by: Duration) {
    let step = Duration::from_millis(10);
    let until = Instant::now() + by;
    while Instant::now() < until {
        tokio::time::advance(step).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_pull_held_on_one_tag_stays_held_while_other_tags_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let addr = broker.local_addr().to_string();
    assert_eq!(ask(&client, &broker, tagged("TagC", b"before")).await.code, 0);
    let holds = Arc::clone(&broker.broker().pull_holds);

    let mut held = client
        .invoke_async(&addr, held_pull(1, "TagA", 10_000), Duration::from_secs(30))
        .await
        .unwrap();
    let_time_pass(Duration::from_millis(100)).await;
    assert_eq!(holds.len(), 1, "the pull is not held");
    for body in [&b"b1"[..], b"b2", b"b3"] {
        assert_eq!(ask(&client, &broker, tagged("TagB", body)).await.code, 0);
    }
    let_time_pass(Duration::from_secs(1)).await;
    assert!(
        tokio::time::timeout(Duration::ZERO, &mut held).await.is_err(),
        "messages of another tag answered the pull held on TagA"
    );
    assert_eq!(holds.len(), 1);

    assert_eq!(ask(&client, &broker, tagged("TagA", b"wanted")).await.code, 0);
    let response = tokio::time::timeout(Duration::from_millis(500), held)
        .await
        .expect("the TagA message did not release the pull")
        .unwrap();
    assert_eq!(response.code, ResponseCode::SUCCESS.0, "{:?}", response.remark);
    let decoded = decode_all(response.body.as_deref().unwrap());
    let bodies: Vec<&[u8]> = decoded.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [&b"wanted"[..]]);
    let header = PullMessageResponseHeader::from_command(&response).unwrap();
    assert_eq!(header.next_begin_offset, 5);
    assert!(holds.is_empty());

    // Only other tags until the suspend time is up: answered then, as before, with the read's
    // verdict (the TagB message is skipped, so the client moves past it at once).
    let started = Instant::now();
    let held = client
        .invoke_async(&addr, held_pull(5, "TagA", 1_500), Duration::from_secs(30))
        .await
        .unwrap();
    let_time_pass(Duration::from_millis(100)).await;
    assert_eq!(ask(&client, &broker, tagged("TagB", b"b4")).await.code, 0);
    let response = held.await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "answered before its timeout"
    );
    assert_eq!(response.code, ResponseCode::PULL_RETRY_IMMEDIATELY.0);
    assert_eq!(response.remark.as_deref(), Some("NO_MATCHED_MESSAGE"));
    assert_eq!(
        PullMessageResponseHeader::from_command(&response)
            .unwrap()
            .next_begin_offset,
        6
    );
    broker.shutdown().await;
}
