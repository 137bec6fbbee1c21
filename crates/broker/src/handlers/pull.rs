//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): Java's `PullMessageProcessor` and
//! `DefaultPullMessageResultHandler` (store-and-ha.md §8, remoting.md §4.3.1).
//!
//! One pull runs in three steps: [`check`] (Java's validation order, each refusal with its code,
//! remark and `forbiddenType`), the store read with the tag filter, and [`compose`] (status →
//! code, remark = status name, the offsets header). A PULL_NOT_FOUND with the SUSPEND flag on
//! its first run is parked in [`PullHolds`](crate::state::long_poll::PullHolds) and run once more, not
//! suspending, when its queue grows or its time is up; that second answer goes out with the
//! request's opaque like any response. The commit offset the request carries is stored on the
//! first run only, as Java's `tryCommitOffset`.

mod check;

use std::sync::Arc;

use bytes::Bytes;
use ferrocket_net::ConnectionHandle;
use ferrocket_store::{GetMessageStatus, GetMessages, GetMessagesResult, QueueId, QueueOffset};
use ferrocket_wire::broker_id::MASTER_ID;
use ferrocket_wire::header::{CustomHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use ferrocket_wire::{ExtFields, RemotingCommand, ResponseCode};

pub use check::{Checked, TagFilter, check, record_matches};

use crate::error::{BrokerError, BrokerResult, error_response, respond};
use crate::handlers::Answer;
use crate::state::Broker;
use crate::state::long_poll::{ArrivalFilter, HELD_PULLS_FULL, hold_duration};
use crate::state::sql_filter::Expression;

/// `PullSysFlag.FLAG_COMMIT_OFFSET`.
pub const FLAG_COMMIT_OFFSET: i32 = 0x1;
/// `PullSysFlag.FLAG_SUSPEND`.
pub const FLAG_SUSPEND: i32 = 0x2;
/// `PullSysFlag.FLAG_SUBSCRIPTION`.
pub const FLAG_SUBSCRIPTION: i32 = 0x4;

/// PULL_MESSAGE and LITE_PULL_MESSAGE. Java 5.x's `PullMessageProcessor.rejectRequest`: a
/// slave serves reads only with `slaveReadEnable`.
pub fn serve(broker: Arc<Broker>, request: RemotingCommand, connection: ConnectionHandle) -> Answer {
    Box::pin(async move {
        let config = broker.config();
        if !config.is_master() && !config.slave_read_enable {
            return Some(error_response(&request, &BrokerError::RejectedBySlave));
        }
        respond(&request, handle_pull(&broker, &request, &connection).await)
    })
}

/// What about this broker shapes a pull's answer besides the read itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullRole {
    pub broker_id: i64,
    pub slave: bool,
    pub slave_read_enable: bool,
}

impl PullRole {
    pub fn of(config: &crate::config::BrokerConfig) -> PullRole {
        PullRole {
            broker_id: config.broker_id,
            slave: !config.is_master(),
            slave_read_enable: config.slave_read_enable,
        }
    }
}

/// Where the consumer should pull next (`suggestWhichBrokerId`) and the code after a slave's
/// rewrites: Java's `composeResponseHeader` tail and the slave branch of
/// `DefaultPullMessageResultHandler` (store-and-ha.md §7.7).
pub fn steer(role: &PullRole, checked: &Checked, outcome: &PullOutcome, code: ResponseCode) -> (i64, ResponseCode) {
    let mut suggest = match (role.slave_read_enable, outcome.suggest_pulling_from_slave) {
        (true, true) => checked.which_broker_when_consume_slowly,
        (true, false) => checked.group_broker_id,
        (false, _) => MASTER_ID,
    };
    let mut code = code;
    // Java compares with `minBrokerIdInGroup`, which is the master's (0) unless slave-acting-
    // master mode moves it: a consumer that keeps up belongs on the master.
    if role.broker_id != MASTER_ID && !outcome.suggest_pulling_from_slave {
        suggest = MASTER_ID;
        if outcome.status != Some(GetMessageStatus::Found) {
            code = ResponseCode::PULL_RETRY_IMMEDIATELY;
        }
    }
    // Slaves do not correct offsets (`offsetCheckInSlave=false`).
    if role.slave && code == ResponseCode::PULL_OFFSET_MOVED {
        suggest = checked.group_broker_id;
        code = ResponseCode::PULL_RETRY_IMMEDIATELY;
    }
    (suggest, code)
}

