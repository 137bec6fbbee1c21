//! Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42), CHECK_CLIENT_CONFIG (46),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! GET_CONSUMER_RUNNING_INFO (307, relayed to the client), and the connection-close hook: Java's `ClientManageProcessor`, `ConsumerManageProcessor` and the
//! relaying half of `AdminBrokerProcessor` (remoting.md §4.2.2–4.2.3, §4.3.4, §4.4, §4.6.7).
//!
//! A heartbeat registers each consumer group (auto-creating its subscription group when
//! allowed, and its `%RETRY%` topic), then each producer group. Membership changes are told to
//! the group's consumers with NOTIFY_CONSUMER_IDS_CHANGED after the table lock is released.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::{ConnectionHandle, NetError, Router};
use ferrocket_wire::body::{
    ConsumerData, ConsumerIdList, HeartbeatData, JsonBody, LockBatchRequestBody, LockBatchResponseBody,
    SubscriptionGroupConfig,
};
use ferrocket_wire::header::{
    CustomHeader, GetConsumerConnectionListRequestHeader, GetConsumerListByGroupRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetProducerConnectionListRequestHeader, UnregisterClientRequestHeader,
};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode, WireError};

use crate::broker::{Broker, lock};
use crate::clients::{ClientChannel, ConsumerRegistration, notify_consumer_ids_changed};
use crate::error::{BrokerError, BrokerResult, respond};
use crate::topics::{PERM_READ, PERM_WRITE, retry_topic};

/// Java's `Broker2Client.callClient` waits this long for the client's answer.
pub const CALL_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// `MixAll.IS_SUPPORT_HEART_BEAT_V2`.
const IS_SUPPORT_HEART_BEAT_V2: &str = "IS_SUPPORT_HEART_BEAT_V2";
/// `MixAll.IS_SUB_CHANGE`.
const IS_SUB_CHANGE: &str = "IS_SUB_CHANGE";
/// `TopicSysFlag.buildSysFlag(false, true)`: the retry topic of a unit-mode consumer.
const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 2;

type SyncHandler = fn(&Broker, &RemotingCommand, &ConnectionHandle) -> BrokerResult<RemotingCommand>;

pub fn routes(router: Router, broker: &Arc<Broker>) -> Router {
    let handlers: [(RequestCode, SyncHandler); 8] = [
        (RequestCode::HEART_BEAT, heartbeat),
        (RequestCode::UNREGISTER_CLIENT, unregister_client),
        (RequestCode::GET_CONSUMER_LIST_BY_GROUP, consumer_list),
        (RequestCode::GET_CONSUMER_CONNECTION_LIST, consumer_connection_list),
        (RequestCode::GET_PRODUCER_CONNECTION_LIST, producer_connection_list),
        (RequestCode::CHECK_CLIENT_CONFIG, check_client_config),
        (RequestCode::LOCK_BATCH_MQ, lock_batch),
        (RequestCode::UNLOCK_BATCH_MQ, unlock_batch),
    ];
    let mut router = router;
    for (code, handler) in handlers {
        let b = Arc::clone(broker);
        router = router.route(code, move |request: RemotingCommand, connection: ConnectionHandle| {
            let b = Arc::clone(&b);
            async move { respond(&request, handler(&b, &request, &connection)) }
        });
    }
    let b = Arc::clone(broker);
    let router = router.route(
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        move |request: RemotingCommand, _connection: ConnectionHandle| {
            let b = Arc::clone(&b);
            async move { respond(&request, consumer_running_info(&b, &request).await) }
        },
    );
    let b = Arc::clone(broker);
    router.on_connection_closed(move |connection| {
        let notices = lock(&b.clients).channel_closed(connection);
        for (group, channels) in notices {
            notify_consumer_ids_changed(&b, &group, channels);
        }
    })
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}

/// HEART_BEAT: registers the client's consumer and producer groups on this connection.
fn heartbeat(b: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
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
    for consumer in data.consumer_data_set {
        let group = consumer.group_name.clone();
        let Some(group_config) = prepare_consumer_group(b, &consumer, now_ms) else {
            // Java silently skips a group it may not create.
            continue;
        };
        let registration = ConsumerRegistration {
            consume_type: consumer.consume_type,
            message_model: consumer.message_model,
            consume_from_where: consumer.consume_from_where,
            subscriptions: consumer.subscription_data_set,
            update_subscriptions,
            notify_enabled: group_config.notify_consumer_ids_changed_enable,
        };
        let change = {
            let mut clients = lock(&b.clients);
            sub_changed |= clients.fingerprint_changed(&group, data.heartbeat_fingerprint);
            clients.register_consumer(&group, channel.clone(), registration)
        };
        notify_consumer_ids_changed(b, &group, change.notify);
    }
    {
        let mut clients = lock(&b.clients);
        for producer in &data.producer_data_set {
            clients.register_producer(&producer.group_name, channel.clone());
        }
    }
    let mut fields = ExtFields::new();
    fields.insert(IS_SUPPORT_HEART_BEAT_V2, "true");
    fields.insert(IS_SUB_CHANGE, (!version2 || sub_changed).to_string());
    Ok(success(request).with_ext_fields(fields))
}

