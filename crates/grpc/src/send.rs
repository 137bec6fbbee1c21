//! SendMessage as Java's `SendMessageActivity` and `ProducerProcessor` prepare it, turned into
//! the SEND_MESSAGE request that the broker's own send handler serves (Java's local-mode
//! `LocalMessageService` does the same), and the handler's answer turned back. Pure: the service
//! reads the topic table, picks the queue and dispatches.
//!
//! Check order, as Java's: a message at all, the topic name, then per message the topic (all
//! alike), body size, user properties (count, reserved names, control characters), tag, keys,
//! their total size, message id, transaction recovery time, delivery time, message group.

use std::collections::BTreeMap;

use bytes::Bytes;
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeader, SendMessageResponseHeader};
use ferrocket_wire::message::properties::{MessageProperties, keys};
use ferrocket_wire::message::sysflag;
use ferrocket_wire::system_topics::AUTO_CREATE_TOPIC;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

use crate::proto::{self, Code, Encoding, MessageType, SendMessageResponse, SendResultEntry, Status};
use crate::status::{ok, proxy_exception, status};

/// The proxy's limits on what a producer sends (Java's `ProxyConfig` defaults).
#[derive(Debug, Clone)]
pub struct SendLimits {
    /// `maxMessageSize`: a body longer than this is MESSAGE_BODY_TOO_LARGE.
    pub body_bytes_max: usize,
    /// `maxDelayTimeMills`: a delivery time further ahead is ILLEGAL_DELIVERY_TIME.
    pub delay_ms_max: i64,
    /// `userPropertyMaxNum`.
    pub user_properties_max: usize,
    /// `maxUserPropertySize`: user properties, tag and keys together, in bytes.
    pub user_property_bytes_max: usize,
    /// `maxMessageGroupSize`: a group of this many bytes or more is refused.
    pub message_group_bytes_max: usize,
    /// `maxTransactionRecoverySecond`.
    pub transaction_recovery_secs_max: i64,
}

/// Java's `ProxyConfig.maxMessageSize` default: 4 MiB.
pub const MESSAGE_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Java's `ProxyConfig.maxDelayTimeMills` default: one day.
pub const DELIVERY_DELAY_MS_MAX: i64 = 24 * 60 * 60 * 1000;

impl Default for SendLimits {
    fn default() -> SendLimits {
        SendLimits {
            body_bytes_max: MESSAGE_BODY_BYTES_MAX,
            delay_ms_max: DELIVERY_DELAY_MS_MAX,
            user_properties_max: 128,
            user_property_bytes_max: 16 * 1024,
            message_group_bytes_max: 64,
            transaction_recovery_secs_max: 3600,
        }
    }
}

/// One message ready for the broker.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedMessage {
    pub topic: String,
    pub properties: BTreeMap<String, String>,
    pub body: Bytes,
    pub sys_flag: i32,
    /// The client's message id (UNIQ_KEY), which the answer reports.
    pub message_id: String,
    pub message_group: Option<String>,
}

