//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401): Java 5.x's
//! `QueryAssignmentProcessor`, which a `DefaultMQPushConsumer` with client rebalance off asks
//! for its queues and learns from whether to pop them.
//!
//! Modes are written to `config/messageRequestMode.json` before the answer, as Java does. The
//! topic's queues come from this broker's own topic table, where Java asks the name server
//! for the topic's route: the same set for a topic served by one broker (see
//! docs/protocol-notes.md).

use ferrocket_wire::body::{
    JsonBody, MessageQueue, MessageQueueAssignment, MessageRequestMode, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use ferrocket_wire::pop_receipt::RETRY_PREFIX;
use ferrocket_wire::{RemotingCommand, ResponseCode};

use crate::error::BrokerResult;
use crate::state::Broker;
use crate::state::assignment::assign;

/// QUERY_ASSIGNMENT.
pub fn query_assignment(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let body = QueryAssignmentRequestBody::decode(request.body.as_deref().unwrap_or_default())?;
    let (mode, share) = if body.topic.starts_with(RETRY_PREFIX) {
        (MessageRequestMode::Pull, 0)
    } else {
        b.request_modes.lock().mode_of(&body.topic, &body.consumer_group)
    };
    let broker_name = b.config().broker_name.clone();
    let queues: Option<Vec<MessageQueue>> = b.topics.lock().get(&body.topic).map(|topic| {
        (0..topic.read_queue_nums)
            .map(|queue| MessageQueue::new(body.topic.clone(), broker_name.clone(), queue))
            .collect()
    });
    let client_ids = b.clients.lock().consumer_ids(&body.consumer_group);
    let assigned = queues.and_then(|queues| {
        assign(
            body.message_model.clone(),
            (mode.clone(), share),
            &body.strategy_name,
            &body.client_id,
            queues,
            client_ids,
        )
    });
    let response = QueryAssignmentResponseBody {
        message_queue_assignments: assigned.map(|queues| {
            queues
                .into_iter()
                .map(|queue| MessageQueueAssignment {
                    attachments: None,
                    message_queue: Some(queue),
                    mode: mode.clone(),
                })
                .collect()
        }),
    };
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(response.encode()))
}

/// SET_MESSAGE_REQUEST_MODE, with Java's refusals and remarks.
pub fn set_message_request_mode(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let body = SetMessageRequestModeRequestBody::decode(request.body.as_deref().unwrap_or_default())?;
    let refuse = |code, remark: String| Ok(RemotingCommand::response_to(request, code, Some(remark)));
    if body.topic.starts_with(RETRY_PREFIX) {
        return refuse(
            ResponseCode::NO_PERMISSION,
            "retry topic is not allowed to set mode".to_owned(),
        );
    }
    if b.topics.lock().get(&body.topic).is_none() {
        return refuse(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", body.topic),
        );
    }
    let config = b.config();
    let group =
        b.groups
            .lock()
            .find_or_auto_create(&body.consumer_group, config.auto_create_subscription_group, b.now_ms());
    if group.is_none() {
        return refuse(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "subscription group does not exist".to_owned(),
        );
    }
    if !b.request_modes.lock().set(body) {
        return refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the broker's request mode table is full: the limit is REQUEST_MODES_MAX = {}",
                crate::state::assignment::REQUEST_MODES_MAX
            ),
        );
    }
    crate::state::metadata::persist_request_modes(b)?;
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None))
}
