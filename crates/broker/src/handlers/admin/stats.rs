//! Statistics for mqadmin: GET_TOPIC_STATS_INFO (`topicStatus`), GET_CONSUME_STATS
//! (`consumerProgress`), QUERY_CONSUME_TIME_SPAN (the admin API's `queryConsumeTimeSpan`) and
//! GET_BROKER_RUNTIME_INFO (`brokerStatus`, `clusterList`), as Java 5.3.3's
//! `AdminBrokerProcessor` builds them (store-and-ha.md §15).
//!
//! The bodies are built by pure functions from the tables and a per-queue reader, so tests need
//! no store. What Java samples over time (TPS over 10 s, 60 s and 600 s, put latencies) is not
//! sampled here: the TPS figures are averages since start and the latencies are 0. Every key
//! `clusterList` parses is always present and numeric, or it throws.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ferrocket_store::{DiskSpace, MessageStore, QueueId, QueueOffset, StoreStats, used_ratio_of};
use ferrocket_wire::RemotingCommand;
use ferrocket_wire::body::{
    ConsumeStats, JsonBody, KvTable, MessageQueue, OffsetWrapper, QueryConsumeTimeSpanBody, QueueTimeSpan, TopicConfig,
    TopicOffset, TopicStatsTable,
};
use ferrocket_wire::codes::version;
use ferrocket_wire::header::{
    CustomHeader, GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader, QueryConsumeTimeSpanRequestHeader,
};

use super::success_with;
use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;

/// `MQVersion.getVersionDesc(CURRENT_VERSION)` of the release we answer as.
const VERSION_DESC: &str = "V5_3_3";
/// `sendThreadPoolQueueCapacity` and friends: Java's defaults, shown for mqadmin's columns.
const SEND_QUEUE_CAPACITY: u32 = 10_000;
const PULL_QUEUE_CAPACITY: u32 = 100_000;
const QUERY_QUEUE_CAPACITY: u32 = 20_000;
const ACK_QUEUE_CAPACITY: u32 = 100_000;
const END_TRANSACTION_QUEUE_CAPACITY: u32 = 100_000;

/// Every key GET_BROKER_RUNTIME_INFO answers with.
pub const RUNTIME_INFO_KEYS: &[&str] = &[
    "EndTransactionQueueSize",
    "EndTransactionThreadPoolQueueCapacity",
    "ackThreadPoolQueueCapacity",
    "ackThreadPoolQueueHeadWaitTimeMills",
    "ackThreadPoolQueueSize",
    "bootTimestamp",
    "brokerActive",
    "brokerVersion",
    "brokerVersionDesc",
    "commitLogDirCapacity",
    "commitLogDiskRatio",
    "commitLogMaxOffset",
    "commitLogMinOffset",
    "consumeQueueDiskRatio",
    "dispatchBehindBytes",
    "dispatchMaxBuffer",
    "earliestMessageTimeStamp",
    "getFoundTps",
    "getMessageEntireTimeMax",
    "getMissTps",
    "getTotalTps",
    "getTransferredTps",
    "litePullThreadPoolQueueCapacity",
    "litePullThreadPoolQueueHeadWaitTimeMills",
    "litePullThreadPoolQueueSize",
    "msgGetTotalTodayMorning",
    "msgGetTotalTodayNow",
    "msgGetTotalYesterdayMorning",
    "msgPutTotalTodayMorning",
    "msgPutTotalTodayNow",
    "msgPutTotalYesterdayMorning",
    "pageCacheLockTimeMills",
    "pullThreadPoolQueueCapacity",
    "pullThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueSize",
    "putLatency99",
    "putLatency999",
    "putMessageAverageSize",
    "putMessageDistributeTime",
    "putMessageEntireTimeMax",
    "putMessageFailedTimes",
    "putMessageSizeTotal",
    "putMessageTimesTotal",
    "putTps",
    "queryThreadPoolQueueCapacity",
    "queryThreadPoolQueueHeadWaitTimeMills",
    "queryThreadPoolQueueSize",
    "remainHowManyDataToFlush",
    "remainTransientStoreBufferNumbs",
    "runtime",
    "sendThreadPoolQueueCapacity",
    "sendThreadPoolQueueHeadWaitTimeMills",
    "sendThreadPoolQueueSize",
    "startAcceptSendRequestTimeStamp",
    "timerCongestNum",
    "timerDequeueTps",
    "timerEnqueueTps",
    "timerOffsetBehind",
    "timerReadBehind",
];

