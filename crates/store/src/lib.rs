//! The broker's store: commit log, consume queues and their recovery, in Java's on-disk format
//! (store-and-ha.md §1, §2, §4.3). Plain positioned file I/O and `fsync`, no memory maps.
//!
//! One writer owns each structure (`&mut self` appends, no locks); callers pass `now_ms`.
//! The checkpoint file, SYNC_FLUSH group commit and the index files (§3) are here as pieces the
//! broker drives; the flush/dispatch tasks and clean-up are not built yet.

pub mod checkpoint;
pub mod commit_log;
pub mod consume_queue;
pub mod consume_queues;
pub mod error;
pub mod group_commit;
pub mod index_file;
pub mod index_files;
mod segments;

pub use checkpoint::Checkpoint;
pub use commit_log::{AppendResult, CommitLog, CommitLogConfig, ScannedRecord};
pub use consume_queue::{ConsumeQueue, ConsumeQueueEntry, PutOutcome};
pub use consume_queues::ConsumeQueues;
pub use error::{StoreError, StoreResult};
pub use group_commit::{FlushOutcome, GroupCommit};
