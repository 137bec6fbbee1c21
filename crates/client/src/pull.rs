//! The lite-pull consumer (Java's `DefaultLitePullConsumer`): the caller polls, and either
//! assigns queues itself or subscribes to topics and shares their queues with the group's other
//! members by Java's average allocation. Offsets are the caller's to seek, and are committed on
//! [`PullConsumer::commit`], every 5 s from `poll` (auto-commit, as Java), and on shutdown.
//!
//! Polls are plain pulls without long polling: a round over the owned queues that finds nothing
//! sleeps [`IDLE_POLL_PAUSE`] before the next, until the poll's timeout.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferrocket_wire::body::{ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::warn;

use crate::allocate::allocate_averagely;
use crate::cluster::{ClientOptions, Cluster};
use crate::error::{ClientError, ClientResult};
use crate::filter::Filter;
use crate::message::{ReceivedMessage, check_topic};
use crate::queue_reader::{self, PullRequest, Pulled, StartFrom};
use crate::route;

/// Java's `pullBatchSize` default for the lite-pull consumer.
pub const PULL_BATCH_SIZE: i32 = 10;
/// The most messages one pull may ask for (Java caps a pull at 1,024).
pub const PULL_BATCH_SIZE_MAX: i32 = 1024;
/// Java's `autoCommitIntervalMillis`.
pub const AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// The pause after a round of pulls found nothing.
pub const IDLE_POLL_PAUSE: Duration = Duration::from_millis(50);
/// Queues one consumer may own; a topic has at most 1,024 per broker, and a consumer reading
/// more than this many is better split.
pub const OWNED_QUEUES_MAX: usize = 4096;
/// Java's `topicMetadataCheckIntervalMillis`-like period of re-allocation without a notice.
pub const REBALANCE_INTERVAL: Duration = Duration::from_secs(20);

/// How a pull consumer behaves.
///
/// ```
/// use ferrocket_client::{ClientOptions, PullConsumerOptions, StartFrom};
///
/// let mut options = PullConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "audit");
/// options.start_from = StartFrom::FirstOffset;
/// assert_eq!(options.pull_batch_size, 10);
/// ```
#[derive(Debug, Clone)]
pub struct PullConsumerOptions {
    /// How to reach the cluster.
    pub client: ClientOptions,
    /// The consumer group.
    pub group: String,
    /// Messages asked for per pull (1..=1,024).
    pub pull_batch_size: i32,
    /// Where a queue with no committed offset starts.
    pub start_from: StartFrom,
    /// Commit from `poll` every 5 s (Java: `autoCommit`, on by default).
    pub auto_commit: bool,
    /// Timeout of one pull request.
    pub pull_timeout: Duration,
}

impl PullConsumerOptions {
    /// Java's defaults for `group`.
    pub fn new(client: ClientOptions, group: impl Into<String>) -> PullConsumerOptions {
        PullConsumerOptions {
            client,
            group: group.into(),
            pull_batch_size: PULL_BATCH_SIZE,
            start_from: StartFrom::LastOffset,
            auto_commit: true,
            pull_timeout: Duration::from_secs(10),
        }
    }
}

/// A lite-pull consumer.
///
/// ```no_run
/// use std::time::Duration;
/// use ferrocket_client::{ClientOptions, PullConsumer, PullConsumerOptions};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let consumer = PullConsumer::start(PullConsumerOptions::new(ClientOptions::new("127.0.0.1:9876"), "audit"))?;
/// consumer.subscribe("OrderTopic", "paid || refunded").await?;
/// for message in consumer.poll(Duration::from_secs(1)).await? {
///     println!("{} {:?}", message.queue_offset, message.body);
/// }
/// consumer.commit().await?;
/// consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PullConsumer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: PullConsumerOptions,
    cluster: Cluster,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Topic → filter, for subscribed topics.
    subscriptions: BTreeMap<String, Filter>,
    /// Expressions of assigned topics.
    assigned_filters: BTreeMap<String, Filter>,
    owned: BTreeMap<MessageQueue, Cursor>,
    next_round_start: usize,
    last_commit: Option<Instant>,
    last_rebalance: Option<Instant>,
    membership_seen: Option<watch::Receiver<u64>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Cursor {
    /// The next offset to pull; `None` until looked up.
    next: Option<i64>,
    /// The offset last committed, to skip unchanged queues.
    committed: Option<i64>,
}

impl PullConsumer {
    /// Starts a consumer; nothing is read until [`PullConsumer::subscribe`] or [`PullConsumer::assign`].
    pub fn start(options: PullConsumerOptions) -> ClientResult<PullConsumer> {
        if options.group.is_empty() {
            return Err(ClientError::Invalid {
                what: "consumer group",
                reason: "empty".into(),
            });
        }
        if !(1..=PULL_BATCH_SIZE_MAX).contains(&options.pull_batch_size) {
            return Err(ClientError::Invalid {
                what: "pull batch size",
                reason: format!("{} is outside 1..={PULL_BATCH_SIZE_MAX}", options.pull_batch_size),
            });
        }
        let cluster = Cluster::start(options.client.clone())?;
        let state = State {
            membership_seen: Some(cluster.membership_changes()),
            ..State::default()
        };
        Ok(PullConsumer {
            shared: Arc::new(Shared {
                options,
                cluster,
                state: Mutex::new(state),
            }),
        })
    }

