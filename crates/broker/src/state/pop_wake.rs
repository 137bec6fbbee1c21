//! Pops waiting for messages (Java's `PopLongPollingService`, reduced to what it guarantees):
//! a POP_MESSAGE or NOTIFICATION that finds nothing waits on its topics' [`PopWaker`] until
//! the store reports an arrival on one of them or its poll time is up, then looks again.
//!
//! Invariants: an entry lives while someone waits on it (the last [`PopWait`] to drop removes
//! it), so the table never holds dead topics; at most [`POP_WAIT_TOPICS_MAX`] topics are
//! watched at once, past which a pop answers at once (Java's `POLLING_FULL`); the lock is never
//! held while calling the store (the store calls [`PopWakers::on_arrival`] under its own).
//!
//! Beside the wakers, how many pops and notifications wait per topic, group and queue (Java's
//! polling map key, `topic@group@queueId`), which POLLING_INFO answers: a [`Polling`] counts one
//! waiter while it lives, and a key leaves the table with its last waiter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Topics watched by waiting pops at most (Java: `popPollingMapSize` = 100 000 keys).
pub const POP_WAIT_TOPICS_MAX: usize = 100_000;

/// The wakers, shared by the pop handlers and the store's arrival callback.
#[derive(Debug, Default)]
pub struct PopWakers {
    /// Each watched topic's waker and how many [`PopWait`]s hold it.
    by_topic: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
    /// How many [`Polling`]s are alive per key; at most [`POP_WAIT_TOPICS_MAX`] keys.
    polling: Mutex<HashMap<PollingKey, usize>>,
}

/// What Java keys a waiting pop by: `KeyBuilder.buildPollingKey(topic, group, queueId)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PollingKey {
    pub topic: String,
    pub group: String,
    /// The request's queue: -1 for a pop or notification of every queue.
    pub queue_id: i32,
}

/// One waiting pop or notification, counted under its key until dropped.
#[derive(Debug)]
pub struct Polling {
    wakers: Arc<PopWakers>,
    key: PollingKey,
}

impl Drop for Polling {
    fn drop(&mut self) {
        let mut table = self.wakers.lock_polling();
        let last = match table.get_mut(&self.key) {
            Some(waiting) => {
                *waiting = waiting.saturating_sub(1);
                *waiting == 0
            }
            None => false,
        };
        if last {
            table.remove(&self.key);
        }
    }
}

/// One waiter's hold on a topic's waker.
#[derive(Debug)]
pub struct PopWait {
    wakers: Arc<PopWakers>,
    topic: String,
    pub notify: Arc<Notify>,
}

impl Drop for PopWait {
    fn drop(&mut self) {
        let mut table = self.wakers.lock();
        let last = match table.get_mut(&self.topic) {
            Some((_, waiting)) => {
                *waiting = waiting.saturating_sub(1);
                *waiting == 0
            }
            None => false,
        };
        if last {
            table.remove(&self.topic);
        }
    }
}

impl PopWakers {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (Arc<Notify>, usize)>> {
        self.by_topic.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches `topic`; `None` when [`POP_WAIT_TOPICS_MAX`] topics are watched already.
    pub fn watch(self: &Arc<Self>, topic: &str) -> Option<PopWait> {
        let mut table = self.lock();
        if !table.contains_key(topic) && table.len() >= POP_WAIT_TOPICS_MAX {
            return None;
        }
        let (notify, waiting) = table
            .entry(topic.to_owned())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        *waiting = waiting.saturating_add(1);
        let notify = Arc::clone(notify);
        Some(PopWait {
            wakers: Arc::clone(self),
            topic: topic.to_owned(),
            notify,
        })
    }

    /// A message arrived on `topic`: wake whoever waits there.
    pub fn on_arrival(&self, topic: &str) {
        if let Some((notify, _)) = self.lock().get(topic) {
            notify.notify_waiters();
        }
    }

    pub fn watched_topics(&self) -> usize {
        self.lock().len()
    }

    fn lock_polling(&self) -> MutexGuard<'_, HashMap<PollingKey, usize>> {
        self.polling.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one waiter under `key` while the returned guard lives; `None` (not counted) when
    /// [`POP_WAIT_TOPICS_MAX`] keys are counted already, where the waits themselves are refused.
    pub fn count_polling(self: &Arc<Self>, key: PollingKey) -> Option<Polling> {
        let mut table = self.lock_polling();
        if !table.contains_key(&key) && table.len() >= POP_WAIT_TOPICS_MAX {
            return None;
        }
        let waiting = table.entry(key.clone()).or_insert(0);
        *waiting = waiting.saturating_add(1);
        Some(Polling {
            wakers: Arc::clone(self),
            key,
        })
    }

    /// POLLING_INFO's `pollingNum`: the waiters counted under `key`.
    pub fn polling_num(&self, key: &PollingKey) -> usize {
        self.lock_polling().get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn arrivals_wake_waiters_and_idle_topics_are_forgotten() {
        let wakers = Arc::new(PopWakers::default());
        let wait = wakers.watch("T").unwrap();
        let notify = Arc::clone(&wait.notify);
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        wakers.on_arrival("U");
        wakers.on_arrival("T");
        notified.await;
        let second = wakers.watch("T").unwrap();
        drop(wait);
        assert_eq!(wakers.watched_topics(), 1, "still watched by the second");
        drop(second);
        assert_eq!(wakers.watched_topics(), 0);
    }

    fn key(topic: &str, group: &str, queue_id: i32) -> PollingKey {
        PollingKey {
            topic: topic.to_owned(),
            group: group.to_owned(),
            queue_id,
        }
    }

    #[test]
    fn waiters_are_counted_per_topic_group_and_queue_while_they_wait() {
        let wakers = Arc::new(PopWakers::default());
        let first = wakers.count_polling(key("T", "G", -1)).unwrap();
        let second = wakers.count_polling(key("T", "G", -1)).unwrap();
        let other_queue = wakers.count_polling(key("T", "G", 0)).unwrap();
        assert_eq!(wakers.polling_num(&key("T", "G", -1)), 2);
        assert_eq!(wakers.polling_num(&key("T", "G", 0)), 1);
        assert_eq!(wakers.polling_num(&key("T", "H", -1)), 0);
        drop(first);
        assert_eq!(wakers.polling_num(&key("T", "G", -1)), 1);
        drop(second);
        drop(other_queue);
        assert_eq!(wakers.polling_num(&key("T", "G", -1)), 0);
        assert!(wakers.lock_polling().is_empty(), "keys leave with their last waiter");
    }
}
