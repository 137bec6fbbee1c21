//! The settings table of [`super::BrokerConfig`]: each Java property name with who may set it,
//! how it is shown and how its value is parsed and checked. Parsers are stricter than Java's
//! (`Boolean.parseBoolean` reads any typo as `false`): a bad `broker.conf` fails at start.

use std::path::{Path, PathBuf};

use ferrocket_replication::{SLAVES_MAX, TRANSFER_BODY_BYTES_MAX};
use ferrocket_store::FlushDiskType;
use ferrocket_wire::message::record::BODY_BYTES_MAX;
use ferrocket_wire::settings::{Scope, Setting, parse_bool, parse_in};

use super::{
    BrokerConfig, BrokerRole, CONSUME_QUEUE_ENTRY_BYTES, MetricsExporterType, NAME_CHARS_MAX, NAMESRV_ADDR_CHARS_MAX,
    REGISTER_PERIOD_MS_RANGE, SEGMENT_BYTES_RANGE, SPLIT_REGISTRATION_SIZE_RANGE,
};
use ferrocket_wire::permissions::PERM_ALL;

use crate::config::SUSPEND_MS_MAX;
use crate::names::TOPIC_QUEUE_NUMS_MAX;
use crate::names::validate_topic;

/// A setting whose value is `field`'s `Display` and whose parser is `parse`.
macro_rules! setting {
    ($scope:ident, $key:literal, $($field:ident).+, $parse:expr) => {
        Setting {
            key: $key,
            scope: Scope::$scope,
            show: |c| c.$($field).+.to_string(),
            set: |c, v| ($parse)(v).map(|x| c.$($field).+ = x).map_err(Into::into),
        }
    };
}

/// HA heartbeats and housekeeping: under 100 ms is a busy loop, over an hour never notices a
/// dead peer.
const HA_INTERVAL_MS_RANGE: (u64, u64) = (100, 3_600_000);
/// Java's `HA_ADDRESS_MIN_LENGTH`: shorter `haMasterAddress` values count as unset.
const HA_ADDRESS_CHARS_MIN: usize = 6;
/// `maxMessageSize`: at least 1 KiB, and no larger than a body that can arrive, which must fit
/// one remoting frame ([`BODY_BYTES_MAX`]).
const BODY_BYTES_RANGE: (u64, u64) = (1024, BODY_BYTES_MAX as u64);
/// `maxMsgsNumBatch`: the store caps every query at its `QUERY_RESULTS_MAX` (64, Java's
/// `maxMsgsNumBatch` default, which it does not export), so more would be promised and not kept.
const MAX_MSGS_NUM_BATCH_RANGE: (u64, u64) = (1, 64);
/// `haTransferBatchSize`: the master never sends a frame body over [`TRANSFER_BODY_BYTES_MAX`],
/// the most a Java slave reads into its 4 MiB buffer.
const HA_TRANSFER_BATCH_BYTES_RANGE: (u64, u64) = (1, TRANSFER_BODY_BYTES_MAX as u64);

/// `transactionTimeOut` and `transactionCheckInterval`: from 1 s (Java's check loop would spin)
/// to a day (a producer waits no longer for its answer).
const TRANSACTION_INTERVAL_MS_RANGE: (u64, u64) = (1_000, 86_400_000);

/// `timerMaxDelaySec`: from a second to ten years (Java takes any int; a negative one refuses
/// every timer).
const TIMER_MAX_DELAY_SEC_RANGE: (u64, u64) = (1, 10 * 365 * 86_400);

