//! Reading one queue for a group: PULL_MESSAGE, and the consumer-offset calls around it
//! (QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET, UPDATE_CONSUMER_OFFSET) and
//! CONSUMER_SEND_MSG_BACK. Shared by the pull and push consumers.
//!
//! Every pull carries its subscription (sysFlag bit 0x4), so a broker filters by the request's
//! tags whether or not it has seen this client's heartbeat, as Java's lite-pull consumer does.

use std::time::Duration;

use ferrocket_wire::body::MessageQueue;
use ferrocket_wire::header::{
    ConsumerSendMsgBackRequestHeader, CustomHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, TopicRpcFields,
    UpdateConsumerOffsetRequestHeader,
};
use ferrocket_wire::message::decode_all;
use ferrocket_wire::message::properties::keys as names;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

use crate::cluster::{Cluster, expect_success};
use crate::error::{ClientError, ClientResult};
use crate::filter::Filter;
use crate::message::ReceivedMessage;

/// `PullSysFlag` bits.
const PULL_COMMIT_OFFSET: i32 = 0x1;
const PULL_SUSPEND: i32 = 0x2;
const PULL_SUBSCRIPTION: i32 = 0x4;
/// Java's `maxReconsumeTimes` default: after 16 retries a message goes to the DLQ.
pub const MAX_RECONSUME_TIMES: i32 = 16;

/// Where a group with no committed offset starts reading a queue (`ConsumeFromWhere`).
///
/// ```
/// use ferrocket_client::{ClientOptions, PushConsumerOptions, StartFrom};
///
/// let mut options = PushConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "billing").subscribe("Orders", "*");
/// assert_eq!(options.start_from, StartFrom::LastOffset, "Java's default");
/// options.start_from = StartFrom::FirstOffset; // a new group reads the backlog too
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartFrom {
    /// The queue's end: only messages sent from now on (Java's default).
    #[default]
    LastOffset,
    /// The queue's first message still stored.
    FirstOffset,
}

/// What one pull found.
#[derive(Debug)]
pub(crate) enum Pulled {
    /// Messages (possibly none left after tag filtering) and where to pull next.
    Found(Vec<ReceivedMessage>, i64),
    /// Nothing new, or nothing matching: pull again from `next`.
    Nothing(i64),
    /// The offset was outside the queue; the broker suggests `next`.
    OffsetMoved(i64),
}

/// One pull request's parameters.
pub(crate) struct PullRequest<'a> {
    pub group: &'a str,
    pub queue: &'a MessageQueue,
    pub offset: i64,
    pub max_messages: i32,
    pub filter: &'a Filter,
    /// Commit this offset along with the pull (push consumers, clustering).
    pub commit_offset: Option<i64>,
    /// Let the broker hold the pull this long (long polling); zero for none.
    pub suspend: Duration,
}

