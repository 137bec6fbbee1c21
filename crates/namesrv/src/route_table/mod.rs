//! The route table: which brokers exist, which topics they serve, and which are alive.
//!
//! A plain synchronous state machine, the core of the name server (Java's `RouteInfoManager`).
//! No clocks and no I/O: every call that depends on time takes `now_ms`, a monotonic clock in
//! milliseconds chosen by the caller; connections are opaque [`ConnectionId`]s from the shell.
//!
//! Tables, as Java keeps them (remoting.md §4.1, §6.3):
//!
//! ```text
//! clusters       cluster name  -> broker names
//! brokers        broker name   -> BrokerData { cluster, brokerAddrs: id -> addr, enableActingMaster, zone }
//! topics         topic         -> broker name -> QueueData
//! live           (cluster, addr) -> BrokerLive { last update, timeout, DataVersion, connection, haServerAddr }
//! filter_servers (cluster, addr) -> filter server addresses
//! queue_mappings topic         -> broker name -> TopicQueueMappingInfo (5.x static topics)
//! ```
//!
//! Invariants: a broker name is in `brokers` only while it has at least one address; a topic is
//! in `topics` only while at least one broker serves it; every table keyed by remote input is
//! bounded by a named limit below, checked before anything is changed, so a rejected request
//! leaves the table as it was.

mod registration;
mod topics;

use std::collections::{BTreeMap, BTreeSet};

use ferrocket_wire::body::{BrokerData, DataVersion, QueueData, TopicQueueMappingInfo};

use crate::error::{NamesrvError, NamesrvResult};

pub use registration::{BrokerRegistration, RegisterResult};

/// Java's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`: a broker silent for two minutes is dropped.
/// Brokers register every 30 s, so this tolerates three lost registrations.
pub const BROKER_EXPIRY_MS_DEFAULT: u64 = 120_000;

/// Broker addresses (per cluster) alive at once. Java has no limit; real deployments run tens to
/// hundreds of brokers, so 10 000 stops a registration flood long before memory is at risk.
pub const LIVE_BROKERS_MAX: usize = 10_000;

/// Broker names known at once; as many as there can be live addresses.
pub const BROKER_NAMES_MAX: usize = LIVE_BROKERS_MAX;

/// Cluster names known at once; each needs at least one broker name.
pub const CLUSTERS_MAX: usize = BROKER_NAMES_MAX;

/// Members (master and slaves) of one broker set. Real sets have two or three; this only stops
/// a set from accumulating addresses without end.
pub const BROKER_IDS_PER_NAME_MAX: usize = 64;

/// Topics in the table. A large Java cluster carries a few hundred thousand (every consumer
/// group adds `%RETRY%` and `%DLQ%` topics); a million bounds memory to a few hundred MiB.
pub const TOPICS_MAX: usize = 1_000_000;

/// remoting.md §7.5: topics are at most 127 characters, retry and DLQ topics at most 255.
/// Java's name server does not check; nothing longer can exist on a Java broker, so nothing
/// longer is stored here.
pub const TOPIC_NAME_CHARS_MAX: usize = 255;

/// Cluster names, broker names and addresses. Java sets no limit; 1 KiB is far beyond any real
/// host name or broker name and keeps one key from costing megabytes.
pub const NAME_BYTES_MAX: usize = 1024;

/// Filter servers per broker: a 4.x feature with at most a handful per broker, gone in 5.x.
pub const FILTER_SERVERS_PER_BROKER_MAX: usize = 256;

/// Java's `MixAll.MASTER_ID`.
pub const MASTER_ID: i64 = 0;

/// `PermName.PERM_WRITE` and `PERM_READ`.
pub const PERM_WRITE: i32 = 2;
pub const PERM_READ: i32 = 4;

/// `TopicSysFlag` bits: the topic is a unit topic; it has a unit subscription.
pub const TOPIC_SYS_FLAG_UNIT: i32 = 1;
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 2;

/// The shell's name for a connection, so a closed connection's brokers can be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Java's `BrokerAddrInfo`: liveness is tracked per cluster and address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerKey {
    pub cluster: String,
    pub addr: String,
}

