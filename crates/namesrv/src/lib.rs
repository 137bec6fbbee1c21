//! The name server: which brokers exist, which topics they serve, and a small KV store
//! (remoting.md §4.1, §6.3).
//!
//! Layers, innermost first, each testable alone:
//!
//! * [`route_table`] and [`kv_config`]: pure state machines. No clocks (time is an argument),
//!   no I/O, every table bounded.
//! * [`handlers`]: [`NameServer`] maps each request to a response over that state, pure too;
//!   [`error::error_response`] is the one place failures become RocketMQ codes and remarks.
//! * [`server`]: the thin tokio shell. One task owns the [`NameServer`] and takes requests from
//!   a bounded queue, runs the expiry scan, drops brokers whose connection closed and writes
//!   `kvConfig.json`. [`start`] is the entry point.

pub mod config;
pub mod error;
pub mod handlers;
pub mod kv_config;
mod kv_file;
pub mod route_table;
pub mod server;

pub use config::NamesrvConfig;
pub use error::{NamesrvError, NamesrvResult};
pub use handlers::NameServer;
pub use server::{NamesrvHandle, StartError, start};
