//! Name-server headers (remoting.md §4.1): routes, broker registration, KV config, permissions.
//!
//! Java classes under `remoting/.../protocol/header/namesrv/` (and `GetTopicsByClusterRequestHeader`
//! one level up). Only `GetRouteInfoRequestHeader`, `DeleteTopicFromNamesrvRequestHeader` and
//! `RegisterTopicRequestHeader` extend `TopicRequestHeader`; the rest carry no 5.x standard keys.

use crate::header::TopicRpcFields;

custom_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        "topic" => topic: String,
        "acceptStandardJsonOnly" => accept_standard_json_only: Option<bool>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// REGISTER_BROKER (103), sent by every broker to every name server.
    pub struct RegisterBrokerRequestHeader {
        "brokerName" => broker_name: String,
        /// `brokerIP1:listenPort`.
        "brokerAddr" => broker_addr: String,
        "clusterName" => cluster_name: String,
        /// `brokerIP2:haListenPort`.
        "haServerAddr" => ha_server_addr: String,
        /// 0 = master.
        "brokerId" => broker_id: i64,
        /// 5.x, only with `enableSlaveActingMaster`.
        "heartbeatTimeoutMillis" => heartbeat_timeout_millis: Option<i64>,
        /// 5.x; its absence marks an old broker.
        "enableActingMaster" => enable_acting_master: Option<bool>,
        "compressed" => compressed: bool = false,
        /// `crc32(body) & 0x7FFFFFFF`; 0 means "do not check".
        "bodyCrc32" => body_crc32: i32 = 0,
    }
}

custom_header! {
    /// REGISTER_BROKER response: set only for slaves whose master is registered.
    pub struct RegisterBrokerResponseHeader {
        "haServerAddr" => ha_server_addr: Option<String>,
        "masterAddr" => master_addr: Option<String>,
    }
}

custom_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnRegisterBrokerRequestHeader {
        "brokerName" => broker_name: String,
        "brokerAddr" => broker_addr: String,
        "clusterName" => cluster_name: String,
        "brokerId" => broker_id: i64,
    }
}

custom_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        "cluster" => cluster: String,
    }
}

custom_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKVConfigRequestHeader {
        "namespace" => namespace: String,
        "key" => key: String,
        "value" => value: String,
    }
}

custom_header! {
    /// GET_KV_CONFIG (101).
    pub struct GetKVConfigRequestHeader {
        "namespace" => namespace: String,
        "key" => key: String,
    }
}

custom_header! {
    /// GET_KV_CONFIG response.
    pub struct GetKVConfigResponseHeader {
        "value" => value: Option<String>,
    }
}

custom_header! {
    /// DELETE_KV_CONFIG (102).
    pub struct DeleteKVConfigRequestHeader {
        "namespace" => namespace: String,
        "key" => key: String,
    }
}

custom_header! {
    /// GET_KVLIST_BY_NAMESPACE (219).
    pub struct GetKVListByNamespaceRequestHeader {
        "namespace" => namespace: String,
    }
}

custom_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216); without a cluster name the whole topic goes.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        "topic" => topic: String,
        "clusterName" => cluster_name: Option<String>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217).
    pub struct RegisterTopicRequestHeader {
        "topic" => topic: String,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// QUERY_DATA_VERSION (322); the body is the broker's DataVersion JSON.
    pub struct QueryDataVersionRequestHeader {
        "brokerName" => broker_name: String,
        "brokerAddr" => broker_addr: String,
        "clusterName" => cluster_name: String,
        "brokerId" => broker_id: i64,
    }
}

custom_header! {
    /// QUERY_DATA_VERSION response.
    pub struct QueryDataVersionResponseHeader {
        "changed" => changed: bool,
    }
}

custom_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        "brokerName" => broker_name: String,
    }
}

custom_header! {
    /// WIPE_WRITE_PERM_OF_BROKER response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        "wipeTopicCount" => wipe_topic_count: i32,
    }
}

custom_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327).
    pub struct AddWritePermOfBrokerRequestHeader {
        "brokerName" => broker_name: String,
    }
}

