//! The pure name server against frames written by the official Java classes
//! (`crates/wire/tests/golden/`, see its README): 5.3.3 and 4.9.8 brokers register (JSON and
//! binary headers, plain and compressed bodies), and the answers are Java's: the slave's master
//! and HA addresses, the route body byte for byte in both JSON dialects, the TOPIC_NOT_EXIST
//! remark. The golden brokers are slaves of broker-a; the master is the same frame with the
//! master's id and addresses, so its body and CRC stay Java's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferrocket_namesrv::kv_config::KvConfig;
use ferrocket_namesrv::route_table::ConnectionId;
use ferrocket_namesrv::{NameServer, NamesrvConfig};
use ferrocket_wire::RemotingCommand;

fn golden(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../wire/tests/golden")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn frame(relative: &str) -> RemotingCommand {
    let bytes = golden(relative);
    let (command, used) = RemotingCommand::decode(&bytes).unwrap();
    assert_eq!(used, bytes.len(), "{relative}");
    command
}

fn name_server() -> NameServer {
    NameServer::new(NamesrvConfig::default(), KvConfig::new(), 0)
}

fn handle(server: &mut NameServer, request: &RemotingCommand) -> RemotingCommand {
    let response = server.handle(request, ConnectionId(1), 0).response;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    response
}

/// The golden slave's registration as its master (id 0) or another broker's master would send it.
fn as_master(slave: &RemotingCommand, broker_name: &str, host: &str) -> RemotingCommand {
    let mut master = slave.clone();
    let fields = master.ext_fields.as_mut().unwrap();
    fields.insert("brokerName", broker_name);
    fields.insert("brokerId", "0");
    fields.insert("brokerAddr", format!("{host}:10911"));
    fields.insert("haServerAddr", format!("{host}:10912"));
    master
}

fn ext_map(command: &RemotingCommand) -> BTreeMap<String, String> {
    let fields = command.ext_fields.iter().flat_map(|fields| fields.entries());
    fields
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
        .collect()
}

/// Everything but `version`, which is the sender's release.
fn assert_same_response(ours: &RemotingCommand, java: &RemotingCommand) {
    assert_eq!((ours.code, ours.opaque, ours.flag), (java.code, java.opaque, java.flag));
    assert_eq!((&ours.remark, ours.serialize_type), (&java.remark, java.serialize_type));
    assert_eq!(ext_map(ours), ext_map(java));
    assert_eq!(ours.body, java.body);
}

#[test]
fn a_5_3_3_slave_learns_its_master_as_java_answers() {
    for encoding in ["json", "rmq"] {
        let slave = frame(&format!("frames/register_broker.request.{encoding}.bin"));
        let mut server = name_server();
        handle(&mut server, &as_master(&slave, "broker-a", "192.168.0.10"));
        let response = handle(&mut server, &slave);
        let java = frame(&format!("frames/register_broker.response.{encoding}.bin"));
        assert_same_response(&response, &java);
    }
}

fn two_broker_cluster() -> NameServer {
    let slave = frame("frames/register_broker.request.json.bin");
    let mut server = name_server();
    handle(&mut server, &as_master(&slave, "broker-a", "192.168.0.10"));
    handle(&mut server, &slave);
    handle(&mut server, &as_master(&slave, "broker-b", "192.168.0.20"));
    server
}

#[test]
fn routes_match_javas_bytes_in_both_dialects() {
    let mut server = two_broker_cluster();
    for encoding in ["json", "rmq"] {
        let request = frame(&format!("frames/get_routeinfo_by_topic.request.{encoding}.bin"));
        let response = handle(&mut server, &request);
        let java = frame(&format!("frames/get_routeinfo_by_topic.response.{encoding}.bin"));
        assert_same_response(&response, &java);
        assert_eq!(
            response.body.as_deref(),
            Some(&golden("bodies/topic_route_data.standard.json")[..])
        );
    }
    let mut old_client = frame("frames/get_routeinfo_by_topic.request.json.bin");
    old_client.version = 399;
    let response = handle(&mut server, &old_client);
    assert_eq!(
        response.body.as_deref(),
        Some(&golden("bodies/topic_route_data.json")[..])
    );
}

#[test]
fn unknown_topic_remark_is_javas() {
    let mut server = two_broker_cluster();
    for encoding in ["json", "rmq"] {
        let java = frame(&format!(
            "frames/get_routeinfo_by_topic.response_topic_not_exist.{encoding}.bin"
        ));
        let mut request = frame(&format!("frames/get_routeinfo_by_topic.request.{encoding}.bin"));
        request.ext_fields.as_mut().unwrap().insert("topic", "NoSuchTopic");
        request.opaque = java.opaque;
        let response = server.handle(&request, ConnectionId(1), 0).response;
        assert_same_response(&response, &java);
    }
}

#[test]
fn a_4_9_8_broker_registers_plain_and_compressed() {
    for name in [
        "register_broker.request.json.bin",
        "register_broker.request.rmq.bin",
        "register_broker.request_compressed.json.bin",
        "register_broker.request_compressed.rmq.bin",
    ] {
        let slave = frame(&format!("v49/frames/{name}"));
        let mut server = name_server();
        handle(&mut server, &as_master(&slave, "broker-a", "192.168.0.10"));
        let response = handle(&mut server, &slave);
        assert_eq!(response.ext("masterAddr"), Some("192.168.0.10:10911"), "{name}");
        assert_eq!(response.ext("haServerAddr"), Some("192.168.0.10:10912"), "{name}");
        let routes = server.routes();
        assert_eq!(
            routes.queue_data("TBW102", "broker-a").map(|q| q.perm),
            Some(7),
            "{name}"
        );
        assert_eq!(
            routes.queue_data("TopicTest", "broker-a").map(|q| q.write_queue_nums),
            Some(4),
            "{name}"
        );
        let live = routes.live_broker("DefaultCluster", "192.168.0.11:10911").unwrap();
        assert_eq!(live.data_version.counter, 12, "{name}");
    }
}
