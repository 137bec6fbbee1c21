//! `ferrocket`: the one binary. `standalone` (name server and broker in one process), `namesrv`,
//! `broker -c broker.conf`, and `bench net`.
//!
//! `-Dname=value` after `standalone`, `namesrv` or `broker` sets what Java reads as a JVM system
//! property: the `tls.*` settings of acl.md §8 (`-Dtls.server.mode=enforcing`), with Java's names
//! and defaults.
//!
//! Each listener prints `listening <role> <addr>` on stdout once bound, which scripts and tests
//! read to find ports chosen by the OS (port 0).

mod bench_broker;
mod bench_namesrv;
mod bench_net;
mod bench_store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ferrocket_broker::{BrokerConfig, BrokerHandle};
use ferrocket_grpc::{GrpcServer, GrpcSettings};
use ferrocket_namesrv::{NamesrvConfig, NamesrvHandle};
use ferrocket_net::{ServerTls, TlsSettings};
use ferrocket_wire::SerializeType;

/// RocketMQ's default ports (remoting.md §1.1).
const NAMESRV_PORT: u16 = 9876;
const BROKER_PORT: u16 = 10911;

#[derive(Parser)]
#[command(name = "ferrocket", version, about = "A RocketMQ-compatible name server and broker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What Java reads as JVM system properties, given after the command as `-Dname=value`.
#[derive(clap::Args, Debug, Default)]
struct JavaProperties {
    /// A Java system property: the `tls.*` settings (acl.md §8), e.g. `-Dtls.server.mode=enforcing`.
    #[arg(short = 'D', value_name = "NAME=VALUE", value_parser = parse_define)]
    defines: Vec<(String, String)>,
}

impl JavaProperties {
    /// Read once and checked before anything starts, as the JVM does with its properties.
    fn tls(&self) -> anyhow::Result<TlsSettings> {
        let defines: BTreeMap<String, String> = self.defines.iter().cloned().collect();
        TlsSettings::from_properties(&defines).context("TLS settings (-D tls.*)")
    }
}

/// The gRPC endpoint of 5.x clients (Java's local-mode proxy), served beside the broker.
#[derive(clap::Args, Debug, Default)]
struct GrpcArgs {
    /// The gRPC port (overrides `grpcServerPort` in the broker.conf; default 8081).
    #[arg(long)]
    grpc_port: Option<u16>,
    /// Serve no gRPC endpoint (as `grpcServerEnable=false`).
    #[arg(long)]
    no_grpc: bool,
}

impl GrpcArgs {
    fn apply(&self, mut settings: GrpcSettings) -> GrpcSettings {
        if let Some(port) = self.grpc_port {
            settings.port = port;
        }
        if self.no_grpc {
            settings.enabled = false;
        }
        settings
    }
}

