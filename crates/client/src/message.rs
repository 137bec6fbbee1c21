//! The messages a user sends and receives.
//!
//! [`Message`] is what a producer sends: a topic, a body and properties (tags, keys, delay,
//! user properties), stored in Java's property names so a Java consumer reads them unchanged.
//! [`ReceivedMessage`] is a pulled record with its body decompressed, and [`SendResult`] what
//! the broker answered to a send.

use bytes::Bytes;
use ferrocket_wire::message::properties::keys as names;
use ferrocket_wire::message::{MessageProperties, StoredMessage, compression, sysflag};

use crate::error::{ClientError, ClientResult};

/// Retry topics are `%RETRY%` + group.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Java producers refuse bodies over 4 MiB (`DefaultMQProducer.maxMessageSize`).
pub const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The highest delay level of a default broker (`messageDelayLevel` has 18 levels, 1s .. 2h).
pub const DELAY_LEVEL_MAX: i32 = 18;

/// A message to send.
///
/// ```
/// use ferrocket_client::Message;
///
/// let message = Message::new("OrderTopic", "order 42 paid")
///     .with_tags("paid")
///     .with_keys(["order-42"])
///     .with_property("region", "eu");
/// assert_eq!(message.tags(), Some("paid"));
/// assert_eq!(message.keys(), vec!["order-42"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    topic: String,
    body: Bytes,
    flag: i32,
    properties: MessageProperties,
}

impl Message {
    /// A message for `topic`; like Java's, it asks the broker to wait for the store (`WAIT=true`).
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Message {
        let mut properties = MessageProperties::new();
        properties.insert(names::WAIT, "true");
        Message {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties,
        }
    }