/// The group's subscription config (auto-created when allowed) and its `%RETRY%` topic, as a
/// consumer's heartbeat makes them; `None` when the group may not exist.
fn prepare_consumer_group(b: &Broker, consumer: &ConsumerData, now_ms: i64) -> Option<SubscriptionGroupConfig> {
    let auto_create = b.config().auto_create_subscription_group;
    let mut topics = lock(&b.topics);
    let mut groups = lock(&b.groups);
    let group_config = groups.find_or_auto_create(&consumer.group_name, auto_create, now_ms)?;
    let has_order_topic = consumer
        .subscription_data_set
        .iter()
        .any(|subscription| topics.get(&subscription.topic).is_some_and(|t| t.order));
    let topic_sys_flag = if consumer.unit_mode { TOPIC_SYS_FLAG_UNIT_SUB } else { 0 };
    topics.create_retry_topic(
        &retry_topic(&consumer.group_name),
        group_config.retry_queue_nums,
        PERM_READ | PERM_WRITE,
        has_order_topic,
        topic_sys_flag,
        now_ms,
    );
    Some(group_config)
}

/// UNREGISTER_CLIENT: the client is shutting a producer or consumer down.
fn unregister_client(
    b: &Broker,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = UnregisterClientRequestHeader::from_command(request)?;
    if let Some(group) = header.producer_group.as_deref() {
        lock(&b.clients).unregister_producer(group, connection);
    }
    if let Some(group) = header.consumer_group.as_deref() {
        let auto_create = b.config().auto_create_subscription_group;
        let notify_enabled = lock(&b.groups)
            .find_or_auto_create(group, auto_create, b.now_ms())
            .is_none_or(|config| config.notify_consumer_ids_changed_enable);
        let notify = lock(&b.clients).unregister_consumer(group, connection, notify_enabled);
        notify_consumer_ids_changed(b, group, notify);
    }
    Ok(success(request))
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids a rebalance divides the queues among.
fn consumer_list(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerListByGroupRequestHeader::from_command(request)?;
    let ids = lock(&b.clients).consumer_ids(&header.consumer_group);
    if ids.is_empty() {
        return Err(BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", header.consumer_group),
        ));
    }
    let body = ConsumerIdList { consumer_id_list: ids };
    Ok(success(request).with_body(body.encode()))
}

/// GET_CONSUMER_CONNECTION_LIST: the group's members and subscriptions (mqadmin
/// `consumerConnection`, `consumerProgress`).
fn consumer_connection_list(
    b: &Broker,
    request: &RemotingCommand,
    _: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerConnectionListRequestHeader::from_command(request)?;
    let group = header.consumer_group;
    let connection = lock(&b.clients).consumer_connection(&group).ok_or_else(|| {
        BrokerError::coded(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{group}] not online"),
        )
    })?;
    Ok(success(request).with_body(connection.encode()))
}

/// GET_PRODUCER_CONNECTION_LIST: the group's live producers.
fn producer_connection_list(
    b: &Broker,
    request: &RemotingCommand,
    _: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = GetProducerConnectionListRequestHeader::from_command(request)?;
    let group = header.producer_group;
    let connection = lock(&b.clients).producer_connection(&group).ok_or_else(|| {
        BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            format!("the producer group[{group}] not exist"),
        )
    })?;
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
fn lock_batch(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let body = lock_request(request)?;
    let now_ms = b.now_ms();
    let locked = lock(&b.clients)
        .queue_locks
        .try_lock(&body.consumer_group, &body.mq_set, &body.client_id, now_ms);
    let answer = LockBatchResponseBody { lock_ok_mq_set: locked };
    Ok(success(request).with_body(answer.encode()))
}

/// UNLOCK_BATCH_MQ: releases the queues the client holds.
fn unlock_batch(b: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let body = lock_request(request)?;
    lock(&b.clients)
        .queue_locks
        .unlock(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(success(request))
}

/// CHECK_CLIENT_CONFIG: tag subscriptions always pass; anything else needs property filtering,
/// which this broker does not offer.
fn check_client_config(_: &Broker, request: &RemotingCommand, _: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    let expression_type = request
        .body
        .as_deref()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
        .and_then(|body| {
            body.get("subscriptionData")?
                .get("expressionType")?
                .as_str()
                .map(str::to_owned)
        });
    match expression_type {
        Some(kind) if !kind.is_empty() && kind != "TAG" => Err(BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {kind}"),
        )),
        _ => Ok(success(request)),
    }
}

/// GET_CONSUMER_RUNNING_INFO: forwarded to the named client over its own connection; its answer
/// goes back unchanged.
async fn consumer_running_info(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerRunningInfoRequestHeader::from_command(request)?;
    let (group, client_id) = (header.consumer_group, header.client_id);
    let channel = lock(&b.clients)
        .find_consumer(&group, &client_id)
        .map(|found| found.channel.clone());
    let Some(channel) = channel else {
        return Err(BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        ));
    };
    let mut forward = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO);
    forward.ext_fields = request.ext_fields.clone();
    forward.body = request.body.clone();
    match channel.invoke(forward, CALL_CLIENT_TIMEOUT).await {
        Ok(answer) => Ok(answer),
        Err(error @ NetError::Timeout { .. }) => Err(BrokerError::coded(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {error}"),
        )),
        Err(error) => Err(BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {error}"),
        )),
    }
}
