//! The timer wheel: which parked timers are due when, and how far delivery got.
//!
//! The timer topic's one queue is the durable list of timers, in arrival order. The wheel reads
//! it ("ingests") and keeps each waiting timer as 16 bytes, `(due_ms, queue offset)`, in a
//! min-heap: O(log n) to add or take one, no scan. The record itself stays in the commit log
//! and is read again when due.
//!
//! Progress survives restarts and kills in `config/timerProgress.json` ([`TimerProgress`]),
//! written only once every delivery it counts is flushed. Its invariant: every timer at a queue
//! offset below `scanFrom` was delivered, and so was every one below `ingestedTo` due before
//! `deliveredBeforeMs`. On start-up ([`rebuild`]) the queue is read again from `scanFrom`; a
//! timer the file cannot vouch for that was already due may have been delivered after the
//! file was written, so it is looked up in the index (its real topic and `UNIQ_KEY`) first and
//! delivered again only when not found. Delivery is thus once, not at-least-once as Java's.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

use ferrocket_store::{MessageStore, QueueId, QueueOffset, StoreHandle, load_config_file, persist_config_file};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::system_topics::TIMER_TOPIC;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::counts::TopicCounts;
use super::{due_ms, recall};
use crate::config::BrokerConfig;
use crate::error::BrokerResult;

/// The progress file, in `config/` beside Java's metadata (Java's own `timercheck` is binary
/// and describes its `timerlog`, which we do not write).
pub const PROGRESS_FILE: &str = "timerProgress.json";
/// How often the wheel ingests, delivers and considers writing its progress.
pub const WHEEL_TICK_MS: u64 = 100;
/// Records read or delivered per store-lock hold, so other requests wait at most that long.
pub const RECORDS_PER_LOCK_MAX: usize = 256;
/// Records ingested per tick; the rest wait for the next tick (they are counted as pending).
pub const INGEST_PER_TICK_MAX: usize = 50_000;
/// Timers delivered per tick; the rest wait for the next tick, still due.
pub const DELIVERIES_PER_TICK_MAX: usize = 50_000;
/// Recalls remembered at once; past it the oldest slot's are forgotten (their timers, if still
/// to come, are then delivered).
pub const CANCELS_MAX: usize = 100_000;
/// How long a recall waits for its timer after the slot's start before it is forgotten (the
/// timer comes within the slot, or right after a restart).
pub const CANCEL_KEEP_MS: i64 = 600_000;
/// Queue offsets per pending-count block: [`TimerWheel::progress`]'s `scanFrom` is the start
/// of the lowest block still holding a timer, so a restart re-reads at most this many extra.
const OFFSETS_PER_BLOCK: u64 = 4_096;

/// One waiting timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    pub due_ms: i64,
    pub queue_offset: u64,
}

/// The durable progress of delivery (see the module doc for its invariant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerProgress {
    pub scan_from: u64,
    pub ingested_to: u64,
    pub delivered_before_ms: i64,
}

/// The waiting timers.
#[derive(Debug, Default)]
pub struct TimerWheel {
    heap: BinaryHeap<Reverse<Pending>>,
    /// Waiting timers per block of [`OFFSETS_PER_BLOCK`] queue offsets.
    blocks: BTreeMap<u64, u32>,
    /// The queue offset the next ingest reads from.
    ingested_to: u64,
    /// Timers written to the queue but not ingested yet (the shell keeps it current).
    unread: u64,
    /// Timers taken into and out of the wheel since start (GET_BROKER_RUNTIME_INFO's rates).
    scheduled_total: u64,
    taken_total: u64,
    /// Recalls met but not yet their timers: `(slot, delete key)` (see `super::recall`).
    cancels: BTreeSet<(i64, String)>,
    /// Timers in and out per real topic, for the metrics (not kept across restarts, as Java's
    /// counters are not).
    pub counts: TopicCounts,
}

impl TimerWheel {
    /// An empty wheel that ingests from `ingested_to` on.
    pub fn starting_at(ingested_to: u64) -> TimerWheel {
        TimerWheel {
            ingested_to,
            ..TimerWheel::default()
        }
    }

    pub fn schedule(&mut self, pending: Pending) {
        *self.blocks.entry(pending.queue_offset / OFFSETS_PER_BLOCK).or_default() += 1;
        self.heap.push(Reverse(pending));
        self.scheduled_total += 1;
    }

    /// Takes the earliest timer if it is due at `now_ms`.
    pub fn pop_due(&mut self, now_ms: i64) -> Option<Pending> {
        let Reverse(head) = *self.heap.peek()?;
        if head.due_ms > now_ms {
            return None;
        }
        self.heap.pop();
        self.taken_total += 1;
        let block = head.queue_offset / OFFSETS_PER_BLOCK;
        if let Some(count) = self.blocks.get_mut(&block) {
            *count -= 1;
            if *count == 0 {
                self.blocks.remove(&block);
            }
        }
        Some(head)
    }