/// Every setting, sorted by key (GET_BROKER_CONFIG lists them in this order).
pub const SETTINGS: &[Setting<BrokerConfig>] = &[
    setting!(
        Startup,
        "accessMessageInMemoryMaxRatio",
        access_message_in_memory_max_ratio,
        |v| parse_in(v, (0, 100)).map(|n| n as u32)
    ),
    setting!(
        Runtime,
        "allowRecallWhenBrokerNotWriteable",
        allow_recall_when_broker_not_writeable,
        parse_bool
    ),
    setting!(
        Runtime,
        "autoCreateSubscriptionGroup",
        auto_create_subscription_group,
        parse_bool
    ),
    setting!(Runtime, "autoCreateTopicEnable", auto_create_topic_enable, parse_bool),
    setting!(Startup, "bindAddress", listen_host, parse_ip),
    setting!(Startup, "brokerClusterName", broker_cluster_name, parse_name),
    setting!(Startup, "brokerIP1", broker_ip1, parse_host),
    Setting {
        key: "brokerIP2",
        scope: Scope::Startup,
        show: |c| c.broker_ip2.clone().unwrap_or_else(|| c.broker_ip1.clone()),
        set: |c, v| parse_host(v).map(|host| c.broker_ip2 = Some(host)).map_err(Into::into),
    },
    setting!(Startup, "brokerId", broker_id, |v| parse_in(v, (0, 1 << 20))
        .map(|n| n as i64)),
    setting!(Startup, "brokerName", broker_name, parse_name),
    setting!(Runtime, "brokerPermission", broker_permission, |v| parse_in(
        v,
        (0, PERM_ALL as u64)
    )
    .map(|n| n as i32)),
    Setting {
        key: "brokerRole",
        scope: Scope::Startup,
        show: |c| c.broker_role.java_name().to_owned(),
        set: |c, v| parse_role(v).map(|role| c.broker_role = role).map_err(Into::into),
    },
    setting!(Startup, "brokerTopicEnable", broker_topic_enable, parse_bool),
    setting!(Startup, "clusterTopicEnable", cluster_topic_enable, parse_bool),
    setting!(Runtime, "compressedRegister", compressed_register, parse_bool),
    setting!(Runtime, "defaultTopicQueueNums", default_topic_queue_nums, |v| {
        parse_in(v, (1, TOPIC_QUEUE_NUMS_MAX as u64)).map(|n| n as i32)
    }),
    setting!(Startup, "deleteWhen", store.delete_when, parse_delete_when),
    setting!(Startup, "diskMaxUsedSpaceRatio", store.disk_max_used_space_ratio, |v| {
        parse_in(v, (10, 95)).map(|n| n as u32)
    }),
    setting!(Runtime, "enablePropertyFilter", enable_property_filter, parse_bool),
    setting!(Runtime, "enableRetryTopicV2", enable_retry_topic_v2, parse_bool),
    setting!(
        Runtime,
        "enableSplitRegistration",
        enable_split_registration,
        parse_bool
    ),
    setting!(Startup, "fileReservedTime", store.file_reserved_hours, |v| parse_in(
        v,
        (1, 100_000)
    )
    .map(|n| n as u32)),
    setting!(
        Runtime,
        "flushConsumerOffsetInterval",
        flush_consumer_offset_interval_ms,
        |v| parse_in(v, (100, 3_600_000))
    ),
    Setting {
        key: "flushDiskType",
        scope: Scope::Startup,
        show: |c| flush_disk_type_name(c.store.flush_disk_type).to_owned(),
        set: |c, v| {
            parse_flush_disk_type(v)
                .map(|kind| c.store.flush_disk_type = kind)
                .map_err(Into::into)
        },
    },
    setting!(
        Startup,
        "flushIntervalCommitLog",
        store.flush_interval_ms,
        |v| parse_in(v, (1, 60_000))
    ),
    setting!(Startup, "haHousekeepingInterval", ha.housekeeping_interval_ms, |v| {
        parse_in(v, HA_INTERVAL_MS_RANGE).map(|n| n as i64)
    }),
    Setting {
        key: "haListenPort",
        scope: Scope::Startup,
        // Java shows the port `BrokerStartup` settled on.
        show: |c| c.effective_ha_listen_port().to_string(),
        set: |c, v| parse_in(v, (0, 65_535)).map(|n| c.ha_listen_port = n as u16),
    },
    Setting {
        key: "haMasterAddress",
        scope: Scope::Startup,
        show: |c| c.ha_master_address.clone().unwrap_or_default(),
        set: |c, v| {
            parse_ha_master_address(v)
                .map(|addr| c.ha_master_address = addr)
                .map_err(Into::into)
        },
    },
    setting!(Startup, "haMaxGapNotInSync", ha.max_gap_not_in_sync, |v| parse_in(
        v,
        (1, 1 << 40)
    )),
    setting!(Startup, "haSendHeartbeatInterval", ha.heartbeat_interval_ms, |v| {
        parse_in(v, HA_INTERVAL_MS_RANGE).map(|n| n as i64)
    }),
    setting!(Startup, "haTransferBatchSize", ha.transfer_batch_bytes, |v| parse_in(
        v,
        HA_TRANSFER_BATCH_BYTES_RANGE
    )
    .map(|n| n as u32)),
    // The master and every slave it can have.
    setting!(Startup, "inSyncReplicas", in_sync_replicas, |v| parse_in(
        v,
        (1, SLAVES_MAX as u64 + 1)
    )
    .map(|n| n as u32)),
    setting!(Startup, "listenPort", listen_port, |v| parse_in(v, (0, 65_535))
        .map(|n| n as u16)),
    setting!(Runtime, "longPollingEnable", long_polling_enable, parse_bool),
    setting!(
        Startup,
        "mappedFileSizeCommitLog",
        store.commit_log_segment_bytes,
        |v| parse_in(v, SEGMENT_BYTES_RANGE)
    ),
    Setting {
        key: "mappedFileSizeConsumeQueue",
        scope: Scope::Startup,
        show: |c| (c.store.consume_queue_file_entries * CONSUME_QUEUE_ENTRY_BYTES).to_string(),
        set: |c, v| parse_consume_queue_bytes(v).map(|entries| c.store.consume_queue_file_entries = entries),
    },
    setting!(Startup, "maxMessageSize", store.body_bytes_max, |v| parse_in(
        v,
        BODY_BYTES_RANGE
    )
    .map(|n| n as usize)),
    setting!(Startup, "maxMsgsNumBatch", store.max_msgs_num_batch, |v| parse_in(
        v,
        MAX_MSGS_NUM_BATCH_RANGE
    )
    .map(|n| n as u32)),
    setting!(
        Startup,
        "maxTransferBytesOnMessageInDisk",
        store.max_transfer_bytes_on_message_in_disk,
        parse_transfer
    ),
    setting!(
        Startup,
        "maxTransferBytesOnMessageInMemory",
        store.max_transfer_bytes_on_message_in_memory,
        parse_transfer
    ),
    setting!(
        Startup,
        "maxTransferCountOnMessageInDisk",
        store.max_transfer_count_on_message_in_disk,
        parse_transfer
    ),
    setting!(
        Startup,
        "maxTransferCountOnMessageInMemory",
        store.max_transfer_count_on_message_in_memory,
        parse_transfer
    ),
    Setting {
        key: "messageDelayLevel",
        scope: Scope::Startup,
        show: |c| crate::config::delay_levels_text(&c.store.message_delay_levels_ms),
        set: |c, v| {
            crate::config::parse_delay_levels(v)
                .map(|levels| c.store.message_delay_levels_ms = levels)
                .map_err(Into::into)
        },
    },
    setting!(Startup, "messageIndexEnable", store.message_index_enable, parse_bool),
    setting!(
        Startup,
        "metricsExporterType",
        metrics_exporter_type,
        parse_metrics_exporter
    ),
    setting!(
        Startup,
        "metricsPromExporterHost",
        metrics_prom_exporter_host,
        |v: &str| match v.is_empty() {
            true => Ok(String::new()),
            false => parse_ip(v),
        }
    ),
    setting!(Startup, "metricsPromExporterPort", metrics_prom_exporter_port, |v| {
        parse_in(v, (0, 65_535)).map(|n| n as u16)
    }),
    setting!(Startup, "msgTraceTopicName", msg_trace_topic_name, parse_topic),
    Setting {
        key: "namesrvAddr",
        scope: Scope::Runtime,
        show: |c| c.namesrv_addr.clone().unwrap_or_default(),
        set: |c, v| {
            parse_namesrv_addr(v)
                .map(|addr| c.namesrv_addr = addr)
                .map_err(Into::into)
        },
    },
    setting!(
        Startup,
        "namesrvAddrRuntimeUpdateEnable",
        namesrv_addr_runtime_update_enable,
        parse_bool
    ),
    setting!(
        Runtime,
        "notifyConsumerIdsChangedEnable",
        notify_consumer_ids_changed_enable,
        parse_bool
    ),
    setting!(Runtime, "recallMessageEnable", recall_message_enable, parse_bool),
    setting!(
        Runtime,
        "registerNameServerPeriod",
        register_name_server_period_ms,
        |v| parse_in(v, REGISTER_PERIOD_MS_RANGE)
    ),
    setting!(
        Runtime,
        "rejectTransactionMessage",
        reject_transaction_message,
        parse_bool
    ),
    setting!(Runtime, "shortPollingTimeMills", short_polling_time_ms, |v| parse_in(
        v,
        (1, SUSPEND_MS_MAX)
    )),
    setting!(Runtime, "slaveReadEnable", slave_read_enable, parse_bool),
    setting!(Runtime, "slaveSyncPeriod", slave_sync_period_ms, |v| parse_in(
        v,
        (100, 3_600_000)
    )),
    setting!(Runtime, "slaveTimeout", slave_timeout_ms, |v| parse_in(
        v,
        (100, 600_000)
    )),
    setting!(Runtime, "splitRegistrationSize", split_registration_size, |v| parse_in(
        v,
        SPLIT_REGISTRATION_SIZE_RANGE
    )
    .map(|n| n as usize)),
    Setting {
        key: "storePathCommitLog",
        scope: Scope::Startup,
        show: |c| c.store_path_root_dir.join("commitlog").display().to_string(),
        set: |c, v| match Path::new(v) == c.store_path_root_dir.join("commitlog") {
            true => Ok(()),
            false => {
                Err("<storePathRootDir>/commitlog (set storePathRootDir first; other places are not supported)".into())
            }
        },
    },
    Setting {
        key: "storePathRootDir",
        scope: Scope::Startup,
        show: |c| c.store_path_root_dir.display().to_string(),
        set: |c, v| parse_path(v).map(|path| c.set_store_root(path)).map_err(Into::into),
    },
    setting!(Startup, "syncFlushTimeout", store.sync_flush_timeout_ms, |v| parse_in(
        v,
        (1, 60_000)
    )
    .map(|n| n as i64)),
    setting!(Runtime, "timerMaxDelaySec", timer_max_delay_sec, |v| parse_in(
        v,
        TIMER_MAX_DELAY_SEC_RANGE
    )
    .map(|n| n as i64)),
    setting!(Startup, "timerPrecisionMs", timer_precision_ms, parse_timer_precision),
    setting!(Startup, "timerWheelEnable", timer_wheel_enable, parse_bool),
    setting!(Startup, "traceTopicEnable", trace_topic_enable, parse_bool),
    setting!(
        Runtime,
        "transactionCheckInterval",
        transaction_check_interval_ms,
        |v| { parse_in(v, TRANSACTION_INTERVAL_MS_RANGE) }
    ),
    setting!(Runtime, "transactionCheckMax", transaction_check_max, |v| parse_in(
        v,
        (1, 10_000)
    )
    .map(|n| n as u32)),
    setting!(Runtime, "transactionTimeOut", transaction_timeout_ms, |v| parse_in(
        v,
        TRANSACTION_INTERVAL_MS_RANGE
    )),
    setting!(
        Runtime,
        "useServerSideResetOffset",
        use_server_side_reset_offset,
        parse_bool
    ),
];

