//! POP_MESSAGE (200050) and NOTIFICATION (200054): Java 5.3.3's `PopMessageProcessor` and
//! `NotificationProcessor`, with `PopLongPollingService`'s waiting.
//!
//! A pop runs Java's checks in Java's order ([`check`]), then reads queues ([`read`]): the
//! topic's queue (or every readable queue from a rotating start, for queue -1) and the group's
//! pop retry topic — first in one pop of five (`popFromRetryProbability` = 20), else after the
//! topic when it did not fill the batch. Each queue read writes a checkpoint record to the
//! revive log and moves the group's offset past what it took before the answer leaves. A pop
//! that finds nothing waits for an arrival on either topic until `pollTime` is up and then
//! answers POLLING_TIMEOUT with the remark `NO_MESSAGE_IN_QUEUE`.
//!
//! PEEK_MESSAGE reads the same queues without taking anything ([`peek`]); POLLING_INFO counts
//! the pops and notifications waiting per topic, group and queue ([`polling_info`]).
//!
//! Orderly pops (`order=true`) write no checkpoint and never read the retry topic: the queue
//! is blocked for the group until the pop is acked or its invisible time is over
//! (`crate::state::pop_order`), and the group's offset moves only as acks arrive.

pub mod peek;
pub mod polling_info;
mod read;

use std::sync::Arc;

use bytes::BytesMut;
use ferrocket_net::ConnectionHandle;
use ferrocket_wire::header::{
    CustomHeader, NotificationRequestHeader, NotificationResponseHeader, PopMessageRequestHeader,
    PopMessageResponseHeader,
};
use ferrocket_wire::permissions::PERM_READ;
use ferrocket_wire::pop_receipt::{ORDER_REVIVE_QUEUE, QueueOffsets, pop_retry_topic};
use ferrocket_wire::{RemotingCommand, ResponseCode};
use tokio::sync::Notify;

use crate::error::{BrokerError, BrokerResult, respond};
use crate::handlers::Answer;
use crate::handlers::pull::TagFilter;
use crate::state::Broker;
use crate::state::pop_wake::{Polling, PollingKey, PopWait};
use crate::state::sql_filter::Expression;

pub use read::{PopFilter, QueueRead, append_revive_record, message_at, read_queue};

/// `PopMessageProcessor`: at most 32 messages a pop.
pub const POP_MESSAGES_MAX: i32 = 32;
/// Java answers POLLING_TIMEOUT to a pop that arrives this long after its poll time ended.
pub const POP_LATE_MS_MAX: i64 = 500;
/// One pop in this many reads the retry topic first (`popFromRetryProbability` = 20 %).
pub(crate) const RETRY_FIRST_EVERY: u64 = 5;

/// POP_MESSAGE.
pub fn serve(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, handle_pop(&broker, &request, &connection).await) })
}

/// NOTIFICATION.
pub fn serve_notification(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move { respond(&request, handle_notification(&broker, &request, &connection).await) })
}

/// What the checks settled about a pop.
#[derive(Clone)]
pub struct Checked {
    pub read_queue_nums: i32,
    pub retry_topic: String,
    pub filter: PopFilter,
}

/// Java's checks of a pop, in Java's order.
pub fn check(b: &Broker, header: &PopMessageRequestHeader, peer: &str, now_ms: i64) -> BrokerResult<Checked> {
    let config = b.config();
    let broker_ip = || config.broker_ip1.clone();
    if header.born_time > 0
        && now_ms.saturating_sub(header.born_time).saturating_sub(header.poll_time) > POP_LATE_MS_MAX
    {
        return Err(BrokerError::PopTimeoutTooMuch { broker_ip: broker_ip() });
    }
    if config.broker_permission & PERM_READ == 0 {
        return Err(BrokerError::PopBrokerForbidden { broker_ip: broker_ip() });
    }
    if header.max_msg_nums > POP_MESSAGES_MAX {
        return Err(BrokerError::PopTooManyMessages { broker_ip: broker_ip() });
    }
    if !config.timer_wheel_enable {
        return Err(BrokerError::PopNeedsTimerWheel { broker_ip: broker_ip() });
    }
    let read_queue_nums =
        check_topic_and_group(b, &header.topic, &header.consumer_group, header.queue_id, peer, now_ms)?;
    let filter = PopFilter::of(
        header.exp_type.as_deref(),
        header.exp.as_deref(),
        config.enable_property_filter,
    )?;
    Ok(Checked {
        read_queue_nums,
        retry_topic: pop_retry_topic(&header.topic, &header.consumer_group, config.enable_retry_topic_v2),
        filter,
    })
}

