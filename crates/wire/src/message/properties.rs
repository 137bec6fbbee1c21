//! The message properties string (`MessageDecoder.messageProperties2String` / `string2messageProperties`).
//!
//! ```text
//! name 0x01 value 0x02 name 0x01 value 0x02 ...
//! ```
//! 5.x ends every pair, the last included, with 0x02; 4.9.x omits the 0x02 after the last pair
//! (see [`FinalSeparator`]). There is no escaping. Parsing follows Java exactly: split on 0x02, skip
//! segments shorter than 3 characters, the first 0x01 splits name from value (so a value may contain
//! 0x01), skip the segment if name or value is empty, a later duplicate overwrites an earlier one, a
//! missing final 0x02 is tolerated. Parsing never fails on content. Java iterates a `HashMap`; we
//! keep insertion order and the final-separator form, so a decoded string re-encodes to the same
//! bytes. In a stored record the string's length is a signed short, so it is at most
//! [`PROPERTIES_BYTES_MAX`] bytes.

use std::fmt;
use std::ops::Range;

use bytes::{BufMut, BytesMut};

use crate::error::{WireError, WireResult};

/// The record stores the length as a signed short; the broker rejects longer strings
/// (`PROPERTIES_SIZE_EXCEEDED`).
pub const PROPERTIES_BYTES_MAX: usize = i16::MAX as usize;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: u8 = 0x01;
/// Terminates every pair.
pub const PROPERTY_SEPARATOR: u8 = 0x02;

/// Well-known property names (`MessageConst`), as Java spells them.
pub mod keys {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const BUYER_ID: &str = "BUYER_ID";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const DUP_INFO: &str = "DUP_INFO";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const TTL: &str = "TTL";
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MSG_TYPE: &str = "MSG_TYPE";
    pub const POP_CK: &str = "POP_CK";
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    pub const REDIRECT: &str = "REDIRECT";
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    pub const BORN_HOST: &str = "__BORNHOST";
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    pub const CRC32: &str = "__CRC32#";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

    /// Names starting with this are client-local and never stored by the broker.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// `KEYS` holds several business keys separated by this.
    pub const KEY_SEPARATOR: &str = " ";

    /// `MessageConst.STRING_HASH_SET`: names the Java client refuses as user properties.
    pub const RESERVED: &[&str] = &[
        TRACE_ON,
        MSG_REGION,
        KEYS,
        TAGS,
        WAIT,
        DELAY,
        RETRY_TOPIC,
        REAL_TOPIC,
        REAL_QID,
        TRAN_MSG,
        PGROUP,
        MIN_OFFSET,
        MAX_OFFSET,
        BUYER_ID,
        ORIGIN_MESSAGE_ID,
        TRANSFER_FLAG,
        CORRECTION_FLAG,
        MQ2_FLAG,
        RECONSUME_TIME,
        UNIQ_KEY,
        MAX_RECONSUME_TIMES,
        CONSUME_START_TIME,
        POP_CK,
        POP_CK_OFFSET,
        FIRST_POP_TIME,
        TRAN_PREPARED_QUEUE_OFFSET,
        DUP_INFO,
        EXTEND_UNIQ_INFO,
        INSTANCE_ID,
        CORRELATION_ID,
        REPLY_TO_CLIENT,
        TTL,
        ARRIVE_TIME,
        PUSH_REPLY_TIME,
        CLUSTER,
        MSG_TYPE,
        INNER_MULTI_QUEUE_OFFSET,
        TIMER_DELAY_MS,
        TIMER_DELAY_SEC,
        TIMER_DELIVER_MS,
        TIMER_ENQUEUE_MS,
        TIMER_DEQUEUE_MS,
        TIMER_ROLL_TIMES,
        TIMER_OUT_MS,
        TIMER_DEL_UNIQKEY,
        TIMER_DELAY_LEVEL,
        BORN_HOST,
        BORN_TIMESTAMP,
        DLQ_ORIGIN_TOPIC,
        DLQ_ORIGIN_MESSAGE_ID,
        CRC32,
    ];

    /// Whether the Java client would refuse `name` as a user property.
    pub fn is_reserved(name: &str) -> bool {
        RESERVED.contains(&name)
    }
}

