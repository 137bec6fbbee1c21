//! Transactional messages against a real broker on 127.0.0.1 (remoting.md §4.5): prepared sends
//! wait invisibly in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0; END_TRANSACTION commits one (delivered
//! once, to its real topic and queue), rolls back another (never delivered), and answers bad
//! requests with Java's codes and remarks. Every decision leaves an op record (`"<offset>,"`,
//! tag `d`) in `RMQ_SYS_TRANS_OP_HALF_TOPIC`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{advance, ask, client, properties, send_v2_header, start_broker, start_broker_on, with_header};

use std::time::Duration;

use tokio::sync::mpsc;

use bytes::Bytes;
use ferrocket_broker::BrokerHandle;
use ferrocket_broker::{BrokerRole, Clock};
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_store::{CommitLogOffset, GetMessages, QueueId, QueueOffset};
use ferrocket_wire::body::{HeartbeatData, JsonBody, ProducerData};
use ferrocket_wire::header::{
    CheckTransactionStateRequestHeader, CustomHeader, EndTransactionRequestHeader, PullMessageRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferrocket_wire::message::sysflag::{self, TransactionType};
use ferrocket_wire::message::{OffsetMessageId, StoredMessage, decode_all};
use ferrocket_wire::system_topics::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

const TOPIC: &str = "TxTopic";
const PRODUCER_GROUP: &str = "pg";
/// `PullSysFlag.FLAG_SUBSCRIPTION`.
const FLAG_SUBSCRIPTION: i32 = 0x4;

/// A prepared send as `TransactionMQProducer` makes it: TRAN_MSG, PGROUP and sysFlag PREPARED.
fn prepared_send(queue_id: i32, key: &str, body: &'static [u8]) -> RemotingCommand {
    let props = properties(&[
        ("TRAN_MSG", "true"),
        ("PGROUP", PRODUCER_GROUP),
        ("UNIQ_KEY", key),
        ("TAGS", "TagA"),
        ("WAIT", "true"),
    ]);
    let header = SendMessageRequestHeaderV2 {
        sys_flag: sysflag::with_transaction_type(0, TransactionType::Prepared),
        ..send_v2_header(TOPIC, queue_id, &props)
    };
    with_header(RequestCode::SEND_MESSAGE_V2, &header).with_body(Bytes::from_static(body))
}

/// What the producer learns from a prepared send, and what END_TRANSACTION sends back.
struct Sent {
    header: SendMessageResponseHeader,
    commit_log_offset: i64,
}

async fn send_prepared(client: &Client, broker: &BrokerHandle, key: &str, body: &'static [u8]) -> Sent {
    let response = ask(client, broker, prepared_send(1, key, body)).await;
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let header = SendMessageResponseHeader::from_command(&response).unwrap();
    let commit_log_offset = OffsetMessageId::decode(&header.msg_id).unwrap().physical_offset;
    Sent {
        header,
        commit_log_offset,
    }
}

fn end_header(sent: &Sent, commit_or_rollback: i32) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        topic: Some(TOPIC.into()),
        producer_group: PRODUCER_GROUP.into(),
        tran_state_table_offset: sent.header.queue_offset,
        commit_log_offset: sent.commit_log_offset,
        commit_or_rollback,
        from_transaction_check: false,
        msg_id: sent.header.transaction_id.clone().unwrap_or_default(),
        transaction_id: sent.header.transaction_id.clone(),
        ..EndTransactionRequestHeader::default()
    }
}

async fn end(client: &Client, broker: &BrokerHandle, header: &EndTransactionRequestHeader) -> RemotingCommand {
    ask(client, broker, with_header(RequestCode::END_TRANSACTION, header)).await
}

fn stored_at(broker: &BrokerHandle, offset: i64) -> StoredMessage {
    let offset = CommitLogOffset(u64::try_from(offset).unwrap());
    broker.broker().store.read(|s| s.message_at(offset)).unwrap().message
}

