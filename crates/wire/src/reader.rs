//! A bounds-checked big-endian reader over a byte slice.
//!
//! Every decoder in this crate reads through it, so no decoder indexes a slice directly and
//! every short read becomes `WireError::Truncated` with the offset where it happened.

use crate::error::{WireError, WireResult};

#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, count: usize) -> WireResult<&'a [u8]> {
        let have = self.remaining();
        let slice = self.pos.checked_add(count).and_then(|end| self.buf.get(self.pos..end));
        let Some(slice) = slice else {
            return Err(WireError::Truncated {
                offset: self.pos,
                need: count,
                have,
            });
        };
        self.pos += count;
        Ok(slice)
    }

    pub fn array<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> WireResult<u8> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    pub fn i16(&mut self) -> WireResult<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> WireResult<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> WireResult<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> WireResult<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Reads a length declared by the peer and checks it against what is left and a limit,
    /// so callers never allocate for a length they have not seen bytes for.
    pub fn length(&mut self, what: &'static str, declared: i64, limit: usize) -> WireResult<usize> {
        let offset = self.pos;
        if declared < 0 || declared > limit as i64 {
            return Err(WireError::BadLength {
                what,
                offset,
                length: declared,
                limit: limit as i64,
            });
        }
        let length = declared as usize;
        if length > self.remaining() {
            return Err(WireError::Truncated {
                offset,
                need: length,
                have: self.remaining(),
            });
        }
        Ok(length)
    }

    /// A UTF-8 string of exactly `count` bytes.
    pub fn utf8(&mut self, what: &'static str, count: usize) -> WireResult<&'a str> {
        let offset = self.pos;
        let raw = self.bytes(count)?;
        std::str::from_utf8(raw).map_err(|_| WireError::BadUtf8 { what, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_truncation() {
        let mut r = Reader::new(&[0, 0, 1, 2, 0xFF]);
        assert_eq!(r.i32().unwrap_or_default(), 258);
        assert_eq!(
            r.i16(),
            Err(WireError::Truncated {
                offset: 4,
                need: 2,
                have: 1
            })
        );
        assert_eq!(r.u8(), Ok(0xFF));
        assert!(r.is_empty());
    }

    #[test]
    fn length_rejects_negative_and_over_limit() {
        let mut r = Reader::new(&[0; 8]);
        assert!(matches!(r.length("x", -1, 100), Err(WireError::BadLength { .. })));
        assert!(matches!(r.length("x", 101, 100), Err(WireError::BadLength { .. })));
        assert!(matches!(r.length("x", 9, 100), Err(WireError::Truncated { .. })));
        assert_eq!(r.length("x", 8, 100), Ok(8));
    }
}
