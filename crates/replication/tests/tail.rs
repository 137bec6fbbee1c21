//! A master that comes back from a crash shorter than its slave (a power cut took what it had
//! not fsynced; under SYNC_MASTER with ASYNC_FLUSH the slave may hold acknowledged records the
//! master lost): it holds puts, takes the tail back from the slave, then serves (src/tail.rs).
//! Whole stores as the broker runs them, on loopback; the cut is made on the stopped master's
//! files (the tail zeroed, the abort file left), the way lossyfs leaves them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_replication::{HaConfig, HaMaster, HaSlave};
use ferrocket_store::{
    Clock, CommitLogOffset, GetMessageStatus, GetMessages, MessageStoreConfig, PutStatus, QueueId, QueueOffset,
    StoreHandle,
};
use ferrocket_wire::message::{MessageVersion, StoredMessage};
use tokio::time::{sleep, timeout};

/// Generous: only a broken implementation waits this long.
const WAIT: Duration = Duration::from_secs(20);
/// Small segments, so the lost tail spans several.
const SEGMENT_BYTES: u64 = 64 * 1024;
const QUEUES: usize = 4;

fn message(n: usize) -> StoredMessage {
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: (n % QUEUES) as i32,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: 1_700_000_000_000,
        born_host: "10.0.0.5:50000".parse().unwrap(),
        store_timestamp_ms: 0,
        store_host: "192.168.1.10:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from((0..100 + (n * 37) % 900).map(|i| (i + n) as u8).collect::<Vec<u8>>()),
        topic: "TopicTest".to_owned(),
        properties: [("UNIQ_KEY", format!("ID{n}"))].into_iter().collect(),
    }
}

fn open(dir: &Path) -> StoreHandle {
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
}

fn fast_config() -> HaConfig {
    HaConfig {
        heartbeat_interval_ms: 200,
        reconnect_interval_ms: 50,
        ..HaConfig::default()
    }
}

async fn bind_master(store: &StoreHandle) -> HaMaster {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    HaMaster::bind(any, Arc::new(store.clone()), fast_config(), Arc::new(|_| {}))
        .await
        .unwrap()
}

fn follow(store: &StoreHandle, master: &HaMaster) -> HaSlave {
    HaSlave::spawn(
        Arc::new(store.clone()),
        Some(master.local_addr().to_string()),
        fast_config(),
    )
}

/// Puts messages `from..to` on the master and waits until the slave acknowledged them all;
/// returns each put's end offset.
async fn put_replicated(store: &StoreHandle, master: &HaMaster, from: usize, to: usize) -> Vec<CommitLogOffset> {
    let mut ends = Vec::new();
    for n in from..to {
        let outcome = store.put(message(n)).await;
        assert_eq!(outcome.status, PutStatus::PutOk, "put {n}");
        let end = outcome.result.unwrap().end_offset;
        master.notify_append(end);
        ends.push(end);
    }
    assert!(master.wait_for_slave(*ends.last().unwrap(), WAIT).await);
    ends
}

