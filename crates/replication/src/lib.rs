//! Classic master/slave replication of the commit log (store-and-ha.md §7, Java's
//! `DefaultHAService`): the slave connects to the master's HA port, reports its commit-log max
//! offset, and the master streams the raw commit-log bytes from there; the slave appends them
//! verbatim, so both logs end byte-identical.
//!
//! Pure pieces (the frames in `codec.rs`, [`TransferCursor`], [`ReplicationState`], [`ReplicaStream`]) take
//! `now_ms` and bytes; the tokio shells ([`HaMaster`], [`HaSlave`]) own sockets and timers and
//! reach the store only through the two seams below ([`CommitLogSource`], [`ReplicaSink`]), so
//! they do not depend on how the store is locked; `store_handle.rs` implements both over the
//! store's `StoreHandle`, which itself keeps no sockets. The slave keeps a partial record in
//! memory instead of on disk (unlike Java), so both logs only ever hold whole records and
//! fillers below their end.

mod acks;
mod codec;
mod master;
mod replica_stream;
mod slave;
mod store_handle;
mod tail;

use std::io;

use ferrocket_store::{CommitLogOffset, StoreError, StoreResult};
use thiserror::Error;

pub use acks::{ReplicationState, SLAVES_MAX, SlaveProgress};
pub use codec::{OffsetReport, TRANSFER_BODY_BYTES_MAX, TransferFrame, TransferHeader};
pub use master::{HaMaster, OnSlaveRefused, TransferCursor, TransferStats};
pub use replica_stream::{ReplicaStream, UNIT_BYTES_MAX};
pub use slave::{HaSlave, SlaveStatus};
pub use tail::{TAIL_MARKER, TAIL_RECOVERY_TIMEOUT};

/// Java's `haSendHeartbeatInterval`: reports and heartbeats at least this often.
pub const HEARTBEAT_INTERVAL_MS_DEFAULT: i64 = 5_000;
/// Java's `haHousekeepingInterval`: a side that read nothing for this long closes the connection.
pub const HOUSEKEEPING_INTERVAL_MS_DEFAULT: i64 = 20_000;
/// Java's `haMaxGapNotInSync` (5.x) / `haSlaveFallbehindMax` (4.x): a slave further behind does
/// not count for SYNC_MASTER.
pub const MAX_GAP_NOT_IN_SYNC_DEFAULT: u64 = 256 * 1024 * 1024;
/// Java's slave waits this long before connecting again (`closeMasterAndWait`, fixed in Java).
pub const RECONNECT_INTERVAL_MS_DEFAULT: i64 = 5_000;
/// Java's master writer looks for new data at least this often (`allWaitForRunning(100)`, fixed
/// in Java), so a put the store forgot to announce still goes out.
pub const IDLE_POLL_MS_DEFAULT: i64 = 100;

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
    /// How long an idle master writer waits for an announced append before it looks anyway.
    /// Not a Java property; tests lengthen it to prove that no send waits for this timer.
    pub idle_poll_ms: i64,
}

impl Default for HaConfig {
    fn default() -> HaConfig {
        HaConfig {
            transfer_batch_bytes: codec::TRANSFER_BATCH_BYTES_DEFAULT,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS_DEFAULT,
            housekeeping_interval_ms: HOUSEKEEPING_INTERVAL_MS_DEFAULT,
            max_gap_not_in_sync: MAX_GAP_NOT_IN_SYNC_DEFAULT,
            reconnect_interval_ms: RECONNECT_INTERVAL_MS_DEFAULT,
            idle_poll_ms: IDLE_POLL_MS_DEFAULT,
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
    OffsetMismatch {
        expected: CommitLogOffset,
        received: CommitLogOffset,
    },

    /// Replicated bytes that do not split into records and fillers.
    #[error("replicated bytes at {offset}: {reason}")]
    BadUnit { offset: CommitLogOffset, reason: String },

    /// The slave holds bytes beyond this master's end, and the master took puts since it
    /// started, so the two logs differ from `master_end` on: neither can be fixed from the other.
    #[error("slave log ends at {slave_end}, master's at {master_end} and it took puts since: the logs diverged")]
    Diverged {
        slave_end: CommitLogOffset,
        master_end: CommitLogOffset,
    },

    /// The tail exchange (`tail.rs`) broke its own rules.
    #[error("tail recovery: {reason}")]
    Tail { reason: String },

    #[error("nothing read for {idle_ms} ms")]
    Idle { idle_ms: i64 },

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("ha socket: {0}")]
    Io(#[from] io::Error),
}

/// What the master reads the bytes it sends from (implemented over the broker's `StoreHandle`).
/// Called inline on a connection's task, as the broker's puts are: each call must be short (a
/// lock for one chunk, a read of bytes just written, so in the page cache).
pub trait CommitLogSource: Send + Sync + 'static {
    /// One past the last byte written (Java's `getMaxPhyOffset`).
    fn max_offset(&self) -> CommitLogOffset;
    /// The commit log's segment size (`mappedFileSizeCommitLog`).
    fn segment_bytes(&self) -> u64;
    /// Up to `max_len` bytes from `offset`, never past its segment or the written end (Java's
    /// `getCommitLogData`); empty when nothing is stored at `offset`.
    fn read_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>>;
    /// Appends whole records and fillers at the log's end that a slave held beyond it (the tail
    /// a power cut took, `tail.rs`); over the broker's store it also dispatches them.
    fn append_recovered(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()>;
    /// Refuses puts with `reason` until called with `None` (the tail is being taken back).
    fn hold_puts(&self, reason: Option<String>);
}

/// Where the slave puts what it receives; over the broker's store it also dispatches the new
/// records to consume queues and the index. Called inline on the slave's task, as the broker's
/// puts are (at most one transfer frame of records per call).
pub trait ReplicaSink: Send + Sync + 'static {
    /// One past the last whole record held.
    fn max_offset(&self) -> CommitLogOffset;
    fn segment_bytes(&self) -> u64;
    /// Appends whole records and fillers at `offset` (see `CommitLog::append_raw`).
    fn append_replicated(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()>;
    /// Up to `max_len` bytes of this log from `offset`, never past a segment or the end: what
    /// the slave sends back to a master that lost them (`tail.rs`).
    fn read_replica_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>>;
}
