//! Recalling a timer message before its time (5.3.2+ RECALL_MESSAGE): the handle a timer send
//! returns (`RecallMessageHandle.HandleV1`), and the delete mark a recall parks beside the timer.
//!
//! A handle is Java's URL-safe Base64 (with padding) of `v1 <real topic> <broker name>
//! <TIMER_OUT_MS + 1> <UNIQ_KEY>`. A recall parks a delete mark for the same topic and time, with
//! `TIMER_DEL_UNIQKEY` = `<real topic>+<UNIQ_KEY>`, in the same slot as the timer; when the slot
//! comes, the mark cancels the timer of that key (the wheel takes marks first, at the slot's
//! start) and neither is delivered.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use bytes::Bytes;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage, sysflag};
use ferrocket_wire::system_topics::RETRY_GROUP_TOPIC_PREFIX;
use std::net::SocketAddr;

const VERSION_1: &str = "v1";
/// Java's `RECALL_MESSAGE_TAG`.
const RECALL_TAG: &str = "_RECALL_TAG_";

/// Java's URL decoder takes a handle with or without its padding.
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    pub topic: String,
    pub broker_name: String,
    /// `TIMER_OUT_MS + 1`, as text (Java parses it leniently: not a number is -1).
    pub timestamp: String,
    pub message_id: String,
}

/// `RecallMessageHandle.decodeHandle`: `Err` with Java's remark, "recall handle is invalid".
pub fn decode(handle: &str) -> Result<RecallHandle, &'static str> {
    const INVALID: &str = "recall handle is invalid";
    if handle.is_empty() {
        return Err(INVALID);
    }
    let bytes = DECODER.decode(handle.as_bytes()).map_err(|_| INVALID)?;
    let text = String::from_utf8_lossy(&bytes);
    let items: Vec<&str> = text.split(' ').collect();
    match items.as_slice() {
        [VERSION_1, topic, broker_name, timestamp, message_id, ..] => Ok(RecallHandle {
            topic: (*topic).to_owned(),
            broker_name: (*broker_name).to_owned(),
            timestamp: (*timestamp).to_owned(),
            message_id: (*message_id).to_owned(),
        }),
        _ => Err(INVALID),
    }
}

/// `SendMessageProcessor.attachRecallHandle`: the handle of a message just parked as a timer
/// (not of a retry), or `None`. A message without `UNIQ_KEY` gets Java's "null" for its id.
pub fn handle_of(parked: &StoredMessage, broker_name: &str) -> Option<String> {
    let properties = &parked.properties;
    let slot_ms: i64 = properties.get(keys::TIMER_OUT_MS)?.parse().ok()?;
    let real_topic = properties.get(keys::REAL_TOPIC)?;
    if real_topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        return None;
    }
    let message_id = properties.get(keys::UNIQ_KEY).unwrap_or("null");
    let text = [
        VERSION_1,
        real_topic,
        broker_name,
        &(slot_ms + 1).to_string(),
        message_id,
    ]
    .join(" ");
    Some(general_purpose::URL_SAFE.encode(text))
}

/// `TimerMessageStore.buildDeleteKey`: what a delete mark names and a timer is known by.
pub fn delete_key(real_topic: &str, unique_key: &str) -> String {
    format!("{real_topic}+{unique_key}")
}

/// The key a parked timer would be cancelled by, if it has a `UNIQ_KEY`.
pub fn key_of(parked: &StoredMessage) -> Option<String> {
    let properties = &parked.properties;
    Some(delete_key(
        properties.get(keys::REAL_TOPIC)?,
        properties.get(keys::UNIQ_KEY)?,
    ))
}

/// Java's `RecallMessageProcessor.buildMessage`: the delete mark to put (it then goes through
/// the timer put hook like any send, which parks it in the timer's slot).
pub fn delete_mark(
    handle: &RecallHandle,
    producer_group: Option<&str>,
    born_host: SocketAddr,
    store_host: SocketAddr,
    now_ms: i64,
) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert(keys::TAGS, RECALL_TAG);
    properties.insert(keys::TIMER_DEL_UNIQKEY, delete_key(&handle.topic, &handle.message_id));
    properties.insert(keys::UNIQ_KEY, handle.message_id.clone());
    properties.insert(keys::TIMER_DELIVER_MS, handle.timestamp.clone());
    properties.insert("BORN_TIMESTAMP", now_ms.to_string());
    if let Some(group) = producer_group {
        properties.insert(keys::PGROUP, group);
    }
    StoredMessage {
        version: MessageVersion::for_topic_bytes(handle.topic.len()),
        body_crc: 0,
        queue_id: 0,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: sysflag::with_host_flags(0, &born_host, &store_host),
        born_timestamp_ms: now_ms,
        born_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"0"),
        topic: handle.topic.clone(),
        properties,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_javas_url_base64_and_decode_back() {
        let mut parked = StoredMessage {
            topic: "rmq_sys_wheel_timer".into(),
            ..delete_mark(
                &RecallHandle {
                    topic: "T".into(),
                    broker_name: "b".into(),
                    timestamp: "1".into(),
                    message_id: "m".into(),
                },
                None,
                "10.0.0.1:1".parse().unwrap(),
                "10.0.0.2:2".parse().unwrap(),
                0,
            )
        };
        parked.properties = [
            ("TIMER_OUT_MS", "1700000005000"),
            ("REAL_TOPIC", "TopicTest"),
            ("UNIQ_KEY", "7F0000010001"),
        ]
        .into_iter()
        .collect();
        let handle = handle_of(&parked, "broker-a").unwrap();
        // base64url("v1 TopicTest broker-a 1700000005001 7F0000010001"), padded, as Java's.
        assert_eq!(
            handle,
            "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDUwMDEgN0YwMDAwMDEwMDAx"
        );
        let decoded = decode(&handle).unwrap();
        assert_eq!(
            decoded,
            RecallHandle {
                topic: "TopicTest".into(),
                broker_name: "broker-a".into(),
                timestamp: "1700000005001".into(),
                message_id: "7F0000010001".into(),
            }
        );
        assert_eq!(decode(handle.trim_end_matches('=')), Ok(decoded));
        for bad in ["", "%%%", "djIgYSBiIGMgZA==", "djEgYSBi"] {
            assert_eq!(decode(bad), Err("recall handle is invalid"), "{bad}");
        }
        parked.properties.insert("REAL_TOPIC", "%RETRY%g");
        assert_eq!(handle_of(&parked, "broker-a"), None);
    }

    #[test]
    fn a_delete_mark_names_the_timer_it_cancels() {
        let handle = RecallHandle {
            topic: "T".into(),
            broker_name: "b".into(),
            timestamp: "1700000005001".into(),
            message_id: "U1".into(),
        };
        let mark = delete_mark(
            &handle,
            Some("pg"),
            "10.0.0.1:1".parse().unwrap(),
            "10.0.0.2:2".parse().unwrap(),
            9,
        );
        assert_eq!(mark.properties.get(keys::TIMER_DEL_UNIQKEY), Some("T+U1"));
        assert_eq!(mark.properties.get(keys::TIMER_DELIVER_MS), Some("1700000005001"));
        assert_eq!(mark.properties.get(keys::PGROUP), Some("pg"));
        assert_eq!((&mark.body[..], mark.topic.as_str()), (&b"0"[..], "T"));
        let mut timer = mark.clone();
        timer.properties = [("REAL_TOPIC", "T"), ("UNIQ_KEY", "U1")].into_iter().collect();
        assert_eq!(key_of(&timer).as_deref(), Some("T+U1"));
    }
}
