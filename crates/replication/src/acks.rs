//! What the master knows about its slaves' progress, for SYNC_MASTER puts (store-and-ha.md §7.5):
//! each connected slave's first and latest offset report, and `push2SlaveMaxOffset`, the highest
//! offset any slave ever acknowledged (Java never lowers it, not even when that slave leaves).
//!
//! Invariants: `push_max_offset` only grows; at most [`SLAVES_MAX`] slaves are registered.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ferrocket_store::CommitLogOffset;

/// The HA port accepts whoever connects; a replica set has a handful of slaves, so this bounds
/// the table without limiting any real deployment.
pub const SLAVES_MAX: usize = 32;

/// One connected slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveProgress {
    pub addr: SocketAddr,
    /// The first report: where the transfer started from (`slaveRequestOffset`).
    pub request_offset: Option<CommitLogOffset>,
    /// The latest report (`slaveAckOffset`).
    pub ack_offset: Option<CommitLogOffset>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationState {
    slaves: BTreeMap<u64, SlaveProgress>,
    push_max_offset: CommitLogOffset,
    next_id: u64,
}

impl ReplicationState {
    /// Registers a new connection; `None` when [`SLAVES_MAX`] are connected already.
    pub fn register(&mut self, addr: SocketAddr) -> Option<u64> {
        if self.slaves.len() >= SLAVES_MAX {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.slaves.insert(
            id,
            SlaveProgress {
                addr,
                request_offset: None,
                ack_offset: None,
            },
        );
        Some(id)
    }

    pub fn unregister(&mut self, id: u64) {
        self.slaves.remove(&id);
    }

    /// A report from slave `id`; returns the request offset (the first report's).
    pub fn on_report(&mut self, id: u64, offset: CommitLogOffset) -> Option<CommitLogOffset> {
        let slave = self.slaves.get_mut(&id)?;
        slave.ack_offset = Some(offset);
        let request = *slave.request_offset.get_or_insert(offset);
        self.push_max_offset = self.push_max_offset.max(offset);
        Some(request)
    }

    /// `push2SlaveMaxOffset`.
    pub fn push_max_offset(&self) -> CommitLogOffset {
        self.push_max_offset
    }

    pub fn slave_count(&self) -> usize {
        self.slaves.len()
    }

    pub fn slaves(&self) -> impl Iterator<Item = &SlaveProgress> {
        self.slaves.values()
    }

    /// Java's `isSlaveOK`: a slave is connected and the best one is less than `max_gap` behind
    /// `master_put_offset`. A SYNC_MASTER put answers SLAVE_NOT_AVAILABLE otherwise (4.x).
    pub fn is_slave_ok(&self, master_put_offset: CommitLogOffset, max_gap: u64) -> bool {
        !self.slaves.is_empty() && master_put_offset.bytes_after(self.push_max_offset) < max_gap
    }

    /// Java's `inSyncReplicasNums`: the master plus every slave less than `max_gap` behind.
    pub fn in_sync_replicas(&self, master_put_offset: CommitLogOffset, max_gap: u64) -> usize {
        let in_sync = self
            .slaves
            .values()
            .filter_map(|s| s.ack_offset)
            .filter(|ack| master_put_offset.bytes_after(*ack) < max_gap)
            .count();
        1 + in_sync
    }

    /// Whether a put ending at `end_offset` is replicated enough (`GroupTransferService`):
    /// with `replicas_needed` ≤ 1 (4.x, and 5.x's default path) some slave has acknowledged it;
    /// otherwise the master plus the slaves that acknowledged it number at least `replicas_needed`.
    pub fn acknowledged(&self, end_offset: CommitLogOffset, replicas_needed: usize) -> bool {
        if replicas_needed <= 1 {
            return self.push_max_offset >= end_offset;
        }
        let acked = self
            .slaves
            .values()
            .filter(|s| s.ack_offset.is_some_and(|ack| ack >= end_offset))
            .count();
        1 + acked >= replicas_needed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn first_report_fixes_the_request_offset_and_push_max_only_grows() {
        let mut state = ReplicationState::default();
        let a = state.register(addr(1)).unwrap();
        assert_eq!(state.on_report(a, CommitLogOffset(500)), Some(CommitLogOffset(500)));
        assert_eq!(state.on_report(a, CommitLogOffset(900)), Some(CommitLogOffset(500)));
        assert_eq!(state.push_max_offset(), CommitLogOffset(900));
        let b = state.register(addr(2)).unwrap();
        assert_eq!(state.on_report(b, CommitLogOffset(100)), Some(CommitLogOffset(100)));
        assert_eq!(state.push_max_offset(), CommitLogOffset(900));
        state.unregister(a);
        assert_eq!(state.push_max_offset(), CommitLogOffset(900));
        assert_eq!(state.on_report(a, CommitLogOffset(1000)), None);
        assert_eq!(state.slave_count(), 1);
    }

    #[test]
    fn slave_ok_needs_a_connection_and_a_small_gap() {
        let mut state = ReplicationState::default();
        assert!(!state.is_slave_ok(CommitLogOffset(0), 100));
        let a = state.register(addr(1)).unwrap();
        assert!(state.is_slave_ok(CommitLogOffset(99), 100));
        assert!(!state.is_slave_ok(CommitLogOffset(100), 100));
        state.on_report(a, CommitLogOffset(50));
        assert!(state.is_slave_ok(CommitLogOffset(149), 100));
        state.unregister(a);
        assert!(!state.is_slave_ok(CommitLogOffset(50), 100));
    }

    #[test]
    fn acknowledged_counts_push_max_or_replicas() {
        let mut state = ReplicationState::default();
        assert!(!state.acknowledged(CommitLogOffset(10), 1));
        let a = state.register(addr(1)).unwrap();
        let b = state.register(addr(2)).unwrap();
        state.on_report(a, CommitLogOffset(10));
        assert!(state.acknowledged(CommitLogOffset(10), 1));
        assert!(!state.acknowledged(CommitLogOffset(11), 1));
        assert!(state.acknowledged(CommitLogOffset(10), 2));
        assert!(!state.acknowledged(CommitLogOffset(10), 3));
        state.on_report(b, CommitLogOffset(20));
        assert!(state.acknowledged(CommitLogOffset(10), 3));
        assert!(!state.acknowledged(CommitLogOffset(20), 3));
        assert_eq!(state.in_sync_replicas(CommitLogOffset(25), 10), 2);
        assert_eq!(state.in_sync_replicas(CommitLogOffset(25), 100), 3);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut state = ReplicationState::default();
        for port in 0..SLAVES_MAX {
            assert!(state.register(addr(port as u16)).is_some());
        }
        assert!(state.register(addr(9999)).is_none());
    }
}
