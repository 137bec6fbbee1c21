//! The producer's retry and fault avoidance against fake brokers on loopback: a name server that
//! routes a topic to two brokers, one refusing every send with a retryable code. Real sockets and
//! our own transport; nothing of a real broker but its answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrocket_client::{ClientError, ClientOptions, Message, Producer, ProducerOptions};
use ferrocket_net::{Router, Server, ServerConfig};
use ferrocket_wire::body::{BrokerData, JsonBody, QueueData, TopicRouteData};
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeader, SendMessageResponseHeader};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

/// A fake broker: answers every send with `code`, counting them.
async fn broker(code: ResponseCode, sends: Arc<AtomicUsize>) -> Server {
    let handler = move |request: RemotingCommand, _connection| {
        let sends = Arc::clone(&sends);
        async move {
            sends.fetch_add(1, Ordering::SeqCst);
            let header = SendMessageRequestHeader::from_send_command(&request).unwrap();
            let mut response = RemotingCommand::response_to(&request, code, Some("fake".into()));
            if code == ResponseCode::SUCCESS {
                let answer = SendMessageResponseHeader {
                    msg_id: "7F00000100002A9F0000000000000000".into(),
                    queue_id: header.queue_id,
                    queue_offset: 5,
                    transaction_id: None,
                    batch_uniq_id: None,
                    recall_handle: None,
                    region_id: Some("DefaultRegion".into()),
                    trace_on: Some(false),
                };
                response = response.with_ext_fields(answer.to_ext_fields());
            }
            Some(response)
        }
    };
    let router = Router::new().route(RequestCode::SEND_MESSAGE_V2, handler);
    Server::bind(loopback(), router, ServerConfig::default()).await.unwrap()
}

/// A fake name server routing every topic to `brokers` (name, address), 2 queues each, and
/// counting route requests.
async fn namesrv(brokers: Vec<(String, SocketAddr)>, lookups: Arc<AtomicUsize>) -> Server {
    let route = TopicRouteData {
        broker_datas: brokers
            .iter()
            .map(|(name, addr)| BrokerData {
                broker_name: name.clone(),
                cluster: "c".into(),
                broker_addrs: BTreeMap::from([(0, addr.to_string())]),
                ..BrokerData::default()
            })
            .collect(),
        queue_datas: brokers
            .iter()
            .map(|(name, _)| QueueData {
                broker_name: name.clone(),
                perm: 6,
                read_queue_nums: 2,
                write_queue_nums: 2,
                topic_sys_flag: 0,
            })
            .collect(),
        ..TopicRouteData::default()
    };
    let body = route.encode();
    let handler = move |request: RemotingCommand, _connection| {
        let body = body.clone();
        let lookups = Arc::clone(&lookups);
        async move {
            lookups.fetch_add(1, Ordering::SeqCst);
            Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body))
        }
    };
    let router = Router::new().route(RequestCode::GET_ROUTEINFO_BY_TOPIC, handler);
    Server::bind(loopback(), router, ServerConfig::default()).await.unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

struct Fakes {
    namesrv: Server,
    busy: Server,
    good: Server,
    busy_sends: Arc<AtomicUsize>,
    good_sends: Arc<AtomicUsize>,
    lookups: Arc<AtomicUsize>,
}

async fn fakes() -> Fakes {
    let (busy_sends, good_sends, lookups) = (Arc::default(), Arc::default(), Arc::default());
    let busy = broker(ResponseCode::SYSTEM_BUSY, Arc::clone(&busy_sends)).await;
    let good = broker(ResponseCode::SUCCESS, Arc::clone(&good_sends)).await;
    let brokers = vec![
        ("broker-a".to_owned(), busy.local_addr()),
        ("broker-b".to_owned(), good.local_addr()),
    ];
    let namesrv = namesrv(brokers, Arc::clone(&lookups)).await;
    Fakes {
        namesrv,
        busy,
        good,
        busy_sends,
        good_sends,
        lookups,
    }
}

fn options(fakes: &Fakes, latency_fault: bool) -> ProducerOptions {
    let mut options = ProducerOptions::new(ClientOptions::new(&fakes.namesrv.local_addr().to_string()), "pg");
    options.latency_fault_enabled = latency_fault;
    options
}

#[tokio::test]
async fn a_refused_send_is_retried_on_the_other_broker() {
    let fakes = fakes().await;
    let producer = Producer::start(options(&fakes, false)).unwrap();
    for _ in 0..4 {
        let sent = producer.send(Message::new("T", "x")).await.unwrap();
        assert_eq!(sent.broker_name, "broker-b");
    }
    // Round robin over a0 a1 b0 b1 meets broker-a on about half the sends; each fails over once.
    let busy = fakes.busy_sends.load(Ordering::SeqCst);
    assert!((1..=4).contains(&busy), "{busy} sends reached broker-a");
    assert_eq!(fakes.good_sends.load(Ordering::SeqCst), 4);
    producer.shutdown().await;
}

