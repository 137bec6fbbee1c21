//! Client-management headers (remoting.md §4.2.2, §4.2.3, §4.3.4, §4.4): heartbeat and
//! unregister, group membership, and the requests brokers forward to or send at clients.
//!
//! RESET_CONSUMER_CLIENT_OFFSET (220, broker → client) and INVOKE_BROKER_TO_RESET_OFFSET (222,
//! admin → broker) share Java's `ResetOffsetRequestHeader`, as GET_CONSUMER_STATUS_FROM_CLIENT
//! (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) share `GetConsumerStatusRequestHeader`.

use crate::header::{RpcFields, TopicRpcFields};

custom_header! {
    /// HEART_BEAT (34): no fields of its own; the heartbeat is in the body.
    pub struct HeartbeatRequestHeader {}
    base rpc: RpcFields;
}

custom_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        /// Java's spelling, capital "ID".
        "clientID" => client_id: String,
        "producerGroup" => producer_group: Option<String>,
        "consumerGroup" => consumer_group: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38).
    pub struct GetConsumerListByGroupRequestHeader {
        "consumerGroup" => consumer_group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), broker → client, oneway.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        "consumerGroup" => consumer_group: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_CONSUMER_RUNNING_INFO (307), admin → broker → client.
    pub struct GetConsumerRunningInfoRequestHeader {
        "consumerGroup" => consumer_group: String,
        "clientId" => client_id: String,
        "jstackEnable" => jstack_enable: bool = false,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309), admin → broker → client. The broker fills `brokerName`,
    /// `topicSysFlag` and `groupSysFlag` before forwarding.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        "consumerGroup" => consumer_group: String,
        "clientId" => client_id: Option<String>,
        /// An offset message id.
        "msgId" => msg_id: Option<String>,
        "brokerName" => broker_name: Option<String>,
        "topic" => topic: Option<String>,
        "topicSysFlag" => topic_sys_flag: Option<i32>,
        "groupSysFlag" => group_sys_flag: Option<i32>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220, oneway).
    pub struct ResetOffsetRequestHeader {
        "group" => group: String,
        "topic" => topic: String,
        /// -1 (Java's initial value) means every queue.
        "queueId" => queue_id: i32 = -1,
        "offset" => offset: Option<i64>,
        /// -1 means the max offset.
        "timestamp" => timestamp: i64,
        /// Without it the broker never moves a group forward.
        "isForce" => force: bool,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223).
    pub struct GetConsumerStatusRequestHeader {
        "topic" => topic: String,
        "group" => group: String,
        "clientAddr" => client_addr: Option<String>,
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
        assert!(required_keys::<HeartbeatRequestHeader>(&[]).is_empty());
        assert_eq!(required_keys::<UnregisterClientRequestHeader>(&[]), ["clientID"]);
        assert_eq!(
            required_keys::<GetConsumerListByGroupRequestHeader>(&[]),
            ["consumerGroup"]
        );
        assert_eq!(
            required_keys::<NotifyConsumerIdsChangedRequestHeader>(&[]),
            ["consumerGroup"]
        );
        assert_eq!(
            required_keys::<GetConsumerRunningInfoRequestHeader>(&[]),
            ["consumerGroup", "clientId"]
        );
        assert_eq!(
            required_keys::<ConsumeMessageDirectlyResultRequestHeader>(&[]),
            ["consumerGroup"]
        );
        assert_eq!(
            required_keys::<ResetOffsetRequestHeader>(&[]),
            ["group", "topic", "timestamp", "isForce"]
        );
        assert_eq!(required_keys::<GetConsumerStatusRequestHeader>(&[]), ["topic", "group"]);
    }

    #[test]
    fn membership_headers() {
        let heartbeat: HeartbeatRequestHeader = check_header(&[("ns", "n"), ("nsd", "true")]);
        assert_eq!(heartbeat.rpc.namespace.as_deref(), Some("n"));
        let unregister: UnregisterClientRequestHeader = check_header(&[
            ("clientID", "10.0.0.9@12345#1"),
            ("producerGroup", "pg"),
            ("consumerGroup", "cg"),
        ]);
        assert_eq!(unregister.client_id, "10.0.0.9@12345#1");
        check_header::<GetConsumerListByGroupRequestHeader>(&[("consumerGroup", "cg"), ("bname", "broker-a")]);
        check_header::<NotifyConsumerIdsChangedRequestHeader>(&[("consumerGroup", "cg")]);
    }

    #[test]
    fn forwarded_admin_headers() {
        let running: GetConsumerRunningInfoRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("clientId", "10.0.0.9@12345#1"),
            ("jstackEnable", "true"),
        ]);
        assert!(running.jstack_enable);
        let direct: ConsumeMessageDirectlyResultRequestHeader = check_header(&[
            ("consumerGroup", "cg"),
            ("clientId", "10.0.0.9@12345#1"),
            ("msgId", "0A00000100002A9F0000000000000064"),
            ("brokerName", "broker-a"),
            ("topic", "TopicTest"),
            ("topicSysFlag", "0"),
            ("groupSysFlag", "0"),
            ("lo", "false"),
        ]);
        assert_eq!(direct.broker_name.as_deref(), Some("broker-a"));
        check_header::<GetConsumerStatusRequestHeader>(&[
            ("topic", "T"),
            ("group", "cg"),
            ("clientAddr", "10.0.0.9:1"),
        ]);
    }

    #[test]
    fn reset_offset_header_uses_java_is_force_key() {
        let reset: ResetOffsetRequestHeader = check_header(&[
            ("group", "cg"),
            ("topic", "TopicTest"),
            ("queueId", "-1"),
            ("offset", "17"),
            ("timestamp", "-1"),
            ("isForce", "true"),
        ]);
        assert!(reset.force);
        assert_eq!((reset.queue_id, reset.offset, reset.timestamp), (-1, Some(17), -1));
        assert_eq!(ResetOffsetRequestHeader::default().queue_id, -1);
    }
}
