//! A transactional send against a fake broker on loopback: the half message's flags, the
//! END_TRANSACTION of the local outcome, and the answer to the broker's CHECK_TRANSACTION_STATE.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions, ReceivedMessage, TransactionState};
use ferrocket_net::{ConnectionHandle, Router, Server, ServerConfig};
use ferrocket_wire::body::{BrokerData, JsonBody, QueueData, TopicRouteData};
use ferrocket_wire::header::{
    CheckTransactionStateRequestHeader, CustomHeader, EndTransactionRequestHeader, SendMessageRequestHeader,
    SendMessageResponseHeader,
};
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

/// What the fake broker saw: each send's sysFlag and properties, each END_TRANSACTION.
#[derive(Default)]
struct Seen {
    sends: Vec<(i32, String)>,
    ends: Vec<(i32, bool, String)>,
}

async fn fake_broker(seen: Arc<Mutex<Seen>>) -> Server {
    let on_send = {
        let seen = Arc::clone(&seen);
        move |request: RemotingCommand, connection: ConnectionHandle| {
            let seen = Arc::clone(&seen);
            async move {
                let header = SendMessageRequestHeader::from_send_command(&request).unwrap();
                let properties = header.properties.clone().unwrap_or_default();
                seen.lock().unwrap().sends.push((header.sys_flag, properties.clone()));
                // Ask the producer about the half message right away, as a broker's check would.
                let half = StoredMessage {
                    version: MessageVersion::V1,
                    body_crc: 0,
                    queue_id: header.queue_id,
                    flag: 0,
                    queue_offset: 3,
                    physical_offset: 4096,
                    sys_flag: header.sys_flag,
                    born_timestamp_ms: header.born_timestamp,
                    born_host: SocketAddr::from(([127, 0, 0, 1], 1)),
                    store_timestamp_ms: header.born_timestamp,
                    store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                    body: request.body.clone().unwrap_or_default(),
                    topic: header.topic.clone(),
                    properties: MessageProperties::parse(&properties),
                };
                let mut record = BytesMut::new();
                half.encode(&mut record).unwrap();
                let check = CheckTransactionStateRequestHeader {
                    topic: Some(header.topic.clone()),
                    tran_state_table_offset: 3,
                    commit_log_offset: 4096,
                    msg_id: None,
                    transaction_id: Some("tx-1".into()),
                    offset_msg_id: None,
                    ..Default::default()
                };
                let command = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE)
                    .with_ext_fields(check.to_ext_fields())
                    .with_body(Bytes::from(record));
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    connection.oneway(command, Duration::from_secs(1)).await.unwrap();
                });
                let answer = SendMessageResponseHeader {
                    msg_id: "7F00000100002A9F0000000000001000".into(),
                    queue_id: header.queue_id,
                    queue_offset: 3,
                    transaction_id: Some("tx-1".into()),
                    batch_uniq_id: None,
                    recall_handle: None,
                    region_id: Some("DefaultRegion".into()),
                    trace_on: Some(false),
                };
                Some(
                    RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
                        .with_ext_fields(answer.to_ext_fields()),
                )
            }
        }
    };
    let on_end = move |request: RemotingCommand, _connection: ConnectionHandle| {
        let seen = Arc::clone(&seen);
        async move {
            let header = EndTransactionRequestHeader::from_command(&request).unwrap();
            assert_eq!((header.commit_log_offset, header.tran_state_table_offset), (4096, 3));
            assert_eq!(header.transaction_id.as_deref(), Some("tx-1"));
            seen.lock().unwrap().ends.push((
                header.commit_or_rollback,
                header.from_transaction_check,
                header.producer_group,
            ));
            None
        }
    };
    let router = Router::new()
        .route(RequestCode::SEND_MESSAGE_V2, on_send)
        .route(RequestCode::END_TRANSACTION, on_end);
    Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), router, ServerConfig::default())
        .await
        .unwrap()
}

async fn fake_namesrv(broker: SocketAddr) -> Server {
    let body = TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_name: "broker-a".into(),
            cluster: "c".into(),
            broker_addrs: BTreeMap::from([(0, broker.to_string())]),
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
    let handler = move |request: RemotingCommand, _connection: ConnectionHandle| {
        let body = body.clone();
        async move { Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body)) }
    };
    let router = Router::new().route(RequestCode::GET_ROUTEINFO_BY_TOPIC, handler);
    Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), router, ServerConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unknown_outcome_is_settled_by_the_checker() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let broker = fake_broker(Arc::clone(&seen)).await;
    let namesrv = fake_namesrv(broker.local_addr()).await;
    let checked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&checked);
    let options = ProducerOptions::new(ClientOptions::new(&namesrv.local_addr().to_string()), "tx-group");
    let producer = Producer::start_transactional(options, move |half: &ReceivedMessage| {
        log.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&half.body).into_owned());
        TransactionState::Commit
    })
    .unwrap();
    let (sent, state) = producer
        .send_in_transaction(Message::new("Pay", "debit 10"), |_sent| TransactionState::Unknown)
        .await
        .unwrap();
    assert_eq!(state, TransactionState::Unknown);
    assert_eq!(sent.transaction_id.as_deref(), Some("tx-1"));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().ends.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "END_TRANSACTIONs: {:?}",
            seen.lock().unwrap().ends
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let (sys_flag, properties) = &seen.sends[0];
    assert_eq!(sys_flag & 0xC, 0x4, "a half message is TRANSACTION_PREPARED_TYPE");
    assert!(properties.contains("TRAN_MSG\u{1}true\u{2}"), "{properties:?}");
    assert!(properties.contains("PGROUP\u{1}tx-group\u{2}"), "{properties:?}");
    let mut ends = seen.ends.clone();
    ends.sort();
    assert_eq!(
        ends,
        [(0, false, "tx-group".to_owned()), (8, true, "tx-group".to_owned())],
        "the local outcome (unknown), then the checker's commit"
    );
    assert_eq!(*checked.lock().unwrap(), ["debit 10"]);
    producer.shutdown().await;
}
