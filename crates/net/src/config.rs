//! Limits and timeouts of the transport, with Java's defaults where Java has one.
//!
//! Every queue, map and byte buffer a peer can grow is bounded here, per connection and, for
//! bytes, across all connections of a server or client ([`MemoryLimits`]). A limit that is
//! reached slows the peer down (we stop reading its socket), closes its connection (a frame that
//! never completes, a peer that never reads) or fails our own call with an error; nothing is
//! dropped silently and nothing grows without bound. A zero in any count is treated as one.

use std::time::Duration;

use crate::tls::{ClientTls, ServerTls};

/// Java's `serverChannelMaxIdleTimeSeconds` and `clientChannelMaxIdleTimeSeconds`: a connection
/// with neither reads nor writes for this long is closed (clients heartbeat every 30 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Java's `connectTimeoutMillis`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Java sets no limit; 10 000 sockets keeps a flood within a default `ulimit -n` of 65 536.
pub const SERVER_CONNECTIONS_MAX: usize = 10_000;

/// A client talks to a handful of name servers and brokers; this stops a route table full of
/// bogus addresses from opening sockets without end.
pub const CLIENT_CONNECTIONS_MAX: usize = 1_024;

/// Inbound requests being handled at once per connection. Long-polled pulls hold a slot for up
/// to 30 s, one per queue a consumer owns on the broker, so this must exceed any realistic queue
/// count; past it we stop reading the socket (backpressure) rather than drop requests.
pub const REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX: usize = 16_384;

/// Our requests awaiting a response per connection: Java's `clientAsyncSemaphoreValue`.
pub const AWAITING_RESPONSES_PER_CONNECTION_MAX: usize = 65_535;

/// Encoded frames queued for one socket. Writers wait when it is full, so a peer that stops
/// reading slows its own handlers instead of growing our memory.
pub const OUTBOUND_FRAMES_PER_CONNECTION_MAX: usize = 4_096;

/// Encoded bytes queued for one socket. A pull answer is at most 256 KiB (Java's
/// `maxTransferBytesOnMessageInMemory`), so this holds 16 of them on top of what the kernel
/// buffers; past it the connection's writers wait and we stop reading its requests, so a peer
/// that does not read its answers cannot make us hold more (a frame larger than this is queued
/// alone, when nothing else is).
pub const OUTBOUND_BYTES_PER_CONNECTION_MAX: usize = 4 * 1024 * 1024;

/// Encoded bytes queued across every connection of one server or client: 128 connections at
/// their own limit. Past it only a connection with nothing queued may queue (one frame), so
/// peers that read their answers keep being served while those that do not wait.
pub const OUTBOUND_BYTES_TOTAL_MAX: usize = 512 * 1024 * 1024;

/// A peer that takes none of our bytes for this long is not reading: its calls have timed out
/// on its side (Java's default is 3 s, a long-polled pull's 30 s), so the connection is closed
/// and its queue freed.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A frame must arrive whole within this long of its first byte, or the connection is closed.
/// Longer than any Java call timeout (registration's 24 s is the longest), so only a peer that
/// trickles a frame, pinning up to 16 MiB of ours, meets it.
pub const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of unfinished frames larger than one read chunk (64 KiB), across every connection of
/// one server or client: 16 frames of the maximum 16 MiB arriving at once. The connection whose
/// bytes would pass it is closed; smaller frames cost each connection one read chunk at most.
pub const PARTIAL_FRAME_BYTES_TOTAL_MAX: usize = 256 * 1024 * 1024;

/// After a bad frame the requests decoded before it get this long to be answered before the
/// connection closes (Java answers them too): Java's default call timeout, after which an
/// answer is of no use to the caller.
pub const BAD_FRAME_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a graceful shutdown lets running handlers finish before aborting them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Waits longer than this (a timeout of `Duration::MAX`, say) are cut to it, so that deadline
/// arithmetic cannot overflow; a decade is "never" for a connection.
pub const WAIT_MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The instant `wait` from now, with `wait` cut to [`WAIT_MAX`].
pub(crate) fn deadline_after(wait: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + wait.min(WAIT_MAX)
}

/// Limits applied to every connection, accepted or opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub idle_timeout: Duration,
    pub requests_in_flight_max: usize,
    pub awaiting_responses_max: usize,
    pub outbound_frames_max: usize,
    pub outbound_bytes_max: usize,
    pub write_stall_timeout: Duration,
    pub frame_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            idle_timeout: IDLE_TIMEOUT,
            requests_in_flight_max: REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX,
            awaiting_responses_max: AWAITING_RESPONSES_PER_CONNECTION_MAX,
            outbound_frames_max: OUTBOUND_FRAMES_PER_CONNECTION_MAX,
            outbound_bytes_max: OUTBOUND_BYTES_PER_CONNECTION_MAX,
            write_stall_timeout: WRITE_STALL_TIMEOUT,
            frame_read_timeout: FRAME_READ_TIMEOUT,
        }
    }
}

/// Byte budgets shared by every connection of one server or client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimits {
    pub outbound_bytes_total_max: usize,
    pub partial_frame_bytes_total_max: usize,
}

impl Default for MemoryLimits {
    fn default() -> MemoryLimits {
        MemoryLimits {
            outbound_bytes_total_max: OUTBOUND_BYTES_TOTAL_MAX,
            partial_frame_bytes_total_max: PARTIAL_FRAME_BYTES_TOTAL_MAX,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub connections_max: usize,
    pub connection: ConnectionLimits,
    pub memory: MemoryLimits,
    pub shutdown_grace: Duration,
    /// TLS on the port; plaintext only by default (the binary defaults to Java's permissive).
    pub tls: ServerTls,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            connections_max: SERVER_CONNECTIONS_MAX,
            connection: ConnectionLimits::default(),
            memory: MemoryLimits::default(),
            shutdown_grace: SHUTDOWN_GRACE,
            tls: ServerTls::disabled(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub connections_max: usize,
    pub connect_timeout: Duration,
    pub connection: ConnectionLimits,
    pub memory: MemoryLimits,
    pub shutdown_grace: Duration,
    /// TLS on every connection (Java's `tls.enable`), or plaintext with `None`.
    pub tls: Option<ClientTls>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            connections_max: CLIENT_CONNECTIONS_MAX,
            connect_timeout: CONNECT_TIMEOUT,
            connection: ConnectionLimits::default(),
            memory: MemoryLimits::default(),
            shutdown_grace: SHUTDOWN_GRACE,
            tls: None,
        }
    }
}