/// The op records' bodies, in order.
fn op_bodies(broker: &BrokerHandle) -> Vec<String> {
    let query = GetMessages {
        topic: TRANS_OP_HALF_TOPIC,
        queue_id: QueueId(0),
        offset: QueueOffset(0),
        max_count: 32,
        filter: None,
        record_filter: None,
    };
    let Ok(found) = broker.broker().store.read(|s| s.get_messages(&query)) else {
        return Vec::new();
    };
    found
        .records
        .iter()
        .map(|record| {
            let (op, _) = StoredMessage::decode(record).unwrap();
            assert_eq!(op.properties.get("TAGS"), Some("d"));
            String::from_utf8(op.body.to_vec()).unwrap()
        })
        .collect()
}

async fn pull_real_topic(client: &Client, broker: &BrokerHandle) -> Vec<StoredMessage> {
    let header = PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: TOPIC.into(),
        queue_id: 1,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: FLAG_SUBSCRIPTION,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    let response = ask(client, broker, with_header(RequestCode::PULL_MESSAGE, &header)).await;
    if response.code != 0 {
        return Vec::new();
    }
    decode_all(response.body.as_deref().unwrap()).messages
}

#[tokio::test(start_paused = true)]
async fn commit_delivers_once_and_rollback_never() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();

    let committed = send_prepared(&client, &broker, "K-COMMIT", b"commit me").await;
    let rolled_back = send_prepared(&client, &broker, "K-ROLLBACK", b"roll me back").await;
    // Java's answer: the normal send header; queue id as asked, offset in the half queue.
    assert_eq!(committed.header.queue_id, 1);
    assert_eq!((committed.header.queue_offset, rolled_back.header.queue_offset), (0, 1));
    let half = stored_at(&broker, committed.commit_log_offset);
    assert_eq!((half.topic.as_str(), half.queue_id), (TRANS_HALF_TOPIC, 0));
    assert_eq!(half.transaction_type(), TransactionType::Not);
    assert_eq!(half.properties.get("REAL_TOPIC"), Some(TOPIC));
    assert_eq!(half.properties.get("REAL_QID"), Some("1"));
    assert_eq!(half.properties.get("__transactionId__"), Some("K-COMMIT"));
    assert!(
        pull_real_topic(&client, &broker).await.is_empty(),
        "half messages are invisible"
    );

    let response = end(&client, &broker, &end_header(&committed, 8)).await;
    assert_eq!((response.code, response.remark.as_deref()), (0, None));
    let response = end(&client, &broker, &end_header(&rolled_back, 12)).await;
    assert_eq!(response.code, 0);

    let delivered = pull_real_topic(&client, &broker).await;
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(&message.body[..], b"commit me");
    assert_eq!(message.transaction_type(), TransactionType::Commit);
    assert_eq!(message.prepared_transaction_offset, committed.commit_log_offset);
    assert_eq!(message.properties.get("UNIQ_KEY"), Some("K-COMMIT"));
    // Java's quirk: the properties string is made before these keys leave the map.
    assert_eq!(message.properties.get("REAL_TOPIC"), Some(TOPIC));
    assert_eq!(message.properties.get("TRAN_MSG"), Some("true"));
    assert_eq!(message.properties.get("PGROUP"), Some(PRODUCER_GROUP));
    assert_eq!(op_bodies(&broker), ["0,", "1,"]);

    // Decided already: nothing changes, whatever is asked again.
    for (sent, decision) in [(&committed, 8), (&committed, 12), (&rolled_back, 8)] {
        let response = end(&client, &broker, &end_header(sent, decision)).await;
        assert_eq!(response.code, 0);
    }
    assert_eq!(pull_real_topic(&client, &broker).await.len(), 1);
    assert_eq!(op_bodies(&broker).len(), 2);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bad_end_transactions_get_javas_codes_and_remarks() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let sent = send_prepared(&client, &broker, "K-BAD", b"bad").await;

    let cases = [
        (
            EndTransactionRequestHeader {
                commit_log_offset: 1 << 40,
                ..end_header(&sent, 8)
            },
            "Find prepared transaction message failed",
        ),
        (
            EndTransactionRequestHeader {
                producer_group: "other".into(),
                ..end_header(&sent, 8)
            },
            "The producer group wrong",
        ),
        (
            EndTransactionRequestHeader {
                tran_state_table_offset: 7,
                ..end_header(&sent, 12)
            },
            "The transaction state table offset wrong",
        ),
    ];
    for (header, remark) in cases {
        let response = end(&client, &broker, &header).await;
        assert_eq!(response.code, ResponseCode::SYSTEM_ERROR.0);
        assert_eq!(response.remark.as_deref(), Some(remark));
    }
    assert!(op_bodies(&broker).is_empty());
    // A decision from a check is honoured like any other.
    let from_check = EndTransactionRequestHeader {
        from_transaction_check: true,
        ..end_header(&sent, 8)
    };
    assert_eq!(end(&client, &broker, &from_check).await.code, 0);
    assert_eq!(pull_real_topic(&client, &broker).await.len(), 1);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slave_refuses_end_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| {
        config.broker_role = BrokerRole::Slave;
        config.broker_id = 1;
    })
    .await;
    let client = client();
    let header = EndTransactionRequestHeader {
        producer_group: PRODUCER_GROUP.into(),
        commit_or_rollback: 8,
        msg_id: "X".into(),
        ..EndTransactionRequestHeader::default()
    };
    let response = end(&client, &broker, &header).await;
    assert_eq!(
        (response.code, response.remark.as_deref()),
        (ResponseCode::SLAVE_NOT_AVAILABLE.0, None)
    );
    broker.shutdown().await;
}

