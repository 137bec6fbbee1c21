//! Consumer-group bodies: `SubscriptionGroupConfig` with its 5.x retry policy (remoting.md
//! §3.3, §4.6.3), the `SubscriptionGroupWrapper` of GET_ALL_SUBSCRIPTIONGROUP_CONFIG (§4.6.5),
//! `GroupList` (§4.6.13) and the `consumerIdList` of GET_CONSUMER_LIST_BY_GROUP (§4.3.4).
//!
//! Defaults are Java's, so a 4.9.x config without `attributes` or `groupRetryPolicy` reads as
//! a 5.x broker would read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DataVersion, JsonBody};
use crate::json::field::{java_enum, lenient};

java_enum!(
    /// Which retry policy of a `GroupRetryPolicy` applies.
    GroupRetryPolicyType, default Customized {
        Exponential = "EXPONENTIAL",
        Customized = "CUSTOMIZED",
    }
);

/// Delay before each retry, in ms, indexed by reconsume count + 2 (the old delay levels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomizedRetryPolicy {
    pub next: Vec<i64>,
}

impl Default for CustomizedRetryPolicy {
    fn default() -> CustomizedRetryPolicy {
        const SECOND: i64 = 1000;
        const MINUTE: i64 = 60 * SECOND;
        let next = [1, 5, 10, 30].map(|s| s * SECOND).into_iter();
        let next = next.chain([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 60, 120].map(|m| m * MINUTE));
        CustomizedRetryPolicy { next: next.collect() }
    }
}

/// Delay `initial × multiplier^n`, capped at `max`, in ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExponentialRetryPolicy {
    #[serde(deserialize_with = "lenient")]
    pub initial: i64,
    #[serde(deserialize_with = "lenient")]
    pub max: i64,
    #[serde(deserialize_with = "lenient")]
    pub multiplier: i64,
}

impl Default for ExponentialRetryPolicy {
    fn default() -> ExponentialRetryPolicy {
        ExponentialRetryPolicy {
            initial: 5_000,
            max: 2 * 60 * 60 * 1000,
            multiplier: 2,
        }
    }
}

/// `{"type":"CUSTOMIZED"}` by default; the chosen policy's parameters when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupRetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    #[serde(rename = "type")]
    pub kind: GroupRetryPolicyType,
}

/// A subscription as the 5.x group config records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SimpleSubscriptionData {
    #[serde(deserialize_with = "lenient")]
    pub expression: String,
    #[serde(deserialize_with = "lenient")]
    pub expression_type: String,
    #[serde(deserialize_with = "lenient")]
    pub topic: String,
    #[serde(deserialize_with = "lenient")]
    pub version: i64,
}

/// One consumer group's settings on one broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    #[serde(deserialize_with = "lenient")]
    pub broker_id: i64,
    #[serde(deserialize_with = "lenient")]
    pub consume_broadcast_enable: bool,
    #[serde(deserialize_with = "lenient")]
    pub consume_enable: bool,
    #[serde(deserialize_with = "lenient")]
    pub consume_from_min_enable: bool,
    #[serde(deserialize_with = "lenient")]
    pub consume_message_orderly: bool,
    #[serde(deserialize_with = "lenient")]
    pub consume_timeout_minute: i32,
    #[serde(deserialize_with = "lenient")]
    pub group_name: String,
    pub group_retry_policy: GroupRetryPolicy,
    #[serde(deserialize_with = "lenient")]
    pub group_sys_flag: i32,
    #[serde(deserialize_with = "lenient")]
    pub notify_consumer_ids_changed_enable: bool,
    #[serde(deserialize_with = "lenient")]
    pub retry_max_times: i32,
    #[serde(deserialize_with = "lenient")]
    pub retry_queue_nums: i32,
    /// 5.x; null (absent) unless the broker records subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    #[serde(deserialize_with = "lenient")]
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> SubscriptionGroupConfig {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: GroupRetryPolicy::default(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl JsonBody for SubscriptionGroupConfig {
    const JAVA_NAME: &'static str = "SubscriptionGroupConfig";
}

/// Every group config of a broker; `forbiddenTable` (5.x) is group → topic → forbidden bits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl JsonBody for SubscriptionGroupWrapper {
    const JAVA_NAME: &'static str = "SubscriptionGroupWrapper";
}

/// `{"groupList":["cg1","cg2"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupList {
    pub group_list: Vec<String>,
}

impl JsonBody for GroupList {
    const JAVA_NAME: &'static str = "GroupList";
}

/// `GetConsumerListByGroupResponseBody`: `{"consumerIdList":["10.0.0.9@12345#1"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerIdList {
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for ConsumerIdList {
    const JAVA_NAME: &'static str = "GetConsumerListByGroupResponseBody";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const DEFAULT_CONFIG: &str = r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"cg","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

    #[test]
    fn documented_defaults_round_trip_byte_for_byte() {
        let config: SubscriptionGroupConfig = round_trip(DEFAULT_CONFIG);
        let expected = SubscriptionGroupConfig {
            group_name: "cg".into(),
            ..SubscriptionGroupConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(config.encode(), DEFAULT_CONFIG.as_bytes());
        // A 4.9.x config has neither attributes nor a retry policy.
        assert_eq!(
            SubscriptionGroupConfig::decode(br#"{"groupName":"cg"}"#).unwrap(),
            expected
        );
    }

    #[test]
    fn retry_policies_and_subscriptions() {
        let text = r#"{"groupName":"g","groupRetryPolicy":{"exponentialRetryPolicy":{"initial":1000,"max":60000,"multiplier":3},"type":"EXPONENTIAL"},"subscriptionDataSet":[{"expression":"*","expressionType":"TAG","topic":"T","version":1}]}"#;
        let config: SubscriptionGroupConfig = round_trip(text);
        let policy = &config.group_retry_policy;
        assert_eq!(policy.kind, GroupRetryPolicyType::Exponential);
        assert_eq!(policy.exponential_retry_policy.as_ref().map(|p| p.multiplier), Some(3));
        assert_eq!(config.subscription_data_set.as_ref().map(Vec::len), Some(1));
        let customized = CustomizedRetryPolicy::default();
        assert_eq!(
            (customized.next.len(), customized.next[2], customized.next[17]),
            (18, 10_000, 7_200_000)
        );
    }

    #[test]
    fn wrapper_group_list_and_consumer_ids() {
        let text = format!(
            r#"{{"dataVersion":{{"counter":2,"stateVersion":0,"timestamp":1}},"forbiddenTable":{{"cg":{{"T":1}}}},"subscriptionGroupTable":{{"cg":{DEFAULT_CONFIG}}}}}"#
        );
        let wrapper: SubscriptionGroupWrapper = round_trip(&text);
        assert_eq!(wrapper.subscription_group_table["cg"].retry_max_times, 16);
        assert_eq!(wrapper.forbidden_table["cg"]["T"], 1);
        assert_eq!(wrapper.encode(), text.as_bytes());
        let groups: GroupList = round_trip(r#"{"groupList":["cg1","cg2"]}"#);
        assert_eq!(groups.group_list, ["cg1", "cg2"]);
        let ids: ConsumerIdList = round_trip(r#"{"consumerIdList":["10.0.0.9@12345#1","10.0.0.10@777#2"]}"#);
        assert_eq!(ids.consumer_id_list.len(), 2);
    }
}
