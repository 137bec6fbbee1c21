//! Committed consumer offsets: Java's `ConsumerOffsetManager` (store-and-ha.md §6.3, §13.5),
//! and the delay-level progress of `ScheduleMessageService` (§6.4), which lives in the same
//! kind of file.
//!
//! Keys are `topic@group` (names cannot hold `@`, Java's validator forbids it); values map a
//! queue id to the **next** offset to consume. Commits overwrite, smaller values included, as in
//! Java. The data version moves every [`VERSION_STEP_COMMITS`] commits (Java's
//! `consumerOffsetUpdateVersionStep`), so slaves notice progress without a bump per commit.
//! Bounded by [`OFFSET_KEYS_MAX`] keys and [`QUEUE_IDS_MAX`] queues per key. Pure.

use std::collections::{BTreeMap, BTreeSet};

use ferrocket_wire::body::{ConsumerOffsetSerializeWrapper, DataVersion, DelayOffsetSerializeWrapper};
use tracing::warn;

use crate::limit_warnings::{LimitWarning, limit_warning};
use crate::names::next_version;

/// Java's `TOPIC_GROUP_SEPARATOR`.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// Java's `consumerOffsetUpdateVersionStep` default.
pub const VERSION_STEP_COMMITS: u64 = 500;

/// Clients add keys by committing; topics (50 000) × a few groups each stays well below this,
/// and a million keys keep `consumerOffset.json` around 100 MB at worst.
pub const OFFSET_KEYS_MAX: usize = 1_000_000;

/// Queue ids come from requests; no real topic has more queues than this (Java's largest
/// built-in, `BenchmarkTest`, has 1024).
pub const QUEUE_IDS_MAX: i32 = 65_536;

static OFFSET_KEYS_FULL: LimitWarning = limit_warning!(OFFSET_KEYS_MAX);
static QUEUE_IDS_OUT_OF_RANGE: LimitWarning = limit_warning!(QUEUE_IDS_MAX);

#[derive(Debug, Clone, Default)]
pub struct ConsumerOffsetTable {
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// 5.x server-side reset: offsets a pull must start from once, then forget
    /// (`resetOffsetTable`, `queryThenEraseResetOffset`).
    resets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Where each queue's last pull left off (Java's `pullOffsetTable`, the `nextBeginOffset`
    /// of every pull answer): in memory only, as in Java; the metrics' in-flight and ready
    /// messages of pull groups read it.
    pulls: BTreeMap<String, BTreeMap<i32, i64>>,
    data_version: DataVersion,
    commits_since_version: u64,
    /// Delay level → next offset of `SCHEDULE_TOPIC_XXXX` queue `level - 1`.
    delay_offsets: BTreeMap<i32, i64>,
    delay_data_version: DataVersion,
}

pub fn offset_key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

/// `(topic, group)` of a `topic@group` key; `None` for a malformed key.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    let (topic, group) = key.split_once(TOPIC_GROUP_SEPARATOR)?;
    if topic.is_empty() || group.is_empty() || group.contains(TOPIC_GROUP_SEPARATOR) {
        return None;
    }
    Some((topic, group))
}

impl ConsumerOffsetTable {
    /// An empty table whose versions start at `now_ms`, as Java's `new DataVersion()` does.
    pub fn new(now_ms: i64) -> ConsumerOffsetTable {
        let version = DataVersion {
            timestamp: now_ms,
            ..DataVersion::default()
        };
        ConsumerOffsetTable {
            data_version: version,
            delay_data_version: version,
            ..ConsumerOffsetTable::default()
        }
    }

