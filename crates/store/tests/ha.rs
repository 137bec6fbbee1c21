//! Replication between a master and a slave over real commit logs on loopback: byte-identical
//! segment files, resumption after a slave restart, SYNC_MASTER waits, and the raw frames each
//! side puts on the wire (store-and-ha.md §7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrocket_store::CommitLog;
use ferrocket_store::error::StoreResult;
use ferrocket_store::ha::master::HaMaster;
use ferrocket_store::ha::slave::{HaSlave, SlaveStatus};
use ferrocket_store::ha::{CommitLogSource, HaConfig, ReplicaSink, read_chunk};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use common::{SEGMENT_BYTES, config, message, tear_at};

/// Generous: only a broken implementation waits this long.
const WAIT: Duration = Duration::from_secs(20);

/// A commit log shared by the test and a replication task.
struct SharedLog(Mutex<CommitLog>);

impl SharedLog {
    fn open(dir: &Path) -> Arc<SharedLog> {
        Arc::new(SharedLog(Mutex::new(CommitLog::open(&config(dir)).unwrap())))
    }

    /// Appends `count` records numbered from `first`; returns the log's new end.
    fn fill(&self, first: usize, count: usize) -> u64 {
        let mut log = self.0.lock().unwrap();
        for n in first..first + count {
            log.append(&message(n, 100 + (n * 37) % 900), 1_700_000_001_000 + n as i64)
                .unwrap();
        }
        log.max_offset()
    }

    fn end(&self) -> u64 {
        self.0.lock().unwrap().max_offset()
    }
}

impl CommitLogSource for SharedLog {
    fn max_offset(&self) -> u64 {
        self.end()
    }
    fn segment_bytes(&self) -> u64 {
        self.0.lock().unwrap().segment_bytes()
    }
    fn read_chunk(&self, offset: u64, max_len: u32) -> StoreResult<Vec<u8>> {
        read_chunk(&self.0.lock().unwrap(), offset, max_len)
    }
}

