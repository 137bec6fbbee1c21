//! The broker's state: the tables every handler reads and changes, the store and replication
//! handles, the configuration and the one clock. Nothing here spawns a task or opens a socket;
//! the shell (`crate::shell`) builds a [`Broker`] at start-up and runs the timers around it.
//!
//! Tables are plain synchronous structures that take `now_ms` and return facts. Each has one
//! owner, a [`Table`], held only for the microseconds an operation takes and never across an
//! `.await` (the guard is not `Send`). Lock order, where two are needed: topics, groups,
//! offsets, clients, master addresses; the pull holds and replication take their own locks
//! after any of these.

pub mod assignment;
pub mod auth;
pub mod clients;
pub mod consumer_offsets;
pub mod keep_from;
pub mod long_poll;
pub mod metadata;
pub mod metrics;
pub mod plain_acl;
pub mod plain_acl_files;
pub mod plain_acl_store;
pub mod pop;
pub mod pop_order;
pub mod pop_wake;
pub mod registration_health;
pub mod replication;
pub mod schedule;
pub mod sql_filter;
pub mod subscription_groups;
pub mod timer;
pub mod topics;
pub mod transactions;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use ferrocket_store::{Clock, StoreHandle};
use tokio::sync::{mpsc, oneshot};

use crate::config::{BrokerConfig, MetricsExporterType};
use clients::ClientRegistry;
use consumer_offsets::ConsumerOffsetTable;
use long_poll::PullHolds;
use replication::{MasterAddresses, Replication};
use subscription_groups::SubscriptionGroupTable;
use topics::TopicTable;

/// One table and its lock.
#[derive(Debug, Default)]
pub struct Table<T>(Mutex<T>);

impl<T> Table<T> {
    pub fn new(table: T) -> Table<T> {
        Table(Mutex::new(table))
    }

    /// The table, for one operation. A panic while it was held is a bug that already left its
    /// mark in the log; the table is consistent between two complete operations, so go on.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The metadata tables as loaded from `config/`.
#[derive(Debug, Default)]
pub struct Tables {
    pub topics: TopicTable,
    pub groups: SubscriptionGroupTable,
    pub offsets: ConsumerOffsetTable,
    pub auth: auth::AuthTable,
    pub request_modes: assignment::RequestModes,
    /// ACL 1.0's accounts when `aclEnable` is on.
    pub plain_acl: Option<plain_acl_store::PlainAclStore>,
}

/// How handlers ask the shell to register with the name servers before they answer (Java
/// registers synchronously after a topic is created): a request carries the sender to answer
/// on once every name server was tried.
pub type RegisterRequest = oneshot::Sender<()>;

/// Everything a handler needs, shared by all connections.
pub struct Broker {
    config: RwLock<Arc<BrokerConfig>>,
    /// `brokerIP1:port` with the port actually bound: what name servers and clients are told.
    /// Set once, right after binding, before any request can arrive.
    address: OnceLock<String>,
    pub topics: Table<TopicTable>,
    pub groups: Table<SubscriptionGroupTable>,
    pub offsets: Table<ConsumerOffsetTable>,
    /// Users and ACLs (taken alone, never with another table).
    pub auth: Table<auth::AuthTable>,
    /// ACL 1.0's accounts when `aclEnable` is on (the admin codes and file edits change them).
    pub plain_acl: Option<plain_acl_store::PlainAclStore>,
    pub clients: Table<ClientRegistry>,
    /// The master and HA addresses the name servers last reported (slaves only).
    pub master_addresses: Table<MasterAddresses>,
    /// How registration with the name servers is going (GET_BROKER_RUNTIME_INFO shows it).
    pub registration_health: registration_health::RegistrationHealth,
    pub pull_holds: Arc<PullHolds>,
    /// Half messages already committed or rolled back (END_TRANSACTION, the check loop).
    pub transactions: Table<transactions::Decisions>,
    /// Timer messages waiting for their time (the shell's wheel task delivers them).
    pub timers: Table<timer::wheel::TimerWheel>,
    /// POP checkpoints in flight (the shell's revive task brings back what is not acked).
    pub pop: Table<pop::PopState>,
    /// Pops and notifications waiting for a message.
    pub pop_wakers: Arc<pop_wake::PopWakers>,
    /// PULL or POP, by topic and group (SET_MESSAGE_REQUEST_MODE).
    pub request_modes: Table<assignment::RequestModes>,
    pub store: StoreHandle,
    /// The HA listener (masters) or follower (slaves).
    pub replication: Replication,
    clock: Clock,
    register_requests: mpsc::Sender<RegisterRequest>,
    /// When the broker started, ms since the epoch (GET_BROKER_RUNTIME_INFO's `bootTimestamp`).
    started_ms: i64,
    /// The Prometheus counters requests record (inert unless `metricsExporterType=PROM`).
    pub metrics: metrics::BrokerMetrics,
}

/// What [`Broker::new`] is built from.
pub struct BrokerParts {
    pub config: BrokerConfig,
    pub tables: Tables,
    pub pull_holds: Arc<PullHolds>,
    pub pop_wakers: Arc<pop_wake::PopWakers>,
    pub store: StoreHandle,
    pub replication: Replication,
    pub clock: Clock,
    pub register_requests: mpsc::Sender<RegisterRequest>,
}

impl Broker {
    pub fn new(parts: BrokerParts) -> Broker {
        let started_ms = parts.clock.now_ms();
        let (op_from, half_from) = transactions::check_offsets(&parts.tables.offsets);
        let decisions = parts
            .store
            .read(|store| transactions::recorded_decisions(store, op_from, half_from.unwrap_or(0)));
        let timers = timer::wheel::restore(&parts.store, &parts.config, started_ms);
        let pop = pop::restore(&parts.store, &parts.tables.offsets, &parts.config.broker_cluster_name);
        let metrics = metrics::BrokerMetrics::new(parts.config.metrics_exporter_type != MetricsExporterType::Disable);
        Broker {
            metrics,
            config: RwLock::new(Arc::new(parts.config)),
            address: OnceLock::new(),
            topics: Table::new(parts.tables.topics),
            groups: Table::new(parts.tables.groups),
            offsets: Table::new(parts.tables.offsets),
            auth: Table::new(parts.tables.auth),
            plain_acl: parts.tables.plain_acl,
            clients: Table::new(ClientRegistry::default()),
            master_addresses: Table::new(MasterAddresses::default()),
            registration_health: Default::default(),
            pull_holds: parts.pull_holds,
            transactions: Table::new(decisions),
            timers: Table::new(timers),
            pop: Table::new(pop),
            pop_wakers: parts.pop_wakers,
            request_modes: Table::new(parts.tables.request_modes),
            store: parts.store,
            replication: parts.replication,
            clock: parts.clock,
            register_requests: parts.register_requests,
            started_ms,
        }
    }

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

    /// Called once by the shell after binding; later calls change nothing.
    pub fn set_address(&self, address: String) {
        let _ = self.address.set(address);
    }

    /// Milliseconds since the epoch, from the clock the broker and its store share: store
    /// timestamps and client heartbeats use it, as Java's `System.currentTimeMillis()`.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Registers with every name server now and waits until each was tried; returns at once
    /// when the shell's registration task is not running (a broker without name servers).
    pub async fn register_now(&self) {
        let (done, registered) = oneshot::channel();
        if self.register_requests.send(done).await.is_ok() {
            let _ = registered.await;
        }
    }
}
