//! Admin requests the broker answers by asking consumers over their own connections, as Java's
//! `AdminBrokerProcessor.callConsumer` and `Broker2Client.getConsumeStatus` do:
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309), forwarded to one client
//! whose answer goes back unchanged, and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223), which asks
//! each client of the group (GET_CONSUMER_STATUS_FROM_CLIENT, 221) for its offsets of a topic and
//! answers with the table of every answer that came back.
//!
//! CONSUME_MESSAGE_DIRECTLY carries the message itself: the broker reads the record the offset
//! message id names and sends it as the body, with `brokerName`, `topicSysFlag` and
//! `groupSysFlag` added to the header, so the client can run its listener on it.
//!
//! Java also refuses clients older than V3_1_8 (V3_0_7 for the status); no such client speaks
//! the protocol versions we serve, so that check is left out.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::{ConnectionHandle, NetError};
use ferrocket_store::CommitLogOffset;
use ferrocket_wire::body::{GetConsumerStatusBody, JsonBody};
use ferrocket_wire::header::{
    ConsumeMessageDirectlyResultRequestHeader, CustomHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader,
};
use ferrocket_wire::message::OffsetMessageId;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::task::JoinSet;
use tracing::debug;

use crate::error::{BrokerError, BrokerResult, respond};
use crate::handlers::Answer;
use crate::state::Broker;

/// Java's `Broker2Client.callClient` waits this long for the client's answer.
pub const CALL_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// `Broker2Client.getConsumeStatus` waits this long for each client.
pub const CONSUMER_STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// GET_CONSUMER_RUNNING_INFO, relayed to the client and answered with its reply.
pub fn serve_consumer_running_info(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, consumer_running_info(&broker, &request).await) })
}

/// CONSUME_MESSAGE_DIRECTLY: the stored message, relayed to the client to consume.
pub fn serve_consume_message_directly(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, consume_message_directly(&broker, &request).await) })
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS: every (or the named) client's offsets of a topic.
pub fn serve_consumer_status(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, consumer_status(&broker, &request).await) })
}

async fn consumer_running_info(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerRunningInfoRequestHeader::from_command(request)?;
    let mut forward = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO);
    forward.ext_fields = request.ext_fields.clone();
    forward.body = request.body.clone();
    call_consumer(b, forward, header.consumer_group, header.client_id).await
}

async fn consume_message_directly(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ConsumeMessageDirectlyResultRequestHeader::from_command(request)?;
    let mut fields = request.ext_fields.clone().unwrap_or_default();
    fields.insert("brokerName", b.config().broker_name.clone());
    if let Some(topic) = header.topic.as_deref().filter(|t| !t.is_empty())
        && let Some(config) = b.topics.lock().get(topic)
    {
        fields.insert("topicSysFlag", config.topic_sys_flag.to_string());
    }
    let group = header.consumer_group;
    if !group.is_empty() {
        // Java's `findSubscriptionGroupConfig` auto-creates the group when allowed.
        let auto_create = b.config().auto_create_subscription_group;
        if let Some(config) = b.groups.lock().find_or_auto_create(&group, auto_create, b.now_ms()) {
            fields.insert("groupSysFlag", config.group_sys_flag.to_string());
        }
    }
    let msg_id = header.msg_id.unwrap_or_default();
    let record = read_record(b, &msg_id).ok_or(BrokerError::DirectMessageNotFound { msg_id })?;
    let mut forward = RemotingCommand::request(RequestCode::CONSUME_MESSAGE_DIRECTLY).with_body(record);
    forward.ext_fields = Some(fields);
    // Java formats a missing client id as "null" in its remarks.
    let client_id = header.client_id.unwrap_or_else(|| "null".to_owned());
    call_consumer(b, forward, group, client_id).await
}

/// The stored record an offset message id names; the id's host is not checked, as in Java.
fn read_record(b: &Broker, msg_id: &str) -> Option<Vec<u8>> {
    let id = OffsetMessageId::decode(msg_id).ok()?;
    let offset = CommitLogOffset::from_java_long(id.physical_offset)?;
    b.store
        .read(|s| {
            let scanned = s.message_at(offset)?;
            s.record_bytes_at(scanned.physical_offset, scanned.size)
        })
        .ok()
}

/// Java's `callConsumer`: `forward` to the group's client `client_id`, its answer unchanged.
async fn call_consumer(
    b: &Broker,
    forward: RemotingCommand,
    group: String,
    client_id: String,
) -> BrokerResult<RemotingCommand> {
    let channel = b
        .clients
        .lock()
        .find_consumer(&group, &client_id)
        .map(|found| found.channel.clone());
    let Some(channel) = channel else {
        return Err(BrokerError::ConsumerNotOnline { group, client_id });
    };
    match channel.invoke(forward, CALL_CLIENT_TIMEOUT).await {
        Ok(answer) => Ok(answer),
        Err(error @ NetError::Timeout { .. }) => Err(BrokerError::ConsumerCallTimeout {
            group,
            client_id,
            error,
        }),
        Err(error) => Err(BrokerError::ConsumerCallFailed {
            group,
            client_id,
            error,
        }),
    }
}

/// Asks the clients at once (Java asks one after another); a client that fails or answers
/// without a body is left out of the table, as in Java.
async fn consumer_status(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetConsumerStatusRequestHeader::from_command(request)?;
    let group = header.group;
    let channels = b.clients.lock().consumer_channels(&group);
    if channels.is_empty() {
        return Err(BrokerError::NoConsumerOnlineInGroup { group });
    }
    let origin = header.client_addr.unwrap_or_default();
    let ask = GetConsumerStatusRequestHeader {
        topic: header.topic,
        group: group.clone(),
        ..GetConsumerStatusRequestHeader::default()
    };
    let ask =
        RemotingCommand::request(RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT).with_ext_fields(ask.to_ext_fields());
    // Java's `originClientId` is matched against client ids, whatever its header name says.
    let mut asked = JoinSet::new();
    for channel in channels
        .into_iter()
        .filter(|c| origin.trim().is_empty() || c.client_id == origin)
    {
        let ask = ask.clone();
        asked.spawn(async move {
            let answer = channel.channel.invoke(ask, CONSUMER_STATUS_TIMEOUT).await;
            (channel.client_id, answer)
        });
    }
    let mut table = GetConsumerStatusBody::default();
    while let Some(joined) = asked.join_next().await {
        let Ok((client_id, answer)) = joined else { continue };
        match answer {
            Ok(answer) if answer.code == ResponseCode::SUCCESS.0 => {
                let Some(body) = answer.body.as_deref() else { continue };
                match GetConsumerStatusBody::decode(body) {
                    Ok(status) => {
                        table.consumer_table.insert(client_id, status.message_queue_table);
                    }
                    Err(error) => debug!(group, client_id, %error, "consumer status unreadable"),
                }
            }
            Ok(answer) => debug!(group, client_id, code = answer.code, "consumer status refused"),
            Err(error) => debug!(group, client_id, %error, "consumer status not answered"),
        }
    }
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(table.encode()))
}
