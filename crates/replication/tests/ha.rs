//! Replication between a master and a slave over real commit logs on loopback: byte-identical
//! segment files, resumption after a slave restart, SYNC_MASTER waits, and the raw frames each
//! side puts on the wire (store-and-ha.md §7). The commit log's own `read_chunk`/`append_raw`
//! rules are tested in the store (`crates/store/tests/append_raw.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrocket_replication::{CommitLogSource, HaConfig, HaMaster, HaSlave, ReplicaSink, SlaveStatus};
use ferrocket_store::{CommitLog, CommitLogConfig, CommitLogOffset, StoreResult};
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Generous: only a broken implementation waits this long.
const WAIT: Duration = Duration::from_secs(20);
/// Small segments, so a test's data spans several.
const SEGMENT_BYTES: u64 = 64 * 1024;

/// Record `n` of a test stream: queue `n % 4` of `TopicTest`, bodies that differ by `n`.
fn message(n: usize, body_bytes: usize) -> StoredMessage {
    let born_host: SocketAddr = "10.0.0.5:50000".parse().unwrap();
    let store_host: SocketAddr = "192.168.1.10:10911".parse().unwrap();
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: (n % 4) as i32,
        flag: 0,
        queue_offset: (n / 4) as i64,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: 1_700_000_000_000,
        born_host,
        store_timestamp_ms: 0,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from((0..body_bytes).map(|i| (i + n) as u8).collect::<Vec<u8>>()),
        topic: "TopicTest".to_owned(),
        properties: [("TAGS", format!("tag{}", n % 3)), ("UNIQ_KEY", format!("ID{n}"))]
            .into_iter()
            .collect(),
    }
}

fn config(dir: &Path) -> CommitLogConfig {
    CommitLogConfig {
        segment_bytes: SEGMENT_BYTES,
        ..CommitLogConfig::new(dir)
    }
}

/// Zeroes `[from, end of its segment)` and drops later segments: a crash that lost those writes.
fn tear_at(dir: &Path, from: u64) {
    let start = from - from % SEGMENT_BYTES;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name: u64 = entry.file_name().to_str().unwrap().parse().unwrap();
        if name > start {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    let path = dir.join(format!("{start:020}"));
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(from - start).unwrap();
    file.set_len(SEGMENT_BYTES).unwrap();
}

/// A commit log shared by the test and a replication task.
struct SharedLog(Mutex<CommitLog>, Mutex<Option<String>>);

impl SharedLog {
    fn open(dir: &Path) -> Arc<SharedLog> {
        Arc::new(SharedLog(
            Mutex::new(CommitLog::open(&config(dir)).unwrap()),
            Mutex::new(None),
        ))
    }

    /// Appends `count` records numbered from `first`; returns the log's new end.
    fn fill(&self, first: usize, count: usize) -> CommitLogOffset {
        let mut log = self.0.lock().unwrap();
        for n in first..first + count {
            log.append(&message(n, 100 + (n * 37) % 900), 1_700_000_001_000 + n as i64)
                .unwrap();
        }
        log.max_offset()
    }

    fn end(&self) -> CommitLogOffset {
        self.0.lock().unwrap().max_offset()
    }
}

impl CommitLogSource for SharedLog {
    fn max_offset(&self) -> CommitLogOffset {
        self.end()
    }
    fn segment_bytes(&self) -> u64 {
        self.0.lock().unwrap().segment_bytes()
    }
    fn read_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.0.lock().unwrap().read_chunk(offset, max_len)
    }
    fn append_recovered(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        self.0.lock().unwrap().append_raw(offset, bytes)
    }
    fn hold_puts(&self, held: Option<String>) {
        *self.1.lock().unwrap() = held;
    }
}

impl ReplicaSink for SharedLog {
    fn max_offset(&self) -> CommitLogOffset {
        self.end()
    }
    fn segment_bytes(&self) -> u64 {
        self.0.lock().unwrap().segment_bytes()
    }
    fn append_replicated(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        self.0.lock().unwrap().append_raw(offset, bytes)
    }
    fn read_replica_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.0.lock().unwrap().read_chunk(offset, max_len)
    }
}

