//! Producers and consumers by group, with the connections they heartbeat on: Java's
//! `ProducerManager` and `ConsumerManager` (remoting.md §4.2.2, §4.2.3, §4.4.1).
//!
//! [`ClientRegistry`] is a plain table, generic over the channel key so tests need no sockets
//! (the broker keys it by [`ConnectionHandle`]). Invariants:
//! * a channel appears at most once per group; a group with no channel left is dropped;
//! * every change of a consumer group's channel set or subscriptions returns the channels to
//!   tell (NOTIFY_CONSUMER_IDS_CHANGED), never for a BROADCASTING group, as Java decides it;
//! * the tables keyed by remote input are bounded ([`CONSUMER_GROUPS_MAX`],
//!   [`PRODUCER_GROUPS_MAX`], [`CHANNELS_PER_GROUP_MAX`], [`SUBSCRIPTIONS_PER_GROUP_MAX`]).
//!
//! The read side is in `lookups`, orderly consumers' queue locks (LOCK_BATCH_MQ) in
//! [`QueueLocks`]. The shell's expiry task closes channels silent
//! for [`CHANNEL_EXPIRED_TIMEOUT_MS`] (closing one runs the close callback, which removes it
//! everywhere, as Java's scan does); the client handlers send the notices.

mod lookups;
mod queue_locks;

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Duration;

use ferrocket_net::ConnectionHandle;
use ferrocket_wire::LanguageCode;
use ferrocket_wire::body::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use tracing::{info, warn};

use crate::limit_warnings::{LimitWarning, limit_warning};
pub use queue_locks::{LOCK_MAX_LIVE_MS, QueueLocks};

/// Java's `channelExpiredTimeout`: a client heartbeats every 30 s, so 120 s of silence means it
/// is gone.
pub const CHANNEL_EXPIRED_TIMEOUT_MS: i64 = 120_000;
/// Java's `ClientHousekeepingService` scans every 10 s.
pub const EXPIRY_SCAN_INTERVAL: Duration = Duration::from_secs(10);
/// Heartbeats name groups freely; as many as the subscription-group table holds.
pub const CONSUMER_GROUPS_MAX: usize = 100_000;
/// Producer groups are not persisted anywhere, so only this bound keeps them in check.
pub const PRODUCER_GROUPS_MAX: usize = 100_000;
/// Far beyond any real group (each member is a process), small enough to bound one group.
pub const CHANNELS_PER_GROUP_MAX: usize = 10_000;
/// One heartbeat can list any number of topics; a real consumer subscribes a handful.
pub const SUBSCRIPTIONS_PER_GROUP_MAX: usize = 10_000;

static CONSUMER_GROUPS_FULL: LimitWarning = limit_warning!(CONSUMER_GROUPS_MAX);
static PRODUCER_GROUPS_FULL: LimitWarning = limit_warning!(PRODUCER_GROUPS_MAX);
static CHANNELS_PER_GROUP_FULL: LimitWarning = limit_warning!(CHANNELS_PER_GROUP_MAX);
static SUBSCRIPTIONS_PER_GROUP_FULL: LimitWarning = limit_warning!(SUBSCRIPTIONS_PER_GROUP_MAX);

/// One client connection as its heartbeat described it (`ClientChannelInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChannel<C> {
    pub channel: C,
    pub client_id: String,
    /// The peer address, `ip:port`.
    pub client_addr: String,
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal, from the request header.
    pub version: i32,
    pub last_update_ms: i64,
}

/// A consumer group's live members and what they subscribe to (`ConsumerGroupInfo`).
#[derive(Debug, Clone)]
pub struct ConsumerGroupInfo<C> {
    pub channels: HashMap<C, ClientChannel<C>>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    /// Topic → subscription.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    pub last_update_ms: i64,
}

impl<C> ConsumerGroupInfo<C> {
    fn is_broadcasting(&self) -> bool {
        self.message_model == MessageModel::Broadcasting
    }
}

/// What a consumer's heartbeat says about one group.
#[derive(Debug, Clone)]
pub struct ConsumerRegistration {
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscriptions: Vec<SubscriptionData>,
    /// False for a 5.x heartbeat sent without subscriptions (`withoutSub`): keep the known ones.
    pub update_subscriptions: bool,
    /// The group's `notifyConsumerIdsChangedEnable`.
    pub notify_enabled: bool,
}

