//! `apache.rocketmq.v2.MessagingService` over the broker: every RPC reads the broker's tables or
//! hands a remoting request to the broker's own handlers (`handlers::dispatch`), as Java's
//! local-mode proxy calls the broker's processors in process. Failures are answered in band, as
//! Java's proxy does: gRPC OK with the code in `status` (see `status.rs`).
//!
//! Consumption (ReceiveMessage, AckMessage, ChangeInvisibleDuration) is `service/consume.rs`,
//! over the broker's POP entry points, and ForwardMessageToDeadLetterQueue over its
//! CONSUMER_SEND_MSG_BACK; RecallMessage over RECALL_MESSAGE (`service/recall.rs`). The lite-pull
//! set (PullMessage, UpdateOffset, GetOffset, QueryOffset) fails with gRPC UNIMPLEMENTED, as
//! 5.3.3's proxy, which does not serve it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ferrocket_broker::Broker;
use ferrocket_broker::handlers::dispatch_authorized as dispatch;
use ferrocket_broker::state::clients::ClientChannel;
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::codes::version;
use ferrocket_wire::header::{CustomHeader, EndTransactionRequestHeader};
use ferrocket_wire::message::OffsetMessageId;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::sysflag;
use ferrocket_wire::permissions::PERM_WRITE;
use ferrocket_wire::{LanguageCode, RemotingCommand, RequestCode};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Streaming};
use tracing::debug;

use crate::auth::{self, Needs};
use crate::clients::{Client, Clients, merged};
use crate::proto::messaging_service_server::MessagingService;
use crate::proto::telemetry_command::Command;
use crate::proto::*;
use crate::recover;
use crate::route::{self, TopicMessageType};
use crate::send::{self, SendLimits};
use crate::status::{ok, proxy_exception, status, topic_not_found};

mod consume;
mod recall;

/// The metadata key every 5.x client names itself with.
const CLIENT_ID_KEY: &str = "x-mq-client-id";
/// Prepared transactions remembered for EndTransaction; the oldest is forgotten beyond this
/// (Java's proxy keeps them for a bounded time too; the broker's check recovers a forgotten one).
pub const TRANSACTIONS_REMEMBERED_MAX: usize = 100_000;
/// Commands queued on one Telemetry stream.
const TELEMETRY_QUEUED_MAX: usize = 16;

/// What the endpoint needs besides the broker.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The port routes point at (Java: `grpcServerPort`).
    pub advertised_port: u16,
    pub limits: SendLimits,
    /// `enableTopicMessageTypeCheck`.
    pub check_message_type: bool,
}

/// A prepared (half) message, for its EndTransaction.
#[derive(Debug, Clone)]
struct HalfMessage {
    transaction_id: String,
    topic: String,
    commit_log_offset: i64,
    queue_offset: i64,
}

/// The service.
pub struct Messaging {
    broker: Arc<Broker>,
    options: ServiceOptions,
    clients: Mutex<Clients>,
    transactions: Mutex<VecDeque<HalfMessage>>,
    next_queue: AtomicU32,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

type Answer<T> = Result<Response<T>, tonic::Status>;

fn answer<T>(message: T) -> Answer<T> {
    Ok(Response::new(message))
}

fn client_id<T>(request: &Request<T>) -> Result<String, Status> {
    let id = request
        .metadata()
        .get(CLIENT_ID_KEY)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if id.trim().is_empty() {
        return Err(status(Code::ClientIdRequired, "client id cannot be empty"));
    }
    Ok(id.to_owned())
}

fn peer<T>(request: &Request<T>) -> String {
    request.remote_addr().map(|addr| addr.to_string()).unwrap_or_default()
}

/// What Java 5.3.3's proxy answers for an RPC its `GrpcMessagingApplication` does not override
/// (the lite-pull set): grpc-java's default, gRPC status UNIMPLEMENTED with this description.
fn unimplemented(method: &str) -> tonic::Status {
    tonic::Status::unimplemented(format!(
        "Method apache.rocketmq.v2.MessagingService/{method} is unimplemented"
    ))
}

fn not_served(what: &str) -> Status {
    status(Code::NotImplemented, format!("{what} is not served by this broker yet"))
}

impl Messaging {
    /// 5.x auth for one call (auth.rs): the in-band status to refuse it with, if any.
    fn refused<T: Needs>(&self, request: &Request<T>) -> Option<Status> {
        auth::check(&self.broker, request.metadata(), &peer(request), request.get_ref()).err()
    }

