//! Route bodies: `TopicRouteData` (GET_ROUTEINFO_BY_TOPIC, remoting.md §4.1.1) with its
//! `QueueData` and `BrokerData`, and `ClusterInfo` (GET_BROKER_CLUSTER_INFO, §4.1.4).
//!
//! `TopicRouteData` has two renderings, chosen by the caller from the request: the "standard"
//! one for clients of version ≥ 401 (V4_9_4) or with `acceptStandardJsonOnly` (fastjson's
//! `BrowserCompatible` output: quoted numeric keys, sorted keys, `\uXXXX` escapes, wide longs as
//! strings), and fastjson's default "legacy" one with bare integer keys in `brokerAddrs`. Every
//! other body writes numeric keys quoted, which every Java version reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{JsonBody, TopicQueueMappingInfo};
use crate::codes::version;
use crate::json::field::{lenient, lenient_opt};
use crate::json::write::{self, ObjectText};

/// One broker's share of a topic: queue counts and permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueueData {
    #[serde(deserialize_with = "lenient")]
    pub broker_name: String,
    #[serde(deserialize_with = "lenient")]
    pub perm: i32,
    #[serde(deserialize_with = "lenient")]
    pub read_queue_nums: i32,
    /// Spelled `topicSynFlag` before 4.9.0; both spellings are read.
    #[serde(deserialize_with = "lenient", alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    #[serde(deserialize_with = "lenient")]
    pub write_queue_nums: i32,
}

/// One broker set (master and slaves) of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerData {
    /// Broker id → `ip:port`; id 0 is the master.
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(deserialize_with = "lenient")]
    pub broker_name: String,
    #[serde(deserialize_with = "lenient")]
    pub cluster: String,
    #[serde(deserialize_with = "lenient")]
    pub enable_acting_master: bool,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// fastjson's default rendering: `brokerAddrs` with bare integer keys.
    fn encode_legacy(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw("brokerAddrs", write::bare_integer_keyed_map(&self.broker_addrs));
        object.into_bytes()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter server addresses; empty since 5.x.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `"broker-a:4;broker-b:4"` when the name server has an order config for the topic.
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    /// 5.x static topics: broker name → mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<BTreeMap<String, TopicQueueMappingInfo>>,
}

impl JsonBody for TopicRouteData {
    const JAVA_NAME: &'static str = "TopicRouteData";
}

impl TopicRouteData {
    /// The rendering the official name server picks for a GET_ROUTEINFO_BY_TOPIC request.
    pub fn encode_for(&self, request_version: i32, accept_standard_json_only: bool) -> Vec<u8> {
        if request_version >= version::V4_9_4 || accept_standard_json_only {
            self.encode_standard()
        } else {
            self.encode_legacy()
        }
    }

    /// fastjson with `BrowserCompatible, QuoteFieldNames, SkipTransientField, MapSortField`.
    pub fn encode_standard(&self) -> Vec<u8> {
        match serde_json::to_value(self) {
            Ok(value) => write::browser_compatible(&value),
            Err(e) => panic!("TopicRouteData does not serialize to JSON: {e}"),
        }
    }

    /// fastjson's default: bare integer keys in `brokerAddrs`, characters unescaped.
    pub fn encode_legacy(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw(
            "brokerDatas",
            write::array_of(self.broker_datas.iter().map(BrokerData::encode_legacy)),
        );
        object.into_bytes()
    }
}

/// Every broker set and cluster the name server knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Broker name → broker set.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

impl JsonBody for ClusterInfo {
    const JAVA_NAME: &'static str = "ClusterInfo";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},
                 "brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],
 "filterServerTable":{},
 "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,
                "writeQueueNums":4}]}"#;

    #[test]
    fn route_example_and_both_renderings() {
        let route: TopicRouteData = round_trip(ROUTE);
        assert_eq!(route.broker_datas[0].broker_addrs[&1], "10.0.0.2:10911");
        assert_eq!(route.queue_datas[0].read_queue_nums, 4);
        let standard = String::from_utf8(route.encode_standard()).unwrap();
        assert_eq!(
            standard,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        let legacy = String::from_utf8(route.encode_legacy()).unwrap();
        assert_eq!(legacy, standard.replace(r#""0":"#, "0:").replace(r#""1":"#, "1:"));
        assert_eq!(TopicRouteData::decode(legacy.as_bytes()).unwrap(), route);
        assert_eq!(route.encode_for(version::V4_9_4, false), standard.as_bytes());
        assert_eq!(route.encode_for(version::V4_9_4 - 1, true), standard.as_bytes());
        assert_eq!(route.encode_for(version::V4_9_4 - 1, false), legacy.as_bytes());
    }

    #[test]
    fn standard_rendering_escapes_non_ascii_and_keeps_numeric_key_order() {
        let mut route = TopicRouteData::decode(ROUTE.as_bytes()).unwrap();
        route.order_topic_conf = Some("brøker:4".into());
        route.broker_datas[0].broker_addrs.insert(10, "h/10".into());
        let standard = String::from_utf8(route.encode_standard()).unwrap();
        assert!(standard.contains(r#""orderTopicConf":"br\u00F8ker:4""#), "{standard}");
        assert!(standard.contains(r#""1":"10.0.0.2:10911","10":"h\/10"}"#), "{standard}");
        assert_eq!(TopicRouteData::decode(standard.as_bytes()).unwrap(), route);
    }

    #[test]
    fn old_spelling_and_optional_properties() {
        let text = r#"{"brokerDatas":[{"brokerAddrs":{0:"a:1"},"brokerName":"b","cluster":"c","zoneName":"z"}],
            "orderTopicConf":"b:4","queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSynFlag":3,"writeQueueNums":4}],
            "topicQueueMappingByBroker":{"b":{"bname":"b","currIdMap":{0:0},"epoch":1,"topic":"T","totalQueues":1}}}"#;
        let route: TopicRouteData = round_trip(text);
        assert_eq!(route.queue_datas[0].topic_sys_flag, 3);
        assert_eq!(route.broker_datas[0].zone_name.as_deref(), Some("z"));
        assert_eq!(route.order_topic_conf.as_deref(), Some("b:4"));
        assert_eq!(route.topic_queue_mapping_by_broker.unwrap()["b"].epoch, 1);
    }

    #[test]
    fn cluster_info_reads_bare_keys_and_writes_quoted() {
        let text = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},
   "brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},
 "clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        let info: ClusterInfo = round_trip(text);
        assert_eq!(info.broker_addr_table["broker-a"].broker_addrs[&0], "10.0.0.1:10911");
        assert_eq!(info.cluster_addr_table["DefaultCluster"], ["broker-a"]);
        let written = String::from_utf8(info.encode()).unwrap();
        assert!(written.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#));
    }
}