    /// Sets the tag consumers filter on.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Message {
        let tags: String = tags.into();
        self.properties.insert(names::TAGS, tags);
        self
    }

    /// Sets the keys the broker indexes (lookup by key); Java joins them with a space.
    pub fn with_keys<I, S>(mut self, keys: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys.into_iter().map(|key| key.as_ref().to_owned()).collect();
        self.properties.insert(names::KEYS, joined.join(names::KEY_SEPARATOR));
        self
    }

    /// Sets a user property. Java refuses its reserved names here (`MessageConst.STRING_HASH_SET`);
    /// so do we, by leaving the message unchanged: use the typed setters for those.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Message {
        let name = name.into();
        if !names::is_reserved(&name) {
            let value: String = value.into();
            self.properties.insert(name, value);
        }
        self
    }

    /// Delivers the message after delay level `level` (1 = 1 s ... 18 = 2 h on a default broker).
    pub fn with_delay_level(mut self, level: i32) -> Message {
        self.properties.insert(names::DELAY, level.to_string());
        self
    }

    /// Delivers the message at wall-clock time `deliver_at_ms` (5.x timer messages).
    pub fn with_deliver_time_ms(mut self, deliver_at_ms: i64) -> Message {
        self.properties
            .insert(names::TIMER_DELIVER_MS, deliver_at_ms.to_string());
        self
    }

    /// Sets Java's `Message.flag`, stored as is.
    pub fn with_flag(mut self, flag: i32) -> Message {
        self.flag = flag;
        self
    }

    /// The topic it is sent to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The body as given (compression happens at send time).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Java's `Message.flag`.
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// The tag, if any (`TAGS`).
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(names::TAGS)
    }

    /// The keys, split as Java splits them.
    pub fn keys(&self) -> Vec<&str> {
        self.properties
            .get(names::KEYS)
            .map(|keys| keys.split(names::KEY_SEPARATOR).filter(|key| !key.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Any property by its Java name, user or system.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    pub(crate) fn properties(&self) -> &MessageProperties {
        &self.properties
    }

    pub(crate) fn properties_mut(&mut self) -> &mut MessageProperties {
        &mut self.properties
    }

    /// Java's `Validators.checkMessage` and `checkTopic`, plus the delay level's range.
    pub(crate) fn validate(&self) -> ClientResult<()> {
        check_topic(&self.topic)?;
        if self.body.is_empty() {
            return Err(invalid("body", "empty".to_owned()));
        }
        if self.body.len() > BODY_BYTES_MAX {
            return Err(invalid(
                "body",
                format!("{} bytes, over {BODY_BYTES_MAX}", self.body.len()),
            ));
        }
        if let Some(level) = self.properties.get(names::DELAY) {
            match level.parse::<i32>() {
                Ok(1..=DELAY_LEVEL_MAX) => {}
                _ => return Err(invalid("delay level", level.to_owned())),
            }
        }
        Ok(())
    }
}

/// Java's topic rules: 1..=127 characters of `[%|a-zA-Z0-9_-]`.
pub(crate) fn check_topic(topic: &str) -> ClientResult<()> {
    const TOPIC_CHARS_MAX: usize = 127;
    if topic.is_empty() || topic.len() > TOPIC_CHARS_MAX {
        return Err(invalid(
            "topic",
            format!("{topic:?} must have 1 to {TOPIC_CHARS_MAX} characters"),
        ));
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
    {
        return Err(invalid(
            "topic",
            format!("{topic:?} has characters outside [%|a-zA-Z0-9_-]"),
        ));
    }
    Ok(())
}

fn invalid(what: &'static str, reason: String) -> ClientError {
    ClientError::Invalid { what, reason }
}

/// How the broker stored a sent message (`SendStatus`).
/// A status other than `Ok` still means stored; see [`SendResult`] for an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored (and flushed / replicated as the broker is configured to).
    Ok,
    /// Stored, but the SYNC_FLUSH did not finish in time.
    FlushDiskTimeout,
    /// Stored, but the SYNC_MASTER's slave did not confirm in time.
    FlushSlaveTimeout,
    /// Stored on a SYNC_MASTER that has no slave.
    SlaveNotAvailable,
}

/// What a successful send returns.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions, SendStatus};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let producer = Producer::start(ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "demo"))?;
/// let sent = producer.send(Message::new("Orders", "body")).await?;
/// if sent.status != SendStatus::Ok {
///     eprintln!("stored, but {:?}", sent.status);
/// }
/// println!("{} in {} queue {} at {}", sent.msg_id, sent.broker_name, sent.queue_id, sent.queue_offset);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How it was stored.
    pub status: SendStatus,
    /// The client-made unique id (`UNIQ_KEY`); comma-joined for a batch.
    pub msg_id: String,
    /// The broker's offset id (store host and commit-log offset).
    pub offset_msg_id: String,
    /// The topic (for a retried message, the original topic, as Java shows it).
    pub topic: String,
    /// The broker that stored it.
    pub broker_name: String,
    /// The queue it was stored in.
    pub queue_id: i32,
    /// Its position in that queue.
    pub queue_offset: i64,
    /// The broker's transaction id of a half message (its `transactionId` answer).
    pub transaction_id: Option<String>,
}

/// A message read from a broker.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, ConsumeOutcome, PushConsumer, PushConsumerOptions, ReceivedMessage};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let options = PushConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "billing").subscribe("Orders", "*");
/// let consumer = PushConsumer::start(options, |message: ReceivedMessage| async move {
///     println!(
///         "{} tags {:?} keys {:?}: {} bytes, queue {} offset {}",
///         message.msg_id(),
///         message.tags(),
///         message.keys(),
///         message.body.len(),
///         message.queue_id,
///         message.queue_offset
///     );
///     ConsumeOutcome::Success
/// })
/// .await?;
/// # consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The topic (for a retried message, the original topic, as Java shows it).
    pub topic: String,
    /// The broker that stored it.
    pub broker_name: String,
    /// The queue it was stored in.
    pub queue_id: i32,
    /// Its position in that queue.
    pub queue_offset: i64,
    /// Decompressed if the producer compressed it.
    pub body: Bytes,
    /// Java's `Message.flag`, as sent.
    pub flag: i32,
    /// Every property, in Java's names.
    pub properties: MessageProperties,
    /// When the producer sent it (producer's clock).
    pub born_timestamp_ms: i64,
    /// When the broker stored it (broker's clock).
    pub store_timestamp_ms: i64,
    /// How many times the group consumed it before (retry messages).
    pub reconsume_times: i32,
    /// Commit-log offset, for CONSUMER_SEND_MSG_BACK.
    pub commit_log_offset: i64,
    /// The broker's offset id (store host and commit-log offset).
    pub offset_msg_id: String,
    /// The producer's address as the broker saw it.
    pub born_host: std::net::SocketAddr,
    /// The broker's address as it stored the record.
    pub store_host: std::net::SocketAddr,
    /// The record's system flag (compression, transaction state, IPv6 hosts).
    pub sys_flag: i32,
}

