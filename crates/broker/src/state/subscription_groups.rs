//! Consumer-group settings: Java's `SubscriptionGroupManager` (store-and-ha.md §6.5, §14.6).
//! The built-in groups Java creates at start-up, auto-creation on first use, admin updates and
//! deletes, and the `forbiddenTable` carried through.
//!
//! Invariants: every key equals its config's `group_name`; every change bumps the data version
//! with the caller's `now_ms`; at most [`GROUPS_MAX`] groups. Pure: no I/O, no clock.

use std::collections::BTreeMap;

use ferrocket_wire::body::{DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper};
use ferrocket_wire::system_topics::RETRY_GROUP_TOPIC_PREFIX;
use tracing::{info, warn};

use crate::error::{BrokerError, BrokerResult};
use crate::limit_warnings::{LimitWarning, limit_warning};
use crate::names::STORED_TOPIC_BYTES_MAX;
use crate::names::{is_topic_or_group_illegal, next_version};

/// `MixAll.TOOLS_CONSUMER_GROUP` and the other groups `SubscriptionGroupManager.init` creates.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
pub const FILTERSRV_CONSUMER_GROUP: &str = "FILTERSRV_CONSUMER";
pub const SELF_TEST_CONSUMER_GROUP: &str = "SELF_TEST_C_GROUP";
pub const ONS_HTTP_PROXY_GROUP: &str = "CID_ONS-HTTP-PROXY";
pub const CID_ONSAPI_PULL_GROUP: &str = "CID_ONSAPI_PULL";
pub const CID_ONSAPI_PERMISSION_GROUP: &str = "CID_ONSAPI_PERMISSION";
pub const CID_ONSAPI_OWNER_GROUP: &str = "CID_ONSAPI_OWNER";
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// `MixAll.isSysConsumerGroup`: groups starting with this are created even without auto-create.
pub const SYS_CONSUMER_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Java allows 255 (`Validators.CHARACTER_MAX_LENGTH`), but a group's retry topic
/// `%RETRY%<group>` must fit [`STORED_TOPIC_BYTES_MAX`]: Java creates a longer one, which can
/// hold no message and which name servers keep out of the routes. So 7 fewer; a longer group is
/// never created (a heartbeat skips it, as Java skips a group it may not create).
pub const GROUP_NAME_CHARS_MAX: usize = STORED_TOPIC_BYTES_MAX - RETRY_GROUP_TOPIC_PREFIX.len();
static GROUP_NAMES_TOO_LONG: LimitWarning = limit_warning!(GROUP_NAME_CHARS_MAX);

/// Java has no limit; auto-creation lets any client add groups, so the table is bounded.
/// 100 000 groups is far beyond any real broker and keeps `subscriptionGroup.json` under ~50 MB.
pub const GROUPS_MAX: usize = 100_000;
static GROUPS_FULL: LimitWarning = limit_warning!(GROUPS_MAX);

const BUILT_IN_GROUPS: &[&str] = &[
    TOOLS_CONSUMER_GROUP,
    FILTERSRV_CONSUMER_GROUP,
    SELF_TEST_CONSUMER_GROUP,
    ONS_HTTP_PROXY_GROUP,
    CID_ONSAPI_PULL_GROUP,
    CID_ONSAPI_PERMISSION_GROUP,
    CID_ONSAPI_OWNER_GROUP,
    CID_SYS_RMQ_TRANS,
];

#[derive(Debug, Clone, Default)]
pub struct SubscriptionGroupTable {
    groups: BTreeMap<String, SubscriptionGroupConfig>,
    /// group → topic → forbidden permission bits (5.x); kept and written back, not enforced.
    forbidden: BTreeMap<String, BTreeMap<String, i32>>,
    data_version: DataVersion,
}

impl SubscriptionGroupTable {
    /// The built-in groups, as `SubscriptionGroupManager.init` creates them (all with Java's
    /// defaults; broadcast is enabled by default anyway).
    pub fn new(now_ms: i64) -> SubscriptionGroupTable {
        let mut table = SubscriptionGroupTable {
            data_version: DataVersion {
                timestamp: now_ms,
                ..DataVersion::default()
            },
            ..SubscriptionGroupTable::default()
        };
        for group in BUILT_IN_GROUPS {
            table.groups.insert((*group).to_owned(), new_group(group));
        }
        table
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.groups.get(group).cloned()
    }

