//! One client's view of a RocketMQ cluster (Java's `MQClientInstance`): the name servers, the
//! routes of the topics it uses, its connections to brokers, and the two periodic duties every
//! client has, route refresh and heartbeats (30 s each, as Java).
//!
//! Invariants:
//! * routes are cached for at most [`TOPICS_MAX`] topics; a route is replaced whole, never edited;
//! * no lock is held across an `.await`;
//! * the background task is owned by the cluster and stops on [`Cluster::shutdown`] (or when
//!   the last clone is dropped, through its abort handle);
//! * NOTIFY_CONSUMER_IDS_CHANGED from any broker bumps [`Cluster::membership_changes`], which
//!   push consumers watch to rebalance at once.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{ConsumerData, HeartbeatData, JsonBody, ProducerData, TopicRouteData};
use ferrocket_wire::header::{CustomHeader, GetRouteInfoRequestHeader};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::{debug, warn};

use crate::error::{ClientError, ClientResult};
use crate::ids::{self, UniqueIdSource};
use crate::route;

/// Topics whose routes one client caches; a client producing to more is misusing one client.
pub const TOPICS_MAX: usize = 4096;
/// Groups one client may register for heartbeats.
pub const GROUPS_MAX: usize = 256;
/// Java's `pollNameServerInterval`.
pub const ROUTE_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Java's `heartbeatBrokerInterval`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// Java's `mqClientApiTimeout`: name-server calls, heartbeats and offset calls.
pub const API_TIMEOUT: Duration = Duration::from_secs(3);

/// How a client reaches a cluster.
///
/// ```
/// use ferrocket_client::ClientOptions;
///
/// let options = ClientOptions::new("127.0.0.1:9876;127.0.0.1:9877");
/// assert_eq!(options.namesrv_addrs.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Name server addresses, `host:port` each.
    pub namesrv_addrs: Vec<String>,
    /// The instance part of the client id; distinct per client by default (`pid#n...`).
    pub instance_name: String,
    /// The address in the client id and in message ids.
    pub client_ip: IpAddr,
    /// Timeout of name-server, heartbeat and offset calls.
    pub api_timeout: Duration,
    /// How often cached routes are fetched again (Java: 30 s).
    pub route_refresh_interval: Duration,
    /// How often every broker hears from this client (Java: 30 s).
    pub heartbeat_interval: Duration,
    /// The transport's limits and TLS.
    pub transport: ClientConfig,
}

impl ClientOptions {
    /// Options for the name servers in `namesrv_addrs`, separated by `;` as Java's `namesrvAddr`.
    pub fn new(namesrv_addrs: &str) -> ClientOptions {
        ClientOptions {
            namesrv_addrs: namesrv_addrs
                .split(';')
                .map(str::trim)
                .filter(|addr| !addr.is_empty())
                .map(str::to_owned)
                .collect(),
            instance_name: ids::instance_name(),
            client_ip: ids::DEFAULT_CLIENT_IP,
            api_timeout: API_TIMEOUT,
            route_refresh_interval: ROUTE_REFRESH_INTERVAL,
            heartbeat_interval: HEARTBEAT_INTERVAL,
            transport: ClientConfig::default(),
        }
    }
}

/// A cheaply cloneable handle on one client's cluster view.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, Cluster};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let cluster = Cluster::start(ClientOptions::new("127.0.0.1:9876"))?;
/// let route = cluster.fetch_route("Orders").await?;
/// println!("{} sees {} brokers of Orders", cluster.client_id(), route.broker_datas.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: ClientOptions,
    client_id: String,
    client: Client,
    ids: UniqueIdSource,
    state: Mutex<State>,
    /// The name server to ask first; moves on after a failure.
    namesrv_index: AtomicUsize,
    membership: watch::Sender<u64>,
    background: Mutex<Option<AbortHandle>>,
}

#[derive(Debug, Default)]
struct State {
    routes: HashMap<String, Arc<TopicRouteData>>,
    producer_groups: Vec<String>,
    consumers: Vec<ConsumerData>,
    /// Broker addresses that have had a heartbeat from us; bounded by the routes' brokers.
    greeted: HashSet<String>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.background).take() {
            task.abort();
        }
    }
}

impl Cluster {
    /// Connects nothing yet: connections open on first use. Starts the refresh and heartbeat
    /// task; must be called inside a tokio runtime.
    pub fn start(options: ClientOptions) -> ClientResult<Cluster> {
        Cluster::start_with_router(options, Router::new())
    }