    /// What to do with a due record: a delete mark is remembered and dropped; a timer it
    /// cancels is dropped (and the mark forgotten); any other is delivered (`true`).
    pub fn settle(&mut self, parked: &StoredMessage) -> bool {
        let Some(slot_ms) = parked
            .properties
            .get(keys::TIMER_OUT_MS)
            .and_then(|slot| slot.parse::<i64>().ok())
        else {
            return true;
        };
        if let Some(key) = parked.properties.get(keys::TIMER_DEL_UNIQKEY) {
            if self.cancels.len() >= CANCELS_MAX {
                self.cancels.pop_first();
            }
            self.cancels.insert((slot_ms, key.to_owned()));
            return false;
        }
        match recall::key_of(parked) {
            Some(key) => !self.cancels.remove(&(slot_ms, key)),
            None => true,
        }
    }

    /// Forgets recalls whose slot started before `slot_ms`.
    pub fn forget_cancels_before(&mut self, slot_ms: i64) {
        self.cancels = self.cancels.split_off(&(slot_ms, String::new()));
    }

    /// The due time of the earliest waiting timer.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(head)| head.due_ms)
    }

    pub fn ingested_to(&self) -> u64 {
        self.ingested_to
    }

    /// Records that the queue was read up to `ingested_to` and holds `queue_max` entries.
    pub fn set_read_position(&mut self, ingested_to: u64, queue_max: u64) {
        self.ingested_to = ingested_to;
        self.unread = queue_max.saturating_sub(ingested_to);
    }

    /// Timers waiting, read or not: what flow control counts.
    pub fn pending(&self) -> u64 {
        self.heap.len() as u64 + self.unread
    }

    /// Timers read and waiting in the heap.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Java's timer figures of GET_BROKER_RUNTIME_INFO: `timerReadBehind` (seconds the earliest
    /// waiting timer is overdue), `timerOffsetBehind` (timers not read yet), `timerCongestNum`
    /// (timers waiting), and the totals behind `timerEnqueueTps` / `timerDequeueTps`.
    pub fn runtime_figures(&self, now_ms: i64) -> TimerFigures {
        TimerFigures {
            read_behind_s: self
                .next_due_ms()
                .map_or(0, |due| now_ms.saturating_sub(due).max(0) / 1_000),
            offset_behind: self.unread,
            congest: self.heap.len() as u64,
            scheduled_total: self.scheduled_total,
            taken_total: self.taken_total,
        }
    }

    /// Java's `rocketmq_timer_message_snapshot`: per bound (seconds, ascending), the timers due
    /// from the previous bound (0 for the first) up to this one ahead of `now_ms`.
    pub fn due_ahead(&self, now_ms: i64, bounds_s: &[i64]) -> Vec<u64> {
        let mut counts = vec![0u64; bounds_s.len()];
        for Reverse(pending) in &self.heap {
            let ahead_ms = pending.due_ms.saturating_sub(now_ms);
            if ahead_ms < 0 {
                continue;
            }
            let window = bounds_s
                .iter()
                .position(|bound_s| ahead_ms < bound_s.saturating_mul(1000));
            if let Some(count) = window.and_then(|index| counts.get_mut(index)) {
                *count += 1;
            }
        }
        counts
    }

    /// Bytes the waiting timers hold: the heap's allocation and the block counts (a B-tree
    /// entry is 12 bytes of key and count; nodes add about a third).
    pub fn memory_bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<Pending>>() + self.blocks.len() * 16
    }

    /// The progress to record once everything delivered before `now_ms` is on disk: every
    /// ingested timer due before the earliest still waiting (and no later than now) is gone.
    pub fn progress(&self, now_ms: i64) -> TimerProgress {
        let delivered_before_ms = self
            .next_due_ms()
            .map_or(now_ms.saturating_add(1), |due| due.min(now_ms.saturating_add(1)));
        let scan_from = self
            .blocks
            .keys()
            .next()
            .map_or(self.ingested_to, |block| block * OFFSETS_PER_BLOCK);
        TimerProgress {
            scan_from: scan_from.min(self.ingested_to),
            ingested_to: self.ingested_to,
            delivered_before_ms,
        }
    }
}

/// See [`TimerWheel::runtime_figures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerFigures {
    pub read_behind_s: i64,
    pub offset_behind: u64,
    pub congest: u64,
    pub scheduled_total: u64,
    pub taken_total: u64,
}

/// What a restart makes of a timer record found in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRestart {
    /// The progress file vouches it was delivered.
    Delivered,
    /// Not due yet: it cannot have been delivered.
    Waiting,
    /// Due already, and possibly delivered after the progress was written: look it up first.
    MaybeDelivered,
}

