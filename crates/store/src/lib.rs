//! The broker's store: commit log, consume queues and their recovery, in Java's on-disk format
//! (store-and-ha.md §1, §2, §4.3). Positioned file I/O and `fsync`, with memory maps only where
//! a benchmark showed they pay (commit-log appends and pulls, `log_maps.rs`; index files), behind
//! the one `unsafe` module (`mapped.rs`); files are opened on demand through bounded caches of
//! handles (`open_files.rs`), so the number of queues never sets the number of descriptors. Recovery reads what was written after the
//! checkpoint (`recovery.rs`) and rebuilds from the commit log any queue or index file a crash
//! left wrong.
//!
//! One writer owns each structure (`&mut self` appends, no locks); callers pass `now_ms`.
//! [`MessageStore`] ties the pieces together (puts, dispatch, pulls, recovery after a clean or
//! an abnormal exit); [`StoreHandle`] is its threaded shell (flush, group commit, clean-up),
//! reading time only from the injected [`Clock`]. The store keeps no sockets: replication
//! (`ferrocket-replication`) reads raw commit-log bytes ([`MessageStore::read_commit_log_chunk`])
//! and appends them ([`MessageStore::append_replicated`]) through the public API.
//!
//! Positions are typed ([`CommitLogOffset`] bytes, [`QueueOffset`] entries, [`QueueId`]); they
//! become Java longs and ints only at the wire and disk boundaries.
//!
//! Every module is private; what other crates use is re-exported below, and nothing else.

mod abort_file;
mod arrivals;
mod checkpoint;
mod clock;
mod commit_log;
mod config_file;
mod consume_queue;
mod consume_queues;
mod disk;
mod durable_dir;
mod encoded;
mod error;
mod group_commit;
mod index_file;
mod index_files;
mod log_maps;
// The one module allowed `unsafe` (a memory map); its invariants are its module doc.
#[allow(unsafe_code)]
mod mapped;
mod message_store;
mod offsets;
mod open_files;
mod reads;
mod recovery;
mod retention;
mod segments;
mod service;
mod store_config;
mod written_mark;

pub use arrivals::{ARRIVAL_TAGS_CODES_MAX, Arrival};
pub use clock::Clock;
pub use commit_log::{AppendResult, CommitLog, CommitLogConfig, LogRecovery, ScannedRecord};
pub use config_file::{
    BACKUP_SUFFIX, CORRUPT_SUFFIX, TEMPORARY_SUFFIX, load_config_file, persist_config_file, persist_secret_config_file,
    with_suffix,
};
pub use consume_queue::STALE_ENTRIES_MAX;
pub use consume_queue::{ConsumeQueue, ConsumeQueueEntry, QueuePutOutcome};
pub use consume_queues::{ConsumeQueues, DELAY_LEVELS_MS_DEFAULT, QueueRepairs};
pub use disk::{DiskCheck, DiskFullFlag, DiskSpace, DiskState, DiskThresholds, used_ratio_of};
pub use durable_dir::{create_dir_all_durably, sync_parent_dir};
pub use encoded::{EncodedRecords, RecordLimits};
pub use error::{StoreError, StoreResult};
pub use index_file::{IndexGeometry, key_hash};
pub use index_files::{IndexFiles, index_keys};
pub use message_store::{
    MessageStore, OPEN_FILES_LOG_INTERVAL_MS, PutResult, READ_LOAD_FAILURES_LOGGED_EVERY, StoreStats,
};
pub use offsets::{CommitLogOffset, QueueId, QueueOffset};
pub use open_files::{COMMIT_LOG_FILES_OPEN_MAX, INDEX_FILES_OPEN_MAX, QUEUE_FILES_OPEN_MAX};
pub use reads::{GetMessageStatus, GetMessages, GetMessagesResult, QueryByKeyResult};
pub use recovery::RecoveryReport;
pub use retention::{CleanReport, CleanRun, RetentionPolicy, clean_expired};
pub use service::{ArrivalListener, PutOutcome, PutStatus, StoreHandle};
pub use store_config::{FlushDiskType, MessageStoreConfig};
