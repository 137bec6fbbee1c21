//! Requests brokers send: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION,
//! BROKER_HEARTBEAT and REGISTER_TOPIC_IN_NAMESRV (remoting.md §4.1.2, §4.1.3, §4.1.9, §4.1.10).
//!
//! The REGISTER_BROKER body depends on the request: a non-zero `bodyCrc32` must match
//! `crc32(body) & 0x7FFFFFFF`; brokers from V3_0_11 on send a `RegisterBrokerBody` (JSON, or
//! zlib-compressed when `compressed=true`), older ones a bare `TopicConfigSerializeWrapper`; no
//! body at all means "no topics" with a zero DataVersion. A 5.x Java broker with
//! `compressedRegister=true` compresses the body but still writes `compressed=false` (its
//! `BrokerOuterAPI` hard-codes the flag), which Java's name server then fails to parse as JSON;
//! we recognise the zlib header (a JSON body never starts with `x`) and decode it.
//!
//! Decoding is the costly part of a registration (a 16 MiB JSON body takes a good part of a
//! second in a debug build) and depends on nothing but the request, so the shell runs
//! [`prepare`] on the connection's side and hands the owner a decoded registration.

use ferrocket_wire::body::{DataVersion, JsonBody, RegisterBrokerBody, TopicConfigSerializeWrapper, TopicRouteData};
use ferrocket_wire::header::{
    BrokerHeartbeatRequestHeader, CustomHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, RegisterTopicRequestHeader,
    UnRegisterBrokerRequestHeader,
};
use ferrocket_wire::{RemotingCommand, RequestCode, WireResult};

use ferrocket_net::log_rate::{LIMIT_WARN_INTERVAL_MS, LogRate};
use tracing::warn;

use super::{NameServer, Reply};
use crate::error::{NamesrvError, NamesrvResult};
use crate::kv_config::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::limit;
use crate::route_table::{BrokerRegistration, ConnectionId, TOPIC_NAME_CHARS_MAX};

/// `MQVersion.Version.V3_0_11.ordinal()` (counted in the 5.3.3 enum): from this version on the
/// body is a `RegisterBrokerBody`.
const V3_0_11: i32 = 37;

/// Java's `MixAll.ZONE_NAME`: the zone a broker's zone hook adds to its registration.
const ZONE_NAME_KEY: &str = "__ZONE_NAME";

/// A broker re-registers every 30 s with the same over-long topics; one line per interval.
static TOPICS_LEFT_OUT_WARNINGS: LogRate = LogRate::every_ms(LIMIT_WARN_INTERVAL_MS);

/// What the shell worked out of a request before it reached the owner.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing: the owner reads the request itself.
    Nothing,
    /// A REGISTER_BROKER request's header and body, checked and decoded (or why they are not).
    Registration(Box<NamesrvResult<DecodedRegistration>>),
}

/// A REGISTER_BROKER request, decoded; the connection and time are the owner's to add.
#[derive(Debug)]
pub struct DecodedRegistration {
    header: RegisterBrokerRequestHeader,
    zone_name: Option<String>,
    topic_config: TopicConfigSerializeWrapper,
    filter_server_list: Option<Vec<String>>,
}

/// Decodes what can be decoded of `request` without the name server's state.
pub fn prepare(request: &RemotingCommand) -> Prepared {
    match request.request_code() {
        RequestCode::REGISTER_BROKER => Prepared::Registration(Box::new(decode_registration(request))),
        _ => Prepared::Nothing,
    }
}

pub(super) fn decode_registration(request: &RemotingCommand) -> NamesrvResult<DecodedRegistration> {
    let header = RegisterBrokerRequestHeader::from_command(request)?;
    check_body_crc(request, header.body_crc32)?;
    let (topic_config, filter_server_list) = registration_body(request, header.compressed)?;
    Ok(DecodedRegistration {
        zone_name: request.ext(ZONE_NAME_KEY).map(str::to_owned),
        header,
        topic_config,
        filter_server_list,
    })
}

