//! The web console: server-rendered pages over the admin requests of [`data`], the live traffic
//! view over the servers' [`Tap`]s, and the event stream `ferrocket tap` reads.
//!
//! Served by `standalone`, `broker` and `namesrv` on [`CONSOLE_PORT_DEFAULT`] of 127.0.0.1
//! unless `--no-console`; the page, its script and style are compiled into the binary (no CDN,
//! it works offline). Actions that change the broker (topics, offsets, sends: [`actions`]) are
//! taken only when the console is bound to a loopback address and the broker runs without ACL:
//! the console calls the broker's handlers in process, past the ACL check, and asks nobody for
//! credentials, so whoever reaches it from the network, or on a broker with accounts, must only
//! read.

mod actions;
mod data;
mod history;
mod pages;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferrocket_net::{Tap, TapFilter};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use data::MessageQuery;
pub use data::Sources;

/// Not Java's ports (9876, 10911, 8081 gRPC) nor rocketmq-dashboard's (8080/8082), and below
/// Linux's ephemeral range (32768–60999), so the OS never hands it to an outgoing connection.
pub const CONSOLE_PORT_DEFAULT: u16 = 8089;
/// How often a live-view stream looks for new events; also the longest a closed browser tab
/// keeps the tap recording (the next write fails and drops the stream's watch).
const TAP_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Events one stream sends per look; the rest wait for the next (the ring keeps them).
const TAP_EVENTS_PER_POLL_MAX: usize = 512;
/// Encoded events queued for one slow reader before its stream waits.
const TAP_STREAM_QUEUED_MAX: usize = 64;
/// A topic created from the page gets at most this many queues (Java's limit is the broker's
/// `maxTopicQueueNums`; a form is not the place for more).
const FORM_QUEUES_MAX: u16 = 256;

/// Where and whether the console is served.
#[derive(clap::Args, Debug, Clone)]
pub struct ConsoleArgs {
    /// The web console's HTTP port (0 picks a free one) [default: 8089; when that default is
    /// taken, by another broker on this machine, the process starts without a console].
    #[arg(long)]
    pub console_port: Option<u16>,
    /// The console's address; admin actions are offered only when it is a loopback address.
    #[arg(long, default_value = "127.0.0.1")]
    pub console_host: String,
    /// Serve no web console.
    #[arg(long)]
    pub no_console: bool,
    /// Milliseconds between the charts' samples (tests shorten it).
    #[arg(long, hide = true, default_value_t = history::SAMPLE_INTERVAL_DEFAULT.as_millis() as u64)]
    pub console_sample_ms: u64,
}

/// A running console; dropping it leaves it running, [`ConsoleHandle::shutdown`] stops it.
pub struct ConsoleHandle {
    pub local_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ConsoleHandle {
    pub fn shutdown(self) {
        // Live-view streams never end by themselves, so no graceful wait: the process is stopping.
        for task in self.tasks {
            task.abort();
        }
    }
}

struct Console {
    sources: Sources,
    taps: Vec<(&'static str, Arc<Tap>)>,
    /// Why admin actions are off, or `None` when they are on.
    admin_off: Option<&'static str>,
    role: &'static str,
    history: history::History,
}

type Shared = State<Arc<Console>>;

/// Binds and serves the console, unless turned off. A taken port fails the start, naming the
/// flag that moves it.
pub async fn start(
    args: &ConsoleArgs,
    role: &'static str,
    sources: Sources,
    taps: Vec<(&'static str, Arc<Tap>)>,
) -> anyhow::Result<Option<ConsoleHandle>> {
    if args.no_console {
        return Ok(None);
    }
    let port = args.console_port.unwrap_or(CONSOLE_PORT_DEFAULT);
    let addr: SocketAddr = format!("{}:{port}", args.console_host)
        .parse()
        .with_context(|| format!("bad console address {}:{port}", args.console_host))?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        // Two brokers of one machine (a master and its slave) both default to the port: the
        // second runs without a console rather than not at all; a port asked for must be had.
        Err(error) if args.console_port.is_none() => {
            tracing::warn!(%addr, %error, "console port taken; no web console (move it with --console-port)");
            return Ok(None);
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("console port {addr}: move it with --console-port, or --no-console"));
        }
    };
    let local_addr = listener.local_addr()?;
    let console = Arc::new(Console {
        admin_off: admin_off_reason(addr.ip().is_loopback(), acl_on(&sources)),
        sources,
        taps,
        role,
        history: history::History::default(),
    });
    let sampling = Duration::from_millis(args.console_sample_ms.max(1));
    let sampler = tokio::spawn(sample(Arc::clone(&console), sampling));
    let app = Router::new()
        .route("/", get(cluster_page))
        .route("/topics", get(topics_page).post(create_topic))
        .route("/topics/delete", post(delete_topic))
        .route("/groups", get(groups_page))
        .route("/groups/reset", post(reset_offset))
        .route("/messages", get(messages_page))
        .route("/messages/send", post(send_message))
        .route("/messages/resend", post(resend_message))
        .route("/live", get(live_page))
        .route("/api/tap/stream", get(tap_stream))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .with_state(console);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "console stopped");
        }
    });
    Ok(Some(ConsoleHandle {
        local_addr,
        tasks: vec![task, sampler],
    }))
}