impl ReceivedMessage {
    /// Turns a pulled record into a message: body decompressed, the retry topic's real topic
    /// restored (`RETRY_TOPIC`), as Java's consumer does.
    pub fn from_stored(stored: StoredMessage, broker_name: &str) -> ClientResult<ReceivedMessage> {
        let body = if sysflag::is_compressed(stored.sys_flag) {
            let kind = sysflag::CompressionType::from_sys_flag(stored.sys_flag)?;
            Bytes::from(compression::decompress(kind, &stored.body)?)
        } else {
            stored.body.clone()
        };
        let offset_msg_id = stored.offset_message_id();
        let topic = match stored.properties.get(names::RETRY_TOPIC) {
            Some(real) if stored.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) => real.to_owned(),
            _ => stored.topic,
        };
        Ok(ReceivedMessage {
            topic,
            broker_name: broker_name.to_owned(),
            queue_id: stored.queue_id,
            queue_offset: stored.queue_offset,
            body,
            flag: stored.flag,
            properties: stored.properties,
            born_timestamp_ms: stored.born_timestamp_ms,
            store_timestamp_ms: stored.store_timestamp_ms,
            reconsume_times: stored.reconsume_times,
            commit_log_offset: stored.physical_offset,
            offset_msg_id,
            born_host: stored.born_host,
            store_host: stored.store_host,
            sys_flag: stored.sys_flag,
        })
    }

    /// The client-made id, or the offset id for messages sent without one.
    pub fn msg_id(&self) -> &str {
        self.properties.get(names::UNIQ_KEY).unwrap_or(&self.offset_msg_id)
    }

    /// The tag, if any (`TAGS`).
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(names::TAGS)
    }

    /// The keys (`KEYS`, split on spaces).
    pub fn keys(&self) -> Vec<&str> {
        self.properties
            .get(names::KEYS)
            .map(|keys| keys.split(names::KEY_SEPARATOR).filter(|key| !key.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Any property by its Java name, user or system.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_writes_javas_property_names() {
        let message = Message::new("T", "b")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_level(3)
            .with_property("p", "v");
        assert_eq!(message.property("KEYS"), Some("k1 k2"));
        assert_eq!(message.property("DELAY"), Some("3"));
        assert_eq!(message.property("WAIT"), Some("true"));
        assert_eq!(message.keys(), ["k1", "k2"]);
        assert!(message.validate().is_ok());
    }

    #[test]
    fn validation_refuses_what_java_refuses() {
        assert!(Message::new("", "b").validate().is_err());
        assert!(Message::new("a b", "b").validate().is_err());
        assert!(Message::new("T", "").validate().is_err());
        assert!(Message::new("T", vec![0u8; BODY_BYTES_MAX + 1]).validate().is_err());
        assert!(Message::new("T", "b").with_delay_level(19).validate().is_err());
        assert!(Message::new("%RETRY%g|x-_1", "b").validate().is_ok());
    }
}
