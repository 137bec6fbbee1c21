//! Reads a Java `broker.conf` (a properties file) so an existing one works unchanged.
//!
//! Only the keys the current broker uses are applied; every other key is reported once, so an
//! operator sees what is not honoured yet instead of having it silently ignored.

use std::path::Path;

use anyhow::{Context, bail};

/// A broker.conf is a few kilobytes; refuse anything absurd before reading it.
const CONF_BYTES_MAX: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConf {
    pub host: String,
    pub listen_port: u16,
}

pub fn load(path: &Path) -> anyhow::Result<BrokerConf> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > CONF_BYTES_MAX {
        bail!(
            "{} is {size} bytes; a broker.conf is at most {CONF_BYTES_MAX}",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<BrokerConf> {
    let mut conf = BrokerConf {
        host: "0.0.0.0".into(),
        listen_port: super::BROKER_PORT,
    };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            bail!("line {}: expected key=value", number + 1);
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "listenPort" => conf.listen_port = value.parse().with_context(|| format!("listenPort {value:?}"))?,
            _ => tracing::warn!(key, "broker.conf key not supported yet; ignored"),
        }
    }
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_properties_and_rejects_garbage() {
        let conf = parse("# comment\nbrokerClusterName = DefaultCluster\nlistenPort=10921\n").unwrap();
        assert_eq!(conf.listen_port, 10921);
        assert!(parse("listenPort=99999").is_err());
        assert!(parse("just words").is_err());
    }
}
