//! Servers, requests and raw-socket helpers shared by the tests.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_net::{ConnectionHandle, Router, Server, ServerConfig};
use ferrocket_wire::command::frame_content_length;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The code the echo handler serves.
pub const ECHO: RequestCode = RequestCode::HEART_BEAT;
/// A code nobody serves.
pub const UNKNOWN: RequestCode = RequestCode(9999);
/// Generous bound for steps that complete at once on loopback; only a bug makes it fire.
pub const STEP: Duration = Duration::from_secs(10);

pub async fn start(router: Router) -> Server {
    start_with(router, ServerConfig::default()).await
}

pub async fn start_with(router: Router, config: ServerConfig) -> Server {
    let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(any_port, router, config).await.unwrap()
}

pub fn addr(server: &Server) -> String {
    server.local_addr().to_string()
}

/// Answers with the request's ext fields and body, a remark, and the serving connection's id.
pub fn echo_router() -> Router {
    Router::new().route(ECHO, echo)
}

pub async fn echo(request: RemotingCommand, connection: ConnectionHandle) -> Option<RemotingCommand> {
    let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS, Some("echo".into()));
    let mut fields = request.ext_fields.clone().unwrap_or_default();
    fields.insert("connection", connection.id().to_string());
    response.ext_fields = Some(fields);
    response.body = request.body.clone();
    Some(response)
}

pub fn request(code: RequestCode, serialize_type: SerializeType) -> RemotingCommand {
    let mut fields = ExtFields::new();
    fields.insert("topic", "T");
    let mut request = RemotingCommand::request(code).with_ext_fields(fields);
    request.serialize_type = serialize_type;
    request
}

pub fn connection_id(response: &RemotingCommand) -> u64 {
    response.ext("connection").unwrap().parse().unwrap()
}

pub async fn raw_connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.local_addr()).await.unwrap()
}

pub async fn write_command(stream: &mut TcpStream, command: &RemotingCommand) {
    let mut frame = BytesMut::new();
    command.encode(&mut frame).unwrap();
    stream.write_all(&frame).await.unwrap();
}

pub async fn read_command(stream: &mut TcpStream) -> RemotingCommand {
    let read = async {
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix).await.unwrap();
        let mut content = vec![0; frame_content_length(prefix).unwrap()];
        stream.read_exact(&mut content).await.unwrap();
        RemotingCommand::decode_content(Bytes::from(content)).unwrap()
    };
    tokio::time::timeout(STEP, read).await.expect("no response")
}

/// Sends a request on a raw socket and returns its response.
pub async fn raw_round_trip(stream: &mut TcpStream, opaque: i32) -> RemotingCommand {
    let mut ping = request(ECHO, SerializeType::RocketMq);
    ping.opaque = opaque;
    write_command(stream, &ping).await;
    let response = read_command(stream).await;
    assert_eq!(response.opaque, opaque);
    assert!(response.is_response());
    response
}

/// The peer closed the socket: a read sees end of stream (or a reset, if our bytes were unread).
pub async fn assert_closed_by_peer(stream: &mut TcpStream) {
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(STEP, stream.read(&mut buf))
        .await
        .expect("connection still open");
    match read {
        Ok(0) => {}
        Ok(n) => panic!("expected the connection to close, got {n} bytes"),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}"),
    }
}
