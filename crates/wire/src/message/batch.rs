//! The SEND_BATCH_MESSAGE body (`MessageDecoder.encodeMessages` / `decodeMessages`): the members
//! of a batch, back to back. Topic, queue, hosts and times come from the request header.
//!
//! ```text
//! per member:
//! TOTALSIZE i32 | MAGICCODE i32 (0) | BODYCRC i32 (0) | FLAG i32
//! | BODYLENGTH i32 + BODY | PROPERTIESLENGTH i16 + PROPERTIES
//! ```
//! TOTALSIZE = 22 + body + properties. Java's broker ignores TOTALSIZE, MAGICCODE and BODYCRC; we
//! ignore the latter two but reject a member whose TOTALSIZE disagrees with its fields, since a
//! client that gets it wrong has framed the rest of the body wrongly too. Bodies are never
//! compressed in a batch.

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::FRAME_BYTES_MAX;
use crate::error::{WireError, WireResult};
use crate::message::properties::{MessageProperties, PROPERTIES_BYTES_MAX};
use crate::message::record::BODY_BYTES_MAX;
use crate::reader::Reader;

/// A member's bytes besides its body and properties.
pub const MEMBER_OVERHEAD_BYTES: usize = 22;
/// The batch is one request body, so it fits in one frame.
pub const BATCH_BYTES_MAX: usize = FRAME_BYTES_MAX;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMember {
    pub flag: i32,
    pub body: Bytes,
    /// The member's own properties: its UNIQ_KEY, TAGS, KEYS, WAIT, ...
    pub properties: MessageProperties,
}

/// Appends the batch body to `dst`. Writes nothing on error.
///
/// Fails on an empty batch (Java's client refuses to build one), a member over its limits or
/// with unencodable properties, or a whole body over [`BATCH_BYTES_MAX`].
pub fn encode_batch(members: &[BatchMember], dst: &mut BytesMut) -> WireResult<()> {
    if members.is_empty() {
        return Err(WireError::Unencodable {
            what: "batch",
            reason: "no members".to_owned(),
        });
    }
    let mut out = BytesMut::new();
    for member in members {
        if member.body.len() > BODY_BYTES_MAX {
            return Err(WireError::Unencodable {
                what: "batch member body",
                reason: format!("{} bytes, limit {BODY_BYTES_MAX}", member.body.len()),
            });
        }
        let properties = member.properties.encode()?;
        let total = MEMBER_OVERHEAD_BYTES + member.body.len() + properties.len();
        if out.len() + total > BATCH_BYTES_MAX {
            return Err(WireError::Unencodable {
                what: "batch",
                reason: format!("over {BATCH_BYTES_MAX} bytes"),
            });
        }
        out.reserve(total);
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(member.flag);
        out.put_i32(member.body.len() as i32);
        out.put_slice(&member.body);
        out.put_i16(properties.len() as i16);
        out.put_slice(properties.as_bytes());
    }
    dst.put_slice(&out);
    Ok(())
}

/// Decodes a whole batch body; every byte must belong to a member.
pub fn decode_batch(src: &[u8]) -> WireResult<Vec<BatchMember>> {
    decode_batch_shared(&Bytes::copy_from_slice(src))
}

/// [`decode_batch`] of a body already in a shared buffer (a request's): the members' bodies are
/// slices of it, not copies.
pub fn decode_batch_shared(src: &Bytes) -> WireResult<Vec<BatchMember>> {
    if src.is_empty() || src.len() > BATCH_BYTES_MAX {
        return Err(WireError::BadLength {
            what: "batch body",
            offset: 0,
            length: src.len() as i64,
            limit: BATCH_BYTES_MAX as i64,
        });
    }
    let mut members = Vec::new();
    let mut r = Reader::new(src);
    while !r.is_empty() {
        let start = r.position();
        let declared = r.i32()?;
        if declared < MEMBER_OVERHEAD_BYTES as i32 {
            return Err(bad_member_total(start, declared));
        }
        let rest = r.length("batch member", i64::from(declared) - 4, BATCH_BYTES_MAX)?;
        let member_bytes = r.bytes(rest)?;
        members.push(decode_member(src, member_bytes).map_err(|e| match e {
            // The member's own bytes are all there; a field past them means TOTALSIZE is wrong.
            WireError::Truncated { .. } => bad_member_total(start, declared),
            other => other,
        })?);
    }
    Ok(members)
}

