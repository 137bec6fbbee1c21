//! File descriptors: a store keeps a bounded number of files open whatever the number of queues,
//! and running out of descriptors refuses one put at a time, never the store for good.
//!
//! The check runs in a child process with a low `RLIMIT_NOFILE` (the real limit, not a seam): it
//! puts one message to each of more new topics than both the store's handle cache and the
//! process limit allow, reads them all back, then takes every remaining descriptor (as client
//! connections would), expects a put to a new topic to be refused with Java's
//! `CREATE_MAPPED_FILE_FAILED` while the store stays writeable, and, once descriptors are free
//! again, a put to the next new topic to succeed. (Before the cache, each queue kept its file
//! open forever; at the limit a dispatch failed and the store refused every put until restart.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use ferrocket_store::{
    Clock, GetMessageStatus, GetMessages, IndexGeometry, MessageStoreConfig, PutStatus, QUEUE_FILES_OPEN_MAX, QueueId,
    QueueOffset, StoreError, StoreHandle,
};
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Tells the child test where to write; absent in a normal test run, so the child is a no-op.
const CHILD_DIR_VAR: &str = "FERROCKET_OPEN_FILES_CHILD_DIR";
/// The child's open-file limit: well below the topics it writes and the store's cache.
const DESCRIPTORS_MAX: u64 = 128;
/// New topics written, each with its own consume-queue file.
const TOPICS: usize = 600;
const T0: i64 = 1_700_000_000_000;

fn config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        commit_log_segment_bytes: 64 * 1024,
        consume_queue_file_entries: 100,
        index: IndexGeometry {
            hash_slots: 64,
            entries_max: 4000,
        },
        ..MessageStoreConfig::new(root)
    }
}

fn message(topic: &str) -> StoredMessage {
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
        body: Bytes::from(format!("body of {topic}")),
        topic: topic.to_owned(),
        properties: [("UNIQ_KEY", format!("U-{topic}"))].into_iter().collect(),
    }
}

fn topic(n: usize) -> String {
    format!("Auto{n}")
}

/// The one message of `topic`, as a pull finds it.
fn pull_one(handle: &StoreHandle, topic: &str) -> GetMessageStatus {
    handle.read(|store| {
        let found = store
            .get_messages(&GetMessages {
                topic,
                queue_id: QueueId(0),
                offset: QueueOffset(0),
                max_count: 32,
                filter: None,
                record_filter: None,
            })
            .unwrap();
        assert!(found.records.len() <= 1, "{topic}: {} records", found.records.len());
        found.status
    })
}

/// Descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn puts_keep_working_past_the_descriptor_limit() {
    let root = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "open_files_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, root.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "child failed:\n{text}");
    assert!(text.contains("open files checked"), "child did not run:\n{text}");
}

#[test]
#[ignore = "run by puts_keep_working_past_the_descriptor_limit as a child process"]
fn open_files_child() {
    let Some(root) = std::env::var_os(CHILD_DIR_VAR).map(PathBuf::from) else {
        return;
    };
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(DESCRIPTORS_MAX),
            maximum: hard,
        },
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let handle = StoreHandle::open(
        config(&root),
        Arc::new(|_: &ferrocket_store::Arrival| {}),
        Clock::manual(T0),
    )
    .unwrap();
    let put = |topic: &str| runtime.block_on(handle.put(message(topic)));

    // More new topics than the cache holds and the process may open: every put succeeds.
    for n in 0..TOPICS {
        let outcome = put(&topic(n));
        assert_eq!(outcome.status, PutStatus::PutOk, "put {n}: {:?}", outcome.error);
    }
    let open_queue_files = handle.read(|store| store.open_queue_files());
    assert!(
        open_queue_files <= QUEUE_FILES_OPEN_MAX,
        "{open_queue_files} queue files open"
    );
    assert!(open_descriptors() <= DESCRIPTORS_MAX as usize);
    for n in 0..TOPICS {
        assert_eq!(pull_one(&handle, &topic(n)), GetMessageStatus::Found, "topic {n}");
    }

    // Every descriptor left is taken (client connections, say): a put that needs a new file is
    // refused, with Java's code, and nothing else changes.
    let mut hog: Vec<File> = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        hog.push(file);
    }
    let refused = put(&topic(TOPICS));
    assert_eq!(refused.status, PutStatus::CreateMappedFileFailed, "{:?}", refused.error);
    assert!(matches!(refused.error, Some(StoreError::OpenFilesExhausted { .. })));
    assert!(refused.error.unwrap().is_transient());
    assert!(
        handle.read(|store| store.is_writeable()),
        "one refusal latched the store"
    );

    // Descriptors free again: the next new topic, and the one refused, are stored and read back.
    drop(hog);
    for n in [TOPICS + 1, TOPICS, 0] {
        let outcome = put(&topic(n));
        assert_eq!(
            outcome.status,
            PutStatus::PutOk,
            "put {n} after the limit: {:?}",
            outcome.error
        );
    }
    assert_eq!(pull_one(&handle, &topic(TOPICS + 1)), GetMessageStatus::Found);
    assert_eq!(pull_one(&handle, &topic(TOPICS)), GetMessageStatus::Found);
    handle.shutdown();
    println!("open files checked: {TOPICS} topics under a limit of {DESCRIPTORS_MAX} descriptors");
}
