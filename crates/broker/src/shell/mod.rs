//! The broker's shell: the shared state every handler works on, and [`start`], which opens the
//! store, loads `config/`, binds the port and runs the periodic tasks.
//!
//! Concurrency: each table is a plain synchronous structure behind its own `Mutex`, held only
//! for the few microseconds a handler reads or changes it and never across an `.await`. The
//! store has its own shell ([`StoreHandle`]): puts wait for their flush there, reads run under
//! its lock. Lock order, where two are needed: topics, groups, offsets, clients, pull holds.
//!
//! Ownership: [`BrokerHandle`] owns the transport server and the periodic tasks; the broker
//! holds the HA listener (masters) or follower (slaves), which shutdown stops before the store.
//! [`BrokerHandle::shutdown`] stops accepting (running requests get their answers), stops the
//! tasks, unregisters from the name servers, persists metadata and shuts the store down cleanly
//! (so the next start is a normal recovery).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ferrocket_net::{Client, ClientConfig, Router, Server, ServerConfig};
use ferrocket_store::StoreHandle;
use ferrocket_wire::{ResponseCode, SerializeType};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::clients::{self, ClientRegistry};
use crate::config::BrokerConfig;
use crate::consumer_offsets::ConsumerOffsetTable;
use crate::error::{BrokerError, BrokerResult};
use crate::handlers;
use crate::long_poll::{self, PullHolds};
use crate::metadata;
use crate::registration::{self, MasterAddresses};
use crate::replication::{self, Replication};
use crate::schedule;
use crate::slave_sync;
use crate::subscription_groups::SubscriptionGroupTable;
use crate::topics::TopicTable;

/// The metadata tables as loaded from `config/`.
#[derive(Debug, Default)]
pub struct Tables {
    pub topics: TopicTable,
    pub groups: SubscriptionGroupTable,
    pub offsets: ConsumerOffsetTable,
}

/// Everything a handler needs, shared by all connections.
pub struct Broker {
    config: RwLock<Arc<BrokerConfig>>,
    /// `brokerIP1:port` with the port actually bound: what name servers and clients are told.
    /// Set once, right after binding, before any request can arrive.
    address: OnceLock<String>,
    pub topics: Mutex<TopicTable>,
    pub groups: Mutex<SubscriptionGroupTable>,
    pub offsets: Mutex<ConsumerOffsetTable>,
    pub clients: Mutex<ClientRegistry>,
    pub pull_holds: Arc<PullHolds>,
    pub store: StoreHandle,
    /// Outgoing connections: name servers (and, for a slave, its master).
    pub outbound: Client,
    /// The master and HA addresses the name servers last reported (slaves only).
    pub master_addresses: Mutex<MasterAddresses>,
    /// The HA listener (masters) or follower (slaves).
    pub replication: Replication,
    /// When `start` began, ms since the epoch (GET_BROKER_RUNTIME_INFO's `bootTimestamp`).
    pub started_ms: i64,
}

impl Broker {
    /// A snapshot of the configuration (UPDATE_BROKER_CONFIG swaps in a new one).
    pub fn config(&self) -> Arc<BrokerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn replace_config(&self, config: BrokerConfig) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    /// `brokerIP1:listenPort`, the broker's address for everyone else.
    pub fn address(&self) -> &str {
        self.address.get().map_or("", String::as_str)
    }

    /// Wall-clock milliseconds since the epoch: store timestamps and client heartbeats use it,
    /// as Java's `System.currentTimeMillis()`. Cores take it as an argument.
    pub fn now_ms(&self) -> i64 {
        wall_clock_ms()
    }
}

/// Locks a table. A panic while holding a table lock is a bug that already left its mark in
/// the log; the table itself is still consistent between two complete operations, so keep going.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn system_error(remark: String) -> BrokerError {
    BrokerError::coded(ResponseCode::SYSTEM_ERROR, remark)
}

/// A running broker.
pub struct BrokerHandle {
    broker: Arc<Broker>,
    server: Server,
    tasks: Vec<JoinHandle<()>>,
}

impl BrokerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// The bound HA port's address (masters only).
    pub fn ha_local_addr(&self) -> Option<SocketAddr> {
        self.broker.replication.ha_local_addr()
    }

    /// Stops serving and leaves the store and `config/` as a clean shutdown leaves them.
    pub async fn shutdown(self) {
        // Held pulls would otherwise sit out their suspend time (up to 15 s) past the
        // transport's grace period and be cut off unanswered.
        self.broker.pull_holds.wake_all();
        self.server.shutdown().await;
        for task in &self.tasks {
            task.abort();
        }
        registration::unregister_all(&self.broker).await;
        if let Err(error) = metadata::persist_all(&self.broker) {
            warn!(%error, "persisting metadata at shutdown failed");
        }
        self.broker.replication.shutdown().await;
        self.broker.store.shutdown();
        self.broker.outbound.shutdown().await;
        info!("broker stopped");
    }
}

/// Opens the store and `config/`, binds `config.listen_host:config.listen_port` (port 0 picks
/// one) and starts serving.
pub async fn start(mut config: BrokerConfig, serialize_type: Option<SerializeType>) -> BrokerResult<BrokerHandle> {
    replication::settle_role(&mut config)?;
    let now_ms = wall_clock_ms();
    let tables = metadata::load(&config, now_ms)?;
    let pull_holds = Arc::new(PullHolds::default());
    let arrivals = Arc::clone(&pull_holds);
    let store = StoreHandle::open(
        replication::store_config(&config),
        Arc::new(move |topic: &str, queue_id: i32, max_offset: u64| arrivals.on_arrival(topic, queue_id, max_offset)),
    )?;
    let bind_addr: SocketAddr = format!("{}:{}", config.listen_host, config.listen_port)
        .parse()
        .map_err(|error| system_error(format!("bad listen address {}: {error}", config.listen_host)))?;
    let broker_ip1 = config.broker_ip1.clone();
    let replication = Replication::start(&config, &store).await?;
    let is_slave = !config.is_master();
    let broker = Arc::new(Broker {
        config: RwLock::new(Arc::new(config)),
        address: OnceLock::new(),
        topics: Mutex::new(tables.topics),
        groups: Mutex::new(tables.groups),
        offsets: Mutex::new(tables.offsets),
        clients: Mutex::new(ClientRegistry::default()),
        pull_holds,
        store,
        outbound: Client::new(Router::new(), ClientConfig::default()),
        master_addresses: Mutex::new(MasterAddresses::default()),
        replication,
        started_ms: now_ms,
    });
    let mut router = handlers::router(&broker);
    if let Some(serialize_type) = serialize_type {
        router = router.response_serialize_type(serialize_type);
    }
    let server = Server::bind(bind_addr, router, ServerConfig::default())
        .await
        .map_err(|error| system_error(format!("cannot listen on {bind_addr}: {error}")))?;
    // Only this function sets it, once.
    let _ = broker
        .address
        .set(format!("{broker_ip1}:{}", server.local_addr().port()));
    let mut tasks = vec![
        tokio::spawn(registration::run(Arc::clone(&broker))),
        tokio::spawn(metadata::run_persist(Arc::clone(&broker))),
        tokio::spawn(clients::run_expiry(Arc::clone(&broker))),
        tokio::spawn(long_poll::run_timer(Arc::clone(&broker))),
        tokio::spawn(schedule::run(Arc::clone(&broker))),
    ];
    if is_slave {
        tasks.push(tokio::spawn(slave_sync::run(Arc::clone(&broker))));
    }
    info!(address = broker.address(), "broker started");
    Ok(BrokerHandle { broker, server, tasks })
}
