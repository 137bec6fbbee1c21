//! The broker's configuration: the keys of Java's `BrokerConfig`, `NettyServerConfig` and
//! `MessageStoreConfig` that a `broker.conf` holds, with Java's names and defaults, typed.
//!
//! One table ([`SETTINGS`]) serves three ways in and out: a `broker.conf` at start-up
//! ([`BrokerConfig::from_properties`]), UPDATE_BROKER_CONFIG at run time
//! ([`BrokerConfig::update_from_properties`], only settings marked [`Scope::Runtime`]: switches
//! and numbers, never a path, an address to bind or a command) and GET_BROKER_CONFIG
//! ([`BrokerConfig::to_properties`]). Keys the table does not know are kept as given, listed by
//! GET_BROKER_CONFIG too, and reported once at start-up. Updates are all-or-nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferrocket_net::{ClientTls, ServerTls};
use ferrocket_replication::HaConfig;
use ferrocket_store::MessageStoreConfig;
use ferrocket_wire::body::DataVersion;
use ferrocket_wire::properties_text;
use ferrocket_wire::settings::{Scope, Setting, find};
use ferrocket_wire::system_topics::TRACE_TOPIC;
use tracing::warn;

use crate::error::{BrokerError, BrokerResult};
use crate::names::TOPICS_MAX;
use crate::names::{TOPIC_NAME_CHARS_MAX, next_version};

mod auth;
mod settings;

pub use auth::{AUTH_SETTINGS, AuthConfig, InitUser, InnerCredentials};
pub use settings::SETTINGS;

/// Java's `listenPort` default.
pub const LISTEN_PORT_DEFAULT: u16 = 10911;
/// Java 5.x's `BrokerStartup` default for `haListenPort`: 0, read as `listenPort + 1`.
pub const HA_LISTEN_PORT_DEFAULT: u16 = 0;
/// Java's `slaveTimeout`: how long a SYNC_MASTER send waits for a slave's acknowledgement.
pub const SLAVE_TIMEOUT_MS_DEFAULT: u64 = 3_000;
/// Java's `inSyncReplicas` (5.x): 1 keeps the 4.x SYNC_MASTER rule (one slave must hold it).
pub const IN_SYNC_REPLICAS_DEFAULT: u32 = 1;
/// Java's `accessMessageInMemoryMaxRatio`: records within this percentage of RAM from the
/// log's end count as in memory; a pull reading further back is pointed at the slave.
pub const ACCESS_MESSAGE_IN_MEMORY_MAX_RATIO_DEFAULT: u32 = 40;
/// How often a slave copies topics, offsets and groups from its master: Java's fixed 60 s
/// (`SlaveSynchronize`), made configurable here as `slaveSyncPeriod`.
pub const SLAVE_SYNC_PERIOD_MS_DEFAULT: u64 = 60_000;
/// Java's `registerNameServerPeriod`; Java clamps it into [10 s, 60 s] when scheduling.
pub const REGISTER_PERIOD_MS_DEFAULT: u64 = 30_000;
/// The periods Java's scheduling clamp allows: at least 10 s, so registrations cannot flood a name
/// server, and at most 60 s, so a broker registers twice within a name server's 120 s expiry.
pub const REGISTER_PERIOD_MS_RANGE: (u64, u64) = (10_000, 60_000);
/// Java's `splitRegistrationSize` default: topics per REGISTER_BROKER batch when split.
pub const SPLIT_REGISTRATION_SIZE_DEFAULT: usize = 800;
/// `splitRegistrationSize` from 1 (Java takes any int) to our broker's whole topic table.
pub const SPLIT_REGISTRATION_SIZE_RANGE: (u64, u64) = (1, TOPICS_MAX as u64);
/// Java's `flushConsumerOffsetInterval`.
pub const FLUSH_CONSUMER_OFFSET_INTERVAL_MS_DEFAULT: u64 = 5_000;
/// Java's `shortPollingTimeMills`.
pub const SHORT_POLLING_TIME_MS_DEFAULT: u64 = 1_000;
/// `PermName.PERM_READ | PermName.PERM_WRITE`.
const BROKER_PERMISSION_DEFAULT: i32 = 6;
/// Java stores a consume-queue entry in 20 bytes; `mappedFileSizeConsumeQueue` counts bytes.
const CONSUME_QUEUE_ENTRY_BYTES: u64 = 20;
/// A name (cluster, broker) is a label shown everywhere, and Java creates a topic of each name
/// (`brokerTopicEnable`, `clusterTopicEnable`), so a name is at most as long as a topic.
const NAME_CHARS_MAX: usize = TOPIC_NAME_CHARS_MAX;
/// `namesrvAddr` lists a handful of servers; a longer value is not a configuration.
const NAMESRV_ADDR_CHARS_MAX: usize = 4096;
/// `mappedFileSizeCommitLog`: a segment smaller than a page makes no sense, and the store refuses
/// one over `i32::MAX` bytes at start (its `SEGMENT_BYTES_MAX`: the filler at a segment's end
/// stores the rest of the segment in an i32), so `broker.conf` is refused beyond it too.
const SEGMENT_BYTES_RANGE: (u64, u64) = (4096, i32::MAX as u64);
/// A `broker.conf` is a few dozen keys; anything kept beyond this is not one.
pub const UNKNOWN_KEYS_MAX: usize = 512;

