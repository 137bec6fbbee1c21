//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies (remoting.md §4.3.7). Java's `LockBatchRequestBody`
//! and `UnlockBatchRequestBody` have the same properties; one type serves both.

use serde::{Deserialize, Serialize};

use super::{JsonBody, MessageQueue};
use crate::json::field::lenient;

/// The queues a client wants locked (or unlocked) for a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    #[serde(deserialize_with = "lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "lenient")]
    pub consumer_group: String,
    pub mq_set: Vec<MessageQueue>,
    #[serde(deserialize_with = "lenient")]
    pub only_this_broker: bool,
}

impl JsonBody for LockBatchRequestBody {
    const JAVA_NAME: &'static str = "LockBatchRequestBody";
}

/// The subset of the requested queues now locked by the requesting client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}

impl JsonBody for LockBatchResponseBody {
    const JAVA_NAME: &'static str = "LockBatchResponseBody";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn request_and_response_examples() {
        let request = r#"{"clientId":"10.0.0.9@12345#1","consumerGroup":"cg","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}],"onlyThisBroker":false}"#;
        let body: LockBatchRequestBody = round_trip(request);
        assert_eq!(body.mq_set, [MessageQueue::new("TopicTest", "broker-a", 0)]);
        assert_eq!(body.encode(), request.as_bytes());
        let response = r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}]}"#;
        let body: LockBatchResponseBody = round_trip(response);
        assert_eq!(body.lock_ok_mq_set[0].queue_id, 0);
        assert_eq!(body.encode(), response.as_bytes());
    }
}
