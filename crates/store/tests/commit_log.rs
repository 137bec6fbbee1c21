//! Commit-log append, read, fillers, limits and crash recovery (torn tails, corrupt bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;

use ferrocket_store::{CommitLog, CommitLogConfig, CommitLogOffset, StoreError};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::record::{BLANK_MAGIC_CODE, body_crc};

mod common;

use common::{SEGMENT_BYTES, config, copy_dir, fill, message, tear_at};

#[test]
fn append_then_read_sets_offset_timestamp_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    let original = message(5, 300);
    let first = log.append(&original, 111).unwrap();
    let second = log.append(&original, 222).unwrap();
    assert_eq!(first.physical_offset, CommitLogOffset(0));
    assert_eq!(second.physical_offset, CommitLogOffset(u64::from(first.size)));
    assert_eq!(log.max_offset(), second.end_offset());

    let read = log.read(second.physical_offset).unwrap();
    assert_eq!(read.size, second.size);
    let mut expected = original.clone();
    expected.physical_offset = second.physical_offset.0 as i64;
    expected.store_timestamp_ms = 222;
    expected.body_crc = body_crc(&original.body);
    assert_eq!(read.message, expected);

    let raw = log.read_bytes(first.physical_offset, first.size).unwrap();
    assert_eq!(StoredMessage::decode(&raw).unwrap().0.store_timestamp_ms, 111);
    assert!(matches!(
        log.read(log.max_offset()),
        Err(StoreError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(log.read(CommitLogOffset(7)), Err(StoreError::Corrupt { .. })));
}

#[test]
fn records_that_do_not_fit_move_to_the_next_segment_after_a_filler() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    let records = fill(&mut log, 400);
    assert!(log.max_offset().0 > 3 * SEGMENT_BYTES);
    for &(offset, size) in &records {
        let room = SEGMENT_BYTES - offset % SEGMENT_BYTES;
        assert!(
            u64::from(size) + 8 <= room,
            "record at {offset} leaves no room for a filler"
        );
    }
    for pair in records.windows(2) {
        let (offset, size) = pair[0];
        let next = pair[1].0;
        if next != offset + u64::from(size) {
            assert!(next.is_multiple_of(SEGMENT_BYTES));
            let filler_at = offset + u64::from(size);
            let filler = log.read_bytes(CommitLogOffset(filler_at), 8).unwrap();
            assert_eq!(
                i32::from_be_bytes(filler[..4].try_into().unwrap()) as u64,
                next - filler_at
            );
            assert_eq!(u32::from_be_bytes(filler[4..].try_into().unwrap()), BLANK_MAGIC_CODE);
        }
    }
    let mut scanned = Vec::new();
    log.scan(CommitLogOffset(0), |record| {
        scanned.push((record.physical_offset.0, record.size));
        Ok(())
    })
    .unwrap();
    assert_eq!(scanned, records);
}

