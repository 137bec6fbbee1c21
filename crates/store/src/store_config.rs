//! The store's settings (Java's `MessageStoreConfig`): names, defaults and the checks made once
//! at open. Property parsing from `broker.conf` is the broker's; this holds typed values.

use std::path::PathBuf;

use crate::commit_log::{BODY_BYTES_MAX_DEFAULT, SEGMENT_BYTES_DEFAULT};
use crate::consume_queue::FILE_ENTRIES_DEFAULT;
use crate::error::{StoreError, StoreResult};
use crate::group_commit::SYNC_FLUSH_TIMEOUT_MS;
use crate::index_file::IndexGeometry;
use crate::index_files::QUERY_RESULTS_MAX;
use crate::retention;

/// Java's `flushIntervalCommitLog`.
pub const FLUSH_INTERVAL_MS_DEFAULT: u64 = 500;
/// Java's `fileReservedTime` (hours).
pub const FILE_RESERVED_HOURS_DEFAULT: u32 = retention::FILE_RESERVED_HOURS_DEFAULT;
/// Java's `diskMaxUsedSpaceRatio` (percent).
pub const DISK_MAX_USED_SPACE_RATIO_DEFAULT: u32 = 75;
/// Java's `maxTransferBytesOnMessageInMemory`: pull byte cap for data still in the page cache.
pub const TRANSFER_BYTES_IN_MEMORY_DEFAULT: u32 = 256 * 1024;
/// Java's `maxTransferCountOnMessageInMemory`.
pub const TRANSFER_COUNT_IN_MEMORY_DEFAULT: u32 = 32;
/// Java's `maxTransferBytesOnMessageInDisk`: pull byte cap for data that must come from disk.
pub const TRANSFER_BYTES_ON_DISK_DEFAULT: u32 = 64 * 1024;
/// Java's `maxTransferCountOnMessageInDisk`.
pub const TRANSFER_COUNT_ON_DISK_DEFAULT: u32 = 8;
/// Java's `maxFilterMessageSize`: a pull examines at least this many consume-queue bytes.
pub const FILTER_SCAN_BYTES_DEFAULT: u32 = 16_000;
/// Java's `accessMessageInMemoryMaxRatio` (40 %) of an assumed 16 GiB of RAM: records within
/// this many bytes of the log's end count as "in memory" (Java measures the machine's RAM; the
/// broker may set the real figure).
pub const IN_MEMORY_WINDOW_BYTES_DEFAULT: u64 = 16 * (1 << 30) * 40 / 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: the put returns after the write; a timer flushes.
    Async,
    /// `SYNC_FLUSH`: the put returns after its record is on disk.
    Sync,
}

/// The store's settings, with Java's names and defaults (`MessageStoreConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageStoreConfig {
    /// `storePathRootDir`; the commit log lives in `root/commitlog`.
    pub root: PathBuf,
    /// `mappedFileSizeCommitLog`.
    pub commit_log_segment_bytes: u64,
    /// `mappedFileSizeConsumeQueue / 20`.
    pub consume_queue_file_entries: u64,
    /// `maxMessageSize`.
    pub body_bytes_max: usize,
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`.
    pub flush_interval_ms: u64,
    /// `syncFlushTimeout`.
    pub sync_flush_timeout_ms: i64,
    /// `fileReservedTime`.
    pub file_reserved_hours: u32,
    /// `deleteWhen`: `;`-separated hours of day.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`.
    pub disk_max_used_space_ratio: u32,
    pub max_transfer_bytes_on_message_in_memory: u32,
    pub max_transfer_count_on_message_in_memory: u32,
    pub max_transfer_bytes_on_message_in_disk: u32,
    pub max_transfer_count_on_message_in_disk: u32,
    /// `maxFilterMessageSize`.
    pub filter_scan_bytes: u32,
    /// `accessMessageInMemoryMaxRatio` × RAM, in bytes.
    pub in_memory_window_bytes: u64,
    /// `maxMsgsNumBatch`: the most messages one query by key returns.
    pub max_msgs_num_batch: u32,
    /// `messageIndexEnable`.
    pub message_index_enable: bool,
    pub index: IndexGeometry,
    /// `messageDelayLevel`, parsed: the delay of each level in ms (index = level - 1).
    pub message_delay_levels_ms: Vec<i64>,
}

