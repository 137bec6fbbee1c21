//! Requests any client can send that must not hurt the broker (issue 11): absurd topic settings
//! and a run-time change of the name-server address. Each is refused with Java's code and a
//! remark naming the limit, and the broker keeps serving a well-behaved client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{ask, client, create_topic_with, send_v2, start_broker};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test(start_paused = true)]
async fn absurd_queue_counts_and_permissions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    for (read, write, perm) in [
        (-1, 4, 6),
        (0, 4, 6),
        (4, 0, 6),
        (100_000, 4, 6),
        (4, i32::MAX, 6),
        (4, 4, -1),
        (4, 4, 255),
        (4, 4, i32::MAX),
    ] {
        let response = ask(&client, &broker, create_topic_with("Absurd", read, write, perm)).await;
        assert_eq!(
            response.code,
            ResponseCode::INVALID_PARAMETER.0,
            "{read} {write} {perm}: {:?}",
            response.remark
        );
        let remark = response.remark.unwrap_or_default();
        assert!(
            remark.contains("TOPIC_QUEUE_NUMS_MAX") || remark.contains("perm"),
            "{remark}"
        );
    }
    assert!(broker.broker().topics.lock().get("Absurd").is_none());

    // The limits themselves are accepted, and the broker serves as before.
    let response = ask(&client, &broker, create_topic_with("Roomy", 1_024, 1_024, 15)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let response = ask(&client, &broker, send_v2("Roomy", 3, "", b"still served")).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_name_server_address_cannot_be_changed_by_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let update = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG).with_body("namesrvAddr=10.66.0.1:9876\n");
    let response = ask(&client, &broker, update).await;
    assert_eq!(response.code, ResponseCode::NO_PERMISSION.0);
    assert_eq!(response.remark.as_deref(), Some("Can not update config in black list."));
    assert!(broker.broker().config().namesrv_addresses().is_empty());

    // An operator who wants it says so in broker.conf.
    let dir = tempfile::tempdir().unwrap();
    let allowing = start_broker(dir.path(), |config| config.namesrv_addr_runtime_update_enable = true).await;
    let update = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG).with_body("namesrvAddr=127.0.0.1:1\n");
    let response = ask(&client, &allowing, update).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    assert_eq!(allowing.broker().config().namesrv_addresses(), ["127.0.0.1:1"]);
    let response = ask(&client, &broker, send_v2("StillServed", 0, "", b"x")).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    allowing.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_busy_ha_port_is_named_and_leaves_no_crash_marker() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ferrocket_broker::BrokerConfig::standalone(dir.path(), "127.0.0.1", 0, "127.0.0.1:1");
    config.namesrv_addr = None;
    config.ha_listen_port = port;
    let clock = ferrocket_broker::Clock::manual(1_700_000_000_000);
    let error = ferrocket_broker::start(config.clone(), clock.clone(), None)
        .await
        .err()
        .expect("the HA port is taken");
    let text = error.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("haListenPort"), "{text}");
    assert!(
        !dir.path().join("store/abort").exists(),
        "a refused start is not a crash"
    );
    drop(taken);
    let broker = ferrocket_broker::start(config, clock, None).await.unwrap();
    broker.shutdown().await;
}
