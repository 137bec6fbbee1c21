//! `ferrocket bench ...`: the side-by-side benchmarks' flags and how each is started.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use ferrocket_wire::SerializeType;

use crate::{bench_broker, bench_namesrv, bench_net, bench_recovery, bench_sdk, bench_store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Sends per second, latency, broker CPU per message and memory: our broker beside the Java
    /// 5.3.3 broker and a do-nothing responder, each a child process, in one run.
    Broker {
        /// Seconds per side, load and round.
        #[arg(long, default_value_t = bench_broker::SLICE.as_secs())]
        seconds: u64,
        /// Turns each side takes per load.
        #[arg(long, default_value_t = bench_broker::ROUNDS)]
        rounds: u32,
        /// Client connection counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "8,64")]
        connections: Vec<usize>,
        /// Message body sizes to measure, in bytes.
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
        /// With --example-jar: a backlog of this many 128 B messages (sent by the official
        /// Producer) that a fresh group of the official Consumer catches up, each round (0: off).
        #[arg(long, default_value_t = 0)]
        official_backlog: u64,
        /// The runtime classpath of org.apache.rocketmq:rocketmq-broker and rocketmq-namesrv
        /// 5.3.3; without it the Java side is skipped.
        #[arg(long)]
        java_classpath: Option<String>,
        /// The `java` executable for the Java side.
        #[arg(long, default_value = "java")]
        java: PathBuf,
        /// Our binary to run as the broker (this one by default).
        #[arg(long)]
        ferrocket_bin: Option<PathBuf>,
        /// Every side in TLS enforcing mode (test-mode certificate) and the load over TLS.
        #[arg(long)]
        tls: bool,
        /// 5.x auth on in both brokers (authenticationEnabled, authorizationEnabled, a super
        /// user from initAuthenticationUser) and every load request signed as that user, as the
        /// official `AclClientRPCHook` signs it: what ACL costs per message.
        #[arg(long)]
        acl: bool,
        /// Extra broker.conf lines for our broker, `key=value` (repeatable), e.g.
        /// `--ferrocket-conf metricsExporterType=PROM` to measure what metrics cost.
        #[arg(long)]
        ferrocket_conf: Vec<String>,
    },
    /// The SDK's producer: sends/s, latency and client CPU per message at each thread count,
    /// against any name server (interop/rust-client/bench.sh sets it beside the Java client).
    Producer(bench_sdk::SdkBenchArgs),
    /// The SDK's push consumer: msgs/s and client CPU per message reading a topic's backlog.
    Consumer(bench_sdk::SdkBenchArgs),
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
    /// Time to listen again after a SIGKILL with a large store, and to answer every acknowledged
    /// message: our broker beside the Java 5.3.3 broker recovering the same store in one run.
    Recovery {
        /// The store and the brokers' files (a real file system; deleted afterwards).
        #[arg(long, default_value = "target/bench-recovery")]
        work: PathBuf,
        /// GiB of message bodies written before the first kill.
        #[arg(long, default_value_t = 10.0)]
        store_gib: f64,
        /// MiB written before every later kill.
        #[arg(long, default_value_t = 512)]
        tail_mib: u64,
        /// Topics written (each with --queues-per-topic queues: 1,000 queues by default).
        #[arg(long, default_value_t = 125)]
        topics: usize,
        /// Queues of every topic.
        #[arg(long, default_value_t = 8)]
        queues_per_topic: i32,
        /// Bytes of every message body.
        #[arg(long, default_value_t = 4096)]
        body_bytes: usize,
        /// Messages per SEND_BATCH_MESSAGE.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Connections sending to the broker while it fills (and when it is killed).
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Kills and restarts of each broker (A B A B).
        #[arg(long, default_value_t = 2)]
        rounds: u32,
        /// The runtime classpath of org.apache.rocketmq:rocketmq-broker 5.3.3; without it only
        /// ours recovers.
        #[arg(long)]
        java_classpath: Option<String>,
        /// The `java` command that runs the Java broker.
        #[arg(long, default_value = "java")]
        java: PathBuf,
        /// Our binary to run as the broker (this one by default).
        #[arg(long)]
        ferrocket_bin: Option<PathBuf>,
        /// Stop (and delete the store) when the disk is more used than this percentage.
        #[arg(long, default_value_t = 80)]
        disk_used_max_percent: u32,
        /// Leave the store behind (it is deleted by default).
        #[arg(long)]
        keep_store: bool,
    },
    /// Loopback round trips per second: our transport beside a bare tokio echo.
    Net {
        /// Measured seconds per side.
        #[arg(long, default_value_t = bench_net::DURATION.as_secs())]
        seconds: u64,
        /// Requests in flight at once on the one connection.
        #[arg(long, default_value_t = bench_net::IN_FLIGHT)]
        in_flight: usize,
        /// Request body size in bytes.
        #[arg(long, default_value_t = bench_net::BODY_BYTES)]
        body_bytes: usize,
    },
}

/// Runs one benchmark and prints its report.
pub async fn run(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Namesrv(args) => {
            let report = bench_namesrv::run(args.into()).await?;
            println!("{report}");
        }
        BenchCommand::Store {
            dir,
            seconds,
            java_classpath,
            java,
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
            official_backlog,
            java_classpath,
            java,
            ferrocket_bin,
            tls,
            acl,
            ferrocket_conf,
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
                    (Some(_), Some(_)) if acl => {
                        anyhow::bail!("--acl signs the native loads only, not the official Producer")
                    }
                    (Some(jar), Some(classpath)) => Some(bench_broker::OfficialProducer {
                        java_bin: java.clone(),
                        classpath: format!("{classpath}:{}", jar.display()),
                    }),
                    (Some(_), None) => anyhow::bail!("--example-jar needs --java-classpath"),
                    _ => None,
                },
                official_threads,
                official_messages,
                official_backlog,
                ferrocket_bin,
                java_bin: java,
                java_classpath,
                tls,
                acl,
                ferrocket_conf,
            };
            let report = bench_broker::run(options).await?;
            println!("{report}");
        }
        BenchCommand::Producer(args) => bench_sdk::run_producer(args).await?,
        BenchCommand::Consumer(args) => bench_sdk::run_consumer(args).await?,
        BenchCommand::Recovery {
            work,
            store_gib,
            tail_mib,
            topics,
            queues_per_topic,
            body_bytes,
            batch,
            connections,
            rounds,
            java_classpath,
            java,
            ferrocket_bin,
            disk_used_max_percent,
            keep_store,
        } => {
            let options = bench_recovery::BenchRecoveryOptions {
                work,
                store_bytes: (store_gib * f64::from(1u32 << 30)) as u64,
                tail_bytes: tail_mib << 20,
                topics,
                queues_per_topic,
                body_bytes,
                batch,
                connections,
                rounds,
                ferrocket_bin: match ferrocket_bin {
                    Some(path) => path,
                    None => std::env::current_exe()?,
                },
                java_bin: java,
                java_classpath,
                disk_used_max: f64::from(disk_used_max_percent) / 100.0,
                keep_store,
            };
            let report = bench_recovery::run(options).await?;
            println!("{report}");
        }
        BenchCommand::Responder { port, tls } => bench_broker::serve_responder(port, tls).await?,
        BenchCommand::Net {
            seconds,
            in_flight,
            body_bytes,
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
