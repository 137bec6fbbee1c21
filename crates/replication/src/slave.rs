//! The slave side of replication (Java's `DefaultHAClient`): connects to the master's HA
//! address, reports its commit-log max offset at once, after every append that moved it and at
//! least every heartbeat interval, and appends what the master streams through a [`ReplicaSink`]
//! (store-and-ha.md §7.2–7.3). A frame for another offset than the slave's end, a silent master
//! (housekeeping interval) or any socket error closes the connection; the slave connects again
//! after the reconnect interval, or at once when the master's address changes.
//!
//! One task owns the connection and the [`ReplicaStream`] and appends inline, as the broker's
//! puts do: a hop to the blocking pool and back cost two thread wake-ups per append, each a
//! scheduling delay on a loaded machine, and a SYNC_MASTER send waits for every one of them.
//! An append is synchronous, so none is ever in flight when the task ends or reconnects.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use ferrocket_store::CommitLogOffset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tracing::Instrument;

use super::codec::{OffsetReport, TRANSFER_BODY_BYTES_MAX, TransferFrame};
use super::replica_stream::ReplicaStream;
use super::tail::TAIL_MARKER;
use super::{HaConfig, HaError, ReplicaSink};

/// Java's `RemotingHelper.connect` gives up after this long.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Room made for each socket read; the buffer holds at most one partial frame besides.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// What the slave's connection is doing, for runtime info and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaveStatus {
    pub connected: bool,
    /// The last offset reported to the master (`currentReportedOffset`).
    pub reported_offset: CommitLogOffset,
    /// Connections made since start.
    pub connections_total: u64,
}

/// The running slave side.
pub struct HaSlave {
    master_address: watch::Sender<Option<String>>,
    status: watch::Receiver<SlaveStatus>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HaSlave {
    /// Starts following `master_address` (`host:port` of the master's HA port; `None` until
    /// the name server tells it, as `haMasterAddress` may be unset).
    pub fn spawn(sink: Arc<dyn ReplicaSink>, master_address: Option<String>, config: HaConfig) -> HaSlave {
        let (address_tx, address_rx) = watch::channel(master_address);
        let (status_tx, status_rx) = watch::channel(SlaveStatus::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let replica = Replica {
            sink,
            config,
            status: status_tx,
        };
        let span = tracing::info_span!("ha_slave");
        let task = tokio::spawn(follow(replica, address_rx, shutdown_rx).instrument(span));
        HaSlave {
            master_address: address_tx,
            status: status_rx,
            shutdown,
            task,
        }
    }

    /// Java's `updateHaMasterAddress`. A different address drops the current connection.
    pub fn set_master_address(&self, address: Option<String>) {
        self.master_address.send_if_modified(|current| {
            let changed = *current != address;
            *current = address;
            changed
        });
    }

    pub fn master_address(&self) -> Option<String> {
        self.master_address.borrow().clone()
    }

    pub fn status(&self) -> SlaveStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (to wait for a reported offset).
    pub fn subscribe_status(&self) -> watch::Receiver<SlaveStatus> {
        self.status.clone()
    }

    /// Closes the connection and waits for the task (and so its last append) to end.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "ha slave task failed");
        }
    }
}

/// What the slave task works with.
struct Replica {
    sink: Arc<dyn ReplicaSink>,
    config: HaConfig,
    status: watch::Sender<SlaveStatus>,
}

/// Connects, replicates, and reconnects until shut down.
async fn follow(replica: Replica, mut address: watch::Receiver<Option<String>>, mut shutdown: watch::Receiver<bool>) {
    let status = &replica.status;
    let reconnect = Duration::from_millis(u64::try_from(replica.config.reconnect_interval_ms).unwrap_or(0));
    loop {
        let current = address.borrow_and_update().clone();
        let outcome = match current {
            None => None,
            Some(master) => tokio::select! {
                outcome = replicate(&replica, &master) => Some(outcome),
                changed = address.changed() => {
                    if changed.is_err() { return; }
                    tracing::info!(%master, "ha master address changed");
                    status.send_modify(|s| s.connected = false);
                    continue;
                }
                _ = shutdown.changed() => return,
            },
        };
        status.send_modify(|s| s.connected = false);
        // Without an address, only a new address (or shutdown) ends the wait.
        let pause = if outcome.is_some() { reconnect } else { Duration::MAX };
        match outcome {
            Some(Ok(())) => tracing::info!("ha master closed the connection"),
            Some(Err(error)) => tracing::warn!(%error, "ha connection to master ended"),
            None => {}
        }
        tokio::select! {
            _ = sleep_for(pause) => {}
            changed = address.changed() => if changed.is_err() { return; },
            _ = shutdown.changed() => return,
        }
    }
}

async fn sleep_for(pause: Duration) {
    if pause == Duration::MAX {
        std::future::pending::<()>().await;
    } else {
        sleep(pause).await;
    }
}