/// Pulls once from the queue's master; the call's own timeout is the suspend time plus `timeout`.
pub(crate) async fn pull(cluster: &Cluster, request: PullRequest<'_>, timeout: Duration) -> ClientResult<Pulled> {
    let queue = request.queue;
    let addr = subscribe_addr(cluster, &queue.broker_name)?;
    let mut sys_flag = PULL_SUBSCRIPTION;
    if request.commit_offset.is_some() {
        sys_flag |= PULL_COMMIT_OFFSET;
    }
    if !request.suspend.is_zero() {
        sys_flag |= PULL_SUSPEND;
    }
    let header = PullMessageRequestHeader {
        consumer_group: request.group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        queue_offset: request.offset,
        max_msg_nums: request.max_messages,
        sys_flag,
        commit_offset: request.commit_offset.unwrap_or(0),
        suspend_timeout_millis: i64::try_from(request.suspend.as_millis()).unwrap_or(i64::MAX),
        subscription: Some(request.filter.expression().to_owned()),
        sub_version: 0,
        expression_type: Some(request.filter.expression_type().into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
        rpc: topic_rpc(&queue.broker_name),
    };
    let command = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(header.to_ext_fields());
    let response = cluster.invoke(&addr, command, request.suspend + timeout).await?;
    let code = response.response_code();
    if !matches!(
        code,
        ResponseCode::SUCCESS
            | ResponseCode::PULL_NOT_FOUND
            | ResponseCode::PULL_RETRY_IMMEDIATELY
            | ResponseCode::PULL_OFFSET_MOVED
    ) {
        return Err(ClientError::Refused {
            addr,
            code,
            remark: response.remark.unwrap_or_default(),
        });
    }
    let answer = PullMessageResponseHeader::from_command(&response)?;
    let next = answer.next_begin_offset;
    match code {
        ResponseCode::SUCCESS => {
            let body = response.body.unwrap_or_default();
            let decoded = decode_all(&body);
            let mut messages = Vec::with_capacity(decoded.messages.len());
            for stored in decoded.messages {
                let message = ReceivedMessage::from_stored(stored, &queue.broker_name)?;
                // The broker filters by tag hash only; Java's client re-checks the tag itself.
                if request.filter.admits(message.tags()) {
                    messages.push(message);
                }
            }
            Ok(Pulled::Found(messages, next))
        }
        ResponseCode::PULL_OFFSET_MOVED => Ok(Pulled::OffsetMoved(next)),
        _ => Ok(Pulled::Nothing(next)),
    }
}

/// The group's committed offset of `queue`, or `None` if it has none.
pub(crate) async fn committed_offset(
    cluster: &Cluster,
    group: &str,
    queue: &MessageQueue,
) -> ClientResult<Option<i64>> {
    let addr = subscribe_addr(cluster, &queue.broker_name)?;
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        set_zero_if_not_found: None,
        rpc: topic_rpc(&queue.broker_name),
    };
    let request = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET).with_ext_fields(header.to_ext_fields());
    let response = cluster.invoke(&addr, request, cluster.options().api_timeout).await?;
    if response.response_code() == ResponseCode::QUERY_NOT_FOUND {
        return Ok(None);
    }
    let response = expect_success(&addr, response)?;
    Ok(Some(QueryConsumerOffsetResponseHeader::from_command(&response)?.offset))
}

/// Where to start `queue`: its committed offset, else the end or the start as `start_from` says.
pub(crate) async fn start_offset(
    cluster: &Cluster,
    group: &str,
    queue: &MessageQueue,
    start_from: StartFrom,
) -> ClientResult<i64> {
    if let Some(offset) = committed_offset(cluster, group, queue)
        .await?
        .filter(|offset| *offset >= 0)
    {
        return Ok(offset);
    }
    position(cluster, queue, start_from).await
}

/// The queue's end or start, as `start_from` says.
pub(crate) async fn position(cluster: &Cluster, queue: &MessageQueue, start_from: StartFrom) -> ClientResult<i64> {
    match start_from {
        StartFrom::LastOffset => max_offset(cluster, queue).await,
        StartFrom::FirstOffset => min_offset(cluster, queue).await,
    }
}

/// The queue's end (the offset the next message will get).
pub(crate) async fn max_offset(cluster: &Cluster, queue: &MessageQueue) -> ClientResult<i64> {
    let addr = subscribe_addr(cluster, &queue.broker_name)?;
    let header = GetMaxOffsetRequestHeader {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        committed: true,
        rpc: topic_rpc(&queue.broker_name),
    };
    let request = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(header.to_ext_fields());
    let response = cluster.invoke_checked(&addr, request).await?;
    Ok(GetMaxOffsetResponseHeader::from_command(&response)?.offset)
}

/// The queue's first stored offset.
pub(crate) async fn min_offset(cluster: &Cluster, queue: &MessageQueue) -> ClientResult<i64> {
    let addr = subscribe_addr(cluster, &queue.broker_name)?;
    let header = GetMinOffsetRequestHeader {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        rpc: topic_rpc(&queue.broker_name),
    };
    let request = RemotingCommand::request(RequestCode::GET_MIN_OFFSET).with_ext_fields(header.to_ext_fields());
    let response = cluster.invoke_checked(&addr, request).await?;
    Ok(GetMinOffsetResponseHeader::from_command(&response)?.offset)
}

/// Commits `offset` (the next one to consume) for the group.
pub(crate) async fn commit_offset(
    cluster: &Cluster,
    group: &str,
    queue: &MessageQueue,
    offset: i64,
) -> ClientResult<()> {
    let addr = subscribe_addr(cluster, &queue.broker_name)?;
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        commit_offset: offset,
        rpc: topic_rpc(&queue.broker_name),
    };
    let request = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET).with_ext_fields(header.to_ext_fields());
    cluster.invoke_checked(&addr, request).await?;
    Ok(())
}

