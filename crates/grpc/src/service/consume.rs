//! The consuming RPCs (ReceiveMessage, AckMessage, ChangeInvisibleDuration) over the broker's
//! own POP code, called in process as Java's local-mode proxy calls the broker's processors;
//! the translation is `receive.rs`.

use ferrocket_broker::BrokerError;
use ferrocket_broker::handlers::{dispatch_authorized as dispatch, pop, pop_ack};
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::header::CustomHeader;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tonic::Request;

use super::{Messaging, client_id, lock, lock_table, peer};
use crate::proto::receive_message_response::Content;
use crate::proto::*;
use crate::receive::{self, ReceiptHandle};
use crate::status::{ok, proxy_exception, status, topic_not_found};

/// A broker refusal as local mode reports it: `ProxyException(INTERNAL_SERVER_ERROR, remark)`.
fn refused(error: &BrokerError) -> Status {
    proxy_exception(Code::InternalServerError, &error.to_string())
}

/// The call's deadline as the client set it (gRPC over HTTP/2).
const GRPC_TIMEOUT_KEY: &str = "grpc-timeout";
/// The 5.x client's version (Java's `GrpcConstants.CLIENT_VERSION`).
const CLIENT_VERSION_KEY: &str = "x-mq-client-version";

fn frame(content: Content) -> ReceiveMessageResponse {
    ReceiveMessageResponse { content: Some(content) }
}

impl Messaging {
    fn consumer_group(&self, group: Option<&Resource>) -> Result<String, Status> {
        let name = group.map(|g| g.name.clone()).unwrap_or_default();
        if name.trim().is_empty() {
            return Err(status(Code::IllegalConsumerGroup, "consumer group cannot be empty"));
        }
        if name.starts_with("CID_RMQ_SYS_") {
            return Err(status(Code::IllegalConsumerGroup, "cannot use system consumer group"));
        }
        Ok(name)
    }

    fn consumed_topic(&self, topic: Option<&Resource>) -> Result<String, Status> {
        let name = topic.map(|t| t.name.clone()).unwrap_or_default();
        self.check_topic(&name)?;
        if lock_table(&self.broker).get(&name).is_none() {
            return Err(topic_not_found(&name));
        }
        Ok(name)
    }

