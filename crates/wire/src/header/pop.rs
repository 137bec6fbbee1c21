//! POP consumption headers (Java 5.x): POP_MESSAGE (200050), ACK_MESSAGE (200051),
//! PEEK_MESSAGE (200052), CHANGE_MESSAGE_INVISIBLETIME (200053) and NOTIFICATION (200054),
//! requests and responses.
//!
//! The request headers extend Java's `TopicQueueRequestHeader`, so they embed
//! [`TopicRpcFields`]. The receipt a consumer sends back (`extraInfo`) is parsed by
//! [`crate::pop_receipt`].

use crate::header::TopicRpcFields;

custom_header! {
    /// POP_MESSAGE: `PopMessageRequestHeader`.
    pub struct PopMessageRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        /// A queue, or -1 for every readable queue of the topic.
        "queueId" => queue_id: i32,
        "maxMsgNums" => max_msg_nums: i32,
        /// How long the popped messages stay invisible before they are revived, ms.
        "invisibleTime" => invisible_time: i64,
        /// How long the broker may hold the request (long polling), ms.
        "pollTime" => poll_time: i64,
        /// When the client sent the request, ms since the epoch.
        "bornTime" => born_time: i64,
        /// `ConsumeInitMode`: 0 LAST (from the queue's end), 1 MIN (from its start).
        "initMode" => init_mode: i32,
        /// `TAG` or `SQL92`.
        "expType" => exp_type: Option<String>,
        "exp" => exp: Option<String>,
        /// Pop-orderly: one consumer at a time per queue, no retry topic.
        "order" => order: bool = false,
        "attemptId" => attempt_id: Option<String>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// POP_MESSAGE response: `PopMessageResponseHeader`.
    pub struct PopMessageResponseHeader {
        "popTime" => pop_time: i64,
        "invisibleTime" => invisible_time: i64,
        /// The revive queue the checkpoint went to (999 for orderly pops).
        "reviveQid" => revive_qid: i32,
        /// Messages left behind the popped ones, over every queue read.
        "restNum" => rest_num: i64,
        /// `retry queueId startOffset;...` ([`crate::pop_receipt::QueueOffsets`]).
        "startOffsetInfo" => start_offset_info: Option<String>,
        /// `retry queueId offset,offset;...`.
        "msgOffsetInfo" => msg_offset_info: Option<String>,
        "orderCountInfo" => order_count_info: Option<String>,
    }
}

