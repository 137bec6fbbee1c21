//! A cloneable handle to one live connection, accepted or opened, and the requests we send on it.
//!
//! Both ends of a RocketMQ connection may initiate requests (the broker calls its clients back
//! over the clients' own connections), so a handle offers the same calls on either side:
//! [`ConnectionHandle::invoke`], [`ConnectionHandle::invoke_async`] and
//! [`ConnectionHandle::oneway`]. Invariants:
//! * every request we send takes a fresh opaque from one process-wide counter (as Java does);
//! * a request awaiting its response sits in the connection's `awaiting` map until the response
//!   arrives, its deadline passes, its caller gives up, or the connection closes; whichever comes
//!   first removes it, so the map never holds a dead entry and never exceeds its limit;
//! * once closed, a connection accepts nothing new and every waiter fails with `ConnectionClosed`;
//! * a frame waits for room in the writer queue, counted in frames and in bytes
//!   ([`crate::outbound`]); its bytes are counted from admission until it is written or dropped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_wire::RemotingCommand;
use ferrocket_wire::command::{FLAG_ONEWAY, FLAG_RESPONSE};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use crate::budget::Budgets;
use crate::config::{ConnectionLimits, MemoryLimits, deadline_after};
use crate::error::{NetError, NetResult};
use crate::outbound::{Closed, OutboundBytes, QueuedFrame};
use crate::tap::{Direction, Tap};

/// Opaque values collide only after 2^32 requests; a waiter that old is skipped this many times
/// before giving up rather than looping.
const OPAQUE_COLLISION_TRIES: usize = 8;

/// A process-wide request id, as Java's `RemotingCommand.requestId`: starts at 0, wraps.
pub fn next_opaque() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn next_connection_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a server sent to an in-process connection, decoded, in order.
#[derive(Debug)]
pub struct InProcessRequests {
    frames: mpsc::Receiver<QueuedFrame>,
}

impl InProcessRequests {
    /// The next command sent; `None` once every handle of the connection is gone. A frame that
    /// does not decode (none should: the sender encoded it) is skipped.
    pub async fn next(&mut self) -> Option<RemotingCommand> {
        loop {
            let queued = self.frames.recv().await?;
            // The reservation is released as `queued` drops, after the decode.
            if let Ok((command, _)) = RemotingCommand::decode(&queued.frame) {
                return Some(command);
            }
        }
    }
}

/// A live connection. Cheap to clone; compares equal to clones of the same connection, so it can
/// key tables of peers (the name server's brokers, the broker's clients).
#[derive(Clone)]
pub struct ConnectionHandle {
    shared: Arc<Shared>,
}

struct Shared {
    id: u64,
    peer: String,
    outbound: mpsc::Sender<QueuedFrame>,
    outbound_bytes: Arc<OutboundBytes>,
    awaiting: Mutex<Awaiting>,
    awaiting_max: usize,
    closed: watch::Sender<bool>,
    /// The server's tap, for the requests this side sends the peer (direction `out`).
    tap: OnceLock<Arc<Tap>>,
}

struct Awaiting {
    closed: bool,
    by_opaque: HashMap<i32, oneshot::Sender<RemotingCommand>>,
}

impl ConnectionHandle {
    /// A handle for a new connection to `peer`, and the receiving end of its writer queue.
    pub(crate) fn open(
        peer: String,
        limits: &ConnectionLimits,
        budgets: Arc<Budgets>,
    ) -> (ConnectionHandle, mpsc::Receiver<QueuedFrame>) {
        let (outbound, outbound_rx) = mpsc::channel(limits.outbound_frames_max.max(1));
        let shared = Shared {
            id: next_connection_id(),
            peer,
            outbound,
            outbound_bytes: Arc::new(OutboundBytes::new(limits.outbound_bytes_max, budgets)),
            awaiting: Mutex::new(Awaiting {
                closed: false,
                by_opaque: HashMap::new(),
            }),
            awaiting_max: limits.awaiting_responses_max.max(1),
            closed: watch::Sender::new(false),
            tap: OnceLock::new(),
        };
        (
            ConnectionHandle {
                shared: Arc::new(shared),
            },
            outbound_rx,
        )
    }

