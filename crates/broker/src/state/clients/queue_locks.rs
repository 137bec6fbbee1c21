//! Queue locks of orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ): Java's
//! `RebalanceLockManager` (remoting.md §4.3.7).
//!
//! A queue of a group is locked by at most one client id at a time; a lock not renewed within
//! [`LOCK_MAX_LIVE_MS`] may be taken by another client. Invariants: entries are keyed by group
//! and queue, both from remote input, so the table is bounded ([`LOCKED_QUEUES_MAX`]); expired
//! entries are dropped whenever a group's locks are touched.

use std::collections::{BTreeMap, HashMap};

use ferrocket_wire::body::MessageQueue;

use crate::limit_warnings::{LimitWarning, limit_warning};

/// Java's `rocketmq.broker.rebalance.lockMaxLiveTime` default: clients renew every 20 s.
pub const LOCK_MAX_LIVE_MS: i64 = 60_000;
/// Far more queues than orderly consumers lock on one broker; bounds a flood of lock requests.
pub const LOCKED_QUEUES_MAX: usize = 1_000_000;
static LOCKED_QUEUES_FULL: LimitWarning = limit_warning!(LOCKED_QUEUES_MAX);

#[derive(Debug, Clone, PartialEq, Eq)]
struct LockEntry {
    client_id: String,
    last_update_ms: i64,
}

impl LockEntry {
    fn is_expired(&self, now_ms: i64) -> bool {
        now_ms.saturating_sub(self.last_update_ms) > LOCK_MAX_LIVE_MS
    }
}

/// Group → queue → the client holding it.
#[derive(Debug, Default)]
pub struct QueueLocks {
    groups: HashMap<String, BTreeMap<MessageQueue, LockEntry>>,
    entries: usize,
}

impl QueueLocks {
    /// Java's `tryLockBatch`: the queues `client_id` now holds (renewed, free, or expired ones
    /// taken over); queues another live client holds are left out.
    pub fn try_lock(
        &mut self,
        group: &str,
        queues: &[MessageQueue],
        client_id: &str,
        now_ms: i64,
    ) -> Vec<MessageQueue> {
        let mut locked = Vec::new();
        let table = self.groups.entry(group.to_owned()).or_default();
        for queue in queues {
            match table.get_mut(queue) {
                Some(entry) if entry.client_id == client_id || entry.is_expired(now_ms) => {
                    entry.client_id = client_id.to_owned();
                    entry.last_update_ms = now_ms;
                    locked.push(queue.clone());
                }
                Some(_) => {}
                None if self.entries >= LOCKED_QUEUES_MAX => {
                    LOCKED_QUEUES_FULL.hit(now_ms, group, "queue not locked");
                }
                None => {
                    let entry = LockEntry {
                        client_id: client_id.to_owned(),
                        last_update_ms: now_ms,
                    };
                    table.insert(queue.clone(), entry);
                    self.entries += 1;
                    locked.push(queue.clone());
                }
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
        locked
    }

    /// Java's `unlockBatch`: releases the queues `client_id` holds; others' locks stay.
    pub fn unlock(&mut self, group: &str, queues: &[MessageQueue], client_id: &str) {
        let Some(table) = self.groups.get_mut(group) else {
            return;
        };
        for queue in queues {
            if table.get(queue).is_some_and(|entry| entry.client_id == client_id) {
                table.remove(queue);
                self.entries = self.entries.saturating_sub(1);
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
    }

    /// Java's `isLockAllExpired`: true when the group holds no live lock (it is not orderly).
    pub fn all_expired(&self, group: &str, now_ms: i64) -> bool {
        self.groups
            .get(group)
            .is_none_or(|table| table.values().all(|entry| entry.is_expired(now_ms)))
    }

    /// Drops locks nobody renewed; called with the client expiry scan.
    pub fn expire(&mut self, now_ms: i64) {
        let mut removed = 0;
        self.groups.retain(|_, table| {
            let before = table.len();
            table.retain(|_, entry| !entry.is_expired(now_ms));
            removed += before - table.len();
            !table.is_empty()
        });
        self.entries = self.entries.saturating_sub(removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(ids: &[i32]) -> Vec<MessageQueue> {
        ids.iter().map(|id| MessageQueue::new("T", "broker-a", *id)).collect()
    }

    #[test]
    fn a_queue_is_locked_by_one_live_client_at_a_time() {
        let mut locks = QueueLocks::default();
        assert_eq!(locks.try_lock("cg", &queues(&[0, 1]), "a", 0), queues(&[0, 1]));
        assert_eq!(locks.try_lock("cg", &queues(&[1, 2]), "b", 1000), queues(&[2]));
        // Renewal keeps the lock; other groups are separate.
        assert_eq!(locks.try_lock("cg", &queues(&[0]), "a", 30_000), queues(&[0]));
        assert_eq!(locks.try_lock("other", &queues(&[0]), "b", 30_000), queues(&[0]));
        // Queue 1 was last renewed at 0: expired at 60 001 and taken over.
        assert!(locks.try_lock("cg", &queues(&[1]), "b", 60_000).is_empty());
        assert_eq!(locks.try_lock("cg", &queues(&[1]), "b", 60_001), queues(&[1]));
        assert!(!locks.all_expired("cg", 60_001));
        assert!(locks.all_expired("nobody", 0));
    }

    #[test]
    fn only_the_holder_unlocks_and_expiry_empties_the_table() {
        let mut locks = QueueLocks::default();
        locks.try_lock("cg", &queues(&[0, 1]), "a", 0);
        locks.unlock("cg", &queues(&[0]), "b");
        assert!(locks.try_lock("cg", &queues(&[0]), "b", 10).is_empty());
        locks.unlock("cg", &queues(&[0]), "a");
        assert_eq!(locks.try_lock("cg", &queues(&[0]), "b", 10), queues(&[0]));
        assert!(locks.all_expired("cg", 200_000));
        locks.expire(200_000);
        assert_eq!(locks.entries, 0);
        assert!(locks.groups.is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut locks = QueueLocks {
            entries: LOCKED_QUEUES_MAX,
            ..QueueLocks::default()
        };
        assert!(locks.try_lock("cg", &queues(&[0]), "a", 0).is_empty());
        assert!(locks.groups.is_empty());
    }
}
