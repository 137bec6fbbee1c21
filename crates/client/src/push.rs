//! The push consumer (Java's `DefaultMQPushConsumer`): the SDK pulls with long polling and calls
//! the listener for each message. Clustering with a concurrent listener is described here;
//! broadcasting and the orderly listener are options ([`PushConsumerOptions`]).
//!
//! One supervisor task owns everything: it heartbeats at start, shares the subscribed topics'
//! queues (and the group's `%RETRY%` topic's) with the group's other members by Java's average
//! allocation, again whenever a broker sends NOTIFY_CONSUMER_IDS_CHANGED and every 20 s, and
//! commits consumed offsets every 5 s. Each owned queue has one reader task: it long-polls
//! (15 s, as Java's `brokerSuspendMaxTimeMillis`), runs the listener on every message of a
//! pulled batch concurrently (at most `pull_batch_size` at once per queue), and moves the queue's
//! consumed offset past the batch once every message of it is finished, so an offset is never
//! committed past a message still in hand (Java keeps the same promise with its process queue's
//! smallest offset). The next pull waits for the batch: that is the flow control.
//!
//! A message the listener answers [`ConsumeOutcome::Retry`] goes back to its broker with
//! CONSUMER_SEND_MSG_BACK and comes again through the retry topic after Java's delay (level
//! 3 + reconsume times), or goes to the DLQ after `max_reconsume_times` (16) times; if the send-back fails, the listener
//! gets it again after a pause. A dropped queue's reader stops after its current pull and commits.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferrocket_wire::body::{ConsumeType, MessageModel, MessageQueue};
use ferrocket_wire::header::{CustomHeader, UnregisterClientRequestHeader};
use ferrocket_wire::{RemotingCommand, RequestCode};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, warn};

use crate::allocate::allocate_averagely;
use crate::cluster::{ClientOptions, Cluster};
use crate::error::{ClientError, ClientResult};
use crate::filter::Filter;
use crate::local_offsets::LocalOffsets;
use crate::message::{RETRY_GROUP_TOPIC_PREFIX, ReceivedMessage, check_topic};
use crate::pull::{OWNED_QUEUES_MAX, REBALANCE_INTERVAL, consumer_data};
use crate::queue_reader::{self, MAX_RECONSUME_TIMES, PullRequest, Pulled, StartFrom};
use crate::route;

/// Java's `pullBatchSize` for the push consumer.
pub const PUSH_PULL_BATCH_SIZE: i32 = 32;
/// Java's `brokerSuspendMaxTimeMillis`.
pub const LONG_POLL: Duration = Duration::from_secs(15);
/// Java's `persistConsumerOffsetInterval`.
pub const OFFSET_COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// The pause after a failed pull or send-back before trying again (Java: 3 s / 5 s; shorter here
/// because our readers stop promptly on shutdown).
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// How long shutdown waits for readers to finish the message in hand.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// The most retries a consumer may ask for: Java's broker caps the delay level at 18 and keeps
/// retrying at 2 h afterwards, so past this a message stays out of the DLQ for days.
pub const MAX_RECONSUME_TIMES_LIMIT: i32 = 32;
/// Subscriptions per consumer.
pub const SUBSCRIPTIONS_MAX: usize = 64;

/// What the listener made of a message.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, ConsumeOutcome, PushConsumer, PushConsumerOptions, ReceivedMessage};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let options = PushConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "billing").subscribe("Orders", "*");
/// let consumer = PushConsumer::start(options, |message: ReceivedMessage| async move {
///     if message.body.is_empty() {
///         // Back through %RETRY%billing after Java's back-off; to the DLQ after 16 tries.
///         return ConsumeOutcome::Retry;
///     }
///     ConsumeOutcome::Success
/// })
/// .await?;
/// # consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// Consumed; the offset may move past it.
    Success,
    /// Not now: redeliver later through the group's retry topic.
    Retry,
}

type Listener = Arc<dyn Fn(ReceivedMessage) -> Pin<Box<dyn Future<Output = ConsumeOutcome> + Send>> + Send + Sync>;

