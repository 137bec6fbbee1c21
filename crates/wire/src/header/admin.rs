//! Broker admin headers (remoting.md §4.6): topics, subscription groups, connections, stats and
//! configuration, as sent by mqadmin and the admin API.

use crate::error::{WireError, WireResult};
use crate::header::{RpcFields, TopicRpcFields};

custom_header! {
    /// UPDATE_AND_CREATE_TOPIC (17). `topicFilterType` must be `SINGLE_TAG` or `MULTI_TAG`, as
    /// Java's `checkFields()` insists.
    pub struct CreateTopicRequestHeader {
        "topic" => topic: String,
        /// mqadmin sends `TBW102`.
        "defaultTopic" => default_topic: String,
        "readQueueNums" => read_queue_nums: i32,
        "writeQueueNums" => write_queue_nums: i32,
        "perm" => perm: i32,
        "topicFilterType" => topic_filter_type: String,
        "topicSysFlag" => topic_sys_flag: Option<i32>,
        "order" => order: bool,
        /// `+key=value,...`.
        "attributes" => attributes: Option<String>,
        /// Java's field starts `false` and is always sent.
        "force" => force: bool = false,
    }
    base rpc: TopicRpcFields;
    check check_topic_filter_type;
}

custom_header! {
    /// DELETE_TOPIC_IN_BROKER (215).
    pub struct DeleteTopicRequestHeader {
        "topic" => topic: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        "groupName" => group_name: String,
        "cleanOffset" => clean_offset: bool = false,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub struct GetConsumerConnectionListRequestHeader {
        "consumerGroup" => consumer_group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct GetProducerConnectionListRequestHeader {
        "producerGroup" => producer_group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_CONSUME_STATS (208).
    pub struct GetConsumeStatsRequestHeader {
        "consumerGroup" => consumer_group: String,
        "topic" => topic: Option<String>,
        /// 5.3.2+: `;`-separated topics, a trailing `;` allowed.
        "topicList" => topic_list: Option<String>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_BROKER_CONSUME_STATS (317): `GetConsumeStatsInBrokerHeader`.
    pub struct GetConsumeStatsInBrokerHeader {
        /// Java's key is literally `isOrder`.
        "isOrder" => order: bool,
    }
}

custom_header! {
    /// GET_TOPIC_STATS_INFO (202).
    pub struct GetTopicStatsInfoRequestHeader {
        "topic" => topic: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_BROKER_CONFIG (26) response; the body is the properties text.
    pub struct GetBrokerConfigResponseHeader {
        /// DataVersion JSON of the configuration.
        "version" => version: String,
    }
}

custom_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352).
    pub struct GetSubscriptionGroupConfigRequestHeader {
        "group" => group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_TOPIC_CONFIG (351).
    pub struct GetTopicConfigRequestHeader {
        "topic" => topic: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// CLONE_GROUP_OFFSET (314).
    pub struct CloneGroupOffsetRequestHeader {
        "srcGroup" => src_group: String,
        "destGroup" => dest_group: String,
        "topic" => topic: Option<String>,
        "offline" => offline: bool = false,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_ALL_TOPIC_CONFIG (21), paging fields added after 5.3.3. Java marks `topicSeq`
    /// required, but clients up to 5.3.3 send no header at all, so every field is optional here.
    pub struct GetAllTopicConfigRequestHeader {
        "topicSeq" => topic_seq: Option<i32>,
        /// DataVersion JSON, or empty.
        "dataVersion" => data_version: Option<String>,
        "maxTopicNum" => max_topic_num: Option<i32>,
    }
}

custom_header! {
    /// GET_ALL_TOPIC_CONFIG response for a paging client: how many topics there are in all.
    pub struct GetAllTopicConfigResponseHeader {
        "totalTopicNum" => total_topic_num: i32,
    }
}

custom_header! {
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), paging fields added after 5.3.3; optional for the
    /// same reason as [`GetAllTopicConfigRequestHeader`].
    pub struct GetAllSubscriptionGroupRequestHeader {
        "groupSeq" => group_seq: Option<i32>,
        "dataVersion" => data_version: Option<String>,
        "maxGroupNum" => max_group_num: Option<i32>,
    }
}

custom_header! {
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG response for a paging client.
    pub struct GetAllSubscriptionGroupResponseHeader {
        "totalGroupNum" => total_group_num: i32,
    }
}

/// Java's `TopicFilterType.valueOf`: exact, case-sensitive constant names.
fn check_topic_filter_type(header: &CreateTopicRequestHeader) -> WireResult<()> {
    match header.topic_filter_type.as_str() {
        "SINGLE_TAG" | "MULTI_TAG" => Ok(()),
        other => Err(WireError::BadField {
            field: "topicFilterType",
            value: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;
    use crate::header::CustomHeader;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<CreateTopicRequestHeader>(&[("topicFilterType", "SINGLE_TAG")]),
            [
                "topic",
                "defaultTopic",
                "readQueueNums",
                "writeQueueNums",
                "perm",
                "topicFilterType",
                "order"
            ]
        );
        assert_eq!(required_keys::<DeleteTopicRequestHeader>(&[]), ["topic"]);
        assert_eq!(
            required_keys::<DeleteSubscriptionGroupRequestHeader>(&[]),
            ["groupName"]
        );
        assert_eq!(
            required_keys::<GetConsumerConnectionListRequestHeader>(&[]),
            ["consumerGroup"]
        );
        assert_eq!(
            required_keys::<GetProducerConnectionListRequestHeader>(&[]),
            ["producerGroup"]
        );
        assert_eq!(required_keys::<GetConsumeStatsRequestHeader>(&[]), ["consumerGroup"]);
        assert_eq!(required_keys::<GetConsumeStatsInBrokerHeader>(&[]), ["isOrder"]);
        assert_eq!(required_keys::<GetTopicStatsInfoRequestHeader>(&[]), ["topic"]);
        assert_eq!(required_keys::<GetBrokerConfigResponseHeader>(&[]), ["version"]);
        assert_eq!(required_keys::<GetSubscriptionGroupConfigRequestHeader>(&[]), ["group"]);
        assert_eq!(required_keys::<GetTopicConfigRequestHeader>(&[]), ["topic"]);
        assert_eq!(
            required_keys::<CloneGroupOffsetRequestHeader>(&[]),
            ["srcGroup", "destGroup"]
        );
        assert!(required_keys::<GetAllTopicConfigRequestHeader>(&[]).is_empty());
        assert_eq!(required_keys::<GetAllTopicConfigResponseHeader>(&[]), ["totalTopicNum"]);
        assert!(required_keys::<GetAllSubscriptionGroupRequestHeader>(&[]).is_empty());
        assert_eq!(
            required_keys::<GetAllSubscriptionGroupResponseHeader>(&[]),
            ["totalGroupNum"]
        );
    }

    fn create_fields(filter: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("topic", "TopicTest"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
            ("topicFilterType", filter),
            ("topicSysFlag", "0"),
            ("order", "false"),
            ("attributes", "+message.type=NORMAL"),
            ("force", "false"),
            ("lo", "false"),
        ]
    }

    #[test]
    fn create_topic_round_trips_and_checks_the_filter_type() {
        for filter in ["SINGLE_TAG", "MULTI_TAG"] {
            let create: CreateTopicRequestHeader = check_header(&create_fields(filter));
            assert_eq!((create.read_queue_nums, create.perm), (8, 6));
        }
        for bad in ["single_tag", "TAG", ""] {
            let fields: ExtFields = create_fields(bad).into_iter().collect();
            assert_eq!(
                CreateTopicRequestHeader::read_from(&fields),
                Err(WireError::BadField {
                    field: "topicFilterType",
                    value: bad.into()
                })
            );
        }
    }

    #[test]
    fn topic_and_group_admin_headers() {
        check_header::<DeleteTopicRequestHeader>(&[("topic", "T")]);
        let delete: DeleteSubscriptionGroupRequestHeader =
            check_header(&[("groupName", "cg"), ("cleanOffset", "true")]);
        assert!(delete.clean_offset);
        check_header::<GetSubscriptionGroupConfigRequestHeader>(&[("group", "cg")]);
        check_header::<GetTopicConfigRequestHeader>(&[("topic", "T"), ("bname", "broker-a")]);
        let clone: CloneGroupOffsetRequestHeader = check_header(&[
            ("srcGroup", "a"),
            ("destGroup", "b"),
            ("topic", "T"),
            ("offline", "true"),
        ]);
        assert!(clone.offline);
    }

    #[test]
    fn connection_and_stats_headers() {
        check_header::<GetConsumerConnectionListRequestHeader>(&[("consumerGroup", "cg")]);
        check_header::<GetProducerConnectionListRequestHeader>(&[("producerGroup", "pg")]);
        let stats: GetConsumeStatsRequestHeader =
            check_header(&[("consumerGroup", "cg"), ("topic", "T"), ("topicList", "A;B;")]);
        assert_eq!(stats.topic_list.as_deref(), Some("A;B;"));
        let in_broker: GetConsumeStatsInBrokerHeader = check_header(&[("isOrder", "true")]);
        assert!(in_broker.order);
        check_header::<GetTopicStatsInfoRequestHeader>(&[("topic", "T")]);
        check_header::<GetBrokerConfigResponseHeader>(&[(
            "version",
            r#"{"counter":1,"stateVersion":0,"timestamp":1700000000000}"#,
        )]);
    }

    #[test]
    fn paging_headers_are_optional_on_requests() {
        assert_eq!(
            check_header::<GetAllTopicConfigRequestHeader>(&[]),
            GetAllTopicConfigRequestHeader::default()
        );
        let paged: GetAllTopicConfigRequestHeader =
            check_header(&[("topicSeq", "0"), ("dataVersion", ""), ("maxTopicNum", "1000")]);
        assert_eq!((paged.topic_seq, paged.max_topic_num), (Some(0), Some(1000)));
        let total: GetAllTopicConfigResponseHeader = check_header(&[("totalTopicNum", "12")]);
        assert_eq!(total.total_topic_num, 12);
        check_header::<GetAllSubscriptionGroupRequestHeader>(&[("groupSeq", "0"), ("maxGroupNum", "10")]);
        check_header::<GetAllSubscriptionGroupResponseHeader>(&[("totalGroupNum", "3")]);
    }
}
