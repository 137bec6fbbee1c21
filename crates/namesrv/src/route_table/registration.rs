//! Broker membership and liveness: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION,
//! BROKER_HEARTBEAT, the periodic expiry scan and connection close (remoting.md §4.1.2–4.1.3,
//! §4.1.9, §6.3), following `RouteInfoManager.registerBroker` / `unRegisterBroker`.
//!
//! Registration merges, never replaces: topics absent from a body are kept (unless
//! `deleteTopicWithBrokerRegistration`). Topic data is taken from the master (id 0), or from the
//! "prime slave" (the lowest id of a 5.x broker set, i.e. one that sent `enableActingMaster`) when
//! no master is registered. Every check runs before the first change, so a rejected registration
//! changes nothing (Java leaves an empty broker entry behind in one such case). Beyond Java's
//! checks, a registration that merges topics must stay within the limits of `limits.rs`.
//!
//! Split registration (Java's `enableSplitRegistration`) needs nothing special: each batch is a
//! registration of part of the broker's topics under a new DataVersion, and merging keeps the
//! topics of the earlier batches.

use std::collections::BTreeMap;

use ferrocket_wire::body::{BrokerData, DataVersion, QueueData, TopicConfig, TopicConfigSerializeWrapper};
use ferrocket_wire::broker_id::MASTER_ID;
use ferrocket_wire::permissions::PERM_WRITE;

use super::{
    BROKER_EXPIRY_MS_DEFAULT, BROKER_IDS_PER_NAME_MAX, BROKER_NAMES_MAX, BrokerKey, BrokerLive, CLUSTERS_MAX,
    ConnectionId, DroppedBroker, FILTER_SERVERS_PER_BROKER_MAX, LIVE_BROKERS_MAX, RouteTable, TOPICS_MAX,
    TOPICS_PER_BROKER_MAX, check_length, check_name, check_room, check_topic,
};
use crate::error::{NamesrvError, NamesrvResult};
use crate::limit;

/// Everything a REGISTER_BROKER request carries, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    /// `__ZONE_NAME`, from the broker's zone hook.
    pub zone_name: Option<String>,
    pub heartbeat_timeout_ms: Option<i64>,
    /// `None` marks a broker older than 5.0, which cannot be a prime slave.
    pub enable_acting_master: Option<bool>,
    pub topic_config: TopicConfigSerializeWrapper,
    /// `None` for pre-V3_0_11 bodies, which leave the filter servers as they are.
    pub filter_server_list: Option<Vec<String>>,
    pub connection: ConnectionId,
}

/// For a slave whose master is registered and alive: where to replicate from; and the topics of
/// the body left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
    /// Topics over [`TOPIC_NAME_CHARS_MAX`](super::TOPIC_NAME_CHARS_MAX), left out of the table while the rest of the
    /// registration was taken: one bad topic must not take a broker out of the routes.
    pub topics_left_out: Vec<String>,
}

/// What validation decided about a registration.
enum Verdict {
    Apply,
    /// Another address holds this id with a newer state version: Java ignores the newcomer.
    StaleStateVersion,
}