/// The console's one clock: chart times and a test message's birth are wall-clock, for people.
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Whether the broker checks accounts (ACL 1.0 or 5.x authentication/authorization).
fn acl_on(sources: &Sources) -> bool {
    sources.broker.as_ref().is_some_and(|broker| {
        let auth = &broker.config().auth;
        auth.acl_enable || auth.authentication_enabled || auth.authorization_enabled
    })
}

/// Admin actions are on only for a loopback console of a broker without ACL (module doc).
fn admin_off_reason(loopback: bool, acl_on: bool) -> Option<&'static str> {
    match (loopback, acl_on) {
        (_, true) => Some("the broker checks ACL and the console asks for no credentials"),
        (false, false) => Some("the console is not bound to a loopback address"),
        (true, false) => None,
    }
}

/// The charts' samples: each topic's message rate (from its summed max offsets) and each
/// group's lag, every `interval`, while the process runs.
async fn sample(console: Arc<Console>, interval: Duration) {
    if console.sources.broker.is_none() {
        return;
    }
    loop {
        let now_ms = wall_clock_ms();
        if let Ok(topics) = console.sources.topics().await {
            for topic in topics {
                let count_key = format!("count:{}", topic.name);
                let now = (now_ms, topic.max_offset as f64);
                if let Some(before) = console.history.last(&count_key) {
                    console
                        .history
                        .push(&format!("topic:{}", topic.name), now_ms, history::rate(before, now));
                }
                console.history.push(&count_key, now.0, now.1);
            }
        }
        if let Ok(groups) = console.sources.groups().await {
            for group in groups {
                console
                    .history
                    .push(&format!("group:{}", group.name), now_ms, group.lag() as f64);
            }
        }
        tokio::time::sleep(interval).await;
    }
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css")], pages::CSS).into_response()
}

async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], pages::JS).into_response()
}

async fn cluster_page(State(console): Shared) -> Html<String> {
    let cluster = console.sources.cluster().await;
    let runtime = match console.sources.broker {
        Some(_) => Some(console.sources.runtime_info().await),
        None => None,
    };
    // Every broker's own figures, asked over its port: the pairs' replication lag compares them.
    let mut brokers = BTreeMap::new();
    if let Ok(info) = &cluster {
        for data in info.broker_addr_table.values().take(data::CONSOLE_ROWS_MAX) {
            for addr in data.broker_addrs.values() {
                brokers.insert(addr.clone(), console.sources.broker_runtime(addr).await);
            }
        }
    }
    Html(pages::cluster(console.role, &cluster, &brokers, runtime.as_ref()))
}

/// The line a page shows after an action: `done` what it did, or `error`.
#[derive(Deserialize, Default)]
struct Notice {
    done: Option<String>,
    error: Option<String>,
}

impl Notice {
    fn outcome(self) -> Option<Result<String, String>> {
        match (self.done, self.error) {
            (_, Some(error)) => Some(Err(error)),
            (Some(done), None) => Some(Ok(done)),
            (None, None) => None,
        }
    }
}

/// Back to `page` with what happened.
fn notice_redirect(page: &str, outcome: Result<String, String>) -> Response {
    let query = match outcome {
        Ok(done) => format!("done={}", percent_encode(&done)),
        Err(error) => format!("error={}", percent_encode(&error)),
    };
    Redirect::to(&format!("{page}?{query}")).into_response()
}

fn forbidden(console: &Console) -> Option<Response> {
    let reason = console.admin_off?;
    Some((StatusCode::FORBIDDEN, format!("admin actions are off: {reason}")).into_response())
}

async fn topics_page(State(console): Shared, Query(notice): Query<Notice>) -> Html<String> {
    let topics = console.sources.topics().await;
    Html(pages::topics(
        &topics,
        console.admin_off,
        notice.outcome().as_ref(),
        &console.history,
    ))
}

