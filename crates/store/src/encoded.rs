//! Records encoded before the store's write lock is taken (issue 13): encoding a message and
//! computing its body CRC are most of a put's work and need nothing of the store but its
//! limits, so a put does them first and holds the lock only to patch in what the log alone
//! knows (queue offset, physical offset, store time) and copy the bytes in.
//!
//! Invariant: `records` describe consecutive records of `bytes` in order, each already checked
//! against the limits and carrying its BODYCRC; nothing else is written after encoding but the
//! three patchable fields.

use bytes::BytesMut;
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::record::{RECORD_BYTES_MAX, RecordLayout, body_crc};

use crate::error::{StoreError, StoreResult};

/// Java allows a whole record up to `maxMessageSize` plus this much for headers, topic and
/// properties (`MessageExtEncoder`).
pub const RECORD_OVERHEAD_MAX: usize = 64 * 1024;
/// The filler that closes a segment: TOTALSIZE and MAGICCODE. Every record leaves room for it,
/// so a record's limit is its segment less this.
pub(crate) const BLANK_BYTES: u64 = 8;
/// BODYCRC's position in every record (stamped here, at encoding).
pub(crate) const BODY_CRC_POSITION: usize = 8;

/// What a record may weigh in a log of a given segment size and body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    pub body_bytes_max: usize,
    pub record_bytes_max: usize,
}

impl RecordLimits {
    pub fn new(segment_bytes: u64, body_bytes_max: usize) -> RecordLimits {
        let segment_room = usize::try_from(segment_bytes.saturating_sub(BLANK_BYTES)).unwrap_or(usize::MAX);
        RecordLimits {
            body_bytes_max,
            record_bytes_max: body_bytes_max
                .saturating_add(RECORD_OVERHEAD_MAX)
                .min(segment_room)
                .min(RECORD_BYTES_MAX),
        }
    }
}

/// One encoded record inside [`EncodedRecords::bytes`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodedRecord {
    pub(crate) start: usize,
    pub(crate) layout: RecordLayout,
    pub(crate) body_crc: i32,
}

/// Messages encoded as commit-log records, ready to append (see the module doc).
#[derive(Debug, Default)]
pub struct EncodedRecords {
    pub(crate) bytes: BytesMut,
    pub(crate) records: Vec<EncodedRecord>,
}

impl EncodedRecords {
    /// Encodes `messages` into `buffer` (cleared first; a reused one saves the allocation),
    /// checking each against `limits` and stamping its body CRC. Nothing is kept of a batch
    /// with a member too large or not encodable.
    pub fn encode(messages: &[StoredMessage], limits: RecordLimits, buffer: BytesMut) -> StoreResult<EncodedRecords> {
        let mut bytes = buffer;
        bytes.clear();
        let mut records = Vec::with_capacity(messages.len());
        for message in messages {
            if message.body.len() > limits.body_bytes_max {
                return Err(StoreError::MessageTooLarge {
                    bytes: message.body.len(),
                    limit: limits.body_bytes_max,
                });
            }
            let start = bytes.len();
            let layout = message.encode(&mut bytes)?;
            if layout.len > limits.record_bytes_max {
                return Err(StoreError::MessageTooLarge {
                    bytes: layout.len,
                    limit: limits.record_bytes_max,
                });
            }
            let crc = body_crc(&message.body);
            let field = bytes
                .get_mut(start + BODY_CRC_POSITION..start + BODY_CRC_POSITION + 4)
                .ok_or_else(|| StoreError::NotWriteable {
                    reason: "encoded record shorter than its header".to_owned(),
                })?;
            field.copy_from_slice(&crc.to_be_bytes());
            records.push(EncodedRecord {
                start,
                layout,
                body_crc: crc,
            });
        }
        Ok(EncodedRecords { bytes, records })
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}
