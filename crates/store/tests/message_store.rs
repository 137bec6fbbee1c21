//! `MessageStore` end to end over small files: puts, every pull status, tag filters, batch puts,
//! the pull caps, search by time, query by key, reopen after a clean shutdown and after a crash,
//! SYNC_FLUSH visibility, and the `StoreHandle` shell (arrivals, group commit, flush timeout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ferrocket_store::{
    Arrival, Clock, FlushDiskType, GetMessageStatus, GetMessages, GetMessagesResult, IndexGeometry, MessageStore,
    MessageStoreConfig, PutStatus, QueueId, QueueOffset, StoreError, StoreHandle,
};
use ferrocket_wire::message::tag_hash::tags_code;
use ferrocket_wire::message::{MessageVersion, StoredMessage};

const T0: i64 = 1_700_000_000_000;
const TOPIC: &str = "TopicTest";
/// Small files, so tests roll segments and queue files quickly.
const SEGMENT_BYTES: u64 = 64 * 1024;
const QUEUE_FILE_ENTRIES: u64 = 1000;

fn config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        commit_log_segment_bytes: SEGMENT_BYTES,
        consume_queue_file_entries: QUEUE_FILE_ENTRIES,
        index: IndexGeometry {
            hash_slots: 64,
            entries_max: 4000,
        },
        ..MessageStoreConfig::new(root)
    }
}

fn message(queue_id: i32, tags: &str, body: &[u8]) -> StoredMessage {
    let mut properties = ferrocket_wire::message::properties::MessageProperties::new();
    // Short bodies double as unique keys, so a test can query them back.
    if body.len() <= 16 {
        properties.insert("UNIQ_KEY", format!("U{}", String::from_utf8_lossy(body)));
    }
    if !tags.is_empty() {
        properties.insert("TAGS", tags);
    }
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: T0,
        born_host: "10.0.0.5:50000".parse().unwrap(),
        store_timestamp_ms: 0,
        store_host: "192.168.1.10:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        topic: TOPIC.to_owned(),
        properties,
    }
}

fn numbered(n: usize) -> StoredMessage {
    message(
        0,
        if n.is_multiple_of(2) { "A" } else { "B" },
        format!("m{n}").as_bytes(),
    )
}

fn get(store: &MessageStore, offset: u64, max_count: u32) -> GetMessagesResult {
    store
        .get_messages(&GetMessages {
            topic: TOPIC,
            queue_id: QueueId(0),
            offset: QueueOffset(offset),
            max_count,
            filter: None,
            record_filter: None,
        })
        .unwrap()
}

fn bodies(result: &GetMessagesResult) -> Vec<String> {
    result
        .records
        .iter()
        .map(|record| {
            let (message, used) = StoredMessage::decode(record).unwrap();
            assert_eq!(used, record.len());
            String::from_utf8(message.body.to_vec()).unwrap()
        })
        .collect()
}

fn fill(store: &mut MessageStore, count: usize) {
    for n in 0..count {
        store.put(numbered(n), T0 + n as i64).unwrap();
    }
}

#[test]
fn pull_statuses_follow_java() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    let empty = get(&store, 5, 32);
    assert_eq!(
        (empty.status, empty.next_begin_offset, empty.max_offset),
        (GetMessageStatus::NoMessageInQueue, QueueOffset(0), QueueOffset(0))
    );
    fill(&mut store, 10);
    let found = get(&store, 0, 32);
    assert_eq!(found.status, GetMessageStatus::Found);
    assert_eq!(
        (found.next_begin_offset, found.min_offset, found.max_offset),
        (QueueOffset(10), QueueOffset(0), QueueOffset(10))
    );
    assert_eq!(bodies(&found), (0..10).map(|n| format!("m{n}")).collect::<Vec<_>>());
    let (first, _) = StoredMessage::decode(&found.records[3]).unwrap();
    assert_eq!((first.queue_offset, first.store_timestamp_ms), (3, T0 + 3));
    assert!(!found.suggest_pulling_from_slave);

    let one = get(&store, 10, 32);
    assert_eq!(
        (one.status, one.next_begin_offset),
        (GetMessageStatus::OffsetOverflowOne, QueueOffset(10))
    );
    let badly = get(&store, 12, 32);
    assert_eq!(
        (badly.status, badly.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, QueueOffset(10))
    );
    let middle = get(&store, 7, 32);
    assert_eq!(bodies(&middle), vec!["m7", "m8", "m9"]);
    assert_eq!(get(&store, 0, 3).next_begin_offset, QueueOffset(3));
    assert_eq!(GetMessageStatus::OffsetOverflowOne.name(), "OFFSET_OVERFLOW_ONE");
}

