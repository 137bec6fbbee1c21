//! Topic configuration bodies: `TopicConfig` (remoting.md §3.3), its space-separated text form
//! used by compressed REGISTER_BROKER (§4.1.2), the `TopicConfigSerializeWrapper` of
//! GET_ALL_TOPIC_CONFIG and REGISTER_BROKER (§4.6.4), the static-topic `TopicQueueMappingInfo`,
//! and `TopicList` (§4.1.5).
//!
//! Text form, one line per topic, fields separated by one space:
//! `topicName readQueueNums writeQueueNums perm topicFilterType [attributesJson]`
//! e.g. `TopicTest 4 4 6 SINGLE_TAG {}`. 4.9.x writes and requires exactly five fields; 5.x
//! writes six and requires at least five. `topicSysFlag` and `order` are not carried.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DataVersion, JsonBody};
use crate::error::{WireError, WireResult};
use crate::json;
use crate::json::field::{java_enum, lenient, lenient_opt};
use crate::permissions::{PERM_READ, PERM_WRITE};

java_enum!(
    /// `TopicFilterType`: how a topic's tag filter is evaluated.
    TopicFilterType, default SingleTag {
        SingleTag = "SINGLE_TAG",
        MultiTag = "MULTI_TAG",
    }
);

/// Java's `defaultReadQueueNums` / `defaultWriteQueueNums` for a config built without values.
const QUEUE_NUMS_DEFAULT: i32 = 16;

/// One topic's configuration on one broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfig {
    /// 5.x topic attributes, e.g. `{"+message.type":"NORMAL"}`; empty in 4.9.x.
    pub attributes: BTreeMap<String, String>,
    #[serde(deserialize_with = "lenient")]
    pub order: bool,
    /// `PermName` bits: PRIORITY 8, READ 4, WRITE 2, INHERIT 1.
    #[serde(deserialize_with = "lenient")]
    pub perm: i32,
    #[serde(deserialize_with = "lenient")]
    pub read_queue_nums: i32,
    pub topic_filter_type: TopicFilterType,
    #[serde(deserialize_with = "lenient")]
    pub topic_name: String,
    /// `TopicSysFlag` bits: 1 = unit, 2 = has unit subscription.
    #[serde(deserialize_with = "lenient")]
    pub topic_sys_flag: i32,
    #[serde(deserialize_with = "lenient")]
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: PERM_READ | PERM_WRITE,
            read_queue_nums: QUEUE_NUMS_DEFAULT,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: QUEUE_NUMS_DEFAULT,
        }
    }
}

impl JsonBody for TopicConfig {
    const JAVA_NAME: &'static str = "TopicConfig";
}

impl TopicConfig {
    /// `TopicConfig.encode()`. `with_attributes` adds the 5.x sixth field; a 4.9.x name server
    /// rejects a line that has it.
    pub fn to_text(&self, with_attributes: bool) -> String {
        let mut text = format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type.java_name()
        );
        if with_attributes {
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(&json::encode(&self.attributes)));
        }
        text
    }

    /// `TopicConfig.decode(String)` as 5.x does it: at least five fields, integers as Java's
    /// `parseInt` reads them, a known filter type; attributes that do not parse (they may hold
    /// spaces) are ignored, as Java ignores them.
    pub fn from_text(text: &str) -> WireResult<TopicConfig> {
        let mut fields: Vec<&str> = text.split(' ').collect();
        // Java's `String.split` drops trailing empty fields.
        while fields.last().is_some_and(|field| field.is_empty()) {
            fields.pop();
        }
        let bad = || WireError::BadField {
            field: "topicConfig",
            value: text.to_owned(),
        };
        let [name, read, write, perm, filter, rest @ ..] = fields.as_slice() else {
            return Err(bad());
        };
        let topic_filter_type = match TopicFilterType::from_java_name(filter) {
            TopicFilterType::Unknown(_) => return Err(bad()),
            known => known,
        };
        let attributes = rest
            .first()
            .and_then(|json_text| json::decode::<BTreeMap<String, String>>("attributes", json_text.as_bytes()).ok())
            .unwrap_or_default();
        Ok(TopicConfig {
            attributes,
            perm: perm.parse().map_err(|_| bad())?,
            read_queue_nums: read.parse().map_err(|_| bad())?,
            topic_filter_type,
            topic_name: (*name).to_owned(),
            write_queue_nums: write.parse().map_err(|_| bad())?,
            ..TopicConfig::default()
        })
    }
}

/// A static topic's queue mapping on one broker (5.x `TopicQueueMappingInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicQueueMappingInfo {
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
    /// Logic queue id → physical queue id.
    pub curr_id_map: BTreeMap<i32, i32>,
    #[serde(deserialize_with = "lenient")]
    pub dirty: bool,
    #[serde(deserialize_with = "lenient")]
    pub epoch: i64,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub total_queues: i32,
}

