//! Broker admin requests (remoting.md §4.6), as Java 5.3.3's `AdminBrokerProcessor` answers
//! them: topics, subscription groups, offsets, statistics and the configuration, for mqadmin
//! and the admin API.
//!
//! Every handler is a plain synchronous function over the tables and the store; table locks are
//! held only inside it. The two that change what the name servers must know (a topic created or
//! updated, `brokerPermission` changed) register again before answering, as Java does, so a
//! `topicRoute` right after `updateTopic` sees the topic. Persistence of the tables follows
//! their data versions (`metadata::run_persist`).

mod stats;

use std::sync::Arc;

use ferrocket_net::{ConnectionHandle, Router};
use ferrocket_wire::body::{GroupList, JsonBody, SubscriptionGroupConfig, TopicConfig, TopicFilterType, TopicList};
use ferrocket_wire::header::{
    CreateTopicRequestHeader, CustomHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetBrokerConfigResponseHeader, GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tracing::info;

use crate::broker::{Broker, lock};
use crate::error::{BrokerError, BrokerResult, respond};
use crate::registration;
use crate::topics::{RETRY_GROUP_TOPIC_PREFIX, validate_topic};

pub use stats::{RUNTIME_INFO_KEYS, runtime_info};

/// A handler: the request in, the response (or Java's failure) out.
type AdminHandler = fn(&Broker, &RemotingCommand) -> BrokerResult<RemotingCommand>;

/// Every code served here, its handler, and whether a success must reach the name servers
/// before the answer.
const ROUTES: &[(RequestCode, AdminHandler, bool)] = &[
    (RequestCode::UPDATE_AND_CREATE_TOPIC, update_and_create_topic, true),
    (RequestCode::DELETE_TOPIC_IN_BROKER, delete_topic, false),
    (RequestCode::GET_ALL_TOPIC_CONFIG, get_all_topic_config, false),
    (
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        update_and_create_group,
        false,
    ),
    (RequestCode::DELETE_SUBSCRIPTIONGROUP, delete_group, false),
    (RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, get_all_groups, false),
    (RequestCode::GET_ALL_CONSUMER_OFFSET, get_all_consumer_offsets, false),
    (RequestCode::GET_ALL_DELAY_OFFSET, get_all_delay_offsets, false),
    (RequestCode::GET_TOPIC_STATS_INFO, stats::get_topic_stats, false),
    (RequestCode::GET_CONSUME_STATS, stats::get_consume_stats, false),
    (RequestCode::GET_BROKER_RUNTIME_INFO, stats::get_runtime_info, false),
    (RequestCode::GET_BROKER_CONFIG, get_broker_config, false),
    (RequestCode::UPDATE_BROKER_CONFIG, update_broker_config, true),
    (
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        query_topic_consume_by_who,
        false,
    ),
    (RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER, get_system_topics, false),
    (RequestCode::GET_TOPIC_CONFIG, get_topic_config, false),
    (RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG, get_group_config, false),
];

pub fn routes(router: Router, broker: &Arc<Broker>) -> Router {
    ROUTES.iter().fold(router, |router, &(code, handler, register)| {
        let broker = Arc::clone(broker);
        router.route(code, move |request: RemotingCommand, _connection: ConnectionHandle| {
            let broker = Arc::clone(&broker);
            async move {
                let result = handler(&broker, &request);
                if register && result.as_ref().is_ok_and(|r| r.code == ResponseCode::SUCCESS.0) {
                    registration::register_all(&broker).await;
                }
                respond(&request, result)
            }
        })
    })
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}

fn success_with(request: &RemotingCommand, body: Vec<u8>) -> RemotingCommand {
    success(request).with_body(body)
}

fn invalid(remark: impl Into<String>) -> BrokerError {
    BrokerError::coded(ResponseCode::INVALID_PARAMETER, remark)
}

fn system_topic_conflict(topic: &str) -> BrokerError {
    invalid(format!("The topic[{topic}] is conflict with system topic."))
}

/// UPDATE_AND_CREATE_TOPIC (17): Java's checks in order, an unchanged config is a no-op.
fn update_and_create_topic(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = CreateTopicRequestHeader::from_command(request)?;
    let topic = header.topic.as_str();
    validate_topic(topic)?;
    let now_ms = broker.now_ms();
    let mut topics = lock(&broker.topics);
    if topics.is_system_topic(topic) {
        return Err(system_topic_conflict(topic));
    }
    let changes = header.attributes.unwrap_or_default();
    if changes.split(',').any(|change| change.trim() == "+message.type=MIXED") {
        return Err(invalid("MIXED message type is not supported."));
    }
    let config = TopicConfig {
        topic_name: topic.to_owned(),
        read_queue_nums: header.read_queue_nums,
        write_queue_nums: header.write_queue_nums,
        perm: header.perm,
        topic_filter_type: TopicFilterType::from_java_name(&header.topic_filter_type),
        topic_sys_flag: header.topic_sys_flag.unwrap_or(0),
        order: header.order,
        ..TopicConfig::default()
    };
    let unchanged = topics
        .get(topic)
        .is_some_and(|existing| changes.trim().is_empty() && existing == config);
    if !unchanged {
        topics.update(config, &changes, now_ms)?;
        info!(topic, "topic created or updated by admin request");
    }
    Ok(success(request))
}

/// DELETE_TOPIC_IN_BROKER (215): the topic, its pop retry topics, their offsets and queues.
fn delete_topic(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteTopicRequestHeader::from_command(request)?;
    let topic = header.topic.as_str();
    if topic.trim().is_empty() {
        return Err(invalid("The specified topic is blank."));
    }
    let now_ms = broker.now_ms();
    let doomed = {
        let mut topics = lock(&broker.topics);
        if topics.is_system_topic(topic) {
            return Err(system_topic_conflict(topic));
        }
        let groups = lock(&broker.offsets).groups_of_topic(topic);
        let mut doomed = vec![topic.to_owned()];
        for group in groups {
            // Java's `clearRetryTopicWhenDeleteTopic`: the pop retry topics, V2 then V1.
            for separator in ['+', '_'] {
                let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}{separator}{topic}");
                if topics.contains(&retry) {
                    doomed.push(retry);
                }
            }
        }
        for name in &doomed {
            topics.delete(name, now_ms);
        }
        doomed
    };
    let mut offsets = lock(&broker.offsets);
    for name in &doomed {
        offsets.remove_topic(name, now_ms);
    }
    drop(offsets);
    for name in &doomed {
        broker.store.write(|store| store.delete_topic(name))?;
    }
    info!(topic, deleted = doomed.len(), "topic deleted by admin request");
    Ok(success(request))
}

