//! Typed JSON bodies of the remoting protocol (remoting.md §3–4), one file per group.
//!
//! Every body implements [`JsonBody`]: `decode` reads what any Java version writes (through the
//! lenient reader of [`crate::json`]; unknown properties ignored, omitted ones defaulted as Java
//! defaults them), `encode` writes compact JSON that every Java version reads, properties in
//! fastjson's alphabetical order. Field names are Java's property names, misspellings included.
//! Bodies with bean-keyed maps (`Map<MessageQueue, …>`) override `encode` to write raw object
//! keys like fastjson. Sets are kept as `Vec`s, since Java writes them in arbitrary order.

mod assignment;
mod auth;
mod batch_ack;
mod connection;
mod data_version;
mod groups;
mod heartbeat;
mod kv;
mod lock;
mod message_queue;
mod offsets;
mod register;
mod revive;
mod route;
mod running_info;
mod stats;
mod topic;

pub use assignment::{
    MessageQueueAssignment, MessageRequestMode, MessageRequestModeWrapper, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
pub use auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
pub use batch_ack::{BatchAck, BatchAckMessageRequestBody};
pub use connection::{Connection, ConsumerConnection, ProducerConnection};
pub use data_version::DataVersion;
pub use groups::{
    ConsumerIdList, CustomizedRetryPolicy, ExponentialRetryPolicy, GroupList, GroupRetryPolicy, GroupRetryPolicyType,
    SimpleSubscriptionData, SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
pub use heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData, SubscriptionData,
};
pub use kv::KvTable;
pub use lock::{LockBatchRequestBody, LockBatchResponseBody};
pub use message_queue::MessageQueue;
pub use offsets::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, GetConsumerStatusBody, ResetOffsetBody,
};
pub use register::{DECOMPRESSED_BYTES_MAX, RegisterBrokerBody};
pub use revive::{ACK_TAG, AckMsg, BATCH_ACK_TAG, BatchAckMsg, CK_TAG, PopCheckPoint};
pub use route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
pub use running_info::{ConsumeStatus, ConsumerRunningInfo, PopProcessQueueInfo, ProcessQueueInfo};
pub use stats::{ConsumeStats, OffsetWrapper, QueryConsumeTimeSpanBody, QueueTimeSpan, TopicOffset, TopicStatsTable};
pub use topic::{TopicConfig, TopicConfigSerializeWrapper, TopicFilterType, TopicList, TopicQueueMappingInfo};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{WireError, WireResult};
use crate::json;

/// A body Java writes with `RemotingSerializable.encode` and reads with `decode`.
pub trait JsonBody: Serialize + DeserializeOwned {
    /// Java's class name, used in errors.
    const JAVA_NAME: &'static str;

    /// Decodes a body; every body is a bean, so anything but a JSON object is rejected.
    fn decode(bytes: &[u8]) -> WireResult<Self> {
        let value = json::lenient::parse(Self::JAVA_NAME, bytes)?;
        if !value.is_object() {
            return Err(WireError::BadJson {
                what: Self::JAVA_NAME,
                reason: "body is not a JSON object".into(),
            });
        }
        Self::deserialize(value).map_err(|e| WireError::BadJson {
            what: Self::JAVA_NAME,
            reason: e.to_string(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        json::encode(self)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::fmt::Debug;

    use super::JsonBody;

    /// Decodes `text`, re-encodes, decodes again and expects the same value; expects every
    /// proper prefix of `text` to fail. Returns the decoded value for field checks.
    pub fn round_trip<T: JsonBody + PartialEq + Debug>(text: &str) -> T {
        let decoded = T::decode(text.as_bytes()).unwrap();
        let encoded = decoded.encode();
        let again = T::decode(&encoded).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&encoded)));
        assert_eq!(again, decoded);
        assert_eq!(again.encode(), encoded, "encoding is not stable");
        let trimmed = text.trim_end();
        for cut in 0..trimmed.len() {
            if let Some(prefix) = trimmed.get(..cut) {
                assert!(T::decode(prefix.as_bytes()).is_err(), "prefix {cut} decoded: {prefix}");
            }
        }
        decoded
    }
}
