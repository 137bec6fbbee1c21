//! Request handlers, one module per family of codes, and [`ROUTES`]: the one table of every code
//! the broker serves and the function that serves it. A code missing from the table gets the
//! transport's REQUEST_CODE_NOT_SUPPORTED with Java's remark.
//!
//! A handler is one of three shapes, all registered the same way by [`router`]: a synchronous
//! function of the request, one that also needs the connection (locks), or an asynchronous one
//! (sends and pulls wait for the store; some admin codes and a heartbeat that creates a retry
//! topic wait for the name servers; relayed calls wait for a client). Each returns the response or a typed
//! [`BrokerError`](crate::error::BrokerError), which `crate::error` alone turns into a code and
//! remark.

pub mod admin;
pub mod assignment;
pub mod auth;
pub mod client;
pub mod offsets;
pub mod plain_acl_admin;
pub mod pop;
pub mod pop_ack;
pub mod pull;
pub mod query;
pub mod relay;
pub mod send;
pub mod transaction;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferrocket_net::{ConnectionHandle, Router};
use ferrocket_wire::{RemotingCommand, RequestCode};

use crate::error::{BrokerResult, respond};
use crate::state::Broker;
use crate::state::metrics::RpcOutcome;

/// What an asynchronous handler returns: the response, or `None` to send nothing.
pub type Answer = Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send + 'static>>;

/// How a code is served.
#[derive(Clone, Copy)]
pub enum Serve {
    /// Over the state, without waiting for anything.
    Sync(fn(&Broker, &RemotingCommand) -> BrokerResult<RemotingCommand>),
    /// Over the state and the connection the request came on.
    WithConnection(fn(&Broker, &RemotingCommand, &ConnectionHandle) -> BrokerResult<RemotingCommand>),
    /// Waits for the store, the name servers or a client before it answers.
    Async(fn(Arc<Broker>, RemotingCommand, ConnectionHandle) -> Answer),
}

