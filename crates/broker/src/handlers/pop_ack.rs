//! ACK_MESSAGE (200051) and CHANGE_MESSAGE_INVISIBLETIME (200053): Java 5.3.3's
//! `AckMessageProcessor` and `ChangeInvisibleTimeProcessor`.
//!
//! An ack names its message by the receipt's checkpoint (`startOffset`, `popTime`) and the
//! message's queue offset. It writes an `ack` record to the revive log, then marks the message
//! in the checkpoint table. Changing the invisible time writes a new one-message checkpoint
//! (popped now, for the new time) and then acks the old one, as Java does. An ack of a message
//! no longer in flight (acked, or already revived) is answered SUCCESS and changes nothing, as
//! Java answers it; a change of one is answered SUCCESS too but, unlike Java, does not bring
//! the message back a second time.

use std::sync::Arc;

use base64::Engine;
use ferrocket_net::ConnectionHandle;
use ferrocket_store::QueueId;
use ferrocket_wire::body::{ACK_TAG, AckMsg, BatchAckMessageRequestBody, CK_TAG, JsonBody};
use ferrocket_wire::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader, CustomHeader,
};
use ferrocket_wire::pop_receipt::{ORDER_REVIVE_QUEUE, PopReceipt, RetryMark};
use ferrocket_wire::{RemotingCommand, ResponseCode};

use crate::error::{BrokerError, BrokerResult, respond};
use crate::handlers::Answer;
use crate::handlers::pop::append_revive_record;
use crate::state::Broker;
use crate::state::pop::{CheckpointKey, Inflight, ack_key, ack_unique_key, checkpoint_record, checkpoint_unique_key};
use crate::state::pop_order::OrderAck;
use crate::state::topics::REVIVE_QUEUE_NUMS;

/// Bits of one batch ack read at most: offsets further than this from the checkpoint's start are
/// not acked (a checkpoint spans 32 messages, filtered ones between them included).
pub const BATCH_ACK_BITS_MAX: u32 = 65_536;

/// Changes of one message's invisible time within one millisecond that get a checkpoint each.
const CHANGES_PER_MS_MAX: i64 = 64;

/// ACK_MESSAGE.
pub fn serve_ack(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, handle_ack(&broker, &request, connection.peer_addr()).await) })
}

/// BATCH_ACK_MESSAGE.
pub fn serve_batch_ack(broker: Arc<Broker>, request: RemotingCommand, _connection: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, handle_batch_ack(&broker, &request).await) })
}

/// CHANGE_MESSAGE_INVISIBLETIME.
pub fn serve_change_invisible_time(
    broker: Arc<Broker>,
    request: RemotingCommand,
    connection: ConnectionHandle,
) -> Answer {
    Box::pin(async move { respond(&request, handle_change(&broker, &request, connection.peer_addr()).await) })
}

/// The message a request names, checked as Java checks it: topic, queue, then the offset within
/// `[min, max]` (`max_inclusive`) or `[min, max)`.
fn check_message(
    b: &Broker,
    (topic, queue_id, offset): (&str, i32, i64),
    peer: &str,
    max_inclusive: bool,
) -> BrokerResult<bool> {
    let Some(topic_config) = b.topics.lock().get(topic) else {
        return Err(BrokerError::PullTopicNotExist {
            topic: topic.to_owned(),
        });
    };
    if queue_id < 0 || queue_id >= topic_config.read_queue_nums {
        return Err(BrokerError::AckQueueIdIllegal {
            topic: topic.to_owned(),
            queue_id,
            read_queue_nums: topic_config.read_queue_nums,
            consumer: peer.to_owned(),
        });
    }
    let queue = QueueId(queue_id);
    let (min, max) = b
        .store
        .read(|s| (s.min_offset_in_queue(topic, queue), s.max_offset_in_queue(topic, queue)));
    let (min, max) = (min.to_java_long(), max.to_java_long());
    let inside = offset >= min && (offset < max || (max_inclusive && offset == max));
    if !inside && max_inclusive {
        return Err(BrokerError::AckOffsetIllegal {
            topic: topic.to_owned(),
            queue_id,
            offset,
            min,
            max,
        });
    }
    Ok(inside)
}

