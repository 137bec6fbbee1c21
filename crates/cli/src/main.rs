//! `ferrocket`: the one binary. `standalone` (name server and broker in one process), `namesrv`,
//! `broker -c broker.conf`, and `bench net`.
//!
//! `-Dname=value` after `standalone`, `namesrv` or `broker` sets what Java reads as a JVM system
//! property: the `tls.*` settings of acl.md §8 (`-Dtls.server.mode=enforcing`), with Java's names
//! and defaults.
//!
//! Each listener prints `listening <role> <addr>` on stdout once bound, which scripts and tests
//! read to find ports chosen by the OS (port 0). Logs go to stderr (logging.rs).
//!
//! SIGTERM or Ctrl-C stops a server gracefully within [`SHUTDOWN_TIMEOUT`]: it stops accepting,
//! lets running requests finish, unregisters from the name servers, persists offsets and
//! metadata and closes the store cleanly; a second signal stops it at once.

mod admin;
mod bench;
mod bench_broker;
mod bench_namesrv;
mod bench_net;
mod bench_recovery;
mod bench_sdk;
mod bench_store;
mod config_check;
mod config_files;
mod console;
mod hosts;
mod logging;
mod tap_command;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ferrocket_broker::{BrokerConfig, BrokerError, BrokerHandle};
use ferrocket_grpc::{GrpcServer, GrpcSettings};
use ferrocket_namesrv::{NamesrvConfig, NamesrvHandle};
use ferrocket_net::{ServerTls, TlsSettings};
use ferrocket_wire::SerializeType;

use crate::config_files::{
    check_config_file, default_broker_config, grpc_properties, load_broker_config, load_namesrv_config, print_lines,
    read_properties,
};
use crate::logging::LogFormat;

/// RocketMQ's default ports (remoting.md §1.1).
const NAMESRV_PORT: u16 = ferrocket_namesrv::config::LISTEN_PORT_DEFAULT;
const BROKER_PORT: u16 = ferrocket_broker::config::LISTEN_PORT_DEFAULT;

/// The longest a graceful stop may take (the transport's 5 s grace for running requests, the
/// unregistrations, the final flush); past it the process exits anyway, leaving the store to
/// recover as after a crash.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// `ferrocket --version`: the release, the commit and the day it was built (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FERROCKET_GIT_COMMIT"),
    ", built ",
    env!("FERROCKET_BUILD_DATE"),
    ")"
);

const ENVIRONMENT_HELP: &str = "Environment:
  FERROCKET_LOG            log filter, `tracing` syntax (default `info`); per-request events are
                           `debug`: FERROCKET_LOG=info,ferrocket_net=debug
  FERROCKET_LOG_FORMAT     `human` (default) or `json`, as --log-format
  FERROCKET_LOG_FILES      `true`: as --log-files
  NO_COLOR                 set: no colour codes even on a terminal (never any when not a terminal)
  ROCKETMQ_SERIALIZE_TYPE  JSON (default) or ROCKETMQ: the header encoding of what we send, as Java";

