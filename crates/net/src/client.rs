//! A remoting client: one connection per address, shared by every caller.
//!
//! Invariants:
//! * at most one connection per address is open or being opened: concurrent first calls to an
//!   address wait for the same connect instead of racing;
//! * a closed connection is replaced on the next call to its address (reconnect on demand);
//! * the client's router serves requests the server initiates on our connections (the broker's
//!   `NOTIFY_CONSUMER_IDS_CHANGED`, `CHECK_TRANSACTION_STATE`, `GET_CONSUMER_RUNNING_INFO`);
//! * the client owns its connection tasks: [`Client::shutdown`] closes them gracefully, and
//!   dropping the last clone of the client aborts them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferrocket_wire::RemotingCommand;
use tokio::net::TcpStream;
use tokio::sync::{OnceCell, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, debug, warn};

use crate::budget::{Budgets, MemoryUse};
use crate::config::{ClientConfig, deadline_after};
use crate::connection::{ConnectionHandle, PendingResponse};
use crate::driver::{CLOSE_FLUSH_TIMEOUT, Drive, Side, Transport, connection_span, drive};
use crate::error::{NetError, NetResult};
use crate::router::Router;
use crate::tls::TLS_HANDSHAKE_TIMEOUT;

/// A cheaply cloneable client; clones share connections.
#[derive(Clone, Debug)]
pub struct Client {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ClientConfig,
    router: Arc<Router>,
    /// One cell per address; a cell is replaced when its connection has closed.
    slots: Mutex<HashMap<String, Arc<OnceCell<ConnectionHandle>>>>,
    /// Dropping the set (with the last client clone) aborts every connection task.
    tasks: Mutex<JoinSet<()>>,
    shutdown: watch::Sender<bool>,
    budgets: Arc<Budgets>,
}

impl Client {
    /// A client whose connections serve server-initiated requests with `router`.
    pub fn new(router: Router, config: ClientConfig) -> Client {
        Client {
            shared: Arc::new(Shared {
                budgets: Arc::new(Budgets::new(&config.memory)),
                config,
                router: Arc::new(router),
                slots: Mutex::new(HashMap::new()),
                tasks: Mutex::new(JoinSet::new()),
                shutdown: watch::Sender::new(false),
            }),
        }
    }

    /// Sends `request` to `addr` (`host:port`) and waits up to `timeout`, connect included.
    pub async fn invoke(&self, addr: &str, request: RemotingCommand, timeout: Duration) -> NetResult<RemotingCommand> {
        self.invoke_async(addr, request, timeout).await?.await
    }

    /// Sends `request` and returns once it is queued for the socket; the returned future yields
    /// the response. `timeout` covers connecting, queueing and waiting.
    pub async fn invoke_async(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> NetResult<PendingResponse> {
        let deadline = deadline_after(timeout);
        let Ok(connection) = tokio::time::timeout_at(deadline, self.connection(addr)).await else {
            return Err(NetError::ConnectFailed {
                addr: addr.to_owned(),
                reason: format!("not connected within the call's {} ms", timeout.as_millis()),
            });
        };
        connection?.invoke_until(request, deadline, timeout).await
    }

    /// Sends `request` as oneway; `timeout` bounds the wait for room in the writer queue.
    pub async fn oneway(&self, addr: &str, request: RemotingCommand, timeout: Duration) -> NetResult<()> {
        let connection = self.connection(addr).await?;
        connection.oneway(request, timeout).await
    }

    /// The live connection to `addr`, opened if there is none (or the last one closed).
    pub async fn connection(&self, addr: &str) -> NetResult<ConnectionHandle> {
        let cell = self.slot(addr)?;
        let connection = cell.get_or_try_init(|| self.connect(addr)).await?;
        Ok(connection.clone())
    }

    /// Bytes held for the client's connections now: queued requests and unfinished frames.
    pub fn memory_use(&self) -> MemoryUse {
        self.shared.budgets.memory_use()
    }

    /// Closes the connection to `addr`, if any; the next call reconnects.
    pub fn close_connection(&self, addr: &str) {
        let cell = self.shared.lock_slots().remove(addr);
        if let Some(connection) = cell.as_ref().and_then(|cell| cell.get()) {
            connection.close();
        }
    }

    /// Closes every connection, letting requests the servers sent us finish within the grace
    /// period. Later calls fail with `ConnectionClosed`.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let mut tasks = std::mem::take(&mut *self.shared.lock_tasks());
        let wait_all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(
            self.shared.config.shutdown_grace.saturating_add(CLOSE_FLUSH_TIMEOUT),
            wait_all,
        )
        .await
        .is_err()
        {
            warn!(
                left = tasks.len(),
                "client connections still open after the grace period; aborted"
            );
        }
        self.shared.lock_slots().clear();
    }

