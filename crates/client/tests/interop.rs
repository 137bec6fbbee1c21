//! The SDK against a real name server and broker: the same test bodies run against the official
//! Java 5.3.3 pair and against ours, started by interop/rust-client/run.sh, which passes the name
//! server in `FERROCKET_CLIENT_NAMESRV` (and the target's name in `FERROCKET_CLIENT_TARGET`).
//! The tests are `#[ignore]`d so that `cargo test --workspace` (no target running) leaves them
//! out; run.sh runs them with `--ignored`, and without the variable every one fails: a target
//! that did not start is a failure, not a skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrocket_client::{
    Admin, ClientOptions, Cluster, ConsumeOutcome, Filter, Message, MessageModel, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions, PushConsumer, PushConsumerOptions, ReceivedMessage, SendStatus, StartFrom,
    TransactionState,
};
use tokio::time::Instant;

/// Long enough for a broker to register a topic it created on send (Java: at once, ours: at once
/// or on its next registration) and for a retry to come back (level 3: 10 s).
const WAIT: Duration = Duration::from_secs(40);

fn namesrv() -> String {
    std::env::var("FERROCKET_CLIENT_NAMESRV").expect(
        "FERROCKET_CLIENT_NAMESRV is not set: run interop/rust-client/run.sh, which starts a name server and broker",
    )
}

fn unique(prefix: &str) -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    format!("{prefix}_{}_{ms}", std::process::id())
}

fn client() -> ClientOptions {
    ClientOptions::new(&namesrv())
}

async fn producer() -> Producer {
    let producer = Producer::start(ProducerOptions::new(client(), unique("pg"))).unwrap();
    await_broker_registered(producer.cluster()).await;
    producer
}

