//! A consumer's first heartbeat creates its group's `%RETRY%` topic, and the broker tells the
//! name server before it answers (Java's `createTopicInSendMessageBackMethod` registers at once):
//! the client looks the retry topic's route up right after its heartbeat, and a miss there costs
//! it a 20 s rebalance before its first retry. Real time: the broker's registration watch runs
//! every 200 ms, and the route is asked for well within that, the moment the heartbeat answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use ferrocket_broker::{BrokerConfig, Clock};
use ferrocket_namesrv::NamesrvConfig;
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{JsonBody, TopicRouteData};
use ferrocket_wire::header::{CustomHeader, GetRouteInfoRequestHeader};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

mod common;

use common::{consumer_heartbeat, create_topic};

const TIMEOUT: Duration = Duration::from_secs(5);

async fn route(client: &Client, namesrv: &str, topic: &str) -> Option<TopicRouteData> {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        ..Default::default()
    };
    let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext_fields(header.to_ext_fields());
    let response = client.invoke(namesrv, request, TIMEOUT).await.unwrap();
    (response.code == ResponseCode::SUCCESS.0)
        .then(|| TopicRouteData::decode(response.body.as_deref().unwrap()).unwrap())
}

#[tokio::test]
async fn the_retry_topic_is_routable_when_the_first_heartbeat_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = ferrocket_namesrv::start(
        NamesrvConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
        &dir.path().join("namesrv"),
        None,
    )
    .await
    .unwrap();
    let namesrv_addr = namesrv.local_addr().to_string();
    let mut config = BrokerConfig::standalone(dir.path(), "127.0.0.1", 0, &namesrv_addr);
    config.store.commit_log_segment_bytes = 1 << 20;
    config.store.consume_queue_file_entries = 1000;
    let broker = ferrocket_broker::start(config, Clock::manual(Clock::system().now_ms()), None)
        .await
        .unwrap();
    let broker_addr = broker.local_addr().to_string();
    let client = Client::new(Router::new(), ClientConfig::default());
    // An admin topic creation registers before it answers: the broker is known and idle after.
    let created = client
        .invoke(&broker_addr, create_topic("RetryRouteTopic", 4), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(created.code, ResponseCode::SUCCESS.0);
    assert!(route(&client, &namesrv_addr, "RetryRouteTopic").await.is_some());

    for group in ["retry-route-first", "retry-route-second"] {
        let retry = format!("%RETRY%{group}");
        assert!(route(&client, &namesrv_addr, &retry).await.is_none());
        let response = client
            .invoke(
                &broker_addr,
                consumer_heartbeat("127.0.0.1@retry-route", group, "RetryRouteTopic", 100),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(response.code, ResponseCode::SUCCESS.0);
        let route = route(&client, &namesrv_addr, &retry)
            .await
            .unwrap_or_else(|| panic!("{retry} has no route right after the heartbeat"));
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].read_queue_nums, 1);
        assert_eq!(
            route.broker_datas[0].broker_addrs.get(&0).map(String::as_str),
            Some(broker_addr.as_str())
        );
    }
    broker.shutdown().await;
    namesrv.shutdown().await;
    client.shutdown().await;
}