/// One queue as the store sees it: min offset, max offset, store time at an offset.
pub trait QueueReader {
    fn min_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset;
    fn max_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset;
    fn store_time_at(&self, topic: &str, queue_id: QueueId, offset: QueueOffset) -> Option<i64>;
}

impl QueueReader for MessageStore {
    fn min_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
        self.min_offset_in_queue(topic, queue_id)
    }

    fn max_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
        self.max_offset_in_queue(topic, queue_id)
    }

    fn store_time_at(&self, topic: &str, queue_id: QueueId, offset: QueueOffset) -> Option<i64> {
        MessageStore::store_time_at(self, topic, queue_id, offset)
    }
}

/// GET_TOPIC_STATS_INFO (202).
pub fn get_topic_stats(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetTopicStatsInfoRequestHeader::from_command(request)?;
    let Some(config) = broker.topics.lock().get(&header.topic) else {
        return Err(BrokerError::TopicNotExist { topic: header.topic });
    };
    let broker_name = broker.config().broker_name.clone();
    let table = broker.store.read(|store| topic_stats(&config, &broker_name, store));
    Ok(success_with(request, table.encode()))
}

/// Every queue below `max(read, write)`: min, max and the store time of the last message.
pub fn topic_stats(config: &TopicConfig, broker_name: &str, store: &impl QueueReader) -> TopicStatsTable {
    let topic = config.topic_name.as_str();
    let queues = config.read_queue_nums.max(config.write_queue_nums).max(0);
    let offset_table = (0..queues)
        .map(|queue_id| {
            let max = store.max_offset(topic, QueueId(queue_id));
            let last_update_timestamp = match max.0.checked_sub(1) {
                Some(last) => store
                    .store_time_at(topic, QueueId(queue_id), QueueOffset(last))
                    .unwrap_or(0),
                None => 0,
            };
            let offsets = TopicOffset {
                last_update_timestamp,
                max_offset: max.to_java_long(),
                min_offset: store.min_offset(topic, QueueId(queue_id)).to_java_long(),
            };
            (MessageQueue::new(topic, broker_name, queue_id), offsets)
        })
        .collect();
    TopicStatsTable {
        offset_table,
        topic_put_tps: 0.0,
    }
}

/// GET_CONSUME_STATS (208).
pub fn get_consume_stats(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetConsumeStatsRequestHeader::from_command(request)?;
    let group = header.consumer_group.as_str();
    let listed: Vec<String> = header
        .topic_list
        .iter()
        .flat_map(|list| list.split(';'))
        .map(str::trim)
        .filter(|topic| !topic.is_empty())
        .map(str::to_owned)
        .collect();
    let topics: BTreeSet<String> = if listed.is_empty() {
        let candidates: BTreeSet<String> = match header.topic.as_deref().map(str::trim) {
            Some(topic) if !topic.is_empty() => BTreeSet::from([topic.to_owned()]),
            _ => broker.offsets.lock().topics_of_group(group),
        };
        // Java keeps only subscribed topics, when the group has any subscription online.
        let clients = broker.clients.lock();
        let subscribed = clients
            .consumer_group(group)
            .map(|info| info.subscriptions.len())
            .unwrap_or(0);
        candidates
            .into_iter()
            .filter(|topic| subscribed == 0 || clients.subscription(group, topic).is_some())
            .collect()
    } else {
        listed.into_iter().collect()
    };
    let configs: Vec<TopicConfig> = {
        let table = broker.topics.lock();
        topics.iter().filter_map(|topic| table.get(topic)).collect()
    };
    let offsets = broker.offsets.lock().group_offsets(group);
    let broker_name = broker.config().broker_name.clone();
    let stats = broker
        .store
        .read(|store| consume_stats(&configs, &offsets, &broker_name, store));
    Ok(success_with(request, stats.encode()))
}

/// A group's progress on every read queue of `topics`, from its committed offsets
/// (topic → queue → offset).
pub fn consume_stats(
    topics: &[TopicConfig],
    offsets: &BTreeMap<String, BTreeMap<i32, i64>>,
    broker_name: &str,
    store: &impl QueueReader,
) -> ConsumeStats {
    let mut offset_table = BTreeMap::new();
    for config in topics {
        let topic = config.topic_name.as_str();
        for queue_id in 0..config.read_queue_nums.max(0) {
            let committed = offsets.get(topic).and_then(|queues| queues.get(&queue_id));
            let consumer_offset = committed.copied().unwrap_or(0).max(0);
            let last_timestamp = QueueOffset::from_java_long(consumer_offset - 1)
                .and_then(|last| store.store_time_at(topic, QueueId(queue_id), last))
                .filter(|time| *time > 0)
                .unwrap_or(0);
            let wrapper = OffsetWrapper {
                broker_offset: store.max_offset(topic, QueueId(queue_id)).to_java_long(),
                consumer_offset,
                last_timestamp,
                pull_offset: consumer_offset,
            };
            offset_table.insert(MessageQueue::new(topic, broker_name, queue_id), wrapper);
        }
    }
    ConsumeStats {
        consume_tps: 0.0,
        offset_table,
    }
}