#[derive(Parser)]
#[command(
    name = "ferrocket",
    version = VERSION,
    about = "A RocketMQ-compatible name server and broker",
    after_help = ENVIRONMENT_HELP
)]
struct Cli {
    /// How log lines are written (stderr, and log files with --log-files).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "FERROCKET_LOG_FORMAT")]
    log_format: LogFormat,
    /// Also write logs to files rolled over daily in the data directory's `logs/` (the
    /// broker's: `storePathRootDir/logs`); 14 days are kept.
    #[arg(long, global = true, env = "FERROCKET_LOG_FILES")]
    log_files: bool,
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
        /// The address (or name, e.g. localhost) both servers listen on.
        #[arg(long, default_value = "0.0.0.0")]
        host: String,
        /// The name server's port (0: any free port).
        #[arg(long, default_value_t = NAMESRV_PORT)]
        namesrv_port: u16,
        /// The broker's port (0: any free port); its HA port is the next one.
        #[arg(long, default_value_t = BROKER_PORT)]
        broker_port: u16,
        /// Where the store, the metadata and log files live.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The address the broker announces to clients (Java's `brokerIP1`); defaults to
        /// `--host`, or when that is a wildcard to this host's first non-loopback address, as Java.
        #[arg(long)]
        broker_ip: Option<String>,
        /// Serve Prometheus metrics on this port (broker.conf's `metricsExporterType=PROM` with
        /// `metricsPromExporterPort`; Java's default port is 5557, 0 lets the OS pick), bound to
        /// the broker's announced address.
        #[arg(long)]
        metrics_port: Option<u16>,
        #[command(flatten)]
        grpc: GrpcArgs,
        #[command(flatten)]
        console: console::ConsoleArgs,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// The name server alone.
    Namesrv {
        /// The address (or name) to listen on [default: `bindAddress` of the file, else 0.0.0.0].
        #[arg(long)]
        host: Option<String>,
        /// The port [default: `listenPort` of the file, else 9876].
        #[arg(long)]
        port: Option<u16>,
        /// A Java namesrv.properties / namesrv.conf.
        #[arg(short = 'c', long = "config")]
        config: Option<PathBuf>,
        /// Where the KV config and log files live.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Print the effective settings (`key=value`, as Java's `-p`) and exit.
        #[arg(short = 'p', long)]
        print_config: bool,
        /// Check the file given with -c (every bad line reported) and exit; non-zero if any.
        #[arg(long, requires = "config")]
        check_config: bool,
        #[command(flatten)]
        console: console::ConsoleArgs,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// The broker alone, configured by a Java broker.conf (Java's defaults without one).
    Broker {
        /// A Java broker.conf (docs/configuration.md lists its keys).
        #[arg(short = 'c', long = "config")]
        config: Option<PathBuf>,
        /// Print the effective settings (`key=value`, as Java's `-p`) and exit.
        #[arg(short = 'p', long)]
        print_config: bool,
        /// Check the file given with -c (every bad line reported) and exit; non-zero if any.
        #[arg(long, requires = "config")]
        check_config: bool,
        #[command(flatten)]
        grpc: GrpcArgs,
        #[command(flatten)]
        console: console::ConsoleArgs,
        #[command(flatten)]
        java: JavaProperties,
    },
    /// mqadmin's most used subcommands, with its names and flags (`ferrocket admin topicList -n ...`).
    Admin(admin::AdminArgs),
    /// Prints each request a running server decodes, read from its web console (not a capture).
    Tap(tap_command::TapArgs),
    /// Side-by-side benchmarks.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

/// An error ends the process with one line on stderr and status 1: expected failures (a busy
/// port, a bad file) are not crashes, so no backtrace.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> anyhow::Result<()> {
    let log_files = match cli.log_files {
        true => Some(data_dir_of(&cli.command)?.join("logs")),
        false => None,
    };
    // An admin command's output is its answer; the SDK's info lines would only clutter it.
    let default_level = match cli.command {
        Command::Admin(_) => "warn",
        _ => "info",
    };
    let _logs = logging::init(cli.log_format, log_files.as_deref(), default_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli.command))
}