/// Java's `BrokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    AsyncMaster,
    SyncMaster,
    Slave,
}

impl BrokerRole {
    pub fn java_name(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }
}

/// Java's `MetricsExporterType`, as far as we export: nothing, or Prometheus text over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExporterType {
    Disable,
    Prom,
}

impl std::fmt::Display for MetricsExporterType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricsExporterType::Disable => "DISABLE",
            MetricsExporterType::Prom => "PROM",
        })
    }
}

/// Java's `metricsPromExporterPort` default.
pub const METRICS_PROM_EXPORTER_PORT_DEFAULT: u16 = 5557;

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
    /// `namesrvAddr`: `host:port` list separated by `;`.
    pub namesrv_addr: Option<String>,
    /// `brokerIP1`: the address announced to name servers and clients. Java picks the host's
    /// first non-loopback address; so does the `ferrocket` binary when the file names none
    /// (crates/cli/src/hosts.rs). This library's default is `127.0.0.1`, the same on every host.
    pub broker_ip1: String,
    /// `brokerIP2`: the HA address announced to slaves; `brokerIP1` when unset.
    pub broker_ip2: Option<String>,
    /// `bindAddress`: the address to bind (`0.0.0.0` unless configured).
    pub listen_host: String,
    pub listen_port: u16,
    /// `haListenPort`; 0 means `listenPort + 1` (any free port when `listenPort` is 0).
    pub ha_listen_port: u16,
    pub broker_role: BrokerRole,
    /// `haMasterAddress`: a slave follows this HA address instead of the name servers' answer.
    pub ha_master_address: Option<String>,
    /// `slaveTimeout`.
    pub slave_timeout_ms: u64,
    /// `inSyncReplicas`: above 1, a SYNC_MASTER send waits for that many copies (5.x rule).
    pub in_sync_replicas: u32,
    /// `haSendHeartbeatInterval`, `haHousekeepingInterval`, `haTransferBatchSize`,
    /// `haMaxGapNotInSync`.
    pub ha: HaConfig,
    /// `accessMessageInMemoryMaxRatio` (a slave uses 10 less, as Java's `BrokerStartup` does).
    pub access_message_in_memory_max_ratio: u32,
    /// `slaveSyncPeriod` (ours; Java fixes it at 60 s).
    pub slave_sync_period_ms: u64,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: i32,
    pub broker_permission: i32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    pub trace_topic_enable: bool,
    /// `metricsExporterType` (Java default DISABLE); PROM serves Prometheus text.
    pub metrics_exporter_type: MetricsExporterType,
    /// `metricsPromExporterHost`: empty binds `brokerIP1`, as Java does.
    pub metrics_prom_exporter_host: String,
    /// `metricsPromExporterPort` (Java default 5557; 0 lets the OS pick, for tests).
    pub metrics_prom_exporter_port: u16,
    pub msg_trace_topic_name: String,
    pub long_polling_enable: bool,
    /// `useServerSideResetOffset` (5.x, default true): a reset is kept by the broker and
    /// announced by the next pull; false sends it to the online consumers (4.x).
    pub use_server_side_reset_offset: bool,
    /// `shortPollingTimeMills`: how long a pull is held when long polling is off.
    pub short_polling_time_ms: u64,
    pub notify_consumer_ids_changed_enable: bool,
    /// `namesrvAddrRuntimeUpdateEnable` (ours, default off): whether UPDATE_BROKER_CONFIG may
    /// change `namesrvAddr`. Java lets any client do it, after which the broker sends its whole
    /// topic table to the new address; an operator must opt in.
    pub namesrv_addr_runtime_update_enable: bool,
    pub slave_read_enable: bool,
    /// `rejectTransactionMessage`: refuse prepared sends (NO_PERMISSION).
    pub reject_transaction_message: bool,
    /// `transactionTimeOut`: a half message younger than this is not checked yet.
    pub transaction_timeout_ms: u64,
    /// `transactionCheckMax`: checks of one half message before it is parked in
    /// `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub transaction_check_max: u32,
    /// `transactionCheckInterval`: how often the check loop runs.
    pub transaction_check_interval_ms: u64,
    /// `compressedRegister`: send REGISTER_BROKER's body zlib-compressed.
    pub compressed_register: bool,
    /// `enableSplitRegistration`: register the topic table in batches of
    /// `splitRegistrationSize` topics, each a REGISTER_BROKER of its own.
    pub enable_split_registration: bool,
    /// `enablePropertyFilter` (Java's default false): whether SQL92 subscriptions are served.
    pub enable_property_filter: bool,
    /// `enableRetryTopicV2` (Java's default false): pop retry topics are `%RETRY%group+topic`
    /// rather than `%RETRY%group_topic`.
    pub enable_retry_topic_v2: bool,
    /// `timerWheelEnable`: whether timer messages (`TIMER_DELIVER_MS`, ...) are served.
    pub timer_wheel_enable: bool,
    /// `timerPrecisionMs`: the slot a timer's `TIMER_OUT_MS` is rounded to (100, 200, 500 or
    /// 1000, as Java snaps it).
    pub timer_precision_ms: i64,
    /// `timerMaxDelaySec`: how far ahead a timer may ask to be delivered.
    pub timer_max_delay_sec: i64,
    /// `recallMessageEnable` (Java's default false): whether RECALL_MESSAGE is served.
    pub recall_message_enable: bool,
    /// `allowRecallWhenBrokerNotWriteable` (Java's default true).
    pub allow_recall_when_broker_not_writeable: bool,
    /// `splitRegistrationSize`.
    pub split_registration_size: usize,
    /// `registerNameServerPeriod`.
    pub register_name_server_period_ms: u64,
    /// `flushConsumerOffsetInterval`.
    pub flush_consumer_offset_interval_ms: u64,
    pub store: MessageStoreConfig,
    /// `storePathRootDir`; `config/` lives under it.
    pub store_path_root_dir: PathBuf,
    /// Keys no setting knows, as given: shown by GET_BROKER_CONFIG, otherwise unused.
    pub unknown: BTreeMap<String, String>,
    /// TLS on the port. Not broker.conf keys: Java reads `tls.*` as JVM system properties, our
    /// binary as `-D` settings (acl.md §8); plaintext only unless set.
    pub server_tls: ServerTls,
    /// TLS on our calls to name servers (Java's `tls.enable`, or enforcing mode); `None`: plaintext.
    pub client_tls: Option<ClientTls>,
    /// Java's `AuthConfig` (config/auth.rs): signatures and ACLs.
    pub auth: AuthConfig,
    /// Bumped by every run-time update (GET_BROKER_CONFIG's `version` header).
    pub data_version: DataVersion,
}

