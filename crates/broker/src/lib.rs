//! The broker: send, pull, consumer offsets, clients and admin over the store, served as the Java
//! broker serves them (remoting.md §4.2–4.4, §4.6; store-and-ha.md §8, §13–15).
//!
//! Three layers, each importing only the ones below it:
//!
//! * [`state`]: the tables (topics, subscription groups, consumer and delay offsets, clients,
//!   held pulls), `config/*.json`, the replication side and the one clock, gathered in
//!   [`Broker`]. Pure: tables take `now_ms` and return facts; nothing here spawns.
//! * [`handlers`]: [`handlers::ROUTES`], the one table of served codes, and one module per
//!   family of codes. A request is read from its wire type, checked against the state, and
//!   answered from the state and the store; failures are typed [`BrokerError`]s.
//! * [`shell`]: [`start`] opens the store, binds the ports, builds the state and runs the
//!   timers (name-server registration, metadata persistence, client expiry, long-poll checks,
//!   delayed delivery, a slave's sync); [`BrokerHandle`] owns them and shuts them down.
//!
//! Beside them, [`config`] reads `broker.conf` with Java's key names and defaults,
//! [`error`] holds the one mapping from failures to response codes and remarks, and
//! [`limit_warnings`] the one rate-limited warning of a limit a client hits.

pub mod config;
pub mod error;
pub mod handlers;
pub mod limit_warnings;
pub mod names;
pub mod shell;
pub mod state;

pub use config::{BrokerConfig, BrokerRole};
pub use error::{BrokerError, BrokerResult};
pub use ferrocket_store::Clock;
pub use shell::{BrokerHandle, start};
pub use state::Broker;