pub fn on_restart(progress: &TimerProgress, pending: Pending, now_ms: i64) -> OnRestart {
    let vouched = pending.queue_offset < progress.scan_from
        || (pending.queue_offset < progress.ingested_to && pending.due_ms < progress.delivered_before_ms);
    if vouched {
        OnRestart::Delivered
    } else if pending.due_ms > now_ms {
        OnRestart::Waiting
    } else {
        OnRestart::MaybeDelivered
    }
}

/// The wheel as it was before a stop: the queue read again from the recorded `scanFrom`, the
/// timers the progress vouches for left out, and those maybe delivered looked up in the index.
/// Returns the wheel and how many timers were found delivered by the lookup.
pub fn rebuild(store: &MessageStore, progress: &TimerProgress, precision_ms: i64, now_ms: i64) -> (TimerWheel, u64) {
    let queue = QueueId(0);
    let min = store.min_offset_in_queue(TIMER_TOPIC, queue).0;
    let max = store.max_offset_in_queue(TIMER_TOPIC, queue).0;
    let mut wheel = TimerWheel::starting_at(max);
    let mut found_delivered = 0;
    for queue_offset in progress.scan_from.max(min)..max {
        let Some(parked) = parked_at(store, queue_offset) else {
            continue;
        };
        let Some(due_ms) = due_ms(&parked, precision_ms) else {
            continue;
        };
        let pending = Pending { due_ms, queue_offset };
        match on_restart(progress, pending, now_ms) {
            // A recall met before the stop whose timer may not have been: met again.
            OnRestart::Delivered if parked.properties.get(keys::TIMER_DEL_UNIQKEY).is_some() => {
                wheel.settle(&parked);
            }
            OnRestart::Delivered => {}
            OnRestart::MaybeDelivered if already_delivered(store, &parked) => found_delivered += 1,
            OnRestart::Waiting | OnRestart::MaybeDelivered => wheel.schedule(pending),
        }
    }
    wheel.set_read_position(max, max);
    (wheel, found_delivered)
}

/// The wheel at start-up: on a master with timers enabled, rebuilt from the progress file and
/// the timer queue (a slave delivers none, so it keeps none).
pub fn restore(store: &StoreHandle, config: &BrokerConfig, now_ms: i64) -> TimerWheel {
    if !config.is_master() || !config.timer_wheel_enable {
        return TimerWheel::default();
    }
    let path = config.config_dir().join(PROGRESS_FILE);
    let progress = load_progress(&path).unwrap_or_else(|error| {
        warn!(%error, "timer progress unreadable; every timer due is looked up before delivery");
        TimerProgress::default()
    });
    let (wheel, found_delivered) = store.read(|s| rebuild(s, &progress, config.timer_precision_ms, now_ms));
    info!(
        waiting = wheel.len(),
        found_delivered,
        scan_from = progress.scan_from,
        "timer wheel restored"
    );
    wheel
}

/// The timer record at `queue_offset` of the timer queue, if its entry and record are readable.
pub fn parked_at(store: &MessageStore, queue_offset: u64) -> Option<StoredMessage> {
    let entry = store.queue_entry_at(TIMER_TOPIC, QueueId(0), QueueOffset(queue_offset))?;
    let physical_offset = u64::try_from(entry.physical_offset).ok()?;
    let record = store
        .message_at(ferrocket_store::CommitLogOffset(physical_offset))
        .ok()?;
    Some(record.message)
}

/// Whether the index holds the delivered copy of `parked`: a record of its real topic with its
/// `UNIQ_KEY`, its `TIMER_OUT_MS` and a `TIMER_DEQUEUE_MS`, stored after it. Without a
/// `UNIQ_KEY` (or with the index off) nothing is found and the timer is delivered again.
fn already_delivered(store: &MessageStore, parked: &StoredMessage) -> bool {
    let properties = &parked.properties;
    let (Some(topic), Some(key), Some(slot)) = (
        properties.get(keys::REAL_TOPIC),
        properties.get(keys::UNIQ_KEY),
        properties.get(keys::TIMER_OUT_MS),
    ) else {
        return false;
    };
    let Ok(found) = store.query_by_key(topic, key, usize::MAX, parked.store_timestamp_ms, i64::MAX) else {
        return false;
    };
    found.records.iter().any(|bytes| {
        StoredMessage::decode(bytes).is_ok_and(|(copy, _)| {
            copy.topic == topic
                && copy.properties.get(keys::TIMER_OUT_MS) == Some(slot)
                && copy.properties.get(keys::TIMER_DEQUEUE_MS).is_some()
        })
    })
}

/// Reads the progress file (or its `.bak`); the zero progress when there is none.
pub fn load_progress(path: &Path) -> BrokerResult<TimerProgress> {
    let text = load_config_file(path, |text| serde_json::from_str::<TimerProgress>(text).is_ok())?;
    Ok(text
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

pub fn persist_progress(path: &Path, progress: &TimerProgress) -> BrokerResult<()> {
    let text = serde_json::to_string_pretty(progress).unwrap_or_default();
    persist_config_file(path, &text)?;
    Ok(())
}

#[cfg(test)]
mod tests;
