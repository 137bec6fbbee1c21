//! The name server's tokio shell: sockets, the clock, the timer and the KV file around the pure
//! [`NameServer`].
//!
//! One task, the owner, holds the [`NameServer`]; nothing else touches it, so there is no lock.
//! Connection handlers pass each request to the owner through a bounded queue and wait for its
//! answer; a full queue is answered at once with Java's `SYSTEM_BUSY` "[OVERLOAD]" remark. The
//! owner also runs the expiry scan every `scanNotActiveBrokerInterval`, drops the brokers of
//! closed connections, and writes `<data>/namesrv/kvConfig.json` after a KV change, before the
//! response goes out (as Java does). Time in the core is milliseconds of a monotonic clock since
//! start, so a wall-clock jump neither expires nor immortalises brokers.
//!
//! The owner does nothing that takes long, so a route lookup never waits behind it for more
//! than milliseconds: a REGISTER_BROKER body is decoded before it reaches the owner, on the
//! blocking pool ([`REGISTRATION_DECODES_MAX`] at once), and the queue data of dropped brokers
//! is removed a step at a time ([`crate::route_table::SWEEP_TOPICS_PER_STEP`] topics), one step
//! after each request while the sweep lasts and otherwise whenever the owner is idle.
//!
//! Ownership: [`NamesrvHandle`] owns the transport server and the owner task.
//! [`NamesrvHandle::shutdown`] first stops the transport (running requests get their answers),
//! then the owner. Dropping the handle aborts the transport and lets the owner end by itself.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::log_rate::{LIMIT_WARN_INTERVAL_MS, LogRate};
use ferrocket_net::{ConnectionHandle, NetError, Router, Server, ServerConfig, Tap};
use ferrocket_wire::{RemotingCommand, RequestCode, SerializeType};
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument, error, info, warn};

use crate::config::NamesrvConfig;
use crate::error::{NamesrvError, error_response};
use crate::handlers::{HANDLED_CODES, NameServer, Prepared, prepare};
use crate::kv_config::KvConfig;
use crate::kv_file;
use crate::route_table::{ConnectionId, DroppedBroker};

/// Requests waiting for the owner: Java's `defaultThreadPoolQueueCapacity`. The owner answers a
/// request in microseconds, so a full queue means a flood, answered with SYSTEM_BUSY.
pub const REQUESTS_QUEUED_MAX: usize = 10_000;

/// Closed connections waiting for the owner. Should it overflow, the brokers of a lost close
/// still expire by the scan after their heartbeat timeout.
pub const CLOSED_CONNECTIONS_QUEUED_MAX: usize = 4_096;

/// REGISTER_BROKER bodies decoded at once. Each is at most a 16 MiB frame (64 MiB inflated)
/// and decodes to a few times that, so this bounds the memory registrations take while being
/// decoded; more at once would only share the same two or four cores.
pub const REGISTRATION_DECODES_MAX: usize = 4;

/// Requests a full queue answered SYSTEM_BUSY ([`REQUESTS_QUEUED_MAX`]), connection closes a
/// full queue lost ([`CLOSED_CONNECTIONS_QUEUED_MAX`]) and refused registrations (a
/// misconfigured broker retries every few seconds, a flood is refused thousands of times): one
/// line per kind per interval, with how many were not logged.
static OVERLOAD_WARNINGS: LogRate = LogRate::every_ms(LIMIT_WARN_INTERVAL_MS);
static LOST_CLOSE_WARNINGS: LogRate = LogRate::every_ms(LIMIT_WARN_INTERVAL_MS);
static REFUSED_REGISTRATION_WARNINGS: LogRate = LogRate::every_ms(LIMIT_WARN_INTERVAL_MS);

/// The KV file's place under the data directory, as in Java's `~/namesrv/kvConfig.json`.
const KV_CONFIG_RELATIVE_PATH: [&str; 2] = ["namesrv", "kvConfig.json"];

#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },

    #[error(transparent)]
    Bind(#[from] NetError),
}

/// A running name server.
#[derive(Debug)]
pub struct NamesrvHandle {
    server: Server,
    owner: JoinHandle<()>,
    stop: oneshot::Sender<()>,
    tap: Arc<Tap>,
}

impl NamesrvHandle {
    /// The address actually bound (with the chosen port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The traffic tap of the port (the console's live view, `ferrocket tap`).
    pub fn tap(&self) -> &Arc<Tap> {
        &self.tap
    }

    /// Stops accepting, answers the requests in progress, then stops the owner task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
        // The owner may already have ended; then there is no one to tell.
        let _ = self.stop.send(());
        if let Err(error) = self.owner.await {
            warn!(%error, "name server task failed during shutdown");
        }
    }
}