fn parse_define(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Name server and broker in one process, data in a local folder.
    Standalone {
        #[arg(long, default_value = "0.0.0.0")]
        host: String,
        #[arg(long, default_value_t = NAMESRV_PORT)]
        namesrv_port: u16,
        #[arg(long, default_value_t = BROKER_PORT)]
        broker_port: u16,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The address the broker announces to clients (Java's `brokerIP1`); defaults to
        /// `--host`, or 127.0.0.1 when that is a wildcard.
        #[arg(long)]
        broker_ip: Option<String>,
        #[command(flatten)]
        grpc: GrpcArgs,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// The name server alone.
    Namesrv {
        #[arg(long, default_value = "0.0.0.0")]
        host: String,
        #[arg(long, default_value_t = NAMESRV_PORT)]
        port: u16,
        /// A Java namesrv.properties / namesrv.conf.
        #[arg(short = 'c', long = "config")]
        config: Option<PathBuf>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// The broker alone, configured by a Java broker.conf.
    Broker {
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        #[command(flatten)]
        grpc: GrpcArgs,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// Side-by-side benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Sends per second, latency, broker CPU per message and memory: our broker beside the Java
    /// 5.3.3 broker and a do-nothing responder, each a child process, in one run.
    Broker {
        /// Seconds per side, load and round.
        #[arg(long, default_value_t = bench_broker::SLICE.as_secs())]
        seconds: u64,
        #[arg(long, default_value_t = bench_broker::ROUNDS)]
        rounds: u32,
        #[arg(long, value_delimiter = ',', default_value = "8,64")]
        connections: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "128,1024")]
        body_bytes: Vec<usize>,
        /// Header encodings: json, rocketmq.
        #[arg(long, value_delimiter = ',', default_value = "json,rocketmq")]
        headers: Vec<String>,
        /// Messages per send: 1 is SEND_MESSAGE_V2, more is SEND_BATCH_MESSAGE of that many.
        #[arg(long, value_delimiter = ',', default_value = "1,32")]
        batches: Vec<usize>,
        /// After the sends, pull loops through the backlog they left.
        #[arg(long)]
        pulls: bool,
        /// Single sends also at these fixed total rates (msgs/s): latency where every side keeps up.
        #[arg(long, value_delimiter = ',')]
        paced_rates: Vec<u32>,
        /// rocketmq-example's jar: runs the official benchmark Producer against each broker
        /// (needs --java-classpath, whose 5.3.3 broker carries the client).
        #[arg(long)]
        example_jar: Option<PathBuf>,
        /// The official Producer's `-w` thread counts.
        #[arg(long, value_delimiter = ',', default_value = "8,64")]
        official_threads: Vec<usize>,
        /// Messages per official Producer run (`-q`).
        #[arg(long, default_value_t = 200_000)]
        official_messages: u64,
        /// The runtime classpath of org.apache.rocketmq:rocketmq-broker and rocketmq-namesrv
        /// 5.3.3; without it the Java side is skipped.
        #[arg(long)]
        java_classpath: Option<String>,
        #[arg(long, default_value = "java")]
        java: PathBuf,
        /// Our binary to run as the broker (this one by default).
        #[arg(long)]
        ferrocket_bin: Option<PathBuf>,
        /// Every side in TLS enforcing mode (test-mode certificate) and the load over TLS.
        #[arg(long)]
        tls: bool,
    },
    /// A do-nothing responder on 127.0.0.1 for `bench broker` (runs until killed).
    #[command(hide = true)]
    Responder {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        tls: bool,
    },
    /// Route lookups per second and memory at scale: ours beside the Java name server.
    Namesrv(bench_namesrv::BenchNamesrvArgs),
    /// Store appends and reads beside this machine's sequential write bandwidth and fsyncs/s.
    Store {
        /// A directory on the file system to measure (not a tmpfs, or fsync costs nothing).
        #[arg(long, default_value = "target/bench-store")]
        dir: PathBuf,
        /// Seconds per append case (12 cases).
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// interop/java/store-bench/target/classes plus the runtime classpath of
        /// org.apache.rocketmq:rocketmq-store:5.3.3 (see interop/java/store-bench/pom.xml); each
        /// case then also runs on the Java store. Without it the Java side is skipped.
        #[arg(long)]
        java_classpath: Option<String>,
        /// The `java` executable for the Java side.
        #[arg(long, default_value = "java")]
        java: PathBuf,
    },
    /// Loopback round trips per second: our transport beside a bare tokio echo.
    Net {
        #[arg(long, default_value_t = bench_net::DURATION.as_secs())]
        seconds: u64,
        #[arg(long, default_value_t = bench_net::IN_FLIGHT)]
        in_flight: usize,
        #[arg(long, default_value_t = bench_net::BODY_BYTES)]
        body_bytes: usize,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROCKET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // A closed stderr (a parent that went away, Java's Process.destroy) must not turn a log
        // line into an eprintln! panic: the write is lost, the shutdown goes on.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    let serialize_type = configured_serialize_type()?;
    match command {
        Command::Standalone {
            host,
            namesrv_port,
            broker_port,
            data_dir,
            broker_ip,
            grpc,
            java,
        } => {
            let tls = java.tls()?;
            let server_tls = tls.server()?;
            let namesrv_config = NamesrvConfig {
                tls: server_tls.clone(),
                ..NamesrvConfig::default()
            };
            let namesrv = start_namesrv(namesrv_config, &host, namesrv_port, &data_dir, serialize_type).await?;
            let announced = broker_ip.unwrap_or_else(|| announced_host(&host));
            let namesrv_addr = format!("{}:{}", announced_host(&host), namesrv.local_addr().port());
            let mut config = BrokerConfig::standalone(&data_dir, &host, broker_port, &namesrv_addr);
            config.broker_ip1 = announced;
            let reload = watch_certificates(&tls, &server_tls);
            config.server_tls = server_tls;
            config.client_tls = tls.client()?;
            let broker = start_broker(config, serialize_type).await?;
            let grpc_settings = grpc.apply(GrpcSettings::default());
            let grpc = start_grpc(&broker, &grpc_settings, &host, &tls).await?;
            wait_for_stop_signal().await?;
            reload.abort();
            if let Some(grpc) = grpc {
                grpc.shutdown().await;
            }
            // The broker first, so it can unregister from the name server.
            broker.shutdown().await;
            namesrv.shutdown().await;
        }
        Command::Namesrv {
            host,
            port,
            config,
            data_dir,
            java,
        } => {
            let tls = java.tls()?;
            let mut config = match config {
                Some(path) => load_namesrv_config(&path)?,
                None => NamesrvConfig::default(),
            };
            config.tls = tls.server()?;
            let reload = watch_certificates(&tls, &config.tls);
            let namesrv = start_namesrv(config, &host, port, &data_dir, serialize_type).await?;
            wait_for_stop_signal().await?;
            reload.abort();
            namesrv.shutdown().await;
        }
        Command::Broker { config, grpc, java } => {
            let tls = java.tls()?;
            let (mut config, grpc_settings) = load_broker_config(&config)?;
            config.server_tls = tls.server()?;
            config.client_tls = tls.client()?;
            let reload = watch_certificates(&tls, &config.server_tls);
            let host = config.listen_host.clone();
            let broker = start_broker(config, serialize_type).await?;
            let grpc = start_grpc(&broker, &grpc.apply(grpc_settings), &host, &tls).await?;
            wait_for_stop_signal().await?;
            reload.abort();
            if let Some(grpc) = grpc {
                grpc.shutdown().await;
            }
            broker.shutdown().await;
        }
        Command::Bench {
            what: BenchCommand::Namesrv(args),
        } => {
            let report = bench_namesrv::run(args.into()).await?;
            println!("{report}");
        }
        Command::Bench {
            what:
                BenchCommand::Store {
                    dir,
                    seconds,
                    java_classpath,
                    java,
                },
        } => {
            let options = bench_store::BenchStoreOptions {
                dir,
                case_duration: Duration::from_secs(seconds),
                body_sizes: vec![128, 1024],
                writers: vec![1, 16, 64],
                java: java_classpath.map(|classpath| bench_store::JavaStoreOptions {
                    classpath,
                    java_bin: java,
                }),
            };
            let report = bench_store::run(options).await?;
            println!("{report}");
        }
        Command::Bench {
            what:
                BenchCommand::Broker {
                    seconds,
                    rounds,
                    connections,
                    body_bytes,
                    headers,
                    batches,
                    pulls,
                    paced_rates,
                    example_jar,
                    official_threads,
                    official_messages,
                    java_classpath,
                    java,
                    ferrocket_bin,
                    tls,
                },
        } => {
            let headers = headers
                .iter()
                .map(|name| match name.as_str() {
                    "json" => Ok(SerializeType::Json),
                    "rocketmq" => Ok(SerializeType::RocketMq),
                    other => Err(anyhow::anyhow!("unknown header encoding {other}: json or rocketmq")),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ferrocket_bin = match ferrocket_bin {
                Some(path) => path,
                None => std::env::current_exe()?,
            };
            let options = bench_broker::BenchBrokerOptions {
                slice: Duration::from_secs(seconds),
                rounds,
                connections,
                body_bytes,
                headers,
                batches,
                pulls,
                paced_rates,
                official: match (&example_jar, &java_classpath) {
                    (Some(jar), Some(classpath)) => Some(bench_broker::OfficialProducer {
                        java_bin: java.clone(),
                        classpath: format!("{classpath}:{}", jar.display()),
                    }),
                    (Some(_), None) => anyhow::bail!("--example-jar needs --java-classpath"),
                    _ => None,
                },
                official_threads,
                official_messages,
                ferrocket_bin,
                java_bin: java,
                java_classpath,
                tls,
            };
            let report = bench_broker::run(options).await?;
            println!("{report}");
        }
        Command::Bench {
            what: BenchCommand::Responder { port, tls },
        } => bench_broker::serve_responder(port, tls).await?,
        Command::Bench {
            what:
                BenchCommand::Net {
                    seconds,
                    in_flight,
                    body_bytes,
                },
        } => {
            let options = bench_net::BenchNetOptions {
                duration: Duration::from_secs(seconds),
                in_flight,
                body_bytes,
                ..Default::default()
            };
            let report = bench_net::run(options).await?;
            println!("{report}");
        }
    }
    Ok(())
}

/// Java reloads its TLS files when they change (`FileWatchService`); so do we, until stopped.
fn watch_certificates(tls: &TlsSettings, server: &ServerTls) -> tokio::task::JoinHandle<()> {
    tokio::spawn(ferrocket_net::tls::reload_on_change(tls.clone(), server.clone()))
}

/// Java picks the header encoding of everything a process writes from `ROCKETMQ_SERIALIZE_TYPE`
/// (default JSON) and answers in it whatever the request used; we read the same variable.
fn configured_serialize_type() -> anyhow::Result<SerializeType> {
    match std::env::var("ROCKETMQ_SERIALIZE_TYPE").as_deref() {
        Err(_) | Ok("JSON") => Ok(SerializeType::Json),
        Ok("ROCKETMQ") => Ok(SerializeType::RocketMq),
        Ok(other) => bail!("ROCKETMQ_SERIALIZE_TYPE must be JSON or ROCKETMQ, not {other:?}"),
    }
}

async fn start_namesrv(
    config: NamesrvConfig,
    host: &str,
    port: u16,
    data_dir: &Path,
    serialize_type: SerializeType,
) -> anyhow::Result<NamesrvHandle> {
    ferrocket_store::create_dir_all_durably(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let addr = socket_addr("namesrv", host, port)?;
    let handle = ferrocket_namesrv::start(config, addr, data_dir, Some(serialize_type)).await?;
    announce("namesrv", handle.local_addr());
    tracing::info!(addr = %handle.local_addr(), "name server listening");
    Ok(handle)
}

fn load_namesrv_config(path: &Path) -> anyhow::Result<NamesrvConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = NamesrvConfig::from_properties(&text).with_context(|| format!("in {}", path.display()))?;
    for key in &file.keys_without_effect {
        tracing::warn!(key, "name server setting has no effect in ferrocket; ignored");
    }
    for key in &file.unknown_keys {
        tracing::warn!(key, "unknown name server setting; ignored");
    }
    Ok(file.config)
}

fn socket_addr(role: &str, host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    format!("{host}:{port}")
        .parse()
        .with_context(|| format!("bad {role} address {host}:{port}"))
}

/// A broker.conf is a few kilobytes; refuse anything absurd before reading it.
const BROKER_CONF_BYTES_MAX: u64 = 1024 * 1024;

/// The broker's settings and the gRPC endpoint's, both from one broker.conf.
fn load_broker_config(path: &Path) -> anyhow::Result<(BrokerConfig, GrpcSettings)> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > BROKER_CONF_BYTES_MAX {
        bail!(
            "{} is {size} bytes; a broker.conf is at most {BROKER_CONF_BYTES_MAX}",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let properties = ferrocket_wire::properties_text::parse(&text).with_context(|| format!("in {}", path.display()))?;
    let (grpc, broker): (Vec<_>, Vec<_>) = properties
        .into_iter()
        .partition(|(key, _)| ferrocket_grpc::settings::KEYS.contains(&key.as_str()));
    let grpc = GrpcSettings::from_entries(grpc.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .with_context(|| format!("in {}", path.display()))?;
    let broker = BrokerConfig::from_properties(&broker).with_context(|| format!("in {}", path.display()))?;
    Ok((broker, grpc))
}

/// The gRPC endpoint over `broker`, unless turned off; TLS beside plaintext unless the TLS mode
/// is `disabled`.
async fn start_grpc(
    broker: &BrokerHandle,
    settings: &GrpcSettings,
    host: &str,
    tls: &TlsSettings,
) -> anyhow::Result<Option<GrpcServer>> {
    if !settings.enabled {
        return Ok(None);
    }
    let config = settings
        .server_config(host, tls.mode != ferrocket_net::TlsMode::Disabled)
        .map_err(anyhow::Error::msg)?;
    let server = ferrocket_grpc::start(std::sync::Arc::clone(broker.broker()), config).await?;
    announce("grpc", server.local_addr());
    Ok(Some(server))
}

/// Where clients on this machine reach a server bound to `host`.
fn announced_host(host: &str) -> String {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        _ => host.to_owned(),
    }
}

async fn start_broker(config: BrokerConfig, serialize_type: SerializeType) -> anyhow::Result<BrokerHandle> {
    let handle = ferrocket_broker::start(config, ferrocket_broker::Clock::system(), Some(serialize_type)).await?;
    announce("broker", handle.local_addr());
    tracing::info!(addr = %handle.local_addr(), announced = handle.broker().address(), "broker listening");
    Ok(handle)
}

/// `listening <role> <addr>` on stdout, for scripts and tests. A reader that went away after the
/// lines it wanted must not stop the server, so a closed stdout is ignored (`println!` would panic).
fn announce(role: &str, addr: SocketAddr) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening {role} {addr}").and_then(|()| stdout.flush());
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    tracing::info!("stopping");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defines(args: &[&str]) -> Option<Vec<(String, String)>> {
        match Cli::try_parse_from(args).ok()?.command {
            Command::Standalone { java, .. } | Command::Namesrv { java, .. } | Command::Broker { java, .. } => {
                Some(java.defines)
            }
            Command::Bench { .. } => None,
        }
    }

    #[test]
    fn java_system_properties_are_dash_d_settings_after_the_command() {
        let both = [
            ("tls.server.mode".to_owned(), "enforcing".to_owned()),
            ("tls.enable".to_owned(), "true".to_owned()),
        ];
        let given = [
            "ferrocket",
            "standalone",
            "-Dtls.server.mode=enforcing",
            "-D",
            "tls.enable=true",
        ];
        assert_eq!(defines(&given), Some(both.to_vec()));
        let given = [
            "ferrocket",
            "broker",
            "-c",
            "b.conf",
            "-Dtls.server.mode=enforcing",
            "-Dtls.enable=true",
        ];
        assert_eq!(defines(&given), Some(both.to_vec()));
        assert_eq!(defines(&["ferrocket", "namesrv", "-Dtls.enable"]), None, "no value");
        assert_eq!(defines(&["ferrocket", "namesrv", "-D=true"]), None, "no name");
    }
}
