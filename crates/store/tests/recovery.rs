//! Recovery after a crash: files a crash (or a damaged disk) leaves empty, short or half written
//! are rebuilt from the commit log instead of stopping the store; recovery reads only what was
//! written after the checkpoint, however many queues the store holds; and it says what it found
//! in one log line. `restart_time_after_sigkill` (ignored) measures a real restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use ferrocket_store::{
    Clock, GetMessageStatus, GetMessages, IndexGeometry, MessageStore, MessageStoreConfig, QueueId, QueueOffset,
    RecoveryReport, StoreHandle,
};
use ferrocket_wire::message::{MessageVersion, StoredMessage};

const T0: i64 = 1_700_000_000_000;
/// Ten entries per consume-queue file, so a queue spans many files.
const QUEUE_FILE_ENTRIES: u64 = 10;
/// About 60 records per index file (one key each), so the index spans several files.
const INDEX_GEOMETRY: IndexGeometry = IndexGeometry {
    hash_slots: 64,
    entries_max: 60,
};

fn config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        commit_log_segment_bytes: 64 * 1024,
        consume_queue_file_entries: QUEUE_FILE_ENTRIES,
        index: INDEX_GEOMETRY,
        ..MessageStoreConfig::new(root)
    }
}

fn message(topic: &str, n: usize) -> StoredMessage {
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: 0,
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
        body: Bytes::from(format!("{topic} message {n}")),
        topic: topic.to_owned(),
        properties: [("UNIQ_KEY", format!("{topic}-{n}"))].into_iter().collect(),
    }
}

/// A store holding `count` messages of topic "T", shut down cleanly.
fn store_of(root: &Path, count: usize) {
    let mut store = MessageStore::open(config(root), T0).unwrap();
    for n in 0..count {
        store.put(message("T", n), T0 + n as i64).unwrap();
    }
    store.shutdown(T0 + count as i64).unwrap();
}

/// Every message of "T" is pulled in order from offset 0 and found by its key.
fn check_all_readable(store: &MessageStore, count: usize) {
    let mut bodies = Vec::new();
    let mut offset = QueueOffset(0);
    while bodies.len() < count {
        let found = store
            .get_messages(&GetMessages {
                topic: "T",
                queue_id: QueueId(0),
                offset,
                max_count: 32,
                filter: None,
                record_filter: None,
            })
            .unwrap();
        assert_eq!(
            found.status,
            GetMessageStatus::Found,
            "at {offset:?} after {} bodies",
            bodies.len()
        );
        for record in &found.records {
            bodies.push(StoredMessage::decode(record).unwrap().0.body);
        }
        offset = found.next_begin_offset;
    }
    let expected: Vec<Bytes> = (0..count).map(|n| message("T", n).body).collect();
    assert_eq!(bodies, expected);
    assert_eq!(store.max_offset_in_queue("T", QueueId(0)), QueueOffset(count as u64));
    for n in 0..count {
        let found = store.query_by_key("T", &format!("T-{n}"), 4, 0, i64::MAX).unwrap();
        assert_eq!(found.records.len(), 1, "key T-{n}");
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    files
}

/// How a test damages a file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Killed between creating the file and sizing it.
    Empty,
    /// Cut short.
    Short,
    /// Bytes that are no entries: 0xFF over the whole file.
    Garbage,
}

fn damage(path: &Path, how: Damage) {
    let len = fs::metadata(path).unwrap().len();
    match how {
        Damage::Empty => fs::write(path, []).unwrap(),
        Damage::Short => fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len / 2)
            .unwrap(),
        Damage::Garbage => fs::write(path, vec![0xFF; len as usize]).unwrap(),
    }
}

#[test]
fn an_empty_short_or_garbage_index_file_is_rebuilt_at_open() {
    for how in [Damage::Empty, Damage::Short, Damage::Garbage] {
        for newest in [true, false] {
            let root = tempfile::tempdir().unwrap();
            store_of(root.path(), 200);
            let files = files_in(&root.path().join("index"));
            assert!(files.len() >= 3, "{} index files", files.len());
            let victim = if newest { files.last() } else { files.get(1) };
            damage(victim.unwrap(), how);
            let store = MessageStore::open(config(root.path()), T0 + 1_000)
                .unwrap_or_else(|error| panic!("{how:?} (newest: {newest}): {error}"));
            assert!(store.recovery_report().index_files_repaired >= 1, "{how:?}");
            check_all_readable(&store, 200);
        }
    }
}

