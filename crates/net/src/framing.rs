//! Cuts a byte stream into remoting frames, checking each length prefix before buffering.
//!
//! ```text
//! +--------------+------------------------------------------+
//! | total length | content: serialize word, header, body    |
//! | i32          | `total length` bytes (4 ..= 16 MiB - 4)  |
//! +--------------+------------------------------------------+
//! ```
//! The prefix is validated with [`frame_content_length`] as soon as its 4 bytes arrive, so a
//! hostile length is refused before any memory is set aside for it. Invariants of
//! [`FrameReader`]:
//! * the buffer grows only as bytes arrive, a read chunk at a time, and never past the declared
//!   frame: a peer that announces 16 MiB and sends nothing costs one read chunk;
//! * the bytes of an unfinished frame larger than a read chunk are taken from the shared
//!   partial-frame budget as they arrive; a read that would pass the budget fails the connection;
//! * a frame not whole within the frame timeout of its first byte fails the connection;
//! * after a large frame the buffer is replaced, so a connection keeps no large capacity, and a
//!   dropped reader gives its budget back.
//!
//! [`FrameReader::read_frame`] is cancel-safe: all state lives in the reader, so it can sit in a
//! `select!` beside timers and shutdown signals.

use std::sync::Arc;
use std::time::Duration;
use std::{fmt, io};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrocket_wire::WireError;
use ferrocket_wire::command::frame_content_length;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::budget::Budgets;
use crate::config::deadline_after;

/// The most bytes one socket read takes: many small frames per system call, yet a silent peer
/// pins little memory. Frames up to this size are never charged to the partial-frame budget.
pub(crate) const READ_CHUNK_BYTES: usize = 64 * 1024;

const LENGTH_PREFIX_BYTES: usize = 4;

/// Why a connection's inbound byte stream stopped making sense.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// A frame failed to decode: bad length, header length, serialize type, JSON, UTF-8.
    Wire(WireError),
    Io(io::Error),
    /// The peer closed its side in the middle of a frame.
    EofMidFrame {
        have: usize,
    },
    /// A frame was not whole within the frame timeout of its first byte.
    FrameTimeout {
        have: usize,
        need: usize,
        after: Duration,
    },
    /// Buffering more of this frame would pass the partial-frame budget of all connections.
    OverBudget {
        frame_bytes: usize,
        total_max: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Wire(e) => write!(f, "bad frame: {e}"),
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::EofMidFrame { have } => write!(f, "closed with {have} bytes of an unfinished frame"),
            ReadError::FrameTimeout { have, need, after } => write!(
                f,
                "frame of {need} bytes not whole after {} ms ({have} bytes arrived)",
                after.as_millis()
            ),
            ReadError::OverBudget { frame_bytes, total_max } => write!(
                f,
                "{frame_bytes} bytes of an unfinished frame would pass the partial-frame budget of {total_max} bytes"
            ),
        }
    }
}

/// The inbound side of one connection: its socket, its read buffer and what it holds of the
/// budgets.
pub(crate) struct FrameReader<R> {
    src: R,
    buf: BytesMut,
    budgets: Arc<Budgets>,
    /// Bytes of `buf` taken from the partial-frame budget.
    charged: usize,
    frame_timeout: Duration,
    /// When the frame whose first bytes are buffered must be whole.
    frame_deadline: Option<Instant>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(src: R, budgets: Arc<Budgets>, frame_timeout: Duration) -> FrameReader<R> {
        FrameReader {
            src,
            buf: BytesMut::new(),
            budgets,
            charged: 0,
            frame_timeout,
            frame_deadline: None,
        }
    }

