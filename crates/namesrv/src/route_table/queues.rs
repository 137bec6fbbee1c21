//! Where the topic table keeps its queue data, and what each broker's share costs.
//!
//! A topic's queue data is a short list sorted by broker name ([`TopicRoutes`]): most topics
//! live on one to three broker sets, and a one-entry `BTreeMap` would cost a 700-byte node per
//! topic. Every change to the list goes through [`RouteTable::put_queue_data`],
//! [`RouteTable::remove_queue_data`] or [`RouteTable::remove_topic`], which keep `served` (per
//! broker name: topics and counted bytes) and `stored_bytes` equal to what `topics` holds, so
//! the limits of a registration are checked without a scan.

use ferrocket_wire::body::QueueData;

use super::{RouteTable, queue_data_bytes};

/// The queue data of one topic, at most one per broker name, sorted by broker name.
#[derive(Debug, Clone, Default)]
pub(super) struct TopicRoutes(Vec<QueueData>);

impl TopicRoutes {
    pub(super) fn get(&self, broker_name: &str) -> Option<&QueueData> {
        let index = self.position(broker_name).ok()?;
        self.0.get(index)
    }

    pub(super) fn get_mut(&mut self, broker_name: &str) -> Option<&mut QueueData> {
        let index = self.position(broker_name).ok()?;
        self.0.get_mut(index)
    }

    pub(super) fn contains(&self, broker_name: &str) -> bool {
        self.position(broker_name).is_ok()
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, QueueData> {
        self.0.iter()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Stores `queue_data`, replacing its broker's; returns whether the broker is new here.
    fn insert(&mut self, queue_data: QueueData) -> bool {
        match self.position(&queue_data.broker_name) {
            Ok(index) => {
                if let Some(slot) = self.0.get_mut(index) {
                    *slot = queue_data;
                }
                false
            }
            Err(index) => {
                self.0.insert(index, queue_data);
                true
            }
        }
    }

    fn remove(&mut self, broker_name: &str) -> Option<QueueData> {
        let index = self.position(broker_name).ok()?;
        let removed = self.0.remove(index);
        if self.0.is_empty() {
            // An emptied list is about to go with its topic; release it now in any case.
            self.0 = Vec::new();
        }
        Some(removed)
    }

    fn position(&self, broker_name: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|queue_data| queue_data.broker_name.as_str().cmp(broker_name))
    }

    /// Removes the entries `drop` picks; returns them.
    fn take_where(&mut self, drop: impl Fn(&QueueData) -> bool) -> Vec<QueueData> {
        let (taken, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.0).into_iter().partition(drop);
        self.0 = kept;
        taken
    }
}

/// What one broker name's queue data holds and costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Served {
    pub topics: usize,
    pub bytes: usize,
}

impl RouteTable {
    /// Stores the queue data of `topic` for its broker, replacing what that broker had there.
    pub(super) fn put_queue_data(&mut self, topic: &str, queue_data: QueueData) {
        let broker_name = queue_data.broker_name.clone();
        let added = match self.topics.get_mut(topic) {
            Some(routes) => routes.insert(queue_data),
            None => {
                let mut routes = TopicRoutes::default();
                routes.insert(queue_data);
                self.topics.insert(topic.to_owned(), routes);
                true
            }
        };
        if added {
            let bytes = queue_data_bytes(topic, &broker_name);
            let served = self.served.entry(broker_name).or_default();
            served.topics = served.topics.saturating_add(1);
            served.bytes = served.bytes.saturating_add(bytes);
            self.stored_bytes = self.stored_bytes.saturating_add(bytes);
        }
    }

    /// Removes one broker's queue data of `topic`, and the topic if no broker serves it then.
    pub(super) fn remove_queue_data(&mut self, topic: &str, broker_name: &str) {
        let Some(routes) = self.topics.get_mut(topic) else {
            return;
        };
        let removed = routes.remove(broker_name);
        let emptied = routes.is_empty();
        if removed.is_some() {
            self.forget(topic, broker_name);
        }
        if emptied {
            self.remove_topic(topic);
        }
    }

    /// Removes the queue data `drop` picks from `topic`'s, and the topic if none is left.
    pub(super) fn remove_queue_data_where(&mut self, topic: &str, drop: impl Fn(&QueueData) -> bool) {
        let Some(routes) = self.topics.get_mut(topic) else {
            return;
        };
        let taken = routes.take_where(drop);
        let emptied = routes.is_empty();
        for queue_data in taken {
            self.forget(topic, &queue_data.broker_name);
        }
        if emptied {
            self.remove_topic(topic);
        }
    }

    /// Drops a topic everywhere, with its static-topic mapping.
    pub(super) fn remove_topic(&mut self, topic: &str) {
        if let Some(routes) = self.topics.remove(topic) {
            for queue_data in routes.iter() {
                self.forget(topic, &queue_data.broker_name);
            }
        }
        self.queue_mappings.remove(topic);
    }

    /// The accounting side of removing `broker_name`'s queue data of `topic`.
    fn forget(&mut self, topic: &str, broker_name: &str) {
        let bytes = queue_data_bytes(topic, broker_name);
        self.stored_bytes = self.stored_bytes.saturating_sub(bytes);
        if let Some(served) = self.served.get_mut(broker_name) {
            served.topics = served.topics.saturating_sub(1);
            served.bytes = served.bytes.saturating_sub(bytes);
            if served.topics == 0 {
                self.served.remove(broker_name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(broker_name: &str, queues: i32) -> QueueData {
        QueueData {
            broker_name: broker_name.into(),
            perm: 6,
            read_queue_nums: queues,
            topic_sys_flag: 0,
            write_queue_nums: queues,
        }
    }

    #[test]
    fn routes_stay_sorted_and_unique_per_broker() {
        let mut routes = TopicRoutes::default();
        assert!(routes.insert(queue("c", 1)));
        assert!(routes.insert(queue("a", 1)));
        assert!(routes.insert(queue("b", 1)));
        assert!(!routes.insert(queue("a", 8)));
        let names: Vec<_> = routes.iter().map(|q| q.broker_name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(routes.get("a").map(|q| q.write_queue_nums), Some(8));
        assert!(routes.remove("b").is_some() && routes.remove("b").is_none());
        assert!(!routes.contains("b") && routes.contains("c"));
    }

    #[test]
    fn accounting_follows_every_change() {
        let mut table = RouteTable::new();
        table.put_queue_data("T", queue("a", 4));
        table.put_queue_data("T", queue("b", 4));
        table.put_queue_data("U", queue("a", 4));
        table.put_queue_data("U", queue("a", 8));
        assert_eq!(table.served_by("a"), (2, 2 * queue_data_bytes("T", "a")));
        assert_eq!(table.stored_bytes(), 3 * queue_data_bytes("T", "a"));
        table.remove_queue_data("T", "a");
        table.remove_queue_data("T", "a");
        assert_eq!(table.served_by("a").0, 1);
        table.remove_queue_data_where("U", |q| q.broker_name == "a");
        assert_eq!(table.served_by("a"), (0, 0));
        assert!(!table.topics.contains_key("U"));
        table.remove_topic("T");
        assert_eq!(
            (table.stored_bytes(), table.served.len(), table.topics.len()),
            (0, 0, 0)
        );
    }
}