impl MessageStoreConfig {
    /// Java's defaults, rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> MessageStoreConfig {
        MessageStoreConfig {
            root: root.into(),
            commit_log_segment_bytes: SEGMENT_BYTES_DEFAULT,
            consume_queue_file_entries: FILE_ENTRIES_DEFAULT,
            body_bytes_max: BODY_BYTES_MAX_DEFAULT,
            flush_disk_type: FlushDiskType::Async,
            flush_interval_ms: FLUSH_INTERVAL_MS_DEFAULT,
            sync_flush_timeout_ms: SYNC_FLUSH_TIMEOUT_MS,
            file_reserved_hours: FILE_RESERVED_HOURS_DEFAULT,
            delete_when: retention::DELETE_WHEN_DEFAULT.to_owned(),
            disk_max_used_space_ratio: DISK_MAX_USED_SPACE_RATIO_DEFAULT,
            max_transfer_bytes_on_message_in_memory: TRANSFER_BYTES_IN_MEMORY_DEFAULT,
            max_transfer_count_on_message_in_memory: TRANSFER_COUNT_IN_MEMORY_DEFAULT,
            max_transfer_bytes_on_message_in_disk: TRANSFER_BYTES_ON_DISK_DEFAULT,
            max_transfer_count_on_message_in_disk: TRANSFER_COUNT_ON_DISK_DEFAULT,
            filter_scan_bytes: FILTER_SCAN_BYTES_DEFAULT,
            in_memory_window_bytes: IN_MEMORY_WINDOW_BYTES_DEFAULT,
            max_msgs_num_batch: QUERY_RESULTS_MAX as u32,
            message_index_enable: true,
            index: IndexGeometry::DEFAULT,
            message_delay_levels_ms: crate::consume_queues::DELAY_LEVELS_MS_DEFAULT.to_vec(),
        }
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Rejects values the store cannot work with (called by `MessageStore::open`).
    pub fn validate(&self) -> StoreResult<()> {
        let bad = |reason: &str| {
            Err(StoreError::BadConfig {
                reason: reason.to_owned(),
            })
        };
        if self.consume_queue_file_entries == 0 {
            return bad("consume-queue files of 0 entries");
        }
        if self.max_transfer_count_on_message_in_memory == 0 || self.max_transfer_count_on_message_in_disk == 0 {
            return bad("pull transfer count of 0");
        }
        if self.filter_scan_bytes == 0 {
            return bad("maxFilterMessageSize of 0");
        }
        if self.sync_flush_timeout_ms <= 0 {
            return bad("syncFlushTimeout must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_java_and_bad_values_are_refused() {
        let config = MessageStoreConfig::new("/store");
        assert_eq!(config.commit_log_segment_bytes, 1 << 30);
        assert_eq!(config.consume_queue_file_entries, 300_000);
        assert_eq!(config.flush_disk_type, FlushDiskType::Async);
        assert_eq!((config.file_reserved_hours, config.delete_when.as_str()), (72, "04"));
        assert_eq!(config.checkpoint_path(), PathBuf::from("/store/checkpoint"));
        assert!(config.validate().is_ok());
        for broken in [
            MessageStoreConfig {
                consume_queue_file_entries: 0,
                ..config.clone()
            },
            MessageStoreConfig {
                sync_flush_timeout_ms: 0,
                ..config.clone()
            },
            MessageStoreConfig {
                max_transfer_count_on_message_in_disk: 0,
                ..config.clone()
            },
        ] {
            assert!(matches!(broken.validate(), Err(StoreError::BadConfig { .. })));
        }
    }
}