impl RouteTable {
    /// REGISTER_BROKER. `delete_absent_topics` is `deleteTopicWithBrokerRegistration`. Topics
    /// over [`TOPIC_NAME_CHARS_MAX`](super::TOPIC_NAME_CHARS_MAX) are left out (and returned), the rest is registered.
    pub fn register_broker(
        &mut self,
        mut registration: BrokerRegistration,
        now_ms: u64,
        delete_absent_topics: bool,
    ) -> NamesrvResult<RegisterResult> {
        let key = BrokerKey::new(&registration.cluster_name, &registration.broker_addr);
        let body_topics = registration.topic_config.topic_config_table.len();
        let topics_left_out = take_overlong_topics(&mut registration.topic_config.topic_config_table);
        // Invisible to readers, so not a change a refusal would have to undo.
        self.release_from_sweep(&registration.broker_name);
        let verdict = self.check_registration(&registration, &key, body_topics, delete_absent_topics)?;
        if let Verdict::StaleStateVersion = verdict {
            self.live.remove(&key);
            return Ok(RegisterResult {
                topics_left_out,
                ..RegisterResult::default()
            });
        }
        let BrokerRegistration {
            cluster_name,
            broker_addr,
            broker_name,
            broker_id,
            ..
        } = &registration;
        self.clusters
            .entry(cluster_name.clone())
            .or_default()
            .insert(broker_name.clone());
        let broker = self.brokers.entry(broker_name.clone()).or_insert_with(|| BrokerData {
            cluster: cluster_name.clone(),
            broker_name: broker_name.clone(),
            ..BrokerData::default()
        });
        broker.enable_acting_master = registration.enable_acting_master.unwrap_or(false);
        broker.zone_name = registration.zone_name.clone();
        // A slave promoted in place re-registers its address under id 0: one address, one id.
        broker
            .broker_addrs
            .retain(|id, addr| addr != broker_addr || id == broker_id);
        let previous_addr = broker.broker_addrs.insert(*broker_id, broker_addr.clone());
        let register_first = previous_addr.is_none_or(|addr| addr.is_empty());
        let is_prime_slave = registration.enable_acting_master.is_some()
            && *broker_id != MASTER_ID
            && broker.broker_addrs.keys().next() == Some(broker_id);
        let acting_master = broker.enable_acting_master;
        if *broker_id == MASTER_ID || is_prime_slave {
            let wipe_write = is_prime_slave && acting_master;
            self.merge_topics(&registration, &key, register_first, wipe_write, delete_absent_topics);
        }
        self.record_liveness(&registration, key, now_ms);
        Ok(RegisterResult {
            topics_left_out,
            ..self.master_of(&registration)
        })
    }

    /// Every check of a registration, before anything changes. `body_topics` counts the topics
    /// the body carried, those left out included.
    fn check_registration(
        &self,
        registration: &BrokerRegistration,
        key: &BrokerKey,
        body_topics: usize,
        delete_absent_topics: bool,
    ) -> NamesrvResult<Verdict> {
        check_name("cluster name", &registration.cluster_name)?;
        check_name("broker name", &registration.broker_name)?;
        check_name("broker address", &registration.broker_addr)?;
        check_name("HA server address", &registration.ha_server_addr)?;
        let topics = &registration.topic_config.topic_config_table;
        if let Some(servers) = &registration.filter_server_list {
            check_length(
                "filter server list",
                servers.len(),
                limit!(FILTER_SERVERS_PER_BROKER_MAX),
            )?;
            servers
                .iter()
                .try_for_each(|server| check_name("filter server address", server))?;
        }
        let broker = self.brokers.get(&registration.broker_name);
        // The broker set as Java sees it after dropping this address's other ids.
        let mut addrs: BTreeMap<i64, String> = broker.map(|b| b.broker_addrs.clone()).unwrap_or_default();
        addrs.retain(|id, addr| *addr != registration.broker_addr || *id == registration.broker_id);
        if let Some(old_addr) = addrs.get(&registration.broker_id)
            && *old_addr != registration.broker_addr
            && let Some(old) = self.live.get(&BrokerKey::new(&registration.cluster_name, old_addr))
            && old.data_version.state_version > registration.topic_config.data_version.state_version
        {
            return Ok(Verdict::StaleStateVersion);
        }
        if !addrs.contains_key(&registration.broker_id) && body_topics == 1 {
            return Err(NamesrvError::RegisterBeforeFullRegistration {
                broker_name: registration.broker_name.clone(),
                broker_id: registration.broker_id,
            });
        }
        let new_id = usize::from(!addrs.contains_key(&registration.broker_id));
        check_room(
            "broker ids in one broker set",
            addrs.len(),
            new_id,
            limit!(BROKER_IDS_PER_NAME_MAX),
        )?;
        let new_live = usize::from(!self.live.contains_key(key));
        check_room("live brokers", self.live.len(), new_live, limit!(LIVE_BROKERS_MAX))?;
        let new_name = usize::from(broker.is_none());
        check_room("broker names", self.brokers.len(), new_name, limit!(BROKER_NAMES_MAX))?;
        let new_cluster = usize::from(!self.clusters.contains_key(&registration.cluster_name));
        check_room("clusters", self.clusters.len(), new_cluster, limit!(CLUSTERS_MAX))?;
        let is_prime_slave = registration.enable_acting_master.is_some()
            && registration.broker_id != MASTER_ID
            && addrs.keys().next().is_none_or(|first| *first >= registration.broker_id);
        let merges = registration.broker_id == MASTER_ID || is_prime_slave;
        let too_many = |topics| NamesrvError::TooManyTopicsForBroker {
            broker_name: registration.broker_name.clone(),
            topics,
            limit: TOPICS_PER_BROKER_MAX,
        };
        // Before any lookup, so an oversized flood costs no more than its decoding.
        if merges && topics.len() > TOPICS_PER_BROKER_MAX {
            return Err(too_many(topics.len()));
        }
        let growth = self.growth_of(registration, merges);
        check_room("topics", self.topics.len(), growth.topics, limit!(TOPICS_MAX))?;
        if merges {
            self.check_topic_limits(registration, &growth, delete_absent_topics)
                .map_err(too_many)?;
            self.check_route_table_bytes(growth.bytes)?;
        }
        Ok(Verdict::Apply)
    }