/// The topic, queue and group checks POP_MESSAGE and NOTIFICATION share; the topic's read
/// queue count.
fn check_topic_and_group(
    b: &Broker,
    topic: &str,
    group: &str,
    queue_id: i32,
    peer: &str,
    now_ms: i64,
) -> BrokerResult<i32> {
    let config = b.config();
    let Some(topic_config) = b.topics.lock().get(topic) else {
        return Err(BrokerError::PullTopicNotExist {
            topic: topic.to_owned(),
        });
    };
    if topic_config.perm & PERM_READ == 0 {
        return Err(BrokerError::PopTopicForbidden {
            topic: topic.to_owned(),
        });
    }
    if queue_id >= topic_config.read_queue_nums {
        return Err(BrokerError::PullQueueIdIllegal {
            topic: topic.to_owned(),
            queue_id,
            read_queue_nums: topic_config.read_queue_nums,
            consumer: peer.to_owned(),
        });
    }
    let group_config = b
        .groups
        .lock()
        .find_or_auto_create(group, config.auto_create_subscription_group, now_ms);
    let Some(group_config) = group_config else {
        return Err(BrokerError::PullGroupNotExist {
            group: group.to_owned(),
        });
    };
    if !group_config.consume_enable {
        return Err(BrokerError::PopGroupForbidden {
            group: group.to_owned(),
        });
    }
    Ok(topic_config.read_queue_nums)
}

/// Serves a pop: reads, and when it found nothing waits for an arrival and reads again until
/// its poll time is up.
pub async fn handle_pop(
    b: &Arc<Broker>,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = PopMessageRequestHeader::from_command(request)?;
    let answer = pop(b, header, connection.peer_addr(), connection.closed()).await?;
    Ok(answer.into_response(request))
}

/// A pop's answer: code (SUCCESS, POLLING_TIMEOUT or POLLING_FULL), Java's remark, the response
/// header and the records (retry-topic ones recoded with their receipt).
#[derive(Debug)]
pub struct PopAnswer {
    pub code: ResponseCode,
    pub remark: &'static str,
    pub header: PopMessageResponseHeader,
    pub records: Vec<bytes::Bytes>,
}

impl PopAnswer {
    /// The remoting response to `request`: the header, and the records back to back as the body.
    pub fn into_response(self, request: &RemotingCommand) -> RemotingCommand {
        let response = RemotingCommand::response_to(request, self.code, Some(self.remark.to_owned()))
            .with_ext_fields(self.header.to_ext_fields());
        if self.records.is_empty() {
            return response;
        }
        let mut body = BytesMut::with_capacity(self.records.iter().map(|r| r.len()).sum());
        for record in &self.records {
            body.extend_from_slice(record);
        }
        response.with_body(body.freeze())
    }
}

/// POP without the transport (the gRPC endpoint calls this in-process): Java's checks, the
/// reads, and the wait for an arrival until `pollTime` is up or `gone` resolves (the caller
/// went away). `peer` only appears in refusals.
pub async fn pop(
    b: &Arc<Broker>,
    mut header: PopMessageRequestHeader,
    peer: &str,
    gone: impl std::future::Future<Output = ()>,
) -> BrokerResult<PopAnswer> {
    let started_ms = b.now_ms();
    // Java fills a missing or zero born time with its own clock.
    if header.born_time == 0 {
        header.born_time = started_ms;
    }
    let checked = check(b, &header, peer, started_ms)?;
    let deadline = tokio::time::Instant::now() + poll_duration(header.poll_time);
    tokio::pin!(gone);
    // Counted for POLLING_INFO from its first wait until it answers.
    let mut waiting: Option<Polling> = None;
    loop {
        let waits = watch_both(b, &header.topic, &checked.retry_topic);
        let (first, second) = match &waits {
            Some((first, second)) => (Arc::clone(&first.notify), Arc::clone(&second.notify)),
            None => (Arc::new(Notify::new()), Arc::new(Notify::new())),
        };
        let first_woken = first.notified();
        let second_woken = second.notified();
        tokio::pin!(first_woken, second_woken);
        // Enabled before the read, so an arrival between the read and the wait still wakes us.
        first_woken.as_mut().enable();
        second_woken.as_mut().enable();
        let popped = pop_once(b, &header, &checked).await?;
        if !popped.records.is_empty() {
            return Ok(answer(&header, popped, ResponseCode::SUCCESS));
        }
        let full = waits.is_none();
        if header.poll_time <= 0 || full || tokio::time::Instant::now() >= deadline {
            let code = if full {
                ResponseCode::POLLING_FULL
            } else {
                ResponseCode::POLLING_TIMEOUT
            };
            return Ok(answer(&header, popped, code));
        }
        if waiting.is_none() {
            waiting = b
                .pop_wakers
                .count_polling(polling_key(&header.topic, &header.consumer_group, header.queue_id));
        }
        tokio::select! {
            () = &mut first_woken => {}
            () = &mut second_woken => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = &mut gone => return Ok(answer(&header, popped, ResponseCode::POLLING_TIMEOUT)),
        }
    }
}

