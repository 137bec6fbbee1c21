//! The timer wheel's task (Java's `TimerEnqueueGetService` ... `TimerDequeuePutMessageService`
//! chain, in one loop): every [`WHEEL_TICK_MS`] on a master it reads the timer records written
//! since the last tick into the wheel, puts every due timer back into its real topic, and
//! records its progress once the deliveries it counts are flushed (`state::timer::wheel` has
//! the invariant that makes restarts deliver each timer once).

use std::sync::Arc;
use std::time::Duration;

use ferrocket_store::{CommitLogOffset, PutStatus, QueueId};
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::system_topics::TIMER_TOPIC;
use tracing::warn;

use crate::state::Broker;
use crate::state::timer::wheel::{
    CANCEL_KEEP_MS, DELIVERIES_PER_TICK_MAX, INGEST_PER_TICK_MAX, PROGRESS_FILE, Pending, RECORDS_PER_LOCK_MAX,
    TimerProgress, WHEEL_TICK_MS, parked_at, persist_progress,
};
use crate::state::timer::{delivered_message, due_ms};

/// The least time between two writes of the progress file (each is an fsync).
pub const PROGRESS_WRITE_INTERVAL_MS: i64 = 1_000;

/// Runs the wheel while this broker is a master with timers enabled, forever.
pub async fn run(broker: Arc<Broker>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(WHEEL_TICK_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut progress = ProgressWriter::default();
    let mut delivery_failing = false;
    loop {
        ticker.tick().await;
        let config = broker.config();
        if !config.is_master() || !config.timer_wheel_enable {
            continue;
        }
        let ingested = ingest(&broker, config.timer_precision_ms);
        let delivered = match deliver(&broker).await {
            Ok(delivered) => {
                delivery_failing = false;
                delivered
            }
            Err((delivered, status)) => {
                if !delivery_failing {
                    warn!(?status, "delivering a timer message failed; retrying every tick");
                }
                delivery_failing = true;
                delivered
            }
        };
        progress.after_tick(&broker, ingested > 0 || delivered.is_some(), delivered);
        broker
            .timers
            .lock()
            .forget_cancels_before(broker.now_ms().saturating_sub(CANCEL_KEEP_MS));
    }
}

/// Reads the timer records written since the last ingest into the wheel, at most
/// [`INGEST_PER_TICK_MAX`]. Returns how many queue entries were read.
fn ingest(b: &Broker, precision_ms: i64) -> u64 {
    let mut read = 0u64;
    let mut budget = INGEST_PER_TICK_MAX as u64;
    loop {
        let from = b.timers.lock().ingested_to();
        let (found, to, max) = b.store.read(|store| {
            let queue = QueueId(0);
            let max = store.max_offset_in_queue(TIMER_TOPIC, queue).0;
            let from = from.max(store.min_offset_in_queue(TIMER_TOPIC, queue).0);
            let to = max.min(from.saturating_add(budget.min(RECORDS_PER_LOCK_MAX as u64)));
            let found: Vec<(Pending, Option<String>)> = (from..to)
                .filter_map(|queue_offset| {
                    let mut parked = parked_at(store, queue_offset)?;
                    let due_ms = due_ms(&parked, precision_ms)?;
                    Some((
                        Pending { due_ms, queue_offset },
                        parked.properties.remove(keys::REAL_TOPIC),
                    ))
                })
                .collect();
            (found, to, max)
        });
        let now_ms = b.now_ms();
        let mut wheel = b.timers.lock();
        for (pending, real_topic) in found {
            wheel.schedule(pending);
            if let Some(topic) = real_topic {
                wheel.counts.enqueued(&topic, now_ms);
            }
        }
        wheel.set_read_position(to.max(from), max);
        let step = to.saturating_sub(from);
        read += step;
        budget = budget.saturating_sub(step);
        if step == 0 || to >= max || budget == 0 {
            return read;
        }
    }
}

/// Delivers the due timers, at most [`DELIVERIES_PER_TICK_MAX`]. Returns the end offset of the
/// last delivery, or, when a put failed, that and the failure (the failed timer and the rest
/// of its batch went back into the wheel).
async fn deliver(b: &Broker) -> Result<Option<CommitLogOffset>, (Option<CommitLogOffset>, PutStatus)> {
    let mut last_end = None;
    let mut delivered = 0;
    while delivered < DELIVERIES_PER_TICK_MAX {
        let now_ms = b.now_ms();
        let due: Vec<Pending> = {
            let mut wheel = b.timers.lock();
            std::iter::from_fn(|| wheel.pop_due(now_ms))
                .take(RECORDS_PER_LOCK_MAX)
                .collect()
        };
        if due.is_empty() {
            break;
        }
        let parked: Vec<_> = b
            .store
            .read(|store| due.iter().map(|p| parked_at(store, p.queue_offset)).collect());
        for (index, parked) in parked.into_iter().enumerate() {
            delivered += 1;
            // Unreadable records, delete marks and records naming no real topic are dropped, as
            // Java's dequeue drops them.
            let Some(parked) = parked else { continue };
            // A recall's mark cancels its timer; neither is delivered.
            {
                let mut wheel = b.timers.lock();
                if !wheel.settle(&parked) {
                    continue;
                }
                if let Some(topic) = parked.properties.get(keys::REAL_TOPIC) {
                    wheel.counts.dequeued(topic, now_ms);
                }
            }
            let Some(message) = delivered_message(&parked, parked.store_timestamp_ms, now_ms) else {
                continue;
            };
            let outcome = b.store.put(message).await;
            match outcome.result {
                Some(result) if matches!(outcome.status, PutStatus::PutOk | PutStatus::FlushDiskTimeout) => {
                    last_end = Some(result.end_offset);
                }
                _ => {
                    let mut wheel = b.timers.lock();
                    for again in due.iter().skip(index).copied() {
                        wheel.schedule(again);
                    }
                    return Err((last_end, outcome.status));
                }
            }
        }
    }
    Ok(last_end)
}

/// Writes the progress file: a snapshot is taken after a tick that changed something, and
/// written once the commit log is flushed past every delivery it counts (so a power cut never
/// leaves the file claiming a delivery the log lost), at most every
/// [`PROGRESS_WRITE_INTERVAL_MS`].
#[derive(Debug, Default)]
struct ProgressWriter {
    /// The snapshot waiting for the flush, and the log offset it needs flushed.
    waiting: Option<(TimerProgress, CommitLogOffset)>,
    written_at_ms: Option<i64>,
    changed_since_snapshot: bool,
    last_delivery_end: CommitLogOffset,
}

impl ProgressWriter {
    fn after_tick(&mut self, b: &Broker, changed: bool, delivered_to: Option<CommitLogOffset>) {
        self.changed_since_snapshot |= changed;
        if let Some(end) = delivered_to {
            self.last_delivery_end = self.last_delivery_end.max(end);
        }
        let now_ms = b.now_ms();
        if let Some((snapshot, needs_flushed)) = self.waiting {
            if b.store.read(|store| store.flushed_offset()) < needs_flushed {
                return;
            }
            let path = b.config().config_dir().join(PROGRESS_FILE);
            match persist_progress(&path, &snapshot) {
                Ok(()) => self.written_at_ms = Some(now_ms),
                Err(error) => {
                    warn!(%error, "writing the timer progress failed; retrying");
                    self.changed_since_snapshot = true;
                }
            }
            self.waiting = None;
        }
        let due_for_write = self
            .written_at_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= PROGRESS_WRITE_INTERVAL_MS);
        if self.changed_since_snapshot && due_for_write {
            let snapshot = b.timers.lock().progress(now_ms);
            self.waiting = Some((snapshot, self.last_delivery_end));
            self.changed_since_snapshot = false;
        }
    }
}
