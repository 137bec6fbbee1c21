//! Timer messages: 5.x's delivery at an arbitrary time (`setDeliverTimeMs`, `setDelayTimeSec`,
//! `setDelayTimeMs`), Java's `HookUtils.transformTimerMessage` and `TimerMessageStore`.
//!
//! At put time a message carrying `TIMER_DELIVER_MS`, `TIMER_DELAY_SEC` or `TIMER_DELAY_MS` whose
//! time lies ahead is parked in [`TIMER_TOPIC`] queue 0 with `TIMER_OUT_MS` (the time rounded
//! down to `timerPrecisionMs`, as Java writes it), `REAL_TOPIC` and `REAL_QID`: that record in
//! the commit log is the durable timer. The wheel ([`wheel`]) reads the timer topic's queue and
//! puts each message back into its real topic once due.
//!
//! When it is due: Java fires the slot `TIMER_OUT_MS` once the clock passed the slot's end
//! (`TIMER_OUT_MS + precision`), so never early and up to a precision late. We fire at the time
//! the message asked for where the record tells it exactly (`TIMER_DELIVER_MS`, or the store
//! time plus the delay, which is never before Java's own "now + delay"), and never later than
//! Java's slot end ([`due_ms`]).

pub mod counts;
pub mod recall;
pub mod wheel;

use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use ferrocket_wire::system_topics::TIMER_TOPIC;

use crate::config::BrokerConfig;

/// Timers waiting at once, counting those written but not yet read by the wheel: each costs
/// 16 bytes in the wheel's heap (16 MiB a million). Beyond it a timer send is refused as Java
/// refuses one under flow control (Java has no total bound, only `timerCongestNumEachSlot`).
pub const TIMERS_PENDING_MAX: u64 = 5_000_000;

/// The broker settings the put-time rewrite reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerSettings {
    /// `timerWheelEnable`.
    pub enabled: bool,
    /// `timerPrecisionMs`.
    pub precision_ms: i64,
    /// `timerMaxDelaySec`, in ms.
    pub max_delay_ms: i64,
}

impl TimerSettings {
    pub fn of(config: &BrokerConfig) -> TimerSettings {
        TimerSettings {
            enabled: config.timer_wheel_enable,
            precision_ms: config.timer_precision_ms,
            max_delay_ms: config.timer_max_delay_sec.saturating_mul(1_000),
        }
    }
}

/// Why a timer message is refused (Java's `PutMessageStatus` of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerRefusal {
    /// `WHEEL_TIMER_NOT_ENABLE`: `timerWheelEnable=false`.
    NotEnabled,
    /// `WHEEL_TIMER_MSG_ILLEGAL`: an unparsable time, one beyond `timerMaxDelaySec`, or a
    /// delete mark (`TIMER_DEL_UNIQKEY`) whose time has passed.
    Illegal,
    /// `WHEEL_TIMER_FLOW_CONTROL`: [`TIMERS_PENDING_MAX`] timers are waiting.
    FlowControl,
}

/// Java's `checkIfTimerMessage` then `transformTimerMessage`, for a message of transaction type
/// NOT or COMMIT. Returns whether the message was parked in [`TIMER_TOPIC`]. A message with a
/// positive `DELAY` level loses its timer properties and keeps its level (the level wins, as in
/// Java); one already parked (in the timer topic, or with `TIMER_OUT_MS`) is left alone; one
/// whose time has come is delivered now, its properties untouched. `pending` (the timers
/// waiting) is asked only of a timer.
pub fn park_if_timer(
    message: &mut StoredMessage,
    settings: &TimerSettings,
    now_ms: i64,
    pending: impl FnOnce() -> u64,
) -> Result<bool, TimerRefusal> {
    if !message.transaction_type().takes_queue_offset() || message.topic == TIMER_TOPIC {
        return Ok(false);
    }
    let delay_level = message
        .properties
        .get(keys::DELAY)
        .and_then(|level| level.parse::<i32>().ok())
        .unwrap_or(0);
    if delay_level > 0 {
        for key in [keys::TIMER_DELIVER_MS, keys::TIMER_DELAY_SEC, keys::TIMER_DELAY_MS] {
            message.properties.remove(key);
        }
        return Ok(false);
    }
    if message.properties.get(keys::TIMER_OUT_MS).is_some() {
        return Ok(false);
    }
    let Some(deliver_ms) = requested_time(message, now_ms) else {
        return Ok(false);
    };
    if !settings.enabled {
        return Err(TimerRefusal::NotEnabled);
    }
    let deliver_ms = deliver_ms.ok_or(TimerRefusal::Illegal)?;
    if deliver_ms <= now_ms {
        return match message.properties.get(keys::TIMER_DEL_UNIQKEY) {
            Some(_) => Err(TimerRefusal::Illegal),
            None => Ok(false),
        };
    }
    if deliver_ms - now_ms > settings.max_delay_ms {
        return Err(TimerRefusal::Illegal);
    }
    if pending() >= TIMERS_PENDING_MAX {
        return Err(TimerRefusal::FlowControl);
    }
    let slot_ms = slot_of(deliver_ms, settings.precision_ms);
    message.properties.insert(keys::TIMER_OUT_MS, slot_ms.to_string());
    message.properties.insert(keys::REAL_TOPIC, message.topic.clone());
    message.properties.insert(keys::REAL_QID, message.queue_id.to_string());
    message.topic = TIMER_TOPIC.to_owned();
    message.queue_id = 0;
    message.version = MessageVersion::for_topic_bytes(TIMER_TOPIC.len());
    Ok(true)
}

