//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32), SEARCH_OFFSET_BY_TIMESTAMP (29) and
//! INVOKE_BROKER_TO_RESET_OFFSET (222): Java's `ConsumerManageProcessor` and the offset half of
//! `AdminBrokerProcessor` (remoting.md §4.3.2–4.3.3, §4.3.6, §4.4.5).
//!
//! A reset follows Java 5.3.3's default (`useServerSideResetOffset=true`): the broker computes
//! the offsets, commits them and remembers them per queue; the group's next pull of each queue
//! answers PULL_OFFSET_MOVED to the reset offset, and commits the consumer sends meanwhile are
//! ignored; offline groups are reset too. With `useServerSideResetOffset=false` it is Java 4.x's
//! (and 5.x's `Broker2Client.resetOffset`): the offsets go to every online consumer of the group
//! in a RESET_CONSUMER_CLIENT_OFFSET (oneway), which the client applies and commits itself; a
//! group with no consumer online gets CONSUMER_NOT_ONLINE.

use std::collections::BTreeMap;

use ferrocket_net::ConnectionHandle;
use ferrocket_store::{GetMessageStatus, GetMessages, QueueId, QueueOffset, StoreHandle};
use ferrocket_wire::body::{JsonBody, MessageQueue, ResetOffsetBody};
use ferrocket_wire::header::{
    BoundaryType, CustomHeader, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader, GetMinOffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, ResetOffsetRequestHeader,
    SearchOffsetRequestHeader, SearchOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

use crate::config::BrokerRole;
use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;
use crate::state::consumer_offsets::ConsumerOffsetTable;

fn success(request: &RemotingCommand, header: &impl CustomHeader) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(header.to_ext_fields())
}

/// Java's rule for the offset a group starts from (`queryConsumerOffset`): its committed offset;
/// else 0 when the queue still starts at 0 and its first message is in memory (so a new group
/// on a young topic reads everything, whatever its consume-from-where), unless the client said
/// `setZeroIfNotFound=false`; else QUERY_NOT_FOUND.
pub fn query_offset_answer(
    committed: Option<i64>,
    set_zero_if_not_found: Option<bool>,
    min_offset: QueueOffset,
    first_message_in_memory: bool,
) -> BrokerResult<i64> {
    if let Some(offset) = committed.filter(|offset| *offset >= 0) {
        return Ok(offset);
    }
    if set_zero_if_not_found == Some(false) {
        return Err(BrokerError::OffsetNotFoundZeroDeclined);
    }
    if min_offset == QueueOffset(0) && first_message_in_memory {
        return Ok(0);
    }
    Err(BrokerError::OffsetNotFound)
}

/// Java's `checkInMemByConsumeOffset(topic, queue, 0, 1)`: the queue's entry 0 exists and its
/// record lies within the store's in-memory window.
fn first_message_in_memory(store: &StoreHandle, topic: &str, queue_id: QueueId) -> bool {
    store.read(|s| {
        s.get_messages(&GetMessages {
            topic,
            queue_id,
            offset: QueueOffset(0),
            max_count: 1,
            filter: None,
            record_filter: None,
        })
        .is_ok_and(|result| result.status == GetMessageStatus::Found && !result.suggest_pulling_from_slave)
    })
}

pub fn query_consumer_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = QueryConsumerOffsetRequestHeader::from_command(request)?;
    let (topic, queue_id) = (header.topic.as_str(), header.queue_id);
    let committed = b.offsets.lock().query(&header.consumer_group, topic, queue_id);
    let offset = match committed {
        Some(offset) if offset >= 0 => offset,
        _ => {
            let queue_id = QueueId(queue_id);
            let min = b.store.read(|s| s.min_offset_in_queue(topic, queue_id));
            let in_memory = min == QueueOffset(0) && first_message_in_memory(&b.store, topic, queue_id);
            query_offset_answer(committed, header.set_zero_if_not_found, min, in_memory)?
        }
    };
    Ok(success(request, &QueryConsumerOffsetResponseHeader { offset }))
}