    /// The content of the next whole frame (everything after the length prefix), or `None` on
    /// a clean end of stream between frames.
    pub(crate) async fn read_frame(&mut self) -> Result<Option<Bytes>, ReadError> {
        loop {
            let frame_total = self.declared_frame_total()?;
            if let Some(total) = frame_total
                && self.buf.len() >= total
            {
                return Ok(Some(self.take_frame(total)));
            }
            let want = self.make_room(frame_total);
            let mut room = (&mut self.buf).limit(want);
            let read = self.src.read_buf(&mut room);
            let read = match self.frame_deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                    Ok(read) => read,
                    Err(_) => return Err(self.timed_out(frame_total)),
                },
                None => read.await,
            };
            if read.map_err(ReadError::Io)? == 0 {
                return match self.buf.len() {
                    0 => Ok(None),
                    have => Err(ReadError::EofMidFrame { have }),
                };
            }
            if self.frame_deadline.is_none() {
                self.frame_deadline = Some(deadline_after(self.frame_timeout));
            }
            self.charge()?;
        }
    }

    /// Prefix plus content of the frame at the front of the buffer, once its prefix is in.
    fn declared_frame_total(&self) -> Result<Option<usize>, ReadError> {
        let Some(prefix) = self.buf.first_chunk::<LENGTH_PREFIX_BYTES>() else {
            return Ok(None);
        };
        let content_len = frame_content_length(*prefix).map_err(ReadError::Wire)?;
        // At most 16 MiB, so the sum cannot overflow.
        Ok(Some(LENGTH_PREFIX_BYTES + content_len))
    }

    fn take_frame(&mut self, total: usize) -> Bytes {
        self.buf.advance(LENGTH_PREFIX_BYTES);
        let frame = self.buf.split_to(total - LENGTH_PREFIX_BYTES).freeze();
        if total > READ_CHUNK_BYTES {
            // The rest still shares the frame's large allocation, which a later reserve would
            // keep for good; copy the few bytes left into a buffer of their own instead.
            self.buf = BytesMut::from(&self.buf[..]);
        }
        self.frame_deadline = if self.buf.is_empty() {
            None
        } else {
            Some(deadline_after(self.frame_timeout))
        };
        // Gives back the finished frame's charge. Bytes of the next frame that came with the
        // same read are at most a read chunk, and are charged with the next read.
        self.recharge();
        frame
    }

    /// Ensures room for the next read and returns how many bytes it may take: a chunk, or what
    /// is left of a large frame. A large frame's buffer doubles as it fills, never past its
    /// declared size, so filling it costs a few copies and never more than twice its bytes.
    fn make_room(&mut self, frame_total: Option<usize>) -> usize {
        let Some(total) = frame_total.filter(|total| *total > READ_CHUNK_BYTES) else {
            self.buf.reserve(READ_CHUNK_BYTES);
            return READ_CHUNK_BYTES;
        };
        let have = self.buf.len();
        let want = total.saturating_sub(have).min(READ_CHUNK_BYTES);
        if self.buf.capacity().saturating_sub(have) < want {
            let doubled = self.buf.capacity().saturating_mul(2).max(have + want);
            let mut grown = BytesMut::with_capacity(doubled.min(total));
            grown.extend_from_slice(&self.buf);
            self.buf = grown;
        }
        want
    }

    /// Brings the charge to the buffered bytes of the large unfinished frame at the front, if
    /// any; fails if the budget cannot take the difference.
    fn charge(&mut self) -> Result<(), ReadError> {
        let target = self.partial_large_frame_bytes();
        if target > self.charged {
            let extra = target - self.charged;
            if !self.budgets.partial_frames.try_take(extra) {
                return Err(ReadError::OverBudget {
                    frame_bytes: target,
                    total_max: self.budgets.partial_frames.max(),
                });
            }
            self.charged = target;
        } else {
            self.recharge();
        }
        Ok(())
    }

    /// Gives back whatever is charged beyond the large unfinished frame at the front.
    fn recharge(&mut self) {
        let target = self.partial_large_frame_bytes().min(self.charged);
        self.budgets.partial_frames.give_back(self.charged - target);
        self.charged = target;
    }

    fn partial_large_frame_bytes(&self) -> usize {
        match self.declared_frame_total() {
            Ok(Some(total)) if total > READ_CHUNK_BYTES && self.buf.len() < total => self.buf.len(),
            _ => 0,
        }
    }

    fn timed_out(&self, frame_total: Option<usize>) -> ReadError {
        ReadError::FrameTimeout {
            have: self.buf.len(),
            need: frame_total.unwrap_or(LENGTH_PREFIX_BYTES),
            after: self.frame_timeout,
        }
    }
}

