//! What the broker counts for its Prometheus endpoint (`metricsExporterType=PROM`): the counters
//! and histograms Java's `BrokerMetricsManager` and `RemotingMetricsManager` record as requests
//! pass, held as plain atomics so that recording costs no lock and no allocation.
//!
//! - Per topic, [`TopicTraffic`] (messages and bytes in, the message size histogram, by message
//!   type) is created once when the topic table first sees a send to it and kept in the table
//!   beside the topic's config; a send clones its `Arc` under the table lock it already holds.
//! - Per topic and consumer group, [`Outbound`] (messages and bytes out) hangs off the topic's
//!   traffic in a small map a pull reads under a shared lock (created on the group's first pull).
//! - RPC latency per request code, response code, long polling and result: [`RpcLatencies`], a
//!   fixed table of slots claimed with a compare-and-swap, one row per served code.
//!
//! Gauges (lag, connections, storage, counts) are not recorded here: the exporter computes them
//! from the tables when scraped, as Java's observable gauges do. Everything here is pure.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use ferrocket_wire::message::properties::keys;

use crate::limit_warnings::{LimitWarning, limit_warning};

/// Java's `messageSizeBuckets`: 1 KiB, 4 KiB, 512 KiB, 1, 2 and 4 MiB (upper bounds, inclusive).
pub const MESSAGE_SIZE_BUCKETS: [u64; 6] = [1024, 4096, 512 * 1024, 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024];
/// Java's `createTimeBuckets` (topic and subscription group creation), in milliseconds.
pub const CREATE_TIME_BUCKETS_MS: [u64; 5] = [10, 100, 1000, 3000, 5000];
/// Java's `rpcCostTimeBuckets`, in milliseconds.
pub const RPC_LATENCY_BUCKETS_MS: [u64; 9] = [1, 3, 5, 7, 10, 100, 1000, 2000, 3000];
/// Response codes (with the long-polling and oneway flags) kept per request code; a code answers
/// with a handful in practice, and a fixed row keeps recording lock-free. Beyond it, not recorded.
pub const RPC_RESPONSE_SLOTS_MAX: usize = 16;
/// Request codes with a latency row: the broker serves 64 (handlers::ROUTES); a code beyond
/// this row count is not recorded.
pub const RPC_CODES_MAX: usize = 128;
/// Consumer groups whose outbound traffic is counted per topic; bounds the map a pull may grow
/// with a group name from the network. Java's OpenTelemetry SDK caps series the same way
/// (`metricsOtelCardinalityLimit`).
pub const OUTBOUND_GROUPS_PER_TOPIC_MAX: usize = 1024;
/// (group, topic) pairs counted in `rocketmq_send_to_dlq_messages_total`.
pub const DLQ_SERIES_MAX: usize = 4096;

static OUTBOUND_FULL: LimitWarning = limit_warning!(OUTBOUND_GROUPS_PER_TOPIC_MAX);
static DLQ_FULL: LimitWarning = limit_warning!(DLQ_SERIES_MAX);

/// Java's `TopicMessageType` metric values, the `message_type` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Normal,
    Fifo,
    Delay,
    Transaction,
}

impl MessageType {
    pub const ALL: [MessageType; 4] = [
        MessageType::Normal,
        MessageType::Fifo,
        MessageType::Delay,
        MessageType::Transaction,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }

    /// Java's `BrokerMetricsManager.getMessageType`, from the send's properties (name-value
    /// pairs): prepared first, then a sharding key, then any delay property.
    pub fn of_properties<'a>(properties: impl Iterator<Item = (&'a str, &'a str)>) -> MessageType {
        let mut kind = MessageType::Normal;
        for (name, value) in properties {
            match name {
                keys::TRAN_MSG if value.eq_ignore_ascii_case("true") => return MessageType::Transaction,
                keys::SHARDING_KEY => kind = MessageType::Fifo,
                "__STARTDELIVERTIME"
                | keys::DELAY
                | keys::TIMER_DELIVER_MS
                | keys::TIMER_DELAY_SEC
                | keys::TIMER_DELAY_MS
                    if kind == MessageType::Normal =>
                {
                    kind = MessageType::Delay
                }
                _ => {}
            }
        }
        kind
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A histogram of fixed upper bounds in atomics: observing is two adds and a bucket add.
#[derive(Debug)]
pub struct AtomicHistogram<const N: usize> {
    bounds: &'static [u64; N],
    /// Observations per bucket (not cumulative); above the last bound only `count` moves.
    buckets: [AtomicU64; N],
    sum: AtomicU64,
    count: AtomicU64,
}

impl<const N: usize> AtomicHistogram<N> {
    pub fn new(bounds: &'static [u64; N]) -> AtomicHistogram<N> {
        AtomicHistogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: u64) {
        if let Some(bucket) = self
            .bounds
            .iter()
            .zip(&self.buckets)
            .find(|(bound, _)| value <= **bound)
        {
            bucket.1.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }

    /// `(upper bound, cumulative count)` per bound, then `+Inf` with the total count.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut running = 0;
        let mut out: Vec<(f64, u64)> = Vec::with_capacity(N + 1);
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            running += bucket.load(Ordering::Relaxed);
            out.push((*bound as f64, running));
        }
        out.push((f64::INFINITY, self.count().max(running)));
        out
    }
}

