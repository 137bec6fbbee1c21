//! The Prometheus endpoint (`metricsExporterType=PROM`): an HTTP listener on
//! `metricsPromExporterHost:metricsPromExporterPort` (Java's keys; the host defaults to
//! `brokerIP1`, the port to 5557) answering any GET with the text exposition of the metrics
//! Java 5.3.3's broker exports, under the same sample names and labels, so a Grafana dashboard
//! built on Java's exporter reads ours unchanged.
//!
//! Counters and histograms come from the recorders of `state::metrics`; gauges are computed here
//! from the tables at each scrape, as Java's observable gauges are. Every series carries Java's
//! common labels: `cluster`, `node_type="broker"`, `node_id` (the broker name) and
//! `otel_scope_name="broker-meter"` (Java's OpenTelemetry meter). Java's sample names carry the
//! instrument's unit (`rocketmq_rpc_latency_milliseconds_bucket`, `rocketmq_storage_size_bytes`);
//! the encoder appends the same suffixes. Ours is OpenMetrics text (`# EOF` last), Java's the
//! 0.0.4 text format; Prometheus reads both.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use ferrocket_store::DiskSpace;
use ferrocket_wire::body::ConsumeType;
use ferrocket_wire::system_topics::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_wire::{RequestCode, ResponseCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::MetricsExporterType;
use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;
use crate::state::metrics::MessageType;
use crate::state::timer::counts::Counts;

/// Java's `OPEN_TELEMETRY_METER_NAME`.
const METER_NAME: &str = "broker-meter";
/// Java's `MixAll.CID_RMQ_SYS_PREFIX`, lowercased as `isSystemGroup` compares it.
const SYSTEM_GROUP_PREFIX: &str = "cid_rmq_sys_";
/// Java's request processors (`rocketmq_processor_watermark`'s `processor` label). Our requests
/// queue in the transport, not in per-processor pools, so each reads 0.
const PROCESSORS: [&str; 12] = [
    "send",
    "async_put",
    "pull",
    "ack",
    "query_message",
    "client_manager",
    "heartbeat",
    "lite_pull",
    "transaction",
    "consumer_manager",
    "admin",
    "reply",
];
/// `MQVersion.Version` ordinal of `V4_0_0_SNAPSHOT`: from it on the enum alternates
/// `Va_b_c_SNAPSHOT`, `Va_b_c` through `V5_9_9`.
const VERSION_V4_0_0_SNAPSHOT: i32 = 212;
const VERSION_LAST: i32 = 611;

type Labels = Vec<(&'static str, Cow<'static, str>)>;
/// One histogram series: labels, sum, count and the cumulative `(bound, count)` buckets.
type HistogramSeries = (Labels, u64, u64, Vec<(f64, u64)>);

/// Binds the endpoint when `metricsExporterType=PROM` and serves it until the task is aborted.
pub async fn start(broker: &Arc<Broker>) -> BrokerResult<Option<(SocketAddr, JoinHandle<()>)>> {
    let config = broker.config();
    if config.metrics_exporter_type != MetricsExporterType::Prom {
        return Ok(None);
    }
    let host = match config.metrics_prom_exporter_host.is_empty() {
        true => config.broker_ip1.clone(),
        false => config.metrics_prom_exporter_host.clone(),
    };
    let address = format!("{host}:{}", config.metrics_prom_exporter_port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|error| BrokerError::MetricsListenFailed {
            address: address.clone(),
            error,
        })?;
    let local = listener
        .local_addr()
        .map_err(|error| BrokerError::MetricsListenFailed {
            address: address.clone(),
            error,
        })?;
    let broker = Arc::clone(broker);
    let app = axum::Router::new().fallback(move || {
        let broker = Arc::clone(&broker);
        async move { scrape(&broker).into_response() }
    });
    info!(%local, "serving Prometheus metrics");
    // The task is the only owner of the listener; BrokerHandle aborts it at shutdown.
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            warn!(%error, "the metrics endpoint stopped");
        }
    });
    Ok(Some((local, task)))
}

