//! The Prometheus endpoint (`metricsExporterType=PROM`) of a real broker on 127.0.0.1, scraped
//! over HTTP after traffic: the counters, histograms and gauges read what the test sent, pulled
//! and committed, under Java 5.3.3's sample names and labels; pull and POP in-flight and ready
//! messages; the timer wheel's gauges and per-topic counters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::{ask, client, consumer_heartbeat, create_topic, ok_code, properties, pull_queue, send_v2, start_broker};
use ferrocket_broker::config::MetricsExporterType;
use ferrocket_wire::RequestCode;
use ferrocket_wire::header::{PopMessageRequestHeader, UpdateConsumerOffsetRequestHeader};
use ferrocket_wire::message::decode_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOPIC: &str = "MetricsTopic";
const QUEUES: i32 = 4;
const PER_QUEUE: i32 = 5;

/// `GET /metrics` over HTTP/1.0; the samples as `name{labels}` (labels sorted) → value.
async fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (normalise(series), value.parse::<f64>().unwrap())
        })
        .collect()
}

/// `name{b="2",a="1"}` → `name{a="1",b="2"}`, so that lookups do not depend on label order.
fn normalise(series: &str) -> String {
    let Some((name, rest)) = series.split_once('{') else {
        return series.to_owned();
    };
    let mut labels: Vec<&str> = rest.trim_end_matches('}').split("\",").collect();
    labels.iter_mut().for_each(|l| *l = l.trim_end_matches('"'));
    labels.sort_unstable();
    let joined: Vec<String> = labels.iter().map(|l| format!("{l}\"")).collect();
    format!("{name}{{{}}}", joined.join(","))
}

/// The value of the one series of `name` whose labels include every pair of `want`.
fn value(samples: &BTreeMap<String, f64>, name: &str, want: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| series.starts_with(&format!("{name}{{")))
        .filter(|(series, _)| want.iter().all(|(k, v)| series.contains(&format!("{k}=\"{v}\""))))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(found.len(), 1, "{name} {want:?} in {samples:#?}");
    found[0]
}

