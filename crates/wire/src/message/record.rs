//! The stored message record: one message in the commit log, and the unit of PULL / QUERY /
//! VIEW_MESSAGE_BY_ID / CHECK_TRANSACTION_STATE bodies (`MessageDecoder.decode`,
//! `MessageExtEncoder.encode`). Big-endian throughout.
//!
//! ```text
//! off  field                 bytes
//!   0  TOTALSIZE             4     whole record, this field included
//!   4  MAGICCODE             4     0xDAA320A7 (V1) or 0xDAA320AB (V2)
//!   8  BODYCRC               4     crc32(body) & 0x7FFFFFFF
//!  12  QUEUEID               4
//!  16  FLAG                  4
//!  20  QUEUEOFFSET           8
//!  28  PHYSICALOFFSET        8
//!  36  SYSFLAG               4
//!  40  BORNTIMESTAMP         8
//!  48  BORNHOST              8|20  ip (4, or 16 if SYSFLAG bit 4) + port i32
//!  56  STORETIMESTAMP        8     (68 with an IPv6 born host; later offsets shift likewise)
//!  64  STOREHOST             8|20  ip (4, or 16 if SYSFLAG bit 5) + port i32
//!  72  RECONSUMETIMES        4
//!  76  PREPARED TX OFFSET    8
//!  84  BODYLENGTH + BODY     4 + n
//!      TOPICLENGTH + TOPIC   1 + t (V1, t <= 127) or 2 + t (V2)
//!      PROPLENGTH + PROPS    2 + p (p <= 32767), properties string
//! ```
//! Invariant checked both ways: TOTALSIZE equals the bytes the fields occupy. Hosts are
//! `SocketAddr`; an IPv6 layout always decodes to `SocketAddr::V6`, so a record re-encodes to the
//! same bytes. The BODYCRC field is kept as read and written as given; [`body_crc`] computes it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::FRAME_BYTES_MAX;
use crate::error::{WireError, WireResult};
use crate::message::message_id::OffsetMessageId;
use crate::message::properties::{MessageProperties, PROPERTIES_BYTES_MAX};
use crate::message::sysflag;
use crate::reader::Reader;

/// `MessageDecoder.MESSAGE_MAGIC_CODE`: records with a 1-byte topic length.
pub const MAGIC_CODE_V1: u32 = 0xDAA3_20A7;
/// `MessageDecoder.MESSAGE_MAGIC_CODE_V2` (5.1+): records with a 2-byte topic length.
pub const MAGIC_CODE_V2: u32 = 0xDAA3_20AB;
/// The commit-log end-of-file filler; never a message, so the decoders report it as a bad magic.
pub const BLANK_MAGIC_CODE: u32 = 0xCBD4_3194;

/// A body must travel in one remoting frame to be pulled, and Java rejects frames over 16 MiB.
/// The broker's own `maxMessageSize` (4 MiB by default) is configuration, checked above this crate.
pub const BODY_BYTES_MAX: usize = FRAME_BYTES_MAX;
/// V1 reads the topic length as a signed byte.
pub const TOPIC_BYTES_MAX_V1: usize = i8::MAX as usize;
/// V2 reads the topic length as a signed short; the broker's 255-byte topic rule is policy.
pub const TOPIC_BYTES_MAX_V2: usize = i16::MAX as usize;
/// The largest record the fields can describe; TOTALSIZE beyond it is corrupt.
pub const RECORD_BYTES_MAX: usize =
    FIXED_BYTES_MAX + 4 + BODY_BYTES_MAX + 2 + TOPIC_BYTES_MAX_V2 + 2 + PROPERTIES_BYTES_MAX;
/// The smallest record: IPv4 hosts, empty body, V1 empty topic, no properties.
pub const RECORD_BYTES_MIN: usize = FIXED_BYTES_V4 + 4 + 1 + 2;

/// Fixed part before BODYLENGTH with two IPv4 hosts.
const FIXED_BYTES_V4: usize = 84;
/// Fixed part before BODYLENGTH with two IPv6 hosts (each adds 12 bytes).
const FIXED_BYTES_MAX: usize = FIXED_BYTES_V4 + 24;

/// QUEUEOFFSET's position in every record: the store patches it after encoding.
pub const QUEUE_OFFSET_POSITION: usize = 20;
/// PHYSICALOFFSET's position in every record: the store patches it under the append lock.
pub const PHYSICAL_OFFSET_POSITION: usize = 28;
/// SYSFLAG's position in every record.
pub const SYSFLAG_POSITION: usize = 36;

