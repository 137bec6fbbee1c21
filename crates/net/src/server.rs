//! A remoting server: accepts connections and serves each with the router's handlers.
//!
//! The accept task owns every connection task, and each connection task owns its handler tasks,
//! so stopping the accept task stops everything. [`Server::shutdown`] is graceful: the listener
//! closes at once (new connections are refused), connections stop reading, running handlers get
//! the configured grace to answer, responses are flushed, and whatever still runs after that is
//! aborted. Dropping a [`Server`] without `shutdown` aborts at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, debug, info, warn};

use crate::budget::{Budgets, MemoryUse};
use crate::config::ServerConfig;
use crate::connection::ConnectionHandle;
use crate::driver::{CLOSE_FLUSH_TIMEOUT, Drive, Side, connection_span, drive, until_set};
use crate::error::{NetError, NetResult};
use crate::log_rate::LogRate;
use crate::router::Router;
use crate::tls::{ServerTls, admit};

/// After a failed `accept` (out of file descriptors, most likely) wait this long before the
/// next, so the loop does not spin while the condition lasts.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

static REFUSED_WARNINGS: LogRate = LogRate::new();
static ACCEPT_ERROR_WARNINGS: LogRate = LogRate::new();

/// A listening server. Stop it with [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accepting: Option<JoinHandle<()>>,
    budgets: Arc<Budgets>,
}

impl Server {
    /// Listens on `addr` (port 0 picks a free port) and starts serving.
    pub async fn bind(addr: SocketAddr, router: Router, config: ServerConfig) -> NetResult<Server> {
        let bind_error = |source| NetError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let shutdown = watch::Sender::new(false);
        let budgets = Arc::new(Budgets::new(&config.memory));
        let config_tls_mode = config.tls.mode().java_name();
        let acceptor = Acceptor {
            budgets: Arc::clone(&budgets),
            listener,
            router: Arc::new(router),
            slots: Arc::new(Semaphore::new(config.connections_max.max(1))),
            shutdown: shutdown.subscribe(),
            config,
        };
        let span = tracing::info_span!("server", addr = %local_addr);
        let accepting = tokio::spawn(acceptor.run().instrument(span));
        info!(addr = %local_addr, tls = config_tls_mode, "listening");
        Ok(Server {
            local_addr,
            shutdown,
            accepting: Some(accepting),
            budgets,
        })
    }

    /// Bytes held for the server's connections now: queued answers and unfinished frames.
    pub fn memory_use(&self) -> MemoryUse {
        self.budgets.memory_use()
    }

    /// The address actually bound, with the chosen port when bound to port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets running requests finish within the grace period, closes every
    /// connection, and returns when all tasks have ended.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(accepting) = self.accepting.take() {
            // The accept task bounds its own wait; an error here can only be a panic, logged.
            if let Err(error) = accepting.await {
                warn!(%error, "server task failed during shutdown");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
    }
}

struct Acceptor {
    listener: TcpListener,
    router: Arc<Router>,
    slots: Arc<Semaphore>,
    budgets: Arc<Budgets>,
    shutdown: watch::Receiver<bool>,
    config: ServerConfig,
}

impl Acceptor {
    async fn run(mut self) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = until_set(&mut self.shutdown) => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.admit(stream, peer, &mut connections),
                    Err(error) => {
                        if ACCEPT_ERROR_WARNINGS.allow().is_some() {
                            warn!(%error, "accept failed");
                        }
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
            }
        }
        drop(self.listener);
        let open = connections.len();
        debug!(open, "stopped accepting; waiting for connections to close");
        let wait_all = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(self.config.shutdown_grace.saturating_add(CLOSE_FLUSH_TIMEOUT), wait_all)
            .await
            .is_err()
        {
            warn!(
                left = connections.len(),
                "connections still open after the grace period; aborted"
            );
        }
        info!("server stopped");
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr, connections: &mut JoinSet<()>) {
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            if let Some(left_out) = REFUSED_WARNINGS.allow() {
                warn!(%peer, limit = self.config.connections_max, left_out, "connection limit reached; refused");
            }
            return;
        };
        let limits = self.config.connection.clone();
        let (connection, outbound) = ConnectionHandle::open(peer.to_string(), &limits, Arc::clone(&self.budgets));
        if let Some(tap) = self.router.tap_ref() {
            connection.set_tap(Arc::clone(tap));
        }
        let span = connection_span("server", &connection);
        let setup = Drive {
            connection: connection.clone(),
            outbound,
            router: Arc::clone(&self.router),
            limits,
            budgets: Arc::clone(&self.budgets),
            shutdown: self.shutdown.clone(),
            grace: self.config.shutdown_grace,
            side: Side::Server,
        };
        let router = Arc::clone(&self.router);
        let tls = self.config.tls.clone();
        connections.spawn(serve(stream, tls, setup, slot, router, connection).instrument(span));
    }
}

async fn serve(
    stream: TcpStream,
    tls: ServerTls,
    mut setup: Drive,
    slot: OwnedSemaphorePermit,
    router: Arc<Router>,
    connection: ConnectionHandle,
) {
    debug!("accepted");
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "cannot disable Nagle's algorithm");
    }
    // The first byte is awaited as long as an idle connection may live.
    if let Some(transport) = admit(stream, &tls, setup.limits.idle_timeout, &mut setup.shutdown).await {
        drive(transport, setup).await;
    }
    // Free the slot first, so a callback observing the close may connect again at once.
    drop(slot);
    router.connection_closed(&connection);
}