impl Default for BrokerConfig {
    /// Java's defaults; the store lives in `$HOME/store` as in Java.
    fn default() -> BrokerConfig {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let root = home.join("store");
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            namesrv_addr: None,
            broker_ip1: "127.0.0.1".into(),
            broker_ip2: None,
            listen_host: "0.0.0.0".into(),
            listen_port: LISTEN_PORT_DEFAULT,
            ha_listen_port: HA_LISTEN_PORT_DEFAULT,
            broker_role: BrokerRole::AsyncMaster,
            ha_master_address: None,
            slave_timeout_ms: SLAVE_TIMEOUT_MS_DEFAULT,
            in_sync_replicas: IN_SYNC_REPLICAS_DEFAULT,
            ha: HaConfig::default(),
            access_message_in_memory_max_ratio: ACCESS_MESSAGE_IN_MEMORY_MAX_RATIO_DEFAULT,
            slave_sync_period_ms: SLAVE_SYNC_PERIOD_MS_DEFAULT,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: BROKER_PERMISSION_DEFAULT,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            metrics_exporter_type: MetricsExporterType::Disable,
            metrics_prom_exporter_host: String::new(),
            metrics_prom_exporter_port: METRICS_PROM_EXPORTER_PORT_DEFAULT,
            msg_trace_topic_name: TRACE_TOPIC.into(),
            long_polling_enable: true,
            use_server_side_reset_offset: true,
            short_polling_time_ms: SHORT_POLLING_TIME_MS_DEFAULT,
            notify_consumer_ids_changed_enable: true,
            namesrv_addr_runtime_update_enable: false,
            slave_read_enable: false,
            reject_transaction_message: false,
            transaction_timeout_ms: 6_000,
            transaction_check_max: 15,
            transaction_check_interval_ms: 30_000,
            compressed_register: false,
            enable_split_registration: false,
            enable_property_filter: false,
            enable_retry_topic_v2: false,
            timer_wheel_enable: true,
            timer_precision_ms: 1_000,
            timer_max_delay_sec: 3 * 24 * 3_600,
            recall_message_enable: false,
            allow_recall_when_broker_not_writeable: true,
            split_registration_size: SPLIT_REGISTRATION_SIZE_DEFAULT,
            register_name_server_period_ms: REGISTER_PERIOD_MS_DEFAULT,
            flush_consumer_offset_interval_ms: FLUSH_CONSUMER_OFFSET_INTERVAL_MS_DEFAULT,
            store: MessageStoreConfig::new(root.clone()),
            store_path_root_dir: root,
            unknown: BTreeMap::new(),
            server_tls: ServerTls::disabled(),
            client_tls: None,
            auth: AuthConfig::default(),
            data_version: DataVersion::default(),
        }
    }
}