/// Java's `hasOffsetReset`, through the table's take-and-forget: put back what was taken.
fn reset_pending(offsets: &mut ConsumerOffsetTable, group: &str, topic: &str, queue_id: i32, now_ms: i64) -> bool {
    match offsets.take_reset_offset(group, topic, queue_id) {
        Some(offset) => {
            offsets.assign_reset_offset(group, topic, queue_id, offset, now_ms);
            true
        }
        None => false,
    }
}

pub fn update_consumer_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UpdateConsumerOffsetRequestHeader::from_command(request)?;
    let group = header.consumer_group.as_str();
    let topic = header.topic.as_str();
    if !b.groups.lock().contains(group) {
        return Err(BrokerError::CommitGroupNotExist {
            group: group.to_owned(),
        });
    }
    if !b.topics.lock().contains(topic) {
        return Err(BrokerError::CommitTopicNotExist {
            topic: topic.to_owned(),
        });
    }
    let now_ms = b.now_ms();
    let mut offsets = b.offsets.lock();
    if reset_pending(&mut offsets, group, topic, header.queue_id, now_ms) {
        return Ok(RemotingCommand::response_to(
            request,
            ResponseCode::SUCCESS,
            Some("Offset has been previously reset".into()),
        ));
    }
    offsets.commit(group, topic, header.queue_id, header.commit_offset, now_ms);
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None))
}

pub fn max_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetMaxOffsetRequestHeader::from_command(request)?;
    let offset = b
        .store
        .read(|s| s.max_offset_in_queue(&header.topic, QueueId(header.queue_id)))
        .to_java_long();
    Ok(success(request, &GetMaxOffsetResponseHeader { offset }))
}

pub fn min_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetMinOffsetRequestHeader::from_command(request)?;
    let offset = b
        .store
        .read(|s| s.min_offset_in_queue(&header.topic, QueueId(header.queue_id)))
        .to_java_long();
    Ok(success(request, &GetMinOffsetResponseHeader { offset }))
}

pub fn earliest_store_time(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = GetEarliestMsgStoretimeRequestHeader::from_command(request)?;
    let timestamp = b
        .store
        .read(|s| s.earliest_store_time(&header.topic, QueueId(header.queue_id)))
        .unwrap_or(-1);
    Ok(success(request, &GetEarliestMsgStoretimeResponseHeader { timestamp }))
}

pub fn search_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = SearchOffsetRequestHeader::from_command(request)?;
    let (topic, queue_id, timestamp) = (header.topic.as_str(), QueueId(header.queue_id), header.timestamp);
    let offset = b.store.read(|s| match header.boundary_type {
        Some(BoundaryType::Upper) => {
            let (min, max) = (
                s.min_offset_in_queue(topic, queue_id),
                s.max_offset_in_queue(topic, queue_id),
            );
            last_offset_stored_by(min, max, timestamp, |offset| s.store_time_at(topic, queue_id, offset))
        }
        _ => s.offset_by_time(topic, queue_id, timestamp),
    });
    let offset = offset.to_java_long();
    Ok(success(request, &SearchOffsetResponseHeader { offset }))
}

