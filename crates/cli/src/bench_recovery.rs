//! `ferrocket bench recovery`: how long a broker takes to listen again after a SIGKILL with a
//! large store, and then to answer every acknowledged message — ours beside the official Java
//! 5.3.3 broker recovering the same store in the same run (issue 13).
//!
//! The method, turn by turn (`rounds` turns of ours and of Java's, alternating, ours first):
//! 1. A `ferrocket broker` writes: `connections` connections send SEND_BATCH_MESSAGE of `batch`
//!    messages of `body_bytes` to `topics` × `queues_per_topic` queues in turn (topics created on
//!    the first send), remembering for every queue the last acknowledged queue offset and its
//!    UNIQ_KEY. The first turn writes until `store_bytes` are acknowledged, later turns
//!    `tail_bytes` more.
//! 2. While the sends are still going, the broker gets SIGKILL: no shutdown, no last flush, the
//!    checkpoint as the flush thread last wrote it, the abort file left behind.
//! 3. The recovering broker (ours, or Java's on the very same store: our commit log, consume
//!    queues, checkpoint and `config/` are Java's formats) is started; timed from the exec to
//!    the first accepted TCP connection, then to the end of the check: for every queue
//!    GET_MAX_OFFSET is at least the last acknowledged offset + 1, and a pull at the tail
//!    returns that last acknowledged message with its UNIQ_KEY.
//! 4. The recovering broker is killed as well (idle), and the next turn's writer (ours) starts on
//!    what it left; that start is timed too, but it recovers whoever was killed last.
//!
//! Both brokers run without a name server (registration is not what is measured). The store is
//! deleted at the end unless `keep_store`; the run stops if the disk passes `disk_used_max`.

use std::fmt;
use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::header::{
    CustomHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::message::batch::{BatchMember, encode_batch};
use ferrocket_wire::message::record::decode_all;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A broker recovering 10 GiB on a loaded machine may take long; past this it is broken.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the port is tried while a broker starts: the resolution of the figures.
const LISTEN_POLL: Duration = Duration::from_millis(5);
/// A loopback request that takes this long means the broker is broken.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pulls of one queue's tail before the check gives up on finding its last acknowledged message.
const TAIL_PULLS_MAX: u32 = 50;
/// Messages a tail pull asks for: the last acknowledged one and the few before it.
const TAIL_PULL_MESSAGES: i32 = 4;
/// Connections the check runs on.
const CHECK_CONNECTIONS: usize = 8;
/// `PullSysFlag.FLAG_SUBSCRIPTION`: the subscription travels in the request.
const PULL_SYS_FLAG_SUBSCRIPTION: i32 = 0x4;
/// How often the writer's progress and the disk are looked at.
const WRITE_POLL: Duration = Duration::from_millis(20);
/// What JDK 17 needs opened for the 5.3.3 broker's direct buffers.
const JAVA_OPENS: [&str; 3] = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
];

/// What `bench recovery` runs.
#[derive(Debug, Clone)]
pub struct BenchRecoveryOptions {
    /// The store and the brokers' files go here (a real file system, not a tmpfs).
    pub work: PathBuf,
    /// Message bytes the first turn writes before the kill.
    pub store_bytes: u64,
    /// Message bytes every later turn writes before its kill.
    pub tail_bytes: u64,
    pub topics: usize,
    pub queues_per_topic: i32,
    pub body_bytes: usize,
    pub batch: usize,
    pub connections: usize,
    /// Turns of each broker.
    pub rounds: u32,
    pub ferrocket_bin: PathBuf,
    pub java_bin: PathBuf,
    /// The runtime classpath of rocketmq-broker 5.3.3; `None` skips Java.
    pub java_classpath: Option<String>,
    /// The run stops (and deletes the store) when the disk's used ratio passes this.
    pub disk_used_max: f64,
    pub keep_store: bool,
}

/// Which broker recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broker {
    Ferrocket,
    Java,
}

