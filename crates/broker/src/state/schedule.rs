//! Delayed delivery by level: Java's `ScheduleMessageService` and `HookUtils.transformDelayLevelMessage`
//! (store-and-ha.md §10.1–10.2), the 18-level scheme 4.x and 5.x clients use.
//!
//! A message put with a positive `DELAY` level (not a prepared or rolled-back transaction) is
//! parked in [`SCHEDULE_TOPIC`] queue `level - 1` with `REAL_TOPIC`/`REAL_QID` naming where it
//! belongs; its consume-queue tags code is its delivery time (the store computes it). One task
//! walks every level's queue from its delay offset (`delayOffset.json`) every 100 ms on a
//! master, puts each due message back into its real topic and queue, and stops at the first
//! one not yet due. Invariant: a level's delay offset only passes an entry once the entry was
//! delivered (or could never be), so a restart resumes where delivery stopped.
//!
//! One Java quirk kept on purpose: `messageTimeUp` serialises the properties before it clears
//! `DELAY`, so the delivered record still carries `DELAY`, `REAL_TOPIC` and `REAL_QID`. Only
//! the handlers call [`park_delayed`]; the delivery put bypasses it, so the kept `DELAY` never
//! parks a message twice.

use std::cell::Cell;
use std::collections::BTreeMap;

use ferrocket_store::{GetMessages, MessageStore, QueueId, QueueOffset};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use ferrocket_wire::system_topics::{SCHEDULE_TOPIC, TRANS_HALF_TOPIC};

/// Java's `FIRST_DELAY_TIME`: the first walk, after start-up settled.
pub const FIRST_WALK_AFTER_MS: u64 = 1_000;
/// Java's `DELAY_FOR_A_WHILE`: how often a level's queue is looked at again.
pub const WALK_INTERVAL_MS: u64 = 100;
/// Deliveries of one level per walk, so one crowded level cannot starve the others for long.
pub const DELIVERIES_PER_WALK_MAX: usize = 1_000;

/// Parks every delayed message of a put in the schedule topic ([`park_if_delayed`]).
pub fn park_delayed(mut messages: Vec<StoredMessage>, delay_levels_ms: &[i64]) -> Vec<StoredMessage> {
    for message in &mut messages {
        park_if_delayed(message, delay_levels_ms);
    }
    messages
}

/// Java's put-time rewrite: a message whose `DELAY` level is positive, of transaction type
/// NOT or COMMIT, has its level capped at the highest, `REAL_TOPIC`/`REAL_QID` set to where it
/// was going, and goes to [`SCHEDULE_TOPIC`] queue `level - 1`. Returns whether it was parked.
/// An unparsable level counts as none (Java fails the put with a `NumberFormatException`).
pub fn park_if_delayed(message: &mut StoredMessage, delay_levels_ms: &[i64]) -> bool {
    let highest = i32::try_from(delay_levels_ms.len()).unwrap_or(i32::MAX);
    let Some(level) = message
        .properties
        .get(keys::DELAY)
        .and_then(|level| level.parse::<i32>().ok())
    else {
        return false;
    };
    if level <= 0 || !message.transaction_type().takes_queue_offset() {
        return false;
    }
    if level > highest {
        message.properties.insert(keys::DELAY, highest.to_string());
    }
    let level = level.min(highest);
    if level <= 0 {
        return false;
    }
    message.properties.insert(keys::REAL_TOPIC, message.topic.clone());
    message.properties.insert(keys::REAL_QID, message.queue_id.to_string());
    message.topic = SCHEDULE_TOPIC.to_owned();
    message.queue_id = level - 1;
    message.version = MessageVersion::for_topic_bytes(SCHEDULE_TOPIC.len());
    true
}

/// Java's due decision (`correctDeliverTimestamp` then `countdown <= 0`): due when its time
/// has come, or when that time lies further ahead than the level's whole delay (the clock went
/// back, or the level got shorter), which Java treats as "now".
pub fn is_due(deliver_at_ms: i64, now_ms: i64, level_delay_ms: i64) -> bool {
    deliver_at_ms <= now_ms || deliver_at_ms > now_ms.saturating_add(level_delay_ms)
}

