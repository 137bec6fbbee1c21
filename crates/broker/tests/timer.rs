//! Timer messages against a real broker on 127.0.0.1: a message with `TIMER_DELIVER_MS`,
//! `TIMER_DELAY_SEC` or `TIMER_DELAY_MS` waits in `rmq_sys_wheel_timer` and reaches its topic
//! at its time, never before and at most a wheel tick after; Java's refusals; and delivery once
//! across restarts, including one whose progress file is lost (as after a kill between a
//! delivery and the file's write) and one where the time passed while the broker was down.
//!
//! On paused time: the broker's clock and tokio's move together by `common::advance`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{advance, ask, client, ok_code, properties, pull_queue, send_v2, start_broker, start_broker_on};
use ferrocket_broker::{BrokerHandle, Clock};
use ferrocket_net::Client;
use ferrocket_wire::header::{CustomHeader, SendMessageResponseHeader};
use ferrocket_wire::message::StoredMessage;

const TOPIC: &str = "TimerTopic";
/// The wheel's tick: how late a delivery may be on a clock that moves in steps of [`STEP_MS`].
const TICK_MS: i64 = 100;
const STEP_MS: u64 = 10;

fn now_ms(broker: &BrokerHandle) -> i64 {
    broker.broker().now_ms()
}

fn uniq(n: u32) -> String {
    format!("7F00000100002A9F0000000000{n:06}")
}

async fn send_timer(
    client: &Client,
    broker: &BrokerHandle,
    n: u32,
    timer: (&str, String),
) -> SendMessageResponseHeader {
    let props = properties(&[("TAGS", "t"), ("UNIQ_KEY", &uniq(n)), (timer.0, &timer.1)]);
    let response = ask(client, broker, send_v2(TOPIC, 0, &props, b"timed")).await;
    ok_code(&response);
    SendMessageResponseHeader::from_command(&response).unwrap()
}

/// Advances in small steps until `count` messages are in the topic; returns them and the
/// broker's time when they were first all there.
async fn wait_delivered(
    client: &Client,
    broker: &BrokerHandle,
    count: usize,
    limit_ms: i64,
) -> (Vec<StoredMessage>, i64) {
    let start = now_ms(broker);
    loop {
        let messages = pull_queue(client, broker, TOPIC, 0).await;
        if messages.len() >= count {
            return (messages, now_ms(broker));
        }
        assert!(
            now_ms(broker) - start < limit_ms,
            "only {} of {count} delivered",
            messages.len()
        );
        advance(broker, Duration::from_millis(STEP_MS)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_timer_message_arrives_at_its_time_with_javas_properties() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let deliver_at = now_ms(&broker) + 3_456;
    let sent = send_timer(&client, &broker, 1, ("TIMER_DELIVER_MS", deliver_at.to_string())).await;
    // The producer sees its own queue; the record waits in the timer topic.
    assert_eq!(sent.queue_id, 0);
    let parked = pull_queue(&client, &broker, "rmq_sys_wheel_timer", 0).await;
    assert_eq!(parked.len(), 1);
    let slot = deliver_at / 1_000 * 1_000;
    assert_eq!(
        parked[0].properties.get("TIMER_OUT_MS"),
        Some(slot.to_string().as_str())
    );
    assert_eq!(parked[0].properties.get("REAL_TOPIC"), Some(TOPIC));
    assert_eq!(parked[0].properties.get("REAL_QID"), Some("0"));

    advance(&broker, Duration::from_millis(3_400)).await;
    assert!(
        pull_queue(&client, &broker, TOPIC, 0).await.is_empty(),
        "delivered early"
    );
    let (delivered, seen_ms) = wait_delivered(&client, &broker, 1, 2_000).await;
    assert!(seen_ms >= deliver_at, "early by {} ms", deliver_at - seen_ms);
    assert!(
        seen_ms <= deliver_at + TICK_MS + 20,
        "late by {} ms",
        seen_ms - deliver_at
    );
    let message = &delivered[0];
    assert_eq!((message.topic.as_str(), &message.body[..]), (TOPIC, &b"timed"[..]));
    assert!(message.store_timestamp_ms >= deliver_at);
    for key in [
        "TIMER_OUT_MS",
        "TIMER_DELIVER_MS",
        "TIMER_ENQUEUE_MS",
        "TIMER_DEQUEUE_MS",
        "REAL_TOPIC",
    ] {
        assert!(message.properties.get(key).is_some(), "{key} missing");
    }
    assert_eq!(message.properties.get("UNIQ_KEY"), Some(uniq(1).as_str()));
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delays_in_seconds_and_ms_count_from_the_send() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let sent_ms = now_ms(&broker);
    send_timer(&client, &broker, 1, ("TIMER_DELAY_SEC", "2".into())).await;
    send_timer(&client, &broker, 2, ("TIMER_DELAY_MS", "1500".into())).await;
    let (first, first_ms) = wait_delivered(&client, &broker, 1, 3_000).await;
    assert_eq!(first[0].properties.get("UNIQ_KEY"), Some(uniq(2).as_str()));
    assert!((sent_ms + 1_500..=sent_ms + 1_500 + TICK_MS + 20).contains(&first_ms));
    let (_, second_ms) = wait_delivered(&client, &broker, 2, 3_000).await;
    assert!((sent_ms + 2_000..=sent_ms + 2_000 + TICK_MS + 20).contains(&second_ms));
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn javas_refusals_and_a_time_already_passed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| config.timer_max_delay_sec = 60).await;
    let client = client();
    let now = now_ms(&broker);
    for (n, value) in [(1, (now + 61_000).to_string()), (2, "soon".to_owned())] {
        let props = properties(&[("UNIQ_KEY", &uniq(n)), ("TIMER_DELIVER_MS", &value)]);
        let response = ask(&client, &broker, send_v2(TOPIC, 0, &props, b"x")).await;
        assert_eq!(response.code, 13, "{value}");
        assert_eq!(
            response.remark.as_deref(),
            Some(
                "timer message illegal, the delay time should not be bigger than the max delay 60000ms; or if set del msg, the delay time should be bigger than the current time"
            )
        );
    }
    // A time already passed is no timer: delivered at once, properties untouched.
    send_timer(&client, &broker, 3, ("TIMER_DELIVER_MS", (now - 5).to_string())).await;
    let delivered = pull_queue(&client, &broker, TOPIC, 0).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].properties.get("TIMER_OUT_MS"), None);
    // A delay level wins over a timer, as in Java: the timer properties are dropped.
    let props = properties(&[("DELAY", "1"), ("TIMER_DELAY_SEC", "30")]);
    ok_code(&ask(&client, &broker, send_v2(TOPIC, 1, &props, b"level")).await);
    let scheduled = pull_queue(&client, &broker, "SCHEDULE_TOPIC_XXXX", 0).await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].properties.get("TIMER_DELAY_SEC"), None);
    broker.shutdown().await;

    let off = tempfile::tempdir().unwrap();
    let broker = start_broker(off.path(), |config| config.timer_wheel_enable = false).await;
    let props = properties(&[("TIMER_DELAY_SEC", "5")]);
    let response = ask(&client, &broker, send_v2(TOPIC, 0, &props, b"x")).await;
    assert_eq!(response.code, 1);
    assert_eq!(
        response.remark.as_deref(),
        Some("accurate timer message is not enabled, timerWheelEnable is false")
    );
    broker.shutdown().await;
}