impl Broker {
    fn name(self) -> &'static str {
        match self {
            Broker::Ferrocket => "ferrocket",
            Broker::Java => "java 5.3.3",
        }
    }
}

/// One timed start.
#[derive(Debug, Clone)]
struct Recovery {
    broker: Broker,
    /// Who was killed last: the kind of store this start recovered.
    after_kill_of: Broker,
    /// Killed while writing (the measured case) or idle after its own check.
    killed_writing: bool,
    listening: Duration,
    checked: Duration,
    log_bytes: u64,
    load: String,
}

/// The last acknowledged message of one queue.
#[derive(Debug, Clone, Default)]
struct Acked {
    /// -1 while nothing was acknowledged.
    offset: i64,
    key: String,
}

/// Every queue's last acknowledged message, indexed by `topic * queues_per_topic + queue`.
type AckTable = Vec<Acked>;

pub struct BenchRecoveryReport {
    options: BenchRecoveryOptions,
    recoveries: Vec<Recovery>,
    fill: Duration,
}

/// Runs the benchmark; the store is removed afterwards (also on failure) unless kept.
pub async fn run(options: BenchRecoveryOptions) -> anyhow::Result<BenchRecoveryReport> {
    if options.topics == 0 || options.queues_per_topic <= 0 || options.batch == 0 || options.connections == 0 {
        bail!("topics, queues per topic, batch and connections must be positive");
    }
    let store = options.work.join("store");
    std::fs::create_dir_all(&store).with_context(|| format!("cannot create {}", store.display()))?;
    let result = turns(&options, &store).await;
    if !options.keep_store {
        let _ = std::fs::remove_dir_all(&options.work);
    }
    result
}

async fn turns(options: &BenchRecoveryOptions, store: &Path) -> anyhow::Result<BenchRecoveryReport> {
    let queues = options.topics * usize::try_from(options.queues_per_topic).unwrap_or(1);
    let mut acked: AckTable = vec![
        Acked {
            offset: -1,
            key: String::new()
        };
        queues
    ];
    let mut order = Vec::new();
    for _ in 0..options.rounds {
        order.push(Broker::Ferrocket);
        if options.java_classpath.is_some() {
            order.push(Broker::Java);
        }
    }
    let mut recoveries = Vec::new();
    let mut last_killed = Broker::Ferrocket;
    let mut fill = Duration::ZERO;
    for (turn, recoverer) in order.into_iter().enumerate() {
        // The writer: ours, on whatever the previous turn left (timed, as a secondary figure).
        let started = Instant::now();
        let mut writer = ServerProcess::start(Broker::Ferrocket, options, store, turn)?;
        let (listening, checked) = writer.await_ready(&acked).await?;
        if turn > 0 {
            recoveries.push(Recovery {
                broker: Broker::Ferrocket,
                after_kill_of: last_killed,
                killed_writing: false,
                listening,
                checked,
                log_bytes: commit_log_bytes(store),
                load: load_average(),
            });
        }
        let budget = if turn == 0 {
            options.store_bytes
        } else {
            options.tail_bytes
        };
        write_then_kill(&mut writer, options, &mut acked, budget).await?;
        if turn == 0 {
            fill = started.elapsed();
        }
        let mut recovering = ServerProcess::start(recoverer, options, store, turn)?;
        let (listening, checked) = recovering.await_ready(&acked).await?;
        recoveries.push(Recovery {
            broker: recoverer,
            after_kill_of: Broker::Ferrocket,
            killed_writing: true,
            listening,
            checked,
            log_bytes: commit_log_bytes(store),
            load: load_average(),
        });
        eprintln!("{}", recoveries.last().map(ToString::to_string).unwrap_or_default());
        recovering.kill();
        last_killed = recoverer;
    }
    Ok(BenchRecoveryReport {
        options: options.clone(),
        recoveries,
        fill,
    })
}

