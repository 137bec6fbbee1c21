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
//! in `topics` only while at least one broker serves it, counting a broker whose last address
//! went as serving until the sweep below removes its queue data; every table keyed by remote
//! input is bounded by a named limit below, checked before anything is changed, so a rejected
//! request leaves the table as it was.
//!
//! Dropping a broker is O(1) for readers: its name leaves `brokers` at once and its queue data
//! becomes invisible (every reader skips a swept name), then [`RouteTable::sweep_step`] removes
//! that data a bounded number of topics at a time, between requests. So neither an expiry nor a
//! closed connection holds up a route lookup for more than one step (see `sweep.rs`).

mod limits;
mod queues;
mod registration;
mod sweep;
mod topics;

use std::collections::{BTreeMap, BTreeSet};

use ferrocket_wire::body::{BrokerData, DataVersion, QueueData, TopicQueueMappingInfo};

use crate::error::{Limit, NamesrvError, NamesrvResult};
use crate::limit;

use queues::{Served, TopicRoutes};
use sweep::Sweep;

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

/// Topics one broker name may serve. Our broker holds at most 50 000 (its `TOPICS_MAX`), and
/// 50 000 topics of 127 characters is the largest registration we were asked to serve; the
/// rest is headroom for a Java broker with a little more. A registration that would take a
/// broker beyond it is refused whole (SYSTEM_ERROR, the remark names this limit).
pub const TOPICS_PER_BROKER_MAX: usize = 65_536;

/// What the queue data of the whole table may cost, as counted by [`queue_data_bytes`]: the
/// names plus a fixed [`QUEUE_DATA_OVERHEAD_BYTES`] per (topic, broker) pair. 17 brokers of
/// 38 000 topics of 127 characters count 170 MiB; 256 MiB keeps the resident size of the table
/// near half a GiB whatever names a flood of fake brokers chooses.
pub const ROUTE_TABLE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// What one (topic, broker) pair costs beyond its names: the `QueueData`, its slot in the
/// topic's list, the topic's slot in the map and the allocator's headers, measured at about
/// this on a 64-bit target.
pub const QUEUE_DATA_OVERHEAD_BYTES: usize = 128;

/// Topics the sweep visits per step. Removing a topic's queue data takes about a microsecond
/// in a release build, so a lookup queued behind a step waits about a millisecond.
pub const SWEEP_TOPICS_PER_STEP: usize = 1_024;

/// remoting.md §7.5: topics are at most 127 characters, retry and DLQ topics at most 255.
/// Java's name server does not check, but a Java broker stores no message in a longer topic
/// (`HookUtils.MAX_TOPIC_LENGTH`: a topic names a directory), so nothing longer is stored here.
/// A registration leaves such a topic out and keeps the rest; REGISTER_TOPIC_IN_NAMESRV of one
/// is refused.
pub const TOPIC_NAME_CHARS_MAX: usize = 255;

/// Cluster names, broker names and addresses. Java sets no limit; 1 KiB is far beyond any real
/// host name or broker name and keeps one key from costing megabytes.
pub const NAME_BYTES_MAX: usize = 1024;

/// Filter servers per broker: a 4.x feature with at most a handful per broker, gone in 5.x.
pub const FILTER_SERVERS_PER_BROKER_MAX: usize = 256;

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
    topics: BTreeMap<String, TopicRoutes>,
    live: BTreeMap<BrokerKey, BrokerLive>,
    filter_servers: BTreeMap<BrokerKey, Vec<String>>,
    queue_mappings: BTreeMap<String, BTreeMap<String, TopicQueueMappingInfo>>,
    /// What each broker name's queue data costs; kept with every change to `topics`.
    served: BTreeMap<String, Served>,
    /// The sum of `served`'s bytes.
    stored_bytes: usize,
    /// Broker names whose queue data is being removed.
    sweep: Sweep,
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

    /// Topics served by at least one broker (O(topics) while a sweep runs, else O(1)).
    pub fn topic_count(&self) -> usize {
        match self.sweep.is_idle() {
            true => self.topics.len(),
            false => self.topics.values().filter(|routes| self.is_served(routes)).count(),
        }
    }

    /// The queue data of `topic` on `broker_name`.
    pub fn queue_data(&self, topic: &str, broker_name: &str) -> Option<&QueueData> {
        self.topics
            .get(topic)
            .and_then(|routes| routes.get(broker_name))
            .filter(|queue_data| !self.sweep.holds(&queue_data.broker_name))
    }

    /// How many topics `broker_name` serves and what they cost, swept names included.
    pub fn served_by(&self, broker_name: &str) -> (usize, usize) {
        self.served
            .get(broker_name)
            .map_or((0, 0), |served| (served.topics, served.bytes))
    }

    /// What the queue data of the whole table costs, as [`ROUTE_TABLE_BYTES_MAX`] counts it.
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// Whether a topic has queue data of a broker that is not being swept.
    fn is_served(&self, routes: &TopicRoutes) -> bool {
        routes
            .iter()
            .any(|queue_data| !self.sweep.holds(&queue_data.broker_name))
    }

    /// The queue data of a topic that readers see: none of a broker being swept.
    fn visible<'a>(&'a self, routes: &'a TopicRoutes) -> impl Iterator<Item = &'a QueueData> + 'a {
        routes
            .iter()
            .filter(|queue_data| !self.sweep.holds(&queue_data.broker_name))
    }
}

/// What one (topic, broker) pair counts against [`ROUTE_TABLE_BYTES_MAX`].
pub fn queue_data_bytes(topic: &str, broker_name: &str) -> usize {
    topic
        .len()
        .saturating_add(broker_name.len())
        .saturating_add(QUEUE_DATA_OVERHEAD_BYTES)
}

/// Rejects a name or address over [`NAME_BYTES_MAX`].
fn check_name(what: &'static str, value: &str) -> NamesrvResult<()> {
    check_length(what, value.len(), limit!(NAME_BYTES_MAX))
}

/// Rejects a topic name over [`TOPIC_NAME_CHARS_MAX`] characters.
fn check_topic(topic: &str) -> NamesrvResult<()> {
    // No name has more characters than bytes: most are settled without counting.
    if topic.len() <= TOPIC_NAME_CHARS_MAX {
        return Ok(());
    }
    check_length("topic", topic.chars().count(), limit!(TOPIC_NAME_CHARS_MAX))
}

fn check_length(what: &'static str, length: usize, limit: Limit) -> NamesrvResult<()> {
    match length > limit.value {
        true => Err(NamesrvError::TooLong { what, length, limit }),
        false => Ok(()),
    }
}

fn check_room(what: &'static str, len: usize, adding: usize, limit: Limit) -> NamesrvResult<()> {
    match len.saturating_add(adding) > limit.value {
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
