//! Frames a broken or hostile peer sends: each closes its own connection, without a response,
//! while a well-behaved connection opened before keeps being served.

use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::{ResponseCode, SerializeType};
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
