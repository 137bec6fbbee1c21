//! Offset headers (remoting.md §4.3.2, §4.3.3, §4.3.6): consumer offsets and queue offset
//! look-ups. Every request here extends `TopicQueueRequestHeader` in Java.

use crate::header::{BoundaryType, TopicRpcFields};

custom_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        /// Only an explicit "false" stops the broker from answering 0 for a young queue.
        "setZeroIfNotFound" => set_zero_if_not_found: Option<bool>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// QUERY_CONSUMER_OFFSET response.
    pub struct QueryConsumerOffsetResponseHeader {
        "offset" => offset: i64,
    }
}

custom_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        /// The next offset to consume.
        "commitOffset" => commit_offset: i64,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_MAX_OFFSET (30).
    pub struct GetMaxOffsetRequestHeader {
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        /// Java's field starts `true` and is always sent.
        "committed" => committed: bool = true,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_MAX_OFFSET response: the logical max offset, exclusive.
    pub struct GetMaxOffsetResponseHeader {
        "offset" => offset: i64,
    }
}

custom_header! {
    /// GET_MIN_OFFSET (31).
    pub struct GetMinOffsetRequestHeader {
        "topic" => topic: String,
        "queueId" => queue_id: i32,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_MIN_OFFSET response.
    pub struct GetMinOffsetResponseHeader {
        "offset" => offset: i64,
    }
}

custom_header! {
    /// GET_EARLIEST_MSG_STORETIME (32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        "topic" => topic: String,
        "queueId" => queue_id: i32,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_EARLIEST_MSG_STORETIME response: store time of the earliest message, ms.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        "timestamp" => timestamp: i64,
    }
}

custom_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        "topic" => topic: String,
        "queueId" => queue_id: i32,
        "timestamp" => timestamp: i64,
        /// Absent means LOWER.
        "boundaryType" => boundary_type: Option<BoundaryType>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP response.
    pub struct SearchOffsetResponseHeader {
        "offset" => offset: i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CustomHeader;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<QueryConsumerOffsetRequestHeader>(&[]),
            ["consumerGroup", "topic", "queueId"]
        );
        assert_eq!(required_keys::<QueryConsumerOffsetResponseHeader>(&[]), ["offset"]);
        assert_eq!(
            required_keys::<UpdateConsumerOffsetRequestHeader>(&[]),
            ["consumerGroup", "topic", "queueId", "commitOffset"]
        );
        assert_eq!(required_keys::<GetMaxOffsetRequestHeader>(&[]), ["topic", "queueId"]);
        assert_eq!(required_keys::<GetMaxOffsetResponseHeader>(&[]), ["offset"]);
        assert_eq!(required_keys::<GetMinOffsetRequestHeader>(&[]), ["topic", "queueId"]);
        assert_eq!(required_keys::<GetMinOffsetResponseHeader>(&[]), ["offset"]);
        assert_eq!(
            required_keys::<GetEarliestMsgStoretimeRequestHeader>(&[]),
            ["topic", "queueId"]
        );
        assert_eq!(
            required_keys::<GetEarliestMsgStoretimeResponseHeader>(&[]),
            ["timestamp"]
        );
        assert_eq!(
            required_keys::<SearchOffsetRequestHeader>(&[]),
            ["topic", "queueId", "timestamp"]
        );
        assert_eq!(required_keys::<SearchOffsetResponseHeader>(&[]), ["offset"]);
    }

    #[test]
    fn consumer_offset_headers() {
        let query: QueryConsumerOffsetRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "TopicTest"),
            ("queueId", "3"),
            ("setZeroIfNotFound", "false"),
            ("bname", "broker-a"),
            ("lo", "false"),
        ]);
        assert_eq!(query.set_zero_if_not_found, Some(false));
        let answer: QueryConsumerOffsetResponseHeader = check_header(&[("offset", "42")]);
        assert_eq!(answer.offset, 42);
        let update: UpdateConsumerOffsetRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("topic", "TopicTest"),
            ("queueId", "3"),
            ("commitOffset", "43"),
            ("oway", "true"),
        ]);
        assert_eq!(update.commit_offset, 43);
    }

    #[test]
    fn queue_offset_headers() {
        let max: GetMaxOffsetRequestHeader = check_header(&[("topic", "T"), ("queueId", "0"), ("committed", "false")]);
        assert!(!max.committed);
        // Older clients never send `committed`; Java's field then stays true.
        let old = GetMaxOffsetRequestHeader::read_from(&[("topic", "T"), ("queueId", "0")].into_iter().collect());
        assert!(old.unwrap().committed);
        check_header::<GetMaxOffsetResponseHeader>(&[("offset", "120")]);
        check_header::<GetMinOffsetRequestHeader>(&[("topic", "T"), ("queueId", "1"), ("bname", "broker-a")]);
        check_header::<GetMinOffsetResponseHeader>(&[("offset", "0")]);
        check_header::<GetEarliestMsgStoretimeRequestHeader>(&[("topic", "T"), ("queueId", "1")]);
        let earliest: GetEarliestMsgStoretimeResponseHeader = check_header(&[("timestamp", "1700000000000")]);
        assert_eq!(earliest.timestamp, 1_700_000_000_000);
    }

    #[test]
    fn search_offset_headers() {
        let search: SearchOffsetRequestHeader = check_header(&[
            ("topic", "T"),
            ("queueId", "1"),
            ("timestamp", "1700000000000"),
            ("boundaryType", "UPPER"),
        ]);
        assert_eq!(search.boundary_type, Some(BoundaryType::Upper));
        let lower: SearchOffsetRequestHeader = check_header(&[("topic", "T"), ("queueId", "1"), ("timestamp", "0")]);
        assert_eq!(lower.boundary_type, None);
        check_header::<SearchOffsetResponseHeader>(&[("offset", "7")]);
    }
}
