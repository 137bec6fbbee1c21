//! ReceiveMessage, AckMessage and ChangeInvisibleDuration as Java's `ReceiveMessageActivity`,
//! `AckMessageActivity`, `ChangeInvisibleDurationActivity` and `ConsumerProcessor` turn them into
//! POP_MESSAGE / ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME for the broker's own POP code, and
//! the answers back. Pure: the service calls the broker.
//!
//! The receipt handle a 5.x client holds is the POP receipt (`POP_CK`, eight fields) with the
//! message's commit-log offset appended (Java's `ReceiptHandle`, nine fields).

use ferrocket_broker::handlers::pop::PopAnswer;
use ferrocket_wire::ResponseCode;
use ferrocket_wire::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ConsumerSendMsgBackRequestHeader,
    PopMessageRequestHeader,
};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::pop_receipt::{PopReceipt, RetryMark, receipt_of};

use crate::proto::{AckMessageResultEntry, Code, FilterExpression, FilterType, Message, ReceiveMessageRequest, Status};
use crate::recover;
use crate::status::{code_of_remoting, proxy_exception, status};

/// `ProxyConfig.minInvisibleTimeMillsForRecv` default: a receive asking less is ILLEGAL_INVISIBLE_TIME.
pub const RECEIVE_INVISIBLE_MS_MIN: i64 = 10_000;
/// `ProxyConfig.maxInvisibleTimeMills` default: twelve hours.
pub const INVISIBLE_MS_MAX: i64 = 12 * 60 * 60 * 1000;
/// `ProxyConfig.defaultInvisibleTimeMills`: a receive with `auto_renew` (the PushConsumer's) gets
/// this; Java then renews it while the client consumes, ours does not yet.
pub const AUTO_RENEW_INVISIBLE_MS: i64 = 60_000;
/// `grpcClientConsumerMinLongPollingTimeoutMillis` default.
pub const LONG_POLLING_MS_MIN: i64 = 5_000;
/// `grpcClientConsumerMaxLongPollingTimeoutMillis` default.
pub const LONG_POLLING_MS_MAX: i64 = 20_000;
/// The 5.x clients' default request timeout (Java's and Go's `requestTimeout`), taken for a
/// client that has sent no settings yet (Java's proxy fails such a receive outright).
pub const CLIENT_REQUEST_TIMEOUT_MS: i64 = 3_000;
/// Java's `ConsumeInitMode.MAX`: a group new to a queue starts at its end.
const START_AT_QUEUE_END: i32 = 1;

/// Java's `ReceiptHandle`: the POP receipt and the commit-log offset (-1 when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub receipt: PopReceipt,
    pub commit_log_offset: i64,
    /// The string as the client sent it (the broker gets it whole as `extraInfo`).
    pub text: String,
}

impl ReceiptHandle {
    /// `ReceiptHandle.decode`: at least eight fields; Java's message when there are fewer.
    pub fn decode(text: &str) -> Result<ReceiptHandle, Status> {
        let fields = text.split(' ').count();
        if fields < 8 {
            return Err(status(
                Code::InternalServerError,
                format!("Parse failed, dataList size {fields}"),
            ));
        }
        let receipt = PopReceipt::parse(text).map_err(|error| status(Code::InternalServerError, error.to_string()))?;
        let commit_log_offset = match text.split(' ').nth(8) {
            Some(offset) => offset
                .parse()
                .map_err(|_| status(Code::InternalServerError, format!("For input string: \"{offset}\"")))?,
            None => -1,
        };
        Ok(ReceiptHandle {
            receipt,
            commit_log_offset,
            text: text.to_owned(),
        })
    }

    /// `ConsumerProcessor.validateReceiptHandle`: past its invisible time the handle is stale.
    pub fn check_fresh(&self, now_ms: i64) -> Result<(), Status> {
        let visible_at = self.receipt.pop_time_ms.saturating_add(self.receipt.invisible_time_ms);
        if visible_at <= now_ms {
            return Err(proxy_exception(Code::InvalidReceiptHandle, "receipt handle is expired"));
        }
        Ok(())
    }

