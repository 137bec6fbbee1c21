//! `<storePathRootDir>/config/*.json`: the topic, subscription-group, consumer-offset and
//! delay-offset tables on disk, in Java's file names and JSON (store-and-ha.md §6), so a Java
//! broker's directory opens here and ours opens there.
//!
//! Load: start-up tables first (system topics, built-in groups), then each file on top, falling
//! back to its `.bak` as Java's `ConfigManager.load` does (`ferrocket_store::load_config_file`).
//! Persist: one task owns it. It writes `topics.json` and `subscriptionGroup.json` within
//! [`WATCH_INTERVAL_MS`] of a change (it watches the tables' data versions, so no handler has to
//! remember to ask), and the offset files every `flushConsumerOffsetInterval`; shutdown writes
//! everything once more. Files are written with the table lock released: the lock is held only
//! to copy the table.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ferrocket_store::{load_config_file, persist_config_file, persist_secret_config_file};
use ferrocket_wire::WireError;
use ferrocket_wire::body::{
    AclInfo, ConsumerOffsetSerializeWrapper, DataVersion, DelayOffsetSerializeWrapper, JsonBody,
    MessageRequestModeWrapper, SubscriptionGroupWrapper, TopicConfigSerializeWrapper, UserInfo,
};
use ferrocket_wire::json;
use tracing::info;

use crate::config::BrokerConfig;
use crate::error::BrokerResult;
use crate::state::assignment::RequestModes;
use crate::state::auth::{self, AuthTable, migration};
use crate::state::consumer_offsets::ConsumerOffsetTable;
use crate::state::plain_acl::FileConfig;
use crate::state::plain_acl_files;
use crate::state::plain_acl_store::PlainAclStore;
use crate::state::subscription_groups::SubscriptionGroupTable;
use crate::state::topics::TopicTable;
use crate::state::{Broker, Tables};

pub const TOPICS_FILE: &str = "topics.json";
pub const SUBSCRIPTION_GROUPS_FILE: &str = "subscriptionGroup.json";
pub const CONSUMER_OFFSETS_FILE: &str = "consumerOffset.json";
pub const DELAY_OFFSETS_FILE: &str = "delayOffset.json";
pub const REQUEST_MODES_FILE: &str = "messageRequestMode.json";

/// How soon a topic or group change reaches the disk: short enough that a crash right after an
/// admin command rarely loses it, long enough that a burst of auto-creations is one write.
pub const WATCH_INTERVAL_MS: u64 = 200;

/// Every file of every broker in the process is written under this one lock: two writers of one
/// file would share its `.tmp`, and shutdown's final write may overlap the task's last one.
/// Persisting is rare and short, so one lock for all costs nothing.
static PERSIST_LOCK: Mutex<()> = Mutex::new(());

/// Reads topics, subscription groups, consumer and delay offsets from `config/`.
pub fn load(config: &BrokerConfig, now_ms: i64) -> BrokerResult<Tables> {
    let dir = config.config_dir();
    let mut topics = TopicTable::new(&config.system_topic_settings(), now_ms);
    if let Some(wrapper) = read::<TopicConfigSerializeWrapper>(&dir.join(TOPICS_FILE))? {
        topics.load_wrapper(wrapper);
    }
    let mut groups = SubscriptionGroupTable::new(now_ms);
    if let Some(wrapper) = read::<SubscriptionGroupWrapper>(&dir.join(SUBSCRIPTION_GROUPS_FILE))? {
        groups.load_wrapper(wrapper);
    }
    let mut offsets = read::<ConsumerOffsetSerializeWrapper>(&dir.join(CONSUMER_OFFSETS_FILE))?
        .map(ConsumerOffsetTable::from_wrapper)
        .unwrap_or_else(|| ConsumerOffsetTable::new(now_ms));
    if let Some(wrapper) = read::<DelayOffsetSerializeWrapper>(&dir.join(DELAY_OFFSETS_FILE))? {
        offsets.load_delay_wrapper(wrapper);
    }
    let rocketmq_home = std::env::var("ROCKETMQ_HOME").ok();
    let plain_files = match config.auth.acl_enable || config.auth.migrate_auth_from_v1 {
        true => plain_acl_files::read(config, rocketmq_home.as_deref())?,
        false => Vec::new(),
    };
    let plain_acl = match config.auth.acl_enable {
        true => Some(PlainAclStore::new(config, rocketmq_home.as_deref(), &plain_files)?),
        false => None,
    };
    let auth = load_auth(config, &plain_files)?;
    let request_modes = read::<MessageRequestModeWrapper>(&dir.join(REQUEST_MODES_FILE))?
        .map(RequestModes::from_wrapper)
        .unwrap_or_default();
    info!(
        topics = topics.len(),
        groups = groups.groups().len(),
        dir = %dir.display(),
        "metadata loaded"
    );
    Ok(Tables {
        topics,
        groups,
        offsets,
        auth,
        request_modes,
        plain_acl,
    })
}