/// One broker process on the store; killed (SIGKILL) when dropped.
struct ServerProcess {
    broker: Broker,
    addr: String,
    child: Child,
    started: Instant,
    queues_per_topic: i32,
}

impl ServerProcess {
    fn start(broker: Broker, options: &BenchRecoveryOptions, store: &Path, turn: usize) -> anyhow::Result<Self> {
        let port = free_broker_port()?;
        let dir = options.work.join(format!("turn-{turn}-{}", broker_dir_name(broker)));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("broker.conf");
        let mut text = format!(
            "brokerClusterName=RecoveryBench\nbrokerName=broker-recovery\nbrokerId=0\n\
             brokerRole=ASYNC_MASTER\nflushDiskType=ASYNC_FLUSH\nbrokerIP1=127.0.0.1\n\
             listenPort={port}\nstorePathRootDir={}\nautoCreateTopicEnable=true\n\
             defaultTopicQueueNums={}\n",
            store.display(),
            options.queues_per_topic
        );
        let mut command = match broker {
            Broker::Ferrocket => {
                let mut command = Command::new(&options.ferrocket_bin);
                command.args(["broker", "-c"]).arg(&conf);
                command
            }
            Broker::Java => {
                let Some(classpath) = &options.java_classpath else {
                    bail!("the Java broker needs --java-classpath");
                };
                text.push_str("timerWheelEnable=false\n");
                let mut command = Command::new(&options.java_bin);
                command
                    .args(["-Xms1g", "-Xmx1g"])
                    .args(JAVA_OPENS)
                    .arg(format!("-Duser.home={}", dir.display()))
                    .args(["-cp", classpath, "org.apache.rocketmq.broker.BrokerStartup", "-c"])
                    .arg(&conf)
                    .env("ROCKETMQ_HOME", &dir);
                command
            }
        };
        std::fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))?;
        let log = File::create(dir.join("broker.log")).context("cannot create the broker log")?;
        let started = Instant::now();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", broker.name()))?;
        Ok(ServerProcess {
            broker,
            addr: format!("127.0.0.1:{port}"),
            child,
            started,
            queues_per_topic: options.queues_per_topic,
        })
    }

    /// Time from the exec to the port accepting, and to every acknowledged message checked.
    async fn await_ready(&mut self, acked: &AckTable) -> anyhow::Result<(Duration, Duration)> {
        let deadline = self.started + LISTEN_TIMEOUT;
        while tokio::net::TcpStream::connect(&self.addr).await.is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("{} exited while starting: {status}", self.broker.name());
            }
            if Instant::now() > deadline {
                bail!("{} did not listen within {LISTEN_TIMEOUT:?}", self.broker.name());
            }
            tokio::time::sleep(LISTEN_POLL).await;
        }
        let listening = self.started.elapsed();
        check_acknowledged(&self.addr, acked, self.queues_per_topic)
            .await
            .with_context(|| format!("{} after recovery", self.broker.name()))?;
        Ok((listening, self.started.elapsed()))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn broker_dir_name(broker: Broker) -> &'static str {
    match broker {
        Broker::Ferrocket => "ferrocket",
        Broker::Java => "java",
    }
}

