//! The slave's view of the byte stream from its master (Java's `DefaultHAClient.dispatchReadRequest`):
//! checks that each frame continues exactly where the slave's log ends, buffers the bytes, and
//! hands out the longest prefix made of whole records and fillers, which is what
//! [`CommitLog::append_raw`](ferrocket_store::CommitLog::append_raw) accepts.
//!
//! Java's slave appends raw bytes, partial records included; keeping the partial tail here instead
//! keeps the log's invariant (only whole records below its end), so the slave reports and restarts
//! from record boundaries. The expected offset is the log's end plus the buffered tail, which is
//! where the master's next frame starts.
//!
//! Invariants: `pending` starts at a record or filler boundary (`log_end`) and never holds a whole
//! unit after [`ReplicaStream::accept`] returns; it is at most [`UNIT_BYTES_MAX`] plus one frame.

use ferrocket_store::CommitLogOffset;
use ferrocket_wire::message::record::{BLANK_MAGIC_CODE, MessageVersion, RECORD_BYTES_MAX, RECORD_BYTES_MIN};

use super::HaError;

/// The filler's TOTALSIZE and MAGICCODE; every record leaves room for it in its segment.
const BLANK_BYTES: u64 = 8;
/// The largest unit the stream buffers: a record, or a filler (always shorter than the record
/// that did not fit, plus its 8 bytes).
pub const UNIT_BYTES_MAX: u64 = RECORD_BYTES_MAX as u64 + BLANK_BYTES;

#[derive(Debug)]
pub struct ReplicaStream {
    /// Where `pending` starts: the slave log's end once earlier chunks are appended.
    log_end: u64,
    segment_bytes: u64,
    pending: Vec<u8>,
}

impl ReplicaStream {
    /// A stream for a log ending at `log_end` (0 = empty: the master may start anywhere).
    pub fn new(log_end: CommitLogOffset, segment_bytes: u64) -> ReplicaStream {
        assert!(segment_bytes > BLANK_BYTES, "segment size {segment_bytes} too small");
        ReplicaStream {
            log_end: log_end.0,
            segment_bytes,
            pending: Vec::new(),
        }
    }

    /// The offset the master's next frame must carry; `None` while the slave holds nothing
    /// (Java skips the check when the slave's max offset is 0).
    pub fn expected_offset(&self) -> Option<CommitLogOffset> {
        if self.log_end == 0 && self.pending.is_empty() {
            None
        } else {
            Some(CommitLogOffset(self.log_end + self.pending.len() as u64))
        }
    }

    /// Takes one frame (a heartbeat has an empty body). Returns the whole units now complete, as
    /// `(offset, bytes)` to append; the caller appends them before the next frame (the stream
    /// counts them as part of the log from now on).
    pub fn accept(
        &mut self,
        offset: CommitLogOffset,
        body: &[u8],
    ) -> Result<Option<(CommitLogOffset, Vec<u8>)>, HaError> {
        match self.expected_offset() {
            Some(expected) if expected != offset => {
                return Err(HaError::OffsetMismatch {
                    expected,
                    received: offset,
                });
            }
            Some(_) => {}
            None if body.is_empty() => return Ok(None),
            None => self.log_end = offset.0,
        }
        self.pending.extend_from_slice(body);
        let whole = self.whole_units_bytes()?;
        if whole == 0 {
            return Ok(None);
        }
        let rest = self.pending.split_off(whole);
        let chunk = std::mem::replace(&mut self.pending, rest);
        let chunk_offset = CommitLogOffset(self.log_end);
        self.log_end += whole as u64;
        Ok(Some((chunk_offset, chunk)))
    }

    /// Bytes buffered past the log's end: a record still arriving.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Length of the longest prefix of `pending` made of whole units.
    fn whole_units_bytes(&self) -> Result<usize, HaError> {
        let mut pos = 0usize;
        while let Some(rest) = self.pending.get(pos..) {
            let at = self.log_end + pos as u64;
            let Some(unit) = self.unit_bytes(at, rest)? else {
                break;
            };
            if (rest.len() as u64) < unit {
                break;
            }
            // `unit` ≤ rest.len(), a usize.
            pos += unit as usize;
        }
        Ok(pos)
    }

    /// The length of the unit starting at `at` whose first bytes are `rest`; `None` when its
    /// header has not arrived yet.
    fn unit_bytes(&self, at: u64, rest: &[u8]) -> Result<Option<u64>, HaError> {
        let Some(&[s0, s1, s2, s3, m0, m1, m2, m3]) = rest.get(..BLANK_BYTES as usize) else {
            return Ok(None);
        };
        let declared = i32::from_be_bytes([s0, s1, s2, s3]);
        let magic = u32::from_be_bytes([m0, m1, m2, m3]);
        let room = self.segment_bytes - at % self.segment_bytes;
        let bad = |reason: String| {
            Err(HaError::BadUnit {
                offset: CommitLogOffset(at),
                reason,
            })
        };
        let unit = if magic == BLANK_MAGIC_CODE {
            // Java's filler declares the whole rest of its segment.
            if i64::from(declared) != room as i64 {
                return bad(format!("filler declares {declared} bytes, its segment has {room} left"));
            }
            room
        } else if MessageVersion::from_magic(magic).is_some() {
            let size = u64::try_from(declared).unwrap_or(0);
            if !(RECORD_BYTES_MIN as u64..=RECORD_BYTES_MAX as u64).contains(&size) {
                return bad(format!("record size {declared}"));
            }
            if size + BLANK_BYTES > room {
                return bad(format!("record of {size} bytes in the last {room} of its segment"));
            }
            size
        } else {
            return bad(format!("bad magic {magic:#010x}"));
        };
        if unit > UNIT_BYTES_MAX {
            return bad(format!("unit of {unit} bytes over {UNIT_BYTES_MAX}"));
        }
        Ok(Some(unit))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use ferrocket_wire::message::StoredMessage;

    use super::*;
    use ferrocket_store::{CommitLog, CommitLogConfig};

    pub(crate) fn sample_message(body_bytes: usize) -> StoredMessage {
        let host: SocketAddr = "10.0.0.5:50000".parse().unwrap();
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 1,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp_ms: 1_700_000_000_000,
            born_host: host,
            store_timestamp_ms: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(vec![7u8; body_bytes]),
            topic: "TopicTest".to_owned(),
            properties: [("TAGS", "a".to_owned())].into_iter().collect(),
        }
    }

