//! The native load of `bench broker`: `connections` connections to one broker, each with one
//! request in flight at a time (as the figures are taken), in the JSON or the ROCKETMQ
//! binary header encoding:
//! - sends: SEND_MESSAGE_V2 of one message, or SEND_BATCH_MESSAGE of `batch` members, each with
//!   a fixed-size body and its own UNIQ_KEY as the Java producer sets it (so both brokers index
//!   every message, as they do for real clients), queues taken in turn;
//! - pulls: PULL_MESSAGE of up to 32 messages (Java's `pullBatchSize`) from the backlog the sends
//!   left, each connection walking one queue from offset 0 and starting over at its end: reads
//!   that the page cache serves.
//!
//! Every answer must be SUCCESS (pulls: or "no more" at a queue's end; sends: or SYSTEM_BUSY,
//! Java's flow control, which is sent again and not counted); its latency is sampled.
//! Figures count messages, so a batch or a pull of 32 counts 32.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use ferrocket_broker::state::auth::signature::sign_request;
use ferrocket_net::{Client, ClientConfig, ClientTls, Router};
use ferrocket_wire::header::{
    CustomHeader, PullMessageRequestHeader, PullMessageResponseHeader, SendMessageRequestHeaderV2,
};
use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::message::batch::{BatchMember, encode_batch};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The topic every side is sent (created on the first send from `TBW102`).
pub const TOPIC: &str = "FerrocketBenchTopic";
/// Queues the load spreads over (Java's default for a topic created on send).
const QUEUES: i32 = 4;
/// Latency samples kept per connection; later requests are counted but not sampled.
const SAMPLES_PER_CONNECTION_MAX: usize = 200_000;
/// A loopback request that takes this long means the side is broken.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Java's `pullBatchSize`.
const PULL_BATCH: i32 = 32;
/// `PullSysFlag.FLAG_SUBSCRIPTION`: the broker builds the subscription from the request, so the
/// pulling group needs no heartbeat.
const PULL_SYS_FLAG_SUBSCRIPTION: i32 = 0x4;
/// The group the pull loops read as (created on first pull by both brokers' defaults).
const PULL_GROUP: &str = "ferrocket_bench_pull";

/// The user `--acl` signs as (both brokers' initial super user) and its secret.
pub const ACL_USER: &str = "ferrocket_bench";
pub const ACL_SECRET: &str = "ferrocket_bench_secret";

/// `request` signed as [`ACL_USER`] when `acl` (the official `AclClientRPCHook`'s fields, by the
/// broker's own signing function), else as it is.
fn signed(request: RemotingCommand, acl: bool) -> RemotingCommand {
    if acl {
        sign_request(request, ACL_USER, ACL_SECRET)
    } else {
        request
    }
}

/// What a load's requests are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// SEND_MESSAGE_V2 when `batch` is 1, SEND_BATCH_MESSAGE of `batch` members otherwise.
    Send { batch: usize },
    /// PULL_MESSAGE through the backlog, over and over.
    Pull,
    /// SEND_MESSAGE_V2 at a fixed total rate spread over the connections (each sends on its own
    /// schedule, at once when behind it): latency at a load every side can carry.
    Paced { per_second: u32 },
}

/// One load's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub kind: LoadKind,
    pub connections: usize,
    pub body_bytes: usize,
    pub header: SerializeType,
    /// Over TLS, trusting any certificate as Java's client does in test mode.
    pub tls: bool,
    /// Every request signed as [`ACL_USER`].
    pub acl: bool,
}

/// What a load measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Messages acknowledged (sends) or received (pulls).
    pub messages: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Measured {
    pub fn add(&mut self, other: Measured) {
        self.messages += other.messages;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }

    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
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
        connections.spawn(async move { drive(&addr, connection, load, body, deadline).await });
    }
    let mut measured = Measured::default();
    while let Some(joined) = connections.join_next().await {
        let (messages, latencies) = joined.context("a load connection panicked")??;
        measured.messages += messages;
        measured.latencies.extend(latencies);
    }
    measured.elapsed = started.elapsed();
    Ok(measured)
}

/// One connection's loop: a request, its answer, until the deadline.
async fn drive(
    addr: &str,
    connection: usize,
    load: Load,
    body: Bytes,
    deadline: Instant,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    // A client of its own, so each caller has its own connection.
    let tls = if load.tls {
        Some(ClientTls::new(None, None)?)
    } else {
        None
    };
    let client = Client::new(
        Router::new(),
        ClientConfig {
            tls,
            ..ClientConfig::default()
        },
    );
    let result = match load.kind {
        LoadKind::Send { batch } => {
            send_loop(
                &client,
                addr,
                connection,
                load.header,
                load.acl,
                batch,
                None,
                body,
                deadline,
            )
            .await
        }
        LoadKind::Paced { per_second } => {
            // Each connection's share of the rate; `connections` ≥ 1 and the rate > 0 (checked).
            let interval = Duration::from_secs_f64(load.connections as f64 / f64::from(per_second.max(1)));
            send_loop(
                &client,
                addr,
                connection,
                load.header,
                load.acl,
                1,
                Some(interval),
                body,
                deadline,
            )
            .await
        }
        LoadKind::Pull => pull_loop(&client, addr, connection, load.header, load.acl, deadline).await,
    };
    client.shutdown().await;
    result
}