impl BrokerKey {
    pub fn new(cluster: &str, addr: &str) -> BrokerKey {
        BrokerKey {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        }
    }
}

/// Java's `BrokerLiveInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLive {
    pub last_update_ms: u64,
    pub heartbeat_timeout_ms: u64,
    pub data_version: DataVersion,
    pub connection: ConnectionId,
    pub ha_server_addr: String,
}

impl BrokerLive {
    /// Java expires a broker when `last + timeout < now`: at exactly the timeout it is alive.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.last_update_ms.saturating_add(self.heartbeat_timeout_ms) < now_ms
    }
}

/// A broker address that was dropped, and why; returned for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedBroker {
    pub key: BrokerKey,
    pub broker_name: Option<String>,
    pub connection: ConnectionId,
}

#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    clusters: BTreeMap<String, BTreeSet<String>>,
    brokers: BTreeMap<String, BrokerData>,
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    live: BTreeMap<BrokerKey, BrokerLive>,
    filter_servers: BTreeMap<BrokerKey, Vec<String>>,
    queue_mappings: BTreeMap<String, BTreeMap<String, TopicQueueMappingInfo>>,
}

impl RouteTable {
    pub fn new() -> RouteTable {
        RouteTable::default()
    }

    /// The liveness record of a broker address, if it is registered.
    pub fn live_broker(&self, cluster: &str, addr: &str) -> Option<&BrokerLive> {
        self.live.get(&BrokerKey::new(cluster, addr))
    }

    pub fn live_broker_count(&self) -> usize {
        self.live.len()
    }

    pub fn broker_data(&self, broker_name: &str) -> Option<&BrokerData> {
        self.brokers.get(broker_name)
    }

    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// The queue data of `topic` on `broker_name`.
    pub fn queue_data(&self, topic: &str, broker_name: &str) -> Option<&QueueData> {
        self.topics.get(topic).and_then(|by_broker| by_broker.get(broker_name))
    }

    /// Drops a topic everywhere, with its static-topic mapping.
    fn remove_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
        self.queue_mappings.remove(topic);
    }
}

/// Rejects a name or address over [`NAME_BYTES_MAX`].
fn check_name(what: &'static str, value: &str) -> NamesrvResult<()> {
    check_length(what, value.len(), NAME_BYTES_MAX)
}

/// Rejects a topic name over [`TOPIC_NAME_CHARS_MAX`] characters.
fn check_topic(topic: &str) -> NamesrvResult<()> {
    check_length("topic", topic.chars().count(), TOPIC_NAME_CHARS_MAX)
}

fn check_length(what: &'static str, length: usize, limit: usize) -> NamesrvResult<()> {
    match length > limit {
        true => Err(NamesrvError::TooLong { what, length, limit }),
        false => Ok(()),
    }
}

fn check_room(what: &'static str, len: usize, adding: usize, limit: usize) -> NamesrvResult<()> {
    match len.saturating_add(adding) > limit {
        true => Err(NamesrvError::TableFull { what, limit }),
        false => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;

    use ferrocket_wire::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};

    use super::*;

    pub const CLUSTER: &str = "DefaultCluster";

    pub fn topic(name: &str, queues: i32) -> TopicConfig {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        }
    }

    pub fn wrapper(counter: i64, topics: &[TopicConfig]) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: topics.iter().map(|t| (t.topic_name.clone(), t.clone())).collect(),
            ..TopicConfigSerializeWrapper::default()
        }
    }

    /// A 4.9.x-style registration (no acting-master flag) of `name` id `id` at `addr`.
    pub fn registration(name: &str, id: i64, addr: &str, topics: &[TopicConfig]) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: CLUSTER.into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            zone_name: None,
            heartbeat_timeout_ms: None,
            enable_acting_master: None,
            topic_config: wrapper(1, topics),
            filter_server_list: Some(Vec::new()),
            connection: ConnectionId(id as u64 + 100),
        }
    }

    pub fn addrs(table: &RouteTable, name: &str) -> BTreeMap<i64, String> {
        table
            .broker_data(name)
            .map(|b| b.broker_addrs.clone())
            .unwrap_or_default()
    }
}
