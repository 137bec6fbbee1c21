//! The real name server on 127.0.0.1:0, driven by the real transport client: registration and
//! routes in both header encodings, KV config across a restart on the same data directory,
//! brokers dropped when their connection closes, and bad input answered with Java's codes while
//! the server keeps serving.

// Helpers outside `#[test]` functions unwrap too: a failed setup step should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ferrocket_namesrv::{NamesrvConfig, NamesrvHandle, start};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{JsonBody, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicRouteData};
use ferrocket_wire::codes::version;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

/// Generous bound for steps that complete at once on loopback; only a bug makes it fire.
const STEP: Duration = Duration::from_secs(10);

async fn start_on(data_dir: &Path) -> NamesrvHandle {
    let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
    start(NamesrvConfig::default(), any_port, data_dir, None).await.unwrap()
}

fn client() -> Client {
    Client::new(Router::new(), ClientConfig::default())
}

fn request(code: RequestCode, fields: &[(&str, &str)], serialize_type: SerializeType) -> RemotingCommand {
    let mut request = RemotingCommand::request(code);
    request.serialize_type = serialize_type;
    if !fields.is_empty() {
        request.ext_fields = Some(fields.iter().copied().collect());
    }
    request
}

fn topic(name: &str) -> TopicConfig {
    TopicConfig {
        topic_name: name.into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        ..TopicConfig::default()
    }
}

fn register_request(broker_name: &str, addr: &str, topics: &[&str]) -> RemotingCommand {
    let mut wrapper = TopicConfigSerializeWrapper::default();
    wrapper.data_version.counter = 1;
    for name in topics {
        wrapper.topic_config_table.insert((*name).into(), topic(name));
    }
    let body = RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: wrapper,
    };
    let crc = (crc32fast::hash(&body.encode()) & 0x7FFF_FFFF).to_string();
    request(
        RequestCode::REGISTER_BROKER,
        &[
            ("brokerName", broker_name),
            ("brokerAddr", addr),
            ("clusterName", "DefaultCluster"),
            ("haServerAddr", "127.0.0.1:10912"),
            ("brokerId", "0"),
            ("compressed", "false"),
            ("bodyCrc32", &crc),
        ],
        SerializeType::Json,
    )
    .with_body(body.encode())
}

async fn call(client: &Client, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, STEP).await.unwrap()
}

fn route_request(topic: &str, serialize_type: SerializeType) -> RemotingCommand {
    request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &[("topic", topic)], serialize_type)
}