#[test]
fn offset_too_small_after_clean_up_moves_the_min_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(
        MessageStoreConfig {
            consume_queue_file_entries: 16,
            file_reserved_hours: 0,
            ..config(dir.path())
        },
        T0,
    )
    .unwrap();
    for n in 0..200 {
        store.put(message(0, "A", &[b'x'; 900]), T0 + n).unwrap();
    }
    assert!(store.commit_log_max_offset().0 > 2 * SEGMENT_BYTES);
    store.arm_manual_delete();
    let report = store.run_cleanup_once(i64::MAX / 2).unwrap();
    assert!(!report.deleted_segments.is_empty(), "{report:?}");
    let min = store.min_offset_in_queue(TOPIC, QueueId(0));
    assert!(min > QueueOffset(0));
    let small = get(&store, 0, 32);
    assert_eq!(
        (small.status, small.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    assert_eq!(get(&store, min.0, 32).status, GetMessageStatus::Found);
}

#[test]
fn tag_filter_skips_entries_and_reports_no_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    fill(&mut store, 10);
    let code_a = tags_code("A");
    let only_a = |code: i64| code == code_a;
    let result = store
        .get_messages(&GetMessages {
            topic: TOPIC,
            queue_id: QueueId(0),
            offset: QueueOffset(1),
            max_count: 32,
            filter: Some(&only_a),
            record_filter: None,
        })
        .unwrap();
    assert_eq!(result.status, GetMessageStatus::Found);
    assert_eq!(bodies(&result), vec!["m2", "m4", "m6", "m8"]);
    assert_eq!(result.next_begin_offset, QueueOffset(10));
    let none = |_: i64| false;
    let nothing = store
        .get_messages(&GetMessages {
            topic: TOPIC,
            queue_id: QueueId(0),
            offset: QueueOffset(3),
            max_count: 32,
            filter: Some(&none),
            record_filter: None,
        })
        .unwrap();
    assert_eq!(
        (nothing.status, nothing.next_begin_offset, nothing.records.len()),
        (GetMessageStatus::NoMatchedMessage, QueueOffset(10), 0)
    );
}

#[test]
fn a_pull_examines_at_most_800_entries_and_one_queue_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    for n in 0..1200 {
        store.put(message(0, "B", b"b"), T0 + n).unwrap();
    }
    let none = |_: i64| false;
    let query = |offset, max_count| GetMessages {
        topic: TOPIC,
        queue_id: QueueId(0),
        offset: QueueOffset(offset),
        max_count,
        filter: Some(&none),
        record_filter: None,
    };
    // max(maxFilterMessageSize 16000, 32 × 20) bytes of entries = 800 entries.
    let capped = store.get_messages(&query(0, 32)).unwrap();
    assert_eq!(
        (capped.status, capped.next_begin_offset),
        (GetMessageStatus::NoMatchedMessage, QueueOffset(800))
    );
    // 1000 × 20 bytes > 16000: the request's count sets the cap, but the file ends at 1000.
    let file_end = store.get_messages(&query(100, 1000)).unwrap();
    assert_eq!(file_end.next_begin_offset, QueueOffset(QUEUE_FILE_ENTRIES));
    let unfiltered = get(&store, 990, 32);
    assert_eq!(
        (unfiltered.records.len(), unfiltered.next_begin_offset),
        (10, QueueOffset(1000))
    );
}