fn fast_config() -> HaConfig {
    HaConfig {
        heartbeat_interval_ms: 200,
        reconnect_interval_ms: 50,
        ..HaConfig::default()
    }
}

async fn start_master(log: &Arc<SharedLog>, config: HaConfig) -> HaMaster {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    HaMaster::bind(any, log.clone(), config, Arc::new(|_| {}))
        .await
        .unwrap()
}

fn start_slave(log: &Arc<SharedLog>, master: &HaMaster, config: HaConfig) -> HaSlave {
    HaSlave::spawn(log.clone(), Some(master.local_addr().to_string()), config)
}

/// Appends a few records (inside the first segment) and waits until the slave holds them: its
/// transfer then started at 0, whatever the test appends next.
async fn start_at_zero(master_log: &SharedLog, master: &HaMaster) -> CommitLogOffset {
    let end = master_log.fill(0, 20);
    assert!(end < CommitLogOffset(SEGMENT_BYTES));
    master.notify_append(end);
    assert!(master.wait_for_slave(end, WAIT).await);
    end
}

async fn wait_status(slave: &HaSlave, done: impl FnMut(&SlaveStatus) -> bool) {
    let mut status = slave.subscribe_status();
    timeout(WAIT, status.wait_for(done)).await.unwrap().unwrap();
}

/// The segment files of `dir`, by name.
fn segment_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn assert_identical(master: &Path, slave: &Path) {
    let (master, slave) = (segment_files(master), segment_files(slave));
    assert_eq!(
        master.iter().map(|f| &f.0).collect::<Vec<_>>(),
        slave.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, m), (_, s)) in master.iter().zip(&slave) {
        assert!(m == s, "segment {name} differs");
    }
}

