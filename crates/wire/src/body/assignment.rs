//! Broker-side load balancing bodies (Java 5.x): QUERY_ASSIGNMENT (400) asks a broker which
//! queues of a topic a consumer gets and whether it pulls or pops them; SET_MESSAGE_REQUEST_MODE
//! (401), sent by admin tools, sets that mode for a topic and group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{JsonBody, MessageModel, MessageQueue};
use crate::json::field::{java_enum, lenient};

java_enum!(
    /// `MessageRequestMode`: how a consumer gets a queue's messages.
    MessageRequestMode, default Pull {
        Pull = "PULL",
        Pop = "POP",
    }
);

/// QUERY_ASSIGNMENT request: `QueryAssignmentRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryAssignmentRequestBody {
    #[serde(deserialize_with = "lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "lenient")]
    pub consumer_group: String,
    pub message_model: MessageModel,
    /// The client's `AllocateMessageQueueStrategy.getName()`, e.g. `AVG`.
    #[serde(deserialize_with = "lenient")]
    pub strategy_name: String,
    #[serde(deserialize_with = "lenient")]
    pub topic: String,
}

impl JsonBody for QueryAssignmentRequestBody {
    const JAVA_NAME: &'static str = "QueryAssignmentRequestBody";
}

/// One assigned queue and its mode: `MessageQueueAssignment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MessageQueueAssignment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<BTreeMap<String, String>>,
    pub message_queue: Option<MessageQueue>,
    pub mode: MessageRequestMode,
}

/// QUERY_ASSIGNMENT response: `QueryAssignmentResponseBody`; `None` tells the client to keep
/// what it has (Java's null set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryAssignmentResponseBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_queue_assignments: Option<Vec<MessageQueueAssignment>>,
}

impl JsonBody for QueryAssignmentResponseBody {
    const JAVA_NAME: &'static str = "QueryAssignmentResponseBody";
}

/// SET_MESSAGE_REQUEST_MODE request: `SetMessageRequestModeRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetMessageRequestModeRequestBody {
    #[serde(deserialize_with = "lenient")]
    pub consumer_group: String,
    pub mode: MessageRequestMode,
    /// How many other consumers' queues a POP consumer also reads (0 or less: all queues).
    #[serde(deserialize_with = "lenient")]
    pub pop_share_queue_num: i32,
    #[serde(deserialize_with = "lenient")]
    pub topic: String,
}

impl JsonBody for SetMessageRequestModeRequestBody {
    const JAVA_NAME: &'static str = "SetMessageRequestModeRequestBody";
}

/// `config/messageRequestMode.json`: Java's `MessageRequestModeManager`, the modes by topic,
/// then group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MessageRequestModeWrapper {
    pub message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

impl JsonBody for MessageRequestModeWrapper {
    const JAVA_NAME: &'static str = "MessageRequestModeManager";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn assignment_bodies_round_trip() {
        let request: QueryAssignmentRequestBody = round_trip(
            r#"{"clientId":"10.0.0.9@1#1","consumerGroup":"cg","messageModel":"CLUSTERING","strategyName":"AVG","topic":"T"}"#,
        );
        assert_eq!(
            (request.strategy_name.as_str(), request.message_model),
            ("AVG", MessageModel::Clustering)
        );
        let response: QueryAssignmentResponseBody = round_trip(
            r#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"broker-a","queueId":-1,"topic":"T"},"mode":"POP"}]}"#,
        );
        let assignments = response.message_queue_assignments.unwrap();
        assert_eq!(assignments[0].mode, MessageRequestMode::Pop);
        assert_eq!(assignments[0].message_queue.as_ref().unwrap().queue_id, -1);
        let mode: SetMessageRequestModeRequestBody =
            round_trip(r#"{"consumerGroup":"cg","mode":"POP","popShareQueueNum":0,"topic":"T"}"#);
        assert_eq!(mode.mode, MessageRequestMode::Pop);
        assert_eq!(QueryAssignmentResponseBody::default().encode(), b"{}");
        let file: MessageRequestModeWrapper = round_trip(
            r#"{"messageRequestModeMap":{"T":{"cg":{"consumerGroup":"cg","mode":"POP","popShareQueueNum":0,"topic":"T"}}}}"#,
        );
        assert_eq!(file.message_request_mode_map["T"]["cg"].mode, MessageRequestMode::Pop);
    }
}
