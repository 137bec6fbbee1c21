//! TLS on the server's port in each of Java's modes: which clients get in, client certificates,
//! handshakes that stall, and first bytes that are neither a frame nor a TLS handshake.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferrocket_net::tls::TLS_HANDSHAKE_TIMEOUT;
use ferrocket_net::{Client, ClientConfig, ClientTls, Router, Server, ServerConfig, TlsSettings};
use ferrocket_wire::{ResponseCode, SerializeType};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    ECHO, STEP, addr, assert_closed_by_peer, echo_router, raw_connect, raw_round_trip, request, start_with,
};

fn settings(pairs: &[(&str, &str)]) -> TlsSettings {
    let system: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    TlsSettings::resolve(&system, &BTreeMap::new())
}

/// A server in `mode` with Java's test-mode self-signed certificate.
async fn server_in(mode: &str) -> Server {
    let tls = settings(&[("tls.server.mode", mode)]).server().unwrap();
    start_with(
        echo_router(),
        ServerConfig {
            tls,
            ..ServerConfig::default()
        },
    )
    .await
}

fn plain_client() -> Client {
    Client::new(Router::new(), ClientConfig::default())
}

/// Trusts any server certificate, as Java's client does in test mode.
fn tls_client(tls: ClientTls) -> Client {
    Client::new(
        Router::new(),
        ClientConfig {
            tls: Some(tls),
            ..ClientConfig::default()
        },
    )
}

fn trusting_tls_client() -> Client {
    tls_client(ClientTls::new(None, None).unwrap())
}

/// Whether an echo request through `client` is answered.
async fn served(client: &Client, server: &Server) -> bool {
    match client
        .invoke(&addr(server), request(ECHO, SerializeType::Json), STEP)
        .await
    {
        Ok(response) => response.code == ResponseCode::SUCCESS.0,
        Err(_) => false,
    }
}

/// Whether the peer closes within `wait`; TLS may send an alert first, which is read and skipped.
async fn closes_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let until_end = async {
        let mut buf = [0u8; 256];
        while let Ok(1..) = stream.read(&mut buf).await {}
    };
    tokio::time::timeout(wait, until_end).await.is_ok()
}