/// STORETIMESTAMP's position, which moves with the born host's width.
pub fn store_timestamp_position(sys_flag: i32) -> usize {
    48 + host_bytes(sysflag::is_born_host_v6(sys_flag))
}

/// `crc32(body) & 0x7FFFFFFF`, the BODYCRC value (`UtilAll.crc32`).
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// The record format, chosen by the magic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageVersion {
    #[default]
    V1,
    V2,
}

impl MessageVersion {
    pub fn from_magic(magic: u32) -> Option<MessageVersion> {
        match magic {
            MAGIC_CODE_V1 => Some(MessageVersion::V1),
            MAGIC_CODE_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }

    pub fn magic(self) -> u32 {
        match self {
            MessageVersion::V1 => MAGIC_CODE_V1,
            MessageVersion::V2 => MAGIC_CODE_V2,
        }
    }

    /// The store's rule (`autoMessageVersionOnTopicLen`): V2 only for topics over 127 bytes, so
    /// 4.x readers, which know only V1, can read everything else.
    pub fn for_topic_bytes(topic_bytes: usize) -> MessageVersion {
        if topic_bytes > TOPIC_BYTES_MAX_V1 {
            MessageVersion::V2
        } else {
            MessageVersion::V1
        }
    }

    fn topic_bytes_max(self) -> usize {
        match self {
            MessageVersion::V1 => TOPIC_BYTES_MAX_V1,
            MessageVersion::V2 => TOPIC_BYTES_MAX_V2,
        }
    }

    fn topic_length_bytes(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }
}

/// One decoded record; field names follow Java's `MessageExt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub version: MessageVersion,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    /// Bits 4 and 5 must agree with the host address families; see [`sysflag::with_host_flags`].
    pub sys_flag: i32,
    pub born_timestamp_ms: i64,
    pub born_host: SocketAddr,
    pub store_timestamp_ms: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// As stored: still compressed if `sys_flag` says so.
    pub body: Bytes,
    pub topic: String,
    pub properties: MessageProperties,
}

/// Where [`StoredMessage::encode`] put the record and its patchable fields. Positions are relative
/// to the record's first byte, so they stay valid after the record is copied elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    /// Index in the destination buffer of the record's first byte.
    pub start: usize,
    /// TOTALSIZE.
    pub len: usize,
    pub queue_offset_at: usize,
    pub physical_offset_at: usize,
    pub store_timestamp_at: usize,
}

impl RecordLayout {
    /// Overwrites QUEUEOFFSET in `record` (the record's own bytes).
    pub fn set_queue_offset(&self, record: &mut [u8], queue_offset: i64) -> WireResult<()> {
        put_i64_at(record, self.queue_offset_at, queue_offset)
    }

    /// Overwrites PHYSICALOFFSET in `record`.
    pub fn set_physical_offset(&self, record: &mut [u8], physical_offset: i64) -> WireResult<()> {
        put_i64_at(record, self.physical_offset_at, physical_offset)
    }

    /// Overwrites STORETIMESTAMP in `record`.
    pub fn set_store_timestamp(&self, record: &mut [u8], store_timestamp_ms: i64) -> WireResult<()> {
        put_i64_at(record, self.store_timestamp_at, store_timestamp_ms)
    }
}

/// What [`decode_all`] read before it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecords {
    pub messages: Vec<StoredMessage>,
    /// Bytes of the input the returned messages occupy.
    pub consumed: usize,
    /// Why decoding stopped before the end of the input; error offsets are relative to `consumed`.
    pub error: Option<WireError>,
}

/// Decodes records back to back until the input ends or one fails, as Java's client does with a
/// pull body (`MessageDecoder.decodes`): the messages before the failure are kept. An unknown magic
/// (the filler included) stops decoding; Java drops the rest silently, we also say why.
pub fn decode_all(src: &[u8]) -> DecodedRecords {
    let mut messages = Vec::new();
    let mut consumed = 0;
    while let Some(rest) = src.get(consumed..).filter(|rest| !rest.is_empty()) {
        match StoredMessage::decode(rest) {
            Ok((message, used)) => {
                messages.push(message);
                consumed += used;
            }
            Err(error) => {
                return DecodedRecords {
                    messages,
                    consumed,
                    error: Some(error),
                };
            }
        }
    }
    DecodedRecords {
        messages,
        consumed,
        error: None,
    }
}

