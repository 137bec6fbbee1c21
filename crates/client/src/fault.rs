//! Java's latency-fault avoidance (`MQFaultStrategy`, `LatencyFaultToleranceImpl`) and the
//! producer's queue choice (`TopicPublishInfo.selectOneMessageQueue`), as a pure state machine
//! that takes `now_ms`.
//!
//! After each send the producer reports the broker's latency; a latency at or above a step of
//! [`LATENCY_STEPS_MS`] makes the broker unavailable for the matching [`UNAVAILABLE_MS`], and a
//! failed send counts as a 10 s latency (10 s out). Choosing a queue walks the topic's queues round robin
//! from a shared index and takes the first that passes, in Java's order: available and not the
//! broker that just failed; reachable and not that broker; then any queue. With fault avoidance
//! off (Java's default, `com.rocketmq.sendLatencyEnable=false`) only the "not the broker that
//! just failed" rule applies.

use std::collections::HashMap;

use ferrocket_wire::body::MessageQueue;

/// `MQFaultStrategy.latencyMax`.
pub const LATENCY_STEPS_MS: [i64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
/// `MQFaultStrategy.notAvailableDuration`, one per step.
pub const UNAVAILABLE_MS: [i64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];
/// The latency Java charges a failed send (`isolation`).
pub const FAILED_SEND_LATENCY_MS: i64 = 10_000;
/// Brokers remembered; a client talks to a cluster's brokers, a few dozen at most, so past this
/// the entries nobody has refreshed longest are forgotten.
pub const FAULT_ENTRIES_MAX: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct FaultEntry {
    latency_ms: i64,
    available_from_ms: i64,
    reachable: bool,
    updated_ms: i64,
}

/// Per-broker latency and availability, plus the round-robin index.
///
/// ```
/// use ferrocket_client::MessageQueue;
/// use ferrocket_client::fault::FaultTable;
///
/// let queue = |broker: &str| MessageQueue { topic: "Orders".into(), broker_name: broker.into(), queue_id: 0 };
/// let queues = [queue("broker-a"), queue("broker-b")];
/// let mut table = FaultTable::new(true);
/// table.record("broker-a", 3_000, true, 0); // a send to broker-a failed
/// assert_eq!(table.select(&queues, None, 1).unwrap().broker_name, "broker-b");
/// ```
#[derive(Debug, Default)]
pub struct FaultTable {
    enabled: bool,
    entries: HashMap<String, FaultEntry>,
    next_index: u32,
}

impl FaultTable {
    /// A table; `enabled` is Java's `sendLatencyFaultEnable`.
    pub fn new(enabled: bool) -> FaultTable {
        FaultTable {
            enabled,
            entries: HashMap::new(),
            next_index: 0,
        }
    }

    /// The same table with the round robin starting at `index`: Java's `sendWhichQueue` starts
    /// each producer at a random queue, so short-lived producers do not all load the first one.
    pub fn starting_at(mut self, index: u32) -> FaultTable {
        self.next_index = index;
        self
    }

    /// Records a send's outcome (`MQFaultStrategy.updateFaultItem`).
    pub fn record(&mut self, broker_name: &str, latency_ms: i64, failed: bool, now_ms: i64) {
        if !self.enabled {
            return;
        }
        let charged = if failed { FAILED_SEND_LATENCY_MS } else { latency_ms };
        let out_ms = LATENCY_STEPS_MS
            .iter()
            .zip(UNAVAILABLE_MS)
            .rev()
            .find(|(step, _)| charged >= **step)
            .map_or(0, |(_, out)| out);
        if self.entries.len() >= FAULT_ENTRIES_MAX && !self.entries.contains_key(broker_name) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.updated_ms)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(
            broker_name.to_owned(),
            FaultEntry {
                latency_ms: charged,
                available_from_ms: now_ms.saturating_add(out_ms),
                reachable: !failed,
                updated_ms: now_ms,
            },
        );
    }

    /// Whether sends to `broker_name` are allowed now.
    pub fn is_available(&self, broker_name: &str, now_ms: i64) -> bool {
        self.entries
            .get(broker_name)
            .is_none_or(|entry| now_ms >= entry.available_from_ms)
    }

    fn is_reachable(&self, broker_name: &str) -> bool {
        self.entries.get(broker_name).is_none_or(|entry| entry.reachable)
    }

    /// The last latency recorded for `broker_name`.
    pub fn latency_ms(&self, broker_name: &str) -> Option<i64> {
        self.entries.get(broker_name).map(|entry| entry.latency_ms)
    }

    /// Picks the queue for the next attempt; `last_failed` is the broker the previous attempt of
    /// this send failed on. `None` only when `queues` is empty.
    pub fn select<'a>(
        &mut self,
        queues: &'a [MessageQueue],
        last_failed: Option<&str>,
        now_ms: i64,
    ) -> Option<&'a MessageQueue> {
        let not_last = |queue: &MessageQueue| last_failed.is_none_or(|name| queue.broker_name != name);
        if self.enabled {
            let found = self
                .first_passing(queues, |table, q| {
                    not_last(q) && table.is_available(&q.broker_name, now_ms)
                })
                .or_else(|| self.first_passing(queues, |table, q| not_last(q) && table.is_reachable(&q.broker_name)));
            if let Some(queue) = found {
                return Some(queue);
            }
        } else if let Some(queue) = self.first_passing(queues, |_, q| not_last(q)) {
            return Some(queue);
        }
        self.next_of(queues)
    }

    fn first_passing<'a>(
        &mut self,
        queues: &'a [MessageQueue],
        pass: impl Fn(&FaultTable, &MessageQueue) -> bool,
    ) -> Option<&'a MessageQueue> {
        for _ in 0..queues.len() {
            let queue = self.next_of(queues)?;
            if pass(self, queue) {
                return Some(queue);
            }
        }
        None
    }

    fn next_of<'a>(&mut self, queues: &'a [MessageQueue]) -> Option<&'a MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        self.next_index = self.next_index.wrapping_add(1);
        queues.get(self.next_index as usize % queues.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<MessageQueue> {
        vec![
            MessageQueue::new("T", "a", 0),
            MessageQueue::new("T", "a", 1),
            MessageQueue::new("T", "b", 0),
        ]
    }

    #[test]
    fn round_robin_avoids_the_broker_that_just_failed() {
        let queues = queues();
        let mut table = FaultTable::new(false);
        for _ in 0..6 {
            assert_eq!(table.select(&queues, Some("a"), 0).unwrap().broker_name, "b");
        }
        let picked: Vec<i32> = (0..3)
            .map(|_| table.select(&queues, None, 0).unwrap().queue_id)
            .collect();
        assert_eq!(picked.len(), 3);
        // Disabled: outcomes are not recorded.
        table.record("b", 0, true, 0);
        assert!(table.is_available("b", 0));
    }

    #[test]
    fn a_failed_broker_sits_out_ten_seconds() {
        let queues = queues();
        let mut table = FaultTable::new(true);
        table.record("a", 0, true, 1_000);
        for _ in 0..4 {
            assert_eq!(table.select(&queues, None, 1_000).unwrap().broker_name, "b");
        }
        assert!(!table.is_available("a", 10_999));
        assert!(table.is_available("a", 11_000));
    }

    #[test]
    fn latency_steps_follow_java() {
        let mut table = FaultTable::new(true);
        for (latency, out) in [
            (49, 0),
            (100, 0),
            (550, 2000),
            (1799, 2000),
            (3000, 6000),
            (20_000, 30_000),
        ] {
            table.record("x", latency, false, 0);
            assert!(table.is_available("x", out), "{latency}");
            if out > 0 {
                assert!(!table.is_available("x", out - 1), "{latency}");
            }
        }
    }

    #[test]
    fn all_out_still_picks_a_queue() {
        let queues = queues();
        let mut table = FaultTable::new(true);
        table.record("a", 0, true, 0);
        table.record("b", 0, true, 0);
        assert!(table.select(&queues, Some("b"), 0).is_some());
        assert!(table.select(&[], None, 0).is_none());
    }

    #[test]
    fn entries_are_bounded() {
        let mut table = FaultTable::new(true);
        for i in 0..(FAULT_ENTRIES_MAX + 10) {
            table.record(&format!("b{i}"), 0, false, i as i64);
        }
        assert_eq!(table.entries.len(), FAULT_ENTRIES_MAX);
    }

    #[test]
    fn the_round_robin_starts_where_it_is_told() {
        let queues = queues();
        let first = |start: u32| {
            let mut table = FaultTable::new(false).starting_at(start);
            table.select(&queues, None, 0).cloned()
        };
        assert_eq!(first(0), Some(MessageQueue::new("T", "a", 1)));
        assert_eq!(first(1), Some(MessageQueue::new("T", "b", 0)));
        assert_eq!(first(u32::MAX), Some(MessageQueue::new("T", "a", 0)));
    }
}
