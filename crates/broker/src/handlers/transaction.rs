//! END_TRANSACTION (37): Java's `EndTransactionProcessor` (remoting.md §4.5).
//!
//! Order, as Java's: a slave answers SLAVE_NOT_AVAILABLE; an "unknown" decision (0) gets no
//! answer; the half message is read at `commitLogOffset`; a producer's own decision after the
//! message's immunity time is refused (ILLEGAL_OPERATION, the check asks again); producer group,
//! queue offset and commit-log offset must match the half record (SYSTEM_ERROR with Java's
//! remarks). A commit stores the real message, then the op record; a rollback stores only the op
//! record. One deliberate difference: Java would commit a half message twice (or commit one it
//! rolled back); we answer SUCCESS and change nothing once a decision is recorded.

use std::sync::Arc;

use ferrocket_net::ConnectionHandle;
use ferrocket_store::CommitLogOffset;
use ferrocket_wire::header::{CustomHeader, EndTransactionRequestHeader};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag::{TRANSACTION_COMMIT_TYPE, TRANSACTION_ROLLBACK_TYPE};
use ferrocket_wire::system_topics::TRANS_HALF_TOPIC;
use ferrocket_wire::{RemotingCommand, ResponseCode};

use crate::config::BrokerRole;
use crate::error::{BrokerError, PutMessageStatus, error_response, put_status_code};
use crate::handlers::Answer;
use crate::handlers::send::{park_timer, socket_addr};
use crate::state::Broker;
use crate::state::{schedule, transactions};

/// `TransactionalMessageServiceImpl.getHalfMessageByOffset`'s remark.
const HALF_NOT_FOUND: &str = "Find prepared transaction message failed";

/// END_TRANSACTION.
pub fn serve(broker: Arc<Broker>, request: RemotingCommand, _: ConnectionHandle) -> Answer {
    Box::pin(async move { end_transaction(&broker, &request).await })
}

async fn end_transaction(b: &Broker, request: &RemotingCommand) -> Option<RemotingCommand> {
    if b.config().broker_role == BrokerRole::Slave {
        return Some(RemotingCommand::response_to(
            request,
            ResponseCode::SLAVE_NOT_AVAILABLE,
            None,
        ));
    }
    let header = match EndTransactionRequestHeader::from_command(request) {
        Ok(header) => header,
        Err(error) => return Some(error_response(request, &BrokerError::from(error))),
    };
    let commit = match header.commit_or_rollback {
        TRANSACTION_COMMIT_TYPE => true,
        TRANSACTION_ROLLBACK_TYPE => false,
        // Still pending (or, impossible after the header check, anything else): Java says nothing.
        _ => return None,
    };
    let half = match find_half(b, &header) {
        Ok(half) => half,
        Err(response) => return Some(response.into_command(request)),
    };
    // A check's copy stands for the offset it copies: deciding one decides both.
    let offsets = decided_offsets(&half);
    // So is any other half message of the transaction (a Java broker's check copy names none).
    let key = transactions::transaction_key(&half);
    let claimed = b.transactions.lock().claim_all(&offsets, key);
    if !claimed {
        return Some(Reply::Success.into_command(request));
    }
    let reply = decide(b, &half, &offsets, commit).await;
    if reply != Reply::Success {
        release(b, &offsets, key);
    }
    Some(reply.into_command(request))
}

/// What END_TRANSACTION answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Success,
    SystemError(&'static str),
    /// `rejectCommitOrRollback`: Java answers ILLEGAL_OPERATION without a remark.
    TooLate,
    /// The real message could not be stored: the store's code and remark.
    PutFailed(ResponseCode, String),
}

impl Reply {
    fn into_command(self, request: &RemotingCommand) -> RemotingCommand {
        let (code, remark) = match self {
            Reply::Success => (ResponseCode::SUCCESS, None),
            Reply::SystemError(remark) => (ResponseCode::SYSTEM_ERROR, Some(remark.to_owned())),
            Reply::TooLate => (ResponseCode::ILLEGAL_OPERATION, None),
            Reply::PutFailed(code, remark) => (code, Some(remark)),
        };
        RemotingCommand::response_to(request, code, remark)
    }
}

/// The half message the header names, after `rejectCommitOrRollback` and `checkPrepareMessage`.
fn find_half(b: &Broker, header: &EndTransactionRequestHeader) -> Result<StoredMessage, Reply> {
    let offset = u64::try_from(header.commit_log_offset).map_err(|_| Reply::SystemError(HALF_NOT_FOUND))?;
    let half = b
        .store
        .read(|store| store.message_at(CommitLogOffset(offset)))
        .map(|record| record.message)
        .ok()
        .filter(|message| message.topic == TRANS_HALF_TOPIC)
        .ok_or(Reply::SystemError(HALF_NOT_FOUND))?;
    let too_late = transactions::decision_too_late(
        &half,
        header.from_transaction_check,
        i64::try_from(b.config().transaction_timeout_ms).unwrap_or(i64::MAX),
        b.now_ms(),
    );
    if too_late {
        return Err(Reply::TooLate);
    }
    if half.properties.get(keys::PGROUP) != Some(header.producer_group.as_str()) {
        return Err(Reply::SystemError("The producer group wrong"));
    }
    if half.queue_offset != header.tran_state_table_offset {
        return Err(Reply::SystemError("The transaction state table offset wrong"));
    }
    if half.physical_offset != header.commit_log_offset {
        return Err(Reply::SystemError("The commit log offset wrong"));
    }
    Ok(half)
}

fn decided_offsets(half: &StoredMessage) -> Vec<i64> {
    let original = transactions::original_offset(half);
    if original == half.queue_offset {
        vec![half.queue_offset]
    } else {
        vec![half.queue_offset, original]
    }
}

fn release(b: &Broker, offsets: &[i64], key: Option<&str>) {
    let mut decisions = b.transactions.lock();
    for offset in offsets {
        decisions.release(*offset, key);
    }
}

/// Stores the real message (commit) and the op record; the claim is held by the caller.
async fn decide(b: &Broker, half: &StoredMessage, offsets: &[i64], commit: bool) -> Reply {
    let body_bytes_max = b.config().store.body_bytes_max;
    if commit {
        let Some(mut real) = transactions::committed_message(half) else {
            return Reply::SystemError(HALF_NOT_FOUND);
        };
        // Java's put hooks run on the committed message: a timer or delay applies now.
        let config = b.config();
        if let Err(error) = park_timer(b, &config, &mut real, b.now_ms()) {
            return Reply::PutFailed(error.response_code(), error.to_string());
        }
        schedule::park_if_delayed(&mut real, &config.store.message_delay_levels_ms);
        let outcome = b.store.put(real).await;
        // Java's `sendFinalMessage`: stored is SUCCESS, whatever the flush or the slaves did.
        if outcome.result.is_none() {
            let status = PutMessageStatus::of(outcome.status, None);
            let error = put_status_code(status, outcome.error, body_bytes_max)
                .err()
                .unwrap_or(BrokerError::PutResultMissing);
            return Reply::PutFailed(error.response_code(), error.to_string());
        }
    }
    let store_host = socket_addr(b.address());
    let now_ms = b.now_ms();
    let op = transactions::op_message(offsets, store_host, now_ms);
    let outcome = b.store.put(op).await;
    if outcome.result.is_none() {
        // Java logs a failed op write and answers SUCCESS; a commit is already delivered, so
        // it keeps its claim, but a rollback may be decided again.
        tracing::warn!(offset = half.queue_offset, "transaction op record not stored");
        if !commit {
            release(b, offsets, transactions::transaction_key(half));
        }
    }
    Reply::Success
}