/// SEARCH_OFFSET_BY_TIMESTAMP with boundary UPPER: the last offset in `[min, max)` whose record
/// was stored at or before `timestamp_ms`; the last one when all were, 0 when none was (Java's
/// answers). Unreadable records count as older, as the LOWER search treats them.
pub fn last_offset_stored_by(
    min: QueueOffset,
    max: QueueOffset,
    timestamp_ms: i64,
    store_time: impl Fn(QueueOffset) -> Option<i64>,
) -> QueueOffset {
    let at_or_before = |offset: u64| store_time(QueueOffset(offset)).is_none_or(|t| t <= timestamp_ms);
    if min >= max || !at_or_before(min.0) {
        return QueueOffset(0);
    }
    // Invariant: `low` qualifies; the answer lies in [low, high).
    let (mut low, mut high) = (min.0, max.0);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if at_or_before(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    QueueOffset(low)
}

/// Java's `searchOffsetByTimestamp` for resets: a negative timestamp means the max offset.
fn offset_for_reset(store: &StoreHandle, topic: &str, queue_id: i32, timestamp_ms: i64) -> i64 {
    let queue_id = QueueId(queue_id);
    let offset = store.read(|s| {
        if timestamp_ms < 0 {
            s.max_offset_in_queue(topic, queue_id)
        } else {
            s.offset_by_time(topic, queue_id, timestamp_ms)
        }
    });
    offset.to_java_long()
}

/// INVOKE_BROKER_TO_RESET_OFFSET, as Java's `resetOffsetInner`.
pub fn reset_offset(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ResetOffsetRequestHeader::from_command(request)?;
    let config = b.config();
    let (topic, group) = (header.topic.as_str(), header.group.as_str());
    if config.broker_role == BrokerRole::Slave {
        return Err(BrokerError::ResetOnSlave);
    }
    if !config.use_server_side_reset_offset {
        return reset_offset_by_clients(b, request, &header);
    }
    let Some(topic_config) = b.topics.lock().get(topic) else {
        return Err(BrokerError::ResetTopicNotExist {
            topic: topic.to_owned(),
        });
    };
    if !b.groups.lock().contains(group) {
        return Err(BrokerError::ResetGroupNotExist {
            group: group.to_owned(),
        });
    }
    let mut targets: BTreeMap<i32, i64> = BTreeMap::new();
    if header.queue_id >= 0 {
        let queue_id = header.queue_id;
        let offset = match header.offset.filter(|offset| *offset != -1) {
            Some(offset) => {
                let (min, max) = b.store.read(|s| {
                    (
                        s.min_offset_in_queue(topic, QueueId(queue_id)),
                        s.max_offset_in_queue(topic, QueueId(queue_id)),
                    )
                });
                let (min, max) = (min.to_java_long(), max.to_java_long());
                if offset < min || offset > max.saturating_add(1) {
                    return Err(BrokerError::ResetOffsetOutOfRange { offset, min, max });
                }
                offset
            }
            None => offset_for_reset(&b.store, topic, queue_id, header.timestamp),
        };
        targets.insert(queue_id, offset);
    } else {
        for queue_id in 0..topic_config.read_queue_nums.max(0) {
            targets.insert(queue_id, offset_for_reset(&b.store, topic, queue_id, header.timestamp));
        }
    }
    if targets.is_empty() {
        return Err(BrokerError::ResetNoQueues {
            topic: topic.to_owned(),
        });
    }
    let now_ms = b.now_ms();
    let mut body = ResetOffsetBody::default();
    {
        let mut offsets = b.offsets.lock();
        for (queue_id, offset) in &targets {
            offsets.assign_reset_offset(group, topic, *queue_id, *offset, now_ms);
            body.offset_table.insert(
                MessageQueue::new(topic, config.broker_name.as_str(), *queue_id),
                *offset,
            );
        }
    }
    // Held pulls of these queues answer now with the reset, not at their timeout (Java waits).
    for queue_id in targets.keys() {
        b.pull_holds
            .on_arrival(topic, QueueId(*queue_id), QueueOffset(u64::MAX), None);
    }
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(body.encode()))
}

