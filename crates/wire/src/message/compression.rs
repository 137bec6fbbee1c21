//! Message body compression (`common/compression/`): the producer compresses, the broker stores
//! the bytes unchanged, the consumer decompresses.
//!
//! Only zlib (RFC 1950, Java's `Deflater` / `InflaterInputStream`) is implemented. LZ4 (frame
//! format) and ZSTD need crates the workspace does not have yet; both return
//! `WireError::UnsupportedCompression` until they are added. Output is bounded by
//! [`DECOMPRESSED_BYTES_MAX`] so a small hostile body cannot expand without limit. Compressed
//! bytes need not match Java's byte for byte (different deflate implementations); any zlib
//! reader accepts them.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::{WireError, WireResult};
use crate::message::sysflag::CompressionType;

/// Java producers refuse bodies over `maxMessageSize` (4 MiB by default) before compressing;
/// 64 MiB leaves room for raised limits while stopping a decompression bomb.
pub const DECOMPRESSED_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Java's producer compresses single-message bodies of at least this many bytes
/// (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_BODY_BYTES_MIN: usize = 4096;
/// Java's default `rocketmq.message.compressLevel`.
pub const COMPRESS_LEVEL_DEFAULT: u32 = 5;
/// zlib's levels run 0..=9.
const COMPRESS_LEVEL_MAX: u32 = 9;

/// Compresses `body` with `kind` at `level` (0..=9; higher levels are clamped to 9).
pub fn compress(kind: CompressionType, body: &[u8], level: u32) -> WireResult<Vec<u8>> {
    match kind {
        CompressionType::Zlib => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level.min(COMPRESS_LEVEL_MAX)));
            encoder
                .write_all(body)
                .and_then(|()| encoder.finish())
                .map_err(|e| WireError::Unencodable {
                    what: "zlib body",
                    reason: e.to_string(),
                })
        }
        other => Err(unsupported(other)),
    }
}

/// Decompresses `body`; fails on corrupt or truncated input and on output over
/// [`DECOMPRESSED_BYTES_MAX`]. Bytes after the end of the zlib stream are ignored, as in Java.
pub fn decompress(kind: CompressionType, body: &[u8]) -> WireResult<Vec<u8>> {
    match kind {
        CompressionType::Zlib => {
            let mut out = Vec::new();
            let limit = DECOMPRESSED_BYTES_MAX as u64 + 1;
            ZlibDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| WireError::BadCompression(format!("zlib: {e}")))?;
            if out.len() > DECOMPRESSED_BYTES_MAX {
                return Err(WireError::BadCompression(format!(
                    "zlib output over {DECOMPRESSED_BYTES_MAX} bytes"
                )));
            }
            Ok(out)
        }
        other => Err(unsupported(other)),
    }
}

fn unsupported(kind: CompressionType) -> WireError {
    WireError::UnsupportedCompression {
        type_value: kind.flag_bits() >> 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trip() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let packed = compress(CompressionType::Zlib, &body, COMPRESS_LEVEL_DEFAULT).unwrap();
        assert!(packed.len() < body.len());
        assert_eq!(packed[0], 0x78, "zlib header");
        assert_eq!(decompress(CompressionType::Zlib, &packed).unwrap(), body);
    }

    #[test]
    fn decompresses_known_zlib_bytes() {
        // zlib.compress(b"hello") from CPython, which Java's Inflater reads the same way.
        let packed = [
            0x78, 0x9C, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x06, 0x2C, 0x02, 0x15,
        ];
        assert_eq!(decompress(CompressionType::Zlib, &packed).unwrap(), b"hello");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let packed = compress(CompressionType::Zlib, b"some body worth compressing", 5).unwrap();
        for cut in 0..packed.len() {
            assert!(
                decompress(CompressionType::Zlib, &packed[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn output_is_bounded() {
        let zeros = vec![0u8; DECOMPRESSED_BYTES_MAX + 1];
        let packed = compress(CompressionType::Zlib, &zeros, 9).unwrap();
        assert!(matches!(
            decompress(CompressionType::Zlib, &packed),
            Err(WireError::BadCompression(_))
        ));
    }

    #[test]
    fn lz4_and_zstd_are_not_supported_yet() {
        assert_eq!(
            decompress(CompressionType::Lz4, b"x"),
            Err(WireError::UnsupportedCompression { type_value: 1 })
        );
        assert_eq!(
            compress(CompressionType::Zstd, b"x", 5),
            Err(WireError::UnsupportedCompression { type_value: 2 })
        );
    }
}
