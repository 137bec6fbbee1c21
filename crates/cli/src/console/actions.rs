//! The console's admin actions, each the request `mqadmin` (or a producer) sends for it: a topic
//! deleted from the broker and then from the name servers (mqadmin `deleteTopic`'s order), a
//! group's offsets reset to a time on the broker (`resetOffsetByTime`, which the broker does
//! itself as `useServerSideResetOffset` defaults to true), a stored message sent to one live
//! consumer (CONSUME_MESSAGE_DIRECTLY, mqadmin `consumeMessage`), and a test message sent as a
//! producer sends it.
//!
//! The pure parts (form checks, the request headers) are functions of their inputs so the tests
//! below can look at them without a broker.

use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::{RemotingCommand, RequestCode};

use super::data::{Sources, request_with};

/// Body bytes of a test message typed into the page (a form, not a load tool).
pub const TEST_BODY_BYTES_MAX: usize = 64 * 1024;
/// The producer group a test message is sent as (Java's tools use `TOOLS_PRODUCER`-style names).
const CONSOLE_PRODUCER_GROUP: &str = "FERROCKET_CONSOLE_PRODUCER";
/// The address a message sent from the console is born at (it has no socket of its own).
const CONSOLE_PEER: &str = "127.0.0.1:0";

/// A test message as the page's form gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestMessage {
    pub topic: String,
    pub tag: String,
    pub key: String,
    pub body: String,
}

/// What a send answered: the ids and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub msg_id: String,
    pub queue_id: String,
    pub queue_offset: String,
}

/// SEND_MESSAGE (10) with the long header names, as a Java producer without the V2 header sends.
pub fn send_request(message: &TestMessage, born_ms: u64) -> Result<RemotingCommand, String> {
    if message.topic.trim().is_empty() {
        return Err("a topic is needed".to_owned());
    }
    if message.body.len() > TEST_BODY_BYTES_MAX {
        return Err(format!("the body is over {TEST_BODY_BYTES_MAX} bytes"));
    }
    let mut properties = MessageProperties::new();
    if !message.tag.is_empty() {
        properties.insert("TAGS", message.tag.as_str());
    }
    if !message.key.is_empty() {
        properties.insert("KEYS", message.key.as_str());
    }
    properties.insert("WAIT", "true");
    let properties = properties.encode().map_err(|error| error.to_string())?;
    let born = born_ms.to_string();
    let request = request_with(
        RequestCode::SEND_MESSAGE,
        &[
            ("producerGroup", CONSOLE_PRODUCER_GROUP),
            ("topic", message.topic.trim()),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            // Below zero: the broker picks a writable queue.
            ("queueId", "-1"),
            ("sysFlag", "0"),
            ("bornTimestamp", &born),
            ("flag", "0"),
            ("properties", &properties),
            ("reconsumeTimes", "0"),
            ("unitMode", "false"),
            ("batch", "false"),
        ],
    );
    Ok(request.with_body(message.body.clone().into_bytes()))
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222) for every queue of `topic`, forced (back or forward).
pub fn reset_request(group: &str, topic: &str, timestamp_ms: i64) -> Result<RemotingCommand, String> {
    if group.trim().is_empty() || topic.trim().is_empty() {
        return Err("a group and a topic are needed".to_owned());
    }
    if timestamp_ms < 0 {
        return Err("the time must be after 1970".to_owned());
    }
    Ok(request_with(
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        &[
            ("group", group.trim()),
            ("topic", topic.trim()),
            ("timestamp", &timestamp_ms.to_string()),
            ("isForce", "true"),
            ("queueId", "-1"),
        ],
    ))
}

/// CONSUME_MESSAGE_DIRECTLY (309) for the client `client_id` of `group`.
pub fn resend_request(group: &str, client_id: &str, msg_id: &str, topic: &str) -> Result<RemotingCommand, String> {
    if group.trim().is_empty() || client_id.trim().is_empty() || msg_id.trim().is_empty() {
        return Err("a group, a client id and a message id are needed".to_owned());
    }
    Ok(request_with(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        &[
            ("consumerGroup", group.trim()),
            ("clientId", client_id.trim()),
            ("msgId", msg_id.trim()),
            ("topic", topic.trim()),
        ],
    ))
}

