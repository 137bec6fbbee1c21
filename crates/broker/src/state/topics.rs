//! The topic table: Java's `TopicConfigManager` (store-and-ha.md §14). Which topics this broker
//! serves, with their queue counts and permissions, the system topics Java creates at start-up,
//! and the two ways a send creates a topic (from `TBW102`, and `%RETRY%` topics).
//!
//! Invariants: every key equals its config's `topic_name`; every change bumps the data version
//! (counter + 1, timestamp = the caller's `now_ms`), which is how the persist and registration
//! tasks notice it; the table never holds more than [`TOPICS_MAX`] topics. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferrocket_wire::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use ferrocket_wire::permissions::{PERM_INHERIT, PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::{
    AUTO_CREATE_TOPIC, BENCHMARK_TOPIC, OFFSET_MOVED_EVENT_TOPIC, REPLY_TOPIC_POSTFIX, REVIVE_TOPIC_PREFIX,
    SCHEDULE_TOPIC, SCHEDULE_TOPIC_V2, SELF_TEST_TOPIC, SYNC_BROKER_MEMBER_TOPIC_PREFIX, SYSTEM_TOPIC_PREFIX,
    TIMER_TOPIC, TRACE_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};
use tracing::{info, warn};

use crate::config::SystemTopicSettings;
use crate::error::{BrokerError, BrokerResult};
use crate::limit_warnings::{LimitWarning, limit_warning};
use crate::names::{STORED_TOPIC_BYTES_MAX, TOPICS_MAX, next_version, validate_topic};
use crate::state::metrics::TopicTraffic;

static TOPICS_FULL: LimitWarning = limit_warning!(TOPICS_MAX);
static STORED_TOPICS_TOO_LONG: LimitWarning = limit_warning!(STORED_TOPIC_BYTES_MAX);

/// `TopicConfigManager.SCHEDULE_TOPIC_QUEUE_NUM`: one queue per delay level.
const SCHEDULE_TOPIC_QUEUE_NUMS: i32 = 18;
/// `BrokerConfig.reviveQueueNum` default, for the 5.x pop revive topic.
pub const REVIVE_QUEUE_NUMS: i32 = 8;
/// `RMQ_SYS_BENCHMARK_TOPIC` gets 1024 queues in Java.
const BENCHMARK_QUEUE_NUMS: i32 = 1024;

/// Topic attributes a 5.x broker knows (`TopicAttributes.ALL`); others are refused.
const KNOWN_ATTRIBUTES: &[&str] = &["cleanup.policy", "message.type", "queue.type", "reserve.time"];

#[derive(Debug, Clone, Default)]
pub struct TopicTable {
    topics: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
    auto_create_topic_enable: bool,
    /// Names Java adds to `TopicValidator`'s system set, including the cluster and broker names.
    system_topics: BTreeSet<String>,
    /// Each topic's metric counters, made on its first send and dropped with the topic, so a
    /// send finds them under the lock it already holds (state/metrics.rs).
    traffic: BTreeMap<String, Arc<TopicTraffic>>,
}