fn has_control_character(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `buildMessage` and `buildMessageProperty` for one message; `peer` is the client's address
/// (the born host when the message names none), `producer_group` the topic (Java uses the topic
/// as the producer group, for the transaction checker).
pub fn prepare(
    message: &proto::Message,
    producer_group: &str,
    peer: &str,
    now_ms: i64,
    limits: &SendLimits,
) -> Result<PreparedMessage, Status> {
    let topic = message.topic.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    if message.body.is_empty() {
        return Err(status(Code::MessageBodyEmpty, "message body cannot be empty"));
    }
    if message.body.len() > limits.body_bytes_max {
        return Err(status(
            Code::MessageBodyTooLarge,
            format!("message body cannot exceed the max {}", limits.body_bytes_max),
        ));
    }
    let mut properties = BTreeMap::new();
    if message.user_properties.len() > limits.user_properties_max {
        return Err(status(
            Code::MessagePropertiesTooLarge,
            format!("too many user properties, max is {}", limits.user_properties_max),
        ));
    }
    let mut user_bytes = 0usize;
    for (key, value) in &message.user_properties {
        if keys::is_reserved(key) {
            return Err(status(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {key}"),
            ));
        }
        if has_control_character(key) {
            return Err(status(
                Code::IllegalMessagePropertyKey,
                "the key of property cannot contain control character",
            ));
        }
        if has_control_character(value) {
            return Err(status(
                Code::IllegalMessagePropertyKey,
                "the value of property cannot contain control character",
            ));
        }
        user_bytes += key.len() + value.len();
        properties.insert(key.clone(), value.clone());
    }
    let system = message.system_properties.clone().unwrap_or_default();
    let tag = system.tag.clone().unwrap_or_default();
    if !tag.is_empty() {
        if tag.trim().is_empty() {
            return Err(status(
                Code::IllegalMessageTag,
                "tag cannot be the char sequence of whitespace",
            ));
        }
        if tag.contains('|') {
            return Err(status(Code::IllegalMessageTag, "tag cannot contain '|'"));
        }
        if has_control_character(&tag) {
            return Err(status(Code::IllegalMessageTag, "tag cannot contain control character"));
        }
        properties.insert(keys::TAGS.to_owned(), tag.clone());
    }
    user_bytes += tag.len();
    for key in &system.keys {
        if !key.is_empty() && key.trim().is_empty() {
            return Err(status(
                Code::IllegalMessageKey,
                "key cannot be the char sequence of whitespace",
            ));
        }
        if has_control_character(key) {
            return Err(status(Code::IllegalMessageKey, "key cannot contain control character"));
        }
        user_bytes += key.len();
    }
    if !system.keys.is_empty() {
        properties.insert(keys::KEYS.to_owned(), system.keys.join(keys::KEY_SEPARATOR));
    }
    if user_bytes > limits.user_property_bytes_max {
        return Err(status(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {}",
                limits.user_property_bytes_max
            ),
        ));
    }
    if system.message_id.trim().is_empty() {
        return Err(status(Code::IllegalMessageId, "message id cannot be empty"));
    }
    properties.insert(keys::UNIQ_KEY.to_owned(), system.message_id.clone());
    let transactional = system.message_type == MessageType::Transaction as i32;
    if transactional {
        properties.insert(keys::TRAN_MSG.to_owned(), "true".to_owned());
        if let Some(recovery) = &system.orphaned_transaction_recovery_duration {
            if recovery.seconds > limits.transaction_recovery_secs_max {
                return Err(status(
                    Code::BadRequest,
                    format!(
                        "the max transaction recovery time of message is too large, max is {}",
                        limits.transaction_recovery_secs_max
                    ),
                ));
            }
            properties.insert(
                keys::CHECK_IMMUNITY_TIME_IN_SECONDS.to_owned(),
                recovery.seconds.to_string(),
            );
        }
    }
    if let Some(delivery) = &system.delivery_timestamp {
        let delivery_ms = timestamp_ms(delivery);
        if limits.delay_ms_max > 0 && delivery_ms.saturating_sub(now_ms) > limits.delay_ms_max {
            return Err(status(
                Code::IllegalDeliveryTime,
                format!(
                    "the max delay time of message is too large, max is {}",
                    limits.delay_ms_max
                ),
            ));
        }
        properties.insert(keys::TIMER_DELIVER_MS.to_owned(), delivery_ms.to_string());
    }
    properties.insert(
        keys::RECONSUME_TIME.to_owned(),
        system.delivery_attempt.unwrap_or(0).to_string(),
    );
    properties.insert(keys::PGROUP.to_owned(), producer_group.to_owned());
    let message_group = system.message_group.clone().filter(|group| !group.is_empty());
    if let Some(group) = &message_group {
        if group.trim().is_empty() {
            return Err(status(
                Code::IllegalMessageGroup,
                "message group cannot be the char sequence of whitespace",
            ));
        }
        if limits.message_group_bytes_max > 0 && group.len() >= limits.message_group_bytes_max {
            return Err(status(
                Code::IllegalMessageGroup,
                format!("message group exceed the max size {}", limits.message_group_bytes_max),
            ));
        }
        if has_control_character(group) {
            return Err(status(
                Code::IllegalMessageGroup,
                "message group cannot contain control character",
            ));
        }
        properties.insert(keys::SHARDING_KEY.to_owned(), group.clone());
    }
    if let Some(trace) = system.trace_context.as_ref().filter(|t| !t.is_empty()) {
        properties.insert(keys::TRACE_CONTEXT.to_owned(), trace.clone());
    }
    let born_host = if system.born_host.trim().is_empty() {
        peer
    } else {
        system.born_host.as_str()
    };
    if !born_host.trim().is_empty() {
        properties.insert(keys::BORN_HOST.to_owned(), born_host.to_owned());
    }
    if let Some(born) = &system.born_timestamp {
        properties.insert(BORN_TIMESTAMP.to_owned(), timestamp_ms(born).to_string());
    }
    let mut sys_flag = 0;
    if system.body_encoding == Encoding::Gzip as i32 {
        sys_flag |= sysflag::COMPRESSED;
    }
    if transactional {
        sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
    }
    Ok(PreparedMessage {
        topic,
        properties,
        body: message.body.clone(),
        sys_flag,
        message_id: system.message_id,
        message_group,
    })
}

/// `MessageConst.PROPERTY_BORN_TIMESTAMP`, a 5.x property the proxy sets from the message.
const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";

fn timestamp_ms(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(timestamp.nanos) / 1_000_000)
}

