//! The ROCKETMQ binary header (serialize type 1), `RocketMQSerializable.java`.
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32
//! remark: len i32 + utf8           (len 0 = null)
//! ext:    len i32, then repeated { key: len i16 + utf8, value: len i32 + utf8 }
//! ```
//! A zero-length string decodes as null, as in Java; a null value re-encodes as length 0 so a
//! decoded header writes back to the same bytes.

use bytes::{BufMut, BytesMut};

use crate::codes::LanguageCode;
use crate::command::{RemotingCommand, SerializeType};
use crate::error::{WireError, WireResult};
use crate::ext_fields::ExtFields;
use crate::reader::Reader;

/// Appends the header to `out`, the frame's own buffer. Callers check `code` and `version` fit
/// in 16 bits first (`effective_serialize_type`).
pub fn encode(command: &RemotingCommand, out: &mut BytesMut) {
    out.put_i16(command.code as i16);
    out.put_u8(command.language.0);
    out.put_i16(command.version as i16);
    out.put_i32(command.opaque);
    out.put_i32(command.flag);
    put_string_i32(out, command.remark.as_deref());
    let ext_len_at = out.len();
    out.put_i32(0);
    if let Some(fields) = &command.ext_fields {
        for (key, value) in fields.entries() {
            out.put_i16(key.len() as i16);
            out.put_slice(key.as_bytes());
            put_string_i32(out, value);
        }
    }
    // The extFields length, known once they are written, goes into the room left for it.
    let ext_len = (out.len() - ext_len_at - 4) as i32;
    if let Some(slot) = out.get_mut(ext_len_at..ext_len_at + 4) {
        slot.copy_from_slice(&ext_len.to_be_bytes());
    }
}

/// Decodes a header of exactly `header.len()` bytes; trailing bytes are an error.
pub fn decode(header: &[u8]) -> WireResult<RemotingCommand> {
    let limit = header.len();
    let mut r = Reader::new(header);
    let code = r.i16()? as i32;
    let language = LanguageCode(r.u8()?);
    let version = r.i16()? as i32;
    let opaque = r.i32()?;
    let flag = r.i32()?;
    let remark = read_string_i32(&mut r, "remark", limit)?;
    let ext_len_declared = r.i32()? as i64;
    let ext_len = r.length("extFields", ext_len_declared, limit)?;
    let ext_fields = if ext_len == 0 {
        None
    } else {
        Some(decode_ext(r.bytes(ext_len)?)?)
    };
    if !r.is_empty() {
        return Err(WireError::BadLength {
            what: "binary header trailer",
            offset: r.position(),
            length: r.remaining() as i64,
            limit: 0,
        });
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: None,
        serialize_type: SerializeType::RocketMq,
    })
}

fn decode_ext(bytes: &[u8]) -> WireResult<ExtFields> {
    let limit = bytes.len();
    let mut r = Reader::new(bytes);
    // Keys and values are at most the bytes they are read from, so one text buffer of that size.
    let mut fields = ExtFields::with_capacity(limit, 16);
    while !r.is_empty() {
        let key_len_declared = r.i16()? as i64;
        let key_len = r.length("ext key", key_len_declared, limit)?;
        let key = r.utf8("ext key", key_len)?;
        let value = read_str_i32(&mut r, "ext value", limit)?;
        fields.push_raw(key, value);
    }
    Ok(fields)
}

fn read_string_i32(r: &mut Reader<'_>, what: &'static str, limit: usize) -> WireResult<Option<String>> {
    Ok(read_str_i32(r, what, limit)?.map(str::to_owned))
}

fn read_str_i32<'a>(r: &mut Reader<'a>, what: &'static str, limit: usize) -> WireResult<Option<&'a str>> {
    let declared = r.i32()? as i64;
    let len = r.length(what, declared, limit)?;
    if len == 0 {
        return Ok(None);
    }
    Ok(Some(r.utf8(what, len)?))
}

fn put_string_i32(out: &mut BytesMut, value: Option<&str>) {
    let bytes = value.map_or(&[][..], str::as_bytes);
    out.put_i32(bytes.len() as i32);
    out.put_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_length_strings_decode_as_null_and_duplicates_keep_the_last() {
        let mut out = BytesMut::new();
        out.put_i16(10);
        out.put_u8(12);
        out.put_i16(475);
        out.put_i32(3);
        out.put_i32(0);
        out.put_i32(0);
        let mut ext = BytesMut::new();
        for (k, v) in [("a", "1"), ("b", ""), ("a", "2")] {
            ext.put_i16(k.len() as i16);
            ext.put_slice(k.as_bytes());
            ext.put_i32(v.len() as i32);
            ext.put_slice(v.as_bytes());
        }
        out.put_i32(ext.len() as i32);
        out.put_slice(&ext);
        let command = decode(&out).unwrap();
        assert_eq!(command.remark, None);
        assert_eq!(command.language, LanguageCode::RUST);
        assert_eq!(command.ext("a"), Some("2"));
        assert_eq!(command.ext("b"), None);
        let mut again = BytesMut::new();
        encode(&command, &mut again);
        assert_eq!(again, out);
    }

    #[test]
    fn string_longer_than_header_is_rejected() {
        let mut out = BytesMut::new();
        out.put_slice(&[0; 13]);
        out.put_i32(1_000_000);
        assert!(decode(&out).is_err());
    }
}