/// Every code the broker serves and its handler.
pub const ROUTES: &[(RequestCode, Serve)] = &[
    // Producers: send.rs
    (RequestCode::SEND_MESSAGE, Serve::Async(send::serve)),
    (RequestCode::SEND_MESSAGE_V2, Serve::Async(send::serve)),
    (RequestCode::SEND_BATCH_MESSAGE, Serve::Async(send::serve)),
    (RequestCode::CONSUMER_SEND_MSG_BACK, Serve::Async(send::serve_send_back)),
    (RequestCode::END_TRANSACTION, Serve::Async(transaction::serve)),
    (RequestCode::RECALL_MESSAGE, Serve::Async(send::serve_recall)),
    // Consumers: pull.rs
    (RequestCode::PULL_MESSAGE, Serve::Async(pull::serve)),
    (RequestCode::LITE_PULL_MESSAGE, Serve::Async(pull::serve)),
    // POP consumers: pop.rs, pop_ack.rs
    (RequestCode::POP_MESSAGE, Serve::Async(pop::serve)),
    (RequestCode::NOTIFICATION, Serve::Async(pop::serve_notification)),
    (RequestCode::PEEK_MESSAGE, Serve::WithConnection(pop::peek::serve)),
    (
        RequestCode::POLLING_INFO,
        Serve::WithConnection(pop::polling_info::serve),
    ),
    (RequestCode::ACK_MESSAGE, Serve::Async(pop_ack::serve_ack)),
    (RequestCode::BATCH_ACK_MESSAGE, Serve::Async(pop_ack::serve_batch_ack)),
    (
        RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
        Serve::Async(pop_ack::serve_change_invisible_time),
    ),
    (RequestCode::QUERY_ASSIGNMENT, Serve::Sync(assignment::query_assignment)),
    (
        RequestCode::SET_MESSAGE_REQUEST_MODE,
        Serve::Sync(assignment::set_message_request_mode),
    ),
    // Client membership: client.rs
    (RequestCode::HEART_BEAT, Serve::Async(client::serve_heartbeat)),
    (
        RequestCode::UNREGISTER_CLIENT,
        Serve::WithConnection(client::unregister_client),
    ),
    (
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        Serve::WithConnection(client::consumer_list),
    ),
    (
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        Serve::WithConnection(client::consumer_connection_list),
    ),
    (
        RequestCode::GET_PRODUCER_CONNECTION_LIST,
        Serve::WithConnection(client::producer_connection_list),
    ),
    (
        RequestCode::CHECK_CLIENT_CONFIG,
        Serve::WithConnection(client::check_client_config),
    ),
    (RequestCode::LOCK_BATCH_MQ, Serve::WithConnection(client::lock_batch)),
    (
        RequestCode::UNLOCK_BATCH_MQ,
        Serve::WithConnection(client::unlock_batch),
    ),
    // Relayed to consumers: relay.rs
    (
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        Serve::Async(relay::serve_consumer_running_info),
    ),
    (
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        Serve::Async(relay::serve_consume_message_directly),
    ),
    (
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        Serve::Async(relay::serve_consumer_status),
    ),
    // Offsets: offsets.rs
    (
        RequestCode::QUERY_CONSUMER_OFFSET,
        Serve::Sync(offsets::query_consumer_offset),
    ),
    (
        RequestCode::UPDATE_CONSUMER_OFFSET,
        Serve::Sync(offsets::update_consumer_offset),
    ),
    (RequestCode::GET_MAX_OFFSET, Serve::Sync(offsets::max_offset)),
    (RequestCode::GET_MIN_OFFSET, Serve::Sync(offsets::min_offset)),
    (
        RequestCode::GET_EARLIEST_MSG_STORETIME,
        Serve::Sync(offsets::earliest_store_time),
    ),
    (
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        Serve::Sync(offsets::search_offset),
    ),
    (
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        Serve::Sync(offsets::reset_offset),
    ),
    // Messages by id and key: query.rs
    (RequestCode::VIEW_MESSAGE_BY_ID, Serve::Sync(query::view_message)),
    (RequestCode::QUERY_MESSAGE, Serve::Sync(query::query_message)),
    // Administration: admin.rs
    (
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        Serve::Async(admin::serve_update_and_create_topic),
    ),
    (RequestCode::DELETE_TOPIC_IN_BROKER, Serve::Sync(admin::delete_topic)),
    (
        RequestCode::GET_ALL_TOPIC_CONFIG,
        Serve::Sync(admin::get_all_topic_config),
    ),
    (
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        Serve::Sync(admin::update_and_create_group),
    ),
    (RequestCode::DELETE_SUBSCRIPTIONGROUP, Serve::Sync(admin::delete_group)),
    (
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        Serve::Sync(admin::get_all_groups),
    ),
    (
        RequestCode::GET_ALL_CONSUMER_OFFSET,
        Serve::Sync(admin::get_all_consumer_offsets),
    ),
    (
        RequestCode::GET_ALL_DELAY_OFFSET,
        Serve::Sync(admin::get_all_delay_offsets),
    ),
    (RequestCode::GET_TOPIC_STATS_INFO, Serve::Sync(admin::get_topic_stats)),
    (RequestCode::GET_CONSUME_STATS, Serve::Sync(admin::get_consume_stats)),
    (
        RequestCode::QUERY_CONSUME_TIME_SPAN,
        Serve::Sync(admin::query_consume_time_span),
    ),
    (
        RequestCode::GET_BROKER_RUNTIME_INFO,
        Serve::Sync(admin::get_runtime_info),
    ),
    (RequestCode::GET_BROKER_CONFIG, Serve::Sync(admin::get_broker_config)),
    (
        RequestCode::UPDATE_BROKER_CONFIG,
        Serve::Async(admin::serve_update_broker_config),
    ),
    (
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        Serve::Sync(admin::query_topic_consume_by_who),
    ),
    (
        RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
        Serve::Sync(admin::get_system_topics),
    ),
    (RequestCode::GET_TOPIC_CONFIG, Serve::Sync(admin::get_topic_config)),
    (
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
        Serve::Sync(admin::get_group_config),
    ),
    // Users and ACLs: auth.rs
    (RequestCode::AUTH_CREATE_USER, Serve::Sync(auth::create_user)),
    (RequestCode::AUTH_UPDATE_USER, Serve::Sync(auth::update_user)),
    (RequestCode::AUTH_DELETE_USER, Serve::Sync(auth::delete_user)),
    (RequestCode::AUTH_GET_USER, Serve::Sync(auth::get_user)),
    (RequestCode::AUTH_LIST_USER, Serve::Sync(auth::list_users)),
    (RequestCode::AUTH_CREATE_ACL, Serve::Sync(auth::upsert_acl)),
    (RequestCode::AUTH_UPDATE_ACL, Serve::Sync(auth::upsert_acl)),
    (RequestCode::AUTH_DELETE_ACL, Serve::Sync(auth::delete_acl)),
    (RequestCode::AUTH_GET_ACL, Serve::Sync(auth::get_acl)),
    (RequestCode::AUTH_LIST_ACL, Serve::Sync(auth::list_acls)),
    // ACL 1.0 (plain_acl.yml) accounts: plain_acl_admin.rs
    (
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
        Serve::Sync(plain_acl_admin::update_and_create),
    ),
    (RequestCode::DELETE_ACL_CONFIG, Serve::Sync(plain_acl_admin::delete)),
    (
        RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
        Serve::Sync(plain_acl_admin::cluster_acl_info),
    ),
    (
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        Serve::Sync(plain_acl_admin::update_global_white),
    ),
];

