//! The commit log's two replication seams: [`CommitLog::read_chunk`] (what a master sends) and
//! [`CommitLog::append_raw`] (what a slave appends: whole records and fillers only), ending in
//! byte-identical segment files (store-and-ha.md §7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fs;
use std::path::Path;

use ferrocket_store::{CommitLog, CommitLogConfig, CommitLogOffset};

use common::{SEGMENT_BYTES, config, fill, message};

/// The segment files of `dir`, by name.
fn segment_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn assert_identical(master: &Path, slave: &Path) {
    let (master, slave) = (segment_files(master), segment_files(slave));
    assert_eq!(
        master.iter().map(|f| &f.0).collect::<Vec<_>>(),
        slave.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, m), (_, s)) in master.iter().zip(&slave) {
        assert!(m == s, "segment {name} differs");
    }
}

/// `[from, to)` of `log`, across segments.
fn bytes_at_all(log: &CommitLog, from: u64, to: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut at = from;
    while at < to {
        let chunk = log.read_chunk(CommitLogOffset(at), u32::MAX).unwrap();
        at += chunk.len() as u64;
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

#[test]
fn read_chunk_stops_at_the_written_end_and_the_segment_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&CommitLogConfig {
        segment_bytes: 4096,
        ..CommitLogConfig::new(dir.path())
    })
    .unwrap();
    assert!(log.read_chunk(CommitLogOffset(0), 1024).unwrap().is_empty());
    let message = message(0, 3000);
    log.append(&message, 1).unwrap();
    let first_end = log.max_offset().0;
    log.append(&message, 2).unwrap();
    assert_eq!(log.read_chunk(CommitLogOffset(0), 100).unwrap().len(), 100);
    // The second record did not fit: the first segment ends with a filler up to 4096.
    assert_eq!(log.read_chunk(CommitLogOffset(10), 1 << 20).unwrap().len(), 4096 - 10);
    assert_eq!(
        log.read_chunk(CommitLogOffset(first_end), 1 << 20).unwrap().len(),
        (4096 - first_end) as usize
    );
    assert_eq!(
        log.read_chunk(CommitLogOffset(4096), 1 << 20).unwrap().len(),
        first_end as usize
    );
    assert!(log.read_chunk(log.max_offset(), 1 << 20).unwrap().is_empty());
}

#[test]
fn append_raw_takes_whole_units_and_refuses_the_rest() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut master = CommitLog::open(&config(master_dir.path())).unwrap();
    fill(&mut master, 300);
    let end = master.max_offset().0;
    assert!(end > 2 * SEGMENT_BYTES);
    let bytes_at = |from: u64, to: u64| master.read_bytes(CommitLogOffset(from), (to - from) as u32).unwrap();
    let mut slave = CommitLog::open(&config(slave_dir.path())).unwrap();
    // Nothing held: only a segment boundary may start the log.
    assert!(slave.append_raw(CommitLogOffset(100), &bytes_at(100, 200)).is_err());
    let first = bytes_at(0, SEGMENT_BYTES);
    assert!(
        slave.append_raw(CommitLogOffset(0), &first[..first.len() - 1]).is_err(),
        "filler cut short"
    );
    let record_size = u32::from_be_bytes(first[..4].try_into().unwrap()) as usize;
    assert!(
        slave.append_raw(CommitLogOffset(0), &first[..record_size - 1]).is_err(),
        "partial record"
    );
    let mut bad_filler = first.clone();
    let mut filler_at = 0;
    while first[filler_at + 4..filler_at + 8] != 0xCBD4_3194u32.to_be_bytes() {
        filler_at += u32::from_be_bytes(first[filler_at..filler_at + 4].try_into().unwrap()) as usize;
    }
    bad_filler[filler_at..filler_at + 4].copy_from_slice(&7i32.to_be_bytes());
    assert!(
        slave.append_raw(CommitLogOffset(0), &bad_filler).is_err(),
        "filler of the wrong size"
    );
    assert_eq!(
        slave.max_offset(),
        CommitLogOffset(0),
        "a refused append writes nothing"
    );
    slave.append_raw(CommitLogOffset(0), &first).unwrap();
    assert_eq!(slave.max_offset(), CommitLogOffset(SEGMENT_BYTES));
    assert!(slave.append_raw(CommitLogOffset(0), &first).is_err(), "not at the end");
    // The rest in one call spanning segments.
    slave
        .append_raw(
            CommitLogOffset(SEGMENT_BYTES),
            &bytes_at_all(&master, SEGMENT_BYTES, end),
        )
        .unwrap();
    assert_eq!(slave.max_offset(), CommitLogOffset(end));
    drop(slave);
    let reopened = CommitLog::open(&config(slave_dir.path())).unwrap();
    assert_eq!(reopened.max_offset(), CommitLogOffset(end));
    let mut count = 0;
    reopened
        .scan(CommitLogOffset(0), |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(count, 300);
    assert_identical(master_dir.path(), slave_dir.path());
}

#[test]
fn an_empty_log_may_start_at_any_segment_boundary() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut master = CommitLog::open(&config(master_dir.path())).unwrap();
    fill(&mut master, 300);
    let end = master.max_offset().0;
    let last = end - end % SEGMENT_BYTES;
    let mut slave = CommitLog::open(&config(slave_dir.path())).unwrap();
    slave
        .append_raw(CommitLogOffset(last), &bytes_at_all(&master, last, end))
        .unwrap();
    assert_eq!(
        (slave.min_offset(), slave.max_offset()),
        (CommitLogOffset(last), CommitLogOffset(end))
    );
    drop(slave);
    let reopened = CommitLog::open(&config(slave_dir.path())).unwrap();
    assert_eq!(
        (reopened.min_offset(), reopened.max_offset()),
        (CommitLogOffset(last), CommitLogOffset(end))
    );
}
