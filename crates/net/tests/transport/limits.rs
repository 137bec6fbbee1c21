//! Limits and lifecycle: connection count, requests in flight, idle timeout, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_net::{Client, ClientConfig, ConnectionHandle, ConnectionLimits, NetError, Router, ServerConfig};
use ferrocket_wire::{RemotingCommand, ResponseCode, SerializeType};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let (closed_tx, mut closed) = mpsc::channel(8);
    let router = echo_router().on_connection_closed(move |connection| {
        closed_tx.try_send(connection.id()).unwrap();
    });
    let config = ServerConfig {
        connections_max: 2,
        ..ServerConfig::default()
    };
    let server = start_with(router, config).await;
    let mut first = raw_connect(&server).await;
    let mut second = raw_connect(&server).await;
    raw_round_trip(&mut first, 1).await;
    raw_round_trip(&mut second, 2).await;
    let mut third = raw_connect(&server).await;
    assert_closed_by_peer(&mut third).await;
    drop(first);
    closed.recv().await.unwrap();
    let mut fourth = raw_connect(&server).await;
    raw_round_trip(&mut fourth, 4).await;
    raw_round_trip(&mut second, 5).await;
}

/// A gate the test opens; each handler reports when it starts and waits for a permit.
fn gated_router(started: mpsc::Sender<()>, gate: Arc<Semaphore>) -> Router {
    let gated = move |request: RemotingCommand, connection: ConnectionHandle| {
        let started = started.clone();
        let gate = Arc::clone(&gate);
        async move {
            started.send(()).await.unwrap();
            gate.acquire().await.unwrap().forget();
            echo(request, connection).await
        }
    };
    Router::new().route(ECHO, gated)
}

#[tokio::test(start_paused = true)]
async fn requests_over_the_in_flight_limit_wait_unread() {
    let (started_tx, mut started) = mpsc::channel(8);
    let gate = Arc::new(Semaphore::new(0));
    let config = ServerConfig {
        connection: ConnectionLimits {
            requests_in_flight_max: 2,
            ..ConnectionLimits::default()
        },
        ..ServerConfig::default()
    };
    let server = start_with(gated_router(started_tx, Arc::clone(&gate)), config).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut pending = Vec::new();
    for _ in 0..3 {
        let sent = request(ECHO, SerializeType::RocketMq);
        pending.push(
            client
                .invoke_async(&addr(&server), sent, Duration::from_secs(60))
                .await
                .unwrap(),
        );
    }
    started.recv().await.unwrap();
    started.recv().await.unwrap();
    let third = tokio::time::timeout(Duration::from_secs(5), started.recv()).await;
    assert!(third.is_err(), "a third handler ran beyond the limit of two");
    gate.add_permits(3);
    started.recv().await.unwrap();
    for response in pending {
        assert_eq!(response.await.unwrap().response_code(), ResponseCode::SUCCESS);
    }
}

#[tokio::test(start_paused = true)]
async fn the_server_closes_a_connection_idle_for_120_seconds() {
    let server = start(echo_router()).await;
    let mut stream = raw_connect(&server).await;
    raw_round_trip(&mut stream, 1).await;
    tokio::time::sleep(Duration::from_secs(100)).await;
    raw_round_trip(&mut stream, 2).await;
    let last_traffic = Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::io::AsyncReadExt::read(&mut stream, &mut byte);
    let read = tokio::time::timeout(Duration::from_secs(600), read)
        .await
        .expect("never closed");
    assert_eq!(read.unwrap(), 0);
    let idle = last_traffic.elapsed();
    assert!(
        idle >= Duration::from_secs(120) && idle < Duration::from_secs(121),
        "{idle:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_client_closes_a_connection_idle_for_120_seconds_and_reconnects() {
    let lenient = ServerConfig {
        connection: ConnectionLimits {
            idle_timeout: Duration::from_secs(3600),
            ..ConnectionLimits::default()
        },
        ..ServerConfig::default()
    };
    let server = start_with(echo_router(), lenient).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let first = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    let connection = client.connection(&addr(&server)).await.unwrap();
    let last_traffic = Instant::now();
    connection.closed().await;
    let idle = last_traffic.elapsed();
    assert!(
        idle >= Duration::from_secs(120) && idle < Duration::from_secs(121),
        "{idle:?}"
    );
    let second = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_ne!(connection_id(&first), connection_id(&second));
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_answers_requests_in_flight() {
    let (started_tx, mut started) = mpsc::channel(8);
    let gate = Arc::new(Semaphore::new(0));
    let server = start(gated_router(started_tx, Arc::clone(&gate))).await;
    let to = addr(&server);
    let client = Client::new(Router::new(), ClientConfig::default());
    let pending = client
        .invoke_async(&to, request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    started.recv().await.unwrap();
    let open_gate_later = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        gate.add_permits(1);
    };
    let ((), (), response) = tokio::join!(server.shutdown(), open_gate_later, pending);
    assert_eq!(response.unwrap().response_code(), ResponseCode::SUCCESS);
    let after = client.invoke(&to, request(ECHO, SerializeType::Json), STEP).await;
    assert!(matches!(after, Err(NetError::ConnectFailed { .. })), "{after:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_on_handlers_after_the_grace_period() {
    let (started_tx, mut started) = mpsc::channel(8);
    let never_opened = Arc::new(Semaphore::new(0));
    let config = ServerConfig {
        shutdown_grace: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let server = start_with(gated_router(started_tx, never_opened), config).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let pending = client
        .invoke_async(
            &addr(&server),
            request(ECHO, SerializeType::Json),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    started.recv().await.unwrap();
    let began = Instant::now();
    server.shutdown().await;
    assert!(
        began.elapsed() <= Duration::from_secs(2) + Duration::from_millis(10),
        "{:?}",
        began.elapsed()
    );
    assert!(matches!(pending.await, Err(NetError::ConnectionClosed { .. })));
}
