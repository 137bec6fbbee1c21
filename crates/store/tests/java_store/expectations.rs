//! The expectations file both halves of the Java store tests exchange (format in the crate docs
//! of `java_store.rs`): one [`Line`] per stored message, as a Java client sees it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ferrocket_store::{CommitLogOffset, ScannedRecord};
use ferrocket_wire::message::compression;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag::{self, CompressionType};
use ferrocket_wire::message::{MessageProperties, StoredMessage};

/// One stored message in the expectations format (module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub store_size: i32,
    pub sys_flag: i32,
    pub flag: i32,
    pub body_crc: i32,
    pub born_timestamp: i64,
    pub born_host: String,
    pub store_timestamp: i64,
    pub store_host: String,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub msg_id: String,
    pub offset_msg_id: String,
    /// Hex of the canonical properties text.
    pub properties: String,
    /// Hex of the uncompressed body.
    pub body: String,
}

pub const HEADER: &str = "# topic queueId queueOffset commitLogOffset storeSize sysFlag flag bodyCRC bornTimestamp \
                      bornHost storeTimestamp storeHost reconsumeTimes preparedTransactionOffset msgId offsetMsgId \
                      properties body";

impl Line {
    /// What a Java client derives from this record.
    pub fn of(record: &ScannedRecord) -> Line {
        let m = &record.message;
        let offset_msg_id = m.offset_message_id();
        Line {
            topic: m.topic.clone(),
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            commit_log_offset: m.physical_offset,
            store_size: i32::try_from(record.size).unwrap(),
            // A client clears COMPRESSED when it decompresses the body (the type bits stay).
            sys_flag: sysflag::clear_compressed(m.sys_flag),
            flag: m.flag,
            body_crc: m.body_crc,
            born_timestamp: m.born_timestamp_ms,
            born_host: m.born_host.to_string(),
            store_timestamp: m.store_timestamp_ms,
            store_host: m.store_host.to_string(),
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
            msg_id: m
                .properties
                .get(keys::UNIQ_KEY)
                .map_or(offset_msg_id.clone(), str::to_owned),
            offset_msg_id,
            properties: hex(canonical_properties(&m.properties).as_bytes()),
            body: hex(&uncompressed_body(m)),
        }
    }

    pub fn format(&self) -> String {
        [
            hex(self.topic.as_bytes()),
            self.queue_id.to_string(),
            self.queue_offset.to_string(),
            self.commit_log_offset.to_string(),
            self.store_size.to_string(),
            self.sys_flag.to_string(),
            self.flag.to_string(),
            self.body_crc.to_string(),
            self.born_timestamp.to_string(),
            self.born_host.clone(),
            self.store_timestamp.to_string(),
            self.store_host.clone(),
            self.reconsume_times.to_string(),
            self.prepared_transaction_offset.to_string(),
            self.msg_id.clone(),
            self.offset_msg_id.clone(),
            self.properties.clone(),
            self.body.clone(),
        ]
        .join("\t")
    }

    pub fn parse(text: &str) -> Line {
        let f: Vec<&str> = text.split('\t').collect();
        assert_eq!(f.len(), 18, "expected 18 fields: {text:.200}");
        let n = |i: usize| -> i64 {
            f[i].parse()
                .unwrap_or_else(|_| panic!("field {i} not a number: {}", f[i]))
        };
        let int = |i: usize| -> i32 { i32::try_from(n(i)).unwrap() };
        Line {
            topic: String::from_utf8(unhex(f[0])).unwrap(),
            queue_id: int(1),
            queue_offset: n(2),
            commit_log_offset: n(3),
            store_size: int(4),
            sys_flag: int(5),
            flag: int(6),
            body_crc: int(7),
            born_timestamp: n(8),
            born_host: f[9].to_owned(),
            store_timestamp: n(10),
            store_host: f[11].to_owned(),
            reconsume_times: int(12),
            prepared_transaction_offset: n(13),
            msg_id: f[14].to_owned(),
            offset_msg_id: f[15].to_owned(),
            properties: f[16].to_owned(),
            body: f[17].to_owned(),
        }
    }

    pub fn property_map(&self) -> MessageProperties {
        let text = String::from_utf8(unhex(&self.properties)).unwrap();
        MessageProperties::parse(&text)
    }

    pub fn end(&self) -> CommitLogOffset {
        CommitLogOffset(u64::try_from(self.commit_log_offset).unwrap() + u64::try_from(self.store_size).unwrap())
    }
}

fn canonical_properties(properties: &MessageProperties) -> String {
    let sorted: BTreeMap<&str, &str> = properties
        .iter()
        .filter(|(name, _)| *name != keys::MIN_OFFSET && *name != keys::MAX_OFFSET)
        .collect();
    sorted
        .iter()
        .map(|(name, value)| format!("{name}\u{1}{value}\u{2}"))
        .collect()
}

fn uncompressed_body(message: &StoredMessage) -> Vec<u8> {
    if !sysflag::is_compressed(message.sys_flag) {
        return message.body.to_vec();
    }
    let kind = CompressionType::from_sys_flag(message.sys_flag).unwrap();
    compression::decompress(kind, &message.body).unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn read_lines(path: &Path) -> Vec<Line> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(Line::parse)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[Line]) {
    let mut text = format!("{HEADER}\n");
    for line in lines {
        text.push_str(&line.format());
        text.push('\n');
    }
    fs::write(path, text).unwrap();
}

/// Field-by-field, so a failure names the field and the record.
pub fn assert_lines_equal(got: &Line, want: &Line) {
    if got == want {
        return;
    }
    let (g, w) = (got.format(), want.format());
    let names: Vec<&str> = HEADER.trim_start_matches("# ").split(' ').collect();
    for ((name, g), w) in names.iter().zip(g.split('\t')).zip(w.split('\t')) {
        assert_eq!(
            g, w,
            "field {name} of the record at {} (topic {}, queue {}@{})",
            want.commit_log_offset, want.topic, want.queue_id, want.queue_offset
        );
    }
}