/// Java's `messageTimeUp`: the parked message back in its real topic and queue, with body,
/// flag, sysFlag, born and store hosts, reconsume times and the properties string unchanged.
/// `None` when it names no real topic or queue, or the transaction half topic: Java drops it.
pub fn delivered_message(parked: &StoredMessage) -> Option<StoredMessage> {
    let topic = parked.properties.get(keys::REAL_TOPIC)?.to_owned();
    let queue_id = parked.properties.get(keys::REAL_QID)?.parse::<i32>().ok()?;
    if topic == TRANS_HALF_TOPIC {
        return None;
    }
    Some(StoredMessage {
        version: MessageVersion::for_topic_bytes(topic.len()),
        queue_id,
        queue_offset: 0,
        physical_offset: 0,
        store_timestamp_ms: 0,
        prepared_transaction_offset: 0,
        topic,
        ..parked.clone()
    })
}

/// Java's `buildRunningStats` for GET_BROKER_RUNTIME_INFO: `scheduleMessageOffset_<level>` =
/// `"<delay offset>,<max offset of the level's schedule queue>"` for every recorded level.
pub fn running_stats(
    delay_offsets: &BTreeMap<i32, i64>,
    max_offset: impl Fn(QueueId) -> QueueOffset,
) -> Vec<(String, String)> {
    delay_offsets
        .iter()
        .map(|(level, offset)| {
            let queue_max = max_offset(QueueId(level.saturating_sub(1)));
            (
                format!("scheduleMessageOffset_{level}"),
                format!("{offset},{queue_max}"),
            )
        })
        .collect()
}

/// The entry at a level's delay offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueHead {
    /// Nothing to deliver at `offset` (the queue's end, or no readable entry).
    Idle { offset: QueueOffset },
    /// The entry at `offset` is not due yet.
    Waiting { offset: QueueOffset },
    /// The entry at `offset` is due; `None` when its record is gone or unreadable.
    Due {
        offset: QueueOffset,
        message: Option<Box<StoredMessage>>,
    },
}