impl TopicTable {
    /// The table Java's `TopicConfigManager.init` builds before loading `topics.json`.
    pub fn new(settings: &SystemTopicSettings, now_ms: i64) -> TopicTable {
        let mut table = TopicTable {
            auto_create_topic_enable: settings.auto_create_topic_enable,
            data_version: DataVersion {
                timestamp: now_ms,
                ..DataVersion::default()
            },
            ..TopicTable::default()
        };
        for name in [
            AUTO_CREATE_TOPIC,
            SCHEDULE_TOPIC,
            SCHEDULE_TOPIC_V2,
            BENCHMARK_TOPIC,
            TRANS_HALF_TOPIC,
            TRACE_TOPIC,
            TRANS_OP_HALF_TOPIC,
            TRANS_CHECK_MAX_TIME_TOPIC,
            SELF_TEST_TOPIC,
            OFFSET_MOVED_EVENT_TOPIC,
        ] {
            table.system_topics.insert(name.to_owned());
        }
        let rw = PERM_READ | PERM_WRITE;
        let enabled = |on: bool| if on { PERM_INHERIT | rw } else { PERM_INHERIT };
        let queues = settings.default_topic_queue_nums;
        let mut start_up = vec![(SELF_TEST_TOPIC.to_owned(), 1, rw)];
        if settings.auto_create_topic_enable {
            start_up.push((AUTO_CREATE_TOPIC.to_owned(), queues, PERM_INHERIT | rw));
        }
        start_up.extend([
            (BENCHMARK_TOPIC.to_owned(), BENCHMARK_QUEUE_NUMS, rw),
            (
                settings.cluster_name.clone(),
                16,
                enabled(settings.cluster_topic_enable),
            ),
            (settings.broker_name.clone(), 1, enabled(settings.broker_topic_enable)),
            (OFFSET_MOVED_EVENT_TOPIC.to_owned(), 1, rw),
            (SCHEDULE_TOPIC.to_owned(), SCHEDULE_TOPIC_QUEUE_NUMS, rw),
        ]);
        start_up.extend(settings.trace_topic.iter().map(|name| (name.clone(), 1, rw)));
        start_up.extend([
            (format!("{}_{REPLY_TOPIC_POSTFIX}", settings.cluster_name), 1, rw),
            (
                format!("{REVIVE_TOPIC_PREFIX}{}", settings.cluster_name),
                REVIVE_QUEUE_NUMS,
                rw,
            ),
            (
                format!("{SYNC_BROKER_MEMBER_TOPIC_PREFIX}{}", settings.broker_name),
                1,
                PERM_INHERIT,
            ),
            (TRANS_HALF_TOPIC.to_owned(), 1, rw),
            (TRANS_OP_HALF_TOPIC.to_owned(), 1, rw),
        ]);
        if settings.timer_wheel_enable {
            start_up.push((TIMER_TOPIC.to_owned(), 1, rw));
        }
        for (name, queue_nums, perm) in start_up {
            table.system_topics.insert(name.clone());
            let config = new_topic(&name, queue_nums, perm);
            table.topics.insert(name, config);
        }
        table
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.topics.get(topic).cloned()
    }

    /// The counters of a topic this table holds, made on first use (once per topic); `None`
    /// for a topic it does not hold, so the map stays within [`TOPICS_MAX`].
    pub fn traffic(&mut self, topic: &str) -> Option<Arc<TopicTraffic>> {
        if let Some(traffic) = self.traffic.get(topic) {
            return Some(Arc::clone(traffic));
        }
        if !self.topics.contains_key(topic) {
            return None;
        }
        let traffic = Arc::new(TopicTraffic::default());
        self.traffic.insert(topic.to_owned(), Arc::clone(&traffic));
        Some(traffic)
    }

