//! `ferrocket bench store`: our store's append and read throughput, each shown beside this
//! machine's own limits measured in the same run, on the same file system.
//!
//! The limits: sequential write bandwidth (1 MiB writes, then one `fsync`, so the figure is what
//! reached the device) and `fsync`s per second (4 KiB written in order into a file created sparse
//! at full size, as a segment is, each followed by `fdatasync`).
//! Appends: 128 B and 1 KiB bodies under ASYNC_FLUSH and SYNC_FLUSH with 1, 16 and 64 concurrent
//! writers (tokio tasks calling `StoreHandle::put`, each waiting for its answer), each case on a
//! fresh store for a fixed time. Reads: one pass over everything the last 1 KiB ASYNC case wrote,
//! 32 messages per `get_messages`, from the page cache.
//!
//! SYNC_FLUSH is bounded by fsyncs: one writer gets at most one message per fsync; group commit
//! lets many writers share one, so `msgs/s ÷ fsyncs/s` is the batching the store achieved.
//!
//! With a Java classpath, the official Java store (rocketmq-store 5.3.3) runs each case right after
//! ours, on a fresh directory of its own for the same time, and the report adds ours/Java ratios
//! ([`java`]). Only one of the two stores exists at any moment.

mod java;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use ferrocket_store::{
    Clock, FlushDiskType, GetMessages, MessageStoreConfig, PutStatus, QueueId, QueueOffset, StoreHandle,
};
use ferrocket_wire::message::StoredMessage;
use ferrocket_wire::message::properties::MessageProperties;
use ferrocket_wire::message::record::MessageVersion;

use crate::bench_net::percentile;
use java::{Comparison, JavaStore, flush_name};
pub use java::{JavaSide, JavaStoreOptions};

/// Bytes written to measure sequential bandwidth: well past any drive cache, short enough to run
/// in a few seconds.
const SEQUENTIAL_PROBE_BYTES: usize = 512 * 1024 * 1024;
const SEQUENTIAL_CHUNK_BYTES: usize = 1024 * 1024;
/// How long the fsync probe loops.
const FSYNC_PROBE: Duration = Duration::from_secs(2);
const FSYNC_PROBE_CHUNK_BYTES: usize = 4096;
/// Room for the probe's writes: 2 s at 100,000 fsyncs/s would need 800 MiB; no disk here does
/// half of that, and the file is sparse.
const FSYNC_PROBE_FILE_BYTES: u64 = 1 << 30;
/// Queues the writers spread over, like a topic's default 8.
const QUEUES: i32 = 8;
const TOPIC: &str = "BenchStore";
/// Messages per read call: Java's `maxTransferCountOnMessageInMemory`.
const READ_BATCH: u32 = 32;
/// 64 MiB segments: several roll-overs per case without gigabyte files.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct BenchStoreOptions {
    /// Where the probe files and stores go; a temporary directory inside it is removed after.
    pub dir: PathBuf,
    pub case_duration: Duration,
    pub body_sizes: Vec<usize>,
    pub writers: Vec<usize>,
    /// `None` skips the Java side.
    pub java: Option<JavaStoreOptions>,
}

#[derive(Debug, Clone)]
pub struct MachineLimits {
    pub sequential_write_mib_s: f64,
    pub fsyncs_per_s: f64,
}

#[derive(Debug, Clone)]
pub struct AppendCase {
    pub body_bytes: usize,
    pub flush: FlushDiskType,
    pub writers: usize,
    pub messages: u64,
    pub failures: u64,
    pub elapsed: Duration,
    /// Bytes of records written (body plus record overhead).
    pub record_bytes: u64,
    pub p50: Duration,
    pub p99: Duration,
}

impl AppendCase {
    fn messages_per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    fn mib_per_s(&self) -> f64 {
        self.record_bytes as f64 / self.elapsed.as_secs_f64() / (1024.0 * 1024.0)
    }
}

