//! Classic master/slave replication of the commit log (store-and-ha.md §7, Java's
//! `DefaultHAService`): the slave connects to the master's HA port, reports its commit-log max
//! offset, and the master streams the raw commit-log bytes from there; the slave appends them
//! verbatim, so both logs end byte-identical.
//!
//! Pure pieces ([`codec`], [`master::TransferCursor`], [`acks::ReplicationState`],
//! [`replica_stream::ReplicaStream`]) take `now_ms` and bytes; the tokio shells
//! ([`master::HaMaster`], [`slave::HaSlave`]) own sockets and timers and reach the store only
//! through the two seams below ([`CommitLogSource`], [`ReplicaSink`]), so they do not depend on
//! how the store is locked; `store_handle.rs` implements the master's seam over `StoreHandle`.
//! The slave keeps a partial record in memory instead of on disk (unlike Java), so both logs
//! only ever hold whole records and fillers below their end.

pub mod acks;
pub mod codec;
pub mod master;
pub mod replica_stream;
pub mod slave;
mod store_handle;

use std::io;

use thiserror::Error;

use crate::commit_log::CommitLog;
use crate::error::{StoreError, StoreResult};

/// Java's `haSendHeartbeatInterval`: reports and heartbeats at least this often.
pub const HEARTBEAT_INTERVAL_MS_DEFAULT: i64 = 5_000;
/// Java's `haHousekeepingInterval`: a side that read nothing for this long closes the connection.
pub const HOUSEKEEPING_INTERVAL_MS_DEFAULT: i64 = 20_000;
/// Java's `haMaxGapNotInSync` (5.x) / `haSlaveFallbehindMax` (4.x): a slave further behind does
/// not count for SYNC_MASTER.
pub const MAX_GAP_NOT_IN_SYNC_DEFAULT: u64 = 256 * 1024 * 1024;
/// Java's slave waits this long before connecting again (`closeMasterAndWait`, fixed in Java).
pub const RECONNECT_INTERVAL_MS_DEFAULT: i64 = 5_000;

/// The replication settings, named after Java's `MessageStoreConfig` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaConfig {
    /// `haTransferBatchSize`.
    pub transfer_batch_bytes: u32,
    /// `haSendHeartbeatInterval`.
    pub heartbeat_interval_ms: i64,
    /// `haHousekeepingInterval`.
    pub housekeeping_interval_ms: i64,
    /// `haMaxGapNotInSync` / `haSlaveFallbehindMax`.
    pub max_gap_not_in_sync: u64,
    /// How long the slave waits after a failed or lost connection.
    pub reconnect_interval_ms: i64,
}

impl Default for HaConfig {
    fn default() -> HaConfig {
        HaConfig {
            transfer_batch_bytes: codec::TRANSFER_BATCH_BYTES_DEFAULT,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS_DEFAULT,
            housekeeping_interval_ms: HOUSEKEEPING_INTERVAL_MS_DEFAULT,
            max_gap_not_in_sync: MAX_GAP_NOT_IN_SYNC_DEFAULT,
            reconnect_interval_ms: RECONNECT_INTERVAL_MS_DEFAULT,
        }
    }
}

/// Why a replication connection ended or a frame was refused.
#[derive(Debug, Error)]
pub enum HaError {
    /// `need` bytes are required, `have` are available (more input may complete it).
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },

    #[error("negative commit-log offset {value}")]
    NegativeOffset { value: i64 },

    #[error("transfer body size {declared} outside 0..={}", codec::TRANSFER_BODY_BYTES_MAX)]
    BadBodySize { declared: i32 },

    /// The master sent bytes for another offset than the slave's end (Java closes the connection).
    #[error("master sent offset {received}, slave expects {expected}")]
    OffsetMismatch { expected: u64, received: u64 },

    /// Replicated bytes that do not split into records and fillers.
    #[error("replicated bytes at {offset}: {reason}")]
    BadUnit { offset: u64, reason: String },

    #[error("nothing read for {idle_ms} ms")]
    Idle { idle_ms: i64 },

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("ha socket: {0}")]
    Io(#[from] io::Error),
}

/// What the master reads the bytes it sends from (implemented over the broker's `StoreHandle`).
/// Called on tokio's blocking pool, so it may take locks and read files.
pub trait CommitLogSource: Send + Sync + 'static {
    /// One past the last byte written (Java's `getMaxPhyOffset`).
    fn max_offset(&self) -> u64;
    /// The commit log's segment size (`mappedFileSizeCommitLog`).
    fn segment_bytes(&self) -> u64;
    /// Up to `max_len` bytes from `offset`, never past its segment or the written end (Java's
    /// `getCommitLogData`); empty when nothing is stored at `offset`.
    fn read_chunk(&self, offset: u64, max_len: u32) -> StoreResult<Vec<u8>>;
}

/// Where the slave puts what it receives; over the broker's store it also dispatches the new
/// records to consume queues and the index. Called on tokio's blocking pool.
pub trait ReplicaSink: Send + Sync + 'static {
    /// One past the last whole record held.
    fn max_offset(&self) -> u64;
    fn segment_bytes(&self) -> u64;
    /// Appends whole records and fillers at `offset` (see [`CommitLog::append_raw`]).
    fn append_replicated(&self, offset: u64, bytes: &[u8]) -> StoreResult<()>;
}

/// [`CommitLogSource::read_chunk`] over a commit log: bytes from `offset` to the end of what is
/// written in its segment, at most `max_len`; empty when `offset` is outside the stored range.
pub fn read_chunk(log: &CommitLog, offset: u64, max_len: u32) -> StoreResult<Vec<u8>> {
    let end = log.max_offset();
    if offset < log.min_offset() || offset >= end {
        return Ok(Vec::new());
    }
    let segment_bytes = log.segment_bytes();
    let segment_end = (offset - offset % segment_bytes).saturating_add(segment_bytes);
    let len = end.min(segment_end).saturating_sub(offset).min(u64::from(max_len));
    // `len` ≤ `max_len`, a u32.
    log.read_bytes(offset, len as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit_log::CommitLogConfig;

    #[test]
    fn read_chunk_stops_at_the_written_end_and_the_segment_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(&CommitLogConfig {
            segment_bytes: 4096,
            ..CommitLogConfig::new(dir.path())
        })
        .unwrap();
        assert!(read_chunk(&log, 0, 1024).unwrap().is_empty());
        let message = replica_stream::tests::sample_message(3000);
        log.append(&message, 1).unwrap();
        let first_end = log.max_offset();
        log.append(&message, 2).unwrap();
        assert_eq!(read_chunk(&log, 0, 100).unwrap().len(), 100);
        // The second record did not fit: the first segment ends with a filler up to 4096.
        assert_eq!(read_chunk(&log, 10, 1 << 20).unwrap().len(), 4096 - 10);
        assert_eq!(
            read_chunk(&log, first_end, 1 << 20).unwrap().len(),
            (4096 - first_end) as usize
        );
        assert_eq!(read_chunk(&log, 4096, 1 << 20).unwrap().len(), first_end as usize);
        assert!(read_chunk(&log, log.max_offset(), 1 << 20).unwrap().is_empty());
    }
}