    /// Every topic's counters that exist, for a scrape.
    pub fn all_traffic(&self) -> Vec<(String, Arc<TopicTraffic>)> {
        self.traffic.iter().map(|(t, c)| (t.clone(), Arc::clone(c))).collect()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    pub fn topics(&self) -> &BTreeMap<String, TopicConfig> {
        &self.topics
    }

    pub fn data_version(&self) -> DataVersion {
        self.data_version
    }

    /// Java's `TopicValidator.isSystemTopic`: a start-up topic or one named `rmq_sys_…`.
    pub fn is_system_topic(&self, topic: &str) -> bool {
        self.system_topics.contains(topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_BROKER: every system topic name Java's set holds.
    pub fn system_topics(&self) -> Vec<String> {
        self.system_topics.iter().cloned().collect()
    }

    /// Java's `createTopicInSendMessageMethod`: the topic if it exists; else a new one from
    /// `default_topic` when that exists and has the INHERIT bit (`TBW102` loses the bit while
    /// auto-creation is off): `min(queue_nums, default's writeQueueNums)` queues, the default's
    /// perm without INHERIT, its filter type, `topic_sys_flag`. `None` when nothing is created.
    pub fn create_on_send(
        &mut self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        topic_sys_flag: i32,
        remote_addr: &str,
        now_ms: i64,
    ) -> BrokerResult<Option<TopicConfig>> {
        if let Some(existing) = self.topics.get(topic) {
            return Ok(Some(existing.clone()));
        }
        validate_topic(topic)?;
        let auto_create = self.auto_create_topic_enable;
        let Some(template) = self.topics.get_mut(default_topic) else {
            warn!(
                default_topic,
                producer = remote_addr,
                "create new topic failed: the default topic does not exist"
            );
            return Ok(None);
        };
        if default_topic == AUTO_CREATE_TOPIC && !auto_create {
            // Java mutates the stored TBW102 this way (and never persists it unless it changes).
            template.perm = PERM_READ | PERM_WRITE;
        }
        if template.perm & PERM_INHERIT == 0 {
            warn!(
                default_topic,
                perm = template.perm,
                producer = remote_addr,
                "create new topic failed: the default topic has no inherit perm"
            );
            return Ok(None);
        }
        let queues = queue_nums.min(template.write_queue_nums).max(0);
        let config = TopicConfig {
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !PERM_INHERIT,
            topic_sys_flag,
            topic_filter_type: template.topic_filter_type.clone(),
            ..new_topic(topic, queues, 0)
        };
        if !self.insert_new(config.clone(), now_ms) {
            return Ok(None);
        }
        info!(
            topic,
            default_topic,
            producer = remote_addr,
            "created topic from the default topic"
        );
        Ok(Some(config))
    }

    /// Java's `createTopicInSendMessageBackMethod` (`%RETRY%group`, `%DLQ%group`): the topic if
    /// it exists (its `order` flag updated to `order`), else a new one with `queue_nums` queues.
    /// `None` when the table is full, or the topic longer than [`STORED_TOPIC_BYTES_MAX`] (a
    /// group loaded from a file or a master, longer than we create).
    pub fn create_retry_topic(
        &mut self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
        order: bool,
        topic_sys_flag: i32,
        now_ms: i64,
    ) -> Option<TopicConfig> {
        if let Some(existing) = self.topics.get_mut(topic) {
            if existing.order != order {
                existing.order = order;
                let updated = existing.clone();
                self.bump(now_ms);
                return Some(updated);
            }
            return Some(existing.clone());
        }
        if topic.len() > STORED_TOPIC_BYTES_MAX {
            STORED_TOPICS_TOO_LONG.hit(now_ms, topic, "retry topic not created");
            return None;
        }
        let config = TopicConfig {
            topic_sys_flag,
            order,
            ..new_topic(topic, queue_nums, perm)
        };
        if !self.insert_new(config.clone(), now_ms) {
            return None;
        }
        info!(topic, "created retry topic");
        Some(config)
    }

    /// UPDATE_AND_CREATE_TOPIC: stores `config`, its attributes merged into the current ones by
    /// `attribute_changes` (`+key=value` sets, `-key` removes; only `+` when creating).
    pub fn update(&mut self, mut config: TopicConfig, attribute_changes: &str, now_ms: i64) -> BrokerResult<()> {
        validate_topic(&config.topic_name)?;
        let current = self.topics.get(&config.topic_name);
        if current.is_none() && self.topics.len() >= TOPICS_MAX {
            return Err(BrokerError::TopicTableFull { limit: TOPICS_MAX });
        }
        let mut attributes = current.map(|c| c.attributes.clone()).unwrap_or_default();
        alter_attributes(&mut attributes, attribute_changes, current.is_none())?;
        config.attributes = attributes;
        info!(topic = config.topic_name, "topic config updated");
        self.topics.insert(config.topic_name.clone(), config);
        self.bump(now_ms);
        Ok(())
    }

    /// DELETE_TOPIC_IN_BROKER: the removed config, if there was one.
    pub fn delete(&mut self, topic: &str, now_ms: i64) -> Option<TopicConfig> {
        let removed = self.topics.remove(topic)?;
        self.traffic.remove(topic);
        self.bump(now_ms);
        Some(removed)
    }

    /// Java's `updateOrderTopicConfig`: marks the listed topics (the name server's
    /// ORDER_TOPIC_CONFIG namespace) as ordered; never clears the flag. True if any changed.
    pub fn mark_ordered<'a>(&mut self, topics: impl IntoIterator<Item = &'a str>, now_ms: i64) -> bool {
        let mut changed = false;
        for topic in topics {
            if let Some(config) = self.topics.get_mut(topic)
                && !config.order
            {
                config.order = true;
                changed = true;
            }
        }
        if changed {
            self.bump(now_ms);
        }
        changed
    }

    /// Bumps the data version without a change of its own: the registration must be resent
    /// (UPDATE_BROKER_CONFIG changing `brokerPermission`, as Java does).
    pub fn touch(&mut self, now_ms: i64) {
        self.bump(now_ms);
    }

    /// GET_ALL_TOPIC_CONFIG, REGISTER_BROKER and `topics.json`.
    pub fn to_wrapper(&self) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: self.data_version,
            topic_config_table: self.topics.clone(),
            ..TopicConfigSerializeWrapper::default()
        }
    }