/// A raw transactional producer: its connection carries the heartbeat (so the broker knows it as
/// a member of [`PRODUCER_GROUP`]) and receives the broker's CHECK_TRANSACTION_STATE requests.
struct Producer {
    client: Client,
    checks: mpsc::UnboundedReceiver<(CheckTransactionStateRequestHeader, StoredMessage)>,
}

impl Producer {
    async fn join(broker: &BrokerHandle) -> Producer {
        let (sender, checks) = mpsc::unbounded_channel();
        let router = Router::new().route(
            RequestCode::CHECK_TRANSACTION_STATE,
            move |request: RemotingCommand, _: ConnectionHandle| {
                let sender = sender.clone();
                async move {
                    let header = CheckTransactionStateRequestHeader::from_command(&request).unwrap();
                    let (message, _) = StoredMessage::decode(request.body.as_deref().unwrap()).unwrap();
                    let _ = sender.send((header, message));
                    None
                }
            },
        );
        let producer = Producer {
            client: Client::new(router, ClientConfig::default()),
            checks,
        };
        producer.heartbeat(broker).await;
        producer
    }

    async fn heartbeat(&self, broker: &BrokerHandle) {
        let data = HeartbeatData {
            client_id: "127.0.0.1@tx-producer".into(),
            producer_data_set: vec![ProducerData {
                group_name: PRODUCER_GROUP.into(),
            }],
            ..HeartbeatData::default()
        };
        let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode());
        assert_eq!(ask(&self.client, broker, request).await.code, 0);
    }
}