fn scrape(broker: &Arc<Broker>) -> impl IntoResponse {
    let config = broker.config();
    let mut registry = Registry::with_labels(
        [
            (Cow::Borrowed("cluster"), Cow::Owned(config.broker_cluster_name.clone())),
            (Cow::Borrowed("node_type"), Cow::Borrowed("broker")),
            (Cow::Borrowed("node_id"), Cow::Owned(config.broker_name.clone())),
            (Cow::Borrowed("otel_scope_name"), Cow::Borrowed(METER_NAME)),
        ]
        .into_iter(),
    );
    registry.register_collector(Box::new(BrokerCollector(Arc::clone(broker))));
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        warn!(%error, "encoding metrics failed");
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// Encodes every metric of one broker when scraped.
struct BrokerCollector(Arc<Broker>);

impl std::fmt::Debug for BrokerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerCollector")
    }
}

impl Collector for BrokerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let b = &self.0;
        encode_traffic(b, &mut encoder)?;
        encode_rpc(b, &mut encoder)?;
        encode_tables(b, &mut encoder)?;
        encode_connections(b, &mut encoder)?;
        encode_lag(b, &mut encoder)?;
        encode_storage(b, &mut encoder)?;
        encode_timers(b, &mut encoder)
    }
}

/// One family of series: `(labels, value)` pairs under one descriptor.
fn family<V: Copy>(
    encoder: &mut DescriptorEncoder,
    (name, help, unit, kind): (&str, &str, Option<&Unit>, MetricType),
    series: &[(Labels, V)],
    mut each: impl FnMut(&mut prometheus_client::encoding::MetricEncoder, V) -> Result<(), std::fmt::Error>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, value) in series {
        each(&mut metric.encode_family(labels)?, *value)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    family(encoder, (name, help, None, MetricType::Counter), series, |m, v| {
        m.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&v, None)
    })
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    unit: Option<&Unit>,
    series: &[(Labels, i64)],
) -> Result<(), std::fmt::Error> {
    // Java's gauges all fall under its "default view for gauge." view description.
    family(
        encoder,
        (name, "default view for gauge.", unit, MetricType::Gauge),
        series,
        |m, v| m.encode_gauge(&v),
    )
}

fn system_group(group: &str) -> bool {
    group
        .get(..SYSTEM_GROUP_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(SYSTEM_GROUP_PREFIX))
}

fn flag(value: bool) -> Cow<'static, str> {
    Cow::Borrowed(if value { "true" } else { "false" })
}

/// Messages and bytes in and out, the message size histogram, DLQ sends.
fn encode_traffic(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let (traffic, system): (Vec<_>, Vec<bool>) = {
        let topics = b.topics.lock();
        let all = topics.all_traffic();
        let system = all.iter().map(|(topic, _)| topics.is_system_topic(topic)).collect();
        (all, system)
    };
    let (mut messages_in, mut bytes_in, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut messages_out, mut bytes_out) = (Vec::new(), Vec::new());
    for ((topic, counters), is_system) in traffic.iter().zip(system) {
        for kind in MessageType::ALL {
            let Some(inbound) = counters
                .inbound(kind)
                .filter(|i| i.messages.load(Ordering::Relaxed) > 0)
            else {
                continue;
            };
            let labels: Labels = vec![
                ("topic", Cow::Owned(topic.clone())),
                ("message_type", Cow::Borrowed(kind.label())),
                ("is_system", flag(is_system)),
            ];
            messages_in.push((labels.clone(), inbound.messages.load(Ordering::Relaxed)));
            bytes_in.push((labels.clone(), inbound.bytes.load(Ordering::Relaxed)));
            sizes.push((labels, &inbound.size));
        }
        for (group, messages, bytes) in counters.outbound() {
            let labels: Labels = vec![
                ("topic", Cow::Owned(topic.clone())),
                ("is_system", flag(is_system || system_group(&group))),
                ("consumer_group", Cow::Owned(group)),
            ];
            messages_out.push((labels.clone(), messages));
            bytes_out.push((labels, bytes));
        }
    }
    counter(
        encoder,
        "rocketmq_messages_in",
        "default view for counter.",
        &messages_in,
    )?;
    counter(
        encoder,
        "rocketmq_throughput_in",
        "default view for counter.",
        &bytes_in,
    )?;
    counter(
        encoder,
        "rocketmq_messages_out",
        "default view for counter.",
        &messages_out,
    )?;
    counter(
        encoder,
        "rocketmq_throughput_out",
        "default view for counter.",
        &bytes_out,
    )?;
    let mut metric = encoder.encode_descriptor(
        "rocketmq_message_size",
        "Incoming messages size",
        None,
        MetricType::Histogram,
    )?;
    for (labels, histogram) in &sizes {
        metric
            .encode_family(labels)?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                histogram.sum() as f64,
                histogram.count(),
                &histogram.cumulative(),
                None,
            )?;
    }
    let dlq: Vec<(Labels, u64)> = b
        .metrics
        .dead_letters()
        .into_iter()
        .map(|((group, topic), count)| {
            let is_system = b.topics.lock().is_system_topic(&topic) || system_group(&group);
            let labels: Labels = vec![
                ("consumer_group", Cow::Owned(group)),
                ("topic", Cow::Owned(topic)),
                ("is_system", flag(is_system)),
            ];
            (labels, count)
        })
        .collect();
    counter(
        encoder,
        "rocketmq_send_to_dlq_messages",
        "default view for counter.",
        &dlq,
    )
}