    /// Takes the topics of a master's (or prime slave's) body into the table.
    fn merge_topics(
        &mut self,
        registration: &BrokerRegistration,
        key: &BrokerKey,
        register_first: bool,
        wipe_write: bool,
        delete_absent_topics: bool,
    ) {
        let wrapper = &registration.topic_config;
        let broker_name = &registration.broker_name;
        let mappings = wrapper.topic_queue_mapping_info_map.clone().unwrap_or_default();
        // Java cannot tell a deleted static topic from an absent one, so it never deletes then.
        if delete_absent_topics && mappings.is_empty() {
            let absent: Vec<String> = self
                .topics
                .iter()
                .filter(|(topic, routes)| {
                    routes.contains(broker_name) && !wrapper.topic_config_table.contains_key(*topic)
                })
                .map(|(topic, _)| topic.clone())
                .collect();
            for topic in absent {
                self.remove_queue_data(&topic, broker_name);
            }
        }
        let version_changed = self.is_data_version_changed(key, Some(&wrapper.data_version));
        for config in wrapper.topic_config_table.values() {
            // Looked up only when needed: most re-registrations change nothing.
            let missing = || {
                self.topics
                    .get(&config.topic_name)
                    .is_none_or(|routes| !routes.contains(broker_name))
            };
            if register_first || version_changed || missing() {
                let queue_data = queue_data_of(broker_name, config, wipe_write);
                self.put_queue_data(&config.topic_name, queue_data);
            }
        }
        if register_first || version_changed {
            for (topic, info) in mappings {
                let owner = info.bname.clone().unwrap_or_else(|| broker_name.clone());
                self.queue_mappings.entry(topic).or_default().insert(owner, info);
            }
        }
    }

    fn record_liveness(&mut self, registration: &BrokerRegistration, key: BrokerKey, now_ms: u64) {
        let heartbeat_timeout_ms = registration
            .heartbeat_timeout_ms
            .map_or(BROKER_EXPIRY_MS_DEFAULT, |ms| u64::try_from(ms).unwrap_or(0));
        if let Some(servers) = &registration.filter_server_list {
            match servers.is_empty() {
                true => self.filter_servers.remove(&key),
                false => self.filter_servers.insert(key.clone(), servers.clone()),
            };
        }
        let live = BrokerLive {
            last_update_ms: now_ms,
            heartbeat_timeout_ms,
            data_version: registration.topic_config.data_version,
            connection: registration.connection,
            ha_server_addr: registration.ha_server_addr.clone(),
        };
        self.live.insert(key, live);
    }

    /// For a slave: its master's address and HA address, if the master is alive.
    fn master_of(&self, registration: &BrokerRegistration) -> RegisterResult {
        if registration.broker_id == MASTER_ID {
            return RegisterResult::default();
        }
        let master_addr = self
            .brokers
            .get(&registration.broker_name)
            .and_then(|broker| broker.broker_addrs.get(&MASTER_ID));
        let Some(master_addr) = master_addr else {
            return RegisterResult::default();
        };
        match self.live.get(&BrokerKey::new(&registration.cluster_name, master_addr)) {
            Some(master) => RegisterResult {
                master_addr: Some(master_addr.clone()),
                ha_server_addr: Some(master.ha_server_addr.clone()),
                topics_left_out: Vec::new(),
            },
            None => RegisterResult::default(),
        }
    }