/// One message type's inbound counters on one topic.
#[derive(Debug)]
pub struct Inbound {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub size: AtomicHistogram<6>,
}

/// Messages and bytes one consumer group took from one topic.
#[derive(Debug, Default)]
pub struct Outbound {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
}

/// A topic's traffic: kept in the topic table beside the topic's config.
#[derive(Debug)]
pub struct TopicTraffic {
    inbound: [Inbound; 4],
    outbound: RwLock<BTreeMap<String, Arc<Outbound>>>,
}

impl Default for TopicTraffic {
    fn default() -> TopicTraffic {
        TopicTraffic {
            inbound: std::array::from_fn(|_| Inbound {
                messages: AtomicU64::new(0),
                bytes: AtomicU64::new(0),
                size: AtomicHistogram::new(&MESSAGE_SIZE_BUCKETS),
            }),
            outbound: RwLock::new(BTreeMap::new()),
        }
    }
}

impl TopicTraffic {
    /// Java's `handlePutMessageResult`: `msgNum` messages, `wroteBytes` in, and one size
    /// observation of the average record (`wroteBytes / msgNum`).
    pub fn record_put(&self, kind: MessageType, messages: u32, wrote_bytes: u32) {
        let Some(inbound) = self.inbound.get(kind.index()) else {
            return;
        };
        inbound.messages.fetch_add(u64::from(messages), Ordering::Relaxed);
        inbound.bytes.fetch_add(u64::from(wrote_bytes), Ordering::Relaxed);
        if let Some(average) = wrote_bytes.checked_div(messages) {
            inbound.size.observe(u64::from(average));
        }
    }

    pub fn inbound(&self, kind: MessageType) -> Option<&Inbound> {
        self.inbound.get(kind.index())
    }

