//! A master that comes back shorter than its slave takes the missing tail back from the slave
//! before it serves it (issue 18, fault 3; docs/protocol-notes.md "A master shorter than its
//! slave"). A power cut keeps only what the master had fsynced; under SYNC_MASTER with
//! ASYNC_FLUSH an acknowledged message may then be on the slave alone, so the slave's extra
//! bytes are the acknowledged ones and must not be thrown away. Java's classic HA has no answer
//! (its slave refuses a stream that does not start at its own end, and its master would count
//! the slave's larger report as an acknowledgement of its own different bytes).
//!
//! The exchange, on the HA connection, only when the slave's first report is past the master's
//! end and the master has taken no put since it started (so its log is a prefix of the slave's):
//!
//! ```text
//! slave → master: report R (its first, as always)
//! master → slave: tail request = a heartbeat frame for offset M < R (the master's end)
//! slave → master: TAIL_MARKER (8 bytes, -1: never a report), then transfer frames [M, R)
//!                 read from its own log, then a report R
//! master: appends [M, R) (whole records, dispatched), then streams from R as usual
//! ```
//!
//! A Java slave answers the request by closing (offset mismatch), as it would anyway; a Java
//! master never sends one (it starts from the slave's report). Until the first slave has settled
//! (or [`TAIL_RECOVERY_TIMEOUT`] passed) a master that recovered from a crash holds puts, so no
//! put lands at M before the tail is back; during an exchange puts are held too. A slave past
//! the end of a master that did take puts is refused ([`HaError::Diverged`]) and never counted.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_store::CommitLogOffset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use super::codec::{OffsetReport, REPORT_BYTES, TRANSFER_BODY_BYTES_MAX, TRANSFER_HEADER_BYTES, TransferHeader};
use super::replica_stream::ReplicaStream;
use super::{CommitLogSource, HaError};

/// Sent by the slave before the tail it sends back: -1, which no report can be (offsets are
/// never negative), so the master tells it from a heartbeat report sent just before.
pub const TAIL_MARKER: i64 = -1;
/// How long a master restarted after a crash holds puts waiting for its first slave: the slave's
/// reconnect interval (5 s) plus a housekeeping interval (20 s) for a connection to a dead
/// master to be noticed, and a margin. After it, puts go on and a slave that turns out to hold
/// more can no longer be recovered from (it is refused).
pub const TAIL_RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Reports a slave may send between the tail request and its marker (heartbeats already on
/// the wire); more is not our slave.
const REPORTS_BEFORE_MARKER_MAX: usize = 4;
/// While the first report has not fully arrived, look again after this long.
const PEEK_RETRY_MS: u64 = 5;
/// The remark of a put refused while the tail is not settled.
const HOLD_REASON: &str = "the master is taking back from its slave the tail a crash took from its log";

/// The master's side of the tail rule, shared by its connections.
pub(crate) struct Tail {
    source: Arc<dyn CommitLogSource>,
    state: Mutex<TailState>,
    /// One exchange at a time: two slaves must not both append at the master's end.
    exchange: tokio::sync::Mutex<()>,
}

struct TailState {
    /// The log's end with no put since the master started (its end at start, then the end of
    /// each tail taken back): only a log still ending here may take a slave's tail.
    quiet_end: CommitLogOffset,
    /// Puts held until the first slave settles (after a crash).
    startup_hold: bool,
    /// Exchanges under way.
    exchanges: usize,
}

impl Tail {
    pub(crate) fn new(source: Arc<dyn CommitLogSource>, end_at_start: CommitLogOffset) -> Tail {
        Tail {
            source,
            state: Mutex::new(TailState {
                quiet_end: end_at_start,
                startup_hold: false,
                exchanges: 0,
            }),
            exchange: tokio::sync::Mutex::new(()),
        }
    }

    /// Holds puts until the first slave settles or `wait` passes (a master that recovered from
    /// a crash: its slave may hold acknowledged records it lost).
    pub(crate) fn hold_until_first_slave(self: &Arc<Tail>, wait: Duration) {
        self.update(|state| state.startup_hold = true);
        let tail: Weak<Tail> = Arc::downgrade(self);
        tokio::spawn(async move {
            sleep(wait).await;
            if let Some(tail) = tail.upgrade()
                && tail.update(|state| std::mem::replace(&mut state.startup_hold, false))
            {
                tracing::warn!(wait_ms = wait.as_millis() as u64, "no slave came back: puts resume");
            }
        });
    }

    /// Changes the state under its lock and tells the store whether puts are held now. The
    /// store's lock is taken under this one; the store never calls back, so no cycle.
    fn update<R>(&self, change: impl FnOnce(&mut TailState) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let was_held = state.held();
        let result = change(&mut state);
        if state.held() != was_held {
            self.source.hold_puts(state.held().then(|| HOLD_REASON.to_owned()));
        }
        result
    }

    /// The master's end if it took no put since it started (or since it last took a tail).
    fn quiet_end(&self) -> CommitLogOffset {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).quiet_end
    }

    /// Decides what a new slave connection gets before the usual stream: nothing when its first
    /// report is within the master's log, the tail exchange when it is past it. Returns the
    /// stream ready for the usual exchange, or `None` when the slave left first.
    pub(crate) async fn settle(&self, mut stream: TcpStream, idle: Duration) -> Result<Option<TcpStream>, HaError> {
        let Some(slave_end) = peek_report(&stream, idle).await? else {
            return Ok(None);
        };
        let _one_at_a_time = self.exchange.lock().await;
        // Inline, as every store call of the replication tasks (no blocking-pool hop: ha.rs
        // `the_ack_path_stays_on_the_runtime_thread`).
        let (master_end, segment_bytes) = (self.source.max_offset(), self.source.segment_bytes());
        if slave_end <= master_end {
            self.update(|state| state.startup_hold = false);
            return Ok(Some(stream));
        }
        if master_end != self.quiet_end() {
            return Err(HaError::Diverged { slave_end, master_end });
        }
        tracing::warn!(
            slave_end = slave_end.0,
            master_end = master_end.0,
            "the slave holds records this master lost: taking them back before serving"
        );
        self.update(|state| state.exchanges += 1);
        let taken = take_back(&mut stream, &self.source, master_end, slave_end, segment_bytes, idle).await;
        self.update(|state| {
            state.exchanges -= 1;
            if taken.is_ok() {
                state.quiet_end = slave_end;
                state.startup_hold = false;
            }
        });
        taken?;
        tracing::info!(
            bytes = slave_end.bytes_after(master_end),
            "tail taken back from the slave"
        );
        Ok(Some(stream))
    }
}