#[test]
fn batch_put_takes_consecutive_queue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    store.put(numbered(0), T0).unwrap();
    let batch: Vec<_> = (1..6).map(numbered).collect();
    let result = store.put_batch(batch, T0 + 1).unwrap();
    assert_eq!((result.queue_offset, result.msg_count), (QueueOffset(1), 5));
    assert_eq!(result.physical_offsets.len(), 5);
    assert_eq!(result.physical_offsets[0], result.physical_offset);
    assert_eq!(result.end_offset, store.commit_log_max_offset());
    assert_eq!(store.put(numbered(6), T0 + 2).unwrap().queue_offset, QueueOffset(6));
    let all = get(&store, 0, 32);
    assert_eq!(all.records.len(), 7);
    for (n, record) in all.records.iter().enumerate() {
        let (message, _) = StoredMessage::decode(record).unwrap();
        assert_eq!(message.queue_offset, n as i64);
    }
    // A batch with one bad member writes nothing.
    let mut bad: Vec<_> = (7..9).map(numbered).collect();
    bad[1].body = Bytes::from(vec![0u8; 5 * 1024 * 1024]);
    let before = store.commit_log_max_offset();
    assert!(matches!(
        store.put_batch(bad, T0 + 3),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(store.commit_log_max_offset(), before);
    assert_eq!(store.next_queue_offset(TOPIC, QueueId(0)), QueueOffset(7));
}

#[test]
fn pulls_stop_at_the_count_and_byte_caps() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(
        MessageStoreConfig {
            commit_log_segment_bytes: 1 << 20,
            ..config(dir.path())
        },
        T0,
    )
    .unwrap();
    for n in 0..40 {
        store.put(message(0, "", &[b'x'; 100]), T0 + n).unwrap();
    }
    for n in 0..5 {
        store.put(message(1, "", &[b'y'; 100 * 1024]), T0 + n).unwrap();
    }
    let in_memory = get(&store, 0, 64);
    assert_eq!(
        (in_memory.records.len(), in_memory.next_begin_offset),
        (32, QueueOffset(32))
    );
    let big = store
        .get_messages(&GetMessages {
            topic: TOPIC,
            queue_id: QueueId(1),
            offset: QueueOffset(0),
            max_count: 32,
            filter: None,
            record_filter: None,
        })
        .unwrap();
    // 256 KiB in memory: the third 100 KiB record would pass it.
    assert_eq!((big.records.len(), big.next_begin_offset), (2, QueueOffset(2)));
    drop(store);

    let mut on_disk = config(dir.path());
    on_disk.commit_log_segment_bytes = 1 << 20;
    on_disk.in_memory_window_bytes = 0;
    let store = MessageStore::open(on_disk, T0).unwrap();
    let from_disk = get(&store, 0, 64);
    assert_eq!(
        (from_disk.records.len(), from_disk.next_begin_offset),
        (8, QueueOffset(8))
    );
    assert!(from_disk.suggest_pulling_from_slave);
}

#[test]
fn search_by_time_and_store_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    for n in 0..10 {
        store.put(numbered(n as usize), T0 + 1000 * n).unwrap();
    }
    assert_eq!(store.offset_by_time(TOPIC, QueueId(0), T0 + 3000), QueueOffset(3));
    assert_eq!(store.offset_by_time(TOPIC, QueueId(0), T0 + 3500), QueueOffset(4));
    assert_eq!(store.offset_by_time(TOPIC, QueueId(0), 0), QueueOffset(0));
    assert_eq!(store.offset_by_time(TOPIC, QueueId(0), T0 + 99_000), QueueOffset(10));
    assert_eq!(store.offset_by_time("Nope", QueueId(0), T0), QueueOffset(0));
    assert_eq!(store.earliest_store_time(TOPIC, QueueId(0)), Some(T0));
    assert_eq!(store.store_time_at(TOPIC, QueueId(0), QueueOffset(5)), Some(T0 + 5000));
    assert_eq!(store.store_time_at(TOPIC, QueueId(0), QueueOffset(10)), None);
    assert_eq!(store.earliest_store_time("Nope", QueueId(0)), None);
}

