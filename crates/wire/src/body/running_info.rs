//! `ConsumerRunningInfo`: a client's answer to GET_CONSUMER_RUNNING_INFO (remoting.md §4.4.3),
//! kept to what admin tools read. `mqTable` and `mqPopTable` are keyed by `MessageQueue` beans.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{JsonBody, MessageQueue, SubscriptionData};
use crate::json::field::{bean_keys, lenient, lenient_opt, string_map};
use crate::json::write::{self, ObjectText};

/// A push consumer's local state for one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProcessQueueInfo {
    #[serde(deserialize_with = "lenient")]
    pub cached_msg_count: i32,
    #[serde(deserialize_with = "lenient")]
    pub cached_msg_max_offset: i64,
    #[serde(deserialize_with = "lenient")]
    pub cached_msg_min_offset: i64,
    #[serde(rename = "cachedMsgSizeInMiB", deserialize_with = "lenient")]
    pub cached_msg_size_in_mib: i32,
    #[serde(deserialize_with = "lenient")]
    pub commit_offset: i64,
    /// Java's spelling.
    #[serde(deserialize_with = "lenient")]
    pub droped: bool,
    #[serde(deserialize_with = "lenient")]
    pub last_consume_timestamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub last_lock_timestamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub last_pull_timestamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub locked: bool,
    #[serde(deserialize_with = "lenient")]
    pub transaction_msg_count: i32,
    #[serde(deserialize_with = "lenient")]
    pub transaction_msg_max_offset: i64,
    #[serde(deserialize_with = "lenient")]
    pub transaction_msg_min_offset: i64,
    #[serde(deserialize_with = "lenient")]
    pub try_unlock_times: i64,
}

/// A pop consumer's local state for one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PopProcessQueueInfo {
    #[serde(deserialize_with = "lenient")]
    pub droped: bool,
    #[serde(deserialize_with = "lenient")]
    pub last_pop_timestamp: i64,
    #[serde(deserialize_with = "lenient")]
    pub wait_ack_count: i32,
}

/// Per-topic consumption rates. Java's property names keep their upper-case acronyms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "consumeFailedMsgs", deserialize_with = "lenient")]
    pub consume_failed_msgs: i64,
    #[serde(rename = "consumeFailedTPS", deserialize_with = "lenient")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeOKTPS", deserialize_with = "lenient")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeRT", deserialize_with = "lenient")]
    pub consume_rt: f64,
    #[serde(rename = "pullRT", deserialize_with = "lenient")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS", deserialize_with = "lenient")]
    pub pull_tps: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    /// Thread dump, only when the request asked for it.
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub mq_pop_table: BTreeMap<MessageQueue, PopProcessQueueInfo>,
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// Consumer settings and the `PROP_*` keys admin tools read, all strings.
    #[serde(deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    /// Topic → rates.
    pub status_table: BTreeMap<String, ConsumeStatus>,
    pub subscription_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "string_map")]
    pub user_consumer_info: BTreeMap<String, String>,
}

impl JsonBody for ConsumerRunningInfo {
    const JAVA_NAME: &'static str = "ConsumerRunningInfo";

    fn encode(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw("mqPopTable", write::bean_keyed_map(&self.mq_pop_table));
        object.set_raw("mqTable", write::bean_keyed_map(&self.mq_table));
        object.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const EXAMPLE: &str = r#"{"mqPopTable":{},
 "mqTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:
   {"cachedMsgCount":0,"cachedMsgMaxOffset":0,"cachedMsgMinOffset":0,"cachedMsgSizeInMiB":0,
    "commitOffset":42,"droped":false,"lastConsumeTimestamp":1700000000000,"lastLockTimestamp":0,
    "lastPullTimestamp":1700000000000,"locked":false,"transactionMsgCount":0,
    "transactionMsgMaxOffset":0,"transactionMsgMinOffset":0,"tryUnlockTimes":0}},
 "properties":{"PROP_CLIENT_VERSION":"V5_3_3","PROP_CONSUMEORDERLY":"false","PROP_CONSUMER_START_TIMESTAMP":"1700000000000",
   "PROP_CONSUME_TYPE":"CONSUME_PASSIVELY","PROP_NAMESERVER_ADDR":"127.0.0.1:9876","PROP_THREADPOOL_CORE_SIZE":"20","consumerGroup":"cg"},
 "statusTable":{"TopicTest":{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":0.0,
   "consumeRT":0.0,"pullRT":0.0,"pullTPS":0.0}},
 "subscriptionSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}],"userConsumerInfo":{}}"#;

    #[test]
    fn documented_example_round_trips_byte_for_byte() {
        let info: ConsumerRunningInfo = round_trip(EXAMPLE);
        let queue = &info.mq_table[&MessageQueue::new("TopicTest", "broker-a", 0)];
        assert_eq!(
            (queue.commit_offset, queue.last_pull_timestamp),
            (42, 1_700_000_000_000)
        );
        assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
        assert_eq!(info.status_table["TopicTest"].consume_ok_tps, 0.0);
        assert_eq!(info.subscription_set[0].topic, "TopicTest");
        assert!(info.jstack.is_none());
        let compact: String = EXAMPLE.split_whitespace().collect();
        assert_eq!(String::from_utf8(info.encode()).unwrap(), compact);
    }

    #[test]
    fn pop_table_and_jstack() {
        let text = r#"{"jstack":"main\n","mqPopTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"droped":true,"lastPopTimestamp":5,"waitAckCount":2}},"properties":{"PROP_CONSUME_TYPE":"CONSUME_POP"}}"#;
        let info: ConsumerRunningInfo = round_trip(text);
        assert_eq!(info.mq_pop_table.values().next().map(|q| q.wait_ack_count), Some(2));
        assert_eq!(info.jstack.as_deref(), Some("main\n"));
    }
}
