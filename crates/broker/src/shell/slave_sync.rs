//! A slave's metadata sync from its master (Java's `SlaveSynchronize`, store-and-ha.md §7.6):
//! every `slaveSyncPeriod` (Java: 60 s) it asks the master's remoting address, which the name
//! servers' REGISTER_BROKER answers name, for its topics, consumer offsets, delay offsets and
//! subscription groups, adopts them and writes them to `config/`.
//!
//! Each step stands alone, as in Java: a failed one is logged and the others still run. Topics
//! and groups are replaced whole only when the master's data version differs; consumer offsets
//! are merged (nothing deleted); delay offsets are replaced. Unlike Java, which waits 10 s after
//! start, the first sync runs as soon as the master's address is known.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::Client;
use ferrocket_wire::body::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, JsonBody, SubscriptionGroupWrapper,
    TopicConfigSerializeWrapper,
};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, warn};

use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;
use crate::state::auth::signature::sign_as_broker;
use crate::state::metadata;

/// Java's `BrokerOuterAPI` waits 3 s for each of these answers.
pub const SYNC_REQUEST_TIMEOUT_MS: u64 = 3_000;
/// Java's task wakes every 3 s to see whether a sync is due; shorter periods wake sooner.
const CHECK_INTERVAL_MS_MAX: u64 = 3_000;

/// Syncs whenever the period has passed since the last attempt, forever (slaves only).
pub async fn run(broker: Arc<Broker>, outbound: Client) {
    let mut last_attempt: Option<tokio::time::Instant> = None;
    loop {
        let period_ms = broker.config().slave_sync_period_ms.max(1);
        tokio::time::sleep(Duration::from_millis(period_ms.min(CHECK_INTERVAL_MS_MAX))).await;
        let due = last_attempt.is_none_or(|at| at.elapsed() >= Duration::from_millis(period_ms));
        if !due || master_addr(&broker).is_none() {
            continue;
        }
        last_attempt = Some(tokio::time::Instant::now());
        if let Err(error) = sync_all(&broker, &outbound).await {
            warn!(%error, "slave sync from the master incomplete");
        }
    }
}

/// One full sync: topics, consumer offsets, delay offsets, subscription groups. Every step runs;
/// the first failure is returned. Without a known master address there is nothing to do.
pub async fn sync_all(broker: &Broker, outbound: &Client) -> BrokerResult<()> {
    let Some(master) = master_addr(broker) else {
        return Ok(());
    };
    let steps = [
        sync_topics(broker, outbound, &master).await,
        sync_consumer_offsets(broker, outbound, &master).await,
        sync_delay_offsets(broker, outbound, &master).await,
        sync_groups(broker, outbound, &master).await,
    ];
    debug!(master, "slave sync done");
    steps.into_iter().collect()
}

/// The master's remoting address, unless it is this broker's own (Java's check).
fn master_addr(broker: &Broker) -> Option<String> {
    broker
        .master_addresses
        .lock()
        .master_addr
        .clone()
        .filter(|addr| addr != broker.address())
}

async fn sync_topics(broker: &Broker, outbound: &Client, master: &str) -> BrokerResult<()> {
    let wrapper: TopicConfigSerializeWrapper =
        fetch(broker, outbound, master, RequestCode::GET_ALL_TOPIC_CONFIG).await?;
    let replaced = broker.topics.lock().replace_from_master(wrapper);
    if replaced {
        metadata::persist_topics(broker)?;
    }
    Ok(())
}

async fn sync_consumer_offsets(broker: &Broker, outbound: &Client, master: &str) -> BrokerResult<()> {
    let wrapper: ConsumerOffsetSerializeWrapper =
        fetch(broker, outbound, master, RequestCode::GET_ALL_CONSUMER_OFFSET).await?;
    broker.offsets.lock().merge_from_master(wrapper);
    metadata::persist_offsets(broker)
}

async fn sync_delay_offsets(broker: &Broker, outbound: &Client, master: &str) -> BrokerResult<()> {
    let wrapper: DelayOffsetSerializeWrapper =
        fetch(broker, outbound, master, RequestCode::GET_ALL_DELAY_OFFSET).await?;
    broker.offsets.lock().load_delay_wrapper(wrapper);
    metadata::persist_offsets(broker)
}

async fn sync_groups(broker: &Broker, outbound: &Client, master: &str) -> BrokerResult<()> {
    let wrapper: SubscriptionGroupWrapper =
        fetch(broker, outbound, master, RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG).await?;
    let replaced = broker.groups.lock().replace_from_master(wrapper);
    if replaced {
        metadata::persist_groups(broker)?;
    }
    Ok(())
}

/// Asks the master for one table and decodes its JSON answer.
async fn fetch<T: JsonBody>(broker: &Broker, outbound: &Client, master: &str, code: RequestCode) -> BrokerResult<T> {
    // Signed with innerClientAuthenticationCredentials, for a master with authentication on.
    let request = sign_as_broker(RemotingCommand::request(code), &broker.config().auth);
    let timeout = Duration::from_millis(SYNC_REQUEST_TIMEOUT_MS);
    let response = outbound
        .invoke(master, request, timeout)
        .await
        .map_err(|error| BrokerError::MasterCallFailed {
            code,
            master: master.to_owned(),
            error,
        })?;
    if response.response_code() != ResponseCode::SUCCESS {
        return Err(BrokerError::MasterRefused {
            code,
            master: master.to_owned(),
            response_code: response.code,
            remark: response.remark.unwrap_or_default(),
        });
    }
    Ok(T::decode(response.body.as_deref().unwrap_or_default())?)
}
