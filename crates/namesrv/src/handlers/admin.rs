//! Requests mqadmin and the admin API send: KV config, cluster and topic lists, topic deletion,
//! broker write permission and the name server's own config (remoting.md §4.1.4–4.1.8,
//! §4.1.10). Java's `DefaultRequestProcessor` decides the codes and remarks reproduced here.

use ferrocket_wire::RemotingCommand;
use ferrocket_wire::body::{JsonBody, TopicList};
use ferrocket_wire::header::{
    AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader, CustomHeader, DeleteKVConfigRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
    GetKVListByNamespaceRequestHeader, GetTopicsByClusterRequestHeader, PutKVConfigRequestHeader,
    WipeWritePermOfBrokerRequestHeader, WipeWritePermOfBrokerResponseHeader,
};

use super::{NameServer, Reply};
use crate::error::{NamesrvError, NamesrvResult};
use crate::route_table::RouteTable;

impl NameServer {
    pub(super) fn put_kv_config(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        if request.ext("namespace").is_none() || request.ext("key").is_none() {
            return Err(NamesrvError::KvNamespaceOrKeyMissing);
        }
        let header = PutKVConfigRequestHeader::from_command(request)?;
        self.kv.put(&header.namespace, &header.key, &header.value)?;
        Ok(Reply {
            kv_changed: true,
            ..Reply::success()
        })
    }

    pub(super) fn get_kv_config(&self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = GetKVConfigRequestHeader::from_command(request)?;
        match self.kv.get(&header.namespace, &header.key) {
            Some(value) => Ok(Reply::with_header(&GetKVConfigResponseHeader {
                value: Some(value.to_owned()),
            })),
            None => Err(NamesrvError::KvNotFound {
                namespace: header.namespace,
                key: header.key,
            }),
        }
    }

    pub(super) fn delete_kv_config(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = DeleteKVConfigRequestHeader::from_command(request)?;
        let kv_changed = self.kv.delete(&header.namespace, &header.key);
        Ok(Reply {
            kv_changed,
            ..Reply::success()
        })
    }

    pub(super) fn get_kv_list(&self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = GetKVListByNamespaceRequestHeader::from_command(request)?;
        match self.kv.namespace(&header.namespace) {
            Some(table) => Ok(Reply::with_body(table.encode())),
            None => Err(NamesrvError::KvNamespaceNotFound {
                namespace: header.namespace,
            }),
        }
    }

    pub(super) fn cluster_info(&self) -> Reply {
        Reply::with_body(self.routes.cluster_info().encode())
    }

    pub(super) fn all_topics(&self) -> NamesrvResult<Reply> {
        if !self.config.enable_all_topic_list {
            return Err(NamesrvError::Disabled);
        }
        Ok(Reply::with_body(self.routes.all_topics().encode()))
    }

    /// Java checks `enableTopicList` before it reads the header; so do we.
    pub(super) fn topics_by_cluster(&self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        if !self.config.enable_topic_list {
            return Err(NamesrvError::Disabled);
        }
        let header = GetTopicsByClusterRequestHeader::from_command(request)?;
        Ok(Reply::with_body(
            self.routes.topics_by_cluster(&header.cluster).encode(),
        ))
    }

    pub(super) fn system_topics(&self) -> Reply {
        Reply::with_body(self.routes.system_topics().encode())
    }

    pub(super) fn unit_topic_list(&self, list: fn(&RouteTable) -> TopicList) -> NamesrvResult<Reply> {
        if !self.config.enable_topic_list {
            return Err(NamesrvError::Disabled);
        }
        Ok(Reply::with_body(list(&self.routes).encode()))
    }

    /// An empty cluster name means "everywhere", as in Java.
    pub(super) fn delete_topic(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = DeleteTopicFromNamesrvRequestHeader::from_command(request)?;
        let cluster = header.cluster_name.as_deref().filter(|name| !name.is_empty());
        self.routes.delete_topic(&header.topic, cluster);
        Ok(Reply::success())
    }