    pub fn new(broker: Arc<Broker>, options: ServiceOptions) -> Messaging {
        Messaging {
            broker,
            options,
            clients: Mutex::new(Clients::default()),
            transactions: Mutex::new(VecDeque::new()),
            next_queue: AtomicU32::new(0),
        }
    }

    fn check_topic(&self, topic: &str) -> Result<(), Status> {
        let is_system = lock_table(&self.broker).is_system_topic(topic);
        route::validate_topic(topic, is_system)
    }

    fn broker_entry(&self, endpoints: Option<&Endpoints>) -> crate::proto::Broker {
        route::broker_entry(
            &self.broker.config().broker_name,
            endpoints,
            self.options.advertised_port,
        )
    }

    fn query_route_now(&self, request: &Request<QueryRouteRequest>) -> Result<QueryRouteResponse, Status> {
        client_id(request)?;
        let topic = request.get_ref().topic.clone().unwrap_or_default();
        self.check_topic(&topic.name)?;
        let config = lock_table(&self.broker)
            .get(&topic.name)
            .ok_or_else(|| topic_not_found(&topic.name))?;
        let broker = self.broker_entry(request.get_ref().endpoints.as_ref());
        Ok(QueryRouteResponse {
            status: Some(ok()),
            message_queues: route::message_queues(&topic, &config, &broker),
        })
    }

    fn query_assignment_now(
        &self,
        request: &Request<QueryAssignmentRequest>,
    ) -> Result<QueryAssignmentResponse, Status> {
        client_id(request)?;
        let topic = request.get_ref().topic.clone().unwrap_or_default();
        self.check_topic(&topic.name)?;
        let group = request.get_ref().group.clone().unwrap_or_default();
        if group.name.trim().is_empty() {
            return Err(status(Code::IllegalConsumerGroup, "consumer group cannot be empty"));
        }
        let config = lock_table(&self.broker)
            .get(&topic.name)
            .ok_or_else(|| topic_not_found(&topic.name))?;
        let fifo = self
            .broker
            .groups
            .lock()
            .get(&group.name)
            .is_some_and(|group| group.consume_message_orderly);
        let broker = self.broker_entry(request.get_ref().endpoints.as_ref());
        let assignments = route::assignments(&topic, &config, &broker, fifo);
        if assignments.is_empty() {
            return Err(status(Code::Forbidden, "no readable queue"));
        }
        Ok(QueryAssignmentResponse {
            status: Some(ok()),
            assignments,
        })
    }

    async fn send_now(&self, request: Request<SendMessageRequest>) -> Result<SendMessageResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let messages = request.into_inner().messages;
        let first = messages
            .first()
            .ok_or_else(|| status(Code::MessageCorrupted, "no message to send"))?;
        let topic = first.topic.clone().unwrap_or_default();
        self.check_topic(&topic.name)?;
        let now_ms = self.broker.now_ms();
        let mut prepared = Vec::with_capacity(messages.len());
        for message in &messages {
            if message.topic.as_ref() != Some(&topic) {
                return Err(status(Code::MessageCorrupted, "topic in message is not same"));
            }
            prepared.push(send::prepare(
                message,
                &topic.name,
                &peer,
                now_ms,
                &self.options.limits,
            )?);
        }
        let [message] = prepared.as_slice() else {
            return Err(not_served("a batch of several messages"));
        };
        let config = lock_table(&self.broker).get(&topic.name);
        if self.options.check_message_type && !message.properties.contains_key(keys::TRANSFER_FLAG) {
            let topic_type = config
                .as_ref()
                .map_or(TopicMessageType::Unspecified, TopicMessageType::of_topic);
            topic_type.admits(TopicMessageType::of_message(&message.properties))?;
        }
        let config = config.ok_or_else(|| topic_not_found(&topic.name))?;
        let writable = if config.perm & PERM_WRITE != 0 {
            config.write_queue_nums.max(0)
        } else {
            0
        };
        if writable == 0 {
            return Err(proxy_exception(Code::Forbidden, "no writable queue"));
        }
        let queue_id = match &message.message_group {
            Some(group) => send::consistent_hash(i64::from(send::java_string_hash(group)), writable),
            None => {
                let turn = self.next_queue.fetch_add(1, Ordering::Relaxed);
                i32::try_from(turn % writable.unsigned_abs()).unwrap_or(0)
            }
        };
        let command = send::request_command(message, &topic.name, queue_id, now_ms)?;
        let connection = ConnectionHandle::in_process(peer);
        let answer = dispatch(&self.broker, command, &connection).await;
        let (response, outcome) = send::response(answer.as_ref(), &message.message_id);
        if message.sys_flag & sysflag::TRANSACTION_TYPE_MASK == sysflag::TRANSACTION_PREPARED_TYPE
            && let Some(outcome) = outcome
        {
            self.remember_half(&topic.name, outcome);
        }
        Ok(response)
    }