/// The codes the broker serves, in [`ROUTES`] order.
pub fn served_codes() -> impl Iterator<Item = RequestCode> {
    ROUTES.iter().map(|(code, _)| *code)
}

/// Serves one request in process, exactly as the transport would have: the same [`ROUTES`]
/// entry, checks and response codes. The gRPC endpoint sends its clients' requests this way,
/// as Java's local-mode proxy calls the broker's processors with `RemotingCommand`s;
/// `connection` stands for the client (its address is the producer's or consumer's). `None`:
/// the code is not served here, or the handler answers nothing (a oneway request).
pub async fn dispatch(
    broker: &Arc<Broker>,
    request: RemotingCommand,
    connection: &ConnectionHandle,
) -> Option<RemotingCommand> {
    dispatch_guarded(broker, request, connection, auth::guard).await
}

/// [`dispatch`] for a request whose client the caller has already authenticated and authorized
/// under 5.x auth: the gRPC endpoint checks its clients' `authorization` metadata as Java's
/// proxy does (Java's local proxy calls the processors directly, past the broker's own
/// pipelines), and its in-process requests carry no `AccessKey`. ACL 1.0 still applies.
pub async fn dispatch_authorized(
    broker: &Arc<Broker>,
    request: RemotingCommand,
    connection: &ConnectionHandle,
) -> Option<RemotingCommand> {
    dispatch_guarded(broker, request, connection, auth::guard_plain_acl).await
}

type Guard = fn(&Broker, &RemotingCommand, &ConnectionHandle) -> BrokerResult<()>;

async fn dispatch_guarded(
    broker: &Arc<Broker>,
    request: RemotingCommand,
    connection: &ConnectionHandle,
    guard: Guard,
) -> Option<RemotingCommand> {
    let serve = ROUTES
        .iter()
        .find(|(code, _)| *code == request.request_code())
        .map(|(_, serve)| *serve)?;
    // The same guard as the transport's: with ACL on, an unsigned in-process request is refused.
    if let Err(refused) = guard(broker, &request, connection) {
        return respond(&request, Err(refused));
    }
    match serve {
        Serve::Sync(handler) => respond(&request, handler(broker, &request)),
        Serve::WithConnection(handler) => respond(&request, handler(broker, &request, connection)),
        Serve::Async(handler) => handler(Arc::clone(broker), request, connection.clone()).await,
    }
}

tokio::task_local! {
    /// Set by a pull that was held (Java's `request.isSuspended()`), read by the latency metric.
    static LONG_POLLING: Cell<bool>;
}