/// Decodes the bytes after TOTALSIZE, which must be exactly the member's fields; `bytes` is a
/// part of `whole`, of which the body becomes a slice.
fn decode_member(whole: &Bytes, bytes: &[u8]) -> WireResult<BatchMember> {
    let mut r = Reader::new(bytes);
    r.i32()?; // MAGICCODE, written 0 and ignored.
    r.i32()?; // BODYCRC, written 0; the broker computes it.
    let flag = r.i32()?;
    let body_declared = r.i32()?;
    let body_len = r.length("batch member body", body_declared.into(), BODY_BYTES_MAX)?;
    // `bytes` was cut from `whole`, so the body is inside it (`slice_ref`'s one condition).
    let body = whole.slice_ref(r.bytes(body_len)?);
    let properties_declared = r.i16()?;
    let properties_len = r.length(
        "batch member properties",
        properties_declared.into(),
        PROPERTIES_BYTES_MAX,
    )?;
    let properties = MessageProperties::decode(r.bytes(properties_len)?)?;
    if !r.is_empty() {
        // Bytes left over also mean TOTALSIZE is wrong; the caller reports it as such.
        return Err(WireError::Truncated {
            offset: r.position(),
            need: 0,
            have: r.remaining(),
        });
    }
    Ok(BatchMember { flag, body, properties })
}

fn bad_member_total(offset: usize, declared: i32) -> WireError {
    WireError::BadLength {
        what: "batch member TOTALSIZE",
        offset,
        length: declared.into(),
        limit: BATCH_BYTES_MAX as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<BatchMember> {
        vec![
            BatchMember {
                flag: 0,
                body: Bytes::from_static(b"one"),
                properties: [("UNIQ_KEY", "A1"), ("WAIT", "true")].into_iter().collect(),
            },
            BatchMember {
                flag: 5,
                body: Bytes::new(),
                properties: MessageProperties::new(),
            },
        ]
    }

    fn encoded(members: &[BatchMember]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_batch(members, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn round_trip() {
        let bytes = encoded(&members());
        assert_eq!(decode_batch(&bytes).unwrap(), members());
    }

    #[test]
    fn exact_bytes() {
        let bytes = encoded(&members());
        let props = b"UNIQ_KEY\x01A1\x02WAIT\x01true\x02";
        let mut expected = Vec::new();
        expected.extend_from_slice(&((22 + 3 + props.len()) as i32).to_be_bytes());
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&0i32.to_be_bytes());
        expected.extend_from_slice(&3i32.to_be_bytes());
        expected.extend_from_slice(b"one");
        expected.extend_from_slice(&(props.len() as i16).to_be_bytes());
        expected.extend_from_slice(props);
        expected.extend_from_slice(&[0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let all = members();
        let bytes = encoded(&all);
        let first_len = encoded(&all[..1]).len();
        for cut in 0..bytes.len() {
            match decode_batch(&bytes[..cut]) {
                // A cut between members leaves a shorter valid batch: undetectable, as in Java.
                Ok(decoded) => assert_eq!((cut, decoded.as_slice()), (first_len, &all[..1])),
                Err(_) => assert_ne!(cut, first_len),
            }
        }
    }

    #[test]
    fn inconsistent_sizes_are_rejected() {
        let bytes = encoded(&members());
        for (at, value) in [(3usize, 0x15u8), (3, 0x50), (19, 0x7F), (19, 0x00)] {
            let mut changed = bytes.clone();
            changed[at] = value;
            assert!(decode_batch(&changed).is_err(), "byte {at} = {value:#x}");
        }
        assert!(encode_batch(&[], &mut BytesMut::new()).is_err());
    }
}
