//! The remoting command and its frame: the unit every RocketMQ peer sends.
//!
//! ```text
//! +--------------+--------------------------+----------------+------------+
//! | total length | serialize type | hdr len | header         | body       |
//! | i32          | u8             | u24     | hdr len bytes  | the rest   |
//! +--------------+--------------------------+----------------+------------+
//! ```
//! `total length` counts everything after itself. A whole frame, prefix included, is at most
//! [`FRAME_BYTES_MAX`]. The header is JSON (type 0) or the ROCKETMQ binary layout (type 1); both
//! decode on every frame, and each command is written in its own `serialize_type`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codes::{LanguageCode, RequestCode, ResponseCode, version};
use crate::error::{WireError, WireResult};
use crate::ext_fields::ExtFields;
use crate::reader::Reader;
use crate::{header_binary, header_json};

/// Java's `NettyDecoder` rejects frames over 16 MiB, prefix included; so do we, both ways.
pub const FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The largest `total length` value: the frame limit less the 4-byte prefix itself.
pub const FRAME_LENGTH_FIELD_MAX: usize = FRAME_BYTES_MAX - 4;
/// The header length is a 24-bit field.
const HEADER_BYTES_MAX: usize = 0x00FF_FFFF;
/// Room set aside for a header before it is written: a send's response fits.
const HEADER_BYTES_GUESS: usize = 256;

/// `flag` bit 0: this command is a response.
pub const FLAG_RESPONSE: i32 = 0b01;
/// `flag` bit 1: a oneway request, which must never be answered.
pub const FLAG_ONEWAY: i32 = 0b10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    pub fn from_code(code: u8) -> WireResult<SerializeType> {
        match code {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(WireError::UnknownSerializeType(other)),
        }
    }

    /// The name Java writes in `serializeTypeCurrentRPC`.
    pub fn java_name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// One request or response, decoded. Field names follow Java's `RemotingCommand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: Option<ExtFields>,
    pub body: Option<Bytes>,
    /// How this command's header is (or will be) written.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request with no header fields yet. Opaque is the caller's: the transport assigns it.
    pub fn request(code: RequestCode) -> RemotingCommand {
        RemotingCommand {
            code: code.0,
            language: LanguageCode::JAVA,
            version: version::CURRENT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: None,
            body: None,
            serialize_type: SerializeType::Json,
        }
    }

    /// A response to `request`: same opaque, response flag set, oneway bit dropped (as Java does).
    pub fn response_to(request: &RemotingCommand, code: ResponseCode, remark: Option<String>) -> RemotingCommand {
        RemotingCommand {
            code: code.0,
            language: LanguageCode::JAVA,
            version: version::CURRENT,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ext_fields: None,
            body: None,
            serialize_type: request.serialize_type,
        }
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }

    /// A header field, treating an absent map and an absent key alike.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|fields| fields.get(key))
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> RemotingCommand {
        self.body = Some(body.into());
        self
    }

    pub fn with_ext_fields(mut self, fields: ExtFields) -> RemotingCommand {
        self.ext_fields = Some(fields);
        self
    }

    /// Writes the whole frame, length prefix included.
    ///
    /// The binary header carries `code` and `version` as 16-bit values; a command whose values do
    /// not fit (the POP family, 200050+) is written as JSON instead, which every peer decodes.
    /// Fails, writing nothing, if the frame would exceed [`FRAME_BYTES_MAX`].
    pub fn encode(&self, dst: &mut BytesMut) -> WireResult<()> {
        let serialize_type = self.effective_serialize_type();
        let body_len = self.body.as_ref().map_or(0, Bytes::len);
        let start = dst.len();
        // The header is written in place after room for the two length words, which are filled
        // in once its length is known: no header buffer of its own, no copy.
        dst.reserve(8 + HEADER_BYTES_GUESS + body_len);
        dst.put_u64(0);
        match serialize_type {
            SerializeType::Json => header_json::encode(self, dst),
            SerializeType::RocketMq => header_binary::encode(self, dst),
        }
        let header_len = dst.len() - start - 8;
        let frame_len = 8 + header_len + body_len;
        if header_len > HEADER_BYTES_MAX || frame_len > FRAME_BYTES_MAX {
            dst.truncate(start);
            return Err(WireError::BadLength {
                what: "frame",
                offset: 0,
                length: frame_len as i64,
                limit: FRAME_BYTES_MAX as i64,
            });
        }
        let length_word = (frame_len - 4) as u64;
        let type_and_header_word = ((serialize_type.code() as u64) << 24) | header_len as u64;
        if let Some(slot) = dst.get_mut(start..start + 8) {
            slot.copy_from_slice(&((length_word << 32) | type_and_header_word).to_be_bytes());
        }
        if let Some(body) = &self.body {
            dst.put_slice(body);
        }
        Ok(())
    }

    /// The serialize type actually used by [`RemotingCommand::encode`].
    pub fn effective_serialize_type(&self) -> SerializeType {
        let fits_short = |v: i32| i16::try_from(v).is_ok();
        match self.serialize_type {
            SerializeType::RocketMq if fits_short(self.code) && fits_short(self.version) => SerializeType::RocketMq,
            _ => SerializeType::Json,
        }
    }

    /// Decodes one whole frame from the front of `src`; returns it and the bytes consumed.
    /// `Truncated` means the frame is not complete yet.
    pub fn decode(src: &[u8]) -> WireResult<(RemotingCommand, usize)> {
        let mut reader = Reader::new(src);
        let prefix = reader.array::<4>()?;
        let content_len = frame_content_length(prefix)?;
        let content = reader.bytes(content_len)?;
        let command = RemotingCommand::decode_content(Bytes::copy_from_slice(content))?;
        Ok((command, 4 + content_len))
    }

    /// Decodes the bytes after the length prefix. The body is a zero-copy slice of `content`.
    pub fn decode_content(content: Bytes) -> WireResult<RemotingCommand> {
        let mut reader = Reader::new(&content);
        let word = reader.u32()?;
        let serialize_type = SerializeType::from_code((word >> 24) as u8)?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > reader.remaining() {
            return Err(WireError::BadLength {
                what: "header",
                offset: 4,
                length: header_len as i64,
                limit: reader.remaining() as i64,
            });
        }
        let header = reader.bytes(header_len)?;
        let mut command = match serialize_type {
            SerializeType::Json => header_json::decode(header)?,
            SerializeType::RocketMq => header_binary::decode(header)?,
        };
        command.serialize_type = serialize_type;
        let body_start = 4 + header_len;
        if body_start < content.len() {
            command.body = Some(content.slice(body_start..));
        }
        Ok(command)
    }
}