    /// Java's `isBrokerTopicConfigChanged`: true if unknown or different.
    fn is_data_version_changed(&self, key: &BrokerKey, version: Option<&DataVersion>) -> bool {
        match (self.live.get(key), version) {
            (Some(live), Some(version)) => live.data_version != *version,
            _ => true,
        }
    }

    /// QUERY_DATA_VERSION: whether the broker's version differs from ours (or we have none),
    /// and our version; refreshes the broker's liveness.
    pub fn query_data_version(
        &mut self,
        cluster: &str,
        addr: &str,
        version: Option<&DataVersion>,
        now_ms: u64,
    ) -> (bool, Option<DataVersion>) {
        let key = BrokerKey::new(cluster, addr);
        let changed = self.is_data_version_changed(&key, version);
        self.refresh_liveness(cluster, addr, now_ms);
        (changed, self.live.get(&key).map(|live| live.data_version))
    }

    /// BROKER_HEARTBEAT (and QUERY_DATA_VERSION): the broker at `addr` is alive at `now_ms`.
    pub fn refresh_liveness(&mut self, cluster: &str, addr: &str, now_ms: u64) {
        if let Some(live) = self.live.get_mut(&BrokerKey::new(cluster, addr)) {
            live.last_update_ms = now_ms;
        }
    }

    /// UNREGISTER_BROKER. Removes the address; when a broker name loses its last address, the
    /// name, its queue data (and topics left without brokers) and an emptied cluster go too:
    /// the queue data at once for readers, from memory by the sweep.
    pub fn unregister_broker(&mut self, cluster: &str, addr: &str, broker_name: &str) {
        let key = BrokerKey::new(cluster, addr);
        self.live.remove(&key);
        self.filter_servers.remove(&key);
        let Some(broker) = self.brokers.get_mut(broker_name) else {
            return;
        };
        broker.broker_addrs.retain(|_, existing| existing != addr);
        if !broker.broker_addrs.is_empty() {
            // The set lives on; a 5.x set left without a master stops taking writes.
            if broker.enable_acting_master && broker.broker_addrs.keys().all(|id| *id > MASTER_ID) {
                self.wipe_write_perm(broker_name);
            }
            return;
        }
        self.brokers.remove(broker_name);
        if let Some(names) = self.clusters.get_mut(cluster) {
            names.remove(broker_name);
            if names.is_empty() {
                self.clusters.remove(cluster);
            }
        }
        self.hold_for_sweep(broker_name);
    }

    /// The connection that carried registrations has closed: drop every broker address that
    /// registered over it (Java drops the first it finds).
    pub fn connection_closed(&mut self, connection: ConnectionId) -> Vec<DroppedBroker> {
        let keys: Vec<BrokerKey> = self
            .live
            .iter()
            .filter(|(_, live)| live.connection == connection)
            .map(|(key, _)| key.clone())
            .collect();
        keys.into_iter().map(|key| self.drop_broker(key, connection)).collect()
    }

    /// Java's `scanNotActiveBroker`: drops every broker address silent for longer than its
    /// heartbeat timeout (120 s unless the broker said otherwise).
    pub fn scan_not_active(&mut self, now_ms: u64) -> Vec<DroppedBroker> {
        let expired: Vec<(BrokerKey, ConnectionId)> = self
            .live
            .iter()
            .filter(|(_, live)| live.is_expired(now_ms))
            .map(|(key, live)| (key.clone(), live.connection))
            .collect();
        expired
            .into_iter()
            .map(|(key, connection)| self.drop_broker(key, connection))
            .collect()
    }

    /// Java's `onChannelDestroy`: find the broker name holding this address in its cluster,
    /// then unregister it. The liveness record goes even if no name holds the address.
    fn drop_broker(&mut self, key: BrokerKey, connection: ConnectionId) -> DroppedBroker {
        let broker_name = self
            .brokers
            .values()
            .find(|broker| broker.cluster == key.cluster && broker.broker_addrs.values().any(|a| *a == key.addr))
            .map(|broker| broker.broker_name.clone());
        match &broker_name {
            Some(name) => self.unregister_broker(&key.cluster, &key.addr, name),
            None => {
                self.live.remove(&key);
                self.filter_servers.remove(&key);
            }
        }
        DroppedBroker {
            key,
            broker_name,
            connection,
        }
    }
}