/// QUERY_CONSUME_TIME_SPAN (303): per write queue of the topic, the store times of its first
/// and last messages and of the group's last consumed one, and how long the next waits.
pub fn query_consume_time_span(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = QueryConsumeTimeSpanRequestHeader::from_command(request)?;
    let Some(config) = broker.topics.lock().get(&header.topic) else {
        return Err(BrokerError::TopicNotExist { topic: header.topic });
    };
    let offsets = broker.offsets.lock().queue_offsets(&header.group, &header.topic);
    let broker_name = broker.config().broker_name.clone();
    let now_ms = broker.now_ms();
    let spans = broker
        .store
        .read(|store| consume_time_spans(&config, &offsets, &broker_name, store, now_ms));
    let body = QueryConsumeTimeSpanBody {
        consume_time_span_set: spans,
    };
    Ok(success_with(request, body.encode()))
}

/// Java's figures, -1 where a store time is missing: the consume time is the store time of the
/// last committed message (the earliest one's without a commit), and the delay is counted from
/// the store time at the committed offset, which Java reads even when there is none (offset
/// -1, time -1, so a group that never committed is "delayed" by `now + 1`).
pub fn consume_time_spans(
    config: &TopicConfig,
    offsets: &BTreeMap<i32, i64>,
    broker_name: &str,
    store: &impl QueueReader,
    now_ms: i64,
) -> Vec<QueueTimeSpan> {
    let topic = config.topic_name.as_str();
    (0..config.write_queue_nums.max(0))
        .map(|queue_id| {
            let queue = QueueId(queue_id);
            let time_at = |offset: i64| {
                QueueOffset::from_java_long(offset)
                    .and_then(|offset| store.store_time_at(topic, queue, offset))
                    .unwrap_or(-1)
            };
            let min_time_stamp = time_at(store.min_offset(topic, queue).to_java_long());
            let max_offset = store.max_offset(topic, queue).to_java_long();
            let consumer_offset = offsets.get(&queue_id).copied().unwrap_or(-1);
            let consume_time_stamp = match consumer_offset > 0 {
                true => time_at(consumer_offset - 1),
                false => min_time_stamp,
            };
            let delay_time = match consumer_offset < max_offset {
                true => now_ms.saturating_sub(time_at(consumer_offset)),
                false => 0,
            };
            QueueTimeSpan {
                consume_time_stamp,
                delay_time,
                max_time_stamp: time_at(max_offset - 1),
                message_queue: MessageQueue::new(topic, broker_name, queue_id),
                min_time_stamp,
            }
        })
        .collect()
}

/// GET_BROKER_RUNTIME_INFO (28).
pub fn get_runtime_info(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let table = runtime_info(broker, broker.now_ms());
    Ok(success_with(request, KvTable { table }.encode()))
}