/// Java's `nextOffsetCorrection` on a slave: the statuses that would move the consumer keep it
/// at the request offset.
pub fn keep_request_offset(outcome: &mut PullOutcome, request_offset: i64) {
    let corrected = matches!(
        outcome.status,
        Some(
            GetMessageStatus::NoMessageInQueue
                | GetMessageStatus::NoMatchedLogicQueue
                | GetMessageStatus::OffsetTooSmall
                | GetMessageStatus::OffsetOverflowBadly
                | GetMessageStatus::OffsetFoundNull
        )
    );
    if let (true, Some(offset)) = (corrected, QueueOffset::from_java_long(request_offset)) {
        outcome.next_begin_offset = offset;
    }
}

/// A pull's outcome: Java's `GetMessageResult`, including the broker-side OFFSET_RESET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// `None` is `OFFSET_RESET`: an admin reset this queue and the consumer must move there.
    pub status: Option<GetMessageStatus>,
    pub next_begin_offset: QueueOffset,
    pub min_offset: QueueOffset,
    pub max_offset: QueueOffset,
    pub records: Vec<Bytes>,
    /// The records back to back (the store read them into one buffer): the response body.
    pub body: Bytes,
    /// The read reached further back than the in-memory window (Java's
    /// `isSuggestPullingFromSlave`).
    pub suggest_pulling_from_slave: bool,
}

impl PullOutcome {
    pub fn from_store(result: GetMessagesResult) -> PullOutcome {
        PullOutcome {
            status: Some(result.status),
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            records: result.records,
            body: result.body,
            suggest_pulling_from_slave: result.suggest_pulling_from_slave,
        }
    }

    /// What a request offset below zero gets, which the store's unsigned offsets cannot
    /// express: Java's checks see it as below the queue's minimum.
    pub fn negative_offset(min_offset: QueueOffset, max_offset: QueueOffset) -> PullOutcome {
        let (status, next_begin_offset) = if max_offset == QueueOffset(0) {
            (GetMessageStatus::NoMessageInQueue, QueueOffset(0))
        } else {
            (GetMessageStatus::OffsetTooSmall, min_offset)
        };
        PullOutcome {
            status: Some(status),
            next_begin_offset,
            min_offset,
            max_offset,
            records: Vec::new(),
            body: Bytes::new(),
            suggest_pulling_from_slave: false,
        }
    }

    /// A pending admin reset of the queue to `offset`.
    pub fn reset(offset: i64, min_offset: QueueOffset, max_offset: QueueOffset) -> PullOutcome {
        PullOutcome {
            status: None,
            next_begin_offset: QueueOffset::from_java_long(offset).unwrap_or_default(),
            min_offset,
            max_offset,
            records: Vec::new(),
            body: Bytes::new(),
            suggest_pulling_from_slave: false,
        }
    }

    /// The status name Java puts in the remark.
    pub fn status_name(&self) -> &'static str {
        self.status.map_or("OFFSET_RESET", GetMessageStatus::name)
    }
}

/// Java's `composeResponseHeader`: the response code for a status (`None`: OFFSET_RESET).
pub fn status_code(status: Option<GetMessageStatus>, request_offset: i64) -> ResponseCode {
    let Some(status) = status else {
        return ResponseCode::PULL_OFFSET_MOVED;
    };
    match status {
        GetMessageStatus::Found => ResponseCode::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if request_offset != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => ResponseCode::PULL_OFFSET_MOVED,
    }
}

/// The response to a pull: code, remark (the status name), header, and for SUCCESS the records
/// back to back as the body.
pub fn compose(
    request: &RemotingCommand,
    request_offset: i64,
    checked: &Checked,
    outcome: &PullOutcome,
    role: &PullRole,
) -> RemotingCommand {
    let (suggest_which_broker_id, code) = steer(role, checked, outcome, status_code(outcome.status, request_offset));
    let header = PullMessageResponseHeader {
        suggest_which_broker_id,
        next_begin_offset: outcome.next_begin_offset.to_java_long(),
        min_offset: outcome.min_offset.to_java_long(),
        max_offset: outcome.max_offset.to_java_long(),
        topic_sys_flag: Some(checked.topic_sys_flag),
        group_sys_flag: Some(checked.group_sys_flag),
        ..PullMessageResponseHeader::default()
    };
    let response = RemotingCommand::response_to(request, code, Some(outcome.status_name().to_owned()))
        .with_ext_fields(header.to_ext_fields());
    if code != ResponseCode::SUCCESS {
        return response;
    }
    // The store read the records into one buffer; the body shares it, no copy.
    response.with_body(outcome.body.clone())
}

