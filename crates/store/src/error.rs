//! The store layer's error: every way a file operation or a stored byte can fail, with the path
//! and offset needed to find it. The broker maps these to RocketMQ response codes at its boundary.

use std::io;
use std::path::{Path, PathBuf};

use ferrocket_wire::WireError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// An operating-system call on `path` failed.
    #[error("i/o error on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    /// The device holding `path` is full; puts must be refused (`SERVICE_NOT_AVAILABLE`).
    #[error("disk full writing {path}")]
    DiskFull { path: PathBuf },

    /// The process may open no more files (EMFILE, ENFILE): this one operation is refused (a put
    /// answers Java's `CREATE_MAPPED_FILE_FAILED`); the next may succeed once descriptors free up.
    #[error("too many open files opening {path}: raise the open-file limit (ulimit -n)")]
    OpenFilesExhausted { path: PathBuf },

    /// Bytes on disk do not form what they should (bad file name or length, bad record).
    #[error("corrupt {file} at byte {offset}: {reason}")]
    Corrupt { file: PathBuf, offset: u64, reason: String },

    /// A message over the configured limit (`MESSAGE_ILLEGAL`, response code 13).
    #[error("message of {bytes} bytes exceeds the limit of {limit}")]
    MessageTooLarge { bytes: usize, limit: usize },

    /// The message cannot be encoded as a record (topic or properties too long, host flags).
    #[error("cannot encode message: {0}")]
    Encode(#[from] WireError),

    /// A read asked for an offset outside `[min, max)`.
    #[error("offset {offset} outside [{min}, {max})")]
    OffsetOutOfRange { offset: u64, min: u64, max: u64 },

    /// A consume-queue entry arrived for a position beyond the queue's end, which would leave a
    /// hole (Java logs a bug and writes anyway; we refuse).
    #[error("consume queue {topic}/{queue_id}: entry for offset {queue_offset}, expected {expected}")]
    QueueOffsetGap {
        topic: String,
        queue_id: i32,
        queue_offset: u64,
        expected: u64,
    },

    /// A topic that cannot name a directory safely (empty, `.`, `..`, or containing `/` or NUL).
    #[error("topic {topic:?} cannot be stored")]
    InvalidTopic { topic: String },

    /// The disk-usage check flagged the store full (over Java's `diskSpaceWarningLevelRatio`):
    /// puts are refused with `SERVICE_NOT_AVAILABLE` until it clears. Displays as Java's
    /// `diskUtil()` alone (`CL:  0.93 CQ:  0.93 INDEX:  0.93`), which the broker's remark wraps
    /// as Java's `SendMessageProcessor` does.
    #[error("{disk_util}")]
    DiskUsageOverLimit { disk_util: String },

    /// The store refuses writes: shut down, disk full or a failed dispatch (`SERVICE_NOT_AVAILABLE`).
    #[error("store not writeable: {reason}")]
    NotWriteable { reason: String },

    /// A configuration value the store cannot work with.
    #[error("bad store configuration: {reason}")]
    BadConfig { reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A refusal that says nothing about the data and may pass (descriptors exhausted): it must
    /// never leave the store refusing puts for good.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::OpenFilesExhausted { .. })
    }
}

/// Wraps an `io::Error` on `path`, telling a full disk and an exhausted descriptor table apart.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| {
        let errno = rustix::io::Errno::from_io_error(&source);
        if source.kind() == io::ErrorKind::StorageFull {
            StoreError::DiskFull { path: path.to_owned() }
        } else if errno == Some(rustix::io::Errno::MFILE) || errno == Some(rustix::io::Errno::NFILE) {
            StoreError::OpenFilesExhausted { path: path.to_owned() }
        } else {
            StoreError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}
