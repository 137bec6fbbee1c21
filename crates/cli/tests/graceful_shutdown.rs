//! SIGTERM to the real `ferrocket broker` under traffic: it exits on its own within the bound,
//! having persisted the consumer offsets (the periodic flush is set to an hour, so only the
//! shutdown can have written them), unregistered from its name server (which would otherwise
//! list it for 120 s), answered every request it took, and closed its store cleanly (no abort
//! file). Its log says it registered with the name server, in plain text (stderr is a file).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers, where a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

/// The binary's own bound (`SHUTDOWN_TIMEOUT` in main.rs).
const SHUTDOWN_BOUND: Duration = Duration::from_secs(20);
const TOPIC: &str = "ShutdownTopic";
const GROUP: &str = "ShutdownGroup";
const BROKER_NAME: &str = "broker-shutdown";

/// A server child, killed if the test fails before stopping it: no process outlives a test.
struct Server(Option<Child>);

impl Server {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `ferrocket <args>` and returns it with the address of its `listening <role>` line.
fn spawn(args: &[&str], role: &str, stderr: &Path) -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let prefix = format!("listening {role} ");
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix(&prefix) {
            break rest.parse().unwrap();
        }
    };
    // Keep reading stdout so later lines never block the child.
    std::thread::spawn(move || lines.for_each(drop));
    (Server(Some(child)), addr)
}

/// One request on `stream`, its answer; `None` when the connection closed first.
fn exchange(stream: &mut TcpStream, request: &RemotingCommand) -> Option<RemotingCommand> {
    let mut out = BytesMut::new();
    request.encode(&mut out).unwrap();
    stream.write_all(&out).ok()?;
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).ok()?;
    let mut frame = prefix.to_vec();
    frame.resize(4 + u32::from_be_bytes(prefix) as usize, 0);
    stream.read_exact(&mut frame[4..]).ok()?;
    Some(RemotingCommand::decode(&frame).unwrap().0)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

fn request(code: RequestCode, fields: &[(&str, &str)], opaque: i32) -> RemotingCommand {
    let mut request = RemotingCommand::request(code).with_ext_fields(fields.iter().copied().collect::<ExtFields>());
    request.opaque = opaque;
    request
}

fn send_request(opaque: i32) -> RemotingCommand {
    let born = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    request(
        RequestCode::SEND_MESSAGE,
        &[
            ("producerGroup", "ShutdownProducers"),
            ("topic", TOPIC),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "0"),
            ("sysFlag", "0"),
            ("bornTimestamp", &born),
            ("flag", "0"),
            ("properties", ""),
        ],
        opaque,
    )
    .with_body(&b"a message sent while the broker stops"[..])
}

/// Whether the name server lists the broker (GET_BROKER_CLUSTER_INFO's body names it).
fn namesrv_lists_broker(namesrv: SocketAddr) -> bool {
    let answer = exchange(
        &mut connect(namesrv),
        &request(RequestCode::GET_BROKER_CLUSTER_INFO, &[], 1),
    )
    .unwrap();
    let body = answer.body.unwrap_or_default();
    String::from_utf8_lossy(&body).contains(BROKER_NAME)
}

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what} not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn terminate(server: &mut Server) {
    let pid = server.child().id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
}

#[test]
fn sigterm_under_traffic_persists_offsets_unregisters_and_exits_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (mut namesrv, namesrv_addr) = spawn(
        &[
            "namesrv",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            &dir.path().join("ns").to_string_lossy(),
        ],
        "namesrv",
        &dir.path().join("namesrv.log"),
    );
    let store = dir.path().join("store");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName=ShutdownCluster\nbrokerName={BROKER_NAME}\nbrokerId=0\nlistenPort=0\n\
             bindAddress=127.0.0.1\nbrokerIP1=127.0.0.1\nnamesrvAddr={namesrv_addr}\nstorePathRootDir={}\n\
             flushConsumerOffsetInterval=3600000\ngrpcServerEnable=false\nmappedFileSizeCommitLog=16777216\n",
            store.display()
        ),
    )
    .unwrap();
    let broker_log = dir.path().join("broker.log");
    let (mut broker, broker_addr) = spawn(&["broker", "-c", &conf.to_string_lossy()], "broker", &broker_log);
    wait_until("registration", Duration::from_secs(15), || {
        namesrv_lists_broker(namesrv_addr)
    });

    // Some messages, then a committed offset that only the shutdown will write to disk.
    let mut stream = connect(broker_addr);
    for opaque in 0..10 {
        let answer = exchange(&mut stream, &send_request(opaque)).unwrap();
        assert_eq!(answer.response_code(), ResponseCode::SUCCESS, "{:?}", answer.remark);
    }
    let group = request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &[], 99)
        .with_body(format!("{{\"groupName\":\"{GROUP}\"}}").into_bytes());
    assert_eq!(
        exchange(&mut stream, &group).unwrap().response_code(),
        ResponseCode::SUCCESS
    );
    let commit = request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", GROUP),
            ("topic", TOPIC),
            ("queueId", "0"),
            ("commitOffset", "7"),
        ],
        100,
    );
    assert_eq!(
        exchange(&mut stream, &commit).unwrap().response_code(),
        ResponseCode::SUCCESS
    );

    // Traffic: senders on their own connections until the broker closes them. The connections
    // are made here, before any SIGTERM: a sender thread that a loaded machine started late
    // once connected after the broker had stopped accepting, and was refused.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
            let mut stream = connect(broker_addr);
            std::thread::spawn(move || {
                let mut opaque = 1_000;
                while !stop.load(Ordering::Relaxed) {
                    opaque += 1;
                    let Some(answer) = exchange(&mut stream, &send_request(opaque)) else {
                        break;
                    };
                    assert_eq!(answer.opaque, opaque);
                    assert_eq!(answer.response_code(), ResponseCode::SUCCESS, "{:?}", answer.remark);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    wait_until("traffic", Duration::from_secs(10), || {
        answered.load(Ordering::Relaxed) >= 50
    });

    let started = Instant::now();
    terminate(&mut broker);
    let status = loop {
        if let Some(status) = broker.child().try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < SHUTDOWN_BOUND,
            "the broker did not stop within {SHUTDOWN_BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().unwrap();
    }
    eprintln!(
        "stopped in {} ms under traffic ({} sends answered)",
        took.as_millis(),
        answered.load(Ordering::Relaxed)
    );
    let log = std::fs::read_to_string(&broker_log).unwrap();
    assert!(status.success(), "exit {status:?}\n{log}");

    // The name server also drops a broker whose connection closes; the log line shows the
    // broker said goodbye itself (UNREGISTER_BROKER answered).
    assert!(!namesrv_lists_broker(namesrv_addr), "still registered after the stop");
    assert!(
        log.contains("unregistered from the name server"),
        "no unregistration in\n{log}"
    );
    let offsets = std::fs::read_to_string(store.join("config/consumerOffset.json")).unwrap();
    let compact: String = offsets.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains(&format!("\"{TOPIC}@{GROUP}\":{{\"0\":7}}")),
        "offset not persisted:\n{offsets}"
    );
    assert!(!store.join("abort").exists(), "the store was not closed cleanly");
    assert!(
        log.contains("registered with the name server"),
        "no registration line in\n{log}"
    );
    assert!(!log.contains('\u{1b}'), "colour codes in a log that is not a terminal");

    terminate(&mut namesrv);
    assert!(namesrv.child().wait().unwrap().success());
}
