//! Frames a broken or hostile peer sends: each closes its own connection, without a response,
//! while a well-behaved connection opened before keeps being served. Requests decoded before a
//! bad frame are still answered (issue 11, item 8), however their handlers answer.

use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::{RemotingCommand, ResponseCode, SerializeType};
use tokio::io::AsyncWriteExt;

use crate::support::*;

/// A ROCKETMQ binary header whose remark length runs past the header's end.
fn binary_header_with_remark_beyond_it() -> Vec<u8> {
    let mut header = vec![0x00, 0x22, 0x00, 0x01, 0xDB, 0, 0, 0, 1, 0, 0, 0, 0];
    header.extend_from_slice(&[0x00, 0x00, 0x01, 0x00]);
    header.extend_from_slice(b"short");
    frame(1, &header)
}

/// A ROCKETMQ binary header whose ext map length runs past the header's end.
fn binary_header_with_ext_beyond_it() -> Vec<u8> {
    let mut header = vec![0x00, 0x22, 0x00, 0x01, 0xDB, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    header.extend_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF]);
    frame(1, &header)
}

fn frame(serialize_type: u8, header: &[u8]) -> Vec<u8> {
    let content_len = u32::try_from(4 + header.len()).unwrap();
    let mut bytes = content_len.to_be_bytes().to_vec();
    let header_len = u32::try_from(header.len()).unwrap();
    bytes.extend_from_slice(&((u32::from(serialize_type) << 24) | header_len).to_be_bytes());
    bytes.extend_from_slice(header);
    bytes
}

fn malformed_frames() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("length 0x7FFFFFFF", vec![0x7F, 0xFF, 0xFF, 0xFF]),
        ("length 0x01000000, one over the limit", vec![0x01, 0x00, 0x00, 0x00]),
        ("negative length", vec![0xFF, 0xFF, 0xFF, 0xFF]),
        ("length below the serialize word", vec![0x00, 0x00, 0x00, 0x03]),
        (
            "header length beyond the frame",
            vec![0, 0, 0, 8, 0, 0, 0, 9, b'{', b'}', 0, 0],
        ),
        ("serialize type 7", frame(7, b"{}")),
        ("invalid JSON header", frame(0, b"{\"code\":")),
        ("JSON header that is not an object", frame(0, b"[1,2,3]")),
        (
            "JSON header with invalid UTF-8",
            frame(0, &[b'{', b'"', 0xFF, 0xFE, b'"', b'}']),
        ),
        (
            "binary header with a remark beyond it",
            binary_header_with_remark_beyond_it(),
        ),
        (
            "binary header with ext fields beyond it",
            binary_header_with_ext_beyond_it(),
        ),
        ("binary header cut short", frame(1, &[0x00, 0x22, 0x00])),
    ]
}