#[derive(Debug, Clone)]
pub struct ReadPass {
    pub messages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl ReadPass {
    fn messages_per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

#[derive(Debug, Clone)]
pub struct BenchStoreReport {
    pub limits: MachineLimits,
    pub appends: Vec<AppendCase>,
    pub read: Option<ReadPass>,
    /// `None` when the Java side was skipped.
    pub java: Option<JavaSide>,
}

pub async fn run(options: BenchStoreOptions) -> anyhow::Result<BenchStoreReport> {
    std::fs::create_dir_all(&options.dir).with_context(|| format!("creating {}", options.dir.display()))?;
    let scratch = tempfile::tempdir_in(&options.dir).context("creating a scratch directory")?;
    let limits = tokio::task::spawn_blocking({
        let dir = scratch.path().to_owned();
        move || measure_limits(&dir)
    })
    .await??;
    let mut java = match &options.java {
        Some(java_options) => Some(JavaStore::start(java_options, scratch.path()).await?),
        None => None,
    };
    let mut appends = Vec::new();
    let mut read = None;
    for &body_bytes in &options.body_sizes {
        for flush in [FlushDiskType::Async, FlushDiskType::Sync] {
            for &writers in &options.writers {
                let spec = CaseSpec {
                    body_bytes,
                    flush,
                    writers,
                    // The read pass follows the last ASYNC case of the last (1 KiB) size, on both sides.
                    reads: flush == FlushDiskType::Async
                        && body_bytes == options.body_sizes.last().copied().unwrap_or(0)
                        && writers == options.writers.last().copied().unwrap_or(0),
                };
                let root = scratch.path().join(format!("store-{body_bytes}-{flush:?}-{writers}"));
                let store = open_store(&root, flush)?;
                let case = append_case(&store, body_bytes, flush, writers, options.case_duration).await;
                if spec.reads {
                    read = Some(read_pass(&store)?);
                }
                store.shutdown();
                std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
                eprintln!("{}", CaseLine(&case, &limits));
                appends.push(case);
                if let Some(java) = java.as_mut() {
                    let case = java.measure(scratch.path(), spec, options.case_duration).await?;
                    eprintln!("{} java", CaseLine(case, &limits));
                }
            }
        }
    }
    Ok(BenchStoreReport {
        limits,
        appends,
        read,
        java: java.map(JavaStore::into_side),
    })
}

/// One case's parameters, the same for ours and Java's.
#[derive(Debug, Clone, Copy)]
struct CaseSpec {
    body_bytes: usize,
    flush: FlushDiskType,
    writers: usize,
    /// A read pass follows the appends.
    reads: bool,
}

fn open_store(root: &Path, flush: FlushDiskType) -> anyhow::Result<StoreHandle> {
    let mut config = MessageStoreConfig::new(root);
    config.commit_log_segment_bytes = SEGMENT_BYTES;
    config.flush_disk_type = flush;
    StoreHandle::open(config, Arc::new(|_: &ferrocket_store::Arrival| {}), Clock::system())
        .with_context(|| format!("opening {}", root.display()))
}

async fn append_case(
    store: &StoreHandle,
    body_bytes: usize,
    flush: FlushDiskType,
    writers: usize,
    duration: Duration,
) -> AppendCase {
    let body = Bytes::from(vec![b'x'; body_bytes]);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(writers);
    for writer in 0..writers {
        let store = store.clone();
        let body = body.clone();
        let queue_id = i32::try_from(writer).unwrap_or(0) % QUEUES;
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            let (mut record_bytes, mut failures) = (0u64, 0u64);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = store.put(message(queue_id, body.clone())).await;
                match (outcome.status, outcome.result) {
                    (PutStatus::PutOk, Some(result)) => {
                        record_bytes += u64::from(result.wrote_bytes);
                        latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    _ => failures += 1,
                }
            }
            (latencies_us, record_bytes, failures)
        }));
    }
    let (mut latencies_us, mut record_bytes, mut failures) = (Vec::new(), 0, 0);
    for task in tasks {
        if let Ok((latencies, bytes, failed)) = task.await {
            latencies_us.extend(latencies);
            record_bytes += bytes;
            failures += failed;
        }
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    AppendCase {
        body_bytes,
        flush,
        writers,
        messages: latencies_us.len() as u64,
        failures,
        elapsed,
        record_bytes,
        p50: percentile(&latencies_us, 50),
        p99: percentile(&latencies_us, 99),
    }
}

fn read_pass(store: &StoreHandle) -> anyhow::Result<ReadPass> {
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    for queue_id in (0..QUEUES).map(QueueId) {
        let mut offset = QueueOffset(0);
        loop {
            let query = GetMessages {
                topic: TOPIC,
                queue_id,
                offset,
                max_count: READ_BATCH,
                filter: None,
                record_filter: None,
            };
            let result = store.read(|s| s.get_messages(&query))?;
            if result.records.is_empty() {
                break;
            }
            messages += result.records.len() as u64;
            bytes += result.records.iter().map(|record| record.len() as u64).sum::<u64>();
            offset = result.next_begin_offset;
        }
    }
    Ok(ReadPass {
        messages,
        bytes,
        elapsed: started.elapsed(),
    })
}

