//! Timers taken into and out of the wheel per real topic: Java 5.3.3's
//! `rocketmq_timer_enqueue_total` and `rocketmq_timer_dequeue_total` counters, which carry a
//! `topic` label (the message's `REAL_TOPIC`).

use std::collections::BTreeMap;

use crate::limit_warnings::{LimitWarning, limit_warning};

/// Topics counted apart. The topics are ones that passed a send's checks, so the topic table
/// bounds them already; this bounds the memory should the table churn (created, timed, deleted).
/// Past it a new topic's timers are not counted (the totals of GET_BROKER_RUNTIME_INFO still are).
pub const TIMER_TOPICS_COUNTED_MAX: usize = 10_000;

static TIMER_TOPICS_FULL: LimitWarning = limit_warning!(TIMER_TOPICS_COUNTED_MAX);

/// Per real topic: timers read into the wheel, and timers taken out of it to be delivered.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TopicCounts {
    counts: BTreeMap<String, Counts>,
}

/// One topic's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub enqueued: u64,
    pub dequeued: u64,
}

impl TopicCounts {
    /// Java's `incTimerEnqueueCount`: a timer of `topic` read into the wheel.
    pub fn enqueued(&mut self, topic: &str, now_ms: i64) {
        if let Some(counts) = self.entry(topic, now_ms) {
            counts.enqueued = counts.enqueued.saturating_add(1);
        }
    }

    /// Java's `incTimerDequeueCount`: a due timer of `topic` taken out to be delivered.
    pub fn dequeued(&mut self, topic: &str, now_ms: i64) {
        if let Some(counts) = self.entry(topic, now_ms) {
            counts.dequeued = counts.dequeued.saturating_add(1);
        }
    }

    /// Every counted topic, sorted.
    pub fn all(&self) -> impl Iterator<Item = (&str, Counts)> {
        self.counts.iter().map(|(topic, counts)| (topic.as_str(), *counts))
    }

    /// Forgets a deleted topic.
    pub fn remove_topic(&mut self, topic: &str) {
        self.counts.remove(topic);
    }

    fn entry(&mut self, topic: &str, now_ms: i64) -> Option<&mut Counts> {
        if !self.counts.contains_key(topic) {
            if self.counts.len() >= TIMER_TOPICS_COUNTED_MAX {
                TIMER_TOPICS_FULL.hit(now_ms, topic, "timer counted in the totals only");
                return None;
            }
            self.counts.insert(topic.to_owned(), Counts::default());
        }
        self.counts.get_mut(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_topic_up_to_the_bound() {
        let mut counts = TopicCounts::default();
        counts.enqueued("A", 0);
        counts.enqueued("A", 0);
        counts.dequeued("A", 0);
        counts.dequeued("B", 0);
        let all: Vec<_> = counts.all().collect();
        assert_eq!(
            all,
            vec![
                (
                    "A",
                    Counts {
                        enqueued: 2,
                        dequeued: 1
                    }
                ),
                (
                    "B",
                    Counts {
                        enqueued: 0,
                        dequeued: 1
                    }
                )
            ]
        );
        for n in 0..TIMER_TOPICS_COUNTED_MAX {
            counts.enqueued(&format!("T{n}"), 0);
        }
        assert_eq!(counts.all().count(), TIMER_TOPICS_COUNTED_MAX);
        counts.enqueued("A", 0);
        assert_eq!(
            counts.all().next(),
            Some((
                "A",
                Counts {
                    enqueued: 3,
                    dequeued: 1
                }
            ))
        );
        counts.remove_topic("A");
        assert_eq!(counts.all().count(), TIMER_TOPICS_COUNTED_MAX - 1);
    }
}
