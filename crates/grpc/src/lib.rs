//! The gRPC endpoint of RocketMQ 5.x clients: `apache.rocketmq.v2.MessagingService`, served
//! in the broker's process as Java's local-mode proxy is, and a thin shell over the broker:
//! routes come from its topic table, sends and transaction ends go through its own handlers
//! (`ferrocket_broker::handlers::dispatch`), so checks, store path and codes are the broker's.
//!
//! Layout: `proto` (generated from proto/ by build.rs), `route`, `send` and `clients` (pure:
//! Java's proxy rules as functions), `status` (Java's in-band status mapping), `service` (the
//! RPCs: read tables, dispatch, map), `server` (one port for TLS and plaintext HTTP/2).

pub mod auth;
pub mod clients;
pub mod receive;
pub mod recover;
pub mod route;
pub mod send;
pub mod server;
pub mod service;
pub mod settings;
pub mod status;

/// The apache.rocketmq.v2 messages and the MessagingService server and client.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    missing_docs
)]
pub mod proto {
    tonic::include_proto!("apache.rocketmq.v2");
}

pub use server::{GrpcConfig, GrpcError, GrpcServer, start};
pub use service::ServiceOptions;
pub use settings::GrpcSettings;
