//! Registration with the name servers (remoting.md §4.1.2): REGISTER_BROKER to every server of
//! `namesrvAddr` at start, every `registerNameServerPeriod` (clamped into Java's [10 s, 60 s]),
//! and soon after the topic table or the configuration changes; UNREGISTER_BROKER at shutdown.
//!
//! The request is what Java 5.3.3's `BrokerOuterAPI.registerBrokerAll` sends: the whole topic
//! table as a `TopicConfigAndMappingSerializeWrapper` (JSON, or zlib when `compressedRegister`),
//! topic permissions masked by `brokerPermission` when the broker is not both readable and
//! writable, and `bodyCrc32` over the body. Servers are asked in parallel; one that is down only
//! costs its own timeout. A slave remembers the master and HA addresses the answer carries.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_wire::body::{DataVersion, JsonBody, KvTable, RegisterBrokerBody, TopicConfigSerializeWrapper};
use ferrocket_wire::header::{
    CustomHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use ferrocket_wire::message::record::body_crc;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, codes::version};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::broker::{Broker, lock};
use crate::config::{BrokerConfig, REGISTER_PERIOD_MS_RANGE};
use crate::error::BrokerResult;
use crate::topics::{PERM_READ, PERM_WRITE};

/// Java's `registerBrokerTimeoutMills` (24 s) is for a table of tens of thousands of topics on a
/// slow link; a local name server answers in microseconds, so a dead one should cost less.
pub const REGISTER_TIMEOUT_MS: u64 = 6_000;
/// Java unregisters with a 3 s timeout.
pub const UNREGISTER_TIMEOUT_MS: u64 = 3_000;
/// How often the loop checks whether the topics or the configuration changed.
pub const WATCH_INTERVAL_MS: u64 = 200;

/// What the name servers said about this broker's master (slaves only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterAddresses {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

/// Registers now, then on every change and every period, forever.
pub async fn run(broker: Arc<Broker>) {
    let mut registered: Option<(DataVersion, DataVersion)> = None;
    let mut since_ms = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(WATCH_INTERVAL_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let config = broker.config();
        let versions = (lock(&broker.topics).data_version(), config.data_version);
        since_ms = since_ms.saturating_add(WATCH_INTERVAL_MS);
        if registered == Some(versions) && since_ms < register_period_ms(&config) {
            continue;
        }
        since_ms = 0;
        // A failure is retried by the period, not by the watch: a dead server must not be
        // hammered every 200 ms.
        registered = Some(versions);
        register_all(&broker).await;
    }
}

/// Java clamps `registerNameServerPeriod` into [10 s, 60 s] when it schedules the task.
pub fn register_period_ms(config: &BrokerConfig) -> u64 {
    let (low, high) = REGISTER_PERIOD_MS_RANGE;
    config.register_name_server_period_ms.clamp(low, high)
}

/// Sends REGISTER_BROKER to every name server at once; returns how many accepted it.
pub async fn register_all(broker: &Arc<Broker>) -> usize {
    let config = broker.config();
    let addresses = config.namesrv_addresses();
    if addresses.is_empty() {
        return 0;
    }
    let request = match register_request(broker, &config) {
        Ok(request) => request,
        Err(error) => {
            warn!(%error, "cannot build the registration");
            return 0;
        }
    };
    let mut calls = JoinSet::new();
    for addr in addresses {
        let (broker, request) = (Arc::clone(broker), request.clone());
        calls.spawn(async move {
            let timeout = Duration::from_millis(REGISTER_TIMEOUT_MS);
            let result = broker.outbound.invoke(&addr, request, timeout).await;
            (addr, result)
        });
    }
    let mut accepted = 0;
    while let Some(joined) = calls.join_next().await {
        let Ok((addr, result)) = joined else { continue };
        match result {
            Ok(response) if response.response_code() == ResponseCode::SUCCESS => {
                accepted += 1;
                absorb_answer(broker, &response);
                debug!(namesrv = addr, "registered");
            }
            Ok(response) => {
                warn!(namesrv = addr, code = response.code, remark = ?response.remark, "registration refused")
            }
            Err(error) => warn!(namesrv = addr, %error, "registration failed"),
        }
    }
    accepted
}

