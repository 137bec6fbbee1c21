//! Registration with the name servers (remoting.md §4.1.2): REGISTER_BROKER to every server of
//! `namesrvAddr` at start, every `registerNameServerPeriod` (clamped into Java's [10 s, 60 s]),
//! and soon after the topic table or the configuration changes; UNREGISTER_BROKER at shutdown.
//!
//! The request is what Java 5.3.3's `BrokerOuterAPI.registerBrokerAll` sends: the whole topic
//! table as a `TopicConfigAndMappingSerializeWrapper` (JSON, or zlib when `compressedRegister`),
//! topic permissions masked by `brokerPermission` when the broker is not both readable and
//! writable, and `bodyCrc32` over the body. Unlike Java 5.3.3 we say `compressed=true` when the
//! body is compressed (Java writes `false` and its own name server then cannot read the body).
//!
//! A large table goes in batches, as Java's `enableSplitRegistration` sends it: a
//! REGISTER_BROKER per `splitRegistrationSize` topics, each under a DataVersion of its own so the
//! name server takes every batch's topics (a name server merges registrations, it never replaces
//! the topics of the earlier batches). A table whose one body would not fit a 16 MiB frame is
//! split the same way even when splitting is off, with a warning naming the size and the
//! setting: otherwise the name servers would drop the broker two minutes later and every route
//! would answer TOPIC_NOT_EXIST.
//!
//! Servers are asked in parallel, each one's batches in order; one that is down only costs its
//! own timeout. A round that a name server refused or did not answer is logged as an error with
//! the server's remark and retried after [`RETRY_DELAY_MS_MIN`], doubling up to the period;
//! [`RegistrationHealth`](crate::state::registration_health::RegistrationHealth) keeps the tally GET_BROKER_RUNTIME_INFO shows. A slave remembers the
//! master and HA addresses the answer carries.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::Client;
use ferrocket_wire::body::{DataVersion, JsonBody, KvTable, RegisterBrokerBody, TopicConfigSerializeWrapper};
use ferrocket_wire::command::FRAME_BYTES_MAX;
use ferrocket_wire::header::{
    CustomHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use ferrocket_wire::message::record::body_crc;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, codes::version};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::config::{BrokerConfig, REGISTER_PERIOD_MS_RANGE, SPLIT_REGISTRATION_SIZE_DEFAULT};
use crate::error::BrokerResult;
use crate::state::auth::signature::sign_as_broker;
use crate::state::replication::MasterAddresses;
use crate::state::{Broker, RegisterRequest};

/// Java's `registerBrokerTimeoutMills` (24 s) is for a table of tens of thousands of topics on a
/// slow link; a local name server answers in microseconds, so a dead one should cost less.
pub const REGISTER_TIMEOUT_MS: u64 = 6_000;
/// Java unregisters with a 3 s timeout.
pub const UNREGISTER_TIMEOUT_MS: u64 = 3_000;
/// How often the loop checks whether the topics or the configuration changed.
pub const WATCH_INTERVAL_MS: u64 = 200;
/// A failed round is retried this soon, then twice as late each time up to the period: quick
/// enough to register well within a name server's 120 s expiry, slow enough not to hammer one.
pub const RETRY_DELAY_MS_MIN: u64 = 2_000;
/// The largest REGISTER_BROKER body sent: the 16 MiB frame less room for the header (under
/// 1 KiB) and the frame's length fields.
pub const REGISTER_BODY_BYTES_MAX: usize = FRAME_BYTES_MAX - 64 * 1024;

/// Registers now, then on every change, every period, after a failure sooner, and whenever a
/// handler asks (it waits for the answer), forever.
pub async fn run(broker: Arc<Broker>, outbound: Client, mut requests: mpsc::Receiver<RegisterRequest>) {
    let mut registrar = Registrar::default();
    let mut registered: Option<(DataVersion, DataVersion)> = None;
    let mut wait_ms = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(WATCH_INTERVAL_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            Some(done) = requests.recv() => {
                registrar.register_all(&broker, &outbound).await;
                let _ = done.send(());
                continue;
            }
        }
        let config = broker.config();
        let versions = (broker.topics.lock().data_version(), config.data_version);
        wait_ms = wait_ms.saturating_sub(WATCH_INTERVAL_MS);
        if registered == Some(versions) && wait_ms > 0 {
            continue;
        }
        registered = Some(versions);
        // A failure is retried after a back-off, not by the watch: a dead server must not be
        // hammered every 200 ms.
        wait_ms = match registrar.register_all(&broker, &outbound).await.all_accepted() {
            true => register_period_ms(&config),
            false => registrar.next_retry_ms(register_period_ms(&config)),
        };
    }
}