/// Reads `users.json` and `acls.json`, adds the configured initial users and (with
/// `migrateAuthFromV1Enabled`) the ACL 1.0 accounts, and writes the files back when it added one
/// (Java creates them in its store at start).
fn load_auth(config: &BrokerConfig, plain_files: &[(String, FileConfig)]) -> BrokerResult<AuthTable> {
    let dir = config.config_dir();
    let users = read_list::<UserInfo>(&dir.join(auth::USERS_FILE))?;
    let acls = read_list::<AclInfo>(&dir.join(auth::ACLS_FILE))?;
    let (mut table, mut added) = AuthTable::load(users, acls, &config.auth)?;
    if config.auth.migrate_auth_from_v1 {
        let migrated = migration::migrate(&mut table, plain_files)?;
        info!(
            migrated,
            "ACL 1.0 accounts imported as users (migrateAuthFromV1Enabled)"
        );
        added |= migrated > 0;
    }
    if added {
        let _guard = persist_lock();
        write_auth(&dir, &table)?;
    }
    Ok(table)
}

/// Writes `users.json` and `acls.json`.
pub fn persist_auth(broker: &Broker) -> BrokerResult<()> {
    let _guard = persist_lock();
    let table = broker.auth.lock().clone();
    write_auth(&broker.config().config_dir(), &table)
}

fn write_auth(dir: &Path, table: &AuthTable) -> BrokerResult<()> {
    // The users' secrets are HMAC keys, kept as given (as Java keeps them): owner-only files.
    persist_secret_config_file(&dir.join(auth::USERS_FILE), json::encode(&table.users_file_body()))?;
    persist_config_file(&dir.join(auth::ACLS_FILE), json::encode(&table.acls_file_body()))?;
    Ok(())
}

/// Decodes a file holding a JSON array of `T` (or its `.bak`); empty when neither exists.
fn read_list<T: JsonBody>(path: &Path) -> BrokerResult<Vec<T>> {
    let parse = |text: &str| -> BrokerResult<Vec<T>> {
        let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| WireError::BadJson {
            what: T::JAVA_NAME,
            reason: e.to_string(),
        })?;
        values
            .iter()
            .map(|value| Ok(T::decode(value.to_string().as_bytes())?))
            .collect()
    };
    match load_config_file(path, |text| parse(text).is_ok())? {
        Some(text) => parse(&text),
        None => Ok(Vec::new()),
    }
}

/// Writes every table.
pub fn persist_all(broker: &Broker) -> BrokerResult<()> {
    persist_topics(broker)?;
    persist_groups(broker)?;
    persist_offsets(broker)
}

/// Writes `topics.json`; returns the data version written.
pub fn persist_topics(broker: &Broker) -> BrokerResult<DataVersion> {
    let _guard = persist_lock();
    let wrapper = broker.topics.lock().to_wrapper();
    write(&broker.config().config_dir().join(TOPICS_FILE), &wrapper)?;
    Ok(wrapper.data_version)
}

/// Writes `subscriptionGroup.json`; returns the data version written.
pub fn persist_groups(broker: &Broker) -> BrokerResult<DataVersion> {
    let _guard = persist_lock();
    let wrapper = broker.groups.lock().to_wrapper();
    write(&broker.config().config_dir().join(SUBSCRIPTION_GROUPS_FILE), &wrapper)?;
    Ok(wrapper.data_version)
}