#[allow(clippy::too_many_arguments)] // one loop for paced and unpaced sends
async fn send_loop(
    client: &Client,
    addr: &str,
    connection: usize,
    header: SerializeType,
    acl: bool,
    batch: usize,
    pace: Option<Duration>,
    body: Bytes,
    deadline: Instant,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut messages = 0u64;
    let mut latencies = Vec::new();
    let mut sent = 0u64;
    let queue_offset = i32::try_from(connection).unwrap_or(0);
    let mut schedule = pace.map(|every| {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        ticks
    });
    while Instant::now() < deadline {
        if let Some(ticks) = &mut schedule {
            ticks.tick().await;
        }
        let queue_id = (queue_offset + i32::try_from(sent % 1_000).unwrap_or(0)) % QUEUES;
        let request = signed(send_request(queue_id, header, batch, &body, connection, sent)?, acl);
        let started = Instant::now();
        let response = client
            .invoke(addr, request, REQUEST_TIMEOUT)
            .await
            .with_context(|| format!("send to {addr}"))?;
        let latency = started.elapsed();
        if response.code == ResponseCode::SYSTEM_BUSY.0 {
            // Java's flow control on a loaded machine; its client sends again, so does this one.
            continue;
        }
        if response.code != 0 {
            bail!("send to {addr} answered {}: {:?}", response.code, response.remark);
        }
        sent += 1;
        messages += batch as u64;
        if latencies.len() < SAMPLES_PER_CONNECTION_MAX {
            latencies.push(latency);
        }
    }
    Ok((messages, latencies))
}

async fn pull_loop(
    client: &Client,
    addr: &str,
    connection: usize,
    header: SerializeType,
    acl: bool,
    deadline: Instant,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut messages = 0u64;
    let mut latencies = Vec::new();
    let queue_id = i32::try_from(connection).unwrap_or(0) % QUEUES;
    let mut offset = 0i64;
    let mut empty_in_a_row = 0u32;
    while Instant::now() < deadline {
        let request = signed(pull_request(queue_id, offset, header), acl);
        let started = Instant::now();
        let response = client
            .invoke(addr, request, REQUEST_TIMEOUT)
            .await
            .with_context(|| format!("pull from {addr}"))?;
        let latency = started.elapsed();
        let found = match ResponseCode(response.code) {
            ResponseCode::SUCCESS => records_in(response.body.as_deref().unwrap_or_default()),
            ResponseCode::PULL_NOT_FOUND | ResponseCode::PULL_RETRY_IMMEDIATELY | ResponseCode::PULL_OFFSET_MOVED => 0,
            _ => bail!("pull from {addr} answered {}: {:?}", response.code, response.remark),
        };
        let next = PullMessageResponseHeader::from_command(&response)
            .map(|h| h.next_begin_offset)
            .unwrap_or(offset);
        if found == 0 {
            // The end of the backlog: read it again from the start.
            empty_in_a_row += 1;
            if empty_in_a_row > 3 && offset == 0 {
                bail!("pull from {addr}: queue {queue_id} has no backlog (run a send load first)");
            }
            offset = 0;
            continue;
        }
        empty_in_a_row = 0;
        offset = next.max(offset + 1);
        messages += found;
        if latencies.len() < SAMPLES_PER_CONNECTION_MAX {
            latencies.push(latency);
        }
    }
    Ok((messages, latencies))
}

/// The records of a pull body, walked by their TOTALSIZE fields.
fn records_in(body: &[u8]) -> u64 {
    let mut count = 0;
    let mut at = 0usize;
    while let Some(size) = body.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
        let size = i32::from_be_bytes(size);
        if size <= 0 {
            break;
        }
        count += 1;
        at = at.saturating_add(size.unsigned_abs() as usize);
    }
    count
}

/// A UNIQ_KEY-shaped id unique per connection and message, as the Java client sets one.
fn unique_key(connection: usize, sent: u64, member: usize) -> String {
    format!("7F000001{connection:08X}{sent:012X}{member:04X}")
}

/// SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE) as the Java producer fills it.
fn send_request(
    queue_id: i32,
    header: SerializeType,
    batch: usize,
    body: &Bytes,
    connection: usize,
    sent: u64,
) -> anyhow::Result<RemotingCommand> {
    let member_properties = |member: usize| -> MessageProperties {
        [
            ("TAGS", "bench".to_owned()),
            ("WAIT", "true".to_owned()),
            ("UNIQ_KEY", unique_key(connection, sent, member)),
        ]
        .into_iter()
        .collect()
    };
    let (code, properties, request_body) = if batch <= 1 {
        (
            RequestCode::SEND_MESSAGE_V2,
            member_properties(0).encode()?,
            body.clone(),
        )
    } else {
        let members: Vec<BatchMember> = (0..batch)
            .map(|member| BatchMember {
                flag: 0,
                body: body.clone(),
                properties: member_properties(member),
            })
            .collect();
        let mut encoded = BytesMut::new();
        encode_batch(&members, &mut encoded)?;
        let batch_properties = [("WAIT", "true")].into_iter().collect::<MessageProperties>().encode()?;
        (RequestCode::SEND_BATCH_MESSAGE, batch_properties, encoded.freeze())
    };
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
        batch: Some(batch > 1),
        ..SendMessageRequestHeaderV2::default()
    };
    let mut request = RemotingCommand::request(code)
        .with_ext_fields(fields.to_ext_fields())
        .with_body(request_body);
    request.serialize_type = header;
    Ok(request)
}

/// PULL_MESSAGE as a push consumer fills it, with the subscription in the request.
fn pull_request(queue_id: i32, queue_offset: i64, header: SerializeType) -> RemotingCommand {
    let fields = PullMessageRequestHeader {
        consumer_group: PULL_GROUP.into(),
        topic: TOPIC.into(),
        queue_id,
        queue_offset,
        max_msg_nums: PULL_BATCH,
        sys_flag: PULL_SYS_FLAG_SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    };
    let mut request = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(fields.to_ext_fields());
    request.serialize_type = header;
    request
}