/// Java's `RemotingHelper.getRequestCodeDesc` / `getResponseCodeDesc`: the constant's name in
/// lower case, or the number.
fn code_label(name: Option<&'static str>, code: i32) -> Cow<'static, str> {
    match name {
        Some(name) => Cow::Owned(name.to_ascii_lowercase()),
        None => Cow::Owned(code.to_string()),
    }
}

fn encode_rpc(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let mut series = Vec::new();
    b.metrics.rpc.each(|code, outcome, histogram| {
        let labels: Labels = vec![
            ("protocol_type", Cow::Borrowed("remoting")),
            ("is_long_polling", flag(outcome.long_polling)),
            ("request_code", code_label(RequestCode(code).name(), code)),
            (
                "response_code",
                code_label(ResponseCode(outcome.response_code).name(), outcome.response_code),
            ),
            (
                "result",
                Cow::Borrowed(if outcome.oneway { "oneway" } else { "success" }),
            ),
        ];
        series.push((labels, histogram.sum(), histogram.count(), histogram.cumulative()));
    });
    histograms(encoder, ("rocketmq_rpc_latency", "Rpc latency"), &series)?;
    let status = |ok: bool| Cow::Borrowed(if ok { "success" } else { "failure" });
    let topics: Vec<_> = b
        .metrics
        .topic_creates()
        .map(|(ok, system, h)| {
            let labels: Labels = vec![("invocation_status", status(ok)), ("is_system", flag(system))];
            (labels, h.sum(), h.count(), h.cumulative())
        })
        .collect();
    let create_topic = (
        "rocketmq_topic_create_execution_time",
        "The distribution of create topic time",
    );
    histograms(encoder, create_topic, &topics)?;
    let groups: Vec<_> = b
        .metrics
        .group_creates()
        .map(|(ok, h)| {
            let labels: Labels = vec![("invocation_status", status(ok))];
            (labels, h.sum(), h.count(), h.cumulative())
        })
        .collect();
    let create_group = (
        "rocketmq_consumer_group_create_execution_time",
        "The distribution of create subscription time",
    );
    histograms(encoder, create_group, &groups)
}

/// A histogram family in milliseconds: `(labels, sum, count, cumulative buckets)` per series.
fn histograms(
    encoder: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    series: &[HistogramSeries],
) -> Result<(), std::fmt::Error> {
    let unit = Unit::Other("milliseconds".into());
    let mut metric = encoder.encode_descriptor(name, help, Some(&unit), MetricType::Histogram)?;
    for (labels, sum, count, buckets) in series {
        metric
            .encode_family(labels)?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(*sum as f64, *count, buckets, None)?;
    }
    Ok(())
}

/// Topic and group counts, the broker's permission, the processors' queues.
fn encode_tables(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let topics = b.topics.lock().len() as i64;
    let groups = b.groups.lock().groups().len() as i64;
    gauge(encoder, "rocketmq_topic_number", None, &[(Vec::new(), topics)])?;
    gauge(encoder, "rocketmq_consumer_group_number", None, &[(Vec::new(), groups)])?;
    let permission = i64::from(b.config().broker_permission);
    gauge(encoder, "rocketmq_broker_permission", None, &[(Vec::new(), permission)])?;
    let watermarks: Vec<(Labels, i64)> = PROCESSORS
        .iter()
        .map(|p| (vec![("processor", Cow::Borrowed(*p))], 0))
        .collect();
    gauge(encoder, "rocketmq_processor_watermark", None, &watermarks)
}

/// `MQVersion.getVersionDesc(version).toLowerCase()`.
fn version_label(version: i32) -> Cow<'static, str> {
    if version < VERSION_V4_0_0_SNAPSHOT {
        return Cow::Owned(version.to_string());
    }
    let step = version.min(VERSION_LAST) - VERSION_V4_0_0_SNAPSHOT;
    let release = 400 + step / 2;
    let snapshot = if step % 2 == 0 { "_snapshot" } else { "" };
    Cow::Owned(format!(
        "v{}_{}_{}{snapshot}",
        release / 100,
        release / 10 % 10,
        release % 10
    ))
}

