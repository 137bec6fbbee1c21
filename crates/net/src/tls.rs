//! TLS on the remoting ports, told apart from plaintext by a connection's first byte, as Java's
//! `NettyRemotingServer` does (acl.md §8).
//!
//! A plaintext RocketMQ frame starts with 0x00 (its 4-byte big-endian length is under 16 MiB); a
//! TLS connection starts with 0x16, a handshake record. [`admission`] decides from that byte and
//! the server's [`TlsMode`] alone, so the rule is tested without sockets:
//!
//! | mode         | first byte 0x16 | any other first byte | no byte (EOF) |
//! |--------------|-----------------|----------------------|---------------|
//! | `disabled`   | close           | plaintext            | close         |
//! | `permissive` | TLS             | plaintext            | close         |
//! | `enforcing`  | TLS             | close                | close         |
//!
//! In `disabled` mode nothing is peeked: a TLS record's first four bytes, read as a frame length,
//! are over 16 MiB, so the frame reader closes the connection just the same.
//!
//! Invariants: the first byte is peeked, never consumed, so the frame reader or the TLS library
//! sees the stream whole; waiting for it is bounded by the connection's idle timeout, and the
//! handshake by [`TLS_HANDSHAKE_TIMEOUT`], so a peer that connects and stalls holds its slot for
//! a bounded time; shutdown interrupts both waits.

mod client;
mod reload;
mod settings;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::driver::{Transport, until_set};

pub use client::ClientTls;
pub use reload::{TLS_RELOAD_CHECK_INTERVAL, reload_on_change};
pub use settings::{ClientAuth, TlsError, TlsSettings};

/// Netty's `SslHandler` default `handshakeTimeoutMillis`: a TLS handshake not finished this long
/// after the first byte closes the connection, so a client that stalls mid-handshake cannot hold
/// a connection slot and the handshake buffers of rustls.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of a TLS record carrying a handshake (a ClientHello opens every connection).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Java's `tls.server.mode`: what a server does with TLS and plaintext connections on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plaintext only; a connection that opens with a TLS handshake is closed.
    #[default]
    Disabled,
    /// TLS and plaintext both, told apart by the first byte: Java's default.
    Permissive,
    /// TLS only; a connection that opens with anything else is closed.
    Enforcing,
}

impl TlsMode {
    /// Java's `TlsMode.parse`: the exact lower-case names; anything else means permissive.
    pub fn from_java(value: &str) -> TlsMode {
        match value {
            "disabled" => TlsMode::Disabled,
            "enforcing" => TlsMode::Enforcing,
            _ => TlsMode::Permissive,
        }
    }

    /// Java's name for the mode.
    pub fn java_name(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        }
    }
}

/// What to do with a new connection, from its first byte (`None`: the peer closed first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Plaintext,
    Tls,
    Close(&'static str),
}

/// The table in this module's documentation.
pub fn admission(mode: TlsMode, first_byte: Option<u8>) -> Admission {
    match (mode, first_byte) {
        (_, None) => Admission::Close("closed before its first byte"),
        (TlsMode::Disabled, Some(TLS_HANDSHAKE_RECORD)) => Admission::Close("TLS handshake while TLS is disabled"),
        (TlsMode::Disabled, Some(_)) => Admission::Plaintext,
        (TlsMode::Permissive | TlsMode::Enforcing, Some(TLS_HANDSHAKE_RECORD)) => Admission::Tls,
        (TlsMode::Permissive, Some(_)) => Admission::Plaintext,
        (TlsMode::Enforcing, Some(_)) => Admission::Close("plaintext while TLS is enforced"),
    }
}

/// A server's TLS: its mode and, unless disabled, the certificate it serves. Clones share the
/// certificate, so [`ServerTls::replace_config`] on one changes it for every server holding a clone.
#[derive(Clone, Default)]
pub struct ServerTls {
    mode: TlsMode,
    /// Read for each handshake, replaced on a certificate reload; never held across an await.
    acceptor: Option<Arc<RwLock<TlsAcceptor>>>,
}

impl ServerTls {
    /// Plaintext only (a TLS handshake is refused): the transport's own default.
    pub fn disabled() -> ServerTls {
        ServerTls::default()
    }

    /// A server in `mode` serving `config`'s certificate.
    pub fn new(mode: TlsMode, config: rustls::ServerConfig) -> ServerTls {
        let acceptor = (mode != TlsMode::Disabled).then(|| Arc::new(RwLock::new(TlsAcceptor::from(Arc::new(config)))));
        ServerTls { mode, acceptor }
    }

    /// Serves `config` (a reloaded certificate, say) to connections from now on; connections
    /// already open keep theirs. No effect when TLS is disabled.
    pub fn replace_config(&self, config: rustls::ServerConfig) {
        if let Some(acceptor) = &self.acceptor {
            *acceptor.write().unwrap_or_else(PoisonError::into_inner) = TlsAcceptor::from(Arc::new(config));
        }
    }