    /// Java's `decode`: loaded topics replace start-up ones of the same name; the version is
    /// the file's. Entries keyed differently from their `topicName` are keyed by the name.
    pub fn load_wrapper(&mut self, wrapper: TopicConfigSerializeWrapper) {
        for (key, mut config) in wrapper.topic_config_table {
            if config.topic_name.is_empty() {
                config.topic_name = key;
            }
            if self.topics.len() >= TOPICS_MAX && !self.topics.contains_key(&config.topic_name) {
                warn!(
                    topic = config.topic_name,
                    "topics.json holds more than {TOPICS_MAX} topics; rest skipped"
                );
                break;
            }
            self.topics.insert(config.topic_name.clone(), config);
        }
        self.data_version = wrapper.data_version;
    }

    /// A slave's sync from its master (Java's `SlaveSynchronize.syncTopicConfig`): when the
    /// master's data version differs, the master's table replaces this one whole and its version
    /// is adopted. Returns whether anything was replaced.
    pub fn replace_from_master(&mut self, wrapper: TopicConfigSerializeWrapper) -> bool {
        if wrapper.data_version == self.data_version {
            return false;
        }
        self.topics.clear();
        self.load_wrapper(wrapper);
        let topics = &self.topics;
        self.traffic.retain(|topic, _| topics.contains_key(topic));
        true
    }

    fn insert_new(&mut self, config: TopicConfig, now_ms: i64) -> bool {
        if self.topics.len() >= TOPICS_MAX {
            TOPICS_FULL.hit(now_ms, &config.topic_name, "topic not created");
            return false;
        }
        self.topics.insert(config.topic_name.clone(), config);
        self.bump(now_ms);
        true
    }

    fn bump(&mut self, now_ms: i64) {
        next_version(&mut self.data_version, now_ms);
    }
}

/// `new TopicConfig(name, queues, queues, perm)` with Java's other defaults.
pub fn new_topic(name: &str, queue_nums: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queue_nums,
        write_queue_nums: queue_nums,
        perm,
        ..TopicConfig::default()
    }
}

