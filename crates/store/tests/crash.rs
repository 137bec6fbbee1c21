//! Crash loop: one store directory, many cycles. Each cycle a child process re-opens the store
//! (recovery), then appends, flushes (SYNC_FLUSH: the ack is printed only after `fsync`) and
//! dispatches to the consume queues and index files until the parent kills it with SIGKILL,
//! either after a random number of acks or after a random short delay (so kills also land
//! mid-write or mid-recovery). The child is one of two at random: the parts (commit log, consume
//! queues, index files, each recovered without a checkpoint, by Java's rules), or the whole
//! `MessageStore` (recovery from its checkpoint, lazy queues, a checkpoint written every few
//! puts, so kills also land mid-checkpoint).
//! After every kill the parent opens the store itself and checks: every acknowledged record is
//! there with the body derived from its message number, the whole log scans with valid body CRCs
//! to its end, and the consume queues and index files agree with the log before and after their
//! recovery; after a `MessageStore` child, a `MessageStore` opened from its checkpoint first
//! serves every record of every queue and finds each by its key.
//!
//! `FERROCKET_CRASH_CYCLES` (default 50) sets the cycle count, `FERROCKET_CRASH_SEED` the seed of
//! the random choices; the seed is printed in every failure message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ferrocket_store::{
    CommitLog, CommitLogOffset, ConsumeQueues, FlushDiskType, GetMessageStatus, GetMessages, IndexFiles, IndexGeometry,
    MessageStore, MessageStoreConfig, QueueId, QueueOffset, ScannedRecord, key_hash,
};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;

mod common;

use common::{config, message};

/// Tells the child test where to write; absent in a normal test run, so the child is a no-op.
const CHILD_DIR_VAR: &str = "FERROCKET_STORE_CRASH_CHILD_DIR";
/// Set when the child writes through a whole `MessageStore`, to a message number at or past the
/// log's record count: the clock its recovery names index files by (see [`time_of`]).
const CHILD_WHOLE_STORE_VAR: &str = "FERROCKET_STORE_CRASH_CHILD_WHOLE_STORE";
/// The `MessageStore` child writes its checkpoint (queue flush) every this many puts.
const CHECKPOINT_EVERY_PUTS: usize = 7;
/// Queues the messages spread over (`common::message`: queue id `n % 4`).
const QUEUES: i32 = 4;
const CYCLES_VAR: &str = "FERROCKET_CRASH_CYCLES";
const SEED_VAR: &str = "FERROCKET_CRASH_SEED";
/// Enough cycles to hit every phase of the child's loop while staying a few seconds long.
const CYCLES_DEFAULT: usize = 50;
/// Most acks a cycle waits for before killing; keeps the log (and the run) small.
const ACKS_BEFORE_KILL_MAX: u64 = 40;
/// Longest delay before a timed kill; the child's start-up alone takes a few milliseconds.
const KILL_DELAY_MAX_MS: u64 = 40;
/// Small consume-queue files, so queues also roll over to new files during the run.
const QUEUE_FILE_ENTRIES: u64 = 64;
/// Small index files (199 entries each), so the index also rotates during the run.
const INDEX_GEOMETRY: IndexGeometry = IndexGeometry {
    hash_slots: 64,
    entries_max: 200,
};
/// A cycle that produces no ack for this long has hung.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(20);

/// The body length of message `n`: varied, so records straddle segment ends at varied points.
fn body_len(n: usize) -> usize {
    50 + (n * 13) % 700
}

