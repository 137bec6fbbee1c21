//! Requests and responses between our client and server: encodings, correlation, unknown codes,
//! oneway, handler failures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::{RemotingCommand, ResponseCode, SerializeType};
use tokio::task::JoinSet;

use crate::support::*;

#[tokio::test]
async fn round_trips_in_both_serialize_types() {
    let server = start(echo_router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let body: Bytes = (0..=255u8).collect();
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let sent = request(ECHO, serialize_type).with_body(body.clone());
        let response = client.invoke(&addr(&server), sent, STEP).await.unwrap();
        assert_eq!(response.response_code(), ResponseCode::SUCCESS);
        assert_eq!(
            response.serialize_type, serialize_type,
            "the response mirrors the request"
        );
        assert_eq!(response.remark.as_deref(), Some("echo"));
        assert_eq!(response.ext("topic"), Some("T"));
        assert_eq!(response.body, Some(body.clone()));
        assert!(response.is_response() && !response.is_oneway());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_router_can_force_the_response_encoding() {
    let server = start(echo_router().response_serialize_type(SerializeType::Json)).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::RocketMq), STEP)
        .await
        .unwrap();
    assert_eq!(response.serialize_type, SerializeType::Json);
    assert_eq!(response.ext("topic"), Some("T"));
}

#[tokio::test]
async fn unknown_codes_get_request_code_not_supported_with_javas_remark() {
    let server = start(echo_router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let response = client
            .invoke(&addr(&server), request(UNKNOWN, serialize_type), STEP)
            .await
            .unwrap();
        assert_eq!(response.code, 3);
        assert_eq!(response.remark.as_deref(), Some(" request type 9999 not supported"));
        assert_eq!(response.serialize_type, serialize_type);
    }
}

/// Handlers finish in the reverse order of arrival; each caller still gets its own response.
#[tokio::test(start_paused = true)]
async fn concurrent_invokes_are_matched_by_opaque() {
    const CALLS: u64 = 64;
    let finished = Arc::new(Mutex::new(Vec::new()));
    let order = Arc::clone(&finished);
    let slow_echo = move |request: RemotingCommand, connection: ConnectionHandle| {
        let order = Arc::clone(&order);
        async move {
            let index: u64 = request.ext("index").unwrap().parse().unwrap();
            tokio::time::sleep(Duration::from_millis(10 * (CALLS - index))).await;
            order.lock().unwrap().push(index);
            echo(request, connection).await
        }
    };
    let server = start(Router::new().route(ECHO, slow_echo)).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut calls = JoinSet::new();
    for index in 0..CALLS {
        let mut sent = request(ECHO, SerializeType::RocketMq).with_body(format!("body {index}"));
        sent.ext_fields.as_mut().unwrap().insert("index", index.to_string());
        // Queue the requests in index order, then wait for all responses at once.
        let pending = client.invoke_async(&addr(&server), sent, STEP).await.unwrap();
        calls.spawn(async move { (index, pending.await) });
    }
    let mut connections = Vec::new();
    while let Some(joined) = calls.join_next().await {
        let (index, response) = joined.unwrap();
        let response = response.unwrap();
        assert_eq!(response.ext("index"), Some(index.to_string().as_str()));
        assert_eq!(response.body, Some(Bytes::from(format!("body {index}"))));
        connections.push(connection_id(&response));
    }
    connections.dedup();
    assert_eq!(connections.len(), 1, "all calls share one connection");
    let reversed: Vec<u64> = (0..CALLS).rev().collect();
    assert_eq!(*finished.lock().unwrap(), reversed);
}

#[tokio::test(start_paused = true)]
async fn oneway_requests_are_never_answered() {
    let server = start(echo_router()).await;
    let mut stream = raw_connect(&server).await;
    for code in [ECHO, UNKNOWN] {
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let mut oneway = request(code, serialize_type);
            oneway.flag = ferrocket_wire::command::FLAG_ONEWAY;
            oneway.opaque = 7;
            write_command(&mut stream, &oneway).await;
        }
    }
    // With the clock paused, this times out only once every task is idle: the server had every
    // chance to answer and sent nothing.
    let mut byte = [0u8; 1];
    let nothing = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncReadExt::read(&mut stream, &mut byte),
    );
    assert!(nothing.await.is_err(), "a oneway request was answered");
    // The connection still serves ordinary requests, and the first bytes back are their answer.
    raw_round_trip(&mut stream, 8).await;
}

#[tokio::test]
async fn a_panicking_handler_gets_system_error_and_the_connection_lives_on() {
    async fn broken(_: RemotingCommand, _: ConnectionHandle) -> Option<RemotingCommand> {
        panic!("handler bug");
    }
    let server = start(echo_router().route(UNKNOWN, broken)).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let response = client
        .invoke(&addr(&server), request(UNKNOWN, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(response.remark.unwrap().contains("9999"));
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn an_unencodable_response_becomes_system_error() {
    async fn huge(request: RemotingCommand, _: ConnectionHandle) -> Option<RemotingCommand> {
        let body = vec![0u8; ferrocket_wire::command::FRAME_BYTES_MAX];
        Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body))
    }
    let server = start(Router::new().route(ECHO, huge)).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let response = client
        .invoke(&addr(&server), request(ECHO, SerializeType::RocketMq), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SYSTEM_ERROR);
}
