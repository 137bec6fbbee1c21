//! The broker's transaction check, carried to a gRPC producer: CHECK_TRANSACTION_STATE, which the
//! broker sends to the producer's (in-process) connection, becomes the Telemetry stream's
//! RecoverOrphanedTransactionCommand with the half message as Java's `GrpcConverter` builds it;
//! the producer answers with EndTransaction (source SERVER_CHECK). Pure.

use ferrocket_wire::header::{CheckTransactionStateRequestHeader, CustomHeader};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::{RemotingCommand, RequestCode};

use crate::proto::telemetry_command::Command;
use crate::proto::{
    Digest, DigestType, Encoding, Message, MessageType, RecoverOrphanedTransactionCommand, Resource, SystemProperties,
    TelemetryCommand,
};

/// What the endpoint must remember to end the transaction the producer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedHalf {
    pub topic: String,
    pub transaction_id: String,
    pub commit_log_offset: i64,
    pub queue_offset: i64,
}

/// The Telemetry command for a CHECK_TRANSACTION_STATE request, or `None` for any other request
/// or one that does not decode.
pub fn recover_command(request: &RemotingCommand) -> Option<(TelemetryCommand, CheckedHalf)> {
    if request.request_code() != RequestCode::CHECK_TRANSACTION_STATE {
        return None;
    }
    let header = CheckTransactionStateRequestHeader::from_command(request).ok()?;
    let (half, _) = StoredMessage::decode(request.body.as_ref()?).ok()?;
    let transaction_id = header
        .transaction_id
        .clone()
        .or_else(|| half.properties.get(keys::UNIQ_KEY).map(str::to_owned))?;
    let checked = CheckedHalf {
        topic: half.topic.clone(),
        transaction_id: transaction_id.clone(),
        commit_log_offset: header.commit_log_offset,
        queue_offset: header.tran_state_table_offset,
    };
    let command = TelemetryCommand {
        status: None,
        command: Some(Command::RecoverOrphanedTransactionCommand(
            RecoverOrphanedTransactionCommand {
                message: Some(message(&half)),
                transaction_id,
            },
        )),
    };
    Some((command, checked))
}

/// A stored message as the 5.x client reads it (`GrpcConverter.buildMessage`): user properties
/// apart from the system ones, the body's CRC32 as the client computes it (upper-case hex, no
/// padding), the type from its properties. ReceiveMessage adds the receipt handle.
pub(crate) fn message(half: &StoredMessage) -> Message {
    let property = |key: &str| half.properties.get(key).map(str::to_owned);
    let timestamp = |ms: i64| prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    };
    let system = SystemProperties {
        tag: property(keys::TAGS),
        keys: property(keys::KEYS)
            .map(|keys| keys.split(keys::KEY_SEPARATOR).map(str::to_owned).collect())
            .unwrap_or_default(),
        message_id: property(keys::UNIQ_KEY).unwrap_or_default(),
        body_digest: Some(Digest {
            r#type: DigestType::Crc32 as i32,
            checksum: format!("{:X}", crc32fast::hash(&half.body)),
        }),
        body_encoding: Encoding::Identity as i32,
        message_type: message_type(half) as i32,
        delivery_timestamp: property(keys::TIMER_DELIVER_MS)
            .and_then(|ms| ms.parse().ok())
            .map(timestamp),
        born_timestamp: Some(timestamp(half.born_timestamp_ms)),
        born_host: half.born_host.ip().to_string(),
        store_timestamp: Some(timestamp(half.store_timestamp_ms)),
        store_host: half.store_host.to_string(),
        queue_id: half.queue_id,
        queue_offset: Some(half.queue_offset),
        message_group: property(keys::SHARDING_KEY),
        trace_context: property(keys::TRACE_CONTEXT),
        ..SystemProperties::default()
    };
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: half.topic.clone(),
        }),
        user_properties: half
            .properties
            .iter()
            .filter(|(key, _)| !keys::is_reserved(key))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
        system_properties: Some(system),
        body: half.body.clone(),
    }
}

/// `GrpcConverter.buildSystemProperties`' order: transaction, else delay, else FIFO, else normal.
fn message_type(stored: &StoredMessage) -> MessageType {
    let has = |key: &str| stored.properties.get(key).is_some();
    if stored.properties.get(keys::TRAN_MSG) == Some("true") {
        MessageType::Transaction
    } else if has(keys::DELAY) || has(keys::TIMER_DELIVER_MS) || has(keys::TIMER_DELAY_SEC) {
        MessageType::Delay
    } else if has(keys::SHARDING_KEY) {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}
