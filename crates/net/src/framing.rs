//! Cuts a byte stream into remoting frames, checking each length prefix before buffering.
//!
//! ```text
//! +--------------+------------------------------------------+
//! | total length | content: serialize word, header, body    |
//! | i32          | `total length` bytes (4 ..= 16 MiB - 4)  |
//! +--------------+------------------------------------------+
//! ```
//! The prefix is validated with [`frame_content_length`] as soon as its 4 bytes arrive, so a
//! hostile length is refused before any memory is set aside for it. The buffer then grows only
//! as bytes actually arrive, never by the declared length at once: a peer that announces 16 MiB
//! and sends nothing costs one read chunk. [`read_frame`] is cancel-safe: all state lives in the
//! caller's buffer, so it can sit in a `select!` beside timers and shutdown signals.

use std::{fmt, io};

use bytes::{Buf, Bytes, BytesMut};
use ferrocket_wire::WireError;
use ferrocket_wire::command::frame_content_length;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Spare room ensured before each socket read: large enough to take many small frames per
/// system call, small enough that a silent peer pins little memory.
pub(crate) const READ_CHUNK_BYTES: usize = 64 * 1024;

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
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Wire(e) => write!(f, "bad frame: {e}"),
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::EofMidFrame { have } => write!(f, "closed with {have} bytes of an unfinished frame"),
        }
    }
}

/// The content of the next whole frame (everything after the length prefix), or `None` on a
/// clean end of stream between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    src: &mut R,
    buf: &mut BytesMut,
) -> Result<Option<Bytes>, ReadError> {
    loop {
        if let Some(prefix) = buf.first_chunk::<4>() {
            let content_len = frame_content_length(*prefix).map_err(ReadError::Wire)?;
            // At most 16 MiB, so the sum cannot overflow.
            if buf.len() >= 4 + content_len {
                buf.advance(4);
                return Ok(Some(buf.split_to(content_len).freeze()));
            }
        }
        buf.reserve(READ_CHUNK_BYTES);
        let read = src.read_buf(buf).await.map_err(ReadError::Io)?;
        if read == 0 {
            return match buf.len() {
                0 => Ok(None),
                have => Err(ReadError::EofMidFrame { have }),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames_of(input: &[u8]) -> (Vec<Bytes>, Option<ReadError>) {
        let mut src = input;
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        loop {
            match read_frame(&mut src, &mut buf).await {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, None),
                Err(e) => return (frames, Some(e)),
            }
        }
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
}