fn encode_connections(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let (producers, consumers) = {
        let clients = b.clients.lock();
        (clients.producer_attributes(), clients.consumer_attributes())
    };
    let mut producer_counts: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (language, version) in producers {
        *producer_counts.entry((language, version)).or_insert(0) += 1;
    }
    let series: Vec<(Labels, i64)> = producer_counts
        .into_iter()
        .map(|((language, version), count)| {
            let labels: Labels = vec![
                ("language", Cow::Owned(language.to_ascii_lowercase())),
                ("version", version_label(version)),
                ("protocol_type", Cow::Borrowed("remoting")),
            ];
            (labels, count)
        })
        .collect();
    gauge(encoder, "rocketmq_producer_connections", None, &series)?;
    let mut consumer_counts: BTreeMap<(String, String, i32, &'static str), i64> = BTreeMap::new();
    for (group, language, version, consume_type) in consumers {
        let mode = match consume_type {
            ConsumeType::ConsumeActively => "pull",
            ConsumeType::ConsumePassively => "push",
            ConsumeType::ConsumePop => "pop",
            ConsumeType::Unknown(_) => "unknown",
        };
        *consumer_counts.entry((group, language, version, mode)).or_insert(0) += 1;
    }
    let series: Vec<(Labels, i64)> = consumer_counts
        .into_iter()
        .map(|((group, language, version, mode), count)| {
            let labels: Labels = vec![
                ("is_system", flag(system_group(&group))),
                ("consumer_group", Cow::Owned(group)),
                ("language", Cow::Owned(language.to_ascii_lowercase())),
                ("version", version_label(version)),
                ("consume_mode", Cow::Borrowed(mode)),
                ("protocol_type", Cow::Borrowed("remoting")),
            ];
            (labels, count)
        })
        .collect();
    gauge(encoder, "rocketmq_consumer_connections", None, &series)
}

/// One queue's offsets as Java's `ConsumerLagCalculator` reads them: the queue's end, the
/// committed offset and where the last pull ended (`None` where Java reads -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QueueOffsets {
    max: i64,
    committed: Option<i64>,
    pulled: Option<i64>,
}

/// One queue's lag, in-flight and ready messages, and the offsets whose store times the lag
/// and queueing latencies read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct QueueFigures {
    lag: i64,
    inflight: i64,
    ready: i64,
    lag_at: i64,
    pulled_at: i64,
}

