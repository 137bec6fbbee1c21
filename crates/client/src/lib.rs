//! Ferrocket's Rust SDK for Apache RocketMQ: producers, consumers and admin calls speaking the
//! remoting protocol to any RocketMQ 4.x/5.x name server and broker, ours or Java's.
//!
//! The codecs are the `ferrocket-wire` crate's (the same ones our servers use) and the transport
//! is `ferrocket-net`'s client, so this crate holds only client behaviour, each piece a pure core
//! under a thin async shell: routes ([`route`]), latency-fault avoidance ([`fault`]), queue
//! allocation ([`allocate`]), filters ([`filter`]), and the shells [`Cluster`], [`Producer`]
//! (with [`transaction`]s), [`PullConsumer`], [`PushConsumer`] and [`Admin`]. Java's defaults
//! are kept (3 s sends with 2 retries, 4 KiB compression threshold, 30 s route refresh and
//! heartbeats, 5 s offset commits, 16 retries before the DLQ); every queue and cache is bounded.
//! interop/rust-client/run.sh runs the same tests against the official Java 5.3.3 name server
//! and broker and against ours.
//!
//! ```no_run
//! use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions};
//!
//! # async fn demo() -> Result<(), ferrocket_client::ClientError> {
//! let producer = Producer::start(ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "demo"))?;
//! let sent = producer.send(Message::new("DemoTopic", "hello").with_keys(["k1"])).await?;
//! println!("{} -> {}:{}", sent.msg_id, sent.broker_name, sent.queue_offset);
//! # Ok(()) }
//! ```

pub mod admin;
pub mod allocate;
mod clock;
pub mod cluster;
pub mod error;
pub mod fault;
pub mod filter;
mod ids;
mod local_offsets;
pub mod message;
pub mod producer;
pub mod pull;
pub mod push;
mod queue_reader;
pub mod route;
pub mod transaction;

pub use admin::{Admin, QueueProgress};
pub use cluster::{ClientOptions, Cluster};
pub use error::{ClientError, ClientResult};
/// Wire types the SDK's API speaks in: a queue of a topic, and a group's message model.
pub use ferrocket_wire::body::{MessageModel, MessageQueue};
pub use filter::Filter;
pub use message::{Message, ReceivedMessage, SendResult, SendStatus};
pub use producer::{HashByKey, Producer, ProducerOptions, QueueSelector};
pub use pull::{PullConsumer, PullConsumerOptions};
pub use push::{ConsumeOutcome, PushConsumer, PushConsumerOptions};
pub use queue_reader::StartFrom;
pub use transaction::{TransactionChecker, TransactionState};
