//! `ferrocket bench namesrv`: route lookups per second and memory at scale, our name server
//! beside the official Java one (rocketmq-namesrv 5.3.3).
//!
//! Scale: `brokers` master brokers in one cluster register `topics` topics, each topic on
//! `brokers_per_topic` of them with [`QUEUES_PER_TOPIC`] queues, as 5.3.3 brokers do: JSON
//! `RegisterBrokerBody`, CRC set, one connection kept open (a name server drops the brokers of
//! a closed connection). Then `in_flight` callers over `connections` connections send
//! GET_ROUTEINFO_BY_TOPIC for random topics (a seeded xorshift, the same sequence for both
//! servers) and every answer must be SUCCESS with a route.
//!
//! Our name server runs inside this process, on the same tokio runtime as the load, so its
//! resident memory is read from this process (`VmRSS` of `/proc/self/status`) and includes the
//! client side; the growth across registration is what the route table costs. The Java name
//! server runs as a child JVM (`-Xmx512m`, started only when a classpath is given) whose `VmRSS`
//! is read from `/proc/<pid>/status`. Both servers are driven by the same clients and measured
//! in alternating slices, so a change in the machine's load affects both alike.
//!
//! On a small machine the rate is bounded by CPU shared between client and server, so the bench
//! also reports CPU time per lookup (`utime + stime` of `/proc/<pid>/stat`): of this process
//! during each server's slices, and of the JVM during its own. This process drives the JVM with
//! the same client code it drives ours with, so its CPU per lookup in the Java slices is the
//! client's cost, and the difference in our slices is our server's.

mod java;
mod plan;
pub(crate) mod proc_stats;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::bench_net::percentile;

use anyhow::{Context, bail, ensure};
use ferrocket_namesrv::NamesrvConfig;
use ferrocket_namesrv::server::REQUESTS_QUEUED_MAX;
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{JsonBody, TopicRouteData};
use ferrocket_wire::{RemotingCommand, ResponseCode};
use tokio::task::JoinSet;
use tokio::time::Instant;

use java::JavaNamesrv;
use plan::Plan;
use proc_stats::{add_elapsed, cpu_time, resident_bytes};

/// The target scale: a large production cluster's topic count over a hundred broker sets.
pub const TOPICS: usize = 10_000;
pub const BROKERS: usize = 100;
/// Production topics span a few broker sets, so a route carries several BrokerDatas.
pub const BROKERS_PER_TOPIC: usize = 3;
/// mqadmin `updateTopic`'s default queue count.
pub const QUEUES_PER_TOPIC: i32 = 8;
/// Long enough for a stable rate on a 2-core machine, per server.
pub const DURATION: Duration = Duration::from_secs(5);
/// Lets the JVM compile its hot paths and both servers settle before measuring.
pub const WARMUP: Duration = Duration::from_secs(1);
/// Many clients refreshing routes at once, as after a name-server restart.
pub const IN_FLIGHT: usize = 256;
/// A few client processes' worth of connections.
pub const CONNECTIONS: usize = 4;
pub const SEED: u64 = 0x5EED_0FF3_440C_E700;

/// Bounds that keep a mistyped option from running for hours or exhausting memory. Topics on
/// one broker must also fit one registration frame (checked when the bodies are built).
const TOPICS_MAX: usize = 1_000_000;
const BROKERS_MAX: usize = 1_000;
/// Brokers expire 120 s after their last registration and the bench registers once, so both
/// servers' warm-up and slices must end well within that.
const DURATION_MAX: Duration = Duration::from_secs(45);
const CONNECTIONS_MAX: usize = 64;
/// Below our name server's request queue, so no lookup is refused with SYSTEM_BUSY.
const IN_FLIGHT_MAX: usize = 4_096;
const _: () = assert!(IN_FLIGHT_MAX < REQUESTS_QUEUED_MAX);
/// Slices per server, alternating; more slices even out a machine whose load changes.
const ROUNDS: u32 = 3;
/// Latency samples kept per caller; later lookups are counted but not sampled.
const SAMPLES_PER_CALLER_MAX: usize = 100_000;
/// A loopback request that takes this long means something is broken.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(10);

const OURS_NAME: &str = "ferrocket namesrv";
const JAVA_NAME: &str = "java namesrv 5.3.3";

