//! Runs one connection until it ends: a read loop and a write loop on the same task.
//!
//! The read loop cuts frames, hands responses to their waiters and runs each request's handler
//! up to its first wait; a handler that waits continues in a task of its own. The loop stops
//! reading while `requests_in_flight_max` such tasks run, while an answer waits for room in the
//! writer queue (bounded in frames and bytes) and, on a server, while that queue is full at all
//! (backpressure: nothing is dropped). The write loop drains the writer queue, gathering small
//! frames into one system call. Invariants:
//! * a frame that fails to decode gets no response and closes its connection, as Java does; the
//!   requests decoded before it are still answered, for at most [`BAD_FRAME_DRAIN_TIMEOUT`];
//! * a frame not whole within `frame_read_timeout`, or whose bytes would pass the shared
//!   partial-frame budget, closes its connection at once;
//! * a oneway request is never answered; every other request is answered exactly once, unless
//!   the connection closes first;
//! * the connection closes after `idle_timeout` with neither reads nor writes, or once the peer
//!   has taken none of our bytes for `write_stall_timeout`;
//! * on shutdown the read loop stops, running handlers get `grace` to finish, their responses are
//!   flushed, then the socket closes; handler tasks never outlive the connection.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_wire::command::{FLAG_ONEWAY, FLAG_RESPONSE};
use ferrocket_wire::{RemotingCommand, SerializeType, WireError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::{self, JoinError, JoinSet};
use tokio::time::Instant;
use tracing::{Instrument, debug, info, trace, warn};

use crate::budget::Budgets;
use crate::config::{BAD_FRAME_DRAIN_TIMEOUT, ConnectionLimits, WAIT_MAX, deadline_after};
use crate::connection::{ConnectionHandle, encode_frame};
use crate::framing::{FrameReader, ReadError};
use crate::log_rate::LogRate;
use crate::outbound::QueuedFrame;
use crate::router::{RequestSummary, Router, not_supported, system_error};
use crate::tap::{Direction, Tap};

/// Bytes gathered into one socket write: many small responses per system call under load.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Once a connection closes, frames already queued (responses to finished requests) get this
/// long to reach the peer before the socket is dropped.
pub(crate) const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

static BAD_FRAME_WARNINGS: LogRate = LogRate::new();
static SLOW_FRAME_WARNINGS: LogRate = LogRate::new();
static OVER_BUDGET_WARNINGS: LogRate = LogRate::new();
static STALLED_WRITE_WARNINGS: LogRate = LogRate::new();

/// What a connection needs besides its socket.
pub(crate) struct Drive {
    pub(crate) connection: ConnectionHandle,
    pub(crate) outbound: mpsc::Receiver<QueuedFrame>,
    pub(crate) router: Arc<Router>,
    pub(crate) limits: ConnectionLimits,
    pub(crate) budgets: Arc<Budgets>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) grace: Duration,
    pub(crate) side: Side,
}

/// Which end of the connection we are. A server stops reading requests while its answers to the
/// peer wait unread; a client always reads, since what it reads is mostly the answers it waits
/// for, and not reading them could leave both ends waiting for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// When the read loop stops for shutdown, and how long it lets handlers finish then.
struct Shutdown {
    signal: watch::Receiver<bool>,
    grace: Duration,
}

/// The span every log line of a connection carries.
pub(crate) fn connection_span(side: &'static str, connection: &ConnectionHandle) -> tracing::Span {
    tracing::info_span!("connection", id = connection.id(), peer = %connection.peer_addr(), side)
}

/// A connection's byte stream: plain TCP, or TLS over it (acl.md §8).
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// Serves `stream` until the peer leaves, a frame is bad, the connection idles, is closed by a
/// handle, or shutdown is signalled. Returns once the socket is closed.
pub(crate) async fn drive(stream: Transport, drive: Drive) {
    match stream {
        // Plain TCP splits without a lock; TLS state is shared by both halves, so it needs one.
        Transport::Plain(mut stream) => {
            let (reader, writer) = stream.split();
            drive_halves(reader, writer, drive).await;
        }
        Transport::Tls(stream) => {
            let (reader, writer) = tokio::io::split(*stream);
            drive_halves(reader, writer, drive).await;
        }
    }
}

async fn drive_halves<R, W>(reader: R, writer: W, drive: Drive)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let Drive {
        connection,
        outbound,
        router,
        limits,
        budgets,
        shutdown,
        grace,
        side,
    } = drive;
    let activity = Activity::new();
    let frames = FrameReader::new(reader, budgets, limits.frame_read_timeout);
    let shutdown = Shutdown {
        signal: shutdown,
        grace,
    };
    let reading = read_loop(frames, &connection, &router, &limits, shutdown, side, &activity);
    let writing = write_loop(writer, outbound, &connection, limits.write_stall_timeout, &activity);
    tokio::join!(reading, writing);
}