/// Java clamps `registerNameServerPeriod` into [10 s, 60 s] when it schedules the task.
pub fn register_period_ms(config: &BrokerConfig) -> u64 {
    let (low, high) = REGISTER_PERIOD_MS_RANGE;
    config.register_name_server_period_ms.clamp(low, high)
}

/// What the registration loop remembers from round to round.
#[derive(Debug, Default)]
pub struct Registrar {
    versions: BatchVersions,
    /// The table's size was already reported as too large for one frame.
    oversize_reported: bool,
    /// Failed rounds in a row, for the back-off.
    failures: u32,
    /// Name servers whose last registration was accepted: the first acceptance (and the first
    /// after a failure) is an info line, the periodic ones that follow are not.
    accepted_by: BTreeSet<String>,
}

/// The outcome of one round.
#[derive(Debug, Default)]
pub struct Round {
    pub namesrvs: usize,
    /// Name servers that accepted every batch.
    pub accepted: usize,
    /// Requests per name server.
    pub batches: usize,
}

impl Round {
    pub fn all_accepted(&self) -> bool {
        self.accepted == self.namesrvs
    }
}

impl Registrar {
    /// Sends the registration to every name server at once, each its batches in order.
    pub async fn register_all(&mut self, broker: &Broker, outbound: &Client) -> Round {
        let config = broker.config();
        let addresses = config.namesrv_addresses();
        if addresses.is_empty() {
            return Round::default();
        }
        // Only the configured name servers are remembered (namesrvAddr may change at run time).
        self.accepted_by.retain(|addr| addresses.contains(addr));
        let mut round = Round {
            namesrvs: addresses.len(),
            ..Round::default()
        };
        let identity = Identity {
            broker_addr: broker.address().to_owned(),
            ha_server_addr: broker.replication.announced_ha_addr(&config),
        };
        let wrapper = broker.topics.lock().to_wrapper();
        let plan = match register_requests(wrapper, &config, &identity, &mut self.versions) {
            Ok(plan) => plan,
            Err(error) => {
                error!(%error, "cannot build the registration; the name servers will drop this broker");
                self.conclude(broker, &round);
                return round;
            }
        };
        self.report_oversize(&plan, &config);
        round.batches = plan.requests.len();
        let requests = Arc::new(plan.requests);
        let mut calls = JoinSet::new();
        for addr in addresses {
            let (outbound, requests) = (outbound.clone(), Arc::clone(&requests));
            calls.spawn(async move {
                let result = send_batches(&outbound, &addr, &requests).await;
                (addr, result)
            });
        }
        while let Some(joined) = calls.join_next().await {
            let Ok((addr, result)) = joined else { continue };
            match result {
                Ok(last_answer) => {
                    round.accepted += 1;
                    absorb_answer(broker, &last_answer);
                    match self.accepted_by.insert(addr.clone()) {
                        true => info!(
                            namesrv = addr,
                            broker = broker.address(),
                            "registered with the name server"
                        ),
                        false => debug!(namesrv = addr, batches = round.batches, "registered"),
                    }
                }
                Err(failure) => {
                    self.accepted_by.remove(&addr);
                    log_failure(&addr, &failure, round.batches)
                }
            }
        }
        self.conclude(broker, &round);
        round
    }

    /// How long to wait after a failed round: doubling from [`RETRY_DELAY_MS_MIN`] to `period_ms`.
    fn next_retry_ms(&self, period_ms: u64) -> u64 {
        let doublings = self.failures.saturating_sub(1).min(16);
        RETRY_DELAY_MS_MIN.saturating_mul(1 << doublings).min(period_ms)
    }

