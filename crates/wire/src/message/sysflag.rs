//! `MessageSysFlag`: the bit field carried in the send header (`f`/`sysFlag`) and stored in every
//! record.
//!
//! ```text
//! bit  10..8        7            6            5            4            3..2        1           0
//!      compression  INNER_BATCH  NEED_UNWRAP  STOREHOST_V6 BORNHOST_V6  transaction MULTI_TAGS  COMPRESSED
//! ```
//! Kept as a plain `i32` with masks and small functions, because Java sends and stores it as an
//! int and unknown bits must survive a decode/encode round trip untouched.

use std::net::SocketAddr;

use crate::error::{WireError, WireResult};

/// The body is compressed; bits 8-10 say how.
pub const COMPRESSED: i32 = 0x001;
/// Set by the broker when the topic's filter type is MULTI_TAG.
pub const MULTI_TAGS: i32 = 0x002;
/// Bits 2-3: the transaction type.
pub const TRANSACTION_TYPE_MASK: i32 = 0x00C;
pub const TRANSACTION_NOT_TYPE: i32 = 0x000;
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x004;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x008;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x00C;
/// The record's born host is 16-byte IPv6.
pub const BORNHOST_V6: i32 = 0x010;
/// The record's store host is 16-byte IPv6.
pub const STOREHOST_V6: i32 = 0x020;
/// 5.x inner batch: the body holds several messages to unwrap.
pub const NEED_UNWRAP: i32 = 0x040;
/// 5.x inner batch record.
pub const INNER_BATCH: i32 = 0x080;
/// Bits 8-10: the compression type, meaningful only with [`COMPRESSED`].
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
pub const COMPRESSION_LZ4: i32 = 0x100;
pub const COMPRESSION_ZSTD: i32 = 0x200;
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// How a compressed body is encoded (`CompressionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    /// zlib-wrapped deflate; type value 3, or 0 from clients older than 4.9.4.
    Zlib,
    /// LZ4 frame format; type value 1.
    Lz4,
    /// Zstandard frame; type value 2.
    Zstd,
}

impl CompressionType {
    /// The compression type of `sys_flag`, whether or not [`COMPRESSED`] is set.
    /// Type values 4-7 are unknown to Java too (`CompressionType.findByValue` throws).
    pub fn from_sys_flag(sys_flag: i32) -> WireResult<CompressionType> {
        match (sys_flag & COMPRESSION_TYPE_MASK) >> 8 {
            0 | 3 => Ok(CompressionType::Zlib),
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            type_value => Err(WireError::UnsupportedCompression { type_value }),
        }
    }

    /// The bits 8-10 value Java's producer writes for this type.
    pub fn flag_bits(self) -> i32 {
        match self {
            CompressionType::Zlib => COMPRESSION_ZLIB,
            CompressionType::Lz4 => COMPRESSION_LZ4,
            CompressionType::Zstd => COMPRESSION_ZSTD,
        }
    }
}

/// The transaction type in bits 2-3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionType {
    Not,
    Prepared,
    Commit,
    Rollback,
}

impl TransactionType {
    pub fn from_sys_flag(sys_flag: i32) -> TransactionType {
        match sys_flag & TRANSACTION_TYPE_MASK {
            TRANSACTION_PREPARED_TYPE => TransactionType::Prepared,
            TRANSACTION_COMMIT_TYPE => TransactionType::Commit,
            TRANSACTION_ROLLBACK_TYPE => TransactionType::Rollback,
            _ => TransactionType::Not,
        }
    }

    pub fn flag_bits(self) -> i32 {
        match self {
            TransactionType::Not => TRANSACTION_NOT_TYPE,
            TransactionType::Prepared => TRANSACTION_PREPARED_TYPE,
            TransactionType::Commit => TRANSACTION_COMMIT_TYPE,
            TransactionType::Rollback => TRANSACTION_ROLLBACK_TYPE,
        }
    }

    /// Prepared and rolled-back messages get no consume-queue slot (queue offset 0 in the record).
    pub fn takes_queue_offset(self) -> bool {
        matches!(self, TransactionType::Not | TransactionType::Commit)
    }
}

/// `sys_flag` with its transaction bits replaced (`resetTransactionValue`).
pub fn with_transaction_type(sys_flag: i32, transaction: TransactionType) -> i32 {
    (sys_flag & !TRANSACTION_TYPE_MASK) | transaction.flag_bits()
}

pub fn is_compressed(sys_flag: i32) -> bool {
    sys_flag & COMPRESSED != 0
}

/// What the consumer hands the application after decompressing (`clearCompressedFlag`).
pub fn clear_compressed(sys_flag: i32) -> i32 {
    sys_flag & !COMPRESSED
}

pub fn is_born_host_v6(sys_flag: i32) -> bool {
    sys_flag & BORNHOST_V6 != 0
}

pub fn is_store_host_v6(sys_flag: i32) -> bool {
    sys_flag & STOREHOST_V6 != 0
}

/// `sys_flag` with bits 4 and 5 set from the address families, as the broker does before it
/// encodes a record.
pub fn with_host_flags(sys_flag: i32, born_host: &SocketAddr, store_host: &SocketAddr) -> i32 {
    let mut flag = sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
    if born_host.is_ipv6() {
        flag |= BORNHOST_V6;
    }
    if store_host.is_ipv6() {
        flag |= STOREHOST_V6;
    }
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_type_values() {
        assert_eq!(CompressionType::from_sys_flag(COMPRESSED), Ok(CompressionType::Zlib));
        assert_eq!(
            CompressionType::from_sys_flag(COMPRESSED | 0x300),
            Ok(CompressionType::Zlib)
        );
        assert_eq!(CompressionType::from_sys_flag(0x101), Ok(CompressionType::Lz4));
        assert_eq!(CompressionType::from_sys_flag(0x201), Ok(CompressionType::Zstd));
        assert_eq!(
            CompressionType::from_sys_flag(0x401),
            Err(WireError::UnsupportedCompression { type_value: 4 })
        );
        assert_eq!(CompressionType::Zlib.flag_bits() | COMPRESSED, 0x301);
    }

    #[test]
    fn transaction_type_round_trip() {
        for t in [
            TransactionType::Not,
            TransactionType::Prepared,
            TransactionType::Commit,
            TransactionType::Rollback,
        ] {
            let flag = with_transaction_type(COMPRESSED | TRANSACTION_ROLLBACK_TYPE | BORNHOST_V6, t);
            assert_eq!(TransactionType::from_sys_flag(flag), t);
            assert_eq!(flag & !TRANSACTION_TYPE_MASK, COMPRESSED | BORNHOST_V6);
        }
        assert!(!TransactionType::Prepared.takes_queue_offset());
        assert!(TransactionType::Commit.takes_queue_offset());
    }

    #[test]
    fn host_flags_follow_address_families() {
        let v4: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let v6: SocketAddr = "[::1]:10911".parse().unwrap();
        assert_eq!(with_host_flags(STOREHOST_V6 | 1, &v4, &v4), 1);
        let flag = with_host_flags(0, &v6, &v4);
        assert!(is_born_host_v6(flag) && !is_store_host_v6(flag));
        assert_eq!(with_host_flags(0, &v4, &v6), STOREHOST_V6);
        assert_eq!(clear_compressed(0x301), 0x300);
        assert!(is_compressed(0x301));
    }
}
