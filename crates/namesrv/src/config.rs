//! The name server's configuration: Java's `NamesrvConfig` properties, typed, with Java's
//! names and defaults, and the one table that says which may change at run time.
//!
//! Three ways in, one table ([`SETTINGS`]): a `namesrv.conf` at start-up
//! ([`NamesrvConfig::from_properties`]), UPDATE_NAMESRV_CONFIG at run time
//! ([`NamesrvConfig::update_from_properties`]) and GET_NAMESRV_CONFIG out
//! ([`NamesrvConfig::to_properties`]). Run-time updates accept only settings marked
//! [`Scope::Runtime`]: behaviour switches and numbers, never a path or a command. This is what
//! makes CVE-2023-37582 (set `configStorePath`, then have the server write its config there)
//! impossible by construction: no setting names a file, so no request can choose one. Updates
//! are all-or-nothing: one denied key or bad value and nothing changes.

use std::net::{IpAddr, Ipv4Addr};

use ferrocket_net::ServerTls;
use ferrocket_wire::properties_text;
use ferrocket_wire::settings::{self, Scope, Setting, parse_bool, parse_in};

use crate::error::{NamesrvError, NamesrvResult};

/// Java's `scanNotActiveBrokerInterval` default (5 s; 10 s in 4.9.x).
pub const SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS_DEFAULT: u64 = 5_000;

/// The scan runs at least every hour and at most ten times a second: slower would keep dead
/// brokers in routes for hours, faster would only burn CPU.
const SCAN_INTERVAL_MS_RANGE: (u64, u64) = (100, 3_600_000);

/// `waitSecondsForService` beyond an hour would keep routes unanswered for longer than any
/// broker takes to register.
const WAIT_SECONDS_FOR_SERVICE_MAX: u64 = 3_600;

/// `productEnvName` is a short label; it is echoed in GET_NAMESRV_CONFIG, so it stays ASCII.
const PRODUCT_ENV_NAME_CHARS_MAX: usize = 64;

/// Java's `listenPort` default for a name server.
pub const LISTEN_PORT_DEFAULT: u16 = 9876;

/// Keys of Java's `NamesrvConfig` that a `namesrv.conf` may hold but that have no effect here:
/// paths (the data directory decides them), thread pools (we have none), and the controller (not
/// part of this server).
pub const KEYS_WITHOUT_EFFECT: &[&str] = &[
    "rocketmqHome",
    "kvConfigPath",
    "configStorePath",
    "configBlackList",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity",
    "unRegisterBrokerQueueCapacity",
    "enableControllerInNamesrv",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `clusterTest`: Java forwards unknown routes to another name server; accepted, no effect.
    pub cluster_test: bool,
    /// `orderMessageEnable`: add `orderTopicConf` from KV namespace ORDER_TOPIC_CONFIG to routes.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: answer REGISTER_BROKER with that namespace.
    pub return_order_topic_config_to_broker: bool,
    /// `scanNotActiveBrokerInterval`, in ms.
    pub scan_not_active_broker_interval_ms: u64,
    /// `supportActingMaster`: show a master-less 5.x broker set's first slave as id 0.
    pub support_acting_master: bool,
    /// `enableAllTopicList`: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: serve GET_TOPICS_BY_CLUSTER and the unit topic lists.
    pub enable_topic_list: bool,
    /// `notifyMinBrokerIdChanged`: accepted; the notification itself is not sent yet.
    pub notify_min_broker_id_changed: bool,
    /// `needWaitForService`: answer routes with "name server not ready" for a while after start.
    pub need_wait_for_service: bool,
    /// `waitSecondsForService`: how long that while is.
    pub wait_seconds_for_service: u64,
    /// `deleteTopicWithBrokerRegistration`: a full registration removes topics it does not list.
    pub delete_topic_with_broker_registration: bool,
    /// `productEnvName`: a label, shown in GET_NAMESRV_CONFIG.
    pub product_env_name: String,
    /// TLS on the port. Not a namesrv.conf key: Java reads `tls.*` as JVM system properties, our
    /// binary as `-D` settings (acl.md §8); plaintext only unless set.
    pub tls: ServerTls,
}

impl Default for NamesrvConfig {
    fn default() -> NamesrvConfig {
        NamesrvConfig {
            cluster_test: false,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            scan_not_active_broker_interval_ms: SCAN_NOT_ACTIVE_BROKER_INTERVAL_MS_DEFAULT,
            support_acting_master: false,
            enable_all_topic_list: true,
            enable_topic_list: true,
            notify_min_broker_id_changed: false,
            need_wait_for_service: false,
            wait_seconds_for_service: 45,
            delete_topic_with_broker_registration: false,
            product_env_name: "center".into(),
            tls: ServerTls::disabled(),
        }
    }
}