    /// A master log of `count` records over 4 KiB segments; returns its bytes from 0 to its end.
    fn master_bytes(count: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(&CommitLogConfig {
            segment_bytes: 4096,
            ..CommitLogConfig::new(dir.path())
        })
        .unwrap();
        for n in 0..count {
            log.append(&sample_message(100 + n * 53 % 700), n as i64).unwrap();
        }
        let mut bytes = Vec::new();
        let mut offset = 0;
        while offset < log.max_offset().0 {
            let chunk = log.read_chunk(CommitLogOffset(offset), 1 << 20).unwrap();
            offset += chunk.len() as u64;
            bytes.extend_from_slice(&chunk);
        }
        bytes
    }

    #[test]
    fn any_cut_of_the_stream_yields_whole_units_in_order() {
        let bytes = master_bytes(40);
        assert!(bytes.len() > 3 * 4096, "the sample must cross segments");
        for frame_bytes in [1usize, 7, 13, 100, 4095, 32 * 1024] {
            let mut stream = ReplicaStream::new(CommitLogOffset(0), 4096);
            let mut rebuilt = Vec::new();
            for (n, frame) in bytes.chunks(frame_bytes).enumerate() {
                let offset = (n * frame_bytes) as u64;
                if let Some((at, chunk)) = stream.accept(CommitLogOffset(offset), frame).unwrap() {
                    assert_eq!(at, CommitLogOffset(rebuilt.len() as u64));
                    rebuilt.extend_from_slice(&chunk);
                }
                assert!(
                    stream
                        .accept(CommitLogOffset(offset + frame.len() as u64), &[])
                        .unwrap()
                        .is_none()
                );
            }
            assert_eq!(stream.pending_bytes(), 0, "frames of {frame_bytes}");
            assert_eq!(rebuilt, bytes, "frames of {frame_bytes}");
        }
    }

    #[test]
    fn an_empty_slave_takes_the_first_offset_then_checks_every_frame() {
        let bytes = master_bytes(3);
        let mut stream = ReplicaStream::new(CommitLogOffset(0), 4096);
        assert_eq!(stream.expected_offset(), None);
        assert!(stream.accept(CommitLogOffset(8192), &[]).unwrap().is_none());
        assert_eq!(stream.expected_offset(), None);
        let (at, chunk) = stream.accept(CommitLogOffset(8192), &bytes[..300]).unwrap().unwrap();
        assert_eq!(at, CommitLogOffset(8192));
        assert!(chunk.len() < 300);
        assert_eq!(stream.expected_offset(), Some(CommitLogOffset(8192 + 300)));
        assert!(matches!(
            stream.accept(CommitLogOffset(8192), &[]),
            Err(HaError::OffsetMismatch {
                expected: CommitLogOffset(8492),
                received: CommitLogOffset(8192)
            })
        ));
        let mut resumed = ReplicaStream::new(CommitLogOffset(500), 4096);
        assert!(matches!(
            resumed.accept(CommitLogOffset(0), &[]),
            Err(HaError::OffsetMismatch {
                expected: CommitLogOffset(500),
                ..
            })
        ));
    }

    #[test]
    fn garbage_is_refused_not_buffered() {
        let mut stream = ReplicaStream::new(CommitLogOffset(0), 4096);
        assert!(matches!(
            stream.accept(CommitLogOffset(0), &[0, 0, 0, 100, 1, 2, 3, 4]),
            Err(HaError::BadUnit {
                offset: CommitLogOffset(0),
                ..
            })
        ));
        let mut record_too_big = (i32::MAX).to_be_bytes().to_vec();
        record_too_big.extend_from_slice(&MessageVersion::V1.magic().to_be_bytes());
        assert!(
            ReplicaStream::new(CommitLogOffset(0), 4096)
                .accept(CommitLogOffset(0), &record_too_big)
                .is_err()
        );
        let mut record_past_room = 200i32.to_be_bytes().to_vec();
        record_past_room.extend_from_slice(&MessageVersion::V1.magic().to_be_bytes());
        assert!(
            ReplicaStream::new(CommitLogOffset(4000), 4096)
                .accept(CommitLogOffset(4000), &record_past_room)
                .is_err()
        );
        let mut short_filler = 10i32.to_be_bytes().to_vec();
        short_filler.extend_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        assert!(
            ReplicaStream::new(CommitLogOffset(4000), 4096)
                .accept(CommitLogOffset(4000), &short_filler)
                .is_err()
        );
        let mut huge_filler = (1i32 << 30).to_be_bytes().to_vec();
        huge_filler.extend_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        assert!(
            ReplicaStream::new(CommitLogOffset(1 << 31), 1 << 30)
                .accept(CommitLogOffset(1 << 31), &huge_filler)
                .is_err()
        );
    }
}
