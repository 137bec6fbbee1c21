//! Pulls held until a message arrives or they time out: Java's `PullRequestHoldService`
//! (store-and-ha.md §8.4).
//!
//! A pull that finds nothing new (PULL_NOT_FOUND) with the SUSPEND flag is parked here under
//! its `topic@queue` and the offset it asked for; its handler task awaits the [`HeldPull`]. It
//! is released (woken) when the store reports that queue grew past the offset
//! ([`PullHolds::on_arrival`], called from the store's dispatch thread), when the periodic check
//! finds it grew ([`run_timer`]), or when its own timeout passes; the handler then runs the pull
//! again without suspending and answers. Invariants:
//! * an entry lives exactly as long as its [`HeldPull`]: dropping it (answered, timed out, or the
//!   connection's task aborted) removes it, so the table never holds dead entries;
//! * at most [`HELD_PULLS_MAX`] pulls are held; past it a pull is answered at once;
//! * the lock is never held while calling the store (the store calls us under its own lock).
//!
//!
//! Filters, as Java's `notifyMessageArriving`: each hold keeps an [`ArrivalFilter`] (the pull's
//! tag filter; an SQL92 filter plugs in the same way) and an arrival wakes it only when one of
//! the arrived tags codes passes (`isMatchedByConsumeQueue`), so a held pull stays parked while
//! messages it would not receive arrive. An arrival whose tags codes are unknown (`None`: the
//! periodic check, an offset reset, a batch of too many distinct tags) wakes every hold past its
//! offset, as Java's periodic check passes a null tags code, which every filter accepts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferrocket_store::{QueueId, QueueOffset};
use tokio::sync::oneshot;

use crate::config::SUSPEND_MS_MAX;

use crate::limit_warnings::{LimitWarning, limit_warning};

/// Each held pull costs a suspended task and a map entry; a consumer holds one per queue it
/// owns, so this covers 100 000 queues being pulled at once.
pub const HELD_PULLS_MAX: usize = 100_000;
/// Logged by the pull handler, which answers a pull it cannot hold at once.
pub static HELD_PULLS_FULL: LimitWarning = limit_warning!(HELD_PULLS_MAX);
/// Java's hold service re-checks every held pull this often under long polling.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Whether a held pull wants a message with this tags code (Java's
/// `MessageFilter.isMatchedByConsumeQueue`). Arrivals carry no properties, so an SQL92 pull is
/// held with no arrival filter; its handler reads the woken arrivals' properties and parks
/// again when none passes (`handlers::pull::handle_pull`). `None` in [`PullHolds::hold`]
/// accepts everything.
pub type ArrivalFilter = Box<dyn Fn(i64) -> bool + Send>;

struct Hold {
    id: u64,
    /// The offset the pull asked for: any max offset above it wakes the pull.
    offset: QueueOffset,
    filter: Option<ArrivalFilter>,
    wake: oneshot::Sender<()>,
}

impl Hold {
    /// Whether an arrival raising the queue's max to `max_offset` with `tags_codes` (`None`:
    /// unknown) wakes this pull.
    fn woken_by(&self, max_offset: QueueOffset, tags_codes: Option<&[i64]>) -> bool {
        if max_offset <= self.offset {
            return false;
        }
        match (&self.filter, tags_codes) {
            (Some(filter), Some(codes)) => codes.iter().any(|code| filter(*code)),
            _ => true,
        }
    }
}

#[derive(Default)]
struct HoldTable {
    next_id: u64,
    held: usize,
    /// Topic → queue → held pulls; nested so an arrival looks its queue up without allocating.
    by_topic: HashMap<String, HashMap<QueueId, Vec<Hold>>>,
}

impl HoldTable {
    /// Removes and returns the holds of one queue that `keep` rejects.
    fn take(&mut self, topic: &str, queue_id: QueueId, keep: impl Fn(&Hold) -> bool) -> Vec<Hold> {
        let Some(queues) = self.by_topic.get_mut(topic) else {
            return Vec::new();
        };
        let Some(holds) = queues.get_mut(&queue_id) else {
            return Vec::new();
        };
        let (kept, taken): (Vec<Hold>, Vec<Hold>) = std::mem::take(holds).into_iter().partition(|h| keep(h));
        *holds = kept;
        if holds.is_empty() {
            queues.remove(&queue_id);
        }
        if queues.is_empty() {
            self.by_topic.remove(topic);
        }
        self.held = self.held.saturating_sub(taken.len());
        taken
    }
}

/// The held pulls, shared by the handlers and the store's arrival callback.
#[derive(Default)]
pub struct PullHolds {
    table: Mutex<HoldTable>,
}

impl std::fmt::Debug for PullHolds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullHolds").field("held", &self.len()).finish()
    }
}

/// A parked pull. Await [`HeldPull::woken`]; dropping it removes the entry.
#[derive(Debug)]
pub struct HeldPull {
    holds: Arc<PullHolds>,
    topic: String,
    queue_id: QueueId,
    id: u64,
    woken: Option<oneshot::Receiver<()>>,
}