    /// A connection with no socket, for requests a server serves in its own process (the gRPC
    /// endpoint hands its clients' requests to the broker's handlers this way, as Java's
    /// local-mode proxy calls the broker's processors). Nothing reads its writer queue, so a
    /// request the server sends to this peer fails at once instead of waiting out a timeout.
    pub fn in_process(peer: String) -> ConnectionHandle {
        let (handle, writer_queue) = ConnectionHandle::in_process_with_requests(peer);
        drop(writer_queue);
        handle
    }

    /// [`ConnectionHandle::in_process`] whose writer queue its owner reads: what the server sends
    /// to this peer (a broker's transaction check, say) arrives there, to be carried to the
    /// client some other way (the gRPC endpoint's Telemetry stream).
    pub fn in_process_with_requests(peer: String) -> (ConnectionHandle, InProcessRequests) {
        let limits = ConnectionLimits::default();
        let (handle, frames) = ConnectionHandle::open(peer, &limits, Arc::new(Budgets::new(&MemoryLimits::default())));
        (handle, InProcessRequests { frames })
    }

    /// Unique within the process for its lifetime.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The remote address: as dialled for opened connections, as seen for accepted ones.
    pub fn peer_addr(&self) -> &str {
        &self.shared.peer
    }

    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Closes the connection: queued frames are flushed (briefly), waiters fail, the socket
    /// closes. Idempotent.
    pub fn close(&self) {
        let waiters = {
            let mut awaiting = self.lock_awaiting();
            awaiting.closed = true;
            std::mem::take(&mut awaiting.by_opaque)
        };
        // Dropping the senders wakes every waiter with `ConnectionClosed`.
        drop(waiters);
        self.shared.closed.send_replace(true);
        self.shared.outbound_bytes.close();
    }

    /// Bytes of encoded frames queued for this connection's socket now.
    pub fn outbound_queued_bytes(&self) -> usize {
        self.shared.outbound_bytes.queued()
    }