/// Resolves once `flag` is true, or once its sender is gone (its owner stopped: same meaning).
pub(crate) async fn until_set(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

/// Why the read loop stopped.
enum End {
    PeerClosed,
    Shutdown,
    ClosedByHandle,
    Idle,
    Failed(ReadError),
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut frames: FrameReader<R>,
    connection: &ConnectionHandle,
    router: &Arc<Router>,
    limits: &ConnectionLimits,
    mut shutdown: Shutdown,
    side: Side,
    activity: &Activity,
) {
    let mut requests = Requests::new(connection.clone(), Arc::clone(router));
    let mut closed = connection.subscribe_closed();
    let in_flight_max = limits.requests_in_flight_max.max(1);
    let idle_timeout = limits.idle_timeout.min(WAIT_MAX);
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    // Built once, not per frame: each wait on a signal registers a waiter under a lock.
    let stopped = async {
        tokio::select! {
            () = until_set(&mut shutdown.signal) => End::Shutdown,
            () = until_set(&mut closed) => End::ClosedByHandle,
        }
    };
    tokio::pin!(stopped);
    let end = loop {
        let room = side == Side::Client || connection.has_outbound_room();
        tokio::select! {
            biased;
            end = &mut stopped => break end,
            Some(joined) = requests.tasks.join_next_with_id(), if !requests.tasks.is_empty() => {
                requests.reap(joined).await;
            }
            () = connection.outbound_room(), if !room => {}
            () = &mut idle => {
                let quiet_until = activity.last() + idle_timeout;
                if Instant::now() >= quiet_until {
                    break End::Idle;
                }
                idle.as_mut().reset(quiet_until);
            }
            read = frames.read_frame(), if room && requests.tasks.len() < in_flight_max => match read {
                Ok(Some(content)) => {
                    activity.touch();
                    if let Err(error) = dispatch(content, connection, &mut requests).await {
                        break End::Failed(ReadError::Wire(error));
                    }
                }
                Ok(None) => break End::PeerClosed,
                Err(error) => break End::Failed(error),
            },
        }
    };
    log_end(&end, limits.idle_timeout);
    // Reading stopped: give the read buffer and its share of the budget back at once.
    drop(frames);
    match end {
        End::Shutdown => requests.finish(shutdown.grace).await,
        // Java answers what it decoded before a bad frame; so do we, briefly.
        End::Failed(ReadError::Wire(_)) => requests.finish(BAD_FRAME_DRAIN_TIMEOUT).await,
        _ => {}
    }
    requests.tasks.abort_all();
    connection.close();
}

async fn dispatch(content: Bytes, connection: &ConnectionHandle, requests: &mut Requests) -> Result<(), WireError> {
    let command = RemotingCommand::decode_content(content)?;
    if command.is_response() {
        let opaque = command.opaque;
        if !connection.complete(command) {
            // Java logs these too: usually a response that arrived after its caller timed out.
            debug!(opaque, "response matches no waiting request; dropped");
        }
    } else {
        requests.start(command).await;
    }
    Ok(())
}

fn log_end(end: &End, idle_timeout: Duration) {
    match end {
        End::Failed(ReadError::Wire(error)) => match BAD_FRAME_WARNINGS.allow() {
            Some(left_out) => warn!(%error, left_out, "closing connection after a bad frame"),
            None => debug!(%error, "closing connection after a bad frame"),
        },
        End::Failed(error @ ReadError::FrameTimeout { .. }) => match SLOW_FRAME_WARNINGS.allow() {
            Some(left_out) => warn!(%error, left_out, "closing connection with a frame not whole in time"),
            None => debug!(%error, "closing connection with a frame not whole in time"),
        },
        End::Failed(error @ ReadError::OverBudget { .. }) => match OVER_BUDGET_WARNINGS.allow() {
            Some(left_out) => warn!(%error, left_out, "closing connection: partial-frame budget spent"),
            None => debug!(%error, "closing connection: partial-frame budget spent"),
        },
        End::Failed(error) => debug!(%error, "closing connection"),
        End::Idle => info!(idle_s = idle_timeout.as_secs(), "closing idle connection"),
        End::PeerClosed => debug!("peer closed the connection"),
        End::Shutdown => debug!("closing connection for shutdown"),
        End::ClosedByHandle => debug!("connection closed locally"),
    }
}

/// The handler tasks of one connection, and what each is answering.
struct Requests {
    tasks: JoinSet<()>,
    running: HashMap<task::Id, (RequestSummary, Option<Arc<Tap>>)>,
    connection: ConnectionHandle,
    router: Arc<Router>,
}

impl Requests {
    fn new(connection: ConnectionHandle, router: Arc<Router>) -> Requests {
        Requests {
            tasks: JoinSet::new(),
            running: HashMap::new(),
            connection,
            router,
        }
    }

    /// Runs the handler for `request` up to its first wait, here on the connection's task: most
    /// handlers answer without waiting, and answering here saves a task spawn and a cross-thread
    /// wake-up. A handler that does wait continues in a task of its own.
    async fn start(&mut self, request: RemotingCommand) {
        let mut summary = RequestSummary::of(&request);
        let tap = self.router.tap_ref();
        if let Some(tap) = tap {
            summary.tap_mark = tap.record(&request, self.connection.peer_addr(), Direction::In);
        }
        // The tap travels with the request only when it recorded it (no clone otherwise).
        let tap = summary.tap_mark.and(tap.cloned());
        let forced = self.router.forced_serialize_type();
        let span = tracing::debug_span!("request", code = summary.code, opaque = summary.opaque);
        let Some(handler) = self.router.handler(request.code) else {
            debug!(parent: &span, "no handler for this code");
            respond(&self.connection, summary, Some(not_supported(&request)), forced, tap).await;
            return;
        };
        let connection = self.connection.clone();
        // A panicking handler is our bug; its caller still gets an answer, and the connection
        // and its other requests carry on.
        let Ok(mut work) = panic::catch_unwind(AssertUnwindSafe(|| handler.handle(request, connection))) else {
            return self.answer_panic(summary, tap).await;
        };
        let first_poll = poll_fn(|cx| {
            let _entered = span.enter();
            Poll::Ready(panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))))
        });
        match first_poll.await {
            Ok(Poll::Ready(response)) => respond(&self.connection, summary, response, forced, tap).await,
            Ok(Poll::Pending) => {
                let connection = self.connection.clone();
                let task_tap = tap.clone();
                let rest = async move {
                    let response = work.await;
                    respond(&connection, summary, response, forced, task_tap).await;
                };
                let id = self.tasks.spawn(rest.instrument(span)).id();
                self.running.insert(id, (summary, tap));
            }
            Err(_) => self.answer_panic(summary, tap).await,
        }
    }

    async fn reap(&mut self, joined: Result<(task::Id, ()), JoinError>) {
        let error = match joined {
            Ok((id, ())) => {
                self.running.remove(&id);
                return;
            }
            Err(error) => error,
        };
        if let Some((summary, tap)) = self.running.remove(&error.id())
            && error.is_panic()
        {
            self.answer_panic(summary, tap).await;
        }
    }

    async fn answer_panic(&self, summary: RequestSummary, tap: Option<Arc<Tap>>) {
        warn!(code = summary.code, opaque = summary.opaque, "request handler panicked");
        let remark = format!("handler for request code {} failed", summary.code);
        let response = system_error(&summary, remark);
        respond(
            &self.connection,
            summary,
            Some(response),
            self.router.forced_serialize_type(),
            tap,
        )
        .await;
    }

    /// Lets running handlers finish and queue their responses, for at most `grace`.
    async fn finish(&mut self, grace: Duration) {
        if !self.tasks.is_empty() {
            debug!(running = self.tasks.len(), "letting running requests finish");
        }
        let deadline = deadline_after(grace);
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(joined)) => self.reap(joined).await,
                Ok(None) => break,
                Err(_) => {
                    warn!(
                        left = self.tasks.len(),
                        grace_ms = grace.as_millis(),
                        "request handlers still running at close; aborted"
                    );
                    break;
                }
            }
        }
    }
}