fn message(queue_id: i32, body: Bytes) -> StoredMessage {
    let host: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 10911));
    let mut properties = MessageProperties::new();
    properties.insert("TAGS", "bench");
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: 0,
        born_host: host,
        store_timestamp_ms: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        topic: TOPIC.to_owned(),
        properties,
    }
}

fn measure_limits(dir: &Path) -> anyhow::Result<MachineLimits> {
    let path = dir.join("sequential-probe");
    let mut file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let chunk = vec![0x5au8; SEQUENTIAL_CHUNK_BYTES];
    let started = Instant::now();
    for _ in 0..SEQUENTIAL_PROBE_BYTES / SEQUENTIAL_CHUNK_BYTES {
        file.write_all(&chunk)?;
    }
    file.sync_all()?;
    let sequential = SEQUENTIAL_PROBE_BYTES as f64 / started.elapsed().as_secs_f64() / (1024.0 * 1024.0);
    drop(file);
    std::fs::remove_file(&path)?;

    // Like a store segment: created sparse at full size, then written in order, each write
    // followed by `fdatasync` (block allocation, no size change, as the store's appends).
    let path = dir.join("fsync-probe");
    let file = OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    file.set_len(FSYNC_PROBE_FILE_BYTES)?;
    let chunk = vec![0x5au8; FSYNC_PROBE_CHUNK_BYTES];
    let started = Instant::now();
    let mut syncs = 0u64;
    let mut position = 0u64;
    while started.elapsed() < FSYNC_PROBE && position + chunk.len() as u64 <= FSYNC_PROBE_FILE_BYTES {
        file.write_all_at(&chunk, position)?;
        file.sync_data()?;
        position += chunk.len() as u64;
        syncs += 1;
    }
    let fsyncs_per_s = syncs as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    if syncs == 0 {
        bail!("the fsync probe did not complete a single fsync");
    }
    Ok(MachineLimits {
        sequential_write_mib_s: sequential,
        fsyncs_per_s,
    })
}

struct CaseLine<'a>(&'a AppendCase, &'a MachineLimits);

impl fmt::Display for CaseLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CaseLine(case, limits) = self;
        let versus = match case.flush {
            FlushDiskType::Async => format!(
                "{:.2} of seq. bandwidth",
                case.mib_per_s() / limits.sequential_write_mib_s
            ),
            FlushDiskType::Sync => format!("{:.1} msgs per fsync", case.messages_per_s() / limits.fsyncs_per_s),
        };
        write!(
            f,
            "| {:>5} B | {:<5} | {:>3} | {:>10.0} | {:>8.1} | {:>7.2} | {:>7.2} | {} | {:<24} |",
            case.body_bytes,
            flush_name(case.flush),
            case.writers,
            case.messages_per_s(),
            case.mib_per_s(),
            case.p50.as_secs_f64() * 1000.0,
            case.p99.as_secs_f64() * 1000.0,
            case.failures,
            versus
        )
    }
}

impl fmt::Display for BenchStoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "machine limits (same file system, same run): sequential write {:.0} MiB/s (1 MiB writes + fsync); {:.0} fsyncs/s (4 KiB + fdatasync)",
            self.limits.sequential_write_mib_s, self.limits.fsyncs_per_s
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| body | flush | writers | msgs/s | MiB/s | p50 ms | p99 ms | failed | beside the machine |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|")?;
        for case in &self.appends {
            writeln!(f, "{}", CaseLine(case, &self.limits))?;
        }
        if let Some(read) = &self.read {
            let secs = read.elapsed.as_secs_f64();
            writeln!(f)?;
            writeln!(
                f,
                "page-cache reads: {} messages, {:.0} msgs/s, {:.0} MiB/s ({} per call), {:.2} of seq. write bandwidth",
                read.messages,
                read.messages as f64 / secs,
                read.bytes as f64 / secs / (1024.0 * 1024.0),
                READ_BATCH,
                read.bytes as f64 / secs / (1024.0 * 1024.0) / self.limits.sequential_write_mib_s
            )?;
        }
        writeln!(f)?;
        match &self.java {
            Some(java) => write!(
                f,
                "{}",
                Comparison {
                    ours: &self.appends,
                    ours_read: self.read.as_ref(),
                    java,
                }
            )?,
            None => writeln!(
                f,
                "java store 5.3.3: skipped (give --java-classpath; see interop/java/store-bench/pom.xml)"
            )?,
        }
        Ok(())
    }
}
