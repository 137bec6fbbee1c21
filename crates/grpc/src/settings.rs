//! The proxy's own keys, read from the same `broker.conf` as the broker's (our endpoint lives in
//! the broker's process, where Java's local-mode proxy reads them from `rmq-proxy.json`). The
//! command line takes these entries out before the broker reads the rest.

use std::net::SocketAddr;

use crate::send::SendLimits;
use crate::server::GrpcConfig;
use crate::service::ServiceOptions;

/// Java's `grpcServerPort` default, the local-mode proxy's port.
pub const GRPC_PORT_DEFAULT: u16 = 8081;

/// Every key read here; the broker never sees them.
pub const KEYS: &[&str] = &[
    "grpcServerPort",
    "grpcServerEnable",
    "enableTopicMessageTypeCheck",
    "maxDelayTimeMills",
];

/// The endpoint's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcSettings {
    /// Ours: false serves no gRPC at all.
    pub enabled: bool,
    pub port: u16,
    pub check_message_type: bool,
    pub delay_ms_max: i64,
}

impl Default for GrpcSettings {
    fn default() -> GrpcSettings {
        GrpcSettings {
            enabled: true,
            port: GRPC_PORT_DEFAULT,
            check_message_type: true,
            delay_ms_max: crate::send::DELIVERY_DELAY_MS_MAX,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{key}={value}: {reason}")]
pub struct SettingError {
    pub key: String,
    pub value: String,
    pub reason: &'static str,
}

fn parse_bool(key: &str, value: &str) -> Result<bool, SettingError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SettingError {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: "expected true or false",
        }),
    }
}

impl GrpcSettings {
    /// Applies the entries whose key is in [`KEYS`]; the others are left for the broker.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<GrpcSettings, SettingError> {
        let mut settings = GrpcSettings::default();
        for (key, value) in entries {
            let bad = |reason| SettingError {
                key: key.to_owned(),
                value: value.to_owned(),
                reason,
            };
            match key {
                "grpcServerPort" => {
                    settings.port = value.trim().parse().map_err(|_| bad("expected a port, 0 to 65535"))?
                }
                "grpcServerEnable" => settings.enabled = parse_bool(key, value)?,
                "enableTopicMessageTypeCheck" => settings.check_message_type = parse_bool(key, value)?,
                "maxDelayTimeMills" => {
                    settings.delay_ms_max = value.trim().parse().map_err(|_| bad("expected milliseconds"))?
                }
                _ => {}
            }
        }
        Ok(settings)
    }

    /// The server configuration on `host`; `tls` false serves plaintext only.
    pub fn server_config(&self, host: &str, tls: bool) -> Result<GrpcConfig, String> {
        let listen: SocketAddr = format!("{host}:{}", self.port)
            .parse()
            .map_err(|error| format!("gRPC listen address {host}:{}: {error}", self.port))?;
        Ok(GrpcConfig {
            listen,
            tls,
            options: ServiceOptions {
                advertised_port: self.port,
                limits: SendLimits {
                    delay_ms_max: self.delay_ms_max,
                    ..SendLimits::default()
                },
                check_message_type: self.check_message_type,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_and_checked() {
        let settings = GrpcSettings::from_entries([
            ("grpcServerPort", "18081"),
            ("grpcServerEnable", "false"),
            ("listenPort", "1"),
        ]);
        assert_eq!(
            settings,
            Ok(GrpcSettings {
                enabled: false,
                port: 18081,
                ..GrpcSettings::default()
            })
        );
        assert!(GrpcSettings::from_entries([("grpcServerPort", "70000")]).is_err());
        assert!(GrpcSettings::from_entries([("grpcServerEnable", "yes")]).is_err());
    }
}