/// Sends timers due at +1 s .. +`count` s; returns their delivery times.
async fn send_spread(client: &Client, broker: &BrokerHandle, count: u32) -> Vec<i64> {
    let base = now_ms(broker);
    let mut times = Vec::new();
    for n in 0..count {
        let at = base + 1_000 * i64::from(n + 1) + 137;
        send_timer(client, broker, n, ("TIMER_DELIVER_MS", at.to_string())).await;
        times.push(at);
    }
    times
}

fn assert_once_each(messages: &[StoredMessage], count: u32) {
    let mut keys: Vec<_> = messages
        .iter()
        .map(|m| m.properties.get("UNIQ_KEY").unwrap().to_owned())
        .collect();
    keys.sort();
    let expected: Vec<_> = (0..count).map(uniq).collect();
    assert_eq!(keys, expected);
}

#[tokio::test(start_paused = true)]
async fn timers_are_delivered_once_across_restarts_even_without_the_progress_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let client = client();
    let times = send_spread(&client, &broker, 6).await;
    // The first three are delivered, then the broker stops.
    wait_delivered(&client, &broker, 3, 5_000).await;
    advance(&broker, Duration::from_millis(1_200)).await;
    broker.shutdown().await;

    // Lose the progress file, as a kill right after a delivery could: the index must tell.
    let config_dir = dir.path().join("config");
    for name in ["timerProgress.json", "timerProgress.json.bak"] {
        let _ = std::fs::remove_file(config_dir.join(name));
    }
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let (messages, _) = wait_delivered(&client, &broker, 6, 10_000).await;
    advance(&broker, Duration::from_secs(3)).await;
    let messages_after = pull_queue(&client, &broker, TOPIC, 0).await;
    assert_eq!(messages_after.len(), messages.len(), "a timer was delivered twice");
    assert_once_each(&messages_after, 6);
    for message in &messages_after {
        assert!(message.store_timestamp_ms >= times[0]);
    }
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_time_that_passed_while_the_broker_was_down_is_delivered_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let client = client();
    send_spread(&client, &broker, 3).await;
    broker.shutdown().await;
    // Down for ten seconds: all three are due when it comes back.
    clock.advance(10_000);
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let (messages, seen_ms) = wait_delivered(&client, &broker, 3, 1_000).await;
    assert!(seen_ms - now_ms(&broker) <= TICK_MS);
    assert_once_each(&messages, 3);
    broker.shutdown().await;
}

