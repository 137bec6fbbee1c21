//! Reads fail over to a slave while the route names no master: a fake name server routes a topic
//! to a broker set with only its slave (id 1) left, and a fake slave serves the pull.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrocket_client::{ClientOptions, MessageQueue, PullConsumer, PullConsumerOptions};
use ferrocket_net::{ConnectionHandle, Router, Server, ServerConfig};
use ferrocket_wire::body::{BrokerData, JsonBody, QueueData, TopicRouteData};
use ferrocket_wire::header::{CustomHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn pulls_go_to_the_slave_while_no_master_is_routed() {
    let pulls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&pulls);
    let on_pull = move |request: RemotingCommand, _connection: ConnectionHandle| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let header = PullMessageRequestHeader::from_command(&request).unwrap();
            assert_eq!(header.queue_offset, 7, "the offset the consumer seeked to");
            let answer = PullMessageResponseHeader {
                suggest_which_broker_id: 1,
                next_begin_offset: 7,
                min_offset: 0,
                max_offset: 7,
                ..PullMessageResponseHeader::default()
            };
            Some(
                RemotingCommand::response_to(&request, ResponseCode::PULL_NOT_FOUND, None)
                    .with_ext_fields(answer.to_ext_fields()),
            )
        }
    };
    let slave = Server::bind(
        loopback(),
        Router::new().route(RequestCode::PULL_MESSAGE, on_pull),
        ServerConfig::default(),
    )
    .await
    .unwrap();
    let route = TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_name: "broker-a".into(),
            cluster: "c".into(),
            broker_addrs: BTreeMap::from([(1, slave.local_addr().to_string())]),
            ..BrokerData::default()
        }],
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 1,
            write_queue_nums: 1,
            topic_sys_flag: 0,
        }],
        ..TopicRouteData::default()
    }
    .encode();
    let on_route = move |request: RemotingCommand, _connection: ConnectionHandle| {
        let route = route.clone();
        async move { Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(route)) }
    };
    let namesrv = Server::bind(
        loopback(),
        Router::new().route(RequestCode::GET_ROUTEINFO_BY_TOPIC, on_route),
        ServerConfig::default(),
    )
    .await
    .unwrap();

    let mut options = PullConsumerOptions::new(ClientOptions::new(&namesrv.local_addr().to_string()), "cg");
    options.auto_commit = false;
    let consumer = PullConsumer::start(options).unwrap();
    let queue = MessageQueue::new("T", "broker-a", 0);
    consumer.assign(vec![queue.clone()], "*").await.unwrap();
    consumer.seek(&queue, 7).unwrap();
    assert!(consumer.poll(Duration::from_millis(200)).await.unwrap().is_empty());
    assert!(pulls.load(Ordering::SeqCst) >= 1, "the slave served no pull");
    consumer.shutdown().await;
}