custom_header! {
    /// ADD_WRITE_PERM_OF_BROKER response.
    pub struct AddWritePermOfBrokerResponseHeader {
        "addTopicCount" => add_topic_count: i32,
    }
}

custom_header! {
    /// BROKER_HEARTBEAT (904): 5.x acting-master and controller brokers; the name server only
    /// refreshes the broker's liveness. The other fields serve the controller.
    pub struct BrokerHeartbeatRequestHeader {
        "clusterName" => cluster_name: String,
        "brokerAddr" => broker_addr: String,
        "brokerName" => broker_name: String,
        "brokerId" => broker_id: Option<i64>,
        "epoch" => epoch: Option<i32>,
        "maxOffset" => max_offset: Option<i64>,
        "confirmOffset" => confirm_offset: Option<i64>,
        /// Spelled `heartbeatTimeoutMills` in Java.
        "heartbeatTimeoutMills" => heartbeat_timeout_mills: Option<i64>,
        "electionPriority" => election_priority: Option<i32>,
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
        assert_eq!(required_keys::<GetRouteInfoRequestHeader>(&[]), ["topic"]);
        assert_eq!(
            required_keys::<RegisterBrokerRequestHeader>(&[]),
            ["brokerName", "brokerAddr", "clusterName", "haServerAddr", "brokerId"]
        );
        assert!(required_keys::<RegisterBrokerResponseHeader>(&[]).is_empty());
        assert_eq!(
            required_keys::<UnRegisterBrokerRequestHeader>(&[]),
            ["brokerName", "brokerAddr", "clusterName", "brokerId"]
        );
        assert_eq!(required_keys::<GetTopicsByClusterRequestHeader>(&[]), ["cluster"]);
        assert_eq!(
            required_keys::<PutKVConfigRequestHeader>(&[]),
            ["namespace", "key", "value"]
        );
        assert_eq!(required_keys::<GetKVConfigRequestHeader>(&[]), ["namespace", "key"]);
        assert!(required_keys::<GetKVConfigResponseHeader>(&[]).is_empty());
        assert_eq!(required_keys::<DeleteKVConfigRequestHeader>(&[]), ["namespace", "key"]);
        assert_eq!(required_keys::<GetKVListByNamespaceRequestHeader>(&[]), ["namespace"]);
        assert_eq!(required_keys::<DeleteTopicFromNamesrvRequestHeader>(&[]), ["topic"]);
        assert_eq!(required_keys::<RegisterTopicRequestHeader>(&[]), ["topic"]);
        assert_eq!(
            required_keys::<QueryDataVersionRequestHeader>(&[]),
            ["brokerName", "brokerAddr", "clusterName", "brokerId"]
        );
        assert_eq!(required_keys::<QueryDataVersionResponseHeader>(&[]), ["changed"]);
        assert_eq!(required_keys::<WipeWritePermOfBrokerRequestHeader>(&[]), ["brokerName"]);
        assert_eq!(
            required_keys::<WipeWritePermOfBrokerResponseHeader>(&[]),
            ["wipeTopicCount"]
        );
        assert_eq!(required_keys::<AddWritePermOfBrokerRequestHeader>(&[]), ["brokerName"]);
        assert_eq!(
            required_keys::<AddWritePermOfBrokerResponseHeader>(&[]),
            ["addTopicCount"]
        );
        assert_eq!(
            required_keys::<BrokerHeartbeatRequestHeader>(&[]),
            ["clusterName", "brokerAddr", "brokerName"]
        );
    }

    const TOPIC_RPC: [(&str, &str); 5] = [
        ("ns", "n"),
        ("nsd", "false"),
        ("bname", "broker-a"),
        ("oway", "false"),
        ("lo", "true"),
    ];

    fn with_topic_rpc<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.iter().copied().chain(TOPIC_RPC).collect()
    }

    #[test]
    fn route_and_topic_headers() {
        let route: GetRouteInfoRequestHeader = check_header(&with_topic_rpc(&[
            ("topic", "TopicTest"),
            ("acceptStandardJsonOnly", "true"),
        ]));
        assert_eq!(route.topic, "TopicTest");
        assert_eq!(route.accept_standard_json_only, Some(true));
        assert_eq!(route.rpc.broker_name.as_deref(), Some("broker-a"));
        let minimal: GetRouteInfoRequestHeader = check_header(&[("topic", "T")]);
        assert_eq!(minimal.accept_standard_json_only, None);

        let delete: DeleteTopicFromNamesrvRequestHeader =
            check_header(&with_topic_rpc(&[("topic", "T"), ("clusterName", "DefaultCluster")]));
        assert_eq!(delete.cluster_name.as_deref(), Some("DefaultCluster"));
        check_header::<RegisterTopicRequestHeader>(&with_topic_rpc(&[("topic", "T")]));
        check_header::<GetTopicsByClusterRequestHeader>(&[("cluster", "DefaultCluster")]);
    }

    #[test]
    fn broker_registration_headers() {
        let register: RegisterBrokerRequestHeader = check_header(&[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("clusterName", "DefaultCluster"),
            ("haServerAddr", "10.0.0.1:10912"),
            ("brokerId", "0"),
            ("heartbeatTimeoutMillis", "120000"),
            ("enableActingMaster", "false"),
            ("compressed", "false"),
            ("bodyCrc32", "1234567"),
        ]);
        assert_eq!((register.broker_id, register.body_crc32), (0, 1_234_567));
        assert_eq!(register.heartbeat_timeout_millis, Some(120_000));

        // A 4.9.x broker sends neither 5.x field; primitives keep Java's initial values.
        let old = RegisterBrokerRequestHeader::read_from(
            &[
                ("brokerName", "b"),
                ("brokerAddr", "a:1"),
                ("clusterName", "c"),
                ("haServerAddr", "a:2"),
                ("brokerId", "1"),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap();
        assert_eq!(
            (old.enable_acting_master, old.compressed, old.body_crc32),
            (None, false, 0)
        );

        check_header::<RegisterBrokerResponseHeader>(&[
            ("haServerAddr", "10.0.0.1:10912"),
            ("masterAddr", "10.0.0.1:10911"),
        ]);
        check_header::<RegisterBrokerResponseHeader>(&[]);
        let unregister: UnRegisterBrokerRequestHeader = check_header(&[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("clusterName", "DefaultCluster"),
            ("brokerId", "1"),
        ]);
        assert_eq!(unregister.broker_id, 1);
        check_header::<QueryDataVersionRequestHeader>(&[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("clusterName", "DefaultCluster"),
            ("brokerId", "0"),
        ]);
        let changed: QueryDataVersionResponseHeader = check_header(&[("changed", "true")]);
        assert!(changed.changed);
    }

    #[test]
    fn kv_config_headers() {
        let put: PutKVConfigRequestHeader = check_header(&[
            ("namespace", "ORDER_TOPIC_CONFIG"),
            ("key", "TopicA"),
            ("value", "broker-a:4"),
        ]);
        assert_eq!(put.value, "broker-a:4");
        check_header::<GetKVConfigRequestHeader>(&[("namespace", "ns"), ("key", "k")]);
        check_header::<GetKVConfigResponseHeader>(&[("value", "v")]);
        check_header::<DeleteKVConfigRequestHeader>(&[("namespace", "ns"), ("key", "k")]);
        check_header::<GetKVListByNamespaceRequestHeader>(&[("namespace", "ns")]);
    }

    #[test]
    fn write_permission_headers() {
        check_header::<WipeWritePermOfBrokerRequestHeader>(&[("brokerName", "broker-a")]);
        let wiped: WipeWritePermOfBrokerResponseHeader = check_header(&[("wipeTopicCount", "3")]);
        assert_eq!(wiped.wipe_topic_count, 3);
        check_header::<AddWritePermOfBrokerRequestHeader>(&[("brokerName", "broker-a")]);
        let added: AddWritePermOfBrokerResponseHeader = check_header(&[("addTopicCount", "2")]);
        assert_eq!(added.add_topic_count, 2);
    }
}
