//! Orderly POP (Java's `ConsumerOrderInfoManager`): a queue popped with `order=true` is blocked
//! for its group until every message of the last pop is acknowledged or its invisible time is
//! over; the group's offset moves only as acks arrive in order; a message popped again counts
//! how often it was, which the client shows as its reconsume times.
//!
//! Kept in memory (Java also writes `consumerOrderInfo.json`): after a restart every queue is
//! unblocked and its unacknowledged messages are popped again from the group's offset, which
//! never passed them.

use std::collections::HashMap;

/// Queues with an orderly pop in flight at most (one entry per topic, group and queue).
pub const ORDER_QUEUES_MAX: usize = 100_000;

/// (topic, group, queue).
pub type OrderKey = (String, String, i32);

#[derive(Debug, Clone, PartialEq, Eq)]
struct OrderInfo {
    attempt_id: Option<String>,
    pop_time_ms: i64,
    invisible_time_ms: i64,
    /// The popped offsets, and whether each is acknowledged.
    offsets: Vec<(i64, bool)>,
    /// How often each offset was popped before this pop (only those popped before).
    counts: HashMap<i64, i32>,
    /// A changed invisible time, by offset: when that message may be popped again.
    next_visible_ms: HashMap<i64, i64>,
}

/// What an orderly ack did (`commitAndNext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAck {
    /// Acknowledged; the group's offset may move to this one.
    Next(i64),
    /// The offset is not in the queue's last pop (Java answers MESSAGE_ILLEGAL).
    NotPopped,
    /// The receipt belongs to an earlier pop: nothing to do.
    Stale,
}

/// The orderly pops in flight, by queue.
#[derive(Debug, Default)]
pub struct OrderBlocks {
    infos: HashMap<OrderKey, OrderInfo>,
}

impl OrderBlocks {
    /// `needBlock`: a message of the last pop is neither acknowledged nor past its invisible
    /// time (a retry of the same attempt is never blocked).
    pub fn is_blocked(&self, key: &OrderKey, attempt_id: Option<&str>, now_ms: i64) -> bool {
        let Some(info) = self.infos.get(key) else {
            return false;
        };
        if info.attempt_id.is_some() && info.attempt_id.as_deref() == attempt_id {
            return false;
        }
        info.offsets.iter().any(|(offset, acked)| {
            let visible_at = info
                .next_visible_ms
                .get(offset)
                .copied()
                .unwrap_or_else(|| info.pop_time_ms.saturating_add(info.invisible_time_ms));
            !acked && now_ms < visible_at
        })
    }

    /// `update`: records a pop of `offsets`; returns each offset's count of earlier pops (those
    /// above 0) and the least count over the pop, or `None` when the table is full.
    pub fn record_pop(
        &mut self,
        key: OrderKey,
        attempt_id: Option<String>,
        (pop_time_ms, invisible_time_ms): (i64, i64),
        offsets: &[i64],
    ) -> Option<(Vec<(i64, i32)>, i32)> {
        if !self.infos.contains_key(&key) && self.infos.len() >= ORDER_QUEUES_MAX {
            return None;
        }
        let previous = self.infos.remove(&key);
        let counts: HashMap<i64, i32> = match previous {
            Some(previous) if previous.attempt_id.is_some() && previous.attempt_id == attempt_id => previous.counts,
            Some(previous) => offsets
                .iter()
                .filter(|offset| previous.offsets.iter().any(|(o, _)| o == *offset))
                .map(|offset| (*offset, previous.counts.get(offset).map_or(1, |c| c.saturating_add(1))))
                .collect(),
            None => HashMap::new(),
        };
        let mut listed: Vec<(i64, i32)> = counts.iter().map(|(o, c)| (*o, *c)).collect();
        listed.sort_unstable();
        let least = if counts.len() == offsets.len() {
            listed.iter().map(|(_, c)| *c).min().unwrap_or(0)
        } else {
            0
        };
        self.infos.insert(
            key,
            OrderInfo {
                attempt_id,
                pop_time_ms,
                invisible_time_ms,
                offsets: offsets.iter().map(|o| (*o, false)).collect(),
                counts,
                next_visible_ms: HashMap::new(),
            },
        );
        Some((listed, least))
    }

    /// `commitAndNext`: acknowledges `offset` of the pop made at `pop_time_ms`.
    pub fn ack(&mut self, key: &OrderKey, offset: i64, pop_time_ms: i64) -> OrderAck {
        let Some(info) = self.infos.get_mut(key) else {
            return OrderAck::Next(offset.saturating_add(1));
        };
        if info.pop_time_ms != pop_time_ms {
            return OrderAck::Stale;
        }
        let Some(entry) = info.offsets.iter_mut().find(|(o, _)| *o == offset) else {
            return OrderAck::NotPopped;
        };
        entry.1 = true;
        let next = match info.offsets.iter().find(|(_, acked)| !acked) {
            Some((first_unacked, _)) => *first_unacked,
            None => info.offsets.last().map_or(offset, |(last, _)| *last).saturating_add(1),
        };
        OrderAck::Next(next)
    }

    /// `updateNextVisibleTime`: the message at `offset` of the pop made at `pop_time_ms` may be
    /// popped again from `visible_at_ms`.
    pub fn change_invisible(&mut self, key: &OrderKey, offset: i64, pop_time_ms: i64, visible_at_ms: i64) {
        if let Some(info) = self.infos.get_mut(key).filter(|info| info.pop_time_ms == pop_time_ms) {
            info.next_visible_ms.insert(offset, visible_at_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> OrderKey {
        ("T".into(), "cg".into(), 0)
    }

    #[test]
    fn a_queue_is_blocked_until_acked_or_invisible_time_is_over() {
        let mut blocks = OrderBlocks::default();
        assert!(!blocks.is_blocked(&key(), None, 0));
        let (counts, least) = blocks.record_pop(key(), None, (1_000, 10_000), &[5, 6]).unwrap();
        assert_eq!((counts, least), (vec![], 0));
        assert!(blocks.is_blocked(&key(), None, 2_000));
        assert!(!blocks.is_blocked(&key(), None, 11_000), "invisible time over");
        assert_eq!(blocks.ack(&key(), 5, 1_000), OrderAck::Next(6));
        assert!(blocks.is_blocked(&key(), None, 2_000));
        assert_eq!(blocks.ack(&key(), 6, 999), OrderAck::Stale);
        assert_eq!(blocks.ack(&key(), 9, 1_000), OrderAck::NotPopped);
        assert_eq!(blocks.ack(&key(), 6, 1_000), OrderAck::Next(7));
        assert!(!blocks.is_blocked(&key(), None, 2_000), "all acked");
    }

    #[test]
    fn popping_again_counts_and_a_change_moves_the_unblock() {
        let mut blocks = OrderBlocks::default();
        blocks.record_pop(key(), None, (1_000, 10_000), &[5, 6]);
        blocks.change_invisible(&key(), 5, 1_000, 3_000);
        blocks.change_invisible(&key(), 6, 1_000, 3_000);
        assert!(!blocks.is_blocked(&key(), None, 3_000));
        let (counts, least) = blocks.record_pop(key(), None, (3_000, 10_000), &[5, 6]).unwrap();
        assert_eq!((counts, least), (vec![(5, 1), (6, 1)], 1));
        let (counts, least) = blocks.record_pop(key(), None, (20_000, 10_000), &[5, 6, 7]).unwrap();
        assert_eq!((counts, least), (vec![(5, 2), (6, 2)], 0));
    }
}