/// Writes `consumerOffset.json` and `delayOffset.json`.
pub fn persist_offsets(broker: &Broker) -> BrokerResult<()> {
    let _guard = persist_lock();
    let (offsets, delays) = {
        let table = broker.offsets.lock();
        (table.to_wrapper(), table.delay_wrapper())
    };
    let dir = broker.config().config_dir();
    write(&dir.join(CONSUMER_OFFSETS_FILE), &offsets)?;
    write(&dir.join(DELAY_OFFSETS_FILE), &delays)
}

/// Writes `messageRequestMode.json` (Java writes it on every SET_MESSAGE_REQUEST_MODE).
pub fn persist_request_modes(broker: &Broker) -> BrokerResult<()> {
    let _guard = persist_lock();
    let wrapper = broker.request_modes.lock().to_wrapper();
    write(&broker.config().config_dir().join(REQUEST_MODES_FILE), &wrapper)
}

/// Decodes a metadata file (or its `.bak`); `None` when neither exists.
fn read<T: JsonBody>(path: &Path) -> BrokerResult<Option<T>> {
    let text = load_config_file(path, |text| T::decode(text.as_bytes()).is_ok())?;
    Ok(match text {
        Some(text) => Some(T::decode(text.as_bytes())?),
        None => None,
    })
}