#[tokio::test]
async fn register_and_route_in_both_header_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let client = client();

    let registered = call(
        &client,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &["TopicTest", "TBW102"]),
    )
    .await;
    assert_eq!(registered.code, ResponseCode::SUCCESS.0, "{:?}", registered.remark);

    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let response = call(&client, &addr, route_request("TopicTest", serialize_type)).await;
        assert_eq!(response.code, ResponseCode::SUCCESS.0);
        assert_eq!(
            response.serialize_type, serialize_type,
            "answered in the request's encoding"
        );
        let route = TopicRouteData::decode(response.body.as_deref().unwrap()).unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs[&0], "127.0.0.1:10911");
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        let text = String::from_utf8(response.body.unwrap().to_vec()).unwrap();
        assert!(text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#), "{text}");
    }
    let mut old_client = route_request("TopicTest", SerializeType::RocketMq);
    old_client.version = version::V4_9_4 - 2;
    let legacy = call(&client, &addr, old_client).await;
    let text = String::from_utf8(legacy.body.unwrap().to_vec()).unwrap();
    assert!(text.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#), "{text}");

    let missing = call(&client, &addr, route_request("Nope", SerializeType::RocketMq)).await;
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.0);
    assert!(
        missing
            .remark
            .unwrap()
            .starts_with("No topic route info in name server for the topic: Nope\nSee ")
    );

    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let client = client();
    let put = request(
        RequestCode::PUT_KV_CONFIG,
        &[
            ("namespace", "ORDER_TOPIC_CONFIG"),
            ("key", "TopicTest"),
            ("value", "broker-a:4"),
        ],
        SerializeType::Json,
    );
    assert_eq!(call(&client, &addr, put).await.code, ResponseCode::SUCCESS.0);
    client.shutdown().await;
    server.shutdown().await;
    assert!(dir.path().join("namesrv").join("kvConfig.json").exists());

    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let client = self::client();
    let get = request(
        RequestCode::GET_KV_CONFIG,
        &[("namespace", "ORDER_TOPIC_CONFIG"), ("key", "TopicTest")],
        SerializeType::RocketMq,
    );
    let response = call(&client, &addr, get).await;
    assert_eq!(response.code, ResponseCode::SUCCESS.0);
    assert_eq!(response.ext("value"), Some("broker-a:4"));
    // A broker registering now learns the order config in the response body.
    let registered = call(
        &client,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &["A", "B"]),
    )
    .await;
    assert_eq!(
        registered.body.as_deref(),
        Some(&br#"{"table":{"TopicTest":"broker-a:4"}}"#[..])
    );
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_brokers_routes_go_when_its_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let broker = client();
    let observer = client();
    let registered = call(
        &broker,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &["T1", "T2"]),
    )
    .await;
    assert_eq!(registered.code, ResponseCode::SUCCESS.0);
    assert_eq!(
        call(&observer, &addr, route_request("T1", SerializeType::Json))
            .await
            .code,
        0
    );
    broker.shutdown().await;
    // The close reaches the server asynchronously; each probe is a real round trip.
    let gone = tokio::time::timeout(STEP, async {
        loop {
            let response = call(&observer, &addr, route_request("T1", SerializeType::Json)).await;
            if response.code == ResponseCode::TOPIC_NOT_EXIST.0 {
                break;
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "the route outlived its broker's connection");
    observer.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_javas_codes_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let client = client();

    let no_topic = call(
        &client,
        &addr,
        request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &[], SerializeType::RocketMq),
    )
    .await;
    assert_eq!(no_topic.code, ResponseCode::SYSTEM_ERROR.0);
    assert_eq!(
        no_topic.remark.as_deref(),
        Some("missing required header field `topic`")
    );

    let mut not_json = register_request("broker-a", "127.0.0.1:10911", &["A", "B"]);
    not_json.ext_fields.as_mut().unwrap().insert("bodyCrc32", "0");
    let not_json = not_json.with_body(&b"<xml/>"[..]);
    let response = call(&client, &addr, not_json).await;
    assert_eq!(response.code, ResponseCode::SYSTEM_ERROR.0);

    let mut bad_crc = register_request("broker-a", "127.0.0.1:10911", &["A", "B"]);
    bad_crc.ext_fields.as_mut().unwrap().insert("bodyCrc32", "1");
    let response = call(&client, &addr, bad_crc).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (1, Some("crc32 not match"))
    );

    let long = "T".repeat(100_000);
    let huge_route = call(&client, &addr, route_request(&long, SerializeType::Json)).await;
    assert_eq!(huge_route.code, ResponseCode::TOPIC_NOT_EXIST.0);
    // An over-long topic is left out; the rest of the registration is taken (issue 11: one bad
    // topic must not take a broker out of the routes).
    let long_topic = "T".repeat(256);
    let huge_register = call(
        &client,
        &addr,
        register_request("broker-c", "127.0.0.1:30911", &[&long_topic, "C"]),
    )
    .await;
    assert_eq!(huge_register.code, ResponseCode::SUCCESS.0);
    let routed = |topic: String| {
        let client = &client;
        let addr = &addr;
        async move {
            call(client, addr, route_request(&topic, SerializeType::Json))
                .await
                .code
        }
    };
    assert_eq!(routed("C".to_owned()).await, ResponseCode::SUCCESS.0);
    assert_eq!(routed(long_topic).await, ResponseCode::TOPIC_NOT_EXIST.0);

    let single = call(
        &client,
        &addr,
        register_request("broker-b", "127.0.0.1:20911", &["Only"]),
    )
    .await;
    assert_eq!(
        (single.code, single.remark.as_deref()),
        (1, Some("register broker failed"))
    );

    let attack = request(RequestCode::UPDATE_NAMESRV_CONFIG, &[], SerializeType::Json)
        .with_body(&b"configStorePath=/etc/cron.d/evil\n"[..]);
    let response = call(&client, &addr, attack).await;
    assert_eq!(response.code, ResponseCode::NO_PERMISSION.0);

    let unknown = call(&client, &addr, request(RequestCode(9999), &[], SerializeType::Json)).await;
    assert_eq!(unknown.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.0);

    // Still serving: a good registration and its route.
    let registered = call(
        &client,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &["A", "B"]),
    )
    .await;
    assert_eq!(registered.code, ResponseCode::SUCCESS.0);
    assert_eq!(
        call(&client, &addr, route_request("A", SerializeType::RocketMq))
            .await
            .code,
        0
    );
    let config = call(
        &client,
        &addr,
        request(RequestCode::GET_NAMESRV_CONFIG, &[], SerializeType::Json),
    )
    .await;
    assert!(String::from_utf8_lossy(config.body.as_deref().unwrap()).contains("scanNotActiveBrokerInterval=5000"));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn silent_brokers_expire_on_the_scan_timer() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path()).await;
    let addr = server.local_addr().to_string();
    let client = client();
    let mut register = register_request("broker-a", "127.0.0.1:10911", &["T1", "T2"]);
    register
        .ext_fields
        .as_mut()
        .unwrap()
        .insert("heartbeatTimeoutMillis", "10000");
    assert_eq!(call(&client, &addr, register).await.code, 0);
    // Scans run every 5 s; at 10 s the broker is exactly at its timeout and still alive.
    tokio::time::sleep(Duration::from_millis(9_000)).await;
    assert_eq!(
        call(&client, &addr, route_request("T1", SerializeType::Json))
            .await
            .code,
        0
    );
    tokio::time::sleep(Duration::from_millis(7_000)).await;
    let expired = call(&client, &addr, route_request("T1", SerializeType::Json)).await;
    assert_eq!(expired.code, ResponseCode::TOPIC_NOT_EXIST.0);
    client.shutdown().await;
    server.shutdown().await;
}