impl HeldPull {
    /// Resolves when the queue grows past the offset (or the table is torn down).
    pub async fn woken(&mut self) {
        if let Some(receiver) = self.woken.as_mut() {
            // An error means the sender was dropped: treat it as a wake-up, the pull re-runs.
            let _ = receiver.await;
            self.woken = None;
        }
    }

    /// True once woken, without waiting.
    pub fn is_woken(&mut self) -> bool {
        let Some(receiver) = self.woken.as_mut() else {
            return true;
        };
        if matches!(receiver.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            return false;
        }
        // A completed receiver must not be polled again.
        self.woken = None;
        true
    }
}

impl Drop for HeldPull {
    fn drop(&mut self) {
        let id = self.id;
        self.holds.lock().take(&self.topic, self.queue_id, |hold| hold.id != id);
    }
}

impl PullHolds {
    /// Parks a pull for `topic`/`queue_id` waiting beyond `offset` for a message `filter`
    /// accepts (`None`: any); `None` when [`HELD_PULLS_MAX`] pulls are already held (answer at
    /// once instead).
    pub fn hold(
        self: &Arc<Self>,
        topic: &str,
        queue_id: QueueId,
        offset: QueueOffset,
        filter: Option<ArrivalFilter>,
    ) -> Option<HeldPull> {
        let (wake, woken) = oneshot::channel();
        let id = {
            let mut table = self.lock();
            if table.held >= HELD_PULLS_MAX {
                return None;
            }
            table.next_id = table.next_id.wrapping_add(1);
            let id = table.next_id;
            table.held += 1;
            table
                .by_topic
                .entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_default()
                .push(Hold {
                    id,
                    offset,
                    filter,
                    wake,
                });
            id
        };
        Some(HeldPull {
            holds: Arc::clone(self),
            topic: topic.to_owned(),
            queue_id,
            id,
            woken: Some(woken),
        })
    }

    /// The store dispatched entries with `tags_codes` (`None`: unknown) to `topic`/`queue_id`,
    /// whose max offset is now `max_offset`: wakes every pull there waiting below it whose
    /// filter accepts one of the codes.
    pub fn on_arrival(&self, topic: &str, queue_id: QueueId, max_offset: QueueOffset, tags_codes: Option<&[i64]>) {
        let ready = self
            .lock()
            .take(topic, queue_id, |hold| !hold.woken_by(max_offset, tags_codes));
        for hold in ready {
            // The receiver may be gone already (its pull was answered); nothing to do then.
            let _ = hold.wake.send(());
        }
    }

    /// Java's periodic check: every held queue's current max offset, read through `max_offset`
    /// without holding the table lock, wakes the pulls it has passed, whatever their filter
    /// (Java passes no tags code here).
    pub fn check_all(&self, max_offset: impl Fn(&str, QueueId) -> QueueOffset) {
        let keys: Vec<(String, QueueId)> = {
            let table = self.lock();
            let queues = table.by_topic.iter();
            queues
                .flat_map(|(topic, queues)| queues.keys().map(|queue_id| (topic.clone(), *queue_id)))
                .collect()
        };
        for (topic, queue_id) in keys {
            let max = max_offset(&topic, queue_id);
            self.on_arrival(&topic, queue_id, max, None);
        }
    }

    /// Wakes every held pull (each answers after one more read): for shutdown, so held pulls
    /// do not keep the server's grace period waiting.
    pub fn wake_all(&self) {
        let held: Vec<Hold> = {
            let mut table = self.lock();
            table.held = 0;
            let queues = table.by_topic.drain().flat_map(|(_, queues)| queues.into_values());
            queues.flatten().collect()
        };
        for hold in held {
            let _ = hold.wake.send(());
        }
    }