    fn remember_half(&self, topic: &str, outcome: send::SendOutcome) {
        let Some(transaction_id) = outcome.transaction_id.filter(|id| !id.is_empty()) else {
            return;
        };
        let Ok(offset_id) = OffsetMessageId::decode(&outcome.offset_message_id) else {
            debug!(
                id = outcome.offset_message_id,
                "a half message's offset id does not decode"
            );
            return;
        };
        self.remember(HalfMessage {
            transaction_id,
            topic: topic.to_owned(),
            commit_log_offset: offset_id.physical_offset,
            queue_offset: outcome.queue_offset,
        });
    }

    /// Keeps a half message's place (its send, or a broker check of it) for its EndTransaction;
    /// the oldest is forgotten beyond the limit.
    fn remember(&self, half: HalfMessage) {
        let mut transactions = lock(&self.transactions);
        if transactions.len() >= TRANSACTIONS_REMEMBERED_MAX {
            transactions.pop_front();
        }
        transactions.push_back(half);
    }

    async fn end_transaction_now(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> Result<EndTransactionResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let request = request.into_inner();
        let topic = request.topic.clone().unwrap_or_default();
        self.check_topic(&topic.name)?;
        if request.transaction_id.trim().is_empty() {
            return Err(status(Code::InvalidTransactionId, "transaction id cannot be empty"));
        }
        let half = {
            let mut transactions = lock(&self.transactions);
            let found = transactions
                .iter()
                .position(|half| half.transaction_id == request.transaction_id && half.topic == topic.name);
            found.and_then(|index| transactions.remove(index))
        };
        let half = half.ok_or_else(|| proxy_exception(Code::InternalServerError, "cannot found transaction data"))?;
        let commit_or_rollback = match TransactionResolution::try_from(request.resolution) {
            Ok(TransactionResolution::Commit) => sysflag::TRANSACTION_COMMIT_TYPE,
            Ok(TransactionResolution::Rollback) => sysflag::TRANSACTION_ROLLBACK_TYPE,
            _ => sysflag::TRANSACTION_NOT_TYPE,
        };
        let header = EndTransactionRequestHeader {
            topic: Some(topic.name.clone()),
            producer_group: topic.name.clone(),
            tran_state_table_offset: half.queue_offset,
            commit_log_offset: half.commit_log_offset,
            commit_or_rollback,
            from_transaction_check: request.source == TransactionSource::SourceServerCheck as i32,
            msg_id: request.message_id.clone(),
            transaction_id: Some(request.transaction_id.clone()),
            ..EndTransactionRequestHeader::default()
        };
        let command = RemotingCommand::request(RequestCode::END_TRANSACTION).with_ext_fields(header.to_ext_fields());
        // Java's local proxy sends it oneway and answers OK whatever the broker made of it.
        let answer = dispatch(&self.broker, command, &ConnectionHandle::in_process(peer)).await;
        if let Some(answer) = answer.filter(|answer| answer.code != 0) {
            debug!(code = answer.code, remark = ?answer.remark, "END_TRANSACTION refused");
        }
        Ok(EndTransactionResponse { status: Some(ok()) })
    }