/// Where a command keeps its data (log files go in its `logs/`): `--data-dir`, or for the broker
/// its `storePathRootDir`.
fn data_dir_of(command: &Command) -> anyhow::Result<PathBuf> {
    match command {
        Command::Standalone { data_dir, .. } | Command::Namesrv { data_dir, .. } => Ok(data_dir.clone()),
        Command::Broker { config, .. } => {
            let entries = match config {
                Some(path) => read_properties(path)?,
                None => Vec::new(),
            };
            let root = entries.into_iter().find(|(key, _)| key == "storePathRootDir");
            Ok(root.map_or_else(|| BrokerConfig::default().store_path_root_dir, |(_, dir)| dir.into()))
        }
        Command::Bench { .. } | Command::Admin(_) | Command::Tap(_) => Ok(PathBuf::from(".")),
    }
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
            metrics_port,
            grpc,
            console,
            java,
        } => {
            let mut signals = StopSignals::install()?;
            let tls = java.tls()?;
            let server_tls = tls.server()?;
            let namesrv_config = NamesrvConfig {
                tls: server_tls.clone(),
                ..NamesrvConfig::default()
            };
            let namesrv_bind = hosts::bind_addr("name server", &host, namesrv_port)?;
            let namesrv = start_namesrv(
                namesrv_config,
                namesrv_bind,
                &data_dir,
                serialize_type,
                "--namesrv-port",
            )
            .await?;
            let broker_bind = hosts::bind_addr("broker", &host, broker_port)?;
            let announced = broker_ip.unwrap_or_else(|| hosts::default_announced(broker_bind.ip()));
            let namesrv_addr = format!("{}:{}", reachable_here(namesrv_bind.ip()), namesrv.local_addr().port());
            let bind_host = broker_bind.ip().to_string();
            let mut config = BrokerConfig::standalone(&data_dir, &bind_host, broker_port, &namesrv_addr);
            config.broker_ip1 = announced;
            if let Some(port) = metrics_port {
                config.metrics_exporter_type = ferrocket_broker::config::MetricsExporterType::Prom;
                config.metrics_prom_exporter_port = port;
            }
            let reload = watch_certificates(&tls, &server_tls);
            config.server_tls = server_tls;
            config.client_tls = tls.client()?;
            let ports = PortFlags {
                listen: "--broker-port",
                ha: "--broker-port (the HA port is the next one)",
            };
            let broker = start_broker(config, serialize_type, ports).await?;
            let grpc_settings = grpc.apply(GrpcSettings::default());
            let grpc = match start_grpc(&broker, &grpc_settings, &bind_host, &tls).await {
                Ok(grpc) => grpc,
                Err(error) => {
                    broker.shutdown().await;
                    namesrv.shutdown().await;
                    return Err(error);
                }
            };
            let sources = console::Sources::new(Some(std::sync::Arc::clone(broker.broker())), vec![namesrv_addr]);
            let taps = vec![
                ("namesrv", std::sync::Arc::clone(namesrv.tap())),
                ("broker", std::sync::Arc::clone(broker.tap())),
            ];
            let console = match start_console(&console, "standalone", sources, taps).await {
                Ok(console) => console,
                Err(error) => {
                    if let Some(grpc) = grpc {
                        grpc.shutdown().await;
                    }
                    broker.shutdown().await;
                    namesrv.shutdown().await;
                    return Err(error);
                }
            };
            wait_for_stop_signal(&mut signals).await;
            reload.abort();
            stop_console(console);
            stop_within_bound(&mut signals, async move {
                if let Some(grpc) = grpc {
                    grpc.shutdown().await;
                }
                // The broker first, so it can unregister from the name server.
                broker.shutdown().await;
                namesrv.shutdown().await;
            })
            .await?;
        }
        Command::Namesrv {
            config: Some(path),
            check_config: true,
            ..
        } => check_config_file(&path, &config_check::namesrv_sources(), |_| Ok(()))?,
        Command::Broker {
            config: Some(path),
            check_config: true,
            ..
        } => check_config_file(&path, &config_check::broker_sources(), |path| {
            load_broker_config(path).map(drop)
        })?,
        Command::Namesrv {
            host,
            port,
            config,
            data_dir,
            print_config,
            check_config: _,
            console,
            java,
        } => {
            let tls = java.tls()?;
            let file = match config {
                Some(path) => load_namesrv_config(&path)?,
                None => ferrocket_namesrv::config::ConfigFile::default(),
            };
            let host = host.unwrap_or_else(|| file.bind_address.to_string());
            let port = port.unwrap_or(file.listen_port);
            if print_config {
                print_lines(&format!(
                    "{}bindAddress={host}\nlistenPort={port}\n",
                    file.config.to_properties()
                ));
                return Ok(());
            }
            let mut signals = StopSignals::install()?;
            let mut config = file.config;
            config.tls = tls.server()?;
            let reload = watch_certificates(&tls, &config.tls);
            let bind = hosts::bind_addr("name server", &host, port)?;
            let namesrv = start_namesrv(config, bind, &data_dir, serialize_type, "--port").await?;
            let own_addr = format!("{}:{}", reachable_here(bind.ip()), namesrv.local_addr().port());
            let sources = console::Sources::new(None, vec![own_addr]);
            let taps = vec![("namesrv", std::sync::Arc::clone(namesrv.tap()))];
            let console = match start_console(&console, "namesrv", sources, taps).await {
                Ok(console) => console,
                Err(error) => {
                    namesrv.shutdown().await;
                    return Err(error);
                }
            };
            wait_for_stop_signal(&mut signals).await;
            reload.abort();
            stop_console(console);
            stop_within_bound(&mut signals, namesrv.shutdown()).await?;
        }
        Command::Broker {
            config,
            print_config,
            check_config: _,
            grpc,
            console,
            java,
        } => {
            let tls = java.tls()?;
            let (mut config, grpc_settings) = match config {
                Some(path) => load_broker_config(&path)?,
                None => (default_broker_config(), GrpcSettings::default()),
            };
            let grpc_settings = grpc.apply(grpc_settings);
            if print_config {
                print_lines(&format!(
                    "{}{}",
                    config.to_properties(),
                    grpc_properties(&grpc_settings)
                ));
                return Ok(());
            }
            let mut signals = StopSignals::install()?;
            config.server_tls = tls.server()?;
            config.client_tls = tls.client()?;
            let reload = watch_certificates(&tls, &config.server_tls);
            let host = config.listen_host.clone();
            let namesrv_addrs: Vec<String> = config
                .namesrv_addr
                .as_deref()
                .unwrap_or("")
                .split(';')
                .filter(|addr| !addr.trim().is_empty())
                .map(|addr| addr.trim().to_owned())
                .collect();
            let ports = PortFlags {
                listen: "listenPort in broker.conf",
                ha: "haListenPort in broker.conf (default listenPort + 1)",
            };
            let broker = start_broker(config, serialize_type, ports).await?;
            let grpc = match start_grpc(&broker, &grpc_settings, &host, &tls).await {
                Ok(grpc) => grpc,
                Err(error) => {
                    // The store is open: close it cleanly, so no crash is assumed at the next start.
                    broker.shutdown().await;
                    return Err(error);
                }
            };
            let sources = console::Sources::new(Some(std::sync::Arc::clone(broker.broker())), namesrv_addrs);
            let taps = vec![("broker", std::sync::Arc::clone(broker.tap()))];
            let console = match start_console(&console, "broker", sources, taps).await {
                Ok(console) => console,
                Err(error) => {
                    if let Some(grpc) = grpc {
                        grpc.shutdown().await;
                    }
                    broker.shutdown().await;
                    return Err(error);
                }
            };
            wait_for_stop_signal(&mut signals).await;
            reload.abort();
            stop_console(console);
            stop_within_bound(&mut signals, async move {
                if let Some(grpc) = grpc {
                    grpc.shutdown().await;
                }
                broker.shutdown().await;
            })
            .await?;
        }
        Command::Admin(args) => admin::run(args).await?,
        Command::Tap(args) => tap_command::run(args).await?,
        Command::Bench { what } => bench::run(what).await?,
    }
    Ok(())
}