/// `setTimerPrecisionMs`: Java snaps any number to the largest of 100, 200, 500 and 1000 not
/// above it (100 below 200, 1000 from 1000 on); so do we, for a number.
/// DISABLE or PROM; Java's OTLP_GRPC and LOG exporters are not built here, so they are refused
/// rather than silently exporting nothing.
fn parse_metrics_exporter(value: &str) -> Result<MetricsExporterType, &'static str> {
    match value {
        "DISABLE" => Ok(MetricsExporterType::Disable),
        "PROM" => Ok(MetricsExporterType::Prom),
        _ => Err("DISABLE or PROM (OTLP_GRPC and LOG are not supported)"),
    }
}

fn parse_timer_precision(value: &str) -> Result<i64, &'static str> {
    let asked: i64 = value.trim().parse().map_err(|_| "a number of milliseconds")?;
    let snapped = [100, 200, 500, 1_000]
        .into_iter()
        .rev()
        .find(|candidate| asked >= *candidate)
        .unwrap_or(100);
    Ok(snapped)
}

/// `haMasterAddress`: `host:port`, or empty for none. Java ignores values under 6 characters.
fn parse_ha_master_address(value: &str) -> Result<Option<String>, &'static str> {
    if value.chars().count() < HA_ADDRESS_CHARS_MIN {
        return Ok(None);
    }
    let valid = value
        .rsplit_once(':')
        .is_some_and(|(host, port)| parse_host(host).is_ok() && port.parse::<u16>().is_ok());
    valid.then(|| Some(value.to_owned())).ok_or("host:port")
}