/// GET_ALL_TOPIC_CONFIG (21): Java's `TopicConfigAndMappingSerializeWrapper`.
fn get_all_topic_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let mut wrapper = lock(&broker.topics).to_wrapper();
    wrapper.mapping_data_version = Some(Default::default());
    wrapper.topic_queue_mapping_detail_map = Some(Default::default());
    Ok(success_with(request, wrapper.encode()))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): the body is the group's whole config.
fn update_and_create_group(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let body = request.body.as_deref().unwrap_or_default();
    let config = SubscriptionGroupConfig::decode(body)?;
    let now_ms = broker.now_ms();
    lock(&broker.groups).update(config, now_ms)?;
    Ok(success(request))
}

/// DELETE_SUBSCRIPTIONGROUP (207): and the group's offsets when `cleanOffset`.
fn delete_group(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteSubscriptionGroupRequestHeader::from_command(request)?;
    let now_ms = broker.now_ms();
    lock(&broker.groups).delete(&header.group_name, now_ms);
    if header.clean_offset {
        lock(&broker.offsets).remove_group(&header.group_name, now_ms);
    }
    Ok(success(request))
}

fn get_all_groups(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, lock(&broker.groups).to_wrapper().encode()))
}

fn get_all_consumer_offsets(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, lock(&broker.offsets).to_wrapper().encode()))
}

