//! Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42), CHECK_CLIENT_CONFIG (46),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204) and the
//! connection-close hook: Java's `ClientManageProcessor` and `ConsumerManageProcessor`
//! (remoting.md §4.2.2–4.2.3, §4.3.4, §4.4). Calls relayed to a client are in `relay.rs`.
//!
//! A heartbeat registers each consumer group (auto-creating its subscription group when
//! allowed, and its `%RETRY%` topic), then each producer group. Membership changes are told to
//! the group's consumers with NOTIFY_CONSUMER_IDS_CHANGED after the table lock is released.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::ConnectionHandle;
use ferrocket_wire::body::{
    ConsumerData, ConsumerIdList, HeartbeatData, JsonBody, LockBatchRequestBody, LockBatchResponseBody,
    SubscriptionGroupConfig,
};
use ferrocket_wire::header::{
    CustomHeader, GetConsumerConnectionListRequestHeader, GetConsumerListByGroupRequestHeader,
    GetProducerConnectionListRequestHeader, NotifyConsumerIdsChangedRequestHeader, UnregisterClientRequestHeader,
};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::retry_topic;
use ferrocket_wire::topic_sys_flags::topic_sys_flag;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode, WireError};
use tracing::debug;

use crate::error::{BrokerError, BrokerResult, respond};
use crate::handlers::Answer;
use crate::state::Broker;
use crate::state::clients::{ClientChannel, ConsumerRegistration};

/// How long a notice may wait for room in a client's writer queue before it is dropped.
const NOTIFY_SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// `MixAll.IS_SUPPORT_HEART_BEAT_V2`.
const IS_SUPPORT_HEART_BEAT_V2: &str = "IS_SUPPORT_HEART_BEAT_V2";
/// `MixAll.IS_SUB_CHANGE`.
const IS_SUB_CHANGE: &str = "IS_SUB_CHANGE";

/// A closed connection leaves every group it was in; the rest of each group is told.
pub fn connection_closed(broker: &Broker, connection: &ConnectionHandle) {
    let notices = broker.clients.lock().channel_closed(connection);
    for (group, channels) in notices {
        notify_consumer_ids_changed(broker, &group, channels);
    }
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}

/// HEART_BEAT; a heartbeat that created a `%RETRY%` topic answers only after the name servers
/// were told of it, as Java's `createTopicInSendMessageBackMethod` registers synchronously: the
/// client looks the retry topic's route up right after, and a miss costs it a 20 s rebalance.
pub fn serve_heartbeat(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move {
        let (result, created_topic) = match heartbeat(&broker, &request, &connection) {
            Ok((response, created_topic)) => (Ok(response), created_topic),
            Err(error) => (Err(error), false),
        };
        if created_topic {
            broker.register_now().await;
        }
        respond(&request, result)
    })
}