/// The `maxTransfer*` limits: at least one, at most 64 Mi.
fn parse_transfer(value: &str) -> Result<u32, String> {
    parse_in(value, (1, 64 << 20)).map(|n| n as u32)
}

fn parse_name(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.chars().count() <= NAME_CHARS_MAX
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%' | '|'));
    valid
        .then(|| value.to_owned())
        .ok_or_else(|| format!("1 to {NAME_CHARS_MAX} characters of [A-Za-z0-9_.%|-]"))
}

fn parse_topic(value: &str) -> Result<String, &'static str> {
    validate_topic(value)
        .map(|()| value.to_owned())
        .map_err(|_| "a valid topic name")
}

/// A host name or IP address: what clients will connect to.
fn parse_host(value: &str) -> Result<String, &'static str> {
    let valid = !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    valid.then(|| value.to_owned()).ok_or("a host name or IP address")
}

fn parse_ip(value: &str) -> Result<String, &'static str> {
    value
        .parse::<std::net::IpAddr>()
        .map(|_| value.to_owned())
        .map_err(|_| "an IP address")
}

fn parse_role(value: &str) -> Result<BrokerRole, &'static str> {
    match value {
        "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
        "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
        "SLAVE" => Ok(BrokerRole::Slave),
        _ => Err("ASYNC_MASTER, SYNC_MASTER or SLAVE"),
    }
}