#[test]
fn an_empty_short_or_garbage_queue_file_is_rebuilt_at_open() {
    // Files 0..=9 of queue T/0 hold 10 entries each; damage the one named, then reopen.
    for (how, file) in [
        (Damage::Empty, 4),
        (Damage::Short, 4),
        (Damage::Short, 9),
        (Damage::Garbage, 9),
        (Damage::Empty, 9),
    ] {
        let root = tempfile::tempdir().unwrap();
        store_of(root.path(), 100);
        let files = files_in(&root.path().join("consumequeue/T/0"));
        assert_eq!(files.len(), 10);
        damage(&files[file], how);
        let store = MessageStore::open(config(root.path()), T0 + 1_000)
            .unwrap_or_else(|error| panic!("{how:?} in file {file}: {error}"));
        check_all_readable(&store, 100);
        // After a clean shutdown no queue is read at open: T/0 is repaired when first read.
        assert_eq!(store.queue_repairs().queues_repaired, 1, "{how:?} in file {file}");
    }
}

/// Opens a store that crashed right after `tail` puts following a checkpoint, with
/// `checkpointed_queues` older queues; returns the report and the time the open took.
fn reopen_after_crash(checkpointed_queues: usize, tail: usize) -> (RecoveryReport, std::time::Duration) {
    let root = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(root.path()), T0).unwrap();
    for n in 0..checkpointed_queues {
        for k in 0..3 {
            store.put(message(&format!("Old{n}"), k), T0).unwrap();
        }
    }
    // Everything so far is on disk and the checkpoint says so.
    store.flush(T0).unwrap();
    for n in 0..tail {
        store.put(message(&format!("Hot{}", n % 2), n), T0 + 1).unwrap();
    }
    // A crash: no shutdown, so the abort file stays.
    drop(store);
    let started = Instant::now();
    let store = MessageStore::open(config(root.path()), T0 + 2).unwrap();
    let elapsed = started.elapsed();
    for n in 0..2 {
        assert_eq!(
            store.max_offset_in_queue(&format!("Hot{n}"), QueueId(0)),
            QueueOffset(tail as u64 / 2)
        );
    }
    assert_eq!(store.max_offset_in_queue("Old0", QueueId(0)), QueueOffset(3));
    (*store.recovery_report(), elapsed)
}

#[test]
fn recovery_reads_the_tail_after_the_checkpoint_whatever_the_number_of_queues() {
    let (few, few_time) = reopen_after_crash(10, 20);
    let (many, many_time) = reopen_after_crash(1_500, 20);
    eprintln!("reopen after a crash: 10 checkpointed queues {few_time:?}, 1,500 {many_time:?}");
    for report in [few, many] {
        assert!(report.abnormal_exit && report.from_checkpoint, "{report:?}");
        assert_eq!(report.records_scanned, 20, "{report:?}");
        assert_eq!(report.records_redispatched, 20, "{report:?}");
        // Only the two queues the tail names are read.
        assert_eq!(report.queues_loaded, 2, "{report:?}");
        assert_eq!(report.bytes_truncated, 0, "{report:?}");
    }
}

/// A store killed after 300 checkpointed puts, 600 puts its written mark covers and `tail` more:
/// no shutdown and no drop (`mem::forget`), so nothing the process held in memory (queue tails)
/// reaches the files, as after SIGKILL. Returns the store root and the mark's offset.
fn killed_after_mark(tail: usize) -> (tempfile::TempDir, ferrocket_store::CommitLogOffset) {
    let root = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(root.path()), T0).unwrap();
    for n in 0..300 {
        store.put(message("T", n), T0).unwrap();
    }
    store.flush(T0).unwrap();
    for n in 300..900 {
        store.put(message("T", n), T0).unwrap();
    }
    store.write_mark().unwrap();
    let marked = store.commit_log_max_offset();
    for n in 900..900 + tail {
        store.put(message("T", n), T0).unwrap();
    }
    std::mem::forget(store);
    (root, marked)
}

#[test]
fn after_a_process_kill_recovery_checks_only_what_followed_the_written_mark() {
    if std::fs::read_to_string("/proc/sys/kernel/random/boot_id").is_err() {
        eprintln!("no boot id on this system: written marks are never trusted here");
        return;
    }
    let (root, marked) = killed_after_mark(25);
    let store = MessageStore::open(config(root.path()), T0 + 1).unwrap();
    let report = *store.recovery_report();
    assert!(report.abnormal_exit && report.from_written_mark, "{report:?}");
    assert_eq!(report.recovery_start, marked, "{report:?}");
    assert_eq!(report.records_scanned, 25, "{report:?}");
    check_all_readable(&store, 925);
    // What the mark vouched for was never synced: the log's flushed offset stays below it.
    assert!(store.flushed_offset() < marked);
    // Killed again before writing a mark of its own: the old mark (its abort file rewritten
    // since, unless within the clock's granularity) or the checkpoint; nothing lost either way.
    std::mem::forget(store);
    let store = MessageStore::open(config(root.path()), T0 + 2).unwrap();
    assert!(store.recovery_report().from_checkpoint);
    check_all_readable(&store, 925);
}

