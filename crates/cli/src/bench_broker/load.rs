//! The native load of `bench broker`: `connections` connections to one broker, each with one
//! SEND_MESSAGE_V2 in flight at a time (as the figures are taken), in the JSON or the
//! ROCKETMQ binary header encoding, a fixed-size body, queues taken in turn. Every answer must
//! be SUCCESS; its latency is sampled.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use ferrocket_net::{Client, ClientConfig, ClientTls, Router};
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeaderV2};
use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::{RemotingCommand, RequestCode, SerializeType};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The topic every side is sent (created on the first send from `TBW102`).
pub const TOPIC: &str = "FerrocketBenchTopic";
/// Queues the load spreads over (Java's default for a topic created on send).
const QUEUES: i32 = 4;
/// Latency samples kept per connection; later sends are counted but not sampled.
const SAMPLES_PER_CONNECTION_MAX: usize = 200_000;
/// A loopback send that takes this long means the side is broken.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One load's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub connections: usize,
    pub body_bytes: usize,
    pub header: SerializeType,
    /// Over TLS, trusting any certificate as Java's client does in test mode.
    pub tls: bool,
}

/// What a load measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub sends: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Measured {
    pub fn add(&mut self, other: Measured) {
        self.sends += other.sends;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }

    pub fn per_second(&self) -> f64 {
        self.sends as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency at quantile `q` (0..=1) of the samples; zero without samples.
    pub fn quantile(&mut self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort_unstable();
        let last = self.latencies.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        self.latencies.get(index.min(last)).copied().unwrap_or_default()
    }
}

/// Drives `load` against `addr` for `duration`.
pub async fn run(addr: &str, load: Load, duration: Duration) -> anyhow::Result<Measured> {
    let body = Bytes::from(vec![b'x'; load.body_bytes]);
    let started = Instant::now();
    let deadline = started + duration;
    let mut connections = JoinSet::new();
    for connection in 0..load.connections {
        let (addr, body) = (addr.to_owned(), body.clone());
        connections.spawn(async move { drive(&addr, connection, load.header, load.tls, body, deadline).await });
    }
    let mut measured = Measured::default();
    while let Some(joined) = connections.join_next().await {
        let (sends, latencies) = joined.context("a load connection panicked")??;
        measured.sends += sends;
        measured.latencies.extend(latencies);
    }
    measured.elapsed = started.elapsed();
    Ok(measured)
}

/// One connection's loop: send, await the answer, until the deadline.
async fn drive(
    addr: &str,
    connection: usize,
    header: SerializeType,
    tls: bool,
    body: Bytes,
    deadline: Instant,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    // A client of its own, so each caller has its own connection.
    let tls = if tls { Some(ClientTls::new(None, None)?) } else { None };
    let client = Client::new(
        Router::new(),
        ClientConfig {
            tls,
            ..ClientConfig::default()
        },
    );
    let mut sends = 0u64;
    let mut latencies = Vec::new();
    let queue_offset = i32::try_from(connection).unwrap_or(0);
    while Instant::now() < deadline {
        let queue_id = (queue_offset + i32::try_from(sends % 1_000).unwrap_or(0)) % QUEUES;
        let request = send_request(queue_id, header, body.clone());
        let started = Instant::now();
        let response = client.invoke(addr, request, SEND_TIMEOUT).await;
        let latency = started.elapsed();
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                client.shutdown().await;
                bail!("send to {addr} failed: {error}");
            }
        };
        if response.code != 0 {
            client.shutdown().await;
            bail!("send to {addr} answered {}: {:?}", response.code, response.remark);
        }
        sends += 1;
        if latencies.len() < SAMPLES_PER_CONNECTION_MAX {
            latencies.push(latency);
        }
    }
    client.shutdown().await;
    Ok((sends, latencies))
}

/// SEND_MESSAGE_V2 as the Java producer fills it.
fn send_request(queue_id: i32, header: SerializeType, body: Bytes) -> RemotingCommand {
    let properties = [("TAGS", "bench"), ("WAIT", "true")]
        .into_iter()
        .collect::<MessageProperties>()
        .encode()
        .unwrap_or_default();
    let fields = SendMessageRequestHeaderV2 {
        producer_group: "ferrocket_bench_producer".into(),
        topic: TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: QUEUES,
        queue_id,
        born_timestamp: 1_700_000_000_000,
        properties: Some(properties),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        ..SendMessageRequestHeaderV2::default()
    };
    let mut request = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
        .with_ext_fields(fields.to_ext_fields())
        .with_body(body);
    request.serialize_type = header;
    request
}
