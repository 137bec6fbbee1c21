//! RecallMessage over the broker's RECALL_MESSAGE, as Java 5.3.3's local-mode proxy serves it
//! (`RecallMessageActivity`, `ProducerProcessor.recallMessage`): the topic checked as every RPC
//! checks it, then its type must admit DELAY, then the handle is decoded here for the broker
//! name the request carries; every refusal of the broker comes back as a `ProxyException` with
//! INTERNAL_SERVER_ERROR and the broker's remark.

use ferrocket_broker::handlers::dispatch;
use ferrocket_broker::state::timer::recall;
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::header::{CustomHeader, RecallMessageRequestHeader, RecallMessageResponseHeader, TopicRpcFields};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tonic::Request;

use super::{Messaging, client_id, lock_table, peer};
use crate::proto::*;
use crate::route::TopicMessageType;
use crate::status::{ok, proxy_exception, status};

impl Messaging {
    pub(super) async fn recall_now(
        &self,
        request: Request<RecallMessageRequest>,
    ) -> Result<RecallMessageResponse, Status> {
        client_id(&request)?;
        let peer = peer(&request);
        let request = request.into_inner();
        let topic = request.topic.unwrap_or_default().name;
        self.check_topic(&topic)?;
        if self.options.check_message_type {
            let topic_type = lock_table(&self.broker)
                .get(&topic)
                .as_ref()
                .map_or(TopicMessageType::Unspecified, TopicMessageType::of_topic);
            topic_type.admits(TopicMessageType::Delay)?;
        }
        let handle = recall::decode(&request.recall_handle)
            .map_err(|message| proxy_exception(Code::InternalServerError, message))?;
        let header = RecallMessageRequestHeader {
            producer_group: None,
            topic,
            recall_handle: request.recall_handle,
            rpc: TopicRpcFields {
                broker_name: Some(handle.broker_name),
                ..TopicRpcFields::default()
            },
        };
        let command = RemotingCommand::request(RequestCode::RECALL_MESSAGE).with_ext_fields(header.to_ext_fields());
        let answer = dispatch(&self.broker, command, &ConnectionHandle::in_process(peer))
            .await
            .ok_or_else(|| status(Code::InternalServerError, "no answer from the broker"))?;
        if answer.response_code() != ResponseCode::SUCCESS {
            return Err(proxy_exception(
                Code::InternalServerError,
                answer.remark.as_deref().unwrap_or_default(),
            ));
        }
        let id = RecallMessageResponseHeader::from_command(&answer)
            .map_err(|error| proxy_exception(Code::InternalServerError, &error.to_string()))?;
        Ok(RecallMessageResponse {
            status: Some(ok()),
            message_id: id.msg_id,
        })
    }
}
