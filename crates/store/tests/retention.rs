//! Clean-up by retention over a real store directory (commit log, consume queues, index files):
//! which files go, what the min offsets become, that what remains still reads and recovers; and
//! a full file system (a size-limited tmpfs in a user namespace): appends and metadata writes fail
//! with `DiskFull` and lose nothing acknowledged, the measured ratio flags the store disk-full,
//! and a forced clean-up frees the disk and clears the flag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use ferrocket_store::{
    CleanRun, CommitLog, CommitLogOffset, ConsumeQueue, ConsumeQueueEntry, ConsumeQueues, DiskCheck, DiskFullFlag,
    DiskSpace, DiskState, DiskThresholds, IndexFiles, IndexGeometry, QueueId, QueueOffset, RetentionPolicy,
    ScannedRecord, StoreError, clean_expired, load_config_file, persist_config_file, used_ratio_of,
};

mod common;

use common::{config, message};

/// Small consume-queue files (1000 bytes), so several are deleted.
const QUEUE_FILE_ENTRIES: u64 = 50;
/// Small index files (about 60 records each), so several are deleted.
const INDEX_GEOMETRY: IndexGeometry = IndexGeometry {
    hash_slots: 64,
    entries_max: 60,
};
const HOUR_MS: i64 = 3_600_000;
/// The run's clock: 2023-11-14T22:13:20Z, outside `deleteWhen` "04".
const NOW_MS: i64 = 1_700_000_000_000;
/// The tmpfs of the full-disk test: room for about four 64 KiB segments.
const FULL_FS_BYTES: u64 = 256 * 1024;
/// Tells the re-executed test binary where its small file system is mounted.
const FULL_FS_DIR_VAR: &str = "FERROCKET_FULL_FS_DIR";

struct Store {
    root: tempfile::TempDir,
    log: CommitLog,
    queues: ConsumeQueues,
    index: IndexFiles,
    records: Vec<ScannedRecord>,
}

/// A store of `count` messages over several segments, every record dispatched.
fn store_with(count: usize) -> Store {
    let root = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(&root.path().join("commitlog"))).unwrap();
    let mut queues = ConsumeQueues::open(root.path(), QUEUE_FILE_ENTRIES).unwrap();
    let mut index = IndexFiles::open(root.path(), INDEX_GEOMETRY).unwrap();
    let mut records = Vec::with_capacity(count);
    for n in 0..count {
        let result = log
            .append(&message(n, 200 + (n * 37) % 700), NOW_MS + n as i64)
            .unwrap();
        let record = log.read(result.physical_offset).unwrap();
        queues.dispatch(&record, &log).unwrap();
        index.dispatch(&record, NOW_MS - 1000 + n as i64).unwrap();
        records.push(record);
    }
    log.flush().unwrap();
    queues.flush().unwrap();
    index.flush().unwrap();
    Store {
        root,
        log,
        queues,
        index,
        records,
    }
}

fn segment_path(root: &Path, start: CommitLogOffset) -> PathBuf {
    root.join("commitlog").join(format!("{:020}", start.0))
}

fn set_modified(path: &Path, ms: i64) {
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_millis(ms as u64))
        .unwrap();
}

fn reclaim() -> DiskCheck {
    DiskCheck {
        reclaim: true,
        clean_immediately: false,
        full_flag: DiskFullFlag::Clear,
    }
}

/// Every consume queue starts at its first entry pointing at or past `min`, and every record at
/// or past `min` is still reachable through its queue and the index.
fn check_consistent(store: &Store, min: CommitLogOffset) {
    for (topic, queue_id) in store.queues.keys() {
        let queue = store.queues.get(topic, *queue_id, &store.log).unwrap().unwrap();
        let first = queue.get(queue.min_offset()).unwrap().unwrap();
        assert!(
            first.physical_offset as u64 >= min.0,
            "{topic}/{queue_id} starts below {min}"
        );
        if queue.min_offset() > QueueOffset(0) {
            assert_eq!(queue.get(QueueOffset(queue.min_offset().0 - 1)).unwrap(), None);
        }
    }
    for record in store.records.iter().filter(|r| r.physical_offset >= min) {
        let message = &record.message;
        let queue = store
            .queues
            .get(&message.topic, QueueId(message.queue_id), &store.log)
            .unwrap()
            .unwrap();
        let entry = queue.get(QueueOffset(message.queue_offset as u64)).unwrap().unwrap();
        assert_eq!(CommitLogOffset(entry.physical_offset as u64), record.physical_offset);
        assert_eq!(store.log.read(record.physical_offset).unwrap(), *record);
        let key = message.properties.get("UNIQ_KEY").unwrap();
        let found = store.index.query(&message.topic, key, 4, 0, i64::MAX).unwrap();
        assert_eq!(
            found.phy_offsets,
            vec![record.physical_offset.0 as i64],
            "index lost {key}"
        );
    }
}

