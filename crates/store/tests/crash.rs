//! Crash loop: one store directory, many cycles. Each cycle a child process re-opens the store
//! (recovery), then appends, flushes (SYNC_FLUSH: the ack is printed only after `fsync`) and
//! dispatches to the consume queues and index files until the parent kills it with SIGKILL,
//! either after a random number of acks or after a random short delay (so kills also land
//! mid-write or mid-recovery).
//! After every kill the parent opens the store itself and checks: every acknowledged record is
//! there with the body derived from its message number, the whole log scans with valid body CRCs
//! to its end, and the consume queues and index files agree with the log before and after their
//! recovery.
//!
//! `FERROCKET_CRASH_CYCLES` (default 50) sets the cycle count, `FERROCKET_CRASH_SEED` the seed of
//! the random choices; the seed is printed in every failure message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ferrocket_store::index_file::{IndexGeometry, key_hash};
use ferrocket_store::index_files::IndexFiles;
use ferrocket_store::{CommitLog, ConsumeQueues, ScannedRecord};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::tag_hash::tags_code;

mod common;

use common::{config, message};

/// Tells the child test where to write; absent in a normal test run, so the child is a no-op.
const CHILD_DIR_VAR: &str = "FERROCKET_STORE_CRASH_CHILD_DIR";
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
    let mut log = CommitLog::open(&config(&root.join("commitlog"))).unwrap();
    let mut queues = ConsumeQueues::open(&root, QUEUE_FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    let mut index = IndexFiles::open(&root, INDEX_GEOMETRY).unwrap();
    index.recover(&log, now_ms()).unwrap();
    // Every record is `message(n)` in order, so the next number is the record count.
    let mut next = 0usize;
    log.scan(0, |_| {
        next += 1;
        Ok(())
    })
    .unwrap();
    for n in next.. {
        let result = log
            .append(&message(n, body_len(n)), 1_700_000_000_000 + n as i64)
            .unwrap();
        log.flush().unwrap();
        println!("acked {n} {} {}", result.physical_offset, result.size);
        // SYNC_FLUSH dispatches only flushed records (confirm offset = flushed offset).
        let record = log.read(result.physical_offset).unwrap();
        queues.dispatch(&record).unwrap();
        index.dispatch(&record, now_ms()).unwrap();
    }
}

/// The clock index files are named by: the real one, so names sort across processes.
fn now_ms() -> i64 {
    std::time::UNIX_EPOCH.elapsed().unwrap().as_millis() as i64
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
    offset: u64,
    size: u32,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut fields = line.strip_prefix("acked ")?.split(' ');
    Some(Ack {
        number: fields.next()?.parse().ok()?,
        offset: fields.next()?.parse().ok()?,
        size: fields.next()?.parse().ok()?,
    })
}

/// How a cycle ends.
#[derive(Debug, Clone, Copy)]
enum Kill {
    AfterAcks(u64),
    AfterDelay(Duration),
}

/// Runs one child until `kill`, then SIGKILLs it; returns the acks it printed.
fn run_cycle(root: &Path, kill: Kill) -> Vec<Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
        .scan(0, |record| {
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
fn check_queues(queues: &ConsumeQueues, records: &[ScannedRecord]) -> usize {
    let by_offset: std::collections::HashMap<u64, &ScannedRecord> =
        records.iter().map(|record| (record.physical_offset, record)).collect();
    let mut entries = 0;
    for ((topic, queue_id), queue) in queues.iter() {
        let count = usize::try_from(queue.max_offset() - queue.min_offset()).unwrap();
        for (index, entry) in queue.read(queue.min_offset(), count).unwrap().into_iter().enumerate() {
            let queue_offset = queue.min_offset() + index as u64;
            let record = by_offset
                .get(&u64::try_from(entry.physical_offset).unwrap())
                .unwrap_or_else(|| panic!("{topic}/{queue_id}@{queue_offset} points at no record: {entry:?}"));
            let message = &record.message;
            assert_eq!(i64::from(record.size as i32), i64::from(entry.size));
            assert_eq!((&message.topic, message.queue_id), (topic, *queue_id));
            assert_eq!(message.queue_offset, queue_offset as i64);
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
        .map(|record| (record.physical_offset as i64, record))
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
        assert_eq!(found.phy_offsets, vec![record.physical_offset as i64], "query {key}");
    }
}

/// The parent's view after a kill: log, acks, and queues both as the child left them and
/// recovered. Leaves the store recovered, as the next child would find it anyway.
fn check_store(root: &Path, acked: &[Ack]) -> usize {
    let log = CommitLog::open(&config(&root.join("commitlog"))).unwrap();
    let records = check_log(&log, acked);
    let mut queues = ConsumeQueues::open(root, QUEUE_FILE_ENTRIES).unwrap();
    let before = check_queues(&queues, &records);
    // The child dispatches right after each flush, but a queue's newest entries wait in memory
    // (write-behind, see `consume_queue.rs`) until its file fills: at most the record in flight
    // and less than one queue file for each of the 4 queues are missing before recovery.
    assert!(
        before <= records.len() && records.len() - before <= 1 + 4 * QUEUE_FILE_ENTRIES as usize,
        "{before} entries for {} records",
        records.len()
    );
    queues.recover(&log).unwrap();
    assert_eq!(check_queues(&queues, &records), records.len(), "entries after recovery");
    let mut index = IndexFiles::open(root, INDEX_GEOMETRY).unwrap();
    let before = check_index_entries(&index, &records);
    assert!(
        before <= records.len(),
        "{before} index entries for {} records",
        records.len()
    );
    index.recover(&log, now_ms()).unwrap();
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
        let outcome = std::panic::catch_unwind(|| {
            let acks = run_cycle(root.path(), kill);
            let mut all = acked.clone();
            all.extend(acks);
            let records = check_store(root.path(), &all);
            (all, records)
        });
        match outcome {
            Ok((all, _records)) => acked = all,
            Err(panic) => {
                eprintln!("crash loop failed in cycle {cycle} ({kill:?}); rerun with {SEED_VAR}={seed}");
                std::panic::resume_unwind(panic);
            }
        }
    }
    assert!(!acked.is_empty(), "no cycle produced an ack (seed {seed})");
    eprintln!("crash loop: {cycles} cycles, {} acks, seed {seed}", acked.len());
}
