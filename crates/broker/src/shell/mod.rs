//! The broker's shell: [`start`] opens the store and `config/`, binds the port, builds the
//! state ([`Broker`]) and runs the periodic tasks around it; [`BrokerHandle`] owns all of them.
//!
//! Ownership: the handle owns the transport server, every spawned task and the outbound client
//! (name servers, a slave's master); the state owns the tables, the store and the replication
//! side. [`BrokerHandle::shutdown`] stops accepting (running requests get their answers), stops
//! the tasks, unregisters from the name servers, persists metadata and shuts the store down
//! cleanly (so the next start is a normal recovery).

pub mod metrics_export;
pub mod pop_revive;
pub mod registration;
pub mod replication;
pub mod slave_sync;
pub mod timer_delivery;
pub mod timers;
pub mod transaction_check;

use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_net::{Client, ClientConfig, Router, Server, ServerConfig, Tap};
use ferrocket_store::{Arrival, Clock, StoreHandle};
use ferrocket_wire::SerializeType;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::BrokerConfig;
use crate::error::{BrokerError, BrokerResult};
use crate::handlers;
use crate::state::long_poll::PullHolds;
use crate::state::pop_wake::PopWakers;
use crate::state::{Broker, BrokerParts, metadata};

/// Handlers asking for a registration wait their turn; a handful at once is plenty, since one
/// registration answers every request queued before it ran.
const REGISTER_REQUESTS_QUEUED_MAX: usize = 64;

/// A running broker.
pub struct BrokerHandle {
    broker: Arc<Broker>,
    server: Server,
    outbound: Client,
    tasks: Vec<JoinHandle<()>>,
    /// The Prometheus endpoint's address, when `metricsExporterType=PROM`.
    metrics_addr: Option<SocketAddr>,
    tap: Arc<Tap>,
}

impl BrokerHandle {
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// The traffic tap of the remoting port (the console's live view, `ferrocket tap`).
    pub fn tap(&self) -> &Arc<Tap> {
        &self.tap
    }

    /// The bound HA port's address (masters only).
    pub fn ha_local_addr(&self) -> Option<SocketAddr> {
        self.broker.replication.ha_local_addr()
    }

    /// A slave's metadata sync from its master, now (it also runs every `slaveSyncPeriod`).
    pub async fn sync_from_master(&self) -> BrokerResult<()> {
        slave_sync::sync_all(&self.broker, &self.outbound).await
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
        registration::unregister_all(&self.broker, &self.outbound).await;
        if let Err(error) = metadata::persist_all(&self.broker) {
            warn!(%error, "persisting metadata at shutdown failed");
        }
        self.broker.replication.shutdown().await;
        self.broker.store.shutdown();
        self.outbound.shutdown().await;
        info!("broker stopped");
    }
}

/// Opens the store and `config/`, binds `config.listen_host:config.listen_port` (port 0 picks
/// one) and starts serving. `clock` is the one clock of the broker and its store.
pub async fn start(
    mut config: BrokerConfig,
    clock: Clock,
    serialize_type: Option<SerializeType>,
) -> BrokerResult<BrokerHandle> {
    replication::settle_role(&mut config)?;
    let tables = metadata::load(&config, clock.now_ms())?;
    let pull_holds = Arc::new(PullHolds::default());
    let arrivals = Arc::clone(&pull_holds);
    let pop_wakers = Arc::new(PopWakers::default());
    let pop_arrivals = Arc::clone(&pop_wakers);
    let store = StoreHandle::open(
        replication::store_config(&config),
        Arc::new(move |arrival: &Arrival| {
            arrivals.on_arrival(
                &arrival.topic,
                arrival.queue_id,
                arrival.max_offset,
                arrival.tags_codes.as_deref(),
            );
            pop_arrivals.on_arrival(&arrival.topic);
        }),
        clock.clone(),
    )?;
    let bind_addr: SocketAddr = format!("{}:{}", config.listen_host, config.listen_port)
        .parse()
        .map_err(|error| BrokerError::BadListenAddress {
            host: config.listen_host.clone(),
            error,
        })?;
    let broker_ip1 = config.broker_ip1.clone();
    // A port already taken must not leave the store looking crashed (its abort file) for the
    // next start: close it cleanly before answering the error.
    let replication = match replication::start(&config, &store, &clock).await {
        Ok(replication) => replication,
        Err(error) => {
            store.shutdown();
            return Err(error);
        }
    };
    let is_slave = !config.is_master();
    let (register_requests, register_queue) = mpsc::channel(REGISTER_REQUESTS_QUEUED_MAX);
    let broker = Arc::new(Broker::new(BrokerParts {
        config,
        tables,
        pull_holds,
        pop_wakers,
        store,
        replication,
        clock,
        register_requests,
    }));
    let tap_clock = broker.clock().clone();
    let tap = Tap::new(move || u64::try_from(tap_clock.now_ms()).unwrap_or(0));
    let mut router = handlers::router(&broker).tap(Arc::clone(&tap));
    if let Some(serialize_type) = serialize_type {
        router = router.response_serialize_type(serialize_type);
    }
    let server_config = ServerConfig {
        tls: broker.config().server_tls.clone(),
        ..ServerConfig::default()
    };
    let server = match Server::bind(bind_addr, router, server_config).await {
        Ok(server) => server,
        Err(error) => {
            broker.replication.shutdown().await;
            broker.store.shutdown();
            return Err(BrokerError::ListenFailed {
                address: bind_addr,
                error,
            });
        }
    };
    broker.set_address(format!("{broker_ip1}:{}", server.local_addr().port()));
    let metrics = match metrics_export::start(&broker).await {
        Ok(metrics) => metrics,
        Err(error) => {
            server.shutdown().await;
            broker.replication.shutdown().await;
            broker.store.shutdown();
            return Err(error);
        }
    };
    let client_config = ClientConfig {
        tls: broker.config().client_tls.clone(),
        ..ClientConfig::default()
    };
    let outbound = Client::new(Router::new(), client_config);
    let mut tasks = vec![
        tokio::spawn(registration::run(Arc::clone(&broker), outbound.clone(), register_queue)),
        tokio::spawn(timers::run_metadata_persist(Arc::clone(&broker))),
        tokio::spawn(timers::run_client_expiry(Arc::clone(&broker))),
        tokio::spawn(timers::run_pull_hold_checks(Arc::clone(&broker))),
        tokio::spawn(timers::run_delayed_delivery(Arc::clone(&broker))),
        tokio::spawn(transaction_check::run(Arc::clone(&broker))),
        tokio::spawn(timer_delivery::run(Arc::clone(&broker))),
        tokio::spawn(pop_revive::run(Arc::clone(&broker))),
        tokio::spawn(timers::run_keep_from(Arc::clone(&broker))),
    ];
    if broker.plain_acl.is_some() {
        tasks.push(tokio::spawn(timers::run_plain_acl_reload(Arc::clone(&broker))));
    }
    if is_slave {
        tasks.push(tokio::spawn(slave_sync::run(Arc::clone(&broker), outbound.clone())));
    }
    let metrics_addr = metrics.map(|(address, task)| {
        tasks.push(task);
        address
    });
    info!(address = broker.address(), "broker started");
    Ok(BrokerHandle {
        broker,
        server,
        outbound,
        tasks,
        metrics_addr,
        tap,
    })
}
