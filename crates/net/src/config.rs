//! Limits and timeouts of the transport, with Java's defaults where Java has one.
//!
//! Every queue and map a peer can grow is bounded here. A limit that is reached slows the peer
//! down (we stop reading its socket) or fails our own call with an error; nothing is dropped
//! silently and nothing grows without bound. A zero in any count is treated as one.

use std::time::Duration;

/// Java's `serverChannelMaxIdleTimeSeconds` and `clientChannelMaxIdleTimeSeconds`: a connection
/// with neither reads nor writes for this long is closed (clients heartbeat every 30 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Java's default for most client calls (`timeoutMillis` = 3000).
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(3);

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
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            idle_timeout: IDLE_TIMEOUT,
            requests_in_flight_max: REQUESTS_IN_FLIGHT_PER_CONNECTION_MAX,
            awaiting_responses_max: AWAITING_RESPONSES_PER_CONNECTION_MAX,
            outbound_frames_max: OUTBOUND_FRAMES_PER_CONNECTION_MAX,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub connections_max: usize,
    pub connection: ConnectionLimits,
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            connections_max: SERVER_CONNECTIONS_MAX,
            connection: ConnectionLimits::default(),
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub connections_max: usize,
    pub connect_timeout: Duration,
    pub connection: ConnectionLimits,
    pub shutdown_grace: Duration,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            connections_max: CLIENT_CONNECTIONS_MAX,
            connect_timeout: CONNECT_TIMEOUT,
            connection: ConnectionLimits::default(),
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}
