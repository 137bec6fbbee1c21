//! The two frames of classic master/slave replication (store-and-ha.md §7.2–7.3), as Java's
//! `DefaultHAClient` and `DefaultHAConnection` put them on the HA port's raw TCP stream (4.9.x
//! and 5.x `DefaultHAService` alike; the 5.x AutoSwitch handshake is not this protocol).
//!
//! ```text
//! slave → master, offset report (8 bytes):
//!   slaveMaxPhyOffset i64 BE
//! master → slave, transfer frame (12-byte header + body):
//!   masterPhyOffset i64 BE | bodySize i32 BE | body: commit-log bytes [offset, offset+bodySize)
//!   bodySize 0 = heartbeat
//! ```
//! Invariants: offsets are never negative; a decoded body is never larger than
//! [`TRANSFER_BODY_BYTES_MAX`], so a peer cannot make us buffer more than that per frame.

use bytes::{BufMut, BytesMut};
use ferrocket_store::CommitLogOffset;

use super::HaError;

/// `DefaultHAClient.REPORT_HEADER_SIZE`.
pub const REPORT_BYTES: usize = 8;
/// `DefaultHAConnection.TRANSFER_HEADER_SIZE`: offset and body size.
pub const TRANSFER_HEADER_BYTES: usize = 8 + 4;
/// Java's `haTransferBatchSize` default: the master sends at most this much per frame.
pub const TRANSFER_BATCH_BYTES_DEFAULT: u32 = 32 * 1024;
/// Java's slave reads frames into a 4 MiB buffer (`DefaultHAClient.READ_MAX_BUFFER_SIZE`), so no
/// master it can follow sends a frame larger than that; we refuse larger bodies before buffering.
pub const TRANSFER_BODY_BYTES_MAX: usize = 4 * 1024 * 1024 - TRANSFER_HEADER_BYTES;

/// The slave's commit-log max offset: where it wants the next byte from, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetReport {
    pub max_offset: CommitLogOffset,
}

impl OffsetReport {
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_i64(self.max_offset.to_java_long());
    }

    /// Decodes one report from the front of `src`.
    pub fn decode(src: &[u8]) -> Result<(OffsetReport, usize), HaError> {
        let max_offset = read_offset(src, 0)?;
        Ok((OffsetReport { max_offset }, REPORT_BYTES))
    }
}

/// A transfer frame's header: where its body goes in the commit log and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// `masterPhyOffset`: the commit-log offset of the body's first byte (for a heartbeat, the
    /// offset the master will send from next).
    pub offset: CommitLogOffset,
    pub body_bytes: u32,
}

impl TransferHeader {
    pub fn is_heartbeat(&self) -> bool {
        self.body_bytes == 0
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_i64(self.offset.to_java_long());
        // Bodies are bounded by the batch size when sent; anything else is our bug.
        let body_bytes = i32::try_from(self.body_bytes).unwrap_or(i32::MAX);
        dst.put_i32(body_bytes);
    }

    /// Decodes the 12-byte header at the front of `src` (the body is not required).
    pub fn decode(src: &[u8]) -> Result<(TransferHeader, usize), HaError> {
        let offset = read_offset(src, 0)?;
        let size_bytes = src.get(8..TRANSFER_HEADER_BYTES).ok_or(HaError::Truncated {
            need: TRANSFER_HEADER_BYTES,
            have: src.len(),
        })?;
        let mut size = [0u8; 4];
        size.copy_from_slice(size_bytes);
        let declared = i32::from_be_bytes(size);
        let body_bytes = u32::try_from(declared).map_err(|_| HaError::BadBodySize { declared })?;
        if body_bytes as usize > TRANSFER_BODY_BYTES_MAX {
            return Err(HaError::BadBodySize { declared });
        }
        Ok((TransferHeader { offset, body_bytes }, TRANSFER_HEADER_BYTES))
    }
}

/// A whole transfer frame: header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFrame {
    pub offset: CommitLogOffset,
    pub body: Vec<u8>,
}

impl TransferFrame {
    /// Encodes the header for `body` and the body.
    pub fn encode(offset: CommitLogOffset, body: &[u8], dst: &mut BytesMut) {
        assert!(
            body.len() <= TRANSFER_BODY_BYTES_MAX,
            "transfer body of {} bytes over the frame limit",
            body.len()
        );
        TransferHeader {
            offset,
            // Bounded by the assertion above.
            body_bytes: body.len() as u32,
        }
        .encode(dst);
        dst.put_slice(body);
    }

    /// Decodes one frame from the front of `src`; `Truncated` says how much is needed.
    pub fn decode(src: &[u8]) -> Result<(TransferFrame, usize), HaError> {
        let (header, header_bytes) = TransferHeader::decode(src)?;
        let end = header_bytes + header.body_bytes as usize;
        let body = src.get(header_bytes..end).ok_or(HaError::Truncated {
            need: end,
            have: src.len(),
        })?;
        Ok((
            TransferFrame {
                offset: header.offset,
                body: body.to_vec(),
            },
            end,
        ))
    }
}