impl<R> Drop for FrameReader<R> {
    fn drop(&mut self) {
        self.budgets.partial_frames.give_back(self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemoryLimits;

    fn budgets(partial_frame_bytes_total_max: usize) -> Arc<Budgets> {
        Arc::new(Budgets::new(&MemoryLimits {
            partial_frame_bytes_total_max,
            ..MemoryLimits::default()
        }))
    }

    fn reader<R: AsyncRead + Unpin>(src: R, budgets: &Arc<Budgets>) -> FrameReader<R> {
        FrameReader::new(src, Arc::clone(budgets), Duration::from_secs(30))
    }

    async fn frames_of(input: &[u8]) -> (Vec<Bytes>, Option<ReadError>) {
        let mut reader = reader(input, &budgets(usize::MAX));
        let mut frames = Vec::new();
        loop {
            match reader.read_frame().await {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, None),
                Err(e) => return (frames, Some(e)),
            }
        }
    }

    fn frame_declaring(content_len: usize) -> Vec<u8> {
        u32::try_from(content_len).unwrap().to_be_bytes().to_vec()
    }

    #[tokio::test]
    async fn splits_back_to_back_frames() {
        let input = [0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 9];
        let (frames, error) = frames_of(&input).await;
        assert!(error.is_none());
        assert_eq!(
            frames,
            vec![Bytes::from_static(&[1, 0, 0, 0]), Bytes::from_static(&[0, 0, 0, 0, 9])]
        );
    }

    #[tokio::test]
    async fn refuses_a_hostile_length_before_reading_on() {
        let (frames, error) = frames_of(&[0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3]).await;
        assert!(frames.is_empty());
        assert!(matches!(error, Some(ReadError::Wire(WireError::BadLength { .. }))));
        let (_, error) = frames_of(&[0x01, 0x00, 0x00, 0x00]).await;
        assert!(matches!(error, Some(ReadError::Wire(_))));
    }

    #[tokio::test]
    async fn reports_a_frame_cut_by_the_end_of_stream() {
        let (_, error) = frames_of(&[0, 0, 0, 8, 1, 2]).await;
        assert!(matches!(error, Some(ReadError::EofMidFrame { have: 6 })));
    }

    /// A 16 MiB frame arriving in pieces: the buffer never holds much more than what came, the
    /// budget is charged as it comes and given back once the frame is whole.
    #[tokio::test(start_paused = true)]
    async fn a_large_frame_grows_its_buffer_and_charge_as_it_arrives() {
        let content_len = 16 * 1024 * 1024 - 4;
        let budgets = budgets(usize::MAX);
        let (mut peer, ours) = tokio::io::duplex(2 * 1024 * 1024);
        let mut reader = reader(ours, &budgets);
        let mut frame = frame_declaring(content_len);
        frame.resize(4 + content_len, 7);
        let mut sent = 0;
        for piece in frame.chunks(1024 * 1024) {
            tokio::io::AsyncWriteExt::write_all(&mut peer, piece).await.unwrap();
            sent += piece.len();
            if sent == frame.len() {
                break;
            }
            while reader.buf.len() < sent {
                let read = tokio::time::timeout(Duration::from_millis(1), reader.read_frame()).await;
                assert!(read.is_err(), "frame finished early");
            }
            assert!(
                reader.buf.capacity() <= 2 * sent,
                "{} for {sent}",
                reader.buf.capacity()
            );
            assert_eq!(budgets.memory_use().partial_frame_bytes, sent);
        }
        let whole = reader.read_frame().await.unwrap().unwrap();
        assert_eq!(whole.len(), content_len);
        assert_eq!(budgets.memory_use().partial_frame_bytes, 0);
        assert!(reader.buf.capacity() < READ_CHUNK_BYTES, "{}", reader.buf.capacity());
    }

    #[tokio::test]
    async fn a_large_frame_past_the_budget_fails_and_the_drop_gives_back() {
        let budgets = budgets(1024 * 1024);
        let mut input = frame_declaring(4 * 1024 * 1024);
        input.resize(2 * 1024 * 1024, 0);
        let mut reader = reader(&input[..], &budgets);
        let error = reader.read_frame().await;
        assert!(
            matches!(
                error,
                Err(ReadError::OverBudget {
                    total_max: 1_048_576,
                    ..
                })
            ),
            "{error:?}"
        );
        assert!(budgets.memory_use().partial_frame_bytes <= 1024 * 1024);
        drop(reader);
        assert_eq!(budgets.memory_use().partial_frame_bytes, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_not_whole_in_time_fails() {
        let budgets = budgets(usize::MAX);
        let (mut peer, ours) = tokio::io::duplex(1024);
        let mut reader = reader(ours, &budgets);
        tokio::io::AsyncWriteExt::write_all(&mut peer, &[0, 0, 0, 8, 1])
            .await
            .unwrap();
        let began = Instant::now();
        let error = reader.read_frame().await;
        assert!(
            matches!(error, Err(ReadError::FrameTimeout { have: 5, need: 12, .. })),
            "{error:?}"
        );
        assert_eq!(began.elapsed(), Duration::from_secs(30));
    }
}