#[tokio::test]
async fn a_scrape_reads_what_was_sent_pulled_and_committed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.metrics_exporter_type = MetricsExporterType::Prom;
        config.metrics_prom_exporter_port = 0;
    })
    .await;
    let metrics = broker.metrics_addr().expect("PROM serves an endpoint");
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, QUEUES)).await);
    ok_code(&ask(&client, &broker, consumer_heartbeat("c1", "cg", TOPIC, 1)).await);
    let props = properties(&[("TAGS", "t")]);
    for queue_id in 0..QUEUES {
        for _ in 0..PER_QUEUE {
            ok_code(&ask(&client, &broker, send_v2(TOPIC, queue_id, &props, b"metrics body")).await);
        }
    }
    let mut pulled_bytes = 0;
    let mut pulled = 0;
    for queue_id in 0..QUEUES {
        for message in pull_queue(&client, &broker, TOPIC, queue_id).await {
            pulled += 1;
            let mut record = bytes::BytesMut::new();
            message.encode(&mut record).unwrap();
            pulled_bytes += record.len();
        }
    }
    let sent = f64::from(QUEUES * PER_QUEUE);
    assert_eq!(pulled, QUEUES * PER_QUEUE);
    // The group commits queue 0 whole and 2 of queue 1's 5; queues 2 and 3 stay uncommitted,
    // which Java counts as neither lagging nor in flight.
    for (queue_id, offset) in [(0, PER_QUEUE), (1, 2)] {
        ok_code(&ask(&client, &broker, commit_offset("cg", queue_id, offset)).await);
    }
    let samples = scrape(metrics).await;
    let topic = [("topic", TOPIC), ("message_type", "normal"), ("is_system", "false")];
    assert_eq!(value(&samples, "rocketmq_messages_in_total", &topic), sent);
    let bytes_in = value(&samples, "rocketmq_throughput_in_total", &topic);
    // Bytes in are the stored records, which the pulls carried back out whole.
    assert_eq!(bytes_in, pulled_bytes as f64);
    assert_eq!(value(&samples, "rocketmq_message_size_count", &topic), sent);
    assert_eq!(value(&samples, "rocketmq_message_size_sum", &topic), bytes_in);
    let small = [("topic", TOPIC), ("le", "1024.0")];
    assert_eq!(value(&samples, "rocketmq_message_size_bucket", &small), sent);
    let group = [("topic", TOPIC), ("consumer_group", "cg"), ("is_system", "false")];
    assert_eq!(value(&samples, "rocketmq_messages_out_total", &group), sent);
    assert_eq!(value(&samples, "rocketmq_throughput_out_total", &group), bytes_in);
    let sends = [
        ("request_code", "send_message_v2"),
        ("response_code", "success"),
        ("result", "success"),
        ("is_long_polling", "false"),
        ("protocol_type", "remoting"),
    ];
    assert_eq!(value(&samples, "rocketmq_rpc_latency_milliseconds_count", &sends), sent);
    let created = [("invocation_status", "success"), ("is_system", "false")];
    assert_eq!(
        value(
            &samples,
            "rocketmq_topic_create_execution_time_milliseconds_count",
            &created
        ),
        1.0
    );
    let lag = [("topic", TOPIC), ("consumer_group", "cg"), ("is_retry", "false")];
    let lagging = f64::from(PER_QUEUE - 2);
    assert_eq!(value(&samples, "rocketmq_consumer_lag_messages", &lag), lagging);
    assert_eq!(value(&samples, "rocketmq_consumer_inflight_messages", &lag), lagging);
    assert_eq!(value(&samples, "rocketmq_consumer_ready_messages", &lag), 0.0);
    let connections = [("consumer_group", "cg"), ("consume_mode", "push"), ("language", "java")];
    assert_eq!(value(&samples, "rocketmq_consumer_connections", &connections), 1.0);
    let common = [
        ("cluster", "DefaultCluster"),
        ("node_type", "broker"),
        ("node_id", "broker-a"),
    ];
    let topics = value(&samples, "rocketmq_topic_number", &common);
    assert_eq!(topics, broker.broker().topics.lock().len() as f64);
    assert!(value(&samples, "rocketmq_storage_size_bytes", &[("storage_type", "local")]) > 0.0);

    // Two more on queue 1, not pulled yet: ready, and lagging behind the commit.
    for _ in 0..2 {
        ok_code(&ask(&client, &broker, send_v2(TOPIC, 1, &props, b"metrics body")).await);
    }
    let samples = scrape(metrics).await;
    assert_eq!(value(&samples, "rocketmq_consumer_lag_messages", &lag), lagging + 2.0);
    assert_eq!(value(&samples, "rocketmq_consumer_inflight_messages", &lag), lagging);
    assert_eq!(value(&samples, "rocketmq_consumer_ready_messages", &lag), 2.0);
    assert!(value(&samples, "rocketmq_consumer_queueing_latency_milliseconds", &lag) >= 0.0);
    broker.shutdown().await;
}

/// UPDATE_CONSUMER_OFFSET for `group` on [`TOPIC`].
fn commit_offset(group: &str, queue_id: i32, offset: i32) -> ferrocket_wire::RemotingCommand {
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: TOPIC.into(),
        queue_id,
        commit_offset: i64::from(offset),
        ..Default::default()
    };
    common::with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit)
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    assert_eq!(broker.metrics_addr(), None);
    assert!(!broker.broker().metrics.enabled());
    broker.shutdown().await;
}