    pub(super) fn wipe_write_perm(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = WipeWritePermOfBrokerRequestHeader::from_command(request)?;
        let count = self.routes.wipe_write_perm(&header.broker_name);
        Ok(Reply::with_header(&WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    pub(super) fn add_write_perm(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = AddWritePermOfBrokerRequestHeader::from_command(request)?;
        let count = self.routes.add_write_perm(&header.broker_name);
        Ok(Reply::with_header(&AddWritePermOfBrokerResponseHeader {
            add_topic_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    /// UPDATE_NAMESRV_CONFIG: the body is properties text; no body changes nothing. Java
    /// decodes the body as UTF-8, replacing bad sequences, and so do we.
    pub(super) fn update_config(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        if let Some(body) = request.body.as_deref() {
            self.config.update_from_properties(&String::from_utf8_lossy(body))?;
        }
        Ok(Reply::success())
    }

    pub(super) fn get_config(&self) -> Reply {
        Reply::with_body(self.config.to_properties().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::body::{ClusterInfo, KvTable, RegisterBrokerBody};
    use ferrocket_wire::{RequestCode, ResponseCode};

    use super::super::testing::{expect, request, server};
    use super::*;
    use crate::route_table::ConnectionId;
    use crate::route_table::testing::{CLUSTER, topic, wrapper};

    fn put(namespace: &str, key: &str, value: &str) -> RemotingCommand {
        request(
            RequestCode::PUT_KV_CONFIG,
            &[("namespace", namespace), ("key", key), ("value", value)],
        )
    }

    #[test]
    fn kv_config_round_trip_and_errors() {
        let mut server = server();
        let handled = server.handle(&put("ns", "k", "v"), ConnectionId(1), 0);
        assert!(handled.kv_changed);
        assert_eq!((handled.response.code, handled.response.ext_fields), (0, None));
        let get = request(RequestCode::GET_KV_CONFIG, &[("namespace", "ns"), ("key", "k")]);
        assert_eq!(expect(&mut server, &get, ResponseCode::SUCCESS).ext("value"), Some("v"));
        let list = request(RequestCode::GET_KVLIST_BY_NAMESPACE, &[("namespace", "ns")]);
        let body = expect(&mut server, &list, ResponseCode::SUCCESS).body.unwrap();
        assert_eq!(&body[..], br#"{"table":{"k":"v"}}"#);
        assert_eq!(KvTable::decode(&body).unwrap().table["k"], "v");

        let delete = request(RequestCode::DELETE_KV_CONFIG, &[("namespace", "ns"), ("key", "k")]);
        assert!(server.handle(&delete, ConnectionId(1), 0).kv_changed);
        assert!(!server.handle(&delete, ConnectionId(1), 0).kv_changed);
        let missing = expect(&mut server, &get, ResponseCode::QUERY_NOT_FOUND);
        assert_eq!(missing.remark.as_deref(), Some("No config item, Namespace: ns Key: k"));
        let other = request(RequestCode::GET_KVLIST_BY_NAMESPACE, &[("namespace", "other")]);
        let missing = expect(&mut server, &other, ResponseCode::QUERY_NOT_FOUND);
        assert_eq!(missing.remark.as_deref(), Some("No config item, Namespace: other"));

        let no_key = request(RequestCode::PUT_KV_CONFIG, &[("namespace", "ns"), ("value", "v")]);
        let response = expect(&mut server, &no_key, ResponseCode::SYSTEM_ERROR);
        assert_eq!(response.remark.as_deref(), Some("namespace or key is null"));
        let no_value = request(RequestCode::PUT_KV_CONFIG, &[("namespace", "ns"), ("key", "k")]);
        let response = expect(&mut server, &no_value, ResponseCode::SYSTEM_ERROR);
        assert_eq!(
            response.remark.as_deref(),
            Some("missing required header field `value`")
        );
        let too_long = put("ns", &"k".repeat(5000), "v");
        assert!(!server.handle(&too_long, ConnectionId(1), 0).kv_changed);
        expect(&mut server, &too_long, ResponseCode::SYSTEM_ERROR);
        for code in [
            RequestCode::GET_KV_CONFIG,
            RequestCode::DELETE_KV_CONFIG,
            RequestCode::GET_KVLIST_BY_NAMESPACE,
        ] {
            expect(&mut server, &request(code, &[]), ResponseCode::SYSTEM_ERROR);
        }
    }

    fn server_with_topics() -> NameServer {
        let mut server = server();
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, &[topic("T", 4), topic("U", 2)]),
        };
        let register = request(
            RequestCode::REGISTER_BROKER,
            &[
                ("brokerName", "b"),
                ("brokerAddr", "m:1"),
                ("clusterName", CLUSTER),
                ("haServerAddr", "m:2"),
                ("brokerId", "0"),
            ],
        )
        .with_body(body.encode());
        expect(&mut server, &register, ResponseCode::SUCCESS);
        server
    }

    fn topics_of(response: RemotingCommand) -> TopicList {
        TopicList::decode(response.body.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn cluster_info_and_topic_lists() {
        let mut server = server_with_topics();
        let info = expect(
            &mut server,
            &request(RequestCode::GET_BROKER_CLUSTER_INFO, &[]),
            ResponseCode::SUCCESS,
        );
        let info = ClusterInfo::decode(info.body.as_deref().unwrap()).unwrap();
        assert_eq!(info.cluster_addr_table[CLUSTER], ["b"]);
        let all = request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, &[]);
        assert_eq!(
            topics_of(expect(&mut server, &all, ResponseCode::SUCCESS)).topic_list,
            ["T", "U"]
        );
        let by_cluster = request(RequestCode::GET_TOPICS_BY_CLUSTER, &[("cluster", CLUSTER)]);
        assert_eq!(
            topics_of(expect(&mut server, &by_cluster, ResponseCode::SUCCESS)).topic_list,
            ["T", "U"]
        );
        expect(
            &mut server,
            &request(RequestCode::GET_TOPICS_BY_CLUSTER, &[]),
            ResponseCode::SYSTEM_ERROR,
        );
        let system = request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS, &[]);
        let system = topics_of(expect(&mut server, &system, ResponseCode::SUCCESS));
        assert_eq!(
            (system.topic_list, system.broker_addr.as_deref()),
            (vec![CLUSTER.into(), "b".into()], Some("m:1"))
        );
        for code in [
            RequestCode::GET_UNIT_TOPIC_LIST,
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
        ] {
            assert!(
                topics_of(expect(&mut server, &request(code, &[]), ResponseCode::SUCCESS))
                    .topic_list
                    .is_empty()
            );
        }
    }

    #[test]
    fn disabled_lists_answer_disable() {
        let mut server = server_with_topics();
        server.config.enable_all_topic_list = false;
        server.config.enable_topic_list = false;
        for code in [
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            RequestCode::GET_TOPICS_BY_CLUSTER,
            RequestCode::GET_UNIT_TOPIC_LIST,
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
        ] {
            let response = expect(&mut server, &request(code, &[]), ResponseCode::SYSTEM_ERROR);
            assert_eq!(response.remark.as_deref(), Some("disable"), "{code}");
        }
    }

    #[test]
    fn delete_topic_and_write_perms() {
        let mut server = server_with_topics();
        let wipe = request(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &[("brokerName", "b")]);
        assert_eq!(
            expect(&mut server, &wipe, ResponseCode::SUCCESS).ext("wipeTopicCount"),
            Some("2")
        );
        assert_eq!(server.routes().queue_data("T", "b").map(|q| q.perm), Some(4));
        let add = request(RequestCode::ADD_WRITE_PERM_OF_BROKER, &[("brokerName", "b")]);
        assert_eq!(
            expect(&mut server, &add, ResponseCode::SUCCESS).ext("addTopicCount"),
            Some("2")
        );
        let add_none = request(RequestCode::ADD_WRITE_PERM_OF_BROKER, &[("brokerName", "x")]);
        assert_eq!(
            expect(&mut server, &add_none, ResponseCode::SUCCESS).ext("addTopicCount"),
            Some("0")
        );
        expect(
            &mut server,
            &request(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &[]),
            ResponseCode::SYSTEM_ERROR,
        );

        let other_cluster = request(
            RequestCode::DELETE_TOPIC_IN_NAMESRV,
            &[("topic", "T"), ("clusterName", "X")],
        );
        expect(&mut server, &other_cluster, ResponseCode::SUCCESS);
        assert!(server.routes().queue_data("T", "b").is_some());
        let everywhere = request(
            RequestCode::DELETE_TOPIC_IN_NAMESRV,
            &[("topic", "T"), ("clusterName", "")],
        );
        expect(&mut server, &everywhere, ResponseCode::SUCCESS);
        assert!(server.routes().queue_data("T", "b").is_none());
        expect(
            &mut server,
            &request(RequestCode::DELETE_TOPIC_IN_NAMESRV, &[]),
            ResponseCode::SYSTEM_ERROR,
        );
    }

    #[test]
    fn namesrv_config_get_and_update() {
        let mut server = server();
        let get = request(RequestCode::GET_NAMESRV_CONFIG, &[]);
        let text = expect(&mut server, &get, ResponseCode::SUCCESS).body.unwrap();
        assert!(text.is_ascii());
        assert!(String::from_utf8_lossy(&text).contains("orderMessageEnable=false\n"));

        let update = request(RequestCode::UPDATE_NAMESRV_CONFIG, &[]).with_body(&b"orderMessageEnable=true\n"[..]);
        expect(&mut server, &update, ResponseCode::SUCCESS);
        assert!(server.config().order_message_enable);
        let attack = request(RequestCode::UPDATE_NAMESRV_CONFIG, &[])
            .with_body(&b"configStorePath=/root/.ssh/authorized_keys\nenableTopicList=false"[..]);
        let response = expect(&mut server, &attack, ResponseCode::NO_PERMISSION);
        assert_eq!(response.remark.as_deref(), Some("Can not update config in black list."));
        assert!(server.config().enable_topic_list);
        let bad = request(RequestCode::UPDATE_NAMESRV_CONFIG, &[]).with_body(&b"enableTopicList=\\u00"[..]);
        expect(&mut server, &bad, ResponseCode::SYSTEM_ERROR);
        expect(
            &mut server,
            &request(RequestCode::UPDATE_NAMESRV_CONFIG, &[]),
            ResponseCode::SUCCESS,
        );
        let text = expect(&mut server, &get, ResponseCode::SUCCESS).body.unwrap();
        assert!(String::from_utf8_lossy(&text).contains("orderMessageEnable=true\n"));
    }
}
