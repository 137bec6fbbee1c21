//! Reading, checking and printing the config files of the command line: a Java `namesrv.conf`
//! and `broker.conf` (the broker's keys and the gRPC endpoint's in one file), `--check-config`
//! and `--print-config`, and the announced address a broker takes when its file names none.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use ferrocket_broker::BrokerConfig;
use ferrocket_grpc::GrpcSettings;
use ferrocket_namesrv::NamesrvConfig;

use crate::{config_check, hosts};

pub fn load_namesrv_config(path: &Path) -> anyhow::Result<ferrocket_namesrv::config::ConfigFile> {
    let text = read_config_text(path)?;
    let file = NamesrvConfig::from_properties(&text).with_context(|| format!("in {}", path.display()))?;
    for key in &file.keys_without_effect {
        tracing::warn!(key, "name server setting has no effect in ferrocket; ignored");
    }
    for key in &file.unknown_keys {
        tracing::warn!(
            key,
            "unknown name server setting; ignored (--check-config names the closest known key)"
        );
    }
    Ok(file)
}

/// A config file's text, refused when absurdly large.
pub fn read_config_text(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > BROKER_CONF_BYTES_MAX {
        bail!(
            "{} is {size} bytes; a config file is at most {BROKER_CONF_BYTES_MAX}",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn read_properties(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = read_config_text(path)?;
    ferrocket_wire::properties_text::parse(&text).with_context(|| format!("in {}", path.display()))
}

/// `--check-config`: every problem as `file:line: message` on stdout; then, when every line is
/// good, `whole` checks what spans lines (a commit log outside the store root). Fails when any.
pub fn check_config_file(
    path: &Path,
    sources: &[config_check::KeySource],
    whole: impl Fn(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let text = read_config_text(path)?;
    let problems = config_check::check(&text, sources);
    let mut report = String::new();
    for problem in &problems {
        report.push_str(&format!("{}:{}: {}\n", path.display(), problem.line, problem.message));
    }
    print_lines(&report);
    if !problems.is_empty() {
        bail!("{}: {} problem(s)", path.display(), problems.len());
    }
    whole(path)?;
    print_lines(&format!("{}: OK\n", path.display()));
    Ok(())
}

/// Writes `text` to stdout, ignoring a reader that went away (`println!` would panic).
pub fn print_lines(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// The gRPC endpoint's keys as `--print-config` shows them.
pub fn grpc_properties(settings: &GrpcSettings) -> String {
    format!(
        "enableTopicMessageTypeCheck={}\ngrpcServerEnable={}\ngrpcServerPort={}\nmaxDelayTimeMills={}\n",
        settings.check_message_type, settings.enabled, settings.port, settings.delay_ms_max
    )
}

/// A broker without a broker.conf: Java's defaults, announcing this host's address.
pub fn default_broker_config() -> BrokerConfig {
    let mut config = BrokerConfig::default();
    config.broker_ip1 = announced_for(&config);
    config
}

/// `brokerIP1` when the file has none: the bind address when specific, else this host's first
/// non-loopback address (Java's rule), so remote clients get a reachable address.
fn announced_for(config: &BrokerConfig) -> String {
    match config.listen_host.parse() {
        Ok(ip) => hosts::default_announced(ip),
        Err(_) => config.listen_host.clone(),
    }
}

/// A broker.conf is a few kilobytes; refuse anything absurd before reading it.
const BROKER_CONF_BYTES_MAX: u64 = 1024 * 1024;

/// The broker's settings and the gRPC endpoint's, both from one broker.conf.
pub fn load_broker_config(path: &Path) -> anyhow::Result<(BrokerConfig, GrpcSettings)> {
    let properties = read_properties(path)?;
    let announced_given = properties.iter().any(|(key, _)| key == "brokerIP1");
    let (grpc, broker): (Vec<_>, Vec<_>) = properties
        .into_iter()
        .partition(|(key, _)| ferrocket_grpc::settings::KEYS.contains(&key.as_str()));
    let grpc = GrpcSettings::from_entries(grpc.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .with_context(|| format!("in {}", path.display()))?;
    let mut broker = BrokerConfig::from_properties(&broker).with_context(|| format!("in {}", path.display()))?;
    if !announced_given {
        broker.broker_ip1 = announced_for(&broker);
    }
    Ok((broker, grpc))
}
