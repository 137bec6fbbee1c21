//! The endpoint over a real broker, through tonic's own client on a plaintext connection: the
//! settings handshake, routes, sends of each type landing in the broker's queues, and the bad
//! input Java's proxy answers in band.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::handlers::dispatch;
use ferrocket_broker::state::topics::new_topic;
use ferrocket_broker::{BrokerConfig, BrokerHandle, Clock};
use ferrocket_grpc::proto::messaging_service_client::MessagingServiceClient;
use ferrocket_grpc::proto::telemetry_command::Command;
use ferrocket_grpc::proto::*;
use ferrocket_grpc::{GrpcConfig, GrpcServer, ServiceOptions};
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::header::{CustomHeader, GetMaxOffsetRequestHeader};
use ferrocket_wire::{RemotingCommand, RequestCode};
use tonic::transport::Channel;

const CLIENT_ID: &str = "test-client@1";

struct Fixture {
    broker: BrokerHandle,
    grpc: GrpcServer,
    client: MessagingServiceClient<Channel>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

async fn fixture_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::standalone(dir.path(), "127.0.0.1", 0, "127.0.0.1:1");
    config.namesrv_addr = None;
    config.store.commit_log_segment_bytes = 1 << 24;
    config.store.consume_queue_file_entries = 1000;
    tweak(&mut config);
    let broker = ferrocket_broker::start(config, Clock::system(), None).await.unwrap();
    let now = broker.broker().now_ms();
    {
        let mut topics = broker.broker().topics.lock();
        topics.update(new_topic("Normal", 4, 6), "", now).unwrap();
        topics
            .update(new_topic("Fifo", 4, 6), "+message.type=FIFO", now)
            .unwrap();
        topics
            .update(new_topic("Delay", 4, 6), "+message.type=DELAY", now)
            .unwrap();
        topics
            .update(new_topic("Tx", 4, 6), "+message.type=TRANSACTION", now)
            .unwrap();
    }
    let config = GrpcConfig {
        listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        tls: true,
        options: ServiceOptions {
            advertised_port: 0,
            limits: Default::default(),
            check_message_type: true,
        },
    };
    let grpc = ferrocket_grpc::start(Arc::clone(broker.broker()), config)
        .await
        .unwrap();
    let client = MessagingServiceClient::connect(format!("http://{}", grpc.local_addr()))
        .await
        .unwrap();
    Fixture {
        broker,
        grpc,
        client,
        _dir: dir,
    }
}

impl Fixture {
    async fn stop(self) {
        self.grpc.shutdown().await;
        self.broker.shutdown().await;
    }
}

fn with_id<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-mq-client-id", CLIENT_ID.parse().unwrap());
    request
}

fn resource(name: &str) -> Resource {
    Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    }
}

fn message(topic: &str, id: &str, system: impl FnOnce(&mut SystemProperties)) -> Message {
    let mut properties = SystemProperties {
        message_id: id.to_owned(),
        message_type: MessageType::Normal as i32,
        ..SystemProperties::default()
    };
    system(&mut properties);
    Message {
        topic: Some(resource(topic)),
        user_properties: Default::default(),
        system_properties: Some(properties),
        body: bytes::Bytes::from_static(b"hello"),
    }
}

async fn send(client: &mut MessagingServiceClient<Channel>, message: Message) -> SendMessageResponse {
    client
        .send_message(with_id(SendMessageRequest {
            messages: vec![message],
        }))
        .await
        .unwrap()
        .into_inner()
}

fn code(status: Option<&Status>) -> i32 {
    status.map_or(-1, |status| status.code)
}

async fn max_offset(broker: &BrokerHandle, topic: &str, queue_id: i32) -> i64 {
    let header = GetMaxOffsetRequestHeader {
        topic: topic.to_owned(),
        queue_id,
        ..GetMaxOffsetRequestHeader::default()
    };
    let request = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(header.to_ext_fields());
    let answer = dispatch(
        broker.broker(),
        request,
        &ConnectionHandle::in_process("test".to_owned()),
    )
    .await
    .unwrap();
    answer.ext("offset").unwrap().parse().unwrap()
}

