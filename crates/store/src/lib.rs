//! The broker's store: commit log, consume queues and their recovery, in Java's on-disk format
//! (store-and-ha.md §1, §2, §4.3). Plain positioned file I/O and `fsync`, no memory maps.
//!
//! One writer owns each structure (`&mut self` appends, no locks); callers pass `now_ms`.
//! [`MessageStore`] ties the pieces together (puts, dispatch, pulls, recovery after a clean or
//! an abnormal exit); [`StoreHandle`] is its threaded shell (flush, group commit, clean-up).

pub mod abort_file;
pub mod checkpoint;
pub mod commit_log;
pub mod config_file;
pub mod consume_queue;
pub mod consume_queues;
pub mod disk;
pub mod error;
pub mod group_commit;
pub mod ha;
pub mod index_file;
pub mod index_files;
pub mod message_store;
pub mod reads;
pub mod retention;
mod segments;
pub mod service;
pub mod store_config;

pub use checkpoint::Checkpoint;
pub use commit_log::{AppendResult, CommitLog, CommitLogConfig, ScannedRecord};
pub use consume_queue::{ConsumeQueue, ConsumeQueueEntry};
pub use consume_queues::ConsumeQueues;
pub use disk::{DiskCheck, DiskSpace, DiskState, DiskThresholds};
pub use error::{StoreError, StoreResult};
pub use group_commit::{FlushOutcome, GroupCommit};
pub use message_store::{MessageStore, PutResult, StoreStats};
pub use reads::{GetMessageStatus, GetMessages, GetMessagesResult, QueryByKeyResult};
pub use retention::{CleanReport, RetentionPolicy, clean_expired};
pub use service::{ArrivalListener, Clock, PutOutcome, PutStatus, StoreHandle};
pub use store_config::{FlushDiskType, MessageStoreConfig};