fn get_all_delay_offsets(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, lock(&broker.offsets).delay_wrapper().encode()))
}

/// GET_BROKER_CONFIG (26): the properties text, and the configuration's version in the header.
fn get_broker_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let config = broker.config();
    let header = GetBrokerConfigResponseHeader {
        version: String::from_utf8_lossy(&config.data_version.encode()).into_owned(),
    };
    Ok(success_with(request, config.to_properties().into_bytes()).with_ext_fields(header.to_ext_fields()))
}

/// UPDATE_BROKER_CONFIG (25): run-time settings only, all or nothing. A new `brokerPermission`
/// bumps the topic version, as Java does, so every name server hears of it.
fn update_broker_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let Some(body) = request.body.as_deref() else {
        return Ok(success(request));
    };
    let text = String::from_utf8_lossy(body);
    let entries = ferrocket_namesrv::properties::parse(&text)
        .map_err(|_| BrokerError::coded(ResponseCode::SYSTEM_ERROR, "string2Properties error"))?;
    let now_ms = broker.now_ms();
    let updated = broker.config().update_from_properties(&entries, now_ms)?;
    info!(keys = ?entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), "broker config updated");
    broker.replace_config(updated);
    if entries.iter().any(|(key, _)| key == "brokerPermission") {
        lock(&broker.topics).touch(now_ms);
    }
    Ok(success(request))
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): online subscribers and groups with offsets on the topic.
fn query_topic_consume_by_who(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = QueryTopicConsumeByWhoRequestHeader::from_command(request)?;
    let mut groups = lock(&broker.clients).groups_subscribing(&header.topic);
    groups.extend(lock(&broker.offsets).groups_of_topic(&header.topic));
    groups.sort();
    groups.dedup();
    Ok(success_with(request, GroupList { group_list: groups }.encode()))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305): Java's system topic set.
fn get_system_topics(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let list = TopicList {
        broker_addr: None,
        topic_list: lock(&broker.topics).system_topics(),
    };
    Ok(success_with(request, list.encode()))
}

/// GET_TOPIC_CONFIG (351): Java's `TopicConfigAndQueueMapping`, whose null mapping detail
/// fastjson leaves out, so the body is the topic's config.
fn get_topic_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetTopicConfigRequestHeader::from_command(request)?;
    let Some(config) = lock(&broker.topics).get(&header.topic) else {
        return Err(BrokerError::coded(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", header.topic),
        ));
    };
    Ok(success_with(request, config.encode()))
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (352): through `findSubscriptionGroupConfig`, which
/// auto-creates like a consumer's first pull does.
fn get_group_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetSubscriptionGroupConfigRequestHeader::from_command(request)?;
    let auto_create = broker.config().auto_create_subscription_group;
    let now_ms = broker.now_ms();
    let Some(config) = lock(&broker.groups).find_or_auto_create(&header.group, auto_create, now_ms) else {
        return Err(BrokerError::coded(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "No group in this broker",
        ));
    };
    Ok(success_with(request, config.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_routed_once() {
        let mut codes: Vec<i32> = ROUTES.iter().map(|(code, _, _)| code.0).collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
        // Only the two changes the name servers must see before the answer register.
        let registering: Vec<RequestCode> = ROUTES.iter().filter(|r| r.2).map(|r| r.0).collect();
        assert_eq!(
            registering,
            [RequestCode::UPDATE_AND_CREATE_TOPIC, RequestCode::UPDATE_BROKER_CONFIG]
        );
    }

    #[test]
    fn conflict_remark_is_javas() {
        let error = system_topic_conflict("TBW102");
        assert_eq!(error.to_string(), "The topic[TBW102] is conflict with system topic.");
        assert_eq!(error.response_code(), ResponseCode::INVALID_PARAMETER);
    }
}