    /// Java's `queryOffset`: the committed offset, `None` where Java answers -1.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.offsets.get(&offset_key(topic, group))?.get(&queue_id).copied()
    }

    /// Every committed queue of `topic@group` (Java's `queryOffset(group, topic)`).
    pub fn queue_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.offsets.get(&offset_key(topic, group)).cloned().unwrap_or_default()
    }

    /// Java's `commitOffset`: stores `offset`, whatever the previous value. Refused (and logged)
    /// only past the table's bounds.
    pub fn commit(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64, now_ms: i64) {
        if !(0..QUEUE_IDS_MAX).contains(&queue_id) {
            QUEUE_IDS_OUT_OF_RANGE.hit(now_ms, group, "offset commit for an impossible queue id ignored");
            return;
        }
        let key = offset_key(topic, group);
        if !self.offsets.contains_key(&key) && self.offsets.len() >= OFFSET_KEYS_MAX {
            OFFSET_KEYS_FULL.hit(now_ms, &key, "offset commit ignored");
            return;
        }
        self.offsets.entry(key).or_default().insert(queue_id, offset);
        self.commits_since_version = self.commits_since_version.saturating_add(1);
        if self.commits_since_version >= VERSION_STEP_COMMITS {
            self.commits_since_version = 0;
            next_version(&mut self.data_version, now_ms);
        }
    }

    /// Java's `commitPullOffset`: where the group's last pull on the queue ended. Same bounds as
    /// [`Self::commit`] (a refused key only leaves the metrics to the committed offset).
    pub fn commit_pull(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        if !(0..QUEUE_IDS_MAX).contains(&queue_id) {
            return;
        }
        if let Some(queues) = self.pulls.get_mut(&offset_key(topic, group)) {
            queues.insert(queue_id, offset);
        } else if self.pulls.len() < OFFSET_KEYS_MAX {
            self.pulls
                .entry(offset_key(topic, group))
                .or_default()
                .insert(queue_id, offset);
        }
    }

    /// Java's `queryPullOffset`: the last pull's end, else the committed offset.
    pub fn query_pull(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.pulls
            .get(&offset_key(topic, group))
            .and_then(|queues| queues.get(&queue_id).copied())
            .or_else(|| self.query(group, topic, queue_id))
    }

    /// Every pulled queue of `topic@group`: queue → the last pull's end.
    pub fn queue_pull_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.pulls.get(&offset_key(topic, group)).cloned().unwrap_or_default()
    }

    /// Java's `assignResetOffset`: commits `offset` and remembers it for the group's next pull.
    pub fn assign_reset_offset(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64, now_ms: i64) {
        self.commit(group, topic, queue_id, offset, now_ms);
        if self.query(group, topic, queue_id) == Some(offset) {
            self.resets
                .entry(offset_key(topic, group))
                .or_default()
                .insert(queue_id, offset);
        }
    }

    /// Java's `queryThenEraseResetOffset`: a pending reset for this queue, forgotten once read.
    pub fn take_reset_offset(&mut self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let key = offset_key(topic, group);
        let queues = self.resets.get_mut(&key)?;
        let offset = queues.remove(&queue_id);
        if queues.is_empty() {
            self.resets.remove(&key);
        }
        offset
    }

    /// Every committed offset of `group`: topic → queue → offset (GET_CONSUME_STATS).
    pub fn group_offsets(&self, group: &str) -> BTreeMap<String, BTreeMap<i32, i64>> {
        self.offsets
            .iter()
            .filter_map(|(key, queues)| match split_key(key) {
                Some((topic, g)) if g == group => Some((topic.to_owned(), queues.clone())),
                _ => None,
            })
            .collect()
    }

    /// Java's `whichTopicByConsumer`: topics `group` has offsets on.
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        self.keys()
            .filter(|(_, g)| *g == group)
            .map(|(topic, _)| topic.to_owned())
            .collect()
    }

    /// Java's `whichGroupByTopic`: groups with offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        self.keys()
            .filter(|(t, _)| *t == topic)
            .map(|(_, group)| group.to_owned())
            .collect()
    }

    /// Group → the topics it has offsets on (QUERY_TOPIC_CONSUME_BY_WHO, consumer progress).
    pub fn group_topics(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (topic, group) in self.keys() {
            map.entry(group.to_owned()).or_default().insert(topic.to_owned());
        }
        map
    }

    /// Java's `removeOffset(group)`: forgets every offset of `group`. True if any existed.
    pub fn remove_group(&mut self, group: &str, now_ms: i64) -> bool {
        let before = self.offsets.len();
        self.offsets
            .retain(|key, _| split_key(key).is_none_or(|(_, g)| g != group));
        self.resets
            .retain(|key, _| split_key(key).is_none_or(|(_, g)| g != group));
        self.pulls
            .retain(|key, _| split_key(key).is_none_or(|(_, g)| g != group));
        let removed = self.offsets.len() != before;
        if removed {
            next_version(&mut self.data_version, now_ms);
        }
        removed
    }

    /// Java's `cleanOffsetByTopic`: forgets every offset on `topic` (DELETE_TOPIC_IN_BROKER).
    pub fn remove_topic(&mut self, topic: &str, now_ms: i64) -> bool {
        let before = self.offsets.len();
        self.offsets
            .retain(|key, _| split_key(key).is_none_or(|(t, _)| t != topic));
        self.resets
            .retain(|key, _| split_key(key).is_none_or(|(t, _)| t != topic));
        self.pulls
            .retain(|key, _| split_key(key).is_none_or(|(t, _)| t != topic));
        let removed = self.offsets.len() != before;
        if removed {
            next_version(&mut self.data_version, now_ms);
        }
        removed
    }

    pub fn data_version(&self) -> DataVersion {
        self.data_version
    }

    /// GET_ALL_CONSUMER_OFFSET and `consumerOffset.json`.
    pub fn to_wrapper(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper {
            data_version: Some(self.data_version),
            offset_table: self.offsets.clone(),
        }
    }

    /// Loads `consumerOffset.json`; malformed keys and impossible queue ids are dropped.
    pub fn from_wrapper(wrapper: ConsumerOffsetSerializeWrapper) -> ConsumerOffsetTable {
        let mut table = ConsumerOffsetTable {
            data_version: wrapper.data_version.unwrap_or_default(),
            ..ConsumerOffsetTable::default()
        };
        for (key, mut queues) in wrapper.offset_table {
            if split_key(&key).is_none() || table.offsets.len() >= OFFSET_KEYS_MAX {
                warn!(key, "consumer offset entry skipped");
                continue;
            }
            queues.retain(|queue_id, _| (0..QUEUE_IDS_MAX).contains(queue_id));
            table.offsets.insert(key, queues);
        }
        table
    }

    /// A slave's sync from its master (Java's `syncConsumerOffset`): the master's entries
    /// overwrite these key by key (`putAll`, nothing is deleted) and its version is adopted.
    pub fn merge_from_master(&mut self, wrapper: ConsumerOffsetSerializeWrapper) {
        let master = ConsumerOffsetTable::from_wrapper(wrapper);
        for (key, queues) in master.offsets {
            if self.offsets.len() >= OFFSET_KEYS_MAX && !self.offsets.contains_key(&key) {
                warn!(key, "consumer offset from the master skipped: table full");
                continue;
            }
            self.offsets.insert(key, queues);
        }
        self.data_version = master.data_version;
    }

    pub fn delay_offset(&self, level: i32) -> Option<i64> {
        self.delay_offsets.get(&level).copied()
    }

    pub fn set_delay_offset(&mut self, level: i32, offset: i64, now_ms: i64) {
        self.delay_offsets.insert(level, offset);
        next_version(&mut self.delay_data_version, now_ms);
    }

    /// GET_ALL_DELAY_OFFSET and `delayOffset.json`.
    pub fn delay_wrapper(&self) -> DelayOffsetSerializeWrapper {
        DelayOffsetSerializeWrapper {
            data_version: Some(self.delay_data_version),
            offset_table: self.delay_offsets.clone(),
        }
    }

    /// Loads `delayOffset.json`; only levels that can exist (1 to [`QUEUE_IDS_MAX`]) are kept.
    pub fn load_delay_wrapper(&mut self, wrapper: DelayOffsetSerializeWrapper) {
        self.delay_offsets = wrapper
            .offset_table
            .into_iter()
            .filter(|(level, _)| (1..=QUEUE_IDS_MAX).contains(level))
            .collect();
        self.delay_data_version = wrapper.data_version.unwrap_or_default();
    }

    fn keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.offsets.keys().filter_map(|key| split_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_query_and_overwrite() {
        let mut table = ConsumerOffsetTable::new(9);
        assert_eq!(table.to_wrapper().data_version.map(|v| v.timestamp), Some(9));
        assert_eq!(table.query("cg", "T", 0), None);
        table.commit("cg", "T", 0, 42, 1);
        table.commit("cg", "T", 1, 40, 1);
        assert_eq!(table.query("cg", "T", 0), Some(42));
        table.commit("cg", "T", 0, 7, 1);
        assert_eq!(
            table.query("cg", "T", 0),
            Some(7),
            "smaller commits overwrite, as in Java"
        );
        assert_eq!(table.queue_offsets("cg", "T"), BTreeMap::from([(0, 7), (1, 40)]));
        table.commit("cg", "T", -1, 1, 1);
        table.commit("cg", "T", QUEUE_IDS_MAX, 1, 1);
        assert_eq!(table.queue_offsets("cg", "T").len(), 2);
    }

    #[test]
    fn version_moves_every_step() {
        let mut table = ConsumerOffsetTable::default();
        for n in 0..VERSION_STEP_COMMITS - 1 {
            table.commit("cg", "T", 0, i64::try_from(n).unwrap(), 5);
        }
        assert_eq!(table.data_version().counter, 0);
        table.commit("cg", "T", 0, 1, 6);
        assert_eq!((table.data_version().counter, table.data_version().timestamp), (1, 6));
    }

    #[test]
    fn lookups_by_group_and_topic_and_removal() {
        let mut table = ConsumerOffsetTable::default();
        table.commit("g1", "A", 0, 1, 0);
        table.commit("g1", "B", 0, 1, 0);
        table.commit("g2", "A", 0, 1, 0);
        assert_eq!(
            table.topics_of_group("g1"),
            BTreeSet::from(["A".to_owned(), "B".to_owned()])
        );
        assert_eq!(
            table.groups_of_topic("A"),
            BTreeSet::from(["g1".to_owned(), "g2".to_owned()])
        );
        assert_eq!(table.group_topics().len(), 2);
        assert!(table.remove_group("g1", 3));
        assert!(!table.remove_group("g1", 4));
        assert_eq!(table.groups_of_topic("A"), BTreeSet::from(["g2".to_owned()]));
        assert!(table.remove_topic("A", 5));
        assert!(table.to_wrapper().offset_table.is_empty());
        assert_eq!(table.data_version().counter, 2);
    }

    #[test]
    fn pull_offsets_fall_back_to_commits_and_are_not_persisted() {
        let mut table = ConsumerOffsetTable::default();
        table.commit("cg", "T", 0, 3, 0);
        assert_eq!(table.query_pull("cg", "T", 0), Some(3));
        table.commit_pull("cg", "T", 0, 8);
        table.commit_pull("cg", "T", -1, 8);
        assert_eq!(
            (table.query_pull("cg", "T", 0), table.query("cg", "T", 0)),
            (Some(8), Some(3))
        );
        assert_eq!(table.queue_pull_offsets("cg", "T"), BTreeMap::from([(0, 8)]));
        assert_eq!(
            ConsumerOffsetTable::from_wrapper(table.to_wrapper()).query_pull("cg", "T", 0),
            Some(3)
        );
        table.remove_group("cg", 1);
        assert_eq!(table.query_pull("cg", "T", 0), None);
    }

    #[test]
    fn reset_offsets_are_taken_once() {
        let mut table = ConsumerOffsetTable::default();
        table.assign_reset_offset("cg", "T", 2, 100, 0);
        assert_eq!(table.query("cg", "T", 2), Some(100));
        assert_eq!(table.take_reset_offset("cg", "T", 2), Some(100));
        assert_eq!(table.take_reset_offset("cg", "T", 2), None);
    }

    #[test]
    fn wrappers_round_trip_and_drop_bad_entries() {
        let mut table = ConsumerOffsetTable::default();
        table.commit("cg", "T", 3, 9, 0);
        table.set_delay_offset(1, 17, 4);
        let wrapper = table.to_wrapper();
        let mut loaded = ConsumerOffsetTable::from_wrapper(wrapper.clone());
        assert_eq!(loaded.to_wrapper(), wrapper);
        loaded.load_delay_wrapper(table.delay_wrapper());
        assert_eq!(
            (loaded.delay_offset(1), loaded.delay_wrapper()),
            (Some(17), table.delay_wrapper())
        );
        let mut bad = ConsumerOffsetSerializeWrapper::default();
        bad.offset_table.insert("no-separator".into(), BTreeMap::from([(0, 1)]));
        bad.offset_table.insert("T@g@x".into(), BTreeMap::from([(0, 1)]));
        bad.offset_table.insert("T@g".into(), BTreeMap::from([(-5, 1), (0, 2)]));
        let loaded = ConsumerOffsetTable::from_wrapper(bad);
        assert_eq!(loaded.to_wrapper().offset_table.len(), 1);
        assert_eq!(loaded.query("g", "T", 0), Some(2));
        assert_eq!(loaded.query("g", "T", -5), None);
    }

    #[test]
    fn a_slave_merges_the_masters_offsets_and_adopts_its_version() {
        let mut master = ConsumerOffsetTable::new(1);
        master.commit("cg", "T", 0, 42, 2);
        master.commit("cg", "U", 1, 7, 2);
        let mut slave = ConsumerOffsetTable::new(3);
        slave.commit("cg", "T", 0, 5, 4);
        slave.commit("other", "T", 0, 9, 4);
        slave.merge_from_master(master.to_wrapper());
        assert_eq!(slave.query("cg", "T", 0), Some(42));
        assert_eq!(slave.query("cg", "U", 1), Some(7));
        assert_eq!(slave.query("other", "T", 0), Some(9), "nothing is deleted");
        assert_eq!(slave.data_version(), master.data_version());
    }
}