/// What a registration changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerChange<C> {
    /// A new channel, or subscriptions added or removed.
    pub changed: bool,
    /// Channels to send NOTIFY_CONSUMER_IDS_CHANGED to (empty when nobody is told).
    pub notify: Vec<C>,
}

/// Every producer and consumer group with its channels.
#[derive(Debug)]
pub struct ClientRegistry<C = ConnectionHandle> {
    consumers: HashMap<String, ConsumerGroupInfo<C>>,
    producers: HashMap<String, HashMap<C, ClientChannel<C>>>,
    /// 5.x heartbeat v2: the last fingerprint per consumer group.
    fingerprints: HashMap<String, i32>,
    /// Orderly consumers' queue locks.
    pub queue_locks: QueueLocks,
}

impl<C> Default for ClientRegistry<C> {
    fn default() -> ClientRegistry<C> {
        ClientRegistry {
            consumers: HashMap::new(),
            producers: HashMap::new(),
            fingerprints: HashMap::new(),
            queue_locks: QueueLocks::default(),
        }
    }
}

impl<C: Clone + Eq + Hash> ClientRegistry<C> {
    /// Java's `ConsumerManager.registerConsumer`: adds or refreshes the channel, takes the
    /// group's settings from this heartbeat and, when asked, its subscriptions.
    pub fn register_consumer(
        &mut self,
        group: &str,
        channel: ClientChannel<C>,
        registration: ConsumerRegistration,
    ) -> ConsumerChange<C> {
        let unchanged = ConsumerChange {
            changed: false,
            notify: Vec::new(),
        };
        let now_ms = channel.last_update_ms;
        if !self.consumers.contains_key(group) && self.consumers.len() >= CONSUMER_GROUPS_MAX {
            CONSUMER_GROUPS_FULL.hit(now_ms, group, "consumer group not registered");
            return unchanged;
        }
        let info = self
            .consumers
            .entry(group.to_owned())
            .or_insert_with(|| ConsumerGroupInfo {
                channels: HashMap::new(),
                consume_type: registration.consume_type.clone(),
                message_model: registration.message_model.clone(),
                consume_from_where: registration.consume_from_where.clone(),
                subscriptions: BTreeMap::new(),
                last_update_ms: now_ms,
            });
        info.consume_type = registration.consume_type;
        info.message_model = registration.message_model;
        info.consume_from_where = registration.consume_from_where;
        info.last_update_ms = now_ms;
        let channel_added = update_channel(&mut info.channels, channel, group);
        let subscriptions_changed = registration.update_subscriptions
            && update_subscriptions(&mut info.subscriptions, registration.subscriptions, group, now_ms);
        let changed = channel_added || subscriptions_changed;
        if channel_added {
            info!(group, "new consumer connected");
        }
        let notify = if changed && registration.notify_enabled && !info.is_broadcasting() {
            info.channels.keys().cloned().collect()
        } else {
            Vec::new()
        };
        if info.channels.is_empty() {
            // The channel was refused (group full) and nothing else is there.
            self.consumers.remove(group);
        }
        ConsumerChange { changed, notify }
    }

    /// Java's `unregisterConsumer` (UNREGISTER_CLIENT): the channels to notify afterwards.
    pub fn unregister_consumer(&mut self, group: &str, channel: &C, notify_enabled: bool) -> Vec<C> {
        let Some(info) = self.consumers.get_mut(group) else {
            return Vec::new();
        };
        if info.channels.remove(channel).is_some() {
            info!(group, "consumer unregistered");
        }
        let notify = if notify_enabled && !info.is_broadcasting() {
            info.channels.keys().cloned().collect()
        } else {
            Vec::new()
        };
        if info.channels.is_empty() {
            self.consumers.remove(group);
            self.fingerprints.remove(group);
        }
        notify
    }

    /// Java's `registerProducer`.
    pub fn register_producer(&mut self, group: &str, channel: ClientChannel<C>) {
        if !self.producers.contains_key(group) && self.producers.len() >= PRODUCER_GROUPS_MAX {
            PRODUCER_GROUPS_FULL.hit(channel.last_update_ms, group, "producer group not registered");
            return;
        }
        let channels = self.producers.entry(group.to_owned()).or_default();
        update_channel(channels, channel, group);
        if channels.is_empty() {
            self.producers.remove(group);
        }
    }

