//! Transactional sends (Java's `TransactionMQProducer`): a half message the broker keeps from
//! consumers until the producer commits or rolls it back, and the check a broker makes when no
//! decision came in time.
//!
//! [`Producer::send_in_transaction`] sends the message with `TRAN_MSG=true` and `PGROUP` (so
//! the broker stores it as a half message), runs the caller's local transaction, and sends
//! END_TRANSACTION (oneway, as Java) with its outcome: 8 commit, 12 rollback, 0 unknown. For an
//! unknown or lost outcome the broker later sends CHECK_TRANSACTION_STATE with the half message
//! to a producer of the group; the [`TransactionChecker`] given to
//! [`Producer::start_transactional`] decides, and the answer goes back on the same connection
//! with `fromTransactionCheck=true`.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::{ConnectionHandle, Router};
use ferrocket_wire::header::{
    CheckTransactionStateRequestHeader, CustomHeader, EndTransactionRequestHeader, RpcFields,
};
use ferrocket_wire::message::properties::keys as names;
use ferrocket_wire::message::{OffsetMessageId, StoredMessage, sysflag};
use ferrocket_wire::{RemotingCommand, RequestCode};
use tracing::warn;

use crate::error::{ClientError, ClientResult};
use crate::message::{Message, ReceivedMessage, SendResult, SendStatus};
use crate::producer::{Producer, ProducerOptions};

/// Java's `endTransactionOneway` timeout.
pub const END_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(3);

/// A local transaction's outcome (`LocalTransactionState`).
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions, ReceivedMessage, TransactionState};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let options = ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "tx-demo");
/// // What the broker is told when it asks about a half message whose outcome it never heard.
/// let producer = Producer::start_transactional(options, |_: &ReceivedMessage| TransactionState::Commit)?;
/// let (_sent, state) = producer
///     .send_in_transaction(Message::new("Orders", "paid"), |_| TransactionState::Commit)
///     .await?;
/// assert_eq!(state, TransactionState::Commit);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Deliver the message.
    Commit,
    /// Drop the message.
    Rollback,
    /// Not decided yet: the broker will ask again through the checker.
    Unknown,
}

impl TransactionState {
    /// `commitOrRollback` on the wire.
    fn flag(self) -> i32 {
        match self {
            TransactionState::Commit => sysflag::TRANSACTION_COMMIT_TYPE,
            TransactionState::Rollback => sysflag::TRANSACTION_ROLLBACK_TYPE,
            TransactionState::Unknown => sysflag::TRANSACTION_NOT_TYPE,
        }
    }
}

/// Decides a half message the broker asks about (Java's `checkLocalTransaction`).
pub trait TransactionChecker: Send + Sync + 'static {
    /// The state of the local transaction that sent `message`.
    fn check(&self, message: &ReceivedMessage) -> TransactionState;
}

impl<F> TransactionChecker for F
where
    F: Fn(&ReceivedMessage) -> TransactionState + Send + Sync + 'static,
{
    fn check(&self, message: &ReceivedMessage) -> TransactionState {
        self(message)
    }
}

impl Producer {
    /// Starts a producer that answers the brokers' transaction checks with `checker`.
    ///
    /// ```no_run
    /// use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions, TransactionState};
    ///
    /// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
    /// let options = ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "payments");
    /// let producer = Producer::start_transactional(options, |_half: &ferrocket_client::ReceivedMessage| {
    ///     TransactionState::Commit
    /// })?;
    /// let (sent, state) = producer
    ///     .send_in_transaction(Message::new("Payments", "debit 10"), |_sent| TransactionState::Commit)
    ///     .await?;
    /// assert_eq!(state, TransactionState::Commit);
    /// # let _ = sent; Ok(()) }
    /// ```
    pub fn start_transactional(options: ProducerOptions, checker: impl TransactionChecker) -> ClientResult<Producer> {
        let group = options.group.clone();
        let checker = Arc::new(checker);
        let handler = move |request: RemotingCommand, connection: ConnectionHandle| {
            let (group, checker) = (group.clone(), Arc::clone(&checker));
            async move {
                if let Err(error) = answer_check(&request, &connection, &group, checker.as_ref()).await {
                    warn!(peer = connection.peer_addr(), %error, "transaction check not answered");
                }
                None
            }
        };
        let router = Router::new().route(RequestCode::CHECK_TRANSACTION_STATE, handler);
        Producer::start_with_router(options, router)
    }