/// `buildSendMessageRequestHeader` plus `LocalMessageService.sendMessage`: one SEND_MESSAGE
/// request for `queue_id`.
pub fn request_command(
    message: &PreparedMessage,
    producer_group: &str,
    queue_id: i32,
    now_ms: i64,
) -> Result<RemotingCommand, Status> {
    let mut properties = MessageProperties::new();
    for (key, value) in &message.properties {
        properties.insert(key.clone(), value.clone());
    }
    let properties = properties
        .encode()
        .map_err(|error| status(Code::MessagePropertiesTooLarge, error.to_string()))?;
    let born_timestamp = message
        .properties
        .get(BORN_TIMESTAMP)
        .and_then(|born| born.parse().ok())
        .unwrap_or(now_ms);
    let header = SendMessageRequestHeader {
        producer_group: producer_group.to_owned(),
        topic: message.topic.clone(),
        default_topic: AUTO_CREATE_TOPIC.to_owned(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: message.sys_flag,
        born_timestamp,
        flag: 0,
        properties: Some(properties),
        reconsume_times: Some(0),
        ..SendMessageRequestHeader::default()
    };
    Ok(RemotingCommand::request(RequestCode::SEND_MESSAGE)
        .with_ext_fields(header.to_ext_fields())
        .with_body(message.body.clone()))
}

/// What a successful send leaves for EndTransaction: the half message's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub queue_offset: i64,
    pub offset_message_id: String,
    pub transaction_id: Option<String>,
}

/// `LocalMessageService.sendMessage`'s status mapping and `convertToSendMessageResponse`: the
/// three partial successes keep their own codes, any other failure is INTERNAL_SERVER_ERROR with
/// the broker's remark (for the whole request, no entries).
pub fn response(answer: Option<&RemotingCommand>, message_id: &str) -> (SendMessageResponse, Option<SendOutcome>) {
    let Some(answer) = answer else {
        return (failed(status(Code::InternalServerError, "send status is empty")), None);
    };
    let partial = |code: Code, name: &str| {
        let failure = status(code, format!("send message failed, sendStatus={name}"));
        let entry = SendResultEntry {
            status: Some(failure.clone()),
            ..SendResultEntry::default()
        };
        (
            SendMessageResponse {
                status: Some(status(code, code.as_str_name())),
                entries: vec![entry],
            },
            None,
        )
    };
    match answer.response_code() {
        ResponseCode::SUCCESS => {}
        ResponseCode::FLUSH_DISK_TIMEOUT => return partial(Code::MasterPersistenceTimeout, "FLUSH_DISK_TIMEOUT"),
        ResponseCode::FLUSH_SLAVE_TIMEOUT => return partial(Code::SlavePersistenceTimeout, "FLUSH_SLAVE_TIMEOUT"),
        ResponseCode::SLAVE_NOT_AVAILABLE => return partial(Code::HaNotAvailable, "SLAVE_NOT_AVAILABLE"),
        _ => {
            let remark = answer.remark.clone().unwrap_or_default();
            return (failed(proxy_exception(Code::InternalServerError, &remark)), None);
        }
    }
    let header = SendMessageResponseHeader::from_command(answer).unwrap_or_default();
    let outcome = SendOutcome {
        queue_offset: header.queue_offset,
        offset_message_id: header.msg_id.clone(),
        transaction_id: header.transaction_id.clone(),
    };
    let entry = SendResultEntry {
        status: Some(ok()),
        message_id: message_id.to_owned(),
        transaction_id: header.transaction_id.clone().unwrap_or_default(),
        offset: header.queue_offset,
        recall_handle: header.recall_handle.clone().unwrap_or_default(),
    };
    (
        SendMessageResponse {
            status: Some(ok()),
            entries: vec![entry],
        },
        Some(outcome),
    )
}

/// A whole request refused before or without entries.
pub fn failed(status: Status) -> SendMessageResponse {
    SendMessageResponse {
        status: Some(status),
        entries: Vec::new(),
    }
}

/// Java's `String.hashCode` over UTF-16 code units.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16()
        .fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// Guava's `Hashing.consistentHash(long, int)` (Lamping and Veach's jump hash with Guava's
/// linear congruential generator): the FIFO queue of a message group.
pub fn consistent_hash(input: i64, buckets: i32) -> i32 {
    if buckets <= 0 {
        return 0;
    }
    let mut state = input;
    let mut candidate: i32 = 0;
    loop {
        state = state.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // Java: `(int) (state >>> 33) + 1` in int arithmetic, then `/ 0x1.0p31`.
        let draw = (((state as u64) >> 33) as i32).wrapping_add(1);
        let next_double = f64::from(draw) / 2_147_483_648.0;
        // Java's double-to-int cast saturates, as Rust's `as` does.
        let next = (f64::from(candidate.wrapping_add(1)) / next_double) as i32;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests;