/// How long the oneway RESET_CONSUMER_CLIENT_OFFSET may take to write (Java: 5 s).
const RESET_NOTICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// INVOKE_BROKER_TO_RESET_OFFSET with `useServerSideResetOffset=false`: Java's
/// `Broker2Client.resetOffset`. A queue moves back to the time's offset, and forward only when
/// forced; the consumers apply the table themselves.
fn reset_offset_by_clients(
    b: &Broker,
    request: &RemotingCommand,
    header: &ResetOffsetRequestHeader,
) -> BrokerResult<RemotingCommand> {
    let (topic, group) = (header.topic.as_str(), header.group.as_str());
    let Some(topic_config) = b.topics.lock().get(topic) else {
        return Err(BrokerError::ClientResetTopicNotExist {
            topic: topic.to_owned(),
        });
    };
    let broker_name = b.config().broker_name.clone();
    let mut body = ResetOffsetBody::default();
    for queue_id in 0..topic_config.write_queue_nums.max(0) {
        let Some(consumer_offset) = b.offsets.lock().query(group, topic, queue_id) else {
            return Err(BrokerError::ClientResetGroupNotExist {
                group: group.to_owned(),
                topic: topic.to_owned(),
                queue_id,
            });
        };
        let time_offset = offset_for_reset(&b.store, topic, queue_id, header.timestamp).max(0);
        let offset = if header.force || time_offset < consumer_offset {
            time_offset
        } else {
            consumer_offset
        };
        body.offset_table
            .insert(MessageQueue::new(topic, broker_name.as_str(), queue_id), offset);
    }
    let channels: Vec<ConnectionHandle> = b
        .clients
        .lock()
        .consumer_channels(group)
        .into_iter()
        .map(|member| member.channel)
        .collect();
    if channels.is_empty() {
        return Err(BrokerError::ClientResetConsumerNotOnline {
            group: group.to_owned(),
            topic: topic.to_owned(),
            timestamp_ms: header.timestamp,
        });
    }
    let notice_header = ResetOffsetRequestHeader {
        topic: topic.to_owned(),
        group: group.to_owned(),
        timestamp: header.timestamp,
        ..ResetOffsetRequestHeader::default()
    };
    let notice = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET)
        .with_ext_fields(notice_header.to_ext_fields())
        .with_body(body.encode());
    let group_name = group.to_owned();
    tokio::spawn(async move {
        for channel in channels {
            if let Err(error) = channel.oneway(notice.clone(), RESET_NOTICE_TIMEOUT).await {
                tracing::warn!(group = group_name, peer = channel.peer_addr(), %error, "reset notice not sent");
            }
        }
    });
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(body.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_offset_wins() {
        assert_eq!(
            query_offset_answer(Some(42), Some(false), QueueOffset(9), false).unwrap(),
            42
        );
        assert_eq!(query_offset_answer(Some(0), None, QueueOffset(0), false).unwrap(), 0);
    }

    #[test]
    fn a_new_group_on_a_young_queue_starts_at_zero() {
        assert_eq!(query_offset_answer(None, None, QueueOffset(0), true).unwrap(), 0);
        assert_eq!(
            query_offset_answer(Some(-1), Some(true), QueueOffset(0), true).unwrap(),
            0
        );
    }

    #[test]
    fn otherwise_the_answer_is_query_not_found_with_javas_remarks() {
        let remark = |result: BrokerResult<i64>| {
            let error = result.unwrap_err();
            assert_eq!(error.response_code(), ResponseCode::QUERY_NOT_FOUND);
            error.to_string()
        };
        assert_eq!(
            remark(query_offset_answer(None, Some(false), QueueOffset(0), true)),
            "Not found, do not set to zero, maybe this group boot first"
        );
        assert_eq!(
            remark(query_offset_answer(None, None, QueueOffset(0), false)),
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first"
        );
        assert_eq!(
            remark(query_offset_answer(None, None, QueueOffset(5), true)),
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first"
        );
    }

    #[test]
    fn upper_searches_find_the_last_message_stored_by_the_time() {
        // Offsets 3..8 stored at 10, 20, 20, 30, 40.
        let times = |offset: QueueOffset| [10, 20, 20, 30, 40].get(usize::try_from(offset.0 - 3).ok()?).copied();
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), 20, times),
            QueueOffset(5)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), 25, times),
            QueueOffset(5)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), 40, times),
            QueueOffset(7)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), i64::MAX, times),
            QueueOffset(7)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), 10, times),
            QueueOffset(3)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(3), QueueOffset(8), 9, times),
            QueueOffset(0)
        );
        assert_eq!(
            last_offset_stored_by(QueueOffset(0), QueueOffset(0), 9, times),
            QueueOffset(0)
        );
        // Unreadable (deleted) records count as older.
        assert_eq!(
            last_offset_stored_by(QueueOffset(0), QueueOffset(4), 5, |offset| (offset >= QueueOffset(2))
                .then_some(100)),
            QueueOffset(1)
        );
    }

    #[test]
    fn a_pending_reset_survives_the_check() {
        let mut offsets = ConsumerOffsetTable::default();
        assert!(!reset_pending(&mut offsets, "cg", "T", 0, 0));
        offsets.assign_reset_offset("cg", "T", 0, 7, 0);
        assert!(reset_pending(&mut offsets, "cg", "T", 0, 0));
        assert!(reset_pending(&mut offsets, "cg", "T", 0, 0));
        assert_eq!(offsets.take_reset_offset("cg", "T", 0), Some(7));
        assert!(!reset_pending(&mut offsets, "cg", "T", 0, 0));
        assert_eq!(offsets.query("cg", "T", 0), Some(7));
    }
}
