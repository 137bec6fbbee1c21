//! The oldest commit-log record the broker still has to deliver: the earliest parked timer not
//! yet delivered, each delay level's next parked message, the first half message the
//! transaction check has not passed. The store's clean-up deletes no segment at or after it
//! (`MessageStore::set_keep_from`), so a full disk or an old file never silently drops a message
//! that was acknowledged and is still waiting for its time or its decision, as Java's clean-up
//! does; a full disk then refuses new puts instead.

use ferrocket_store::{CommitLogOffset, MessageStore, QueueId, QueueOffset};
use ferrocket_wire::system_topics::{SCHEDULE_TOPIC, TIMER_TOPIC, TRANS_HALF_TOPIC};

/// Where delivery stands in each queue holding records still to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The timer queue's offset below which every timer was delivered (`scanFrom`).
    pub timers_from: u64,
    /// Each delay level's offset (level 1 is queue 0), `None` for a level never walked.
    pub delay_levels_from: Vec<Option<i64>>,
    /// The transaction check's position in the half queue, `None` before its first round.
    pub halves_from: Option<i64>,
}

/// The log offset of the oldest record in `pending` that is still to deliver; the log's end of
/// time (`u64::MAX`) when there is none.
pub fn oldest_to_deliver(store: &MessageStore, pending: &Pending) -> CommitLogOffset {
    let timer = (TIMER_TOPIC, QueueId(0), pending.timers_from);
    let levels = pending.delay_levels_from.iter().zip(0..).map(|(from, queue)| {
        let from = from.and_then(|offset| u64::try_from(offset).ok()).unwrap_or(0);
        (SCHEDULE_TOPIC, QueueId(queue), from)
    });
    let halves = (
        TRANS_HALF_TOPIC,
        QueueId(0),
        pending
            .halves_from
            .and_then(|offset| u64::try_from(offset).ok())
            .unwrap_or(0),
    );
    std::iter::once(timer)
        .chain(levels)
        .chain(std::iter::once(halves))
        .filter_map(|(topic, queue_id, from)| first_record_at_or_after(store, topic, queue_id, from))
        .min()
        .unwrap_or(CommitLogOffset(u64::MAX))
}

/// The log offset of the queue's entry at `from` (moved up to the queue's min), if the queue
/// holds one there.
fn first_record_at_or_after(
    store: &MessageStore,
    topic: &str,
    queue_id: QueueId,
    from: u64,
) -> Option<CommitLogOffset> {
    let min = store.min_offset_in_queue(topic, queue_id).0;
    let max = store.max_offset_in_queue(topic, queue_id).0;
    let from = from.max(min);
    if from >= max {
        return None;
    }
    let entry = store.queue_entry_at(topic, queue_id, QueueOffset(from))?;
    u64::try_from(entry.physical_offset).ok().map(CommitLogOffset)
}