/// Hands a message the listener could not consume back to its broker, which redelivers it
/// through the group's retry topic after a delay (or to the DLQ after 16 times).
pub(crate) async fn send_back(
    cluster: &Cluster,
    group: &str,
    message: &ReceivedMessage,
    max_reconsume_times: i32,
) -> ClientResult<()> {
    let addr = broker_addr(cluster, &message.broker_name)?;
    let origin_topic = message
        .property(names::RETRY_TOPIC)
        .unwrap_or(&message.topic)
        .to_owned();
    let header = ConsumerSendMsgBackRequestHeader {
        offset: message.commit_log_offset,
        group: group.to_owned(),
        delay_level: 0,
        origin_msg_id: Some(message.msg_id().to_owned()),
        origin_topic: Some(origin_topic),
        unit_mode: false,
        max_reconsume_times: Some(max_reconsume_times),
        rpc: ferrocket_wire::header::RpcFields {
            broker_name: Some(message.broker_name.clone()),
            ..Default::default()
        },
    };
    let request = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK).with_ext_fields(header.to_ext_fields());
    cluster.invoke_checked(&addr, request).await?;
    Ok(())
}

/// The members of `group` as a broker of `topic` knows them.
pub(crate) async fn group_members(cluster: &Cluster, group: &str, broker_name: &str) -> ClientResult<Vec<String>> {
    use ferrocket_wire::body::{ConsumerIdList, JsonBody};
    use ferrocket_wire::header::GetConsumerListByGroupRequestHeader;
    let addr = broker_addr(cluster, broker_name)?;
    let header = GetConsumerListByGroupRequestHeader {
        consumer_group: group.to_owned(),
        ..Default::default()
    };
    let request =
        RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP).with_ext_fields(header.to_ext_fields());
    let response = cluster.invoke_checked(&addr, request).await?;
    let body = response.body.unwrap_or_default();
    Ok(ConsumerIdList::decode(&body)?.consumer_id_list)
}

/// Locks `queues` (all of `broker_name`) for this client in `group` (LOCK_BATCH_MQ); returns the
/// ones the broker granted. A lock lives 60 s on the broker unless renewed.
pub(crate) async fn lock_queues(
    cluster: &Cluster,
    group: &str,
    broker_name: &str,
    queues: Vec<MessageQueue>,
) -> ClientResult<Vec<MessageQueue>> {
    use ferrocket_wire::body::{JsonBody, LockBatchRequestBody, LockBatchResponseBody};
    let addr = broker_addr(cluster, broker_name)?;
    let body = LockBatchRequestBody {
        client_id: cluster.client_id().to_owned(),
        consumer_group: group.to_owned(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body.encode());
    let response = cluster.invoke_checked(&addr, request).await?;
    Ok(LockBatchResponseBody::decode(&response.body.unwrap_or_default())?.lock_ok_mq_set)
}

/// Releases this client's locks on `queues` of `broker_name` (UNLOCK_BATCH_MQ).
pub(crate) async fn unlock_queues(
    cluster: &Cluster,
    group: &str,
    broker_name: &str,
    queues: Vec<MessageQueue>,
) -> ClientResult<()> {
    use ferrocket_wire::body::{JsonBody, LockBatchRequestBody};
    let addr = broker_addr(cluster, broker_name)?;
    let body = LockBatchRequestBody {
        client_id: cluster.client_id().to_owned(),
        consumer_group: group.to_owned(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(body.encode());
    cluster.invoke_checked(&addr, request).await?;
    Ok(())
}

/// Pulls and offsets go to the master, or to a slave while no master is routed, as Java's
/// `findBrokerAddressInSubscribe(.., onlyThisBroker = false)` (PullAPIWrapper,
/// RemoteBrokerOffsetStore).
fn subscribe_addr(cluster: &Cluster, broker_name: &str) -> ClientResult<String> {
    cluster
        .read_addr(broker_name)
        .ok_or_else(|| ClientError::NoBrokerAddress {
            broker_name: broker_name.to_owned(),
        })
}

fn broker_addr(cluster: &Cluster, broker_name: &str) -> ClientResult<String> {
    cluster
        .broker_addr(broker_name)
        .ok_or_else(|| ClientError::NoBrokerAddress {
            broker_name: broker_name.to_owned(),
        })
}

fn topic_rpc(broker_name: &str) -> TopicRpcFields {
    TopicRpcFields {
        broker_name: Some(broker_name.to_owned()),
        ..TopicRpcFields::default()
    }
}