/// Fills in and queues `response` to `request`, or drops it if the request was oneway.
async fn respond(
    connection: &ConnectionHandle,
    request: RequestSummary,
    response: Option<RemotingCommand>,
    forced: Option<SerializeType>,
    tap: Option<Arc<Tap>>,
) {
    if request.oneway {
        if response.is_some() {
            trace!("response to a oneway request dropped");
        }
        return;
    }
    let Some(mut response) = response else {
        debug!("handler sent no response");
        return;
    };
    response.opaque = request.opaque;
    response.flag = (response.flag | FLAG_RESPONSE) & !FLAG_ONEWAY;
    if let Some(serialize_type) = forced {
        response.serialize_type = serialize_type;
    }
    if let (Some(tap), Some(mark)) = (tap, request.tap_mark) {
        tap.record_reply(mark, request.code, connection.peer_addr(), &response);
    }
    let frame = match encode_frame(&response) {
        Ok(frame) => frame,
        Err(error) => {
            warn!(%error, "response cannot be encoded; answering SYSTEM_ERROR");
            let mut fallback = system_error(&request, format!("response cannot be encoded: {error}"));
            fallback.serialize_type = forced.unwrap_or(request.serialize_type);
            match encode_frame(&fallback) {
                Ok(frame) => frame,
                Err(_) => return,
            }
        }
    };
    if connection.send_frame(frame).await.is_err() {
        debug!("connection closed before the response was queued");
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outbound: mpsc::Receiver<QueuedFrame>,
    connection: &ConnectionHandle,
    stall_timeout: Duration,
    activity: &Activity,
) {
    let mut closed = connection.subscribe_closed();
    let stopped = until_set(&mut closed);
    tokio::pin!(stopped);
    let mut batch = BytesMut::new();
    let writable = loop {
        let first = tokio::select! {
            biased;
            () = &mut stopped => break true,
            frame = outbound.recv() => frame,
        };
        // The handle keeps a sender while the connection lives, so `None` is only a formality.
        let Some(first) = first else { break true };
        match write_batch(&mut writer, &mut batch, first, &mut outbound, stall_timeout, None).await {
            Ok(()) => activity.touch(),
            Err(WriteFailure::Io(error)) => {
                debug!(%error, "write failed; closing");
                break false;
            }
            Err(WriteFailure::Stalled) => {
                match STALLED_WRITE_WARNINGS.allow() {
                    Some(left_out) => info!(
                        stall_s = stall_timeout.as_secs(),
                        left_out, "peer accepted none of our bytes; closing"
                    ),
                    None => debug!(
                        stall_s = stall_timeout.as_secs(),
                        "peer accepted none of our bytes; closing"
                    ),
                }
                break false;
            }
        }
    };
    connection.close();
    outbound.close();
    if writable {
        flush(&mut writer, &mut batch, &mut outbound, stall_timeout).await;
    }
    // Frames still queued are dropped with `outbound`, which gives their bytes back.
}

/// Writes what is still queued at close, within [`CLOSE_FLUSH_TIMEOUT`], and shuts the socket.
async fn flush<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &mut BytesMut,
    outbound: &mut mpsc::Receiver<QueuedFrame>,
    stall_timeout: Duration,
) {
    let deadline = deadline_after(CLOSE_FLUSH_TIMEOUT);
    while let Ok(first) = outbound.try_recv() {
        if let Err(failure) = write_batch(writer, batch, first, outbound, stall_timeout, Some(deadline)).await {
            debug!(?failure, "final flush failed");
            return;
        }
    }
    match tokio::time::timeout_at(deadline, writer.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => debug!(%error, "final flush failed"),
        Err(_) => debug!("final flush timed out"),
    }
}