/// Lets `rounds` check rounds (Java's default interval, 30 s) run, heartbeating between them.
async fn let_checks_run(broker: &BrokerHandle, producer: &Producer, rounds: u32) {
    for _ in 0..rounds {
        advance(broker, Duration::from_secs(30)).await;
        producer.heartbeat(broker).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_check_loop_asks_only_about_undecided_messages_and_honours_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let mut producer = Producer::join(&broker).await;
    let client = &producer.client;

    let committed = send_prepared(client, &broker, "K-1", b"one").await;
    let rolled_back = send_prepared(client, &broker, "K-2", b"two").await;
    let undecided = send_prepared(client, &broker, "K-3", b"three").await;
    assert_eq!(end(client, &broker, &end_header(&committed, 8)).await.code, 0);
    assert_eq!(end(client, &broker, &end_header(&rolled_back, 12)).await.code, 0);

    let_checks_run(&broker, &producer, 1).await;
    let (check, message) = producer.checks.try_recv().expect("a check for the undecided message");
    assert!(
        producer.checks.try_recv().is_err(),
        "decided messages are never checked"
    );
    assert_eq!(check.msg_id.as_deref(), Some("K-3"));
    assert_eq!(check.topic.as_deref(), Some(TRANS_HALF_TOPIC));
    // The check names the copy stored at the half queue's end, not the original.
    assert_eq!(check.tran_state_table_offset, 3);
    assert_ne!(check.commit_log_offset, undecided.commit_log_offset);
    assert_eq!((message.topic.as_str(), message.queue_id), (TOPIC, 1));
    assert_eq!(&message.body[..], b"three");
    assert_eq!(message.properties.get("TRANSACTION_CHECK_TIMES"), Some("1"));

    // The producer's checker says COMMIT, on the connection the check came on.
    let answer = EndTransactionRequestHeader {
        tran_state_table_offset: check.tran_state_table_offset,
        commit_log_offset: check.commit_log_offset,
        from_transaction_check: true,
        ..end_header(&undecided, 8)
    };
    assert_eq!(end(client, &broker, &answer).await.code, 0);
    // A late decision of its own about the original changes nothing.
    assert_eq!(end(client, &broker, &end_header(&undecided, 8)).await.code, 0);

    let bodies: Vec<Vec<u8>> = pull_real_topic(client, &broker)
        .await
        .iter()
        .map(|m| m.body.to_vec())
        .collect();
    assert_eq!(bodies, [b"one".to_vec(), b"three".to_vec()]);
    let_checks_run(&broker, &producer, 3).await;
    assert!(producer.checks.try_recv().is_err(), "nothing is checked once decided");
    assert_eq!(pull_real_topic(client, &broker).await.len(), 2);
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_message_checked_too_often_is_parked_in_trans_check_max_time_topic() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |config| config.transaction_check_max = 2).await;
    let mut producer = Producer::join(&broker).await;
    send_prepared(&producer.client, &broker, "K-SILENT", b"silent").await;

    let_checks_run(&broker, &producer, 4).await;
    let mut checks = 0;
    while producer.checks.try_recv().is_ok() {
        checks += 1;
    }
    assert_eq!(checks, 2);
    let query = GetMessages {
        topic: TRANS_CHECK_MAX_TIME_TOPIC,
        queue_id: QueueId(0),
        offset: QueueOffset(0),
        max_count: 32,
        filter: None,
        record_filter: None,
    };
    let topic = broker.broker().topics.lock().get(TRANS_CHECK_MAX_TIME_TOPIC).unwrap();
    assert_eq!((topic.read_queue_nums, topic.write_queue_nums, topic.perm), (1, 1, 6));
    let parked = broker.broker().store.read(|s| s.get_messages(&query)).unwrap();
    assert_eq!(parked.records.len(), 1);
    let (message, _) = StoredMessage::decode(&parked.records[0]).unwrap();
    assert_eq!(message.properties.get("REAL_TOPIC"), Some(TOPIC));
    assert!(pull_real_topic(&producer.client, &broker).await.is_empty());
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn decisions_and_the_check_position_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let producer = Producer::join(&broker).await;
    let committed = send_prepared(&producer.client, &broker, "K-A", b"a").await;
    let undecided = send_prepared(&producer.client, &broker, "K-B", b"b").await;
    assert_eq!(end(&producer.client, &broker, &end_header(&committed, 8)).await.code, 0);
    broker.shutdown().await;
    drop(producer);

    let broker = start_broker_on(dir.path(), clock, |_| {}).await;
    let mut producer = Producer::join(&broker).await;
    // Decided before the restart: still decided, nothing delivered twice.
    assert_eq!(
        end(&producer.client, &broker, &end_header(&committed, 12)).await.code,
        0
    );
    assert_eq!(pull_real_topic(&producer.client, &broker).await.len(), 1);
    let_checks_run(&broker, &producer, 1).await;
    let (check, _) = producer.checks.try_recv().expect("a check for the undecided message");
    assert_eq!(check.msg_id.as_deref(), Some("K-B"));
    assert!(producer.checks.try_recv().is_err());
    let rollback = EndTransactionRequestHeader {
        tran_state_table_offset: check.tran_state_table_offset,
        commit_log_offset: check.commit_log_offset,
        from_transaction_check: true,
        ..end_header(&undecided, 12)
    };
    assert_eq!(end(&producer.client, &broker, &rollback).await.code, 0);
    let_checks_run(&broker, &producer, 2).await;
    assert!(producer.checks.try_recv().is_err());
    assert_eq!(pull_real_topic(&producer.client, &broker).await.len(), 1);
    broker.shutdown().await;
}

