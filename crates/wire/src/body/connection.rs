//! Connection lists: `ConsumerConnection` (GET_CONSUMER_CONNECTION_LIST, remoting.md §4.6.7)
//! and `ProducerConnection` (GET_PRODUCER_CONNECTION_LIST), made of `Connection`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{ConsumeFromWhere, ConsumeType, JsonBody, MessageModel, SubscriptionData};
use crate::codes::LanguageCode;
use crate::json::field::lenient;

/// One client channel as the broker saw its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Connection {
    #[serde(deserialize_with = "lenient")]
    pub client_addr: String,
    #[serde(deserialize_with = "lenient")]
    pub client_id: String,
    /// Written as Java's `LanguageCode` name.
    #[serde(serialize_with = "language_name", deserialize_with = "language_from_json")]
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal.
    #[serde(deserialize_with = "lenient")]
    pub version: i32,
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            client_addr: String::new(),
            client_id: String::new(),
            language: LanguageCode::JAVA,
            version: 0,
        }
    }
}

/// A consumer group's live members and what they subscribe to. The three settings are those of
/// the group's members; Java leaves them null for a group it has no data for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_from_where: Option<ConsumeFromWhere>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_type: Option<ConsumeType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_model: Option<MessageModel>,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

impl JsonBody for ConsumerConnection {
    const JAVA_NAME: &'static str = "ConsumerConnection";
}

/// A producer group's live members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

impl JsonBody for ProducerConnection {
    const JAVA_NAME: &'static str = "ProducerConnection";
}

fn language_name<S: Serializer>(language: &LanguageCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(language.json_name())
}

/// A name as Java writes it; an ordinal as fastjson also reads; null as Java's default.
fn language_from_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LanguageCode, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::String(name) => Ok(LanguageCode::from_name(&name)),
        Value::Null => Ok(LanguageCode::JAVA),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map(LanguageCode)
            .ok_or_else(|| D::Error::custom(format!("bad language ordinal {n}"))),
        other => Err(D::Error::custom(format!("expected a language name, found {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const SUBSCRIPTION: &str = r#"{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}"#;

    #[test]
    fn consumer_connection_example() {
        let text = format!(
            r#"{{"connectionSet":[{{"clientAddr":"10.0.0.9:53412","clientId":"10.0.0.9@12345#1","language":"JAVA","version":475}}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{{"TopicTest":{SUBSCRIPTION}}}}}"#
        );
        let connection: ConsumerConnection = round_trip(&text);
        let member = &connection.connection_set[0];
        assert_eq!((member.language, member.version), (LanguageCode::JAVA, 475));
        assert_eq!(connection.consume_type, Some(ConsumeType::ConsumePassively));
        assert_eq!(connection.subscription_table["TopicTest"].sub_string, "*");
        assert_eq!(connection.encode(), text.as_bytes());
    }

    #[test]
    fn producer_connection_and_language_forms() {
        let text = r#"{"connectionSet":[{"clientAddr":"a:1","clientId":"x","language":"GO","version":1},{"clientAddr":"b:2","clientId":"y","language":1,"version":2}]}"#;
        let connection: ProducerConnection = round_trip(text);
        assert_eq!(connection.connection_set[0].language, LanguageCode::GO);
        assert_eq!(connection.connection_set[1].language, LanguageCode::CPP);
        assert!(ProducerConnection::decode(br#"{"connectionSet":[{"language":[]}]}"#).is_err());
    }
}