#[derive(Deserialize)]
struct NewTopic {
    name: String,
    queues: u16,
    #[serde(default)]
    readable: Option<String>,
    #[serde(default)]
    writable: Option<String>,
}

/// Creates a topic, or updates an existing one's queues and permission (one request does both).
async fn create_topic(State(console): Shared, Form(topic): Form<NewTopic>) -> Response {
    if let Some(refused) = forbidden(&console) {
        return refused;
    }
    let name = topic.name.trim();
    let outcome = if name.is_empty() || topic.queues == 0 || topic.queues > FORM_QUEUES_MAX {
        Err(format!("a name and 1..={FORM_QUEUES_MAX} queues are needed"))
    } else {
        let perm = topic.readable.map_or(0, |_| 4) | topic.writable.map_or(0, |_| 2);
        let existed = console
            .sources
            .topics()
            .await
            .is_ok_and(|rows| rows.iter().any(|row| row.name == name));
        let done = if existed { "updated" } else { "created" };
        (console.sources.put_topic(name, topic.queues, perm).await).map(|()| format!("topic {name} {done}"))
    };
    notice_redirect("/topics", outcome)
}

#[derive(Deserialize)]
struct TopicName {
    name: String,
}

async fn delete_topic(State(console): Shared, Form(topic): Form<TopicName>) -> Response {
    if let Some(refused) = forbidden(&console) {
        return refused;
    }
    let outcome = console.sources.delete_topic(&topic.name).await;
    notice_redirect(
        "/topics",
        outcome.map(|()| format!("topic {} deleted", topic.name.trim())),
    )
}

#[derive(Deserialize)]
struct ResetForm {
    group: String,
    topic: String,
    /// Milliseconds since 1970 (the page's script fills it from the date picker).
    timestamp: String,
}

async fn reset_offset(State(console): Shared, Form(form): Form<ResetForm>) -> Response {
    if let Some(refused) = forbidden(&console) {
        return refused;
    }
    let outcome = match form.timestamp.trim().parse::<i64>() {
        Ok(timestamp_ms) => console
            .sources
            .reset_offset(&form.group, &form.topic, timestamp_ms)
            .await
            .map(|table| {
                format!(
                    "group {} reset on {} to {timestamp_ms} ms: {table}",
                    form.group.trim(),
                    form.topic.trim()
                )
            }),
        Err(_) => Err(format!("not a time in milliseconds: {:?}", form.timestamp)),
    };
    notice_redirect("/groups", outcome)
}

#[derive(Deserialize)]
struct SendForm {
    topic: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    body: String,
}

async fn send_message(State(console): Shared, Form(form): Form<SendForm>) -> Response {
    if let Some(refused) = forbidden(&console) {
        return refused;
    }
    let message = actions::TestMessage {
        topic: form.topic,
        tag: form.tag,
        key: form.key,
        body: form.body,
    };
    let outcome = console
        .sources
        .send_test_message(&message, wall_clock_ms())
        .await
        .map(|sent| {
            format!(
                "sent {} to queue {} at offset {}",
                sent.msg_id, sent.queue_id, sent.queue_offset
            )
        });
    notice_redirect("/messages", outcome)
}

#[derive(Deserialize)]
struct ResendForm {
    group: String,
    client: String,
    msg_id: String,
    #[serde(default)]
    topic: String,
}

async fn resend_message(State(console): Shared, Form(form): Form<ResendForm>) -> Response {
    if let Some(refused) = forbidden(&console) {
        return refused;
    }
    let outcome = console
        .sources
        .resend(&form.group, &form.client, &form.msg_id, &form.topic)
        .await
        .map(|result| format!("{} answered: {result}", form.client.trim()));
    notice_redirect("/messages", outcome)
}

/// Percent-encodes `value` for a URL query (RFC 3986 unreserved characters stay).
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(char::from(byte)),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

async fn groups_page(State(console): Shared, Query(notice): Query<Notice>) -> Html<String> {
    Html(pages::groups(
        &console.sources.groups().await,
        console.admin_off,
        notice.outcome().as_ref(),
        &console.history,
    ))
}

#[derive(Deserialize, Default)]
struct MessageForm {
    by: Option<String>,
    topic: Option<String>,
    key: Option<String>,
    id: Option<String>,
    queue: Option<i32>,
    offset: Option<i64>,
}