    fn conclude(&mut self, broker: &Broker, round: &Round) {
        broker
            .registration_health
            .record(round.batches, round.all_accepted(), broker.now_ms());
        match round.all_accepted() {
            true => self.failures = 0,
            false => {
                self.failures = self.failures.saturating_add(1);
                error!(
                    accepted = round.accepted,
                    namesrvs = round.namesrvs,
                    failed_rounds_in_a_row = self.failures,
                    "registration incomplete; a name server drops a broker 120 s after its last registration"
                );
            }
        }
    }

    /// Says once that the table needs splitting, and what to set.
    fn report_oversize(&mut self, plan: &Plan, config: &BrokerConfig) {
        let Some(whole_bytes) = plan.oversized_body_bytes else {
            return;
        };
        if !std::mem::replace(&mut self.oversize_reported, true) {
            warn!(
                whole_bytes,
                limit = REGISTER_BODY_BYTES_MAX,
                batches = plan.requests.len(),
                split_registration_size = config.split_registration_size,
                "the topic table does not fit one REGISTER_BROKER frame, so it is registered in batches; \
                 set enableSplitRegistration=true (and splitRegistrationSize) or compressedRegister=true \
                 to make that explicit"
            );
        }
    }
}

/// Why a name server did not take a registration.
#[derive(Debug)]
enum Failure {
    Refused {
        batch: usize,
        code: i32,
        remark: Option<String>,
    },
    Unanswered {
        batch: usize,
        error: String,
    },
}

fn log_failure(addr: &str, failure: &Failure, batches: usize) {
    match failure {
        Failure::Refused { batch, code, remark } => error!(
            namesrv = addr,
            batch,
            batches,
            code,
            remark = remark.as_deref().unwrap_or(""),
            "registration refused"
        ),
        Failure::Unanswered { batch, error } => {
            error!(namesrv = addr, batch, batches, %error, "registration failed")
        }
    }
}

/// Sends `requests` to one name server in order, stopping at the first it does not take;
/// returns the answer to the last.
async fn send_batches(outbound: &Client, addr: &str, requests: &[RemotingCommand]) -> Result<RemotingCommand, Failure> {
    let mut last = None;
    for (batch, request) in requests.iter().enumerate() {
        let timeout = Duration::from_millis(REGISTER_TIMEOUT_MS);
        match outbound.invoke(addr, request.clone(), timeout).await {
            Ok(response) if response.response_code() == ResponseCode::SUCCESS => last = Some(response),
            Ok(response) => {
                return Err(Failure::Refused {
                    batch,
                    code: response.code,
                    remark: response.remark,
                });
            }
            Err(error) => {
                return Err(Failure::Unanswered {
                    batch,
                    error: error.to_string(),
                });
            }
        }
    }
    last.ok_or(Failure::Unanswered {
        batch: 0,
        error: "nothing to send".into(),
    })
}

/// Tells every name server this broker is leaving (Java's `unregisterBrokerAll`).
pub async fn unregister_all(broker: &Broker, outbound: &Client) {
    let config = broker.config();
    let header = UnRegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: broker.address().to_owned(),
        cluster_name: config.broker_cluster_name.clone(),
        broker_id: config.broker_id,
    };
    let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER).with_ext_fields(header.to_ext_fields());
    let request = sign_as_broker(request, &config.auth);
    for addr in config.namesrv_addresses() {
        let timeout = Duration::from_millis(UNREGISTER_TIMEOUT_MS);
        match outbound.invoke(&addr, request.clone(), timeout).await {
            Ok(response) if response.response_code() == ResponseCode::SUCCESS => {
                info!(namesrv = addr, "unregistered from the name server")
            }
            Ok(response) => warn!(namesrv = addr, code = response.code, "unregistration refused"),
            Err(error) => warn!(namesrv = addr, %error, "unregistration failed"),
        }
    }
}

/// Where this broker is, as the name servers are told.
#[derive(Debug, Clone)]
pub struct Identity {
    pub broker_addr: String,
    pub ha_server_addr: String,
}

/// The REGISTER_BROKER requests of one round.
#[derive(Debug)]
pub struct Plan {
    pub requests: Vec<RemotingCommand>,
    /// Set when the whole table did not fit one frame and was split although splitting is off:
    /// the size of the body that did not fit.
    pub oversized_body_bytes: Option<usize>,
}

