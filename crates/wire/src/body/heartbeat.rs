//! HEART_BEAT bodies (remoting.md §4.2.2): `HeartbeatData` with its `ConsumerData`,
//! `ProducerData` and `SubscriptionData` (§3.3), and the consumer enums, written as Java's
//! constant names.

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::{java_enum, lenient};

java_enum!(
    /// How a consumer gets messages.
    ConsumeType, default ConsumePassively {
        ConsumeActively = "CONSUME_ACTIVELY",
        ConsumePassively = "CONSUME_PASSIVELY",
        ConsumePop = "CONSUME_POP",
    }
);

java_enum!(
    /// Whether a group shares its queues (clustering) or each member reads all (broadcasting).
    MessageModel, default Clustering {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
);

java_enum!(
    /// Where a group without a committed offset starts; the middle three are deprecated.
    ConsumeFromWhere, default ConsumeFromLastOffset {
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
);

/// One subscription of a consumer group: a topic and its filter expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionData {
    #[serde(deserialize_with = "lenient")]
    pub class_filter_mode: bool,
    /// Java `String.hashCode()` of each tag.
    pub code_set: Vec<i32>,
    /// `"TAG"` or `"SQL92"`.
    #[serde(deserialize_with = "lenient")]
    pub expression_type: String,
    /// The expression; `"*"` or empty means every tag.
    #[serde(deserialize_with = "lenient")]
    pub sub_string: String,
    /// Creation time in ms.
    #[serde(deserialize_with = "lenient")]
    pub sub_version: i64,
    pub tags_set: Vec<String>,
    #[serde(deserialize_with = "lenient")]
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> SubscriptionData {
        SubscriptionData {
            class_filter_mode: false,
            code_set: Vec::new(),
            expression_type: "TAG".into(),
            sub_string: String::new(),
            sub_version: 0,
            tags_set: Vec::new(),
            topic: String::new(),
        }
    }
}

impl JsonBody for SubscriptionData {
    const JAVA_NAME: &'static str = "SubscriptionData";
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerData {
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    #[serde(deserialize_with = "lenient")]
    pub group_name: String,
    pub message_model: MessageModel,
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "lenient")]
    pub unit_mode: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProducerData {
    #[serde(deserialize_with = "lenient")]
    pub group_name: String,
}

/// What a client instance tells every broker every 30 s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName]`; note the capital `ID`.
    #[serde(rename = "clientID", deserialize_with = "lenient")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.1.3+ heartbeat v2; 0 when unused.
    #[serde(deserialize_with = "lenient")]
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    /// 5.1.3+: the body leaves out subscriptions the broker already has.
    #[serde(deserialize_with = "lenient")]
    pub without_sub: bool,
}

impl JsonBody for HeartbeatData {
    const JAVA_NAME: &'static str = "HeartbeatData";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const HEARTBEAT: &str = r#"{"clientID":"10.0.0.9@12345#123456789012345",
 "consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY",
    "groupName":"cg","messageModel":"CLUSTERING",
    "subscriptionDataSet":[
      {"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*",
       "subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"},
      {"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*",
       "subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%cg"}],
    "unitMode":false}],
 "heartbeatFingerprint":0,
 "producerDataSet":[{"groupName":"pg"},{"groupName":"CLIENT_INNER_PRODUCER"}],
 "withoutSub":false}"#;

    #[test]
    fn heartbeat_example() {
        let heartbeat: HeartbeatData = round_trip(HEARTBEAT);
        assert_eq!(heartbeat.client_id, "10.0.0.9@12345#123456789012345");
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(consumer.message_model, MessageModel::Clustering);
        assert_eq!(consumer.consume_from_where, ConsumeFromWhere::ConsumeFromLastOffset);
        assert_eq!(consumer.subscription_data_set[1].topic, "%RETRY%cg");
        assert_eq!(heartbeat.producer_data_set[1].group_name, "CLIENT_INNER_PRODUCER");
        let compact: String = HEARTBEAT.split_whitespace().collect();
        assert_eq!(String::from_utf8(heartbeat.encode()).unwrap(), compact);
    }

    #[test]
    fn subscription_example_and_unknown_enum_names() {
        let text = r#"{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"TopicTest"}"#;
        let sub: SubscriptionData = round_trip(text);
        assert_eq!((sub.code_set[0], sub.tags_set[0].as_str()), (2_598_919, "TagA"));
        assert_eq!(sub.encode(), text.as_bytes());
        let consumer: ConsumerData =
            serde_json::from_str(r#"{"consumeType":"CONSUME_LATER","groupName":"g"}"#).unwrap();
        assert_eq!(consumer.consume_type, ConsumeType::Unknown("CONSUME_LATER".into()));
        assert_eq!(consumer.message_model, MessageModel::Clustering);
    }
}