#[derive(Debug)]
enum WriteFailure {
    Io(io::Error),
    /// The peer took no bytes within the stall timeout (or the flush ran out of time).
    Stalled,
}

/// Writes `first` and whatever else is queued, up to about [`WRITE_BATCH_BYTES`], in one go.
/// The frames' bytes stay reserved until written (or failed), then are given back.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &mut BytesMut,
    first: QueuedFrame,
    outbound: &mut mpsc::Receiver<QueuedFrame>,
    stall_timeout: Duration,
    deadline: Option<Instant>,
) -> Result<(), WriteFailure> {
    let QueuedFrame { frame, mut reservation } = first;
    if frame.len() >= WRITE_BATCH_BYTES {
        return write_watched(writer, &frame, stall_timeout, deadline).await;
    }
    batch.clear();
    batch.extend_from_slice(&frame);
    while batch.len() < WRITE_BATCH_BYTES {
        match outbound.try_recv() {
            Ok(next) => {
                batch.extend_from_slice(&next.frame);
                reservation.absorb(next.reservation);
            }
            Err(_) => break,
        }
    }
    let written = write_watched(writer, batch, stall_timeout, deadline).await;
    drop(reservation);
    written
}

/// Writes all of `bytes`, failing if the peer takes none for `stall_timeout` or past `deadline`.
async fn write_watched<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut bytes: &[u8],
    stall_timeout: Duration,
    deadline: Option<Instant>,
) -> Result<(), WriteFailure> {
    while !bytes.is_empty() {
        let stalled_at = deadline_after(stall_timeout);
        let by = deadline.map_or(stalled_at, |deadline| deadline.min(stalled_at));
        match tokio::time::timeout_at(by, writer.write(bytes)).await {
            Ok(Ok(0)) => return Err(WriteFailure::Io(io::ErrorKind::WriteZero.into())),
            Ok(Ok(written)) => bytes = bytes.get(written..).unwrap_or_default(),
            Ok(Err(error)) => return Err(WriteFailure::Io(error)),
            Err(_) => return Err(WriteFailure::Stalled),
        }
    }
    Ok(())
}

/// When the connection last read or wrote a frame, shared by both loops.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let since_start = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(since_start, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}