/// The DataVersions of split batches. Each batch needs one of its own, or a name server that
/// saw the previous batch's would skip updating the topics it already knows (Java's broker
/// steps its table's version per batch for the same reason); the counter only ever grows.
#[derive(Debug, Default)]
pub struct BatchVersions {
    last_counter: Option<i64>,
}

impl BatchVersions {
    fn next(&mut self, base: DataVersion) -> DataVersion {
        let counter = match self.last_counter {
            Some(last) => base.counter.max(last.saturating_add(1)),
            None => base.counter,
        };
        self.last_counter = Some(counter);
        DataVersion { counter, ..base }
    }
}

/// The requests that register `wrapper` (the broker's topic table): one, or one per batch when
/// `enableSplitRegistration` is set or the one body would not fit a frame.
pub fn register_requests(
    wrapper: TopicConfigSerializeWrapper,
    config: &BrokerConfig,
    identity: &Identity,
    versions: &mut BatchVersions,
) -> BrokerResult<Plan> {
    let mut body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: registered_topics(wrapper, config.broker_permission),
    };
    let mut oversized_body_bytes = None;
    let batch_topics = match config.enable_split_registration {
        true => config.split_registration_size,
        false => {
            let bytes = encode_body(&body, config.compressed_register)?;
            if bytes.len() <= REGISTER_BODY_BYTES_MAX {
                let request = register_request(bytes, config, identity);
                return Ok(Plan {
                    requests: vec![request],
                    oversized_body_bytes,
                });
            }
            oversized_body_bytes = Some(bytes.len());
            config.split_registration_size.min(SPLIT_REGISTRATION_SIZE_DEFAULT)
        }
    };
    let wrapper = &mut body.topic_config_serialize_wrapper;
    let bodies = batch_bodies(wrapper, batch_topics, config.compressed_register, versions)?;
    let requests = bodies
        .into_iter()
        .map(|body| register_request(body, config, identity))
        .collect();
    Ok(Plan {
        requests,
        oversized_body_bytes,
    })
}

/// The bodies of `wrapper` in batches of `batch_topics` topics (halved until every body fits a
/// frame); at least two topics in the first, since a name server refuses a one-topic
/// registration from a broker it does not know yet.
fn batch_bodies(
    wrapper: &mut TopicConfigSerializeWrapper,
    batch_topics: usize,
    compressed: bool,
    versions: &mut BatchVersions,
) -> BrokerResult<Vec<Vec<u8>>> {
    let table = std::mem::take(&mut wrapper.topic_config_table);
    let mut size = batch_topics.max(2);
    loop {
        let mut bodies = Vec::with_capacity(table.len().div_ceil(size).max(1));
        let mut batch = RegisterBrokerBody::default();
        let mut rest = table.values().peekable();
        while bodies.is_empty() || rest.peek().is_some() {
            let topics = rest.by_ref().take(size).map(|c| (c.topic_name.clone(), c.clone()));
            batch.topic_config_serialize_wrapper = TopicConfigSerializeWrapper {
                data_version: versions.next(wrapper.data_version),
                topic_config_table: topics.collect(),
                mapping_data_version: wrapper.mapping_data_version,
                topic_queue_mapping_detail_map: wrapper.topic_queue_mapping_detail_map.clone(),
                topic_queue_mapping_info_map: wrapper.topic_queue_mapping_info_map.clone(),
            };
            bodies.push(encode_body(&batch, compressed)?);
        }
        if bodies.iter().all(|body| body.len() <= REGISTER_BODY_BYTES_MAX) || size <= 2 {
            return Ok(bodies);
        }
        size /= 2;
    }
}

fn encode_body(body: &RegisterBrokerBody, compressed: bool) -> BrokerResult<Vec<u8>> {
    Ok(match compressed {
        true => body.encode_compressed(version::CURRENT)?,
        false => body.encode(),
    })
}

