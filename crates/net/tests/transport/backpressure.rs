//! Peers that do not read their answers (issue 11, item 2): a client that sends pulls and never
//! reads must cost the server a bounded number of bytes, then be closed, while a well-behaved
//! client on another connection keeps being served.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, ConnectionLimits, MemoryLimits, Router, ServerConfig};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::support::*;

/// The code whose answer is large, as a pull's is.
const PULL: RequestCode = RequestCode::PULL_MESSAGE;
/// Java's `maxTransferBytesOnMessageInMemory`: the largest pull answer a broker sends.
const ANSWER_BYTES: usize = 256 * 1024;

/// Serves ECHO, and PULL with an [`ANSWER_BYTES`] body; counts the PULL answers it made and
/// reports each closed connection.
fn pull_router(answered: Arc<AtomicUsize>, closed: mpsc::Sender<u64>) -> Router {
    let body = Bytes::from(vec![7u8; ANSWER_BYTES]);
    let pull = move |request: RemotingCommand, _: ConnectionHandle| {
        answered.fetch_add(1, Ordering::Relaxed);
        let body = body.clone();
        async move { Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body)) }
    };
    echo_router().route(PULL, pull).on_connection_closed(move |connection| {
        let _ = closed.try_send(connection.id());
    })
}

/// Sends `count` pulls on a raw socket in one go, and never reads.
async fn pull_without_reading(server: &ferrocket_net::Server, count: usize) -> TcpStream {
    let mut stream = raw_connect(server).await;
    for opaque in 0..count {
        let mut pull = request(PULL, SerializeType::RocketMq);
        pull.opaque = i32::try_from(opaque).unwrap();
        write_command(&mut stream, &pull).await;
    }
    stream
}

async fn assert_served(client: &Client, server: &ferrocket_net::Server) {
    let response = client
        .invoke(&addr(server), request(ECHO, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
}

/// Before the fix the server answered all 400 pulls (100 MiB queued for one socket, kept until
/// the 120 s idle close). Now it stops reading once 4 MiB wait (plus what the kernel took) and
/// closes the connection once the peer has taken nothing for 30 s.
#[tokio::test(start_paused = true)]
async fn a_peer_that_reads_no_answers_stops_being_read_and_is_closed() {
    const PULLS: usize = 400;
    // What loopback socket buffers absorb on top of our queue; generous for any Linux default.
    const KERNEL_SLACK_BYTES: usize = 16 * 1024 * 1024;
    const OUR_QUEUE_BYTES: usize = 4 * 1024 * 1024;
    let answered = Arc::new(AtomicUsize::new(0));
    let (closed_tx, mut closed) = mpsc::channel(8);
    let server = start(pull_router(Arc::clone(&answered), closed_tx)).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    assert_served(&client, &server).await;
    let began = Instant::now();
    let attacker = pull_without_reading(&server, PULLS).await;
    assert_served(&client, &server).await;
    let closed_id = closed.recv().await.unwrap();
    let after = began.elapsed();
    let answered_bytes = answered.load(Ordering::Relaxed) * ANSWER_BYTES;
    assert!(
        answered_bytes <= OUR_QUEUE_BYTES + KERNEL_SLACK_BYTES,
        "{answered_bytes} bytes of answers made for a peer that reads none"
    );
    assert!(
        after >= Duration::from_secs(30) && after < Duration::from_secs(32),
        "closed after {after:?}"
    );
    assert_served(&client, &server).await;
    let good = client.connection(&addr(&server)).await.unwrap();
    assert_ne!(closed_id, good.id());
    drop(attacker);
}

/// Four peers that read nothing, with small limits: the queued bytes stay within the total
/// (plus one answer per connection, which a connection with nothing queued may always queue),
/// a reading client is served throughout, and every byte is given back once they are gone.
#[tokio::test(start_paused = true)]
async fn queued_bytes_stay_within_the_limits_and_are_given_back() {
    const ATTACKERS: usize = 4;
    let answered = Arc::new(AtomicUsize::new(0));
    let (closed_tx, mut closed) = mpsc::channel(8);
    let config = ServerConfig {
        connection: ConnectionLimits {
            outbound_bytes_max: 1024 * 1024,
            ..ConnectionLimits::default()
        },
        memory: MemoryLimits {
            outbound_bytes_total_max: 2 * 1024 * 1024,
            ..MemoryLimits::default()
        },
        ..ServerConfig::default()
    };
    let bound = 2 * 1024 * 1024 + ATTACKERS * (ANSWER_BYTES + 1024);
    let server = start_with(pull_router(Arc::clone(&answered), closed_tx), config).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut attackers = Vec::new();
    for _ in 0..ATTACKERS {
        attackers.push(pull_without_reading(&server, 200).await);
        assert_served(&client, &server).await;
        let queued = server.memory_use().outbound_queued_bytes;
        assert!(queued <= bound, "{queued} bytes queued");
    }
    assert!(
        server.memory_use().outbound_queued_bytes > 1024 * 1024,
        "the attack queued little"
    );
    drop(attackers);
    for _ in 0..ATTACKERS {
        closed.recv().await.unwrap();
    }
    assert_eq!(server.memory_use(), ferrocket_net::MemoryUse::default());
    assert_served(&client, &server).await;
}

/// Large bodies both ways through small queues: the client keeps reading answers while its own
/// queue is full, so neither end waits for the other and every call succeeds.
#[tokio::test(start_paused = true)]
async fn large_bodies_both_ways_through_small_queues_all_get_through() {
    const CALLS: usize = 64;
    let small = ConnectionLimits {
        outbound_bytes_max: 256 * 1024,
        ..ConnectionLimits::default()
    };
    let server_config = ServerConfig {
        connection: small.clone(),
        ..ServerConfig::default()
    };
    let server = start_with(echo_router(), server_config).await;
    let client_config = ClientConfig {
        connection: small,
        ..ClientConfig::default()
    };
    let client = Client::new(Router::new(), client_config);
    let body = Bytes::from(vec![3u8; 128 * 1024]);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        let to = addr(&server);
        let sent = request(ECHO, SerializeType::RocketMq).with_body(body.clone());
        calls.spawn(async move { client.invoke(&to, sent, STEP).await });
    }
    while let Some(call) = calls.join_next().await {
        let response = call.unwrap().unwrap();
        assert_eq!(response.body.map(|body| body.len()), Some(128 * 1024));
    }
    assert_eq!(client.memory_use(), ferrocket_net::MemoryUse::default());
}
