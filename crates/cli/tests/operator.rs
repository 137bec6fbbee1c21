//! What an operator meets first, on the real binary: `--version`, `--help`, `--check-config`,
//! `--print-config`, `listenPort` of a namesrv.conf, a busy port, JSON logs and log files.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers, where a panic is the failure report

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};

fn ferrocket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A server child, killed if the test fails before stopping it: no process outlives a test.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a server and waits for its first `listening` line.
fn start(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.as_mut().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    (Server(Some(child)), line)
}

/// SIGTERM, then everything the child wrote to stderr.
fn stop(mut server: Server) -> String {
    let child = server.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    text(&output.stderr)
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let output = ferrocket(&["--version"]);
    let line = text(&output.stdout);
    let (version, rest) = line
        .trim()
        .strip_prefix("ferrocket ")
        .unwrap()
        .split_once(" (commit ")
        .unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let (commit, date) = rest.strip_suffix(')').unwrap().split_once(", built ").unwrap();
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{commit}"
    );
    assert_eq!(date.len(), 10, "{date}");
    assert!(date.starts_with("20"), "{date}");
}

#[test]
fn help_documents_the_log_variable_and_every_flag() {
    let help = text(&ferrocket(&["--help"]).stdout);
    for expected in ["FERROCKET_LOG ", "--log-format", "--log-files", "NO_COLOR"] {
        assert!(help.contains(expected), "{expected} missing from\n{help}");
    }
    // Every flag having help is checked on clap's own tree (main.rs `every_flag_has_help`).
}

#[test]
fn check_config_lists_every_bad_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerName=broker-a\nlistenPort=70000\n# note\nflushDiskTyp=SYNC_FLUSH\n",
    )
    .unwrap();
    let output = ferrocket(&["broker", "-c", &conf.to_string_lossy(), "--check-config"]);
    let stdout = text(&output.stdout);
    let path = conf.display();
    assert_eq!(
        stdout,
        format!(
            "{path}:2: listenPort=70000: expected a whole number from 0 to 65535\n\
             {path}:4: unknown key flushDiskTyp; did you mean flushDiskType?\n"
        )
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), format!("error: {path}: 2 problem(s)\n"));

    std::fs::write(&conf, "brokerName=broker-a\nlistenPort=10911\n").unwrap();
    let output = ferrocket(&["broker", "-c", &conf.to_string_lossy(), "--check-config"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), format!("{path}: OK\n"));

    let namesrv = dir.path().join("namesrv.conf");
    std::fs::write(&namesrv, "listenPort=x\n").unwrap();
    let output = ferrocket(&["namesrv", "-c", &namesrv.to_string_lossy(), "--check-config"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains(":1: listenPort=x: expected a whole number from 0 to 65535"));
}

#[test]
fn print_config_shows_the_effective_values() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerName=broker-z\nbindAddress=127.0.0.1\ngrpcServerPort=18081\n",
    )
    .unwrap();
    let output = ferrocket(&["broker", "-c", &conf.to_string_lossy(), "--print-config"]);
    let stdout = text(&output.stdout);
    for line in [
        "brokerName=broker-z\n",
        "brokerIP1=127.0.0.1\n",
        "listenPort=10911\n",
        "grpcServerPort=18081\n",
    ] {
        assert!(stdout.contains(line), "{line} missing from\n{stdout}");
    }
    // Without brokerIP1 or a specific bindAddress, the host's address is announced, never a
    // wildcard (Java's rule: the first non-loopback address, 127.0.0.1 only on a bare host).
    let output = ferrocket(&["broker", "--print-config"]);
    let stdout = text(&output.stdout);
    let announced = stdout.lines().find_map(|line| line.strip_prefix("brokerIP1=")).unwrap();
    assert!(
        announced
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| !ip.is_unspecified()),
        "{announced}"
    );
}

#[test]
fn a_namesrv_conf_listen_port_is_honoured_and_a_busy_port_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, format!("listenPort={port}\nbindAddress=127.0.0.1\n")).unwrap();
    let data = dir.path().join("ns");
    let (first, line) = start(&[
        "namesrv",
        "-c",
        &conf.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    assert_eq!(line, format!("listening namesrv 127.0.0.1:{port}"));

    // The same port again, from the standalone, which also opens a store: the error names the
    // port and the flag, shows no backtrace, and leaves no crash marker in the store.
    let store_dir = dir.path().join("standalone");
    let output = Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args([
            "standalone",
            "--host",
            "localhost",
            "--namesrv-port",
            "0",
            "--grpc-port",
            "0",
        ])
        .args([
            "--broker-port",
            &port.to_string(),
            "--data-dir",
            &store_dir.to_string_lossy(),
        ])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let last = stderr.lines().last().unwrap();
    // The HA port (the next one) is bound first; another process may hold it by chance, which
    // is reported the same way.
    let ha_taken = format!(
        "error: the broker's HA port {} is already in use (another broker or name server?); \
         --broker-port (the HA port is the next one) moves it",
        port + 1
    );
    let expected = format!(
        "error: the broker port {port} is already in use (another broker or name server?); --broker-port moves it"
    );
    assert!(last == expected || last == ha_taken, "{stderr}");
    assert!(
        !stderr.contains("stack backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(
        !store_dir.join("store/abort").exists(),
        "a crash marker was left behind"
    );
    stop(first);

    // A taken gRPC port is found after the store is open: it is closed cleanly all the same.
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let grpc_port = taken.local_addr().unwrap().port();
    let store_dir = dir.path().join("grpc-busy");
    let output = Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args([
            "standalone",
            "--host",
            "127.0.0.1",
            "--namesrv-port",
            "0",
            "--broker-port",
            "0",
        ])
        .args([
            "--grpc-port",
            &grpc_port.to_string(),
            "--data-dir",
            &store_dir.to_string_lossy(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.ends_with(&format!(
            "error: the gRPC port {grpc_port} is already in use (another broker or name server?); \
             --grpc-port (or grpcServerPort in broker.conf) moves it\n"
        )),
        "{stderr}"
    );
    assert!(store_dir.join("store/commitlog").exists(), "the store was not opened");
    assert!(
        !store_dir.join("store/abort").exists(),
        "a crash marker was left behind"
    );
}

#[test]
fn logs_can_be_json_and_go_to_daily_files_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ns");
    let (child, _) = start(&[
        "namesrv",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        &data.to_string_lossy(),
        "--log-format",
        "json",
        "--log-files",
    ]);
    let stderr = stop(child);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 2, "{stderr}");
    for line in &lines {
        assert!(
            line.starts_with('{') && line.ends_with('}') && line.contains("\"level\""),
            "{line}"
        );
        assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line}");
    }
    let files: Vec<_> = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ferrocket.log")
    );
    let written = std::fs::read_to_string(&files[0]).unwrap();
    assert!(written.contains("name server listening"), "{written}");
}

/// Every example config under deploy/ passes `--check-config` (so the examples stay valid as
/// keys and ranges change).
#[test]
fn the_example_configs_pass_the_check() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/conf");
    let mut checked = 0;
    let mut pending = vec![deploy];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let role = match path.file_name().unwrap().to_str().unwrap() {
                "namesrv.conf" => "namesrv",
                _ => "broker",
            };
            let output = ferrocket(&[role, "-c", &path.to_string_lossy(), "--check-config"]);
            assert!(output.status.success(), "{}: {}", path.display(), text(&output.stdout));
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} example configs found");
}
