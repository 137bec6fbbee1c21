//! The traffic tap: a bounded ring of the requests a server decoded, for the console's live view
//! and `ferrocket tap`.
//!
//! Nobody watching must cost nothing measurable on the request path: [`Tap::record`] first reads
//! one atomic counter of watchers and returns before looking at the request when it is zero. A
//! watcher holds a [`TapWatch`] (the console's event stream, the `tap` command's connection);
//! dropping it stops the recording once the last one goes. While watched, each request becomes a
//! [`TapEvent`] (code name, caller, header fields, the period since the same caller's last
//! request of that code) pushed into a ring of [`TAP_EVENTS_MAX`]; the oldest is dropped when it
//! is full, and readers page through it by sequence number ([`Tap::since`]). The answer to a
//! recorded request is recorded too ([`Tap::record_reply`]: response code, remark, latency), as
//! an event of [`Direction::Reply`] carrying the request's code, caller and topic.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

/// Events kept for readers: about a minute of a busy broker's heartbeats and routes, a few
/// seconds of a loaded send path; a reader that falls further behind is told how many it missed.
pub const TAP_EVENTS_MAX: usize = 4096;
/// Header fields kept per event: Java's largest request header has about 20.
pub const TAP_FIELDS_MAX: usize = 32;
/// Bytes kept of one field value (a property string can be kilobytes; the view needs its start).
pub const TAP_FIELD_BYTES_MAX: usize = 256;
/// Callers whose last request time (per code) and client id are remembered for the period and
/// caller columns; past this both maps start again empty (they key on remote input).
pub const TAP_CALLERS_MAX: usize = 4096;
/// Bytes of a HEART_BEAT body searched for its `clientID` (it comes first in Java's JSON).
const HEARTBEAT_SCAN_BYTES_MAX: usize = 512;

/// Which way a recorded request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A peer's request to this server.
    In,
    /// This server's request to a peer on a connection the peer opened (the broker calling a
    /// client back: NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE, ...).
    Out,
    /// This server's answer to a recorded request ([`TapEvent::reply`] says what it answered).
    Reply,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Reply => "reply",
        }
    }
}

/// One request as the live view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapEvent {
    /// Increases by one per recorded event, from 1.
    pub seq: u64,
    pub at_ms: u64,
    pub code: i32,
    /// Java's constant name (`SEND_MESSAGE_V2`), or `UNKNOWN`.
    pub code_name: &'static str,
    pub direction: Direction,
    /// The client id (`clientIP@instance`) learnt from the connection's heartbeat, the group or
    /// broker name a header names, or else the peer address.
    pub caller: String,
    pub peer: String,
    /// The topic the request names (`topic`, or `b` in the short V2 send header).
    pub topic: Option<String>,
    pub fields: Vec<(String, String)>,
    /// Milliseconds since this peer's previous request of the same code, when one was seen.
    pub period_ms: Option<u64>,
    /// For a [`Direction::Reply`]: the answer.
    pub reply: Option<TapReply>,
}

/// What the server answered to a recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapReply {
    /// The response code (`0` SUCCESS).
    pub code: i32,
    /// Java's constant name (`SUCCESS`, `TOPIC_NOT_EXIST`), or `UNKNOWN`.
    pub code_name: &'static str,
    pub remark: Option<String>,
    /// From the request's record to the answer's, by the tap's clock (milliseconds).
    pub latency_ms: u64,
}

/// Which recorded request an answer belongs to: kept by the transport while the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapMark {
    pub seq: u64,
    pub at_ms: u64,
}

/// What a reader asks for: any code, topic or client when a filter is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapFilter {
    /// A code name (any case, `SEND_MESSAGE_V2`) or number (`310`).
    pub code: Option<String>,
    /// The exact topic.
    pub topic: Option<String>,
    /// A part of the caller or of the peer address.
    pub client: Option<String>,
}

impl TapFilter {
    pub fn matches(&self, event: &TapEvent) -> bool {
        let code_ok = self.code.as_deref().is_none_or(|wanted| {
            wanted.eq_ignore_ascii_case(event.code_name) || wanted.parse::<i32>() == Ok(event.code)
        });
        let topic_ok = self
            .topic
            .as_deref()
            .is_none_or(|wanted| event.topic.as_deref() == Some(wanted));
        let client_ok = self
            .client
            .as_deref()
            .is_none_or(|wanted| event.caller.contains(wanted) || event.peer.contains(wanted));
        code_ok && topic_ok && client_ok
    }
}

