//! The SDK's error: every way a client call can fail, carrying the facts a caller needs to decide
//! between retrying, fixing its input and giving up.
//!
//! Transport failures wrap [`NetError`], codec failures [`WireError`]; a broker's or name server's
//! refusal keeps its response code and remark exactly as the server sent them.

use ferrocket_net::NetError;
use ferrocket_wire::{ResponseCode, WireError};
use thiserror::Error;

/// What went wrong in a client call.
///
/// ```no_run
/// use ferrocket_client::{ClientError, ClientOptions, Message, Producer, ProducerOptions};
///
/// # async fn demo() -> Result<(), ClientError> {
/// let producer = Producer::start(ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "demo"))?;
/// match producer.send(Message::new("Orders", "body")).await {
///     Ok(sent) => println!("stored at {}", sent.queue_offset),
///     // The broker's code and remark, as Java's MQBrokerException carries them.
///     Err(ClientError::Refused { code, remark, .. }) => eprintln!("refused with {code}: {remark}"),
///     Err(other) => return Err(other),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Error)]
pub enum ClientError {
    /// The caller's input is not something RocketMQ accepts (empty topic, body too big, ...).
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },

    /// The server answered with a code other than the one the call needs.
    #[error("{addr} answered {code}: {remark}")]
    Refused {
        addr: String,
        code: ResponseCode,
        remark: String,
    },

    /// No name server knows a route for the topic (or every one failed to answer).
    #[error("no route for topic {topic}: {reason}")]
    NoRoute { topic: String, reason: String },

    /// The route names no master address for the broker the call needs.
    #[error("no address for broker {broker_name}")]
    NoBrokerAddress { broker_name: String },

    /// Every attempt failed; `last` is the failure of the final one.
    #[error("send to {topic} failed after {attempts} attempts: {last}")]
    SendFailed {
        topic: String,
        attempts: u32,
        last: Box<ClientError>,
    },

    /// The client, producer or consumer was shut down.
    #[error("{what} is shut down")]
    ShutDown { what: &'static str },

    /// A bounded queue of the SDK is full (e.g. too many sends in flight).
    #[error("{what} is full ({limit})")]
    Full { what: &'static str, limit: usize },

    /// The transport failed: connect, timeout, closed connection, a limit of `ferrocket-net`.
    #[error(transparent)]
    Net(#[from] NetError),

    /// A frame, header or body could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// The SDK's result type.
pub type ClientResult<T> = Result<T, ClientError>;

impl ClientError {
    /// Whether a send that failed this way may succeed on another broker: transport failures
    /// and the response codes Java's producer retries (`DefaultMQProducer.retryResponseCodes`).
    pub fn is_retryable_send(&self) -> bool {
        match self {
            ClientError::Net(_) => true,
            ClientError::Refused { code, .. } => RETRYABLE_SEND_CODES.contains(&code.0),
            _ => false,
        }
    }
}

/// TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, SYSTEM_BUSY, NO_PERMISSION, NO_BUYER_ID,
/// NOT_IN_CURRENT_UNIT and GO_AWAY, as Java 5.3.3's `retryResponseCodes`.
const RETRYABLE_SEND_CODES: [i32; 8] = [17, 14, 1, 2, 16, 204, 205, 1500];
