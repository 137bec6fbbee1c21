//! The checkpoint file `<root>/checkpoint` (store-and-ha.md §4.1, `StoreCheckpoint`): 4096 bytes,
//! of which the first 40 hold five big-endian i64 values, rewritten together and then synced.
//!
//! ```text
//!  0 physicMsgTimestamp   8 logicsMsgTimestamp   16 indexMsgTimestamp
//! 24 masterFlushedOffset 32 confirmPhyOffset     40..4096 zeros
//! ```

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{StoreError, StoreResult, io_error};

/// Java maps one page for the checkpoint.
pub const CHECKPOINT_FILE_BYTES: u64 = 4096;
/// The five values.
pub const CHECKPOINT_BYTES: usize = 40;
/// Recovery after an abnormal exit starts this far before the older of the two timestamps, to
/// cover messages stored while the checkpoint was being written (`getMinTimestamp`).
const MIN_TIMESTAMP_MARGIN_MS: i64 = 3000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Store time of the last commit-log message covered by a full flush.
    pub physic_msg_timestamp_ms: i64,
    /// Store time of the last message written to a consume queue.
    pub logics_msg_timestamp_ms: i64,
    /// End time of the last full, flushed index file.
    pub index_msg_timestamp_ms: i64,
    pub master_flushed_offset: i64,
    pub confirm_phy_offset: i64,
}

impl Checkpoint {
    pub fn encode(&self) -> [u8; CHECKPOINT_BYTES] {
        let mut out = [0u8; CHECKPOINT_BYTES];
        let values = self.values();
        for (chunk, value) in out.chunks_exact_mut(8).zip(values) {
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8; CHECKPOINT_BYTES]) -> Checkpoint {
        let mut values = [0i64; 5];
        for (value, chunk) in values.iter_mut().zip(bytes.chunks_exact(8)) {
            *value = i64::from_be_bytes(chunk.try_into().unwrap_or_default());
        }
        let [physic, logics, index, master_flushed, confirm] = values;
        Checkpoint {
            physic_msg_timestamp_ms: physic,
            logics_msg_timestamp_ms: logics,
            index_msg_timestamp_ms: index,
            master_flushed_offset: master_flushed,
            confirm_phy_offset: confirm,
        }
    }

    /// Reads `path`; a missing file is a fresh store (all zeros).
    pub fn load(path: &Path) -> StoreResult<Checkpoint> {
        let file = match OpenOptions::new().read(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Checkpoint::default()),
            Err(error) => return Err(io_error(path)(error)),
        };
        let mut bytes = [0u8; CHECKPOINT_BYTES];
        file.read_exact_at(&mut bytes, 0).map_err(|error| {
            if error.kind() == std::io::ErrorKind::UnexpectedEof {
                StoreError::Corrupt {
                    file: path.to_owned(),
                    offset: 0,
                    reason: format!("checkpoint shorter than {CHECKPOINT_BYTES} bytes"),
                }
            } else {
                io_error(path)(error)
            }
        })?;
        Ok(Checkpoint::decode(&bytes))
    }

    /// Writes all five values to `path` (a 4096-byte file) and syncs it.
    pub fn store(&self, path: &Path) -> StoreResult<()> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error(path))?;
        file.set_len(CHECKPOINT_FILE_BYTES).map_err(io_error(path))?;
        file.write_all_at(&self.encode(), 0).map_err(io_error(path))?;
        file.sync_data().map_err(io_error(path))
    }

    /// Where abnormal recovery may start by store time (`getMinTimestamp`).
    pub fn min_timestamp_ms(&self) -> i64 {
        (self.physic_msg_timestamp_ms.min(self.logics_msg_timestamp_ms) - MIN_TIMESTAMP_MARGIN_MS).max(0)
    }

    /// The same, bounded by the index (`getMinTimestampIndex`).
    pub fn min_timestamp_index_ms(&self) -> i64 {
        self.min_timestamp_ms().min(self.index_msg_timestamp_ms)
    }

    fn values(&self) -> [i64; 5] {
        [
            self.physic_msg_timestamp_ms,
            self.logics_msg_timestamp_ms,
            self.index_msg_timestamp_ms,
            self.master_flushed_offset,
            self.confirm_phy_offset,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_4096_byte_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let checkpoint = Checkpoint {
            physic_msg_timestamp_ms: 1_700_000_005_000,
            logics_msg_timestamp_ms: 1_700_000_004_000,
            index_msg_timestamp_ms: 1_600_000_000_000,
            master_flushed_offset: -1,
            confirm_phy_offset: 0x0102,
        };
        checkpoint.store(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), CHECKPOINT_FILE_BYTES);
        assert_eq!(Checkpoint::load(&path).unwrap(), checkpoint);
        let bytes = checkpoint.encode();
        assert_eq!(&bytes[..8], &1_700_000_005_000i64.to_be_bytes());
        assert_eq!(&bytes[24..32], &[0xFF; 8]);
        assert_eq!(&bytes[32..], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(checkpoint.min_timestamp_ms(), 1_700_000_001_000);
        assert_eq!(checkpoint.min_timestamp_index_ms(), 1_600_000_000_000);
        assert_eq!(Checkpoint::default().min_timestamp_ms(), 0);
    }

    #[test]
    fn a_short_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        std::fs::write(&path, [0u8; 39]).unwrap();
        assert!(matches!(Checkpoint::load(&path), Err(StoreError::Corrupt { .. })));
    }
}