#[tokio::test]
async fn each_mode_lets_in_what_java_lets_in() {
    for (mode, plain_in, tls_in) in [
        ("disabled", true, false),
        ("permissive", true, true),
        ("enforcing", false, true),
    ] {
        let server = server_in(mode).await;
        assert_eq!(served(&plain_client(), &server).await, plain_in, "plaintext in {mode}");
        assert_eq!(served(&trusting_tls_client(), &server).await, tls_in, "TLS in {mode}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn enforcing_closes_a_plaintext_frame_unanswered() {
    let server = server_in("enforcing").await;
    let mut stream = raw_connect(&server).await;
    let frame_start = [0u8, 0, 0, 20];
    stream.write_all(&frame_start).await.unwrap();
    assert_closed_by_peer(&mut stream).await;
    assert!(served(&trusting_tls_client(), &server).await);
}

#[tokio::test]
async fn odd_first_bytes_close_the_connection_and_others_are_still_served() {
    let cases: [(&str, &[u8]); 5] = [
        ("permissive", b""),
        ("enforcing", b""),
        ("permissive", &[0x16]),
        ("enforcing", &[0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ("disabled", &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
    ];
    for (mode, bytes) in cases {
        let server = server_in(mode).await;
        let mut stream = raw_connect(&server).await;
        stream.write_all(bytes).await.unwrap();
        // End of stream after the bytes: the server must neither wait for more nor panic.
        stream.shutdown().await.unwrap();
        assert!(closes_within(&mut stream, STEP).await, "{mode} {bytes:?} left open");
        let client = if mode == "enforcing" {
            trusting_tls_client()
        } else {
            plain_client()
        };
        assert!(served(&client, &server).await, "{mode} {bytes:?}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn garbage_after_a_handshake_byte_fails_the_handshake_at_once() {
    let server = server_in("permissive").await;
    let mut stream = raw_connect(&server).await;
    // A record header claiming a handshake, then bytes that are no ClientHello.
    stream
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef])
        .await
        .unwrap();
    assert!(
        closes_within(&mut stream, TLS_HANDSHAKE_TIMEOUT / 2).await,
        "a broken handshake must close before the handshake timeout"
    );
    let mut plain = raw_connect(&server).await;
    raw_round_trip(&mut plain, 7).await;
}

#[tokio::test(start_paused = true)]
async fn a_stalled_handshake_is_dropped_after_the_timeout() {
    let server = server_in("enforcing").await;
    let mut stream = raw_connect(&server).await;
    stream.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let mut buf = [0u8; 16];
    let early = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT - Duration::from_secs(1), stream.read(&mut buf)).await;
    assert!(early.is_err(), "closed before the handshake timeout: {early:?}");
    let late = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
    assert!(
        matches!(late, Ok(Ok(0)) | Ok(Err(_))),
        "still open after the timeout: {late:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_does_not_wait_for_a_silent_connection() {
    let server = server_in("permissive").await;
    let _silent = raw_connect(&server).await;
    tokio::task::yield_now().await;
    let stopped = tokio::time::timeout(Duration::from_secs(1), server.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "shutdown waited for a connection that never sent a byte"
    );
}

/// A CA, a server certificate and a client certificate it signed, as PEM files in `dir`.
fn write_pki(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (name, alt_names) in [
        ("server", vec!["localhost".to_owned(), "127.0.0.1".to_owned()]),
        ("client", vec![]),
    ] {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(alt_names).unwrap().signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

async fn server_needing_client_auth(dir: &Path, need: &str) -> Server {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let tls = settings(&[
        ("tls.server.mode", "enforcing"),
        ("tls.test.mode.enable", "false"),
        ("tls.server.certPath", &path("server.pem")),
        ("tls.server.keyPath", &path("server.key")),
        ("tls.server.need.client.auth", need),
        ("tls.server.trustCertPath", &path("ca.pem")),
    ])
    .server()
    .unwrap();
    start_with(
        echo_router(),
        ServerConfig {
            tls,
            ..ServerConfig::default()
        },
    )
    .await
}

fn client_with_certificate(dir: &Path) -> Client {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let tls = settings(&[
        ("tls.enable", "true"),
        ("tls.test.mode.enable", "false"),
        ("tls.client.certPath", &path("client.pem")),
        ("tls.client.keyPath", &path("client.key")),
        ("tls.client.authServer", "true"),
        ("tls.client.trustCertPath", &path("ca.pem")),
    ])
    .client()
    .unwrap()
    .unwrap();
    tls_client(tls)
}

#[tokio::test]
async fn a_required_client_certificate_is_checked_against_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let server = server_needing_client_auth(dir.path(), "require").await;
    assert!(served(&client_with_certificate(dir.path()), &server).await);
    assert!(
        !served(&trusting_tls_client(), &server).await,
        "no certificate, yet served"
    );
    // A certificate from another CA is refused too.
    let other = tempfile::tempdir().unwrap();
    write_pki(other.path());
    std::fs::copy(dir.path().join("ca.pem"), other.path().join("ca.pem")).unwrap();
    assert!(
        !served(&client_with_certificate(other.path()), &server).await,
        "foreign certificate served"
    );
}

#[tokio::test]
async fn an_optional_client_certificate_may_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let server = server_needing_client_auth(dir.path(), "optional").await;
    assert!(served(&trusting_tls_client(), &server).await);
    assert!(served(&client_with_certificate(dir.path()), &server).await);
}

fn client_trusting_ca_of(dir: &Path) -> Client {
    let ca = dir.join("ca.pem").to_string_lossy().into_owned();
    let tls = settings(&[
        ("tls.enable", "true"),
        ("tls.test.mode.enable", "false"),
        ("tls.client.authServer", "true"),
        ("tls.client.trustCertPath", &ca),
    ])
    .client()
    .unwrap()
    .unwrap();
    tls_client(tls)
}

#[tokio::test]
async fn a_replaced_certificate_is_served_without_restart() {
    let served_dir = tempfile::tempdir().unwrap();
    let old = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    write_pki(old.path());
    write_pki(new.path());
    for name in ["server.pem", "server.key"] {
        std::fs::copy(old.path().join(name), served_dir.path().join(name)).unwrap();
    }
    let path = |name: &str| served_dir.path().join(name).to_string_lossy().into_owned();
    let tls_settings = settings(&[
        ("tls.server.mode", "enforcing"),
        ("tls.test.mode.enable", "false"),
        ("tls.server.certPath", &path("server.pem")),
        ("tls.server.keyPath", &path("server.key")),
    ]);
    let tls = tls_settings.server().unwrap();
    let server = start_with(
        echo_router(),
        ServerConfig {
            tls: tls.clone(),
            ..ServerConfig::default()
        },
    )
    .await;
    let reload = tokio::spawn(ferrocket_net::tls::reload_on_change(tls_settings, tls));
    assert!(served(&client_trusting_ca_of(old.path()), &server).await);
    assert!(!served(&client_trusting_ca_of(new.path()), &server).await);

    // The certificate alone first: it does not match the key, so the old pair stays served.
    std::fs::copy(new.path().join("server.pem"), served_dir.path().join("server.pem")).unwrap();
    tokio::time::sleep(ferrocket_net::tls::TLS_RELOAD_CHECK_INTERVAL * 3).await;
    assert!(
        served(&client_trusting_ca_of(old.path()), &server).await,
        "half a pair was loaded"
    );
    std::fs::copy(new.path().join("server.key"), served_dir.path().join("server.key")).unwrap();
    let deadline = tokio::time::Instant::now() + STEP;
    while !served(&client_trusting_ca_of(new.path()), &server).await {
        assert!(tokio::time::Instant::now() < deadline, "new certificate not served");
        tokio::time::sleep(ferrocket_net::tls::TLS_RELOAD_CHECK_INTERVAL).await;
    }
    assert!(!served(&client_trusting_ca_of(old.path()), &server).await);
    reload.abort();
}