/// One connection: report, then read frames and append them until something fails.
async fn replicate(replica: &Replica, master: &str) -> Result<(), HaError> {
    let Replica { config, status, .. } = replica;
    let stream = timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), TcpStream::connect(master))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to the ha master"))??;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let now_ms = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (log_end, segment_bytes) = (replica.sink.max_offset(), replica.sink.segment_bytes());
    let mut stream = ReplicaStream::new(log_end, segment_bytes);
    tracing::info!(%master, log_end = log_end.0, "ha connected to master");
    // Java waits up to a heartbeat interval before its first report; the master sends nothing
    // until it has one, so report at once.
    report(&mut writer, log_end).await?;
    let mut reported = log_end;
    let mut last_report_ms = now_ms();
    status.send_modify(|s| {
        s.connected = true;
        s.reported_offset = reported;
        s.connections_total += 1;
    });
    let mut last_read_ms = now_ms();
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    loop {
        // Every whole frame read so far is appended before one report, as Java's client
        // reports once after dispatching a read (`reportSlaveMaxOffsetPlus`).
        let mut max_offset = reported;
        while let Some((frame, frame_bytes)) = complete_frame(&buf)? {
            buf.advance(frame_bytes);
            if is_tail_request(&frame, &stream, reported, log_end) {
                send_tail(replica, &mut writer, frame.offset, reported).await?;
                report(&mut writer, reported).await?;
                last_report_ms = now_ms();
                continue;
            }
            let Some((offset, bytes)) = stream.accept(frame.offset, &frame.body)? else {
                continue;
            };
            replica.sink.append_replicated(offset, &bytes)?;
            max_offset = replica.sink.max_offset();
        }
        if max_offset > reported {
            report(&mut writer, max_offset).await?;
            reported = max_offset;
            last_report_ms = now_ms();
            status.send_modify(|s| s.reported_offset = reported);
        }
        let now = now_ms();
        let idle_ms = now.saturating_sub(last_read_ms);
        if idle_ms > config.housekeeping_interval_ms {
            return Err(HaError::Idle { idle_ms });
        }
        if now.saturating_sub(last_report_ms) >= config.heartbeat_interval_ms {
            report(&mut writer, reported).await?;
            last_report_ms = now;
        }
        let report_due = last_report_ms.saturating_add(config.heartbeat_interval_ms);
        let wake_in = config
            .housekeeping_interval_ms
            .saturating_sub(idle_ms)
            .min(report_due.saturating_sub(now))
            .max(1);
        buf.reserve(READ_BUFFER_BYTES);
        tokio::select! {
            read = reader.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(());
                }
                last_read_ms = now_ms();
            }
            _ = sleep(Duration::from_millis(u64::try_from(wake_in).unwrap_or(1))) => {}
        }
    }
}

/// Our master's tail request (`tail.rs`): a heartbeat for an offset below this slave's end,
/// before anything was appended on this connection. Any other frame for another offset than
/// the end is refused as Java refuses it.
fn is_tail_request(
    frame: &TransferFrame,
    stream: &ReplicaStream,
    reported: CommitLogOffset,
    log_end: CommitLogOffset,
) -> bool {
    frame.body.is_empty()
        && stream.pending_bytes() == 0
        && reported == log_end
        && stream.expected_offset() == Some(log_end)
        && frame.offset < log_end
}

/// Sends the master the marker and this log's bytes `[from, to)` (records the master lost).
async fn send_tail(
    replica: &Replica,
    writer: &mut OwnedWriteHalf,
    from: CommitLogOffset,
    to: CommitLogOffset,
) -> Result<(), HaError> {
    tracing::warn!(
        from = from.0,
        to = to.0,
        "the master lost records this slave holds: sending them back"
    );
    writer.write_all(&TAIL_MARKER.to_be_bytes()).await?;
    let batch = replica
        .config
        .transfer_batch_bytes
        .clamp(1, TRANSFER_BODY_BYTES_MAX as u32);
    let mut offset = from;
    let mut frame = BytesMut::new();
    while offset < to {
        let max_len = u32::try_from(to.bytes_after(offset)).unwrap_or(u32::MAX).min(batch);
        let chunk = replica.sink.read_replica_chunk(offset, max_len)?;
        if chunk.is_empty() {
            return Err(HaError::Tail {
                reason: format!("this slave no longer holds offset {offset}"),
            });
        }
        frame.clear();
        TransferFrame::encode(offset, &chunk, &mut frame);
        writer.write_all(&frame).await?;
        offset = offset.plus_bytes(chunk.len() as u64);
    }
    Ok(())
}

/// The frame at the front of `buf` and its length, once all of it is there.
fn complete_frame(buf: &[u8]) -> Result<Option<(TransferFrame, usize)>, HaError> {
    match TransferFrame::decode(buf) {
        Ok(decoded) => Ok(Some(decoded)),
        Err(HaError::Truncated { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn report(writer: &mut OwnedWriteHalf, max_offset: CommitLogOffset) -> Result<(), HaError> {
    let mut bytes = BytesMut::with_capacity(super::codec::REPORT_BYTES);
    OffsetReport { max_offset }.encode(&mut bytes);
    writer.write_all(&bytes).await?;
    Ok(())
}