custom_header! {
    /// PEEK_MESSAGE: `PeekMessageRequestHeader` (answered with a [`PopMessageResponseHeader`]).
    pub struct PeekMessageRequestHeader {
        "topic" => topic: String,
        /// A queue, or -1 for every readable queue of the topic.
        "queueId" => queue_id: i32,
        "maxMsgNums" => max_msg_nums: i32,
        "consumerGroup" => consumer_group: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// ACK_MESSAGE: `AckMessageRequestHeader`.
    pub struct AckMessageRequestHeader {
        "consumerGroup" => consumer_group: String,
        /// The real topic: the pop retry topic for a message popped from it.
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        /// The receipt (`PROPERTY_POP_CK`).
        "extraInfo" => extra_info: String,
        /// The message's queue offset.
        "offset" => offset: i64,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME: `ChangeInvisibleTimeRequestHeader`.
    pub struct ChangeInvisibleTimeRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        "extraInfo" => extra_info: String,
        "offset" => offset: i64,
        /// The new invisible time, from now, ms.
        "invisibleTime" => invisible_time: i64,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME response: `ChangeInvisibleTimeResponseHeader`.
    pub struct ChangeInvisibleTimeResponseHeader {
        "popTime" => pop_time: i64,
        "invisibleTime" => invisible_time: i64,
        "reviveQid" => revive_qid: i32,
    }
}

custom_header! {
    /// NOTIFICATION: `NotificationRequestHeader`.
    pub struct NotificationRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        "pollTime" => poll_time: i64,
        "bornTime" => born_time: i64,
        "order" => order: bool = false,
        "attemptId" => attempt_id: Option<String>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// POLLING_INFO: `PollingInfoRequestHeader`.
    pub struct PollingInfoRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        /// A queue, or -1: pops of every queue wait under -1.
        "queueId" => queue_id: i32,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// POLLING_INFO response: `PollingInfoResponseHeader`.
    pub struct PollingInfoResponseHeader {
        /// Pops and notifications waiting for this topic, group and queue.
        "pollingNum" => polling_num: i32,
    }
}

custom_header! {
    /// NOTIFICATION response: `NotificationResponseHeader`.
    pub struct NotificationResponseHeader {
        "hasMsg" => has_msg: bool,
        "pollingFull" => polling_full: bool = false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<PopMessageRequestHeader>(&[]),
            [
                "consumerGroup",
                "topic",
                "queueId",
                "maxMsgNums",
                "invisibleTime",
                "pollTime",
                "bornTime",
                "initMode"
            ]
        );
        assert_eq!(
            required_keys::<PopMessageResponseHeader>(&[]),
            ["popTime", "invisibleTime", "reviveQid", "restNum"]
        );
        assert_eq!(
            required_keys::<AckMessageRequestHeader>(&[]),
            ["consumerGroup", "topic", "queueId", "extraInfo", "offset"]
        );
        assert_eq!(
            required_keys::<ChangeInvisibleTimeRequestHeader>(&[]),
            [
                "consumerGroup",
                "topic",
                "queueId",
                "extraInfo",
                "offset",
                "invisibleTime"
            ]
        );
        assert_eq!(
            required_keys::<ChangeInvisibleTimeResponseHeader>(&[]),
            ["popTime", "invisibleTime", "reviveQid"]
        );
        assert_eq!(
            required_keys::<NotificationRequestHeader>(&[]),
            ["consumerGroup", "topic", "queueId", "pollTime", "bornTime"]
        );
        assert_eq!(required_keys::<NotificationResponseHeader>(&[]), ["hasMsg"]);
        assert_eq!(
            required_keys::<PeekMessageRequestHeader>(&[]),
            ["topic", "queueId", "maxMsgNums", "consumerGroup"]
        );
        assert_eq!(
            required_keys::<PollingInfoRequestHeader>(&[]),
            ["consumerGroup", "topic", "queueId"]
        );
        assert_eq!(required_keys::<PollingInfoResponseHeader>(&[]), ["pollingNum"]);
    }

    #[test]
    fn pop_request_and_response_round_trip() {
        let pop: PopMessageRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "-1"),
            ("maxMsgNums", "32"),
            ("invisibleTime", "60000"),
            ("pollTime", "20000"),
            ("bornTime", "1700000000000"),
            ("initMode", "0"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("order", "false"),
            ("attemptId", "a-1"),
            ("bname", "broker-a"),
        ]);
        assert_eq!((pop.queue_id, pop.invisible_time, pop.order), (-1, 60_000, false));
        let response: PopMessageResponseHeader = check_header(&[
            ("popTime", "1700000000001"),
            ("invisibleTime", "60000"),
            ("reviveQid", "3"),
            ("restNum", "7"),
            ("startOffsetInfo", "0 1 5"),
            ("msgOffsetInfo", "0 1 5,6"),
        ]);
        assert_eq!(response.msg_offset_info.as_deref(), Some("0 1 5,6"));
    }

    #[test]
    fn ack_change_and_notification_round_trip() {
        let ack: AckMessageRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "1"),
            ("extraInfo", "5 1700000000001 60000 3 0 broker-a 1 6"),
            ("offset", "6"),
            ("lo", "true"),
        ]);
        assert_eq!(ack.offset, 6);
        let change: ChangeInvisibleTimeRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "1"),
            ("extraInfo", "5 1700000000001 60000 3 0 broker-a 1 6"),
            ("offset", "6"),
            ("invisibleTime", "10000"),
        ]);
        assert_eq!(change.invisible_time, 10_000);
        let answer: ChangeInvisibleTimeResponseHeader =
            check_header(&[("popTime", "1"), ("invisibleTime", "2"), ("reviveQid", "3")]);
        assert_eq!(answer.revive_qid, 3);
        let notification: NotificationRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "-1"),
            ("pollTime", "3000"),
            ("bornTime", "1700000000000"),
            ("order", "true"),
        ]);
        assert!(notification.order);
        let peek: PeekMessageRequestHeader = check_header(&[
            ("topic", "T"),
            ("queueId", "-1"),
            ("maxMsgNums", "16"),
            ("consumerGroup", "cg"),
        ]);
        assert_eq!(peek.max_msg_nums, 16);
        let has: NotificationResponseHeader = check_header(&[("hasMsg", "true"), ("pollingFull", "false")]);
        assert!(has.has_msg);
    }
}