/// Checks a frame's 4-byte length prefix and returns how many bytes follow it.
/// The transport calls this before buffering a frame, so a hostile length costs nothing.
pub fn frame_content_length(prefix: [u8; 4]) -> WireResult<usize> {
    let declared = i32::from_be_bytes(prefix);
    if declared < 4 || declared as usize > FRAME_LENGTH_FIELD_MAX {
        return Err(WireError::BadLength {
            what: "frame",
            offset: 0,
            length: declared as i64,
            limit: FRAME_LENGTH_FIELD_MAX as i64,
        });
    }
    Ok(declared as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_request(serialize_type: SerializeType) -> RemotingCommand {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        let mut command = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext_fields(fields);
        command.opaque = 1;
        // remoting.md's worked examples carry version 475.
        command.version = 475;
        command.serialize_type = serialize_type;
        command
    }

    fn encoded(command: &RemotingCommand) -> Vec<u8> {
        let mut buf = BytesMut::new();
        command.encode(&mut buf).unwrap_or_else(|e| panic!("encode: {e}"));
        buf.to_vec()
    }

    #[test]
    fn binary_worked_example_from_remoting_md() {
        let expected: &[u8] = &[
            0x00, 0x00, 0x00, 0x25, 0x01, 0x00, 0x00, 0x21, 0x00, 0x69, 0x00, 0x01, 0xDB, 0x00, 0x00, 0x00, 0x01, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x05, b't', b'o', b'p', b'i', b'c',
            0x00, 0x00, 0x00, 0x01, b'T',
        ];
        let command = route_request(SerializeType::RocketMq);
        assert_eq!(encoded(&command), expected);
        let (decoded, used) = RemotingCommand::decode(expected).unwrap_or_else(|e| panic!("decode: {e}"));
        assert_eq!(used, expected.len());
        assert_eq!(decoded, command);
    }

    #[test]
    fn json_worked_example_from_remoting_md() {
        let command = route_request(SerializeType::Json);
        let bytes = encoded(&command);
        let json = br#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":475}"#;
        assert_eq!(&bytes[..8], &[0, 0, 0, 0x7F, 0, 0, 0, 0x7B]);
        assert_eq!(&bytes[8..], json);
        let (decoded, _) = RemotingCommand::decode(&bytes).unwrap_or_else(|e| panic!("decode: {e}"));
        assert_eq!(decoded, command);
    }

    #[test]
    fn round_trips_body_and_flags_in_both_encodings() {
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let request = route_request(serialize_type);
            let mut response =
                RemotingCommand::response_to(&request, ResponseCode::TOPIC_NOT_EXIST, Some("no\nroute é".into()))
                    .with_body(Bytes::from_static(b"{\"x\":1}"));
            response.opaque = -7;
            let (decoded, _) = RemotingCommand::decode(&encoded(&response)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(decoded, response);
            assert!(decoded.is_response());
        }
    }

    #[test]
    fn codes_beyond_a_short_fall_back_to_json() {
        let mut command = RemotingCommand::request(RequestCode::POP_MESSAGE);
        command.serialize_type = SerializeType::RocketMq;
        assert_eq!(command.effective_serialize_type(), SerializeType::Json);
        let (decoded, _) = RemotingCommand::decode(&encoded(&command)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded.code, 200050);
    }

    #[test]
    fn every_truncation_is_an_error() {
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let bytes = encoded(&route_request(serialize_type).with_body(Bytes::from_static(b"body")));
            for cut in 0..bytes.len() {
                assert!(RemotingCommand::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn hostile_lengths_are_rejected_before_reading() {
        assert!(frame_content_length([0x7F, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(frame_content_length([0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(frame_content_length([0, 0, 0, 3]).is_err());
        assert_eq!(
            frame_content_length([0x00, 0xFF, 0xFF, 0xFC]),
            Ok(FRAME_LENGTH_FIELD_MAX)
        );
        // Header length beyond the frame.
        let frame = [0, 0, 0, 8, 0, 0, 0, 9, b'{', b'}', 0, 0];
        assert!(matches!(
            RemotingCommand::decode(&frame),
            Err(WireError::BadLength { what: "header", .. })
        ));
        // Unknown serialize type.
        let frame = [0, 0, 0, 6, 7, 0, 0, 2, b'{', b'}'];
        assert_eq!(
            RemotingCommand::decode(&frame).map(|_| ()),
            Err(WireError::UnknownSerializeType(7))
        );
    }
}
