//! The broker's periodic tasks over its state: client-channel expiry, the long-poll re-check,
//! metadata persistence and delayed delivery. Each runs forever; the shell owns and aborts them.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_store::{CommitLogOffset, PutStatus, QueueId, QueueOffset};
use tracing::warn;

use crate::state::clients::EXPIRY_SCAN_INTERVAL;
use crate::state::long_poll::check_interval;
use crate::state::metadata::{WATCH_INTERVAL_MS, persist_groups, persist_offsets, persist_topics};
use crate::state::plain_acl_store::PLAIN_ACL_RELOAD_CHECK_INTERVAL;
use crate::state::schedule::{
    DELIVERIES_PER_WALK_MAX, FIRST_WALK_AFTER_MS, QueueHead, WALK_INTERVAL_MS, delivered_message, is_due, queue_head,
};
use crate::state::{Broker, keep_from, transactions};

/// Rebuilds ACL 1.0's table when its files change (Java 4.9.8's `AclFileWatchService`), looking
/// every [`PLAIN_ACL_RELOAD_CHECK_INTERVAL`]; a file that does not read keeps the old table.
pub async fn run_plain_acl_reload(broker: Arc<Broker>) {
    let Some(store) = broker.plain_acl.as_ref() else {
        return;
    };
    let mut ticks = tokio::time::interval(PLAIN_ACL_RELOAD_CHECK_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // A few stats, and a read of small files when one changed: fine on the runtime thread.
        if let Err(error) = store.reload_if_changed() {
            warn!(%error, "ACL 1.0 files changed but do not read; the previous table stays in force");
        }
    }
}

/// Closes channels silent for longer than Java's channel-expiry time and drops expired queue
/// locks, every [`EXPIRY_SCAN_INTERVAL`], forever.
pub async fn run_client_expiry(broker: Arc<Broker>) {
    let mut ticks = tokio::time::interval(EXPIRY_SCAN_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_ms = broker.now_ms();
        let expired = {
            let mut clients = broker.clients.lock();
            clients.queue_locks.expire(now_ms);
            clients.expire(now_ms)
        };
        for channel in expired {
            channel.close();
        }
    }
}

/// Re-checks every held pull against the store every [`check_interval`], forever (timeouts are
/// each handler's own).
pub async fn run_pull_hold_checks(broker: Arc<Broker>) {
    loop {
        let config = broker.config();
        tokio::time::sleep(check_interval(config.long_polling_enable, config.short_polling_time_ms)).await;
        if broker.pull_holds.is_empty() {
            continue;
        }
        let store = broker.store.clone();
        broker
            .pull_holds
            .check_all(|topic, queue_id| store.read(|s| s.max_offset_in_queue(topic, queue_id)));
    }
}

/// Persists topics and groups soon after they change, and the offsets every
/// `flushConsumerOffsetInterval`, forever.
pub async fn run_metadata_persist(broker: Arc<Broker>) {
    let mut written_topics = broker.topics.lock().data_version();
    let mut written_groups = broker.groups.lock().data_version();
    let mut since_offsets_ms = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(WATCH_INTERVAL_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if broker.topics.lock().data_version() != written_topics {
            match persist_topics(&broker) {
                Ok(version) => written_topics = version,
                Err(error) => warn!(%error, "persisting topics failed"),
            }
        }
        if broker.groups.lock().data_version() != written_groups {
            match persist_groups(&broker) {
                Ok(version) => written_groups = version,
                Err(error) => warn!(%error, "persisting subscription groups failed"),
            }
        }
        since_offsets_ms = since_offsets_ms.saturating_add(WATCH_INTERVAL_MS);
        if since_offsets_ms >= broker.config().flush_consumer_offset_interval_ms {
            since_offsets_ms = 0;
            if let Err(error) = persist_offsets(&broker) {
                warn!(%error, "persisting consumer offsets failed");
            }
        }
    }
}

/// How often the store is told the oldest record still to deliver (its clean-up runs every 10 s).
pub const KEEP_FROM_INTERVAL: Duration = Duration::from_secs(5);

/// Tells the store, every [`KEEP_FROM_INTERVAL`], the oldest record a master still has to deliver
/// (`state::keep_from`), so clean-up keeps it; a slave delivers nothing and keeps nothing back.
pub async fn run_keep_from(broker: Arc<Broker>) {
    let mut ticker = tokio::time::interval(KEEP_FROM_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let config = broker.config();
        let keep_from = if config.is_master() {
            let pending = keep_from::Pending {
                timers_from: broker.timers.lock().progress(broker.now_ms()).scan_from,
                delay_levels_from: {
                    let offsets = broker.offsets.lock();
                    (1..=config.store.message_delay_levels_ms.len())
                        .map(|level| offsets.delay_offset(i32::try_from(level).unwrap_or(i32::MAX)))
                        .collect()
                },
                halves_from: transactions::check_offsets(&broker.offsets.lock()).1,
            };
            broker.store.read(|store| keep_from::oldest_to_deliver(store, &pending))
        } else {
            CommitLogOffset(u64::MAX)
        };
        broker.store.write(|store| store.set_keep_from(keep_from));
    }
}

/// Walks every level every [`WALK_INTERVAL_MS`] while this broker is a master, forever.
pub async fn run_delayed_delivery(broker: Arc<Broker>) {
    tokio::time::sleep(Duration::from_millis(FIRST_WALK_AFTER_MS)).await;
    let mut ticker = tokio::time::interval(Duration::from_millis(WALK_INTERVAL_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let config = broker.config();
        if !config.is_master() {
            continue;
        }
        for (index, delay_ms) in config.store.message_delay_levels_ms.iter().enumerate() {
            let Ok(level) = i32::try_from(index + 1) else {
                break;
            };
            deliver_level(&broker, level, *delay_ms).await;
        }
    }
}

/// Delivers the due messages at the head of one level's queue and records the level's offset.
async fn deliver_level(b: &Broker, level: i32, delay_ms: i64) {
    let queue_id = QueueId(level - 1);
    let recorded = b.offsets.lock().delay_offset(level);
    let mut offset = recorded.and_then(QueueOffset::from_java_long).unwrap_or_default();
    for _ in 0..DELIVERIES_PER_WALK_MAX {
        let now_ms = b.now_ms();
        let head = b
            .store
            .read(|store| queue_head(store, queue_id, offset, |at| is_due(at, now_ms, delay_ms)));
        let (at, message) = match head {
            QueueHead::Idle { offset: at } => {
                // Only an offset moved into range is worth recording; Java records none here.
                if recorded.is_some() && at != offset {
                    record_offset(b, level, at);
                }
                return;
            }
            QueueHead::Waiting { offset: at } => {
                // Java records the waiting entry's offset.
                if recorded != i64::try_from(at.0).ok() {
                    record_offset(b, level, at);
                }
                return;
            }
            QueueHead::Due { offset: at, message } => (at, message),
        };
        if let Some(delivered) = message.as_deref().and_then(delivered_message) {
            let outcome = b.store.put(delivered).await;
            if outcome.status != PutStatus::PutOk {
                warn!(level, offset = at.0, status = ?outcome.status, "delivering a delayed message failed; retrying");
                record_offset(b, level, at);
                return;
            }
        } else {
            warn!(
                level,
                offset = at.0,
                "a delayed message without a readable record or real topic is skipped"
            );
        }
        offset = at.next();
        record_offset(b, level, offset);
    }
}

fn record_offset(b: &Broker, level: i32, offset: QueueOffset) {
    b.offsets
        .lock()
        .set_delay_offset(level, offset.to_java_long(), b.now_ms());
}