/// Sends until `budget` message bytes are acknowledged, then kills the broker mid-send.
async fn write_then_kill(
    writer: &mut ServerProcess,
    options: &BenchRecoveryOptions,
    acked: &mut AckTable,
    budget: u64,
) -> anyhow::Result<()> {
    let acked_bytes = Arc::new(AtomicU64::new(0));
    let killing = Arc::new(AtomicBool::new(false));
    let mut senders = JoinSet::new();
    for connection in 0..options.connections {
        let mine: Vec<(usize, Acked)> = acked
            .iter()
            .enumerate()
            .filter(|(queue, _)| queue % options.connections == connection)
            .map(|(queue, ack)| (queue, ack.clone()))
            .collect();
        let sender = Sender {
            addr: writer.addr.clone(),
            connection,
            options: options.clone(),
            acked_bytes: Arc::clone(&acked_bytes),
            killing: Arc::clone(&killing),
        };
        senders.spawn(async move { sender.send(mine).await });
    }
    let mut disk_full = None;
    while acked_bytes.load(Ordering::Relaxed) < budget && !senders.is_empty() {
        if let Some(ratio) = ferrocket_store::used_ratio_of(&options.work)
            && ratio > options.disk_used_max
        {
            disk_full = Some(ratio);
            break;
        }
        if let Ok(Some(status)) = writer.child.try_wait() {
            bail!("the writing broker exited: {status}");
        }
        tokio::time::sleep(WRITE_POLL).await;
    }
    killing.store(true, Ordering::SeqCst);
    writer.kill();
    while let Some(joined) = senders.join_next().await {
        for (queue, ack) in joined.context("a sender panicked")?? {
            if let Some(slot) = acked.get_mut(queue) {
                *slot = ack;
            }
        }
    }
    if let Some(ratio) = disk_full {
        bail!(
            "the disk is {:.0} % used, above the {:.0} % allowed",
            ratio * 100.0,
            options.disk_used_max * 100.0
        );
    }
    Ok(())
}

/// One sending connection and the queues it owns.
struct Sender {
    addr: String,
    connection: usize,
    options: BenchRecoveryOptions,
    acked_bytes: Arc<AtomicU64>,
    killing: Arc<AtomicBool>,
}

impl Sender {
    /// Sends batches to its queues in turn until the broker dies; returns their last acks.
    async fn send(self, mut mine: Vec<(usize, Acked)>) -> anyhow::Result<Vec<(usize, Acked)>> {
        let client = Client::new(Router::new(), ClientConfig::default());
        let body = Bytes::from(vec![b'r'; self.options.body_bytes]);
        let batch_bytes = (self.options.body_bytes * self.options.batch) as u64;
        let mut sent = 0u64;
        let result = 'sending: loop {
            for (queue, ack) in &mut mine {
                let (request, keys) = self.batch_request(*queue, &body, sent)?;
                sent += 1;
                let response = match client.invoke(&self.addr, request, REQUEST_TIMEOUT).await {
                    Ok(response) => response,
                    // The kill: the answer to this batch never came, so it is not acknowledged.
                    Err(_) if self.killing.load(Ordering::SeqCst) => break 'sending Ok(()),
                    Err(error) => break 'sending Err(anyhow::Error::new(error).context("send")),
                };
                if response.code == ResponseCode::SYSTEM_BUSY.0 {
                    continue;
                }
                if response.code != ResponseCode::SUCCESS.0 {
                    break 'sending Err(anyhow::anyhow!(
                        "send answered {}: {:?}",
                        response.code,
                        response.remark
                    ));
                }
                let header = SendMessageResponseHeader::from_command(&response)?;
                let last = header.queue_offset + keys.len() as i64 - 1;
                if last > ack.offset {
                    ack.offset = last;
                    ack.key = keys.last().cloned().unwrap_or_default();
                }
                self.acked_bytes.fetch_add(batch_bytes, Ordering::Relaxed);
            }
            if self.killing.load(Ordering::SeqCst) {
                break Ok(());
            }
        };
        client.shutdown().await;
        result.map(|()| mine)
    }

    /// SEND_BATCH_MESSAGE of `batch` messages to one queue, each with its own UNIQ_KEY.
    fn batch_request(&self, queue: usize, body: &Bytes, sent: u64) -> anyhow::Result<(RemotingCommand, Vec<String>)> {
        let (topic, queue_id) = topic_of(self.options.queues_per_topic, queue);
        let keys: Vec<String> = (0..self.options.batch)
            .map(|member| format!("7F000001{:08X}{sent:012X}{member:04X}", self.connection))
            .collect();
        let members: Vec<BatchMember> = keys
            .iter()
            .map(|key| BatchMember {
                flag: 0,
                body: body.clone(),
                properties: [("UNIQ_KEY", key.clone()), ("WAIT", "false".to_owned())]
                    .into_iter()
                    .collect(),
            })
            .collect();
        let mut encoded = BytesMut::new();
        encode_batch(&members, &mut encoded)?;
        let properties = [("WAIT", "false")]
            .into_iter()
            .collect::<MessageProperties>()
            .encode()?;
        let fields = SendMessageRequestHeaderV2 {
            producer_group: "ferrocket_recovery_producer".into(),
            topic,
            default_topic: "TBW102".into(),
            default_topic_queue_nums: self.options.queues_per_topic,
            queue_id,
            born_timestamp: 1_700_000_000_000,
            properties: Some(properties),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(true),
            ..SendMessageRequestHeaderV2::default()
        };
        let request = RemotingCommand::request(RequestCode::SEND_BATCH_MESSAGE)
            .with_ext_fields(fields.to_ext_fields())
            .with_body(encoded.freeze());
        Ok((request, keys))
    }
}