/// Every setting, sorted by key (GET_NAMESRV_CONFIG lists them in this order).
pub const SETTINGS: &[Setting<NamesrvConfig>] = &[
    Setting {
        key: "clusterTest",
        scope: Scope::Runtime,
        show: |c| c.cluster_test.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.cluster_test = b),
    },
    Setting {
        key: "deleteTopicWithBrokerRegistration",
        scope: Scope::Runtime,
        show: |c| c.delete_topic_with_broker_registration.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.delete_topic_with_broker_registration = b),
    },
    Setting {
        key: "enableAllTopicList",
        scope: Scope::Runtime,
        show: |c| c.enable_all_topic_list.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.enable_all_topic_list = b),
    },
    Setting {
        key: "enableTopicList",
        scope: Scope::Runtime,
        show: |c| c.enable_topic_list.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.enable_topic_list = b),
    },
    Setting {
        key: "needWaitForService",
        scope: Scope::Startup,
        show: |c| c.need_wait_for_service.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.need_wait_for_service = b),
    },
    Setting {
        key: "notifyMinBrokerIdChanged",
        scope: Scope::Runtime,
        show: |c| c.notify_min_broker_id_changed.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.notify_min_broker_id_changed = b),
    },
    Setting {
        key: "orderMessageEnable",
        scope: Scope::Runtime,
        show: |c| c.order_message_enable.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.order_message_enable = b),
    },
    Setting {
        key: "productEnvName",
        scope: Scope::Runtime,
        show: |c| c.product_env_name.clone(),
        set: |c, v| parse_label(v).map(|s| c.product_env_name = s),
    },
    Setting {
        key: "returnOrderTopicConfigToBroker",
        scope: Scope::Runtime,
        show: |c| c.return_order_topic_config_to_broker.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.return_order_topic_config_to_broker = b),
    },
    Setting {
        key: "scanNotActiveBrokerInterval",
        scope: Scope::Runtime,
        show: |c| c.scan_not_active_broker_interval_ms.to_string(),
        set: |c, v| parse_in(v, SCAN_INTERVAL_MS_RANGE).map(|n| c.scan_not_active_broker_interval_ms = n),
    },
    Setting {
        key: "supportActingMaster",
        scope: Scope::Runtime,
        show: |c| c.support_acting_master.to_string(),
        set: |c, v| parse_bool(v).map(|b| c.support_acting_master = b),
    },
    Setting {
        key: "waitSecondsForService",
        scope: Scope::Startup,
        show: |c| c.wait_seconds_for_service.to_string(),
        set: |c, v| parse_in(v, (0, WAIT_SECONDS_FOR_SERVICE_MAX)).map(|n| c.wait_seconds_for_service = n),
    },
];

/// Where the name server listens: the two keys of Java's `NettyServerConfig` a `namesrv.conf`
/// holds, read at start-up only (the command line's `--port` and `--host` win over them).
pub const LISTEN_SETTINGS: &[Setting<ConfigFile>] = &[
    Setting {
        key: "bindAddress",
        scope: Scope::Startup,
        show: |f| f.bind_address.to_string(),
        set: |f, v| {
            v.parse::<IpAddr>()
                .map(|ip| f.bind_address = ip)
                .map_err(|_| "an IP address".to_owned())
        },
    },
    Setting {
        key: "listenPort",
        scope: Scope::Startup,
        show: |f| f.listen_port.to_string(),
        set: |f, v| parse_in(v, (0, 65_535)).map(|n| f.listen_port = n as u16),
    },
];

/// A start-up config file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub config: NamesrvConfig,
    /// `listenPort` (Java's default 9876).
    pub listen_port: u16,
    /// `bindAddress` (Java's default `0.0.0.0`).
    pub bind_address: IpAddr,
    /// Java keys accepted but without effect here (paths, thread pools): worth a warning.
    pub keys_without_effect: Vec<String>,
    /// Keys that are not name-server settings at all: worth a louder warning.
    pub unknown_keys: Vec<String>,
}

impl Default for ConfigFile {
    fn default() -> ConfigFile {
        ConfigFile {
            config: NamesrvConfig::default(),
            listen_port: LISTEN_PORT_DEFAULT,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            keys_without_effect: Vec::new(),
            unknown_keys: Vec::new(),
        }
    }
}

impl NamesrvConfig {
    /// Reads a `namesrv.conf`. Bad values are errors; unknown keys are reported, not fatal.
    pub fn from_properties(text: &str) -> NamesrvResult<ConfigFile> {
        let mut file = ConfigFile::default();
        for (key, value) in properties_text::parse(text)? {
            match settings::find(SETTINGS, &key) {
                Some(setting) => file.config.apply(setting, &key, &value)?,
                None if let Some(setting) = settings::find(LISTEN_SETTINGS, &key) => {
                    (setting.set)(&mut file, value.trim()).map_err(|expected| NamesrvError::ConfigBadValue {
                        key: key.clone(),
                        value: value.clone(),
                        expected,
                    })?
                }
                None if KEYS_WITHOUT_EFFECT.contains(&key.as_str()) => file.keys_without_effect.push(key),
                None => file.unknown_keys.push(key),
            }
        }
        Ok(file)
    }