/// Java's `createAndUpdateQueueData`, with a prime slave's WRITE permission wiped.
fn queue_data_of(broker_name: &str, config: &TopicConfig, wipe_write: bool) -> QueueData {
    let perm = match wipe_write {
        true => config.perm & !PERM_WRITE,
        false => config.perm,
    };
    QueueData {
        broker_name: broker_name.to_owned(),
        perm,
        read_queue_nums: config.read_queue_nums,
        topic_sys_flag: config.topic_sys_flag,
        write_queue_nums: config.write_queue_nums,
    }
}

/// Takes the topics over [`TOPIC_NAME_CHARS_MAX`](super::TOPIC_NAME_CHARS_MAX) out of a registration's table: the name server
/// stores none, and a Java broker can store no message in one (its `HookUtils` refuses puts to
/// topics over 255 bytes), so leaving them out loses nothing a client could use.
fn take_overlong_topics(topics: &mut BTreeMap<String, TopicConfig>) -> Vec<String> {
    let overlong: Vec<String> = topics
        .keys()
        .filter(|topic| check_topic(topic).is_err())
        .cloned()
        .collect();
    for topic in &overlong {
        topics.remove(topic);
    }
    overlong
}

#[cfg(test)]
mod tests {
    use super::super::testing::{CLUSTER, addrs, registration, topic, wrapper};
    use super::*;
    use crate::route_table::TOPIC_NAME_CHARS_MAX;

    fn register(table: &mut RouteTable, registration: BrokerRegistration, now_ms: u64) -> RegisterResult {
        table.register_broker(registration, now_ms, false).unwrap()
    }