/// Java sends offsets as signed longs (ours never pass `i64::MAX`: a log that large cannot
/// exist); a negative one is refused.
fn read_offset(src: &[u8], at: usize) -> Result<CommitLogOffset, HaError> {
    let end = at + 8;
    let bytes = src.get(at..end).ok_or(HaError::Truncated {
        need: end,
        have: src.len(),
    })?;
    let mut field = [0u8; 8];
    field.copy_from_slice(bytes);
    let value = i64::from_be_bytes(field);
    CommitLogOffset::from_java_long(value).ok_or(HaError::NegativeOffset { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_report_round_trip_and_exact_bytes() {
        let mut buf = BytesMut::new();
        OffsetReport {
            max_offset: CommitLogOffset(0x0102_0304_0506_0708),
        }
        .encode(&mut buf);
        // `ByteBuffer.putLong` is big-endian.
        assert_eq!(&buf[..], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let (report, used) = OffsetReport::decode(&buf).unwrap();
        assert_eq!(used, REPORT_BYTES);
        assert_eq!(report.max_offset, CommitLogOffset(0x0102_0304_0506_0708));
    }

    #[test]
    fn offset_report_every_truncation_is_an_error() {
        let mut buf = BytesMut::new();
        OffsetReport {
            max_offset: CommitLogOffset(1 << 30),
        }
        .encode(&mut buf);
        for cut in 0..buf.len() {
            assert!(matches!(
                OffsetReport::decode(&buf[..cut]),
                Err(HaError::Truncated { need: 8, have }) if have == cut
            ));
        }
    }

    #[test]
    fn negative_offsets_are_refused() {
        assert!(matches!(
            OffsetReport::decode(&(-1i64).to_be_bytes()),
            Err(HaError::NegativeOffset { value: -1 })
        ));
        let mut frame = (-5i64).to_be_bytes().to_vec();
        frame.extend_from_slice(&0i32.to_be_bytes());
        assert!(matches!(
            TransferHeader::decode(&frame),
            Err(HaError::NegativeOffset { value: -5 })
        ));
    }

    #[test]
    fn transfer_frame_round_trip_and_exact_bytes() {
        let mut buf = BytesMut::new();
        TransferFrame::encode(CommitLogOffset(1_073_741_824), b"abc", &mut buf);
        assert_eq!(&buf[..], &[0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c']);
        let (frame, used) = TransferFrame::decode(&buf).unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(frame.offset, CommitLogOffset(1 << 30));
        assert_eq!(frame.body, b"abc");
        // A following frame is left alone.
        buf.extend_from_slice(&[9; 4]);
        assert_eq!(TransferFrame::decode(&buf).unwrap().1, 15);
    }

    #[test]
    fn heartbeat_is_a_header_with_size_zero() {
        let mut buf = BytesMut::new();
        TransferFrame::encode(CommitLogOffset(4096), &[], &mut buf);
        assert_eq!(&buf[..], &[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0]);
        let (header, used) = TransferHeader::decode(&buf).unwrap();
        assert_eq!(used, TRANSFER_HEADER_BYTES);
        assert!(header.is_heartbeat());
        assert_eq!(header.offset, CommitLogOffset(4096));
    }

    #[test]
    fn transfer_frame_every_truncation_is_an_error() {
        let mut buf = BytesMut::new();
        let body: Vec<u8> = (0..100u8).collect();
        TransferFrame::encode(CommitLogOffset(77), &body, &mut buf);
        for cut in 0..buf.len() {
            match TransferFrame::decode(&buf[..cut]) {
                Err(HaError::Truncated { need, have }) => {
                    assert_eq!(have, cut);
                    assert!(need > cut, "need {need} at cut {cut}");
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        for cut in 0..TRANSFER_HEADER_BYTES {
            assert!(matches!(
                TransferHeader::decode(&buf[..cut]),
                Err(HaError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn body_sizes_outside_the_limit_are_refused_before_buffering() {
        for declared in [-1i32, i32::MIN, (TRANSFER_BODY_BYTES_MAX + 1) as i32, i32::MAX] {
            let mut header = 0i64.to_be_bytes().to_vec();
            header.extend_from_slice(&declared.to_be_bytes());
            assert!(matches!(
                TransferHeader::decode(&header),
                Err(HaError::BadBodySize { declared: d }) if d == declared
            ));
        }
        let mut header = 0i64.to_be_bytes().to_vec();
        header.extend_from_slice(&(TRANSFER_BODY_BYTES_MAX as i32).to_be_bytes());
        assert!(TransferHeader::decode(&header).is_ok());
    }
}