    /// The message's queue offset (the receipt's eighth field).
    pub fn offset(&self) -> i64 {
        self.receipt.msg_queue_offset.unwrap_or(self.receipt.ck_queue_offset)
    }

    /// The topic the message is stored in: the pop retry topic for one popped from it.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        self.receipt.retry.real_topic(topic, group)
    }

    pub fn ack_header(&self, topic: &str, group: &str) -> AckMessageRequestHeader {
        AckMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: self.real_topic(topic, group),
            queue_id: self.receipt.queue_id,
            extra_info: self.text.clone(),
            offset: self.offset(),
            ..AckMessageRequestHeader::default()
        }
    }

    pub fn change_header(&self, topic: &str, group: &str, invisible_ms: i64) -> ChangeInvisibleTimeRequestHeader {
        ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: self.real_topic(topic, group),
            queue_id: self.receipt.queue_id,
            extra_info: self.text.clone(),
            offset: self.offset(),
            invisible_time: invisible_ms,
            ..ChangeInvisibleTimeRequestHeader::default()
        }
    }

    /// The handle after a change of invisible time: a one-message checkpoint at the offset,
    /// popped at `pop_time_ms` (as Java's `ConsumerProcessor.changeInvisibleTime` builds it).
    pub fn changed(&self, pop_time_ms: i64, invisible_ms: i64, revive_qid: i32) -> String {
        let offset = self.offset();
        let receipt = PopReceipt {
            ck_queue_offset: offset,
            pop_time_ms,
            invisible_time_ms: invisible_ms,
            revive_qid,
            msg_queue_offset: Some(offset),
            ..self.receipt.clone()
        };
        format!("{receipt} {}", self.commit_log_offset)
    }
}

/// `GrpcValidator.validateInvisibleTime`.
pub fn check_invisible(invisible_ms: i64, min_ms: i64) -> Result<(), Status> {
    if invisible_ms < min_ms {
        return Err(status(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min_ms}"),
        ));
    }
    if invisible_ms > INVISIBLE_MS_MAX {
        return Err(status(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {INVISIBLE_MS_MAX}"),
        ));
    }
    Ok(())
}

/// `Durations.toMillis`.
pub fn duration_ms(duration: Option<&prost_types::Duration>) -> i64 {
    duration.map_or(0, |d| {
        d.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(d.nanos / 1_000_000))
    })
}

/// What the call allows, as `ReceiveMessageActivity` reads it: the time its gRPC deadline leaves
/// (`grpc-timeout`), the client's own request timeout (from its Telemetry settings) and the
/// client's version (`x-mq-client-version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallBudget<'a> {
    /// None when the call has no deadline (Java then fails with a NullPointerException; ours
    /// polls as long as the client asked, else the longest).
    pub remaining_ms: Option<i64>,
    pub request_timeout_ms: i64,
    pub client_version: &'a str,
}

/// The first client version told ILLEGAL_POLLING_TIME; older ones get BAD_REQUEST (compared as
/// Java's `String.compareTo`, byte by byte).
const ILLEGAL_POLLING_TIME_SINCE_VERSION: &str = "5.0.3";

/// The long-polling time as `ReceiveMessageActivity` picks it: the client's `long_polling_timeout`,
/// else what the deadline leaves after half the client's request timeout (the Go v5 client sends
/// no `long_polling_timeout`), within the proxy's bounds, and never past the deadline. A deadline
/// that leaves less than the shortest poll is refused, with Java's code and message.
pub fn polling_ms(request: &ReceiveMessageRequest, budget: CallBudget<'_>) -> Result<i64, Status> {
    let asked = match (&request.long_polling_timeout, budget.remaining_ms) {
        (Some(asked), _) => duration_ms(Some(asked)),
        (None, Some(remaining)) => remaining.saturating_sub(budget.request_timeout_ms / 2),
        (None, None) => LONG_POLLING_MS_MAX,
    };
    let polling = asked.clamp(LONG_POLLING_MS_MIN, LONG_POLLING_MS_MAX);
    match budget.remaining_ms {
        Some(remaining) if polling > remaining => {
            if remaining >= LONG_POLLING_MS_MIN {
                return Ok(remaining);
            }
            let code = if budget.client_version < ILLEGAL_POLLING_TIME_SINCE_VERSION {
                Code::BadRequest
            } else {
                Code::IllegalPollingTime
            };
            Err(status(
                code,
                "The deadline time remaining is not enough for polling, please check network condition",
            ))
        }
        _ => Ok(polling),
    }
}

