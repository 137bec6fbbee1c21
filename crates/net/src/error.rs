//! The transport's error: every way sending a command to a peer, or serving one, can fail.
//!
//! Each variant names the peer address and the facts a caller needs to decide between retrying
//! elsewhere (connect failures, closed connections) and reporting (timeouts, limits). Decode
//! errors of inbound frames never reach callers: they close the connection that sent them.

use std::io;

use ferrocket_wire::WireError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetError {
    /// No response arrived in time. The request may still be processed by the peer.
    #[error("request {opaque} to {addr} timed out after {after_ms} ms")]
    Timeout { addr: String, opaque: i32, after_ms: u64 },

    /// The TCP connection could not be opened (refused, unresolvable, or too slow).
    #[error("cannot connect to {addr}: {reason}")]
    ConnectFailed { addr: String, reason: String },

    /// The connection closed before the request was written or answered.
    #[error("connection to {addr} closed")]
    ConnectionClosed { addr: String },

    /// Our own command cannot be encoded (e.g. a frame over 16 MiB).
    #[error(transparent)]
    Wire(#[from] WireError),

    /// The connection already waits for as many responses as its limit allows.
    #[error("{addr} has {limit} requests awaiting responses already")]
    TooManyInFlight { addr: String, limit: usize },

    /// The client already holds as many connections as its limit allows.
    #[error("client holds {limit} connections already; not opening one to {addr}")]
    TooManyConnections { addr: String, limit: usize },

    /// The server cannot listen on the address.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
}

pub type NetResult<T> = Result<T, NetError>;
