//! `ferrocket bench broker`: sends per second, latency, broker CPU per message and memory of our
//! broker beside the official Java 5.3.3 broker and a do-nothing responder, in one run on this
//! machine, driven by the same native load generator (issue 13's measurement).
//!
//! Each side is a child process (`sides`), so its CPU time (utime + stime from `/proc`) over a
//! slice, divided by the sends it acknowledged, is its CPU per message; the do-nothing responder
//! (`ferrocket bench responder`: our transport answering every send with a canned SUCCESS) is
//! the ceiling a broker's cost is read against. Loads (`load`) are single sends (SEND_MESSAGE_V2),
//! batch sends (SEND_BATCH_MESSAGE) and then pulls through the backlog the sends left, one
//! request in flight per connection, for each header encoding, body size and connection count;
//! the sides take turns in `rounds` slices (A B C A B C), so a change in the machine's load falls
//! on all alike. The responder answers sends only, so pull loads run on the brokers. Ratios, not
//! absolute numbers, are the result.

mod load;
mod official;
mod sides;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use ferrocket_net::{ConnectionHandle, Router, Server, ServerConfig, ServerTls, TlsSettings};
use ferrocket_wire::header::{CustomHeader, SendMessageResponseHeader};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

use crate::bench_namesrv::proc_stats::{cpu_time, resident_anon_bytes, resident_bytes};
use load::{Load, LoadKind, Measured};
pub use official::OfficialProducer;
use official::OfficialRun;
use sides::{Launch, Side, SideKind};

/// Measured time per side, load and round.
pub const SLICE: Duration = Duration::from_secs(4);
/// Turns each side takes per load.
pub const ROUNDS: u32 = 2;
/// Lets each side create the topic, warm its JIT or caches and settle.
const WARMUP: Duration = Duration::from_secs(5);
/// Bounds that keep a mistyped option from running for hours or exhausting memory.
const SLICE_MAX: Duration = Duration::from_secs(300);
const ROUNDS_MAX: u32 = 20;
const CONNECTIONS_MAX: usize = 1_024;
/// Java's default `maxMessageSize`.
const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Java's client refuses a batch over its `maxMessageSize` (4 MiB) anyway.
const BATCH_MEMBERS_MAX: usize = 1_024;

#[derive(Debug, Clone)]
pub struct BenchBrokerOptions {
    pub slice: Duration,
    pub rounds: u32,
    pub connections: Vec<usize>,
    pub body_bytes: Vec<usize>,
    pub headers: Vec<SerializeType>,
    /// Messages per send: 1 is SEND_MESSAGE_V2, more is SEND_BATCH_MESSAGE.
    pub batches: Vec<usize>,
    /// After the sends, pull loops through the backlog they left.
    pub pulls: bool,
    /// Single sends at these fixed total rates (msgs/s), for latency at a load all sides carry.
    pub paced_rates: Vec<u32>,
    pub ferrocket_bin: PathBuf,
    pub java_bin: PathBuf,
    /// The runtime classpath of rocketmq-broker and rocketmq-namesrv 5.3.3; `None` skips Java.
    pub java_classpath: Option<String>,
    /// Every side in TLS enforcing mode with its test-mode certificate; the load over TLS.
    pub tls: bool,
    /// 5.x auth on in both brokers with a super user, every load request signed as it.
    pub acl: bool,
    /// The official benchmark Producer, run against each broker after the native loads.
    pub official: Option<OfficialProducer>,
    /// Its `-w` thread counts and messages per run.
    pub official_threads: Vec<usize>,
    pub official_messages: u64,
    /// With the official tools: a backlog of this many 128 B messages sent to each broker by the
    /// official Producer, then caught up by the official Consumer once per round (0: off).
    pub official_backlog: u64,
    /// Extra `key=value` lines for our broker's broker.conf.
    pub ferrocket_conf: Vec<String>,
}