/// A refused pull: Java answers with the pull's response header, so the frame carries
/// `extFields` (empty unless the refusal names a `forbiddenType`).
fn refusal_response(request: &RemotingCommand, refusal: &BrokerError) -> RemotingCommand {
    let mut response = error_response(request, refusal);
    response.ext_fields.get_or_insert_with(ExtFields::new);
    response
}

/// A pull to park: where, and for how long.
struct Suspend {
    topic: String,
    queue_id: QueueId,
    offset: QueueOffset,
    hold_for: std::time::Duration,
    /// Which arrivals wake it: the pull's own tag filter.
    filter: TagFilter,
    /// A property (SQL92) filter, which arrivals cannot judge: a woken hold reads the new
    /// messages' properties and parks again when none passes.
    sql: Option<Arc<Expression>>,
}

/// The hold's view of a pull's filter; `None` (wake on anything) for `*`.
fn arrival_filter(filter: &TagFilter) -> Option<ArrivalFilter> {
    if filter.all {
        return None;
    }
    let filter = filter.clone();
    Some(Box::new(move |tags_code| filter.matches(tags_code)))
}

/// Serves a pull, holding it when it finds nothing new and may wait, until a message it wants
/// arrives or its time is up (Java's `PullRequestHoldService`, which also reads an arrival's
/// properties before it wakes an SQL92 pull).
pub async fn handle_pull(
    b: &Arc<Broker>,
    request: &RemotingCommand,
    connection: &ConnectionHandle,
) -> BrokerResult<RemotingCommand> {
    let (response, suspend) = pull_once(b, request, connection.peer_addr(), true)?;
    let Some(suspend) = suspend else {
        return Ok(response);
    };
    // Java's `request.isSuspended()`: the latency metric labels a held pull as long polling.
    super::mark_long_polling();
    let deadline = tokio::time::Instant::now() + suspend.hold_for;
    let mut watched_from = suspend.offset;
    loop {
        let held = b.pull_holds.hold(
            &suspend.topic,
            suspend.queue_id,
            watched_from,
            arrival_filter(&suspend.filter),
        );
        let Some(mut held) = held else {
            HELD_PULLS_FULL.hit(b.now_ms(), &suspend.topic, "pull answered at once instead of held");
            break;
        };
        // A message stored between the read and the hold would never wake us: look again.
        let max = b
            .store
            .read(|s| s.max_offset_in_queue(&suspend.topic, suspend.queue_id));
        if max <= watched_from {
            tokio::select! {
                _ = tokio::time::timeout_at(deadline, held.woken()) => {}
                // Nobody to answer: stop holding (the answer below goes nowhere, harmlessly).
                () = connection.closed() => break,
            }
        }
        drop(held);
        let Some(sql) = &suspend.sql else { break };
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let max = b
            .store
            .read(|s| s.max_offset_in_queue(&suspend.topic, suspend.queue_id));
        if b.store
            .read(|s| check::arrived_matching(s, &suspend.topic, suspend.queue_id, (watched_from, max), sql))
        {
            break;
        }
        watched_from = max.max(watched_from);
    }
    let (response, _) = pull_once(b, request, connection.peer_addr(), false)?;
    Ok(response)
}

/// One run of Java's `processRequest`: the response, and what to park when the pull may wait.
fn pull_once(
    b: &Broker,
    request: &RemotingCommand,
    peer: &str,
    allow_suspend: bool,
) -> BrokerResult<(RemotingCommand, Option<Suspend>)> {
    let header = PullMessageRequestHeader::from_command(request)?;
    let config = b.config();
    let now_ms = b.now_ms();
    let (checked, traffic) = {
        let mut topics = b.topics.lock();
        let traffic = b.metrics.enabled().then(|| topics.traffic(&header.topic)).flatten();
        let mut groups = b.groups.lock();
        let clients = b.clients.lock();
        let checked = check(&config, (&topics, &mut groups, &clients), &header, peer, now_ms);
        (checked, traffic)
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(refusal) => return Ok((refusal_response(request, &refusal), None)),
    };
    let reset = b
        .offsets
        .lock()
        .take_reset_offset(&header.consumer_group, &header.topic, header.queue_id);
    let mut outcome = read(b, &header, (&checked.filter, checked.sql.as_deref()), reset)?;
    let role = PullRole::of(&config);
    if role.slave {
        keep_request_offset(&mut outcome, header.queue_offset);
    }
    {
        let mut offsets = b.offsets.lock();
        // Java's `tryCommitOffset`, on every run: where this pull ends (the metrics' in-flight
        // and ready messages of pull groups).
        offsets.commit_pull(
            &header.consumer_group,
            &header.topic,
            header.queue_id,
            outcome.next_begin_offset.to_java_long(),
        );
        // The consumer's offset predates an admin reset this pull is about to announce: Java
        // commits it anyway, racing the reset; we keep the reset.
        if allow_suspend && header.sys_flag & FLAG_COMMIT_OFFSET != 0 && reset.is_none() {
            offsets.commit(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                header.commit_offset,
                now_ms,
            );
        }
    }
    let response = compose(request, header.queue_offset, &checked, &outcome, &role);
    // Java's pull result handler counts what a FOUND answer carries.
    if let Some(traffic) = traffic.filter(|_| outcome.status == Some(GetMessageStatus::Found)) {
        let messages = outcome.records.len() as u64;
        traffic.record_pulled(&header.consumer_group, messages, outcome.body.len() as u64, now_ms);
    }
    let may_wait = allow_suspend && header.sys_flag & FLAG_SUSPEND != 0;
    if response.code == ResponseCode::PULL_NOT_FOUND.0 && may_wait {
        let suspend = Suspend {
            topic: header.topic,
            queue_id: QueueId(header.queue_id),
            offset: QueueOffset::from_java_long(header.queue_offset).unwrap_or_default(),
            hold_for: hold_duration(
                config.long_polling_enable,
                config.short_polling_time_ms,
                header.suspend_timeout_millis,
            ),
            filter: checked.filter,
            sql: checked.sql,
        };
        return Ok((response, Some(suspend)));
    }
    Ok((response, None))
}

