//! Peers that declare large frames and do not finish them (issue 11, item 3): each costs what it
//! actually sent, all of them together stay within one budget, and a frame not whole in time
//! closes its connection, while a well-behaved client on another connection keeps being served.

use std::time::Duration;

use bytes::Bytes;
use ferrocket_net::{Client, ClientConfig, MemoryLimits, MemoryUse, Router, Server, ServerConfig};
use ferrocket_wire::{ResponseCode, SerializeType};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::support::*;

/// The largest content a frame may declare: 16 MiB less the serialize word's length prefix.
const LARGEST_CONTENT: u32 = 16 * 1024 * 1024 - 4;
const PIECE_BYTES: usize = 64 * 1024;

fn closed_reporting_router() -> (Router, mpsc::Receiver<u64>) {
    let (closed_tx, closed) = mpsc::channel(16);
    let router = echo_router().on_connection_closed(move |connection| {
        let _ = closed_tx.try_send(connection.id());
    });
    (router, closed)
}

/// Opens a raw connection and declares a frame of the largest size.
async fn declare_largest_frame(server: &Server) -> TcpStream {
    let mut stream = raw_connect(server).await;
    stream.write_all(&LARGEST_CONTENT.to_be_bytes()).await.unwrap();
    stream
}

async fn assert_served(client: &Client, server: &Server, body_bytes: usize) {
    let body = Bytes::from(vec![1u8; body_bytes]);
    let sent = request(ECHO, SerializeType::RocketMq).with_body(body.clone());
    let response = client.invoke(&addr(server), sent, STEP).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
    assert_eq!(response.body, Some(body));
}

/// With the clock paused, returns once every task is idle: the server has read what was sent.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Before the fix a frame trickled at 64 KiB/s was kept (and its buffer with it) until the
/// 120 s idle close; now it is cut off 30 s after its first byte.
#[tokio::test(start_paused = true)]
async fn a_frame_trickled_in_is_cut_off_after_the_frame_timeout() {
    let (router, mut closed) = closed_reporting_router();
    let server = start(router).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    assert_served(&client, &server, 16).await;
    let began = Instant::now();
    let mut attacker = declare_largest_frame(&server).await;
    let piece = vec![0u8; PIECE_BYTES];
    let closed_after = loop {
        tokio::select! {
            _ = closed.recv() => break began.elapsed(),
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                // The write may fail once the server has closed; the close report follows.
                let _ = attacker.write_all(&piece).await;
                assert_served(&client, &server, 16).await;
            }
        }
    };
    assert!(
        closed_after >= Duration::from_secs(30) && closed_after < Duration::from_secs(31),
        "closed after {closed_after:?}"
    );
    assert_served(&client, &server, 16).await;
}

/// Six peers each send 900 KiB of a 16 MiB frame against a budget of 4 MiB: four fit, the two
/// whose bytes would pass it are closed, the count never passes it, a reading client is served
/// throughout, and once the peers are gone every byte is given back.
#[tokio::test(start_paused = true)]
async fn unfinished_frames_of_all_connections_share_one_budget() {
    const BUDGET_BYTES: usize = 4 * 1024 * 1024;
    const SENT_BYTES: usize = 900 * 1024;
    let (router, mut closed) = closed_reporting_router();
    let config = ServerConfig {
        memory: MemoryLimits {
            partial_frame_bytes_total_max: BUDGET_BYTES,
            ..MemoryLimits::default()
        },
        ..ServerConfig::default()
    };
    let server = start_with(router, config).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let good = client.connection(&addr(&server)).await.unwrap();
    let mut attackers = Vec::new();
    for index in 0..6 {
        let mut attacker = declare_largest_frame(&server).await;
        // A closed attacker's write may fail; what counts is what the server holds.
        let _ = attacker.write_all(&vec![0u8; SENT_BYTES - 4]).await;
        attackers.push(attacker);
        settle().await;
        let held = server.memory_use().partial_frame_bytes;
        assert!(held <= BUDGET_BYTES, "{held} bytes held");
        if index < 4 {
            assert_eq!(held, (index + 1) * SENT_BYTES);
        }
        assert_served(&client, &server, 16).await;
    }
    let mut cut_off = Vec::new();
    while let Ok(id) = closed.try_recv() {
        cut_off.push(id);
    }
    assert_eq!(cut_off.len(), 2, "{cut_off:?}");
    assert!(!cut_off.contains(&good.id()));
    drop(attackers);
    for _ in 0..4 {
        closed.recv().await.unwrap();
    }
    assert_eq!(server.memory_use(), MemoryUse::default());
    assert_served(&client, &server, 1024 * 1024).await;
    assert_eq!(server.memory_use(), MemoryUse::default());
}
