//! PEEK_MESSAGE (200052): Java 5.3.3's `PeekMessageProcessor`. What a pop would take, read
//! from the group's offset (the queue's start when it has none) without a checkpoint, a claim
//! or an offset change; the answer is SUCCESS with the records or PULL_NOT_FOUND, under a
//! [`PopMessageResponseHeader`] of which only `restNum` is set, as Java answers.

use bytes::BytesMut;
use ferrocket_net::ConnectionHandle;
use ferrocket_store::{GetMessageStatus, GetMessages, QueueId, QueueOffset};
use ferrocket_wire::header::{CustomHeader, PeekMessageRequestHeader, PopMessageResponseHeader};
use ferrocket_wire::permissions::PERM_READ;
use ferrocket_wire::pop_receipt::pop_retry_topic;
use ferrocket_wire::{RemotingCommand, ResponseCode};

use super::{POP_MESSAGES_MAX, RETRY_FIRST_EVERY, check_topic_and_group};
use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;

/// PEEK_MESSAGE: answered at once, nothing to wait for.
pub fn serve(b: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    handle_peek(b, request, connection.peer_addr())
}

/// Serves PEEK_MESSAGE. At most [`POP_MESSAGES_MAX`] messages (Java's store caps a read at 32).
pub fn handle_peek(b: &Broker, request: &RemotingCommand, peer: &str) -> BrokerResult<RemotingCommand> {
    let header = PeekMessageRequestHeader::from_command(request)?;
    let config = b.config();
    if config.broker_permission & PERM_READ == 0 {
        return Err(BrokerError::PeekBrokerForbidden {
            broker_ip: config.broker_ip1.clone(),
        });
    }
    let read_queue_nums = check_topic_and_group(
        b,
        &header.topic,
        &header.consumer_group,
        header.queue_id,
        peer,
        b.now_ms(),
    )?;
    let served = {
        let mut pop = b.pop.lock();
        pop.pops_served = pop.pops_served.wrapping_add(1);
        pop.pops_served
    };
    let retry_topic = pop_retry_topic(&header.topic, &header.consumer_group, config.enable_retry_topic_v2);
    let retry_queues = b.topics.lock().get(&retry_topic).map_or(0, |t| t.read_queue_nums);
    let queues = |topic: &str, count: i32| -> Vec<(String, i32)> {
        let count = u64::try_from(count).unwrap_or(0);
        (0..count)
            .map(|step| {
                (
                    topic.to_owned(),
                    i32::try_from(served.wrapping_add(step) % count).unwrap_or(0),
                )
            })
            .collect()
    };
    let retry_first = served % RETRY_FIRST_EVERY == 0;
    let mut plan = if retry_first {
        queues(&retry_topic, retry_queues)
    } else {
        Vec::new()
    };
    if header.queue_id < 0 {
        plan.extend(queues(&header.topic, read_queue_nums));
    } else {
        plan.push((header.topic.clone(), header.queue_id));
    }
    let want = usize::try_from(header.max_msg_nums.clamp(0, POP_MESSAGES_MAX)).unwrap_or(0);
    let mut records = Vec::new();
    let mut rest_num = 0i64;
    for (topic, queue_id) in &plan {
        rest_num = rest_num.saturating_add(peek_queue(
            b,
            &header.consumer_group,
            (topic, *queue_id),
            want,
            &mut records,
        )?);
    }
    if !retry_first && records.len() < want {
        for (topic, queue_id) in queues(&retry_topic, retry_queues) {
            rest_num = rest_num.saturating_add(peek_queue(
                b,
                &header.consumer_group,
                (&topic, queue_id),
                want,
                &mut records,
            )?);
        }
    }
    let fields = PopMessageResponseHeader {
        rest_num,
        ..PopMessageResponseHeader::default()
    }
    .to_ext_fields();
    if records.is_empty() {
        return Ok(RemotingCommand::response_to(
            request,
            ResponseCode::PULL_NOT_FOUND,
            Some("NO_MESSAGE_IN_QUEUE".into()),
        )
        .with_ext_fields(fields));
    }
    let mut body = BytesMut::with_capacity(records.iter().map(|r: &bytes::Bytes| r.len()).sum());
    for record in &records {
        body.extend_from_slice(record);
    }
    Ok(
        RemotingCommand::response_to(request, ResponseCode::SUCCESS, Some("FOUND".into()))
            .with_ext_fields(fields)
            .with_body(body.freeze()),
    )
}

/// Java's `peekMsgFromQueue`: adds up to `want` records in all; returns the queue's backlog.
fn peek_queue(
    b: &Broker,
    group: &str,
    (topic, queue_id): (&str, i32),
    want: usize,
    records: &mut Vec<bytes::Bytes>,
) -> BrokerResult<i64> {
    let queue = QueueId(queue_id);
    let stored = b
        .offsets
        .lock()
        .query(group, topic, queue_id)
        .and_then(QueueOffset::from_java_long);
    let read = |offset: QueueOffset, room: usize| {
        b.store.read(|s| {
            s.get_messages(&GetMessages {
                topic,
                queue_id: queue,
                offset,
                max_count: u32::try_from(room).unwrap_or(u32::MAX),
                filter: None,
                record_filter: None,
            })
        })
    };
    let (min, max) = b
        .store
        .read(|s| (s.min_offset_in_queue(topic, queue), s.max_offset_in_queue(topic, queue)));
    let offset = stored.unwrap_or(min);
    let rest = i64::try_from(max.0.saturating_sub(offset.0)).unwrap_or(i64::MAX);
    let room = want.saturating_sub(records.len());
    if room == 0 {
        return Ok(rest);
    }
    let mut result = read(offset, room)?;
    if matches!(
        result.status,
        GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly
    ) {
        result = read(result.next_begin_offset, room)?;
    }
    records.extend(result.records);
    Ok(rest)
}
