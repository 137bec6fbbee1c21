//! The gRPC port: plaintext HTTP/2 and TLS (h2 by ALPN) on one port, told apart by the first
//! byte as Java's proxy does (a TLS connection opens with a handshake record, 0x16; an HTTP/2
//! one with its preface, `P`). TLS serves a self-signed certificate made at start (Java's proxy
//! default, `tls.test.mode.enable`), through the same rustls set-up as the remoting port.
//!
//! Bounded: the first byte and the TLS handshake each have [`TLS_HANDSHAKE_TIMEOUT`]; at most
//! [`GRPC_CONNECTIONS_MAX`] connections are open at once (a new one beyond waits in the kernel's
//! backlog); a request message over [`GRPC_MESSAGE_BYTES_MAX`] is refused by tonic.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ferrocket_broker::Broker;
use ferrocket_net::tls::{Admission, TLS_HANDSHAKE_TIMEOUT, TlsMode, TlsSettings, admission};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, info, warn};

use crate::proto::messaging_service_server::MessagingServiceServer;
use crate::service::{Messaging, ServiceOptions};

/// Open gRPC connections at once.
pub const GRPC_CONNECTIONS_MAX: usize = 10_000;
/// The largest request message: room for a 4 MiB body (Java's `maxMessageSize`) and its
/// properties, so a body over that limit is answered MESSAGE_BODY_TOO_LARGE in band.
pub const GRPC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Shutdown waits this long for running calls; then open streams (a client's Telemetry stream
/// stays open as long as the client runs) are cut.
pub const GRPC_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Accepted connections waiting for tonic to take them.
const ACCEPTED_QUEUED_MAX: usize = 64;

/// How the endpoint is served.
#[derive(Debug, Clone)]
pub struct GrpcConfig {
    pub listen: SocketAddr,
    /// TLS beside plaintext (Java's default); false serves plaintext only.
    pub tls: bool,
    pub options: ServiceOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot listen for gRPC on {address}: {error}")]
    Listen { address: SocketAddr, error: std::io::Error },
    #[error("gRPC TLS set-up failed: {0}")]
    Tls(String),
}

/// A running endpoint.
pub struct GrpcServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    accept: JoinHandle<()>,
    serve: JoinHandle<()>,
}

impl GrpcServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and lets running calls finish (tonic's graceful shutdown), for at most
    /// [`GRPC_SHUTDOWN_TIMEOUT`].
    pub async fn shutdown(mut self) {
        self.accept.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let abort = self.serve.abort_handle();
        match timeout(GRPC_SHUTDOWN_TIMEOUT, &mut self.serve).await {
            Ok(Err(error)) => debug!(%error, "gRPC server task ended abnormally"),
            Ok(Ok(())) => {}
            Err(_) => {
                debug!("gRPC calls still open at shutdown are cut");
                abort.abort();
            }
        }
    }
}

/// Binds and serves `MessagingService` over `broker`. Port 0 picks one; the routes then point at
/// the bound port unless `options.advertised_port` names another.
pub async fn start(broker: Arc<Broker>, mut config: GrpcConfig) -> Result<GrpcServer, GrpcError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|error| GrpcError::Listen {
            address: config.listen,
            error,
        })?;
    let local_addr = listener.local_addr().map_err(|error| GrpcError::Listen {
        address: config.listen,
        error,
    })?;
    if config.options.advertised_port == 0 {
        config.options.advertised_port = local_addr.port();
    }
    let acceptor = if config.tls { Some(tls_acceptor()?) } else { None };
    let (accepted, incoming) = mpsc::channel(ACCEPTED_QUEUED_MAX);
    let accept = tokio::spawn(accept_loop(listener, acceptor, accepted));
    let service = MessagingServiceServer::new(Arc::new(Messaging::new(broker, config.options)))
        .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX);
    let (stop, stopped) = oneshot::channel::<()>();
    let serve = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(ReceiverStream::new(incoming), async {
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = served {
            warn!(%error, "gRPC server stopped");
        }
    });
    info!(address = %local_addr, tls = config.tls, "gRPC endpoint started");
    Ok(GrpcServer {
        local_addr,
        stop: Some(stop),
        accept,
        serve,
    })
}

/// The self-signed certificate of Java's test mode, offering h2 by ALPN (gRPC clients insist).
fn tls_acceptor() -> Result<TlsAcceptor, GrpcError> {
    let settings = TlsSettings {
        mode: TlsMode::Permissive,
        test_mode: true,
        ..TlsSettings::resolve(&Default::default(), &Default::default())
    };
    let mut config = settings
        .server_config()
        .map_err(|error| GrpcError::Tls(error.to_string()))?
        .ok_or_else(|| GrpcError::Tls("no server configuration".to_owned()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    accepted: mpsc::Sender<std::io::Result<Connection>>,
) {
    let slots = Arc::new(Semaphore::new(GRPC_CONNECTIONS_MAX));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                debug!(%error, "gRPC accept failed");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            match admit(stream, acceptor, slot).await {
                Ok(connection) => {
                    let _ = accepted.send(Ok(connection)).await;
                }
                Err(reason) => debug!(%peer, reason, "gRPC connection closed"),
            }
        });
    }
}

/// Peeks the first byte and, for TLS, runs the handshake; both bounded in time.
async fn admit(
    stream: TcpStream,
    acceptor: Option<TlsAcceptor>,
    slot: OwnedSemaphorePermit,
) -> Result<Connection, String> {
    let mode = if acceptor.is_some() {
        TlsMode::Permissive
    } else {
        TlsMode::Disabled
    };
    let mut first = [0u8; 1];
    let first_byte = match timeout(TLS_HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => first.first().copied(),
        Ok(Ok(_)) => None,
        Ok(Err(error)) => return Err(error.to_string()),
        Err(_) => return Err("no first byte in time".to_owned()),
    };
    let info = TcpConnectInfo {
        local_addr: stream.local_addr().ok(),
        remote_addr: stream.peer_addr().ok(),
    };
    let stream = match (admission(mode, first_byte), acceptor) {
        (Admission::Plaintext, _) => Stream::Plain(stream),
        (Admission::Tls, Some(acceptor)) => match timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
            Ok(Err(error)) => return Err(format!("TLS handshake failed: {error}")),
            Err(_) => return Err("TLS handshake timed out".to_owned()),
        },
        (Admission::Tls, None) => return Err("TLS without a certificate".to_owned()),
        (Admission::Close(reason), _) => return Err(reason.to_owned()),
    };
    Ok(Connection {
        stream,
        info,
        _slot: slot,
    })
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One admitted connection; its slot frees when tonic drops it.
struct Connection {
    stream: Stream,
    info: TcpConnectInfo,
    _slot: OwnedSemaphorePermit,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }
}
