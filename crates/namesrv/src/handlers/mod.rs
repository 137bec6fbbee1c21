//! The name server's request handling, pure: a request, a connection id and `now_ms` in, a
//! response out. No I/O: when the KV config changes, the result says so and the shell persists.
//!
//! [`NameServer`] owns the three pieces of state (route table, KV config, config) and maps every
//! name-server code of remoting.md §4.1 to a handler. Each handler returns a [`Reply`] or a
//! [`NamesrvError`]; [`crate::error::error_response`] alone turns errors into codes and remarks.
//! Handlers never panic on input: missing header fields and bad bodies are errors.

mod admin;
mod broker;
mod route;

pub use broker::{DecodedRegistration, Prepared, prepare};

use ferrocket_wire::header::CustomHeader;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

use crate::config::NamesrvConfig;
use crate::error::{NamesrvError, NamesrvResult, error_response};
use crate::kv_config::KvConfig;
use crate::route_table::{ConnectionId, DroppedBroker, RouteTable, SWEEP_TOPICS_PER_STEP};

/// Every request code the name server serves; the shell routes exactly these to it.
pub const HANDLED_CODES: &[RequestCode] = &[
    RequestCode::PUT_KV_CONFIG,
    RequestCode::GET_KV_CONFIG,
    RequestCode::DELETE_KV_CONFIG,
    RequestCode::GET_KVLIST_BY_NAMESPACE,
    RequestCode::REGISTER_BROKER,
    RequestCode::UNREGISTER_BROKER,
    RequestCode::BROKER_HEARTBEAT,
    RequestCode::QUERY_DATA_VERSION,
    RequestCode::REGISTER_TOPIC_IN_NAMESRV,
    RequestCode::GET_ROUTEINFO_BY_TOPIC,
    RequestCode::GET_BROKER_CLUSTER_INFO,
    RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
    RequestCode::GET_TOPICS_BY_CLUSTER,
    RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
    RequestCode::GET_UNIT_TOPIC_LIST,
    RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
    RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
    RequestCode::DELETE_TOPIC_IN_NAMESRV,
    RequestCode::WIPE_WRITE_PERM_OF_BROKER,
    RequestCode::ADD_WRITE_PERM_OF_BROKER,
    RequestCode::UPDATE_NAMESRV_CONFIG,
    RequestCode::GET_NAMESRV_CONFIG,
];

/// A request's outcome: the response, and whether the KV config must be persisted before the
/// response is sent (Java writes `kvConfig.json` before answering PUT and DELETE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub response: RemotingCommand,
    pub kv_changed: bool,
}

/// A successful handler's result, before it becomes a response.
#[derive(Debug, Default)]
struct Reply {
    ext_fields: Option<ExtFields>,
    body: Option<Vec<u8>>,
    kv_changed: bool,
}

impl Reply {
    fn success() -> Reply {
        Reply::default()
    }

    fn with_body(body: Vec<u8>) -> Reply {
        Reply {
            body: Some(body),
            ..Reply::default()
        }
    }

    /// Java creates these responses from a header class, so `extFields` exists even if empty.
    fn with_header(header: &impl CustomHeader) -> Reply {
        Reply {
            ext_fields: Some(header.to_ext_fields()),
            ..Reply::default()
        }
    }
}

/// The name server's state and its request handlers.
#[derive(Debug, Clone)]
pub struct NameServer {
    routes: RouteTable,
    kv: KvConfig,
    config: NamesrvConfig,
    started_ms: u64,
}