    /// Java's `unregisterProducer`.
    pub fn unregister_producer(&mut self, group: &str, channel: &C) {
        if let Some(channels) = self.producers.get_mut(group) {
            channels.remove(channel);
            if channels.is_empty() {
                self.producers.remove(group);
            }
        }
    }

    /// A connection closed: drops it from every group. Returns, per consumer group it left
    /// (CLUSTERING only, as Java's close event), the channels still there to notify.
    pub fn channel_closed(&mut self, channel: &C) -> Vec<(String, Vec<C>)> {
        let mut notices = Vec::new();
        self.consumers.retain(|group, info| {
            if info.channels.remove(channel).is_none() {
                return true;
            }
            if !info.is_broadcasting() && !info.channels.is_empty() {
                notices.push((group.clone(), info.channels.keys().cloned().collect()));
            }
            !info.channels.is_empty()
        });
        let consumers = &self.consumers;
        self.fingerprints.retain(|group, _| consumers.contains_key(group));
        self.producers.retain(|_, channels| {
            channels.remove(channel);
            !channels.is_empty()
        });
        notices
    }

    /// Java's `scanNotActiveChannel`: removes channels silent for more than
    /// [`CHANNEL_EXPIRED_TIMEOUT_MS`] and returns them (once each) to be closed. No notices, as
    /// in Java.
    pub fn expire(&mut self, now_ms: i64) -> Vec<C> {
        let mut expired: Vec<C> = Vec::new();
        let mut collect = |channels: &mut HashMap<C, ClientChannel<C>>| {
            channels.retain(|key, client| {
                let silent_ms = now_ms.saturating_sub(client.last_update_ms);
                let keep = silent_ms <= CHANNEL_EXPIRED_TIMEOUT_MS;
                if !keep {
                    warn!(
                        client = client.client_id,
                        addr = client.client_addr,
                        "removing expired channel"
                    );
                    if !expired.contains(key) {
                        expired.push(key.clone());
                    }
                }
                keep
            });
            !channels.is_empty()
        };
        self.consumers.retain(|_, info| collect(&mut info.channels));
        self.producers.retain(|_, channels| collect(channels));
        let consumers = &self.consumers;
        self.fingerprints.retain(|group, _| consumers.contains_key(group));
        expired
    }

    /// Heartbeat v2: records `fingerprint` for `group`; true when it differs from a known one.
    pub fn fingerprint_changed(&mut self, group: &str, fingerprint: i32) -> bool {
        if !self.fingerprints.contains_key(group) && self.fingerprints.len() >= CONSUMER_GROUPS_MAX {
            return false;
        }
        self.fingerprints
            .insert(group.to_owned(), fingerprint)
            .is_some_and(|previous| previous != fingerprint)
    }
}

/// Java's `updateChannel`: adds the channel (true) or refreshes it, replacing its client id if
/// a different client now speaks on it.
fn update_channel<C: Clone + Eq + Hash>(
    channels: &mut HashMap<C, ClientChannel<C>>,
    channel: ClientChannel<C>,
    group: &str,
) -> bool {
    if let Some(existing) = channels.get_mut(&channel.channel) {
        if existing.client_id != channel.client_id {
            warn!(
                group,
                old = existing.client_id,
                new = channel.client_id,
                "channel changed its client id"
            );
        }
        *existing = channel;
        return false;
    }
    if channels.len() >= CHANNELS_PER_GROUP_MAX {
        CHANNELS_PER_GROUP_FULL.hit(channel.last_update_ms, group, "connection not registered in its group");
        return false;
    }
    channels.insert(channel.channel.clone(), channel);
    true
}

