//! What the store tells its arrival listener after a dispatch: per queue that grew, its new max
//! offset and the tags codes of the entries that arrived (Java's
//! `MessageArrivingListener.arriving(topic, queueId, logicOffset, tagsCode, ...)`, called once
//! per dispatched message; here coalesced per queue between two reports).
//!
//! Long polls use the tags codes to wake only the held pulls whose filter accepts one of them.
//! The message properties Java also passes (for SQL92 filters) are not carried: copying them
//! for every dispatched message would tax every put for the few SQL92 consumers, so a woken
//! SQL92 pull reads the new records' properties itself and parks again when none passes.

use std::collections::BTreeMap;

use crate::offsets::{QueueId, QueueOffset};

/// Distinct tags codes kept per queue between two reports: a batch of more distinct tags than
/// this reports "any tag" (`tags_codes: None`), which wakes every held pull of the queue, as
/// Java's periodic check does.
pub const ARRIVAL_TAGS_CODES_MAX: usize = 32;

/// One queue that grew since the last report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub topic: String,
    pub queue_id: QueueId,
    /// One past the newest entry.
    pub max_offset: QueueOffset,
    /// The distinct tags codes of the new entries, in arrival order; `None` when more than
    /// [`ARRIVAL_TAGS_CODES_MAX`] distinct codes arrived (or they are unknown).
    pub tags_codes: Option<Vec<i64>>,
}

/// The queues that grew since the last [`PendingArrivals::take`] (coalesced per queue, so
/// bounded by the number of queues times [`ARRIVAL_TAGS_CODES_MAX`]).
#[derive(Debug, Default)]
pub(crate) struct PendingArrivals {
    by_queue: BTreeMap<(String, QueueId), Grown>,
}

/// How one queue grew since the last report.
#[derive(Debug)]
struct Grown {
    max_offset: QueueOffset,
    tags_codes: Option<Vec<i64>>,
}

impl PendingArrivals {
    /// An entry with `tags_code` was dispatched to `topic`/`queue_id`, whose max is now `max`.
    pub(crate) fn record(&mut self, topic: &str, queue_id: QueueId, max: QueueOffset, tags_code: i64) {
        let grown = self
            .by_queue
            .entry((topic.to_owned(), queue_id))
            .or_insert_with(|| Grown {
                max_offset: max,
                tags_codes: Some(Vec::new()),
            });
        grown.max_offset = max;
        if let Some(codes) = &mut grown.tags_codes
            && !codes.contains(&tags_code)
        {
            if codes.len() < ARRIVAL_TAGS_CODES_MAX {
                codes.push(tags_code);
            } else {
                grown.tags_codes = None;
            }
        }
    }

    pub(crate) fn forget_topic(&mut self, topic: &str) {
        self.by_queue.retain(|(name, _), _| name != topic);
    }

    pub(crate) fn take(&mut self) -> Vec<Arrival> {
        std::mem::take(&mut self.by_queue)
            .into_iter()
            .map(|((topic, queue_id), grown)| Arrival {
                topic,
                queue_id,
                max_offset: grown.max_offset,
                tags_codes: grown.tags_codes,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_coalesce_per_queue_with_distinct_tags_codes() {
        let mut pending = PendingArrivals::default();
        pending.record("T", QueueId(0), QueueOffset(1), 7);
        pending.record("T", QueueId(0), QueueOffset(2), 7);
        pending.record("T", QueueId(0), QueueOffset(3), 9);
        pending.record("U", QueueId(1), QueueOffset(1), 0);
        let taken = pending.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[0].max_offset, QueueOffset(3));
        assert_eq!(taken[0].tags_codes, Some(vec![7, 9]));
        assert_eq!(taken[1].tags_codes, Some(vec![0]));
        assert!(pending.take().is_empty());
    }

    #[test]
    fn too_many_distinct_tags_report_any_tag() {
        let mut pending = PendingArrivals::default();
        for code in 0..=ARRIVAL_TAGS_CODES_MAX as i64 {
            pending.record("T", QueueId(0), QueueOffset(code as u64 + 1), code);
        }
        let taken = pending.take();
        assert_eq!(taken[0].tags_codes, None);
        assert_eq!(taken[0].max_offset, QueueOffset(ARRIVAL_TAGS_CODES_MAX as u64 + 1));
    }
}
