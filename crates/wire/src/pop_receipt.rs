//! The POP receipt (`extraInfo`, the message property `POP_CK`) and the offset strings of a
//! POP_MESSAGE response, as Java's `ExtraInfoUtil` writes and reads them.
//!
//! A receipt is eight fields joined by one space (`MessageConst.KEY_SEPARATOR`):
//!
//! ```text
//! ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId msgQueueOffset
//! 5             1700000000001 60000   3         0     broker-a   1       6
//! ```
//!
//! `ckQueueOffset` is the first offset the checkpoint covers; `retry` says which topic the
//! message was popped from: `0` the topic itself, `1` the pop retry topic `%RETRY%group_topic`,
//! `2` the V2 retry topic `%RETRY%group+topic`. A `reviveQid` of 999 marks an orderly pop.
//! The response's `startOffsetInfo` is `retry queueId startOffset` and `msgOffsetInfo` is
//! `retry queueId offset,offset,...`, one entry per queue read, joined by `;`. The client
//! builds each message's receipt from them.

use std::fmt;

use crate::error::{WireError, WireResult};

/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`: the revive queue id that marks an orderly pop.
pub const ORDER_REVIVE_QUEUE: i32 = 999;
/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// Which topic a popped message came from, as the receipt's fifth field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMark {
    /// `0`: the topic itself.
    Normal,
    /// `1`: `%RETRY%group_topic`.
    RetryV1,
    /// `2`: `%RETRY%group+topic`.
    RetryV2,
}

impl RetryMark {
    /// Java's private `ExtraInfoUtil.getRetry(topic)`.
    pub fn of_topic(topic: &str) -> RetryMark {
        match topic.strip_prefix(RETRY_PREFIX) {
            Some(rest) if rest.contains('+') => RetryMark::RetryV2,
            Some(_) => RetryMark::RetryV1,
            None => RetryMark::Normal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RetryMark::Normal => "0",
            RetryMark::RetryV1 => "1",
            RetryMark::RetryV2 => "2",
        }
    }

    pub fn parse(text: &str) -> WireResult<RetryMark> {
        match text {
            "0" => Ok(RetryMark::Normal),
            "1" => Ok(RetryMark::RetryV1),
            "2" => Ok(RetryMark::RetryV2),
            other => Err(bad(other)),
        }
    }

    /// Java's `getRealTopic(topic, group, retry)`: the topic the message is stored in.
    pub fn real_topic(self, topic: &str, group: &str) -> String {
        match self {
            RetryMark::Normal => topic.to_owned(),
            RetryMark::RetryV1 => pop_retry_topic(topic, group, false),
            RetryMark::RetryV2 => pop_retry_topic(topic, group, true),
        }
    }
}

/// `KeyBuilder.buildPopRetryTopic`: `%RETRY%group_topic`, or `%RETRY%group+topic` with
/// `enableRetryTopicV2`.
pub fn pop_retry_topic(topic: &str, group: &str, v2: bool) -> String {
    let separator = if v2 { '+' } else { '_' };
    format!("{RETRY_PREFIX}{group}{separator}{topic}")
}

/// A parsed receipt. The eighth field is optional, as in Java's seven-field form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopReceipt {
    pub ck_queue_offset: i64,
    pub pop_time_ms: i64,
    pub invisible_time_ms: i64,
    pub revive_qid: i32,
    pub retry: RetryMark,
    pub broker_name: String,
    pub queue_id: i32,
    pub msg_queue_offset: Option<i64>,
}

impl PopReceipt {
    /// Reads a receipt; fewer than seven fields, or a field that is not a number where Java
    /// parses one, is an error (Java throws and the request fails).
    pub fn parse(text: &str) -> WireResult<PopReceipt> {
        let fields: Vec<&str> = text.split(' ').collect();
        let field = |index: usize| fields.get(index).copied().ok_or_else(|| bad(text));
        let receipt = PopReceipt {
            ck_queue_offset: number(field(0)?)?,
            pop_time_ms: number(field(1)?)?,
            invisible_time_ms: number(field(2)?)?,
            revive_qid: number(field(3)?)?,
            retry: RetryMark::parse(field(4)?)?,
            broker_name: field(5)?.to_owned(),
            queue_id: number(field(6)?)?,
            msg_queue_offset: fields.get(7).map(|f| number(f)).transpose()?,
        };
        Ok(receipt)
    }

    /// Whether the pop was orderly (`ExtraInfoUtil.isOrder`).
    pub fn is_order(&self) -> bool {
        self.revive_qid == ORDER_REVIVE_QUEUE
    }
}

impl fmt::Display for PopReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time_ms,
            self.invisible_time_ms,
            self.revive_qid,
            self.retry.as_str(),
            self.broker_name,
            self.queue_id
        )?;
        match self.msg_queue_offset {
            Some(offset) => write!(f, " {offset}"),
            None => Ok(()),
        }
    }
}

/// The `startOffsetInfo` and `msgOffsetInfo` of one POP_MESSAGE response, built one queue at
/// a time in the order the queues were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueOffsets {
    pub start_offset_info: String,
    pub msg_offset_info: String,
    /// Orderly pops: `retry qo<queueId>%<offset> count` for each message popped before, then
    /// `retry queueId leastCount` (`buildQueueOffsetOrderCountInfo`, `buildQueueIdOrderCountInfo`).
    pub order_count_info: String,
}

impl QueueOffsets {
    /// Adds one queue read: its topic (normal or retry), queue, the checkpoint's start offset
    /// and the offsets of the messages taken.
    pub fn add(&mut self, topic: &str, queue_id: i32, start_offset: i64, msg_offsets: &[i64]) {
        let retry = RetryMark::of_topic(topic).as_str();
        if !self.start_offset_info.is_empty() {
            self.start_offset_info.push(';');
        }
        self.start_offset_info
            .push_str(&format!("{retry} {queue_id} {start_offset}"));
        if !self.msg_offset_info.is_empty() {
            self.msg_offset_info.push(';');
        }
        let offsets: Vec<String> = msg_offsets.iter().map(i64::to_string).collect();
        self.msg_offset_info
            .push_str(&format!("{retry} {queue_id} {}", offsets.join(",")));
    }
}

/// The receipt Java's client gives a popped message (`MQClientAPIImpl.processPopResponse`): its
/// own `POP_CK` when the broker set one (retry-topic messages), else one built from the
/// response's `popTime`, `invisibleTime`, `reviveQid` and the `startOffsetInfo` entry of the
/// message's topic and queue. `None` when the response names no start for that queue.
pub fn receipt_of(
    message: (&str, i32, i64),
    pop_ck: Option<&str>,
    header: &crate::header::PopMessageResponseHeader,
    broker_name: &str,
) -> Option<String> {
    if let Some(pop_ck) = pop_ck {
        return Some(pop_ck.to_owned());
    }
    let (topic, queue_id, queue_offset) = message;
    let retry = RetryMark::of_topic(topic);
    let start_info = header.start_offset_info.as_deref()?;
    let start = start_info.split(';').find_map(|entry| {
        let mut fields = entry.split(' ');
        let (mark, queue, start) = (fields.next()?, fields.next()?, fields.next()?);
        (mark == retry.as_str() && queue.parse::<i32>().ok()? == queue_id).then(|| start.parse::<i64>().ok())?
    })?;
    let receipt = PopReceipt {
        ck_queue_offset: start,
        pop_time_ms: header.pop_time,
        invisible_time_ms: header.invisible_time,
        revive_qid: header.revive_qid,
        retry,
        broker_name: broker_name.to_owned(),
        queue_id,
        msg_queue_offset: Some(queue_offset),
    };
    Some(receipt.to_string())
}

impl QueueOffsets {
    /// Adds one orderly queue read's pop counts.
    pub fn add_order_counts(&mut self, topic: &str, queue_id: i32, counts: &[(i64, i32)], least: i32) {
        let retry = RetryMark::of_topic(topic).as_str();
        let entries = counts
            .iter()
            .map(|(offset, count)| format!("{retry} qo{queue_id}%{offset} {count}"))
            .chain(std::iter::once(format!("{retry} {queue_id} {least}")));
        for entry in entries {
            if !self.order_count_info.is_empty() {
                self.order_count_info.push(';');
            }
            self.order_count_info.push_str(&entry);
        }
    }
}

fn number<T: std::str::FromStr>(text: &str) -> WireResult<T> {
    text.parse().map_err(|_| bad(text))
}

fn bad(value: &str) -> WireError {
    WireError::BadField {
        field: "extraInfo",
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAVA_RECEIPT: &str = "5 1700000000001 60000 3 1 broker-a 0 6";

    #[test]
    fn receipts_round_trip_and_name_the_real_topic() {
        let receipt = PopReceipt::parse(JAVA_RECEIPT).unwrap();
        assert_eq!(
            (receipt.ck_queue_offset, receipt.revive_qid, receipt.msg_queue_offset),
            (5, 3, Some(6))
        );
        assert_eq!(receipt.to_string(), JAVA_RECEIPT);
        assert_eq!(receipt.retry.real_topic("T", "cg"), "%RETRY%cg_T");
        assert_eq!(RetryMark::RetryV2.real_topic("T", "cg"), "%RETRY%cg+T");
        assert!(!receipt.is_order());
        let seven = PopReceipt::parse("5 1 2 999 0 b 1").unwrap();
        assert_eq!((seven.msg_queue_offset, seven.is_order()), (None, true));
        assert_eq!(seven.to_string(), "5 1 2 999 0 b 1");
    }

    #[test]
    fn retry_marks_follow_the_topic_name() {
        assert_eq!(RetryMark::of_topic("T"), RetryMark::Normal);
        assert_eq!(RetryMark::of_topic("%RETRY%cg_T"), RetryMark::RetryV1);
        assert_eq!(RetryMark::of_topic("%RETRY%cg+T"), RetryMark::RetryV2);
        assert_eq!(pop_retry_topic("T", "cg", false), "%RETRY%cg_T");
    }

    #[test]
    fn cut_or_garbled_receipts_are_errors() {
        for cut in 0..JAVA_RECEIPT.len() {
            let prefix = JAVA_RECEIPT.get(..cut).unwrap_or_default();
            // A cut inside the last field still parses (as a shorter offset); the field count
            // is what must hold.
            if prefix.split(' ').count() >= 7 && !prefix.ends_with(' ') {
                continue;
            }
            assert!(PopReceipt::parse(prefix).is_err(), "{prefix:?}");
        }
        assert!(PopReceipt::parse("x 1 2 3 0 b 1 6").is_err());
        assert!(PopReceipt::parse("5 1 2 3 7 b 1 6").is_err());
        assert!(PopReceipt::parse("5 1 2 3 0 b 1 six").is_err());
    }

    #[test]
    fn receipts_are_built_as_javas_client_builds_them() {
        let header = crate::header::PopMessageResponseHeader {
            pop_time: 1_700_000_000_001,
            invisible_time: 60_000,
            revive_qid: 3,
            rest_num: 0,
            start_offset_info: Some("1 0 4;0 1 5".into()),
            msg_offset_info: Some("1 0 4;0 1 5,6".into()),
            order_count_info: None,
        };
        assert_eq!(
            receipt_of(("T", 1, 6), None, &header, "broker-a").as_deref(),
            Some("5 1700000000001 60000 3 0 broker-a 1 6")
        );
        assert_eq!(
            receipt_of(("T", 2, 6), None, &header, "broker-a"),
            None,
            "no start for queue 2"
        );
        assert_eq!(
            receipt_of(("T", 0, 4), Some("4 1 2 3 1 b 0 4"), &header, "broker-a").as_deref(),
            Some("4 1 2 3 1 b 0 4"),
            "the broker's own POP_CK wins"
        );
    }

    #[test]
    fn offset_infos_are_javas() {
        let mut infos = QueueOffsets::default();
        infos.add("%RETRY%cg_T", 0, 4, &[4]);
        infos.add("T", 1, 5, &[5, 6]);
        assert_eq!(infos.start_offset_info, "1 0 4;0 1 5");
        assert_eq!(infos.msg_offset_info, "1 0 4;0 1 5,6");
        infos.add_order_counts("T", 1, &[(5, 2)], 0);
        assert_eq!(infos.order_count_info, "0 qo1%5 2;0 1 0");
    }
}