/// A REGISTER_BROKER request carrying `body`.
fn register_request(body: Vec<u8>, config: &BrokerConfig, identity: &Identity) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: identity.broker_addr.clone(),
        cluster_name: config.broker_cluster_name.clone(),
        ha_server_addr: identity.ha_server_addr.clone(),
        broker_id: config.broker_id,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: config.compressed_register,
        body_crc32: body_crc(&body),
    };
    let request = RemotingCommand::request(RequestCode::REGISTER_BROKER)
        .with_ext_fields(header.to_ext_fields())
        .with_body(body);
    sign_as_broker(request, &config.auth)
}

/// Java's `registerBrokerAll` wrapper: empty static-topic mappings, and every topic's perm
/// masked by the broker's when the broker is not both readable and writable.
pub fn registered_topics(
    mut wrapper: TopicConfigSerializeWrapper,
    broker_permission: i32,
) -> TopicConfigSerializeWrapper {
    let full = PERM_READ | PERM_WRITE;
    if broker_permission & full != full {
        for config in wrapper.topic_config_table.values_mut() {
            config.perm &= broker_permission;
        }
    }
    wrapper.mapping_data_version = Some(DataVersion {
        timestamp: wrapper.data_version.timestamp,
        ..DataVersion::default()
    });
    wrapper.topic_queue_mapping_detail_map = Some(Default::default());
    wrapper.topic_queue_mapping_info_map = Some(Default::default());
    wrapper
}