/// How a push consumer behaves.
///
/// ```
/// use ferrocket_client::{ClientOptions, PushConsumerOptions};
///
/// let options = PushConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "billing")
///     .subscribe("OrderTopic", "paid");
/// assert_eq!(options.subscriptions.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct PushConsumerOptions {
    /// How to reach the cluster.
    pub client: ClientOptions,
    /// The consumer group.
    pub group: String,
    /// Topics and their filters.
    pub subscriptions: Vec<(String, Filter)>,
    /// Where a queue with no committed offset starts.
    pub start_from: StartFrom,
    /// Clustering (the group shares the queues; Java's default) or broadcasting (every member
    /// reads every queue, keeps its offsets in a file of its own under `local_offset_dir` and
    /// drops what its listener retries, as Java does).
    pub message_model: MessageModel,
    /// Broadcasting only: the directory of the members' offset files,
    /// `<dir>/<client id>/<group>/offsets.json` as Java's `LocalFileOffsetStore` (its
    /// `rocketmq.client.localOffsetStoreDir`, by default `~/.rocketmq_offsets`). A member that
    /// restarts with the same `instance_name` resumes where it stopped.
    pub local_offset_dir: PathBuf,
    /// An orderly listener (Java's `MessageListenerOrderly`, clustering only): each queue is
    /// locked on its broker before it is read and its messages go to the listener one at a time,
    /// in queue order; a retried message is retried here, after a pause, before the next one.
    pub orderly: bool,
    /// Retries before the broker moves a message to the group's DLQ (`%DLQ%<group>`); Java's
    /// `maxReconsumeTimes`, 16 by default, 0 sends the first failure straight there.
    pub max_reconsume_times: i32,
    /// Messages asked for per pull.
    pub pull_batch_size: i32,
    /// How long a broker may hold a pull that found nothing.
    pub long_poll: Duration,
    /// How often consumed offsets are committed.
    pub offset_commit_interval: Duration,
    /// How often queues are re-shared without a membership notice.
    pub rebalance_interval: Duration,
}

impl PushConsumerOptions {
    /// Java's defaults for `group`, with no subscription yet.
    pub fn new(client: ClientOptions, group: impl Into<String>) -> PushConsumerOptions {
        PushConsumerOptions {
            client,
            group: group.into(),
            subscriptions: Vec::new(),
            start_from: StartFrom::LastOffset,
            message_model: MessageModel::Clustering,
            local_offset_dir: default_local_offset_dir(),
            orderly: false,
            max_reconsume_times: MAX_RECONSUME_TIMES,
            pull_batch_size: PUSH_PULL_BATCH_SIZE,
            long_poll: LONG_POLL,
            offset_commit_interval: OFFSET_COMMIT_INTERVAL,
            rebalance_interval: REBALANCE_INTERVAL,
        }
    }

    /// Adds a subscription.
    pub fn subscribe(self, topic: impl Into<String>, expression: impl Into<String>) -> PushConsumerOptions {
        self.subscribe_with(topic, Filter::tags(expression))
    }

    /// Adds a subscription with any [`Filter`] (an SQL92 one, say).
    pub fn subscribe_with(mut self, topic: impl Into<String>, filter: Filter) -> PushConsumerOptions {
        self.subscriptions.push((topic.into(), filter));
        self
    }
}

/// A running push consumer.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, ConsumeOutcome, PushConsumer, PushConsumerOptions};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let options = PushConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "billing")
///     .subscribe("OrderTopic", "*");
/// let consumer = PushConsumer::start(options, |message| async move {
///     println!("{}: {:?}", message.msg_id(), message.body);
///     ConsumeOutcome::Success
/// })
/// .await?;
/// // ... later
/// consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PushConsumer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    options: PushConsumerOptions,
    cluster: Cluster,
    listener: Listener,
    /// Queue → the offset consumed up to (next to consume), and what was last committed.
    offsets: Mutex<BTreeMap<MessageQueue, (i64, Option<i64>)>>,
    /// Broadcasting: the member's offsets file and what goes in it.
    local: Option<Mutex<LocalState>>,
}

/// A broadcasting member's offsets: every queue it has read (those no longer read included) and
/// whether one moved since the last save.
struct LocalState {
    file: LocalOffsets,
    offsets: BTreeMap<MessageQueue, i64>,
    changed: bool,
}