#[tokio::test]
async fn each_malformed_frame_closes_only_its_own_connection() {
    let server = start(echo_router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let good = client.connection(&addr(&server)).await.unwrap();
    let served_by = connection_id(
        &client
            .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
            .await
            .unwrap(),
    );
    for (what, bytes) in malformed_frames() {
        let mut bad = raw_connect(&server).await;
        raw_round_trip(&mut bad, 1).await;
        bad.write_all(&bytes).await.unwrap();
        assert_closed_by_peer(&mut bad).await;
        let response = client
            .invoke(&addr(&server), request(ECHO, SerializeType::Json), STEP)
            .await;
        let response = response.unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(response.response_code(), ResponseCode::SUCCESS, "after {what}");
        assert_eq!(connection_id(&response), served_by, "after {what}");
        assert!(!good.is_closed(), "after {what}");
    }
}

#[tokio::test]
async fn a_frame_cut_by_the_peer_closing_is_not_served() {
    let server = start(echo_router()).await;
    let mut stream = raw_connect(&server).await;
    stream.write_all(&[0, 0, 0, 100, 1, 0, 0]).await.unwrap();
    stream.shutdown().await.unwrap();
    assert_closed_by_peer(&mut stream).await;
}

/// A code whose handler answers from an owner task through a channel, as the name server's do:
/// its first poll waits, so it runs in a task of its own.
const OWNED: ferrocket_wire::RequestCode = ferrocket_wire::RequestCode::GET_ROUTEINFO_BY_TOPIC;
/// A code whose handler never answers.
const SILENT: ferrocket_wire::RequestCode = ferrocket_wire::RequestCode::GET_KV_CONFIG;

fn owner_task_router() -> Router {
    let (jobs, mut owner) = tokio::sync::mpsc::channel::<(RemotingCommand, tokio::sync::oneshot::Sender<_>)>(16);
    tokio::spawn(async move {
        while let Some((request, answer)) = owner.recv().await {
            let response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS, Some("owner".into()));
            let _ = answer.send(response);
        }
    });
    let owned = move |request: RemotingCommand, _: ConnectionHandle| {
        let jobs = jobs.clone();
        async move {
            let (answer, response) = tokio::sync::oneshot::channel();
            jobs.send((request, answer)).await.ok()?;
            response.await.ok()
        }
    };
    let silent = |_: RemotingCommand, _: ConnectionHandle| std::future::pending::<Option<RemotingCommand>>();
    echo_router().route(OWNED, owned).route(SILENT, silent)
}

fn encoded(code: ferrocket_wire::RequestCode, opaque: i32) -> Vec<u8> {
    let mut command = request(code, SerializeType::RocketMq);
    command.opaque = opaque;
    let mut frame = bytes::BytesMut::new();
    command.encode(&mut frame).unwrap();
    frame.to_vec()
}

/// Before the fix the answer of a handler that waits (the name server's, answered by its owner
/// task) was lost when a bad frame followed its request in the same write, while one answered
/// at once (the broker's) went out. Now both are answered, then the connection closes.
#[tokio::test]
async fn requests_before_a_bad_frame_in_the_same_write_are_answered_then_it_closes() {
    let server = start(owner_task_router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    for (what, bad_frame) in malformed_frames() {
        let mut stream = raw_connect(&server).await;
        let mut bytes = encoded(OWNED, 1);
        bytes.extend(encoded(ECHO, 2));
        bytes.extend(encoded(OWNED, 3));
        bytes.extend(bad_frame);
        stream.write_all(&bytes).await.unwrap();
        let mut answered = Vec::new();
        for _ in 0..3 {
            let response = read_command(&mut stream).await;
            assert_eq!(response.response_code(), ResponseCode::SUCCESS, "after {what}");
            answered.push(response.opaque);
        }
        answered.sort_unstable();
        assert_eq!(answered, [1, 2, 3], "after {what}");
        assert_closed_by_peer(&mut stream).await;
        let response = client
            .invoke(&addr(&server), request(OWNED, SerializeType::Json), STEP)
            .await
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(response.remark.as_deref(), Some("owner"), "after {what}");
    }
}

/// A request that is never answered holds the close after a bad frame for 3 s, no longer.
#[tokio::test(start_paused = true)]
async fn a_bad_frame_closes_within_the_drain_timeout_even_if_a_handler_never_answers() {
    let server = start(owner_task_router()).await;
    let client = Client::new(Router::new(), ClientConfig::default());
    let mut stream = raw_connect(&server).await;
    let mut bytes = encoded(SILENT, 1);
    bytes.extend(encoded(OWNED, 2));
    bytes.extend([0x7F, 0xFF, 0xFF, 0xFF]);
    let began = tokio::time::Instant::now();
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(read_command(&mut stream).await.opaque, 2);
    let response = client
        .invoke(&addr(&server), request(OWNED, SerializeType::Json), STEP)
        .await
        .unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
    assert_closed_by_peer(&mut stream).await;
    let closed_after = began.elapsed();
    assert!(
        closed_after >= std::time::Duration::from_secs(3) && closed_after < std::time::Duration::from_millis(3_100),
        "closed after {closed_after:?}"
    );
}