    /// Sends `message` as a half message, runs `local_transaction` once the broker stored it, and
    /// tells the broker the outcome. A half message the broker did not store as SEND_OK is
    /// rolled back without running the local transaction, as Java does.
    pub async fn send_in_transaction(
        &self,
        mut message: Message,
        local_transaction: impl FnOnce(&SendResult) -> TransactionState,
    ) -> ClientResult<(SendResult, TransactionState)> {
        if message.property(names::DELAY).is_some() || message.property(names::TIMER_DELIVER_MS).is_some() {
            return Err(ClientError::Invalid {
                what: "transactional message",
                reason: "cannot be delayed".into(),
            });
        }
        message.properties_mut().insert(names::TRAN_MSG, "true");
        message.properties_mut().insert(names::PGROUP, self.group());
        let sent = self.send(message).await?;
        let state = if sent.status == SendStatus::Ok {
            local_transaction(&sent)
        } else {
            TransactionState::Rollback
        };
        let commit_log_offset = OffsetMessageId::decode(&sent.offset_msg_id)?.physical_offset;
        let header = EndTransactionRequestHeader {
            topic: Some(sent.topic.clone()),
            producer_group: self.group().to_owned(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.flag(),
            from_transaction_check: false,
            msg_id: sent.msg_id.clone(),
            transaction_id: sent.transaction_id.clone(),
            rpc: RpcFields {
                broker_name: Some(sent.broker_name.clone()),
                ..RpcFields::default()
            },
        };
        let addr = self
            .cluster()
            .broker_addr(&sent.broker_name)
            .ok_or_else(|| ClientError::NoBrokerAddress {
                broker_name: sent.broker_name.clone(),
            })?;
        let request = RemotingCommand::request(RequestCode::END_TRANSACTION).with_ext_fields(header.to_ext_fields());
        self.cluster().oneway(&addr, request, END_TRANSACTION_TIMEOUT).await?;
        Ok((sent, state))
    }
}

/// Runs the checker on a CHECK_TRANSACTION_STATE and sends END_TRANSACTION back on `connection`.
async fn answer_check(
    request: &RemotingCommand,
    connection: &ConnectionHandle,
    group: &str,
    checker: &dyn TransactionChecker,
) -> ClientResult<()> {
    let header = CheckTransactionStateRequestHeader::from_command(request)?;
    let body = request.body.clone().unwrap_or_default();
    let (stored, _) = StoredMessage::decode(&body)?;
    let broker_name = header.rpc.broker_name.clone().unwrap_or_default();
    let message = ReceivedMessage::from_stored(stored, &broker_name)?;
    let state = checker.check(&message);
    let msg_id = message.msg_id().to_owned();
    let answer = EndTransactionRequestHeader {
        topic: Some(message.topic.clone()),
        producer_group: group.to_owned(),
        tran_state_table_offset: header.tran_state_table_offset,
        commit_log_offset: header.commit_log_offset,
        commit_or_rollback: state.flag(),
        from_transaction_check: true,
        msg_id,
        transaction_id: header.transaction_id,
        rpc: RpcFields {
            broker_name: header.rpc.broker_name,
            ..RpcFields::default()
        },
    };
    let end = RemotingCommand::request(RequestCode::END_TRANSACTION).with_ext_fields(answer.to_ext_fields());
    connection.oneway(end, END_TRANSACTION_TIMEOUT).await?;
    Ok(())
}
