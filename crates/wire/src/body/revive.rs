//! The records of the revive topic `rmq_sys_REVIVE_LOG_<cluster>` (Java 5.x POP): each is a
//! message whose body is one of these JSON beans and whose tag says which — `ck` a
//! [`PopCheckPoint`] (messages popped and not yet revived), `ack` an [`AckMsg`] (one of them
//! acknowledged), `bAck` a [`BatchAckMsg`] (several). Java names every property with a one-
//! or two-letter `@JSONField`; these are those names.

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::lenient;

/// `PopAckConstants.CK_TAG`.
pub const CK_TAG: &str = "ck";
/// `PopAckConstants.ACK_TAG`.
pub const ACK_TAG: &str = "ack";
/// `PopAckConstants.BATCH_ACK_TAG`.
pub const BATCH_ACK_TAG: &str = "bAck";

/// `PopCheckPoint`: `num` messages popped from `topic`/`queueId` at `popTime`, at offsets
/// `startOffset + d[i]`, invisible until `popTime + invisibleTime`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PopCheckPoint {
    /// Acknowledged messages, bit i for `d[i]` (Java keeps it 0 in the log; acks are records).
    #[serde(rename = "bm", deserialize_with = "lenient")]
    pub bit_map: i32,
    #[serde(rename = "bn", skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    /// The consumer group.
    #[serde(rename = "c", deserialize_with = "lenient")]
    pub cid: String,
    /// Each message's offset minus `startOffset`.
    #[serde(rename = "d")]
    pub queue_offset_diff: Vec<i32>,
    #[serde(rename = "it", deserialize_with = "lenient")]
    pub invisible_time: i64,
    #[serde(rename = "n", deserialize_with = "lenient")]
    pub num: i32,
    #[serde(rename = "pt", deserialize_with = "lenient")]
    pub pop_time: i64,
    #[serde(rename = "q", deserialize_with = "lenient")]
    pub queue_id: i32,
    #[serde(rename = "ro", deserialize_with = "lenient")]
    pub revive_offset: i64,
    #[serde(rename = "rp", skip_serializing_if = "Option::is_none")]
    pub re_put_times: Option<String>,
    #[serde(rename = "so", deserialize_with = "lenient")]
    pub start_offset: i64,
    #[serde(rename = "t", deserialize_with = "lenient")]
    pub topic: String,
}

impl PopCheckPoint {
    /// `getReviveTime`: when the unacknowledged messages reappear.
    pub fn revive_time_ms(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }
}

impl JsonBody for PopCheckPoint {
    const JAVA_NAME: &'static str = "PopCheckPoint";
}

/// `AckMsg`: the message at `ackOffset` of the checkpoint (`startOffset`, `popTime`) is done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AckMsg {
    #[serde(rename = "ao", alias = "ackOffset", deserialize_with = "lenient")]
    pub ack_offset: i64,
    #[serde(rename = "bn", alias = "brokerName", skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    #[serde(rename = "c", alias = "consumerGroup", deserialize_with = "lenient")]
    pub consumer_group: String,
    #[serde(rename = "pt", alias = "popTime", deserialize_with = "lenient")]
    pub pop_time: i64,
    #[serde(rename = "q", alias = "queueId", deserialize_with = "lenient")]
    pub queue_id: i32,
    #[serde(rename = "so", alias = "startOffset", deserialize_with = "lenient")]
    pub start_offset: i64,
    #[serde(rename = "t", alias = "topic", deserialize_with = "lenient")]
    pub topic: String,
}

impl JsonBody for AckMsg {
    const JAVA_NAME: &'static str = "AckMsg";
}

/// `BatchAckMsg`: an [`AckMsg`] for every offset of `aol` (its own `ao` is -1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAckMsg {
    #[serde(rename = "ao", alias = "ackOffset", deserialize_with = "lenient")]
    pub ack_offset: i64,
    #[serde(rename = "aol", alias = "ackOffsetList")]
    pub ack_offset_list: Vec<i64>,
    #[serde(rename = "bn", alias = "brokerName", skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    #[serde(rename = "c", alias = "consumerGroup", deserialize_with = "lenient")]
    pub consumer_group: String,
    #[serde(rename = "pt", alias = "popTime", deserialize_with = "lenient")]
    pub pop_time: i64,
    #[serde(rename = "q", alias = "queueId", deserialize_with = "lenient")]
    pub queue_id: i32,
    #[serde(rename = "so", alias = "startOffset", deserialize_with = "lenient")]
    pub start_offset: i64,
    #[serde(rename = "t", alias = "topic", deserialize_with = "lenient")]
    pub topic: String,
}

impl JsonBody for BatchAckMsg {
    const JAVA_NAME: &'static str = "BatchAckMsg";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn checkpoint_reads_javas_record() {
        // A record as Java 5.3.3 writes it (fastjson adds the getter-only `reviveTime`).
        let java = r#"{"bm":0,"bn":"broker-a","c":"cg","cId":"cg","d":[0,1],"it":60000,"n":2,"pt":1700000000000,"q":1,"reviveTime":1700000060000,"ro":0,"so":5,"t":"T"}"#;
        let ck: PopCheckPoint = round_trip(java);
        assert_eq!(
            (ck.start_offset, ck.num, ck.queue_offset_diff.clone()),
            (5, 2, vec![0, 1])
        );
        assert_eq!(ck.revive_time_ms(), 1_700_000_060_000);
        assert_eq!(
            String::from_utf8(ck.encode()).unwrap(),
            r#"{"bm":0,"bn":"broker-a","c":"cg","d":[0,1],"it":60000,"n":2,"pt":1700000000000,"q":1,"ro":0,"so":5,"t":"T"}"#
        );
    }

    #[test]
    fn acks_read_short_and_long_names() {
        let ack: AckMsg = round_trip(r#"{"ao":6,"bn":"broker-a","c":"cg","pt":1700000000000,"q":1,"so":5,"t":"T"}"#);
        assert_eq!((ack.ack_offset, ack.start_offset), (6, 5));
        let long = AckMsg::decode(br#"{"ackOffset":6,"consumerGroup":"cg","topic":"T","queueId":1}"#).unwrap();
        assert_eq!((long.ack_offset, long.consumer_group.as_str()), (6, "cg"));
        let batch: BatchAckMsg =
            round_trip(r#"{"ao":-1,"aol":[5,6],"c":"cg","pt":1700000000000,"q":1,"so":5,"t":"T"}"#);
        assert_eq!(batch.ack_offset_list, [5, 6]);
    }
}