/// Taken before the table is copied and held until the file is replaced, so a later copy is
/// never overwritten by an earlier one. Lock order: this, then a table.
fn persist_lock() -> MutexGuard<'static, ()> {
    PERSIST_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write<T: JsonBody>(path: &Path, body: &T) -> BrokerResult<()> {
    let text = String::from_utf8_lossy(&body.encode()).into_owned();
    persist_config_file(path, &text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::subscription_groups::new_group;
    use crate::state::topics::new_topic;

    fn config_in(dir: &Path) -> BrokerConfig {
        BrokerConfig::standalone(dir, "127.0.0.1", 0, "127.0.0.1:9876")
    }

    /// Files written by Java 5.3.3's own classes (`TopicConfigSerializeWrapper.toJson(true)`,
    /// `ConsumerOffsetManager.encode(true)`, `SubscriptionGroupManager.encode(true)`, the last cut
    /// to one group): tabs, unquoted integer keys, the derived `groupTopicMap`.
    const JAVA_TOPICS: &str = r#"{
	"dataVersion":{
		"counter":1,
		"stateVersion":0,
		"timestamp":1795583253378
	},
	"topicConfigTable":{
		"JavaTopic":{
			"attributes":{
				"message.type":"NORMAL"
			},
			"order":false,
			"perm":6,
			"readQueueNums":3,
			"topicFilterType":"SINGLE_TAG",
			"topicName":"JavaTopic",
			"topicSysFlag":0,
			"writeQueueNums":5
		}
	}
}"#;
    const JAVA_OFFSETS: &str = r#"{
	"dataVersion":{
		"counter":0,
		"stateVersion":0,
		"timestamp":1795583254661
	},
	"groupTopicMap":{
		"java_cg":["JavaTopic"]
	},
	"offsetTable":{
		"JavaTopic@java_cg":{0:250,1:251
		}
	}
}"#;
    const JAVA_GROUPS: &str = r#"{
	"dataVersion":{
		"counter":0,
		"stateVersion":0,
		"timestamp":1795583254667
	},
	"forbiddenTable":{},
	"subscriptionGroupTable":{
		"java_cg":{
			"attributes":{},
			"brokerId":0,
			"consumeBroadcastEnable":true,
			"consumeEnable":true,
			"consumeFromMinEnable":true,
			"consumeMessageOrderly":false,
			"consumeTimeoutMinute":15,
			"groupName":"java_cg",
			"groupRetryPolicy":{
				"type":"CUSTOMIZED"
			},
			"groupSysFlag":0,
			"notifyConsumerIdsChangedEnable":true,
			"retryMaxTimes":5,
			"retryQueueNums":1,
			"whichBrokerWhenConsumeSlowly":1
		}
	}
}"#;

    fn write_java_files(config_dir: &Path) {
        std::fs::create_dir_all(config_dir).unwrap();
        std::fs::write(config_dir.join(TOPICS_FILE), JAVA_TOPICS).unwrap();
        std::fs::write(config_dir.join(CONSUMER_OFFSETS_FILE), JAVA_OFFSETS).unwrap();
        std::fs::write(config_dir.join(SUBSCRIPTION_GROUPS_FILE), JAVA_GROUPS).unwrap();
        std::fs::write(config_dir.join(DELAY_OFFSETS_FILE), "{\"offsetTable\":{1:17,2:0}}").unwrap();
    }

    #[test]
    fn java_files_load_on_top_of_the_start_up_tables() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        write_java_files(&config.config_dir());
        let tables = load(&config, 5).unwrap();
        let topic = tables.topics.get("JavaTopic").unwrap();
        assert_eq!((topic.read_queue_nums, topic.write_queue_nums, topic.perm), (3, 5, 6));
        assert_eq!(topic.attributes.get("message.type").map(String::as_str), Some("NORMAL"));
        assert!(tables.topics.contains("TBW102"), "start-up topics stay");
        assert_eq!(tables.topics.data_version().counter, 1);
        assert_eq!(tables.offsets.query("java_cg", "JavaTopic", 1), Some(251));
        assert_eq!(tables.groups.get("java_cg").map(|g| g.retry_max_times), Some(5));
        assert!(tables.groups.contains("TOOLS_CONSUMER"));
        assert_eq!(tables.offsets.delay_offset(1), Some(17));
    }

    #[test]
    fn a_truncated_file_falls_back_to_its_backup_and_nothing_at_all_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let tables = load(&config, 5).unwrap();
        assert_eq!(tables.offsets.to_wrapper().offset_table.len(), 0);
        let config_dir = config.config_dir();
        let mut table = TopicTable::new(&config.system_topic_settings(), 0);
        table.update(new_topic("Saved", 2, 6), "", 1).unwrap();
        write(&config_dir.join(TOPICS_FILE), &table.to_wrapper()).unwrap();
        table.update(new_topic("Later", 2, 6), "", 2).unwrap();
        write(&config_dir.join(TOPICS_FILE), &table.to_wrapper()).unwrap();
        // A Java broker that crashed mid-overwrite leaves a cut file; the .bak has the previous.
        std::fs::write(config_dir.join(TOPICS_FILE), "{\"dataVersion\":{\"coun").unwrap();
        let tables = load(&config, 5).unwrap();
        assert!(tables.topics.contains("Saved") && !tables.topics.contains("Later"));
    }

    #[test]
    fn every_cut_of_a_java_file_loads_without_panic() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let config_dir = config.config_dir();
        std::fs::create_dir_all(&config_dir).unwrap();
        let trimmed = JAVA_TOPICS.trim_end();
        for cut in 0..trimmed.len() {
            std::fs::write(config_dir.join(TOPICS_FILE), trimmed.get(..cut).unwrap()).unwrap();
            // Without a .bak a cut file means an empty table, as in Java; never a panic.
            let tables = load(&config, 5).unwrap();
            assert!(!tables.topics.contains("JavaTopic"), "cut {cut} loaded");
        }
    }

    #[test]
    fn what_we_write_reads_back_and_is_javas_shape() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let config_dir = config.config_dir();
        let mut groups = SubscriptionGroupTable::new(0);
        groups.update(new_group("cg"), 1).unwrap();
        write(&config_dir.join(SUBSCRIPTION_GROUPS_FILE), &groups.to_wrapper()).unwrap();
        let mut offsets = ConsumerOffsetTable::default();
        offsets.commit("cg", "T", 0, 42, 1);
        write(&config_dir.join(CONSUMER_OFFSETS_FILE), &offsets.to_wrapper()).unwrap();
        let text = std::fs::read_to_string(config_dir.join(CONSUMER_OFFSETS_FILE)).unwrap();
        assert!(text.contains(r#""offsetTable":{"T@cg":{"0":42}}"#), "{text}");
        let tables = load(&config, 5).unwrap();
        assert_eq!(tables.offsets.query("cg", "T", 0), Some(42));
        assert_eq!(tables.groups.get("cg"), Some(new_group("cg")));
    }
}