    /// As [`Cluster::start`], serving the requests brokers send this client with `router`'s
    /// handlers too (a transactional producer answers CHECK_TRANSACTION_STATE there).
    pub fn start_with_router(options: ClientOptions, router: Router) -> ClientResult<Cluster> {
        if options.namesrv_addrs.is_empty() {
            return Err(ClientError::Invalid {
                what: "name server address",
                reason: "none given".into(),
            });
        }
        let membership = watch::Sender::new(0u64);
        let notify = membership.clone();
        let router = router.route(
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
            move |request: RemotingCommand, _connection| {
                let notify = notify.clone();
                async move {
                    debug!(group = ?request.ext("consumerGroup"), "consumer ids changed");
                    notify.send_modify(|count| *count = count.wrapping_add(1));
                    None
                }
            },
        );
        let client = Client::new(router, options.transport.clone());
        let shared = Arc::new(Shared {
            client_id: ids::client_id(options.client_ip, &options.instance_name),
            ids: UniqueIdSource::new(options.client_ip),
            options,
            client,
            state: Mutex::new(State::default()),
            namesrv_index: AtomicUsize::new(0),
            membership,
            background: Mutex::new(None),
        });
        let weak = Arc::downgrade(&shared);
        let task = tokio::spawn(async move {
            let Some(first) = weak.upgrade() else { return };
            let (refresh_every, beat_every) = (first.options.route_refresh_interval, first.options.heartbeat_interval);
            drop(first);
            let mut refresh = tokio::time::interval(refresh_every);
            let mut beat = tokio::time::interval(beat_every);
            refresh.tick().await;
            beat.tick().await;
            loop {
                tokio::select! {
                    _ = refresh.tick() => {
                        let Some(shared) = weak.upgrade() else { return };
                        Cluster { shared }.refresh_routes().await;
                    }
                    _ = beat.tick() => {
                        let Some(shared) = weak.upgrade() else { return };
                        Cluster { shared }.heartbeat_all().await;
                    }
                }
            }
        });
        *lock(&shared.background) = Some(task.abort_handle());
        Ok(Cluster { shared })
    }

    /// `ip@instance`: how brokers know this client.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The options the client was started with.
    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// A fresh `UNIQ_KEY` at `now_ms`.
    pub(crate) fn next_unique_id(&self, now_ms: i64) -> String {
        self.shared.ids.next(now_ms)
    }

    /// A receiver that changes whenever a broker says a group's membership changed.
    pub fn membership_changes(&self) -> watch::Receiver<u64> {
        self.shared.membership.subscribe()
    }

    /// The cached route of `topic`, fetched from a name server if there is none yet.
    pub async fn route(&self, topic: &str) -> ClientResult<Arc<TopicRouteData>> {
        if let Some(route) = lock(&self.shared.state).routes.get(topic) {
            return Ok(Arc::clone(route));
        }
        self.fetch_route(topic).await
    }

    /// The cached route of `topic`, without asking anyone.
    pub fn cached_route(&self, topic: &str) -> Option<Arc<TopicRouteData>> {
        lock(&self.shared.state).routes.get(topic).cloned()
    }