/// Looks at schedule queue `queue_id` at `offset`, first moved into the queue's [min, max] as
/// Java's task resets an offset outside it. The record is read only when `due` says so.
pub fn queue_head(
    store: &MessageStore,
    queue_id: QueueId,
    offset: QueueOffset,
    due: impl Fn(i64) -> bool,
) -> QueueHead {
    let min = store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id);
    let max = store.max_offset_in_queue(SCHEDULE_TOPIC, queue_id);
    let offset = offset.clamp(min, max.max(min));
    if offset >= max {
        return QueueHead::Idle { offset };
    }
    // The filter sees each examined entry's tags code; only the first (at `offset`) may match.
    let head_tags_code = Cell::new(None);
    let filter = |tags_code: i64| {
        if head_tags_code.get().is_some() {
            return false;
        }
        head_tags_code.set(Some(tags_code));
        due(tags_code)
    };
    let query = GetMessages {
        topic: SCHEDULE_TOPIC,
        queue_id,
        offset,
        max_count: 1,
        filter: Some(&filter),
        record_filter: None,
    };
    let found = store.get_messages(&query);
    match head_tags_code.get() {
        None => QueueHead::Idle { offset },
        Some(tags_code) if !due(tags_code) => QueueHead::Waiting { offset },
        Some(_) => QueueHead::Due {
            offset,
            message: found
                .ok()
                .and_then(|result| result.records.into_iter().next())
                .and_then(|record| StoredMessage::decode(&record).ok())
                .map(|(message, _)| Box::new(message)),
        },
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrocket_store::DELAY_LEVELS_MS_DEFAULT;
    use ferrocket_wire::message::{MessageProperties, TransactionType, sysflag};

    use super::*;
    use crate::config::{DELAY_LEVELS_MAX, delay_levels_text, parse_delay_levels};

    const JAVA_DEFAULT: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

    fn message(topic: &str, queue_id: i32, properties: &[(&str, &str)]) -> StoredMessage {
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id,
            flag: 7,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp_ms: 1_700_000_000_000,
            born_host: "10.0.0.9:53412".parse().unwrap(),
            store_timestamp_ms: 0,
            store_host: "192.168.1.10:10911".parse().unwrap(),
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"body"),
            topic: topic.into(),
            properties: properties.iter().copied().collect::<MessageProperties>(),
        }
    }

    #[test]
    fn javas_default_levels_parse_to_the_stores_table_and_show_back() {
        let levels = parse_delay_levels(JAVA_DEFAULT).unwrap();
        assert_eq!(levels, DELAY_LEVELS_MS_DEFAULT.to_vec());
        assert_eq!(delay_levels_text(&levels), JAVA_DEFAULT);
        assert_eq!(
            parse_delay_levels("1s 1s 2d 0s").unwrap(),
            vec![1_000, 1_000, 172_800_000, 0]
        );
        assert_eq!(delay_levels_text(&[0, 90_000, 1_000]), "0s 90s 1s");
    }

    #[test]
    fn level_texts_java_cannot_read_are_refused() {
        let too_many = vec!["1s"; DELAY_LEVELS_MAX + 1].join(" ");
        for bad in [
            "",
            "1s  5s",
            "1x",
            "s",
            "-1s",
            "1.5s",
            "1ms",
            " 1s",
            "99999999999d",
            too_many.as_str(),
        ] {
            assert!(parse_delay_levels(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_delay_levels(&vec!["1s"; DELAY_LEVELS_MAX].join(" "))
                .unwrap()
                .len(),
            DELAY_LEVELS_MAX
        );
    }

    #[test]
    fn a_delayed_message_is_parked_at_its_capped_level() {
        let levels = [1_000, 2_000, 3_000];
        let mut parked = message("TopicTest", 5, &[("TAGS", "TagA"), ("DELAY", "2")]);
        assert!(park_if_delayed(&mut parked, &levels));
        assert_eq!((parked.topic.as_str(), parked.queue_id), (SCHEDULE_TOPIC, 1));
        assert_eq!(parked.properties.get(keys::REAL_TOPIC), Some("TopicTest"));
        assert_eq!(parked.properties.get(keys::REAL_QID), Some("5"));
        assert_eq!(parked.properties.get(keys::DELAY), Some("2"));

        let mut capped = message("TopicTest", 0, &[("DELAY", "9")]);
        assert!(park_if_delayed(&mut capped, &levels));
        assert_eq!((capped.queue_id, capped.properties.get(keys::DELAY)), (2, Some("3")));

        for level in ["0", "-1", "soon"] {
            let mut kept = message("TopicTest", 0, &[("DELAY", level)]);
            assert!(!park_if_delayed(&mut kept, &levels));
            assert_eq!(kept, message("TopicTest", 0, &[("DELAY", level)]));
        }
        let mut prepared = message("TopicTest", 0, &[("DELAY", "1")]);
        prepared.sys_flag = sysflag::with_transaction_type(0, TransactionType::Prepared);
        assert!(!park_if_delayed(&mut prepared, &levels));
        let mut committed = message("TopicTest", 0, &[("DELAY", "1")]);
        committed.sys_flag = sysflag::with_transaction_type(0, TransactionType::Commit);
        assert!(park_if_delayed(&mut committed, &levels));
        let mut no_levels = message("TopicTest", 0, &[("DELAY", "1")]);
        assert!(!park_if_delayed(&mut no_levels, &[]));
    }

    #[test]
    fn due_when_the_time_has_come_or_lies_impossibly_far_ahead() {
        assert!(is_due(1_000, 1_000, 5_000));
        assert!(is_due(999, 1_000, 5_000));
        assert!(!is_due(1_001, 1_000, 5_000));
        assert!(!is_due(6_000, 1_000, 5_000));
        // Further ahead than the level's delay: the clock went back; Java delivers now.
        assert!(is_due(6_001, 1_000, 5_000));
        assert!(!is_due(i64::MAX, i64::MAX - 1, 5_000));
    }

    #[test]
    fn a_due_message_goes_back_where_it_was_sent_with_its_properties_intact() {
        let mut parked = message("%RETRY%cg", 0, &[("TAGS", "TagA"), ("DELAY", "3"), ("KEYS", "k1")]);
        assert!(park_if_delayed(&mut parked, &DELAY_LEVELS_MS_DEFAULT));
        parked.queue_offset = 4;
        parked.physical_offset = 1_234;
        parked.store_timestamp_ms = 1_700_000_000_100;
        let delivered = delivered_message(&parked).unwrap();
        assert_eq!((delivered.topic.as_str(), delivered.queue_id), ("%RETRY%cg", 0));
        assert_eq!(delivered.version, MessageVersion::V1);
        assert_eq!(
            (
                delivered.queue_offset,
                delivered.physical_offset,
                delivered.store_timestamp_ms
            ),
            (0, 0, 0)
        );
        assert_eq!(
            (
                &delivered.body,
                delivered.flag,
                delivered.reconsume_times,
                delivered.born_host,
                delivered.store_host
            ),
            (&parked.body, 7, 2, parked.born_host, parked.store_host)
        );
        // Java serialises the properties before clearing DELAY: all of them stay.
        assert_eq!(delivered.properties, parked.properties);

        let half = message("T", 0, &[("REAL_TOPIC", TRANS_HALF_TOPIC), ("REAL_QID", "0")]);
        assert_eq!(delivered_message(&half), None);
        assert_eq!(delivered_message(&message("T", 0, &[("REAL_TOPIC", "A")])), None);
        assert_eq!(
            delivered_message(&message("T", 0, &[("REAL_TOPIC", "A"), ("REAL_QID", "x")])),
            None
        );
    }

    #[test]
    fn running_stats_pair_each_recorded_offset_with_its_queue_end() {
        let offsets = BTreeMap::from([(1, 17), (3, 0)]);
        let stats = running_stats(&offsets, |queue_id| QueueOffset(100 + queue_id.0 as u64));
        assert_eq!(
            stats,
            [
                ("scheduleMessageOffset_1".to_owned(), "17,100".to_owned()),
                ("scheduleMessageOffset_3".to_owned(), "0,102".to_owned()),
            ]
        );
    }

    #[test]
    fn the_head_of_a_level_is_read_only_once_due() {
        let dir = tempfile::tempdir().unwrap();
        let config = ferrocket_store::MessageStoreConfig {
            message_delay_levels_ms: vec![1_000, 2_000],
            ..ferrocket_store::MessageStoreConfig::new(dir.path())
        };
        let mut store = MessageStore::open(config, 0).unwrap();
        for level in ["1", "1"] {
            let mut parked = message("TopicTest", 3, &[("DELAY", level)]);
            park_if_delayed(&mut parked, &[1_000, 2_000]);
            store.put(parked, 10_000).unwrap();
        }
        assert_eq!(
            queue_head(&store, QueueId(0), QueueOffset(0), |at| at <= 10_999),
            QueueHead::Waiting { offset: QueueOffset(0) }
        );
        let QueueHead::Due {
            offset: QueueOffset(0),
            message: Some(head),
        } = queue_head(&store, QueueId(0), QueueOffset(0), |at| at <= 11_000)
        else {
            panic!("the first entry is due at 11 000");
        };
        assert_eq!((head.topic.as_str(), head.queue_offset), (SCHEDULE_TOPIC, 0));
        assert!(matches!(
            queue_head(&store, QueueId(0), QueueOffset(1), |_| true),
            QueueHead::Due {
                offset: QueueOffset(1),
                message: Some(_)
            }
        ));
        assert_eq!(
            queue_head(&store, QueueId(0), QueueOffset(2), |_| true),
            QueueHead::Idle { offset: QueueOffset(2) }
        );
        // An offset past the end is moved back to it; an unused level is idle at 0.
        assert_eq!(
            queue_head(&store, QueueId(0), QueueOffset(99), |_| true),
            QueueHead::Idle { offset: QueueOffset(2) }
        );
        assert_eq!(
            queue_head(&store, QueueId(1), QueueOffset(5), |_| true),
            QueueHead::Idle { offset: QueueOffset(0) }
        );
    }
}
