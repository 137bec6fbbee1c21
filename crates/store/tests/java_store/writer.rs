//! The store we write for the Java broker (`write_store_for_java`): varied messages through
//! [`MessageStore::put`], a clean shutdown and `config/topics.json`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use bytes::Bytes;
use ferrocket_store::{MessageStore, persist_config_file};
use ferrocket_wire::body::{JsonBody, TopicConfig, TopicConfigSerializeWrapper};
use ferrocket_wire::message::compression::{self, COMPRESS_LEVEL_DEFAULT};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag::{self, CompressionType};
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage, UniqueId};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};

use crate::expectations::Line;
use crate::store_config;

/// Topics and queue counts of the store we write.
const OUR_TOPICS: [(&str, i32); 3] = [("OursA", 4), ("OursB", 2), ("OursC", 1)];
const OUR_MESSAGES: usize = 240;
/// Members of the one batch put, into OursB queue 1.
const BATCH_SIZE: usize = 5;
const LARGE_BODY_BYTES: usize = 200 * 1024;

/// The time part of a unique id as a Java client in UTC writes it (the tests run the JVM with
/// `user.timezone=UTC`).
pub use ferrocket_wire::message::calendar::ms_since_month_start as ms_since_utc_month_start;

/// Message `n` of our store; its queue offset is left for the store to assign.
fn our_message(n: usize, store_host: SocketAddr, born_ms: i64) -> StoredMessage {
    let (topic, queues) = OUR_TOPICS[n % OUR_TOPICS.len()];
    let born_host = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000 + (n % 1000) as u16);
    let unique = UniqueId {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        pid: 4242,
        class_loader_hash: 0x1234_5678,
        ms_since_month_start: ms_since_utc_month_start(born_ms),
        counter: n as u16,
    };
    let mut properties = MessageProperties::new();
    properties.insert(keys::UNIQ_KEY, unique.to_string());
    properties.insert(keys::WAIT, "true");
    if !n.is_multiple_of(4) {
        properties.insert(keys::TAGS, format!("Tag{}", n % 3));
    }
    if !n.is_multiple_of(5) {
        properties.insert(keys::KEYS, format!("our-{n} shared-{} ключ-{n}", n % 6));
    }
    if n.is_multiple_of(3) {
        properties.insert("color", "green");
        properties.insert("名前", format!("値-{n}"));
    }
    let mut body: Vec<u8> = if n.is_multiple_of(10) {
        format!("ours #{n} – ünïcødé ✓ 🚀").into_bytes()
    } else {
        (0..1 + (n * 911) % 3000).map(|i| (i * 31 + n * 7) as u8).collect()
    };
    let mut sys_flag = 0;
    if n % 80 == 7 {
        // A large body, compressed the way a 5.x producer does it (zlib, type bits 3).
        body = format!("large body line of message {n}\n")
            .into_bytes()
            .repeat(LARGE_BODY_BYTES / 30);
        body = compression::compress(CompressionType::Zlib, &body, COMPRESS_LEVEL_DEFAULT).unwrap();
        sys_flag |= sysflag::COMPRESSED | CompressionType::Zlib.flag_bits();
    } else if n % 80 == 47 {
        body = (0..LARGE_BODY_BYTES).map(|i| (i * 7919 % 251) as u8).collect();
    }
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: (n / OUR_TOPICS.len()) as i32 % queues,
        flag: (n % 7) as i32,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: sysflag::with_host_flags(sys_flag, &born_host, &store_host),
        born_timestamp_ms: born_ms,
        born_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(body),
        topic: topic.to_owned(),
        properties,
    }
}

/// Writes our store at `root` through the broker's API for a broker at `store_host`, cleanly
/// shut down (no abort file, a checkpoint), with `config/topics.json`. Returns its records.
pub fn write_store(root: &Path, store_host: SocketAddr, now_ms: i64) -> Vec<Line> {
    let mut store = MessageStore::open(store_config(root), now_ms).unwrap();
    let mut lines = Vec::new();
    let mut store_ms = now_ms;
    for n in 0..OUR_MESSAGES {
        let message = our_message(n, store_host, now_ms - 50 + n as i64);
        store_ms += 1 + (n % 3) as i64;
        let put = store.put(message, store_ms).unwrap();
        lines.push(Line::of(&store.message_at(put.physical_offset).unwrap()));
    }
    // One batch as the broker splits it: members of one queue, one put, consecutive offsets.
    // Numbers n with n % 3 == 1 (OUR_MESSAGES is a multiple of 3) pick OursB.
    let batch: Vec<StoredMessage> = (0..BATCH_SIZE)
        .map(|k| StoredMessage {
            queue_id: 1,
            ..our_message(OUR_MESSAGES + k * OUR_TOPICS.len() + 1, store_host, now_ms)
        })
        .collect();
    store_ms += 1;
    let put = store.put_batch(batch, store_ms).unwrap();
    assert_eq!(put.physical_offsets.len(), BATCH_SIZE);
    for offset in put.physical_offsets {
        lines.push(Line::of(&store.message_at(offset).unwrap()));
    }
    store.shutdown(store_ms).unwrap();
    write_topics(root);
    lines
}

fn write_topics(root: &Path) {
    let mut wrapper = TopicConfigSerializeWrapper::default();
    for (topic, queues) in OUR_TOPICS {
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: PERM_READ | PERM_WRITE,
            ..TopicConfig::default()
        };
        wrapper.topic_config_table.insert(topic.to_owned(), config);
    }
    let json = String::from_utf8(wrapper.encode()).unwrap();
    persist_config_file(&root.join("config").join("topics.json"), &json).unwrap();
}