/// The command line of `ferrocket bench namesrv`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchNamesrvArgs {
    /// Topics in the route table.
    #[arg(long, default_value_t = TOPICS)]
    pub topics: usize,
    /// Brokers registered.
    #[arg(long, default_value_t = BROKERS)]
    pub brokers: usize,
    /// Brokers serving each topic.
    #[arg(long, default_value_t = BROKERS_PER_TOPIC)]
    pub brokers_per_topic: usize,
    /// Measured seconds per server.
    #[arg(long, default_value_t = DURATION.as_secs())]
    pub seconds: u64,
    /// Route lookups in flight at once.
    #[arg(long, default_value_t = IN_FLIGHT)]
    pub in_flight: usize,
    /// Client connections the lookups share.
    #[arg(long, default_value_t = CONNECTIONS)]
    pub connections: usize,
    /// Seed of the topic and lookup choices (the same seed, the same run).
    #[arg(long, default_value_t = SEED)]
    pub seed: u64,
    /// Runtime classpath of org.apache.rocketmq:rocketmq-namesrv:5.3.3 (see
    /// interop/java/namesrv-bench/pom.xml); without it the Java side is skipped.
    #[arg(long)]
    pub java_classpath: Option<String>,
    /// The `java` executable for the Java side.
    #[arg(long, default_value = "java")]
    pub java: PathBuf,
}