    pub fn contains(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    pub fn groups(&self) -> &BTreeMap<String, SubscriptionGroupConfig> {
        &self.groups
    }

    pub fn data_version(&self) -> DataVersion {
        self.data_version
    }

    /// Java's `findSubscriptionGroupConfig`: the group, or a new default one when
    /// `auto_create` (or the name marks a system group) and the name is legal.
    pub fn find_or_auto_create(
        &mut self,
        group: &str,
        auto_create: bool,
        now_ms: i64,
    ) -> Option<SubscriptionGroupConfig> {
        if let Some(existing) = self.groups.get(group) {
            return Some(existing.clone());
        }
        if !(auto_create || group.starts_with(SYS_CONSUMER_GROUP_PREFIX)) {
            return None;
        }
        if group.is_empty() || is_topic_or_group_illegal(group) {
            return None;
        }
        // Only ASCII passes the check above, so bytes are characters.
        if group.len() > GROUP_NAME_CHARS_MAX {
            GROUP_NAMES_TOO_LONG.hit(now_ms, group, "subscription group not created");
            return None;
        }
        if self.groups.len() >= GROUPS_MAX {
            GROUPS_FULL.hit(now_ms, group, "subscription group not created");
            return None;
        }
        let config = new_group(group);
        info!(group, "auto-created subscription group");
        self.groups.insert(group.to_owned(), config.clone());
        next_version(&mut self.data_version, now_ms);
        Some(config)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: stores `config` (attributes replaced as given).
    pub fn update(&mut self, config: SubscriptionGroupConfig, now_ms: i64) -> BrokerResult<()> {
        let name = &config.group_name;
        if name.is_empty() || is_topic_or_group_illegal(name) {
            return Err(BrokerError::GroupNameIllegal { group: name.clone() });
        }
        if name.len() > GROUP_NAME_CHARS_MAX {
            return Err(BrokerError::GroupNameTooLong {
                group_chars: name.len(),
                limit: GROUP_NAME_CHARS_MAX,
            });
        }
        if !self.groups.contains_key(name) && self.groups.len() >= GROUPS_MAX {
            return Err(BrokerError::GroupTableFull { limit: GROUPS_MAX });
        }
        info!(group = name, "subscription group updated");
        self.groups.insert(name.clone(), config);
        next_version(&mut self.data_version, now_ms);
        Ok(())
    }

    /// DELETE_SUBSCRIPTIONGROUP: the removed config, if any; its forbidden entries go too.
    pub fn delete(&mut self, group: &str, now_ms: i64) -> Option<SubscriptionGroupConfig> {
        self.forbidden.remove(group);
        let removed = self.groups.remove(group)?;
        next_version(&mut self.data_version, now_ms);
        Some(removed)
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG and `subscriptionGroup.json`.
    pub fn to_wrapper(&self) -> SubscriptionGroupWrapper {
        SubscriptionGroupWrapper {
            data_version: self.data_version,
            forbidden_table: self.forbidden.clone(),
            subscription_group_table: self.groups.clone(),
        }
    }

    /// Java's `decode`: loaded groups replace built-in ones of the same name.
    pub fn load_wrapper(&mut self, wrapper: SubscriptionGroupWrapper) {
        for (key, mut config) in wrapper.subscription_group_table {
            if config.group_name.is_empty() {
                config.group_name = key;
            }
            if self.groups.len() >= GROUPS_MAX && !self.groups.contains_key(&config.group_name) {
                warn!("subscriptionGroup.json holds more than {GROUPS_MAX} groups; rest skipped");
                break;
            }
            self.groups.insert(config.group_name.clone(), config);
        }
        self.forbidden.extend(wrapper.forbidden_table);
        self.data_version = wrapper.data_version;
    }

    /// A slave's sync from its master (Java's `syncSubscriptionGroupConfig`): when the master's
    /// data version differs, its groups replace these whole and its version is adopted. Returns
    /// whether anything was replaced.
    pub fn replace_from_master(&mut self, wrapper: SubscriptionGroupWrapper) -> bool {
        if wrapper.data_version == self.data_version {
            return false;
        }
        self.groups.clear();
        self.load_wrapper(wrapper);
        true
    }
}

/// `new SubscriptionGroupConfig()` named `group`.
pub fn new_group(group: &str) -> SubscriptionGroupConfig {
    SubscriptionGroupConfig {
        group_name: group.to_owned(),
        ..SubscriptionGroupConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_groups_exist() {
        let table = SubscriptionGroupTable::new(7);
        for group in [
            "TOOLS_CONSUMER",
            "CID_RMQ_SYS_TRANS",
            "CID_ONS-HTTP-PROXY",
            "SELF_TEST_C_GROUP",
        ] {
            assert!(table.contains(group), "{group}");
        }
        assert_eq!(table.groups().len(), 8);
        assert_eq!((table.data_version().counter, table.data_version().timestamp), (0, 7));
    }

    #[test]
    fn auto_creation_rules() {
        let mut table = SubscriptionGroupTable::new(0);
        assert!(table.find_or_auto_create("cg", false, 1).is_none());
        assert!(table.find_or_auto_create("CID_RMQ_SYS_x", false, 1).is_some());
        let created = table.find_or_auto_create("cg", true, 2).unwrap();
        assert_eq!((created.group_name.as_str(), created.retry_max_times), ("cg", 16));
        assert_eq!(table.data_version().counter, 2);
        assert_eq!(table.find_or_auto_create("cg", false, 3), Some(created));
        assert_eq!(table.data_version().counter, 2);
        assert!(table.find_or_auto_create("bad group", true, 4).is_none());
        assert!(table.find_or_auto_create(&"g".repeat(256), true, 4).is_none());
        assert!(table.find_or_auto_create("", true, 4).is_none());
    }

    #[test]
    fn a_group_is_as_long_as_its_retry_topic_can_be() {
        assert_eq!(GROUP_NAME_CHARS_MAX, 248);
        let longest = "g".repeat(GROUP_NAME_CHARS_MAX);
        assert_eq!(
            format!("{RETRY_GROUP_TOPIC_PREFIX}{longest}").len(),
            STORED_TOPIC_BYTES_MAX
        );
        let mut table = SubscriptionGroupTable::new(0);
        assert!(table.find_or_auto_create(&longest, true, 1).is_some());
        // Java would create this one (up to 255), and its 257-character retry topic.
        let over = "g".repeat(GROUP_NAME_CHARS_MAX + 1);
        assert!(table.find_or_auto_create(&over, true, 2).is_none());
        let refused = table.update(new_group(&over), 3).unwrap_err();
        assert!(
            matches!(
                refused,
                BrokerError::GroupNameTooLong {
                    group_chars: 249,
                    limit: 248
                }
            ),
            "{refused}"
        );
        assert!(!table.contains(&over));
    }

    #[test]
    fn update_delete_and_wrapper() {
        let mut table = SubscriptionGroupTable::new(0);
        let mut config = new_group("cg");
        config.retry_max_times = 3;
        table.update(config.clone(), 1).unwrap();
        assert_eq!(table.get("cg"), Some(config));
        assert!(table.update(new_group("a b"), 2).is_err());
        let wrapper = table.to_wrapper();
        let mut loaded = SubscriptionGroupTable::new(9);
        loaded.load_wrapper(wrapper.clone());
        assert_eq!(loaded.to_wrapper(), wrapper);
        assert!(table.delete("cg", 3).is_some());
        assert!(table.delete("cg", 4).is_none());
        assert_eq!(table.data_version().counter, 2);
    }

    #[test]
    fn a_slave_takes_the_masters_groups_when_the_version_differs() {
        let mut master = SubscriptionGroupTable::new(1);
        master.update(new_group("cg"), 2).unwrap();
        let mut slave = SubscriptionGroupTable::new(3);
        slave.update(new_group("only_on_slave"), 4).unwrap();
        assert!(slave.replace_from_master(master.to_wrapper()));
        assert!(slave.contains("cg") && !slave.contains("only_on_slave"));
        assert_eq!(slave.data_version(), master.data_version());
        assert!(
            !slave.replace_from_master(master.to_wrapper()),
            "same version: nothing to do"
        );
    }
}