impl ReplicaSink for SharedLog {
    fn max_offset(&self) -> u64 {
        self.end()
    }
    fn segment_bytes(&self) -> u64 {
        self.0.lock().unwrap().segment_bytes()
    }
    fn append_replicated(&self, offset: u64, bytes: &[u8]) -> StoreResult<()> {
        self.0.lock().unwrap().append_raw(offset, bytes)
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
    HaMaster::bind(any, log.clone(), config).await.unwrap()
}

fn start_slave(log: &Arc<SharedLog>, master: &HaMaster, config: HaConfig) -> HaSlave {
    HaSlave::spawn(log.clone(), Some(master.local_addr().to_string()), config)
}

/// Appends a few records (inside the first segment) and waits until the slave holds them: its
/// transfer then started at 0, whatever the test appends next.
async fn start_at_zero(master_log: &SharedLog, master: &HaMaster) -> u64 {
    let end = master_log.fill(0, 20);
    assert!(end < SEGMENT_BYTES);
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

#[test]
fn append_raw_takes_whole_units_and_refuses_the_rest() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = SharedLog::open(master_dir.path());
    let end = master.fill(0, 300);
    assert!(end > 2 * SEGMENT_BYTES);
    let bytes_at = |from: u64, to: u64| {
        let log = master.0.lock().unwrap();
        log.read_bytes(from, (to - from) as u32).unwrap()
    };
    let mut slave = CommitLog::open(&config(slave_dir.path())).unwrap();
    // Nothing held: only a segment boundary may start the log.
    assert!(slave.append_raw(100, &bytes_at(100, 200)).is_err());
    let first = bytes_at(0, SEGMENT_BYTES);
    assert!(
        slave.append_raw(0, &first[..first.len() - 1]).is_err(),
        "filler cut short"
    );
    let record_size = u32::from_be_bytes(first[..4].try_into().unwrap()) as usize;
    assert!(
        slave.append_raw(0, &first[..record_size - 1]).is_err(),
        "partial record"
    );
    let mut bad_filler = first.clone();
    let mut filler_at = 0;
    while first[filler_at + 4..filler_at + 8] != 0xCBD4_3194u32.to_be_bytes() {
        filler_at += u32::from_be_bytes(first[filler_at..filler_at + 4].try_into().unwrap()) as usize;
    }
    bad_filler[filler_at..filler_at + 4].copy_from_slice(&7i32.to_be_bytes());
    assert!(slave.append_raw(0, &bad_filler).is_err(), "filler of the wrong size");
    assert_eq!(slave.max_offset(), 0, "a refused append writes nothing");
    slave.append_raw(0, &first).unwrap();
    assert_eq!(slave.max_offset(), SEGMENT_BYTES);
    assert!(slave.append_raw(0, &first).is_err(), "not at the end");
    // The rest in one call spanning segments.
    slave
        .append_raw(SEGMENT_BYTES, &bytes_at_all(&master, SEGMENT_BYTES, end))
        .unwrap();
    assert_eq!(slave.max_offset(), end);
    drop(slave);
    let reopened = CommitLog::open(&config(slave_dir.path())).unwrap();
    assert_eq!(reopened.max_offset(), end);
    let mut count = 0;
    reopened
        .scan(0, |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(count, 300);
    assert_identical(master_dir.path(), slave_dir.path());
}

/// `[from, to)` of the master, across segments.
fn bytes_at_all(log: &SharedLog, from: u64, to: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut at = from;
    while at < to {
        let chunk = CommitLogSource::read_chunk(log, at, u32::MAX).unwrap();
        at += chunk.len() as u64;
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

#[test]
fn an_empty_log_may_start_at_any_segment_boundary() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = SharedLog::open(master_dir.path());
    let end = master.fill(0, 300);
    let last = end - end % SEGMENT_BYTES;
    let mut slave = CommitLog::open(&config(slave_dir.path())).unwrap();
    slave.append_raw(last, &bytes_at_all(&master, last, end)).unwrap();
    assert_eq!((slave.min_offset(), slave.max_offset()), (last, end));
    drop(slave);
    let reopened = CommitLog::open(&config(slave_dir.path())).unwrap();
    assert_eq!((reopened.min_offset(), reopened.max_offset()), (last, end));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_thousands_of_records_across_segments_byte_identical() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let master = start_master(&master_log, HaConfig::default()).await;
    let slave = start_slave(&slave_log, &master, HaConfig::default());
    start_at_zero(&master_log, &master).await;
    let mut end = 0;
    for batch in 1..30 {
        end = master_log.fill(batch * 100, 100);
        master.notify_append(end);
    }
    assert!(end > 20 * SEGMENT_BYTES, "the data must span many segments");
    assert!(master.wait_for_slave(end, WAIT).await);
    wait_status(&slave, |s| s.reported_offset == end).await;
    assert_eq!(slave_log.end(), end);
    slave.shutdown().await;
    master.shutdown().await;
    assert_identical(master_dir.path(), slave_dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_joining_late_starts_at_the_masters_last_segment() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_log, slave_log) = (SharedLog::open(master_dir.path()), SharedLog::open(slave_dir.path()));
    let end = master_log.fill(0, 1000);
    let last = end - end % SEGMENT_BYTES;
    assert!(last > 0);
    let master = start_master(&master_log, HaConfig::default()).await;
    let slave = start_slave(&slave_log, &master, HaConfig::default());
    assert!(master.wait_for_slave(end, WAIT).await);
    assert_eq!(master.slaves()[0].request_offset, Some(0));
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
    wait_status(&slave, |s| s.reported_offset > end / 3).await;
    slave.shutdown().await;
    let stopped_at = slave_log.end();
    assert!(stopped_at < end, "the slave must stop inside the stream");
    drop(slave_log);
    // A crash that lost the last record's tail: recovery cuts the log back to a record boundary.
    tear_at(slave_dir.path(), stopped_at - 37);
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
    assert!(!master.is_slave_ok(later + HaConfig::default().max_gap_not_in_sync));
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
    let end = slave_log.fill(0, 3);
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
    assert_eq!(slave_log.end(), end);
    slave.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_streams_java_frames_and_heartbeats() {
    let master_dir = tempfile::tempdir().unwrap();
    let master_log = SharedLog::open(master_dir.path());
    let end = master_log.fill(0, 500);
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
    assert!(master.wait_for_slave(end, WAIT).await);
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
    use ferrocket_store::{GetMessageStatus, GetMessages, MessageStoreConfig, PutStatus, StoreHandle};

    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |dir: &Path| {
        let config = MessageStoreConfig {
            commit_log_segment_bytes: SEGMENT_BYTES,
            ..MessageStoreConfig::new(dir)
        };
        StoreHandle::open(config, Arc::new(|_: &str, _: i32, _: u64| {})).unwrap()
    };
    let (master_store, slave_store) = (open(master_dir.path()), open(slave_dir.path()));
    let master = HaMaster::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(master_store.clone()),
        fast_config(),
    )
    .await
    .unwrap();
    let slave = HaSlave::spawn(
        Arc::new(slave_store.clone()),
        Some(master.local_addr().to_string()),
        fast_config(),
    );
    let mut end = 0;
    for n in 0..400 {
        let outcome = master_store.put(message(n, 50 + n % 700)).await;
        assert_eq!(outcome.status, PutStatus::PutOk);
        end = outcome.result.unwrap().end_offset;
        master.notify_append(end);
    }
    assert!(end > 2 * SEGMENT_BYTES, "the data must span segments");
    assert!(master.wait_for_slave(end, WAIT).await);
    wait_status(&slave, |s| s.reported_offset == end).await;
    for queue_id in 0..4 {
        let read = |store: &StoreHandle| {
            store.read(|s| {
                s.get_messages(&GetMessages {
                    topic: "TopicTest",
                    queue_id,
                    offset: 0,
                    max_count: 1000,
                    filter: None,
                })
                .unwrap()
            })
        };
        let (on_master, on_slave) = (read(&master_store), read(&slave_store));
        assert_eq!(on_slave.status, GetMessageStatus::Found);
        assert_eq!(on_slave.max_offset, 100);
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
