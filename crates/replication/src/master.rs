//! The master side of replication (Java's `DefaultHAService` accept loop and
//! `DefaultHAConnection`): accepts slaves on the HA port, reads their offset reports, and streams
//! commit-log bytes to each from where its first report says (store-and-ha.md §7.2–7.3).
//!
//! [`TransferCursor`] is the per-slave decision (start offset, data or heartbeat), pure;
//! [`HaMaster`] is the tokio shell: one task accepting, one per slave, all stopped by
//! [`HaMaster::shutdown`]. Commit-log reads run inline on the slave's task through [`CommitLogSource`].
//! SYNC_MASTER puts wait with [`HaMaster::wait_for_slave`] on the shared [`ReplicationState`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_store::CommitLogOffset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, timeout};
use tracing::Instrument;

use super::acks::{ReplicationState, SlaveProgress};
use super::codec::{
    OffsetReport, REPORT_BYTES, TRANSFER_BODY_BYTES_MAX, TRANSFER_HEADER_BYTES, TransferFrame, TransferHeader,
};
use super::tail::Tail;
use super::{CommitLogSource, HaConfig, HaError};

/// After a failed `accept` (such as too many open files), pause before the next one instead of
/// spinning.
const ACCEPT_RETRY_MS: u64 = 100;

/// Where one slave's transfer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCursor {
    next_offset: CommitLogOffset,
    last_write_ms: i64,
    batch_bytes: u32,
    heartbeat_interval_ms: i64,
    idle_poll_ms: i64,
}

impl TransferCursor {
    /// Java's start rule: from the slave's first report, or when it reported 0 (an empty slave)
    /// from the start of the master's last segment.
    pub fn start(
        request_offset: CommitLogOffset,
        master_max_offset: CommitLogOffset,
        segment_bytes: u64,
        config: &HaConfig,
        now_ms: i64,
    ) -> TransferCursor {
        let next_offset = if request_offset == CommitLogOffset(0) {
            CommitLogOffset(master_max_offset.0 - master_max_offset.0 % segment_bytes.max(1))
        } else {
            request_offset
        };
        TransferCursor {
            next_offset,
            last_write_ms: now_ms,
            batch_bytes: config.transfer_batch_bytes.clamp(1, TRANSFER_BODY_BYTES_MAX as u32),
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            idle_poll_ms: config.idle_poll_ms.max(1),
        }
    }

    /// The offset of the next byte to send (`nextTransferFromWhere`).
    pub fn next_offset(&self) -> CommitLogOffset {
        self.next_offset
    }

    /// The most to read for one frame (`haTransferBatchSize`).
    pub fn batch_bytes(&self) -> u32 {
        self.batch_bytes
    }

    /// The frame to send now, given the `chunk_len` bytes read at [`TransferCursor::next_offset`]:
    /// those bytes, else a heartbeat when none was written for the heartbeat interval, else
    /// nothing. Advances past the chunk.
    pub fn next_frame(&mut self, chunk_len: usize, now_ms: i64) -> Option<TransferHeader> {
        assert!(
            chunk_len <= self.batch_bytes as usize,
            "chunk of {chunk_len} bytes over the batch size"
        );
        let heartbeat_due = now_ms.saturating_sub(self.last_write_ms) > self.heartbeat_interval_ms;
        if chunk_len == 0 && !heartbeat_due {
            return None;
        }
        let header = TransferHeader {
            offset: self.next_offset,
            // Bounded by the batch size, a u32.
            body_bytes: chunk_len as u32,
        };
        self.next_offset = self.next_offset.plus_bytes(chunk_len as u64);
        self.last_write_ms = now_ms;
        Some(header)
    }

    /// How long an idle writer may wait before it looks again.
    pub fn idle_wait_ms(&self, now_ms: i64) -> i64 {
        let heartbeat_in = self
            .last_write_ms
            .saturating_add(self.heartbeat_interval_ms)
            .saturating_sub(now_ms)
            .saturating_add(1);
        heartbeat_in.clamp(1, self.idle_poll_ms)
    }
}

/// What the master's slave connections did since it started, summed over them: what a test
/// counts to prove a SYNC_MASTER send costs one transfer and one report, not a timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Frames that carried commit-log bytes.
    pub data_frames: u64,
    /// Empty frames sent because nothing was written for the heartbeat interval.
    pub heartbeats: u64,
    /// Offset reports read from slaves.
    pub reports: u64,
}