/// One broker under one official Producer shape, over all rounds.
#[derive(Debug, Clone)]
pub struct OfficialFigures {
    pub kind: SideKind,
    /// The mean of the runs' send TPS.
    pub tps: f64,
    pub average_rt_ms: f64,
    pub cpu_per_message: Option<Duration>,
}

/// One broker catching up the backlog with the official Consumer, over all rounds.
#[derive(Debug, Clone)]
pub struct CatchUpFigures {
    pub kind: SideKind,
    /// The mean of the runs' peak `Consume TPS`.
    pub peak_tps: f64,
    pub drained_after: Duration,
    /// Broker CPU over the runs per message consumed (the backlog once per run).
    pub cpu_per_message: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct OfficialReport {
    pub threads: usize,
    pub body_bytes: usize,
    pub sides: Vec<OfficialFigures>,
}

/// One side under one load.
#[derive(Debug, Clone)]
pub struct SideFigures {
    pub kind: SideKind,
    /// Messages per second.
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    /// Broker CPU per message acknowledged or pulled; `None` where `/proc` could not be read.
    pub cpu_per_message: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct LoadReport {
    pub load: Load,
    pub sides: Vec<SideFigures>,
}

#[derive(Debug, Clone)]
pub struct BenchBrokerReport {
    pub options: BenchBrokerOptions,
    pub loads: Vec<LoadReport>,
    pub official: Vec<OfficialReport>,
    pub catch_up: Vec<CatchUpFigures>,
    /// Resident memory of each side's measured process after all loads: all of it, and the
    /// anonymous part (without the mapped file pages that are page cache).
    pub resident: Vec<(SideKind, Option<u64>, Option<u64>)>,
}

/// Starts every side, warms each up, then runs every load on each in turn.
pub async fn run(options: BenchBrokerOptions) -> anyhow::Result<BenchBrokerReport> {
    ensure!(
        options.slice > Duration::ZERO && options.slice <= SLICE_MAX,
        "slice must be within (0, {SLICE_MAX:?}]"
    );
    ensure!(
        (1..=ROUNDS_MAX).contains(&options.rounds),
        "rounds must be within 1..={ROUNDS_MAX}"
    );
    ensure!(
        options.connections.iter().all(|c| (1..=CONNECTIONS_MAX).contains(c)),
        "connections must be within 1..={CONNECTIONS_MAX}"
    );
    ensure!(
        options.body_bytes.iter().all(|b| *b <= BODY_BYTES_MAX),
        "bodies must be at most {BODY_BYTES_MAX} bytes"
    );
    ensure!(
        options.paced_rates.iter().all(|r| *r > 0),
        "paced rates must be above 0 msgs/s"
    );
    ensure!(
        options.batches.iter().all(|b| (1..=BATCH_MEMBERS_MAX).contains(b)),
        "batches must be within 1..={BATCH_MEMBERS_MAX} messages"
    );
    let launch = Launch {
        ferrocket_bin: options.ferrocket_bin.clone(),
        java_bin: options.java_bin.clone(),
        java_classpath: options.java_classpath.clone(),
        tls: options.tls,
        acl: options.acl,
        ferrocket_conf: options.ferrocket_conf.clone(),
    };
    let mut kinds = vec![SideKind::Responder, SideKind::Ferrocket];
    if options.java_classpath.is_some() {
        kinds.push(SideKind::Java);
    }
    let mut sides = Vec::new();
    for kind in kinds {
        let side = Side::start(kind, &launch).await?;
        let warmup = Load {
            kind: LoadKind::Send { batch: 1 },
            connections: options.connections.iter().copied().max().unwrap_or(1),
            body_bytes: 128,
            header: SerializeType::Json,
            tls: options.tls,
            acl: options.acl,
        };
        load::run(&side.broker_addr, warmup, WARMUP)
            .await
            .with_context(|| format!("warming up {}", kind.name()))?;
        sides.push(side);
    }
    let mut kinds: Vec<LoadKind> = options.batches.iter().map(|&batch| LoadKind::Send { batch }).collect();
    kinds.extend(
        options
            .paced_rates
            .iter()
            .map(|&per_second| LoadKind::Paced { per_second }),
    );
    if options.pulls {
        kinds.push(LoadKind::Pull);
    }
    let mut loads = Vec::new();
    for kind in kinds {
        for &header in &options.headers {
            for &body_bytes in &options.body_bytes {
                for &connections in &options.connections {
                    let load = Load {
                        kind,
                        connections,
                        body_bytes,
                        header,
                        tls: options.tls,
                        acl: options.acl,
                    };
                    // The responder has no messages to give.
                    let driven: Vec<&Side> = sides
                        .iter()
                        .filter(|side| kind != LoadKind::Pull || side.kind != SideKind::Responder)
                        .collect();
                    loads.push(measure_load(&driven, load, &options).await?);
                }
            }
        }
    }
    let mut official = Vec::new();
    if let Some(producer) = &options.official {
        let brokers: Vec<&Side> = sides.iter().filter(|s| s.kind != SideKind::Responder).collect();
        for &body_bytes in &options.body_bytes {
            for &threads in &options.official_threads {
                official.push(measure_official(producer, &brokers, threads, body_bytes, &options).await?);
            }
        }
    }
    let mut catch_up = Vec::new();
    if let Some(producer) = options.official.as_ref().filter(|_| options.official_backlog > 0) {
        let brokers: Vec<&Side> = sides.iter().filter(|s| s.kind != SideKind::Responder).collect();
        catch_up = measure_catch_up(producer, &brokers, &options).await?;
    }
    let resident = sides
        .iter()
        .map(|s| {
            (
                s.kind,
                resident_bytes(Some(s.pid())),
                resident_anon_bytes(Some(s.pid())),
            )
        })
        .collect();
    Ok(BenchBrokerReport {
        options,
        loads,
        official,
        catch_up,
        resident,
    })
}

async fn measure_load(sides: &[&Side], load: Load, options: &BenchBrokerOptions) -> anyhow::Result<LoadReport> {
    let mut totals: Vec<(Measured, Option<Duration>)> = sides
        .iter()
        .map(|_| (Measured::default(), Some(Duration::ZERO)))
        .collect();
    for _ in 0..options.rounds {
        for (side, (measured, cpu)) in sides.iter().zip(totals.iter_mut()) {
            let before = cpu_time(Some(side.pid()));
            let slice = load::run(&side.broker_addr, load, options.slice)
                .await
                .with_context(|| format!("{} under {load:?}", side.kind.name()))?;
            let after = cpu_time(Some(side.pid()));
            *cpu = add_cpu(*cpu, before, after);
            measured.add(slice);
        }
    }
    let sides = sides
        .iter()
        .zip(totals)
        .map(|(side, (mut measured, cpu))| SideFigures {
            kind: side.kind,
            per_second: measured.per_second(),
            p50: measured.quantile(0.50),
            p99: measured.quantile(0.99),
            p999: measured.quantile(0.999),
            cpu_per_message: cpu.and_then(|cpu| {
                let messages = u32::try_from(measured.messages).ok().filter(|n| *n > 0)?;
                Some(cpu / messages)
            }),
        })
        .collect();
    Ok(LoadReport { load, sides })
}

/// The official Producer against each broker in turn, `rounds` times.
async fn measure_official(
    producer: &OfficialProducer,
    brokers: &[&Side],
    threads: usize,
    body_bytes: usize,
    options: &BenchBrokerOptions,
) -> anyhow::Result<OfficialReport> {
    let work = tempfile::Builder::new().prefix("ferrocket-bench-official-").tempdir()?;
    let mut runs: Vec<(Vec<OfficialRun>, Option<Duration>)> =
        brokers.iter().map(|_| (Vec::new(), Some(Duration::ZERO))).collect();
    for _ in 0..options.rounds {
        for (side, (done, cpu)) in brokers.iter().zip(runs.iter_mut()) {
            let before = cpu_time(Some(side.pid()));
            let run = producer
                .run(
                    side,
                    load::TOPIC,
                    threads,
                    body_bytes,
                    options.official_messages,
                    work.path(),
                )
                .await
                .with_context(|| {
                    format!(
                        "official producer -w {threads} -s {body_bytes} against {}",
                        side.kind.name()
                    )
                })?;
            ensure!(
                run.failed == 0,
                "official producer -w {threads} -s {body_bytes} against {}: {} sends failed",
                side.kind.name(),
                run.failed
            );
            let after = cpu_time(Some(side.pid()));
            *cpu = add_cpu(*cpu, before, after);
            done.push(run);
        }
    }
    let sides = brokers
        .iter()
        .zip(runs)
        .map(|(side, (done, cpu))| {
            let count = done.len().max(1) as f64;
            let sent: u64 = done.iter().map(|r| r.sent).sum();
            OfficialFigures {
                kind: side.kind,
                tps: done.iter().map(|r| r.tps).sum::<f64>() / count,
                average_rt_ms: done.iter().map(|r| r.average_rt_ms).sum::<f64>() / count,
                cpu_per_message: cpu.and_then(|cpu| Some(cpu / u32::try_from(sent).ok().filter(|n| *n > 0)?)),
            }
        })
        .collect();
    Ok(OfficialReport {
        threads,
        body_bytes,
        sides,
    })
}

/// The topic the catch-up backlog is written to (apart from the loads' topic, so every broker's
/// backlog is the same size).
const CATCH_UP_TOPIC: &str = "FerrocketBenchBacklog";

/// Fills each broker's backlog with the official Producer (`-w 64 -s 128`), then lets a fresh
/// group of the official Consumer catch it up, brokers in turn, `rounds` times.
async fn measure_catch_up(
    tools: &OfficialProducer,
    brokers: &[&Side],
    options: &BenchBrokerOptions,
) -> anyhow::Result<Vec<CatchUpFigures>> {
    let work = tempfile::Builder::new().prefix("ferrocket-bench-catch-up-").tempdir()?;
    let mut backlogs = Vec::new();
    for side in brokers {
        let filled = tools
            .run(side, CATCH_UP_TOPIC, 64, 128, options.official_backlog, work.path())
            .await
            .with_context(|| format!("filling the backlog of {}", side.kind.name()))?;
        // A busy machine times out the odd send; more than 1 % would make the backlogs unequal.
        ensure!(
            filled.failed.saturating_mul(100) <= filled.sent,
            "filling the backlog of {}: {} of {} sends failed",
            side.kind.name(),
            filled.failed,
            filled.sent
        );
        backlogs.push(filled.sent - filled.failed);
    }
    let mut runs: Vec<(Vec<official::CatchUp>, Option<Duration>)> =
        brokers.iter().map(|_| (Vec::new(), Some(Duration::ZERO))).collect();
    for round in 0..options.rounds {
        for (side, (done, cpu)) in brokers.iter().zip(runs.iter_mut()) {
            let before = cpu_time(Some(side.pid()));
            let group = format!("bench_catch_up_{round}");
            let run = tools
                .catch_up(side, CATCH_UP_TOPIC, &group, work.path())
                .await
                .with_context(|| format!("official consumer against {}", side.kind.name()))?;
            let after = cpu_time(Some(side.pid()));
            *cpu = add_cpu(*cpu, before, after);
            done.push(run);
        }
    }
    Ok(brokers
        .iter()
        .zip(runs)
        .zip(backlogs)
        .map(|((side, (done, cpu)), backlog)| {
            let consumed = backlog.saturating_mul(u64::from(options.rounds));
            let count = done.len().max(1) as f64;
            CatchUpFigures {
                kind: side.kind,
                peak_tps: done.iter().map(|r| r.peak_tps as f64).sum::<f64>() / count,
                drained_after: done.iter().map(|r| r.drained_after).sum::<Duration>().div_f64(count),
                cpu_per_message: cpu.and_then(|cpu| Some(cpu / u32::try_from(consumed).ok().filter(|n| *n > 0)?)),
            }
        })
        .collect())
}

/// `total` plus the CPU a side used between two readings; `None` once any reading failed.
fn add_cpu(total: Option<Duration>, before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(total? + after?.checked_sub(before?)?)
}

impl LoadReport {
    fn side(&self, kind: SideKind) -> Option<&SideFigures> {
        self.sides.iter().find(|s| s.kind == kind)
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".to_owned()
    }
}

fn micros(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.1}", d.as_secs_f64() * 1e6))
}

impl fmt::Display for BenchBrokerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "bench broker: one request in flight per connection, {:.1} s x {} rounds per side and load, sides in turn{}",
            o.slice.as_secs_f64(),
            o.rounds,
            if o.tls {
                ", TLS (enforcing mode, test-mode certificates)"
            } else {
                ""
            }
        )?;
        if o.acl {
            writeln!(
                f,
                "ACL: 5.x auth on in both brokers, every request signed (AccessKey/Signature) as a super user"
            )?;
        }
        for report in &self.loads {
            let l = report.load;
            let what = match l.kind {
                LoadKind::Send { batch: 1 } => "SEND_MESSAGE_V2".to_owned(),
                LoadKind::Send { batch } => format!("SEND_BATCH_MESSAGE of {batch}"),
                LoadKind::Pull => "PULL_MESSAGE of up to 32 from the backlog".to_owned(),
                LoadKind::Paced { per_second } => format!("SEND_MESSAGE_V2 paced at {per_second} msgs/s in all"),
            };
            writeln!(
                f,
                "\n{what}, {:?} header, {} B body, {} connections",
                l.header, l.body_bytes, l.connections
            )?;
            writeln!(
                f,
                "  {:<22} {:>10} {:>9} {:>9} {:>9} {:>12}",
                "side", "msgs/s", "p50 ms", "p99 ms", "p999 ms", "CPU us/msg"
            )?;
            for side in &report.sides {
                writeln!(
                    f,
                    "  {:<22} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>12}",
                    side.kind.name(),
                    side.per_second,
                    side.p50.as_secs_f64() * 1e3,
                    side.p99.as_secs_f64() * 1e3,
                    side.p999.as_secs_f64() * 1e3,
                    micros(side.cpu_per_message)
                )?;
            }
            let ours = report.side(SideKind::Ferrocket);
            let cpu = |s: Option<&SideFigures>| s.and_then(|s| s.cpu_per_message).map_or(0.0, |d| d.as_secs_f64());
            let rate = |s: Option<&SideFigures>| s.map_or(0.0, |s| s.per_second);
            let responder = report.side(SideKind::Responder);
            let java = report.side(SideKind::Java);
            writeln!(
                f,
                "  ratios: msgs/s ours/java {}, ours/responder {}; CPU/msg ours/java {}, ours/responder {}",
                ratio(rate(ours), rate(java)),
                ratio(rate(ours), rate(responder)),
                ratio(cpu(ours), cpu(java)),
                ratio(cpu(ours), cpu(responder)),
            )?;
        }
        for report in &self.official {
            writeln!(
                f,
                "\nofficial benchmark Producer -w {} -s {} (-q {}, send TPS as it reports it, mean of {} runs)",
                report.threads, report.body_bytes, o.official_messages, o.rounds
            )?;
            writeln!(
                f,
                "  {:<22} {:>10} {:>12} {:>12}",
                "side", "send TPS", "avg RT ms", "CPU us/msg"
            )?;
            for side in &report.sides {
                writeln!(
                    f,
                    "  {:<22} {:>10.0} {:>12.3} {:>12}",
                    side.kind.name(),
                    side.tps,
                    side.average_rt_ms,
                    micros(side.cpu_per_message)
                )?;
            }
            let of = |kind| report.sides.iter().find(|s| s.kind == kind);
            let (ours, java) = (of(SideKind::Ferrocket), of(SideKind::Java));
            let cpu = |s: Option<&OfficialFigures>| s.and_then(|s| s.cpu_per_message).map_or(0.0, |d| d.as_secs_f64());
            writeln!(
                f,
                "  ratios: TPS ours/java {}; CPU/msg ours/java {}",
                ratio(ours.map_or(0.0, |s| s.tps), java.map_or(0.0, |s| s.tps)),
                ratio(cpu(ours), cpu(java))
            )?;
        }
        if !self.catch_up.is_empty() {
            writeln!(
                f,
                "\nofficial benchmark Consumer catching up {} messages of 128 B (a fresh group per run, mean of {} runs)",
                o.official_backlog, o.rounds
            )?;
            writeln!(
                f,
                "  {:<22} {:>14} {:>14} {:>12}",
                "side", "peak TPS (9 s)", "drained after", "CPU us/msg"
            )?;
            for side in &self.catch_up {
                writeln!(
                    f,
                    "  {:<22} {:>14.0} {:>12.1} s {:>12}",
                    side.kind.name(),
                    side.peak_tps,
                    side.drained_after.as_secs_f64(),
                    micros(side.cpu_per_message)
                )?;
            }
            let of = |kind| self.catch_up.iter().find(|s| s.kind == kind);
            let (ours, java) = (of(SideKind::Ferrocket), of(SideKind::Java));
            let cpu = |s: Option<&CatchUpFigures>| s.and_then(|s| s.cpu_per_message).map_or(0.0, |d| d.as_secs_f64());
            writeln!(
                f,
                "  ratios: TPS ours/java {}; CPU/msg ours/java {}",
                ratio(ours.map_or(0.0, |s| s.peak_tps), java.map_or(0.0, |s| s.peak_tps)),
                ratio(cpu(ours), cpu(java))
            )?;
        }
        write!(
            f,
            "\nresident memory after the loads (anonymous, i.e. without mapped file pages):"
        )?;
        let mib = |bytes: &Option<u64>| {
            bytes.map_or_else(
                || "-".to_owned(),
                |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            )
        };
        for (kind, all, anon) in &self.resident {
            write!(f, "  {} {} ({});", kind.name(), mib(all), mib(anon))?;
        }
        Ok(())
    }
}

