//! The requests of a `bench namesrv` run: one REGISTER_BROKER per broker, as a 5.3.3 master
//! sends it (JSON `RegisterBrokerBody`, CRC set), one GET_ROUTEINFO_BY_TOPIC per topic, and one
//! UNREGISTER_BROKER per broker for a clean end, as a broker sends on shutdown.
//!
//! Placement: topic `t` lives on brokers `t`, `t + stride`, `t + 2·stride`, ... (mod brokers)
//! with `stride = brokers / brokers_per_topic`: distinct brokers, and every broker carries about
//! the same number of topics.

use std::sync::Arc;

use anyhow::{Context, ensure};
use ferrocket_wire::body::{DataVersion, JsonBody, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper};
use ferrocket_wire::command::FRAME_BYTES_MAX;
use ferrocket_wire::header::{
    CustomHeader, GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::{RemotingCommand, RequestCode};

use super::{BenchNamesrvOptions, QUEUES_PER_TOPIC};

/// Room left in a frame for the REGISTER_BROKER header.
const REGISTER_HEADER_BYTES_RESERVED: usize = 64 * 1024;
const CLUSTER: &str = "BenchCluster";
/// Broker addresses are never dialled by a name server; distinct ports make them distinct.
const BROKER_PORT_BASE: u16 = 10_911;
/// A fixed DataVersion timestamp keeps the bodies, and so the run, deterministic.
const DATA_VERSION_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// The requests of a run, built once: one REGISTER_BROKER per broker, one lookup per topic.
pub(super) struct Plan {
    pub(super) registrations: Vec<RemotingCommand>,
    pub(super) unregistrations: Vec<RemotingCommand>,
    pub(super) lookups: Arc<Vec<RemotingCommand>>,
    pub(super) brokers_per_topic: usize,
}

impl Plan {
    pub(super) fn build(options: &BenchNamesrvOptions) -> anyhow::Result<Plan> {
        let topic_names: Vec<String> = (0..options.topics).map(|i| format!("BenchTopic-{i:06}")).collect();
        let stride = (options.brokers / options.brokers_per_topic).max(1);
        let mut topics_by_broker: Vec<Vec<&str>> = vec![Vec::new(); options.brokers];
        for (t, name) in topic_names.iter().enumerate() {
            for k in 0..options.brokers_per_topic {
                let broker = t.wrapping_add(k.wrapping_mul(stride)) % options.brokers;
                if let Some(topics) = topics_by_broker.get_mut(broker) {
                    topics.push(name);
                }
            }
        }
        let registrations = topics_by_broker
            .iter()
            .enumerate()
            .map(|(broker, topics)| register_request(broker, topics))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let unregistrations = registrations.iter().map(unregister_request).collect();
        let lookups = topic_names.iter().map(|topic| lookup_request(topic)).collect();
        Ok(Plan {
            registrations,
            unregistrations,
            lookups: Arc::new(lookups),
            brokers_per_topic: options.brokers_per_topic,
        })
    }
}

/// REGISTER_BROKER of master `broker` with `topics`, plus the topic every broker has under its
/// own name (a first registration with a single topic is refused by both name servers).
fn register_request(broker: usize, topics: &[&str]) -> anyhow::Result<RemotingCommand> {
    let broker_name = format!("broker-{broker:04}");
    let port = u16::try_from(broker)
        .ok()
        .and_then(|b| b.checked_mul(2))
        .and_then(|offset| BROKER_PORT_BASE.checked_add(offset))
        .context("broker port out of range")?;
    let topic_config_table = topics
        .iter()
        .copied()
        .chain([broker_name.as_str()])
        .map(|name| (name.to_owned(), topic_config(name)))
        .collect();
    let data_version = DataVersion {
        counter: 1,
        state_version: 0,
        timestamp: DATA_VERSION_TIMESTAMP_MS,
    };
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version,
            mapping_data_version: Some(data_version),
            topic_config_table,
            topic_queue_mapping_detail_map: Some(Default::default()),
            topic_queue_mapping_info_map: Some(Default::default()),
        },
    }
    .encode();
    ensure!(
        body.len() <= FRAME_BYTES_MAX - REGISTER_HEADER_BYTES_RESERVED,
        "{broker_name} carries too many topics for one registration frame ({} bytes); add brokers",
        body.len()
    );
    let header = RegisterBrokerRequestHeader {
        broker_name,
        broker_addr: format!("127.0.0.1:{port}"),
        cluster_name: CLUSTER.to_owned(),
        ha_server_addr: format!("127.0.0.1:{}", port.saturating_add(1)),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: false,
        body_crc32: (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32,
    };
    Ok(RemotingCommand::request(RequestCode::REGISTER_BROKER)
        .with_ext_fields(header.to_ext_fields())
        .with_body(body))
}

/// UNREGISTER_BROKER of the broker `registration` registers.
fn unregister_request(registration: &RemotingCommand) -> RemotingCommand {
    let field = |key| registration.ext(key).unwrap_or_default().to_owned();
    let header = UnRegisterBrokerRequestHeader {
        broker_name: field("brokerName"),
        broker_addr: field("brokerAddr"),
        cluster_name: field("clusterName"),
        broker_id: 0,
    };
    RemotingCommand::request(RequestCode::UNREGISTER_BROKER).with_ext_fields(header.to_ext_fields())
}

fn topic_config(name: &str) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: QUEUES_PER_TOPIC,
        write_queue_nums: QUEUES_PER_TOPIC,
        perm: PERM_READ | PERM_WRITE,
        ..TopicConfig::default()
    }
}

/// GET_ROUTEINFO_BY_TOPIC as a 5.3.3 client sends it: JSON header, current version.
fn lookup_request(topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        ..GetRouteInfoRequestHeader::default()
    };
    RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext_fields(header.to_ext_fields())
}

#[cfg(test)]
mod tests {
    use super::super::tests::small_options;
    use super::*;

    #[test]
    fn every_topic_lands_on_distinct_brokers() {
        let options = small_options();
        let plan = Plan::build(&options).unwrap();
        assert_eq!(plan.registrations.len(), options.brokers);
        assert_eq!(plan.unregistrations.len(), options.brokers);
        assert_eq!(
            plan.unregistrations[0].ext("brokerAddr"),
            plan.registrations[0].ext("brokerAddr")
        );
        assert_eq!(plan.lookups.len(), options.topics);
        let mut brokers_of: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for request in &plan.registrations {
            let body = RegisterBrokerBody::decode(request.body.as_deref().unwrap()).unwrap();
            let name = request.ext("brokerName").unwrap().to_owned();
            for topic in body.topic_config_serialize_wrapper.topic_config_table.keys() {
                brokers_of.entry(topic.clone()).or_default().push(name.clone());
            }
        }
        assert!(brokers_of.get("BenchTopic-000000").is_some_and(|b| b.len() == 3));
        for (topic, brokers) in brokers_of.iter().filter(|(t, _)| t.starts_with("BenchTopic-")) {
            let mut distinct = brokers.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), options.brokers_per_topic, "{topic}: {brokers:?}");
        }
    }
}
