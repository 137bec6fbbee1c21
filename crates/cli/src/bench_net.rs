//! `ferrocket bench net`: loopback round trips per second, our server beside a bare tokio echo.
//!
//! Both servers run in this process on 127.0.0.1 and both are driven by our [`Client`] over one
//! connection with `in_flight` callers looping on `invoke`, so the client's cost is the same on
//! both sides and the ratio measures our server's overhead (decode, dispatch, handler task,
//! encode, writer queue) against the least a tokio server can do: the bare echo cuts frames by
//! their length prefix and flips the response bit of the ROCKETMQ binary header in place.
//!
//! ```text
//! offset  0      4                8         10     11        13       17      21
//!         length serialize word   code      lang   version   opaque   flag    ...
//!                (type 1)                                             ^ byte 20, bit 0 = response
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::{Bytes, BytesMut};
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router, Server, ServerConfig};
use ferrocket_wire::command::{FLAG_RESPONSE, frame_content_length};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Long enough for a stable rate on a 2-core machine, short enough to run in CI by hand.
pub const DURATION: Duration = Duration::from_secs(3);
/// Lets connections, buffers and the allocator settle before measuring.
pub const WARMUP: Duration = Duration::from_millis(500);
/// Many requests in flight on one connection, as a busy producer pipelines sends.
pub const IN_FLIGHT: usize = 256;
/// A small message, where per-request overhead dominates.
pub const BODY_BYTES: usize = 128;

/// Bounds that keep a mistyped option from running for hours or exhausting memory.
const DURATION_MAX: Duration = Duration::from_secs(600);
const IN_FLIGHT_MAX: usize = ferrocket_net::config::AWAITING_RESPONSES_PER_CONNECTION_MAX;
/// Java's message body limit.
const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Slices per server, alternating; more slices even out a machine whose load changes.
const ROUNDS: u32 = 3;
/// Latency samples kept per caller; later round trips are counted but not sampled.
const SAMPLES_PER_CALLER_MAX: usize = 100_000;
/// A loopback round trip that takes this long means something is broken.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the bare echo finds the low byte of the binary header's `flag` (see the diagram).
const FLAG_LOW_BYTE_OFFSET: usize = 20;
const ECHO_CODE: RequestCode = RequestCode::SEND_MESSAGE_V2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchNetOptions {
    /// Measured time per server.
    pub duration: Duration,
    pub warmup: Duration,
    /// Concurrent callers, each with one request outstanding.
    pub in_flight: usize,
    pub body_bytes: usize,
}

impl Default for BenchNetOptions {
    fn default() -> BenchNetOptions {
        BenchNetOptions {
            duration: DURATION,
            warmup: WARMUP,
            in_flight: IN_FLIGHT,
            body_bytes: BODY_BYTES,
        }
    }
}

/// The measurements of one server.
#[derive(Debug, Clone, PartialEq)]
pub struct SideReport {
    pub name: &'static str,
    pub round_trips: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl SideReport {
    pub fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchNetReport {
    pub options: BenchNetOptions,
    pub ours: SideReport,
    pub bare: SideReport,
}

impl BenchNetReport {
    /// Our round trips per second over the bare echo's.
    pub fn ratio(&self) -> f64 {
        self.ours.per_second() / self.bare.per_second().max(f64::MIN_POSITIVE)
    }
}

impl fmt::Display for BenchNetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "bench net: loopback, one connection each, {} in flight, {} B body, binary header, {:.1} s per server in {ROUNDS} alternating slices",
            o.in_flight,
            o.body_bytes,
            o.duration.as_secs_f64()
        )?;
        for side in [&self.ours, &self.bare] {
            writeln!(
                f,
                "  {:<18} {:>10.0} round trips/s   p50 {:>8.3} ms   p99 {:>8.3} ms   ({} round trips)",
                side.name,
                side.per_second(),
                side.p50.as_secs_f64() * 1e3,
                side.p99.as_secs_f64() * 1e3,
                side.round_trips
            )?;
        }
        write!(f, "  {:<18} {:>10.2}", "ours / bare", self.ratio())
    }
}

/// Runs both servers side by side, alternating between them in [`ROUNDS`] slices so that a
/// change in the machine's load affects both alike, and reports.
pub async fn run(options: BenchNetOptions) -> anyhow::Result<BenchNetReport> {
    ensure!(
        options.duration > Duration::ZERO && options.duration <= DURATION_MAX,
        "duration must be within (0, {DURATION_MAX:?}]"
    );
    ensure!(
        options.warmup <= DURATION_MAX,
        "warmup must be at most {DURATION_MAX:?}"
    );
    ensure!(
        (1..=IN_FLIGHT_MAX).contains(&options.in_flight),
        "in-flight must be within 1..={IN_FLIGHT_MAX}"
    );
    ensure!(
        options.body_bytes <= BODY_BYTES_MAX,
        "body must be at most {BODY_BYTES_MAX} bytes"
    );
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let router = Router::new().route(ECHO_CODE, echo);
    let server = Server::bind(loopback, router, ServerConfig::default()).await?;
    let bare_echo = BareEcho::start(loopback).await?;
    let measured = measure_both(server.local_addr(), bare_echo.addr, &options).await;
    server.shutdown().await;
    bare_echo.stop();
    let (ours, bare) = measured?;
    Ok(BenchNetReport {
        ours: ours.report("ferrocket server"),
        bare: bare.report("bare tokio echo"),
        options,
    })
}