/// Waits until the broker has registered with the name server: a Java broker says it booted a
/// moment before its first registration lands, and topics are created on send from TBW102's route.
async fn await_broker_registered(cluster: &Cluster) {
    let deadline = Instant::now() + WAIT;
    while let Err(error) = cluster.fetch_route("TBW102").await {
        assert!(Instant::now() < deadline, "the broker never registered TBW102: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pull_consumer(group: &str) -> PullConsumer {
    let mut options = PullConsumerOptions::new(client(), group);
    options.start_from = StartFrom::FirstOffset;
    options.pull_batch_size = 32;
    PullConsumer::start(options).unwrap()
}

/// Waits until the name server has the topic's route (a topic created on send is registered by
/// the broker shortly after).
async fn await_route(consumer: &PullConsumer, topic: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        match consumer.queues_of(topic).await {
            Ok(queues) if !queues.is_empty() => return,
            other if Instant::now() > deadline => panic!("no route for {topic}: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Polls until `want` messages arrived (or fails after [`WAIT`]).
async fn poll_until(consumer: &PullConsumer, want: usize) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < want {
        assert!(Instant::now() < deadline, "got {} of {want} messages", got.len());
        got.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn every_send_kind_round_trips_with_tags_keys_properties_and_compression() {
    let topic = unique("RoundTrip");
    let producer = producer().await;
    let big = "x".repeat(10_000);
    let mut expected: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for i in 0..10 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let body = if i == 3 { big.clone() } else { format!("sync-{i}") };
        let message = Message::new(&topic, body.clone())
            .with_tags(tag)
            .with_keys([format!("key-{i}")])
            .with_property("seq", i.to_string());
        let sent = producer.send(message).await.unwrap();
        assert_eq!(sent.status, SendStatus::Ok);
        assert_eq!(sent.msg_id.len(), 32);
        expected.insert(body, (tag.to_owned(), Some(format!("key-{i}"))));
    }
    let pending = producer
        .send_async(Message::new(&topic, "async").with_tags("TagA"))
        .await
        .unwrap();
    assert_eq!(pending.await.unwrap().unwrap().status, SendStatus::Ok);
    expected.insert("async".into(), ("TagA".into(), None));
    producer
        .send_oneway(Message::new(&topic, "oneway").with_tags("TagB"))
        .await
        .unwrap();
    expected.insert("oneway".into(), ("TagB".into(), None));
    let batch: Vec<Message> = (0..3)
        .map(|i| Message::new(&topic, format!("batch-{i}")).with_tags("TagA"))
        .collect();
    let sent = producer.send_batch(batch).await.unwrap();
    assert_eq!(sent.msg_id.split(',').count(), 3);
    for i in 0..3 {
        expected.insert(format!("batch-{i}"), ("TagA".into(), None));
    }

    let group = unique("cg_all");
    let consumer = pull_consumer(&group);
    await_route(&consumer, &topic).await;
    consumer.subscribe(&topic, "*").await.unwrap();
    let got = poll_until(&consumer, expected.len()).await;
    let mut seen = BTreeMap::new();
    for message in &got {
        let body = String::from_utf8(message.body.to_vec()).unwrap();
        let keys = message.keys().first().map(|key| key.to_string());
        seen.insert(body.clone(), (message.tags().unwrap_or_default().to_owned(), keys));
        if let Some(seq) = message.property("seq") {
            assert_eq!(message.keys(), [format!("key-{seq}")]);
        }
    }
    assert_eq!(seen, expected);
    // Every message keeps its own unique id, batch members included.
    let ids: BTreeSet<&str> = got.iter().map(|m| m.msg_id()).collect();
    assert_eq!(ids.len(), got.len(), "{ids:?}");
    assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
    consumer.commit().await.unwrap();
    consumer.shutdown().await;

    // The group's offsets were committed: a new member starts after them. Seeking goes back.
    let again = pull_consumer(&group);
    again.subscribe(&topic, "*").await.unwrap();
    assert!(again.poll(Duration::from_millis(800)).await.unwrap().is_empty());
    let first_queue = got[0].queue_id;
    let queue = again
        .owned_queues()
        .into_iter()
        .find(|q| q.queue_id == first_queue)
        .unwrap();
    again.seek(&queue, 0).unwrap();
    let replayed = again.poll(Duration::from_secs(5)).await.unwrap();
    assert!(!replayed.is_empty());
    assert!(replayed.iter().all(|m| m.queue_id == first_queue), "{replayed:?}");
    assert_eq!(replayed[0].queue_offset, 0);
    again.shutdown().await;

    // A tag subscription sees only its tag.
    let tagged = pull_consumer(&unique("cg_tag"));
    tagged.subscribe(&topic, "TagB").await.unwrap();
    let want = expected.values().filter(|(tag, _)| tag == "TagB").count();
    let got = poll_until(&tagged, want).await;
    assert!(got.iter().all(|m| m.tags() == Some("TagB")), "{got:?}");
    assert!(tagged.poll(Duration::from_millis(500)).await.unwrap().is_empty());
    tagged.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn an_sql92_subscription_gets_only_matching_messages() {
    let topic = unique("Sql");
    let producer = producer().await;
    for amount in 1..=10 {
        let message = Message::new(&topic, format!("amount {amount}"))
            .with_tags(if amount % 2 == 0 { "even" } else { "odd" })
            .with_property("amount", amount.to_string());
        producer.send(message).await.unwrap();
    }
    let consumer = pull_consumer(&unique("cg_sql"));
    await_route(&consumer, &topic).await;
    consumer
        .subscribe_with(&topic, Filter::sql92("amount > 5 AND TAGS = 'even'"))
        .await
        .unwrap();
    let mut bodies: Vec<String> = poll_until(&consumer, 3)
        .await
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    bodies.extend(
        consumer
            .poll(Duration::from_millis(800))
            .await
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap()),
    );
    bodies.sort();
    assert_eq!(bodies, ["amount 10", "amount 6", "amount 8"]);
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn messages_with_one_key_keep_their_order_in_one_queue() {
    let topic = unique("Ordered");
    let producer = producer().await;
    // Create the topic first, so every ordered send sees the same queues.
    producer.send(Message::new(&topic, "warm-up")).await.unwrap();
    let consumer = pull_consumer(&unique("cg_order"));
    await_route(&consumer, &topic).await;
    producer.cluster().fetch_route(&topic).await.unwrap();
    let keys = ["order-1", "order-2", "order-3", "order-4"];
    let mut queue_of_key = BTreeMap::new();
    for seq in 0..15 {
        for key in keys {
            let sent = producer
                .send_ordered(Message::new(&topic, format!("{key}:{seq}")), key)
                .await
                .unwrap();
            let queue = *queue_of_key.entry(key).or_insert(sent.queue_id);
            assert_eq!(sent.queue_id, queue, "{key} moved queue");
        }
    }
    let queues = consumer.queues_of(&topic).await.unwrap();
    consumer.assign(queues, "*").await.unwrap();
    let got = poll_until(&consumer, 1 + 15 * keys.len()).await;
    let mut last_seq: BTreeMap<String, i64> = BTreeMap::new();
    for message in got {
        let body = String::from_utf8(message.body.to_vec()).unwrap();
        let Some((key, seq)) = body.split_once(':') else {
            continue;
        };
        let seq: i64 = seq.parse().unwrap();
        assert_eq!(message.queue_id, queue_of_key[key], "{body}");
        let previous = last_seq.insert(key.to_owned(), seq).unwrap_or(-1);
        assert_eq!(seq, previous + 1, "{key} out of order");
    }
    assert_eq!(last_seq.len(), keys.len());
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn a_push_consumer_gets_a_retried_message_again_through_the_retry_topic() {
    let topic = unique("Retry");
    let group = unique("cg_retry");
    let producer = producer().await;
    producer.send(Message::new(&topic, "first")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    waiter.shutdown().await;

    let deliveries: Arc<Mutex<Vec<(String, i32, String)>>> = Arc::default();
    let seen = Arc::clone(&deliveries);
    let mut options = PushConsumerOptions::new(client(), &group).subscribe(&topic, "*");
    options.start_from = StartFrom::FirstOffset;
    let consumer = PushConsumer::start(options, move |message: ReceivedMessage| {
        let seen = Arc::clone(&seen);
        async move {
            let body = String::from_utf8_lossy(&message.body).into_owned();
            seen.lock()
                .unwrap()
                .push((body.clone(), message.reconsume_times, message.topic.clone()));
            if body == "retry-me" && message.reconsume_times == 0 {
                ConsumeOutcome::Retry
            } else {
                ConsumeOutcome::Success
            }
        }
    })
    .await
    .unwrap();
    producer.send(Message::new(&topic, "retry-me")).await.unwrap();
    producer.send(Message::new(&topic, "plain")).await.unwrap();

    let deadline = Instant::now() + WAIT;
    loop {
        let got = deliveries.lock().unwrap().clone();
        let retried = got.iter().any(|(body, times, _)| body == "retry-me" && *times == 1);
        if retried && got.iter().any(|(body, _, _)| body == "plain") {
            // The retried copy reads as the original topic, as Java's consumer shows it.
            assert!(got.iter().all(|(_, _, t)| *t == topic), "{got:?}");
            assert_eq!(got.iter().filter(|(body, _, _)| body == "first").count(), 1, "{got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "deliveries so far: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;
    // Shutdown committed what the push consumer consumed: the group has nothing left to read.
    let after = pull_consumer(&group);
    after.subscribe(&topic, "*").await.unwrap();
    assert!(after.poll(Duration::from_millis(800)).await.unwrap().is_empty());
    after.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn delayed_and_timer_messages_arrive_no_earlier_than_asked() {
    let topic = unique("Later");
    let producer = producer().await;
    producer.send(Message::new(&topic, "now")).await.unwrap();
    let consumer = pull_consumer(&unique("cg_later"));
    await_route(&consumer, &topic).await;
    consumer.subscribe(&topic, "*").await.unwrap();
    assert_eq!(poll_until(&consumer, 1).await.len(), 1);

    let sent_at = Instant::now();
    let wall_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    producer
        .send(Message::new(&topic, "level-1").with_delay_level(1))
        .await
        .unwrap();
    producer
        .send(Message::new(&topic, "timer-3s").with_deliver_time_ms(wall_ms + 3_000))
        .await
        .unwrap();
    let mut arrived = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    while arrived.len() < 2 {
        assert!(Instant::now() < deadline, "arrived so far: {arrived:?}");
        for message in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            assert_eq!(message.topic, topic);
            let body = String::from_utf8(message.body.to_vec()).unwrap();
            arrived.insert(body, sent_at.elapsed());
        }
    }
    // Level 1 is 1 s; the timer wheel's precision is 1 s, so a timer may fire up to 1 s early.
    assert!(arrived["level-1"] >= Duration::from_millis(900), "{arrived:?}");
    assert!(arrived["timer-3s"] >= Duration::from_millis(1_900), "{arrived:?}");
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn a_committed_half_message_is_delivered_and_a_rolled_back_one_is_not() {
    let topic = unique("Tx");
    let options = ProducerOptions::new(client(), unique("txg"));
    let producer = Producer::start_transactional(options, |_: &ReceivedMessage| TransactionState::Rollback).unwrap();
    await_broker_registered(producer.cluster()).await;
    producer.send(Message::new(&topic, "plain")).await.unwrap();
    let consumer = pull_consumer(&unique("cg_tx"));
    await_route(&consumer, &topic).await;
    consumer.subscribe(&topic, "*").await.unwrap();
    let (_, state) = producer
        .send_in_transaction(Message::new(&topic, "tx-commit"), |sent| {
            assert_eq!(sent.status, SendStatus::Ok);
            TransactionState::Commit
        })
        .await
        .unwrap();
    assert_eq!(state, TransactionState::Commit);
    producer
        .send_in_transaction(Message::new(&topic, "tx-rollback"), |_| TransactionState::Rollback)
        .await
        .unwrap();
    let mut bodies: Vec<String> = poll_until(&consumer, 2)
        .await
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    bodies.extend(
        consumer
            .poll(Duration::from_secs(1))
            .await
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap()),
    );
    bodies.sort();
    assert_eq!(bodies, ["plain", "tx-commit"]);
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn every_broadcasting_member_gets_every_message() {
    let topic = unique("Broadcast");
    let group = unique("cg_broadcast");
    let producer = producer().await;
    producer.send(Message::new(&topic, "m0")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    waiter.shutdown().await;
    let mut members = Vec::new();
    let mut logs = Vec::new();
    for _ in 0..2 {
        let log: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let seen = Arc::clone(&log);
        let mut options = PushConsumerOptions::new(client(), &group).subscribe(&topic, "*");
        options.start_from = StartFrom::FirstOffset;
        options.message_model = MessageModel::Broadcasting;
        let member = PushConsumer::start(options, move |message: ReceivedMessage| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock()
                    .unwrap()
                    .insert(String::from_utf8_lossy(&message.body).into_owned());
                ConsumeOutcome::Success
            }
        })
        .await
        .unwrap();
        members.push(member);
        logs.push(log);
    }
    for i in 1..6 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    let want: BTreeSet<String> = (0..6).map(|i| format!("m{i}")).collect();
    let deadline = Instant::now() + WAIT;
    while logs.iter().any(|log| *log.lock().unwrap() != want) {
        let got: Vec<BTreeSet<String>> = logs.iter().map(|log| log.lock().unwrap().clone()).collect();
        assert!(Instant::now() < deadline, "members got {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for member in members {
        assert_eq!(member.owned_queues().iter().filter(|q| q.topic == topic).count(), 4);
        member.shutdown().await;
    }
    producer.shutdown().await;
}

/// A broadcasting member keeps its offsets in its own file (Java's `LocalFileOffsetStore`): back
/// with the same instance name it resumes after what it consumed, though it starts from the
/// first offset when it has no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn a_restarted_broadcasting_member_resumes_from_its_local_offsets() {
    let topic = unique("BroadcastResume");
    let group = unique("cg_broadcast_resume");
    let offsets_dir = std::env::temp_dir().join(unique("ferrocket-broadcast-offsets"));
    let producer = producer().await;
    producer.send(Message::new(&topic, "m0")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    waiter.shutdown().await;
    let instance = unique("resume");
    let start = |seen: Arc<Mutex<Vec<String>>>| {
        let mut options = PushConsumerOptions::new(client(), &group).subscribe(&topic, "*");
        options.client.instance_name = instance.clone();
        options.start_from = StartFrom::FirstOffset;
        options.message_model = MessageModel::Broadcasting;
        options.local_offset_dir = offsets_dir.clone();
        PushConsumer::start(options, move |message: ReceivedMessage| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&message.body).into_owned());
                ConsumeOutcome::Success
            }
        })
    };
    let await_seen = |seen: Arc<Mutex<Vec<String>>>, want: Vec<String>| async move {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut got = seen.lock().unwrap().clone();
            got.sort();
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "got {got:?}, want {want:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    for i in 1..3 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    let first: Arc<Mutex<Vec<String>>> = Arc::default();
    let member = start(Arc::clone(&first)).await.unwrap();
    await_seen(Arc::clone(&first), vec!["m0".into(), "m1".into(), "m2".into()]).await;
    member.shutdown().await;

    for i in 3..6 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    let second: Arc<Mutex<Vec<String>>> = Arc::default();
    let member = start(Arc::clone(&second)).await.unwrap();
    await_seen(Arc::clone(&second), vec!["m3".into(), "m4".into(), "m5".into()]).await;
    // Nothing more comes (no m0..m2 again) in a further pull round.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(second.lock().unwrap().len(), 3, "{:?}", second.lock().unwrap());
    member.shutdown().await;
    producer.shutdown().await;
    let _ = std::fs::remove_dir_all(&offsets_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn an_orderly_push_consumer_sees_each_key_in_order_even_with_a_retry() {
    let topic = unique("Orderly");
    let producer = producer().await;
    producer.send(Message::new(&topic, "warm-up")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    waiter.shutdown().await;
    producer.cluster().fetch_route(&topic).await.unwrap();
    let keys = ["k1", "k2", "k3"];
    for seq in 0..12 {
        for key in keys {
            producer
                .send_ordered(Message::new(&topic, format!("{key}:{seq}")), key)
                .await
                .unwrap();
        }
    }
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&log);
    let failed_once = Arc::new(Mutex::new(false));
    let mut options = PushConsumerOptions::new(client(), unique("cg_orderly")).subscribe(&topic, "*");
    options.start_from = StartFrom::FirstOffset;
    options.orderly = true;
    let consumer = PushConsumer::start(options, move |message: ReceivedMessage| {
        let (seen, failed_once) = (Arc::clone(&seen), Arc::clone(&failed_once));
        async move {
            let body = String::from_utf8_lossy(&message.body).into_owned();
            // Uneven work, so a listener run concurrently would finish out of order.
            let pause = body.bytes().map(u64::from).sum::<u64>() % 7;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            if body == "k2:3" && !std::mem::replace(&mut *failed_once.lock().unwrap(), true) {
                return ConsumeOutcome::Retry;
            }
            seen.lock().unwrap().push(body);
            ConsumeOutcome::Success
        }
    })
    .await
    .unwrap();
    let deadline = Instant::now() + WAIT;
    while log.lock().unwrap().len() < 1 + 12 * keys.len() {
        assert!(Instant::now() < deadline, "got {:?}", log.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;
    let got = log.lock().unwrap().clone();
    for key in keys {
        let seqs: Vec<i64> = got
            .iter()
            .filter_map(|body| body.strip_prefix(&format!("{key}:")))
            .map(|seq| seq.parse().unwrap())
            .collect();
        assert_eq!(seqs, (0..12).collect::<Vec<_>>(), "{key}");
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn a_message_out_of_retries_goes_to_the_dlq() {
    let topic = unique("Dlq");
    let group = unique("cg_dlq");
    let producer = producer().await;
    producer.send(Message::new(&topic, "poison")).await.unwrap();
    let reader = pull_consumer(&unique("cg_wait"));
    await_route(&reader, &topic).await;
    let mut options = PushConsumerOptions::new(client(), &group).subscribe(&topic, "*");
    options.start_from = StartFrom::FirstOffset;
    options.max_reconsume_times = 0;
    let calls = Arc::new(Mutex::new(0u32));
    let counted = Arc::clone(&calls);
    let consumer = PushConsumer::start(options, move |_message: ReceivedMessage| {
        let counted = Arc::clone(&counted);
        async move {
            *counted.lock().unwrap() += 1;
            ConsumeOutcome::Retry
        }
    })
    .await
    .unwrap();
    // The DLQ is created by the send-back that fills it; its one queue then holds the message.
    let dlq = format!("%DLQ%{group}");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(queues) = reader.queues_of(&dlq).await
            && let Some(queue) = queues.first()
            && reader.end_offset(queue).await.unwrap_or(0) == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "nothing in {dlq}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        *calls.lock().unwrap(),
        1,
        "with no retries left the message is not redelivered"
    );
    consumer.shutdown().await;
    reader.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn admin_creates_reports_progress_on_and_deletes_a_topic() {
    let admin = Admin::start(client()).unwrap();
    await_broker_registered(admin.cluster()).await;
    let info = admin.cluster_info().await.unwrap();
    let (cluster_name, brokers) = info.cluster_addr_table.iter().next().expect("a cluster");
    assert!(!brokers.is_empty());
    let topic = unique("Admin");
    admin.create_topic(cluster_name, &topic, 8).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match admin.topic_route(&topic).await {
            Ok(route) if route.queue_datas.iter().any(|q| q.write_queue_nums == 8) => break,
            other => assert!(Instant::now() < deadline, "route of {topic}: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let producer = producer().await;
    for i in 0..16 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    let group = unique("cg_admin");
    let consumer = pull_consumer(&group);
    consumer.subscribe(&topic, "*").await.unwrap();
    assert_eq!(consumer.owned_queues().len(), 8);
    poll_until(&consumer, 16).await;
    consumer.commit().await.unwrap();
    assert_eq!(
        admin.group_members(&group, &topic).await.unwrap(),
        [consumer.cluster().client_id()]
    );
    let progress = admin.consume_progress(&group, &topic).await.unwrap();
    assert_eq!(progress.len(), 8, "{progress:?}");
    assert_eq!(
        progress.iter().map(|p| p.broker_offset).sum::<i64>(),
        16,
        "{progress:?}"
    );
    assert!(progress.iter().all(|p| p.lag() == 0), "{progress:?}");
    consumer.shutdown().await;
    producer.shutdown().await;

    admin.delete_topic(cluster_name, &topic).await.unwrap();
    assert!(
        admin.topic_route(&topic).await.is_err(),
        "the name server still routes {topic}"
    );
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn push_consumers_share_the_queues_two_then_three_then_two() {
    let topic = unique("Rebalance");
    let group = unique("cg_rebalance");
    let producer = producer().await;
    producer.send(Message::new(&topic, "create")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    let all: BTreeSet<i32> = waiter
        .queues_of(&topic)
        .await
        .unwrap()
        .iter()
        .map(|q| q.queue_id)
        .collect();
    waiter.shutdown().await;
    assert_eq!(all.len(), 4, "a topic created on send has 4 queues");

    let start = || {
        let mut options = PushConsumerOptions::new(client(), &group).subscribe(&topic, "*");
        options.start_from = StartFrom::FirstOffset;
        PushConsumer::start(options, |_message: ReceivedMessage| async { ConsumeOutcome::Success })
    };
    let first = start().await.unwrap();
    let second = start().await.unwrap();
    await_split(&[&first, &second], &topic, &all, &[2, 2]).await;
    let third = start().await.unwrap();
    await_split(&[&first, &second, &third], &topic, &all, &[2, 1, 1]).await;
    third.shutdown().await;
    await_split(&[&first, &second], &topic, &all, &[2, 2]).await;
    first.shutdown().await;
    second.shutdown().await;
    producer.shutdown().await;
}

/// Waits until the consumers own every queue of `topic` between them, in shares of `sizes`
/// (largest first).
async fn await_split(consumers: &[&PushConsumer], topic: &str, all: &BTreeSet<i32>, sizes: &[usize]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let shares: Vec<BTreeSet<i32>> = consumers
            .iter()
            .map(|consumer| {
                consumer
                    .owned_queues()
                    .into_iter()
                    .filter(|q| q.topic == topic)
                    .map(|q| q.queue_id)
                    .collect()
            })
            .collect();
        let union: BTreeSet<i32> = shares.iter().flatten().copied().collect();
        let mut counts: Vec<usize> = shares.iter().map(BTreeSet::len).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        if union == *all && counts == sizes {
            return;
        }
        assert!(Instant::now() < deadline, "shares {shares:?}, want sizes {sizes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A broker restart in the middle of traffic: a producer sends all along (sends while the broker
/// is down may fail; they are not acknowledged), a push consumer reads all along, and after the
/// broker is back every acknowledged message is consumed (duplicates allowed: at least once),
/// sends are acknowledged again and consumption resumes. The restart is run.sh's script
/// (`FERROCKET_CLIENT_RESTART_BROKER`): SIGTERM, then the same broker on the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running target: interop/rust-client/run.sh"]
async fn producer_and_push_consumer_carry_on_across_a_broker_restart() {
    let restart = std::env::var("FERROCKET_CLIENT_RESTART_BROKER")
        .expect("FERROCKET_CLIENT_RESTART_BROKER is not set: run interop/rust-client/run.sh");
    let topic = unique("Restart");
    let producer = Arc::new(producer().await);
    producer.send(Message::new(&topic, "create")).await.unwrap();
    let waiter = pull_consumer(&unique("cg_wait"));
    await_route(&waiter, &topic).await;
    waiter.shutdown().await;

    let consumed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut options = PushConsumerOptions::new(client(), unique("cg_restart")).subscribe(&topic, "*");
    options.start_from = StartFrom::FirstOffset;
    let seen = Arc::clone(&consumed);
    let consumer = PushConsumer::start(options, move |message: ReceivedMessage| {
        seen.lock()
            .unwrap()
            .insert(String::from_utf8_lossy(&message.body).into_owned());
        async { ConsumeOutcome::Success }
    })
    .await
    .unwrap();

    // Sends every 20 ms until told to stop; returns the bodies acknowledged before and after
    // the restart finished.
    let restarted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (producer, topic, restarted, stop) =
            (Arc::clone(&producer), topic.clone(), restarted.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::Acquire) {
                    break;
                }
                let body = format!("m-{i}");
                if producer.send(Message::new(&topic, body.clone())).await.is_ok() {
                    let was_restarted = restarted.load(std::sync::atomic::Ordering::Acquire);
                    if was_restarted {
                        after.push(body)
                    } else {
                        before.push(body)
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (before, after)
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let consumed_before_restart = consumed.lock().unwrap().len();
    assert!(consumed_before_restart > 0, "nothing consumed before the restart");
    let status = tokio::task::spawn_blocking(move || std::process::Command::new(restart).status())
        .await
        .unwrap()
        .expect("cannot run the restart script");
    assert!(status.success(), "the restart script failed: {status}");
    restarted.store(true, std::sync::atomic::Ordering::Release);
    // Long enough for the producer's route and connection to come back, then some more traffic.
    let deadline = Instant::now() + WAIT;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let consumed_now = consumed.lock().unwrap().len();
        if consumed_now > consumed_before_restart + 50 || Instant::now() > deadline {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let (before, after) = sender.await.unwrap();
    assert!(!after.is_empty(), "no send was acknowledged after the restart");

    let deadline = Instant::now() + WAIT;
    loop {
        let missing: Vec<String> = {
            let got = consumed.lock().unwrap();
            before
                .iter()
                .chain(&after)
                .filter(|body| !got.contains(*body))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages never consumed ({} before the restart, {} after), e.g. {:?}",
            missing.len(),
            before.len(),
            after.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}