/// Tells every name server this broker is leaving (Java's `unregisterBrokerAll`).
pub async fn unregister_all(broker: &Broker) {
    let config = broker.config();
    let header = UnRegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: broker.address().to_owned(),
        cluster_name: config.broker_cluster_name.clone(),
        broker_id: config.broker_id,
    };
    let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER).with_ext_fields(header.to_ext_fields());
    for addr in config.namesrv_addresses() {
        let timeout = Duration::from_millis(UNREGISTER_TIMEOUT_MS);
        match broker.outbound.invoke(&addr, request.clone(), timeout).await {
            Ok(response) if response.response_code() == ResponseCode::SUCCESS => debug!(namesrv = addr, "unregistered"),
            Ok(response) => warn!(namesrv = addr, code = response.code, "unregistration refused"),
            Err(error) => warn!(namesrv = addr, %error, "unregistration failed"),
        }
    }
}

/// The REGISTER_BROKER request for the current topic table and configuration.
pub fn register_request(broker: &Broker, config: &BrokerConfig) -> BrokerResult<RemotingCommand> {
    let wrapper = registered_topics(lock(&broker.topics).to_wrapper(), config.broker_permission);
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: wrapper,
    };
    let body = match config.compressed_register {
        true => body.encode_compressed(version::CURRENT)?,
        false => body.encode(),
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: broker.address().to_owned(),
        cluster_name: config.broker_cluster_name.clone(),
        ha_server_addr: broker.replication.announced_ha_addr(config),
        broker_id: config.broker_id,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: config.compressed_register,
        body_crc32: body_crc(&body),
    };
    Ok(RemotingCommand::request(RequestCode::REGISTER_BROKER)
        .with_ext_fields(header.to_ext_fields())
        .with_body(body))
}

/// Java's `registerBrokerAll` wrapper: empty static-topic mappings, and every topic's perm
/// masked by the broker's when the broker is not both readable and writable.
pub fn registered_topics(
    mut wrapper: TopicConfigSerializeWrapper,
    broker_permission: i32,
) -> TopicConfigSerializeWrapper {
    let full = PERM_READ | PERM_WRITE;
    if broker_permission & full != full {
        for config in wrapper.topic_config_table.values_mut() {
            config.perm &= broker_permission;
        }
    }
    wrapper.mapping_data_version = Some(DataVersion {
        timestamp: wrapper.data_version.timestamp,
        ..DataVersion::default()
    });
    wrapper.topic_queue_mapping_detail_map = Some(Default::default());
    wrapper.topic_queue_mapping_info_map = Some(Default::default());
    wrapper
}

/// What a name server's answer tells this broker: its master's addresses (slaves), and the
/// topics the name server's ORDER_TOPIC_CONFIG lists (Java's `updateOrderTopicConfig`).
fn absorb_answer(broker: &Broker, response: &RemotingCommand) {
    if let Ok(header) = RegisterBrokerResponseHeader::from_command(response) {
        let addresses = MasterAddresses {
            master_addr: header.master_addr.filter(|addr| !addr.is_empty()),
            ha_server_addr: header.ha_server_addr.filter(|addr| !addr.is_empty()),
        };
        if addresses.master_addr.is_some() || addresses.ha_server_addr.is_some() {
            broker.replication.on_master_addresses(&broker.config(), &addresses);
            *lock(&broker.master_addresses) = addresses;
        }
    }
    let order_topics = response.body.as_deref().and_then(|body| KvTable::decode(body).ok());
    if let Some(order_topics) = order_topics.filter(|kv| !kv.table.is_empty()) {
        let now_ms = broker.now_ms();
        lock(&broker.topics).mark_ordered(order_topics.table.keys().map(String::as_str), now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::new_topic;

    #[test]
    fn permissions_are_masked_only_for_a_restricted_broker() {
        let mut wrapper = TopicConfigSerializeWrapper::default();
        wrapper.topic_config_table.insert("T".into(), new_topic("T", 4, 7));
        let open = registered_topics(wrapper.clone(), 6);
        assert_eq!(open.topic_config_table["T"].perm, 7);
        assert!(open.topic_queue_mapping_info_map.is_some() && open.mapping_data_version.is_some());
        let read_only = registered_topics(wrapper, 4);
        assert_eq!(read_only.topic_config_table["T"].perm, 4);
    }

    #[test]
    fn the_period_is_clamped_like_javas() {
        let mut config = BrokerConfig::default();
        assert_eq!(register_period_ms(&config), 30_000);
        config.register_name_server_period_ms = 1;
        assert_eq!(register_period_ms(&config), 10_000);
        config.register_name_server_period_ms = 1_000_000;
        assert_eq!(register_period_ms(&config), 60_000);
    }
}