/// Java's `AttributeUtil.alterCurrentAttributes` for the `+key=value,-key` text of a request.
fn alter_attributes(current: &mut BTreeMap<String, String>, changes: &str, creating: bool) -> BrokerResult<()> {
    for change in changes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (add, rest) = match change.split_at_checked(1) {
            Some(("+", rest)) => (true, rest),
            Some(("-", rest)) => (false, rest),
            _ => {
                return Err(BrokerError::AttributeFormatWrong {
                    change: change.to_owned(),
                });
            }
        };
        let (key, value) = match rest.split_once('=') {
            Some((key, value)) => (key, value),
            None => (rest, ""),
        };
        if !KNOWN_ATTRIBUTES.contains(&key) {
            return Err(BrokerError::AttributeKeyUnsupported { key: key.to_owned() });
        }
        match (add, creating) {
            (true, _) if value.is_empty() || value.contains(' ') => {
                return Err(BrokerError::AttributeValueWrong {
                    change: change.to_owned(),
                });
            }
            (true, _) => {
                current.insert(key.to_owned(), value.to_owned());
            }
            (false, true) => {
                return Err(BrokerError::AttributeRemovedOnCreate { key: key.to_owned() });
            }
            (false, false) => {
                if current.remove(key).is_none() {
                    return Err(BrokerError::AttributeRemovedMissing { key: key.to_owned() });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::ResponseCode;
    use ferrocket_wire::system_topics::retry_topic;

    use super::*;

    fn settings(auto_create: bool) -> SystemTopicSettings {
        SystemTopicSettings {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            auto_create_topic_enable: auto_create,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic: None,
            timer_wheel_enable: true,
        }
    }

    #[test]
    fn start_up_topics_are_javas() {
        let table = TopicTable::new(&settings(true), 5);
        let expect = |name: &str, queues: i32, perm: i32| {
            let config = table.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(
                (config.read_queue_nums, config.write_queue_nums, config.perm),
                (queues, queues, perm),
                "{name}"
            );
        };
        expect("SELF_TEST_TOPIC", 1, 6);
        expect("TBW102", 8, 7);
        expect("BenchmarkTest", 1024, 6);
        expect("DefaultCluster", 16, 7);
        expect("broker-a", 1, 7);
        expect("OFFSET_MOVED_EVENT", 1, 6);
        expect("SCHEDULE_TOPIC_XXXX", 18, 6);
        expect("DefaultCluster_REPLY_TOPIC", 1, 6);
        expect("rmq_sys_REVIVE_LOG_DefaultCluster", 8, 6);
        expect("rmq_sys_SYNC_BROKER_MEMBER_broker-a", 1, 1);
        expect("RMQ_SYS_TRANS_HALF_TOPIC", 1, 6);
        expect("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, 6);
        expect("rmq_sys_wheel_timer", 1, 6);
        assert_eq!(table.len(), 13);
        assert!(table.get("RMQ_SYS_TRACE_TOPIC").is_none());
        assert!(table.is_system_topic("broker-a") && table.is_system_topic("rmq_sys_x"));
        assert!(!table.is_system_topic("TopicTest"));
        assert_eq!(
            table.data_version(),
            DataVersion {
                counter: 0,
                state_version: 0,
                timestamp: 5
            }
        );
        let off = TopicTable::new(&settings(false), 5);
        assert!(off.get("TBW102").is_none());
    }

    #[test]
    fn create_on_send_inherits_from_tbw102() {
        let mut table = TopicTable::new(&settings(true), 0);
        let created = table
            .create_on_send("TopicTest", "TBW102", 4, 0, "1.2.3.4:5", 10)
            .unwrap()
            .unwrap();
        assert_eq!(
            (created.read_queue_nums, created.write_queue_nums, created.perm),
            (4, 4, 6)
        );
        assert_eq!(table.data_version().counter, 1);
        assert_eq!(table.data_version().timestamp, 10);
        // Existing: returned as is, no version bump.
        assert_eq!(
            table.create_on_send("TopicTest", "TBW102", 16, 0, "", 11).unwrap(),
            Some(created)
        );
        assert_eq!(table.data_version().counter, 1);
        // More queues than TBW102 has: capped; negative: zero.
        let capped = table.create_on_send("Big", "TBW102", 100, 0, "", 12).unwrap().unwrap();
        assert_eq!(capped.write_queue_nums, 8);
        let none = table.create_on_send("Neg", "TBW102", -3, 0, "", 12).unwrap().unwrap();
        assert_eq!(none.write_queue_nums, 0);
        // Unknown template, or one without INHERIT: nothing created.
        assert_eq!(table.create_on_send("X", "Nope", 4, 0, "", 13).unwrap(), None);
        assert_eq!(table.create_on_send("X", "TopicTest", 4, 0, "", 13).unwrap(), None);
        assert!(table.create_on_send("bad name", "TBW102", 4, 0, "", 13).is_err());
    }

    #[test]
    fn tbw102_loses_inherit_when_auto_create_is_off() {
        let mut table = TopicTable::new(&settings(false), 0);
        let mut wrapper = TopicConfigSerializeWrapper::default();
        wrapper
            .topic_config_table
            .insert("TBW102".into(), new_topic("TBW102", 8, 7));
        table.load_wrapper(wrapper);
        assert_eq!(table.create_on_send("T", "TBW102", 4, 0, "", 1).unwrap(), None);
        assert_eq!(table.get("TBW102").map(|c| c.perm), Some(6));
    }

    #[test]
    fn retry_topics_and_order_flag() {
        let mut table = TopicTable::new(&settings(true), 0);
        let retry = table.create_retry_topic(&retry_topic("cg"), 1, 6, false, 0, 1).unwrap();
        assert_eq!(
            (retry.topic_name.as_str(), retry.read_queue_nums, retry.perm),
            ("%RETRY%cg", 1, 6)
        );
        assert_eq!(table.data_version().counter, 1);
        assert_eq!(table.create_retry_topic("%RETRY%cg", 3, 6, false, 0, 2), Some(retry));
        assert_eq!(table.data_version().counter, 1);
        assert!(table.create_retry_topic("%RETRY%cg", 3, 6, true, 0, 2).unwrap().order);
        assert_eq!(table.data_version().counter, 2);
    }

    #[test]
    fn update_merges_attributes_and_delete_bumps() {
        let mut table = TopicTable::new(&settings(true), 0);
        table.update(new_topic("T", 4, 6), "+message.type=NORMAL", 1).unwrap();
        assert_eq!(
            table
                .get("T")
                .unwrap()
                .attributes
                .get("message.type")
                .map(String::as_str),
            Some("NORMAL")
        );
        table.update(new_topic("T", 8, 6), "", 2).unwrap();
        let updated = table.get("T").unwrap();
        assert_eq!((updated.write_queue_nums, updated.attributes.len()), (8, 1));
        table.update(new_topic("T", 8, 6), "-message.type", 3).unwrap();
        assert!(table.get("T").unwrap().attributes.is_empty());
        assert!(table.update(new_topic("U", 8, 6), "-message.type", 4).is_err());
        assert!(table.update(new_topic("U", 8, 6), "+colour=red", 4).is_err());
        assert!(table.update(new_topic("U", 8, 6), "message.type=NORMAL", 4).is_err());
        assert_eq!(table.data_version().counter, 3);
        assert!(table.delete("T", 5).is_some());
        assert!(table.delete("T", 6).is_none());
        assert_eq!(table.data_version().counter, 4);
    }

    #[test]
    fn order_marks_only_existing_unordered_topics() {
        let mut table = TopicTable::new(&settings(true), 0);
        table.update(new_topic("T", 4, 6), "", 1).unwrap();
        assert!(table.mark_ordered(["T", "Missing"], 2));
        assert!(table.get("T").unwrap().order);
        assert!(!table.mark_ordered(["T"], 3));
        assert_eq!(table.data_version().counter, 2);
    }

    #[test]
    fn topic_names_follow_javas_validator() {
        assert!(validate_topic("Topic_Test-1|%x").is_ok());
        let remark = |t: &str| validate_topic(t).unwrap_err().to_string();
        assert_eq!(remark(""), "The specified topic is blank.");
        assert_eq!(remark("  "), "The specified topic is blank.");
        assert_eq!(
            remark("a.b"),
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        );
        assert_eq!(
            remark(&"a".repeat(128)),
            "The specified topic is longer than topic max length."
        );
        assert!(validate_topic(&"a".repeat(127)).is_ok());
        assert_eq!(
            validate_topic("a b").unwrap_err().response_code(),
            ResponseCode::INVALID_PARAMETER
        );
    }

    #[test]
    fn wrapper_round_trip_keeps_version_and_topics() {
        let mut table = TopicTable::new(&settings(true), 0);
        table.update(new_topic("T", 2, 6), "", 9).unwrap();
        let wrapper = table.to_wrapper();
        let mut loaded = TopicTable::new(&settings(true), 100);
        loaded.load_wrapper(wrapper.clone());
        assert_eq!(loaded.to_wrapper(), wrapper);
    }

    #[test]
    fn a_slave_takes_the_masters_topics_when_the_version_differs() {
        let settings = SystemTopicSettings {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic: None,
            timer_wheel_enable: true,
        };
        let mut master = TopicTable::new(&settings, 1);
        master.update(new_topic("T", 4, 6), "", 2).unwrap();
        let mut slave = TopicTable::new(&settings, 3);
        slave.update(new_topic("only_on_slave", 4, 6), "", 4).unwrap();
        assert!(slave.replace_from_master(master.to_wrapper()));
        assert!(slave.contains("T") && !slave.contains("only_on_slave"));
        assert_eq!(slave.topics(), master.topics());
        assert_eq!(slave.data_version(), master.data_version());
        assert!(!slave.replace_from_master(master.to_wrapper()));
    }
}