    /// Resolves once the connection is closed, for whatever reason.
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.subscribe();
        // An error means the sender is gone, which only happens once every handle is dropped.
        let _ = closed.wait_for(|closed| *closed).await;
    }

    pub(crate) fn subscribe_closed(&self) -> watch::Receiver<bool> {
        self.shared.closed.subscribe()
    }

    /// Records the requests sent on this connection in `tap` (while it is watched).
    pub(crate) fn set_tap(&self, tap: Arc<Tap>) {
        let _ = self.shared.tap.set(tap);
    }

    fn tap_out(&self, request: &RemotingCommand) {
        if let Some(tap) = self.shared.tap.get() {
            tap.record(request, &self.shared.peer, Direction::Out);
        }
    }

    /// Sends `request` and waits up to `timeout` for its response.
    pub async fn invoke(&self, request: RemotingCommand, timeout: Duration) -> NetResult<RemotingCommand> {
        self.invoke_async(request, timeout).await?.await
    }

    /// Sends `request` and returns once it is queued for the socket, in order with other calls;
    /// the returned future yields the response. `timeout` covers both steps.
    pub async fn invoke_async(&self, request: RemotingCommand, timeout: Duration) -> NetResult<PendingResponse> {
        self.invoke_until(request, deadline_after(timeout), timeout).await
    }

    /// As [`ConnectionHandle::invoke_async`], with a deadline fixed by the caller; `budget` is the
    /// whole timeout, reported in a `Timeout` error.
    pub(crate) async fn invoke_until(
        &self,
        mut request: RemotingCommand,
        deadline: Instant,
        budget: Duration,
    ) -> NetResult<PendingResponse> {
        let (opaque, response) = self.register()?;
        let guard = AwaitingGuard {
            shared: Arc::clone(&self.shared),
            opaque,
            armed: true,
        };
        request.opaque = opaque;
        request.flag &= !(FLAG_RESPONSE | FLAG_ONEWAY);
        self.tap_out(&request);
        let frame = encode_frame(&request)?;
        self.enqueue_until(frame, deadline, opaque, budget).await?;
        Ok(PendingResponse {
            response,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            guard,
            after_ms: millis(budget),
        })
    }

    /// Sends `request` as oneway: the peer never answers. `timeout` bounds the wait for room in
    /// the writer queue.
    pub async fn oneway(&self, mut request: RemotingCommand, timeout: Duration) -> NetResult<()> {
        request.opaque = next_opaque();
        request.flag = (request.flag & !FLAG_RESPONSE) | FLAG_ONEWAY;
        self.tap_out(&request);
        let frame = encode_frame(&request)?;
        self.enqueue_until(frame, deadline_after(timeout), request.opaque, timeout)
            .await
    }

    /// Queues an encoded response; waits while the writer queue is full. Fails once closed.
    pub(crate) async fn send_frame(&self, frame: Bytes) -> NetResult<()> {
        self.enqueue(frame).await.map_err(|Closed| self.closed_error())
    }

    /// Whether a response to one more request could be queued now; the read loop stops reading
    /// requests while it cannot (backpressure on a peer that does not read its answers).
    pub(crate) fn has_outbound_room(&self) -> bool {
        self.shared.outbound_bytes.has_room()
    }

    /// Resolves once [`ConnectionHandle::has_outbound_room`] holds or the connection closed.
    pub(crate) async fn outbound_room(&self) {
        self.shared.outbound_bytes.room().await;
    }

    /// Admits `frame` (waiting for room in bytes, then in frames) and hands it to the writer.
    /// However it ends, cancelled included, a frame that is not queued gives its bytes back.
    async fn enqueue(&self, frame: Bytes) -> Result<(), Closed> {
        let reservation = self.shared.outbound_bytes.admit(frame.len()).await?;
        let queued = QueuedFrame { frame, reservation };
        self.shared.outbound.send(queued).await.map_err(|_| Closed)
    }

    /// Hands an inbound response to its waiter; false if nobody waits for its opaque (any more).
    pub(crate) fn complete(&self, response: RemotingCommand) -> bool {
        let waiter = self.lock_awaiting().by_opaque.remove(&response.opaque);
        match waiter {
            // The waiter may have given up in the meantime; then the response is dropped.
            Some(waiter) => waiter.send(response).is_ok(),
            None => false,
        }
    }

    fn register(&self) -> NetResult<(i32, oneshot::Receiver<RemotingCommand>)> {
        let mut awaiting = self.lock_awaiting();
        if awaiting.closed {
            return Err(self.closed_error());
        }
        if awaiting.by_opaque.len() >= self.shared.awaiting_max {
            return Err(NetError::TooManyInFlight {
                addr: self.shared.peer.clone(),
                limit: self.shared.awaiting_max,
            });
        }
        for _ in 0..OPAQUE_COLLISION_TRIES {
            if let Entry::Vacant(slot) = awaiting.by_opaque.entry(next_opaque()) {
                let opaque = *slot.key();
                let (waiter, response) = oneshot::channel();
                slot.insert(waiter);
                return Ok((opaque, response));
            }
        }
        Err(NetError::TooManyInFlight {
            addr: self.shared.peer.clone(),
            limit: self.shared.awaiting_max,
        })
    }

    async fn enqueue_until(&self, frame: Bytes, deadline: Instant, opaque: i32, budget: Duration) -> NetResult<()> {
        match tokio::time::timeout_at(deadline, self.enqueue(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => Err(NetError::Timeout {
                addr: self.shared.peer.clone(),
                opaque,
                after_ms: millis(budget),
            }),
        }
    }

    fn closed_error(&self) -> NetError {
        NetError::ConnectionClosed {
            addr: self.shared.peer.clone(),
        }
    }

    fn lock_awaiting(&self) -> MutexGuard<'_, Awaiting> {
        self.shared.lock_awaiting()
    }
}