impl StoredMessage {
    /// Decodes one record from the front of `src`; returns it and its TOTALSIZE.
    ///
    /// `Truncated` means `src` ends inside the record. A record whose fields disagree with its
    /// TOTALSIZE is `BadLength`, an unknown magic `BadMagic`.
    pub fn decode(src: &[u8]) -> WireResult<(StoredMessage, usize)> {
        let mut r = Reader::new(src);
        let declared = r.i32()?;
        let magic = r.u32()?;
        let version = MessageVersion::from_magic(magic).ok_or(WireError::BadMagic { magic, offset: 4 })?;
        if declared < RECORD_BYTES_MIN as i32 {
            return Err(bad_total(declared, RECORD_BYTES_MIN));
        }
        let rest_len = r.length("record", i64::from(declared) - 8, RECORD_BYTES_MAX - 8)?;
        let record = src.get(..8 + rest_len).ok_or(WireError::Truncated {
            offset: 0,
            need: 8 + rest_len,
            have: src.len(),
        })?;
        let mut fields = Reader::new(record);
        fields.bytes(8)?;
        // A field running past TOTALSIZE is a corrupt record, not a short read: more input would
        // not help, so report it as a bad length.
        let message = decode_fields(&mut fields, version).map_err(|e| match e {
            WireError::Truncated { .. } => bad_total(declared, record.len()),
            other => other,
        })?;
        if !fields.is_empty() {
            return Err(bad_total(declared, fields.position()));
        }
        Ok((message, record.len()))
    }

    /// Appends the record to `dst` and says where its patchable fields are. Writes nothing on error.
    ///
    /// Fails if a length is over its limit, the topic does not fit `version`, a host's family
    /// disagrees with its `sys_flag` bit, or the properties cannot be encoded.
    pub fn encode(&self, dst: &mut BytesMut) -> WireResult<RecordLayout> {
        // Checked here, written straight into `dst` below: no string of its own.
        let properties_len = self.properties.checked_encoded_len()?;
        let topic = self.topic.as_bytes();
        check_fits("topic", topic.len(), self.version.topic_bytes_max())?;
        check_fits("body", self.body.len(), BODY_BYTES_MAX)?;
        let born_v6 = host_is_v6("bornHost", &self.born_host, sysflag::is_born_host_v6(self.sys_flag))?;
        let store_v6 = host_is_v6("storeHost", &self.store_host, sysflag::is_store_host_v6(self.sys_flag))?;
        let fixed = FIXED_BYTES_V4 + host_bytes(born_v6) + host_bytes(store_v6) - 16;
        let len = fixed + 4 + self.body.len() + self.version.topic_length_bytes() + topic.len() + 2 + properties_len;

        let start = dst.len();
        dst.reserve(len);
        dst.put_i32(len as i32);
        dst.put_u32(self.version.magic());
        dst.put_i32(self.body_crc);
        dst.put_i32(self.queue_id);
        dst.put_i32(self.flag);
        dst.put_i64(self.queue_offset);
        dst.put_i64(self.physical_offset);
        dst.put_i32(self.sys_flag);
        dst.put_i64(self.born_timestamp_ms);
        put_host(dst, &self.born_host);
        dst.put_i64(self.store_timestamp_ms);
        put_host(dst, &self.store_host);
        dst.put_i32(self.reconsume_times);
        dst.put_i64(self.prepared_transaction_offset);
        dst.put_i32(self.body.len() as i32);
        dst.put_slice(&self.body);
        match self.version {
            MessageVersion::V1 => dst.put_u8(topic.len() as u8),
            MessageVersion::V2 => dst.put_i16(topic.len() as i16),
        }
        dst.put_slice(topic);
        dst.put_i16(properties_len as i16);
        self.properties.put_encoded(dst);
        debug_assert_eq!(dst.len() - start, len);
        Ok(RecordLayout {
            start,
            len,
            queue_offset_at: QUEUE_OFFSET_POSITION,
            physical_offset_at: PHYSICAL_OFFSET_POSITION,
            store_timestamp_at: store_timestamp_position(self.sys_flag),
        })
    }

    /// Whether BODYCRC matches the body (Java checks only on recovery, or when asked).
    pub fn body_crc_matches(&self) -> bool {
        body_crc(&self.body) == self.body_crc
    }

