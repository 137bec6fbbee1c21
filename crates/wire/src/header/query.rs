//! Query headers (remoting.md §4.6.12, §4.6.13): looking messages up by offset or key, and
//! asking which groups consume a topic or which topics a group consumes.

use crate::header::{RpcFields, TopicRpcFields};

custom_header! {
    /// VIEW_MESSAGE_BY_ID (33): the commit-log offset decoded from an offset message id.
    pub struct ViewMessageRequestHeader {
        "topic" => topic: Option<String>,
        "offset" => offset: i64,
    }
}

custom_header! {
    /// QUERY_MESSAGE (12), plus the `_UNIQUE_KEY_QUERY` key the Java client always adds outside
    /// the header class: "true" searches the UNIQ_KEY index, "false" the KEYS index.
    pub struct QueryMessageRequestHeader {
        "topic" => topic: String,
        "key" => key: String,
        "maxNum" => max_num: i32,
        "beginTimestamp" => begin_timestamp: i64,
        "endTimestamp" => end_timestamp: i64,
        "_UNIQUE_KEY_QUERY" => unique_key_query: Option<bool>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// QUERY_MESSAGE response; the body is the matching stored records.
    pub struct QueryMessageResponseHeader {
        "indexLastUpdateTimestamp" => index_last_update_timestamp: i64,
        "indexLastUpdatePhyoffset" => index_last_update_phyoffset: i64,
    }
}

custom_header! {
    /// QUERY_CONSUME_TIME_SPAN (303).
    pub struct QueryConsumeTimeSpanRequestHeader {
        "topic" => topic: String,
        "group" => group: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub struct QueryTopicConsumeByWhoRequestHeader {
        "topic" => topic: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// QUERY_TOPICS_BY_CONSUMER (343).
    pub struct QueryTopicsByConsumerRequestHeader {
        "group" => group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// QUERY_SUBSCRIPTION_BY_CONSUMER (345).
    pub struct QuerySubscriptionByConsumerRequestHeader {
        "group" => group: String,
        "topic" => topic: Option<String>,
    }
    base rpc: TopicRpcFields;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(required_keys::<ViewMessageRequestHeader>(&[]), ["offset"]);
        assert_eq!(
            required_keys::<QueryMessageRequestHeader>(&[]),
            ["topic", "key", "maxNum", "beginTimestamp", "endTimestamp"]
        );
        assert_eq!(
            required_keys::<QueryMessageResponseHeader>(&[]),
            ["indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"]
        );
        assert_eq!(required_keys::<QueryTopicConsumeByWhoRequestHeader>(&[]), ["topic"]);
        assert_eq!(
            required_keys::<QueryConsumeTimeSpanRequestHeader>(&[]),
            ["topic", "group"]
        );
        assert_eq!(required_keys::<QueryTopicsByConsumerRequestHeader>(&[]), ["group"]);
        assert_eq!(
            required_keys::<QuerySubscriptionByConsumerRequestHeader>(&[]),
            ["group"]
        );
    }

    #[test]
    fn message_lookup_headers() {
        let view: ViewMessageRequestHeader = check_header(&[("topic", "T"), ("offset", "4096")]);
        assert_eq!(view.offset, 4096);
        let query: QueryMessageRequestHeader = check_header(&[
            ("topic", "TopicTest"),
            ("key", "order-1"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
            ("_UNIQUE_KEY_QUERY", "false"),
            ("bname", "broker-a"),
        ]);
        assert_eq!((query.max_num, query.end_timestamp), (32, i64::MAX));
        assert_eq!(query.unique_key_query, Some(false));
        check_header::<QueryMessageResponseHeader>(&[
            ("indexLastUpdateTimestamp", "1700000000000"),
            ("indexLastUpdatePhyoffset", "8192"),
        ]);
    }

    #[test]
    fn consumption_lookup_headers() {
        check_header::<QueryTopicConsumeByWhoRequestHeader>(&[("topic", "T")]);
        check_header::<QueryTopicsByConsumerRequestHeader>(&[("group", "cg"), ("nsd", "false")]);
        let subscription: QuerySubscriptionByConsumerRequestHeader = check_header(&[("group", "cg"), ("topic", "T")]);
        assert_eq!(subscription.topic.as_deref(), Some("T"));
    }
}