#[derive(Default)]
struct Counters {
    data_frames: AtomicU64,
    heartbeats: AtomicU64,
    reports: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Told the address of each connection refused because [`SLAVES_MAX`](crate::SLAVES_MAX) slaves
/// are connected. The HA port accepts whoever connects, so refusals come as fast as a peer can
/// connect: the caller logs them with its rate limit (the broker's, shared by every limit).
pub type OnSlaveRefused = Arc<dyn Fn(SocketAddr) + Send + Sync>;

/// The running master side: a listener on the HA port and a task per slave.
pub struct HaMaster {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

struct Shared {
    source: Arc<dyn CommitLogSource>,
    config: HaConfig,
    state: watch::Sender<ReplicationState>,
    /// Bumped by the store after appends, to wake idle writers at once.
    log_end: watch::Sender<CommitLogOffset>,
    started: Instant,
    on_refused: OnSlaveRefused,
    /// A slave past the master's end: its tail taken back first, or refused (`tail.rs`).
    tail: Arc<Tail>,
    counters: Counters,
}

impl Shared {
    fn now_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

impl HaMaster {
    /// Listens on `addr` (Java's `haListenPort`, port 0 = any) and serves slaves from `source`;
    /// a connection beyond [`SLAVES_MAX`](crate::SLAVES_MAX) is closed and told to `on_refused`.
    pub async fn bind(
        addr: SocketAddr,
        source: Arc<dyn CommitLogSource>,
        config: HaConfig,
        on_refused: OnSlaveRefused,
    ) -> io::Result<HaMaster> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let max_offset = source.max_offset();
        let tail = Arc::new(Tail::new(source.clone(), max_offset));
        let shared = Arc::new(Shared {
            tail,
            source,
            config,
            state: watch::channel(ReplicationState::default()).0,
            log_end: watch::channel(max_offset).0,
            started: Instant::now(),
            on_refused,
            counters: Counters::default(),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_slaves(listener, shared.clone(), shutdown_rx));
        Ok(HaMaster {
            shared,
            local_addr,
            shutdown,
            accept_task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Tells idle writers that the log now ends at `max_offset` (call after puts).
    pub fn notify_append(&self, max_offset: CommitLogOffset) {
        self.shared.log_end.send_if_modified(|end| {
            let grew = max_offset > *end;
            *end = (*end).max(max_offset);
            grew
        });
    }

    /// After a crash: holds puts until the first slave has settled (its tail taken back if it
    /// holds more than this master) or `wait` passed, so no put lands where the slave's
    /// acknowledged records belong (`tail.rs`).
    pub fn hold_puts_for_tail(&self, wait: Duration) {
        self.shared.tail.hold_until_first_slave(wait);
    }

    /// Whether any slave is connected.
    pub fn slave_connected(&self) -> bool {
        self.shared.state.borrow().slave_count() > 0
    }

    /// Java's `isSlaveOK(masterPutWhere)`: a SYNC_MASTER put answers SLAVE_NOT_AVAILABLE when not.
    pub fn is_slave_ok(&self, master_put_offset: CommitLogOffset) -> bool {
        self.shared
            .state
            .borrow()
            .is_slave_ok(master_put_offset, self.shared.config.max_gap_not_in_sync)
    }

    /// Java's `inSyncReplicasNums`: the master and every slave within the allowed gap.
    pub fn in_sync_replicas(&self, master_put_offset: CommitLogOffset) -> usize {
        self.shared
            .state
            .borrow()
            .in_sync_replicas(master_put_offset, self.shared.config.max_gap_not_in_sync)
    }

    /// `push2SlaveMaxOffset`: the highest offset any slave acknowledged.
    pub fn push_max_offset(&self) -> CommitLogOffset {
        self.shared.state.borrow().push_max_offset()
    }

    /// What the slave connections did so far.
    pub fn stats(&self) -> TransferStats {
        let counters = &self.shared.counters;
        TransferStats {
            data_frames: counters.data_frames.load(Ordering::Relaxed),
            heartbeats: counters.heartbeats.load(Ordering::Relaxed),
            reports: counters.reports.load(Ordering::Relaxed),
        }
    }

    pub fn slaves(&self) -> Vec<SlaveProgress> {
        self.shared.state.borrow().slaves().copied().collect()
    }

    /// Resolves to true once a slave has acknowledged `end_offset` (a put's end), false after
    /// `wait` (FLUSH_SLAVE_TIMEOUT) or when the master shuts down.
    pub fn wait_for_slave(
        &self,
        end_offset: CommitLogOffset,
        wait: Duration,
    ) -> impl Future<Output = bool> + Send + 'static {
        self.wait_for_replicas(end_offset, 1, wait)
    }

    /// Like [`HaMaster::wait_for_slave`] for 5.x `inSyncReplicas` > 1: the master plus the slaves
    /// that acknowledged `end_offset` must number `replicas_needed`.
    pub fn wait_for_replicas(
        &self,
        end_offset: CommitLogOffset,
        replicas_needed: usize,
        wait: Duration,
    ) -> impl Future<Output = bool> + Send + 'static {
        let mut state = self.shared.state.subscribe();
        async move {
            let acked = state.wait_for(|s| s.acknowledged(end_offset, replicas_needed));
            matches!(timeout(wait, acked).await, Ok(Ok(_)))
        }
    }

    /// Stops accepting, closes every slave connection and waits for the tasks to end.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        if let Err(error) = self.accept_task.await {
            tracing::warn!(%error, "ha accept task failed");
        }
    }
}

async fn accept_slaves(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let mut id = None;
                    shared.state.send_if_modified(|state| {
                        id = state.register(addr);
                        id.is_some()
                    });
                    let Some(id) = id else {
                        (shared.on_refused)(addr);
                        continue;
                    };
                    tracing::info!(%addr, "ha slave connected");
                    let registration = Registration { id, shared: shared.clone() };
                    let span = tracing::info_span!("ha_slave_connection", %addr);
                    connections.spawn(serve_slave(stream, registration, shutdown.clone()).instrument(span));
                }
                Err(error) => {
                    tracing::warn!(%error, "ha accept failed");
                    tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                }
            },
        }
    }
    connections.shutdown().await;
}