fn flush_disk_type_name(kind: FlushDiskType) -> &'static str {
    match kind {
        FlushDiskType::Async => "ASYNC_FLUSH",
        FlushDiskType::Sync => "SYNC_FLUSH",
    }
}

fn parse_flush_disk_type(value: &str) -> Result<FlushDiskType, &'static str> {
    match value {
        "ASYNC_FLUSH" => Ok(FlushDiskType::Async),
        "SYNC_FLUSH" => Ok(FlushDiskType::Sync),
        _ => Err("ASYNC_FLUSH or SYNC_FLUSH"),
    }
}

fn parse_consume_queue_bytes(value: &str) -> Result<u64, String> {
    let (low, high) = (CONSUME_QUEUE_ENTRY_BYTES, 6_000_000 * CONSUME_QUEUE_ENTRY_BYTES);
    let expected = || format!("a multiple of {CONSUME_QUEUE_ENTRY_BYTES} from {low} to {high}");
    let bytes = parse_in(value, (low, high)).map_err(|_| expected())?;
    match bytes % CONSUME_QUEUE_ENTRY_BYTES {
        0 => Ok(bytes / CONSUME_QUEUE_ENTRY_BYTES),
        _ => Err(expected()),
    }
}

/// `deleteWhen`: hours of the day separated by `;` (`04`, `04;16`).
fn parse_delete_when(value: &str) -> Result<String, &'static str> {
    let valid = !value.is_empty() && value.split(';').all(|hour| hour.parse::<u8>().is_ok_and(|h| h < 24));
    valid.then(|| value.to_owned()).ok_or("hours 0-23 separated by ';'")
}

