//! Statistics bodies: `ConsumeStats` (GET_CONSUME_STATS, remoting.md §4.6.8) and
//! `TopicStatsTable` (GET_TOPIC_STATS_INFO, §4.6.9), both keyed by `MessageQueue` beans, and
//! `QueryConsumeTimeSpanBody` (QUERY_CONSUME_TIME_SPAN).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{JsonBody, MessageQueue};
use crate::json::field::{bean_keys, lenient};
use crate::json::write::{self, ObjectText};

/// A group's progress on one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OffsetWrapper {
    /// The queue's max offset.
    #[serde(deserialize_with = "lenient")]
    pub broker_offset: i64,
    /// The committed offset, 0 if none.
    #[serde(deserialize_with = "lenient")]
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms.
    #[serde(deserialize_with = "lenient")]
    pub last_timestamp: i64,
    /// 5.x: max(consumer offset, last pulled offset).
    #[serde(deserialize_with = "lenient")]
    pub pull_offset: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumeStats {
    #[serde(deserialize_with = "lenient")]
    pub consume_tps: f64,
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl JsonBody for ConsumeStats {
    const JAVA_NAME: &'static str = "ConsumeStats";

    fn encode(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw("offsetTable", write::bean_keyed_map(&self.offset_table));
        object.into_bytes()
    }
}

/// One queue's offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicOffset {
    /// Store time of the message at `maxOffset - 1`, 0 if the queue is empty.
    #[serde(deserialize_with = "lenient")]
    pub last_update_timestamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub max_offset: i64,
    #[serde(deserialize_with = "lenient")]
    pub min_offset: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicStatsTable {
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    #[serde(deserialize_with = "lenient")]
    pub topic_put_tps: f64,
}

impl JsonBody for TopicStatsTable {
    const JAVA_NAME: &'static str = "TopicStatsTable";

    fn encode(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw("offsetTable", write::bean_keyed_map(&self.offset_table));
        object.into_bytes()
    }
}

/// A queue's stored and consumed time range, ms. Java also writes formatted `…Str` copies of
/// the three timestamps (local time zone); they are derived, so we neither keep nor write them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueueTimeSpan {
    #[serde(deserialize_with = "lenient")]
    pub consume_time_stamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub delay_time: i64,
    #[serde(deserialize_with = "lenient")]
    pub max_time_stamp: i64,
    pub message_queue: MessageQueue,
    #[serde(deserialize_with = "lenient")]
    pub min_time_stamp: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryConsumeTimeSpanBody {
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

impl JsonBody for QueryConsumeTimeSpanBody {
    const JAVA_NAME: &'static str = "QueryConsumeTimeSpanBody";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn consume_stats_example() {
        let text = r#"{"consumeTps":0.0,
 "offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:
   {"brokerOffset":120,"consumerOffset":118,"lastTimestamp":1700000000000,"pullOffset":120}}}"#;
        let stats: ConsumeStats = round_trip(text);
        let wrapper = stats.offset_table[&MessageQueue::new("TopicTest", "broker-a", 0)];
        assert_eq!(
            (wrapper.broker_offset, wrapper.consumer_offset, wrapper.pull_offset),
            (120, 118, 120)
        );
        let compact: String = text.split_whitespace().collect();
        assert_eq!(String::from_utf8(stats.encode()).unwrap(), compact);
    }

    #[test]
    fn topic_stats_example() {
        let text = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:
   {"lastUpdateTimestamp":1700000000000,"maxOffset":120,"minOffset":0}},
 "topicPutTps":12.5}"#;
        let stats: TopicStatsTable = round_trip(text);
        assert_eq!(stats.offset_table.values().next().map(|o| o.max_offset), Some(120));
        assert_eq!(stats.topic_put_tps, 12.5);
        let compact: String = text.split_whitespace().collect();
        assert_eq!(String::from_utf8(stats.encode()).unwrap(), compact);
    }

    #[test]
    fn consume_time_span_ignores_formatted_copies() {
        let text = r#"{"consumeTimeSpanSet":[{"consumeTimeStamp":3,"consumeTimeStampStr":"1970-01-01 08:00:00,003","delayTime":1,"maxTimeStamp":4,"maxTimeStampStr":"x","messageQueue":{"brokerName":"b","queueId":1,"topic":"T"},"minTimeStamp":2,"minTimeStampStr":"y"}]}"#;
        let body: QueryConsumeTimeSpanBody = round_trip(text);
        let span = &body.consume_time_span_set[0];
        assert_eq!(
            (span.min_time_stamp, span.max_time_stamp, span.message_queue.queue_id),
            (2, 4, 1)
        );
    }
}