/// The longest `grpc-timeout` value: eight ASCII digits (the gRPC over HTTP/2 spec).
const GRPC_TIMEOUT_DIGITS_MAX: usize = 8;

/// A `grpc-timeout` header ("TimeoutValue TimeoutUnit", e.g. `7999911u`) in milliseconds,
/// rounded down; None when malformed, as a call without a deadline.
pub fn grpc_timeout_ms(header: &str) -> Option<i64> {
    let unit = header.chars().last()?;
    let digits = header.get(..header.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > GRPC_TIMEOUT_DIGITS_MAX || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    match unit {
        'H' => value.checked_mul(3_600_000),
        'M' => value.checked_mul(60_000),
        'S' => value.checked_mul(1_000),
        'm' => Some(value),
        'u' => Some(value / 1_000),
        'n' => Some(value / 1_000_000),
        _ => None,
    }
}

/// `GrpcConverter.buildExpressionType` and `FilterAPI.build`'s defaults: TAG `*` when absent.
fn filter(expression: Option<&FilterExpression>) -> (String, String) {
    let Some(expression) = expression else {
        return ("TAG".to_owned(), "*".to_owned());
    };
    let kind = if expression.r#type == FilterType::Sql as i32 {
        "SQL92"
    } else {
        "TAG"
    };
    let text = if expression.expression.trim().is_empty() {
        "*".to_owned()
    } else {
        expression.expression.clone()
    };
    (kind.to_owned(), text)
}

/// The POP_MESSAGE header of a receive (`ConsumerProcessor.popMessage`: every queue, from the
/// queue's end for a new group).
pub fn pop_header(
    request: &ReceiveMessageRequest,
    (group, topic): (&str, &str),
    (invisible_ms, polling_ms): (i64, i64),
    fifo: bool,
    now_ms: i64,
) -> PopMessageRequestHeader {
    let (exp_type, exp) = filter(request.filter_expression.as_ref());
    PopMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id: -1,
        max_msg_nums: request.batch_size,
        invisible_time: invisible_ms,
        poll_time: polling_ms,
        born_time: now_ms,
        init_mode: START_AT_QUEUE_END,
        exp_type: Some(exp_type),
        exp: Some(exp),
        order: fifo,
        attempt_id: request.attempt_id.clone(),
        ..PopMessageRequestHeader::default()
    }
}

/// What a receive's stream says first: OK with messages, else Java's `PopStatus` mapping.
pub fn pop_status(code: ResponseCode, found: usize) -> Status {
    match code {
        ResponseCode::SUCCESS if found > 0 => status(Code::Ok, "OK"),
        ResponseCode::SUCCESS => status(Code::MessageNotFound, "no match message"),
        ResponseCode::POLLING_FULL => status(Code::TooManyRequests, "polling full"),
        _ => status(Code::MessageNotFound, "no new message"),
    }
}

/// The popped records as the client reads them, each with its receipt handle. A record that
/// does not decode, or whose receipt cannot be built, is left out.
pub fn messages(answer: &PopAnswer, broker_name: &str) -> Vec<Message> {
    let mut out = Vec::with_capacity(answer.records.len());
    for record in &answer.records {
        let Ok((stored, _)) = StoredMessage::decode(record) else {
            continue;
        };
        let Some(receipt) = receipt_of(
            (&stored.topic, stored.queue_id, stored.queue_offset),
            stored.properties.get(keys::POP_CK),
            &answer.header,
            broker_name,
        ) else {
            continue;
        };
        let mut message = received(&stored, format!("{receipt} {}", stored.physical_offset));
        let retry = RetryMark::of_topic(&stored.topic);
        if let Some(count) = queue_count(
            answer.header.order_count_info.as_deref(),
            retry.as_str(),
            stored.queue_id,
        ) && let Some(system) = message.system_properties.as_mut()
        {
            system.delivery_attempt = Some(count.saturating_add(1));
        }
        out.push(message);
    }
    out
}

