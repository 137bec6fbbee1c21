//! The master's [`CommitLogSource`] over the store's [`StoreHandle`]: reads take the store's
//! read lock for one chunk (at most a transfer batch), so replication never holds up puts for
//! long. The slave's [`ReplicaSink`] appends and dispatches in one write, which also hands the
//! new arrivals to the listener (a long-polling pull on the slave wakes).

use ferrocket_store::{CommitLogOffset, StoreHandle, StoreResult};

use crate::{CommitLogSource, ReplicaSink};

impl CommitLogSource for StoreHandle {
    fn max_offset(&self) -> CommitLogOffset {
        self.read(|store| store.commit_log_max_offset())
    }

    fn segment_bytes(&self) -> u64 {
        self.read(|store| store.config().commit_log_segment_bytes)
    }

    fn read_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.read(|store| store.read_commit_log_chunk(offset, max_len))
    }

    fn append_recovered(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        let now_ms = self.now_ms();
        self.write(|store| store.append_replicated(offset, bytes, now_ms))
    }

    fn hold_puts(&self, reason: Option<String>) {
        self.write(|store| store.hold_puts(reason));
    }
}

impl ReplicaSink for StoreHandle {
    fn max_offset(&self) -> CommitLogOffset {
        self.read(|store| store.commit_log_max_offset())
    }

    fn segment_bytes(&self) -> u64 {
        self.read(|store| store.config().commit_log_segment_bytes)
    }

    fn append_replicated(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        let now_ms = self.now_ms();
        self.write(|store| store.append_replicated(offset, bytes, now_ms))
    }

    fn read_replica_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.read(|store| store.read_commit_log_chunk(offset, max_len))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferrocket_store::{Clock, MessageStoreConfig};

    use super::*;
    use crate::replica_stream::tests::sample_message;

    #[test]
    fn reads_the_stores_commit_log() {
        let dir = tempfile::tempdir().unwrap();
        let config = MessageStoreConfig {
            commit_log_segment_bytes: 4096,
            ..MessageStoreConfig::new(dir.path())
        };
        let handle = StoreHandle::open(
            config,
            Arc::new(|_: &ferrocket_store::Arrival| {}),
            Clock::manual(1_700_000_000_000),
        )
        .unwrap();
        let put = handle
            .write(|store| store.put(sample_message(3000), 1_700_000_000_000))
            .unwrap();
        let end = put.end_offset;
        assert_eq!(CommitLogSource::max_offset(&handle), end);
        assert_eq!(CommitLogSource::segment_bytes(&handle), 4096);
        let chunk = CommitLogSource::read_chunk(&handle, CommitLogOffset(0), 1 << 20).unwrap();
        assert_eq!(chunk.len() as u64, end.0);
        assert_eq!(
            chunk,
            handle
                .read(|store| store.record_bytes_at(CommitLogOffset(0), end.0 as u32))
                .unwrap()
        );
        handle.shutdown();
    }
}
