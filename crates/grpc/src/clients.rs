//! The gRPC clients known by their `x-mq-client-id`: the settings each sent on its Telemetry
//! stream (Java's `GrpcClientSettingsManager`), what the server answers with, and the stream's
//! sender, kept for the server-initiated commands (transaction checks, later) to reach them.

use std::collections::HashMap;

use ferrocket_net::ConnectionHandle;
use tokio::sync::mpsc;

use ferrocket_wire::body::{GroupRetryPolicyType, SubscriptionGroupConfig};

use crate::proto::retry_policy::Strategy;
use crate::proto::{
    CustomizedBackoff, ExponentialBackoff, Metric, RetryPolicy, Settings, TelemetryCommand, settings::PubSub,
};

/// At most this many clients are remembered; a new one beyond it replaces none and is refused
/// (Java keeps every client until it goes silent; this bounds a flood of fresh ids).
pub const GRPC_CLIENTS_MAX: usize = 100_000;

/// Java's `grpcClientProducerMaxAttempts`, `...BackoffInitialMillis`, `...BackoffMaxMillis` and
/// `...BackoffMultiplier` defaults.
const PRODUCER_ATTEMPTS: i32 = 3;
const PRODUCER_BACKOFF_INITIAL_MS: i64 = 10;
const PRODUCER_BACKOFF_CEILING_MS: i64 = 1000;
const PRODUCER_BACKOFF_MULTIPLIER: f32 = 2.0;

/// One client.
#[derive(Debug, Clone)]
pub struct Client {
    pub settings: Settings,
    /// The open Telemetry stream's sender, if any.
    pub telemetry: Option<mpsc::Sender<Result<TelemetryCommand, tonic::Status>>>,
    /// A producer's in-process connection, registered with the broker under each of its topics
    /// (Java's proxy uses the topic as producer group), so the broker's transaction checks
    /// reach it.
    pub connection: Option<ConnectionHandle>,
}

/// Every known client by id.
#[derive(Debug, Default)]
pub struct Clients {
    by_id: HashMap<String, Client>,
}

impl Clients {
    /// Records a client's settings from Telemetry; false when the table is full.
    pub fn update(
        &mut self,
        client_id: &str,
        settings: Settings,
        telemetry: mpsc::Sender<Result<TelemetryCommand, tonic::Status>>,
    ) -> bool {
        if !self.by_id.contains_key(client_id) && self.by_id.len() >= GRPC_CLIENTS_MAX {
            return false;
        }
        let connection = self.by_id.get(client_id).and_then(|client| client.connection.clone());
        self.by_id.insert(
            client_id.to_owned(),
            Client {
                settings,
                telemetry: Some(telemetry),
                connection,
            },
        );
        true
    }

    /// Forgets a Telemetry stream that ended, unless a newer one replaced it, so the stream's
    /// answering side ends too (Java completes it when the client completes its side).
    pub fn clear_telemetry(&mut self, client_id: &str, ended: &mpsc::Sender<Result<TelemetryCommand, tonic::Status>>) {
        if let Some(client) = self.by_id.get_mut(client_id)
            && client
                .telemetry
                .as_ref()
                .is_some_and(|current| current.same_channel(ended))
        {
            client.telemetry = None;
        }
    }

    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.by_id.get(client_id)
    }

    /// Records a producer's connection; false when the client is unknown.
    pub fn set_connection(&mut self, client_id: &str, connection: ConnectionHandle) -> bool {
        match self.by_id.get_mut(client_id) {
            Some(client) => {
                client.connection = Some(connection);
                true
            }
            None => false,
        }
    }

    pub fn settings(&self, client_id: &str) -> Option<&Settings> {
        self.by_id.get(client_id).map(|client| &client.settings)
    }

    pub fn remove(&mut self, client_id: &str) -> Option<Client> {
        self.by_id.remove(client_id)
    }
}

/// `GrpcClientSettingsManager.getClientSettings`: a producer's settings with the proxy's retry
/// policy, message-type check and body limit merged in; the metric switched off (Java's
/// `metricCollectorMode` default).
pub fn merged(settings: &Settings, check_message_type: bool, body_bytes_max: usize) -> Settings {
    let mut merged = settings.clone();
    if let Some(PubSub::Publishing(publishing)) = &mut merged.pub_sub {
        let mut policy = merged.backoff_policy.clone().unwrap_or_default();
        policy.max_attempts = PRODUCER_ATTEMPTS;
        policy.strategy = Some(crate::proto::retry_policy::Strategy::ExponentialBackoff(
            ExponentialBackoff {
                initial: Some(duration_ms(PRODUCER_BACKOFF_INITIAL_MS)),
                max: Some(duration_ms(PRODUCER_BACKOFF_CEILING_MS)),
                multiplier: PRODUCER_BACKOFF_MULTIPLIER,
            },
        ));
        merged.backoff_policy = Some(RetryPolicy { ..policy });
        publishing.validate_message_type = check_message_type;
        publishing.max_body_size = i32::try_from(body_bytes_max).unwrap_or(i32::MAX);
    }
    merged.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    merged
}

