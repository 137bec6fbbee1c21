//! The checkpoint file `<root>/checkpoint` (store-and-ha.md §4.1, `StoreCheckpoint`): 4096 bytes,
//! of which the first 40 hold five big-endian i64 values, rewritten together and then synced.
//!
//! ```text
//!  0 physicMsgTimestamp   8 logicsMsgTimestamp   16 indexMsgTimestamp
//! 24 masterFlushedOffset 32 confirmPhyOffset     40..64 left as they are (5.4 uses 40..48)
//! 64 "FRCKCKP1" (u64)    72 syncedEnd (i64)      80 crc32 of bytes 0..40 (i32)    84..4096 zeros
//! ```
//! Bytes 64..84 are ours and Java never reads or writes them: `syncedEnd` is the commit-log
//! offset below which every record and its consume-queue and index entries were on disk when
//! the checkpoint was written, so recovery checks and re-dispatches only the log after it. The
//! CRC ties it to the Java values written with it: if a Java broker rewrote the checkpoint
//! since, it no longer matches and recovery falls back to Java's rules.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use ferrocket_wire::message::record::body_crc;

use crate::error::{StoreResult, io_error};
use crate::offsets::CommitLogOffset;

/// Java maps one page for the checkpoint.
pub const CHECKPOINT_FILE_BYTES: u64 = 4096;
/// The five values.
pub const CHECKPOINT_BYTES: usize = 40;
/// Recovery after an abnormal exit starts this far before the older of the two timestamps, to
/// cover messages stored while the checkpoint was being written (`getMinTimestamp`).
const MIN_TIMESTAMP_MARGIN_MS: i64 = 3000;
/// Where our synced end lives: past Java's values and the one 5.4 added at 40.
const SYNCED_END_POSITION: u64 = 64;
/// Marks the synced-end block as written by us.
const SYNCED_END_MAGIC: [u8; 8] = *b"FRCKCKP1";
/// Magic, offset, CRC.
const SYNCED_END_BYTES: usize = 20;

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
    /// Everything below this commit-log offset (records, queue and index entries) was synced
    /// when the checkpoint was written; `None` when the file has no valid mark of ours.
    pub synced_end: Option<CommitLogOffset>,
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
            synced_end: None,
        }
    }

    /// Our block: magic, synced end, and the CRC of the Java values beside it.
    fn encode_synced_end(&self) -> Option<[u8; SYNCED_END_BYTES]> {
        let synced_end = self.synced_end?;
        let mut out = [0u8; SYNCED_END_BYTES];
        let (magic, rest) = out.split_at_mut(8);
        let (offset, crc) = rest.split_at_mut(8);
        magic.copy_from_slice(&SYNCED_END_MAGIC);
        offset.copy_from_slice(&synced_end.to_java_long().to_be_bytes());
        crc.copy_from_slice(&body_crc(&self.encode()).to_be_bytes());
        Some(out)
    }

    /// The synced end in `block` if it is ours and was written with `self`'s Java values.
    fn decode_synced_end(&self, block: &[u8; SYNCED_END_BYTES]) -> Option<CommitLogOffset> {
        let (magic, rest) = block.split_at(8);
        let (offset, crc) = rest.split_at(8);
        let crc = i32::from_be_bytes(crc.try_into().ok()?);
        if magic != SYNCED_END_MAGIC || crc != body_crc(&self.encode()) {
            return None;
        }
        CommitLogOffset::from_java_long(i64::from_be_bytes(offset.try_into().ok()?))
    }

    /// Reads `path`; a missing file is a fresh store (all zeros).
    pub fn load(path: &Path) -> StoreResult<Checkpoint> {
        let file = match OpenOptions::new().read(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Checkpoint::default()),
            Err(error) => return Err(io_error(path)(error)),
        };
        let mut bytes = [0u8; CHECKPOINT_BYTES];
        match file.read_exact_at(&mut bytes, 0) {
            Ok(()) => {}
            // Killed while creating it: it says nothing, so recovery trusts nothing (Java's
            // mapping of a fresh file reads zeros too).
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                tracing::warn!(file = %path.display(), "checkpoint shorter than {CHECKPOINT_BYTES} bytes; recovering without it");
                return Ok(Checkpoint::default());
            }
            Err(error) => return Err(io_error(path)(error)),
        }
        let mut checkpoint = Checkpoint::decode(&bytes);
        let mut block = [0u8; SYNCED_END_BYTES];
        // A file shorter than the block (written by an older version) simply has none.
        if file.read_exact_at(&mut block, SYNCED_END_POSITION).is_ok() {
            checkpoint.synced_end = checkpoint.decode_synced_end(&block);
        }
        Ok(checkpoint)
    }

    /// Writes all five values and our synced end to `path` (a 4096-byte file) and syncs it.
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
        // Written every time (zeros without a synced end), so a stale block never survives.
        let block = self.encode_synced_end().unwrap_or([0; SYNCED_END_BYTES]);
        file.write_all_at(&block, SYNCED_END_POSITION).map_err(io_error(path))?;
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
            synced_end: None,
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
    fn the_synced_end_round_trips_and_is_dropped_when_java_rewrote_the_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let checkpoint = Checkpoint {
            logics_msg_timestamp_ms: 1_700_000_004_000,
            synced_end: Some(CommitLogOffset(123_456)),
            ..Checkpoint::default()
        };
        checkpoint.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), checkpoint);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[64..72], b"FRCKCKP1");
        assert!(bytes[40..64].iter().all(|&b| b == 0));
        // Java rewrites its five values and leaves our block alone.
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&1_700_000_009_000i64.to_be_bytes(), 8).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap().synced_end, None);
        // Storing without a synced end clears the block.
        Checkpoint::default().store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap().synced_end, None);
        assert!(std::fs::read(&path).unwrap()[64..84].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_file_a_crash_left_short_reads_as_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        std::fs::write(&path, [7u8; 39]).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        std::fs::write(&path, []).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
    }
}
