//! The master's [`CommitLogSource`] over the broker's [`StoreHandle`]: reads take the store's
//! read lock for one chunk (at most a transfer batch), so replication never holds up puts for
//! long. The slave's [`ReplicaSink`] appends and dispatches in one write, which also hands the
//! new arrivals to the listener (a long-polling pull on the slave wakes).

use super::{CommitLogSource, ReplicaSink, read_chunk};
use crate::error::StoreResult;
use crate::service::StoreHandle;

impl CommitLogSource for StoreHandle {
    fn max_offset(&self) -> u64 {
        self.read(|store| store.commit_log_max_offset())
    }

    fn segment_bytes(&self) -> u64 {
        self.read(|store| store.config().commit_log_segment_bytes)
    }

    fn read_chunk(&self, offset: u64, max_len: u32) -> StoreResult<Vec<u8>> {
        self.read(|store| read_chunk(&store.log, offset, max_len))
    }
}

impl ReplicaSink for StoreHandle {
    fn max_offset(&self) -> u64 {
        self.read(|store| store.commit_log_max_offset())
    }

    fn segment_bytes(&self) -> u64 {
        self.read(|store| store.config().commit_log_segment_bytes)
    }

    fn append_replicated(&self, offset: u64, bytes: &[u8]) -> StoreResult<()> {
        let now_ms = self.now_ms();
        self.write(|store| store.append_replicated(offset, bytes, now_ms))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ha::replica_stream::tests::sample_message;
    use crate::store_config::MessageStoreConfig;

    #[test]
    fn reads_the_stores_commit_log() {
        let dir = tempfile::tempdir().unwrap();
        let config = MessageStoreConfig {
            commit_log_segment_bytes: 4096,
            ..MessageStoreConfig::new(dir.path())
        };
        let handle = StoreHandle::open(config, Arc::new(|_: &str, _: i32, _: u64| {})).unwrap();
        let put = handle
            .write(|store| store.put(sample_message(3000), 1_700_000_000_000))
            .unwrap();
        let end = put.end_offset;
        assert_eq!(CommitLogSource::max_offset(&handle), end);
        assert_eq!(CommitLogSource::segment_bytes(&handle), 4096);
        let chunk = CommitLogSource::read_chunk(&handle, 0, 1 << 20).unwrap();
        assert_eq!(chunk.len() as u64, end);
        assert_eq!(chunk, handle.read(|store| store.log.read_bytes(0, end as u32)).unwrap());
        handle.shutdown();
    }
}