    /// The frames of one receive: a status, the messages, then (always) the delivery timestamp.
    pub(super) async fn receive_now(&self, request: Request<ReceiveMessageRequest>) -> Vec<ReceiveMessageResponse> {
        let mut frames = match self.receive_messages(request).await {
            Ok((first, messages)) => {
                let mut frames = vec![frame(Content::Status(first))];
                frames.extend(messages.into_iter().map(|m| frame(Content::Message(m))));
                frames
            }
            Err(failure) => vec![frame(Content::Status(failure))],
        };
        let now_ms = self.broker.now_ms();
        frames.push(frame(Content::DeliveryTimestamp(prost_types::Timestamp {
            seconds: now_ms.div_euclid(1000),
            nanos: i32::try_from(now_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        })));
        frames
    }

    async fn receive_messages(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Result<(Status, Vec<Message>), Status> {
        let id = client_id(&request)?;
        let peer = peer(&request);
        let budget_of = |request: &Request<ReceiveMessageRequest>| {
            let header = |key: &str| request.metadata().get(key).and_then(|v| v.to_str().ok());
            let request_timeout = lock(&self.clients)
                .settings(&id)
                .and_then(|settings| settings.request_timeout.as_ref())
                .map_or(receive::CLIENT_REQUEST_TIMEOUT_MS, |d| receive::duration_ms(Some(d)));
            (
                header(GRPC_TIMEOUT_KEY).and_then(receive::grpc_timeout_ms),
                request_timeout,
                header(CLIENT_VERSION_KEY).unwrap_or_default().to_owned(),
            )
        };
        let (remaining_ms, request_timeout_ms, client_version) = budget_of(&request);
        let request = request.into_inner();
        // Java checks the deadline before anything else in the request.
        let polling_ms = receive::polling_ms(
            &request,
            receive::CallBudget {
                remaining_ms,
                request_timeout_ms,
                client_version: &client_version,
            },
        )?;
        let topic = self.consumed_topic(request.message_queue.as_ref().and_then(|q| q.topic.as_ref()))?;
        let group = self.consumer_group(request.group.as_ref())?;
        let invisible_ms = if request.auto_renew {
            // Java renews such a message in the background (`enableProxyAutoRenew`); ours gives
            // it the default invisible time once.
            receive::AUTO_RENEW_INVISIBLE_MS
        } else {
            let asked = receive::duration_ms(request.invisible_duration.as_ref());
            receive::check_invisible(asked, receive::RECEIVE_INVISIBLE_MS_MIN)?;
            asked
        };
        let group_config = self.broker.groups.lock().get(&group).unwrap_or_default();
        let fifo = group_config.consume_message_orderly;
        let header = receive::pop_header(
            &request,
            (&group, &topic),
            (invisible_ms, polling_ms),
            fifo,
            self.broker.now_ms(),
        );
        let answer = pop::pop(&self.broker, header, &peer, std::future::pending())
            .await
            .map_err(|error| refused(&error))?;
        let messages = receive::messages(&answer, &self.broker.config().broker_name);
        // `PopMessageResultFilterImpl`: a message popped `maxAttempts` times already goes to the
        // DLQ instead of the client.
        let max_attempts = group_config.retry_max_times.saturating_add(1);
        let (messages, dead) = receive::split_dead(messages, max_attempts);
        for message in &dead {
            let system = message.system_properties.clone().unwrap_or_default();
            let Ok(handle) = ReceiptHandle::decode(system.receipt_handle.as_deref().unwrap_or_default()) else {
                continue;
            };
            match self.forward(&handle, (&topic, &group), &system.message_id, &peer).await {
                Ok(done) if done.code == Code::Ok as i32 => {}
                outcome => tracing::debug!(?outcome, "a message past its attempts was not forwarded to the DLQ"),
            }
        }
        Ok((receive::pop_status(answer.code, messages.len()), messages))
    }

    pub(super) async fn ack_now(&self, request: Request<AckMessageRequest>) -> Result<AckMessageResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let request = request.into_inner();
        let topic = self.consumed_topic(request.topic.as_ref())?;
        let group = self.consumer_group(request.group.as_ref())?;
        let mut entries = Vec::with_capacity(request.entries.len());
        for entry in &request.entries {
            let outcome = self.ack_one(&entry.receipt_handle, (&topic, &group), &peer).await;
            entries.push(receive::ack_entry(&entry.message_id, &entry.receipt_handle, outcome));
        }
        Ok(AckMessageResponse {
            status: Some(receive::ack_status(&entries)),
            entries,
        })
    }

    async fn ack_one(&self, handle: &str, (topic, group): (&str, &str), peer: &str) -> Result<(), Status> {
        let handle = ReceiptHandle::decode(handle)?;
        handle.check_fresh(self.broker.now_ms())?;
        pop_ack::ack_message(&self.broker, &handle.ack_header(topic, group), peer)
            .await
            .map(|_| ())
            .map_err(|error| refused(&error))
    }

    /// Java's ChangeInvisibleDuration, except that a message no longer in flight (acked or
    /// revived) is refused: Java accepts it and brings an acknowledged message back.
    pub(super) async fn change_now(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Result<ChangeInvisibleDurationResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let request = request.into_inner();
        let topic = self.consumed_topic(request.topic.as_ref())?;
        let group = self.consumer_group(request.group.as_ref())?;
        let invisible_ms = receive::duration_ms(request.invisible_duration.as_ref());
        receive::check_invisible(invisible_ms, 0)?;
        let handle = ReceiptHandle::decode(&request.receipt_handle)?;
        handle.check_fresh(self.broker.now_ms())?;
        let header = handle.change_header(&topic, &group, invisible_ms);
        let place = (group.as_str(), header.topic.as_str(), header.queue_id);
        if !handle.receipt.is_order() && !pop_ack::in_flight(&self.broker, place, &handle.receipt, header.offset) {
            return Err(status(
                Code::InvalidReceiptHandle,
                "the message is acknowledged or no longer in flight",
            ));
        }
        let changed = pop_ack::change_invisible_time(&self.broker, &header, &peer)
            .await
            .map_err(|error| refused(&error))?;
        match changed {
            pop_ack::Changed::To(answer) => Ok(ChangeInvisibleDurationResponse {
                status: Some(ok()),
                receipt_handle: handle.changed(answer.pop_time, answer.invisible_time, answer.revive_qid),
            }),
            pop_ack::Changed::NoMessage => Err(proxy_exception(Code::InternalServerError, "no message")),
            pop_ack::Changed::NotStored => Err(proxy_exception(Code::InternalServerError, "system error")),
        }
    }

    /// Java's `ProducerProcessor.forwardMessageToDeadLetterQueue`: CONSUMER_SEND_MSG_BACK with
    /// delay level -1 (straight to the group's DLQ) through the broker's own handler, then an ack
    /// of the receipt when the broker took it; the status is the broker's code and remark.
    pub(super) async fn forward_now(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<ForwardMessageToDeadLetterQueueResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let request = request.into_inner();
        let topic = self.consumed_topic(request.topic.as_ref())?;
        let group = self.consumer_group(request.group.as_ref())?;
        let handle = ReceiptHandle::decode(&request.receipt_handle)?;
        Ok(ForwardMessageToDeadLetterQueueResponse {
            status: Some(
                self.forward(&handle, (&topic, &group), &request.message_id, &peer)
                    .await?,
            ),
        })
    }

    async fn forward(
        &self,
        handle: &ReceiptHandle,
        (topic, group): (&str, &str),
        message_id: &str,
        peer: &str,
    ) -> Result<Status, Status> {
        let header = receive::send_back_header(handle, (topic, group), message_id)?;
        let command =
            RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK).with_ext_fields(header.to_ext_fields());
        let answer = dispatch(&self.broker, command, &ConnectionHandle::in_process(peer.to_owned())).await;
        let Some(answer) = answer else {
            return Err(status(Code::InternalServerError, "no answer from the broker"));
        };
        if answer.response_code() == ResponseCode::SUCCESS
            && let Err(error) = pop_ack::ack_message(&self.broker, &handle.ack_header(topic, group), peer).await
        {
            tracing::debug!(%error, "the ack after a forward to the DLQ failed");
        }
        Ok(receive::remoting_status(
            answer.response_code(),
            answer.code,
            answer.remark.as_deref(),
        ))
    }
}