impl Shared {
    fn clustering(&self) -> bool {
        self.options.message_model == MessageModel::Clustering
    }

    fn orderly(&self) -> bool {
        self.options.orderly && self.clustering()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.options.group)
            .field("client_id", &self.cluster.client_id())
            .finish()
    }
}

impl PushConsumer {
    /// Starts consuming: heartbeats, takes its share of the queues and calls `listener` for each
    /// message. Returns once the first allocation is done.
    pub async fn start<L, F>(options: PushConsumerOptions, listener: L) -> ClientResult<PushConsumer>
    where
        L: Fn(ReceivedMessage) -> F + Send + Sync + 'static,
        F: Future<Output = ConsumeOutcome> + Send + 'static,
    {
        if options.group.is_empty() || options.subscriptions.is_empty() {
            return Err(ClientError::Invalid {
                what: "push consumer",
                reason: "needs a group and at least one subscription".into(),
            });
        }
        if !(0..=MAX_RECONSUME_TIMES_LIMIT).contains(&options.max_reconsume_times) {
            return Err(ClientError::Invalid {
                what: "max reconsume times",
                reason: format!(
                    "{} is outside 0..={MAX_RECONSUME_TIMES_LIMIT}",
                    options.max_reconsume_times
                ),
            });
        }
        if options.subscriptions.len() > SUBSCRIPTIONS_MAX {
            return Err(ClientError::Full {
                what: "subscriptions",
                limit: SUBSCRIPTIONS_MAX,
            });
        }
        for (topic, _) in &options.subscriptions {
            check_topic(topic)?;
        }
        let cluster = Cluster::start(options.client.clone())?;
        let listener: Listener = Arc::new(move |message| Box::pin(listener(message)));
        let local = (options.message_model == MessageModel::Broadcasting).then(|| {
            let file = LocalOffsets::new(&options.local_offset_dir, cluster.client_id(), &options.group);
            let offsets = file.load();
            Mutex::new(LocalState {
                file,
                offsets,
                changed: false,
            })
        });
        let shared = Arc::new(Shared {
            options,
            cluster,
            listener,
            offsets: Mutex::new(BTreeMap::new()),
            local,
        });
        let mut subscriptions: BTreeMap<String, Filter> = shared.options.subscriptions.iter().cloned().collect();
        if shared.clustering() {
            subscriptions.insert(retry_topic(&shared.options.group), Filter::all());
        }
        for (topic, _) in &shared.options.subscriptions {
            shared.cluster.fetch_route(topic).await?;
        }
        shared.cluster.register_consumer(consumer_data(
            &shared.options.group,
            ConsumeType::ConsumePassively,
            shared.options.message_model.clone(),
            shared.options.start_from,
            &subscriptions,
        ))?;
        shared.cluster.heartbeat_all().await;
        let (stop, stopped) = watch::channel(false);
        let mut readers = Readers::default();
        readers.rebalance(&shared, &stopped).await;
        let supervisor = tokio::spawn(supervise(Arc::clone(&shared), readers, stopped));
        Ok(PushConsumer {
            shared,
            stop,
            supervisor: Mutex::new(Some(supervisor)),
        })
    }

    /// The queues this member reads now.
    pub fn owned_queues(&self) -> Vec<MessageQueue> {
        lock(&self.shared.offsets).keys().cloned().collect()
    }

    /// The cluster view this consumer uses (routes, client id).
    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }

    /// Stops reading, commits every consumed offset, leaves the group (UNREGISTER_CLIENT, so the
    /// others rebalance at once) and closes the connections.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let supervisor = lock(&self.supervisor).take();
        if let Some(supervisor) = supervisor
            && tokio::time::timeout(SHUTDOWN_TIMEOUT, supervisor).await.is_err()
        {
            warn!("push consumer readers still busy after the shutdown timeout");
        }
        commit_all(&self.shared).await;
        self.shared.cluster.unregister_groups();
        unregister(&self.shared).await;
        self.shared.cluster.shutdown().await;
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(supervisor) = lock(&self.supervisor).take() {
            supervisor.abort();
        }
    }
}