/// What a name server's answer tells this broker: its master's addresses (slaves), and the
/// topics the name server's ORDER_TOPIC_CONFIG lists (Java's `updateOrderTopicConfig`).
fn absorb_answer(broker: &Broker, response: &RemotingCommand) {
    if let Ok(header) = RegisterBrokerResponseHeader::from_command(response) {
        let addresses = MasterAddresses {
            master_addr: header.master_addr.filter(|addr| !addr.is_empty()),
            ha_server_addr: header.ha_server_addr.filter(|addr| !addr.is_empty()),
        };
        if addresses.master_addr.is_some() || addresses.ha_server_addr.is_some() {
            broker.replication.on_master_addresses(&broker.config(), &addresses);
            *broker.master_addresses.lock() = addresses;
        }
    }
    let order_topics = response.body.as_deref().and_then(|body| KvTable::decode(body).ok());
    if let Some(order_topics) = order_topics.filter(|kv| !kv.table.is_empty()) {
        let now_ms = broker.now_ms();
        broker
            .topics
            .lock()
            .mark_ordered(order_topics.table.keys().map(String::as_str), now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::topics::new_topic;

    #[test]
    fn permissions_are_masked_only_for_a_restricted_broker() {
        let mut wrapper = TopicConfigSerializeWrapper::default();
        wrapper.topic_config_table.insert("T".into(), new_topic("T", 4, 7));
        let open = registered_topics(wrapper.clone(), 6);
        assert_eq!(open.topic_config_table["T"].perm, 7);
        assert!(open.topic_queue_mapping_info_map.is_some() && open.mapping_data_version.is_some());
        let read_only = registered_topics(wrapper, 4);
        assert_eq!(read_only.topic_config_table["T"].perm, 4);
    }

    #[test]
    fn the_period_is_clamped_like_javas() {
        let mut config = BrokerConfig::default();
        assert_eq!(register_period_ms(&config), 30_000);
        config.register_name_server_period_ms = 1;
        assert_eq!(register_period_ms(&config), 10_000);
        config.register_name_server_period_ms = 1_000_000;
        assert_eq!(register_period_ms(&config), 60_000);
    }

    fn table(count: usize, name: impl Fn(usize) -> String) -> TopicConfigSerializeWrapper {
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 5,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            ..TopicConfigSerializeWrapper::default()
        };
        for i in 0..count {
            let name = name(i);
            wrapper.topic_config_table.insert(name.clone(), new_topic(&name, 4, 6));
        }
        wrapper
    }

    fn identity() -> Identity {
        Identity {
            broker_addr: "127.0.0.1:10911".into(),
            ha_server_addr: "127.0.0.1:10912".into(),
        }
    }

    fn long_name(i: usize) -> String {
        let mut name = format!("big-{i:06}-");
        name.extend(std::iter::repeat_n('x', 127 - name.len()));
        name
    }

    /// Issue 11 item 4: 50 000 topics of 127 characters, a 19.9 MB body in one piece.
    #[test]
    fn a_table_over_the_frame_limit_goes_in_batches_that_all_land() {
        use ferrocket_namesrv::{NameServer, NamesrvConfig, kv_config::KvConfig, route_table::ConnectionId};
        let config = BrokerConfig::default();
        let mut versions = BatchVersions::default();
        let plan = register_requests(table(50_000, long_name), &config, &identity(), &mut versions).unwrap();
        assert!(plan.oversized_body_bytes.unwrap() > FRAME_BYTES_MAX);
        assert_eq!(
            plan.requests.len(),
            50_000usize.div_ceil(SPLIT_REGISTRATION_SIZE_DEFAULT)
        );
        let mut namesrv = NameServer::new(NamesrvConfig::default(), KvConfig::new(), 0);
        let mut counters = Vec::new();
        for request in &plan.requests {
            let mut frame = bytes::BytesMut::new();
            request.encode(&mut frame).unwrap();
            assert!(frame.len() <= FRAME_BYTES_MAX);
            let handled = namesrv.handle(request, ConnectionId(1), 0);
            assert_eq!(handled.response.code, 0, "{:?}", handled.response.remark);
            let body = RegisterBrokerBody::decode(request.body.as_deref().unwrap()).unwrap();
            counters.push(body.topic_config_serialize_wrapper.data_version.counter);
        }
        assert!(counters.windows(2).all(|pair| pair[0] < pair[1]), "a version per batch");
        assert_eq!(counters[0], 5);
        for i in [0, 799, 800, 49_999] {
            assert!(namesrv.routes().queue_data(&long_name(i), "broker-a").is_some(), "{i}");
        }

        // The next round, after a topic of the last batch changed: the name server takes it.
        let mut changed = table(50_000, long_name);
        changed.data_version.counter = 6;
        changed
            .topic_config_table
            .get_mut(&long_name(49_999))
            .unwrap()
            .write_queue_nums = 2;
        let plan = register_requests(changed, &config, &identity(), &mut versions).unwrap();
        for request in &plan.requests {
            assert_eq!(namesrv.handle(request, ConnectionId(1), 1).response.code, 0);
        }
        let queue = namesrv.routes().queue_data(&long_name(49_999), "broker-a").unwrap();
        assert_eq!(queue.write_queue_nums, 2);
    }

    #[test]
    fn split_registration_follows_its_settings() {
        let mut config = BrokerConfig {
            enable_split_registration: true,
            split_registration_size: 3,
            compressed_register: true,
            ..BrokerConfig::default()
        };
        let plan = register_requests(
            table(7, |i| format!("T{i}")),
            &config,
            &identity(),
            &mut BatchVersions::default(),
        )
        .unwrap();
        assert_eq!(plan.requests.len(), 3);
        assert!(plan.oversized_body_bytes.is_none());
        let sizes: Vec<_> = plan
            .requests
            .iter()
            .map(|request| {
                assert_eq!(request.ext("compressed"), Some("true"));
                let body = request.body.as_deref().unwrap();
                let body = RegisterBrokerBody::decode_compressed(body, version::CURRENT).unwrap();
                body.topic_config_serialize_wrapper.topic_config_table.len()
            })
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
        // One topic per batch would be refused by a name server that does not know the broker.
        config.split_registration_size = 1;
        let plan = register_requests(
            table(3, |i| format!("T{i}")),
            &config,
            &identity(),
            &mut BatchVersions::default(),
        )
        .unwrap();
        assert_eq!(plan.requests.len(), 2);
        config.enable_split_registration = false;
        let plan = register_requests(
            table(3, |i| format!("T{i}")),
            &config,
            &identity(),
            &mut BatchVersions::default(),
        )
        .unwrap();
        assert_eq!(plan.requests.len(), 1);
    }

    #[test]
    fn retries_back_off_from_two_seconds_to_the_period() {
        let mut registrar = Registrar::default();
        let delays: Vec<_> = (0..6)
            .map(|_| {
                registrar.failures += 1;
                registrar.next_retry_ms(30_000)
            })
            .collect();
        assert_eq!(delays, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    }
}
