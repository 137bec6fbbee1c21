//! Ferrocket's transport: RocketMQ remoting frames over TCP, with tokio.
//!
//! One connection core serves both ends. A [`Server`] accepts connections and dispatches each
//! request to the [`Router`]'s handler for its code; a [`Client`] keeps one connection per
//! address and matches responses to requests by `opaque`. Either end may initiate requests on a
//! connection through its [`ConnectionHandle`], as the broker does when it calls its clients.
//!
//! Behaviour Java peers rely on (remoting.md §1): a frame over 16 MiB, a header length beyond its
//! frame, an unknown serialize type or an undecodable header closes the connection without a
//! response; a oneway request is never answered; a code nobody serves gets
//! `REQUEST_CODE_NOT_SUPPORTED` with remark `" request type <code> not supported"`; a connection
//! idle for 120 s is closed. TLS shares the port with plaintext, told apart by the first byte
//! ([`tls`]). Every queue, map and byte buffer is bounded ([`config`]); the bytes
//! held for connections are reported by [`Server::memory_use`] and [`Client::memory_use`].

mod budget;
pub mod client;
pub mod config;
pub mod connection;
mod driver;
pub mod error;
mod framing;
pub mod log_rate;
mod outbound;
pub mod router;
pub mod server;
pub mod tap;
pub mod tls;

pub use budget::MemoryUse;
pub use client::Client;
pub use config::{ClientConfig, ConnectionLimits, MemoryLimits, ServerConfig};
pub use connection::{ConnectionHandle, InProcessRequests, PendingResponse, next_opaque};
pub use error::{NetError, NetResult};
pub use log_rate::LogRate;
pub use router::{Handler, HandlerFuture, Router};
pub use server::Server;
pub use tap::{Tap, TapEvent, TapFilter, TapMark, TapReply, TapWatch};
pub use tls::{ClientTls, ServerTls, TlsMode, TlsSettings};
