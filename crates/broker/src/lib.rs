//! The broker: send, pull, consumer offsets, clients and admin over the store, served as the Java
//! broker serves them (remoting.md §4.2–4.4, §4.6; store-and-ha.md §8, §13–15).
//!
//! Layers, innermost first:
//!
//! * [`config`]: `broker.conf` with Java's key names and defaults.
//! * Pure tables, each behind its own lock in [`Broker`], none doing I/O: [`topics`],
//!   [`subscription_groups`], [`consumer_offsets`], [`clients`] (producers and consumers by
//!   group, with their connections), [`long_poll`] (pulls held until a message arrives).
//! * [`metadata`]: `config/*.json` load and persist (Java's files, so a Java broker's directory
//!   opens here and ours opens there).
//! * [`handlers`]: one module per family of request codes; each registers its routes.
//! * [`broker`]: the shell. [`start`] opens the store, loads metadata, binds the port, starts the
//!   periodic tasks (name-server registration every 30 s, offset persistence every 5 s, client
//!   expiry, long-poll timeouts) and hands back a [`BrokerHandle`].
//! * [`schedule`]: delayed messages (levels), parked in `SCHEDULE_TOPIC_XXXX` and delivered
//!   to their real topics when due.
//! * [`replication`] and [`slave_sync`]: master/slave (the commit log over the HA port, the
//!   SYNC_MASTER wait, and a slave's periodic copy of its master's metadata).

pub mod broker;
pub mod clients;
pub mod config;
pub mod consumer_offsets;
pub mod error;
pub mod handlers;
pub mod long_poll;
pub mod metadata;
pub mod registration;
pub mod replication;
pub mod schedule;
pub mod slave_sync;
pub mod subscription_groups;
pub mod topics;

pub use broker::{Broker, BrokerHandle, start};
pub use config::{BrokerConfig, BrokerRole};
pub use error::{BrokerError, BrokerResult};