/// The topic and queue id of queue number `queue`.
fn topic_of(queues_per_topic: i32, queue: usize) -> (String, i32) {
    let per_topic = usize::try_from(queues_per_topic).unwrap_or(1).max(1);
    (
        format!("RecoveryBench{:04}", queue / per_topic),
        i32::try_from(queue % per_topic).unwrap_or(0),
    )
}

/// Every queue's max offset covers its last acknowledged message, which a tail pull returns.
async fn check_acknowledged(addr: &str, acked: &AckTable, queues_per_topic: i32) -> anyhow::Result<()> {
    let mut checkers = JoinSet::new();
    for connection in 0..CHECK_CONNECTIONS {
        let mine: Vec<(usize, Acked)> = acked
            .iter()
            .enumerate()
            .filter(|(queue, ack)| queue % CHECK_CONNECTIONS == connection && ack.offset >= 0)
            .map(|(queue, ack)| (queue, ack.clone()))
            .collect();
        let addr = addr.to_owned();
        checkers.spawn(async move { check_queues(&addr, mine, queues_per_topic).await });
    }
    while let Some(joined) = checkers.join_next().await {
        joined.context("a checker panicked")??;
    }
    Ok(())
}

async fn check_queues(addr: &str, mine: Vec<(usize, Acked)>, queues_per_topic: i32) -> anyhow::Result<()> {
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut result = Ok(());
    for (queue, ack) in &mine {
        let (topic, queue_id) = topic_of(queues_per_topic, *queue);
        result = check_queue(&client, addr, &topic, queue_id, ack)
            .await
            .with_context(|| format!("{topic} queue {queue_id}"));
        if result.is_err() {
            break;
        }
    }
    client.shutdown().await;
    result
}

