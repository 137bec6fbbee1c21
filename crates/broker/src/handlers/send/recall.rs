//! RECALL_MESSAGE (370, 5.3.2+): Java's `RecallMessageProcessor`. A producer takes back a
//! timer message before its time with the `recallHandle` the send returned: the broker checks
//! the handle (Java's order, codes and remarks, each a [`BrokerError`]) and parks a delete mark
//! for the same topic and time, which cancels the timer when its slot comes
//! (`state::timer::recall`, `state::timer::wheel::TimerWheel::settle`). Off unless
//! `recallMessageEnable`, as in Java.

use std::sync::Arc;

use ferrocket_net::ConnectionHandle;
use ferrocket_store::PutStatus;
use ferrocket_wire::header::{CustomHeader, RecallMessageRequestHeader, RecallMessageResponseHeader};
use ferrocket_wire::permissions::PERM_WRITE;
use ferrocket_wire::{ExtFields, RemotingCommand, ResponseCode};

use super::{REGION_ID, park_timer, socket_addr};
use crate::config::BrokerRole;
use crate::error::{BrokerError, BrokerResult, error_response};
use crate::handlers::Answer;
use crate::state::Broker;
use crate::state::timer::recall;

/// RECALL_MESSAGE.
pub fn serve(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move {
        let result = recall_message(&broker, &request, &connection).await;
        let response = match result {
            Ok(response) => response,
            Err(error) => error_response(&request, &error),
        };
        // Java adds the region to every answer, failures included.
        let mut fields = response.ext_fields.clone().unwrap_or_default();
        fields.insert("MSG_REGION", REGION_ID);
        Some(response.with_ext_fields(fields))
    })
}

async fn recall_message(
    b: &Broker,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = RecallMessageRequestHeader::from_command(request)?;
    let config = b.config();
    if !config.recall_message_enable {
        return Err(BrokerError::RecallForbidden);
    }
    if config.broker_role == BrokerRole::Slave {
        return Err(BrokerError::RecallUnavailable { on_slave: true });
    }
    if config.broker_permission & PERM_WRITE == 0 && !config.allow_recall_when_broker_not_writeable {
        return Err(BrokerError::RecallUnavailable { on_slave: false });
    }
    if !b.topics.lock().contains(&header.topic) {
        return Err(BrokerError::RecallTopicNotExist { topic: header.topic });
    }
    let handle = recall::decode(&header.recall_handle).map_err(|_| BrokerError::RecallHandleInvalid)?;
    if handle.topic != header.topic {
        return Err(BrokerError::RecallTopicMismatch);
    }
    if handle.broker_name != config.broker_name {
        return Err(BrokerError::RecallBrokerMismatch);
    }
    let now_ms = b.now_ms();
    // `NumberUtils.toLong(text, -1)`.
    let time_left_ms = handle.timestamp.parse::<i64>().unwrap_or(-1).saturating_sub(now_ms);
    if time_left_ms <= 0 || time_left_ms >= config.timer_max_delay_sec.saturating_mul(1_000) {
        return Err(BrokerError::RecallTimestampInvalid);
    }
    let mut mark = recall::delete_mark(
        &handle,
        header.producer_group.as_deref(),
        socket_addr(connection.peer_addr()),
        socket_addr(b.address()),
        now_ms,
    );
    park_timer(b, &config, &mut mark, now_ms).map_err(|_| BrokerError::RecallPutFailed)?;
    let outcome = b.store.put(mark).await;
    let stored = outcome.result.is_some() && matches!(outcome.status, PutStatus::PutOk | PutStatus::FlushDiskTimeout);
    if !stored {
        return Err(BrokerError::RecallPutFailed);
    }
    let answer = RecallMessageResponseHeader {
        msg_id: handle.message_id,
    };
    let mut fields = ExtFields::new();
    answer.write_to(&mut fields);
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(fields))
}
