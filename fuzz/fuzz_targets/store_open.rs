//! A store directory with arbitrary file contents: recovery must find a valid end (or refuse
//! with an error), never panic, and reads over whatever it accepted must stay in bounds.
//!
//! Input: `[u16 commit-log bytes][u16 consume-queue bytes][u16 index bytes]` then those three
//! files' contents back to back, the rest being the checkpoint.
#![no_main]
use std::fs;

use ferrocket_store::{GetMessages, IndexGeometry, MessageStore, MessageStoreConfig, QueueId, QueueOffset};

const SEGMENT_BYTES: u64 = 4096;
const QUEUE_FILE_ENTRIES: u64 = 64;
const INDEX: IndexGeometry = IndexGeometry {
    hash_slots: 8,
    entries_max: 16,
};
const TOPIC: &str = "TopicTest";

fn take<'a>(data: &mut &'a [u8], len: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(len.min(data.len()));
    *data = tail;
    head
}

fn length(data: &mut &[u8]) -> usize {
    let bytes = take(data, 2);
    usize::from(u16::from_be_bytes([bytes.first().copied().unwrap_or(0), bytes.get(1).copied().unwrap_or(0)]))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (log_len, queue_len, index_len) = (length(&mut rest), length(&mut rest), length(&mut rest));
    let (log, queue, index) = (take(&mut rest, log_len), take(&mut rest, queue_len), take(&mut rest, index_len));
    let root = tempfile::tempdir().expect("temp dir");
    let path = root.path();
    let write = |relative: &str, bytes: &[u8]| {
        let file = path.join(relative);
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, bytes).expect("write");
    };
    write("commitlog/00000000000000000000", log);
    write(&format!("consumequeue/{TOPIC}/0/00000000000000000000"), queue);
    write("index/20261125000000000", index);
    write("checkpoint", rest);
    let config = MessageStoreConfig {
        commit_log_segment_bytes: SEGMENT_BYTES,
        consume_queue_file_entries: QUEUE_FILE_ENTRIES,
        index: INDEX,
        ..MessageStoreConfig::new(path)
    };
    let Ok(mut store) = MessageStore::open(config, 1_764_000_000_000) else {
        return;
    };
    let query = GetMessages {
        topic: TOPIC,
        queue_id: QueueId(0),
        offset: QueueOffset(0),
        max_count: 32,
        filter: None,
        record_filter: None,
    };
    if let Ok(result) = store.get_messages(&query) {
        assert!(result.records.len() <= 32);
    }
    let _ = store.query_by_key(TOPIC, "k", 32, 0, i64::MAX);
    let _ = store.shutdown(1_764_000_000_000);
});