async fn start_console(
    args: &console::ConsoleArgs,
    role: &'static str,
    sources: console::Sources,
    taps: Vec<(&'static str, std::sync::Arc<ferrocket_net::Tap>)>,
) -> anyhow::Result<Option<console::ConsoleHandle>> {
    let console = console::start(args, role, sources, taps).await?;
    if let Some(console) = &console {
        announce("console", console.local_addr);
        tracing::info!(url = %format!("http://{}/", console.local_addr), "web console");
    }
    Ok(console)
}

fn stop_console(console: Option<console::ConsoleHandle>) {
    if let Some(console) = console {
        console.shutdown();
    }
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

/// Starts the name server on `addr`; `port_flag` is what moves its port, named when it is taken.
async fn start_namesrv(
    config: NamesrvConfig,
    addr: SocketAddr,
    data_dir: &Path,
    serialize_type: SerializeType,
    port_flag: &str,
) -> anyhow::Result<NamesrvHandle> {
    ferrocket_store::create_dir_all_durably(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let handle = ferrocket_namesrv::start(config, addr, data_dir, Some(serialize_type))
        .await
        .map_err(anyhow::Error::from)
        .map_err(|error| explain_busy_port(error, "name server", addr, port_flag))?;
    announce("namesrv", handle.local_addr());
    tracing::info!(addr = %handle.local_addr(), "name server listening");
    Ok(handle)
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
    let addr = config.listen;
    let server = ferrocket_grpc::start(std::sync::Arc::clone(broker.broker()), config)
        .await
        .map_err(anyhow::Error::from)
        .map_err(|error| explain_busy_port(error, "gRPC", addr, "--grpc-port (or grpcServerPort in broker.conf)"))?;
    announce("grpc", server.local_addr());
    Ok(Some(server))
}

/// Where this machine reaches a server bound to `ip`.
fn reachable_here(ip: std::net::IpAddr) -> String {
    match ip.is_unspecified() {
        true => "127.0.0.1".to_owned(),
        false => ip.to_string(),
    }
}

/// What moves the broker's two ports, named when one is taken.
struct PortFlags {
    listen: &'static str,
    ha: &'static str,
}

/// Starts the broker.
async fn start_broker(
    config: BrokerConfig,
    serialize_type: SerializeType,
    ports: PortFlags,
) -> anyhow::Result<BrokerHandle> {
    let addr = SocketAddr::new(
        config
            .listen_host
            .parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        config.listen_port,
    );
    let handle = ferrocket_broker::start(config, ferrocket_broker::Clock::system(), Some(serialize_type))
        .await
        .map_err(|error| match &error {
            BrokerError::HaListenFailed { address, .. } => {
                let address = *address;
                explain_busy_port(error.into(), "broker's HA", address, ports.ha)
            }
            _ => explain_busy_port(error.into(), "broker", addr, ports.listen),
        })?;
    // Before the broker's own line: a reader that waits for "listening broker" has both.
    if let Some(metrics) = handle.metrics_addr() {
        announce("metrics", metrics);
    }
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

/// A port already taken is an expected failure: say which port and what moves it.
fn explain_busy_port(error: anyhow::Error, role: &str, addr: SocketAddr, port_flag: &str) -> anyhow::Error {
    let busy = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
            || cause.to_string().contains("in use")
    });
    match busy {
        true => anyhow::anyhow!(
            "the {role} port {} is already in use (another broker or name server?); {port_flag} moves it",
            addr.port()
        ),
        false => error,
    }
}

/// SIGTERM and SIGINT, caught from before the first port opens: a signal right after the
/// `listening` line must find the graceful stop, not the default action (killed by the signal).
struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate()).context("catching SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("catching SIGINT")?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

async fn wait_for_stop_signal(signals: &mut StopSignals) {
    signals.next().await;
    tracing::info!("stopping: no new connections; running requests finish, offsets are persisted");
}

/// Runs the graceful stop within [`SHUTDOWN_TIMEOUT`]; a second signal or the bound ends it
/// early, as an error (the store then recovers at the next start as after a crash).
async fn stop_within_bound(
    signals: &mut StopSignals,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    tokio::select! {
        result = tokio::time::timeout(SHUTDOWN_TIMEOUT, stop) => match result {
            Ok(()) => {
                tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "stopped");
                Ok(())
            }
            Err(_) => bail!("stopping took over {} s; exiting without finishing", SHUTDOWN_TIMEOUT.as_secs()),
        },
        _ = signals.next() => bail!("a second stop signal; exiting without finishing"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defines(args: &[&str]) -> Option<Vec<(String, String)>> {
        match Cli::try_parse_from(args).ok()?.command {
            Command::Standalone { java, .. } | Command::Namesrv { java, .. } | Command::Broker { java, .. } => {
                Some(java.defines)
            }
            Command::Bench { .. } | Command::Admin(_) | Command::Tap(_) => None,
        }
    }

    /// `--help` describes every flag of every command (the operator's first reference).
    #[test]
    fn every_flag_has_help() {
        use clap::CommandFactory;
        fn undocumented(command: &clap::Command, path: &str, found: &mut Vec<String>) {
            for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
                if arg.get_help().is_none() && !arg.is_positional() {
                    found.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
                undocumented(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut found = Vec::new();
        undocumented(&Cli::command(), "ferrocket", &mut found);
        assert!(found.is_empty(), "flags without help: {found:?}");
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