    /// UPDATE_NAMESRV_CONFIG: applies every entry or none. A key outside the run-time
    /// allowlist (a path, a start-up setting, anything unknown) is refused with Java's
    /// "black list" answer.
    pub fn update_from_properties(&mut self, text: &str) -> NamesrvResult<()> {
        let entries = properties_text::parse(text)?;
        let mut updated = self.clone();
        for (key, value) in entries {
            match settings::find(SETTINGS, &key) {
                Some(setting) if setting.scope == Scope::Runtime => updated.apply(setting, &key, &value)?,
                _ => return Err(NamesrvError::ConfigKeyDenied { key }),
            }
        }
        *self = updated;
        Ok(())
    }

    /// GET_NAMESRV_CONFIG: `key=value` lines like Java's `MixAll.properties2String`. Values are
    /// booleans, numbers and a checked ASCII label, so the text is ASCII and needs no escapes.
    pub fn to_properties(&self) -> String {
        SETTINGS
            .iter()
            .map(|setting| format!("{}={}\n", setting.key, (setting.show)(self)))
            .collect()
    }

    fn apply(&mut self, setting: &Setting<NamesrvConfig>, key: &str, value: &str) -> NamesrvResult<()> {
        (setting.set)(self, value.trim()).map_err(|expected| NamesrvError::ConfigBadValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected,
        })
    }
}

/// `productEnvName`: echoed in GET_NAMESRV_CONFIG's text, so short and ASCII.
fn parse_label(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= PRODUCT_ENV_NAME_CHARS_MAX
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    match valid {
        true => Ok(value.to_owned()),
        false => Err(format!(
            "1 to {PRODUCT_ENV_NAME_CHARS_MAX} characters of [A-Za-z0-9_.-]"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_sorted_and_unique() {
        let keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn defaults_are_javas() {
        let text = NamesrvConfig::default().to_properties();
        assert_eq!(
            text,
            "clusterTest=false\ndeleteTopicWithBrokerRegistration=false\nenableAllTopicList=true\n\
             enableTopicList=true\nneedWaitForService=false\nnotifyMinBrokerIdChanged=false\n\
             orderMessageEnable=false\nproductEnvName=center\nreturnOrderTopicConfigToBroker=true\n\
             scanNotActiveBrokerInterval=5000\nsupportActingMaster=false\nwaitSecondsForService=45\n"
        );
        assert_eq!(
            NamesrvConfig::from_properties(&text).unwrap().config,
            NamesrvConfig::default()
        );
    }

    #[test]
    fn config_file_reports_what_it_does_not_use() {
        let file = NamesrvConfig::from_properties(
            "orderMessageEnable=true\nkvConfigPath=/tmp/kv.json\nlistenPort=9877\nmystery=1\nneedWaitForService=TRUE\n",
        )
        .unwrap();
        assert!(file.config.order_message_enable && file.config.need_wait_for_service);
        assert_eq!(file.keys_without_effect, ["kvConfigPath"]);
        assert_eq!(
            (file.listen_port, file.bind_address.to_string()),
            (9877, "0.0.0.0".to_owned())
        );
        assert_eq!(file.unknown_keys, ["mystery"]);
        let file = NamesrvConfig::from_properties("bindAddress=127.0.0.1\n").unwrap();
        assert_eq!(
            (file.listen_port, file.bind_address.to_string()),
            (9876, "127.0.0.1".to_owned())
        );
        assert!(NamesrvConfig::from_properties("listenPort=65536").is_err());
        assert!(NamesrvConfig::from_properties("scanNotActiveBrokerInterval=10").is_err());
    }

    #[test]
    fn runtime_updates_use_the_allowlist_all_or_nothing() {
        let mut config = NamesrvConfig::default();
        config
            .update_from_properties("orderMessageEnable=true\nscanNotActiveBrokerInterval=2000\n")
            .unwrap();
        assert!(config.order_message_enable);
        assert_eq!(config.scan_not_active_broker_interval_ms, 2000);
        let before = config.clone();
        for denied in [
            "configStorePath=/etc/cron.d/x",
            "kvConfigPath=/tmp/x",
            "rocketmqHome=/",
            "configBlackList=",
            "needWaitForService=true",
            "unknownKey=1",
        ] {
            let text = format!("enableTopicList=false\n{denied}\n");
            assert!(
                matches!(
                    config.update_from_properties(&text),
                    Err(NamesrvError::ConfigKeyDenied { .. })
                ),
                "{denied}"
            );
            assert_eq!(config, before, "{denied} changed something");
        }
        assert!(matches!(
            config.update_from_properties("enableTopicList=false\norderMessageEnable=maybe"),
            Err(NamesrvError::ConfigBadValue { .. })
        ));
        assert!(config.update_from_properties("productEnvName=a b").is_err());
        assert!(config.update_from_properties("productEnvName=a\\u00e9").is_err());
        assert_eq!(config, before);
        config.update_from_properties("").unwrap();
        assert_eq!(config, before);
    }

    #[test]
    fn no_runtime_setting_names_a_path() {
        for setting in SETTINGS.iter().filter(|s| s.scope == Scope::Runtime) {
            let key = setting.key.to_ascii_lowercase();
            assert!(
                !key.contains("path") && !key.contains("home") && !key.contains("dir"),
                "{key}"
            );
        }
    }
}