/// Whether the last pair is followed by 0x02. Both forms parse the same everywhere; the form is
/// kept only so that what a peer wrote re-encodes to the same bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FinalSeparator {
    /// 5.x `messageProperties2String`: every pair ends with 0x02. What we write by default.
    #[default]
    Present,
    /// 4.9.x `messageProperties2String` deletes the 0x02 after the last pair.
    Omitted,
}

/// A message's properties, in insertion order. Names are unique.
///
/// The string is bounded by [`PROPERTIES_BYTES_MAX`] wherever it is stored, so no separate cap on
/// the number of entries. Equality includes the [`FinalSeparator`] form.
///
/// Names and values live in one text buffer, entries are spans into it: every stored message
/// has a handful of properties, and a String for each name and value was most of the
/// allocations of a batch send. Parsing copies the string once and points into the copy. A
/// replaced or removed value leaves its text behind, unreachable, bounded by what was written.
#[derive(Clone, Default)]
pub struct MessageProperties {
    /// Names and values; only the spans in `entries` are meaningful.
    text: String,
    entries: Vec<(Range<usize>, Range<usize>)>,
    final_separator: FinalSeparator,
}

impl MessageProperties {
    pub fn new() -> MessageProperties {
        MessageProperties::default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let at = self.position(name)?;
        self.entries.get(at).map(|(_, value)| self.text_of(value))
    }