impl NameServer {
    pub(super) fn register_broker(
        &mut self,
        decoded: NamesrvResult<DecodedRegistration>,
        connection: ConnectionId,
        now_ms: u64,
    ) -> NamesrvResult<Reply> {
        let DecodedRegistration {
            header,
            zone_name,
            topic_config,
            filter_server_list,
        } = decoded?;
        let registration = BrokerRegistration {
            zone_name,
            cluster_name: header.cluster_name,
            broker_addr: header.broker_addr,
            broker_name: header.broker_name,
            broker_id: header.broker_id,
            ha_server_addr: header.ha_server_addr,
            heartbeat_timeout_ms: header.heartbeat_timeout_millis,
            enable_acting_master: header.enable_acting_master,
            topic_config,
            filter_server_list,
            connection,
        };
        let delete_absent_topics = self.config.delete_topic_with_broker_registration;
        let broker_name = registration.broker_name.clone();
        let result = self
            .routes
            .register_broker(registration, now_ms, delete_absent_topics)?;
        if let Some(first) = result.topics_left_out.first()
            && let Some(not_logged) = TOPICS_LEFT_OUT_WARNINGS.allow_at(now_ms)
        {
            warn!(
                broker_name,
                topics = result.topics_left_out.len(),
                first = cut(first),
                registrations_not_logged = not_logged,
                "topics left out of a registration: the limit is {}",
                limit!(TOPIC_NAME_CHARS_MAX)
            );
        }
        let mut reply = Reply::with_header(&RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        });
        if self.config.return_order_topic_config_to_broker {
            reply.body = self
                .kv
                .namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
                .map(|table| table.encode());
        }
        Ok(reply)
    }

    pub(super) fn unregister_broker(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = UnRegisterBrokerRequestHeader::from_command(request)?;
        self.routes
            .unregister_broker(&header.cluster_name, &header.broker_addr, &header.broker_name);
        Ok(Reply::success())
    }

    pub(super) fn broker_heartbeat(&mut self, request: &RemotingCommand, now_ms: u64) -> NamesrvResult<Reply> {
        let header = BrokerHeartbeatRequestHeader::from_command(request)?;
        self.routes
            .refresh_liveness(&header.cluster_name, &header.broker_addr, now_ms);
        Ok(Reply::success())
    }

    /// Answers whether the broker's DataVersion differs from ours, with ours as the body.
    pub(super) fn query_data_version(&mut self, request: &RemotingCommand, now_ms: u64) -> NamesrvResult<Reply> {
        let header = QueryDataVersionRequestHeader::from_command(request)?;
        let version = request.body.as_deref().map(DataVersion::decode).transpose()?;
        let (changed, stored) =
            self.routes
                .query_data_version(&header.cluster_name, &header.broker_addr, version.as_ref(), now_ms);
        let mut reply = Reply::with_header(&QueryDataVersionResponseHeader { changed });
        reply.body = stored.map(|version| version.encode());
        Ok(reply)
    }

    /// Stores the queue data of one topic; Java answers SUCCESS even when it stores nothing.
    pub(super) fn register_topic(&mut self, request: &RemotingCommand) -> NamesrvResult<Reply> {
        let header = RegisterTopicRequestHeader::from_command(request)?;
        if let Some(body) = request.body.as_deref() {
            let route = TopicRouteData::decode(body)?;
            self.routes.register_topic(&header.topic, route.queue_datas)?;
        }
        Ok(Reply::success())
    }
}

/// The beginning of a topic for a log line: a topic left out may be megabytes long.
fn cut(topic: &str) -> &str {
    topic
        .char_indices()
        .nth(TOPIC_NAME_CHARS_MAX)
        .map_or(topic, |(end, _)| topic.get(..end).unwrap_or(topic))
}

/// `bodyCrc32` 0 means "unchecked"; an absent body has CRC 0, as in Java's `UtilAll.crc32(null)`.
fn check_body_crc(request: &RemotingCommand, declared: i32) -> NamesrvResult<()> {
    if declared == 0 {
        return Ok(());
    }
    let actual = request
        .body
        .as_deref()
        .map_or(0, |body| (crc32fast::hash(body) & 0x7FFF_FFFF) as i32);
    match actual == declared {
        true => Ok(()),
        false => Err(NamesrvError::CrcMismatch { declared, actual }),
    }
}