    /// Asks the name servers for `topic`'s route now and caches it.
    pub async fn fetch_route(&self, topic: &str) -> ClientResult<Arc<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
            ..GetRouteInfoRequestHeader::default()
        };
        let request =
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext_fields(header.to_ext_fields());
        let response = self.invoke_namesrv(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: format!("{}: {}", response.response_code(), response.remark.unwrap_or_default()),
            });
        }
        let body = response.body.unwrap_or_default();
        let route = Arc::new(TopicRouteData::decode(&body)?);
        let unseen = {
            let mut state = lock(&self.shared.state);
            if state.routes.len() >= TOPICS_MAX && !state.routes.contains_key(topic) {
                return Err(ClientError::Full {
                    what: "route cache",
                    limit: TOPICS_MAX,
                });
            }
            state.routes.insert(topic.to_owned(), Arc::clone(&route));
            route::master_addrs(&route)
                .into_iter()
                .any(|(_, addr)| !state.greeted.contains(&addr))
        };
        if unseen {
            // A broker learns of our groups at once, not 30 s later: it may need to call us
            // back (a transaction check) or count us in a group (rebalance).
            self.heartbeat_all().await;
        }
        Ok(route)
    }

    /// Re-fetches every cached route (the 30 s duty); a topic the name servers no longer know
    /// keeps its last route, as Java keeps it.
    pub async fn refresh_routes(&self) {
        let topics: Vec<String> = lock(&self.shared.state).routes.keys().cloned().collect();
        for topic in topics {
            if let Err(error) = self.fetch_route(&topic).await {
                debug!(%topic, %error, "route refresh failed");
            }
        }
    }

    /// The master address of `broker_name`, from any cached route.
    pub fn broker_addr(&self, broker_name: &str) -> Option<String> {
        let state = lock(&self.shared.state);
        state
            .routes
            .values()
            .find_map(|route| route::master_addr(route, broker_name).map(str::to_owned))
    }

    /// Where to pull `broker_name`'s queues (and keep their offsets): the master, or a slave
    /// while no master is routed (reads fail over; sends wait for a master).
    pub fn read_addr(&self, broker_name: &str) -> Option<String> {
        let state = lock(&self.shared.state);
        let routes = || state.routes.values();
        routes()
            .find_map(|route| route::master_addr(route, broker_name))
            .or_else(|| routes().find_map(|route| route::read_addr(route, broker_name)))
            .map(str::to_owned)
    }

    /// Registers a producer group for heartbeats.
    pub(crate) fn register_producer(&self, group: &str) -> ClientResult<()> {
        let mut state = lock(&self.shared.state);
        if !state.producer_groups.iter().any(|g| g == group) {
            check_groups(state.producer_groups.len() + state.consumers.len())?;
            state.producer_groups.push(group.to_owned());
        }
        Ok(())
    }

    /// Registers (or replaces) a consumer group's heartbeat data.
    pub(crate) fn register_consumer(&self, data: ConsumerData) -> ClientResult<()> {
        let mut state = lock(&self.shared.state);
        if let Some(existing) = state.consumers.iter_mut().find(|c| c.group_name == data.group_name) {
            *existing = data;
            return Ok(());
        }
        check_groups(state.producer_groups.len() + state.consumers.len())?;
        state.consumers.push(data);
        Ok(())
    }

    pub(crate) fn unregister_groups(&self) {
        let mut state = lock(&self.shared.state);
        state.producer_groups.clear();
        state.consumers.clear();
    }

    /// Sends one heartbeat to every master of every cached route (the 30 s duty).
    pub async fn heartbeat_all(&self) {
        let (data, addrs) = {
            let state = lock(&self.shared.state);
            if state.producer_groups.is_empty() && state.consumers.is_empty() {
                return;
            }
            let data = HeartbeatData {
                client_id: self.shared.client_id.clone(),
                consumer_data_set: state.consumers.clone(),
                producer_data_set: state
                    .producer_groups
                    .iter()
                    .map(|group| ProducerData {
                        group_name: group.clone(),
                    })
                    .collect(),
                ..HeartbeatData::default()
            };
            let mut addrs: Vec<String> = state
                .routes
                .values()
                .flat_map(|route| route::master_addrs(route).into_iter().map(|(_, addr)| addr))
                .collect();
            addrs.sort();
            addrs.dedup();
            (data, addrs)
        };
        {
            let mut state = lock(&self.shared.state);
            state.greeted.retain(|addr| addrs.contains(addr));
            state.greeted.extend(addrs.iter().cloned());
        }
        let body = data.encode();
        for addr in addrs {
            let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
            if let Err(error) = self.invoke_checked(&addr, request).await {
                warn!(%addr, %error, "heartbeat failed");
            }
        }
    }

    /// Sends `request` to a broker and returns its response, whatever the code.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> ClientResult<RemotingCommand> {
        Ok(self.shared.client.invoke(addr, request, timeout).await?)
    }

    /// Sends `request` with the API timeout and insists on SUCCESS.
    pub async fn invoke_checked(&self, addr: &str, request: RemotingCommand) -> ClientResult<RemotingCommand> {
        let response = self.invoke(addr, request, self.shared.options.api_timeout).await?;
        expect_success(addr, response)
    }

    /// Sends `request` as oneway.
    pub async fn oneway(&self, addr: &str, request: RemotingCommand, timeout: Duration) -> ClientResult<()> {
        Ok(self.shared.client.oneway(addr, request, timeout).await?)
    }

    /// Sends `request` to the name servers, starting with the last one that answered and moving
    /// on after a transport failure, as Java's `invokeSync` on the name-server channel does.
    pub async fn invoke_namesrv(&self, request: RemotingCommand) -> ClientResult<RemotingCommand> {
        let addrs = &self.shared.options.namesrv_addrs;
        let start = self.shared.namesrv_index.load(Ordering::Relaxed);
        let mut last = None;
        for step in 0..addrs.len() {
            let index = (start + step) % addrs.len();
            let Some(addr) = addrs.get(index) else { continue };
            match self
                .shared
                .client
                .invoke(addr, request.clone(), self.shared.options.api_timeout)
                .await
            {
                Ok(response) => {
                    self.shared.namesrv_index.store(index, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(error) => last = Some(error),
            }
        }
        match last {
            Some(error) => Err(error.into()),
            None => Err(ClientError::Invalid {
                what: "name server address",
                reason: "none given".into(),
            }),
        }
    }

    /// Stops the periodic task and closes every connection.
    pub async fn shutdown(&self) {
        if let Some(task) = lock(&self.shared.background).take() {
            task.abort();
        }
        self.shared.client.shutdown().await;
    }
}

/// The response if it is SUCCESS, else a `Refused` naming its code and remark.
pub(crate) fn expect_success(addr: &str, response: RemotingCommand) -> ClientResult<RemotingCommand> {
    if response.response_code() == ResponseCode::SUCCESS {
        return Ok(response);
    }
    Err(ClientError::Refused {
        addr: addr.to_owned(),
        code: response.response_code(),
        remark: response.remark.unwrap_or_default(),
    })
}

fn check_groups(count: usize) -> ClientResult<()> {
    if count >= GROUPS_MAX {
        return Err(ClientError::Full {
            what: "groups of one client",
            limit: GROUPS_MAX,
        });
    }
    Ok(())
}

// Held only for map edits and copies, never across an await.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
