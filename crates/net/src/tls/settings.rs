//! Java's TLS settings (acl.md §8, `TlsSystemConfig`) and the rustls configurations built from
//! them.
//!
//! Java reads `tls.server.mode`, `tls.enable`, `tls.test.mode.enable` and `tls.config.file` as
//! JVM system properties; the file named by `tls.config.file` (default
//! `/etc/rocketmq/tls.properties`, skipped when absent) then overrides every other `tls.*` key,
//! `tls.test.mode.enable` included, but never the mode or `tls.enable`. We take the same names
//! (our binary's `-D name=value`) and apply the file the same way.
//!
//! Stricter than Java: a server that asks for client certificates verifies them against
//! `tls.server.trustCertPath` (Java's `tls.server.authClient=false` accepts any certificate); a
//! missing CA is an error at start-up. Encrypted PKCS#8 keys (what Java's docs make, with
//! PBE-SHA1-RC4-128) are refused with an error saying how to decrypt them: no well-kept crate
//! decrypts that scheme.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use thiserror::Error;
use tracing::warn;

use super::{ClientTls, ServerTls, TlsMode};

/// Certificate, key and CA files are a few KiB; a bigger file is a wrong path, not a certificate,
/// and is refused before it is read into memory.
pub const TLS_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// Java's default for `tls.config.file`.
const DEFAULT_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";

/// The `tls.*` names Java reads, all accepted as they are.
pub const TLS_PROPERTY_NAMES: &[&str] = &[
    "tls.server.mode",
    "tls.enable",
    "tls.test.mode.enable",
    "tls.config.file",
    "tls.server.need.client.auth",
    "tls.server.keyPath",
    "tls.server.keyPassword",
    "tls.server.certPath",
    "tls.server.authClient",
    "tls.server.trustCertPath",
    "tls.client.keyPath",
    "tls.client.keyPassword",
    "tls.client.certPath",
    "tls.client.authServer",
    "tls.client.trustCertPath",
];

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{name} is not a TLS setting Java has (known: {known})", known = TLS_PROPERTY_NAMES.join(", "))]
    UnknownSetting { name: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is over {TLS_FILE_BYTES_MAX} bytes; not a certificate or key")]
    TooLarge { path: PathBuf },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error(
        "{path} holds an encrypted private key, which we cannot decrypt; write it decrypted with \
         `openssl pkcs8 -in {path} -out key.pem` (asks for the password) and point to that file"
    )]
    EncryptedKey { path: PathBuf },
    #[error("{0} is required when {1}")]
    Missing(&'static str, &'static str),
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

/// Java's `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Optional,
    Require,
}

impl ClientAuth {
    /// Java's `parseClientAuthMode`: `optional` and `require`, case-insensitive; anything else is none.
    fn from_java(value: &str) -> ClientAuth {
        match value.to_ascii_lowercase().as_str() {
            "optional" => ClientAuth::Optional,
            "require" => ClientAuth::Require,
            _ => ClientAuth::None,
        }
    }
}

/// Every TLS setting, after the system properties and the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// `tls.enable`: our own outgoing connections use TLS (also on when the mode is enforcing).
    pub client_enable: bool,
    /// `tls.test.mode.enable`: a self-signed server certificate; clients trust any server.
    pub test_mode: bool,
    pub server_cert_path: Option<PathBuf>,
    pub server_key_path: Option<PathBuf>,
    pub server_need_client_auth: ClientAuth,
    pub server_trust_cert_path: Option<PathBuf>,
    /// `tls.client.authServer`: verify the server's chain against `tls.client.trustCertPath`.
    pub client_auth_server: bool,
    pub client_trust_cert_path: Option<PathBuf>,
    pub client_cert_path: Option<PathBuf>,
    pub client_key_path: Option<PathBuf>,
}

impl TlsSettings {
    /// Settings from `system` (our `-D` settings) and the file `tls.config.file` names.
    pub fn from_properties(system: &BTreeMap<String, String>) -> Result<TlsSettings, TlsError> {
        if let Some(name) = system.keys().find(|name| !TLS_PROPERTY_NAMES.contains(&name.as_str())) {
            return Err(TlsError::UnknownSetting { name: name.clone() });
        }
        let config_file = system
            .get("tls.config.file")
            .map_or(DEFAULT_CONFIG_FILE, String::as_str);
        let from_file = match read_bounded(Path::new(config_file)) {
            Ok(bytes) => parse_properties(&String::from_utf8_lossy(&bytes)),
            // Java skips a file that is absent or unreadable.
            Err(_) => BTreeMap::new(),
        };
        Ok(TlsSettings::resolve(system, &from_file))
    }

