//! The real name server given a valid request and a bad frame in one write (issue 11, item 8):
//! it answers the request, as Java and our broker do, then closes the connection, while a
//! client on another connection keeps being served.

// Helpers outside `#[test]` functions unwrap too: a failed setup step should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_namesrv::{NamesrvConfig, start};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::command::frame_content_length;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for steps that complete at once on loopback; only a bug makes it fire.
const STEP: Duration = Duration::from_secs(10);

fn route_request(opaque: i32) -> RemotingCommand {
    let mut request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    request.serialize_type = SerializeType::RocketMq;
    request.ext_fields = Some([("topic", "NoSuchTopic")].into_iter().collect());
    request.opaque = opaque;
    request
}

async fn read_command(stream: &mut TcpStream) -> RemotingCommand {
    let read = async {
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix).await.unwrap();
        let mut content = vec![0; frame_content_length(prefix).unwrap()];
        stream.read_exact(&mut content).await.unwrap();
        RemotingCommand::decode_content(Bytes::from(content)).unwrap()
    };
    tokio::time::timeout(STEP, read).await.expect("no response")
}

#[tokio::test]
async fn a_request_followed_by_a_bad_frame_in_one_write_is_answered_then_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = start(NamesrvConfig::default(), any_port, dir.path(), None)
        .await
        .unwrap();
    let addr = server.local_addr().to_string();
    let client = Client::new(Router::new(), ClientConfig::default());
    let good = client.invoke(&addr, route_request(0), STEP).await.unwrap();
    assert_eq!(good.response_code(), ResponseCode::TOPIC_NOT_EXIST);

    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut bytes = BytesMut::new();
    route_request(41).encode(&mut bytes).unwrap();
    route_request(42).encode(&mut bytes).unwrap();
    // A frame declaring 0x7FFFFFFF bytes: Java closes the connection on it.
    bytes.extend_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF]);
    stream.write_all(&bytes).await.unwrap();
    for opaque in [41, 42] {
        let response = read_command(&mut stream).await;
        assert!(response.is_response());
        assert_eq!(response.opaque, opaque);
        assert_eq!(response.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    }
    let mut rest = [0u8; 64];
    let after = tokio::time::timeout(STEP, stream.read(&mut rest))
        .await
        .expect("left open");
    assert!(matches!(after, Ok(0) | Err(_)), "{after:?}");

    let again = client.invoke(&addr, route_request(0), STEP).await.unwrap();
    assert_eq!(again.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    server.shutdown().await;
}