/// Java's `updateSubscription`: adds new topics (changed), replaces a subscription with a newer
/// `subVersion` (not a change), drops topics no longer listed (changed). Topics past
/// [`SUBSCRIPTIONS_PER_GROUP_MAX`] are ignored.
fn update_subscriptions(
    table: &mut BTreeMap<String, SubscriptionData>,
    subscriptions: Vec<SubscriptionData>,
    group: &str,
    now_ms: i64,
) -> bool {
    if subscriptions.len() > SUBSCRIPTIONS_PER_GROUP_MAX {
        SUBSCRIPTIONS_PER_GROUP_FULL.hit(now_ms, group, "subscriptions past the limit ignored");
    }
    let mut changed = false;
    let mut listed: Vec<String> = Vec::with_capacity(subscriptions.len());
    for subscription in subscriptions.into_iter().take(SUBSCRIPTIONS_PER_GROUP_MAX) {
        listed.push(subscription.topic.clone());
        match table.get(&subscription.topic) {
            None => {
                table.insert(subscription.topic.clone(), subscription);
                changed = true;
            }
            Some(old) if subscription.sub_version > old.sub_version => {
                table.insert(subscription.topic.clone(), subscription);
            }
            Some(_) => {}
        }
    }
    let before = table.len();
    table.retain(|topic, _| listed.contains(topic));
    changed || table.len() != before
}

#[cfg(test)]
/// Shared with the tests of `lookups` and `queue_locks`.
mod tests {
    use super::*;

    pub(super) fn channel(key: u32, client_id: &str, now_ms: i64) -> ClientChannel<u32> {
        ClientChannel {
            channel: key,
            client_id: client_id.to_owned(),
            client_addr: format!("10.0.0.{key}:5000"),
            language: LanguageCode::JAVA,
            version: 479,
            last_update_ms: now_ms,
        }
    }