/// A receipt's revive queue, or 0 for one out of range (it only says where the record goes).
fn revive_qid(receipt: &PopReceipt) -> i32 {
    if (0..REVIVE_QUEUE_NUMS).contains(&receipt.revive_qid) {
        receipt.revive_qid
    } else {
        0
    }
}

/// Serves ACK_MESSAGE.
pub async fn handle_ack(b: &Broker, request: &RemotingCommand, peer: &str) -> BrokerResult<RemotingCommand> {
    let header = AckMessageRequestHeader::from_command(request)?;
    ack_message(b, &header, peer).await?;
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None))
}

/// ACK_MESSAGE without the transport (the gRPC endpoint calls this in-process): Java's checks,
/// then the ack; true when the message was in flight and is now acknowledged.
pub async fn ack_message(b: &Broker, header: &AckMessageRequestHeader, peer: &str) -> BrokerResult<bool> {
    check_message(b, (&header.topic, header.queue_id, header.offset), peer, true)?;
    let receipt = PopReceipt::parse(&header.extra_info)?;
    if receipt.is_order() {
        return ack_orderly(b, header, receipt.pop_time_ms, peer);
    }
    let key = receipt_key(&header.consumer_group, &header.topic, header.queue_id, &receipt);
    Ok(ack(b, &key, header.offset, revive_qid(&receipt), &receipt.broker_name).await)
}

/// Java's `ackOrderly`: marks the message in the queue's last orderly pop and moves the group's
/// offset to the first message still unacknowledged; wakes pops once the queue is free.
fn ack_orderly(b: &Broker, header: &AckMessageRequestHeader, pop_time_ms: i64, peer: &str) -> BrokerResult<bool> {
    let (group, topic, queue_id) = (&header.consumer_group, &header.topic, header.queue_id);
    let old = b.offsets.lock().query(group, topic, queue_id).unwrap_or(-1);
    if header.offset < old {
        return Ok(false);
    }
    let key = (topic.clone(), group.clone(), queue_id);
    let outcome = b.pop.lock().order.ack(&key, header.offset, pop_time_ms);
    match outcome {
        OrderAck::Next(next) => {
            let now_ms = b.now_ms();
            let mut offsets = b.offsets.lock();
            if offsets
                .query(group, topic, queue_id)
                .is_none_or(|current| current < next)
            {
                offsets.commit(group, topic, queue_id, next, now_ms);
            }
            drop(offsets);
            if !b.pop.lock().order.is_blocked(&key, None, now_ms) {
                b.pop_wakers.on_arrival(topic);
            }
            Ok(true)
        }
        OrderAck::Stale => Ok(false),
        OrderAck::NotPopped => Err(BrokerError::OrderAckOffsetIllegal {
            key: format!("{topic}@{group}@{queue_id}"),
            old,
            commit: header.offset,
            peer: peer.to_owned(),
        }),
    }
}

/// Whether the message a receipt names is popped and not yet acknowledged or revived (the gRPC
/// endpoint refuses to change the invisible time of one that is not).
pub fn in_flight(b: &Broker, (group, topic, queue_id): (&str, &str, i32), receipt: &PopReceipt, offset: i64) -> bool {
    let key = receipt_key(group, topic, queue_id, receipt);
    b.pop.lock().checkpoints.is_unacked(&key, offset)
}

fn receipt_key(group: &str, topic: &str, queue_id: i32, receipt: &PopReceipt) -> CheckpointKey {
    ack_key(group, topic, queue_id, receipt.ck_queue_offset, receipt.pop_time_ms)
}