impl NameServer {
    /// A name server started at `now_ms` (the `needWaitForService` grace counts from here).
    pub fn new(config: NamesrvConfig, kv: KvConfig, now_ms: u64) -> NameServer {
        NameServer {
            routes: RouteTable::new(),
            kv,
            config,
            started_ms: now_ms,
        }
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub fn kv(&self) -> &KvConfig {
        &self.kv
    }

    pub fn config(&self) -> &NamesrvConfig {
        &self.config
    }

    /// Answers one request that arrived on `connection`.
    pub fn handle(&mut self, request: &RemotingCommand, connection: ConnectionId, now_ms: u64) -> Handled {
        self.handle_prepared(request, prepare(request), connection, now_ms)
    }

    /// [`Self::handle`], with what [`prepare`] worked out of the request beforehand.
    pub fn handle_prepared(
        &mut self,
        request: &RemotingCommand,
        prepared: Prepared,
        connection: ConnectionId,
        now_ms: u64,
    ) -> Handled {
        match self.dispatch(request, prepared, connection, now_ms) {
            Ok(reply) => {
                let mut response = RemotingCommand::response_to(request, ResponseCode::SUCCESS, None);
                response.ext_fields = reply.ext_fields;
                response.body = reply.body.map(Into::into);
                Handled {
                    response,
                    kv_changed: reply.kv_changed,
                }
            }
            Err(error) => Handled {
                response: error_response(request, &error),
                kv_changed: false,
            },
        }
    }

    /// The connection closed: its brokers are gone (remoting.md §6.3).
    pub fn connection_closed(&mut self, connection: ConnectionId) -> Vec<DroppedBroker> {
        self.routes.connection_closed(connection)
    }

    /// The periodic scan: drops brokers silent beyond their timeout.
    pub fn scan_not_active(&mut self, now_ms: u64) -> Vec<DroppedBroker> {
        self.routes.scan_not_active(now_ms)
    }

    /// One bounded step of removing dropped brokers' queue data; returns whether work is left.
    pub fn sweep_step(&mut self) -> bool {
        self.routes.sweep_step(SWEEP_TOPICS_PER_STEP)
    }

    fn dispatch(
        &mut self,
        request: &RemotingCommand,
        prepared: Prepared,
        connection: ConnectionId,
        now_ms: u64,
    ) -> NamesrvResult<Reply> {
        match request.request_code() {
            RequestCode::PUT_KV_CONFIG => self.put_kv_config(request),
            RequestCode::GET_KV_CONFIG => self.get_kv_config(request),
            RequestCode::DELETE_KV_CONFIG => self.delete_kv_config(request),
            RequestCode::GET_KVLIST_BY_NAMESPACE => self.get_kv_list(request),
            RequestCode::REGISTER_BROKER => {
                let decoded = match prepared {
                    Prepared::Registration(decoded) => *decoded,
                    Prepared::Nothing => broker::decode_registration(request),
                };
                self.register_broker(decoded, connection, now_ms)
            }
            RequestCode::UNREGISTER_BROKER => self.unregister_broker(request),
            RequestCode::BROKER_HEARTBEAT => self.broker_heartbeat(request, now_ms),
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(request, now_ms),
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(request),
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.route_info(request, now_ms),
            RequestCode::GET_BROKER_CLUSTER_INFO => Ok(self.cluster_info()),
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => self.all_topics(),
            RequestCode::GET_TOPICS_BY_CLUSTER => self.topics_by_cluster(request),
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS => Ok(self.system_topics()),
            RequestCode::GET_UNIT_TOPIC_LIST => self.unit_topic_list(RouteTable::unit_topics),
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST => self.unit_topic_list(RouteTable::has_unit_sub_topics),
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => {
                self.unit_topic_list(RouteTable::has_unit_sub_non_unit_topics)
            }
            RequestCode::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(request),
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => self.wipe_write_perm(request),
            RequestCode::ADD_WRITE_PERM_OF_BROKER => self.add_write_perm(request),
            RequestCode::UPDATE_NAMESRV_CONFIG => self.update_config(request),
            RequestCode::GET_NAMESRV_CONFIG => Ok(self.get_config()),
            other => Err(NamesrvError::RequestCodeNotSupported { code: other.0 }),
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use ferrocket_wire::{RemotingCommand, RequestCode};

    use super::*;

    pub fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut request = RemotingCommand::request(code);
        request.opaque = 7;
        if !fields.is_empty() {
            request.ext_fields = Some(fields.iter().copied().collect());
        }
        request
    }

    pub fn server() -> NameServer {
        NameServer::new(NamesrvConfig::default(), KvConfig::new(), 0)
    }

    /// Handles `request` and checks the response code; returns the response.
    pub fn expect(server: &mut NameServer, request: &RemotingCommand, code: ResponseCode) -> RemotingCommand {
        let handled = server.handle(request, ConnectionId(1), 1_000);
        assert_eq!(
            handled.response.response_code(),
            code,
            "remark: {:?}",
            handled.response.remark
        );
        assert_eq!(handled.response.opaque, request.opaque);
        assert!(handled.response.is_response());
        handled.response
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{expect, request, server};
    use super::*;

    #[test]
    fn unknown_codes_get_javas_answer() {
        let mut server = server();
        for code in [
            RequestCode(9999),
            RequestCode::GET_BROKER_MEMBER_GROUP,
            RequestCode::SEND_MESSAGE,
        ] {
            let response = expect(
                &mut server,
                &request(code, &[]),
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            );
            assert_eq!(response.remark, Some(format!(" request type {} not supported", code.0)));
        }
    }

    /// Every code, with every known header key set to the same odd value, under several bodies
    /// and versions: each gets exactly one response, and nothing panics.
    #[test]
    fn hostile_fields_and_bodies_never_panic() {
        const KEYS: &[&str] = &[
            "topic",
            "brokerName",
            "brokerAddr",
            "clusterName",
            "haServerAddr",
            "brokerId",
            "namespace",
            "key",
            "value",
            "cluster",
            "compressed",
            "bodyCrc32",
            "heartbeatTimeoutMillis",
            "enableActingMaster",
            "acceptStandardJsonOnly",
        ];
        let long = "x".repeat(70_000);
        let values = [
            "",
            "-1",
            "0",
            "x",
            "9223372036854775808",
            "true",
            "\u{0}\n",
            long.as_str(),
        ];
        let bodies: [Option<&[u8]>; 8] = [
            None,
            Some(b"{}"),
            Some(b"[]"),
            Some(b"null"),
            Some(b"\xff\xfe{"),
            Some(br#"{"topicConfigSerializeWrapper":{"topicConfigTable":{"a":{"topicName":"a"},"b":{}}}}"#),
            Some(br#"{"queueDatas":[{"brokerName":"x"}],"counter":"9"}"#),
            Some(b"x\\=\\u12\\\n"),
        ];
        let mut server = server();
        for code in HANDLED_CODES {
            for value in values {
                let fields: Vec<(&str, &str)> = KEYS.iter().map(|key| (*key, value)).collect();
                for body in bodies {
                    for version in [-5, 0, 38, 39, 397, 409, i32::MAX] {
                        let mut hostile = request(*code, &fields);
                        hostile.version = version;
                        hostile.body = body.map(bytes::Bytes::copy_from_slice);
                        let handled = server.handle(&hostile, ConnectionId(3), 5);
                        assert!(handled.response.is_response());
                        assert_eq!(handled.response.opaque, hostile.opaque);
                    }
                }
            }
        }
        assert!(server.config().scan_not_active_broker_interval_ms >= 100);
    }

    #[test]
    fn every_handled_code_survives_an_empty_request() {
        let mut server = server();
        for code in HANDLED_CODES {
            let handled = server.handle(&request(*code, &[]), ConnectionId(1), 0);
            assert_ne!(
                handled.response.code,
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED.0,
                "{code}"
            );
            assert!(!handled.kv_changed, "{code}");
        }
    }
}
