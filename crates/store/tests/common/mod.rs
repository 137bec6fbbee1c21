//! Shared test helpers: sample messages, small-segment configs, simulated crashes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use ferrocket_store::{CommitLog, CommitLogConfig};
use ferrocket_wire::message::{MessageVersion, StoredMessage};

pub const SEGMENT_BYTES: u64 = 64 * 1024;

pub fn message(n: usize, body_bytes: usize) -> StoredMessage {
    let born_host: SocketAddr = "10.0.0.5:50000".parse().unwrap();
    let store_host: SocketAddr = "192.168.1.10:10911".parse().unwrap();
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: (n % 4) as i32,
        flag: 0,
        queue_offset: (n / 4) as i64,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: 1_700_000_000_000,
        born_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from((0..body_bytes).map(|i| (i + n) as u8).collect::<Vec<u8>>()),
        topic: "TopicTest".to_owned(),
        properties: [("TAGS", format!("tag{}", n % 3)), ("UNIQ_KEY", format!("ID{n}"))]
            .into_iter()
            .collect(),
    }
}

pub fn config(dir: &Path) -> CommitLogConfig {
    CommitLogConfig {
        segment_bytes: SEGMENT_BYTES,
        ..CommitLogConfig::new(dir)
    }
}

/// Appends `count` messages of varied sizes; returns each record's (commit-log offset, size),
/// as plain numbers for the tests' byte arithmetic.
pub fn fill(log: &mut CommitLog, count: usize) -> Vec<(u64, u32)> {
    (0..count)
        .map(|n| {
            let result = log
                .append(&message(n, 100 + (n * 37) % 900), 1_700_000_001_000 + n as i64)
                .unwrap();
            (result.physical_offset.0, result.size)
        })
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Zeroes `[from, end of its segment)` and drops later segments: a crash that lost those writes.
pub fn tear_at(dir: &Path, from: u64) {
    let start = from - from % SEGMENT_BYTES;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name: u64 = entry.file_name().to_str().unwrap().parse().unwrap();
        if name > start {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    let path = dir.join(format!("{start:020}"));
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(from - start).unwrap();
    file.set_len(SEGMENT_BYTES).unwrap();
}
