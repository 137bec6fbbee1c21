//! Offset tables: GET_ALL_CONSUMER_OFFSET and GET_ALL_DELAY_OFFSET bodies (remoting.md
//! §4.6.6), whose integer keys Java writes bare, the bean-keyed `ResetOffsetBody` of
//! RESET_CONSUMER_CLIENT_OFFSET (§4.4.5) and `GetConsumerStatusBody` of
//! GET_CONSUMER_STATUS_FROM_CLIENT / INVOKE_BROKER_TO_GET_CONSUMER_STATUS.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{DataVersion, JsonBody, MessageQueue};
use crate::json::field::bean_keys;
use crate::json::write::{self, ObjectText};

/// `{"dataVersion":{…},"offsetTable":{"TopicTest@cg":{0:42,1:40}}}`. Java's broker serialises
/// its whole offset manager here; properties other than these two are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerOffsetSerializeWrapper {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    /// `topic@group` → queue id → committed offset.
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl JsonBody for ConsumerOffsetSerializeWrapper {
    const JAVA_NAME: &'static str = "ConsumerOffsetSerializeWrapper";
}

/// `{"dataVersion":{…},"offsetTable":{1:0,2:17}}`: delay level → progress offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DelayOffsetSerializeWrapper {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    pub offset_table: BTreeMap<i32, i64>,
}

impl JsonBody for DelayOffsetSerializeWrapper {
    const JAVA_NAME: &'static str = "DelayOffsetSerializeWrapper";
}

/// Queue → the offset a consumer must restart from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResetOffsetBody {
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl JsonBody for ResetOffsetBody {
    const JAVA_NAME: &'static str = "ResetOffsetBody";

    fn encode(&self) -> Vec<u8> {
        let mut object = ObjectText::of(self);
        object.set_raw("offsetTable", write::bean_keyed_map(&self.offset_table));
        object.into_bytes()
    }
}

/// A client's answer to GET_CONSUMER_STATUS_FROM_CLIENT fills `messageQueueTable` (its offsets
/// of one topic); the broker's answer to INVOKE_BROKER_TO_GET_CONSUMER_STATUS fills
/// `consumerTable` (client id → those offsets) and leaves the other empty, as Java does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetConsumerStatusBody {
    #[serde(deserialize_with = "client_bean_keys", skip_serializing)]
    pub consumer_table: BTreeMap<String, BTreeMap<MessageQueue, i64>>,
    #[serde(deserialize_with = "bean_keys", skip_serializing)]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
}

impl JsonBody for GetConsumerStatusBody {
    const JAVA_NAME: &'static str = "GetConsumerStatusBody";

    fn encode(&self) -> Vec<u8> {
        let mut clients = ObjectText::default();
        for (client_id, offsets) in &self.consumer_table {
            clients.set_raw(client_id, write::bean_keyed_map(offsets));
        }
        let mut object = ObjectText::of(self);
        object.set_raw("consumerTable", clients.into_bytes());
        object.set_raw("messageQueueTable", write::bean_keyed_map(&self.message_queue_table));
        object.into_bytes()
    }
}

/// `Map<String, Map<MessageQueue, Long>>`: string keys outside, bean keys inside.
fn client_bean_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, BTreeMap<MessageQueue, i64>>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = BTreeMap::<String, Value>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(client_id, offsets)| Ok((client_id, bean_keys(offsets).map_err(D::Error::custom)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn consumer_offsets_with_bare_keys_and_extra_properties() {
        let text = r#"{"dataVersion":{"counter":5,"stateVersion":0,"timestamp":1700000000000},
 "offsetTable":{"TopicTest@cg":{0:42,1:40,2:41,3:39}},"pullOffsetTable":{"x":{0:1}}}"#;
        let offsets: ConsumerOffsetSerializeWrapper = round_trip(text);
        assert_eq!(offsets.offset_table["TopicTest@cg"][&2], 41);
        assert_eq!(offsets.data_version.map(|v| v.counter), Some(5));
        assert_eq!(
            String::from_utf8(offsets.encode()).unwrap(),
            r#"{"dataVersion":{"counter":5,"stateVersion":0,"timestamp":1700000000000},"offsetTable":{"TopicTest@cg":{"0":42,"1":40,"2":41,"3":39}}}"#
        );
    }

    #[test]
    fn delay_offsets() {
        let offsets: DelayOffsetSerializeWrapper = round_trip(r#"{"offsetTable":{1:0,2:17,3:4}}"#);
        assert_eq!(offsets.offset_table, BTreeMap::from([(1, 0), (2, 17), (3, 4)]));
        assert!(offsets.data_version.is_none());
        assert_eq!(offsets.encode(), br#"{"offsetTable":{"1":0,"2":17,"3":4}}"#);
    }

    #[test]
    fn reset_offset_body_is_bean_keyed_both_ways() {
        let text = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:100,
                {"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:97}}"#;
        let body: ResetOffsetBody = round_trip(text);
        assert_eq!(body.offset_table[&MessageQueue::new("TopicTest", "broker-a", 1)], 97);
        let compact: String = text.split_whitespace().collect();
        assert_eq!(String::from_utf8(body.encode()).unwrap(), compact);
        assert_eq!(ResetOffsetBody::default().encode(), br#"{"offsetTable":{}}"#);
        assert!(ResetOffsetBody::decode(br#"{"offsetTable":{"notabean":1}}"#).is_err());
    }

    #[test]
    fn consumer_status_body_nests_bean_keyed_maps_under_client_ids() {
        let client =
            r#"{"consumerTable":{},"messageQueueTable":{{"brokerName":"broker-a","queueId":3,"topic":"T"}:5}}"#;
        let answer: GetConsumerStatusBody = round_trip(client);
        assert_eq!(answer.message_queue_table[&MessageQueue::new("T", "broker-a", 3)], 5);
        assert_eq!(String::from_utf8(answer.encode()).unwrap(), client);

        let broker = r#"{"consumerTable":{"10.0.0.1@c1":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:7,
            {"brokerName":"broker-a","queueId":1,"topic":"T"}:8},"10.0.0.2@c2":{}},"messageQueueTable":{}}"#;
        let table: GetConsumerStatusBody = round_trip(broker);
        assert_eq!(
            table.consumer_table["10.0.0.1@c1"][&MessageQueue::new("T", "broker-a", 1)],
            8
        );
        assert!(table.consumer_table["10.0.0.2@c2"].is_empty());
        let compact: String = broker.split_whitespace().collect();
        assert_eq!(String::from_utf8(table.encode()).unwrap(), compact);
        assert!(GetConsumerStatusBody::decode(br#"{"consumerTable":{"c":{"notabean":1}}}"#).is_err());
    }
}
