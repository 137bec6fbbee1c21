//! Requests the server initiates over a client's own connection, and close notifications.

use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::sync::mpsc;

use crate::support::*;

/// A server whose ECHO handler hands the caller's connection to the test.
async fn server_capturing_connections() -> (ferrocket_net::Server, mpsc::Receiver<ConnectionHandle>) {
    let (captured, connections) = mpsc::channel(8);
    let capture = move |request: RemotingCommand, connection: ConnectionHandle| {
        let captured = captured.clone();
        async move {
            captured.send(connection.clone()).await.unwrap();
            echo(request, connection).await
        }
    };
    (start(Router::new().route(ECHO, capture)).await, connections)
}

/// A client that reports the broker's callbacks and answers GET_CONSUMER_RUNNING_INFO.
fn client_router(seen: mpsc::Sender<RemotingCommand>) -> Router {
    let report = move |request: RemotingCommand, _: ConnectionHandle| {
        let seen = seen.clone();
        async move {
            seen.send(request.clone()).await.unwrap();
            // Answering a oneway request is a bug the transport must absorb: it sends nothing.
            Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None))
        }
    };
    let running_info = |request: RemotingCommand, _: ConnectionHandle| async move {
        Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body("running"))
    };
    Router::new()
        .route(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, report.clone())
        .route(RequestCode::CHECK_TRANSACTION_STATE, report)
        .route(RequestCode::GET_CONSUMER_RUNNING_INFO, running_info)
}

#[tokio::test]
async fn the_server_calls_the_client_back_over_its_connection() {
    let (server, mut connections) = server_capturing_connections().await;
    let (seen_tx, mut seen) = mpsc::channel(8);
    let client = Client::new(client_router(seen_tx), ClientConfig::default());
    client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    let to_client = connections.recv().await.unwrap();

    for code in [
        RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
        RequestCode::CHECK_TRANSACTION_STATE,
    ] {
        to_client
            .oneway(request(code, SerializeType::RocketMq), STEP)
            .await
            .unwrap();
        let received = seen.recv().await.unwrap();
        assert_eq!(received.request_code(), code);
        assert!(received.is_oneway());
        assert_eq!(received.ext("topic"), Some("T"));
    }

    let asked = request(RequestCode::GET_CONSUMER_RUNNING_INFO, SerializeType::Json);
    let answer = to_client.invoke(asked, STEP).await.unwrap();
    assert_eq!(answer.response_code(), ResponseCode::SUCCESS);
    assert_eq!(answer.body.as_deref(), Some(&b"running"[..]));

    // A code the client does not serve gets the same answer a server gives.
    let answer = to_client
        .invoke(request(UNKNOWN, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(answer.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);

    // The client's own calls still work on the same connection.
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(connection_id(&response), to_client.id());
}

#[tokio::test]
async fn closing_a_connection_runs_the_closed_callbacks_on_both_sides() {
    let (server_closed_tx, mut server_closed) = mpsc::channel(8);
    let server_router = echo_router().on_connection_closed(move |connection| {
        server_closed_tx.try_send(connection.id()).unwrap();
    });
    let server = start(server_router).await;
    let (client_closed_tx, mut client_closed) = mpsc::channel(8);
    let client_router = Router::new().on_connection_closed(move |connection| {
        client_closed_tx.try_send(connection.peer_addr().to_owned()).unwrap();
    });
    let client = Client::new(client_router, ClientConfig::default());
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    client.close_connection(&addr(&server));
    assert_eq!(server_closed.recv().await, Some(connection_id(&response)));
    assert_eq!(client_closed.recv().await, Some(addr(&server)));
}

#[tokio::test]
async fn a_watched_tap_records_requests_in_replies_and_callbacks_out() {
    use ferrocket_net::tap::{Direction, Tap, TapFilter};
    let tap = Tap::new(|| 7);
    let (captured, mut connections) = mpsc::channel(8);
    let capture = move |request: RemotingCommand, connection: ConnectionHandle| {
        let captured = captured.clone();
        async move {
            captured.send(connection.clone()).await.unwrap();
            echo(request, connection).await
        }
    };
    let server = start(Router::new().route(ECHO, capture).tap(std::sync::Arc::clone(&tap))).await;
    let (seen_tx, mut seen) = mpsc::channel(8);
    let client = Client::new(client_router(seen_tx), ClientConfig::default());
    let ask = || request(ECHO, SerializeType::Json);
    client.invoke(&addr(&server), ask(), STEP).await.unwrap();
    let to_client = connections.recv().await.unwrap();
    assert_eq!(tap.last_seq(), 0, "nothing recorded while nobody watches");

    let watch = tap.watch();
    client.invoke(&addr(&server), ask(), STEP).await.unwrap();
    to_client
        .oneway(
            request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, SerializeType::Json),
            STEP,
        )
        .await
        .unwrap();
    seen.recv().await.unwrap();
    let events = tap.since(0, &TapFilter::default(), 10).events;
    let summary: Vec<(i32, Direction, u64)> = events.iter().map(|e| (e.code, e.direction, e.at_ms)).collect();
    assert_eq!(
        summary,
        [
            (ECHO.0, Direction::In, 7),
            (ECHO.0, Direction::Reply, 7),
            (RequestCode::NOTIFY_CONSUMER_IDS_CHANGED.0, Direction::Out, 7)
        ]
    );
    assert_eq!(
        events[0].peer, events[2].peer,
        "request and callback both name the client's address"
    );
    drop(watch);
    client.invoke(&addr(&server), ask(), STEP).await.unwrap();
    assert_eq!(tap.last_seq(), 3, "nothing more once the watcher is gone");
}