    pub(super) fn subscription(topic: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            topic: topic.to_owned(),
            sub_string: "*".to_owned(),
            sub_version: version,
            ..SubscriptionData::default()
        }
    }

    pub(super) fn registration(model: MessageModel, topics: &[(&str, i64)]) -> ConsumerRegistration {
        ConsumerRegistration {
            consume_type: ConsumeType::ConsumePassively,
            message_model: model,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscriptions: topics.iter().map(|(t, v)| subscription(t, *v)).collect(),
            update_subscriptions: true,
            notify_enabled: true,
        }
    }

    fn sorted(mut keys: Vec<u32>) -> Vec<u32> {
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_joining_consumer_notifies_the_whole_group_and_a_repeat_heartbeat_does_not() {
        let mut registry = ClientRegistry::<u32>::default();
        let first = registry.register_consumer(
            "cg",
            channel(1, "c1", 0),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        assert_eq!((first.changed, first.notify), (true, vec![1]));
        let again = registry.register_consumer(
            "cg",
            channel(1, "c1", 10),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        assert_eq!((again.changed, again.notify.len()), (false, 0));
        let second = registry.register_consumer(
            "cg",
            channel(2, "c2", 20),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        assert!(second.changed);
        assert_eq!(sorted(second.notify), vec![1, 2]);
        assert_eq!(registry.consumer_ids("cg"), ["c1", "c2"]);
        assert_eq!(registry.consumer_group("cg").map(|g| g.last_update_ms), Some(20));
    }

    #[test]
    fn subscription_changes_follow_java_update_subscription() {
        let mut registry = ClientRegistry::<u32>::default();
        let model = MessageModel::Clustering;
        registry.register_consumer("cg", channel(1, "c1", 0), registration(model.clone(), &[("T", 1)]));
        // A newer version of the same topic replaces it silently.
        let newer = registry.register_consumer("cg", channel(1, "c1", 1), registration(model.clone(), &[("T", 5)]));
        assert!(!newer.changed);
        assert_eq!(registry.subscription("cg", "T").map(|s| s.sub_version), Some(5));
        // An older one is ignored.
        registry.register_consumer("cg", channel(1, "c1", 2), registration(model.clone(), &[("T", 3)]));
        assert_eq!(registry.subscription("cg", "T").map(|s| s.sub_version), Some(5));
        // A new topic, or a dropped one, is a change.
        let added = registry.register_consumer(
            "cg",
            channel(1, "c1", 3),
            registration(model.clone(), &[("T", 5), ("U", 1)]),
        );
        assert_eq!((added.changed, added.notify), (true, vec![1]));
        let dropped = registry.register_consumer("cg", channel(1, "c1", 4), registration(model.clone(), &[("U", 1)]));
        assert!(dropped.changed);
        assert!(registry.subscription("cg", "T").is_none());
        // Without-sub heartbeats keep what is known.
        let mut without = registration(model, &[]);
        without.update_subscriptions = false;
        assert!(!registry.register_consumer("cg", channel(1, "c1", 5), without).changed);
        assert!(registry.subscription("cg", "U").is_some());
    }

    #[test]
    fn broadcasting_groups_and_disabled_groups_are_never_notified() {
        let mut registry = ClientRegistry::<u32>::default();
        let change = registry.register_consumer(
            "bg",
            channel(1, "c1", 0),
            registration(MessageModel::Broadcasting, &[("T", 1)]),
        );
        assert!(change.changed && change.notify.is_empty());
        registry.register_consumer(
            "bg",
            channel(2, "c2", 0),
            registration(MessageModel::Broadcasting, &[("T", 1)]),
        );
        assert!(registry.channel_closed(&1).is_empty());
        assert!(registry.unregister_consumer("bg", &2, true).is_empty());
        let mut quiet = registration(MessageModel::Clustering, &[("T", 1)]);
        quiet.notify_enabled = false;
        assert!(
            registry
                .register_consumer("qg", channel(3, "c3", 0), quiet)
                .notify
                .is_empty()
        );
    }

    #[test]
    fn leaving_by_unregister_or_close_notifies_the_rest() {
        let mut registry = ClientRegistry::<u32>::default();
        for key in 1..=3 {
            registry.register_consumer(
                "cg",
                channel(key, &format!("c{key}"), 0),
                registration(MessageModel::Clustering, &[("T", 1)]),
            );
        }
        registry.register_producer("pg", channel(1, "c1", 0));
        assert_eq!(sorted(registry.unregister_consumer("cg", &3, true)), vec![1, 2]);
        assert_eq!(registry.channel_closed(&1), vec![("cg".to_owned(), vec![2])]);
        assert!(registry.producer_connection("pg").is_none());
        // The last member leaving drops the group.
        assert!(registry.channel_closed(&2).is_empty());
        assert!(registry.consumer_group("cg").is_none());
        assert!(registry.unregister_consumer("cg", &2, true).is_empty());
    }

    #[test]
    fn silent_channels_expire_once_and_without_notices() {
        let mut registry = ClientRegistry::<u32>::default();
        registry.register_consumer(
            "cg",
            channel(1, "c1", 0),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        registry.register_consumer(
            "cg",
            channel(2, "c2", 100_000),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        registry.register_producer("pg", channel(1, "c1", 0));
        assert!(registry.expire(CHANNEL_EXPIRED_TIMEOUT_MS).is_empty());
        assert_eq!(registry.expire(CHANNEL_EXPIRED_TIMEOUT_MS + 1), vec![1]);
        assert_eq!(registry.consumer_ids("cg"), ["c2"]);
        assert!(registry.producer_connection("pg").is_none());
        assert_eq!(registry.expire(i64::MAX), vec![2]);
        assert!(registry.consumer_groups().is_empty());
    }

    #[test]
    fn a_channel_reused_by_another_client_id_is_replaced_not_added() {
        let mut registry = ClientRegistry::<u32>::default();
        registry.register_consumer(
            "cg",
            channel(1, "old", 0),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        let change = registry.register_consumer(
            "cg",
            channel(1, "new", 1),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        assert!(!change.changed);
        assert_eq!(registry.consumer_ids("cg"), ["new"]);
    }

    #[test]
    fn fingerprints_report_changes_only_after_the_first() {
        let mut registry = ClientRegistry::<u32>::default();
        assert!(!registry.fingerprint_changed("cg", 7));
        assert!(!registry.fingerprint_changed("cg", 7));
        assert!(registry.fingerprint_changed("cg", 8));
    }

    #[test]
    fn groups_are_bounded() {
        let mut registry = ClientRegistry::<u32>::default();
        for index in 0..CONSUMER_GROUPS_MAX {
            registry.consumers.insert(
                format!("g{index}"),
                ConsumerGroupInfo {
                    channels: HashMap::from([(0, channel(0, "c", 0))]),
                    consume_type: ConsumeType::ConsumePassively,
                    message_model: MessageModel::Clustering,
                    consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
                    subscriptions: BTreeMap::new(),
                    last_update_ms: 0,
                },
            );
        }
        let change = registry.register_consumer(
            "one-too-many",
            channel(1, "c1", 0),
            registration(MessageModel::Clustering, &[]),
        );
        assert!(!change.changed);
        assert!(registry.consumer_group("one-too-many").is_none());
    }
}