    /// Sets `name`, keeping its position if present (as a map would), else appending.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let name = name.as_ref();
        let value = self.push_text(value.as_ref());
        match self.position(name).and_then(|at| self.entries.get_mut(at)) {
            Some(entry) => entry.1 = value,
            None => {
                let name = self.push_text(name);
                self.entries.push((name, value));
            }
        }
    }

    /// Removes `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let at = self.position(name)?;
        let value = self.text_of(&self.entries.get(at)?.1).to_owned();
        self.entries.remove(at);
        Some(value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(name, value)| (self.text_of(name), self.text_of(value)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Room for `entries` more entries of `text_bytes` bytes in all, so that the inserts that
    /// follow (a batch's shared properties into each member's) grow nothing.
    pub fn reserve(&mut self, text_bytes: usize, entries: usize) {
        self.text.reserve(text_bytes);
        self.entries.reserve(entries);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn final_separator(&self) -> FinalSeparator {
        self.final_separator
    }

    /// Chooses how [`MessageProperties::encode`] ends the string.
    pub fn set_final_separator(&mut self, final_separator: FinalSeparator) {
        self.final_separator = final_separator;
    }

    /// Parses a properties string with Java's rules. Never fails: malformed segments are skipped.
    /// A non-empty string that does not end with 0x02 records [`FinalSeparator::Omitted`].
    pub fn parse(text: &str) -> MessageProperties {
        let mut properties = MessageProperties {
            text: text.to_owned(),
            entries: Vec::with_capacity(text.bytes().filter(|b| *b == PROPERTY_SEPARATOR).count() + 1),
            final_separator: FinalSeparator::Present,
        };
        if !text.is_empty() && !text.ends_with(PROPERTY_SEPARATOR as char) {
            properties.final_separator = FinalSeparator::Omitted;
        }
        let mut start = 0;
        for segment in text.split(PROPERTY_SEPARATOR as char) {
            let segment_start = start;
            start += segment.len() + 1;
            // Both separators are ASCII, so byte and char positions agree on where they are, and a
            // non-empty name and value already imply Java's "at least 3 characters".
            let Some((name, value)) = segment.split_once(NAME_VALUE_SEPARATOR as char) else {
                continue;
            };
            if name.is_empty() || value.is_empty() {
                continue;
            }
            // The spans point into the copy made above: no text is written for a parsed entry.
            let name_span = segment_start..segment_start + name.len();
            let value_start = name_span.end + 1;
            let value_span = value_start..value_start + value.len();
            match properties.position(name).and_then(|at| properties.entries.get_mut(at)) {
                Some(entry) => entry.1 = value_span,
                None => properties.entries.push((name_span, value_span)),
            }
        }
        properties
    }

    /// Decodes the UTF-8 bytes of a properties string (as stored in a record or batch entry).
    pub fn decode(bytes: &[u8]) -> WireResult<MessageProperties> {
        if bytes.len() > PROPERTIES_BYTES_MAX {
            return Err(WireError::BadLength {
                what: "properties",
                offset: 0,
                length: bytes.len() as i64,
                limit: PROPERTIES_BYTES_MAX as i64,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| WireError::BadUtf8 {
            what: "properties",
            offset: e.valid_up_to(),
        })?;
        Ok(MessageProperties::parse(text))
    }

    /// The properties string, `name 0x01 value 0x02` per entry.
    ///
    /// Fails if an entry would not parse back to itself (empty name or value, a 0x01 or 0x02 in the
    /// name, a 0x02 in the value) or the string exceeds [`PROPERTIES_BYTES_MAX`] bytes.
    pub fn encode(&self) -> WireResult<String> {
        let mut out = String::with_capacity(self.checked_encoded_len()?);
        for (name, value) in self.iter() {
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR as char);
            out.push_str(value);
            out.push(PROPERTY_SEPARATOR as char);
        }
        if self.final_separator == FinalSeparator::Omitted {
            out.pop();
        }
        Ok(out)
    }

    /// The length of [`MessageProperties::encode`]'s output, after the same checks: a record
    /// encoder calls this, then [`MessageProperties::put_encoded`] into its own buffer.
    pub fn checked_encoded_len(&self) -> WireResult<usize> {
        for (name, value) in self.iter() {
            check_entry(name, value)?;
        }
        let len = self.encoded_len();
        if len > PROPERTIES_BYTES_MAX {
            return Err(WireError::Unencodable {
                what: "properties",
                reason: format!("{len} bytes, limit {PROPERTIES_BYTES_MAX}"),
            });
        }
        Ok(len)
    }

    /// Appends the properties string to `dst`, [`MessageProperties::encoded_len`] bytes; call
    /// [`MessageProperties::checked_encoded_len`] first, as what fails it would not parse back.
    pub fn put_encoded(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        let last = self.entries.len();
        for (i, (name, value)) in self.iter().enumerate() {
            dst.put_slice(name.as_bytes());
            dst.put_u8(NAME_VALUE_SEPARATOR);
            dst.put_slice(value.as_bytes());
            if i + 1 < last || self.final_separator == FinalSeparator::Present {
                dst.put_u8(PROPERTY_SEPARATOR);
            }
        }
    }

    /// Byte length of [`MessageProperties::encode`]'s output, limits aside.
    pub fn encoded_len(&self) -> usize {
        let terminated: usize = self.entries.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        match self.final_separator {
            FinalSeparator::Omitted => terminated.saturating_sub(1),
            FinalSeparator::Present => terminated,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| self.text_of(k) == name)
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    /// Spans are only made from this buffer, so they always hold; an empty string otherwise.
    fn text_of(&self, span: &Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }
}

/// Equal when the entries and the final-separator form are, whatever text replaced values left.
impl PartialEq for MessageProperties {
    fn eq(&self, other: &MessageProperties) -> bool {
        self.final_separator == other.final_separator && self.iter().eq(other.iter())
    }
}

impl Eq for MessageProperties {}

impl fmt::Debug for MessageProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageProperties")
            .field("entries", &self.iter().collect::<Vec<_>>())
            .field("final_separator", &self.final_separator)
            .finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for MessageProperties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> MessageProperties {
        let mut properties = MessageProperties::new();
        for (name, value) in iter {
            properties.insert(name, value);
        }
        properties
    }
}

fn check_entry(name: &str, value: &str) -> WireResult<()> {
    let is_separator = |c: char| c == NAME_VALUE_SEPARATOR as char || c == PROPERTY_SEPARATOR as char;
    let reason = if name.is_empty() {
        "empty name"
    } else if value.is_empty() {
        "empty value"
    } else if name.contains(is_separator) {
        "separator byte in name"
    } else if value.contains(PROPERTY_SEPARATOR as char) {
        "0x02 in value"
    } else {
        return Ok(());
    };
    Err(WireError::Unencodable {
        what: "property",
        reason: format!("{reason} (name {name:?})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order() {
        let properties: MessageProperties = [("UNIQ_KEY", "AB"), ("TAGS", "TagA"), ("WAIT", "true"), ("é", "ü\u{1}x")]
            .into_iter()
            .collect();
        let text = properties.encode().unwrap();
        assert_eq!(MessageProperties::parse(&text), properties);
        assert_eq!(MessageProperties::decode(text.as_bytes()).unwrap(), properties);
        assert_eq!(text.len(), properties.encoded_len());
    }

    #[test]
    fn exact_bytes() {
        let properties: MessageProperties = [("TAGS", "TagA"), ("KEYS", "k1 k2")].into_iter().collect();
        assert_eq!(
            properties.encode().unwrap().as_bytes(),
            b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02"
        );
        assert_eq!(MessageProperties::new().encode().unwrap(), "");
    }

    #[test]
    fn keeps_the_4_9_form_without_final_separator() {
        let mut properties: MessageProperties = [("TAGS", "TagA"), ("WAIT", "true")].into_iter().collect();
        properties.set_final_separator(FinalSeparator::Omitted);
        let text = properties.encode().unwrap();
        assert_eq!(text, "TAGS\x01TagA\x02WAIT\x01true");
        assert_eq!(text.len(), properties.encoded_len());
        let parsed = MessageProperties::parse(&text);
        assert_eq!(parsed.final_separator(), FinalSeparator::Omitted);
        assert_eq!(parsed, properties);
        assert_eq!(
            MessageProperties::parse("TAGS\x01TagA\x02").final_separator(),
            FinalSeparator::Present
        );
        let mut empty = MessageProperties::new();
        empty.set_final_separator(FinalSeparator::Omitted);
        assert_eq!((empty.encode().unwrap().as_str(), empty.encoded_len()), ("", 0));
    }

    #[test]
    fn parses_with_java_rules() {
        let text = "a\x01\x02\x01b\x02ab\x02x\x011\x02x\x012\x02\x02y\x01v\x01w\x02zz\x01last";
        let parsed = MessageProperties::parse(text);
        assert_eq!(
            parsed.iter().collect::<Vec<_>>(),
            vec![("x", "2"), ("y", "v\u{1}w"), ("zz", "last")]
        );
        assert!(MessageProperties::parse("").is_empty());
        assert!(MessageProperties::parse("\x02\x02\x01\x02").is_empty());
    }

    #[test]
    fn encode_refuses_what_would_not_parse_back() {
        for (name, value) in [("", "v"), ("n", ""), ("a\x01", "v"), ("a\x02", "v"), ("n", "v\x02")] {
            let properties: MessageProperties = [(name, value)].into_iter().collect();
            assert!(properties.encode().is_err(), "{name:?}={value:?}");
        }
        let long: MessageProperties = [("n", "v".repeat(PROPERTIES_BYTES_MAX))].into_iter().collect();
        assert!(long.encode().is_err());
    }

    #[test]
    fn decode_checks_utf8_and_length() {
        assert!(matches!(
            MessageProperties::decode(b"a\x01\xFF\x02"),
            Err(WireError::BadUtf8 { offset: 2, .. })
        ));
        assert!(MessageProperties::decode(&vec![b'a'; PROPERTIES_BYTES_MAX + 1]).is_err());
    }

    #[test]
    fn every_prefix_decodes_to_a_prefix_of_the_entries() {
        let properties: MessageProperties = [("TAGS", "TagA"), ("KEYS", "k é"), ("WAIT", "true")]
            .into_iter()
            .collect();
        let text = properties.encode().unwrap();
        for cut in 0..text.len() {
            // A missing final separator is tolerated, so a cut is not detectable; a cut inside a
            // multi-byte character is, and must be an error rather than a panic.
            match MessageProperties::decode(&text.as_bytes()[..cut]) {
                Ok(parsed) => {
                    for (name, value) in parsed.iter() {
                        let full = properties.get(name).unwrap();
                        assert!(full.starts_with(value), "cut {cut}: {name}={value}");
                    }
                }
                Err(e) => assert!(matches!(e, WireError::BadUtf8 { .. }), "cut {cut}: {e}"),
            }
        }
    }

    #[test]
    fn reserved_names() {
        assert!(keys::is_reserved("UNIQ_KEY"));
        assert!(!keys::is_reserved("myKey"));
        assert_eq!(keys::RESERVED.len(), 51);
    }
}