/// The time a message asks for, in Java's order of precedence (`TIMER_DELAY_SEC`, then
/// `TIMER_DELAY_MS`, then `TIMER_DELIVER_MS`): `None` when it asks for none, `Some(None)` when the
/// value is not a number or overflows (Java's `NumberFormatException`; Java wraps on overflow).
fn requested_time(message: &StoredMessage, now_ms: i64) -> Option<Option<i64>> {
    let properties = &message.properties;
    if let Some(seconds) = properties.get(keys::TIMER_DELAY_SEC) {
        return Some(parse_java_long(seconds).and_then(|s| s.checked_mul(1_000)?.checked_add(now_ms)));
    }
    if let Some(ms) = properties.get(keys::TIMER_DELAY_MS) {
        return Some(parse_java_long(ms).and_then(|ms| ms.checked_add(now_ms)));
    }
    properties.get(keys::TIMER_DELIVER_MS).map(parse_java_long)
}

/// `Long.parseLong`: an optional sign and decimal digits only.
fn parse_java_long(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Java's rounding of a delivery time to its slot: down to a multiple of the precision, and a
/// time exactly on a multiple into the slot before (the slot fires once its end has passed).
pub fn slot_of(deliver_ms: i64, precision_ms: i64) -> i64 {
    let precision_ms = precision_ms.max(1);
    if deliver_ms % precision_ms == 0 {
        deliver_ms - precision_ms
    } else {
        deliver_ms.div_euclid(precision_ms) * precision_ms
    }
}

/// When a parked timer record is due: the time it asked for as the record tells it, capped at
/// Java's firing time (`TIMER_OUT_MS + precision`). `None` for a record that is no timer (no
/// readable `TIMER_OUT_MS`): the wheel drops it, as Java's enqueue does.
pub fn due_ms(parked: &StoredMessage, precision_ms: i64) -> Option<i64> {
    let properties = &parked.properties;
    let slot_ms = properties.get(keys::TIMER_OUT_MS).and_then(parse_java_long)?;
    let slot_end_ms = slot_ms.saturating_add(precision_ms.max(1));
    let asked_ms = if let Some(seconds) = properties.get(keys::TIMER_DELAY_SEC) {
        parse_java_long(seconds).and_then(|s| s.checked_mul(1_000)?.checked_add(parked.store_timestamp_ms))
    } else if let Some(ms) = properties.get(keys::TIMER_DELAY_MS) {
        parse_java_long(ms).and_then(|ms| ms.checked_add(parked.store_timestamp_ms))
    } else {
        properties.get(keys::TIMER_DELIVER_MS).and_then(parse_java_long)
    };
    // A delete mark (a recall) is taken at its slot's start, before any timer it may cancel.
    if properties.get(keys::TIMER_DEL_UNIQKEY).is_some() {
        return Some(slot_ms);
    }
    Some(asked_ms.map_or(slot_end_ms, |asked| asked.clamp(slot_ms, slot_end_ms)))
}

/// Java's `convert` + `convertMessage`: the parked message back in its real topic and queue,
/// with body, flag, sysFlag, born and store hosts and reconsume times unchanged, and
/// `TIMER_ENQUEUE_MS` (when the wheel read it) and `TIMER_DEQUEUE_MS` (now) added. Java
/// serialises the properties before it clears `REAL_TOPIC` and `REAL_QID`, so the delivered
/// record keeps them (and `TIMER_OUT_MS`); so does ours. `None` for a record naming no real
/// topic or queue, and for a delete mark (Java never delivers one).
pub fn delivered_message(parked: &StoredMessage, enqueued_ms: i64, now_ms: i64) -> Option<StoredMessage> {
    let properties = &parked.properties;
    if properties.get(keys::TIMER_DEL_UNIQKEY).is_some() {
        return None;
    }
    let topic = properties.get(keys::REAL_TOPIC)?.to_owned();
    let queue_id = properties.get(keys::REAL_QID)?.parse::<i32>().ok()?;
    let mut properties = properties.clone();
    properties.insert(keys::TIMER_ENQUEUE_MS, enqueued_ms.to_string());
    properties.insert(keys::TIMER_DEQUEUE_MS, now_ms.to_string());
    Some(StoredMessage {
        version: MessageVersion::for_topic_bytes(topic.len()),
        queue_id,
        queue_offset: 0,
        physical_offset: 0,
        store_timestamp_ms: 0,
        prepared_transaction_offset: 0,
        topic,
        properties,
        ..parked.clone()
    })
}

#[cfg(test)]
mod tests;