/// The runtime table: store counters, broker identity, Java's thread-pool columns (our queues
/// are the transport's, so sizes are 0), and the timer keys as Java writes them when disabled.
pub fn runtime_info(broker: &Broker, now_ms: i64) -> BTreeMap<String, String> {
    let config = broker.config();
    let (stats, earliest) = broker.store.read(|store| {
        let stats = store.stats();
        let earliest = match stats.commit_log_max_offset > stats.commit_log_min_offset {
            true => store
                .message_at(stats.commit_log_min_offset)
                .ok()
                .map(|r| r.message.store_timestamp_ms),
            false => None,
        };
        (stats, earliest)
    });
    let mut info = store_info(&stats, broker.started_ms(), now_ms);
    let root = config.store_path_root_dir.as_path();
    let ratio = used_ratio_of(root).map_or_else(|| "-1".to_owned(), java_double);
    info.insert("commitLogDiskRatio".into(), ratio.clone());
    info.insert("consumeQueueDiskRatio".into(), ratio);
    info.insert("commitLogDirCapacity".into(), capacity(root));
    info.insert(
        "brokerActive".into(),
        (config.broker_role != crate::config::BrokerRole::Slave).to_string(),
    );
    info.insert("brokerVersionDesc".into(), VERSION_DESC.into());
    info.insert("brokerVersion".into(), version::CURRENT.to_string());
    let puts = stats.put_message_times_total.to_string();
    let gets = stats.get_message_transferred_total.to_string();
    for (key, value) in [
        ("msgPutTotalYesterdayMorning", "0"),
        ("msgPutTotalTodayMorning", "0"),
        ("msgPutTotalTodayNow", puts.as_str()),
        ("msgGetTotalYesterdayMorning", "0"),
        ("msgGetTotalTodayMorning", "0"),
        ("msgGetTotalTodayNow", gets.as_str()),
        ("pageCacheLockTimeMills", "0"),
        ("startAcceptSendRequestTimeStamp", "0"),
        ("remainTransientStoreBufferNumbs", "2147483647"),
    ] {
        info.insert(key.into(), value.into());
    }
    // Java's figures of its wheel, "0" and "0.0" while the wheel is off; rates are averages
    // since start, as `putTps` is here.
    let timers = broker.timers.lock().runtime_figures(now_ms);
    let uptime_ms = now_ms.saturating_sub(broker.started_ms()).max(1);
    let rate = |total: u64| java_double(total as f64 * 1000.0 / uptime_ms as f64);
    for (key, value) in [
        ("timerReadBehind", timers.read_behind_s.to_string()),
        ("timerOffsetBehind", timers.offset_behind.to_string()),
        ("timerCongestNum", timers.congest.to_string()),
        ("timerEnqueueTps", rate(timers.scheduled_total)),
        ("timerDequeueTps", rate(timers.taken_total)),
    ] {
        info.insert(key.into(), value);
    }
    info.insert("earliestMessageTimeStamp".into(), earliest.unwrap_or(-1).to_string());
    info.insert("dispatchBehindBytes".into(), stats.dispatch_behind_bytes.to_string());
    let unflushed = stats.commit_log_max_offset.bytes_after(stats.flushed_offset);
    info.insert("remainHowManyDataToFlush".into(), human_readable_bytes(unflushed));
    for (pool, capacity) in [
        ("send", SEND_QUEUE_CAPACITY),
        ("pull", PULL_QUEUE_CAPACITY),
        ("litePull", PULL_QUEUE_CAPACITY),
        ("query", QUERY_QUEUE_CAPACITY),
        ("ack", ACK_QUEUE_CAPACITY),
    ] {
        info.insert(format!("{pool}ThreadPoolQueueSize"), "0".into());
        info.insert(format!("{pool}ThreadPoolQueueCapacity"), capacity.to_string());
        info.insert(format!("{pool}ThreadPoolQueueHeadWaitTimeMills"), "0".into());
    }
    for (key, value) in broker.registration_health.runtime_info() {
        info.insert(key.into(), value);
    }
    info.insert("EndTransactionQueueSize".into(), "0".into());
    info.insert(
        "EndTransactionThreadPoolQueueCapacity".into(),
        END_TRANSACTION_QUEUE_CAPACITY.to_string(),
    );
    info
}

/// `StoreStatsService.getRuntimeInfo`'s keys from the store's counters.
fn store_info(stats: &StoreStats, started_ms: i64, now_ms: i64) -> BTreeMap<String, String> {
    let uptime_ms = now_ms.saturating_sub(started_ms).max(1);
    let per_second = |count: u64| {
        let tps = java_double(count as f64 * 1000.0 / uptime_ms as f64);
        format!("{tps} {tps} {tps}")
    };
    let puts = stats.put_message_times_total;
    let (found, miss) = (stats.get_message_found_total, stats.get_message_miss_total);
    let average = match puts {
        0 => 0.0,
        n => stats.put_message_size_total as f64 / n as f64,
    };
    let mut info = BTreeMap::new();
    for (key, value) in [
        ("bootTimestamp", started_ms.to_string()),
        ("runtime", runtime_text(uptime_ms)),
        ("putTps", per_second(puts)),
        ("getFoundTps", per_second(found)),
        ("getMissTps", per_second(miss)),
        ("getTotalTps", per_second(found.saturating_add(miss))),
        ("getTransferredTps", per_second(stats.get_message_transferred_total)),
        ("putMessageTimesTotal", puts.max(1).to_string()),
        ("putMessageSizeTotal", stats.put_message_size_total.to_string()),
        ("putMessageFailedTimes", "0".to_owned()),
        ("putMessageAverageSize", java_double(average)),
        ("putMessageEntireTimeMax", "0".to_owned()),
        ("getMessageEntireTimeMax", "0".to_owned()),
        ("putMessageDistributeTime", distribution_text(puts)),
        ("putLatency99", "0.00".to_owned()),
        ("putLatency999", "0.00".to_owned()),
        ("dispatchMaxBuffer", "0".to_owned()),
        ("commitLogMinOffset", stats.commit_log_min_offset.to_string()),
        ("commitLogMaxOffset", stats.commit_log_max_offset.to_string()),
    ] {
        info.insert(key.to_owned(), value);
    }
    info
}