    fn heartbeat_now(&self, request: &Request<HeartbeatRequest>) -> Result<HeartbeatResponse, Status> {
        let id = client_id(request)?;
        let client = lock(&self.clients).get(&id).cloned();
        if let Some(client) = &client {
            self.register_producer(&id, &peer(request), client);
        }
        let client_type = client.map(|client| client.settings.client_type());
        match client_type {
            None => Err(status(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            )),
            Some(ClientType::Producer | ClientType::PushConsumer | ClientType::SimpleConsumer) => {
                Ok(HeartbeatResponse { status: Some(ok()) })
            }
            Some(other) => Err(status(Code::UnrecognizedClientType, other.as_str_name())),
        }
    }

    fn terminate_now(
        &self,
        request: &Request<NotifyClientTerminationRequest>,
    ) -> Result<NotifyClientTerminationResponse, Status> {
        let id = client_id(request)?;
        let removed = lock(&self.clients).remove(&id);
        match removed {
            None => Err(status(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            )),
            Some(client) => {
                if let Some(connection) = &client.connection {
                    let mut registry = self.broker.clients.lock();
                    for topic in publishing_topics(&client.settings) {
                        registry.unregister_producer(&topic, connection);
                    }
                }
                Ok(NotifyClientTerminationResponse { status: Some(ok()) })
            }
        }
    }

    /// One command from a Telemetry stream: settings are recorded and answered with the merged
    /// ones; the client's reports (stack traces, verify results) need no answer.
    fn telemetry_command(
        self: &Arc<Self>,
        client_id: &str,
        peer: &str,
        command: TelemetryCommand,
        replies: &mpsc::Sender<Result<TelemetryCommand, tonic::Status>>,
    ) -> Result<Option<TelemetryCommand>, tonic::Status> {
        let Some(Command::Settings(settings)) = command.command else {
            return Ok(None);
        };
        let invalid = |message: String| {
            tonic::Status::invalid_argument(format!("process client telemetryCommand failed. {message}"))
        };
        match &settings.pub_sub {
            None => {
                return Err(tonic::Status::invalid_argument(
                    "there is no publishing or subscription data in settings",
                ));
            }
            Some(settings::PubSub::Publishing(publishing)) => {
                for topic in &publishing.topics {
                    self.check_topic(&topic.name)
                        .map_err(|status| invalid(status.message))?;
                }
            }
            Some(settings::PubSub::Subscription(subscription)) => {
                let group = subscription.group.clone().unwrap_or_default();
                if group.name.trim().is_empty() {
                    return Err(invalid("consumer group cannot be empty".to_owned()));
                }
            }
        }
        let mut answer = merged(
            &settings,
            self.options.check_message_type,
            self.options.limits.body_bytes_max,
        );
        if let Some(settings::PubSub::Subscription(subscription)) = &settings.pub_sub {
            let name = subscription.group.as_ref().map(|g| g.name.as_str()).unwrap_or_default();
            let group = self.broker.groups.lock().get(name).unwrap_or_default();
            answer = crate::clients::merged_subscription(&answer, &group);
        }
        let producer = matches!(settings.pub_sub, Some(settings::PubSub::Publishing(_)));
        if !lock(&self.clients).update(client_id, settings, replies.clone()) {
            return Err(tonic::Status::resource_exhausted("too many clients"));
        }
        if producer {
            self.connect_producer(client_id, peer);
        }
        Ok(Some(TelemetryCommand {
            status: Some(ok()),
            command: Some(Command::Settings(answer)),
        }))
    }
}

impl Messaging {
    /// A producer's in-process connection (made once per client) and the task that carries the
    /// broker's transaction checks sent to it onto the client's Telemetry stream.
    fn connect_producer(self: &Arc<Self>, client_id: &str, peer: &str) {
        let existing = lock(&self.clients)
            .get(client_id)
            .and_then(|client| client.connection.clone());
        if existing.is_none() {
            let (connection, mut requests) = ConnectionHandle::in_process_with_requests(peer.to_owned());
            if !lock(&self.clients).set_connection(client_id, connection) {
                return;
            }
            let service = Arc::clone(self);
            let client = client_id.to_owned();
            tokio::spawn(async move {
                while let Some(request) = requests.next().await {
                    let Some((command, checked)) = recover::recover_command(&request) else {
                        debug!(
                            code = request.code,
                            client, "a broker request a gRPC client cannot take"
                        );
                        continue;
                    };
                    service.remember(HalfMessage {
                        transaction_id: checked.transaction_id,
                        topic: checked.topic,
                        commit_log_offset: checked.commit_log_offset,
                        queue_offset: checked.queue_offset,
                    });
                    // The client's current stream, looked up each time: holding a sender here
                    // would keep an ended stream open.
                    let stream = lock(&service.clients).get(&client).and_then(|c| c.telemetry.clone());
                    let sent = match stream {
                        Some(stream) => stream.send(Ok(command)).await.is_ok(),
                        None => false,
                    };
                    if !sent {
                        debug!(client, "transaction check dropped: no open Telemetry stream");
                    }
                }
            });
        }
        let client = lock(&self.clients).get(client_id).cloned();
        if let Some(client) = client {
            self.register_producer(client_id, peer, &client);
        }
    }