/// The topics and filter servers a REGISTER_BROKER body carries; the filter server list is
/// `None` for pre-V3_0_11 bodies, which do not have one.
fn registration_body(
    request: &RemotingCommand,
    compressed: bool,
) -> WireResult<(TopicConfigSerializeWrapper, Option<Vec<String>>)> {
    let modern = request.version >= V3_0_11;
    let Some(body) = request.body.as_deref() else {
        return Ok((TopicConfigSerializeWrapper::default(), modern.then(Vec::new)));
    };
    if modern {
        let compressed = compressed || is_zlib_stream(body);
        let decoded = RegisterBrokerBody::decode_request(body, compressed, request.version)?;
        Ok((decoded.topic_config_serialize_wrapper, Some(decoded.filter_server_list)))
    } else {
        Ok((TopicConfigSerializeWrapper::decode(body)?, None))
    }
}

/// RFC 1950: a zlib stream starts with CMF 0x78 (deflate, 32 KiB window, what Java's
/// `Deflater` writes) and CMF·256 + FLG is a multiple of 31.
fn is_zlib_stream(body: &[u8]) -> bool {
    match body {
        [cmf @ 0x78, flg, ..] => (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferrocket_wire::body::{KvTable, TopicConfig};
    use ferrocket_wire::codes::version;
    use ferrocket_wire::{RequestCode, ResponseCode};

    use super::super::testing::{expect, request, server};
    use super::*;
    use crate::route_table::testing::{CLUSTER, wrapper};

    fn register_request(name: &str, id: &str, addr: &str, topics: &[TopicConfig]) -> RemotingCommand {
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, topics),
        };
        request(
            RequestCode::REGISTER_BROKER,
            &[
                ("brokerName", name),
                ("brokerAddr", addr),
                ("clusterName", CLUSTER),
                ("haServerAddr", "ha:1"),
                ("brokerId", id),
                ("compressed", "false"),
                ("bodyCrc32", "0"),
            ],
        )
        .with_body(body.encode())
    }

    fn two_topics() -> Vec<TopicConfig> {
        use crate::route_table::testing::topic;
        vec![topic("TopicTest", 4), topic("TBW102", 8)]
    }

    #[test]
    fn register_then_slave_learns_its_master() {
        let mut server = server();
        let master = expect(
            &mut server,
            &register_request("b", "0", "m:1", &two_topics()),
            ResponseCode::SUCCESS,
        );
        assert_eq!(master.ext_fields.as_ref().map(|f| f.len()), Some(0));
        assert_eq!(master.body, None, "no ORDER_TOPIC_CONFIG namespace yet");
        let slave = expect(
            &mut server,
            &register_request("b", "1", "s:1", &[]),
            ResponseCode::SUCCESS,
        );
        assert_eq!(slave.ext("masterAddr"), Some("m:1"));
        assert_eq!(slave.ext("haServerAddr"), Some("ha:1"));
        assert!(server.routes().queue_data("TBW102", "b").is_some());
    }

    #[test]
    fn register_returns_order_topic_config() {
        let mut server = server();
        server.kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "TopicTest", "b:4").unwrap();
        let response = expect(
            &mut server,
            &register_request("b", "0", "m:1", &two_topics()),
            ResponseCode::SUCCESS,
        );
        let table = KvTable::decode(response.body.as_deref().unwrap()).unwrap();
        assert_eq!(table.table["TopicTest"], "b:4");
        server.config.return_order_topic_config_to_broker = false;
        let response = expect(
            &mut server,
            &register_request("b", "0", "m:1", &two_topics()),
            ResponseCode::SUCCESS,
        );
        assert_eq!(response.body, None);
    }

    #[test]
    fn crc_is_checked_when_declared() {
        let mut server = server();
        let mut good = register_request("b", "0", "m:1", &two_topics());
        let crc = (crc32fast::hash(good.body.as_deref().unwrap()) & 0x7FFF_FFFF).to_string();
        let mut bad = good.clone();
        good.ext_fields.as_mut().unwrap().insert("bodyCrc32", crc);
        expect(&mut server, &good, ResponseCode::SUCCESS);
        bad.ext_fields.as_mut().unwrap().insert("bodyCrc32", "12345");
        let response = expect(&mut server, &bad, ResponseCode::SYSTEM_ERROR);
        assert_eq!(response.remark.as_deref(), Some("crc32 not match"));
        bad.body = None;
        expect(&mut server, &bad, ResponseCode::SYSTEM_ERROR);
    }

    #[test]
    fn compressed_and_legacy_bodies() {
        let mut server = server();
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, &two_topics()),
        };
        let mut compressed = register_request("b", "0", "m:1", &[]);
        compressed.body = Some(Bytes::from(body.encode_compressed(version::V4_9_4).unwrap()));
        compressed.version = version::V4_9_4;
        compressed.ext_fields.as_mut().unwrap().insert("compressed", "true");
        expect(&mut server, &compressed, ResponseCode::SUCCESS);
        assert!(server.routes().queue_data("TopicTest", "b").is_some());

        let mut legacy = register_request("old", "0", "o:1", &[]);
        legacy.version = V3_0_11 - 1;
        legacy.body = Some(Bytes::from(wrapper(1, &two_topics()).encode()));
        expect(&mut server, &legacy, ResponseCode::SUCCESS);
        assert!(server.routes().queue_data("TBW102", "old").is_some());
        // A modern body under a pre-V3_0_11 version reads as a bare wrapper without topics.
        let mut confused = register_request("b", "0", "m:1", &two_topics());
        confused.version = V3_0_11 - 1;
        expect(&mut server, &confused, ResponseCode::SUCCESS);
    }

    /// What a 5.3.3 Java broker with `compressedRegister=true` sends: a zlib body under
    /// `compressed=false` (its `BrokerOuterAPI.registerBrokerAll` hard-codes the flag).
    #[test]
    fn a_compressed_body_flagged_uncompressed_is_recognised() {
        let mut server = server();
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, &two_topics()),
        };
        let zipped = body.encode_compressed(version::V5_3_3).unwrap();
        let mut request = register_request("b", "0", "m:1", &[]);
        request.version = version::V5_3_3;
        let crc = (crc32fast::hash(&zipped) & 0x7FFF_FFFF).to_string();
        request.ext_fields.as_mut().unwrap().insert("bodyCrc32", crc);
        request.body = Some(Bytes::from(zipped));
        expect(&mut server, &request, ResponseCode::SUCCESS);
        assert!(server.routes().queue_data("TopicTest", "b").is_some());
        assert!(is_zlib_stream(&[0x78, 0xDA]) && is_zlib_stream(&[0x78, 0x9C]));
        assert!(!is_zlib_stream(b"{}") && !is_zlib_stream(b"x") && !is_zlib_stream(&[0x78, 0x00]));
    }

    #[test]
    fn bad_register_requests() {
        let mut server = server();
        let single = register_request("b", "0", "m:1", &two_topics()[..1]);
        let response = expect(&mut server, &single, ResponseCode::SYSTEM_ERROR);
        assert_eq!(response.remark.as_deref(), Some("register broker failed"));
        let not_json = register_request("b", "0", "m:1", &[]).with_body(&b"not json"[..]);
        let response = expect(&mut server, &not_json, ResponseCode::SYSTEM_ERROR);
        assert!(response.remark.unwrap().contains("RegisterBrokerBody"));
        let mut missing = register_request("b", "0", "m:1", &two_topics());
        missing.ext_fields.as_mut().unwrap().remove("haServerAddr");
        let response = expect(&mut server, &missing, ResponseCode::SYSTEM_ERROR);
        assert_eq!(
            response.remark.as_deref(),
            Some("missing required header field `haServerAddr`")
        );
        let mut bad_id = register_request("b", "x", "m:1", &two_topics());
        bad_id.ext_fields.as_mut().unwrap().insert("brokerId", "x");
        expect(&mut server, &bad_id, ResponseCode::SYSTEM_ERROR);
        let mut compressed_garbage = register_request("b", "0", "m:1", &two_topics());
        compressed_garbage
            .ext_fields
            .as_mut()
            .unwrap()
            .insert("compressed", "true");
        expect(&mut server, &compressed_garbage, ResponseCode::SYSTEM_ERROR);
        assert_eq!(server.routes().live_broker_count(), 0);
    }

    #[test]
    fn unregister_heartbeat_and_data_version() {
        let mut server = server();
        expect(
            &mut server,
            &register_request("b", "0", "m:1", &two_topics()),
            ResponseCode::SUCCESS,
        );
        let broker = [
            ("brokerName", "b"),
            ("brokerAddr", "m:1"),
            ("clusterName", CLUSTER),
            ("brokerId", "0"),
        ];
        let same_version = wrapper(1, &[]).data_version.encode();
        let query = request(RequestCode::QUERY_DATA_VERSION, &broker).with_body(same_version.clone());
        let response = expect(&mut server, &query, ResponseCode::SUCCESS);
        assert_eq!(response.ext("changed"), Some("false"));
        assert_eq!(response.body.as_deref(), Some(&same_version[..]));
        let no_body = expect(
            &mut server,
            &request(RequestCode::QUERY_DATA_VERSION, &broker),
            ResponseCode::SUCCESS,
        );
        assert_eq!(no_body.ext("changed"), Some("true"));
        let bad_body = request(RequestCode::QUERY_DATA_VERSION, &broker).with_body(&b"[1]"[..]);
        expect(&mut server, &bad_body, ResponseCode::SYSTEM_ERROR);

        expect(
            &mut server,
            &request(RequestCode::BROKER_HEARTBEAT, &broker),
            ResponseCode::SUCCESS,
        );
        let response = expect(
            &mut server,
            &request(RequestCode::BROKER_HEARTBEAT, &broker[1..]),
            ResponseCode::SYSTEM_ERROR,
        );
        assert_eq!(
            response.remark.as_deref(),
            Some("missing required header field `brokerName`")
        );

        expect(
            &mut server,
            &request(RequestCode::UNREGISTER_BROKER, &broker),
            ResponseCode::SUCCESS,
        );
        assert_eq!(server.routes().live_broker_count(), 0);
        expect(
            &mut server,
            &request(RequestCode::UNREGISTER_BROKER, &broker[..3]),
            ResponseCode::SYSTEM_ERROR,
        );
        let unknown = request(RequestCode::QUERY_DATA_VERSION, &broker).with_body(same_version);
        let response = expect(&mut server, &unknown, ResponseCode::SUCCESS);
        assert_eq!(
            (response.ext("changed"), response.body.as_deref()),
            (Some("true"), None)
        );
    }

    #[test]
    fn register_topic_in_namesrv() {
        let mut server = server();
        expect(
            &mut server,
            &register_request("b", "0", "m:1", &two_topics()),
            ResponseCode::SUCCESS,
        );
        let route =
            r#"{"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2}]}"#;
        let register = request(RequestCode::REGISTER_TOPIC_IN_NAMESRV, &[("topic", "New")]).with_body(route.as_bytes());
        expect(&mut server, &register, ResponseCode::SUCCESS);
        assert_eq!(
            server.routes().queue_data("New", "b").map(|q| q.write_queue_nums),
            Some(2)
        );
        expect(
            &mut server,
            &request(RequestCode::REGISTER_TOPIC_IN_NAMESRV, &[("topic", "X")]),
            ResponseCode::SUCCESS,
        );
        let garbage = request(RequestCode::REGISTER_TOPIC_IN_NAMESRV, &[("topic", "X")]).with_body(&b"{"[..]);
        expect(&mut server, &garbage, ResponseCode::SYSTEM_ERROR);
        expect(
            &mut server,
            &request(RequestCode::REGISTER_TOPIC_IN_NAMESRV, &[]),
            ResponseCode::SYSTEM_ERROR,
        );
    }
}