    fn current_acceptor(&self) -> Option<TlsAcceptor> {
        let acceptor = self.acceptor.as_ref()?;
        Some(acceptor.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mode", &self.mode)
            .field("certificate", &self.acceptor.is_some())
            .finish()
    }
}

/// Two settings are equal when they are the same mode sharing one certificate slot.
impl PartialEq for ServerTls {
    fn eq(&self, other: &ServerTls) -> bool {
        self.mode == other.mode
            && match (&self.acceptor, &other.acceptor) {
                (None, None) => true,
                (Some(mine), Some(theirs)) => Arc::ptr_eq(mine, theirs),
                _ => false,
            }
    }
}

impl Eq for ServerTls {}

/// Sniffs `stream`'s first byte and, by `tls`'s mode, hands back the plaintext stream, the
/// finished TLS stream, or nothing (the connection is to be closed).
pub(crate) async fn admit(
    stream: TcpStream,
    tls: &ServerTls,
    first_byte_wait: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Transport> {
    if tls.mode == TlsMode::Disabled {
        // No wait for the first byte: a ClientHello's first four bytes read as a frame length
        // over 369 MB, which the frame reader refuses at once, closing the connection as the
        // table says; plaintext-only servers keep the plain path.
        return Some(Transport::Plain(stream));
    }
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        biased;
        () = until_set(shutdown) => return None,
        peeked = tokio::time::timeout(first_byte_wait, stream.peek(&mut first)) => peeked,
    };
    let first_byte = match peeked {
        Ok(Ok(0)) => None,
        Ok(Ok(_)) => Some(first[0]),
        Ok(Err(error)) => {
            debug!(%error, "cannot read the first byte; closing");
            return None;
        }
        Err(_) => {
            debug!(wait_s = first_byte_wait.as_secs(), "no first byte in time; closing");
            return None;
        }
    };
    match (admission(tls.mode, first_byte), tls.current_acceptor()) {
        (Admission::Plaintext, _) => Some(Transport::Plain(stream)),
        (Admission::Tls, Some(acceptor)) => handshake(stream, &acceptor, shutdown).await,
        (Admission::Tls, None) => {
            debug!("TLS handshake but no certificate; closing");
            None
        }
        (Admission::Close(reason), _) => {
            debug!(reason, "connection refused");
            None
        }
    }
}

async fn handshake(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Transport> {
    let accepted = tokio::select! {
        biased;
        () = until_set(shutdown) => return None,
        accepted = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => accepted,
    };
    match accepted {
        Ok(Ok(stream)) => {
            debug!("TLS handshake done");
            Some(Transport::Tls(Box::new(stream.into())))
        }
        Ok(Err(error)) => {
            debug!(%error, "TLS handshake failed; closing");
            None
        }
        Err(_) => {
            debug!(
                timeout_s = TLS_HANDSHAKE_TIMEOUT.as_secs(),
                "TLS handshake not finished in time; closing"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_follows_the_mode_table() {
        let table = [
            (
                TlsMode::Disabled,
                Some(0x16),
                Admission::Close("TLS handshake while TLS is disabled"),
            ),
            (TlsMode::Disabled, Some(0x00), Admission::Plaintext),
            (TlsMode::Permissive, Some(0x16), Admission::Tls),
            (TlsMode::Permissive, Some(0x00), Admission::Plaintext),
            (TlsMode::Permissive, Some(b'P'), Admission::Plaintext),
            (TlsMode::Enforcing, Some(0x16), Admission::Tls),
            (
                TlsMode::Enforcing,
                Some(0x00),
                Admission::Close("plaintext while TLS is enforced"),
            ),
            (
                TlsMode::Enforcing,
                Some(0x17),
                Admission::Close("plaintext while TLS is enforced"),
            ),
        ];
        for (mode, first_byte, expected) in table {
            assert_eq!(admission(mode, first_byte), expected, "{mode:?} {first_byte:?}");
        }
        for mode in [TlsMode::Disabled, TlsMode::Permissive, TlsMode::Enforcing] {
            assert!(matches!(admission(mode, None), Admission::Close(_)));
        }
    }

    #[test]
    fn modes_parse_as_java_does() {
        assert_eq!(TlsMode::from_java("disabled"), TlsMode::Disabled);
        assert_eq!(TlsMode::from_java("permissive"), TlsMode::Permissive);
        assert_eq!(TlsMode::from_java("enforcing"), TlsMode::Enforcing);
        // Java compares the exact name; anything else, even a different case, is permissive.
        assert_eq!(TlsMode::from_java("ENFORCING"), TlsMode::Permissive);
        assert_eq!(TlsMode::from_java(""), TlsMode::Permissive);
        for mode in [TlsMode::Disabled, TlsMode::Permissive, TlsMode::Enforcing] {
            assert_eq!(TlsMode::from_java(mode.java_name()), mode);
        }
    }
}