/// Marks the request being served as long polling, for `rocketmq_rpc_latency`'s label.
pub(crate) fn mark_long_polling() {
    let _ = LONG_POLLING.try_with(|flag| flag.set(true));
}

/// The transport's router: every route of [`ROUTES`] behind the auth guard, and the
/// connection-close hook that forgets a client's channel. With metrics on, each answer is timed
/// into `rocketmq_rpc_latency` (row = the code's index in ROUTES).
pub fn router(broker: &Arc<Broker>) -> Router {
    let router = ROUTES
        .iter()
        .enumerate()
        .fold(Router::new(), |router, (row, &(code, serve))| {
            let broker = Arc::clone(broker);
            router.route(code, move |request: RemotingCommand, connection: ConnectionHandle| {
                let broker = Arc::clone(&broker);
                let serve_one = async move {
                    // Authentication and authorization, when on, before any handler (auth.rs).
                    if let Err(refused) = auth::guard(&broker, &request, &connection) {
                        return respond(&request, Err(refused));
                    }
                    let timed = broker
                        .metrics
                        .enabled()
                        .then(|| (tokio::time::Instant::now(), request.is_oneway()));
                    let response = match serve {
                        Serve::Sync(handler) => respond(&request, handler(&broker, &request)),
                        Serve::WithConnection(handler) => respond(&request, handler(&broker, &request, &connection)),
                        Serve::Async(handler) => handler(Arc::clone(&broker), request, connection).await,
                    };
                    if let (Some((started, oneway)), Some(answer)) = (timed, &response) {
                        let outcome = RpcOutcome {
                            response_code: answer.code,
                            long_polling: LONG_POLLING.try_with(Cell::get).unwrap_or(false),
                            oneway,
                        };
                        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        broker.metrics.rpc.record(row, code.0, outcome, elapsed_ms);
                    }
                    response
                };
                LONG_POLLING.scope(Cell::new(false), serve_one)
            })
        });
    let broker = Arc::clone(broker);
    router.on_connection_closed(move |connection| client::connection_closed(&broker, connection))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_is_served_once() {
        let mut seen = HashSet::new();
        for code in served_codes() {
            assert!(seen.insert(code.0), "code {} appears twice in ROUTES", code.0);
        }
        assert_eq!(seen.len(), 69);
    }

    #[test]
    fn only_the_store_the_name_servers_and_clients_are_waited_for() {
        let waiting: Vec<RequestCode> = ROUTES
            .iter()
            .filter(|(_, serve)| matches!(serve, Serve::Async(_)))
            .map(|(code, _)| *code)
            .collect();
        assert_eq!(
            waiting,
            [
                RequestCode::SEND_MESSAGE,
                RequestCode::SEND_MESSAGE_V2,
                RequestCode::SEND_BATCH_MESSAGE,
                RequestCode::CONSUMER_SEND_MSG_BACK,
                // A commit stores the real message and the op record.
                RequestCode::END_TRANSACTION,
                // A recall stores its delete mark.
                RequestCode::RECALL_MESSAGE,
                RequestCode::PULL_MESSAGE,
                RequestCode::LITE_PULL_MESSAGE,
                // Pops and notifications wait for arrivals; acks store their revive record.
                RequestCode::POP_MESSAGE,
                RequestCode::NOTIFICATION,
                RequestCode::ACK_MESSAGE,
                RequestCode::BATCH_ACK_MESSAGE,
                RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
                // A heartbeat that creates a retry topic registers it before the answer.
                RequestCode::HEART_BEAT,
                // Relayed to a consumer, answered with its reply.
                RequestCode::GET_CONSUMER_RUNNING_INFO,
                RequestCode::CONSUME_MESSAGE_DIRECTLY,
                RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
                // Only the two changes the name servers must see before the answer register.
                RequestCode::UPDATE_AND_CREATE_TOPIC,
                RequestCode::UPDATE_BROKER_CONFIG,
            ]
        );
    }
}