    /// The cell holding (or about to hold) the connection to `addr`.
    fn slot(&self, addr: &str) -> NetResult<Arc<OnceCell<ConnectionHandle>>> {
        let mut slots = self.shared.lock_slots();
        if let Some(cell) = slots.get(addr)
            && cell.get().is_none_or(|connection| !connection.is_closed())
        {
            return Ok(Arc::clone(cell));
        }
        let limit = self.shared.config.connections_max.max(1);
        if !slots.contains_key(addr) && slots.len() >= limit {
            // Forget closed connections and failed connects nobody is retrying.
            slots.retain(|_, cell| match cell.get() {
                Some(connection) => !connection.is_closed(),
                None => Arc::strong_count(cell) > 1,
            });
            if slots.len() >= limit {
                return Err(NetError::TooManyConnections {
                    addr: addr.to_owned(),
                    limit,
                });
            }
        }
        let cell = Arc::new(OnceCell::new());
        slots.insert(addr.to_owned(), Arc::clone(&cell));
        Ok(cell)
    }

    async fn connect(&self, addr: &str) -> NetResult<ConnectionHandle> {
        let closed = || NetError::ConnectionClosed { addr: addr.to_owned() };
        if *self.shared.shutdown.borrow() {
            return Err(closed());
        }
        let connect_timeout = self.shared.config.connect_timeout;
        let failed = |reason: String| NetError::ConnectFailed {
            addr: addr.to_owned(),
            reason,
        };
        let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(failed(error.to_string())),
            Err(_) => return Err(failed(format!("no answer within {} ms", connect_timeout.as_millis()))),
        };
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "cannot disable Nagle's algorithm");
        }
        let stream = match &self.shared.config.tls {
            None => Transport::Plain(stream),
            Some(tls) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.connect(stream, addr)).await {
                Ok(Ok(stream)) => Transport::Tls(Box::new(stream.into())),
                Ok(Err(error)) => return Err(failed(format!("TLS handshake failed: {error}"))),
                Err(_) => {
                    let timeout_ms = TLS_HANDSHAKE_TIMEOUT.as_millis();
                    return Err(failed(format!("TLS handshake not finished within {timeout_ms} ms")));
                }
            },
        };
        let limits = self.shared.config.connection.clone();
        let (connection, outbound) = ConnectionHandle::open(addr.to_owned(), &limits, Arc::clone(&self.shared.budgets));
        let span = connection_span("client", &connection);
        let setup = Drive {
            connection: connection.clone(),
            outbound,
            router: Arc::clone(&self.shared.router),
            limits,
            budgets: Arc::clone(&self.shared.budgets),
            shutdown: self.shared.shutdown.subscribe(),
            grace: self.shared.config.shutdown_grace,
            side: Side::Client,
        };
        let router = Arc::clone(&self.shared.router);
        let closing = connection.clone();
        let run = async move {
            debug!("connected");
            drive(stream, setup).await;
            router.connection_closed(&closing);
        };
        let mut tasks = self.shared.lock_tasks();
        // Reap finished connections so the set stays as small as the live ones.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(run.instrument(span));
        Ok(connection)
    }
}

impl Shared {
    // Neither lock is held across an await.
    fn lock_slots(&self) -> MutexGuard<'_, HashMap<String, Arc<OnceCell<ConnectionHandle>>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_tasks(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