impl MessageForm {
    fn query(&self) -> Option<MessageQuery> {
        let topic = self.topic.clone().filter(|topic| !topic.is_empty())?;
        match self.by.as_deref()? {
            "key" => Some(MessageQuery::Key {
                topic,
                key: self.key.clone()?,
            }),
            "id" => Some(MessageQuery::Id {
                topic,
                id: self.id.clone()?,
            }),
            "offset" => Some(MessageQuery::QueueOffset {
                topic,
                queue_id: self.queue?,
                offset: self.offset?,
            }),
            _ => None,
        }
    }
}

async fn messages_page(State(console): Shared, Query(query): Query<BTreeMap<String, String>>) -> Html<String> {
    let form = MessageForm {
        by: query.get("by").cloned(),
        topic: query.get("topic").cloned(),
        key: query.get("key").cloned(),
        id: query.get("id").cloned(),
        queue: query.get("queue").and_then(|queue| queue.parse().ok()),
        offset: query.get("offset").and_then(|offset| offset.parse().ok()),
    };
    let found = match form.query() {
        Some(query) => Some(console.sources.find_messages(&query).await),
        None => None,
    };
    let notice = Notice {
        done: query.get("done").cloned(),
        error: query.get("error").cloned(),
    };
    Html(pages::messages(
        form.topic.as_deref().unwrap_or(""),
        form.key.as_deref().unwrap_or(""),
        found.as_ref(),
        console.admin_off,
        notice.outcome().as_ref(),
    ))
}

async fn live_page(State(console): Shared) -> Html<String> {
    let servers: Vec<&str> = console.taps.iter().map(|(name, _)| *name).collect();
    Html(pages::live(&servers))
}

#[derive(Deserialize, Default)]
struct TapQuery {
    code: Option<String>,
    topic: Option<String>,
    client: Option<String>,
}

/// Server-sent events, one per recorded request (`data:` a JSON object), from now on; the
/// stream's watch keeps its servers' taps recording while it is open.
async fn tap_stream(
    State(console): Shared,
    Query(query): Query<TapQuery>,
) -> Sse<ReceiverStream<Result<Event, Infallible>>> {
    let filter = TapFilter {
        code: query.code.filter(|code| !code.is_empty()),
        topic: query.topic.filter(|topic| !topic.is_empty()),
        client: query.client.filter(|client| !client.is_empty()),
    };
    let (sender, receiver) = mpsc::channel(TAP_STREAM_QUEUED_MAX);
    tokio::spawn(feed_tap_stream(Arc::clone(&console), filter, sender));
    Sse::new(ReceiverStream::new(receiver))
}

async fn feed_tap_stream(console: Arc<Console>, filter: TapFilter, sender: mpsc::Sender<Result<Event, Infallible>>) {
    let _watches: Vec<_> = console.taps.iter().map(|(_, tap)| tap.watch()).collect();
    let mut cursors: Vec<u64> = console.taps.iter().map(|(_, tap)| tap.last_seq()).collect();
    // A first comment so the reader knows the stream (and the recording) has started.
    if sender.send(Ok(Event::default().comment("watching"))).await.is_err() {
        return;
    }
    loop {
        tokio::time::sleep(TAP_POLL_INTERVAL).await;
        let mut events = Vec::new();
        for ((server, tap), cursor) in console.taps.iter().zip(cursors.iter_mut()) {
            let page = tap.since(*cursor, &filter, TAP_EVENTS_PER_POLL_MAX);
            *cursor = page.next;
            if page.missed > 0 {
                events.push(Event::default().event("missed").data(page.missed.to_string()));
            }
            events.extend(
                page.events
                    .iter()
                    .map(|event| Event::default().data(pages::tap_event_json(server, event).to_string())),
            );
        }
        // An idle stream still writes, so a reader that went away is noticed within a poll.
        if events.is_empty() {
            events.push(Event::default().comment(""));
        }
        for event in events {
            if sender.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_actions_need_loopback_and_no_acl() {
        assert_eq!(admin_off_reason(true, false), None);
        assert!(admin_off_reason(false, false).is_some());
        assert!(admin_off_reason(true, true).is_some_and(|why| why.contains("ACL")));
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn a_message_query_needs_a_topic_and_the_fields_of_its_kind() {
        let form = |by: &str| MessageForm {
            by: Some(by.into()),
            topic: Some("T".into()),
            key: Some("k".into()),
            ..MessageForm::default()
        };
        assert_eq!(
            form("key").query(),
            Some(MessageQuery::Key {
                topic: "T".into(),
                key: "k".into()
            })
        );
        assert_eq!(form("offset").query(), None, "no queue or offset");
        let mut no_topic = form("key");
        no_topic.topic = Some(String::new());
        assert_eq!(no_topic.query(), None);
    }
}
