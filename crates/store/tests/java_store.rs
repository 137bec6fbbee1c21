//! Java compatibility of the store files, both ways; the Java halves are in
//! `interop/java/store-it` (run by `interop/java/store-interop.sh`), which runs the two ignored
//! tests here as child processes and exchanges with them one expectations file per store:
//!
//! - `java_store_reads_back_identical` opens a store written by the official Java broker 5.3.3
//!   (`FERROCKET_JAVA_STORE`) and checks every message against what the Java client sent and read
//!   back (`FERROCKET_JAVA_EXPECTED`): every field of every record, every consume-queue entry and
//!   every index key.
//! - `write_store_for_java` writes a store (`FERROCKET_STORE_FOR_JAVA`, with `config/topics.json`
//!   and a checkpoint) for a Java broker at `FERROCKET_STORE_FOR_JAVA_STORE_HOST`, and the lines
//!   the Java client must read from it (`FERROCKET_STORE_FOR_JAVA_EXPECTED`).
//!
//! Run with `--ignored`, both fail (never skip) when their environment is missing. The other tests
//! run the checker on our own writer's output, and show that it notices a difference.
//!
//! Expectations file: one record per line, tab-separated, `#` lines are comments:
//! `topic queueId queueOffset commitLogOffset storeSize sysFlag flag bodyCRC bornTimestamp bornHost
//! storeTimestamp storeHost reconsumeTimes preparedTransactionOffset msgId offsetMsgId properties
//! body`, with topic, properties and body in lower-case hex; properties are sorted by name, each
//! `name 0x01 value 0x02`, without a pulling client's MIN_OFFSET/MAX_OFFSET; body is uncompressed
//! and sysFlag without the COMPRESSED bit, as a client sees them (bodyCRC and storeSize are the
//! stored, compressed record's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "java_store/expectations.rs"]
mod expectations;
#[path = "java_store/writer.rs"]
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use expectations::{Line, assert_lines_equal, read_lines, write_lines};
use ferrocket_store::{CommitLog, ConsumeQueues, GetMessageStatus, GetMessages, MessageStore, MessageStoreConfig};
use ferrocket_store::{
    CommitLogConfig, CommitLogOffset, IndexFiles, IndexGeometry, QueueId, QueueOffset, ScannedRecord, index_keys,
};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;
use ferrocket_wire::message::{OffsetMessageId, StoredMessage};
use writer::{ms_since_utc_month_start, write_store};

/// These four must equal `StoreGeometry.java`: Java refuses files of another size.
const COMMIT_LOG_SEGMENT_BYTES: u64 = 256 * 1024;
const CONSUME_QUEUE_FILE_ENTRIES: u64 = 50;
const INDEX_HASH_SLOTS: u32 = 64;
const INDEX_ENTRIES_MAX: u32 = 200;
const INDEX: IndexGeometry = IndexGeometry {
    hash_slots: INDEX_HASH_SLOTS,
    entries_max: INDEX_ENTRIES_MAX,
};
/// Java's default `maxMessageSize`.
const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// A store this small proves little: fewer segments than this means the sizes were not applied.
const SEGMENTS_MIN: usize = 3;
const INDEX_FILES_MIN: usize = 2;

fn required_env(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => panic!("{name} is not set: this test is run by interop/java/store-interop.sh"),
    }
}