/// A slave's entry in the shared state, removed when its connection ends however it ends.
struct Registration {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.state.send_modify(|state| state.unregister(self.id));
    }
}

async fn serve_slave(stream: TcpStream, registration: Registration, mut shutdown: watch::Receiver<bool>) {
    let peer = stream.peer_addr().ok();
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!(?peer, %error, "ha socket option failed");
    }
    let idle = Duration::from_millis(u64::try_from(registration.shared.config.housekeeping_interval_ms).unwrap_or(0));
    let settled = tokio::select! {
        settled = registration.shared.tail.settle(stream, idle) => settled,
        _ = shutdown.changed() => return,
    };
    let stream = match settled {
        Ok(Some(stream)) => stream,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(?peer, %error, "ha slave refused");
            return;
        }
    };
    let (reader, writer) = stream.into_split();
    let (first_tx, first_rx) = oneshot::channel();
    let shared = registration.shared.clone();
    let outcome = tokio::select! {
        outcome = read_reports(reader, &registration, first_tx) => outcome,
        outcome = write_frames(writer, &shared, first_rx) => outcome,
        _ = shutdown.changed() => Ok(()),
    };
    match outcome {
        Ok(()) => tracing::info!(?peer, "ha slave connection closed"),
        Err(error) => tracing::warn!(?peer, %error, "ha slave connection ended"),
    }
}

/// Reads the slave's offset reports until it closes or stays silent for the housekeeping interval.
async fn read_reports(
    mut reader: OwnedReadHalf,
    registration: &Registration,
    first: oneshot::Sender<CommitLogOffset>,
) -> Result<(), HaError> {
    let shared = &registration.shared;
    let idle_ms = shared.config.housekeeping_interval_ms;
    let idle = Duration::from_millis(u64::try_from(idle_ms).unwrap_or(0));
    let mut first = Some(first);
    let mut report = [0u8; REPORT_BYTES];
    loop {
        match timeout(idle, reader.read_exact(&mut report)).await {
            Err(_) => return Err(HaError::Idle { idle_ms }),
            Ok(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(error)) => return Err(error.into()),
            Ok(Ok(_)) => {}
        }
        let (OffsetReport { max_offset }, _) = OffsetReport::decode(&report)?;
        Counters::bump(&shared.counters.reports);
        shared.state.send_modify(|state| {
            state.on_report(registration.id, max_offset);
        });
        if let Some(first) = first.take() {
            // The writer may already be gone, ending the connection anyway.
            let _ = first.send(max_offset);
        }
    }
}