/// The slave's first report, left in the socket for the usual reader; `None` if it closed.
async fn peek_report(stream: &TcpStream, idle: Duration) -> Result<Option<CommitLogOffset>, HaError> {
    let mut report = [0u8; REPORT_BYTES];
    let waited = timeout(idle, async {
        loop {
            match stream.peek(&mut report).await? {
                0 => return Ok::<_, HaError>(None),
                REPORT_BYTES => return Ok(Some(OffsetReport::decode(&report)?.0.max_offset)),
                // Part of it: wait for the rest without consuming it.
                _ => sleep(Duration::from_millis(PEEK_RETRY_MS)).await,
            }
        }
    })
    .await;
    waited.unwrap_or(Err(HaError::Idle {
        idle_ms: idle.as_millis() as i64,
    }))
}

/// Sends the tail request and appends what the slave sends back, `[from, to)`.
async fn take_back(
    stream: &mut TcpStream,
    source: &Arc<dyn CommitLogSource>,
    from: CommitLogOffset,
    to: CommitLogOffset,
    segment_bytes: u64,
    idle: Duration,
) -> Result<(), HaError> {
    let mut first_report = [0u8; REPORT_BYTES];
    read_within(stream, &mut first_report, idle).await?;
    let mut request = BytesMut::with_capacity(TRANSFER_HEADER_BYTES);
    TransferHeader {
        offset: from,
        body_bytes: 0,
    }
    .encode(&mut request);
    stream.write_all(&request).await?;
    let mut word = [0u8; REPORT_BYTES];
    let mut reports = 0;
    loop {
        read_within(stream, &mut word, idle).await?;
        if i64::from_be_bytes(word) == TAIL_MARKER {
            break;
        }
        reports += 1;
        if reports > REPORTS_BEFORE_MARKER_MAX {
            return Err(tail_error(format!("no tail marker after {reports} reports")));
        }
    }
    let mut replica = ReplicaStream::new(from, segment_bytes);
    let mut header = [0u8; TRANSFER_HEADER_BYTES];
    while replica.expected_offset().unwrap_or(from) < to {
        read_within(stream, &mut header, idle).await?;
        let (frame, _) = TransferHeader::decode(&header)?;
        if frame.offset.plus_bytes(u64::from(frame.body_bytes)) > to {
            return Err(tail_error(format!(
                "{} bytes at {} run past the reported end {to}",
                frame.body_bytes, frame.offset
            )));
        }
        // Bounded by the header's decoder.
        debug_assert!(frame.body_bytes as usize <= TRANSFER_BODY_BYTES_MAX);
        let mut body = vec![0u8; frame.body_bytes as usize];
        read_within(stream, &mut body, idle).await?;
        if let Some((offset, bytes)) = replica.accept(frame.offset, &body)? {
            source.append_recovered(offset, &bytes)?;
        }
    }
    if replica.pending_bytes() != 0 {
        return Err(tail_error(format!("the tail ends inside a record at {to}")));
    }
    Ok(())
}

async fn read_within(stream: &mut TcpStream, buf: &mut [u8], idle: Duration) -> Result<(), HaError> {
    match timeout(idle, stream.read_exact(buf)).await {
        Ok(read) => {
            read?;
            Ok(())
        }
        Err(_) => Err(HaError::Idle {
            idle_ms: idle.as_millis() as i64,
        }),
    }
}

fn tail_error(reason: String) -> HaError {
    HaError::Tail { reason }
}

impl TailState {
    fn held(&self) -> bool {
        self.startup_hold || self.exchanges > 0
    }
}