/// `ferrocket bench responder`: our transport answering every request with a canned SUCCESS
/// send result, until killed: the ceiling a broker's sends are measured against.
/// With `tls`, in enforcing mode with a test-mode certificate, as the brokers are then.
pub async fn serve_responder(port: u16, tls: bool) -> anyhow::Result<()> {
    let router = Router::new()
        .route(RequestCode::SEND_MESSAGE_V2, answer_sent)
        .route(RequestCode::SEND_BATCH_MESSAGE, answer_sent);
    let tls = if tls {
        let enforcing = [("tls.server.mode".to_owned(), "enforcing".to_owned())].into();
        TlsSettings::resolve(&enforcing, &Default::default()).server()?
    } else {
        ServerTls::disabled()
    };
    let config = ServerConfig {
        tls,
        ..ServerConfig::default()
    };
    let server = Server::bind(SocketAddr::from(([127, 0, 0, 1], port)), router, config).await?;
    std::future::pending::<()>().await;
    server.shutdown().await;
    Ok(())
}

/// The send result a broker answers, with fixed ids and offsets.
async fn answer_sent(request: RemotingCommand, _: ConnectionHandle) -> Option<RemotingCommand> {
    let header = SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000000000".into(),
        queue_id: 0,
        queue_offset: 0,
        ..SendMessageResponseHeader::default()
    };
    Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_ext_fields(header.to_ext_fields()))
}