/// `"[ d days, h hours, m minutes, s seconds ]"`.
fn runtime_text(uptime_ms: i64) -> String {
    let seconds = uptime_ms / 1000;
    let (days, hours) = (seconds / 86_400, seconds / 3_600 % 24);
    let (minutes, seconds) = (seconds / 60 % 60, seconds % 60);
    format!("[ {days} days, {hours} hours, {minutes} minutes, {seconds} seconds ]")
}

/// Java's latency histogram; without timings every put counts in the first bucket.
fn distribution_text(puts: u64) -> String {
    let buckets = [
        "<=0ms",
        "0~10ms",
        "10~50ms",
        "50~100ms",
        "100~200ms",
        "200~500ms",
        "500ms~1s",
        "1~2s",
        "2~3s",
        "3~4s",
        "4~5s",
        "5~10s",
        "10s~",
    ];
    buckets
        .iter()
        .enumerate()
        .map(|(index, bucket)| format!("[{bucket}]:{} ", if index == 0 { puts } else { 0 }))
        .collect()
}

/// `"Total : 100.0 GiB, Free : 12.3 GiB."`, or `"-"` when the disk cannot be measured.
fn capacity(root: &Path) -> String {
    match DiskSpace::probe(root) {
        Ok(space) => format!(
            "Total : {}, Free : {}.",
            human_readable_bytes(space.total_bytes),
            human_readable_bytes(space.free_bytes)
        ),
        Err(_) => "-".to_owned(),
    }
}

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: `"512 B"`, `"1.5 KiB"`, `"3.0 GiB"`.
pub fn human_readable_bytes(bytes: u64) -> String {
    const UNIT: f64 = 1024.0;
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let value = bytes as f64;
    let exponent = (value.ln() / UNIT.ln()).floor().clamp(1.0, 6.0);
    let prefix = ["K", "M", "G", "T", "P", "E"]
        .get(exponent as usize - 1)
        .copied()
        .unwrap_or("E");
    format!("{:.1} {prefix}iB", value / UNIT.powf(exponent))
}

