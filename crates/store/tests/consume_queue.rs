//! Consume-queue entries, files, pre-blanks, recovery, and rebuilding from the commit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;

use ferrocket_store::{
    CommitLog, CommitLogOffset, ConsumeQueue, ConsumeQueueEntry, ConsumeQueues, QueueId, QueueOffset, QueuePutOutcome,
    StoreError,
};
use ferrocket_wire::message::tag_hash::tags_code;

mod common;

use common::{config, fill, tear_at};

/// Ten entries per file, so tests cross files quickly.
const FILE_ENTRIES: u64 = 10;

fn entry(n: u64) -> ConsumeQueueEntry {
    ConsumeQueueEntry {
        physical_offset: (n * 100) as i64,
        size: 100,
        tags_code: n as i64 - 5,
    }
}

#[test]
fn entry_bytes_are_java_layout() {
    let e = ConsumeQueueEntry {
        physical_offset: 0x0102_0304_0506_0708,
        size: 0x0A0B_0C0D,
        tags_code: -2,
    };
    let bytes = e.encode();
    assert_eq!(
        bytes,
        [
            1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE
        ]
    );
    assert_eq!(ConsumeQueueEntry::decode(&bytes), e);
    assert!(e.is_valid());
    assert!(ConsumeQueueEntry::BLANK.is_valid());
    assert!(!ConsumeQueueEntry::decode(&[0; 20]).is_valid());
}

#[test]
fn put_read_and_reopen_across_files() {
    let root = tempfile::tempdir().unwrap();
    let mut queue = ConsumeQueue::open(root.path(), "TopicTest", QueueId(3), FILE_ENTRIES).unwrap();
    assert_eq!(
        (queue.min_offset(), queue.max_offset()),
        (QueueOffset(0), QueueOffset(0))
    );
    for n in 0..25 {
        assert_eq!(queue.put(QueueOffset(n), entry(n)).unwrap(), QueuePutOutcome::Written);
    }
    assert_eq!(
        queue.put(QueueOffset(24), entry(24)).unwrap(),
        QueuePutOutcome::AlreadyPresent
    );
    assert!(matches!(
        queue.put(QueueOffset(27), entry(27)),
        Err(StoreError::QueueOffsetGap { .. })
    ));
    assert_eq!(queue.get(QueueOffset(12)).unwrap(), Some(entry(12)));
    assert_eq!(queue.get(QueueOffset(25)).unwrap(), None);
    let read = queue.read(QueueOffset(8), 100).unwrap();
    assert_eq!(read, (8..25).map(entry).collect::<Vec<_>>());
    assert!(queue.read(QueueOffset(26), 1).is_err());
    queue.flush().unwrap();
    drop(queue);

    let dir = root.path().join("consumequeue/TopicTest/3");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["00000000000000000000", "00000000000000000200", "00000000000000000400"]
    );
    let queue = ConsumeQueue::open(root.path(), "TopicTest", QueueId(3), FILE_ENTRIES).unwrap();
    assert_eq!(
        (queue.min_offset(), queue.max_offset()),
        (QueueOffset(0), QueueOffset(25))
    );
    assert_eq!(queue.max_physical_end(), CommitLogOffset(2500));
    assert_eq!(queue.read(QueueOffset(0), 100).unwrap().len(), 25);
}

#[test]
fn a_queue_starting_late_is_pre_blanked() {
    let root = tempfile::tempdir().unwrap();
    let mut queue = ConsumeQueue::open(root.path(), "Late", QueueId(0), FILE_ENTRIES).unwrap();
    queue.put(QueueOffset(25), entry(25)).unwrap();
    assert_eq!(
        (queue.min_offset(), queue.max_offset()),
        (QueueOffset(25), QueueOffset(26))
    );
    assert_eq!(queue.get(QueueOffset(24)).unwrap(), None);
    drop(queue);
    assert!(root.path().join("consumequeue/Late/0/00000000000000000400").exists());
    let queue = ConsumeQueue::open(root.path(), "Late", QueueId(0), FILE_ENTRIES).unwrap();
    assert_eq!(
        (queue.min_offset(), queue.max_offset()),
        (QueueOffset(25), QueueOffset(26))
    );
    assert_eq!(queue.get(QueueOffset(25)).unwrap(), Some(entry(25)));
}

#[test]
fn recovery_stops_at_the_first_invalid_entry() {
    let root = tempfile::tempdir().unwrap();
    let mut queue = ConsumeQueue::open(root.path(), "T", QueueId(1), FILE_ENTRIES).unwrap();
    for n in 0..25 {
        queue.put(QueueOffset(n), entry(n)).unwrap();
    }
    drop(queue);
    // Entry 17's size becomes 0: 17.. are dropped, and the third file with them.
    let path = root.path().join("consumequeue/T/1/00000000000000000200");
    let mut bytes = fs::read(&path).unwrap();
    bytes[7 * 20 + 8..7 * 20 + 12].fill(0);
    fs::write(&path, &bytes).unwrap();
    let mut queue = ConsumeQueue::open(root.path(), "T", QueueId(1), FILE_ENTRIES).unwrap();
    assert_eq!(queue.max_offset(), QueueOffset(17));
    assert!(!root.path().join("consumequeue/T/1/00000000000000000400").exists());
    assert_eq!(queue.put(QueueOffset(17), entry(17)).unwrap(), QueuePutOutcome::Written);
    queue.truncate_to_commit_log_end(CommitLogOffset(1250)).unwrap();
    assert_eq!(queue.max_offset(), QueueOffset(12));
    queue.correct_min_offset(CommitLogOffset(500)).unwrap();
    assert_eq!(queue.min_offset(), QueueOffset(5));
}