/// The store read for `header`, with its filter; or the pending reset.
fn read(
    b: &Broker,
    header: &PullMessageRequestHeader,
    (filter, sql): (&TagFilter, Option<&Expression>),
    reset: Option<i64>,
) -> BrokerResult<PullOutcome> {
    let (topic, queue_id) = (header.topic.as_str(), QueueId(header.queue_id));
    let matches = |tags_code: i64| filter.matches(tags_code);
    let sql_matches = |record: &[u8]| sql.is_none_or(|sql| check::record_matches(record, sql));
    let outcome = b.store.read(|store| {
        let bounds = || {
            (
                store.min_offset_in_queue(topic, queue_id),
                store.max_offset_in_queue(topic, queue_id),
            )
        };
        if let Some(offset) = reset {
            let (min, max) = bounds();
            return Ok(PullOutcome::reset(offset, min, max));
        }
        let Some(offset) = QueueOffset::from_java_long(header.queue_offset) else {
            let (min, max) = bounds();
            return Ok(PullOutcome::negative_offset(min, max));
        };
        store
            .get_messages(&GetMessages {
                topic,
                queue_id,
                offset,
                // Java takes one message even when asked for none.
                max_count: u32::try_from(header.max_msg_nums).unwrap_or(0).max(1),
                filter: if filter.all { None } else { Some(&matches) },
                record_filter: if sql.is_some() { Some(&sql_matches) } else { None },
            })
            .map(PullOutcome::from_store)
    })?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::RequestCode;

    use super::*;

    #[test]
    fn status_codes_are_javas() {
        use GetMessageStatus::*;
        assert_eq!(status_code(None, 5), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(status_code(Some(Found), 5), ResponseCode::SUCCESS);
        assert_eq!(
            status_code(Some(NoMatchedMessage), 5),
            ResponseCode::PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(
            status_code(Some(MessageWasRemoving), 5),
            ResponseCode::PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(status_code(Some(NoMessageInQueue), 0), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(status_code(Some(NoMessageInQueue), 3), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(
            status_code(Some(NoMatchedLogicQueue), -1),
            ResponseCode::PULL_OFFSET_MOVED
        );
        assert_eq!(status_code(Some(OffsetOverflowOne), 5), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(status_code(Some(OffsetFoundNull), 5), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(
            status_code(Some(OffsetOverflowBadly), 50),
            ResponseCode::PULL_OFFSET_MOVED
        );
        assert_eq!(status_code(Some(OffsetTooSmall), 0), ResponseCode::PULL_OFFSET_MOVED);
    }

    #[test]
    fn negative_offsets_are_too_small_or_an_empty_queue_and_resets_move() {
        let empty = PullOutcome::negative_offset(QueueOffset(0), QueueOffset(0));
        assert_eq!(
            (empty.status, empty.next_begin_offset),
            (Some(GetMessageStatus::NoMessageInQueue), QueueOffset(0))
        );
        let filled = PullOutcome::negative_offset(QueueOffset(3), QueueOffset(9));
        assert_eq!(
            (filled.status, filled.next_begin_offset),
            (Some(GetMessageStatus::OffsetTooSmall), QueueOffset(3))
        );
        assert_eq!(status_code(filled.status, -5), ResponseCode::PULL_OFFSET_MOVED);
        let reset = PullOutcome::reset(7, QueueOffset(0), QueueOffset(9));
        assert_eq!(
            (reset.status_name(), reset.next_begin_offset),
            ("OFFSET_RESET", QueueOffset(7))
        );
    }

    const MASTER: PullRole = PullRole {
        broker_id: 0,
        slave: false,
        slave_read_enable: false,
    };

    #[test]
    fn compose_writes_the_header_remark_and_body() {
        let request = RemotingCommand::request(RequestCode::PULL_MESSAGE);
        let checked = Checked {
            filter: TagFilter::from_expression(None),
            sql: None,
            topic_sys_flag: 0,
            group_sys_flag: 0,
            group_broker_id: 0,
            which_broker_when_consume_slowly: 1,
        };
        let found = PullOutcome::from_store(GetMessagesResult {
            status: GetMessageStatus::Found,
            next_begin_offset: QueueOffset(2),
            min_offset: QueueOffset(0),
            max_offset: QueueOffset(2),
            records: vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")],
            body: Bytes::from_static(b"abcd"),
            suggest_pulling_from_slave: false,
        });
        let response = compose(&request, 0, &checked, &found, &MASTER);
        assert_eq!(response.code, 0);
        assert_eq!(response.remark.as_deref(), Some("FOUND"));
        assert_eq!(response.body.as_deref(), Some(&b"abcd"[..]));
        let header = PullMessageResponseHeader::from_command(&response).unwrap();
        assert_eq!(
            (header.next_begin_offset, header.min_offset, header.max_offset),
            (2, 0, 2)
        );
        assert_eq!(header.suggest_which_broker_id, 0);
        let moved = PullOutcome {
            status: Some(GetMessageStatus::OffsetOverflowBadly),
            next_begin_offset: QueueOffset(2),
            records: Vec::new(),
            ..found
        };
        let response = compose(&request, 99, &checked, &moved, &MASTER);
        assert_eq!(
            (response.code, response.body.is_none()),
            (ResponseCode::PULL_OFFSET_MOVED.0, true)
        );
        assert_eq!(response.remark.as_deref(), Some("OFFSET_OVERFLOW_BADLY"));
    }

    #[test]
    fn pulls_are_steered_as_java_steers_them() {
        let checked = Checked {
            filter: TagFilter::from_expression(None),
            sql: None,
            topic_sys_flag: 0,
            group_sys_flag: 0,
            group_broker_id: 0,
            which_broker_when_consume_slowly: 1,
        };
        let outcome = |status, lagging| PullOutcome {
            status: Some(status),
            next_begin_offset: QueueOffset(5),
            min_offset: QueueOffset(0),
            max_offset: QueueOffset(9),
            records: Vec::new(),
            body: Bytes::new(),
            suggest_pulling_from_slave: lagging,
        };
        let role = |broker_id, slave_read_enable| PullRole {
            broker_id,
            slave: broker_id != 0,
            slave_read_enable,
        };
        let found = |lagging| outcome(GetMessageStatus::Found, lagging);
        let ok = ResponseCode::SUCCESS;
        // A master: the slave only with slaveReadEnable and a lagging consumer.
        assert_eq!(steer(&role(0, true), &checked, &found(true), ok), (1, ok));
        assert_eq!(steer(&role(0, true), &checked, &found(false), ok), (0, ok));
        assert_eq!(steer(&role(0, false), &checked, &found(true), ok), (0, ok));
        // A slave serves what it found but sends a consumer that keeps up back to the master.
        assert_eq!(steer(&role(1, true), &checked, &found(false), ok), (0, ok));
        let caught_up = outcome(GetMessageStatus::OffsetOverflowOne, false);
        assert_eq!(
            steer(&role(1, true), &checked, &caught_up, ResponseCode::PULL_NOT_FOUND),
            (0, ResponseCode::PULL_RETRY_IMMEDIATELY)
        );
        // A lagging consumer stays; the slave never moves its offset.
        let moved = outcome(GetMessageStatus::OffsetTooSmall, true);
        assert_eq!(
            steer(&role(1, true), &checked, &moved, ResponseCode::PULL_OFFSET_MOVED),
            (0, ResponseCode::PULL_RETRY_IMMEDIATELY)
        );
        let mut corrected = moved.clone();
        keep_request_offset(&mut corrected, 3);
        assert_eq!(corrected.next_begin_offset, QueueOffset(3));
        let mut found_outcome = found(false);
        keep_request_offset(&mut found_outcome, 3);
        assert_eq!(found_outcome.next_begin_offset, QueueOffset(5));
    }
}