impl BrokerConfig {
    /// Reads a `broker.conf`'s entries (parse the text with [`Self::from_properties_text`] or
    /// `ferrocket_wire::properties_text::parse`). Bad values are errors; unknown keys are kept and
    /// reported once. `storePathRootDir` is applied first, so `storePathCommitLog` can be
    /// checked against it wherever it appears.
    pub fn from_properties(entries: &[(String, String)]) -> BrokerResult<BrokerConfig> {
        let mut config = BrokerConfig::default();
        let (roots, others): (Vec<_>, Vec<_>) = entries.iter().partition(|(key, _)| key == "storePathRootDir");
        for (key, value) in roots.into_iter().chain(others) {
            match find(SETTINGS, key).or_else(|| find(AUTH_SETTINGS, key)) {
                Some(setting) => config.apply(setting, key, value)?,
                None if config.unknown.len() >= UNKNOWN_KEYS_MAX => {
                    return Err(BrokerError::TooManyUnknownConfigKeys {
                        limit: UNKNOWN_KEYS_MAX,
                    });
                }
                None => {
                    warn!(
                        key,
                        "broker.conf key not used by this broker; kept for GET_BROKER_CONFIG"
                    );
                    config.unknown.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(config)
    }

    /// Reads the text of a `broker.conf` (Java properties syntax).
    pub fn from_properties_text(text: &str) -> BrokerResult<BrokerConfig> {
        let entries = properties_text::parse(text)?;
        BrokerConfig::from_properties(&entries)
    }

    /// `ferrocket standalone`: one master broker of `DefaultCluster` named `broker-a`, data in
    /// `data_dir/store`, listening on and announcing `host:port`.
    pub fn standalone(data_dir: &Path, host: &str, port: u16, namesrv_addr: &str) -> BrokerConfig {
        let mut config = BrokerConfig {
            broker_ip1: host.to_owned(),
            listen_host: host.to_owned(),
            listen_port: port,
            namesrv_addr: Some(namesrv_addr.to_owned()),
            ..BrokerConfig::default()
        };
        config.set_store_root(data_dir.join("store"));
        config
    }

    /// UPDATE_BROKER_CONFIG: applies every entry or none. A key outside the run-time allowlist
    /// is refused with Java's answer to a black-listed key (NO_PERMISSION).
    pub fn update_from_properties(&self, entries: &[(String, String)], now_ms: i64) -> BrokerResult<BrokerConfig> {
        let mut updated = self.clone();
        for (key, value) in entries {
            match find(SETTINGS, key) {
                Some(setting) if setting.key == "namesrvAddr" && !self.namesrv_addr_runtime_update_enable => {
                    return Err(BrokerError::ConfigKeyDenied { key: key.clone() });
                }
                Some(setting) if setting.scope == Scope::Runtime => updated.apply(setting, key, value)?,
                _ => {
                    return Err(BrokerError::ConfigKeyDenied { key: key.clone() });
                }
            }
        }
        next_version(&mut updated.data_version, now_ms);
        Ok(updated)
    }

    /// GET_BROKER_CONFIG's body: `key=value` lines like Java's `MixAll.properties2String`,
    /// the known settings in key order, then the unknown keys as given.
    pub fn to_properties(&self) -> String {
        let known = SETTINGS.iter().map(|s| (s.key.to_owned(), (s.show)(self)));
        let unknown = self.unknown.iter().map(|(k, v)| (k.clone(), v.clone()));
        known
            .chain(unknown)
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect()
    }

    /// The name servers of `namesrvAddr`, in order, blanks dropped.
    pub fn namesrv_addresses(&self) -> Vec<String> {
        self.namesrv_addr
            .iter()
            .flat_map(|list| list.split(';'))
            .map(str::trim)
            .filter(|addr| !addr.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `brokerIP2:haListenPort`, REGISTER_BROKER's `haServerAddr` (before the HA port is bound;
    /// the broker announces the bound port).
    pub fn ha_server_addr(&self) -> String {
        self.ha_server_addr_with_port(self.effective_ha_listen_port())
    }

    /// `brokerIP2:port`.
    pub fn ha_server_addr_with_port(&self, port: u16) -> String {
        let host = self.broker_ip2.as_deref().unwrap_or(&self.broker_ip1);
        format!("{host}:{port}")
    }

    /// The HA port to bind: `haListenPort`, or as Java's `BrokerStartup` `listenPort + 1` when
    /// it is 0; 0 (any free port) when `listenPort` is 0 too.
    pub fn effective_ha_listen_port(&self) -> u16 {
        match (self.ha_listen_port, self.listen_port) {
            (0, 0) => 0,
            (0, listen) => listen.saturating_add(1),
            (ha, _) => ha,
        }
    }

    /// Whether this broker is a master (Java forces `brokerId` 0 on masters).
    pub fn is_master(&self) -> bool {
        self.broker_role != BrokerRole::Slave
    }

    /// What the start-up topics depend on.
    pub fn system_topic_settings(&self) -> SystemTopicSettings {
        SystemTopicSettings {
            cluster_name: self.broker_cluster_name.clone(),
            broker_name: self.broker_name.clone(),
            auto_create_topic_enable: self.auto_create_topic_enable,
            default_topic_queue_nums: self.default_topic_queue_nums,
            cluster_topic_enable: self.cluster_topic_enable,
            broker_topic_enable: self.broker_topic_enable,
            trace_topic: self.trace_topic_enable.then(|| self.msg_trace_topic_name.clone()),
            timer_wheel_enable: self.timer_wheel_enable,
        }
    }

    /// `<storePathRootDir>/config`, where the metadata files live.
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }

    fn set_store_root(&mut self, root: PathBuf) {
        self.store.root = root.clone();
        self.store_path_root_dir = root;
    }

    fn apply(&mut self, setting: &Setting<BrokerConfig>, key: &str, value: &str) -> BrokerResult<()> {
        (setting.set)(self, value.trim()).map_err(|expected| BrokerError::ConfigBadValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected,
        })
    }
}

/// What the start-up topics depend on (a subset of the broker configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemTopicSettings {
    pub cluster_name: String,
    pub broker_name: String,
    pub auto_create_topic_enable: bool,
    pub default_topic_queue_nums: i32,
    /// `clusterTopicEnable` (Java default true).
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable` (Java default true).
    pub broker_topic_enable: bool,
    /// `traceTopicEnable` (Java default false) and `msgTraceTopicName`.
    pub trace_topic: Option<String>,
    /// `timerWheelEnable` (Java default true): the timer topic is created at start-up.
    pub timer_wheel_enable: bool,
}

/// Levels `messageDelayLevel` may name: each is a queue of the schedule topic and a walk per
/// tick; Java's default has 18, and nobody needs hundreds.
pub const DELAY_LEVELS_MAX: usize = 128;

/// Parses `messageDelayLevel` as Java's `parseDelayLevel` does: levels separated by single
/// spaces, each a whole number followed by `s`, `m`, `h` or `d`. Returns each level's delay in
/// ms (index = level - 1), or what was expected.
pub fn parse_delay_levels(text: &str) -> Result<Vec<i64>, &'static str> {
    const EXPECTED: &str = "delays separated by single spaces, each a whole number followed by s, m, h or d";
    let tokens: Vec<&str> = text.split(' ').collect();
    if tokens.len() > DELAY_LEVELS_MAX {
        return Err("at most 128 delay levels");
    }
    tokens
        .into_iter()
        .map(|token| {
            let unit_at = token.len().checked_sub(1).ok_or(EXPECTED)?;
            let (number, unit) = (
                token.get(..unit_at).ok_or(EXPECTED)?,
                token.get(unit_at..).ok_or(EXPECTED)?,
            );
            let unit_ms: i64 = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(EXPECTED),
            };
            // Java's `Long.parseLong` takes a sign; a negative delay is nonsense, refuse it.
            let count = number.parse::<u32>().map_err(|_| EXPECTED)?;
            unit_ms.checked_mul(i64::from(count)).ok_or(EXPECTED)
        })
        .collect()
}

/// `messageDelayLevel` as GET_BROKER_CONFIG shows it: each delay in its largest whole unit.
pub fn delay_levels_text(delay_levels_ms: &[i64]) -> String {
    let unit = |ms: i64| {
        [(86_400_000, 'd'), (3_600_000, 'h'), (60_000, 'm')]
            .into_iter()
            .find(|(unit_ms, _)| ms != 0 && ms % unit_ms == 0)
            .map_or(format!("{}s", ms / 1_000), |(unit_ms, name)| {
                format!("{}{name}", ms / unit_ms)
            })
    };
    delay_levels_ms.iter().map(|ms| unit(*ms)).collect::<Vec<_>>().join(" ")
}

/// A client's `suspendTimeoutMillis` is capped here: a held pull occupies a connection slot, and
/// Java clients give up on a pull after 30 s anyway.
pub const SUSPEND_MS_MAX: u64 = 60_000;

#[cfg(test)]
mod tests {
    use ferrocket_store::FlushDiskType;
    use ferrocket_wire::ResponseCode;

    use super::*;

    fn entries(text: &str) -> Vec<(String, String)> {
        properties_text::parse(text).unwrap()
    }

    #[test]
    fn defaults_are_javas_and_the_listing_reads_back() {
        let config = BrokerConfig::default();
        let text = config.to_properties();
        for line in [
            "brokerClusterName=DefaultCluster\n",
            "brokerName=broker-a\n",
            "brokerId=0\n",
            "listenPort=10911\n",
            "haListenPort=10912\n",
            "autoCreateTopicEnable=true\n",
            "autoCreateSubscriptionGroup=true\n",
            "defaultTopicQueueNums=8\n",
            "brokerPermission=6\n",
            "brokerRole=ASYNC_MASTER\n",
            "flushDiskType=ASYNC_FLUSH\n",
            "mappedFileSizeCommitLog=1073741824\n",
            "mappedFileSizeConsumeQueue=6000000\n",
            "maxMessageSize=4194304\n",
            "fileReservedTime=72\n",
            "deleteWhen=04\n",
            "diskMaxUsedSpaceRatio=75\n",
            "longPollingEnable=true\n",
            "registerNameServerPeriod=30000\n",
            "flushConsumerOffsetInterval=5000\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        let again = BrokerConfig::from_properties_text(&text).unwrap();
        assert_eq!(again.to_properties(), text);
    }

    #[test]
    fn a_java_broker_conf_reads() {
        let config = BrokerConfig::from_properties_text(
            "brokerClusterName = C1\nbrokerName=broker-b\nbrokerId=1\ndeleteWhen=04\nfileReservedTime=48\n\
             brokerRole=SLAVE\nflushDiskType=SYNC_FLUSH\nnamesrvAddr=10.0.0.1:9876;10.0.0.2:9876\n\
             storePathCommitLog=/data/rmq/commitlog\nstorePathRootDir=/data/rmq\nbrokerIP1=10.0.0.9\n\
             listenPort=20911\nmappedFileSizeConsumeQueue=600000\nenableDLegerCommitLog=false\n",
        )
        .unwrap();
        assert_eq!((config.broker_cluster_name.as_str(), config.broker_id), ("C1", 1));
        assert_eq!(config.broker_role, BrokerRole::Slave);
        assert_eq!(config.store.flush_disk_type, FlushDiskType::Sync);
        assert_eq!(config.store.file_reserved_hours, 48);
        assert_eq!(config.store.consume_queue_file_entries, 30_000);
        assert_eq!(config.store.root, PathBuf::from("/data/rmq"));
        assert_eq!(config.config_dir(), PathBuf::from("/data/rmq/config"));
        assert_eq!(config.namesrv_addresses(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
        // Java's `BrokerStartup`: an unset `haListenPort` is `listenPort + 1`.
        assert_eq!(config.ha_server_addr(), "10.0.0.9:20912");
        assert_eq!(
            config.unknown.get("enableDLegerCommitLog").map(String::as_str),
            Some("false")
        );
        assert!(config.to_properties().contains("enableDLegerCommitLog=false\n"));
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "listenPort=70000",
            "brokerRole=MASTER",
            "autoCreateTopicEnable=yes",
            "mappedFileSizeConsumeQueue=30",
            "storePathRootDir=/a\nstorePathCommitLog=/elsewhere/commitlog",
            "namesrvAddr=nohost",
            "deleteWhen=25",
            "brokerName=a b",
        ] {
            assert!(BrokerConfig::from_properties_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn runtime_updates_use_the_allowlist_all_or_nothing() {
        let config = BrokerConfig::default();
        let updated = config
            .update_from_properties(&entries("autoCreateTopicEnable=false\nbrokerPermission=4\n"), 9)
            .unwrap();
        assert!(!updated.auto_create_topic_enable);
        assert_eq!((updated.broker_permission, updated.data_version.counter), (4, 1));
        for denied in [
            "storePathRootDir=/tmp/evil",
            "brokerName=x",
            "listenPort=1",
            "mystery=1",
            "configBlackList=x",
        ] {
            let error = config.update_from_properties(&entries(denied), 9).unwrap_err();
            assert_eq!(error.response_code(), ResponseCode::NO_PERMISSION, "{denied}");
            assert_eq!(error.to_string(), "Can not update config in black list.");
        }
        let mixed = config.update_from_properties(&entries("longPollingEnable=false\nbrokerPermission=99\n"), 9);
        assert_eq!(mixed.unwrap_err().response_code(), ResponseCode::SYSTEM_ERROR);
    }

    #[test]
    fn the_name_server_address_changes_at_run_time_only_when_an_operator_allows_it() {
        let config = BrokerConfig::default();
        let error = config
            .update_from_properties(&entries("namesrvAddr=10.9.9.9:9876\n"), 9)
            .unwrap_err();
        assert_eq!(error.response_code(), ResponseCode::NO_PERMISSION);
        assert_eq!(error.to_string(), "Can not update config in black list.");
        let allowed = BrokerConfig {
            namesrv_addr_runtime_update_enable: true,
            ..BrokerConfig::default()
        };
        let updated = allowed
            .update_from_properties(&entries("namesrvAddr=10.9.9.9:9876\n"), 9)
            .unwrap();
        assert_eq!(updated.namesrv_addresses(), ["10.9.9.9:9876"]);
        // The switch itself is read from broker.conf only.
        let error = config
            .update_from_properties(&entries("namesrvAddrRuntimeUpdateEnable=true\n"), 9)
            .unwrap_err();
        assert_eq!(error.response_code(), ResponseCode::NO_PERMISSION);
    }

    #[test]
    fn standalone_layout() {
        let config = BrokerConfig::standalone(Path::new("/var/ferrocket"), "127.0.0.1", 0, "127.0.0.1:9876");
        assert_eq!(config.store.root, PathBuf::from("/var/ferrocket/store"));
        assert_eq!((config.listen_host.as_str(), config.listen_port), ("127.0.0.1", 0));
        assert_eq!(config.namesrv_addresses(), ["127.0.0.1:9876"]);
        let topics = config.system_topic_settings();
        assert!(topics.auto_create_topic_enable && topics.trace_topic.is_none());
    }
}
