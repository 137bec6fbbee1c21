//! Opening a store after a clean or an abnormal exit (store-and-ha.md §4.3), and the report of
//! what recovery found.
//!
//! With a checkpoint of ours (`Checkpoint::synced_end`), recovery reads only what was written
//! after it: the commit log is checked from there, the records from there are re-dispatched
//! (loading, checking and repairing only the queues they name; other queues load when first
//! touched), and the index re-indexes from its newest entry. Its cost follows the unsynced tail,
//! not the size of the store or the number of queues. Without one (a store Java wrote, a first
//! start, a missing `consumequeue/`), it falls back to Java's rules: the last three segments
//! checked, every queue loaded, the index files newer than the checkpoint deleted after an
//! abnormal exit and rebuilt.
//!
//! After a process kill (the abort file there, the machine not rebooted) a valid written mark
//! (`written_mark.rs`) moves the start later still, to where the killed process had written
//! everything into the page cache: the cost then follows the last fraction of a second of writes,
//! not how far the disk's flush lagged.
//!
//! After recovery the tail it read is synced again at the first flush (its bytes may still be
//! only in the page cache of the crashed process's machine) before a new checkpoint claims it.

use crate::checkpoint::Checkpoint;
use crate::commit_log::{CommitLog, CommitLogConfig};
use crate::consume_queues::ConsumeQueues;
use crate::error::StoreResult;
use crate::index_files::IndexFiles;
use crate::offsets::CommitLogOffset;
use crate::store_config::MessageStoreConfig;

/// What opening the store found and did; the shell logs it with the time it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The abort file was there: the last run did not shut down cleanly.
    pub abnormal_exit: bool,
    /// Recovery started at the checkpoint's synced end (else Java's three segments back).
    pub from_checkpoint: bool,
    /// It started later, at the written mark a killed process left (`written_mark.rs`).
    pub from_written_mark: bool,
    /// Where checking the commit log began.
    pub recovery_start: CommitLogOffset,
    /// The commit log's end after recovery.
    pub log_end: CommitLogOffset,
    /// Commit-log records checked (CRC included) to find the valid end.
    pub records_scanned: u64,
    /// Records dispatched again to the consume queues.
    pub records_redispatched: u64,
    /// Data past the valid end that was dropped (a torn record).
    pub bytes_truncated: u64,
    /// Commit-log files deleted or regrown because a crash left them empty or short.
    pub commit_log_files_repaired: usize,
    /// Consume queues read from disk during recovery (the rest load when first used).
    pub queues_loaded: u64,
    /// Consume queues that had to be repaired.
    pub queues_repaired: u64,
    /// Queue entries dropped (their records were lost) and rewritten or rebuilt from the log.
    pub queue_entries_dropped: u64,
    pub queue_entries_rebuilt: u64,
    /// Index files deleted because a crash left them unusable or empty.
    pub index_files_repaired: usize,
}

/// The recovered parts of a store.
pub(crate) struct Recovered {
    pub(crate) log: CommitLog,
    pub(crate) queues: ConsumeQueues,
    pub(crate) index: IndexFiles,
    pub(crate) report: RecoveryReport,
}

/// Opens and recovers the commit log, the consume queues and the index of `config.root`;
/// `written_end` is a written mark the killed process left (`written_mark.rs`), if one is valid.
pub(crate) fn recover(
    config: &MessageStoreConfig,
    checkpoint: &Checkpoint,
    abnormal_exit: bool,
    written_end: Option<CommitLogOffset>,
    now_ms: i64,
) -> StoreResult<Recovered> {
    let log_config = CommitLogConfig {
        dir: config.root.join("commitlog"),
        segment_bytes: config.commit_log_segment_bytes,
        body_bytes_max: config.body_bytes_max,
    };
    let mut queues = ConsumeQueues::open(&config.root, config.consume_queue_file_entries)?
        .with_delay_levels_ms(config.message_delay_levels_ms.clone());
    // No queue directory at all: someone may have removed `consumequeue/` to have it rebuilt
    // (Java rebuilds it); the checkpoint cannot vouch for queues that are not there.
    let synced_end = checkpoint.synced_end.filter(|_| !queues.is_empty());
    let written_end = written_end.filter(|_| abnormal_exit && !queues.is_empty());
    let log = CommitLog::open_recovering(&log_config, synced_end, written_end)?;
    let log_recovery = log.recovered();
    let from_checkpoint = log_recovery.from_checkpoint;
    let records_redispatched = if from_checkpoint {
        queues.redispatch(&log, log.recovery_start())?
    } else {
        queues.recover(&log)?
    };
    // What recovery read may be only in the page cache: synced before the next checkpoint.
    queues.mark_all_dirty();
    let mut index = IndexFiles::open(&config.root, config.index)?;
    if abnormal_exit && !from_checkpoint {
        index.delete_after_abnormal_exit(checkpoint.index_msg_timestamp_ms)?;
    }
    if config.message_index_enable {
        index.recover(&log, now_ms)?;
    }
    let repairs = queues.repairs();
    let report = RecoveryReport {
        abnormal_exit,
        from_checkpoint,
        from_written_mark: log_recovery.from_written_mark,
        recovery_start: log.recovery_start(),
        log_end: log.max_offset(),
        records_scanned: log_recovery.records_scanned,
        records_redispatched,
        bytes_truncated: log_recovery.bytes_truncated,
        commit_log_files_repaired: log_recovery.files_repaired,
        queues_loaded: repairs.queues_loaded,
        queues_repaired: repairs.queues_repaired,
        queue_entries_dropped: repairs.entries_dropped,
        queue_entries_rebuilt: repairs.entries_rebuilt,
        index_files_repaired: index.repaired_files(),
    };
    Ok(Recovered {
        log,
        queues,
        index,
        report,
    })
}