impl JsonBody for TopicQueueMappingInfo {
    const JAVA_NAME: &'static str = "TopicQueueMappingInfo";
}

/// `TopicConfigSerializeWrapper` (4.9.x) and `TopicConfigAndMappingSerializeWrapper` (5.x) in
/// one: the mapping properties are `None` when absent and then not written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// `TopicQueueMappingDetail` per topic, carried through unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<BTreeMap<String, TopicQueueMappingInfo>>,
}

impl JsonBody for TopicConfigSerializeWrapper {
    const JAVA_NAME: &'static str = "TopicConfigSerializeWrapper";
}

/// `{"topicList":["TBW102","TopicTest"]}`, with `brokerAddr` only in the system-topic list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicList {
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: Vec<String>,
}

impl JsonBody for TopicList {
    const JAVA_NAME: &'static str = "TopicList";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const TOPIC_CONFIG: &str = r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":8}"#;

    #[test]
    fn topic_config_example_round_trips_byte_for_byte() {
        let config: TopicConfig = round_trip(TOPIC_CONFIG);
        assert_eq!(
            (config.topic_name.as_str(), config.perm, config.read_queue_nums),
            ("TopicTest", 6, 8)
        );
        assert_eq!(config.encode(), TOPIC_CONFIG.as_bytes());
    }

    #[test]
    fn topic_config_defaults_are_javas() {
        let config = TopicConfig::decode(br#"{"topicName":"T"}"#).unwrap();
        assert_eq!(
            (config.read_queue_nums, config.write_queue_nums, config.perm),
            (16, 16, 6)
        );
        assert_eq!(config.topic_filter_type, TopicFilterType::SingleTag);
    }

    #[test]
    fn text_form_both_generations() {
        let mut config = TopicConfig::decode(TOPIC_CONFIG.as_bytes()).unwrap();
        config.read_queue_nums = 4;
        config.write_queue_nums = 4;
        assert_eq!(config.to_text(true), "TopicTest 4 4 6 SINGLE_TAG {}");
        assert_eq!(config.to_text(false), "TopicTest 4 4 6 SINGLE_TAG");
        config.attributes.insert("+message.type".into(), "NORMAL".into());
        let text = config.to_text(true);
        assert_eq!(text, r#"TopicTest 4 4 6 SINGLE_TAG {"+message.type":"NORMAL"}"#);
        assert_eq!(TopicConfig::from_text(&text).unwrap(), config);
        assert_eq!(
            TopicConfig::from_text("TopicTest 4 4 6 SINGLE_TAG")
                .unwrap()
                .attributes
                .len(),
            0
        );
        // Trailing empty fields are dropped like Java's split; unparsable attributes ignored.
        let lenient = TopicConfig::from_text("T 1 2 6 MULTI_TAG {\"a\":\"x y\"}  ").unwrap();
        assert_eq!((lenient.write_queue_nums, lenient.attributes.len()), (2, 0));
        for bad in [
            "",
            "T 1 2 6",
            "T x 2 6 SINGLE_TAG",
            "T 1 2 6 NO_TAG",
            "T  1 2 6 SINGLE_TAG",
            "T 1 2 99999999999 SINGLE_TAG",
        ] {
            assert!(TopicConfig::from_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrapper_4_9_and_5_x() {
        let old = format!(
            r#"{{"dataVersion":{{"counter":12,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"TopicTest":{TOPIC_CONFIG}}}}}"#
        );
        let wrapper: TopicConfigSerializeWrapper = round_trip(&old);
        assert_eq!(wrapper.data_version.counter, 12);
        assert!(wrapper.mapping_data_version.is_none());
        assert_eq!(wrapper.encode(), old.as_bytes());
        let new = format!(
            r#"{{"dataVersion":{{"counter":12,"stateVersion":0,"timestamp":1700000000000}},"mappingDataVersion":{{"counter":0,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"TopicTest":{TOPIC_CONFIG}}},"topicQueueMappingDetailMap":{{}},"topicQueueMappingInfoMap":{{"S":{{"bname":"b","currIdMap":{{0:0,1:1}},"dirty":false,"epoch":5,"scope":"__global__","topic":"S","totalQueues":2}}}}}}"#
        );
        let wrapper: TopicConfigSerializeWrapper = round_trip(&new);
        let info = &wrapper.topic_queue_mapping_info_map.as_ref().unwrap()["S"];
        assert_eq!((info.curr_id_map.get(&1), info.total_queues), (Some(&1), 2));
        assert_eq!(wrapper.topic_config_table["TopicTest"].topic_name, "TopicTest");
    }

    #[test]
    fn topic_list() {
        let list: TopicList = round_trip(r#"{"topicList":["TBW102","TopicTest","%RETRY%cg"]}"#);
        assert_eq!(list.topic_list.len(), 3);
        assert_eq!(list.encode(), br#"{"topicList":["TBW102","TopicTest","%RETRY%cg"]}"#);
    }
}
