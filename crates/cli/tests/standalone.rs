//! End to end: the real `ferrocket standalone` binary on loopback, spoken to with raw frames,
//! its stderr closed from the start.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers, where a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode, SerializeType};

struct Standalone {
    child: Child,
    namesrv: SocketAddr,
    broker: SocketAddr,
    _data: tempfile::TempDir,
}

impl Standalone {
    fn start() -> Standalone {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocket"))
            .args([
                "standalone",
                "--host",
                "127.0.0.1",
                "--namesrv-port",
                "0",
                "--broker-port",
                "0",
                // Tests run side by side: the gRPC port too is the OS's pick.
                "--grpc-port",
                "0",
            ])
            .arg("--data-dir")
            .arg(data.path())
            .stdout(Stdio::piped())
            // A pipe closed at once: every log line meets a broken pipe, as when a parent (Java's
            // Process.destroy) goes away first. The process must still serve and stop cleanly.
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr_of = |role: &str| -> SocketAddr {
            let line = lines.next().unwrap().unwrap();
            let rest = line
                .strip_prefix(&format!("listening {role} "))
                .unwrap_or_else(|| panic!("{line}"));
            rest.parse().unwrap()
        };
        let namesrv = addr_of("namesrv");
        let broker = addr_of("broker");
        Standalone {
            child,
            namesrv,
            broker,
            _data: data,
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

fn call(addr: SocketAddr, request: &RemotingCommand) -> RemotingCommand {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = BytesMut::new();
    request.encode(&mut out).unwrap();
    stream.write_all(&out).unwrap();
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let mut frame = prefix.to_vec();
    frame.resize(4 + u32::from_be_bytes(prefix) as usize, 0);
    stream.read_exact(&mut frame[4..]).unwrap();
    RemotingCommand::decode(&frame).unwrap().0
}

fn route_request(serialize_type: SerializeType) -> RemotingCommand {
    let mut request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
        .with_ext_fields([("topic", "TopicTest")].into_iter().collect::<ExtFields>());
    request.opaque = 42;
    request.serialize_type = serialize_type;
    request
}

#[test]
fn standalone_serves_the_name_server_and_a_broker_port_and_stops_cleanly() {
    let server = Standalone::start();
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let response = call(server.namesrv, &route_request(serialize_type));
        assert!(response.is_response());
        assert_eq!(response.opaque, 42);
        assert_eq!(response.response_code(), ResponseCode::TOPIC_NOT_EXIST);
        let remark = response.remark.unwrap();
        assert!(
            remark.starts_with("No topic route info in name server for the topic: TopicTest"),
            "{remark}"
        );
        // The server answers in its own configured encoding (JSON by default), as Java does.
        assert_eq!(response.serialize_type, SerializeType::Json);

        let response = call(server.broker, &route_request(serialize_type));
        assert_eq!(response.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(response.remark.as_deref(), Some(" request type 105 not supported"));
    }
    assert!(server.terminate().success());
}