/// Starts a name server listening on `listen_addr`, keeping its KV config under `data_dir`.
/// `response_serialize_type` forces the header encoding of every response, as Java's
/// `rocketmq.serialize.type` does; `None` answers in the request's own encoding.
pub async fn start(
    config: NamesrvConfig,
    listen_addr: SocketAddr,
    data_dir: &Path,
    response_serialize_type: Option<SerializeType>,
) -> Result<NamesrvHandle, StartError> {
    let kv_path = KV_CONFIG_RELATIVE_PATH
        .iter()
        .fold(data_dir.to_path_buf(), |path, part| path.join(part));
    let kv = load_kv(kv_path.clone()).await?;
    let (jobs_tx, jobs) = mpsc::channel(REQUESTS_QUEUED_MAX);
    let (closed_tx, closed) = mpsc::channel(CLOSED_CONNECTIONS_QUEUED_MAX);
    let (stop_tx, stop) = oneshot::channel();
    // Events are stamped for people to read: the wall clock, not the core's monotonic one.
    let wall = ferrocket_store::Clock::system();
    let tap = Tap::new(move || u64::try_from(wall.now_ms()).unwrap_or(0));
    let router = router(jobs_tx, closed_tx, response_serialize_type).tap(Arc::clone(&tap));
    let server_config = ServerConfig {
        tls: config.tls.clone(),
        ..ServerConfig::default()
    };
    let server = Server::bind(listen_addr, router, server_config).await?;
    let clock = Instant::now();
    let owner = Owner {
        core: NameServer::new(config, kv, 0),
        jobs,
        closed,
        stop,
        kv_path,
        clock,
    };
    let span = tracing::info_span!("namesrv", addr = %server.local_addr());
    let owner = tokio::spawn(owner.run().instrument(span));
    Ok(NamesrvHandle {
        server,
        owner,
        stop: stop_tx,
        tap,
    })
}

async fn load_kv(kv_path: PathBuf) -> Result<KvConfig, StartError> {
    let dir = kv_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let data_dir_error = |source| StartError::DataDir {
        path: dir.clone(),
        source,
    };
    let loading = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || ferrocket_store::create_dir_all_durably(&dir).map(|()| kv_file::load(&kv_path))
    });
    match loading.await {
        Ok(result) => result.map_err(data_dir_error),
        Err(join) => Err(data_dir_error(io::Error::other(join.to_string()))),
    }
}

/// One request on its way to the owner.
struct Job {
    request: RemotingCommand,
    prepared: Prepared,
    connection: ConnectionId,
    reply: oneshot::Sender<RemotingCommand>,
}

fn router(
    jobs: mpsc::Sender<Job>,
    closed: mpsc::Sender<ConnectionId>,
    response_serialize_type: Option<SerializeType>,
) -> Router {
    let mut router = Router::new();
    let decodes = Arc::new(Semaphore::new(REGISTRATION_DECODES_MAX));
    for code in HANDLED_CODES {
        let (jobs, decodes) = (jobs.clone(), Arc::clone(&decodes));
        router = router.route(*code, move |request, connection: ConnectionHandle| {
            submit(
                jobs.clone(),
                Arc::clone(&decodes),
                request,
                ConnectionId(connection.id()),
            )
        });
    }
    router = router.on_connection_closed(move |connection| {
        if closed.try_send(ConnectionId(connection.id())).is_err()
            && let Some(not_logged) = LOST_CLOSE_WARNINGS.allow()
        {
            warn!(
                closes_not_logged = not_logged,
                "connection close lost: the limit is CLOSED_CONNECTIONS_QUEUED_MAX = \
                 {CLOSED_CONNECTIONS_QUEUED_MAX}; its brokers will expire by the scan"
            );
        }
    });
    match response_serialize_type {
        Some(serialize_type) => router.response_serialize_type(serialize_type),
        None => router,
    }
}

/// Hands a request to the owner and waits for its answer.
async fn submit(
    jobs: mpsc::Sender<Job>,
    decodes: Arc<Semaphore>,
    request: RemotingCommand,
    connection: ConnectionId,
) -> Option<RemotingCommand> {
    // What an error response needs of the request, kept before the request moves on.
    let mut shape = RemotingCommand::request(request.request_code());
    shape.opaque = request.opaque;
    shape.serialize_type = request.serialize_type;
    let (request, prepared) = match prepare_off_owner(&decodes, request).await {
        Ok(prepared) => prepared,
        Err(error) => return Some(error_response(&shape, &error)),
    };
    let (reply, answer) = oneshot::channel();
    let error = match jobs.try_send(Job {
        request,
        prepared,
        connection,
        reply,
    }) {
        Ok(()) => match answer.await {
            Ok(response) => return Some(response),
            Err(_) => NamesrvError::ShuttingDown,
        },
        Err(mpsc::error::TrySendError::Full(_)) => {
            if let Some(not_logged) = OVERLOAD_WARNINGS.allow() {
                warn!(
                    requests_not_logged = not_logged,
                    "request answered SYSTEM_BUSY: the limit is REQUESTS_QUEUED_MAX = {REQUESTS_QUEUED_MAX}"
                );
            }
            NamesrvError::Overloaded
        }
        Err(mpsc::error::TrySendError::Closed(_)) => NamesrvError::ShuttingDown,
    };
    Some(error_response(&shape, &error))
}

