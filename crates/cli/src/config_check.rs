//! `--check-config` and the configuration reference (docs/configuration.md), from the same
//! tables the servers read their files with, so neither can drift from the code.
//!
//! A file is checked entry by entry, each problem with its line: a value its setting refuses
//! (the setting's own phrase says what it expected, with the range), a key no table knows (with
//! the closest known key), a key given twice, a line that does not parse. Every known key comes
//! from a [`KeySource`]; a new group of keys (another crate's settings) is one more source in
//! [`broker_sources`] or [`namesrv_sources`], and the reference test then asks for its rows.

use std::collections::BTreeMap;
#[cfg(test)]
use std::fmt::Write as _;

use ferrocket_broker::BrokerConfig;
use ferrocket_broker::config::{AUTH_SETTINGS, SETTINGS as BROKER_SETTINGS};
use ferrocket_grpc::GrpcSettings;
use ferrocket_namesrv::NamesrvConfig;
use ferrocket_namesrv::config::{ConfigFile, KEYS_WITHOUT_EFFECT, LISTEN_SETTINGS, SETTINGS as NAMESRV_SETTINGS};
use ferrocket_wire::properties_text::{NumberedEntry, parse_numbered};
use ferrocket_wire::settings::{Scope, Setting};

/// A value no setting accepts as anything but free text: its refusal is the phrase of what the
/// setting expects (its type and range).
const PROBE_VALUE: &str = "\u{1}?";

/// One known key, as the reference lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub key: &'static str,
    /// Where it comes from (the reference's section).
    pub group: &'static str,
    /// `runtime` (UPDATE_*_CONFIG may change it), `startup`, or `no effect`.
    pub scope: &'static str,
    pub default: String,
    /// What a value must be: the setting's own refusal phrase, or `any text`.
    pub expected: String,
}

/// Checks one key's value; `Err` says what was expected.
type Check = Box<dyn Fn(&str, &str) -> Result<(), String>>;

/// A group of keys: their reference rows and the check of each.
pub struct KeySource {
    pub keys: Vec<KnownKey>,
    check: Check,
}

/// A problem in a config file, at a line (0 when it belongs to no single line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// The keys of a `Setting` table over `C`, shown from `defaults`.
fn from_settings<C: Clone + 'static>(group: &'static str, table: &'static [Setting<C>], defaults: C) -> KeySource {
    let keys = table
        .iter()
        .map(|setting| KnownKey {
            key: setting.key,
            group,
            scope: match setting.scope {
                Scope::Runtime => "runtime",
                Scope::Startup => "startup",
            },
            default: (setting.show)(&defaults),
            expected: match (setting.set)(&mut defaults.clone(), PROBE_VALUE) {
                Err(expected) => expected,
                Ok(()) => "any text".to_owned(),
            },
        })
        .collect();
    let check = Box::new(
        move |key: &str, value: &str| match table.iter().find(|setting| setting.key == key) {
            Some(setting) => (setting.set)(&mut defaults.clone(), value.trim()),
            None => Ok(()),
        },
    );
    KeySource { keys, check }
}

/// The gRPC endpoint's keys (ferrocket-grpc reads them from the broker.conf).
fn grpc_source() -> KeySource {
    let defaults = GrpcSettings::default();
    let keys = ferrocket_grpc::settings::KEYS
        .iter()
        .map(|key| KnownKey {
            key,
            group: "gRPC endpoint",
            scope: "startup",
            default: grpc_default(key, &defaults),
            expected: match GrpcSettings::from_entries([(*key, PROBE_VALUE)]) {
                Err(error) => error.reason.trim_start_matches("expected ").to_owned(),
                Ok(_) => "any text".to_owned(),
            },
        })
        .collect();
    let check = Box::new(|key: &str, value: &str| {
        GrpcSettings::from_entries([(key, value)])
            .map(drop)
            .map_err(|error| error.reason.trim_start_matches("expected ").to_owned())
    });
    KeySource { keys, check }
}

/// A gRPC key's default as the file would write it.
fn grpc_default(key: &str, defaults: &GrpcSettings) -> String {
    match key {
        "grpcServerPort" => defaults.port.to_string(),
        "grpcServerEnable" => defaults.enabled.to_string(),
        "enableTopicMessageTypeCheck" => defaults.check_message_type.to_string(),
        "maxDelayTimeMills" => defaults.delay_ms_max.to_string(),
        _ => "?".to_owned(),
    }
}