/// Registers the client's consumer and producer groups on this connection; also says whether a
/// retry topic was created.
fn heartbeat(
    b: &Broker,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<(RemotingCommand, bool)> {
    let body = request.body.as_deref().ok_or(WireError::BadJson {
        what: "HeartbeatData",
        reason: "no body".into(),
    })?;
    let data = HeartbeatData::decode(body)?;
    let now_ms = b.now_ms();
    let channel = ClientChannel {
        channel: connection.clone(),
        client_id: data.client_id.clone(),
        client_addr: connection.peer_addr().to_owned(),
        language: request.language,
        version: request.version,
        last_update_ms: now_ms,
    };
    let version2 = data.heartbeat_fingerprint != 0;
    let update_subscriptions = !(version2 && data.without_sub);
    let mut sub_changed = false;
    let mut created_topic = false;
    for consumer in data.consumer_data_set {
        let group = consumer.group_name.clone();
        let Some((group_config, created)) = prepare_consumer_group(b, &consumer, now_ms) else {
            // Java silently skips a group it may not create.
            continue;
        };
        created_topic |= created;
        let registration = ConsumerRegistration {
            consume_type: consumer.consume_type,
            message_model: consumer.message_model,
            consume_from_where: consumer.consume_from_where,
            subscriptions: consumer.subscription_data_set,
            update_subscriptions,
            notify_enabled: group_config.notify_consumer_ids_changed_enable,
        };
        let change = {
            let mut clients = b.clients.lock();
            sub_changed |= clients.fingerprint_changed(&group, data.heartbeat_fingerprint);
            clients.register_consumer(&group, channel.clone(), registration)
        };
        notify_consumer_ids_changed(b, &group, change.notify);
    }
    {
        let mut clients = b.clients.lock();
        for producer in &data.producer_data_set {
            clients.register_producer(&producer.group_name, channel.clone());
        }
    }
    let mut fields = ExtFields::new();
    fields.insert(IS_SUPPORT_HEART_BEAT_V2, "true");
    fields.insert(IS_SUB_CHANGE, (!version2 || sub_changed).to_string());
    Ok((success(request).with_ext_fields(fields), created_topic))
}

/// The group's subscription config (auto-created when allowed) and its `%RETRY%` topic, as a
/// consumer's heartbeat makes them, with whether the topic is new; `None` when the group may
/// not exist.
fn prepare_consumer_group(b: &Broker, consumer: &ConsumerData, now_ms: i64) -> Option<(SubscriptionGroupConfig, bool)> {
    let auto_create = b.config().auto_create_subscription_group;
    let mut topics = b.topics.lock();
    let mut groups = b.groups.lock();
    let group_config = groups.find_or_auto_create(&consumer.group_name, auto_create, now_ms)?;
    let has_order_topic = consumer
        .subscription_data_set
        .iter()
        .any(|subscription| topics.get(&subscription.topic).is_some_and(|t| t.order));
    // The retry topic of a unit-mode consumer has a unit subscription.
    let topic_sys_flag = topic_sys_flag(false, consumer.unit_mode);
    let retry = retry_topic(&consumer.group_name);
    let existed = topics.get(&retry).is_some();
    let created = topics.create_retry_topic(
        &retry,
        group_config.retry_queue_nums,
        PERM_READ | PERM_WRITE,
        has_order_topic,
        topic_sys_flag,
        now_ms,
    );
    Some((group_config, !existed && created.is_some()))
}

/// UNREGISTER_CLIENT: the client is shutting a producer or consumer down.
pub fn unregister_client(
    b: &Broker,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = UnregisterClientRequestHeader::from_command(request)?;
    if let Some(group) = header.producer_group.as_deref() {
        b.clients.lock().unregister_producer(group, connection);
    }
    if let Some(group) = header.consumer_group.as_deref() {
        let auto_create = b.config().auto_create_subscription_group;
        let notify_enabled = b
            .groups
            .lock()
            .find_or_auto_create(group, auto_create, b.now_ms())
            .is_none_or(|config| config.notify_consumer_ids_changed_enable);
        let notify = b.clients.lock().unregister_consumer(group, connection, notify_enabled);
        notify_consumer_ids_changed(b, group, notify);
    }
    Ok(success(request))
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids a rebalance divides the queues among.
pub fn consumer_list(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerListByGroupRequestHeader::from_command(request)?;
    let ids = b.clients.lock().consumer_ids(&header.consumer_group);
    if ids.is_empty() {
        return Err(BrokerError::NoConsumerInGroup {
            group: header.consumer_group,
        });
    }
    let body = ConsumerIdList { consumer_id_list: ids };
    Ok(success(request).with_body(body.encode()))
}

/// GET_CONSUMER_CONNECTION_LIST: the group's members and subscriptions (mqadmin
/// `consumerConnection`, `consumerProgress`).
pub fn consumer_connection_list(
    b: &Broker,
    request: &RemotingCommand,
    _: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerConnectionListRequestHeader::from_command(request)?;
    let group = header.consumer_group;
    let connection = b.clients.lock().consumer_connection(&group);
    let connection = connection.ok_or(BrokerError::ConsumerGroupNotOnline { group })?;
    Ok(success(request).with_body(connection.encode()))
}

/// GET_PRODUCER_CONNECTION_LIST: the group's live producers.
pub fn producer_connection_list(
    b: &Broker,
    request: &RemotingCommand,
    _: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = GetProducerConnectionListRequestHeader::from_command(request)?;
    let group = header.producer_group;
    let connection = b.clients.lock().producer_connection(&group);
    let connection = connection.ok_or(BrokerError::ProducerGroupNotExist { group })?;
    Ok(success(request).with_body(connection.encode()))
}

fn lock_request(request: &RemotingCommand) -> BrokerResult<LockBatchRequestBody> {
    let body = request.body.as_deref().ok_or(WireError::BadJson {
        what: "LockBatchRequestBody",
        reason: "no body".into(),
    })?;
    Ok(LockBatchRequestBody::decode(body)?)
}

/// LOCK_BATCH_MQ: an orderly consumer locks its queues; the answer lists those it now holds.
pub fn lock_batch(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let body = lock_request(request)?;
    let now_ms = b.now_ms();
    let locked = b
        .clients
        .lock()
        .queue_locks
        .try_lock(&body.consumer_group, &body.mq_set, &body.client_id, now_ms);
    let answer = LockBatchResponseBody { lock_ok_mq_set: locked };
    Ok(success(request).with_body(answer.encode()))
}

/// UNLOCK_BATCH_MQ: releases the queues the client holds.
pub fn unlock_batch(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let body = lock_request(request)?;
    b.clients
        .lock()
        .queue_locks
        .unlock(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(success(request))
}

/// CHECK_CLIENT_CONFIG (Java's `checkClientConfig`): tag subscriptions always pass; SQL92 needs
/// `enablePropertyFilter` and an expression that compiles (else the compiler's message, which
/// fails the client's `start()`).
pub fn check_client_config(
    b: &Broker,
    request: &RemotingCommand,
    _: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let subscription = request
        .body
        .as_deref()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
        .and_then(|body| body.get("subscriptionData").cloned());
    let field = |name: &str| {
        subscription
            .as_ref()
            .and_then(|s| s.get(name)?.as_str().map(str::to_owned))
    };
    match field("expressionType") {
        Some(kind) if !kind.is_empty() && kind != "TAG" => {
            if !b.config().enable_property_filter || kind != "SQL92" {
                return Err(BrokerError::FilterTypeNotSupported { expression_type: kind });
            }
            let expression = field("subString").unwrap_or_default();
            crate::state::sql_filter::parse(&expression).map_err(|error| BrokerError::SqlExpressionInvalid {
                message: error.to_string(),
            })?;
            Ok(success(request))
        }
        _ => Ok(success(request)),
    }
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) for `group` to each channel, from a spawned task
/// so no caller waits on a slow client, unless the broker's `notifyConsumerIdsChangedEnable` is
/// off. Must run inside the tokio runtime.
pub fn notify_consumer_ids_changed(broker: &Broker, group: &str, channels: Vec<ConnectionHandle>) {
    if channels.is_empty() || !broker.config().notify_consumer_ids_changed_enable {
        return;
    }
    let header = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: group.to_owned(),
        ..NotifyConsumerIdsChangedRequestHeader::default()
    };
    let request =
        RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED).with_ext_fields(header.to_ext_fields());
    let group = group.to_owned();
    tokio::spawn(async move {
        for channel in channels {
            if let Err(error) = channel.oneway(request.clone(), NOTIFY_SEND_TIMEOUT).await {
                debug!(group, peer = channel.peer_addr(), %error, "consumer-ids notice not sent");
            }
        }
    });
}