#[test]
fn expired_segments_go_oldest_first_and_take_their_queue_and_index_files_along() {
    let mut store = store_with(1200);
    let starts: Vec<CommitLogOffset> = store
        .log
        .segment_ages()
        .unwrap()
        .iter()
        .map(|&(start, _)| start)
        .collect();
    assert!(starts.len() >= 5, "only {} segments", starts.len());
    let root = store.root.path().to_owned();
    let expired = NOW_MS - 72 * HOUR_MS;
    for &start in &starts {
        set_modified(&segment_path(&root, start), expired - 1);
    }
    // The fourth segment is young: it and everything after it stay, though the fifth is old.
    set_modified(&segment_path(&root, starts[3]), expired + 1);
    let policy = RetentionPolicy::new(72, "04").unwrap();
    let index_files_before = store.index.files().len();

    let report = clean_expired(
        &mut store.log,
        &mut store.queues,
        &mut store.index,
        &policy,
        &run(&reclaim()),
    )
    .unwrap();

    assert_eq!(report.deleted_segments, starts[..3]);
    let min = starts[3];
    assert_eq!((report.commit_log_min_offset, store.log.min_offset()), (min, min));
    assert!(starts[..3].iter().all(|&start| !segment_path(&root, start).exists()));
    assert!(report.consume_queue_files_deleted > 0);
    assert!(report.index_files_deleted > 0);
    assert_eq!(
        store.index.files().len(),
        index_files_before - report.index_files_deleted
    );
    assert!(store.index.files()[0].header().end_phy_offset >= min.0 as i64);
    let first_kept = store.records.iter().find(|r| r.physical_offset >= min).unwrap();
    assert!(matches!(
        store.log.read(store.records[0].physical_offset),
        Err(StoreError::OffsetOutOfRange { .. })
    ));
    assert_eq!(first_kept.physical_offset, min);
    check_consistent(&store, min);

    // What is left recovers to the same state.
    let Store { root, records, .. } = store;
    let log = CommitLog::open(&config(&root.path().join("commitlog"))).unwrap();
    let mut queues = ConsumeQueues::open(root.path(), QUEUE_FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    let mut index = IndexFiles::open(root.path(), INDEX_GEOMETRY).unwrap();
    index.recover(&log, NOW_MS).unwrap();
    assert_eq!(log.min_offset(), min);
    let reopened = Store {
        root,
        log,
        queues,
        index,
        records,
    };
    check_consistent(&reopened, min);
}

#[test]
fn young_segments_stay_unless_the_disk_forces_a_batch_out_and_the_last_always_stays() {
    let mut store = store_with(300);
    let segments = store.log.segment_ages().unwrap().len();
    assert!(segments >= 3);
    let policy = RetentionPolicy::new(72, "04").unwrap();
    let run = |store: &mut Store, disk: &DiskCheck| {
        clean_expired(&mut store.log, &mut store.queues, &mut store.index, &policy, &run(disk)).unwrap()
    };
    // The files were just written: nothing is old enough.
    assert!(run(&mut store, &reclaim()).deleted_segments.is_empty());
    assert_eq!(store.log.min_offset(), CommitLogOffset(0));
    let forcibly = DiskCheck {
        clean_immediately: true,
        full_flag: DiskFullFlag::Set,
        ..reclaim()
    };
    let report = run(&mut store, &forcibly);
    assert_eq!(report.deleted_segments.len(), segments - 1);
    assert_eq!(store.log.segment_ages().unwrap().len(), 1);
    let min = store.log.min_offset();
    check_consistent(&store, min);
    assert!(
        run(&mut store, &forcibly).deleted_segments.is_empty(),
        "the active segment is never deleted"
    );
}

/// A queue file goes only when its last entry points strictly below the commit-log min (Java's
/// `maxOffsetInLogicQueue < offset`), and a queue's last file never goes.
#[test]
fn queue_files_go_only_when_wholly_below_the_min_and_never_the_last() {
    let root = tempfile::tempdir().unwrap();
    let mut queue = ConsumeQueue::open(root.path(), "TopicTest", QueueId(0), 4).unwrap();
    for n in 0..12u64 {
        let entry = ConsumeQueueEntry {
            physical_offset: (n * 100) as i64,
            size: 100,
            tags_code: 0,
        };
        queue.put(QueueOffset(n), entry).unwrap();
    }
    let dir = ConsumeQueue::dir(root.path(), "TopicTest", QueueId(0)).unwrap();
    let files = || fs::read_dir(&dir).unwrap().count();
    assert_eq!(files(), 3);
    // The second file's last entry points at 700 exactly: it stays.
    assert_eq!(queue.delete_files_below(CommitLogOffset(700)).unwrap(), 1);
    assert_eq!(
        (files(), queue.min_offset(), queue.max_offset()),
        (2, QueueOffset(7), QueueOffset(12))
    );
    assert_eq!(queue.get(QueueOffset(6)).unwrap(), None);
    assert_eq!(queue.delete_files_below(CommitLogOffset(701)).unwrap(), 1);
    assert_eq!((files(), queue.min_offset()), (1, QueueOffset(8)));
    assert_eq!(queue.delete_files_below(CommitLogOffset(u64::MAX)).unwrap(), 0);
    assert_eq!(
        (files(), queue.min_offset(), queue.max_offset()),
        (1, QueueOffset(12), QueueOffset(12))
    );
    drop(queue);
    let reopened = ConsumeQueue::open(root.path(), "TopicTest", QueueId(0), 4).unwrap();
    assert_eq!(
        (reopened.min_offset(), reopened.max_offset()),
        (QueueOffset(8), QueueOffset(12))
    );
}

/// Opts out of the full-disk proof on a machine without user namespaces.
const SKIP_FULL_DISK_VAR: &str = "FERROCKET_SKIP_FULL_DISK_TEST";

/// Runs [`full_disk_child`] in a new user and mount namespace over a tmpfs of
/// [`FULL_FS_BYTES`], so its appends meet a real `ENOSPC`. Where unprivileged user namespaces
/// are not available it fails, unless [`SKIP_FULL_DISK_VAR`] opts out.
#[test]
fn a_full_file_system_refuses_appends_and_loses_nothing() {
    let can_unshare = Command::new("unshare")
        .args(["-Urm", "true"])
        .status()
        .is_ok_and(|status| status.success());
    // A proof that cannot run is a failure, not a pass: a machine without unprivileged user
    // namespaces must opt out explicitly, and says so in its output.
    if !can_unshare {
        assert!(
            std::env::var_os(SKIP_FULL_DISK_VAR).is_some(),
            "`unshare -Urm` is not available, so no small file system can be mounted; set \
             {SKIP_FULL_DISK_VAR}=1 to run without the full-disk proof"
        );
        eprintln!("full-disk proof NOT RUN: {SKIP_FULL_DISK_VAR} is set and `unshare -Urm` is unavailable");
        return;
    }
    let mount_point = tempfile::tempdir().unwrap();
    let script = format!("mount -t tmpfs -o size={FULL_FS_BYTES} tmpfs \"$0\" && exec \"$1\" \"$@\"");
    let output = Command::new("unshare")
        .args(["-Urm", "sh", "-c", &script])
        .arg(mount_point.path())
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "full_disk_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FULL_FS_DIR_VAR, mount_point.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "child failed:\n{text}");
    assert!(text.contains("full disk checked"), "child did not run:\n{text}");
    eprintln!(
        "{}",
        text.lines()
            .find(|line| line.contains("full disk checked"))
            .unwrap_or_default()
    );
}

#[test]
#[ignore = "run by a_full_file_system_refuses_appends_and_loses_nothing inside its namespace"]
fn full_disk_child() {
    let Some(root) = std::env::var_os(FULL_FS_DIR_VAR).map(PathBuf::from) else {
        return;
    };
    let space = DiskSpace::probe(&root).unwrap();
    assert_eq!(space.total_bytes, FULL_FS_BYTES, "not on the small tmpfs");
    let commit_log_dir = root.join("commitlog");
    let mut log = CommitLog::open(&config(&commit_log_dir)).unwrap();
    let mut queues = ConsumeQueues::open(&root, QUEUE_FILE_ENTRIES).unwrap();
    let mut index = IndexFiles::open(&root, INDEX_GEOMETRY).unwrap();

    let topics = root.join("config").join("topics.json");
    persist_config_file(&topics, "{\"version\":1}").unwrap();

    // Append until the file system is full; then a few more, of every size, must also fail
    // cleanly or succeed into pages already allocated.
    let mut acked = Vec::new();
    let mut failures = 0;
    for n in 0..10_000 {
        match log.append(&message(n, 300 + (n * 53) % 3000), NOW_MS + n as i64) {
            Ok(result) => acked.push((n, result.physical_offset.0)),
            Err(StoreError::DiskFull { .. }) => failures += 1,
            Err(other) => panic!("append {n}: {other}"),
        }
        if failures == 5 {
            break;
        }
    }
    assert_eq!(failures, 5, "the file system never filled up");
    log.flush().unwrap();

    // The measured ratio flags the store disk-full: puts are refused from here on.
    let thresholds = DiskThresholds::default();
    let ratio = used_ratio_of(&commit_log_dir);
    assert!(ratio.unwrap() > thresholds.warning_ratio, "ratio {ratio:?}");
    let verdict = thresholds.check(ratio, used_ratio_of(&root));
    let mut state = DiskState::default();
    state.apply(&verdict);
    assert!(state.refuses_puts() && verdict.clean_immediately);

    // A metadata file cannot be replaced either, and the old one stays readable.
    let big = format!("{{\"version\":2,\"pad\":\"{}\"}}", "x".repeat(64 * 1024));
    assert!(matches!(
        persist_config_file(&topics, &big),
        Err(StoreError::DiskFull { .. })
    ));
    let is_object = |text: &str| text.starts_with('{') && text.ends_with('}');
    assert_eq!(
        load_config_file(&topics, is_object).unwrap().as_deref(),
        Some("{\"version\":1}")
    );

    // Every acknowledged record survives a restart, and nothing else appears.
    drop(log);
    let mut log = CommitLog::open(&config(&commit_log_dir)).unwrap();
    let mut found = Vec::new();
    log.scan(CommitLogOffset(0), |record| {
        found.push((record.message.queue_offset, record.physical_offset.0));
        Ok(())
    })
    .unwrap();
    let expected: Vec<(i64, u64)> = acked.iter().map(|&(n, offset)| ((n / 4) as i64, offset)).collect();
    assert_eq!(found, expected);
    for &(n, offset) in &acked {
        let record = log.read(CommitLogOffset(offset)).unwrap();
        assert_eq!(
            record.message.body,
            message(n, 300 + (n * 53) % 3000).body,
            "record {n}"
        );
    }

    // A forced clean-up frees the disk, the next check clears the flag, and appends work again.
    let policy = RetentionPolicy::new(72, "04").unwrap();
    let report = clean_expired(&mut log, &mut queues, &mut index, &policy, &run(&verdict)).unwrap();
    assert!(!report.deleted_segments.is_empty());
    let ratio = used_ratio_of(&commit_log_dir);
    let verdict = thresholds.check(ratio, used_ratio_of(&root));
    state.apply(&verdict);
    assert!(!state.refuses_puts(), "ratio after clean-up {ratio:?}");
    log.append(&message(0, 1000), NOW_MS).unwrap();
    println!(
        "full disk checked: {} acked, ratio after clean-up {ratio:?}",
        acked.len()
    );
}

/// A run at [`NOW_MS`], not manual, keeping nothing back.
fn run(disk: &DiskCheck) -> CleanRun<'_> {
    CleanRun {
        now_ms: NOW_MS,
        disk,
        manual: false,
        keep_from: CommitLogOffset(u64::MAX),
    }
}
