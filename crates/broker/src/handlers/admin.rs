//! Broker admin requests (remoting.md §4.6), as Java 5.3.3's `AdminBrokerProcessor` answers
//! them: topics, subscription groups, offsets, statistics and the configuration, for mqadmin
//! and the admin API.
//!
//! Every handler is a plain synchronous function over the tables and the store; table locks are
//! held only inside it. The two that change what the name servers must know (a topic created or
//! updated, `brokerPermission` changed) register again before answering, as Java does, so a
//! `topicRoute` right after `updateTopic` sees the topic. Persistence of the tables follows
//! their data versions (the shell's metadata timer).

mod stats;

use std::sync::Arc;

use ferrocket_net::ConnectionHandle;
use ferrocket_wire::body::{GroupList, JsonBody, SubscriptionGroupConfig, TopicConfig, TopicFilterType, TopicList};
use ferrocket_wire::header::{
    CreateTopicRequestHeader, CustomHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetBrokerConfigResponseHeader, GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};
use ferrocket_wire::permissions::PERM_ALL;
use ferrocket_wire::system_topics::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_wire::{RemotingCommand, ResponseCode};
use tracing::info;

use crate::error::{BrokerError, BrokerResult, respond};
use crate::handlers::Answer;
use crate::names::TOPIC_QUEUE_NUMS_MAX;
use crate::names::validate_topic;
use crate::state::Broker;

pub use stats::{
    RUNTIME_INFO_KEYS, get_consume_stats, get_runtime_info, get_topic_stats, query_consume_time_span, runtime_info,
};

/// UPDATE_AND_CREATE_TOPIC, then a registration before the answer, as Java does, so that a
/// `topicRoute` right after `updateTopic` sees the topic.
pub fn serve_update_and_create_topic(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move {
        let started = tokio::time::Instant::now();
        let response = register_on_success(&broker, &request, update_and_create_topic(&broker, &request)).await;
        let succeeded = response.as_ref().is_some_and(|r| r.code == ResponseCode::SUCCESS.0);
        let system = broker
            .topics
            .lock()
            .is_system_topic(request.ext("topic").unwrap_or_default());
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        broker.metrics.record_topic_create(succeeded, system, elapsed_ms);
        response
    })
}

/// UPDATE_BROKER_CONFIG, then a registration before the answer (`brokerPermission` may have
/// changed what the name servers must know).
pub fn serve_update_broker_config(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move { register_on_success(&broker, &request, update_broker_config(&broker, &request)).await })
}

async fn register_on_success(
    broker: &Broker,
    request: &RemotingCommand,
    result: BrokerResult<RemotingCommand>,
) -> Option<RemotingCommand> {
    if result
        .as_ref()
        .is_ok_and(|response| response.code == ResponseCode::SUCCESS.0)
    {
        broker.register_now().await;
    }
    respond(request, result)
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}

fn success_with(request: &RemotingCommand, body: Vec<u8>) -> RemotingCommand {
    success(request).with_body(body)
}

/// UPDATE_AND_CREATE_TOPIC (17): Java's checks in order, an unchanged config is a no-op.
pub fn update_and_create_topic(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = CreateTopicRequestHeader::from_command(request)?;
    let topic = header.topic.as_str();
    validate_topic(topic)?;
    let now_ms = broker.now_ms();
    let mut topics = broker.topics.lock();
    if topics.is_system_topic(topic) {
        return Err(BrokerError::SystemTopicConflict {
            topic: topic.to_owned(),
        });
    }
    let changes = header.attributes.unwrap_or_default();
    if changes.split(',').any(|change| change.trim() == "+message.type=MIXED") {
        return Err(BrokerError::MixedMessageTypeNotSupported {
            topic: topic.to_owned(),
        });
    }
    check_topic_settings(topic, header.read_queue_nums, header.write_queue_nums, header.perm)?;
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

/// Refuses what Java 5.3.3 takes unchecked: queue counts outside 1..=[`TOPIC_QUEUE_NUMS_MAX`]
/// and permissions outside the four bits.
fn check_topic_settings(topic: &str, read: i32, write: i32, perm: i32) -> BrokerResult<()> {
    let counts = 1..=TOPIC_QUEUE_NUMS_MAX;
    if !counts.contains(&read) || !counts.contains(&write) {
        return Err(BrokerError::TopicQueueNumsOutOfRange {
            topic: topic.to_owned(),
            read,
            write,
            limit: TOPIC_QUEUE_NUMS_MAX,
        });
    }
    if !(0..=PERM_ALL).contains(&perm) {
        return Err(BrokerError::TopicPermInvalid {
            topic: topic.to_owned(),
            perm,
            limit: PERM_ALL,
        });
    }
    Ok(())
}

/// DELETE_TOPIC_IN_BROKER (215): the topic, its pop retry topics, their offsets and queues.
pub fn delete_topic(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteTopicRequestHeader::from_command(request)?;
    let topic = header.topic.as_str();
    if topic.trim().is_empty() {
        return Err(BrokerError::TopicBlank);
    }
    let now_ms = broker.now_ms();
    let doomed = {
        let mut topics = broker.topics.lock();
        if topics.is_system_topic(topic) {
            return Err(BrokerError::SystemTopicConflict {
                topic: topic.to_owned(),
            });
        }
        let groups = broker.offsets.lock().groups_of_topic(topic);
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
    let mut offsets = broker.offsets.lock();
    for name in &doomed {
        offsets.remove_topic(name, now_ms);
    }
    drop(offsets);
    let mut timers = broker.timers.lock();
    for name in &doomed {
        timers.counts.remove_topic(name);
    }
    drop(timers);
    for name in &doomed {
        broker.store.write(|store| store.delete_topic(name))?;
    }
    info!(topic, deleted = doomed.len(), "topic deleted by admin request");
    Ok(success(request))
}

/// GET_ALL_TOPIC_CONFIG (21): Java's `TopicConfigAndMappingSerializeWrapper`.
pub fn get_all_topic_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let mut wrapper = broker.topics.lock().to_wrapper();
    wrapper.mapping_data_version = Some(Default::default());
    wrapper.topic_queue_mapping_detail_map = Some(Default::default());
    Ok(success_with(request, wrapper.encode()))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): the body is the group's whole config.
pub fn update_and_create_group(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let started = tokio::time::Instant::now();
    let result = create_group(broker, request);
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    broker.metrics.record_group_create(result.is_ok(), elapsed_ms);
    result
}

fn create_group(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let body = request.body.as_deref().unwrap_or_default();
    let config = SubscriptionGroupConfig::decode(body)?;
    let now_ms = broker.now_ms();
    broker.groups.lock().update(config, now_ms)?;
    Ok(success(request))
}

/// DELETE_SUBSCRIPTIONGROUP (207): and the group's offsets when `cleanOffset`.
pub fn delete_group(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteSubscriptionGroupRequestHeader::from_command(request)?;
    let now_ms = broker.now_ms();
    broker.groups.lock().delete(&header.group_name, now_ms);
    if header.clean_offset {
        broker.offsets.lock().remove_group(&header.group_name, now_ms);
    }
    Ok(success(request))
}

pub fn get_all_groups(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, broker.groups.lock().to_wrapper().encode()))
}