/// What a power cut leaves of a master's store: the commit log from `cut` on never reached the
/// disk (zeroed; later segments gone) and the abort file says the stop was not clean.
fn power_cut(root: &Path, cut: CommitLogOffset) {
    let dir = root.join("commitlog");
    let start = cut.0 - cut.0 % SEGMENT_BYTES;
    for entry in fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name: u64 = entry.file_name().to_str().unwrap().parse().unwrap();
        if name > start {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    let file = fs::OpenOptions::new()
        .write(true)
        .open(dir.join(format!("{start:020}")))
        .unwrap();
    file.set_len(cut.0 - start).unwrap();
    file.set_len(SEGMENT_BYTES).unwrap();
    fs::write(root.join("abort"), b"").unwrap();
}

/// Both stores' commit logs, read through the store up to each end.
fn log_bytes(store: &StoreHandle) -> Vec<u8> {
    let end = store.read(|s| s.commit_log_max_offset());
    let mut bytes = Vec::new();
    while (bytes.len() as u64) < end.0 {
        let at = CommitLogOffset(bytes.len() as u64);
        let chunk = store.read(|s| s.read_commit_log_chunk(at, u32::MAX)).unwrap();
        assert!(!chunk.is_empty());
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

/// Every message `0..count` is in its queue, at offsets 0, 1, 2 … (read a page at a time).
fn assert_queues_hold(store: &StoreHandle, count: usize) {
    for queue in 0..QUEUES {
        let expected = (queue..count).step_by(QUEUES).count() as u64;
        let mut offset = 0u64;
        while offset < expected {
            let found = store.read(|s| {
                s.get_messages(&GetMessages {
                    topic: "TopicTest",
                    queue_id: QueueId(queue as i32),
                    offset: QueueOffset(offset),
                    max_count: 10_000,
                    filter: None,
                    record_filter: None,
                })
                .unwrap()
            });
            assert_eq!(found.status, GetMessageStatus::Found, "queue {queue} at {offset}");
            assert_eq!(found.max_offset, QueueOffset(expected), "queue {queue}");
            assert!(!found.records.is_empty());
            offset += found.records.len() as u64;
        }
        assert_eq!(offset, expected, "queue {queue}");
    }
}

/// A replicated pair, then the master cut back to `cut_after` of its `total` puts and
/// restarted on what was left; the slave is stopped meanwhile.
struct Cut {
    master_dir: tempfile::TempDir,
    slave_dir: tempfile::TempDir,
    slave_store: StoreHandle,
    slave_log: Vec<u8>,
    cut: CommitLogOffset,
}

async fn pair_then_cut(total: usize, cut_after: usize) -> Cut {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master_store, slave_store) = (open(master_dir.path()), open(slave_dir.path()));
    let master = bind_master(&master_store).await;
    let slave = follow(&slave_store, &master);
    // The slave reports first, so its transfer starts at 0.
    timeout(WAIT, async {
        while !master.slaves().iter().any(|s| s.request_offset.is_some()) {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let ends = put_replicated(&master_store, &master, 0, total).await;
    slave.shutdown().await;
    master.shutdown().await;
    master_store.shutdown();
    let cut = ends[cut_after - 1];
    assert!(
        ends.last().unwrap().0 - cut.0 > 2 * SEGMENT_BYTES,
        "the lost tail spans segments"
    );
    power_cut(master_dir.path(), cut);
    let slave_log = log_bytes(&slave_store);
    Cut {
        master_dir,
        slave_dir,
        slave_store,
        slave_log,
        cut,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_shorter_than_its_slave_takes_the_tail_back_before_taking_puts() {
    let cut = pair_then_cut(600, 150).await;
    let master_store = open(cut.master_dir.path());
    assert!(master_store.read(|s| s.recovered_abnormally()));
    assert_eq!(master_store.read(|s| s.commit_log_max_offset()), cut.cut);
    let master = bind_master(&master_store).await;
    master.hold_puts_for_tail(WAIT);
    // No slave yet: a put now would land where the slave's records belong.
    let refused = master_store.put(message(10_000)).await;
    assert_eq!(refused.status, PutStatus::ServiceNotAvailable);
    let slave = follow(&cut.slave_store, &master);
    timeout(WAIT, async {
        while master_store.put(message(600)).await.status != PutStatus::PutOk {
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    // The first put after the hold went after the slave's records, and it replicates.
    let end = master_store.read(|s| s.commit_log_max_offset());
    master.notify_append(end);
    assert!(master.wait_for_slave(end, WAIT).await);
    let ends = put_replicated(&master_store, &master, 601, 650).await;
    timeout(WAIT, async {
        while cut.slave_store.read(|s| s.commit_log_max_offset()) < *ends.last().unwrap() {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let (on_master, on_slave) = (log_bytes(&master_store), log_bytes(&cut.slave_store));
    assert!(on_master == on_slave, "the logs differ");
    assert!(on_master.starts_with(&cut.slave_log));
    assert_queues_hold(&master_store, 650);
    assert_queues_hold(&cut.slave_store, 650);
    slave.shutdown().await;
    master.shutdown().await;
    master_store.shutdown();
    cut.slave_store.shutdown();
    drop(cut.slave_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_past_a_master_that_took_puts_is_refused_and_never_counted() {
    let cut = pair_then_cut(600, 150).await;
    let master_store = open(cut.master_dir.path());
    // Restarted without the hold, it took a put where the slave's records are.
    let master = bind_master(&master_store).await;
    let own = master_store.put(message(10_000)).await;
    assert_eq!(own.status, PutStatus::PutOk);
    let own_end = own.result.unwrap().end_offset;
    master.notify_append(own_end);
    let slave = follow(&cut.slave_store, &master);
    // Its report is past the master's end, but its bytes there are not the master's.
    assert!(!master.wait_for_slave(own_end, Duration::from_secs(2)).await);
    assert_eq!(master_store.read(|s| s.commit_log_max_offset()), own_end);
    assert!(log_bytes(&cut.slave_store) == cut.slave_log, "the slave's log changed");
    slave.shutdown().await;
    master.shutdown().await;
    master_store.shutdown();
    cut.slave_store.shutdown();
}
