//! End to end: `ferrocket tap` against a real `ferrocket standalone`, reading the requests the
//! name server decodes, and its answers, from the console's stream, with its code and topic
//! filters applied.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers, where a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
        .with_ext_fields([("topic", topic)].into_iter().collect::<ExtFields>())
}

/// Sends `request` on `stream` and reads the whole response frame.
fn call_on(stream: &mut TcpStream, request: &RemotingCommand) {
    let mut out = BytesMut::new();
    request.encode(&mut out).unwrap();
    stream.write_all(&out).unwrap();
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut rest).unwrap();
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

#[test]
fn tap_prints_the_requests_that_pass_its_filters() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Running(
        Command::new(env!("CARGO_BIN_EXE_ferrocket"))
            .args([
                "standalone",
                "--host",
                "127.0.0.1",
                "--namesrv-port",
                "0",
                "--broker-port",
                "0",
            ])
            .args(["--no-grpc", "--console-port", "0", "--data-dir"])
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut addrs = std::collections::HashMap::new();
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    while addrs.len() < 3 {
        let line = lines.next().unwrap().unwrap();
        let mut words = line.split(' ').skip(1);
        addrs.insert(
            words.next().unwrap().to_owned(),
            words.next().unwrap().parse::<SocketAddr>().unwrap(),
        );
    }
    let mut client = connect(addrs["namesrv"]);
    // Before anyone watches: not recorded, so neither printed below nor a start for the period.
    call_on(&mut client, &route_request("TapTopic"));

    let mut tap = Running(
        Command::new(env!("CARGO_BIN_EXE_ferrocket"))
            .args(["tap", "--addr", &addrs["console"].to_string()])
            .args([
                "--code",
                "get_routeinfo_by_topic",
                "--topic",
                "TapTopic",
                "--count",
                "4",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // A tap that never sees its requests would wait forever: stop it after a while instead.
    let pid = tap.0.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = Command::new("kill").arg(&pid).status();
    });
    let mut status = String::new();
    BufReader::new(tap.0.stderr.take().unwrap())
        .read_line(&mut status)
        .unwrap();
    assert!(status.starts_with("watching"), "{status}");
    // The stream opens its watch before it answers; the first request after is recorded.
    call_on(&mut connect(addrs["namesrv"]), &route_request("TapTopic"));
    call_on(&mut client, &route_request("OtherTopic"));
    call_on(
        &mut client,
        &RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
    );
    call_on(&mut client, &route_request("TapTopic"));
    let mut printed = String::new();
    tap.0.stdout.take().unwrap().read_to_string(&mut printed).unwrap();
    assert!(tap.0.wait().unwrap().success());
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    // Each request, then the name server's answer to it (no route: TOPIC_NOT_EXIST).
    let (printed, replies): (Vec<&str>, Vec<&str>) = lines.iter().partition(|line| line.contains(" in  "));
    assert_eq!((printed.len(), replies.len()), (2, 2), "{lines:?}");
    for line in &printed {
        assert!(line.contains(" namesrv in  GET_ROUTEINFO_BY_TOPIC "), "{line}");
        assert!(line.contains(" topic=TapTopic "), "{line}");
    }
    for line in &replies {
        assert!(line.contains(" namesrv reply GET_ROUTEINFO_BY_TOPIC "), "{line}");
        assert!(line.contains(" topic=TapTopic -> TOPIC_NOT_EXIST in "), "{line}");
    }
    // The period is per peer and code: none on a new connection's first request; on `client`,
    // counted from "OtherTopic" (recorded, though the topic filter hid it).
    assert!(!printed[0].contains(" every "), "{}", printed[0]);
    assert!(printed[1].contains(" every "), "{}", printed[1]);
}