/// `pollTime` as a wait, capped by the long-poll limit every hold shares.
fn poll_duration(poll_time_ms: i64) -> std::time::Duration {
    let capped = u64::try_from(poll_time_ms)
        .unwrap_or(0)
        .min(crate::config::SUSPEND_MS_MAX);
    std::time::Duration::from_millis(capped)
}

fn polling_key(topic: &str, group: &str, queue_id: i32) -> PollingKey {
    PollingKey {
        topic: topic.to_owned(),
        group: group.to_owned(),
        queue_id,
    }
}

fn watch_both(b: &Arc<Broker>, topic: &str, retry_topic: &str) -> Option<(PopWait, PopWait)> {
    Some((b.pop_wakers.watch(topic)?, b.pop_wakers.watch(retry_topic)?))
}

/// One pass over the queues a pop reads.
pub struct Popped {
    pub pop_time_ms: i64,
    pub revive_qid: i32,
    pub rest_num: i64,
    pub infos: QueueOffsets,
    /// The records as the consumer gets them (retry-topic ones recoded with their receipt).
    pub records: Vec<bytes::Bytes>,
}

/// Reads the queues of one pop in Java's order and returns what it took.
pub async fn pop_once(b: &Broker, header: &PopMessageRequestHeader, checked: &Checked) -> BrokerResult<Popped> {
    let served = {
        let mut pop = b.pop.lock();
        pop.pops_served = pop.pops_served.wrapping_add(1);
        pop.pops_served
    };
    let revive_queues = u64::try_from(crate::state::topics::REVIVE_QUEUE_NUMS).unwrap_or(1);
    let revive_qid = if header.order {
        ORDER_REVIVE_QUEUE
    } else {
        i32::try_from(served % revive_queues).unwrap_or(0)
    };
    // Orderly pops never read the retry topic: nothing of theirs goes there.
    let retry_first = !header.order && served % RETRY_FIRST_EVERY == 0;
    let mut popped = Popped {
        pop_time_ms: b.now_ms(),
        revive_qid,
        rest_num: 0,
        infos: QueueOffsets::default(),
        records: Vec::new(),
    };
    let want = usize::try_from(header.max_msg_nums).unwrap_or(0);
    let mut plan: Vec<(String, i32)> = Vec::new();
    if retry_first {
        plan.push((checked.retry_topic.clone(), 0));
    }
    if header.queue_id < 0 {
        let queues = u64::try_from(checked.read_queue_nums).unwrap_or(0);
        for step in 0..queues {
            let queue = (served.wrapping_add(step)) % queues.max(1);
            plan.push((header.topic.clone(), i32::try_from(queue).unwrap_or(0)));
        }
    } else {
        plan.push((header.topic.clone(), header.queue_id));
    }
    let retry_after = !retry_first && !header.order;
    for (topic, queue_id) in plan {
        read_into(b, header, checked, (&topic, queue_id), want, &mut popped).await?;
    }
    if retry_after && popped.records.len() < want {
        let retry = checked.retry_topic.clone();
        read_into(b, header, checked, (&retry, 0), want, &mut popped).await?;
    }
    Ok(popped)
}

async fn read_into(
    b: &Broker,
    header: &PopMessageRequestHeader,
    checked: &Checked,
    (topic, queue_id): (&str, i32),
    want: usize,
    popped: &mut Popped,
) -> BrokerResult<()> {
    let room = want.saturating_sub(popped.records.len());
    let read = read_queue(
        b,
        &QueueRead {
            group: &header.consumer_group,
            origin_topic: &header.topic,
            topic,
            queue_id,
            max: room,
            init_mode: header.init_mode,
            invisible_time_ms: header.invisible_time,
            pop_time_ms: popped.pop_time_ms,
            revive_qid: popped.revive_qid,
            filter: &checked.filter,
            order: header.order,
            attempt_id: header.attempt_id.as_deref(),
        },
    )
    .await?;
    popped.rest_num = popped.rest_num.saturating_add(read.rest);
    if let Some((start, offsets)) = &read.taken {
        popped.infos.add(topic, queue_id, *start, offsets);
    }
    if let Some((counts, least)) = &read.order_counts {
        popped.infos.add_order_counts(topic, queue_id, counts, *least);
    }
    popped.records.extend(read.records);
    Ok(())
}