    /// The cluster view this consumer uses (routes, client id).
    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }

    /// The readable queues of `topic` (for [`PullConsumer::assign`]).
    pub async fn queues_of(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        let route = self.shared.cluster.fetch_route(topic).await?;
        Ok(route::subscribe_queues(&route, topic))
    }

    /// Subscribes to `topic` with a tag expression (`"*"`, `"a || b"`); its queues are shared with
    /// the group's other subscribed members and re-shared when membership changes.
    pub async fn subscribe(&self, topic: &str, expression: &str) -> ClientResult<()> {
        self.subscribe_with(topic, Filter::tags(expression)).await
    }

    /// As [`PullConsumer::subscribe`], with any [`Filter`] (an SQL92 one, say).
    pub async fn subscribe_with(&self, topic: &str, filter: Filter) -> ClientResult<()> {
        check_topic(topic)?;
        self.shared.cluster.fetch_route(topic).await?;
        self.lock().subscriptions.insert(topic.to_owned(), filter);
        self.register_heartbeat()?;
        self.shared.cluster.heartbeat_all().await;
        self.rebalance().await
    }

    /// Reads exactly `queues` with `expression`, outside any group sharing (Java's `assign`).
    pub async fn assign(&self, queues: Vec<MessageQueue>, expression: &str) -> ClientResult<()> {
        if queues.len() > OWNED_QUEUES_MAX {
            return Err(ClientError::Full {
                what: "owned queues",
                limit: OWNED_QUEUES_MAX,
            });
        }
        for queue in &queues {
            self.shared.cluster.route(&queue.topic).await?;
        }
        let mut state = self.lock();
        state.subscriptions.clear();
        state.owned.clear();
        for queue in queues {
            state
                .assigned_filters
                .insert(queue.topic.clone(), Filter::tags(expression));
            state.owned.insert(queue, Cursor::default());
        }
        Ok(())
    }

    /// The end of `queue` on its broker: the offset the next message will get.
    pub async fn end_offset(&self, queue: &MessageQueue) -> ClientResult<i64> {
        self.shared.cluster.route(&queue.topic).await?;
        queue_reader::max_offset(&self.shared.cluster, queue).await
    }

    /// The queues this consumer reads now.
    pub fn owned_queues(&self) -> Vec<MessageQueue> {
        self.lock().owned.keys().cloned().collect()
    }

    /// Makes the next poll of `queue` start at `offset`.
    pub fn seek(&self, queue: &MessageQueue, offset: i64) -> ClientResult<()> {
        let mut state = self.lock();
        let cursor = state.owned.get_mut(queue).ok_or_else(|| ClientError::Invalid {
            what: "queue",
            reason: format!("{queue:?} is not owned by this consumer"),
        })?;
        cursor.next = Some(offset);
        Ok(())
    }

    /// Polls the owned queues until some messages arrive or `timeout` passes.
    pub async fn poll(&self, timeout: Duration) -> ClientResult<Vec<ReceivedMessage>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.rebalance_if_due().await?;
            if self.shared.options.auto_commit && self.commit_due() {
                self.commit().await?;
            }
            let messages = self.poll_round().await?;
            if !messages.is_empty() || Instant::now() + IDLE_POLL_PAUSE >= deadline {
                return Ok(messages);
            }
            tokio::time::sleep(IDLE_POLL_PAUSE).await;
        }
    }

    /// Commits the next offset of every owned queue whose position moved.
    pub async fn commit(&self) -> ClientResult<()> {
        let pending: Vec<(MessageQueue, i64)> = {
            let mut state = self.lock();
            state.last_commit = Some(Instant::now());
            state
                .owned
                .iter()
                .filter_map(|(queue, cursor)| {
                    let next = cursor.next?;
                    (cursor.committed != Some(next)).then(|| (queue.clone(), next))
                })
                .collect()
        };
        for (queue, offset) in pending {
            queue_reader::commit_offset(&self.shared.cluster, &self.shared.options.group, &queue, offset).await?;
            if let Some(cursor) = self.lock().owned.get_mut(&queue) {
                cursor.committed = Some(offset);
            }
        }
        Ok(())
    }

    /// Commits, stops heartbeats and closes connections.
    pub async fn shutdown(&self) {
        if let Err(error) = self.commit().await {
            warn!(%error, "commit on shutdown failed");
        }
        self.shared.cluster.unregister_groups();
        self.shared.cluster.shutdown().await;
    }

    async fn poll_round(&self) -> ClientResult<Vec<ReceivedMessage>> {
        let (queues, start) = {
            let mut state = self.lock();
            let queues: Vec<MessageQueue> = state.owned.keys().cloned().collect();
            let start = state.next_round_start;
            state.next_round_start = state.next_round_start.wrapping_add(1);
            (queues, start)
        };
        let count = queues.len();
        for step in 0..count {
            let Some(queue) = queues.get((start + step) % count) else {
                continue;
            };
            let messages = self.pull_queue(queue).await?;
            if !messages.is_empty() {
                return Ok(messages);
            }
        }
        Ok(Vec::new())
    }

    async fn pull_queue(&self, queue: &MessageQueue) -> ClientResult<Vec<ReceivedMessage>> {
        let options = &self.shared.options;
        let cluster = &self.shared.cluster;
        let (next, filter) = {
            let state = self.lock();
            let Some(cursor) = state.owned.get(queue) else {
                return Ok(Vec::new());
            };
            let filter = state
                .subscriptions
                .get(&queue.topic)
                .or_else(|| state.assigned_filters.get(&queue.topic))
                .cloned()
                .unwrap_or_else(Filter::all);
            (cursor.next, filter)
        };
        let offset = match next {
            Some(offset) => offset,
            None => queue_reader::start_offset(cluster, &options.group, queue, options.start_from).await?,
        };
        let request = PullRequest {
            group: &options.group,
            queue,
            offset,
            max_messages: options.pull_batch_size,
            filter: &filter,
            commit_offset: None,
            suspend: Duration::ZERO,
        };
        let (messages, next) = match queue_reader::pull(cluster, request, options.pull_timeout).await? {
            Pulled::Found(messages, next) => (messages, next),
            Pulled::Nothing(next) | Pulled::OffsetMoved(next) => (Vec::new(), next),
        };
        if let Some(cursor) = self.lock().owned.get_mut(queue) {
            // A seek during the pull wins over the pull's answer.
            if cursor.next.is_none() || cursor.next == Some(offset) {
                cursor.next = Some(next);
            }
        }
        Ok(messages)
    }

    fn commit_due(&self) -> bool {
        self.lock()
            .last_commit
            .is_none_or(|last| last.elapsed() >= AUTO_COMMIT_INTERVAL)
    }

    async fn rebalance_if_due(&self) -> ClientResult<()> {
        let due = {
            let mut state = self.lock();
            let changed = state
                .membership_seen
                .as_mut()
                .is_some_and(|seen| seen.has_changed().unwrap_or(false));
            if let Some(seen) = state.membership_seen.as_mut() {
                seen.mark_unchanged();
            }
            !state.subscriptions.is_empty()
                && (changed
                    || state
                        .last_rebalance
                        .is_none_or(|last| last.elapsed() >= REBALANCE_INTERVAL))
        };
        if due { self.rebalance().await } else { Ok(()) }
    }

    /// Re-shares every subscribed topic's queues among the group's members.
    async fn rebalance(&self) -> ClientResult<()> {
        let subscriptions: Vec<String> = self.lock().subscriptions.keys().cloned().collect();
        let cluster = &self.shared.cluster;
        let mut mine = Vec::new();
        for topic in subscriptions {
            let route = cluster.route(&topic).await?;
            let queues = route::subscribe_queues(&route, &topic);
            let Some(first) = queues.first() else { continue };
            let members = queue_reader::group_members(cluster, &self.shared.options.group, &first.broker_name).await?;
            mine.extend(allocate_averagely(&queues, &members, cluster.client_id()));
        }
        mine.truncate(OWNED_QUEUES_MAX);
        let dropped: Vec<(MessageQueue, i64)> = {
            let mut state = self.lock();
            state.last_rebalance = Some(Instant::now());
            let dropped = state
                .owned
                .iter()
                .filter(|(queue, _)| !mine.contains(queue))
                .filter_map(|(queue, cursor)| Some((queue.clone(), cursor.next?)))
                .collect();
            let mut owned = BTreeMap::new();
            for queue in mine {
                let cursor = state.owned.get(&queue).copied().unwrap_or_default();
                owned.insert(queue, cursor);
            }
            state.owned = owned;
            dropped
        };
        for (queue, offset) in dropped {
            queue_reader::commit_offset(cluster, &self.shared.options.group, &queue, offset).await?;
        }
        Ok(())
    }

    fn register_heartbeat(&self) -> ClientResult<()> {
        let subscriptions = self.lock().subscriptions.clone();
        let data = consumer_data(
            &self.shared.options.group,
            ConsumeType::ConsumeActively,
            MessageModel::Clustering,
            self.shared.options.start_from,
            &subscriptions,
        );
        self.shared.cluster.register_consumer(data)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Never held across an await.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The heartbeat entry of a consumer group with these subscriptions.
pub(crate) fn consumer_data(
    group: &str,
    consume_type: ConsumeType,
    message_model: MessageModel,
    start_from: StartFrom,
    subscriptions: &BTreeMap<String, Filter>,
) -> ConsumerData {
    ConsumerData {
        consume_from_where: match start_from {
            StartFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
            StartFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
        },
        consume_type,
        group_name: group.to_owned(),
        message_model,
        subscription_data_set: subscriptions
            .iter()
            .map(|(topic, filter)| filter.subscription_data(topic))
            .collect(),
        unit_mode: false,
    }
}