/// GET_MAX_OFFSET above the last acknowledged offset, and that message pulled back by its key.
async fn check_queue(client: &Client, addr: &str, topic: &str, queue_id: i32, ack: &Acked) -> anyhow::Result<()> {
    let fields = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id,
        ..GetMaxOffsetRequestHeader::default()
    };
    let request = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(fields.to_ext_fields());
    let response = client.invoke(addr, request, REQUEST_TIMEOUT).await?;
    if response.code != ResponseCode::SUCCESS.0 {
        bail!("GET_MAX_OFFSET answered {}: {:?}", response.code, response.remark);
    }
    let max_offset = GetMaxOffsetResponseHeader::from_command(&response)?.offset;
    if max_offset <= ack.offset {
        bail!(
            "max offset {max_offset}, but offset {} was acknowledged: acknowledged messages lost",
            ack.offset
        );
    }
    let mut offset = (ack.offset - i64::from(TAIL_PULL_MESSAGES) + 1).max(0);
    for _ in 0..TAIL_PULLS_MAX {
        let fields = PullMessageRequestHeader {
            consumer_group: "ferrocket_recovery_check".into(),
            topic: topic.into(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: TAIL_PULL_MESSAGES,
            sys_flag: PULL_SYS_FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            ..PullMessageRequestHeader::default()
        };
        let request = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(fields.to_ext_fields());
        let response = client.invoke(addr, request, REQUEST_TIMEOUT).await?;
        match ResponseCode(response.code) {
            ResponseCode::SUCCESS => {}
            ResponseCode::PULL_NOT_FOUND | ResponseCode::PULL_RETRY_IMMEDIATELY => {
                // Not there yet (a broker still dispatching): ask again shortly.
                tokio::time::sleep(LISTEN_POLL).await;
                continue;
            }
            _ => bail!("pull at {offset} answered {}: {:?}", response.code, response.remark),
        }
        let decoded = decode_all(response.body.as_deref().unwrap_or_default());
        if let Some(last) = decoded
            .messages
            .iter()
            .find(|message| message.queue_offset == ack.offset)
        {
            let key = last.properties.get("UNIQ_KEY").unwrap_or_default();
            if key != ack.key {
                bail!(
                    "offset {} holds {key}, but {} was acknowledged there",
                    ack.offset,
                    ack.key
                );
            }
            return Ok(());
        }
        let next = PullMessageResponseHeader::from_command(&response)?.next_begin_offset;
        offset = next.max(offset + 1);
        if offset > ack.offset {
            bail!("the pulls passed offset {} without returning it", ack.offset);
        }
    }
    bail!("offset {} was not returned by {TAIL_PULLS_MAX} pulls", ack.offset)
}

/// The bytes the commit log's files take on disk.
fn commit_log_bytes(store: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(store.join("commitlog")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| std::os::unix::fs::MetadataExt::blocks(&metadata) * 512)
        .sum()
}

/// `/proc/loadavg`'s three averages, printed with every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A free port whose successor (the HA port both brokers take) is free too.
fn free_broker_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let port = free_port()?;
        if port < u16::MAX && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no two consecutive free loopback ports")
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<11} after SIGKILL of {} ({}), commit log {:.2} GiB: listening {:>7.3} s, \
             every acknowledged message readable {:>7.3} s (load {})",
            self.broker.name(),
            self.after_kill_of.name(),
            if self.killed_writing { "while writing" } else { "idle" },
            self.log_bytes as f64 / f64::from(1u32 << 30),
            self.listening.as_secs_f64(),
            self.checked.as_secs_f64(),
            self.load
        )
    }
}

impl fmt::Display for BenchRecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "bench recovery: {} topics x {} queues, {} B bodies in batches of {}, {} connections; \
             first fill {:.1} GiB in {:.1} s, then {:.2} GiB per turn",
            o.topics,
            o.queues_per_topic,
            o.body_bytes,
            o.batch,
            o.connections,
            o.store_bytes as f64 / f64::from(1u32 << 30),
            self.fill.as_secs_f64(),
            o.tail_bytes as f64 / f64::from(1u32 << 30),
        )?;
        for recovery in &self.recoveries {
            writeln!(f, "  {recovery}")?;
        }
        let measured = |broker: Broker| -> Vec<&Recovery> {
            self.recoveries
                .iter()
                .filter(|r| r.broker == broker && r.killed_writing)
                .collect()
        };
        let (ours, java) = (measured(Broker::Ferrocket), measured(Broker::Java));
        for (a, b) in ours.iter().zip(java.iter()) {
            writeln!(
                f,
                "  ratio java/ferrocket after a kill while writing: listening {:.1}x, readable {:.1}x",
                b.listening.as_secs_f64() / a.listening.as_secs_f64().max(1e-6),
                b.checked.as_secs_f64() / a.checked.as_secs_f64().max(1e-6),
            )?;
        }
        Ok(())
    }
}