    /// Java's pull result handler on FOUND: the messages and their stored bytes sent to `group`.
    pub fn record_pulled(&self, group: &str, messages: u64, bytes: u64, now_ms: i64) {
        let known = self
            .outbound
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(group)
            .cloned();
        let outbound = match known {
            Some(outbound) => outbound,
            None => {
                let mut map = self.outbound.write().unwrap_or_else(PoisonError::into_inner);
                if map.len() >= OUTBOUND_GROUPS_PER_TOPIC_MAX && !map.contains_key(group) {
                    OUTBOUND_FULL.hit(now_ms, group, "outbound traffic not counted");
                    return;
                }
                Arc::clone(map.entry(group.to_owned()).or_default())
            }
        };
        outbound.messages.fetch_add(messages, Ordering::Relaxed);
        outbound.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `(group, messages, bytes)` per consumer group, for a scrape.
    pub fn outbound(&self) -> Vec<(String, u64, u64)> {
        let map = self.outbound.read().unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .map(|(group, o)| {
                (
                    group.clone(),
                    o.messages.load(Ordering::Relaxed),
                    o.bytes.load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// What one RPC latency slot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcOutcome {
    pub response_code: i32,
    pub long_polling: bool,
    pub oneway: bool,
}

impl RpcOutcome {
    /// Never 0, which marks a free slot.
    fn key(self) -> u64 {
        let code = u64::from(self.response_code as u32);
        (code << 3) | (u64::from(self.long_polling) << 2) | (u64::from(self.oneway) << 1) | 1
    }

    fn from_key(key: u64) -> RpcOutcome {
        RpcOutcome {
            response_code: (key >> 3) as u32 as i32,
            long_polling: key & 0b100 != 0,
            oneway: key & 0b10 != 0,
        }
    }
}

#[derive(Debug)]
struct RpcSlot {
    key: AtomicU64,
    latency_ms: AtomicHistogram<9>,
}

/// One request code's slots.
#[derive(Debug)]
struct RpcRow {
    code: AtomicI32,
    slots: [RpcSlot; RPC_RESPONSE_SLOTS_MAX],
}

/// `rocketmq_rpc_latency` per request code: row `i` belongs to the code the router numbered `i`.
#[derive(Debug)]
pub struct RpcLatencies {
    rows: Vec<RpcRow>,
}

impl RpcLatencies {
    pub fn new(rows: usize) -> RpcLatencies {
        let rows = (0..rows.min(RPC_CODES_MAX))
            .map(|_| RpcRow {
                code: AtomicI32::new(0),
                slots: std::array::from_fn(|_| RpcSlot {
                    key: AtomicU64::new(0),
                    latency_ms: AtomicHistogram::new(&RPC_LATENCY_BUCKETS_MS),
                }),
            })
            .collect();
        RpcLatencies { rows }
    }

    /// Records one answered request of `code`, whose row is `row`.
    pub fn record(&self, row: usize, code: i32, outcome: RpcOutcome, elapsed_ms: u64) {
        let Some(row) = self.rows.get(row) else {
            return;
        };
        row.code.store(code, Ordering::Relaxed);
        let key = outcome.key();
        for slot in &row.slots {
            let seen = match slot.key.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => key,
                Err(current) => current,
            };
            if seen == key {
                slot.latency_ms.observe(elapsed_ms);
                return;
            }
        }
    }

    /// `(request code, outcome, histogram)` for every slot in use, for a scrape.
    pub fn each(&self, mut f: impl FnMut(i32, RpcOutcome, &AtomicHistogram<9>)) {
        for row in &self.rows {
            let code = row.code.load(Ordering::Relaxed);
            for slot in &row.slots {
                let key = slot.key.load(Ordering::Acquire);
                if key != 0 {
                    f(code, RpcOutcome::from_key(key), &slot.latency_ms);
                }
            }
        }
    }
}

/// The broker-wide recorders: whether metrics are on, RPC latencies, and DLQ sends.
#[derive(Debug)]
pub struct BrokerMetrics {
    enabled: bool,
    pub rpc: RpcLatencies,
    dlq: Mutex<BTreeMap<(String, String), u64>>,
    /// `rocketmq_topic_create_execution_time` by (succeeded, system topic).
    topic_create: [AtomicHistogram<5>; 4],
    /// `rocketmq_consumer_group_create_execution_time` by succeeded.
    group_create: [AtomicHistogram<5>; 2],
}

impl BrokerMetrics {
    /// Off: nothing is allocated and nothing records.
    pub fn new(enabled: bool) -> BrokerMetrics {
        BrokerMetrics {
            enabled,
            rpc: RpcLatencies::new(if enabled { RPC_CODES_MAX } else { 0 }),
            dlq: Mutex::new(BTreeMap::new()),
            topic_create: std::array::from_fn(|_| AtomicHistogram::new(&CREATE_TIME_BUCKETS_MS)),
            group_create: std::array::from_fn(|_| AtomicHistogram::new(&CREATE_TIME_BUCKETS_MS)),
        }
    }

    /// An UPDATE_AND_CREATE_TOPIC answered after `elapsed_ms`.
    pub fn record_topic_create(&self, succeeded: bool, system: bool, elapsed_ms: u64) {
        let index = usize::from(succeeded) * 2 + usize::from(system);
        if let Some(histogram) = self.topic_create.get(index).filter(|_| self.enabled) {
            histogram.observe(elapsed_ms);
        }
    }

    /// An UPDATE_AND_CREATE_SUBSCRIPTIONGROUP answered after `elapsed_ms`.
    pub fn record_group_create(&self, succeeded: bool, elapsed_ms: u64) {
        if let Some(histogram) = self.group_create.get(usize::from(succeeded)).filter(|_| self.enabled) {
            histogram.observe(elapsed_ms);
        }
    }

    /// `(succeeded, system, histogram)` of topic creations observed at least once.
    pub fn topic_creates(&self) -> impl Iterator<Item = (bool, bool, &AtomicHistogram<5>)> {
        self.topic_create
            .iter()
            .enumerate()
            .filter(|(_, h)| h.count() > 0)
            .map(|(i, h)| (i >= 2, i % 2 == 1, h))
    }

    /// `(succeeded, histogram)` of group creations observed at least once.
    pub fn group_creates(&self) -> impl Iterator<Item = (bool, &AtomicHistogram<5>)> {
        self.group_create
            .iter()
            .enumerate()
            .filter(|(_, h)| h.count() > 0)
            .map(|(i, h)| (i == 1, h))
    }

    /// `metricsExporterType` is not DISABLE: only then does anything record.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Java's `sendToDlqMessages.add(1)` when a send-back exceeds its retries (a rare path).
    pub fn record_dead_letter(&self, group: &str, topic: &str, now_ms: i64) {
        if !self.enabled {
            return;
        }
        let mut dlq = self.dlq.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (group.to_owned(), topic.to_owned());
        if dlq.len() >= DLQ_SERIES_MAX && !dlq.contains_key(&key) {
            DLQ_FULL.hit(now_ms, group, "dead-letter send not counted");
            return;
        }
        *dlq.entry(key).or_insert(0) += 1;
    }

    /// `((group, topic), count)` of every DLQ series, for a scrape.
    pub fn dead_letters(&self) -> Vec<((String, String), u64)> {
        let dlq = self.dlq.lock().unwrap_or_else(PoisonError::into_inner);
        dlq.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds_and_cumulative() {
        let h = AtomicHistogram::new(&MESSAGE_SIZE_BUCKETS);
        for size in [1, 1024, 1025, 5 * 1024 * 1024] {
            h.observe(size);
        }
        let buckets = h.cumulative();
        assert_eq!(buckets.first(), Some(&(1024.0, 2)));
        assert_eq!(buckets.get(1), Some(&(4096.0, 3)));
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 4)));
        assert_eq!(h.sum(), 1 + 1024 + 1025 + 5 * 1024 * 1024);
    }

    #[test]
    fn rpc_slots_keep_outcomes_apart_and_stop_at_the_limit() {
        let rpc = RpcLatencies::new(2);
        let ok = RpcOutcome {
            response_code: 0,
            long_polling: false,
            oneway: false,
        };
        let held = RpcOutcome {
            response_code: 19,
            long_polling: true,
            oneway: false,
        };
        rpc.record(0, 310, ok, 2);
        rpc.record(0, 310, ok, 200);
        rpc.record(1, 11, held, 4);
        for code in 100..100 + RPC_RESPONSE_SLOTS_MAX as i32 + 5 {
            rpc.record(
                1,
                11,
                RpcOutcome {
                    response_code: code,
                    ..ok
                },
                1,
            );
        }
        let mut seen = Vec::new();
        rpc.each(|code, outcome, h| seen.push((code, outcome, h.count())));
        assert_eq!(seen.first(), Some(&(310, ok, 2)));
        assert_eq!(seen.get(1), Some(&(11, held, 1)));
        assert_eq!(seen.len(), 1 + RPC_RESPONSE_SLOTS_MAX);
    }

    #[test]
    fn message_type_follows_javas_precedence() {
        let of = |pairs: &[(&'static str, &'static str)]| MessageType::of_properties(pairs.iter().copied());
        assert_eq!(of(&[]), MessageType::Normal);
        assert_eq!(of(&[(keys::DELAY, "3")]), MessageType::Delay);
        assert_eq!(of(&[(keys::DELAY, "3"), (keys::SHARDING_KEY, "k")]), MessageType::Fifo);
        assert_eq!(
            of(&[(keys::SHARDING_KEY, "k"), (keys::TRAN_MSG, "true")]),
            MessageType::Transaction
        );
    }

    #[test]
    fn a_put_counts_messages_bytes_and_the_average_size() {
        let t = TopicTraffic::default();
        t.record_put(MessageType::Normal, 4, 4000);
        let inbound = t.inbound(MessageType::Normal).map(|i| {
            (
                i.messages.load(Ordering::Relaxed),
                i.bytes.load(Ordering::Relaxed),
                i.size.count(),
                i.size.sum(),
            )
        });
        assert_eq!(inbound, Some((4, 4000, 1, 1000)));
        t.record_pulled("g", 2, 500, 0);
        t.record_pulled("g", 1, 250, 0);
        assert_eq!(t.outbound(), vec![("g".to_owned(), 3, 750)]);
    }
}