#[test]
fn a_mark_is_not_trusted_once_another_broker_opened_the_store() {
    let (root, marked) = killed_after_mark(5);
    // Java 5.3.3's start rewrites the abort file in place with its pid (`MixAll.string2File`):
    // same inode, a new mtime (set here, as the clock's granularity may not tell them apart).
    let abort = root.path().join("abort");
    let modified = fs::metadata(&abort).unwrap().modified().unwrap();
    fs::write(&abort, "4242").unwrap();
    fs::File::options()
        .write(true)
        .open(&abort)
        .unwrap()
        .set_modified(modified + std::time::Duration::from_secs(1))
        .unwrap();
    let store = MessageStore::open(config(root.path()), T0 + 1).unwrap();
    let report = *store.recovery_report();
    assert!(report.from_checkpoint && !report.from_written_mark, "{report:?}");
    assert!(
        report.recovery_start < marked && report.records_scanned > 600,
        "{report:?}"
    );
    check_all_readable(&store, 905);
}

/// A `Write` into a shared buffer, for capturing log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_restart_after_a_crash_says_what_recovery_found_in_one_line() {
    let root = tempfile::tempdir().unwrap();
    let mut store = MessageStore::open(config(root.path()), T0).unwrap();
    for n in 0..50 {
        store.put(message("T", n), T0 + n as i64).unwrap();
    }
    store.flush(T0 + 50).unwrap();
    let mut last = None;
    for n in 50..80 {
        last = Some(store.put(message("T", n), T0 + n as i64).unwrap());
    }
    drop(store);
    // The crash tore a record after the last one (its first 60 bytes reached the disk), left
    // the newest index file empty, and the queue's newest file short.
    let last = last.unwrap();
    let segment_bytes = config(root.path()).commit_log_segment_bytes;
    let end = last.end_offset.0;
    let segment = root.path().join(format!("commitlog/{:020}", end - end % segment_bytes));
    let torn = fs::read(&segment).unwrap()[(last.physical_offset.0 % segment_bytes) as usize..][..60].to_vec();
    fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .write_all_at(&torn, end % segment_bytes)
        .unwrap();
    fs::write(files_in(&root.path().join("index")).last().unwrap(), []).unwrap();
    let queue_files = files_in(&root.path().join("consumequeue/T/0"));
    damage(queue_files.last().unwrap(), Damage::Short);

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let handle = tracing::subscriber::with_default(subscriber, || {
        StoreHandle::open(
            config(root.path()),
            Arc::new(|_: &ferrocket_store::Arrival| {}),
            Clock::manual(T0 + 100),
        )
        .unwrap()
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("store recovered")).collect();
    assert_eq!(lines.len(), 1, "log:\n{text}");
    let line = lines[0];
    for field in [
        "abnormal_exit=true",
        "from_checkpoint=true",
        "records_scanned=30",
        "bytes_truncated=60",
        "queues_repaired=1",
        "index_files_repaired=1",
        "elapsed_ms=",
    ] {
        assert!(line.contains(field), "{field} missing from: {line}");
    }
    handle.read(|store| check_all_readable(store, 80));
    handle.shutdown();
}

/// Tells the restart benchmark's child where to write.
const BENCH_CHILD_DIR_VAR: &str = "FERROCKET_RESTART_BENCH_DIR";
/// The benchmark's store: about 300 MB of 1 KiB messages over 2,000 queues, Java's file sizes.
const BENCH_MESSAGES: usize = 300_000;
const BENCH_TOPICS: usize = 500;
const BENCH_QUEUES_PER_TOPIC: usize = 4;

fn bench_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        flush_interval_ms: 200,
        ..MessageStoreConfig::new(root)
    }
}