#[tokio::test]
async fn with_fault_avoidance_a_failed_broker_sits_out() {
    let fakes = fakes().await;
    let producer = Producer::start(options(&fakes, true)).unwrap();
    for _ in 0..10 {
        producer.send(Message::new("T", "x")).await.unwrap();
    }
    // After broker-a's first refusal it is unavailable for 10 s: no second send reaches it.
    assert!(fakes.busy_sends.load(Ordering::SeqCst) <= 1);
    assert_eq!(fakes.good_sends.load(Ordering::SeqCst), 10);
    producer.shutdown().await;
}

#[tokio::test]
async fn a_code_java_does_not_retry_fails_at_once() {
    let refused = Arc::new(AtomicUsize::new(0));
    let bad = broker(ResponseCode::MESSAGE_ILLEGAL, Arc::clone(&refused)).await;
    let lookups = Arc::new(AtomicUsize::new(0));
    let namesrv = namesrv(vec![("broker-a".to_owned(), bad.local_addr())], lookups).await;
    let producer = Producer::start(ProducerOptions::new(
        ClientOptions::new(&namesrv.local_addr().to_string()),
        "pg",
    ))
    .unwrap();
    let error = producer.send(Message::new("T", "x")).await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Refused {
                code: ResponseCode::MESSAGE_ILLEGAL,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    producer.shutdown().await;
}

#[tokio::test]
async fn routes_are_refreshed_every_thirty_seconds() {
    let fakes = fakes().await;
    let producer = Producer::start(options(&fakes, false)).unwrap();
    producer.send(Message::new("T", "x")).await.unwrap();
    let after_first = fakes.lookups.load(Ordering::SeqCst);
    assert_eq!(after_first, 1);
    // Paused only now: the send's own round trips ran on real time, so no timeout of theirs
    // could be advanced past while a socket was being read.
    tokio::time::pause();
    tokio::time::sleep(std::time::Duration::from_secs(29)).await;
    assert_eq!(fakes.lookups.load(Ordering::SeqCst), 1);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // Let the refresh's round trip on real sockets finish.
    for _ in 0..100 {
        if fakes.lookups.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(fakes.lookups.load(Ordering::SeqCst), 2);
    producer.shutdown().await;
    drop((fakes.busy, fakes.good));
}

#[tokio::test]
async fn a_topic_without_a_route_is_sent_through_tbw102s_queues_capped_at_four() {
    let sends = Arc::new(AtomicUsize::new(0));
    let good = broker(ResponseCode::SUCCESS, Arc::clone(&sends)).await;
    let template = TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_name: "broker-a".into(),
            cluster: "c".into(),
            broker_addrs: BTreeMap::from([(0, good.local_addr().to_string())]),
            ..BrokerData::default()
        }],
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 7,
            read_queue_nums: 8,
            write_queue_nums: 8,
            topic_sys_flag: 0,
        }],
        ..TopicRouteData::default()
    }
    .encode();
    let asked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&asked);
    let handler = move |request: RemotingCommand, _connection| {
        let (template, seen) = (template.clone(), Arc::clone(&seen));
        async move {
            let topic = request.ext("topic").unwrap_or_default().to_owned();
            seen.lock().unwrap().push(topic.clone());
            Some(if topic == "TBW102" {
                RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(template)
            } else {
                RemotingCommand::response_to(
                    &request,
                    ResponseCode::TOPIC_NOT_EXIST,
                    Some("No topic route info".into()),
                )
            })
        }
    };
    let router = Router::new().route(RequestCode::GET_ROUTEINFO_BY_TOPIC, handler);
    let namesrv = Server::bind(loopback(), router, ServerConfig::default()).await.unwrap();
    let producer = Producer::start(ProducerOptions::new(
        ClientOptions::new(&namesrv.local_addr().to_string()),
        "pg",
    ))
    .unwrap();
    let queues = producer.publish_queues("Fresh").await.unwrap();
    assert_eq!(queues.iter().map(|q| q.queue_id).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(queues.iter().all(|q| q.topic == "Fresh"));
    for _ in 0..5 {
        producer.send(Message::new("Fresh", "x")).await.unwrap();
    }
    assert_eq!(sends.load(Ordering::SeqCst), 5);
    // Asked once for the topic and once for the template; later sends reuse them until a refresh.
    assert_eq!(*asked.lock().unwrap(), ["Fresh", "TBW102"]);
    producer.shutdown().await;
}