fn parse_namesrv_addr(value: &str) -> Result<Option<String>, &'static str> {
    if value.is_empty() {
        return Ok(None);
    }
    let valid = value.len() <= NAMESRV_ADDR_CHARS_MAX
        && value
            .split(';')
            .map(str::trim)
            .filter(|addr| !addr.is_empty())
            .all(|addr| {
                addr.rsplit_once(':')
                    .is_some_and(|(host, port)| parse_host(host).is_ok() && port.parse::<u16>().is_ok())
            });
    valid
        .then(|| Some(value.to_owned()))
        .ok_or("host:port entries separated by ';'")
}

fn parse_path(value: &str) -> Result<PathBuf, &'static str> {
    match value.is_empty() || value.contains('\0') {
        true => Err("a directory path"),
        false => Ok(PathBuf::from(value)),
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
    fn ranges_are_what_the_code_honours_and_a_bad_value_names_its_range() {
        let store = ferrocket_store::MessageStoreConfig::new("/store");
        assert_eq!(
            MAX_MSGS_NUM_BATCH_RANGE.1,
            u64::from(store.max_msgs_num_batch),
            "the store's QUERY_RESULTS_MAX, its default"
        );
        for (line, range) in [
            ("maxMsgsNumBatch=65", "from 1 to 64"),
            ("maxMessageSize=16777217", "from 1024 to 16777216"),
            ("mappedFileSizeCommitLog=2147483648", "from 4096 to 2147483647"),
            ("haTransferBatchSize=4194293", "from 1 to 4194292"),
            ("inSyncReplicas=34", "from 1 to 33"),
            ("defaultTopicQueueNums=1025", "from 1 to 1024"),
            ("shortPollingTimeMills=60001", "from 1 to 60000"),
            ("splitRegistrationSize=50001", "from 1 to 50000"),
            ("brokerPermission=16", "from 0 to 15"),
        ] {
            let error = BrokerConfig::from_properties_text(line).unwrap_err().to_string();
            assert!(error.contains(range), "{line}: {error}");
        }
        let most = "maxMsgsNumBatch=64\nmaxMessageSize=16777216\nmappedFileSizeCommitLog=2147483647\n\
                    haTransferBatchSize=4194292\ninSyncReplicas=33\n";
        assert!(BrokerConfig::from_properties_text(most).is_ok());
        let error = BrokerConfig::from_properties_text("brokerName=")
            .unwrap_err()
            .to_string();
        assert!(error.contains("1 to 127 characters"), "{error}");
    }

    #[test]
    fn parsers_refuse_what_java_would_misread() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert!(parse_bool("yes").is_err());
        assert_eq!(parse_consume_queue_bytes("6000000"), Ok(300_000));
        assert!(parse_consume_queue_bytes("6000001").is_err());
        assert_eq!(parse_delete_when("04;16"), Ok("04;16".to_owned()));
        assert!(parse_delete_when("04;").is_err());
        assert_eq!(parse_namesrv_addr(""), Ok(None));
        assert!(parse_namesrv_addr("a:1;b:2").is_ok());
        assert!(parse_namesrv_addr("a:1;b").is_err());
        assert!(parse_namesrv_addr("a:99999").is_err());
        assert!(parse_ip("0.0.0.0").is_ok() && parse_ip("localhost").is_err());
        assert!(parse_path("").is_err() && parse_path("a\0b").is_err());
        assert_eq!(parse_in("10", (1, 10)), Ok(10));
        assert_eq!(parse_ha_master_address(""), Ok(None));
        assert_eq!(parse_ha_master_address("a:1"), Ok(None));
        assert_eq!(
            parse_ha_master_address("10.0.0.1:10912"),
            Ok(Some("10.0.0.1:10912".to_owned()))
        );
        assert!(parse_ha_master_address("10.0.0.1").is_err());
        assert!(parse_in("11", (1, 10)).is_err() && parse_in("-1", (0, 10)).is_err());
    }
}
