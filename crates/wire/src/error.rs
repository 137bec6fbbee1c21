//! The wire layer's error: every way bytes from a peer or a file can fail to decode.
//!
//! Each variant carries the facts needed to find the bad byte. The servers map these to a
//! closed connection (frame and header errors, as Java does) or to a RocketMQ response code.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The input ended before a field was complete. For a stream this means "read more".
    #[error("truncated at byte {offset}: need {need} bytes, have {have}")]
    Truncated { offset: usize, need: usize, have: usize },

    /// A declared length is negative, beyond its enclosing structure, or over a limit.
    #[error("bad length for {what} at byte {offset}: {length} (limit {limit})")]
    BadLength {
        what: &'static str,
        offset: usize,
        length: i64,
        limit: i64,
    },

    /// The frame's serialize-type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),

    /// A JSON document (header or body) does not parse or has the wrong shape.
    #[error("bad json in {what}: {reason}")]
    BadJson { what: &'static str, reason: String },

    /// Bytes that must be UTF-8 are not.
    #[error("invalid utf-8 in {what} at byte {offset}")]
    BadUtf8 { what: &'static str, offset: usize },

    /// A required header field is absent.
    #[error("missing required header field `{field}`")]
    MissingField { field: &'static str },

    /// A header field is present but does not parse as its Java type.
    #[error("header field `{field}` has bad value {value:?}")]
    BadField { field: &'static str, value: String },

    /// A magic code is not one we know (message record, filler, ...).
    #[error("bad magic code {magic:#010x} at byte {offset}")]
    BadMagic { magic: u32, offset: usize },

    /// A value that cannot be represented in the target encoding (e.g. a code > 32767 in the
    /// binary header). Raised on encode, never on decode.
    #[error("cannot encode {what}: {reason}")]
    Unencodable { what: &'static str, reason: String },

    /// Decompression failed or exceeded its output limit.
    #[error("bad compressed data: {0}")]
    BadCompression(String),

    /// Properties text that Java's `Properties.load` would reject. The text is Java's remark
    /// for it (`MixAll.string2Properties` failing), which both servers answer with.
    #[error("string2Properties error: {reason}")]
    BadProperties { reason: String },

    /// A sysFlag compression type (bits 8-10) we cannot handle: 1 LZ4 and 2 ZSTD for now, 4-7 unknown.
    #[error("unsupported compression type {type_value}")]
    UnsupportedCompression { type_value: i32 },
}

pub type WireResult<T> = Result<T, WireError>;