fn commit_log_config(root: &Path) -> CommitLogConfig {
    CommitLogConfig {
        segment_bytes: COMMIT_LOG_SEGMENT_BYTES,
        body_bytes_max: BODY_BYTES_MAX,
        ..CommitLogConfig::new(root.join("commitlog"))
    }
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Opens the store at `root` and checks it holds exactly `expected` (module docs).
fn check_store(root: &Path, expected: &[Line]) {
    assert!(!expected.is_empty(), "no expectations");
    assert!(
        count_files(&root.join("commitlog")) >= SEGMENTS_MIN,
        "fewer than {SEGMENTS_MIN} commit-log segments in {}",
        root.display()
    );
    let log = CommitLog::open(&commit_log_config(root)).unwrap();
    let end = expected.iter().map(Line::end).max().unwrap();
    assert_eq!(
        log.max_offset(),
        end,
        "recovered end of the commit log vs the last expected record"
    );
    check_records(&log, expected);
    check_consume_queues(root, &log, expected);
    drop(log);
    check_index(root, expected);
    check_through_message_store(root, expected);
}

fn store_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        commit_log_segment_bytes: COMMIT_LOG_SEGMENT_BYTES,
        consume_queue_file_entries: CONSUME_QUEUE_FILE_ENTRIES,
        body_bytes_max: BODY_BYTES_MAX,
        index: INDEX,
        ..MessageStoreConfig::new(root)
    }
}

/// The same through the broker's API, after its recovery: every queue pulled from 0 to its end,
/// every message by offset, every key and unique key by query. Leaves the store cleanly shut.
fn check_through_message_store(root: &Path, expected: &[Line]) {
    let now = now_ms();
    let mut store = MessageStore::open(store_config(root), now).unwrap();
    assert!(
        !store.recovered_abnormally(),
        "a cleanly stopped store needs no abnormal recovery"
    );
    assert_eq!(
        store.commit_log_max_offset(),
        expected.iter().map(Line::end).max().unwrap()
    );
    let mut by_queue: BTreeMap<(&str, i32), Vec<&Line>> = BTreeMap::new();
    for line in expected {
        by_queue
            .entry((line.topic.as_str(), line.queue_id))
            .or_default()
            .push(line);
    }
    for ((topic, queue_id), lines) in &mut by_queue {
        lines.sort_by_key(|line| line.queue_offset);
        assert_eq!(
            store.min_offset_in_queue(topic, QueueId(*queue_id)),
            QueueOffset(0),
            "{topic}/{queue_id}"
        );
        assert_eq!(
            store.max_offset_in_queue(topic, QueueId(*queue_id)),
            QueueOffset(lines.len() as u64),
            "{topic}/{queue_id}"
        );
        let pulled = pull_queue(&store, topic, *queue_id);
        assert_eq!(pulled.len(), lines.len(), "{topic}/{queue_id}: messages pulled");
        for (got, want) in pulled.iter().zip(lines.iter()) {
            assert_lines_equal(got, want);
        }
    }
    for line in expected {
        let offset = CommitLogOffset::from_java_long(line.commit_log_offset).unwrap();
        assert_lines_equal(&Line::of(&store.message_at(offset).unwrap()), line);
        for full_key in index_keys(&line.topic, &line.property_map()) {
            let key = &full_key[line.topic.len() + 1..];
            let found = store.query_by_key(&line.topic, key, 64, 0, i64::MAX).unwrap();
            let offsets: Vec<i64> = found
                .records
                .iter()
                .map(|bytes| StoredMessage::decode(bytes).unwrap().0.physical_offset)
                .collect();
            assert!(
                offsets.contains(&line.commit_log_offset),
                "query_by_key {full_key} does not find {} (found {offsets:?})",
                line.commit_log_offset
            );
        }
    }
    store.shutdown(now).unwrap();
}

/// A queue from offset 0 to its end, as pulls of 32 would see it.
fn pull_queue(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut offset = QueueOffset(0);
    loop {
        let result = store
            .get_messages(&GetMessages {
                topic,
                queue_id: QueueId(queue_id),
                offset,
                max_count: 32,
                filter: None,
                record_filter: None,
            })
            .unwrap();
        if result.records.is_empty() {
            assert_eq!(
                offset, result.max_offset,
                "{topic}/{queue_id}: stopped early ({:?})",
                result.status
            );
            return lines;
        }
        assert_eq!(result.status, GetMessageStatus::Found, "{topic}/{queue_id} at {offset}");
        for bytes in &result.records {
            let (message, used) = StoredMessage::decode(bytes).unwrap();
            assert_eq!(used, bytes.len(), "one whole record per pulled buffer");
            let record = ScannedRecord {
                physical_offset: CommitLogOffset::from_java_long(message.physical_offset).unwrap(),
                size: u32::try_from(used).unwrap(),
                message,
            };
            lines.push(Line::of(&record));
        }
        assert!(
            result.next_begin_offset > offset,
            "{topic}/{queue_id}: no progress at {offset}"
        );
        offset = result.next_begin_offset;
    }
}

