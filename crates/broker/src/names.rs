//! Java's rules for names and data versions, shared by the configuration and the tables:
//! `TopicValidator`'s character and length checks and `DataVersion.nextVersion()`.

use ferrocket_wire::body::DataVersion;

use crate::error::{BrokerError, BrokerResult};

/// `TopicValidator.TOPIC_MAX_LENGTH`.
pub const TOPIC_NAME_CHARS_MAX: usize = 127;

/// Java's `HookUtils.MAX_TOPIC_LENGTH`: the longest topic a broker stores messages in, in bytes
/// (a topic names a consume-queue directory, and Linux file names are at most 255 bytes). Retry
/// and dead-letter topics may pass [`TOPIC_NAME_CHARS_MAX`] up to this; name servers keep no
/// longer topic.
pub const STORED_TOPIC_BYTES_MAX: usize = 255;

/// `TopicValidator.isTopicOrGroupIllegal`: any character outside `[%|a-zA-Z0-9_-]`.
pub fn is_topic_or_group_illegal(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
}

/// `TopicValidator.validateTopic` (5.3.3): the failures both the send and the admin path answer
/// with (INVALID_PARAMETER and Java's remarks).
pub fn validate_topic(topic: &str) -> BrokerResult<()> {
    if topic.trim().is_empty() {
        return Err(BrokerError::TopicBlank);
    }
    if is_topic_or_group_illegal(topic) {
        return Err(BrokerError::TopicIllegalCharacters {
            topic: topic.to_owned(),
        });
    }
    // Only ASCII passes the check above, so bytes are characters.
    if topic.len() > TOPIC_NAME_CHARS_MAX {
        return Err(BrokerError::TopicTooLong {
            topic_chars: topic.len(),
            limit: TOPIC_NAME_CHARS_MAX,
        });
    }
    Ok(())
}

/// `DataVersion.nextVersion()`: counter + 1, timestamp now.
pub fn next_version(version: &mut DataVersion, now_ms: i64) {
    version.counter = version.counter.saturating_add(1);
    version.timestamp = now_ms;
}

/// Java has no limit, but a 5.x broker registers its whole table as one JSON body in one
/// 16 MiB frame; at about 200 bytes per topic that fits some 80 000 topics, so 50 000 leaves
/// headroom while bounding a table that senders can grow by auto-creation.
pub const TOPICS_MAX: usize = 50_000;

/// Queues per topic that UPDATE_AND_CREATE_TOPIC accepts. Each queue is a consume-queue
/// directory here and a slot in every client's route and rebalance; Java's defaults are 8 and 16,
/// and a topic of 2^31-1 queues made the official Java producer run out of heap.
pub const TOPIC_QUEUE_NUMS_MAX: i32 = 1_024;