/// Java's per-queue `getConsumerLagStats`, `getInFlightMsgStats` and `getAvailableMsgCount`
/// for a pull or push group: lag counts from the committed offset (a queue never committed
/// lags by nothing), in flight is pulled and not committed, ready is not pulled yet. POP groups
/// commit at pop time, so for them the committed offset is the pull offset and their in-flight
/// messages (counted per group and topic, not here) are added to the lag by the caller.
fn queue_figures(q: QueueOffsets) -> QueueFigures {
    let max = q.max.max(0);
    let consumed = q.committed.filter(|o| *o >= 0).unwrap_or(max);
    let pulled = q.pulled.or(q.committed);
    let pulled_for_inflight = pulled.filter(|o| *o >= 0).unwrap_or(0);
    let committed_for_inflight = q.committed.filter(|o| *o >= 0).unwrap_or(pulled_for_inflight);
    let pulled_for_ready = pulled.filter(|o| *o >= 0).unwrap_or(max);
    QueueFigures {
        lag: (max - consumed).max(0),
        inflight: (pulled_for_inflight - committed_for_inflight).max(0),
        ready: (max - pulled_for_ready).max(0),
        lag_at: consumed,
        pulled_at: pulled_for_inflight,
    }
}

/// Lag, in-flight and ready messages per online subscription, as Java's
/// `ConsumerLagCalculator`: see [`queue_figures`]. The latencies are the age of the message at
/// the committed offset (lag) and at the pull offset (queueing), 0 when none is stored there.
fn encode_lag(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let subscriptions = b.clients.lock().subscribed_topics();
    let popped = b.pop.lock().checkpoints.unacked_counts();
    let now_ms = b.now_ms();
    let age = |stored: Option<i64>| stored.filter(|t| *t > 0).map_or(0, |t| (now_ms - t).max(0));
    let mut rows = Vec::new();
    for (group, pop, topics) in subscriptions {
        // Java skips subscriptions to retry topics; `is_retry` marks a POP group's retry topic,
        // which we do not count apart.
        let is_retry = false;
        for topic in topics.into_iter().filter(|t| !t.starts_with(RETRY_GROUP_TOPIC_PREFIX)) {
            let (queues, is_system) = {
                let table = b.topics.lock();
                match table.get(&topic) {
                    Some(config) => (config.write_queue_nums.max(0), table.is_system_topic(&topic)),
                    None => continue,
                }
            };
            let (committed, pulled) = {
                let offsets = b.offsets.lock();
                let pulled = if pop {
                    BTreeMap::new()
                } else {
                    offsets.queue_pull_offsets(&group, &topic)
                };
                (offsets.queue_offsets(&group, &topic), pulled)
            };
            let (mut sum, lag_ms, queueing_ms) = b.store.read(|store| {
                let mut sum = QueueFigures::default();
                let (mut lag_oldest, mut pull_oldest): (Option<i64>, Option<i64>) = (None, None);
                let stored_at = |queue: ferrocket_store::QueueId, offset: i64| {
                    ferrocket_store::QueueOffset::from_java_long(offset)
                        .and_then(|o| store.store_time_at(&topic, queue, o))
                        .filter(|t| *t > 0)
                };
                let earlier = |a: Option<i64>, b: Option<i64>| match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for queue_id in 0..queues {
                    let queue = ferrocket_store::QueueId(queue_id);
                    let figures = queue_figures(QueueOffsets {
                        max: store.max_offset_in_queue(&topic, queue).to_java_long(),
                        committed: committed.get(&queue_id).copied(),
                        pulled: pulled.get(&queue_id).copied(),
                    });
                    sum.lag += figures.lag;
                    sum.inflight += figures.inflight;
                    sum.ready += figures.ready;
                    lag_oldest = earlier(lag_oldest, stored_at(queue, figures.lag_at));
                    pull_oldest = earlier(pull_oldest, stored_at(queue, figures.pulled_at));
                }
                (sum, age(lag_oldest), age(pull_oldest))
            });
            // Java asks the group's registered consume type only; a client behind a gRPC proxy
            // registers as a push or simple consumer and pops, so unacknowledged pops count too.
            let unacked = popped.get(&(group.clone(), topic.clone())).copied();
            if pop || unacked.is_some() {
                sum.inflight = unacked.unwrap_or(0);
                sum.lag = sum.lag.saturating_add(sum.inflight);
            }
            let labels: Labels = vec![
                ("is_system", flag(is_system || system_group(&group))),
                ("consumer_group", Cow::Owned(group.clone())),
                ("topic", Cow::Owned(topic)),
                ("is_retry", flag(is_retry)),
            ];
            rows.push((labels, sum, lag_ms, queueing_ms));
        }
    }
    let pick = |f: fn(&(Labels, QueueFigures, i64, i64)) -> i64| -> Vec<(Labels, i64)> {
        rows.iter().map(|row| (row.0.clone(), f(row))).collect()
    };
    let ms = Unit::Other("milliseconds".into());
    gauge(encoder, "rocketmq_consumer_lag_messages", None, &pick(|r| r.1.lag))?;
    gauge(encoder, "rocketmq_consumer_lag_latency", Some(&ms), &pick(|r| r.2))?;
    gauge(
        encoder,
        "rocketmq_consumer_inflight_messages",
        None,
        &pick(|r| r.1.inflight),
    )?;
    gauge(encoder, "rocketmq_consumer_queueing_latency", Some(&ms), &pick(|r| r.3))?;
    gauge(encoder, "rocketmq_consumer_ready_messages", None, &pick(|r| r.1.ready))
}