    /// How many pulls are held.
    pub fn len(&self) -> usize {
        self.lock().held
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Held for map updates only; never across an await or a store call.
    fn lock(&self) -> MutexGuard<'_, HoldTable> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long a pull may be held: the client's `suspendTimeoutMillis` under long polling, Java's
/// `shortPollingTimeMills` otherwise; either capped at [`SUSPEND_MS_MAX`].
pub fn hold_duration(long_polling_enable: bool, short_polling_ms: u64, suspend_timeout_ms: i64) -> Duration {
    let ms = if long_polling_enable {
        u64::try_from(suspend_timeout_ms).unwrap_or(0)
    } else {
        short_polling_ms
    };
    Duration::from_millis(ms.min(SUSPEND_MS_MAX))
}

/// Java's hold-service period: [`CHECK_INTERVAL`] under long polling, `shortPollingTimeMills`
/// (at least 1 ms) otherwise.
pub fn check_interval(long_polling_enable: bool, short_polling_ms: u64) -> Duration {
    if long_polling_enable {
        CHECK_INTERVAL
    } else {
        Duration::from_millis(short_polling_ms.clamp(1, SUSPEND_MS_MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrival_wakes_only_pulls_waiting_below_the_new_max() {
        let holds = Arc::new(PullHolds::default());
        let mut at_5 = holds.hold("T", QueueId(0), QueueOffset(5), None).unwrap();
        let mut at_7 = holds.hold("T", QueueId(0), QueueOffset(7), None).unwrap();
        let mut other_queue = holds.hold("T", QueueId(1), QueueOffset(5), None).unwrap();
        assert_eq!(holds.len(), 3);
        holds.on_arrival("T", QueueId(0), QueueOffset(5), None);
        assert!(!at_5.is_woken());
        holds.on_arrival("T", QueueId(0), QueueOffset(6), None);
        assert!(at_5.is_woken());
        assert!(!at_7.is_woken());
        assert!(!other_queue.is_woken());
        assert_eq!(holds.len(), 2);
        holds.on_arrival("U", QueueId(0), QueueOffset(100), None);
        assert_eq!(holds.len(), 2);
        drop(at_5);
        assert_eq!(holds.len(), 2);
    }

    #[test]
    fn an_arrival_wakes_only_pulls_whose_filter_takes_one_of_its_tags() {
        let holds = Arc::new(PullHolds::default());
        let wants_7 = || -> Option<ArrivalFilter> { Some(Box::new(|code| code == 7)) };
        let mut tagged = holds.hold("T", QueueId(0), QueueOffset(5), wants_7()).unwrap();
        let mut any = holds.hold("T", QueueId(0), QueueOffset(5), None).unwrap();
        holds.on_arrival("T", QueueId(0), QueueOffset(6), Some(&[3]));
        assert!(any.is_woken());
        assert!(!tagged.is_woken());
        holds.on_arrival("T", QueueId(0), QueueOffset(8), Some(&[3, 7]));
        assert!(tagged.is_woken());
        let mut unknown = holds.hold("T", QueueId(0), QueueOffset(8), wants_7()).unwrap();
        holds.on_arrival("T", QueueId(0), QueueOffset(9), None);
        assert!(unknown.is_woken());
        assert!(holds.is_empty());
    }

    #[test]
    fn dropping_a_held_pull_removes_it() {
        let holds = Arc::new(PullHolds::default());
        let first = holds.hold("T", QueueId(0), QueueOffset(1), None).unwrap();
        let _second = holds.hold("T", QueueId(0), QueueOffset(1), None).unwrap();
        drop(first);
        assert_eq!(holds.len(), 1);
        holds.on_arrival("T", QueueId(0), QueueOffset(2), None);
        assert!(holds.is_empty());
    }

    #[test]
    fn the_periodic_check_reads_each_queue_once() {
        let holds = Arc::new(PullHolds::default());
        let mut grown = holds.hold("T", QueueId(0), QueueOffset(3), None).unwrap();
        let mut idle = holds.hold("T", QueueId(1), QueueOffset(3), None).unwrap();
        let calls = std::cell::Cell::new(0);
        holds.check_all(|_, queue_id| {
            calls.set(calls.get() + 1);
            if queue_id == QueueId(0) {
                QueueOffset(4)
            } else {
                QueueOffset(3)
            }
        });
        assert_eq!(calls.get(), 2);
        assert!(grown.is_woken());
        assert!(!idle.is_woken());
    }

    #[test]
    fn wake_all_releases_every_queue() {
        let holds = Arc::new(PullHolds::default());
        let mut first = holds.hold("T", QueueId(0), QueueOffset(9), None).unwrap();
        let mut second = holds.hold("U", QueueId(3), QueueOffset(9), None).unwrap();
        holds.wake_all();
        assert!(first.is_woken() && second.is_woken());
        assert!(holds.is_empty());
        drop(first);
        assert!(holds.is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let holds = Arc::new(PullHolds::default());
        holds.lock().held = HELD_PULLS_MAX;
        assert!(holds.hold("T", QueueId(0), QueueOffset(0), None).is_none());
    }

    #[tokio::test]
    async fn woken_resolves_after_an_arrival() {
        let holds = Arc::new(PullHolds::default());
        let mut held = holds.hold("T", QueueId(0), QueueOffset(0), None).unwrap();
        let waker = Arc::clone(&holds);
        tokio::spawn(async move { waker.on_arrival("T", QueueId(0), QueueOffset(1), None) });
        tokio::time::timeout(Duration::from_secs(5), held.woken())
            .await
            .unwrap();
        assert!(held.is_woken());
    }

    #[test]
    fn hold_durations() {
        assert_eq!(hold_duration(true, 1000, 15_000), Duration::from_millis(15_000));
        assert_eq!(hold_duration(true, 1000, -1), Duration::ZERO);
        assert_eq!(hold_duration(true, 1000, i64::MAX), Duration::from_millis(60_000));
        assert_eq!(hold_duration(false, 1000, 15_000), Duration::from_millis(1000));
        assert_eq!(hold_duration(false, u64::MAX, 15_000), Duration::from_millis(60_000));
        assert_eq!(check_interval(true, 1000), Duration::from_secs(5));
        assert_eq!(check_interval(false, 1000), Duration::from_secs(1));
        assert_eq!(check_interval(false, 0), Duration::from_millis(1));
    }
}