/// POP's in-flight messages (Java's `PopInflightMessageCounter`): popped and not acknowledged,
/// per group and topic, until an ack takes them out.
#[tokio::test]
async fn popped_messages_are_in_flight_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.metrics_exporter_type = MetricsExporterType::Prom;
        config.metrics_prom_exporter_port = 0;
    })
    .await;
    let metrics = broker.metrics_addr().expect("PROM serves an endpoint");
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, 1)).await);
    ok_code(&ask(&client, &broker, consumer_heartbeat("c1", "pg", TOPIC, 1)).await);
    let props = properties(&[("TAGS", "t")]);
    for _ in 0..PER_QUEUE {
        ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, &props, b"popped body")).await);
    }
    let pop = PopMessageRequestHeader {
        consumer_group: "pg".into(),
        topic: TOPIC.into(),
        queue_id: -1,
        max_msg_nums: 3,
        invisible_time: 60_000,
        poll_time: 0,
        born_time: broker.broker().now_ms(),
        init_mode: 1,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        ..PopMessageRequestHeader::default()
    };
    let popped = ask(&client, &broker, common::with_header(RequestCode::POP_MESSAGE, &pop)).await;
    ok_code(&popped);
    let found = decode_all(popped.body.as_deref().unwrap()).messages.len();
    assert_eq!(found, 3);

    let samples = scrape(metrics).await;
    let group = [("topic", TOPIC), ("consumer_group", "pg"), ("is_retry", "false")];
    assert_eq!(value(&samples, "rocketmq_consumer_inflight_messages", &group), 3.0);
    broker.shutdown().await;
}

/// The timer wheel's gauges (`timerWheelEnable` is on by default, as in Java): a timer two
/// minutes ahead shows in the snapshot's 60..300 s window once the wheel has read it; the
/// per-topic counters count timers in and out of the wheel.
#[tokio::test]
async fn a_waiting_timer_shows_in_the_timer_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.metrics_exporter_type = MetricsExporterType::Prom;
        config.metrics_prom_exporter_port = 0;
    })
    .await;
    let metrics = broker.metrics_addr().expect("PROM serves an endpoint");
    let client = client();
    ok_code(&ask(&client, &broker, create_topic(TOPIC, 1)).await);
    let deliver_at = (broker.broker().now_ms() + 120_000).to_string();
    let props = properties(&[("TAGS", "t"), ("TIMER_DELIVER_MS", &deliver_at)]);
    ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, &props, b"later")).await);
    let window = [("timer_bound_s", "300"), ("storage_type", "local")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let samples = scrape(metrics).await;
        if value(&samples, "rocketmq_timer_message_snapshot", &window) == 1.0 {
            assert_eq!(
                value(&samples, "rocketmq_timer_message_snapshot", &[("timer_bound_s", "60")]),
                0.0
            );
            assert_eq!(
                value(&samples, "rocketmq_timer_dequeue_lag", &[]),
                1.0,
                "waiting in the wheel"
            );
            assert_eq!(value(&samples, "rocketmq_timer_enqueue_lag", &[]), 0.0);
            // As Java counts it: under the timer topic it is stored in, not the topic it names.
            let under_topic = samples
                .keys()
                .filter(|series| series.starts_with("rocketmq_messages_in_total{"))
                .filter(|series| series.contains(&format!("topic=\"{TOPIC}\"")))
                .count();
            assert_eq!(under_topic, 0, "{samples:#?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the timer never showed: {samples:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Java's per-topic counters, under the topic the timer names: one in; then a timer 300 ms
    // ahead (on the test's manual clock, moved past it) goes in and out.
    let topic = [("topic", TOPIC), ("storage_type", "local")];
    let samples = scrape(metrics).await;
    assert_eq!(value(&samples, "rocketmq_timer_enqueue_total", &topic), 1.0);
    assert_eq!(value(&samples, "rocketmq_timer_dequeue_total", &topic), 0.0);
    let soon = (broker.broker().now_ms() + 300).to_string();
    let props = properties(&[("TAGS", "t"), ("TIMER_DELIVER_MS", &soon)]);
    ok_code(&ask(&client, &broker, send_v2(TOPIC, 0, &props, b"soon")).await);
    broker.broker().clock().advance(2_000);
    loop {
        let samples = scrape(metrics).await;
        if value(&samples, "rocketmq_timer_dequeue_total", &topic) == 1.0 {
            assert_eq!(value(&samples, "rocketmq_timer_enqueue_total", &topic), 2.0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never dequeued: {samples:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    broker.shutdown().await;
}