#[test]
fn query_by_key_and_reads_by_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    let mut offsets = Vec::new();
    for n in 0..5 {
        let mut keyed = numbered(n);
        keyed.properties.insert("KEYS", format!("order{n} shared"));
        offsets.push(store.put(keyed, T0 + 1000 * n as i64).unwrap());
    }
    let shared = store.query_by_key(TOPIC, "shared", 64, 0, i64::MAX).unwrap();
    assert_eq!(shared.records.len(), 5);
    let first = StoredMessage::decode(&shared.records[0]).unwrap().0;
    assert_eq!(first.body.as_ref(), b"m0");
    assert_eq!(shared.index_last_update_phy_offset, offsets[4].physical_offset.0 as i64);
    assert_eq!(shared.index_last_update_timestamp_ms, T0 + 4000);
    assert_eq!(
        store
            .query_by_key(TOPIC, "shared", 2, 0, i64::MAX)
            .unwrap()
            .records
            .len(),
        2
    );
    let one = store.query_by_key(TOPIC, "order3", 64, 0, i64::MAX).unwrap();
    assert_eq!(one.records.len(), 1);
    let windowed = store.query_by_key(TOPIC, "shared", 64, T0 + 1000, T0 + 2000).unwrap();
    assert_eq!(windowed.records.len(), 2);
    assert!(
        store
            .query_by_key(TOPIC, "none", 64, 0, i64::MAX)
            .unwrap()
            .records
            .is_empty()
    );

    let record = store.message_at(offsets[2].physical_offset).unwrap();
    assert_eq!(record.message.body.as_ref(), b"m2");
    let raw = store
        .record_bytes_at(offsets[2].physical_offset, offsets[2].wrote_bytes)
        .unwrap();
    assert_eq!(StoredMessage::decode(&raw).unwrap().0, record.message);
    assert!(store.message_at(store.commit_log_max_offset()).is_err());
}

#[test]
fn reopen_after_clean_shutdown_and_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let abort = dir.path().join("abort");
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    assert!(abort.exists());
    fill(&mut store, 100);
    store.shutdown(T0 + 200).unwrap();
    assert!(!abort.exists());
    assert!(matches!(
        store.put(numbered(0), T0),
        Err(StoreError::NotWriteable { .. })
    ));
    drop(store);

    let mut store = MessageStore::open(config(dir.path()), T0 + 300).unwrap();
    assert!(!store.recovered_abnormally());
    assert_eq!(store.next_queue_offset(TOPIC, QueueId(0)), QueueOffset(100));
    assert_eq!(
        store.put(numbered(100), T0 + 301).unwrap().queue_offset,
        QueueOffset(100)
    );
    store.flush(T0 + 302).unwrap();
    drop(store); // a crash: no shutdown, the abort file stays

    assert!(abort.exists());
    let mut store = MessageStore::open(config(dir.path()), T0 + 400).unwrap();
    assert!(store.recovered_abnormally());
    assert_eq!(store.max_offset_in_queue(TOPIC, QueueId(0)), QueueOffset(101));
    assert_eq!(get(&store, 95, 32).records.len(), 6);
    assert_eq!(
        store.put(numbered(101), T0 + 401).unwrap().queue_offset,
        QueueOffset(101)
    );
    assert_eq!(
        store
            .query_by_key(TOPIC, "Um100", 64, 0, i64::MAX)
            .unwrap()
            .records
            .len(),
        1
    );
    assert_eq!(store.stats().dispatch_behind_bytes, 0);
}

#[test]
fn sync_flush_shows_records_only_once_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(
        MessageStoreConfig {
            flush_disk_type: FlushDiskType::Sync,
            ..config(dir.path())
        },
        T0,
    )
    .unwrap();
    assert_eq!(store.put(numbered(0), T0).unwrap().queue_offset, QueueOffset(0));
    assert_eq!(store.put(numbered(1), T0).unwrap().queue_offset, QueueOffset(1));
    assert_eq!(store.max_offset_in_queue(TOPIC, QueueId(0)), QueueOffset(0));
    assert_eq!(get(&store, 0, 32).status, GetMessageStatus::NoMessageInQueue);
    assert!(store.take_arrivals().is_empty());
    let flushed = store.flush(T0 + 1).unwrap();
    assert_eq!(flushed, store.commit_log_max_offset());
    assert_eq!(store.max_offset_in_queue(TOPIC, QueueId(0)), QueueOffset(2));
    assert_eq!(get(&store, 0, 32).records.len(), 2);
    let arrivals = store.take_arrivals();
    assert_eq!(arrivals.len(), 1);
    assert_eq!(
        (arrivals[0].topic.as_str(), arrivals[0].queue_id, arrivals[0].max_offset),
        (TOPIC, QueueId(0), QueueOffset(2))
    );
}

#[test]
fn delete_topic_forgets_its_queues() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(dir.path()), T0).unwrap();
    fill(&mut store, 3);
    store.delete_topic(TOPIC).unwrap();
    assert!(!dir.path().join("consumequeue").join(TOPIC).exists());
    assert_eq!(store.max_offset_in_queue(TOPIC, QueueId(0)), QueueOffset(0));
    assert_eq!(store.put(numbered(9), T0).unwrap().queue_offset, QueueOffset(0));
    assert!(store.delete_topic("../escape").is_err());
    let stats = store.stats();
    assert_eq!(stats.put_message_times_total, 4);
    assert_eq!(stats.commit_log_max_offset, store.commit_log_max_offset());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