    /// Java's precedence: the file overrides the system properties, except for the mode and
    /// `tls.enable`, which only system properties set.
    pub fn resolve(system: &BTreeMap<String, String>, file: &BTreeMap<String, String>) -> TlsSettings {
        let get = |name: &str| file.get(name).or_else(|| system.get(name)).map(String::as_str);
        let path = |name: &str| get(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        let flag = |name: &str, default: bool| get(name).map_or(default, |value| value.eq_ignore_ascii_case("true"));
        let mode = system
            .get("tls.server.mode")
            .map_or(TlsMode::Permissive, |mode| TlsMode::from_java(mode));
        TlsSettings {
            mode,
            client_enable: system
                .get("tls.enable")
                .is_some_and(|value| value.eq_ignore_ascii_case("true"))
                || mode == TlsMode::Enforcing,
            test_mode: flag("tls.test.mode.enable", true),
            server_cert_path: path("tls.server.certPath"),
            server_key_path: path("tls.server.keyPath"),
            server_need_client_auth: get("tls.server.need.client.auth").map_or(ClientAuth::None, ClientAuth::from_java),
            server_trust_cert_path: path("tls.server.trustCertPath"),
            client_auth_server: flag("tls.client.authServer", false),
            client_trust_cert_path: path("tls.client.trustCertPath"),
            client_cert_path: path("tls.client.certPath"),
            client_key_path: path("tls.client.keyPath"),
        }
    }

    /// The server side: a self-signed certificate in test mode, else the configured files.
    pub fn server(&self) -> Result<ServerTls, TlsError> {
        Ok(match self.server_config()? {
            Some(config) => ServerTls::new(self.mode, config),
            None => ServerTls::disabled(),
        })
    }

    /// The files a reload watches: the certificate, key and CA, when they are in use.
    pub fn server_files(&self) -> Vec<PathBuf> {
        if self.mode == TlsMode::Disabled || self.test_mode {
            return Vec::new();
        }
        let ca = (self.server_need_client_auth != ClientAuth::None)
            .then(|| self.server_trust_cert_path.clone())
            .flatten();
        [self.server_cert_path.clone(), self.server_key_path.clone(), ca]
            .into_iter()
            .flatten()
            .collect()
    }

    /// The rustls configuration [`TlsSettings::server`] serves; `None` when TLS is disabled.
    pub fn server_config(&self) -> Result<Option<rustls::ServerConfig>, TlsError> {
        if self.mode == TlsMode::Disabled {
            return Ok(None);
        }
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?;
        let (chain, key) = if self.test_mode {
            warn!(
                mode = self.mode.java_name(),
                "TLS test mode (tls.test.mode.enable=true, Java's default): serving a self-signed \
                 certificate made at start-up; clients cannot authenticate this server"
            );
            self_signed()?
        } else {
            let cert_path = self
                .server_cert_path
                .as_deref()
                .ok_or(TlsError::Missing("tls.server.certPath", "tls.test.mode.enable=false"))?;
            let key_path = self
                .server_key_path
                .as_deref()
                .ok_or(TlsError::Missing("tls.server.keyPath", "tls.test.mode.enable=false"))?;
            (load_chain(cert_path)?, load_key(key_path)?)
        };
        let builder = match (self.test_mode, self.server_need_client_auth) {
            (true, _) | (false, ClientAuth::None) => builder.with_no_client_auth(),
            (false, client_auth) => {
                let ca_path = self.server_trust_cert_path.as_deref().ok_or(TlsError::Missing(
                    "tls.server.trustCertPath",
                    "tls.server.need.client.auth is optional or require",
                ))?;
                let roots = Arc::new(load_roots(ca_path)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = if client_auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().map_err(rustls_error)?)
            }
        };
        let config = builder.with_single_cert(chain, key).map_err(rustls_error)?;
        Ok(Some(config))
    }

    /// The client side, when `tls.enable` (or enforcing mode) asks for it.
    pub fn client(&self) -> Result<Option<ClientTls>, TlsError> {
        if !self.client_enable {
            return Ok(None);
        }
        let trust = match (self.test_mode, self.client_auth_server, &self.client_trust_cert_path) {
            (false, true, Some(path)) => Some(load_roots(path)?),
            (false, true, None) => {
                return Err(TlsError::Missing(
                    "tls.client.trustCertPath",
                    "tls.client.authServer=true",
                ));
            }
            _ => None,
        };
        let identity = match (&self.client_cert_path, &self.client_key_path, self.test_mode) {
            (Some(cert), Some(key), false) => Some((load_chain(cert)?, load_key(key)?)),
            _ => None,
        };
        ClientTls::new(trust, identity).map(Some)
    }
}

/// The crypto provider: ring, the one built in (no process-wide default is installed). rustls
/// 0.23.48 deprecates it for lacking post-quantum key exchange, which JDK 21 does not offer
/// either; aws-lc-rs, which has it, needs a far longer C build.
#[expect(deprecated, reason = "ring has no post-quantum key exchange; Java clients use none")]
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(super) fn rustls_error(error: impl std::fmt::Display) -> TlsError {
    TlsError::Rustls(error.to_string())
}

/// A Java `.properties` file's `key=value` (or `key:value`) lines; `#` and `!` start comments.
/// Continuation lines and escapes are not used by TLS settings and are not read.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .filter_map(|line| {
            let cut = line.find(['=', ':'])?;
            let (key, value) = (line.get(..cut)?, line.get(cut + 1..)?);
            Some((key.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// A certificate for `localhost` and 127.0.0.1, with a new key: Java's test mode.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(rustls_error)?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key)))
}

pub(super) fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_bounded(path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(path, error))?;
    if chain.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE section"));
    }
    Ok(chain)
}