impl From<BenchNamesrvArgs> for BenchNamesrvOptions {
    fn from(args: BenchNamesrvArgs) -> BenchNamesrvOptions {
        BenchNamesrvOptions {
            topics: args.topics,
            brokers: args.brokers,
            brokers_per_topic: args.brokers_per_topic,
            duration: Duration::from_secs(args.seconds),
            in_flight: args.in_flight,
            connections: args.connections,
            seed: args.seed,
            java: args.java_classpath.map(|classpath| JavaNamesrvOptions {
                classpath,
                java_bin: args.java,
            }),
            ..BenchNamesrvOptions::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchNamesrvOptions {
    pub topics: usize,
    pub brokers: usize,
    pub brokers_per_topic: usize,
    /// Measured time per server.
    pub duration: Duration,
    pub warmup: Duration,
    /// Concurrent callers, each with one lookup outstanding.
    pub in_flight: usize,
    pub connections: usize,
    pub seed: u64,
    /// `None` skips the Java side.
    pub java: Option<JavaNamesrvOptions>,
}

impl Default for BenchNamesrvOptions {
    fn default() -> BenchNamesrvOptions {
        BenchNamesrvOptions {
            topics: TOPICS,
            brokers: BROKERS,
            brokers_per_topic: BROKERS_PER_TOPIC,
            duration: DURATION,
            warmup: WARMUP,
            in_flight: IN_FLIGHT,
            connections: CONNECTIONS,
            seed: SEED,
            java: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaNamesrvOptions {
    pub classpath: String,
    pub java_bin: PathBuf,
}

/// Resident memory (`VmRSS`, bytes) at three moments; `None` where it cannot be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Server started, nothing registered.
    pub started: Option<u64>,
    pub registered: Option<u64>,
    /// After the lookup load.
    pub loaded: Option<u64>,
}

impl Memory {
    /// What registration added, in bytes (negative if the process shrank).
    pub fn registration_delta(&self) -> Option<i128> {
        Some(i128::from(self.registered?) - i128::from(self.started?))
    }
}

/// The measurements of one name server.
#[derive(Debug, Clone, PartialEq)]
pub struct SideReport {
    pub name: &'static str,
    /// Whose memory [`Memory`] describes.
    pub memory_of: &'static str,
    pub lookups: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Size of one route body (the first topic's), for scale.
    pub route_body_bytes: usize,
    pub memory: Memory,
    /// CPU time of this process during this server's slices; `None` where it cannot be read.
    pub bench_process_cpu: Option<Duration>,
    /// CPU time of the server's own process during its slices; `None` for ours (in-process).
    pub server_process_cpu: Option<Duration>,
}

impl SideReport {
    pub fn per_second(&self) -> f64 {
        self.lookups as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// CPU microseconds per lookup of `cpu`.
    fn micros_per_lookup(&self, cpu: Option<Duration>) -> Option<f64> {
        (self.lookups > 0).then_some(())?;
        Some(cpu?.as_secs_f64() * 1e6 / self.lookups as f64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchNamesrvReport {
    pub options: BenchNamesrvOptions,
    pub ours: SideReport,
    /// `None` when the Java side was skipped.
    pub java: Option<SideReport>,
}

impl BenchNamesrvReport {
    /// Our lookups per second over Java's.
    pub fn ratio(&self) -> Option<f64> {
        let java = self.java.as_ref()?;
        Some(self.ours.per_second() / java.per_second().max(f64::MIN_POSITIVE))
    }

    /// CPU µs per lookup of our server alone: this process's cost in our slices less its cost
    /// (the client's) in Java's.
    pub fn ours_server_micros_per_lookup(&self) -> Option<f64> {
        let client = self
            .java
            .as_ref()?
            .micros_per_lookup(self.java.as_ref()?.bench_process_cpu)?;
        Some(self.ours.micros_per_lookup(self.ours.bench_process_cpu)? - client)
    }

    /// CPU µs per lookup of the Java server (its JVM alone).
    pub fn java_server_micros_per_lookup(&self) -> Option<f64> {
        let java = self.java.as_ref()?;
        java.micros_per_lookup(java.server_process_cpu)
    }
}

impl fmt::Display for BenchNamesrvReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "bench namesrv: {} topics over {} brokers ({} per topic, {QUEUES_PER_TOPIC} queues), GET_ROUTEINFO_BY_TOPIC on random topics, loopback, {} connections, {} in flight, {:.1} s per server in {ROUNDS} alternating slices",
            o.topics,
            o.brokers,
            o.brokers_per_topic,
            o.connections,
            o.in_flight,
            o.duration.as_secs_f64()
        )?;
        let sides: Vec<&SideReport> = [Some(&self.ours), self.java.as_ref()].into_iter().flatten().collect();
        for side in &sides {
            writeln!(
                f,
                "  {:<20} {:>10.0} lookups/s   p50 {:>8.3} ms   p99 {:>8.3} ms   ({} lookups, route body {} B)",
                side.name,
                side.per_second(),
                side.p50.as_secs_f64() * 1e3,
                side.p99.as_secs_f64() * 1e3,
                side.lookups,
                side.route_body_bytes
            )?;
        }
        match self.ratio() {
            Some(ratio) => writeln!(f, "  {:<20} {:>10.2}", "ours / java", ratio)?,
            None => writeln!(
                f,
                "  {JAVA_NAME}: skipped (give --java-classpath; see interop/java/namesrv-bench/pom.xml)"
            )?,
        }
        writeln!(
            f,
            "  VmRSS                  started   registered  after load   registration delta"
        )?;
        for side in &sides {
            let m = &side.memory;
            writeln!(
                f,
                "  {:<20} {:>10} {:>12} {:>11} {:>20}   ({})",
                side.name,
                mebibytes(m.started),
                mebibytes(m.registered),
                mebibytes(m.loaded),
                signed_mebibytes(m.registration_delta()),
                side.memory_of
            )?;
        }
        self.fmt_cpu(f, &sides)
    }
}

impl BenchNamesrvReport {
    fn fmt_cpu(&self, f: &mut fmt::Formatter<'_>, sides: &[&SideReport]) -> fmt::Result {
        writeln!(f, "  CPU per lookup         bench process   server process")?;
        for side in sides {
            writeln!(
                f,
                "  {:<20} {:>15} {:>16}",
                side.name,
                micros(side.micros_per_lookup(side.bench_process_cpu)),
                micros(side.micros_per_lookup(side.server_process_cpu)),
            )?;
        }
        if let (Some(ours), Some(java)) = (
            self.ours_server_micros_per_lookup(),
            self.java_server_micros_per_lookup(),
        ) {
            writeln!(
                f,
                "  server alone: ferrocket {ours:.1} µs (bench process less the client's cost in the Java slices), java {java:.1} µs, ours / java {:.2}",
                ours / java.max(f64::MIN_POSITIVE)
            )?;
        }
        Ok(())
    }
}

fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} µs"))
}

fn mebibytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} MiB", b as f64 / 1_048_576.0))
}

fn signed_mebibytes(bytes: Option<i128>) -> String {
    bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{:+.1} MiB", b as f64 / 1_048_576.0))
}

/// Starts our name server (and the Java one if asked), registers the brokers with each,
/// measures lookups and memory, and stops everything it started.
pub async fn run(options: BenchNamesrvOptions) -> anyhow::Result<BenchNamesrvReport> {
    check_options(&options)?;
    // Built before the first memory reading, so the bench's own data is in every figure alike.
    let plan = Plan::build(&options)?;
    let data_dir = tempfile::Builder::new()
        .prefix("ferrocket-bench-namesrv-")
        .tempdir()
        .context("cannot create a temporary data directory")?;
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let ours = ferrocket_namesrv::start(NamesrvConfig::default(), loopback, data_dir.path(), None).await?;
    let measured = measure_sides(&plan, &options, ours.local_addr()).await;
    ours.shutdown().await;
    let (ours, java) = measured?;
    Ok(BenchNamesrvReport { options, ours, java })
}

fn check_options(options: &BenchNamesrvOptions) -> anyhow::Result<()> {
    ensure!(
        (1..=TOPICS_MAX).contains(&options.topics),
        "topics must be within 1..={TOPICS_MAX}"
    );
    ensure!(
        (1..=BROKERS_MAX).contains(&options.brokers),
        "brokers must be within 1..={BROKERS_MAX}"
    );
    ensure!(
        (1..=options.brokers).contains(&options.brokers_per_topic),
        "brokers per topic must be within 1..=brokers"
    );
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
        (1..=CONNECTIONS_MAX).contains(&options.connections),
        "connections must be within 1..={CONNECTIONS_MAX}"
    );
    Ok(())
}

/// Registers with every server, drives the load, reads memory; returns ours and Java's reports.
async fn measure_sides(
    plan: &Plan,
    options: &BenchNamesrvOptions,
    ours_addr: SocketAddr,
) -> anyhow::Result<(SideReport, Option<SideReport>)> {
    let mut sides = vec![Side::new(
        OURS_NAME,
        "bench process: server and clients",
        ours_addr.to_string(),
        None,
    )];
    let java = match &options.java {
        Some(java_options) => Some(JavaNamesrv::start(java_options).await?),
        None => None,
    };
    if let Some(java) = &java {
        sides.push(Side::new(
            JAVA_NAME,
            "child JVM, -Xmx512m",
            java.addr.clone(),
            Some(java.pid()),
        ));
    }
    // Kept open until the end: a name server drops the brokers of a closed connection.
    let mut registrars = Vec::new();
    let measured = register_and_load(plan, options, &mut sides, &mut registrars).await;
    for (side, registrar) in sides.iter().zip(registrars) {
        side.unregister(&registrar, plan).await;
        registrar.shutdown().await;
    }
    drop(java);
    measured?;
    let mut reports = sides.into_iter().map(Side::report);
    let ours = reports.next().context("our side is always measured")?;
    Ok((ours, reports.next()))
}

async fn register_and_load(
    plan: &Plan,
    options: &BenchNamesrvOptions,
    sides: &mut [Side],
    registrars: &mut Vec<Client>,
) -> anyhow::Result<()> {
    for side in sides.iter_mut() {
        registrars.push(side.register(plan).await?);
    }
    drive_load(plan, options, sides).await
}

/// Checks a route on every server, warms them up, then measures them in alternating slices
/// with the same clients.
async fn drive_load(plan: &Plan, options: &BenchNamesrvOptions, sides: &mut [Side]) -> anyhow::Result<()> {
    let clients: Vec<Client> = (0..options.connections)
        .map(|_| Client::new(Router::new(), ClientConfig::default()))
        .collect();
    let load = Load {
        clients: &clients,
        requests: &plan.lookups,
        in_flight: options.in_flight,
    };
    let outcome = check_and_measure(&load, plan, options, sides).await;
    for client in &clients {
        client.shutdown().await;
    }
    outcome
}

async fn check_and_measure(
    load: &Load<'_>,
    plan: &Plan,
    options: &BenchNamesrvOptions,
    sides: &mut [Side],
) -> anyhow::Result<()> {
    for side in sides.iter_mut() {
        side.check_route(load.clients, plan).await?;
    }
    measure_rounds(load, options, sides).await
}

async fn measure_rounds(load: &Load<'_>, options: &BenchNamesrvOptions, sides: &mut [Side]) -> anyhow::Result<()> {
    for side in sides.iter() {
        load.run(&side.addr, options.warmup, options.seed).await?;
    }
    let slice = options.duration / ROUNDS;
    for round in 0..ROUNDS {
        // The same seed for every server in a round: identical topic sequences.
        let seed = options.seed ^ u64::from(round).wrapping_mul(GOLDEN_GAMMA);
        for side in sides.iter_mut() {
            let before = (cpu_time(None), cpu_time(side.pid));
            side.samples.add(load.run(&side.addr, slice, seed).await?);
            side.bench_process_cpu = add_elapsed(side.bench_process_cpu, before.0, cpu_time(None));
            if side.pid.is_some() {
                side.server_process_cpu = add_elapsed(side.server_process_cpu, before.1, cpu_time(side.pid));
            }
        }
    }
    for side in sides.iter_mut() {
        side.memory.loaded = resident_bytes(side.pid);
    }
    Ok(())
}

/// One name server under test.
struct Side {
    name: &'static str,
    memory_of: &'static str,
    addr: String,
    /// `None`: this process.
    pid: Option<u32>,
    samples: Samples,
    memory: Memory,
    route_body_bytes: usize,
    bench_process_cpu: Option<Duration>,
    server_process_cpu: Option<Duration>,
}

impl Side {
    fn new(name: &'static str, memory_of: &'static str, addr: String, pid: Option<u32>) -> Side {
        Side {
            name,
            memory_of,
            addr,
            pid,
            samples: Samples::default(),
            memory: Memory::default(),
            route_body_bytes: 0,
            bench_process_cpu: Some(Duration::ZERO),
            server_process_cpu: pid.map(|_| Duration::ZERO),
        }
    }

    /// Registers every broker over one new connection, reading memory before and after; the
    /// returned client holds that connection.
    async fn register(&mut self, plan: &Plan) -> anyhow::Result<Client> {
        self.memory.started = resident_bytes(self.pid);
        let registrar = Client::new(Router::new(), ClientConfig::default());
        for request in &plan.registrations {
            let response = registrar.invoke(&self.addr, request.clone(), INVOKE_TIMEOUT).await?;
            if response.response_code() != ResponseCode::SUCCESS {
                bail!(
                    "{} refused REGISTER_BROKER of {}: code {} ({})",
                    self.name,
                    request.ext("brokerName").unwrap_or("?"),
                    response.code,
                    response.remark.as_deref().unwrap_or("")
                );
            }
        }
        self.memory.registered = resident_bytes(self.pid);
        Ok(registrar)
    }

    /// Unregisters every broker, so that closing the connection drops nothing (and logs nothing).
    /// Best effort: the measurement is done, and a name server left with brokers is stopped anyway.
    async fn unregister(&self, registrar: &Client, plan: &Plan) {
        for request in &plan.unregistrations {
            if registrar
                .invoke(&self.addr, request.clone(), INVOKE_TIMEOUT)
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Looks up the first topic and checks the route has every broker and queue it should.
    async fn check_route(&mut self, clients: &[Client], plan: &Plan) -> anyhow::Result<()> {
        let (client, request) = clients
            .first()
            .zip(plan.lookups.first())
            .context("nothing to look up")?;
        let response = client.invoke(&self.addr, request.clone(), INVOKE_TIMEOUT).await?;
        let body = route_body(&self.addr, request, &response)?;
        let route = TopicRouteData::decode(body).with_context(|| format!("{}: bad route body", self.name))?;
        let queues_ok = route
            .queue_datas
            .iter()
            .all(|queue| queue.write_queue_nums == QUEUES_PER_TOPIC && queue.read_queue_nums == QUEUES_PER_TOPIC);
        ensure!(
            route.broker_datas.len() == plan.brokers_per_topic
                && route.queue_datas.len() == plan.brokers_per_topic
                && queues_ok,
            "{}: route of {} has {} brokers and queues {:?}, want {} brokers of {QUEUES_PER_TOPIC} queues",
            self.name,
            request.ext("topic").unwrap_or("?"),
            route.broker_datas.len(),
            route.queue_datas,
            plan.brokers_per_topic
        );
        self.route_body_bytes = body.len();
        Ok(())
    }

    fn report(self) -> SideReport {
        let mut latencies_us = self.samples.latencies_us;
        latencies_us.sort_unstable();
        SideReport {
            name: self.name,
            memory_of: self.memory_of,
            lookups: self.samples.lookups,
            elapsed: self.samples.elapsed,
            p50: percentile(&latencies_us, 50),
            p99: percentile(&latencies_us, 99),
            route_body_bytes: self.route_body_bytes,
            memory: self.memory,
            bench_process_cpu: self.bench_process_cpu,
            server_process_cpu: self.server_process_cpu,
        }
    }
}

/// The route body of a lookup's response, or why there is none.
fn route_body<'a>(addr: &str, request: &RemotingCommand, response: &'a RemotingCommand) -> anyhow::Result<&'a [u8]> {
    if response.response_code() != ResponseCode::SUCCESS {
        bail!(
            "{addr} answered the lookup of {} with code {} ({})",
            request.ext("topic").unwrap_or("?"),
            response.code,
            response.remark.as_deref().unwrap_or("")
        );
    }
    response
        .body
        .as_deref()
        .with_context(|| format!("{addr} answered SUCCESS without a route body"))
}

/// `in_flight` callers spread over the clients, each looking up random topics in a loop.
struct Load<'a> {
    clients: &'a [Client],
    requests: &'a Arc<Vec<RemotingCommand>>,
    in_flight: usize,
}

impl Load<'_> {
    async fn run(&self, addr: &str, duration: Duration, seed: u64) -> anyhow::Result<Samples> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut callers = JoinSet::new();
        for (caller, client) in (0..self.in_flight).zip(self.clients.iter().cycle()) {
            let (client, addr, requests) = (client.clone(), addr.to_owned(), Arc::clone(self.requests));
            let mut rng = XorShift::new(seed ^ (caller as u64).wrapping_mul(GOLDEN_GAMMA));
            callers.spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < deadline {
                    let Some(request) = requests.get(rng.below(requests.len())) else {
                        bail!("no lookup requests");
                    };
                    let sent = Instant::now();
                    let response = client.invoke(&addr, request.clone(), INVOKE_TIMEOUT).await?;
                    route_body(&addr, request, &response)?;
                    samples.record(sent.elapsed());
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
}

#[derive(Default)]
struct Samples {
    lookups: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Samples {
    fn record(&mut self, latency: Duration) {
        self.lookups += 1;
        if self.latencies_us.len() < SAMPLES_PER_CALLER_MAX {
            self.latencies_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
    }

    fn add(&mut self, more: Samples) {
        self.lookups += more.lookups;
        self.elapsed += more.elapsed;
        self.latencies_us.extend(more.latencies_us);
    }
}

/// 2^64 / φ: spreads consecutive seeds over the whole state space.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Marsaglia's xorshift64: plenty for picking topics, and no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // Zero is the one state xorshift never leaves.
        XorShift(if seed == 0 { GOLDEN_GAMMA } else { seed })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n` for `n` far below 2^64; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        match u64::try_from(n) {
            Ok(n) if n > 0 => usize::try_from(self.next() % n).unwrap_or(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn small_options() -> BenchNamesrvOptions {
        BenchNamesrvOptions {
            topics: 200,
            brokers: 10,
            brokers_per_topic: 3,
            duration: Duration::from_millis(300),
            warmup: Duration::from_millis(50),
            in_flight: 16,
            connections: 2,
            ..BenchNamesrvOptions::default()
        }
    }

    #[test]
    fn xorshift_is_deterministic_and_in_range() {
        let (mut a, mut b) = (XorShift::new(7), XorShift::new(7));
        for _ in 0..1000 {
            let pick = a.below(10);
            assert_eq!(pick, b.below(10));
            assert!(pick < 10);
        }
        assert_eq!(XorShift::new(0).below(0), 0);
    }

    #[test]
    fn options_are_bounded() {
        for bad in [
            BenchNamesrvOptions {
                topics: 0,
                ..small_options()
            },
            BenchNamesrvOptions {
                brokers_per_topic: 11,
                ..small_options()
            },
            BenchNamesrvOptions {
                duration: Duration::from_secs(3600),
                ..small_options()
            },
            BenchNamesrvOptions {
                in_flight: IN_FLIGHT_MAX + 1,
                ..small_options()
            },
        ] {
            assert!(check_options(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_our_name_server() {
        let report = run(small_options()).await.unwrap();
        assert!(report.ours.lookups > 0);
        assert!(report.ours.route_body_bytes > 0);
        assert!(report.java.is_none());
        assert!(report.ours.bench_process_cpu.is_some() && report.ours.server_process_cpu.is_none());
        assert!(resident_bytes(None).is_some_and(|bytes| bytes > 0));
        let text = report.to_string();
        assert!(text.contains("ferrocket namesrv") && text.contains("skipped"), "{text}");
    }
}
