//! The 5.x standard request-header fields (remoting.md §1.11), embedded by most request headers.
//!
//! Java declares them on `RpcRequestHeader` (`ns`, `nsd`, `bname`, `oway`) and adds `lo` on
//! `TopicRequestHeader`; `TopicQueueRequestHeader` adds nothing. Every one is optional: older
//! clients send none, and a server must never require `bname`. Two flat structs rather than one
//! nested in the other, so a header's fields read `header.rpc.broker_name` either way.

custom_header! {
    /// Fields of Java's `RpcRequestHeader`.
    pub struct RpcFields {
        /// Namespace ("namespace v2"), added by the client's `NamespaceRpcHook`.
        "ns" => namespace: Option<String>,
        /// Whether resource names are already namespaced.
        "nsd" => namespaced: Option<bool>,
        /// The broker the request is meant for; filled by 5.x clients on queue-level requests.
        "bname" => broker_name: Option<String>,
        /// Oneway marker, declared but rarely set.
        "oway" => oneway: Option<bool>,
    }
}

custom_header! {
    /// Fields of Java's `TopicRequestHeader` (and `TopicQueueRequestHeader`): [`RpcFields`] plus `lo`.
    pub struct TopicRpcFields {
        "ns" => namespace: Option<String>,
        "nsd" => namespaced: Option<bool>,
        "bname" => broker_name: Option<String>,
        "oway" => oneway: Option<bool>,
        /// "Logical": brokers set it to false when forwarding static-topic requests.
        "lo" => logical: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CustomHeader;
    use crate::header::testing::check_header;

    #[test]
    fn round_trips() {
        let rpc: RpcFields = check_header(&[("ns", "n"), ("nsd", "true"), ("bname", "broker-a"), ("oway", "false")]);
        assert_eq!(rpc.broker_name.as_deref(), Some("broker-a"));
        let topic: TopicRpcFields = check_header(&[
            ("ns", "n"),
            ("nsd", "false"),
            ("bname", "b"),
            ("oway", "true"),
            ("lo", "false"),
        ]);
        assert_eq!(topic.logical, Some(false));
        assert_eq!(check_header::<RpcFields>(&[]), RpcFields::default());
    }

    #[test]
    fn lo_belongs_to_topic_headers_only() {
        let fields = [("lo", "true")].into_iter().collect();
        assert!(RpcFields::read_from(&fields).unwrap().to_ext_fields().is_empty());
    }
}