#[test]
fn handle_puts_notify_arrivals_and_answer_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrivals);
    let listener: ferrocket_store::ArrivalListener = Arc::new(move |arrival: &Arrival| {
        seen.lock()
            .unwrap()
            .push((arrival.topic.clone(), arrival.queue_id, arrival.max_offset))
    });
    for flush_disk_type in [FlushDiskType::Async, FlushDiskType::Sync] {
        let root = dir.path().join(format!("{flush_disk_type:?}"));
        let handle = StoreHandle::open(
            MessageStoreConfig {
                flush_disk_type,
                ..config(&root)
            },
            Arc::clone(&listener),
            Clock::manual(T0),
        )
        .unwrap();
        let outcome = runtime().block_on(handle.put(numbered(0)));
        assert_eq!(outcome.status, PutStatus::PutOk, "{flush_disk_type:?}");
        let result = outcome.result.unwrap();
        if flush_disk_type == FlushDiskType::Sync {
            assert!(handle.read(MessageStore::flushed_offset) >= result.end_offset);
        }
        assert_eq!(handle.read(|store| get(store, 0, 32).records.len()), 1);
        assert_eq!(
            arrivals.lock().unwrap().pop(),
            Some((TOPIC.to_owned(), QueueId(0), QueueOffset(1)))
        );
        handle.shutdown();
        handle.shutdown();
        assert!(!root.join("abort").exists());
        let late = runtime().block_on(handle.put(numbered(1)));
        assert_eq!(late.status, PutStatus::ServiceNotAvailable);
        assert!(late.error.is_some());
    }
}

#[test]
fn handle_answers_flush_disk_timeout_when_the_deadline_passes_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let moved = clock.clone();
    // The flush thread tells the listener before it releases the waiters, so the deadline has
    // passed by the time the flush could answer the put.
    let leap_an_hour: ferrocket_store::ArrivalListener = Arc::new(move |_: &Arrival| moved.advance(3_600_000));
    let handle = StoreHandle::open(
        MessageStoreConfig {
            flush_disk_type: FlushDiskType::Sync,
            sync_flush_timeout_ms: 1,
            ..config(dir.path())
        },
        leap_an_hour,
        clock,
    )
    .unwrap();
    let outcome = runtime().block_on(handle.put(numbered(0)));
    assert_eq!(outcome.status, PutStatus::FlushDiskTimeout);
    // The message is stored all the same.
    assert_eq!(outcome.result.unwrap().queue_offset, QueueOffset(0));
    let mut too_big = numbered(1);
    too_big.body = Bytes::from(vec![0u8; 5 * 1024 * 1024]);
    assert_eq!(
        runtime().block_on(handle.put(too_big)).status,
        PutStatus::MessageIllegal
    );
    let mut no_wait = numbered(2);
    no_wait.properties.insert("WAIT", "false");
    assert_eq!(runtime().block_on(handle.put(no_wait)).status, PutStatus::PutOk);
    handle.shutdown();
}

#[test]
fn concurrent_sync_puts_are_group_committed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let handle = StoreHandle::open(
        MessageStoreConfig {
            flush_disk_type: FlushDiskType::Sync,
            ..config(dir.path())
        },
        Arc::new(|_: &ferrocket_store::Arrival| {}),
        Clock::manual(T0),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut offsets = runtime.block_on(async {
        let puts: Vec<_> = (0..200)
            .map(|n| {
                let handle = handle.clone();
                tokio::spawn(async move { handle.put(numbered(n)).await })
            })
            .collect();
        let mut offsets = Vec::new();
        for put in puts {
            let outcome = put.await.unwrap();
            assert_eq!(outcome.status, PutStatus::PutOk);
            offsets.push(outcome.result.unwrap().queue_offset);
        }
        offsets
    });
    offsets.sort_unstable();
    assert_eq!(offsets, (0..200).map(QueueOffset).collect::<Vec<_>>());
    assert_eq!(
        handle.read(|store| store.max_offset_in_queue(TOPIC, QueueId(0))),
        QueueOffset(200)
    );
    handle.shutdown();
}