/// A page of events read from the ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapPage {
    pub events: Vec<TapEvent>,
    /// Events after the reader's cursor that the ring dropped before it read them.
    pub missed: u64,
    /// The cursor for the next read: the last sequence number looked at.
    pub next: u64,
}

/// Wall-clock milliseconds, from the owner's clock (the transport reads no clock of its own).
pub type TapClock = Box<dyn Fn() -> u64 + Send + Sync>;

/// The tap of one server.
pub struct Tap {
    watchers: AtomicUsize,
    inner: Mutex<Ring>,
    clock: TapClock,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("watchers", &self.watchers)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<TapEvent>,
    last_seq: u64,
    /// (peer, code) -> the time of its last request.
    last_seen: HashMap<(String, i32), u64>,
    /// peer -> the client id its heartbeat carried.
    client_ids: HashMap<String, String>,
}

impl Ring {
    fn push(&mut self, event: TapEvent) {
        if self.events.len() >= TAP_EVENTS_MAX {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// Recording stays on while one of these lives.
#[derive(Debug)]
pub struct TapWatch {
    tap: Arc<Tap>,
}

impl Drop for TapWatch {
    fn drop(&mut self) {
        self.tap.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Tap {
    /// A tap stamping events with `clock` (read only while watched).
    pub fn new(clock: impl Fn() -> u64 + Send + Sync + 'static) -> Arc<Tap> {
        Arc::new(Tap {
            watchers: AtomicUsize::new(0),
            inner: Mutex::new(Ring::default()),
            clock: Box::new(clock),
        })
    }

    /// Starts recording until the returned guard is dropped.
    pub fn watch(self: &Arc<Tap>) -> TapWatch {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        TapWatch { tap: Arc::clone(self) }
    }

    pub fn is_watched(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    /// Records `request` from (or to) `peer` if anyone is watching; otherwise returns at once.
    /// The mark names the event for [`Tap::record_reply`].
    pub fn record(&self, request: &RemotingCommand, peer: &str, direction: Direction) -> Option<TapMark> {
        if !self.is_watched() {
            return None;
        }
        Some(self.record_at(request, peer, direction, (self.clock)()))
    }

    /// Records the answer `response` to the request `mark` names, if anyone is still watching.
    /// Caller and topic are the request's when its event is still in the ring.
    pub fn record_reply(&self, mark: TapMark, request_code: i32, peer: &str, response: &RemotingCommand) {
        if !self.is_watched() {
            return;
        }
        self.record_reply_at(mark, request_code, peer, response, (self.clock)());
    }

    fn record_reply_at(&self, mark: TapMark, request_code: i32, peer: &str, response: &RemotingCommand, now_ms: u64) {
        let fields = header_fields(response);
        let reply = TapReply {
            code: response.code,
            code_name: ResponseCode(response.code).name().unwrap_or("UNKNOWN"),
            remark: response.remark.as_deref().map(clip),
            latency_ms: now_ms.saturating_sub(mark.at_ms),
        };
        let mut ring = self.lock();
        let request = ring
            .events
            .front()
            .and_then(|oldest| usize::try_from(mark.seq.checked_sub(oldest.seq)?).ok())
            .and_then(|index| ring.events.get(index))
            .filter(|event| event.seq == mark.seq);
        let (caller, topic) = match request {
            Some(event) => (event.caller.clone(), event.topic.clone()),
            None => (peer.to_owned(), None),
        };
        ring.last_seq += 1;
        let event = TapEvent {
            seq: ring.last_seq,
            at_ms: now_ms,
            code: request_code,
            code_name: RequestCode(request_code).name().unwrap_or("UNKNOWN"),
            direction: Direction::Reply,
            caller,
            peer: peer.to_owned(),
            topic,
            fields,
            period_ms: None,
            reply: Some(reply),
        };
        ring.push(event);
    }

    fn record_at(&self, request: &RemotingCommand, peer: &str, direction: Direction, now_ms: u64) -> TapMark {
        let code = RequestCode(request.code);
        let fields = header_fields(request);
        let topic = field(&fields, "topic")
            .or_else(|| is_short_send(code).then(|| field(&fields, "b")).flatten())
            .map(str::to_owned);
        let heartbeat_client = (code == RequestCode::HEART_BEAT)
            .then(|| request.body.as_deref().and_then(heartbeat_client_id))
            .flatten();
        let mut ring = self.lock();
        if ring.client_ids.len() >= TAP_CALLERS_MAX {
            ring.client_ids.clear();
        }
        if let Some(client_id) = heartbeat_client {
            ring.client_ids.insert(peer.to_owned(), client_id);
        }
        let caller = ring
            .client_ids
            .get(peer)
            .cloned()
            .or_else(|| named_caller(code, &fields))
            .unwrap_or_else(|| peer.to_owned());
        if ring.last_seen.len() >= TAP_CALLERS_MAX {
            ring.last_seen.clear();
        }
        let period_ms = ring
            .last_seen
            .insert((peer.to_owned(), request.code), now_ms)
            .map(|before| now_ms.saturating_sub(before));
        ring.last_seq += 1;
        let event = TapEvent {
            seq: ring.last_seq,
            at_ms: now_ms,
            code: request.code,
            code_name: code.name().unwrap_or("UNKNOWN"),
            direction,
            caller,
            peer: peer.to_owned(),
            topic,
            fields,
            period_ms,
            reply: None,
        };
        let mark = TapMark {
            seq: event.seq,
            at_ms: now_ms,
        };
        ring.push(event);
        mark
    }

    /// The events that pass `filter` among the next `max` after sequence number `after` (the
    /// bound is on events looked at, so a narrow filter costs a reader no more than a wide one).
    pub fn since(&self, after: u64, filter: &TapFilter, max: usize) -> TapPage {
        let ring = self.lock();
        let oldest = ring.events.front().map_or(ring.last_seq + 1, |event| event.seq);
        let missed = oldest.saturating_sub(after.saturating_add(1));
        let mut page = TapPage {
            events: Vec::new(),
            missed,
            next: after.max(oldest.saturating_sub(1)),
        };
        for event in ring.events.iter().filter(|event| event.seq > after).take(max) {
            page.next = event.seq;
            if filter.matches(event) {
                page.events.push(event.clone());
            }
        }
        page
    }

    /// The sequence number of the newest event (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves a ring that is still a valid ring.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_short_send(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2
    )
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

/// The group, client or broker a request's header names, for requests from a connection whose
/// heartbeat was not seen (`a` is the producer group of the short V2 send header).
fn named_caller(code: RequestCode, fields: &[(String, String)]) -> Option<String> {
    let keys: &[&str] = if is_short_send(code) {
        &["a"]
    } else {
        &[
            "clientID",
            "clientId",
            "consumerGroup",
            "producerGroup",
            "group",
            "brokerName",
        ]
    };
    keys.iter().find_map(|key| field(fields, key)).map(str::to_owned)
}

fn header_fields(request: &RemotingCommand) -> Vec<(String, String)> {
    let Some(ext) = request.ext_fields.as_ref() else {
        return Vec::new();
    };
    ext.entries()
        .take(TAP_FIELDS_MAX)
        .map(|(key, value)| (key.to_owned(), clip(value.unwrap_or(""))))
        .collect()
}

fn clip(value: &str) -> String {
    if value.len() <= TAP_FIELD_BYTES_MAX {
        return value.to_owned();
    }
    let mut end = TAP_FIELD_BYTES_MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value.get(..end).unwrap_or("").to_owned()
}

/// `clientID` from the start of a HEART_BEAT body (`{"clientID":"10.0.0.9@123",...}`).
fn heartbeat_client_id(body: &[u8]) -> Option<String> {
    let head = body.get(..body.len().min(HEARTBEAT_SCAN_BYTES_MAX))?;
    let text = String::from_utf8_lossy(head);
    let after_key = text.split_once("\"clientID\"")?.1;
    let value = after_key
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let id = value.split_once('"')?.0;
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::ext_fields::ExtFields;

    use super::*;

    impl Tap {
        fn for_test() -> Arc<Tap> {
            Tap::new(|| 0)
        }
    }

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut ext = ExtFields::new();
        for (key, value) in fields {
            ext.insert(*key, *value);
        }
        RemotingCommand::request(code).with_ext_fields(ext)
    }

    fn send(topic: &str) -> RemotingCommand {
        request(RequestCode::SEND_MESSAGE_V2, &[("a", "pg"), ("b", topic)])
    }

    #[test]
    fn nothing_is_recorded_while_nobody_watches() {
        let tap = Tap::for_test();
        tap.record(&send("T"), "10.0.0.1:5000", Direction::In);
        assert_eq!(tap.last_seq(), 0);
        let watch = tap.watch();
        tap.record(&send("T"), "10.0.0.1:5000", Direction::In);
        assert_eq!(tap.last_seq(), 1);
        drop(watch);
        assert!(!tap.is_watched());
        tap.record(&send("T"), "10.0.0.1:5000", Direction::In);
        assert_eq!(tap.last_seq(), 1, "recording stops with the last watcher");
        assert_eq!(tap.lock().last_seen.len(), 1, "nor is any caller remembered");
    }

    #[test]
    fn the_ring_is_bounded_and_drops_the_oldest() {
        let tap = Tap::for_test();
        let _watch = tap.watch();
        let extra = 10u64;
        for _ in 0..TAP_EVENTS_MAX as u64 + extra {
            tap.record(&send("T"), "p", Direction::In);
        }
        assert_eq!(tap.lock().events.len(), TAP_EVENTS_MAX);
        let page = tap.since(0, &TapFilter::default(), 5);
        assert_eq!(page.missed, extra, "the reader learns what it missed");
        let seqs: Vec<u64> = page.events.iter().map(|event| event.seq).collect();
        assert_eq!(seqs, (extra + 1..extra + 6).collect::<Vec<_>>());
        assert_eq!(page.next, extra + 5);
        let rest = tap.since(page.next, &TapFilter::default(), usize::MAX);
        assert_eq!(rest.missed, 0);
        assert_eq!(rest.events.len(), TAP_EVENTS_MAX - 5);
        assert_eq!(rest.next, tap.last_seq());
    }

    #[test]
    fn events_carry_code_topic_caller_fields_and_period() {
        let tap = Tap::for_test();
        let _watch = tap.watch();
        let mut heartbeat = request(RequestCode::HEART_BEAT, &[]);
        heartbeat.body = Some(br#"{"clientID":"10.0.0.9@4242","consumerDataSet":[]}"#.to_vec().into());
        tap.record_at(&send("Orders"), "10.0.0.9:6000", Direction::In, 1_000);
        tap.record_at(&heartbeat, "10.0.0.9:6000", Direction::In, 2_000);
        tap.record_at(&heartbeat, "10.0.0.9:6000", Direction::In, 32_000);
        tap.record_at(&send("Orders"), "10.0.0.9:6000", Direction::In, 33_000);
        let events = tap.since(0, &TapFilter::default(), 10).events;
        let [first_send, _, second_heartbeat, second_send] = events.as_slice() else {
            panic!("expected 4 events, got {events:?}");
        };
        assert_eq!(first_send.code_name, "SEND_MESSAGE_V2");
        assert_eq!(first_send.topic.as_deref(), Some("Orders"));
        assert_eq!(first_send.caller, "pg", "before a heartbeat: the producer group");
        assert_eq!(first_send.period_ms, None);
        assert_eq!(second_heartbeat.caller, "10.0.0.9@4242");
        assert_eq!(second_heartbeat.period_ms, Some(30_000));
        assert_eq!(
            second_send.caller, "10.0.0.9@4242",
            "the connection's client id, once known"
        );
        assert_eq!(second_send.period_ms, Some(32_000));
        assert_eq!(
            second_send.fields,
            vec![("a".into(), "pg".into()), ("b".into(), "Orders".into())]
        );
    }

    #[test]
    fn a_reply_carries_its_code_remark_latency_and_the_requests_caller() {
        let tap = Tap::for_test();
        let _watch = tap.watch();
        let mark = tap.record_at(&send("Orders"), "10.0.0.9:6000", Direction::In, 1_000);
        let response =
            RemotingCommand::response_to(&send("Orders"), ResponseCode::TOPIC_NOT_EXIST, Some("no route".into()));
        tap.record_reply_at(mark, RequestCode::SEND_MESSAGE_V2.0, "10.0.0.9:6000", &response, 1_007);
        let events = tap.since(0, &TapFilter::default(), 10).events;
        let [request, answer] = events.as_slice() else {
            panic!("expected 2 events, got {events:?}");
        };
        assert_eq!((request.direction, request.reply.as_ref()), (Direction::In, None));
        assert_eq!(answer.direction, Direction::Reply);
        assert_eq!(answer.code_name, "SEND_MESSAGE_V2");
        assert_eq!(
            (answer.caller.as_str(), answer.topic.as_deref()),
            ("pg", Some("Orders"))
        );
        let reply = answer.reply.as_ref().unwrap();
        assert_eq!(
            (reply.code_name, reply.remark.as_deref(), reply.latency_ms),
            ("TOPIC_NOT_EXIST", Some("no route"), 7)
        );
        // The request's event gone from the ring: the answer still shows, with the peer.
        for _ in 0..TAP_EVENTS_MAX {
            tap.record(&send("T"), "p", Direction::In);
        }
        tap.record_reply_at(mark, RequestCode::SEND_MESSAGE_V2.0, "10.0.0.9:6000", &response, 2_000);
        let last = tap.since(tap.last_seq() - 1, &TapFilter::default(), 1).events.remove(0);
        assert_eq!((last.caller.as_str(), last.topic), ("10.0.0.9:6000", None));
    }

    #[test]
    fn long_values_and_many_fields_are_clipped() {
        let tap = Tap::for_test();
        let _watch = tap.watch();
        let long = "é".repeat(TAP_FIELD_BYTES_MAX);
        let names: Vec<String> = (0..TAP_FIELDS_MAX + 5).map(|i| format!("k{i}")).collect();
        let mut fields: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "v")).collect();
        fields.insert(0, ("topic", long.as_str()));
        tap.record(&request(RequestCode::PULL_MESSAGE, &fields), "p", Direction::In);
        let event = tap.since(0, &TapFilter::default(), 1).events.remove(0);
        assert_eq!(event.fields.len(), TAP_FIELDS_MAX);
        let topic = event.topic.unwrap_or_default();
        assert!(topic.len() <= TAP_FIELD_BYTES_MAX && topic.len() > TAP_FIELD_BYTES_MAX - 2);
    }

    #[test]
    fn filters_by_code_topic_and_client() {
        let tap = Tap::for_test();
        let _watch = tap.watch();
        tap.record(&send("A"), "10.0.0.1:1", Direction::In);
        tap.record(
            &request(RequestCode::PULL_MESSAGE, &[("consumerGroup", "cg"), ("topic", "B")]),
            "10.0.0.2:2",
            Direction::In,
        );
        let codes = |filter: TapFilter| -> Vec<&'static str> {
            tap.since(0, &filter, 10)
                .events
                .iter()
                .map(|event| event.code_name)
                .collect()
        };
        let by_code = |code: &str| TapFilter {
            code: Some(code.into()),
            ..TapFilter::default()
        };
        assert_eq!(codes(by_code("pull_message")), ["PULL_MESSAGE"]);
        assert_eq!(codes(by_code("310")), ["SEND_MESSAGE_V2"]);
        assert_eq!(codes(by_code("HEART_BEAT")), Vec::<&str>::new());
        let by_topic = TapFilter {
            topic: Some("A".into()),
            ..TapFilter::default()
        };
        assert_eq!(codes(by_topic), ["SEND_MESSAGE_V2"]);
        let by_client = |client: &str| TapFilter {
            client: Some(client.into()),
            ..TapFilter::default()
        };
        assert_eq!(codes(by_client("cg")), ["PULL_MESSAGE"]);
        assert_eq!(codes(by_client("10.0.0.1")), ["SEND_MESSAGE_V2"]);
        assert_eq!(codes(TapFilter::default()), ["SEND_MESSAGE_V2", "PULL_MESSAGE"]);
        let page = tap.since(0, &by_code("PULL_MESSAGE"), 1);
        assert_eq!(page.next, 1, "the cursor moves past what the filter skipped");
        assert!(page.events.is_empty());
    }

    #[test]
    fn heartbeat_client_id_is_read_leniently() {
        assert_eq!(heartbeat_client_id(br#"{"clientID" : "a@b"}"#).as_deref(), Some("a@b"));
        assert_eq!(heartbeat_client_id(br#"{"clientID":""}"#), None);
        assert_eq!(heartbeat_client_id(br#"{"clientID":"unterminated"#), None);
        assert_eq!(heartbeat_client_id(b"\xff\xfe"), None);
    }
}