#[test]
fn bad_topics_cannot_name_directories() {
    let root = tempfile::tempdir().unwrap();
    for topic in ["", ".", "..", "a/b", "a\0"] {
        assert!(matches!(
            ConsumeQueue::open(root.path(), topic, QueueId(0), FILE_ENTRIES),
            Err(StoreError::InvalidTopic { .. })
        ));
    }
}

/// Expected entries per (topic, queue) from a commit-log scan.
fn expected_entries(log: &CommitLog) -> Vec<((String, QueueId), Vec<ConsumeQueueEntry>)> {
    let mut map = std::collections::BTreeMap::<(String, QueueId), Vec<ConsumeQueueEntry>>::new();
    log.scan(CommitLogOffset(0), |record| {
        map.entry((record.message.topic.clone(), QueueId(record.message.queue_id)))
            .or_default()
            .push(ConsumeQueueEntry {
                physical_offset: record.physical_offset.0 as i64,
                size: record.size as i32,
                tags_code: record.message.properties.get("TAGS").map_or(0, tags_code),
            });
        Ok(())
    })
    .unwrap();
    map.into_iter().collect()
}

fn actual_entries(queues: &ConsumeQueues, log: &CommitLog) -> Vec<((String, QueueId), Vec<ConsumeQueueEntry>)> {
    queues
        .keys()
        .map(|key| {
            let queue = queues.get(&key.0, key.1, log).unwrap().unwrap();
            (key.clone(), queue.read(queue.min_offset(), usize::MAX).unwrap())
        })
        .collect()
}

#[test]
fn queues_are_rebuilt_and_truncated_to_agree_with_the_commit_log() {
    let root = tempfile::tempdir().unwrap();
    let log_dir = root.path().join("commitlog");
    let mut log = CommitLog::open(&config(&log_dir)).unwrap();
    let records = fill(&mut log, 300);
    let mut queues = ConsumeQueues::open(root.path(), FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    assert_eq!(actual_entries(&queues, &log), expected_entries(&log));
    assert_eq!(
        queues.get("TopicTest", QueueId(2), &log).unwrap().unwrap().max_offset(),
        QueueOffset(75)
    );
    // Idempotent: a second recovery changes nothing.
    queues.recover(&log).unwrap();
    queues.redispatch(&log, CommitLogOffset(0)).unwrap();
    assert_eq!(actual_entries(&queues, &log), expected_entries(&log));
    drop((log, queues));

    // A crash loses the commit log's last 40 records but not the queues' entries for them.
    tear_at(&log_dir, records[260].0 + 5);
    let log = CommitLog::open(&config(&log_dir)).unwrap();
    assert_eq!(log.max_offset(), CommitLogOffset(records[260].0));
    let mut queues = ConsumeQueues::open(root.path(), FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    assert_eq!(actual_entries(&queues, &log), expected_entries(&log));
    assert_eq!(
        queues.get("TopicTest", QueueId(0), &log).unwrap().unwrap().max_offset(),
        QueueOffset(65)
    );
    drop(queues);

    // Queues lost entirely are rebuilt from the log.
    fs::remove_dir_all(root.path().join("consumequeue")).unwrap();
    let mut queues = ConsumeQueues::open(root.path(), FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    assert_eq!(actual_entries(&queues, &log), expected_entries(&log));
}

#[test]
fn a_lagging_queue_is_caught_up_by_recovery() {
    let root = tempfile::tempdir().unwrap();
    let log_dir = root.path().join("commitlog");
    let mut log = CommitLog::open(&config(&log_dir)).unwrap();
    fill(&mut log, 120);
    let mut queues = ConsumeQueues::open(root.path(), FILE_ENTRIES).unwrap();
    queues.recover(&log).unwrap();
    drop(queues);
    // Queue 1 lost its last 12 entries (files 00..., 200, 400 hold 30 entries; keep 18).
    let dir = root.path().join("consumequeue/TopicTest/1");
    fs::remove_file(dir.join("00000000000000000400")).unwrap();
    let path = dir.join("00000000000000000200");
    let mut bytes = fs::read(&path).unwrap();
    bytes[8 * 20..].fill(0);
    fs::write(&path, &bytes).unwrap();
    // Queue 3 is lost entirely.
    fs::remove_dir_all(root.path().join("consumequeue/TopicTest/3")).unwrap();
    let mut queues = ConsumeQueues::open(root.path(), FILE_ENTRIES).unwrap();
    assert_eq!(
        queues.get("TopicTest", QueueId(1), &log).unwrap().unwrap().max_offset(),
        QueueOffset(18)
    );
    assert!(queues.get("TopicTest", QueueId(3), &log).unwrap().is_none());
    queues.recover(&log).unwrap();
    assert_eq!(actual_entries(&queues, &log), expected_entries(&log));
}