#[test]
#[ignore = "run by crash_loop_keeps_every_acknowledged_record as a child process"]
fn crash_child_writer() {
    let Some(root) = std::env::var_os(CHILD_DIR_VAR).map(PathBuf::from) else {
        return;
    };
    if let Some(next_at_least) = std::env::var(CHILD_WHOLE_STORE_VAR).ok().and_then(|n| n.parse().ok()) {
        return write_through_message_store(&root, next_at_least);
    }
    let mut log = CommitLog::open(&config(&root.join("commitlog"))).unwrap();
    let mut queues = ConsumeQueues::open(&root, QUEUE_FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    // Every record is `message(n)` in order, so the next number is the record count.
    let mut next = 0usize;
    log.scan(CommitLogOffset(0), |_| {
        next += 1;
        Ok(())
    })
    .unwrap();
    let mut index = IndexFiles::open(&root, INDEX_GEOMETRY).unwrap();
    index.recover(&log, time_of(next)).unwrap();
    for n in next.. {
        let result = log.append(&message(n, body_len(n)), time_of(n)).unwrap();
        log.flush().unwrap();
        println!("acked {n} {} {}", result.physical_offset, result.size);
        // SYNC_FLUSH dispatches only flushed records (confirm offset = flushed offset).
        let record = log.read(result.physical_offset).unwrap();
        queues.dispatch(&record, &log).unwrap();
        index.dispatch(&record, time_of(n)).unwrap();
    }
}

/// The child that writes through a whole SYNC_FLUSH `MessageStore`, as the store's flush
/// thread drives it: put, sync, dispatch, ack; every few puts the queues and the checkpoint.
fn write_through_message_store(root: &Path, next_at_least: usize) {
    // The store's recovery dispatched every record, so the queues count them.
    let mut store = MessageStore::open(store_config(root), time_of(next_at_least)).unwrap();
    let next: u64 = (0..QUEUES)
        .map(|queue_id| store.max_offset_in_queue(TOPIC, QueueId(queue_id)).0)
        .sum();
    for n in next as usize.. {
        let result = store.put(message(n, body_len(n)), time_of(n)).unwrap();
        let flush = store.begin_flush().unwrap();
        flush.sync().unwrap();
        store.finish_flush(flush, true, time_of(n)).unwrap();
        println!("acked {n} {} {}", result.physical_offset, result.wrote_bytes);
        if n.is_multiple_of(CHECKPOINT_EVERY_PUTS) {
            store.flush_queues_and_checkpoint().unwrap();
        }
    }
}

/// The topic of every message (`common::message`).
const TOPIC: &str = "TopicTest";

fn store_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        commit_log_segment_bytes: common::SEGMENT_BYTES,
        consume_queue_file_entries: QUEUE_FILE_ENTRIES,
        index: INDEX_GEOMETRY,
        flush_disk_type: FlushDiskType::Sync,
        ..MessageStoreConfig::new(root)
    }
}

/// The clock of message `n`: its store time, and the time index files are named by, so names
/// sort across processes whichever child writes.
fn time_of(n: usize) -> i64 {
    1_700_000_000_000 + n as i64
}

/// A tiny xorshift64 generator: reproducible from the printed seed, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `[low, high]`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// One acknowledged record as the child reported it.
#[derive(Debug, Clone, Copy)]
struct Ack {
    number: usize,
    offset: CommitLogOffset,
    size: u32,
}

fn parse_ack(line: &str) -> Option<Ack> {
    // The test harness may print "test crash_child_writer ... " before the first ack.
    let (_, ack) = line.split_once("acked ")?;
    let mut fields = ack.split(' ');
    Some(Ack {
        number: fields.next()?.parse().ok()?,
        offset: CommitLogOffset(fields.next()?.parse().ok()?),
        size: fields.next()?.parse().ok()?,
    })
}

/// How a cycle ends.
#[derive(Debug, Clone, Copy)]
enum Kill {
    AfterAcks(u64),
    AfterDelay(Duration),
}