    #[test]
    fn registration_merges_topics_and_never_replaces() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T1", 4), topic("T2", 4)]),
            0,
        );
        let mut second = registration("broker-a", 0, "a:1", &[topic("T2", 8), topic("T3", 2)]);
        second.topic_config = wrapper(2, &[topic("T2", 8), topic("T3", 2)]);
        register(&mut table, second, 10);
        assert_eq!(table.queue_data("T1", "broker-a").map(|q| q.write_queue_nums), Some(4));
        assert_eq!(table.queue_data("T2", "broker-a").map(|q| q.write_queue_nums), Some(8));
        assert_eq!(table.queue_data("T3", "broker-a").map(|q| q.read_queue_nums), Some(2));
        assert_eq!(table.topic_count(), 3);
        assert_eq!(
            table.live_broker(CLUSTER, "a:1").map(|l| l.data_version.counter),
            Some(2)
        );
        assert_eq!(table.clusters[CLUSTER].iter().collect::<Vec<_>>(), ["broker-a"]);
    }

    #[test]
    fn same_data_version_does_not_overwrite_existing_queue_data() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        // Same DataVersion (counter 1): Java only fills in topics it lacks.
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 8), topic("V", 2)]),
            1,
        );
        assert_eq!(table.queue_data("T", "broker-a").map(|q| q.write_queue_nums), Some(4));
        assert_eq!(table.queue_data("V", "broker-a").map(|q| q.write_queue_nums), Some(2));
    }

    #[test]
    fn delete_absent_topics_when_configured() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        register(
            &mut table,
            registration("broker-b", 0, "b:1", &[topic("U", 4), topic("V", 4)]),
            0,
        );
        let mut again = registration("broker-a", 0, "a:1", &[topic("T", 4), topic("W", 4)]);
        again.topic_config.data_version.counter = 2;
        table.register_broker(again, 1, true).unwrap();
        assert!(table.queue_data("U", "broker-a").is_none());
        assert!(table.queue_data("U", "broker-b").is_some());
        assert!(table.queue_data("W", "broker-a").is_some());
    }

    #[test]
    fn slaves_get_their_master_and_topics_come_from_the_master_only() {
        let mut table = RouteTable::new();
        let slave = register(
            &mut table,
            registration("broker-a", 1, "a:2", &[topic("S", 4), topic("X", 1)]),
            0,
        );
        assert_eq!(slave, RegisterResult::default());
        assert_eq!(table.topic_count(), 0, "an old-version slave's topics are ignored");
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("Y", 1)]),
            1,
        );
        let slave = register(
            &mut table,
            registration("broker-a", 1, "a:2", &[topic("S", 4), topic("X", 1)]),
            2,
        );
        assert_eq!(slave.master_addr.as_deref(), Some("a:1"));
        assert_eq!(slave.ha_server_addr.as_deref(), Some("a:1-ha"));
        assert_eq!(
            addrs(&table, "broker-a"),
            BTreeMap::from([(0, "a:1".into()), (1, "a:2".into())])
        );
        assert!(table.queue_data("S", "broker-a").is_none());
    }

    #[test]
    fn prime_slave_of_an_acting_master_set_registers_read_only_topics() {
        let mut table = RouteTable::new();
        let mut slave = registration("broker-a", 1, "a:2", &[topic("T", 4), topic("U", 4)]);
        slave.enable_acting_master = Some(true);
        register(&mut table, slave, 0);
        assert_eq!(table.queue_data("T", "broker-a").map(|q| q.perm), Some(4));
        assert!(table.broker_data("broker-a").unwrap().enable_acting_master);
    }

    #[test]
    fn re_registering_an_address_under_a_new_id_replaces_the_old_id() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        register(
            &mut table,
            registration("broker-a", 1, "a:2", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        table.unregister_broker(CLUSTER, "a:1", "broker-a");
        // The slave is promoted in place: same address, id 0.
        register(
            &mut table,
            registration("broker-a", 0, "a:2", &[topic("T", 4), topic("U", 4)]),
            5,
        );
        assert_eq!(addrs(&table, "broker-a"), BTreeMap::from([(0, "a:2".into())]));
    }

    #[test]
    fn newer_state_version_elsewhere_wins() {
        let mut table = RouteTable::new();
        let mut old = registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]);
        old.topic_config.data_version.state_version = 5;
        register(&mut table, old, 0);
        let newcomer = registration("broker-a", 0, "a:9", &[topic("T", 4), topic("U", 4)]);
        assert_eq!(register(&mut table, newcomer, 1), RegisterResult::default());
        assert_eq!(addrs(&table, "broker-a"), BTreeMap::from([(0, "a:1".into())]));
        assert!(table.live_broker(CLUSTER, "a:9").is_none());
    }

    #[test]
    fn single_topic_from_an_unregistered_broker_is_rejected_without_side_effects() {
        let mut table = RouteTable::new();
        let single = registration("broker-a", 0, "a:1", &[topic("T", 4)]);
        assert_eq!(
            table.register_broker(single.clone(), 0, false),
            Err(NamesrvError::RegisterBeforeFullRegistration {
                broker_name: "broker-a".into(),
                broker_id: 0
            })
        );
        assert!(table.broker_data("broker-a").is_none());
        assert!(table.clusters.is_empty());
        register(&mut table, registration("broker-a", 0, "a:1", &[]), 0);
        let mut single = single;
        single.topic_config.data_version.counter = 2;
        register(&mut table, single, 1);
        assert!(table.queue_data("T", "broker-a").is_some());
    }

    #[test]
    fn expiry_is_strictly_after_the_timeout() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            1_000,
        );
        let mut short = registration("broker-b", 0, "b:1", &[topic("T", 4), topic("U", 4)]);
        short.heartbeat_timeout_ms = Some(10_000);
        register(&mut table, short, 1_000);
        assert!(table.scan_not_active(1_000 + 10_000).is_empty());
        let dropped = table.scan_not_active(1_000 + 10_001);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].broker_name.as_deref(), Some("broker-b"));
        assert!(table.scan_not_active(1_000 + 120_000).is_empty());
        let dropped = table.scan_not_active(1_000 + 120_001);
        assert_eq!(dropped[0].key, BrokerKey::new(CLUSTER, "a:1"));
        assert_eq!(table.topic_count(), 0);
        assert!(table.clusters.is_empty() && table.brokers.is_empty() && table.live.is_empty());
    }

    #[test]
    fn heartbeats_and_data_version_queries_keep_a_broker_alive() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        table.refresh_liveness(CLUSTER, "a:1", 100_000);
        let (changed, stored) = table.query_data_version(CLUSTER, "a:1", Some(&wrapper(1, &[]).data_version), 200_000);
        assert!(!changed);
        assert_eq!(stored.map(|v| v.counter), Some(1));
        assert!(table.query_data_version(CLUSTER, "a:1", None, 200_000).0);
        assert!(table.scan_not_active(320_000).is_empty());
        assert_eq!(table.scan_not_active(320_001).len(), 1);
        assert_eq!(table.query_data_version(CLUSTER, "a:1", None, 0), (true, None));
    }

    #[test]
    fn connection_close_drops_only_that_connections_brokers() {
        let mut table = RouteTable::new();
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        register(&mut table, registration("broker-a", 1, "a:2", &[]), 0);
        register(
            &mut table,
            registration("broker-b", 0, "b:1", &[topic("T", 4), topic("U", 4)]),
            0,
        );
        assert!(table.connection_closed(ConnectionId(999)).is_empty());
        let dropped = table.connection_closed(ConnectionId(100));
        assert_eq!(
            dropped.len(),
            2,
            "broker-a's and broker-b's masters share connection id 100 here"
        );
        assert_eq!(addrs(&table, "broker-a"), BTreeMap::from([(1, "a:2".into())]));
        assert!(table.broker_data("broker-b").is_none());
        // broker-a keeps its queue data through its slave; broker-b's is gone.
        assert!(table.queue_data("T", "broker-a").is_some());
        assert!(table.queue_data("T", "broker-b").is_none());
    }

    #[test]
    fn losing_the_master_of_an_acting_master_set_wipes_write() {
        let mut table = RouteTable::new();
        let mut master = registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]);
        master.enable_acting_master = Some(true);
        register(&mut table, master, 0);
        let mut slave = registration("broker-a", 1, "a:2", &[]);
        slave.enable_acting_master = Some(true);
        register(&mut table, slave, 0);
        table.unregister_broker(CLUSTER, "a:1", "broker-a");
        assert_eq!(table.queue_data("T", "broker-a").map(|q| q.perm), Some(4));
    }

    #[test]
    fn an_overlong_topic_is_left_out_and_the_rest_registered() {
        let mut table = RouteTable::new();
        let long_topic = "t".repeat(TOPIC_NAME_CHARS_MAX + 1);
        let with_long = registration("broker-a", 0, "a:1", &[topic(&long_topic, 1), topic("ok", 1)]);
        let result = table.register_broker(with_long, 0, false).unwrap();
        assert_eq!(result.topics_left_out, std::slice::from_ref(&long_topic));
        assert!(table.queue_data("ok", "broker-a").is_some());
        assert!(table.queue_data(&long_topic, "broker-a").is_none());
        assert_eq!(table.brokers.len(), 1);
        // A new broker id whose body held two topics is a full registration, even with one left out.
        let newcomer = registration("broker-b", 0, "b:1", &[topic(&long_topic, 1), topic("ok", 1)]);
        assert!(table.register_broker(newcomer, 0, false).is_ok());
        // A single over-long topic registered on its own is refused, naming the limit.
        let single = table.register_topic(&long_topic, Vec::new()).unwrap_err();
        assert!(single.to_string().contains("TOPIC_NAME_CHARS_MAX = 255"), "{single}");
    }

    #[test]
    fn limits_reject_before_changing_anything() {
        let mut table = RouteTable::new();
        let bad_name = registration(&"b".repeat(2000), 0, "a:1", &[]);
        assert!(matches!(
            table.register_broker(bad_name, 0, false),
            Err(NamesrvError::TooLong {
                what: "broker name",
                ..
            })
        ));
        assert!(table.brokers.is_empty() && table.live.is_empty());
        let max_topic = "t".repeat(255);
        register(
            &mut table,
            registration("broker-a", 0, "a:1", &[topic(&max_topic, 1), topic("ok", 1)]),
            0,
        );
        assert!(table.queue_data(&max_topic, "broker-a").is_some());
    }

    #[test]
    fn filter_servers_follow_the_latest_registration() {
        let mut table = RouteTable::new();
        let mut with_servers = registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]);
        with_servers.filter_server_list = Some(vec!["f:1".into()]);
        register(&mut table, with_servers, 0);
        assert_eq!(table.filter_servers.len(), 1);
        let mut legacy = registration("broker-a", 0, "a:1", &[]);
        legacy.filter_server_list = None;
        register(&mut table, legacy, 1);
        assert_eq!(table.filter_servers.len(), 1, "a body without the list leaves it");
        register(&mut table, registration("broker-a", 0, "a:1", &[]), 2);
        assert!(table.filter_servers.is_empty());
    }
}