/// Streams the commit log from the slave's first report on, with heartbeats while idle.
async fn write_frames(
    mut writer: OwnedWriteHalf,
    shared: &Arc<Shared>,
    first: oneshot::Receiver<CommitLogOffset>,
) -> Result<(), HaError> {
    // Java's writer sends nothing before the first report.
    let Ok(request_offset) = first.await else {
        return Ok(());
    };
    let (max_offset, segment_bytes) = (shared.source.max_offset(), shared.source.segment_bytes());
    let mut cursor = TransferCursor::start(
        request_offset,
        max_offset,
        segment_bytes,
        &shared.config,
        shared.now_ms(),
    );
    tracing::info!(
        request_offset = request_offset.0,
        from = cursor.next_offset().0,
        "ha transfer starts"
    );
    let mut log_end = shared.log_end.subscribe();
    let mut frame = BytesMut::with_capacity(TRANSFER_HEADER_BYTES + cursor.batch_bytes() as usize);
    let mut warned_missing = false;
    loop {
        log_end.borrow_and_update();
        // Read inline, as the broker's puts write: a hop to the blocking pool and back costs two
        // thread wake-ups, each a scheduling delay on a loaded machine that every SYNC_MASTER
        // send waiting for this transfer pays. The read is one chunk under the store's read lock.
        let (offset, max_len) = (cursor.next_offset(), cursor.batch_bytes());
        let max_offset = shared.source.max_offset();
        let chunk = if offset < max_offset {
            shared.source.read_chunk(offset, max_len)?
        } else {
            Vec::new()
        };
        if chunk.is_empty() && offset < max_offset && !warned_missing {
            // Java waits forever too: a slave behind the oldest stored byte must be rebuilt.
            tracing::warn!(offset = offset.0, "ha slave wants bytes the master no longer stores");
            warned_missing = true;
        }
        let now_ms = shared.now_ms();
        match cursor.next_frame(chunk.len(), now_ms) {
            Some(header) => {
                frame.clear();
                TransferFrame::encode(header.offset, &chunk, &mut frame);
                writer.write_all(&frame).await?;
                let counter = match chunk.is_empty() {
                    true => &shared.counters.heartbeats,
                    false => &shared.counters.data_frames,
                };
                Counters::bump(counter);
            }
            None => {
                let wait = Duration::from_millis(u64::try_from(cursor.idle_wait_ms(now_ms)).unwrap_or(1));
                // A timeout is the poll; a closed channel cannot happen while `shared` lives.
                let _ = timeout(wait, log_end.changed()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(batch: u32) -> HaConfig {
        HaConfig {
            transfer_batch_bytes: batch,
            heartbeat_interval_ms: 5_000,
            ..HaConfig::default()
        }
    }

    #[test]
    fn an_empty_slave_starts_at_the_masters_last_segment() {
        let cursor = TransferCursor::start(
            CommitLogOffset(0),
            CommitLogOffset(3 * 1024 + 100),
            1024,
            &config(32),
            0,
        );
        assert_eq!(cursor.next_offset(), CommitLogOffset(3 * 1024));
        let cursor = TransferCursor::start(CommitLogOffset(0), CommitLogOffset(0), 1024, &config(32), 0);
        assert_eq!(cursor.next_offset(), CommitLogOffset(0));
        let cursor = TransferCursor::start(
            CommitLogOffset(500),
            CommitLogOffset(3 * 1024 + 100),
            1024,
            &config(32),
            0,
        );
        assert_eq!(cursor.next_offset(), CommitLogOffset(500));
    }

    #[test]
    fn data_advances_and_heartbeats_come_only_after_the_interval() {
        let mut cursor = TransferCursor::start(CommitLogOffset(100), CommitLogOffset(1000), 1024, &config(32), 0);
        assert_eq!(
            cursor.next_frame(32, 10),
            Some(TransferHeader {
                offset: CommitLogOffset(100),
                body_bytes: 32
            })
        );
        assert_eq!(cursor.next_offset(), CommitLogOffset(132));
        assert_eq!(cursor.next_frame(0, 5_010), None);
        assert_eq!(cursor.idle_wait_ms(5_010), 1);
        assert_eq!(cursor.idle_wait_ms(20), crate::IDLE_POLL_MS_DEFAULT);
        assert_eq!(
            cursor.next_frame(0, 5_011),
            Some(TransferHeader {
                offset: CommitLogOffset(132),
                body_bytes: 0
            })
        );
        assert_eq!(cursor.next_frame(0, 5_012), None);
        assert_eq!(cursor.next_offset(), CommitLogOffset(132));
    }

    #[test]
    #[should_panic(expected = "over the batch size")]
    fn a_chunk_over_the_batch_is_our_bug() {
        let mut cursor = TransferCursor::start(CommitLogOffset(1), CommitLogOffset(1000), 1024, &config(32), 0);
        cursor.next_frame(33, 0);
    }

    #[test]
    fn the_batch_is_clamped_to_what_a_java_slave_can_read() {
        let cursor = TransferCursor::start(CommitLogOffset(1), CommitLogOffset(1000), 1024, &config(u32::MAX), 0);
        assert_eq!(cursor.batch_bytes() as usize, TRANSFER_BODY_BYTES_MAX);
    }
}