    /// Java's `registerProducer` for each topic a producer publishes to (the topic is the group).
    fn register_producer(&self, client_id: &str, peer: &str, client: &Client) {
        let Some(connection) = &client.connection else {
            return;
        };
        let now_ms = self.broker.now_ms();
        let mut registry = self.broker.clients.lock();
        for topic in publishing_topics(&client.settings) {
            registry.register_producer(
                &topic,
                ClientChannel {
                    channel: connection.clone(),
                    client_id: client_id.to_owned(),
                    client_addr: peer.to_owned(),
                    language: LanguageCode::JAVA,
                    version: version::V5_0_0,
                    last_update_ms: now_ms,
                },
            );
        }
    }
}

fn publishing_topics(settings: &Settings) -> Vec<String> {
    match &settings.pub_sub {
        Some(settings::PubSub::Publishing(publishing)) => {
            publishing.topics.iter().map(|topic| topic.name.clone()).collect()
        }
        _ => Vec::new(),
    }
}

fn lock_table(broker: &Broker) -> MutexGuard<'_, ferrocket_broker::state::topics::TopicTable> {
    broker.topics.lock()
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// A server stream of one answer (a refusal of ReceiveMessage).
fn one<T: Send + 'static>(item: T) -> Stream_<T> {
    Box::pin(tokio_stream::once(Ok(item)))
}