/// Java name-server keys accepted and ignored.
fn namesrv_ignored_source() -> KeySource {
    let keys = KEYS_WITHOUT_EFFECT
        .iter()
        .map(|key| KnownKey {
            key,
            group: "name server, accepted without effect",
            scope: "no effect",
            default: String::new(),
            expected: "any text".to_owned(),
        })
        .collect();
    KeySource {
        keys,
        check: Box::new(|_, _| Ok(())),
    }
}

/// Every key a `broker.conf` may hold.
pub fn broker_sources() -> Vec<KeySource> {
    vec![
        from_settings("broker", BROKER_SETTINGS, BrokerConfig::default()),
        from_settings("broker authentication", AUTH_SETTINGS, BrokerConfig::default()),
        grpc_source(),
    ]
}

/// Every key a `namesrv.conf` may hold.
pub fn namesrv_sources() -> Vec<KeySource> {
    vec![
        from_settings("name server", NAMESRV_SETTINGS, NamesrvConfig::default()),
        from_settings("name server listener", LISTEN_SETTINGS, ConfigFile::default()),
        namesrv_ignored_source(),
    ]
}

/// Every problem of a config file's `text` against `sources`, in line order.
pub fn check(text: &str, sources: &[KeySource]) -> Vec<Problem> {
    let known: Vec<&str> = sources.iter().flat_map(|s| s.keys.iter().map(|k| k.key)).collect();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in parse_numbered(text) {
        let NumberedEntry { line, key, value } = match entry {
            Ok(entry) => entry,
            Err((line, error)) => {
                problems.push(Problem {
                    line,
                    message: format!("cannot read the line: {error}"),
                });
                continue;
            }
        };
        if let Some(first) = first_line.insert(key.clone(), line) {
            problems.push(Problem {
                line,
                message: format!("{key} is given again (first on line {first}); only the last value counts"),
            });
        }
        let source = sources.iter().find(|s| s.keys.iter().any(|k| k.key == key));
        let message = match source {
            Some(source) => match (source.check)(&key, &value) {
                Ok(()) => continue,
                Err(expected) => format!("{key}={value}: expected {expected}"),
            },
            None => match closest_key(&key, &known) {
                Some(close) => format!("unknown key {key}; did you mean {close}?"),
                None => format!("unknown key {key}"),
            },
        };
        problems.push(Problem { line, message });
    }
    problems
}