/// The reader tasks, owned by the supervisor.
#[derive(Default)]
struct Readers {
    tasks: JoinSet<()>,
    running: BTreeMap<MessageQueue, watch::Sender<bool>>,
}

impl Readers {
    async fn rebalance(&mut self, shared: &Arc<Shared>, stopped: &watch::Receiver<bool>) {
        let Some(mut mine) = allocation(shared).await else {
            return;
        };
        if shared.orderly() {
            // Locked (or relocked: a lock lives 60 s) queues only; the rest wait for a later round.
            mine = lock_all(shared, mine).await;
        }
        let dropped: Vec<MessageQueue> = self.running.keys().filter(|q| !mine.contains(q)).cloned().collect();
        for queue in dropped {
            if let Some(stop) = self.running.remove(&queue) {
                stop.send_replace(true);
            }
        }
        for queue in mine {
            if self.running.contains_key(&queue) {
                continue;
            }
            let (stop, queue_stopped) = watch::channel(*stopped.borrow());
            self.running.insert(queue.clone(), stop);
            self.tasks.spawn(read_queue(Arc::clone(shared), queue, queue_stopped));
        }
        while self.tasks.try_join_next().is_some() {}
    }

    async fn stop_all(mut self) {
        for stop in self.running.values() {
            stop.send_replace(true);
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn supervise(shared: Arc<Shared>, mut readers: Readers, mut stopped: watch::Receiver<bool>) {
    let mut membership = shared.cluster.membership_changes();
    let mut rebalance = tokio::time::interval(shared.options.rebalance_interval);
    let mut commit = tokio::time::interval(shared.options.offset_commit_interval);
    rebalance.tick().await;
    commit.tick().await;
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            changed = membership.changed() => {
                if changed.is_err() { break; }
                debug!(group = %shared.options.group, "membership changed; rebalancing");
                readers.rebalance(&shared, &stopped).await;
            }
            _ = rebalance.tick() => readers.rebalance(&shared, &stopped).await,
            _ = commit.tick() => commit_all(&shared).await,
        }
    }
    readers.stop_all().await;
}

/// This member's share of every subscribed topic's queues; `None` if membership is unknown.
async fn allocation(shared: &Shared) -> Option<Vec<MessageQueue>> {
    let cluster = &shared.cluster;
    let group = &shared.options.group;
    let mut topics: Vec<String> = shared.options.subscriptions.iter().map(|(t, _)| t.clone()).collect();
    if shared.clustering() {
        topics.push(retry_topic(group));
    }
    let mut mine = Vec::new();
    for topic in topics {
        // The retry topic appears once a broker has seen our heartbeat; until then it has no route.
        let route = match cluster.fetch_route(&topic).await {
            Ok(route) => route,
            Err(error) => {
                debug!(%topic, %error, "no route yet; skipping in this rebalance");
                continue;
            }
        };
        let queues = route::subscribe_queues(&route, &topic);
        if !shared.clustering() {
            mine.extend(queues);
            continue;
        }
        let Some(first) = queues.first() else { continue };
        let members = match queue_reader::group_members(cluster, group, &first.broker_name).await {
            Ok(members) => members,
            Err(error) => {
                warn!(%topic, %error, "cannot list the group's members; keeping the current queues");
                return None;
            }
        };
        mine.extend(allocate_averagely(&queues, &members, cluster.client_id()));
    }
    mine.truncate(OWNED_QUEUES_MAX);
    Some(mine)
}

async fn read_queue(shared: Arc<Shared>, queue: MessageQueue, mut stopped: watch::Receiver<bool>) {
    let options = &shared.options;
    let cluster = &shared.cluster;
    let filter = options
        .subscriptions
        .iter()
        .find(|(topic, _)| *topic == queue.topic)
        .map_or_else(Filter::all, |(_, filter)| filter.clone());
    let Some(mut offset) = find_start(&shared, &queue, &mut stopped).await else {
        return;
    };
    lock(&shared.offsets).entry(queue.clone()).or_insert((offset, None)).0 = offset;
    while !*stopped.borrow() {
        let request = PullRequest {
            group: &options.group,
            queue: &queue,
            offset,
            max_messages: options.pull_batch_size,
            filter: &filter,
            commit_offset: None,
            suspend: options.long_poll,
        };
        let pulled = tokio::select! {
            _ = stopped.changed() => break,
            pulled = queue_reader::pull(cluster, request, cluster.options().api_timeout) => pulled,
        };
        match pulled {
            Ok(Pulled::Found(messages, next)) => {
                if !consume_batch(&shared, messages, &stopped).await {
                    // Cut short by a stop: the next owner resumes from the last whole batch.
                    break;
                }
                offset = next;
            }
            Ok(Pulled::Nothing(next)) | Ok(Pulled::OffsetMoved(next)) => offset = next,
            Err(error) => {
                debug!(?queue, %error, "pull failed");
                pause(&mut stopped, RETRY_PAUSE).await;
                continue;
            }
        }
        if let Some(entry) = lock(&shared.offsets).get_mut(&queue) {
            entry.0 = offset;
        }
        if let Some(local) = &shared.local {
            let mut local = lock(local);
            if local.offsets.insert(queue.clone(), offset) != Some(offset) {
                local.changed = true;
            }
        }
    }
    release(&shared, queue).await;
}

/// The offset to start `queue` at, retried until found or stopped.
async fn find_start(shared: &Shared, queue: &MessageQueue, stopped: &mut watch::Receiver<bool>) -> Option<i64> {
    let (options, cluster) = (&shared.options, &shared.cluster);
    loop {
        if *stopped.borrow() {
            return None;
        }
        let saved = shared
            .local
            .as_ref()
            .and_then(|local| lock(local).offsets.get(queue).copied());
        let found = if shared.clustering() {
            queue_reader::start_offset(cluster, &options.group, queue, options.start_from).await
        } else if let Some(saved) = saved {
            Ok(saved)
        } else {
            queue_reader::position(cluster, queue, options.start_from).await
        };
        match found {
            Ok(offset) => return Some(offset),
            Err(error) => {
                warn!(?queue, %error, "cannot find where to start");
                pause(stopped, RETRY_PAUSE).await;
            }
        }
    }
}

/// Runs the listener on a pulled batch: one at a time in order (orderly), else all at once.
/// True once every message is consumed or handed back, so the offset may move past the batch.
async fn consume_batch(shared: &Arc<Shared>, messages: Vec<ReceivedMessage>, stopped: &watch::Receiver<bool>) -> bool {
    if shared.orderly() {
        for message in messages {
            if !consume_one(Arc::clone(shared), message, stopped.clone()).await {
                return false;
            }
        }
        return true;
    }
    let mut batch = JoinSet::new();
    for message in messages {
        batch.spawn(consume_one(Arc::clone(shared), message, stopped.clone()));
    }
    let mut all_done = true;
    while let Some(done) = batch.join_next().await {
        all_done &= done.unwrap_or(false);
    }
    all_done
}

/// Dropped or shutting down: commits what the reader consumed, forgets the queue and, for an
/// orderly listener, gives its lock back.
async fn release(shared: &Shared, queue: MessageQueue) {
    let (options, cluster) = (&shared.options, &shared.cluster);
    let entry = lock(&shared.offsets).remove(&queue);
    if let Some((consumed, committed)) = entry
        && shared.clustering()
        && committed != Some(consumed)
        && let Err(error) = queue_reader::commit_offset(cluster, &options.group, &queue, consumed).await
    {
        warn!(?queue, %error, "commit of a released queue failed");
    }
    if shared.orderly() {
        let broker_name = queue.broker_name.clone();
        if let Err(error) = queue_reader::unlock_queues(cluster, &options.group, &broker_name, vec![queue]).await {
            debug!(%error, "unlock failed; the broker's lock expires on its own");
        }
    }
}

/// Locks `queues` on their brokers; returns the ones now locked by us.
async fn lock_all(shared: &Shared, queues: Vec<MessageQueue>) -> Vec<MessageQueue> {
    let mut by_broker: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
    for queue in queues {
        by_broker.entry(queue.broker_name.clone()).or_default().push(queue);
    }
    let mut locked = Vec::new();
    for (broker_name, queues) in by_broker {
        match queue_reader::lock_queues(&shared.cluster, &shared.options.group, &broker_name, queues).await {
            Ok(granted) => locked.extend(granted),
            Err(error) => warn!(%broker_name, %error, "cannot lock queues"),
        }
    }
    locked
}

/// Runs the listener on `message` until it is consumed or handed back to the broker; false if
/// the consumer stopped first (the message is then neither, and the offset must not pass it).
async fn consume_one(shared: Arc<Shared>, message: ReceivedMessage, mut stopped: watch::Receiver<bool>) -> bool {
    loop {
        match (shared.listener)(message.clone()).await {
            ConsumeOutcome::Success => return true,
            ConsumeOutcome::Retry if shared.orderly() => {
                debug!(msg_id = message.msg_id(), "orderly: consuming again after a pause");
            }
            ConsumeOutcome::Retry if !shared.clustering() => {
                warn!(
                    msg_id = message.msg_id(),
                    "broadcasting: a retried message is dropped, as Java drops it"
                );
                return true;
            }
            ConsumeOutcome::Retry => {
                let group = &shared.options.group;
                match queue_reader::send_back(&shared.cluster, group, &message, shared.options.max_reconsume_times)
                    .await
                {
                    Ok(()) => return true,
                    Err(error) => warn!(msg_id = message.msg_id(), %error, "send-back failed; consuming again"),
                }
            }
        }
        if *stopped.borrow() {
            return false;
        }
        pause(&mut stopped, RETRY_PAUSE).await;
    }
}

async fn commit_all(shared: &Shared) {
    if let Some(local) = &shared.local {
        save_local(local);
        return;
    }
    let pending: Vec<(MessageQueue, i64)> = lock(&shared.offsets)
        .iter()
        .filter(|(_, (consumed, committed))| *committed != Some(*consumed))
        .map(|(queue, (consumed, _))| (queue.clone(), *consumed))
        .collect();
    for (queue, offset) in pending {
        match queue_reader::commit_offset(&shared.cluster, &shared.options.group, &queue, offset).await {
            Ok(()) => {
                if let Some(entry) = lock(&shared.offsets).get_mut(&queue) {
                    entry.1 = Some(offset);
                }
            }
            Err(error) => warn!(?queue, %error, "offset commit failed"),
        }
    }
}

/// Writes a broadcasting member's offsets file if an offset moved since the last save (a few
/// hundred bytes per queue, every 5 s and at shutdown).
fn save_local(local: &Mutex<LocalState>) {
    let (file, offsets) = {
        let mut local = lock(local);
        if !local.changed {
            return;
        }
        local.changed = false;
        (local.file.clone(), local.offsets.clone())
    };
    if let Err(error) = file.save(&offsets) {
        warn!(path = %file.path().display(), %error, "cannot save the broadcasting offsets; retrying at the next commit");
        lock(local).changed = true;
    }
}

/// Java's `rocketmq.client.localOffsetStoreDir` default: `.rocketmq_offsets` in the home
/// directory (the temporary directory when there is no `HOME`).
fn default_local_offset_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(".rocketmq_offsets")
}

/// UNREGISTER_CLIENT to every master we know, so the group rebalances without waiting for the
/// broker to notice our heartbeats stopped (Java does the same on shutdown).
async fn unregister(shared: &Shared) {
    let mut addrs = Vec::new();
    for (topic, _) in &shared.options.subscriptions {
        if let Ok(route) = shared.cluster.route(topic).await {
            addrs.extend(route::master_addrs(&route).into_iter().map(|(_, addr)| addr));
        }
    }
    addrs.sort();
    addrs.dedup();
    let header = UnregisterClientRequestHeader {
        client_id: shared.cluster.client_id().to_owned(),
        producer_group: None,
        consumer_group: Some(shared.options.group.clone()),
        ..Default::default()
    };
    for addr in addrs {
        let request = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT).with_ext_fields(header.to_ext_fields());
        if let Err(error) = shared.cluster.invoke_checked(&addr, request).await {
            debug!(%addr, %error, "unregister failed");
        }
    }
}

async fn pause(stopped: &mut watch::Receiver<bool>, how_long: Duration) {
    tokio::select! {
        _ = stopped.changed() => {}
        () = tokio::time::sleep(how_long) => {}
    }
}

fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

// Held for map edits only, never across an await.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