/// An orderly pop's count for a queue (`orderCountInfo`'s `retry queueId count` entry, the
/// queue's least count), which Java's proxy makes the message's reconsume times when above 0.
fn queue_count(order_count_info: Option<&str>, mark: &str, queue_id: i32) -> Option<i32> {
    order_count_info?.split(';').find_map(|entry| {
        let mut fields = entry.split(' ');
        let (entry_mark, queue, count) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = entry_mark == mark && queue.parse::<i32>().ok()? == queue_id;
        let count = count.parse::<i32>().ok()?;
        (matches && count > 0).then_some(count)
    })
}

/// Splits the messages the client gets from those delivered `max_attempts` times already
/// (reconsume times at or past it), which go to the DLQ.
pub fn split_dead(messages: Vec<Message>, max_attempts: i32) -> (Vec<Message>, Vec<Message>) {
    messages.into_iter().partition(|message| {
        let attempt = message
            .system_properties
            .as_ref()
            .and_then(|system| system.delivery_attempt)
            .unwrap_or(1);
        attempt.saturating_sub(1) < max_attempts
    })
}

fn received(stored: &StoredMessage, handle: String) -> Message {
    let mut message = recover::message(stored);
    if let Some(system) = message.system_properties.as_mut() {
        system.receipt_handle = Some(handle);
        system.delivery_attempt = Some(stored.reconsume_times.saturating_add(1));
    }
    message
}

/// One ack's entry: OK, or the failure.
pub fn ack_entry(message_id: &str, handle: &str, outcome: Result<(), Status>) -> AckMessageResultEntry {
    AckMessageResultEntry {
        message_id: message_id.to_owned(),
        receipt_handle: handle.to_owned(),
        status: Some(outcome.map_or_else(|failure| failure, |()| status(Code::Ok, "OK"))),
    }
}

/// `setAckResponseStatus`: one code for all entries, MULTIPLE_RESULTS when they differ.
pub fn ack_status(entries: &[AckMessageResultEntry]) -> Status {
    let mut codes: Vec<i32> = entries
        .iter()
        .filter_map(|e| e.status.as_ref().map(|s| s.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [] => status(Code::InternalServerError, "ack message result is empty"),
        [one] => {
            let code = Code::try_from(*one).unwrap_or(Code::InternalServerError);
            status(code, code.as_str_name())
        }
        _ => status(Code::MultipleResults, "MULTIPLE_RESULTS"),
    }
}

/// The CONSUMER_SEND_MSG_BACK header that moves a received message to its group's DLQ
/// (`delayLevel -1`, `maxReconsumeTimes 0`); a handle without a commit-log offset cannot.
pub fn send_back_header(
    handle: &ReceiptHandle,
    (topic, group): (&str, &str),
    message_id: &str,
) -> Result<ConsumerSendMsgBackRequestHeader, Status> {
    if handle.commit_log_offset < 0 {
        return Err(proxy_exception(
            Code::InvalidReceiptHandle,
            "commit log offset is empty",
        ));
    }
    Ok(ConsumerSendMsgBackRequestHeader {
        offset: handle.commit_log_offset,
        group: group.to_owned(),
        delay_level: -1,
        origin_msg_id: Some(message_id.to_owned()),
        origin_topic: Some(handle.real_topic(topic, group)),
        max_reconsume_times: Some(0),
        ..ConsumerSendMsgBackRequestHeader::default()
    })
}

/// `ResponseBuilder.buildStatus(code, remark)`: the mapped code, the remark or else the number.
pub fn remoting_status(code: ResponseCode, number: i32, remark: Option<&str>) -> Status {
    let message = remark.map_or_else(|| number.to_string(), str::to_owned);
    status(code_of_remoting(code), message)
}

#[cfg(test)]
mod tests;