#[test]
fn a_batch_append_writes_the_same_bytes_as_one_append_per_record() {
    // Batches of 1..=40 records over 64 KiB segments: several runs end at a filler.
    let (one_dir, batch_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut one_by_one = CommitLog::open(&config(one_dir.path())).unwrap();
    let mut batched = CommitLog::open(&config(batch_dir.path())).unwrap();
    let messages: Vec<StoredMessage> = (0..600).map(|n| message(n, 100 + (n * 37) % 900)).collect();
    let mut at = 0;
    for batch_len in (1..=40).cycle() {
        if at >= messages.len() {
            break;
        }
        let batch = &messages[at..(at + batch_len).min(messages.len())];
        let now_ms = 1_700_000_001_000 + at as i64;
        let expected: Vec<_> = batch.iter().map(|m| one_by_one.append(m, now_ms).unwrap()).collect();
        assert_eq!(batched.append_all(batch, now_ms).unwrap(), expected);
        at += batch_len;
    }
    assert!(batched.max_offset().0 > 3 * SEGMENT_BYTES);
    assert_eq!(batched.max_offset(), one_by_one.max_offset());
    let end = batched.max_offset().0;
    let mut offset = 0;
    while offset < end {
        let len = (end - offset).min(SEGMENT_BYTES - offset % SEGMENT_BYTES) as u32;
        assert_eq!(
            batched.read_bytes(CommitLogOffset(offset), len).unwrap(),
            one_by_one.read_bytes(CommitLogOffset(offset), len).unwrap(),
            "bytes at {offset}"
        );
        offset += u64::from(len);
    }

    // A member too large: nothing of the batch is written.
    let mut log = CommitLog::open(&CommitLogConfig {
        body_bytes_max: 1000,
        ..config(tempfile::tempdir().unwrap().path())
    })
    .unwrap();
    let bad = [message(0, 10), message(1, 1001)];
    assert!(matches!(
        log.append_all(&bad, 1),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(log.max_offset(), CommitLogOffset(0));
}

#[test]
fn oversized_messages_are_rejected_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&CommitLogConfig {
        body_bytes_max: 1000,
        ..config(dir.path())
    })
    .unwrap();
    assert!(matches!(
        log.append(&message(0, 1001), 1),
        Err(StoreError::MessageTooLarge { .. })
    ));
    log.append(&message(0, 1000), 1).unwrap();

    let mut small_segments = CommitLog::open(&CommitLogConfig {
        segment_bytes: 512,
        ..CommitLogConfig::new(dir.path().join("small"))
    })
    .unwrap();
    assert!(matches!(
        small_segments.append(&message(0, 600), 1),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(small_segments.max_offset(), CommitLogOffset(0));
}

#[test]
fn clean_reopen_keeps_everything_and_appends_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    let records = fill(&mut log, 150);
    assert_eq!(log.flush().unwrap(), log.max_offset());
    let end = log.max_offset();
    drop(log);
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    assert_eq!(log.max_offset(), end);
    for &(offset, size) in &records {
        assert_eq!(log.read(CommitLogOffset(offset)).unwrap().size, size);
    }
    assert_eq!(log.append(&message(1, 10), 5).unwrap().physical_offset, end);
}

#[test]
fn a_torn_final_record_is_dropped_at_every_byte() {
    let template = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(template.path())).unwrap();
    let records = fill(&mut log, 80);
    log.flush().unwrap();
    drop(log);
    let &(last_offset, last_size) = records.last().unwrap();
    for cut in last_offset..last_offset + u64::from(last_size) {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        tear_at(dir.path(), cut);
        let log = CommitLog::open(&config(dir.path())).unwrap();
        assert_eq!(log.max_offset(), CommitLogOffset(last_offset), "cut at {cut}");
        let (prev_offset, _) = records[records.len() - 2];
        assert!(log.read(CommitLogOffset(prev_offset)).is_ok());
    }
}

#[test]
fn random_cuts_stop_at_the_record_containing_the_cut() {
    let template = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(template.path())).unwrap();
    let records = fill(&mut log, 300);
    let end = log.max_offset().0;
    drop(log);
    let mut seed: u64 = 0x5EED;
    for _ in 0..60 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // Stay within the last three segments, which recovery scans.
        let low = end - end % SEGMENT_BYTES - 2 * SEGMENT_BYTES;
        let cut = low + (seed >> 33) % (end - low);
        let expected = records
            .iter()
            .filter(|&&(offset, size)| offset + u64::from(size) <= cut)
            .map(|&(offset, size)| offset + u64::from(size))
            .max()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        tear_at(dir.path(), cut);
        let mut log = CommitLog::open(&config(dir.path())).unwrap();
        // A valid end just before a filler is the same place as the next segment's start.
        let next_record = records
            .iter()
            .map(|&(offset, _)| offset)
            .find(|&offset| offset >= expected);
        let got = log.max_offset().0;
        assert!(
            got == expected || (got > expected && got.is_multiple_of(SEGMENT_BYTES) && Some(got) == next_record),
            "cut {cut}: end {got}, expected {expected}"
        );
        let appended = log.append(&message(9, 50), 9).unwrap();
        assert_eq!(log.read(appended.physical_offset).unwrap().message.queue_id, 1);
    }
}

#[test]
fn a_corrupt_body_byte_ends_the_log_before_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    let records = fill(&mut log, 200);
    drop(log);
    // A record in the second-to-last segment: the last segment goes too.
    let target = records.len() - 60;
    let (offset, _) = records[target];
    let path = dir.path().join(format!("{:020}", offset - offset % SEGMENT_BYTES));
    let mut bytes = fs::read(&path).unwrap();
    let body_at = (offset % SEGMENT_BYTES) as usize + 88 + 3;
    bytes[body_at] ^= 0xFF;
    fs::write(&path, &bytes).unwrap();
    let log = CommitLog::open(&config(dir.path())).unwrap();
    assert_eq!(log.max_offset(), CommitLogOffset(offset));
    let last_segment = log.max_offset().0 - log.max_offset().0 % SEGMENT_BYTES;
    let names: Vec<u64> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    assert!(names.iter().all(|&start| start <= last_segment));
    assert!(log.read(CommitLogOffset(records[target - 1].0)).is_ok());
}

#[test]
fn every_record_layout_survives_reopen() {
    use ferrocket_wire::message::properties::FinalSeparator;
    use ferrocket_wire::message::{MessageProperties, MessageVersion, sysflag};

    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(&config(dir.path())).unwrap();
    let mut offsets = Vec::new();
    for version in [MessageVersion::V1, MessageVersion::V2] {
        for v6 in [false, true] {
            for properties in 0..3 {
                let mut m = message(offsets.len(), 40);
                m.version = version;
                if version == MessageVersion::V2 {
                    m.topic = "%RETRY%".to_owned() + &"g".repeat(150);
                }
                if v6 {
                    m.born_host = "[2001:db8::1]:50000".parse().unwrap();
                    m.store_host = "[::1]:10911".parse().unwrap();
                }
                m.sys_flag = sysflag::with_host_flags(0, &m.born_host, &m.store_host);
                match properties {
                    0 => m.properties = MessageProperties::new(),
                    1 => m.properties.set_final_separator(FinalSeparator::Omitted),
                    _ => {}
                }
                m.body = bytes::Bytes::new();
                offsets.push((log.append(&m, 1).unwrap().physical_offset, m));
            }
        }
    }
    let end = log.max_offset();
    drop(log);
    let log = CommitLog::open(&config(dir.path())).unwrap();
    assert_eq!(log.max_offset(), end);
    for (offset, original) in offsets {
        let read = log.read(offset).unwrap().message;
        assert_eq!(
            (read.topic, read.properties, read.born_host),
            (original.topic, original.properties, original.born_host)
        );
    }
}