#[tokio::test]
async fn routes_point_at_the_endpoint_and_list_the_topics_message_type() {
    let mut f = fixture().await;
    let endpoints = Endpoints {
        scheme: AddressScheme::IPv4 as i32,
        addresses: vec![Address {
            host: "127.0.0.1".to_owned(),
            port: 1,
        }],
    };
    let route = f
        .client
        .query_route(with_id(QueryRouteRequest {
            topic: Some(resource("Fifo")),
            endpoints: Some(endpoints.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(route.status.as_ref()), Code::Ok as i32);
    assert_eq!(route.message_queues.len(), 4);
    let queue = &route.message_queues[0];
    assert_eq!(queue.accept_message_types, [MessageType::Fifo as i32]);
    assert_eq!(queue.permission, Permission::ReadWrite as i32);
    let address = &queue.broker.as_ref().unwrap().endpoints.as_ref().unwrap().addresses[0];
    assert_eq!(address.port, i32::from(f.grpc.local_addr().port()));

    let missing = f
        .client
        .query_route(with_id(QueryRouteRequest {
            topic: Some(resource("Missing")),
            endpoints: Some(endpoints),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(missing.status.as_ref()), Code::TopicNotFound as i32);
    assert!(missing.message_queues.is_empty());
    f.stop().await;
}

#[tokio::test]
async fn telemetry_settings_then_heartbeat_then_termination() {
    let mut f = fixture().await;
    let heartbeat = |client: &mut MessagingServiceClient<Channel>| {
        let mut client = client.clone();
        async move {
            let response = client
                .heartbeat(with_id(HeartbeatRequest {
                    group: None,
                    client_type: ClientType::Producer as i32,
                }))
                .await
                .unwrap()
                .into_inner();
            code(response.status.as_ref())
        }
    };
    assert_eq!(heartbeat(&mut f.client).await, Code::UnrecognizedClientType as i32);

    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(settings::PubSub::Publishing(Publishing {
            topics: vec![resource("Normal")],
            ..Publishing::default()
        })),
        ..Settings::default()
    };
    let (commands, outbound) = tokio::sync::mpsc::channel(4);
    commands
        .send(TelemetryCommand {
            status: None,
            command: Some(Command::Settings(settings)),
        })
        .await
        .unwrap();
    let mut replies = f
        .client
        .telemetry(with_id(tokio_stream::wrappers::ReceiverStream::new(outbound)))
        .await
        .unwrap()
        .into_inner();
    let reply = tokio::time::timeout(Duration::from_secs(10), replies.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code(reply.status.as_ref()), Code::Ok as i32);
    let Some(Command::Settings(answer)) = reply.command else {
        panic!("no settings in {reply:?}");
    };
    let Some(settings::PubSub::Publishing(publishing)) = answer.pub_sub else {
        panic!("no publishing in {answer:?}");
    };
    assert!(publishing.validate_message_type);
    assert_eq!(publishing.max_body_size, 4 << 20);

    assert_eq!(heartbeat(&mut f.client).await, Code::Ok as i32);
    let terminated = f
        .client
        .notify_client_termination(with_id(NotifyClientTerminationRequest { group: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(terminated.status.as_ref()), Code::Ok as i32);
    assert_eq!(heartbeat(&mut f.client).await, Code::UnrecognizedClientType as i32);
    drop(commands);
    f.stop().await;
}

#[tokio::test]
async fn sends_of_each_type_are_stored_by_the_broker() {
    let mut f = fixture().await;
    let normal = send(&mut f.client, message("Normal", "ID-N", |_| {})).await;
    assert_eq!(code(normal.status.as_ref()), Code::Ok as i32, "{normal:?}");
    assert_eq!(normal.entries[0].message_id, "ID-N");

    // One message group always lands in one queue, one after the other.
    let mut offsets = Vec::new();
    for n in 0..3 {
        let fifo = send(
            &mut f.client,
            message("Fifo", &format!("ID-F{n}"), |p| {
                p.message_type = MessageType::Fifo as i32;
                p.message_group = Some("group-1".to_owned());
            }),
        )
        .await;
        assert_eq!(code(fifo.status.as_ref()), Code::Ok as i32, "{fifo:?}");
        offsets.push(fifo.entries[0].offset);
    }
    assert_eq!(offsets, [0, 1, 2]);
    let mut stored = 0;
    for queue in 0..4 {
        stored += max_offset(&f.broker, "Fifo", queue).await;
    }
    assert_eq!(stored, 3);

    let delay = send(
        &mut f.client,
        message("Delay", "ID-D", |p| {
            p.message_type = MessageType::Delay as i32;
            let due = f.broker.broker().now_ms() / 1000 + 60;
            p.delivery_timestamp = Some(prost_types::Timestamp { seconds: due, nanos: 0 });
        }),
    )
    .await;
    assert_eq!(code(delay.status.as_ref()), Code::Ok as i32, "{delay:?}");
    let mut visible = 0;
    for queue in 0..4 {
        visible += max_offset(&f.broker, "Delay", queue).await;
    }
    assert_eq!(visible, 0, "a timer message waits in the timer topic until it is due");
    f.stop().await;
}

#[tokio::test]
async fn a_transaction_is_prepared_then_committed() {
    let mut f = fixture().await;
    let half = send(
        &mut f.client,
        message("Tx", "ID-T", |p| p.message_type = MessageType::Transaction as i32),
    )
    .await;
    assert_eq!(code(half.status.as_ref()), Code::Ok as i32, "{half:?}");
    let transaction_id = half.entries[0].transaction_id.clone();
    assert!(!transaction_id.is_empty());
    let mut visible = 0;
    for queue in 0..4 {
        visible += max_offset(&f.broker, "Tx", queue).await;
    }
    assert_eq!(visible, 0, "a half message is not in its topic");

    let end = |transaction_id: String| EndTransactionRequest {
        topic: Some(resource("Tx")),
        message_id: "ID-T".to_owned(),
        transaction_id,
        resolution: TransactionResolution::Commit as i32,
        source: TransactionSource::SourceClient as i32,
        trace_context: String::new(),
    };
    let committed = f
        .client
        .end_transaction(with_id(end(transaction_id.clone())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(committed.status.as_ref()), Code::Ok as i32);
    let mut visible = 0;
    for queue in 0..4 {
        visible += max_offset(&f.broker, "Tx", queue).await;
    }
    assert_eq!(visible, 1, "the commit stored the real message");

    let again = f
        .client
        .end_transaction(with_id(end(transaction_id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(again.status.as_ref()), Code::InternalServerError as i32);
    assert_eq!(
        again.status.unwrap().message,
        "org.apache.rocketmq.proxy.common.ProxyException: cannot found transaction data"
    );
    f.stop().await;
}

#[tokio::test]
async fn bad_input_gets_javas_in_band_codes() {
    let mut f = fixture().await;
    // A normal message to a FIFO topic: Java's topic message type check.
    let wrong_type = send(&mut f.client, message("Fifo", "ID-1", |_| {})).await;
    assert_eq!(
        code(wrong_type.status.as_ref()),
        Code::MessagePropertyConflictWithType as i32
    );
    assert_eq!(
        wrong_type.status.unwrap().message,
        "org.apache.rocketmq.proxy.common.ProxyException: TopicMessageType validate failed, \
         the expected type is FIFO, but actual type is NORMAL"
    );
    // A missing topic has no type, so the same check refuses it first.
    let missing = send(&mut f.client, message("Missing", "ID-2", |_| {})).await;
    assert_eq!(
        code(missing.status.as_ref()),
        Code::MessagePropertyConflictWithType as i32
    );
    let system = send(&mut f.client, message("rmq_sys_X", "ID-3", |_| {})).await;
    assert_eq!(code(system.status.as_ref()), Code::IllegalTopic as i32);
    let empty = f
        .client
        .send_message(with_id(SendMessageRequest { messages: vec![] }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(empty.status.as_ref()), Code::MessageCorrupted as i32);
    let mut anonymous = f.client.clone();
    let no_id = anonymous
        .send_message(tonic::Request::new(SendMessageRequest {
            messages: vec![message("Normal", "ID-4", |_| {})],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(no_id.status.as_ref()), Code::ClientIdRequired as i32);
    f.stop().await;
}

#[tokio::test]
async fn an_undecided_transaction_is_checked_over_telemetry_and_committed_by_the_answer() {
    let mut f = fixture_with(|config| {
        config.transaction_timeout_ms = 1_000;
        config.transaction_check_interval_ms = 1_000;
    })
    .await;
    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(settings::PubSub::Publishing(Publishing {
            topics: vec![resource("Tx")],
            ..Publishing::default()
        })),
        ..Settings::default()
    };
    let (commands, outbound) = tokio::sync::mpsc::channel(4);
    commands
        .send(TelemetryCommand {
            status: None,
            command: Some(Command::Settings(settings)),
        })
        .await
        .unwrap();
    let mut replies = f
        .client
        .telemetry(with_id(tokio_stream::wrappers::ReceiverStream::new(outbound)))
        .await
        .unwrap()
        .into_inner();
    let handshake = replies.message().await.unwrap().unwrap();
    assert!(matches!(handshake.command, Some(Command::Settings(_))));

    let half = send(
        &mut f.client,
        message("Tx", "ID-CHECKED", |p| p.message_type = MessageType::Transaction as i32),
    )
    .await;
    assert_eq!(code(half.status.as_ref()), Code::Ok as i32, "{half:?}");
    let transaction_id = half.entries[0].transaction_id.clone();

    // The broker's check loop finds the undecided half message and asks the producer.
    let check = tokio::time::timeout(Duration::from_secs(20), replies.message())
        .await
        .expect("no transaction check within 20 s")
        .unwrap()
        .unwrap();
    let Some(Command::RecoverOrphanedTransactionCommand(recover)) = check.command else {
        panic!("not a transaction check: {check:?}");
    };
    assert_eq!(recover.transaction_id, transaction_id);
    let checked = recover.message.unwrap();
    assert_eq!(checked.topic.unwrap().name, "Tx");
    assert_eq!(checked.body.as_ref(), b"hello");
    let system = checked.system_properties.unwrap();
    assert_eq!(system.message_id, "ID-CHECKED");
    assert_eq!(
        system.body_digest.map(|d| d.checksum),
        Some(format!("{:X}", crc32fast::hash(b"hello")))
    );

    let answer = EndTransactionRequest {
        topic: Some(resource("Tx")),
        message_id: "ID-CHECKED".to_owned(),
        transaction_id,
        resolution: TransactionResolution::Commit as i32,
        source: TransactionSource::SourceServerCheck as i32,
        trace_context: String::new(),
    };
    let ended = f.client.end_transaction(with_id(answer)).await.unwrap().into_inner();
    assert_eq!(code(ended.status.as_ref()), Code::Ok as i32);
    let mut visible = 0;
    for queue in 0..4 {
        visible += max_offset(&f.broker, "Tx", queue).await;
    }
    assert_eq!(visible, 1, "the checked transaction's commit stored the real message");
    drop(commands);
    f.stop().await;
}

/// The Go v5 client sends no `long_polling_timeout`: the poll is what the call's deadline leaves
/// after half the client's request timeout (3 s when it sent no settings), raised to 5 s, and a
/// deadline under 5 s is refused at once, as Java's `ReceiveMessageActivity` does. (Ours polled
/// 20 s, past the Go client's 8 s deadline: every empty receive failed DEADLINE_EXCEEDED.)
#[tokio::test]
async fn a_receive_without_a_polling_timeout_polls_within_its_deadline() {
    let f = fixture().await;
    let receive = |deadline: Duration| {
        let mut request = with_id(ReceiveMessageRequest {
            group: Some(resource("GoGroup")),
            message_queue: Some(MessageQueue {
                topic: Some(resource("Normal")),
                id: -1,
                ..MessageQueue::default()
            }),
            filter_expression: Some(FilterExpression {
                r#type: FilterType::Tag as i32,
                expression: "*".to_owned(),
            }),
            batch_size: 16,
            invisible_duration: Some(prost_types::Duration { seconds: 15, nanos: 0 }),
            ..ReceiveMessageRequest::default()
        });
        request
            .metadata_mut()
            .insert("x-mq-client-version", "5.1.4".parse().unwrap());
        request.set_timeout(deadline);
        let mut client = f.client.clone();
        async move {
            let started = std::time::Instant::now();
            let mut stream = client.receive_message(request).await.unwrap().into_inner();
            let mut statuses = Vec::new();
            while let Some(frame) = stream.message().await.unwrap() {
                if let Some(receive_message_response::Content::Status(status)) = frame.content {
                    statuses.push((status.code, status.message));
                }
            }
            (statuses, started.elapsed())
        }
    };

    let (statuses, took) = receive(Duration::from_secs(6)).await;
    assert_eq!(
        statuses,
        vec![(Code::MessageNotFound as i32, "no new message".to_owned())]
    );
    assert!(
        took >= Duration::from_millis(4_800) && took < Duration::from_millis(5_900),
        "a 6 s deadline less 1.5 s is raised to the 5 s shortest poll; took {took:?}"
    );

    let (statuses, took) = receive(Duration::from_secs(4)).await;
    assert_eq!(
        statuses,
        vec![(
            Code::IllegalPollingTime as i32,
            "The deadline time remaining is not enough for polling, please check network condition".to_owned()
        )]
    );
    assert!(took < Duration::from_secs(1), "refused at once; took {took:?}");
    f.stop().await;
}

/// RecallMessage over RECALL_MESSAGE with Java's local-mode statuses; the lite-pull set is not
/// served by Java 5.3.3's proxy, whose grpc-java answers UNIMPLEMENTED.
#[tokio::test]
async fn a_delay_message_is_recalled_and_the_lite_pull_set_is_unimplemented() {
    let mut f = fixture_with(|config| config.recall_message_enable = true).await;
    let delay = send(
        &mut f.client,
        message("Delay", "ID-R", |p| {
            p.message_type = MessageType::Delay as i32;
            let due = f.broker.broker().now_ms() / 1000 + 60;
            p.delivery_timestamp = Some(prost_types::Timestamp { seconds: due, nanos: 0 });
        }),
    )
    .await;
    let handle = delay.entries[0].recall_handle.clone();
    assert!(!handle.is_empty(), "{delay:?}");
    let recall = |topic: &str, handle: &str| {
        let request = with_id(RecallMessageRequest {
            topic: Some(resource(topic)),
            recall_handle: handle.to_owned(),
        });
        let mut client = f.client.clone();
        async move { client.recall_message(request).await.unwrap().into_inner() }
    };
    let garbage = recall("Delay", "not-a-handle").await;
    assert_eq!(code(garbage.status.as_ref()), Code::InternalServerError as i32);
    assert_eq!(
        garbage.status.unwrap().message,
        "org.apache.rocketmq.proxy.common.ProxyException: recall handle is invalid"
    );
    let normal = recall("Normal", &handle).await;
    assert_eq!(
        code(normal.status.as_ref()),
        Code::MessagePropertyConflictWithType as i32
    );
    let other = recall("Fifo", &handle).await;
    assert_eq!(
        code(other.status.as_ref()),
        Code::MessagePropertyConflictWithType as i32
    );
    let recalled = recall("Delay", &handle).await;
    assert_eq!(code(recalled.status.as_ref()), Code::Ok as i32, "{recalled:?}");
    assert_eq!(recalled.message_id, "ID-R");

    let queue = MessageQueue {
        topic: Some(resource("Normal")),
        ..MessageQueue::default()
    };
    let pull = f
        .client
        .pull_message(with_id(PullMessageRequest {
            group: Some(resource("G")),
            message_queue: Some(queue.clone()),
            ..PullMessageRequest::default()
        }))
        .await
        .expect_err("PullMessage is not served");
    assert_eq!(pull.code(), tonic::Code::Unimplemented);
    assert_eq!(
        pull.message(),
        "Method apache.rocketmq.v2.MessagingService/PullMessage is unimplemented"
    );
    let offset = f
        .client
        .get_offset(with_id(GetOffsetRequest {
            group: Some(resource("G")),
            message_queue: Some(queue),
        }))
        .await
        .expect_err("GetOffset is not served");
    assert_eq!(offset.code(), tonic::Code::Unimplemented);
    f.stop().await;
}