fn recall(handle: &str, topic: &str) -> ferrocket_wire::RemotingCommand {
    let header = ferrocket_wire::header::RecallMessageRequestHeader {
        producer_group: Some("pg".into()),
        topic: topic.into(),
        recall_handle: handle.into(),
        ..Default::default()
    };
    common::with_header(ferrocket_wire::RequestCode::RECALL_MESSAGE, &header)
}

#[tokio::test(start_paused = true)]
async fn a_recalled_timer_is_never_delivered_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |c| c.recall_message_enable = true).await;
    let client = client();
    let at = now_ms(&broker) + 3_000;
    let recalled = send_timer(&client, &broker, 1, ("TIMER_DELIVER_MS", at.to_string())).await;
    let kept = send_timer(&client, &broker, 2, ("TIMER_DELIVER_MS", at.to_string())).await;
    let handle = recalled.recall_handle.expect("a timer send returns a recall handle");
    assert!(kept.recall_handle.is_some());

    // Java's refusals first: another topic, a broken handle.
    let wrong_topic = ask(&client, &broker, recall(&handle, "OtherTopic")).await;
    assert_eq!(
        (wrong_topic.code, wrong_topic.remark.as_deref()),
        (17, Some("recall failed, the topic[OtherTopic] not exist"))
    );
    let broken = ask(&client, &broker, recall("djEgYSBi", TOPIC)).await;
    assert_eq!(
        (broken.code, broken.remark.as_deref()),
        (604, Some("recall handle is invalid"))
    );

    let answer = ask(&client, &broker, recall(&handle, TOPIC)).await;
    ok_code(&answer);
    assert_eq!(answer.ext("msgId"), Some(uniq(1).as_str()));
    assert_eq!(answer.ext("MSG_REGION"), Some("DefaultRegion"));
    // The broker stops and starts again before the slot comes: the recall holds.
    advance(&broker, Duration::from_millis(500)).await;
    broker.shutdown().await;
    let broker = start_broker_on(dir.path(), clock.clone(), |c| c.recall_message_enable = true).await;
    let (delivered, _) = wait_delivered(&client, &broker, 1, 5_000).await;
    advance(&broker, Duration::from_secs(3)).await;
    let delivered_after = pull_queue(&client, &broker, TOPIC, 0).await;
    assert_eq!(delivered_after.len(), 1, "the recalled timer was delivered");
    assert_eq!(delivered[0].properties.get("UNIQ_KEY"), Some(uniq(2).as_str()));
    // Too late now: the time has passed.
    let late = ask(&client, &broker, recall(kept.recall_handle.as_deref().unwrap(), TOPIC)).await;
    assert_eq!(
        (late.code, late.remark.as_deref()),
        (604, Some("recall failed, timestamp invalid"))
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn recall_is_refused_unless_enabled_as_in_java() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let sent = send_timer(&client, &broker, 1, ("TIMER_DELAY_SEC", "30".into())).await;
    let answer = ask(&client, &broker, recall(&sent.recall_handle.unwrap(), TOPIC)).await;
    assert_eq!(
        (answer.code, answer.remark.as_deref()),
        (16, Some("recall failed, operation is forbidden"))
    );
    broker.shutdown().await;
}

/// Ours, not Java's: clean-up keeps the commit-log segment of a timer still waiting, whatever
/// its age (Java deletes it, and the timer is never delivered); older segments still go.
#[tokio::test(start_paused = true)]
async fn clean_up_keeps_the_segment_of_a_waiting_timer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |c| c.store.commit_log_segment_bytes = 64 * 1024).await;
    let client = client();
    let body = &[b'x'; 1024];
    let filler = |n: u32| {
        let props = properties(&[("UNIQ_KEY", &uniq(1_000 + n))]);
        common::send_v2("FillerTopic", 0, &props, body)
    };
    for n in 0..200 {
        ok_code(&ask(&client, &broker, filler(n)).await);
    }
    let at = now_ms(&broker) + 60_000;
    send_timer(&client, &broker, 1, ("TIMER_DELIVER_MS", at.to_string())).await;
    for n in 200..400 {
        ok_code(&ask(&client, &broker, filler(n)).await);
    }
    // Let the wheel read the timer and tell the store what it still needs.
    for _ in 0..60 {
        advance(&broker, Duration::from_millis(100)).await;
    }
    let store = &broker.broker().store;
    let min_before = store.read(|s| s.commit_log_min_offset());
    // Three days and an hour later every segment has expired; an operator asks for deletion.
    store.write(|s| s.arm_manual_delete());
    let report = store.run_cleanup_once(now_ms(&broker) + 73 * 3_600_000).unwrap();
    assert!(!report.deleted_segments.is_empty(), "the older segments are deleted");
    assert!(report.held_back > 0, "the timer's segment is kept: {report:?}");
    assert!(store.read(|s| s.commit_log_min_offset()) > min_before);
    let (delivered, _) = wait_delivered(&client, &broker, 1, 70_000).await;
    assert_eq!(delivered[0].properties.get("UNIQ_KEY"), Some(uniq(1).as_str()));
    broker.shutdown().await;
}