async fn measure_both(
    ours: SocketAddr,
    bare: SocketAddr,
    options: &BenchNetOptions,
) -> anyhow::Result<(Samples, Samples)> {
    let request = bench_request(options.body_bytes);
    let client = Client::new(Router::new(), ClientConfig::default());
    let (ours, bare) = (ours.to_string(), bare.to_string());
    load(&client, &ours, &request, options.in_flight, options.warmup).await?;
    load(&client, &bare, &request, options.in_flight, options.warmup).await?;
    let slice = options.duration / ROUNDS;
    let (mut ours_total, mut bare_total) = (Samples::default(), Samples::default());
    for _ in 0..ROUNDS {
        ours_total.add(load(&client, &ours, &request, options.in_flight, slice).await?);
        bare_total.add(load(&client, &bare, &request, options.in_flight, slice).await?);
    }
    client.shutdown().await;
    Ok((ours_total, bare_total))
}

/// The same bytes back, as a response: the router fills in opaque and the response flag.
async fn echo(request: RemotingCommand, _: ConnectionHandle) -> Option<RemotingCommand> {
    Some(request)
}

/// A send-like request: a few header fields and a body, in the binary header encoding.
fn bench_request(body_bytes: usize) -> RemotingCommand {
    let mut fields = ExtFields::new();
    fields.insert("a", "bench_producer_group");
    fields.insert("b", "BenchTopic");
    fields.insert("e", "0");
    fields.insert("n", "broker-a");
    let mut request = RemotingCommand::request(ECHO_CODE)
        .with_ext_fields(fields)
        .with_body(Bytes::from(vec![b'x'; body_bytes]));
    request.serialize_type = SerializeType::RocketMq;
    request
}

#[derive(Default)]
struct Samples {
    round_trips: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Samples {
    fn add(&mut self, more: Samples) {
        self.round_trips += more.round_trips;
        self.elapsed += more.elapsed;
        self.latencies_us.extend(more.latencies_us);
    }

    fn report(mut self, name: &'static str) -> SideReport {
        self.latencies_us.sort_unstable();
        SideReport {
            name,
            round_trips: self.round_trips,
            elapsed: self.elapsed,
            p50: percentile(&self.latencies_us, 50),
            p99: percentile(&self.latencies_us, 99),
        }
    }
}

/// `in_flight` callers, each invoking in a loop until `duration` has passed.
async fn load(
    client: &Client,
    addr: &str,
    request: &RemotingCommand,
    in_flight: usize,
    duration: Duration,
) -> anyhow::Result<Samples> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut callers = JoinSet::new();
    for _ in 0..in_flight {
        let (client, addr, request) = (client.clone(), addr.to_owned(), request.clone());
        callers.spawn(async move {
            let mut samples = Samples::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = client.invoke(&addr, request.clone(), INVOKE_TIMEOUT).await?;
                if !response.is_response() {
                    bail!("{addr} answered with a request (code {})", response.code);
                }
                samples.round_trips += 1;
                if samples.latencies_us.len() < SAMPLES_PER_CALLER_MAX {
                    let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                    samples.latencies_us.push(micros);
                }
            }
            anyhow::Ok(samples)
        });
    }
    let mut total = Samples::default();
    while let Some(joined) = callers.join_next().await {
        total.add(joined.context("bench caller failed")??);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// The `pct`th percentile of latencies sorted ascending, in microseconds; zero when empty.
pub(crate) fn percentile(sorted_us: &[u32], pct: usize) -> Duration {
    let index = (sorted_us.len() * pct / 100).min(sorted_us.len().saturating_sub(1));
    Duration::from_micros(sorted_us.get(index).copied().map_or(0, u64::from))
}

/// The baseline: a tokio server that echoes frames with the response bit set, decoding nothing.
struct BareEcho {
    addr: SocketAddr,
    accepting: JoinHandle<()>,
}

impl BareEcho {
    async fn start(addr: SocketAddr) -> anyhow::Result<BareEcho> {
        let listener = TcpListener::bind(addr).await.context("bare echo cannot listen")?;
        let addr = listener.local_addr()?;
        let accepting = tokio::spawn(async move {
            // Owned here, so aborting the accept task aborts the connections too.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(bare_echo_connection(stream));
            }
        });
        Ok(BareEcho { addr, accepting })
    }

    fn stop(self) {
        self.accepting.abort();
    }
}

async fn bare_echo_connection(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut inbound = BytesMut::with_capacity(64 * 1024);
    let mut outbound = BytesMut::with_capacity(64 * 1024);
    loop {
        if stream.read_buf(&mut inbound).await? == 0 {
            return Ok(());
        }
        while let Some(prefix) = inbound.first_chunk::<4>() {
            let Ok(content_len) = frame_content_length(*prefix) else {
                return Ok(());
            };
            if inbound.len() < 4 + content_len {
                inbound.reserve(4 + content_len - inbound.len());
                break;
            }
            let mut frame = inbound.split_to(4 + content_len);
            if let Some(flag) = frame.get_mut(FLAG_LOW_BYTE_OFFSET) {
                *flag |= FLAG_RESPONSE as u8;
            }
            outbound.extend_from_slice(&frame);
        }
        stream.write_all(&outbound).await?;
        outbound.clear();
    }
}
