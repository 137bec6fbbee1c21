//! Consumer data-path headers (remoting.md §4.3.1, §4.3.5, §4.3.7): PULL_MESSAGE (11) and
//! LITE_PULL_MESSAGE (361), CONSUMER_SEND_MSG_BACK (36), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42).

use crate::header::{RpcFields, TopicRpcFields};

custom_header! {
    /// PULL_MESSAGE and LITE_PULL_MESSAGE: `PullMessageRequestHeader`.
    pub struct PullMessageRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        /// First logical offset wanted.
        "queueOffset" => queue_offset: i64,
        "maxMsgNums" => max_msg_nums: i32,
        /// `PullSysFlag` bits: 0x1 commit offset, 0x2 suspend, 0x4 subscription, 0x8 class
        /// filter, 0x10 lite pull.
        "sysFlag" => sys_flag: i32,
        /// The offset to commit for the group when bit 0x1 is set.
        "commitOffset" => commit_offset: i64,
        /// How long the broker may hold the request (long polling).
        "suspendTimeoutMillis" => suspend_timeout_millis: i64,
        /// The subscription expression, used when bit 0x4 is set.
        "subscription" => subscription: Option<String>,
        "subVersion" => sub_version: i64,
        /// `TAG` or `SQL92`.
        "expressionType" => expression_type: Option<String>,
        "maxMsgBytes" => max_msg_bytes: Option<i32>,
        /// Proxy only: -1 SDK, 0 proxy-order, 1 proxy-broadcast, 2 proxy-stream.
        "requestSource" => request_source: Option<i32>,
        /// Proxy only; Java's spelling.
        "proxyFrowardClientId" => proxy_forward_client_id: Option<String>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// PULL_MESSAGE response: `PullMessageResponseHeader`.
    pub struct PullMessageResponseHeader {
        /// Where to pull next: 0 = master.
        "suggestWhichBrokerId" => suggest_which_broker_id: i64,
        "nextBeginOffset" => next_begin_offset: i64,
        "minOffset" => min_offset: i64,
        /// Exclusive: the offset of the next message to be written.
        "maxOffset" => max_offset: i64,
        /// Static-topic offset shift, added by the client to each message's queue offset.
        "offsetDelta" => offset_delta: Option<i64>,
        "topicSysFlag" => topic_sys_flag: Option<i32>,
        "groupSysFlag" => group_sys_flag: Option<i32>,
        /// With NO_PERMISSION: 1 broker, 2 group, 3 topic, 4 broadcasting, 5 subscription.
        "forbiddenType" => forbidden_type: Option<i32>,
    }
}

custom_header! {
    /// CONSUMER_SEND_MSG_BACK: `ConsumerSendMsgBackRequestHeader`.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log physical offset of the failed message.
        "offset" => offset: i64,
        "group" => group: String,
        /// 0 = broker decides, above 0 explicit level, below 0 straight to the DLQ.
        "delayLevel" => delay_level: i32,
        "originMsgId" => origin_msg_id: Option<String>,
        "originTopic" => origin_topic: Option<String>,
        "unitMode" => unit_mode: bool = false,
        "maxReconsumeTimes" => max_reconsume_times: Option<i32>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// LOCK_BATCH_MQ: no fields of its own; the request is in the body.
    pub struct LockBatchMqRequestHeader {}
    base rpc: RpcFields;
}

custom_header! {
    /// UNLOCK_BATCH_MQ: no fields of its own; the request is in the body.
    pub struct UnlockBatchMqRequestHeader {}
    base rpc: RpcFields;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<PullMessageRequestHeader>(&[]),
            [
                "consumerGroup",
                "topic",
                "queueId",
                "queueOffset",
                "maxMsgNums",
                "sysFlag",
                "commitOffset",
                "suspendTimeoutMillis",
                "subVersion"
            ]
        );
        assert_eq!(
            required_keys::<PullMessageResponseHeader>(&[]),
            ["suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"]
        );
        assert_eq!(
            required_keys::<ConsumerSendMsgBackRequestHeader>(&[]),
            ["offset", "group", "delayLevel"]
        );
        assert!(required_keys::<LockBatchMqRequestHeader>(&[]).is_empty());
        assert!(required_keys::<UnlockBatchMqRequestHeader>(&[]).is_empty());
    }

    #[test]
    fn pull_request_round_trips() {
        let pull: PullMessageRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "TopicTest"),
            ("queueId", "1"),
            ("queueOffset", "100"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "98"),
            ("suspendTimeoutMillis", "15000"),
            ("subscription", "TagA || TagB"),
            ("subVersion", "1700000000000"),
            ("expressionType", "TAG"),
            ("maxMsgBytes", "2147483647"),
            ("requestSource", "-1"),
            ("proxyFrowardClientId", "client"),
            ("ns", "n"),
            ("nsd", "false"),
            ("bname", "broker-a"),
            ("oway", "false"),
            ("lo", "true"),
        ]);
        assert_eq!(
            (pull.queue_offset, pull.sys_flag, pull.max_msg_bytes),
            (100, 3, Some(i32::MAX))
        );
        assert_eq!(pull.proxy_forward_client_id.as_deref(), Some("client"));
    }

    #[test]
    fn pull_response_round_trips() {
        let response: PullMessageResponseHeader = check_header(&[
            ("suggestWhichBrokerId", "0"),
            ("nextBeginOffset", "132"),
            ("minOffset", "0"),
            ("maxOffset", "200"),
            ("offsetDelta", "-5"),
            ("topicSysFlag", "0"),
            ("groupSysFlag", "0"),
            ("forbiddenType", "1"),
        ]);
        assert_eq!((response.next_begin_offset, response.offset_delta), (132, Some(-5)));
        check_header::<PullMessageResponseHeader>(&[
            ("suggestWhichBrokerId", "1"),
            ("nextBeginOffset", "0"),
            ("minOffset", "0"),
            ("maxOffset", "0"),
        ]);
    }

    #[test]
    fn send_back_round_trips() {
        let back: ConsumerSendMsgBackRequestHeader = check_header(&[
            ("offset", "4096"),
            ("group", "cg"),
            ("delayLevel", "0"),
            ("originMsgId", "AC11000100012A9F0000000000000001"),
            ("originTopic", "TopicTest"),
            ("unitMode", "false"),
            ("maxReconsumeTimes", "16"),
            ("bname", "broker-a"),
        ]);
        assert_eq!((back.offset, back.max_reconsume_times), (4096, Some(16)));
    }

    #[test]
    fn lock_headers_are_empty_but_carry_rpc_fields() {
        assert_eq!(
            check_header::<LockBatchMqRequestHeader>(&[]),
            LockBatchMqRequestHeader::default()
        );
        let unlock: UnlockBatchMqRequestHeader = check_header(&[("oway", "true")]);
        assert_eq!(unlock.rpc.oneway, Some(true));
    }
}