/// The known key nearest to a misspelt one: the same letters in another case, or within an
/// edit distance of about a third of its length.
pub fn closest_key<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&lower, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, _)| *distance <= (key.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
/// Where the store's default paths begin, written as `$HOME` in the reference.
fn home_prefix() -> Option<String> {
    std::env::var("HOME").ok().filter(|home| home.len() > 1)
}

#[cfg(test)]
/// docs/configuration.md: every key of both files with its type, default and range.
pub fn reference_markdown() -> String {
    let mut text = String::from(REFERENCE_PREAMBLE);
    for (title, sources) in [
        ("broker.conf (`ferrocket broker -c`)", broker_sources()),
        ("namesrv.conf (`ferrocket namesrv -c`)", namesrv_sources()),
    ] {
        let _ = writeln!(text, "\n## {title}\n");
        text.push_str("| Key | Set | Default | Value |\n|---|---|---|---|\n");
        let mut keys: Vec<&KnownKey> = sources.iter().flat_map(|s| s.keys.iter()).collect();
        keys.sort_by_key(|k| k.key);
        for key in keys {
            let mut default = key.default.clone();
            if let Some(home) = home_prefix()
                && let Some(rest) = default.strip_prefix(&home)
            {
                default = format!("$HOME{rest}");
            }
            // Defaults that depend on this host or on another key.
            match key.key {
                "brokerIP1" => default = "bindAddress, or the first non-loopback address".to_owned(),
                "brokerIP2" => default = "brokerIP1".to_owned(),
                "haListenPort" => default = "listenPort + 1".to_owned(),
                _ => {}
            }
            let default = if default.is_empty() {
                String::new()
            } else {
                format!("`{default}`")
            };
            let _ = writeln!(
                text,
                "| `{}` | {} | {} | {} |",
                key.key,
                key.scope,
                default.replace('|', "\\|"),
                key.expected.replace('|', "\\|")
            );
        }
    }
    text
}

#[cfg(test)]
const REFERENCE_PREAMBLE: &str = "# Configuration reference\n\n\
Generated from the settings tables by `FERROCKET_BLESS=1 cargo test -p ferrocket config_check`;\n\
a test fails when this file and the code differ. Files use Java's properties syntax, with\n\
Java's key names and defaults. `ferrocket broker -c broker.conf --check-config` (and `namesrv\n\
-c namesrv.conf --check-config`) reports every bad line; `--print-config` prints the effective\n\
values. *Set*: `startup` keys are read from the file only; `runtime` keys may also change with\n\
UPDATE_BROKER_CONFIG / UPDATE_NAMESRV_CONFIG (mqadmin `updateBrokerConfig`); `no effect` keys\n\
are Java keys accepted and ignored. `-Dtls.*` settings are command-line flags (docs/acl.md).\n";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn lines_and_messages(text: &str, sources: &[KeySource]) -> Vec<(usize, String)> {
        check(text, sources)
            .into_iter()
            .map(|problem| (problem.line, problem.message))
            .collect()
    }

    #[test]
    fn every_bad_line_is_reported_with_its_line() {
        let text = "# a broker\nbrokerName=broker-a\nlistenPort=70000\n\nbrokerNmae=b\nflushDiskType=SOMETIMES\n\
                    grpcServerPort=x\nbrokerName=broker-b\nwhollyUnrelatedThing=1\nauthenticationEnabled=maybe\n";
        let problems = lines_and_messages(text, &broker_sources());
        assert_eq!(
            problems,
            [
                (
                    3,
                    "listenPort=70000: expected a whole number from 0 to 65535".to_owned()
                ),
                (5, "unknown key brokerNmae; did you mean brokerName?".to_owned()),
                (
                    6,
                    "flushDiskType=SOMETIMES: expected ASYNC_FLUSH or SYNC_FLUSH".to_owned()
                ),
                (7, "grpcServerPort=x: expected a port, 0 to 65535".to_owned()),
                (
                    8,
                    "brokerName is given again (first on line 2); only the last value counts".to_owned()
                ),
                (9, "unknown key whollyUnrelatedThing".to_owned()),
                (10, "authenticationEnabled=maybe: expected true or false".to_owned()),
            ]
        );
    }

    #[test]
    fn a_good_file_has_no_problems() {
        let broker = "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=0\ndeleteWhen=04\n\
                      fileReservedTime=48\nbrokerRole=ASYNC_MASTER\nflushDiskType=ASYNC_FLUSH\ngrpcServerEnable=false\n";
        assert_eq!(lines_and_messages(broker, &broker_sources()), []);
        let namesrv = "listenPort=9877\nbindAddress=127.0.0.1\nrocketmqHome=/opt/rocketmq\norderMessageEnable=true\n";
        assert_eq!(lines_and_messages(namesrv, &namesrv_sources()), []);
        assert_eq!(
            lines_and_messages("listenport=1\nlistenPort=65536\n", &namesrv_sources()),
            [
                (1, "unknown key listenport; did you mean listenPort?".to_owned()),
                (
                    2,
                    "listenPort=65536: expected a whole number from 0 to 65535".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn every_key_has_a_default_and_an_expectation() {
        for source in broker_sources().iter().chain(&namesrv_sources()) {
            for key in &source.keys {
                assert_ne!(key.default, "?", "{key:?}: add its default to grpc_default");
                assert!(!key.expected.is_empty(), "{key:?}");
            }
        }
    }

    /// docs/configuration.md is this code's output; FERROCKET_BLESS=1 rewrites it.
    #[test]
    fn the_reference_matches_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let generated = reference_markdown();
        if std::env::var_os("FERROCKET_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == generated,
            "docs/configuration.md differs from the settings tables; regenerate it with \
             FERROCKET_BLESS=1 cargo test -p ferrocket config_check"
        );
    }
}