pub(super) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_bounded(path)?;
    if bytes
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|window| window == b"ENCRYPTED PRIVATE KEY")
    {
        return Err(TlsError::EncryptedKey { path: path.to_owned() });
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| pem_error(path, error))
}

pub(super) fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in load_chain(path)? {
        roots.add(certificate).map_err(|error| pem_error(path, error))?;
    }
    Ok(roots)
}

fn pem_error(path: &Path, error: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_error = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(TLS_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > TLS_FILE_BYTES_MAX {
        return Err(TlsError::TooLarge { path: path.to_owned() });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_javas_permissive_test_mode() {
        let settings = TlsSettings::resolve(&BTreeMap::new(), &BTreeMap::new());
        assert_eq!(settings.mode, TlsMode::Permissive);
        assert!(settings.test_mode);
        assert!(!settings.client_enable);
        assert_eq!(settings.server_need_client_auth, ClientAuth::None);
    }

    #[test]
    fn the_file_overrides_all_but_the_mode_and_tls_enable() {
        let system = map(&[
            ("tls.server.mode", "enforcing"),
            ("tls.test.mode.enable", "true"),
            ("tls.server.certPath", "/system.pem"),
        ]);
        let file = map(&[
            ("tls.server.mode", "disabled"),
            ("tls.enable", "false"),
            ("tls.test.mode.enable", "false"),
            ("tls.server.certPath", "/file.pem"),
            ("tls.server.need.client.auth", "REQUIRE"),
        ]);
        let settings = TlsSettings::resolve(&system, &file);
        assert_eq!(settings.mode, TlsMode::Enforcing);
        // Enforcing turns our own outgoing TLS on, as Java's NettyClientConfig does.
        assert!(settings.client_enable);
        assert!(!settings.test_mode);
        assert_eq!(settings.server_cert_path, Some(PathBuf::from("/file.pem")));
        assert_eq!(settings.server_need_client_auth, ClientAuth::Require);
    }

    #[test]
    fn unknown_settings_are_reported() {
        let error = TlsSettings::from_properties(&map(&[("tls.server.mod", "enforcing")]));
        assert!(matches!(error, Err(TlsError::UnknownSetting { name }) if name == "tls.server.mod"));
    }

    #[test]
    fn properties_lines_parse_as_java_writes_them() {
        let parsed = parse_properties("# comment\n! also\n\ntls.a = x\ntls.b:y\n  tls.c=p=q\nnoseparator\n");
        assert_eq!(parsed, map(&[("tls.a", "x"), ("tls.b", "y"), ("tls.c", "p=q")]));
    }

    #[test]
    fn test_mode_serves_a_self_signed_certificate() {
        let settings = TlsSettings::resolve(&map(&[("tls.server.mode", "enforcing")]), &BTreeMap::new());
        let server = settings.server();
        assert!(
            matches!(&server, Ok(tls) if tls.mode() == TlsMode::Enforcing),
            "{server:?}"
        );
    }

    #[test]
    fn files_are_required_out_of_test_mode_and_encrypted_keys_are_refused() {
        let no_files = TlsSettings::resolve(&map(&[("tls.test.mode.enable", "false")]), &BTreeMap::new());
        assert!(matches!(
            no_files.server(),
            Err(TlsError::Missing("tls.server.certPath", _))
        ));
        let dir = std::env::temp_dir().join(format!("ferrocket-tls-settings-{}", std::process::id()));
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let key = dir.join("encrypted.pem");
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(std::fs::write(&key, encrypted).is_ok());
        assert!(matches!(load_key(&key), Err(TlsError::EncryptedKey { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