/// Acks one message in flight: the record first, then the table. Nothing for one not in flight.
pub async fn ack(b: &Broker, key: &CheckpointKey, offset: i64, revive_qid: i32, broker_name: &str) -> bool {
    if !b.pop.lock().checkpoints.is_unacked(key, offset) {
        return false;
    }
    let record = AckMsg {
        ack_offset: offset,
        broker_name: Some(broker_name.to_owned()),
        consumer_group: key.group.clone(),
        pop_time: key.pop_time_ms,
        queue_id: key.queue_id,
        start_offset: key.start_offset,
        topic: key.topic.clone(),
    };
    let unique_key = ack_unique_key(key, offset, broker_name);
    if append_revive_record(b, revive_qid, (ACK_TAG, unique_key), record.encode())
        .await
        .is_none()
    {
        return false;
    }
    b.pop.lock().checkpoints.ack(key, offset);
    true
}

/// Serves BATCH_ACK_MESSAGE: every set bit of every [`BatchAck`] within its queue's offsets acks
/// one message (Java's `appendAck` for a batch). Ours writes one `ack` record per message.
pub async fn handle_batch_ack(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let body = match request.body.as_deref() {
        Some(bytes) => BatchAckMessageRequestBody::decode(bytes)?,
        None => BatchAckMessageRequestBody::default(),
    };
    let acks = body.acks.unwrap_or_default();
    if acks.is_empty() {
        return Ok(RemotingCommand::response_to(request, ResponseCode::NO_MESSAGE, None));
    }
    let broker_name = body.broker_name.unwrap_or_else(|| b.config().broker_name.clone());
    for batch in acks {
        let Ok(retry) = RetryMark::parse(&batch.retry) else {
            continue;
        };
        let topic = retry.real_topic(&batch.topic, &batch.consumer_group);
        if b.topics.lock().get(&topic).is_none() {
            continue;
        }
        let queue = QueueId(batch.queue_id);
        let (min, max) = b.store.read(|s| {
            (
                s.min_offset_in_queue(&topic, queue),
                s.max_offset_in_queue(&topic, queue),
            )
        });
        let key = ack_key(
            &batch.consumer_group,
            &topic,
            batch.queue_id,
            batch.start_offset,
            batch.pop_time,
        );
        let revive_qid = if (0..REVIVE_QUEUE_NUMS).contains(&batch.revive_queue_id) {
            batch.revive_queue_id
        } else {
            0
        };
        let bits = batch
            .bit_set_base64
            .as_deref()
            .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .unwrap_or_default();
        for bit in set_bits(&bits) {
            let offset = batch.start_offset.saturating_add(i64::from(bit));
            if offset < min.to_java_long() || offset > max.to_java_long() || batch.revive_queue_id == ORDER_REVIVE_QUEUE
            {
                continue;
            }
            ack(b, &key, offset, revive_qid, &broker_name).await;
        }
    }
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None))
}

/// The set bits of Java's `BitSet.toByteArray()` (bit i of byte j is bit 8j + i), up to
/// [`BATCH_ACK_BITS_MAX`].
pub fn set_bits(bytes: &[u8]) -> Vec<u32> {
    bytes
        .iter()
        .enumerate()
        .flat_map(|(index, byte)| {
            (0..8u32).filter(move |bit| byte & (1 << bit) != 0).map(move |bit| {
                u32::try_from(index)
                    .unwrap_or(u32::MAX)
                    .saturating_mul(8)
                    .saturating_add(bit)
            })
        })
        .take_while(|bit| *bit < BATCH_ACK_BITS_MAX)
        .collect()
}

/// Serves CHANGE_MESSAGE_INVISIBLETIME.
pub async fn handle_change(b: &Broker, request: &RemotingCommand, peer: &str) -> BrokerResult<RemotingCommand> {
    let header = ChangeInvisibleTimeRequestHeader::from_command(request)?;
    Ok(match change_invisible_time(b, &header, peer).await? {
        Changed::To(answer) => {
            RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(answer.to_ext_fields())
        }
        Changed::NoMessage => RemotingCommand::response_to(request, ResponseCode::NO_MESSAGE, None),
        Changed::NotStored => RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR, None),
    })
}