/// Every record of the log decodes with a good CRC; those of the expected topics are exactly the
/// expected ones, field for field.
fn check_records(log: &CommitLog, expected: &[Line]) {
    let topics: BTreeSet<&str> = expected.iter().map(|line| line.topic.as_str()).collect();
    let mut found = BTreeMap::new();
    log.scan(log.min_offset(), |record| {
        assert!(
            record.message.body_crc_matches(),
            "body CRC at {}",
            record.physical_offset
        );
        assert_eq!(
            record.message.physical_offset,
            i64::try_from(record.physical_offset.0).unwrap()
        );
        if topics.contains(record.message.topic.as_str()) {
            found.insert(record.physical_offset, Line::of(&record));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(found.len(), expected.len(), "records of {topics:?} in the commit log");
    for want in expected {
        let offset = CommitLogOffset::from_java_long(want.commit_log_offset).unwrap();
        let id = OffsetMessageId::decode(&want.offset_msg_id).unwrap();
        assert_eq!(
            id.physical_offset, want.commit_log_offset,
            "offsetMsgId {}",
            want.offset_msg_id
        );
        let got = found
            .get(&offset)
            .unwrap_or_else(|| panic!("no record at {offset} ({})", want.offset_msg_id));
        assert_lines_equal(got, want);
        let read = Line::of(&log.read(offset).unwrap());
        assert_lines_equal(&read, want);
    }
}

/// Every queue of the expected topics runs from 0 without gaps, entry for entry; our recovery
/// leaves them as they are.
fn check_consume_queues(root: &Path, log: &CommitLog, expected: &[Line]) {
    let mut by_queue: BTreeMap<(String, i32), Vec<&Line>> = BTreeMap::new();
    for line in expected {
        by_queue
            .entry((line.topic.clone(), line.queue_id))
            .or_default()
            .push(line);
    }
    let mut queues = ConsumeQueues::open(root, CONSUME_QUEUE_FILE_ENTRIES).unwrap();
    check_queue_entries(&queues, log, &mut by_queue);
    queues.recover(log).unwrap();
    check_queue_entries(&queues, log, &mut by_queue);
}

fn check_queue_entries(queues: &ConsumeQueues, log: &CommitLog, by_queue: &mut BTreeMap<(String, i32), Vec<&Line>>) {
    for ((topic, queue_id), lines) in by_queue.iter_mut() {
        lines.sort_by_key(|line| line.queue_offset);
        let queue = queues
            .get(topic, QueueId(*queue_id), log)
            .unwrap()
            .unwrap_or_else(|| panic!("no consume queue {topic}/{queue_id}"));
        assert_eq!(queue.min_offset(), QueueOffset(0), "{topic}/{queue_id} min offset");
        assert_eq!(
            queue.max_offset(),
            QueueOffset(lines.len() as u64),
            "{topic}/{queue_id} max offset"
        );
        for (n, line) in lines.iter().enumerate() {
            assert_eq!(
                line.queue_offset, n as i64,
                "{topic}/{queue_id}: expected queue offsets run from 0"
            );
            let entry = queue.get(QueueOffset(n as u64)).unwrap().unwrap();
            let tags = line.property_map().get(keys::TAGS).map_or(0, tags_code);
            assert_eq!(
                (entry.physical_offset, entry.size, entry.tags_code),
                (line.commit_log_offset, line.store_size, tags),
                "consume queue {topic}/{queue_id} entry {n}"
            );
        }
    }
}

/// Every key and unique key of every message finds it through the index files.
fn check_index(root: &Path, expected: &[Line]) {
    assert!(
        count_files(&root.join("index")) >= INDEX_FILES_MIN,
        "fewer than {INDEX_FILES_MIN} index files"
    );
    let index = IndexFiles::open(root, INDEX).unwrap();
    for line in expected {
        let keys = index_keys(&line.topic, &line.property_map());
        assert!(!keys.is_empty(), "no index key for {}", line.msg_id);
        for full_key in keys {
            let key = &full_key[line.topic.len() + 1..];
            let found = index.query(&line.topic, key, 64, 0, i64::MAX).unwrap();
            assert!(
                found.phy_offsets.contains(&line.commit_log_offset),
                "index key {full_key} does not find {} (found {:?})",
                line.commit_log_offset,
                found.phy_offsets
            );
        }
    }
}

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

// ---- the tests ----

#[test]
#[ignore = "run by interop/java/store-interop.sh with a store written by the Java broker"]
fn java_store_reads_back_identical() {
    let root = required_env("FERROCKET_JAVA_STORE");
    let expected = read_lines(&required_env("FERROCKET_JAVA_EXPECTED"));
    check_store(&root, &expected);
    println!("checked {} messages of the store at {}", expected.len(), root.display());
}

#[test]
#[ignore = "run by interop/java/store-interop.sh, which then opens the store with the Java broker"]
fn write_store_for_java() {
    let root = required_env("FERROCKET_STORE_FOR_JAVA");
    let expected_path = required_env("FERROCKET_STORE_FOR_JAVA_EXPECTED");
    let store_host: SocketAddr = std::env::var("FERROCKET_STORE_FOR_JAVA_STORE_HOST")
        .expect("FERROCKET_STORE_FOR_JAVA_STORE_HOST is not set (the Java broker's ip:port)")
        .parse()
        .expect("FERROCKET_STORE_FOR_JAVA_STORE_HOST is not ip:port");
    assert!(!root.exists(), "{} exists already", root.display());
    let lines = write_store(&root, store_host, now_ms());
    write_lines(&expected_path, &lines);
    check_store(&root, &read_lines(&expected_path));
    println!("wrote {} messages to {}", lines.len(), root.display());
}

fn store_host() -> SocketAddr {
    "127.0.0.1:10911".parse().unwrap()
}

#[test]
fn our_store_passes_the_check_after_an_expectations_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let lines = write_store(&root, store_host(), 1_764_000_000_000);
    let file = dir.path().join("expected.tsv");
    write_lines(&file, &lines);
    let reread = read_lines(&file);
    assert_eq!(reread, lines);
    check_store(&root, &reread);
}

#[test]
fn the_check_notices_one_changed_field() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let lines = write_store(&root, store_host(), 1_764_000_000_000);
    let mutations: [fn(&mut Line); 4] = [
        |line| line.store_timestamp += 1,
        |line| line.body.replace_range(0..2, "ff"),
        |line| line.queue_offset += 1,
        |line| line.properties.push_str("00"),
    ];
    for (n, mutate) in mutations.iter().enumerate() {
        let mut changed = lines.clone();
        mutate(&mut changed[17]);
        let copy = dir.path().join(format!("copy{n}"));
        copy_tree(&root, &copy);
        let outcome = std::panic::catch_unwind(|| check_store(&copy, &changed));
        assert!(outcome.is_err(), "mutation {n} went unnoticed");
    }
}

#[test]
fn unique_id_time_is_milliseconds_since_the_utc_month_start() {
    // 2026-11-25T04:50:57.123Z: 24 days, 4 h 50 min 57.123 s into November.
    let ms = 1_795_582_257_123;
    assert_eq!(
        ms_since_utc_month_start(ms),
        ((24 * 24 + 4) * 60 + 50) * 60_000 + 57_123
    );
    // The 1st at midnight is zero; the last millisecond of February 2028 (leap) is 29 days in.
    assert_eq!(ms_since_utc_month_start(1_796_083_200_000), 0);
    assert_eq!(
        ms_since_utc_month_start(1_835_481_600_000 - 1) as u32,
        29 * 86_400_000 - 1
    );
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