/// `[from, to)` of the master, across segments.
fn bytes_at_all(log: &SharedLog, from: u64, to: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut at = from;
    while at < to {
        let chunk = CommitLogSource::read_chunk(log, CommitLogOffset(at), u32::MAX).unwrap();
        at += chunk.len() as u64;
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_thousands_of_records_across_segments_byte_identical() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let master = start_master(&master_log, HaConfig::default()).await;
    let slave = start_slave(&slave_log, &master, HaConfig::default());
    start_at_zero(&master_log, &master).await;
    let mut end = CommitLogOffset(0);
    for batch in 1..30 {
        end = master_log.fill(batch * 100, 100);
        master.notify_append(end);
    }
    assert!(end.0 > 20 * SEGMENT_BYTES, "the data must span many segments");
    assert!(master.wait_for_slave(end, WAIT).await);
    wait_status(&slave, |s| s.reported_offset == end).await;
    assert_eq!(slave_log.end(), end);
    slave.shutdown().await;
    master.shutdown().await;
    assert_identical(master_dir.path(), slave_dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_slave_limit_is_closed_and_told_to_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let log = SharedLog::open(dir.path());
    let (refused_tx, mut refused) = tokio::sync::mpsc::unbounded_channel();
    let on_refused = Arc::new(move |addr: SocketAddr| {
        let _ = refused_tx.send(addr);
    });
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let master = HaMaster::bind(any, log.clone(), HaConfig::default(), on_refused)
        .await
        .unwrap();
    let mut slaves = Vec::new();
    for _ in 0..ferrocket_replication::SLAVES_MAX {
        slaves.push(TcpStream::connect(master.local_addr()).await.unwrap());
    }
    let mut extra = TcpStream::connect(master.local_addr()).await.unwrap();
    let told = timeout(WAIT, refused.recv()).await.unwrap().unwrap();
    assert_eq!(told, extra.local_addr().unwrap());
    // Closed without a byte.
    let mut byte = [0u8; 1];
    assert_eq!(timeout(WAIT, extra.read(&mut byte)).await.unwrap().unwrap_or(0), 0);
    assert_eq!(master.slaves().len(), ferrocket_replication::SLAVES_MAX);
    drop(slaves);
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_joining_late_starts_at_the_masters_last_segment() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let end = master_log.fill(0, 1000);
    let last = end.0 - end.0 % SEGMENT_BYTES;
    assert!(last > 0);
    let master = start_master(&master_log, HaConfig::default()).await;
    let slave = start_slave(&slave_log, &master, HaConfig::default());
    assert!(master.wait_for_slave(end, WAIT).await);
    assert_eq!(master.slaves()[0].request_offset, Some(CommitLogOffset(0)));
    slave.shutdown().await;
    master.shutdown().await;
    let slave_files = segment_files(slave_dir.path());
    assert_eq!(slave_files.len(), 1);
    assert_eq!(slave_files[0].0, format!("{last:020}"));
    assert!(slave_files[0].1 == fs::read(master_dir.path().join(format!("{last:020}"))).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_restarted_mid_stream_with_a_torn_tail_resumes_and_ends_identical() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master_log = SharedLog::open(master_dir.path());
    // Small frames, so records arrive in pieces and the stop falls inside the stream.
    let config = HaConfig {
        transfer_batch_bytes: 500,
        ..HaConfig::default()
    };
    let master = start_master(&master_log, config).await;
    let slave_log = SharedLog::open(slave_dir.path());
    let slave = start_slave(&slave_log, &master, config);
    start_at_zero(&master_log, &master).await;
    let end = master_log.fill(20, 3000);
    master.notify_append(end);
    wait_status(&slave, |s| s.reported_offset.0 > end.0 / 3).await;
    slave.shutdown().await;
    // Without a hop to the blocking pool the slave can take all 60 KB in one read before the
    // stop lands; the tear below still leaves it inside the stream either way.
    let stopped_at = CommitLogOffset(slave_log.end().0.min(end.0 / 2));
    assert!(stopped_at < end, "the slave must stop inside the stream");
    drop(slave_log);
    // A crash that lost the last record's tail: recovery cuts the log back to a record boundary.
    tear_at(slave_dir.path(), stopped_at.0 - 37);
    let slave_log = SharedLog::open(slave_dir.path());
    assert!(slave_log.end() < stopped_at);
    let end = master_log.fill(3020, 500);
    let slave = start_slave(&slave_log, &master, config);
    master.notify_append(end);
    wait_status(&slave, |s| s.reported_offset == end).await;
    assert_eq!(slave.status().connections_total, 1);
    slave.shutdown().await;
    master.shutdown().await;
    assert_identical(master_dir.path(), slave_dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_wait_needs_an_acknowledging_slave() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let master = start_master(&master_log, HaConfig::default()).await;
    let end = master_log.fill(0, 1);
    assert!(!master.slave_connected());
    assert!(!master.is_slave_ok(end));
    assert!(!master.wait_for_slave(end, Duration::from_millis(200)).await);
    let slave = start_slave(&slave_log, &master, HaConfig::default());
    let waiting = master.wait_for_slave(end, WAIT);
    master.notify_append(end);
    assert!(waiting.await);
    assert!(master.slave_connected());
    assert!(master.is_slave_ok(end));
    assert_eq!(master.push_max_offset(), end);
    assert_eq!(master.in_sync_replicas(end), 2);
    assert!(master.wait_for_replicas(end, 2, WAIT).await);
    assert!(!master.wait_for_replicas(end, 3, Duration::from_millis(100)).await);
    let later = master_log.fill(1, 1);
    assert!(!master.is_slave_ok(later.plus_bytes(HaConfig::default().max_gap_not_in_sync)));
    slave.shutdown().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slave_reconnects_and_follows_a_new_master_address() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let first = start_master(&master_log, fast_config()).await;
    let slave = start_slave(&slave_log, &first, fast_config());
    start_at_zero(&master_log, &first).await;
    first.shutdown().await;
    wait_status(&slave, |s| !s.connected).await;
    let end = master_log.fill(20, 200);
    let second = start_master(&master_log, fast_config()).await;
    slave.set_master_address(Some(second.local_addr().to_string()));
    assert!(second.wait_for_slave(end, WAIT).await);
    assert!(slave.status().connections_total >= 2);
    slave.shutdown().await;
    second.shutdown().await;
    assert_identical(master_dir.path(), slave_dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_for_another_offset_closes_the_connection() {
    let slave_dir = tempfile::tempdir().unwrap();
    let slave_log = SharedLog::open(slave_dir.path());
    let end = slave_log.fill(0, 3).0;
    let fake_master = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = fake_master.local_addr().unwrap().to_string();
    let slave = HaSlave::spawn(slave_log.clone(), Some(address), fast_config());
    let (mut socket, _) = timeout(WAIT, fake_master.accept()).await.unwrap().unwrap();
    let mut report = [0u8; 8];
    socket.read_exact(&mut report).await.unwrap();
    assert_eq!(
        report,
        (end as i64).to_be_bytes(),
        "the first report is the slave's end"
    );
    // A heartbeat for the slave's end is fine, one for any other offset is not.
    let mut frame = (end as i64).to_be_bytes().to_vec();
    frame.extend_from_slice(&0i32.to_be_bytes());
    frame.extend_from_slice(&(end as i64 + 1).to_be_bytes());
    frame.extend_from_slice(&0i32.to_be_bytes());
    socket.write_all(&frame).await.unwrap();
    let mut rest = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut rest)).await.unwrap().unwrap();
    // The slave reconnects and reports the same end again.
    let (mut socket, _) = timeout(WAIT, fake_master.accept()).await.unwrap().unwrap();
    socket.read_exact(&mut report).await.unwrap();
    assert_eq!(report, (end as i64).to_be_bytes());
    assert_eq!(slave_log.end(), CommitLogOffset(end));
    slave.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_streams_java_frames_and_heartbeats() {
    let master_dir = tempfile::tempdir().unwrap();
    let master_log = SharedLog::open(master_dir.path());
    let end = master_log.fill(0, 500).0;
    let last = end - end % SEGMENT_BYTES;
    let config = HaConfig {
        housekeeping_interval_ms: 600,
        ..fast_config()
    };
    let master = start_master(&master_log, config).await;
    let mut socket = TcpStream::connect(master.local_addr()).await.unwrap();
    socket.write_all(&0i64.to_be_bytes()).await.unwrap();
    let mut expected = last;
    let mut received = Vec::new();
    while expected < end {
        let mut header = [0u8; 12];
        timeout(WAIT, socket.read_exact(&mut header)).await.unwrap().unwrap();
        let offset = i64::from_be_bytes(header[..8].try_into().unwrap()) as u64;
        let size = i32::from_be_bytes(header[8..].try_into().unwrap()) as usize;
        assert_eq!(offset, expected);
        assert!(size <= 32 * 1024, "haTransferBatchSize caps a frame");
        let mut body = vec![0u8; size];
        socket.read_exact(&mut body).await.unwrap();
        received.extend_from_slice(&body);
        expected += size as u64;
    }
    assert_eq!(received, bytes_at_all(&master_log, last, end));
    let mut heartbeat = [0u8; 12];
    timeout(WAIT, socket.read_exact(&mut heartbeat)).await.unwrap().unwrap();
    assert_eq!(heartbeat[..8], (end as i64).to_be_bytes());
    assert_eq!(heartbeat[8..], 0i32.to_be_bytes());
    // The report acknowledges; a slave silent for the housekeeping interval is dropped.
    socket.write_all(&(end as i64).to_be_bytes()).await.unwrap();
    assert!(master.wait_for_slave(CommitLogOffset(end), WAIT).await);
    let mut heartbeats = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut heartbeats))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heartbeats.len() % 12, 0, "only heartbeats until the close");
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slave_drops_a_silent_master() {
    let slave_dir = tempfile::tempdir().unwrap();
    let slave_log = SharedLog::open(slave_dir.path());
    let fake_master = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = HaConfig {
        housekeeping_interval_ms: 300,
        ..fast_config()
    };
    let slave = HaSlave::spawn(slave_log, Some(fake_master.local_addr().unwrap().to_string()), config);
    let (mut socket, _) = timeout(WAIT, fake_master.accept()).await.unwrap().unwrap();
    let mut reports = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut reports)).await.unwrap().unwrap();
    // The first report at once, then one per heartbeat interval, all of offset 0.
    assert!(reports.len() >= 8 && reports.len() % 8 == 0);
    assert!(reports.iter().all(|&b| b == 0));
    slave.shutdown().await;
}

/// Whole stores, as the broker runs them: what the master's handle accepts, the slave's handle
/// serves from its own consume queues, with the same queue offsets and bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_store_serves_what_the_master_store_accepted() {
    use ferrocket_store::{
        Clock, GetMessageStatus, GetMessages, MessageStoreConfig, PutStatus, QueueId, QueueOffset, StoreHandle,
    };

    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |dir: &Path| {
        let config = MessageStoreConfig {
            commit_log_segment_bytes: SEGMENT_BYTES,
            ..MessageStoreConfig::new(dir)
        };
        StoreHandle::open(
            config,
            Arc::new(|_: &ferrocket_store::Arrival| {}),
            Clock::manual(1_700_000_000_000),
        )
        .unwrap()
    };
    let (master_store, slave_store) = (open(master_dir.path()), open(slave_dir.path()));
    let master = HaMaster::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(master_store.clone()),
        fast_config(),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let slave = HaSlave::spawn(
        Arc::new(slave_store.clone()),
        Some(master.local_addr().to_string()),
        fast_config(),
    );
    // The slave must have reported before the log grows: a slave first heard from after the
    // master's log passed a segment starts at the master's last segment (Java's rule), and the
    // queues would then rightly start past 0 on the slave.
    timeout(WAIT, async {
        while !master.slaves().iter().any(|s| s.request_offset.is_some()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let mut end = CommitLogOffset(0);
    for n in 0..400 {
        let outcome = master_store.put(message(n, 50 + n % 700)).await;
        assert_eq!(outcome.status, PutStatus::PutOk);
        end = outcome.result.unwrap().end_offset;
        master.notify_append(end);
    }
    assert!(end.0 > 2 * SEGMENT_BYTES, "the data must span segments");
    assert!(master.wait_for_slave(end, WAIT).await);
    wait_status(&slave, |s| s.reported_offset == end).await;
    for queue_id in (0..4).map(QueueId) {
        let read = |store: &StoreHandle| {
            store.read(|s| {
                s.get_messages(&GetMessages {
                    topic: "TopicTest",
                    queue_id,
                    offset: QueueOffset(0),
                    max_count: 1000,
                    filter: None,
                    record_filter: None,
                })
                .unwrap()
            })
        };
        let (on_master, on_slave) = (read(&master_store), read(&slave_store));
        assert_eq!(on_slave.status, GetMessageStatus::Found);
        assert_eq!(on_slave.max_offset, QueueOffset(100));
        assert_eq!(on_slave.records, on_master.records);
        assert_eq!(
            slave_store.read(|s| s.next_queue_offset("TopicTest", queue_id)),
            master_store.read(|s| s.next_queue_offset("TopicTest", queue_id))
        );
    }
    slave.shutdown().await;
    master.shutdown().await;
    master_store.shutdown();
    slave_store.shutdown();
    assert_identical(
        &master_dir.path().join("commitlog"),
        &slave_dir.path().join("commitlog"),
    );
}

/// Every timer of the replication parked a minute away (`haSendHeartbeatInterval`, the writer's
/// idle poll), and housekeeping beyond them: a SYNC_MASTER wait that needed any of them would
/// wait a minute, far past [`WAIT`].
fn timers_parked() -> HaConfig {
    HaConfig {
        heartbeat_interval_ms: 60_000,
        housekeeping_interval_ms: 180_000,
        idle_poll_ms: 60_000,
        ..HaConfig::default()
    }
}

/// Segment boundaries crossed going from `from` to `to`: each adds a frame (the filler's).
fn boundaries_crossed(from: CommitLogOffset, to: CommitLogOffset) -> u64 {
    to.0 / SEGMENT_BYTES - from.0 / SEGMENT_BYTES
}

/// The slow-ack regression of issue 13 (SYNC_MASTER far below ASYNC_MASTER): sequential SYNC_MASTER
/// waits, each the next send of one producer thread. With every timer parked, each completes on
/// its events alone, and costs one transfer frame and one report, as Java's pair does (the slave
/// reports after each read it appends, the master wakes the waiters on the report). Counts,
/// not wall time: a report on the heartbeat period, a writer woken only by its poll, or records
/// sent in pieces each break an equality here, however loaded the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sync_wait_costs_one_transfer_and_one_report_and_no_timer() {
    const SENDS: usize = 300;
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let master = start_master(&master_log, timers_parked()).await;
    let slave = start_slave(&slave_log, &master, timers_parked());
    let start = start_at_zero(&master_log, &master).await;
    let before = master.stats();
    let mut end = start;
    for n in 0..SENDS {
        end = master_log.fill(1_000 + n, 1);
        master.notify_append(end);
        assert!(
            master.wait_for_slave(end, WAIT).await,
            "send {n} not acknowledged within {WAIT:?}: {:?}",
            master.stats()
        );
    }
    let after = master.stats();
    let crossed = boundaries_crossed(start, end);
    assert!(crossed >= 1, "the sends must cross a segment");
    let frames = after.data_frames - before.data_frames;
    let reports = after.reports - before.reports;
    assert_eq!(
        frames,
        SENDS as u64 + crossed,
        "one transfer per send (+ a filler per segment)"
    );
    assert!(
        (SENDS as u64..=SENDS as u64 + crossed).contains(&reports),
        "one report per send, got {reports}"
    );
    assert_eq!(after.heartbeats, 0, "{after:?}");
    slave.shutdown().await;
    master.shutdown().await;
    assert_identical(master_dir.path(), slave_dir.path());
}

/// A commit log that records which threads the replication calls it on.
struct ThreadCheckedLog {
    log: Arc<SharedLog>,
    threads: Mutex<Vec<std::thread::ThreadId>>,
}

impl ThreadCheckedLog {
    fn seen(&self) {
        let mut threads = self.threads.lock().unwrap();
        let current = std::thread::current().id();
        if !threads.contains(&current) {
            threads.push(current);
        }
    }
}

impl CommitLogSource for ThreadCheckedLog {
    fn max_offset(&self) -> CommitLogOffset {
        self.seen();
        self.log.end()
    }
    fn segment_bytes(&self) -> u64 {
        CommitLogSource::segment_bytes(self.log.as_ref())
    }
    fn read_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.seen();
        CommitLogSource::read_chunk(self.log.as_ref(), offset, max_len)
    }
    fn append_recovered(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        self.seen();
        self.log.append_recovered(offset, bytes)
    }
    fn hold_puts(&self, reason: Option<String>) {
        self.log.hold_puts(reason);
    }
}

impl ReplicaSink for ThreadCheckedLog {
    fn max_offset(&self) -> CommitLogOffset {
        self.seen();
        self.log.end()
    }
    fn segment_bytes(&self) -> u64 {
        ReplicaSink::segment_bytes(self.log.as_ref())
    }
    fn append_replicated(&self, offset: CommitLogOffset, bytes: &[u8]) -> StoreResult<()> {
        self.seen();
        self.log.append_replicated(offset, bytes)
    }
    fn read_replica_chunk(&self, offset: CommitLogOffset, max_len: u32) -> StoreResult<Vec<u8>> {
        self.seen();
        self.log.read_replica_chunk(offset, max_len)
    }
}

/// Each hop to the blocking pool and back is two thread wake-ups that a SYNC_MASTER send waits
/// for, each a scheduling delay on a loaded machine (the partition test's pair acknowledged a
/// fraction of Java's sends): the master reads and the slave appends on the tasks' own thread.
#[tokio::test(flavor = "current_thread")]
async fn the_ack_path_stays_on_the_runtime_thread() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let checked = |dir: &Path| {
        Arc::new(ThreadCheckedLog {
            log: SharedLog::open(dir),
            threads: Mutex::new(Vec::new()),
        })
    };
    let (master_log, slave_log) = (checked(master_dir.path()), checked(slave_dir.path()));
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let master = HaMaster::bind(any, master_log.clone(), fast_config(), Arc::new(|_| {}))
        .await
        .unwrap();
    let slave = HaSlave::spawn(slave_log.clone(), Some(master.local_addr().to_string()), fast_config());
    for n in 0..20 {
        let end = master_log.log.fill(n * 10, 10);
        master.notify_append(end);
        assert!(master.wait_for_slave(end, WAIT).await);
    }
    slave.shutdown().await;
    master.shutdown().await;
    let runtime_thread = std::thread::current().id();
    for (side, log) in [("master", &master_log), ("slave", &slave_log)] {
        assert_eq!(
            *log.threads.lock().unwrap(),
            vec![runtime_thread],
            "{side} called off the runtime thread"
        );
    }
}