/// Restart time after a SIGKILL over a store of a few hundred MB and many queues. Run with
/// `cargo test --release -p ferrocket-store --test recovery -- --ignored --nocapture restart_time`.
#[test]
#[ignore = "a benchmark: builds a 300 MB store and times the restart after a SIGKILL"]
fn restart_time_after_sigkill() {
    let root = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "restart_bench_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(BENCH_CHILD_DIR_VAR, root.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let ready = lines.find(|line| line.as_ref().is_ok_and(|line| line.contains("written")));
    assert!(ready.is_some(), "the writer stopped early");
    child.kill().unwrap();
    child.wait().unwrap();
    let bytes: u64 = walk_bytes(root.path());
    let started = Instant::now();
    let store = MessageStore::open(bench_config(root.path()), Clock::system().now_ms()).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "restart after SIGKILL: {:.1} MB on disk, {} queues, open took {elapsed:?}; {:?}",
        bytes as f64 / 1e6,
        store.stats().consume_queue_count,
        store.recovery_report()
    );
}

fn walk_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                walk_bytes(&entry.path())
            } else {
                // Allocated bytes: the files are sparse.
                std::os::unix::fs::MetadataExt::blocks(&metadata) * 512
            }
        })
        .sum()
}

#[test]
#[ignore = "run by restart_time_after_sigkill as a child process"]
fn restart_bench_writer() {
    let Some(root) = std::env::var_os(BENCH_CHILD_DIR_VAR).map(PathBuf::from) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let handle = StoreHandle::open(
        bench_config(&root),
        Arc::new(|_: &ferrocket_store::Arrival| {}),
        Clock::system(),
    )
    .unwrap();
    let body = Bytes::from(vec![b'x'; 1024]);
    for n in 0..BENCH_MESSAGES {
        let mut message = message(&format!("Bench{}", n % BENCH_TOPICS), n);
        message.queue_id = ((n / BENCH_TOPICS) % BENCH_QUEUES_PER_TOPIC) as i32;
        message.body = body.clone();
        runtime.block_on(handle.put(message));
    }
    // Let the flush thread checkpoint once, as a running broker's would have.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    for n in 0..1_000 {
        runtime.block_on(handle.put(message("Tail", n)));
    }
    println!("written");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// Cuts consume-queue file `file` of a 25-message queue (files of 10 entries) at every byte up
/// to `written` (the rest zeroed, as a lost write leaves it), after a clean stop or a crash, and
/// pulls every message back in order at its offset.
fn cut_queue_file_at_every_byte(file: usize, written: u64) {
    const COUNT: usize = 25;
    for cut in 0..=written {
        for crashed in [false, true] {
            let root = tempfile::tempdir().unwrap();
            store_of(root.path(), COUNT);
            let files = files_in(&root.path().join("consumequeue/T/0"));
            assert_eq!(files.len(), 3);
            let victim = fs::OpenOptions::new().write(true).open(&files[file]).unwrap();
            let len = victim.metadata().unwrap().len();
            victim.set_len(cut).unwrap();
            victim.set_len(len).unwrap();
            if crashed {
                fs::write(root.path().join("abort"), b"").unwrap();
            }
            let store = MessageStore::open(config(root.path()), T0 + 1_000)
                .unwrap_or_else(|error| panic!("file {file} cut at {cut} (crashed: {crashed}): {error}"));
            check_all_readable(&store, COUNT);
        }
    }
}

/// The pull path's files at every byte, as the commit log's torn-tail test: a full consume-queue
/// file in the middle of a queue, cut anywhere, is repaired from the commit log. Known gap
/// (issue 18, session 8): zeroed entries that keep the file's length are not detected (the
/// repair at first read looks at the file's size), and a pull returns them as empty records
/// (`Truncated { need: 4, have: 0 }` when decoded). Only a disk that loses fsynced data leaves
/// this; Java's `ConsumeQueue.recover` stops at the first entry of size 0 instead.
#[test]
#[ignore = "known gap: zeroed entries inside a queue file come back as empty records"]
fn a_middle_queue_file_cut_at_every_byte_is_repaired_and_every_message_pulled() {
    cut_queue_file_at_every_byte(1, 10 * 20);
}

/// Known gap (issue 18, session 8): the newest queue file losing entries the checkpoint already
/// covers (a disk that lost fsynced data; a power cut cannot, the checkpoint follows the queue
/// flush) is not rebuilt: pulls stop at the shorter end with OFFSET_OVERFLOW_ONE although the
/// commit log holds the records. Java re-dispatches at every start from the highest physical
/// offset any queue holds (`DefaultMessageStore`'s start-up reput), so with this one queue it
/// would recover them (not when another queue is further on).
#[test]
#[ignore = "known gap: a newest queue file losing checkpointed entries is not rebuilt"]
fn the_newest_queue_file_cut_at_every_byte_is_repaired_and_every_message_pulled() {
    cut_queue_file_at_every_byte(2, 5 * 20);
}