/// Runs [`prepare`] on the blocking pool for requests that need it (a registration's body).
async fn prepare_off_owner(
    decodes: &Semaphore,
    request: RemotingCommand,
) -> Result<(RemotingCommand, Prepared), NamesrvError> {
    if request.request_code() != RequestCode::REGISTER_BROKER {
        return Ok((request, Prepared::Nothing));
    }
    // Closed only when the semaphore is dropped, which the router outlives.
    let _permit = decodes.acquire().await.map_err(|_| NamesrvError::ShuttingDown)?;
    tokio::task::spawn_blocking(move || {
        let prepared = prepare(&request);
        (request, prepared)
    })
    .await
    .map_err(|_| NamesrvError::ShuttingDown)
}

/// The task that owns the name server's state.
struct Owner {
    core: NameServer,
    jobs: mpsc::Receiver<Job>,
    closed: mpsc::Receiver<ConnectionId>,
    stop: oneshot::Receiver<()>,
    kv_path: PathBuf,
    clock: Instant,
}

impl Owner {
    async fn run(mut self) {
        let mut next_scan = self.clock + self.scan_interval();
        loop {
            tokio::select! {
                biased;
                _ = &mut self.stop => break,
                // Before requests, so a flood of them cannot starve the scan.
                () = tokio::time::sleep_until(next_scan) => {
                    let dropped = self.core.scan_not_active(self.now_ms());
                    log_dropped(&dropped, "no heartbeat within its timeout");
                    next_scan = Instant::now() + self.scan_interval();
                }
                Some(connection) = self.closed.recv() => {
                    let dropped = self.core.connection_closed(connection);
                    log_dropped(&dropped, "connection closed");
                }
                Some(job) = self.jobs.recv() => {
                    self.serve(job).await;
                    // One step per request: a flood of requests cannot starve the sweep, and
                    // each request waits behind at most one step.
                    self.core.sweep_step();
                }
                // Only when nothing else is ready; then back to the scheduler, or this branch,
                // always ready, would keep the task (and its queued requests) to itself.
                () = std::future::ready(()), if self.core.routes().sweep_pending() => {
                    self.core.sweep_step();
                    tokio::task::yield_now().await;
                }
            }
        }
        info!("name server stopped");
    }

    async fn serve(&mut self, job: Job) {
        let handled = self
            .core
            .handle_prepared(&job.request, job.prepared, job.connection, self.now_ms());
        if handled.kv_changed {
            self.persist_kv().await;
        }
        if job.request.request_code() == RequestCode::REGISTER_BROKER && handled.response.code != 0 {
            self.log_refusal(&job.request, &handled.response);
        }
        // The requester may have given up; its answer then has nowhere to go.
        let _ = job.reply.send(handled.response);
    }

    /// Java logs a failed write and still answers SUCCESS; the table in memory is current and
    /// the next change retries the write.
    async fn persist_kv(&self) {
        let bytes = self.core.kv().to_json();
        let path = self.kv_path.clone();
        let written = tokio::task::spawn_blocking(move || kv_file::write(&path, &bytes)).await;
        let failure = match written {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(join) => join.to_string(),
        };
        error!(path = %self.kv_path.display(), %failure, "cannot persist the KV config");
    }

    fn log_refusal(&self, request: &RemotingCommand, response: &RemotingCommand) {
        let Some(not_logged) = REFUSED_REGISTRATION_WARNINGS.allow() else {
            return;
        };
        warn!(
            broker_name = request.ext("brokerName").unwrap_or("?"),
            broker_addr = request.ext("brokerAddr").unwrap_or("?"),
            code = response.code,
            remark = response.remark.as_deref().unwrap_or(""),
            refusals_not_logged = not_logged,
            "registration refused"
        );
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Read on every round, so UPDATE_NAMESRV_CONFIG takes effect at the next scan.
    fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.core.config().scan_not_active_broker_interval_ms)
    }
}

fn log_dropped(dropped: &[DroppedBroker], reason: &str) {
    for broker in dropped {
        warn!(
            cluster = %broker.key.cluster,
            addr = %broker.key.addr,
            broker_name = broker.broker_name.as_deref().unwrap_or("?"),
            connection = broker.connection.0,
            reason,
            "broker removed"
        );
    }
}