/// What a change of invisible time did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Done (or the message was no longer in flight: nothing to move): the response header.
    To(ChangeInvisibleTimeResponseHeader),
    /// The offset is outside the queue (Java: NO_MESSAGE, no remark).
    NoMessage,
    /// The new checkpoint could not be kept or written (Java: SYSTEM_ERROR).
    NotStored,
}

/// CHANGE_MESSAGE_INVISIBLETIME without the transport: a new one-message checkpoint popped now
/// for the new time, then an ack of the old one, as Java does.
pub async fn change_invisible_time(
    b: &Broker,
    header: &ChangeInvisibleTimeRequestHeader,
    peer: &str,
) -> BrokerResult<Changed> {
    if !check_message(b, (&header.topic, header.queue_id, header.offset), peer, false)? {
        return Ok(Changed::NoMessage);
    }
    let receipt = PopReceipt::parse(&header.extra_info)?;
    let now_ms = b.now_ms();
    let revive_qid = revive_qid(&receipt);
    let answer = |pop_time| {
        Changed::To(ChangeInvisibleTimeResponseHeader {
            pop_time,
            invisible_time: header.invisible_time,
            revive_qid: receipt.revive_qid,
        })
    };
    if receipt.is_order() {
        // `processChangeInvisibleTimeForOrder`: the message may be popped again from now + time.
        let (group, topic, queue_id) = (&header.consumer_group, &header.topic, header.queue_id);
        let old = b.offsets.lock().query(group, topic, queue_id).unwrap_or(-1);
        let visible_at_ms = now_ms.saturating_add(header.invisible_time);
        if old <= header.offset {
            let key = (topic.clone(), group.clone(), queue_id);
            b.pop
                .lock()
                .order
                .change_invisible(&key, header.offset, receipt.pop_time_ms, visible_at_ms);
        }
        return Ok(Changed::To(ChangeInvisibleTimeResponseHeader {
            pop_time: receipt.pop_time_ms,
            invisible_time: visible_at_ms.saturating_sub(receipt.pop_time_ms),
            revive_qid: receipt.revive_qid,
        }));
    }
    let old = receipt_key(&header.consumer_group, &header.topic, header.queue_id, &receipt);
    if !b.pop.lock().checkpoints.is_unacked(&old, header.offset) {
        return Ok(answer(now_ms));
    }
    let inflight = Inflight {
        invisible_time_ms: header.invisible_time,
        revive_qid,
        record_offset: None,
        offsets: vec![(header.offset, false)],
    };
    // A checkpoint of the same message made in the same millisecond (the pop itself, or an
    // earlier change) has this key: the new one takes the next free millisecond.
    let inserted = (0..CHANGES_PER_MS_MAX).find_map(|step| {
        let new = CheckpointKey {
            start_offset: header.offset,
            pop_time_ms: now_ms.saturating_add(step),
            ..old.clone()
        };
        b.pop
            .lock()
            .checkpoints
            .insert(new.clone(), inflight.clone())
            .then_some(new)
    });
    let Some(new) = inserted else {
        return Ok(Changed::NotStored);
    };
    let broker_name = b.config().broker_name.clone();
    let record = checkpoint_record(&new, header.invisible_time, &[header.offset], &broker_name);
    let unique_key = checkpoint_unique_key(&new, &broker_name);
    let Some(record_offset) = append_revive_record(b, revive_qid, (CK_TAG, unique_key), record.encode()).await else {
        b.pop.lock().checkpoints.remove(&new);
        return Ok(Changed::NotStored);
    };
    b.pop.lock().checkpoints.set_record_offset(&new, record_offset);
    ack(b, &old, header.offset, revive_qid, &receipt.broker_name).await;
    Ok(answer(new.pop_time_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_sets_read_as_javas_to_byte_array() {
        assert_eq!(set_bits(&[0x05]), [0, 2]);
        assert_eq!(set_bits(&[0x00, 0x81]), [8, 15]);
        assert!(set_bits(&[]).is_empty());
        assert_eq!(set_bits(&vec![0xff; 8_193]).len(), BATCH_ACK_BITS_MAX as usize);
    }
}