/// Disk used where the store lives, and how far flushing and dispatching trail the log.
fn encode_storage(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let labels: Labels = vec![
        ("storage_type", Cow::Borrowed("local")),
        ("storage_medium", Cow::Borrowed("disk")),
    ];
    let root = b.config().store_path_root_dir.clone();
    if let Ok(space) = DiskSpace::probe(&root) {
        let used = space.total_bytes.saturating_sub(space.free_bytes);
        let used = i64::try_from(used).unwrap_or(i64::MAX);
        gauge(
            encoder,
            "rocketmq_storage_size",
            Some(&Unit::Bytes),
            &[(labels.clone(), used)],
        )?;
    }
    let (stats, earliest_ms) = b.store.read(|store| {
        let stats = store.stats();
        let earliest = (stats.commit_log_max_offset > stats.commit_log_min_offset)
            .then(|| store.message_at(stats.commit_log_min_offset).ok())
            .flatten()
            .map(|r| r.message.store_timestamp_ms);
        (stats, earliest)
    });
    let flush_behind = stats.commit_log_max_offset.0.saturating_sub(stats.flushed_offset.0);
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    gauge(
        encoder,
        "rocketmq_storage_flush_behind_bytes",
        None,
        &[(labels.clone(), to_i64(flush_behind))],
    )?;
    gauge(
        encoder,
        "rocketmq_storage_dispatch_behind_bytes",
        None,
        &[(labels.clone(), to_i64(stats.dispatch_behind_bytes))],
    )?;
    if let Some(earliest) = earliest_ms.filter(|t| *t > 0) {
        let reserve = (b.now_ms() - earliest).max(0);
        let ms = Unit::Other("milliseconds".into());
        gauge(
            encoder,
            "rocketmq_storage_message_reserve_time",
            Some(&ms),
            &[(labels, reserve)],
        )?;
    }
    Ok(())
}

/// Java's `TimerMetrics.timerDist`: the snapshot's windows ahead of now, in seconds.
const TIMER_SNAPSHOT_BOUNDS_S: [i64; 8] = [5, 60, 300, 900, 3_600, 14_400, 28_800, 86_400];

