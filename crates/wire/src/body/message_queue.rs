//! `MessageQueue` (remoting.md §3.3): one queue of a topic on one broker, and the bean Java
//! uses as a map key in several bodies. Ordered like Java's `compareTo`: topic, broker, queue.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::json::field::lenient;

/// `{"brokerName":"broker-a","queueId":0,"topic":"T"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MessageQueue {
    #[serde(deserialize_with = "lenient")]
    pub broker_name: String,
    #[serde(deserialize_with = "lenient")]
    pub queue_id: i32,
    #[serde(deserialize_with = "lenient")]
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> MessageQueue {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.topic, &self.broker_name, self.queue_id).cmp(&(&other.topic, &other.broker_name, other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn json_form_and_order() {
        let mq = MessageQueue::new("T", "b", 0);
        assert_eq!(json::encode(&mq), br#"{"brokerName":"b","queueId":0,"topic":"T"}"#);
        let back: MessageQueue =
            json::decode("MessageQueue", br#"{"topic":"T","queueId":"0","brokerName":"b"}"#).unwrap();
        assert_eq!(back, mq);
        let mut queues = [
            MessageQueue::new("U", "a", 0),
            MessageQueue::new("T", "b", 1),
            MessageQueue::new("T", "b", 0),
        ];
        queues.sort();
        assert_eq!(queues[0], mq);
        assert_eq!(queues[2].topic, "U");
    }
}