/// Runs one child until `kill`, then SIGKILLs it; returns the acks it printed. `whole_store`:
/// the child writes through a `MessageStore` and the log holds fewer than this many records.
fn run_cycle(root: &Path, kill: Kill, whole_store: Option<usize>) -> Vec<Ack> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(next_at_least) = whole_store {
        command.env(CHILD_WHOLE_STORE_VAR, next_at_least.to_string());
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line)
                && sender.send(ack).is_err()
            {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut acks = Vec::new();
    match kill {
        Kill::AfterAcks(count) => {
            while (acks.len() as u64) < count {
                match receiver.recv_timeout(CYCLE_TIMEOUT) {
                    Ok(ack) => acks.push(ack),
                    Err(error) => panic!("child gave no ack: {error}"),
                }
            }
        }
        Kill::AfterDelay(delay) => {
            while let Some(left) = delay.checked_sub(started.elapsed()) {
                if let Ok(ack) = receiver.recv_timeout(left) {
                    acks.push(ack);
                }
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    // Lines already in the pipe were printed after their fsync: they are acks too.
    acks.extend(receiver.try_iter());
    acks
}

/// Every record of the log in order, each checked against the message its number says it is.
fn check_log(log: &CommitLog, acked: &[Ack]) -> Vec<ScannedRecord> {
    let mut records = Vec::new();
    let end = log
        .scan(CommitLogOffset(0), |record| {
            records.push(record);
            Ok(())
        })
        .unwrap();
    assert_eq!(end, log.max_offset(), "scan stopped before the end");
    for (n, record) in records.iter().enumerate() {
        let expected = message(n, body_len(n));
        assert!(record.message.body_crc_matches(), "record {n} fails its CRC");
        assert_eq!(record.message.body, expected.body, "record {n} body");
        assert_eq!(record.message.properties, expected.properties, "record {n} properties");
        assert_eq!(
            (record.message.queue_id, record.message.queue_offset),
            (expected.queue_id, expected.queue_offset),
            "record {n} queue position"
        );
    }
    for ack in acked {
        let record = records
            .get(ack.number)
            .unwrap_or_else(|| panic!("acked message {} lost", ack.number));
        assert_eq!(
            (record.physical_offset, record.size),
            (ack.offset, ack.size),
            "acked message {}",
            ack.number
        );
        assert_eq!(log.read(ack.offset).unwrap().message.body, record.message.body);
    }
    records
}

/// Every queue entry points at the record it should; returns the number of entries.
fn check_queues(queues: &ConsumeQueues, log: &CommitLog, records: &[ScannedRecord]) -> usize {
    let by_offset: std::collections::HashMap<CommitLogOffset, &ScannedRecord> =
        records.iter().map(|record| (record.physical_offset, record)).collect();
    let mut entries = 0;
    for (topic, queue_id) in queues.keys() {
        let queue = queues.get(topic, *queue_id, log).unwrap().unwrap();
        let count = usize::try_from(queue.max_offset().entries_after(queue.min_offset())).unwrap();
        for (index, entry) in queue.read(queue.min_offset(), count).unwrap().into_iter().enumerate() {
            let queue_offset = queue.min_offset().plus_entries(index as u64);
            let record = by_offset
                .get(&CommitLogOffset(u64::try_from(entry.physical_offset).unwrap()))
                .unwrap_or_else(|| panic!("{topic}/{queue_id}@{queue_offset} points at no record: {entry:?}"));
            let message = &record.message;
            assert_eq!(i64::from(record.size as i32), i64::from(entry.size));
            assert_eq!((&message.topic, QueueId(message.queue_id)), (topic, *queue_id));
            assert_eq!(message.queue_offset, queue_offset.0 as i64);
            assert_eq!(entry.tags_code, message.properties.get(keys::TAGS).map_or(0, tags_code));
        }
        entries += count;
    }
    entries
}

/// Every index entry points at a record whose `topic#UNIQ_KEY` has its hash; returns the count.
fn check_index_entries(index: &IndexFiles, records: &[ScannedRecord]) -> usize {
    let by_offset: std::collections::HashMap<i64, &ScannedRecord> = records
        .iter()
        .map(|record| (record.physical_offset.0 as i64, record))
        .collect();
    let mut entries = 0;
    for file in index.files() {
        for number in 1..file.header().index_count as u32 {
            let entry = file.entry(number).unwrap();
            let record = by_offset
                .get(&entry.phy_offset)
                .unwrap_or_else(|| panic!("index entry {number} points at no record: {entry:?}"));
            let message = &record.message;
            let key = format!("{}#{}", message.topic, message.properties.get(keys::UNIQ_KEY).unwrap());
            assert_eq!(entry.key_hash, key_hash(&key), "index entry {number}");
            entries += 1;
        }
    }
    entries
}

/// After recovery every record is found by its key, exactly once.
fn check_index_queries(index: &IndexFiles, records: &[ScannedRecord]) {
    for record in records {
        let message = &record.message;
        let key = message.properties.get(keys::UNIQ_KEY).unwrap();
        // Index times have whole seconds (a file's first entry may even be a little late), so
        // query a window around the store time: it keeps each query to one or two files.
        let time = message.store_timestamp_ms;
        let found = index.query(&message.topic, key, 64, time - 1000, time + 1000).unwrap();
        assert_eq!(found.phy_offsets, vec![record.physical_offset.0 as i64], "query {key}");
    }
}

/// What a `MessageStore` opened from its checkpoint serves: every record of every queue, in
/// order, each found by its key.
fn check_message_store(store: &MessageStore, records: &[ScannedRecord]) {
    for queue_id in 0..QUEUES {
        let expected: Vec<CommitLogOffset> = records
            .iter()
            .filter(|record| record.message.queue_id == queue_id)
            .map(|record| record.physical_offset)
            .collect();
        let mut served = Vec::new();
        let mut offset = QueueOffset(0);
        while served.len() < expected.len() {
            let found = store
                .get_messages(&GetMessages {
                    topic: TOPIC,
                    queue_id: QueueId(queue_id),
                    offset,
                    max_count: 32,
                    filter: None,
                    record_filter: None,
                })
                .unwrap();
            assert_eq!(found.status, GetMessageStatus::Found, "queue {queue_id} at {offset:?}");
            for record in &found.records {
                let (message, _) = ferrocket_wire::message::StoredMessage::decode(record).unwrap();
                served.push(CommitLogOffset(message.physical_offset as u64));
            }
            offset = found.next_begin_offset;
        }
        assert_eq!(served, expected, "queue {queue_id} as the store serves it");
        assert_eq!(
            store.max_offset_in_queue(TOPIC, QueueId(queue_id)),
            QueueOffset(expected.len() as u64)
        );
    }
    // The newest records are the ones recovery re-indexed.
    for record in records.iter().rev().take(40) {
        let key = record.message.properties.get(keys::UNIQ_KEY).unwrap();
        let time = record.message.store_timestamp_ms;
        let found = store.query_by_key(TOPIC, key, 64, time - 1000, time + 1000).unwrap();
        assert_eq!(found.records.len(), 1, "key {key} through the store");
    }
}

/// A message number at or past the log's record count: every record but the one in flight
/// at a kill was acknowledged before the newest ack.
fn next_at_least(acked: &[Ack]) -> usize {
    acked.iter().map(|ack| ack.number + 2).max().unwrap_or(0)
}

/// The parent's view after a kill: log, acks, and queues both as the child left them and
/// recovered. Leaves the store recovered, as the next child would find it anyway. After a
/// `MessageStore` child the store is first opened the way the next one opens it, from its
/// checkpoint, and what it serves is checked too (it stays open, unused, meanwhile; closing it
/// is a crash: no shutdown).
fn check_store(root: &Path, acked: &[Ack], whole_store: bool) -> usize {
    let store = whole_store.then(|| MessageStore::open(store_config(root), time_of(next_at_least(acked))).unwrap());
    let log = CommitLog::open(&config(&root.join("commitlog"))).unwrap();
    let records = check_log(&log, acked);
    if let Some(store) = store {
        check_message_store(&store, &records);
    }
    let mut queues = ConsumeQueues::open(root, QUEUE_FILE_ENTRIES).unwrap();
    let before = check_queues(&queues, &log, &records);
    // The child dispatches right after each flush, but a queue's newest entries wait in memory
    // (write-behind, see `consume_queue.rs`) until its file fills: at most the record in flight
    // and less than one queue file for each of the 4 queues are missing before recovery.
    assert!(
        before <= records.len() && records.len() - before <= 1 + 4 * QUEUE_FILE_ENTRIES as usize,
        "{before} entries for {} records",
        records.len()
    );
    queues.recover(&log).unwrap();
    assert_eq!(
        check_queues(&queues, &log, &records),
        records.len(),
        "entries after recovery"
    );
    let mut index = IndexFiles::open(root, INDEX_GEOMETRY).unwrap();
    let before = check_index_entries(&index, &records);
    assert!(
        before <= records.len(),
        "{before} index entries for {} records",
        records.len()
    );
    index.recover(&log, time_of(records.len())).unwrap();
    assert_eq!(
        check_index_entries(&index, &records),
        records.len(),
        "index entries after recovery"
    );
    check_index_queries(&index, &records);
    records.len()
}

#[test]
fn crash_loop_keeps_every_acknowledged_record() {
    let cycles = std::env::var(CYCLES_VAR).map_or(CYCLES_DEFAULT, |v| v.parse().unwrap());
    let seed = std::env::var(SEED_VAR).map_or_else(
        |_| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_nanos() as u64 | 1
        },
        |v| v.parse().unwrap(),
    );
    let root = tempfile::tempdir().unwrap();
    let mut random = XorShift(seed);
    let mut acked: Vec<Ack> = Vec::new();
    for cycle in 0..cycles {
        let kill = if random.next().is_multiple_of(2) {
            Kill::AfterAcks(random.between(1, ACKS_BEFORE_KILL_MAX))
        } else {
            Kill::AfterDelay(Duration::from_millis(random.between(0, KILL_DELAY_MAX_MS)))
        };
        let whole_store = random.next().is_multiple_of(2);
        let outcome = std::panic::catch_unwind(|| {
            let acks = run_cycle(root.path(), kill, whole_store.then(|| next_at_least(&acked)));
            let mut all = acked.clone();
            all.extend(acks);
            let records = check_store(root.path(), &all, whole_store);
            (all, records)
        });
        match outcome {
            Ok((all, _records)) => acked = all,
            Err(panic) => {
                let child = if whole_store { "MessageStore" } else { "parts" };
                eprintln!("crash loop failed in cycle {cycle} ({kill:?}, {child} child); rerun with {SEED_VAR}={seed}");
                std::panic::resume_unwind(panic);
            }
        }
    }
    assert!(!acked.is_empty(), "no cycle produced an ack (seed {seed})");
    eprintln!("crash loop: {cycles} cycles, {} acks, seed {seed}", acked.len());
}