#[tonic::async_trait]
impl MessagingService for Arc<Messaging> {
    async fn query_route(&self, request: Request<QueryRouteRequest>) -> Answer<QueryRouteResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(QueryRouteResponse {
                status: Some(status),
                ..Default::default()
            });
        }
        answer(
            self.query_route_now(&request)
                .unwrap_or_else(|status| QueryRouteResponse {
                    status: Some(status),
                    message_queues: Vec::new(),
                }),
        )
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> Answer<HeartbeatResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(HeartbeatResponse { status: Some(status) });
        }
        answer(
            self.heartbeat_now(&request)
                .unwrap_or_else(|status| HeartbeatResponse { status: Some(status) }),
        )
    }

    async fn send_message(&self, request: Request<SendMessageRequest>) -> Answer<SendMessageResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(send::failed(status));
        }
        answer(self.send_now(request).await.unwrap_or_else(send::failed))
    }

    async fn query_assignment(&self, request: Request<QueryAssignmentRequest>) -> Answer<QueryAssignmentResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(QueryAssignmentResponse {
                status: Some(status),
                ..Default::default()
            });
        }
        answer(
            self.query_assignment_now(&request)
                .unwrap_or_else(|status| QueryAssignmentResponse {
                    status: Some(status),
                    assignments: Vec::new(),
                }),
        )
    }

    type ReceiveMessageStream = Stream_<ReceiveMessageResponse>;

    async fn receive_message(&self, request: Request<ReceiveMessageRequest>) -> Answer<Self::ReceiveMessageStream> {
        if let Some(status) = self.refused(&request) {
            return answer(one(ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Status(status)),
            }));
        }
        let frames = self.receive_now(request).await;
        answer(Box::pin(tokio_stream::iter(frames.into_iter().map(Ok))))
    }

    async fn ack_message(&self, request: Request<AckMessageRequest>) -> Answer<AckMessageResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(AckMessageResponse {
                status: Some(status),
                ..Default::default()
            });
        }
        answer(self.ack_now(request).await.unwrap_or_else(|status| AckMessageResponse {
            status: Some(status),
            entries: Vec::new(),
        }))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Answer<ForwardMessageToDeadLetterQueueResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(ForwardMessageToDeadLetterQueueResponse { status: Some(status) });
        }
        answer(
            self.forward_now(request)
                .await
                .unwrap_or_else(|status| ForwardMessageToDeadLetterQueueResponse { status: Some(status) }),
        )
    }

    type PullMessageStream = Stream_<PullMessageResponse>;

    async fn pull_message(&self, _request: Request<PullMessageRequest>) -> Answer<Self::PullMessageStream> {
        Err(unimplemented("PullMessage"))
    }

    async fn update_offset(&self, _request: Request<UpdateOffsetRequest>) -> Answer<UpdateOffsetResponse> {
        Err(unimplemented("UpdateOffset"))
    }

    async fn get_offset(&self, _request: Request<GetOffsetRequest>) -> Answer<GetOffsetResponse> {
        Err(unimplemented("GetOffset"))
    }

    async fn query_offset(&self, _request: Request<QueryOffsetRequest>) -> Answer<QueryOffsetResponse> {
        Err(unimplemented("QueryOffset"))
    }

    async fn end_transaction(&self, request: Request<EndTransactionRequest>) -> Answer<EndTransactionResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(EndTransactionResponse { status: Some(status) });
        }
        answer(
            self.end_transaction_now(request)
                .await
                .unwrap_or_else(|status| EndTransactionResponse { status: Some(status) }),
        )
    }

    type TelemetryStream = Stream_<TelemetryCommand>;

    async fn telemetry(&self, request: Request<Streaming<TelemetryCommand>>) -> Answer<Self::TelemetryStream> {
        let id = client_id(&request).map_err(|status| tonic::Status::invalid_argument(status.message))?;
        let peer = peer(&request);
        let metadata = request.metadata().clone();
        let mut inbound = request.into_inner();
        let (replies, outbound) = mpsc::channel(TELEMETRY_QUEUED_MAX);
        let service = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let command = match inbound.message().await {
                    Ok(Some(command)) => command,
                    Ok(None) => break,
                    Err(error) => {
                        debug!(%error, client = id, "telemetry stream failed");
                        break;
                    }
                };
                // Java runs its auth pipeline on each command and answers a refusal on the stream.
                if let Err(status) = auth::check(&service.broker, &metadata, &peer, &command) {
                    if replies
                        .send(Ok(TelemetryCommand {
                            status: Some(status),
                            command: None,
                        }))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    continue;
                }
                let reply = service.telemetry_command(&id, &peer, command, &replies);
                let stop = reply.is_err();
                if let Some(reply) = reply.transpose()
                    && replies.send(reply).await.is_err()
                {
                    break;
                }
                if stop {
                    break;
                }
            }
            lock(&service.clients).clear_telemetry(&id, &replies);
        });
        answer(Box::pin(ReceiverStream::new(outbound)))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> Answer<NotifyClientTerminationResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(NotifyClientTerminationResponse { status: Some(status) });
        }
        answer(
            self.terminate_now(&request)
                .unwrap_or_else(|status| NotifyClientTerminationResponse { status: Some(status) }),
        )
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Answer<ChangeInvisibleDurationResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(ChangeInvisibleDurationResponse {
                status: Some(status),
                ..Default::default()
            });
        }
        answer(
            self.change_now(request)
                .await
                .unwrap_or_else(|status| ChangeInvisibleDurationResponse {
                    status: Some(status),
                    receipt_handle: String::new(),
                }),
        )
    }

    async fn recall_message(&self, request: Request<RecallMessageRequest>) -> Answer<RecallMessageResponse> {
        if let Some(status) = self.refused(&request) {
            return answer(RecallMessageResponse {
                status: Some(status),
                message_id: String::new(),
            });
        }
        answer(
            self.recall_now(request)
                .await
                .unwrap_or_else(|status| RecallMessageResponse {
                    status: Some(status),
                    message_id: String::new(),
                }),
        )
    }

    /// Not in 5.3.3's rocketmq-proto 2.0.4, so its proxy has no such method (grpc-java's answer).
    async fn sync_lite_subscription(
        &self,
        _request: Request<SyncLiteSubscriptionRequest>,
    ) -> Answer<SyncLiteSubscriptionResponse> {
        Err(tonic::Status::unimplemented(
            "Method not found: apache.rocketmq.v2.MessagingService/SyncLiteSubscription",
        ))
    }
}