fn answer(header: &PopMessageRequestHeader, popped: Popped, code: ResponseCode) -> PopAnswer {
    PopAnswer {
        code,
        remark: if code == ResponseCode::SUCCESS {
            "FOUND"
        } else {
            "NO_MESSAGE_IN_QUEUE"
        },
        header: PopMessageResponseHeader {
            pop_time: popped.pop_time_ms,
            invisible_time: header.invisible_time,
            revive_qid: popped.revive_qid,
            rest_num: popped.rest_num,
            start_offset_info: Some(popped.infos.start_offset_info),
            msg_offset_info: Some(popped.infos.msg_offset_info),
            order_count_info: (header.order && !popped.infos.order_count_info.is_empty())
                .then_some(popped.infos.order_count_info),
        },
        records: popped.records,
    }
}

/// Serves NOTIFICATION: whether the group has anything to pop in the topic (one queue or
/// all) or its retry topic, waiting up to `pollTime` for an arrival when not.
pub async fn handle_notification(
    b: &Arc<Broker>,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let header = NotificationRequestHeader::from_command(request)?;
    let answer = notification(b, &header, connection.peer_addr(), connection.closed()).await?;
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(answer.to_ext_fields()))
}

/// NOTIFICATION without the transport: waits until the group has something to pop, `pollTime`
/// is up, or `gone` resolves.
pub async fn notification(
    b: &Arc<Broker>,
    header: &NotificationRequestHeader,
    peer: &str,
    gone: impl std::future::Future<Output = ()>,
) -> BrokerResult<NotificationResponseHeader> {
    let now_ms = b.now_ms();
    let read_queue_nums =
        check_topic_and_group(b, &header.topic, &header.consumer_group, header.queue_id, peer, now_ms)?;
    let retry_topic = pop_retry_topic(&header.topic, &header.consumer_group, b.config().enable_retry_topic_v2);
    let deadline = tokio::time::Instant::now() + poll_duration(header.poll_time);
    let answer = |has_msg: bool, polling_full: bool| Ok(NotificationResponseHeader { has_msg, polling_full });
    tokio::pin!(gone);
    let mut waiting: Option<Polling> = None;
    loop {
        let waits = watch_both(b, &header.topic, &retry_topic);
        let Some((first, second)) = &waits else {
            return answer(false, true);
        };
        let first_woken = first.notify.notified();
        let second_woken = second.notify.notified();
        tokio::pin!(first_woken, second_woken);
        first_woken.as_mut().enable();
        second_woken.as_mut().enable();
        let queues: Vec<i32> = if header.queue_id < 0 {
            (0..read_queue_nums).collect()
        } else {
            vec![header.queue_id]
        };
        let has = queues
            .iter()
            .any(|queue| read::has_backlog(b, &header.consumer_group, &header.topic, *queue))
            || read::has_backlog(b, &header.consumer_group, &retry_topic, 0);
        if has || header.poll_time <= 0 || tokio::time::Instant::now() >= deadline {
            return answer(has, false);
        }
        if waiting.is_none() {
            waiting = b
                .pop_wakers
                .count_polling(polling_key(&header.topic, &header.consumer_group, header.queue_id));
        }
        tokio::select! {
            () = &mut first_woken => {}
            () = &mut second_woken => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = &mut gone => return answer(false, false),
        }
    }
}

/// The filter of a pop, from its expression: tags, or SQL92 when property filtering is on.
impl PopFilter {
    pub fn of(exp_type: Option<&str>, exp: Option<&str>, property_filter: bool) -> BrokerResult<PopFilter> {
        let exp = exp.filter(|e| !e.is_empty());
        let exp_type = exp_type.unwrap_or("TAG");
        let parse_failed = || BrokerError::SubscriptionParseFailed {
            expression_type: exp_type.to_owned(),
        };
        match exp {
            Some(exp) if exp_type != "TAG" => {
                if exp_type != "SQL92" || !property_filter {
                    return Err(parse_failed());
                }
                let sql: Expression = crate::state::sql_filter::parse(exp).map_err(|_| parse_failed())?;
                Ok(PopFilter {
                    tags: TagFilter::from_expression(None),
                    sql: Some(Arc::new(sql)),
                })
            }
            exp => Ok(PopFilter {
                tags: TagFilter::from_expression(exp),
                sql: None,
            }),
        }
    }
}
