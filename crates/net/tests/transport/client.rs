//! The client: timeouts, one connection per address, reconnection, connect failures.

use std::time::Duration;

use ferrocket_net::{Client, ClientConfig, ConnectionHandle, NetError, Router};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::task::JoinSet;

use crate::support::*;

const NEVER_ANSWERED: RequestCode = RequestCode::PULL_MESSAGE;
const HANG_UP: RequestCode = RequestCode::UNREGISTER_CLIENT;

async fn never_answer(_: RemotingCommand, _: ConnectionHandle) -> Option<RemotingCommand> {
    std::future::pending().await
}

async fn hang_up(_: RemotingCommand, connection: ConnectionHandle) -> Option<RemotingCommand> {
    connection.close();
    None
}

fn router() -> Router {
    echo_router()
        .route(NEVER_ANSWERED, never_answer)
        .route(HANG_UP, hang_up)
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_invoke_times_out_and_the_connection_lives_on() {
    let server = start(router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let started = tokio::time::Instant::now();
    let result = client
        .invoke(
            &addr(&server),
            request(NEVER_ANSWERED, SerializeType::Json),
            Duration::from_millis(1500),
        )
        .await;
    match result {
        Err(NetError::Timeout { addr: to, after_ms, .. }) => {
            assert_eq!(to, addr(&server));
            assert_eq!(after_ms, 1500);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_connection() {
    let server = start(router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut calls = JoinSet::new();
    for _ in 0..32 {
        let client = client.clone();
        let to = addr(&server);
        calls.spawn(async move { client.invoke(&to, request(ECHO, SerializeType::RocketMq), STEP).await });
    }
    let mut served_by = Vec::new();
    while let Some(joined) = calls.join_next().await {
        served_by.push(connection_id(&joined.unwrap().unwrap()));
    }
    served_by.dedup();
    assert_eq!(served_by.len(), 1);
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_closes_the_connection() {
    let server = start(router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let first = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    let hung_up = client
        .invoke(&addr(&server), request(HANG_UP, SerializeType::Json), STEP)
        .await;
    assert!(matches!(hung_up, Err(NetError::ConnectionClosed { .. })), "{hung_up:?}");
    let second = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_ne!(connection_id(&first), connection_id(&second));
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_fast() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = listener.local_addr().unwrap().to_string();
    drop(listener);
    let client = Client::new(Router::new(), ClientConfig::default());
    let result = client.invoke(&to, request(ECHO, SerializeType::Json), STEP).await;
    assert!(matches!(result, Err(NetError::ConnectFailed { .. })), "{result:?}");
}

#[tokio::test]
async fn a_shut_down_client_refuses_calls() {
    let server = start(router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let connection = client.connection(&addr(&server)).await.unwrap();
    client.shutdown().await;
    assert!(connection.is_closed());
    let result = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await;
    assert!(matches!(result, Err(NetError::ConnectionClosed { .. })), "{result:?}");
}