/// Java's `grpcClientConsumerLongPollingBatchSize` default.
const CONSUMER_BATCH: i32 = 32;

/// `mergeSubscriptionData`: a consumer's settings with the proxy's batch size and long polling,
/// and from its group (`group`, Java's defaults when the broker has none yet) FIFO, attempts
/// (`retryMaxTimes + 1`) and the retry back-off.
pub fn merged_subscription(settings: &Settings, group: &SubscriptionGroupConfig) -> Settings {
    let mut merged = settings.clone();
    if let Some(PubSub::Subscription(subscription)) = &mut merged.pub_sub {
        subscription.receive_batch_size = Some(CONSUMER_BATCH);
        subscription.long_polling_timeout = Some(duration_ms(crate::receive::LONG_POLLING_MS_MAX));
        subscription.fifo = Some(group.consume_message_orderly);
        let mut policy = merged.backoff_policy.clone().unwrap_or_default();
        policy.max_attempts = group.retry_max_times.saturating_add(1);
        let retry = &group.group_retry_policy;
        policy.strategy = Some(match retry.kind {
            GroupRetryPolicyType::Exponential => {
                let exponential = retry.exponential_retry_policy.clone().unwrap_or_default();
                Strategy::ExponentialBackoff(ExponentialBackoff {
                    initial: Some(duration_ms(exponential.initial)),
                    max: Some(duration_ms(exponential.max)),
                    #[allow(clippy::cast_precision_loss)]
                    multiplier: exponential.multiplier as f32,
                })
            }
            _ => {
                let customized = retry.customized_retry_policy.clone().unwrap_or_default();
                Strategy::CustomizedBackoff(CustomizedBackoff {
                    next: customized.next.iter().map(|ms| duration_ms(*ms)).collect(),
                })
            }
        });
        merged.backoff_policy = Some(policy);
    }
    merged
}

fn duration_ms(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Publishing;

    #[test]
    fn a_consumer_gets_its_groups_fifo_attempts_and_back_off() {
        let settings = Settings {
            pub_sub: Some(PubSub::Subscription(crate::proto::Subscription::default())),
            ..Settings::default()
        };
        let group = SubscriptionGroupConfig {
            consume_message_orderly: true,
            retry_max_times: 2,
            ..SubscriptionGroupConfig::default()
        };
        let merged = merged_subscription(&settings, &group);
        let Some(PubSub::Subscription(subscription)) = &merged.pub_sub else {
            panic!("subscription lost: {merged:?}");
        };
        assert_eq!(subscription.fifo, Some(true));
        assert_eq!(subscription.receive_batch_size, Some(32));
        assert_eq!(subscription.long_polling_timeout.as_ref().map(|d| d.seconds), Some(20));
        let policy = merged.backoff_policy.unwrap_or_default();
        assert_eq!(policy.max_attempts, 3);
        let Some(Strategy::CustomizedBackoff(backoff)) = policy.strategy else {
            panic!("Java's default group retry policy is customized");
        };
        assert_eq!(backoff.next.first().map(|d| d.seconds), Some(1));
        assert_eq!(backoff.next.len(), 18);
    }

    #[test]
    fn a_producer_gets_the_proxys_retry_policy_and_limits() {
        let settings = Settings {
            pub_sub: Some(PubSub::Publishing(Publishing::default())),
            ..Settings::default()
        };
        let merged = merged(&settings, true, 4 << 20);
        let Some(PubSub::Publishing(publishing)) = &merged.pub_sub else {
            panic!("publishing lost: {merged:?}");
        };
        assert!(publishing.validate_message_type);
        assert_eq!(publishing.max_body_size, 4 << 20);
        assert_eq!(merged.backoff_policy.map(|p| p.max_attempts), Some(3));
        assert_eq!(merged.metric.map(|m| m.on), Some(false));
        assert_eq!(
            duration_ms(1500),
            prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000
            }
        );
    }
}
