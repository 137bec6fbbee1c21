//! GET_ROUTEINFO_BY_TOPIC (remoting.md §4.1.1): the request every producer and consumer makes
//! every 30 s per topic (Java's `ClientRequestProcessor`).
//!
//! The body's JSON dialect depends on the asker: version ≥ V4_9_4 or `acceptStandardJsonOnly`
//! gets standard JSON (quoted numeric keys), older clients fastjson's bare integer keys.

use ferrocket_wire::RemotingCommand;
use ferrocket_wire::header::{CustomHeader, GetRouteInfoRequestHeader};

use super::{NameServer, Reply};
use crate::error::{NamesrvError, NamesrvResult};
use crate::kv_config::NAMESPACE_ORDER_TOPIC_CONFIG;

impl NameServer {
    pub(super) fn route_info(&self, request: &RemotingCommand, now_ms: u64) -> NamesrvResult<Reply> {
        let header = GetRouteInfoRequestHeader::from_command(request)?;
        let grace_ms = self.config.wait_seconds_for_service.saturating_mul(1000);
        if self.config.need_wait_for_service && now_ms.saturating_sub(self.started_ms) < grace_ms {
            return Err(NamesrvError::NotReady);
        }
        let Some(mut route) = self
            .routes
            .route_for_topic(&header.topic, self.config.support_acting_master)
        else {
            return Err(NamesrvError::TopicNotExist { topic: header.topic });
        };
        if self.config.order_message_enable {
            route.order_topic_conf = self
                .kv
                .get(NAMESPACE_ORDER_TOPIC_CONFIG, &header.topic)
                .map(str::to_owned);
        }
        let standard_only = header.accept_standard_json_only.unwrap_or(false);
        Ok(Reply::with_body(route.encode_for(request.version, standard_only)))
    }
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::body::{JsonBody, RegisterBrokerBody, TopicRouteData};
    use ferrocket_wire::codes::version;
    use ferrocket_wire::{RequestCode, ResponseCode};

    use super::super::testing::{expect, request};
    use super::*;
    use crate::config::NamesrvConfig;
    use crate::kv_config::KvConfig;
    use crate::route_table::ConnectionId;
    use crate::route_table::testing::{CLUSTER, topic, wrapper};

    fn server_with_broker(config: NamesrvConfig) -> NameServer {
        let mut server = NameServer::new(config, KvConfig::new(), 0);
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, &[topic("TopicTest", 4), topic("TBW102", 8)]),
        };
        let register = request(
            RequestCode::REGISTER_BROKER,
            &[
                ("brokerName", "broker-a"),
                ("brokerAddr", "10.0.0.1:10911"),
                ("clusterName", CLUSTER),
                ("haServerAddr", "10.0.0.1:10912"),
                ("brokerId", "0"),
            ],
        )
        .with_body(body.encode());
        expect(&mut server, &register, ResponseCode::SUCCESS);
        server
    }

    fn route_request(topic: &str, version: i32) -> RemotingCommand {
        let mut request = request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &[("topic", topic)]);
        request.version = version;
        request
    }

    #[test]
    fn standard_json_for_new_clients_and_legacy_for_old() {
        let mut server = server_with_broker(NamesrvConfig::default());
        let expected = r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
        let standard = expect(
            &mut server,
            &route_request("TopicTest", version::V4_9_4),
            ResponseCode::SUCCESS,
        );
        assert_eq!(standard.body.as_deref(), Some(expected.as_bytes()));
        let legacy = expect(&mut server, &route_request("TopicTest", 395), ResponseCode::SUCCESS);
        let legacy_text = expected.replace(r#"{"0":"#, "{0:");
        assert_eq!(legacy.body.as_deref(), Some(legacy_text.as_bytes()));
        let mut asks_standard = route_request("TopicTest", 395);
        asks_standard
            .ext_fields
            .as_mut()
            .unwrap()
            .insert("acceptStandardJsonOnly", "true");
        let response = expect(&mut server, &asks_standard, ResponseCode::SUCCESS);
        assert_eq!(response.body.as_deref(), Some(expected.as_bytes()));
        assert_eq!(response.ext_fields, None);
    }

    #[test]
    fn unknown_topic_gets_javas_remark() {
        let mut server = server_with_broker(NamesrvConfig::default());
        let response = expect(
            &mut server,
            &route_request("Nope", version::CURRENT),
            ResponseCode::TOPIC_NOT_EXIST,
        );
        assert_eq!(
            response.remark.as_deref(),
            Some(
                "No topic route info in name server for the topic: Nope\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
            )
        );
        let huge = "T".repeat(100_000);
        expect(
            &mut server,
            &route_request(&huge, version::CURRENT),
            ResponseCode::TOPIC_NOT_EXIST,
        );
        let response = expect(
            &mut server,
            &request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &[]),
            ResponseCode::SYSTEM_ERROR,
        );
        assert_eq!(
            response.remark.as_deref(),
            Some("missing required header field `topic`")
        );
    }

    #[test]
    fn order_topic_conf_when_enabled() {
        let config = NamesrvConfig {
            order_message_enable: true,
            ..NamesrvConfig::default()
        };
        let mut server = server_with_broker(config);
        let plain = expect(
            &mut server,
            &route_request("TopicTest", version::CURRENT),
            ResponseCode::SUCCESS,
        );
        assert_eq!(
            TopicRouteData::decode(plain.body.as_deref().unwrap())
                .unwrap()
                .order_topic_conf,
            None
        );
        server
            .kv
            .put(NAMESPACE_ORDER_TOPIC_CONFIG, "TopicTest", "broker-a:4")
            .unwrap();
        let ordered = expect(
            &mut server,
            &route_request("TopicTest", version::CURRENT),
            ResponseCode::SUCCESS,
        );
        let route = TopicRouteData::decode(ordered.body.as_deref().unwrap()).unwrap();
        assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
        server.config.order_message_enable = false;
        let off = expect(
            &mut server,
            &route_request("TopicTest", version::CURRENT),
            ResponseCode::SUCCESS,
        );
        assert_eq!(
            TopicRouteData::decode(off.body.as_deref().unwrap())
                .unwrap()
                .order_topic_conf,
            None
        );
    }

    #[test]
    fn not_ready_during_the_start_up_grace() {
        let config = NamesrvConfig {
            need_wait_for_service: true,
            wait_seconds_for_service: 2,
            ..NamesrvConfig::default()
        };
        let mut server = server_with_broker(config);
        let request = route_request("TopicTest", version::CURRENT);
        let early = server.handle(&request, ConnectionId(1), 1_999);
        assert_eq!(early.response.remark.as_deref(), Some("name server not ready"));
        assert_eq!(early.response.code, ResponseCode::SYSTEM_ERROR.0);
        assert_eq!(server.handle(&request, ConnectionId(1), 2_000).response.code, 0);
    }
}