    /// The offset message id the client derives from STOREHOST and PHYSICALOFFSET.
    pub fn offset_message_id(&self) -> String {
        OffsetMessageId {
            store_host: self.store_host,
            physical_offset: self.physical_offset,
        }
        .to_string()
    }

    pub fn transaction_type(&self) -> sysflag::TransactionType {
        sysflag::TransactionType::from_sys_flag(self.sys_flag)
    }
}

/// Reads everything after MAGICCODE from a reader holding exactly one record.
fn decode_fields(r: &mut Reader<'_>, version: MessageVersion) -> WireResult<StoredMessage> {
    let body_crc = r.i32()?;
    let queue_id = r.i32()?;
    let flag = r.i32()?;
    let queue_offset = r.i64()?;
    let physical_offset = r.i64()?;
    let sys_flag = r.i32()?;
    let born_timestamp_ms = r.i64()?;
    let born_host = read_host(r, "bornHost", sysflag::is_born_host_v6(sys_flag))?;
    let store_timestamp_ms = r.i64()?;
    let store_host = read_host(r, "storeHost", sysflag::is_store_host_v6(sys_flag))?;
    let reconsume_times = r.i32()?;
    let prepared_transaction_offset = r.i64()?;
    let body_declared = r.i32()?;
    let body_len = r.length("body", body_declared.into(), BODY_BYTES_MAX)?;
    let body = Bytes::copy_from_slice(r.bytes(body_len)?);
    let topic_declared = match version {
        MessageVersion::V1 => i64::from(r.u8()? as i8),
        MessageVersion::V2 => i64::from(r.i16()?),
    };
    let topic_len = r.length("topic", topic_declared, version.topic_bytes_max())?;
    let topic = r.utf8("topic", topic_len)?.to_owned();
    let properties_declared = r.i16()?;
    let properties_len = r.length("properties", properties_declared.into(), PROPERTIES_BYTES_MAX)?;
    let properties_at = r.position();
    let properties = MessageProperties::decode(r.bytes(properties_len)?).map_err(|e| match e {
        WireError::BadUtf8 { what, offset } => WireError::BadUtf8 {
            what,
            offset: properties_at + offset,
        },
        other => other,
    })?;
    Ok(StoredMessage {
        version,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp_ms,
        born_host,
        store_timestamp_ms,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

/// Address and port width of a host field.
fn host_bytes(v6: bool) -> usize {
    if v6 { 20 } else { 8 }
}

fn read_host(r: &mut Reader<'_>, field: &'static str, v6: bool) -> WireResult<SocketAddr> {
    let ip: SocketAddr = if v6 {
        SocketAddrV6::new(Ipv6Addr::from(r.array::<16>()?), 0, 0, 0).into()
    } else {
        SocketAddrV4::new(Ipv4Addr::from(r.array::<4>()?), 0).into()
    };
    let port = r.i32()?;
    // Java's InetSocketAddress rejects ports outside 0..=65535, failing the whole decode.
    let port = u16::try_from(port).map_err(|_| WireError::BadField {
        field,
        value: format!("port {port}"),
    })?;
    let mut host = ip;
    host.set_port(port);
    Ok(host)
}

fn put_host(dst: &mut BytesMut, host: &SocketAddr) {
    match host {
        SocketAddr::V4(v4) => dst.put_slice(&v4.ip().octets()),
        SocketAddr::V6(v6) => dst.put_slice(&v6.ip().octets()),
    }
    dst.put_i32(i32::from(host.port()));
}

/// Whether `host` is written as IPv6, checking it agrees with its sysFlag bit.
fn host_is_v6(what: &'static str, host: &SocketAddr, flag_says_v6: bool) -> WireResult<bool> {
    if host.is_ipv6() != flag_says_v6 {
        return Err(WireError::Unencodable {
            what,
            reason: format!("{host} disagrees with sysFlag IPv6 bit {flag_says_v6}"),
        });
    }
    Ok(flag_says_v6)
}

fn check_fits(what: &'static str, len: usize, limit: usize) -> WireResult<()> {
    if len > limit {
        return Err(WireError::Unencodable {
            what,
            reason: format!("{len} bytes, limit {limit}"),
        });
    }
    Ok(())
}

fn bad_total(declared: i32, actual: usize) -> WireError {
    WireError::BadLength {
        what: "record TOTALSIZE",
        offset: 0,
        length: declared.into(),
        limit: actual as i64,
    }
}

fn put_i64_at(record: &mut [u8], at: usize, value: i64) -> WireResult<()> {
    let have = record.len();
    let field = record.get_mut(at..at + 8).ok_or(WireError::Truncated {
        offset: at,
        need: 8,
        have,
    })?;
    field.copy_from_slice(&value.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(version: MessageVersion, v6: bool) -> StoredMessage {
        let (born_host, store_host): (SocketAddr, SocketAddr) = if v6 {
            ("[2001:db8::1]:50000".parse().unwrap(), "[::1]:10911".parse().unwrap())
        } else {
            ("10.0.0.5:50000".parse().unwrap(), "192.168.1.10:10911".parse().unwrap())
        };
        let body = Bytes::from_static(b"hello");
        let topic = match version {
            MessageVersion::V1 => "TopicTest".to_owned(),
            MessageVersion::V2 => "%RETRY%".to_owned() + &"g".repeat(150),
        };
        StoredMessage {
            version,
            body_crc: body_crc(&body),
            queue_id: 3,
            flag: 7,
            queue_offset: 42,
            physical_offset: 0x1234,
            sys_flag: sysflag::with_host_flags(sysflag::TRANSACTION_COMMIT_TYPE, &born_host, &store_host),
            born_timestamp_ms: 1_700_000_000_000,
            born_host,
            store_timestamp_ms: 1_700_000_000_123,
            store_host,
            reconsume_times: 1,
            prepared_transaction_offset: 99,
            body,
            topic,
            properties: [("UNIQ_KEY", "AB12"), ("TAGS", "TagA"), ("WAIT", "true")]
                .into_iter()
                .collect(),
        }
    }

    fn encoded(message: &StoredMessage) -> Vec<u8> {
        let mut buf = BytesMut::new();
        message.encode(&mut buf).unwrap();
        buf.to_vec()
    }

    fn all_samples() -> Vec<StoredMessage> {
        let mut samples = Vec::new();
        for version in [MessageVersion::V1, MessageVersion::V2] {
            for v6 in [false, true] {
                samples.push(sample(version, v6));
            }
        }
        let mut empty = sample(MessageVersion::V1, false);
        empty.body = Bytes::new();
        empty.body_crc = 0;
        empty.topic = String::new();
        empty.properties = MessageProperties::new();
        samples.push(empty);
        samples
    }

    #[test]
    fn round_trips_all_layouts() {
        for message in all_samples() {
            let bytes = encoded(&message);
            let (decoded, used) = StoredMessage::decode(&bytes).unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(decoded, message);
            assert!(decoded.body_crc_matches());
        }
    }

    #[test]
    fn exact_bytes_ipv4_v1() {
        let message = sample(MessageVersion::V1, false);
        let bytes = encoded(&message);
        let props = b"UNIQ_KEY\x01AB12\x02TAGS\x01TagA\x02WAIT\x01true\x02";
        let mut expected = Vec::new();
        expected.extend_from_slice(&((84 + 4 + 5 + 1 + 9 + 2 + props.len()) as i32).to_be_bytes());
        expected.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xA7]);
        expected.extend_from_slice(&body_crc(b"hello").to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 7]);
        expected.extend_from_slice(&42i64.to_be_bytes());
        expected.extend_from_slice(&0x1234i64.to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        expected.extend_from_slice(&[10, 0, 0, 5, 0, 0, 0xC3, 0x50]);
        expected.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
        expected.extend_from_slice(&[192, 168, 1, 10, 0, 0, 0x2A, 0x9F]);
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&99i64.to_be_bytes());
        expected.extend_from_slice(&5i32.to_be_bytes());
        expected.extend_from_slice(b"hello");
        expected.push(9);
        expected.extend_from_slice(b"TopicTest");
        expected.extend_from_slice(&(props.len() as i16).to_be_bytes());
        expected.extend_from_slice(props);
        assert_eq!(bytes, expected);
        // CRC-32 of "hello" is 0x3610A686, already positive.
        assert_eq!(body_crc(b"hello"), 0x3610_A686);
        assert_eq!(message.offset_message_id(), "C0A8010A00002A9F0000000000001234");
    }

    #[test]
    fn layout_positions_patch_the_right_fields() {
        for (v6, timestamp_at) in [(false, 56), (true, 68)] {
            let message = sample(MessageVersion::V1, v6);
            let mut buf = BytesMut::from(&b"xyz"[..]);
            let layout = message.encode(&mut buf).unwrap();
            assert_eq!((layout.start, layout.store_timestamp_at), (3, timestamp_at));
            let record = &mut buf[layout.start..];
            layout.set_queue_offset(record, 7).unwrap();
            layout.set_physical_offset(record, 8).unwrap();
            layout.set_store_timestamp(record, 9).unwrap();
            let (decoded, _) = StoredMessage::decode(record).unwrap();
            assert_eq!(
                (
                    decoded.queue_offset,
                    decoded.physical_offset,
                    decoded.store_timestamp_ms
                ),
                (7, 8, 9)
            );
            assert!(layout.set_store_timestamp(&mut [0; 10], 1).is_err());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for message in all_samples() {
            let bytes = encoded(&message);
            for cut in 0..bytes.len() {
                assert!(
                    matches!(StoredMessage::decode(&bytes[..cut]), Err(WireError::Truncated { .. })),
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn inconsistent_total_size_is_rejected() {
        let bytes = encoded(&sample(MessageVersion::V1, false));
        for delta in [-1i32, 1] {
            let mut changed = bytes.clone();
            let total = i32::from_be_bytes(changed[..4].try_into().unwrap()) + delta;
            changed[..4].copy_from_slice(&total.to_be_bytes());
            changed.push(0);
            assert!(
                matches!(StoredMessage::decode(&changed), Err(WireError::BadLength { .. })),
                "delta {delta}"
            );
        }
        let mut hostile = bytes.clone();
        hostile[..4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            StoredMessage::decode(&hostile),
            Err(WireError::BadLength { .. })
        ));
        hostile[..4].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            StoredMessage::decode(&hostile),
            Err(WireError::BadLength { .. })
        ));
    }

    #[test]
    fn bad_port_and_negative_topic_length_are_rejected() {
        let bytes = encoded(&sample(MessageVersion::V1, false));
        let mut bad_port = bytes.clone();
        bad_port[52..56].copy_from_slice(&70000i32.to_be_bytes());
        assert!(matches!(
            StoredMessage::decode(&bad_port),
            Err(WireError::BadField { .. })
        ));
        let mut negative_topic = bytes.clone();
        negative_topic[84 + 4 + 5] = 0x80;
        assert!(StoredMessage::decode(&negative_topic).is_err());
    }

    #[test]
    fn encode_checks_flags_and_limits() {
        let mut message = sample(MessageVersion::V1, false);
        message.sys_flag |= sysflag::BORNHOST_V6;
        assert!(message.encode(&mut BytesMut::new()).is_err());
        let mut message = sample(MessageVersion::V2, false);
        message.version = MessageVersion::V1;
        let mut buf = BytesMut::new();
        assert!(message.encode(&mut buf).is_err());
        assert!(buf.is_empty());
        assert_eq!(MessageVersion::for_topic_bytes(127), MessageVersion::V1);
        assert_eq!(MessageVersion::for_topic_bytes(128), MessageVersion::V2);
    }

    #[test]
    fn decode_all_stops_at_filler_and_keeps_earlier_messages() {
        let first = sample(MessageVersion::V1, false);
        let second = sample(MessageVersion::V2, true);
        let mut buf = BytesMut::new();
        first.encode(&mut buf).unwrap();
        second.encode(&mut buf).unwrap();
        let whole = decode_all(&buf);
        assert_eq!(whole.messages, vec![first.clone(), second]);
        assert_eq!((whole.consumed, whole.error), (buf.len(), None));

        let first_len = encoded(&first).len();
        buf.put_i32(64);
        buf.put_u32(BLANK_MAGIC_CODE);
        let stopped = decode_all(&buf);
        assert_eq!(stopped.messages.len(), 2);
        assert_eq!(
            stopped.error,
            Some(WireError::BadMagic {
                magic: BLANK_MAGIC_CODE,
                offset: 4
            })
        );
        let cut = decode_all(&buf[..first_len + 10]);
        assert_eq!((cut.messages, cut.consumed), (vec![first], first_len));
        assert!(matches!(cut.error, Some(WireError::Truncated { .. })));
        assert_eq!(decode_all(&[]).messages, vec![]);
    }
}