/// Java's `String.valueOf(double)` for the values we produce: always a decimal point.
pub fn java_double(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use ferrocket_store::CommitLogOffset;

    use super::*;
    use crate::state::consumer_offsets::ConsumerOffsetTable;
    use crate::state::topics::new_topic;

    /// Queue `q` holds offsets `[q, 10 * q)`, stored at time `1000 + offset`.
    struct FakeStore;

    impl QueueReader for FakeStore {
        fn min_offset(&self, _topic: &str, queue_id: QueueId) -> QueueOffset {
            QueueOffset(u64::try_from(queue_id.0).unwrap())
        }
        fn max_offset(&self, _topic: &str, queue_id: QueueId) -> QueueOffset {
            QueueOffset(u64::try_from(queue_id.0 * 10).unwrap())
        }
        fn store_time_at(&self, _topic: &str, _queue_id: QueueId, offset: QueueOffset) -> Option<i64> {
            Some(1000 + i64::try_from(offset.0).unwrap())
        }
    }

    #[test]
    fn topic_stats_cover_every_queue() {
        let mut config = new_topic("T", 2, 6);
        config.write_queue_nums = 3;
        let table = topic_stats(&config, "broker-a", &FakeStore);
        assert_eq!(table.offset_table.len(), 3);
        let empty = table.offset_table[&MessageQueue::new("T", "broker-a", 0)];
        assert_eq!(
            (empty.min_offset, empty.max_offset, empty.last_update_timestamp),
            (0, 0, 0)
        );
        let full = table.offset_table[&MessageQueue::new("T", "broker-a", 2)];
        assert_eq!(
            (full.min_offset, full.max_offset, full.last_update_timestamp),
            (2, 20, 1019)
        );
        let text = String::from_utf8(table.encode()).unwrap();
        assert!(
            text.contains(r#"{"brokerName":"broker-a","queueId":2,"topic":"T"}:{"#),
            "{text}"
        );
    }

    #[test]
    fn consume_stats_use_committed_offsets() {
        let mut offsets = ConsumerOffsetTable::default();
        offsets.commit("cg", "T", 1, 4, 0);
        let stats = consume_stats(
            &[new_topic("T", 2, 6)],
            &offsets.group_offsets("cg"),
            "broker-a",
            &FakeStore,
        );
        let fresh = stats.offset_table[&MessageQueue::new("T", "broker-a", 0)];
        assert_eq!(
            (fresh.broker_offset, fresh.consumer_offset, fresh.last_timestamp),
            (0, 0, 0)
        );
        let used = stats.offset_table[&MessageQueue::new("T", "broker-a", 1)];
        assert_eq!(
            (used.broker_offset, used.consumer_offset, used.last_timestamp),
            (10, 4, 1003)
        );
    }

    /// Like [`FakeStore`], but only offsets in `[min, max)` have a store time.
    struct StoredOnly;

    impl QueueReader for StoredOnly {
        fn min_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
            FakeStore.min_offset(topic, queue_id)
        }
        fn max_offset(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
            FakeStore.max_offset(topic, queue_id)
        }
        fn store_time_at(&self, topic: &str, queue_id: QueueId, offset: QueueOffset) -> Option<i64> {
            let stored = offset >= self.min_offset(topic, queue_id) && offset < self.max_offset(topic, queue_id);
            stored.then(|| 1000 + i64::try_from(offset.0).unwrap())
        }
    }

    #[test]
    fn consume_time_spans_follow_javas_arithmetic() {
        let mut config = new_topic("T", 3, 6);
        config.read_queue_nums = 1;
        // Queue 1 consumed to its end (10), queue 2 up to 15 of [2, 20); queue 0 is empty.
        let offsets = BTreeMap::from([(1, 10), (2, 15)]);
        let spans = consume_time_spans(&config, &offsets, "broker-a", &StoredOnly, 5000);
        let fields: Vec<(i32, i64, i64, i64, i64)> = spans
            .iter()
            .map(|s| {
                let queue = s.message_queue.queue_id;
                (
                    queue,
                    s.min_time_stamp,
                    s.max_time_stamp,
                    s.consume_time_stamp,
                    s.delay_time,
                )
            })
            .collect();
        assert_eq!(
            fields,
            [
                // Empty, never consumed: no times, and offset -1 < max 0 gives now - (-1).
                (0, -1, -1, -1, 5001),
                (1, 1001, 1009, 1009, 0),
                (2, 1002, 1019, 1014, 5000 - 1015),
            ]
        );
        assert!(
            spans
                .iter()
                .all(|s| s.message_queue.topic == "T" && s.message_queue.broker_name == "broker-a")
        );
    }

    #[test]
    fn store_info_is_numeric_where_mqadmin_parses_it() {
        let stats = StoreStats {
            commit_log_min_offset: CommitLogOffset(0),
            commit_log_max_offset: CommitLogOffset(4096),
            flushed_offset: CommitLogOffset(0),
            dispatch_behind_bytes: 0,
            put_message_times_total: 20,
            put_message_size_total: 2000,
            get_message_found_total: 5,
            get_message_miss_total: 5,
            get_message_transferred_total: 10,
            consume_queue_count: 1,
            recovered_abnormally: false,
        };
        let info = store_info(&stats, 0, 10_000);
        assert_eq!(info["putTps"], "2.0 2.0 2.0");
        let first: f64 = info["getTransferredTps"].split(' ').next().unwrap().parse().unwrap();
        assert!((first - 1.0).abs() < 1e-9);
        assert_eq!(info["putMessageAverageSize"], "100.0");
        assert_eq!(info["runtime"], "[ 0 days, 0 hours, 0 minutes, 10 seconds ]");
        assert!(info["putMessageDistributeTime"].starts_with("[<=0ms]:20 [0~10ms]:0 "));
    }

    #[test]
    fn human_readable_sizes_are_javas() {
        assert_eq!(human_readable_bytes(0), "0 B");
        assert_eq!(human_readable_bytes(1023), "1023 B");
        assert_eq!(human_readable_bytes(1536), "1.5 KiB");
        assert_eq!(human_readable_bytes(3 << 30), "3.0 GiB");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(0.25), "0.25");
    }
}
