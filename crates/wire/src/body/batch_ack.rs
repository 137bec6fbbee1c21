//! BATCH_ACK_MESSAGE (200151) body: `BatchAckMessageRequestBody`, acks grouped by checkpoint.
//! Each [`BatchAck`] names a checkpoint like a receipt does and carries the acknowledged
//! messages as a bit set over offsets from `so`: Java's `BitSet.toByteArray()` (little-endian
//! bytes), which fastjson writes as a base64 string.

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::lenient;

/// One checkpoint's acks: `BatchAck`, with Java's one- and two-letter names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAck {
    /// Base64 of the bit set's bytes: bit i acks offset `so + i`.
    #[serde(rename = "b", alias = "bitSet", skip_serializing_if = "Option::is_none")]
    pub bit_set_base64: Option<String>,
    #[serde(rename = "c", alias = "consumerGroup", deserialize_with = "lenient")]
    pub consumer_group: String,
    #[serde(rename = "it", alias = "invisibleTime", deserialize_with = "lenient")]
    pub invisible_time: i64,
    #[serde(rename = "pt", alias = "popTime", deserialize_with = "lenient")]
    pub pop_time: i64,
    #[serde(rename = "q", alias = "queueId", deserialize_with = "lenient")]
    pub queue_id: i32,
    /// The receipt's retry mark: `0`, `1` or `2`.
    #[serde(rename = "r", alias = "retry", deserialize_with = "lenient")]
    pub retry: String,
    #[serde(rename = "rq", alias = "reviveQueueId", deserialize_with = "lenient")]
    pub revive_queue_id: i32,
    #[serde(rename = "so", alias = "startOffset", deserialize_with = "lenient")]
    pub start_offset: i64,
    /// The topic the consumer asked for (the real one follows from `r`).
    #[serde(rename = "t", alias = "topic", deserialize_with = "lenient")]
    pub topic: String,
}

/// `BatchAckMessageRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BatchAckMessageRequestBody {
    pub acks: Option<Vec<BatchAck>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
}

impl JsonBody for BatchAckMessageRequestBody {
    const JAVA_NAME: &'static str = "BatchAckMessageRequestBody";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn batch_acks_read_javas_body() {
        // As Java 5.3.3 writes it: bits 0 and 2 set is the byte 0x05, base64 "BQ==".
        let body: BatchAckMessageRequestBody = round_trip(
            r#"{"acks":[{"b":"BQ==","c":"cg","it":60000,"pt":1700000000000,"q":1,"r":"0","rq":3,"so":5,"t":"T"}],"brokerName":"broker-a"}"#,
        );
        let acks = body.acks.unwrap();
        assert_eq!(
            (acks[0].bit_set_base64.as_deref(), acks[0].start_offset),
            (Some("BQ=="), 5)
        );
        assert_eq!(acks[0].revive_queue_id, 3);
    }
}