/// The timer wheel's gauges, as Java's `DefaultStoreMetricsManager` registers them when
/// `timerWheelEnable` is on: timers not read yet, timers in the wheel (Java's dequeue lag is
/// `TimerWheel.getAllNum` from the read time on: every waiting timer), how late the
/// earliest is (in seconds, under Java's "milliseconds" unit, as `getDequeueBehind` returns),
/// and the snapshot of timers due in each window ahead. Java's enqueue latency counts only
/// timers read already expired in the last 2 s; ours reads 0 as Java's does when none are.
fn encode_timers(b: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    if !b.config().timer_wheel_enable {
        return Ok(());
    }
    let now_ms = b.now_ms();
    let (figures, ahead, counts) = {
        let wheel = b.timers.lock();
        let counts: Vec<(String, Counts)> = wheel.counts.all().map(|(t, c)| (t.to_owned(), c)).collect();
        (
            wheel.runtime_figures(now_ms),
            wheel.due_ahead(now_ms, &TIMER_SNAPSHOT_BOUNDS_S),
            counts,
        )
    };
    let labels: Labels = vec![
        ("storage_type", Cow::Borrowed("local")),
        ("storage_medium", Cow::Borrowed("disk")),
    ];
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let ms = Unit::Other("milliseconds".into());
    let one = |value: i64| [(labels.clone(), value)];
    gauge(
        encoder,
        "rocketmq_timer_enqueue_lag",
        None,
        &one(to_i64(figures.offset_behind)),
    )?;
    gauge(encoder, "rocketmq_timer_enqueue_latency", Some(&ms), &one(0))?;
    gauge(
        encoder,
        "rocketmq_timer_dequeue_lag",
        None,
        &one(to_i64(figures.congest)),
    )?;
    gauge(
        encoder,
        "rocketmq_timer_dequeue_latency",
        Some(&ms),
        &one(figures.read_behind_s),
    )?;
    let snapshot: Vec<(Labels, i64)> = TIMER_SNAPSHOT_BOUNDS_S
        .iter()
        .zip(ahead)
        .map(|(bound_s, count)| {
            let mut series = labels.clone();
            series.push(("timer_bound_s", Cow::Owned(bound_s.to_string())));
            (series, to_i64(count))
        })
        .collect();
    gauge(encoder, "rocketmq_timer_message_snapshot", None, &snapshot)?;
    let per_topic = |pick: fn(Counts) -> u64| -> Vec<(Labels, u64)> {
        counts
            .iter()
            .map(|(topic, c)| {
                let mut series = labels.clone();
                series.push(("topic", Cow::Owned(topic.clone())));
                (series, pick(*c))
            })
            .collect()
    };
    counter(
        encoder,
        "rocketmq_timer_enqueue",
        "default view for counter.",
        &per_topic(|c| c.enqueued),
    )?;
    counter(
        encoder,
        "rocketmq_timer_dequeue",
        "default view for counter.",
        &per_topic(|c| c.dequeued),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_labels_follow_javas_enum() {
        assert_eq!(version_label(479), "v5_3_3");
        assert_eq!(version_label(409), "v4_9_8");
        assert_eq!(version_label(413), "v5_0_0");
        assert_eq!(version_label(478), "v5_3_3_snapshot");
        assert_eq!(version_label(9999), "v5_9_9");
    }

    #[test]
    fn queue_figures_follow_javas_lag_calculator() {
        let q = |max, committed, pulled| queue_figures(QueueOffsets { max, committed, pulled });
        // Pulled to 8 of 10, committed 3: 7 behind, 5 in flight, 2 ready.
        let f = q(10, Some(3), Some(8));
        assert_eq!((f.lag, f.inflight, f.ready, f.lag_at, f.pulled_at), (7, 5, 2, 3, 8));
        // Never committed: no lag and nothing in flight, as in Java; ready from the pull.
        let f = q(10, None, Some(4));
        assert_eq!((f.lag, f.inflight, f.ready), (0, 0, 6));
        // Never pulled since start: the committed offset stands for the pull offset.
        let f = q(10, Some(6), None);
        assert_eq!((f.lag, f.inflight, f.ready), (4, 0, 4));
        // Neither: everything counts as consumed.
        assert_eq!(
            q(10, None, None),
            QueueFigures {
                lag_at: 10,
                ..QueueFigures::default()
            }
        );
        // A commit ahead of the pull (another client) counts nothing negative.
        let f = q(10, Some(9), Some(5));
        assert_eq!((f.lag, f.inflight, f.ready), (1, 0, 5));
    }

    #[test]
    fn system_groups_are_recognised_case_blind() {
        assert!(system_group("CID_RMQ_SYS_TRANS"));
        assert!(!system_group("cid"));
    }
}
