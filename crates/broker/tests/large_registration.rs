//! Registration of a topic table too large for one frame (issue 11, item 4): 49 900 topics of
//! 127 characters make a 19.9 MB REGISTER_BROKER body, over the 16 MiB frame limit. The broker
//! registers them in batches, every route reaches the name server, and GET_BROKER_RUNTIME_INFO
//! tells how registration went; a broker whose name server does not answer says so there.

// Helpers outside `#[test]` functions unwrap too: a failed setup step should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TIMEOUT, client};
use ferrocket_broker::{BrokerConfig, BrokerHandle, Clock};
use ferrocket_namesrv::{NamesrvConfig, NamesrvHandle};
use ferrocket_wire::body::{JsonBody, KvTable, TopicConfig, TopicConfigSerializeWrapper, TopicRouteData};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

/// Our broker's table holds 50 000 topics, a handful of them its own system topics.
const TOPICS: usize = 49_900;

/// `big-000042-` padded with `x` to 127 characters, the longest a Java broker accepts.
fn topic_name(i: usize) -> String {
    let mut name = format!("big-{i:06}-");
    name.extend(std::iter::repeat_n('x', 127 - name.len()));
    name
}

/// Writes `config/topics.json` under the store root, as a broker that created them would have.
fn write_topics(store_root: &Path) {
    let mut wrapper = TopicConfigSerializeWrapper::default();
    wrapper.data_version.counter = 1;
    for i in 0..TOPICS {
        let name = topic_name(i);
        let config = TopicConfig {
            topic_name: name.clone(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: 6,
            ..TopicConfig::default()
        };
        wrapper.topic_config_table.insert(name, config);
    }
    let dir = store_root.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("topics.json"), wrapper.encode()).unwrap();
}

async fn start_broker(dir: &Path, namesrv_addr: &str) -> BrokerHandle {
    let mut config = BrokerConfig::standalone(dir, "127.0.0.1", 0, namesrv_addr);
    config.store.commit_log_segment_bytes = 1 << 24;
    config.store.consume_queue_file_entries = 1000;
    write_topics(&config.store_path_root_dir);
    ferrocket_broker::start(config, Clock::system(), None).await.unwrap()
}

async fn runtime_info(broker: &BrokerHandle) -> KvTable {
    let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
    let response = common::ask(&client(), broker, request).await;
    assert_eq!(response.code, ResponseCode::SUCCESS.0);
    KvTable::decode(response.body.as_deref().unwrap()).unwrap()
}

async fn route(namesrv: &NamesrvHandle, topic: &str) -> Option<TopicRouteData> {
    let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
        .with_ext_fields([("topic", topic)].into_iter().collect());
    let addr = namesrv.local_addr().to_string();
    let response = client().invoke(&addr, request, TIMEOUT).await.unwrap();
    (response.code == ResponseCode::SUCCESS.0)
        .then(|| TopicRouteData::decode(response.body.as_deref().unwrap()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_over_the_frame_limit_registers_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = ferrocket_namesrv::start(
        NamesrvConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
        &dir.path().join("namesrv"),
        None,
    )
    .await
    .unwrap();
    let broker = start_broker(dir.path(), &namesrv.local_addr().to_string()).await;
    // The first round starts at once; encoding and sending 20 MB takes seconds in a debug build.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let last = topic_name(TOPICS - 1);
    while route(&namesrv, &last).await.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the last batch never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in [0, 1, 799, 800, 25_000, TOPICS - 2] {
        let route = route(&namesrv, &topic_name(i))
            .await
            .expect("every batch's topics are routed");
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    }
    let info = runtime_info(&broker).await;
    let batches: usize = info.table["namesrvRegisterBatchesLastRound"].parse().unwrap();
    assert!(batches >= TOPICS / 800, "{batches}");
    assert_eq!(info.table["namesrvRegisterFailedRoundsInARow"], "0");
    assert_ne!(info.table["namesrvRegisterLastOkTimeStamp"], "0");
    broker.shutdown().await;
    namesrv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_registration_shows_in_the_runtime_info() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = BrokerConfig::standalone(dir.path(), "127.0.0.1", 0, &closed.to_string());
    config.store.commit_log_segment_bytes = 1 << 24;
    config.store.consume_queue_file_entries = 1000;
    let broker = ferrocket_broker::start(config, Clock::system(), None).await.unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let info = runtime_info(&broker).await;
        if info.table["namesrvRegisterFailedRoundsInARow"] != "0" {
            assert_eq!(info.table["namesrvRegisterLastOkTimeStamp"], "0");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no failed round reported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    broker.shutdown().await;
}