impl Shared {
    // Never held across an await; a poisoned map is still consistent (no code panics under it).
    fn lock_awaiting(&self) -> MutexGuard<'_, Awaiting> {
        self.awaiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PartialEq for ConnectionHandle {
    fn eq(&self, other: &ConnectionHandle) -> bool {
        self.shared.id == other.shared.id
    }
}

impl Eq for ConnectionHandle {}

impl std::hash::Hash for ConnectionHandle {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.shared.id.hash(state);
    }
}

impl fmt::Debug for ConnectionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionHandle")
            .field("id", &self.shared.id)
            .field("peer", &self.shared.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The response to a request already queued for the socket. Dropping it abandons the request.
pub struct PendingResponse {
    response: oneshot::Receiver<RemotingCommand>,
    deadline: Pin<Box<Sleep>>,
    guard: AwaitingGuard,
    after_ms: u64,
}

impl PendingResponse {
    pub fn opaque(&self) -> i32 {
        self.guard.opaque
    }
}

impl Future for PendingResponse {
    type Output = NetResult<RemotingCommand>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut this.response).poll(cx) {
            Poll::Ready(Ok(response)) => {
                // The reader removed the entry when it delivered the response.
                this.guard.armed = false;
                return Poll::Ready(Ok(response));
            }
            Poll::Ready(Err(_)) => {
                return Poll::Ready(Err(NetError::ConnectionClosed {
                    addr: this.guard.shared.peer.clone(),
                }));
            }
            Poll::Pending => {}
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(NetError::Timeout {
                addr: this.guard.shared.peer.clone(),
                opaque: this.guard.opaque,
                after_ms: this.after_ms,
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for PendingResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingResponse")
            .field("peer", &self.guard.shared.peer)
            .field("opaque", &self.guard.opaque)
            .finish()
    }
}

/// Removes a request's entry from the awaiting map however its caller stops waiting.
struct AwaitingGuard {
    shared: Arc<Shared>,
    opaque: i32,
    armed: bool,
}

impl Drop for AwaitingGuard {
    fn drop(&mut self) {
        if self.armed {
            self.shared.lock_awaiting().by_opaque.remove(&self.opaque);
        }
    }
}

pub(crate) fn encode_frame(command: &RemotingCommand) -> NetResult<Bytes> {
    let mut frame = BytesMut::new();
    command.encode(&mut frame)?;
    Ok(frame.freeze())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemoryLimits;
    use ferrocket_wire::RequestCode;

    fn handle() -> (ConnectionHandle, mpsc::Receiver<QueuedFrame>) {
        open(&ConnectionLimits::default(), &budgets(usize::MAX))
    }

    fn budgets(outbound_bytes_total_max: usize) -> Arc<Budgets> {
        Arc::new(Budgets::new(&MemoryLimits {
            outbound_bytes_total_max,
            ..MemoryLimits::default()
        }))
    }

    fn open(limits: &ConnectionLimits, budgets: &Arc<Budgets>) -> (ConnectionHandle, mpsc::Receiver<QueuedFrame>) {
        ConnectionHandle::open("peer:1".into(), limits, Arc::clone(budgets))
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_reaches_its_waiter_and_clears_the_entry() {
        let (conn, mut frames) = handle();
        let pending = conn
            .invoke_async(
                RemotingCommand::request(RequestCode::HEART_BEAT),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
        assert!(frames.recv().await.is_some());
        let mut response = RemotingCommand::request(RequestCode(0));
        response.opaque = pending.opaque();
        response.flag = FLAG_RESPONSE;
        assert!(conn.complete(response.clone()));
        assert_eq!(pending.await.unwrap(), response);
        assert!(conn.lock_awaiting().by_opaque.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_or_a_dropped_caller_clears_the_entry() {
        let (conn, _frames) = handle();
        let request = RemotingCommand::request(RequestCode::HEART_BEAT);
        let result = conn.invoke(request.clone(), Duration::from_millis(250)).await;
        assert!(matches!(result, Err(NetError::Timeout { after_ms: 250, .. })));
        let pending = conn.invoke_async(request, Duration::from_secs(1)).await.unwrap();
        assert_eq!(conn.lock_awaiting().by_opaque.len(), 1);
        drop(pending);
        assert!(conn.lock_awaiting().by_opaque.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn closing_fails_waiters_and_refuses_new_requests() {
        let (conn, _frames) = handle();
        let request = RemotingCommand::request(RequestCode::HEART_BEAT);
        let pending = conn
            .invoke_async(request.clone(), Duration::from_secs(1))
            .await
            .unwrap();
        conn.close();
        assert!(matches!(pending.await, Err(NetError::ConnectionClosed { .. })));
        let again = conn.invoke(request, Duration::from_secs(1)).await;
        assert!(matches!(again, Err(NetError::ConnectionClosed { .. })));
        conn.closed().await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_endless_timeout_does_not_overflow() {
        let (conn, _frames) = handle();
        let request = RemotingCommand::request(RequestCode::HEART_BEAT);
        let pending = conn.invoke_async(request.clone(), Duration::MAX).await.unwrap();
        assert_eq!(pending.after_ms, u64::MAX);
        conn.oneway(request, Duration::MAX).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_awaiting_map_is_bounded() {
        let limits = ConnectionLimits {
            awaiting_responses_max: 2,
            ..ConnectionLimits::default()
        };
        let (conn, _frames) = open(&limits, &budgets(usize::MAX));
        let request = RemotingCommand::request(RequestCode::HEART_BEAT);
        let _first = conn
            .invoke_async(request.clone(), Duration::from_secs(1))
            .await
            .unwrap();
        let _second = conn
            .invoke_async(request.clone(), Duration::from_secs(1))
            .await
            .unwrap();
        let third = conn.invoke_async(request, Duration::from_secs(1)).await;
        assert!(matches!(third, Err(NetError::TooManyInFlight { limit: 2, .. })));
    }

    fn frame_of(bytes: usize) -> Bytes {
        Bytes::from(vec![0; bytes])
    }

    /// Waits until `pending` is stuck, i.e. still pending after everything else ran.
    async fn is_stuck<F: Future + Unpin>(pending: &mut F) -> bool {
        tokio::time::timeout(Duration::from_millis(10), pending).await.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn queued_bytes_are_bounded_per_connection_and_released_when_written() {
        let limits = ConnectionLimits {
            outbound_bytes_max: 100,
            ..ConnectionLimits::default()
        };
        let budgets = budgets(usize::MAX);
        let (conn, mut frames) = open(&limits, &budgets);
        conn.send_frame(frame_of(60)).await.unwrap();
        conn.send_frame(frame_of(40)).await.unwrap();
        assert!(!conn.has_outbound_room());
        let mut third = Box::pin(conn.send_frame(frame_of(10)));
        assert!(is_stuck(&mut third).await, "a third frame passed the byte limit");
        assert_eq!(conn.outbound_queued_bytes(), 100);
        let written = frames.recv().await.unwrap();
        drop(written);
        third.await.unwrap();
        assert_eq!(conn.outbound_queued_bytes(), 50);
        assert_eq!(budgets.memory_use().outbound_queued_bytes, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_queue_takes_one_frame_of_any_size_and_closing_frees_waiters() {
        let limits = ConnectionLimits {
            outbound_bytes_max: 100,
            ..ConnectionLimits::default()
        };
        let budgets = budgets(150);
        let (first, _first_frames) = open(&limits, &budgets);
        let (second, _second_frames) = open(&limits, &budgets);
        first.send_frame(frame_of(500)).await.unwrap();
        second.send_frame(frame_of(10)).await.unwrap();
        assert!(!second.has_outbound_room(), "the total is spent");
        let mut more = Box::pin(second.send_frame(frame_of(10)));
        assert!(is_stuck(&mut more).await, "a frame passed the total");
        second.close();
        assert!(matches!(more.await, Err(NetError::ConnectionClosed { .. })));
        assert_eq!(budgets.memory_use().outbound_queued_bytes, 510);
    }
}