/// A crash can lose the check loop's saved position (group `CID_RMQ_SYS_TRANS`, saved every few
/// seconds) after a check stored its copy; the next round then meets both the message and that
/// copy. The transaction is still asked about once in that round, so a checker's answer decides
/// it once and an UNKNOW does not leave two lines of copies behind.
#[tokio::test(start_paused = true)]
async fn a_rewound_check_position_asks_about_a_transaction_once_per_round() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let mut producer = Producer::join(&broker).await;
    send_prepared(&producer.client, &broker, "K-REWOUND", b"rewound").await;
    let_checks_run(&broker, &producer, 1).await;
    let (first, _) = producer.checks.try_recv().expect("the first check");
    assert!(producer.checks.try_recv().is_err());

    // What a SIGKILL before the position was saved leaves: the loop starts from the beginning.
    let now_ms = broker.broker().now_ms();
    broker
        .broker()
        .offsets
        .lock()
        .commit("CID_RMQ_SYS_TRANS", TRANS_HALF_TOPIC, 0, 0, now_ms);
    let_checks_run(&broker, &producer, 1).await;
    let mut asked = Vec::new();
    while let Ok((check, _)) = producer.checks.try_recv() {
        asked.push(check.tran_state_table_offset);
    }
    assert_eq!(asked.len(), 1, "checks after the rewind, by half offset: {asked:?}");
    assert!(asked[0] > first.tran_state_table_offset);

    let_checks_run(&broker, &producer, 1).await;
    let mut next = Vec::new();
    while let Ok((check, _)) = producer.checks.try_recv() {
        next.push(check.tran_state_table_offset);
    }
    assert_eq!(next.len(), 1, "one line of copies goes on: {next:?}");
    broker.shutdown().await;
}

/// A Java broker's check copies (`renewHalfMessageInner`) keep the message's properties, one more
/// `TRANSACTION_CHECK_TIMES`, and do not name the offset they copy. Java writes its op records
/// in batches, so it can copy a message its producer has just decided; a broker taking over
/// such a store must not ask about the copy again (the checker would answer COMMIT and the
/// message would be stored twice). The transaction id (`UNIQ_KEY`) links the copy to the
/// decision, in memory and, after a restart, from the newest op records.
#[tokio::test(start_paused = true)]
async fn a_java_check_copy_of_a_decided_message_is_never_checked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Clock::system().now_ms());
    let broker = start_broker_on(dir.path(), clock.clone(), |_| {}).await;
    let mut producer = Producer::join(&broker).await;
    let committed = send_prepared(&producer.client, &broker, "K-JAVA-COPY", b"decided").await;
    assert_eq!(end(&producer.client, &broker, &end_header(&committed, 8)).await.code, 0);
    // What Java's check loop stores when it copies the message before its op record is written.
    let mut copy = stored_at(&broker, committed.commit_log_offset);
    copy.properties.insert("TRANSACTION_CHECK_TIMES", "1");
    copy.queue_offset = 0;
    copy.physical_offset = 0;
    copy.store_timestamp_ms = 0;
    let copy_offset = broker.broker().store.put(copy).await.result.unwrap().physical_offset;
    let copy_offset = i64::try_from(copy_offset.0).unwrap();

    let_checks_run(&broker, &producer, 2).await;
    assert!(
        producer.checks.try_recv().is_err(),
        "the copy of a decided message is not checked"
    );
    // A late answer about the copy (a check Java sent before it stopped) changes nothing.
    let answer = EndTransactionRequestHeader {
        tran_state_table_offset: 1,
        commit_log_offset: copy_offset,
        from_transaction_check: true,
        ..end_header(&committed, 8)
    };
    assert_eq!(end(&producer.client, &broker, &answer).await.code, 0);
    assert_eq!(pull_real_topic(&producer.client, &broker).await.len(), 1);
    // A store whose saved check position predates the copy (as a Java broker's may).
    let now_ms = broker.broker().now_ms();
    broker
        .broker()
        .offsets
        .lock()
        .commit("CID_RMQ_SYS_TRANS", TRANS_HALF_TOPIC, 0, 0, now_ms);
    broker.shutdown().await;
    drop(producer);

    // After a restart, the op queue alone says the copy is decided.
    let broker = start_broker_on(dir.path(), clock, |_| {}).await;
    let mut producer = Producer::join(&broker).await;
    let_checks_run(&broker, &producer, 2).await;
    assert!(producer.checks.try_recv().is_err(), "nor after a restart");
    assert_eq!(pull_real_topic(&producer.client, &broker).await.len(), 1);
    broker.shutdown().await;
}