pub fn get_all_consumer_offsets(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, broker.offsets.lock().to_wrapper().encode()))
}

pub fn get_all_delay_offsets(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    Ok(success_with(request, broker.offsets.lock().delay_wrapper().encode()))
}

/// GET_BROKER_CONFIG (26): the properties text, and the configuration's version in the header.
pub fn get_broker_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let config = broker.config();
    let header = GetBrokerConfigResponseHeader {
        version: String::from_utf8_lossy(&config.data_version.encode()).into_owned(),
    };
    Ok(success_with(request, config.to_properties().into_bytes()).with_ext_fields(header.to_ext_fields()))
}

/// UPDATE_BROKER_CONFIG (25): run-time settings only, all or nothing. A new `brokerPermission`
/// bumps the topic version, as Java does, so every name server hears of it.
pub fn update_broker_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let Some(body) = request.body.as_deref() else {
        return Ok(success(request));
    };
    let text = String::from_utf8_lossy(body);
    let entries =
        ferrocket_wire::properties_text::parse(&text).map_err(|error| BrokerError::PropertiesUnparsable { error })?;
    let now_ms = broker.now_ms();
    let updated = broker.config().update_from_properties(&entries, now_ms)?;
    info!(keys = ?entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), "broker config updated");
    broker.replace_config(updated);
    if entries.iter().any(|(key, _)| key == "brokerPermission") {
        broker.topics.lock().touch(now_ms);
    }
    Ok(success(request))
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): online subscribers and groups with offsets on the topic.
pub fn query_topic_consume_by_who(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = QueryTopicConsumeByWhoRequestHeader::from_command(request)?;
    let mut groups = broker.clients.lock().groups_subscribing(&header.topic);
    groups.extend(broker.offsets.lock().groups_of_topic(&header.topic));
    groups.sort();
    groups.dedup();
    Ok(success_with(request, GroupList { group_list: groups }.encode()))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305): Java's system topic set.
pub fn get_system_topics(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let list = TopicList {
        broker_addr: None,
        topic_list: broker.topics.lock().system_topics(),
    };
    Ok(success_with(request, list.encode()))
}

/// GET_TOPIC_CONFIG (351): Java's `TopicConfigAndQueueMapping`, whose null mapping detail
/// fastjson leaves out, so the body is the topic's config.
pub fn get_topic_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetTopicConfigRequestHeader::from_command(request)?;
    let Some(config) = broker.topics.lock().get(&header.topic) else {
        return Err(BrokerError::TopicNotInBroker { topic: header.topic });
    };
    Ok(success_with(request, config.encode()))
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (352): through `findSubscriptionGroupConfig`, which
/// auto-creates like a consumer's first pull does.
pub fn get_group_config(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetSubscriptionGroupConfigRequestHeader::from_command(request)?;
    let auto_create = broker.config().auto_create_subscription_group;
    let now_ms = broker.now_ms();
    let Some(config) = broker
        .groups
        .lock()
        .find_or_auto_create(&header.group, auto_create, now_ms)
    else {
        return Err(BrokerError::GroupNotInBroker { group: header.group });
    };
    Ok(success_with(request, config.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_remark_is_javas() {
        let error = BrokerError::SystemTopicConflict { topic: "TBW102".into() };
        assert_eq!(error.to_string(), "The topic[TBW102] is conflict with system topic.");
        assert_eq!(error.response_code(), ResponseCode::INVALID_PARAMETER);
    }
}