impl Sources {
    /// Deletes `topic` from this broker, then from every name server (a failure there is
    /// reported; the broker's copy is already gone, as with mqadmin).
    pub async fn delete_topic(&self, topic: &str) -> Result<(), String> {
        let topic = topic.trim();
        if topic.is_empty() {
            return Err("a topic is needed".to_owned());
        }
        self.broker_call(request_with(RequestCode::DELETE_TOPIC_IN_BROKER, &[("topic", topic)]))
            .await?;
        for addr in &self.namesrv_addrs {
            self.namesrv_call(
                addr,
                request_with(RequestCode::DELETE_TOPIC_IN_NAMESRV, &[("topic", topic)]),
            )
            .await?;
        }
        Ok(())
    }

    /// Resets `group`'s offsets of `topic` to the first message stored at or after `timestamp_ms`;
    /// answers the broker's table of queue offsets as text.
    pub async fn reset_offset(&self, group: &str, topic: &str, timestamp_ms: i64) -> Result<String, String> {
        let response = self.broker_call(reset_request(group, topic, timestamp_ms)?).await?;
        Ok(String::from_utf8_lossy(response.body.as_deref().unwrap_or(b"")).into_owned())
    }

    /// Hands the stored message `msg_id` to the live consumer `client_id`; answers the client's
    /// `ConsumeMessageDirectlyResult` (JSON) as it sent it.
    pub async fn resend(&self, group: &str, client_id: &str, msg_id: &str, topic: &str) -> Result<String, String> {
        let response = self
            .broker_call(resend_request(group, client_id, msg_id, topic)?)
            .await?;
        Ok(String::from_utf8_lossy(response.body.as_deref().unwrap_or(b"")).into_owned())
    }

    pub async fn send_test_message(&self, message: &TestMessage, born_ms: u64) -> Result<Sent, String> {
        let response = self
            .broker_call_as(CONSOLE_PEER, send_request(message, born_ms)?)
            .await?;
        let field = |key: &str| {
            response
                .ext_fields
                .as_ref()
                .and_then(|ext| ext.get(key))
                .unwrap_or("")
                .to_owned()
        };
        Ok(Sent {
            msg_id: field("msgId"),
            queue_id: field("queueId"),
            queue_offset: field("queueOffset"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(request: &RemotingCommand, key: &str) -> Option<String> {
        request
            .ext_fields
            .as_ref()
            .and_then(|ext| ext.get(key))
            .map(str::to_owned)
    }

    #[test]
    fn a_test_message_carries_its_tag_and_key_as_properties() {
        let message = TestMessage {
            topic: " T ".into(),
            tag: "TagA".into(),
            key: "k1".into(),
            body: "hi".into(),
        };
        let request = send_request(&message, 7).unwrap();
        assert_eq!(request.code, RequestCode::SEND_MESSAGE.0);
        assert_eq!(field(&request, "topic").as_deref(), Some("T"));
        assert_eq!(field(&request, "bornTimestamp").as_deref(), Some("7"));
        let properties = field(&request, "properties").unwrap();
        assert!(properties.contains("TAGS\u{1}TagA") && properties.contains("KEYS\u{1}k1"));
        assert_eq!(request.body.as_deref(), Some(&b"hi"[..]));
        let too_big = TestMessage {
            body: "x".repeat(TEST_BODY_BYTES_MAX + 1),
            ..message.clone()
        };
        assert!(send_request(&too_big, 7).is_err());
        let no_topic = TestMessage {
            topic: " ".into(),
            ..message
        };
        assert!(send_request(&no_topic, 7).is_err());
    }

    #[test]
    fn a_reset_is_forced_over_every_queue() {
        let request = reset_request("G", "T", 1_700_000_000_000).unwrap();
        assert_eq!(request.code, RequestCode::INVOKE_BROKER_TO_RESET_OFFSET.0);
        assert_eq!(field(&request, "timestamp").as_deref(), Some("1700000000000"));
        assert_eq!(field(&request, "isForce").as_deref(), Some("true"));
        assert_eq!(field(&request, "queueId").as_deref(), Some("-1"));
        assert!(reset_request("", "T", 0).is_err());
        assert!(reset_request("G", "T", -5).is_err());
    }

    #[test]
    fn a_resend_names_the_client_and_the_message() {
        let request = resend_request("G", "10.0.0.1@x", "ABC", "T").unwrap();
        assert_eq!(request.code, RequestCode::CONSUME_MESSAGE_DIRECTLY.0);
        assert_eq!(field(&request, "clientId").as_deref(), Some("10.0.0.1@x"));
        assert_eq!(field(&request, "msgId").as_deref(), Some("ABC"));
        assert!(resend_request("G", " ", "ABC", "T").is_err());
    }
}
