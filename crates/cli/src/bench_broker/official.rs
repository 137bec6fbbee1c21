//! The official benchmark Producer (`org.apache.rocketmq.example.benchmark.Producer` from
//! rocketmq-example, on the 5.3.3 client's classpath) driving a broker through its name server:
//! the figure a RocketMQ operator knows. Each run sends a fixed count with `-w` threads and
//! `-s`-byte bodies and reports the `[Complete]` line's send TPS; failures must be zero.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::load::TOPIC;
use super::sides::{Side, spawn};

/// A run that has not finished after this long is stuck (a count is sized for seconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Where the benchmark comes from.
#[derive(Debug, Clone)]
pub struct OfficialProducer {
    pub java_bin: PathBuf,
    /// The 5.3.3 classpath (the brokers' carries the client) with rocketmq-example's jar.
    pub classpath: String,
}

/// One run's result.
#[derive(Debug, Clone, Copy)]
pub struct OfficialRun {
    pub sent: u64,
    /// As the benchmark computes it.
    pub tps: f64,
    pub average_rt_ms: f64,
}

impl OfficialProducer {
    /// Sends `messages` of `body_bytes` from `threads` threads to `side`'s topic.
    pub async fn run(
        &self,
        side: &Side,
        threads: usize,
        body_bytes: usize,
        messages: u64,
        work_dir: &Path,
    ) -> anyhow::Result<OfficialRun> {
        let namesrv = side
            .namesrv_addr
            .as_deref()
            .context("the official producer needs a name server")?;
        let log = work_dir.join(format!("official-producer-{}.log", std::process::id()));
        let log_name = log
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("official-producer")
            .to_owned();
        let mut child = spawn(
            Command::new(&self.java_bin)
                .args(["-Xms256m", "-Xmx256m", "-cp", &self.classpath])
                .arg("org.apache.rocketmq.example.benchmark.Producer")
                .args(["-n", namesrv, "-t", TOPIC])
                .args(["-w", &threads.to_string(), "-s", &body_bytes.to_string()])
                .args(["-q", &messages.to_string(), "-k", "true"]),
            work_dir,
            &log_name,
        )?;
        let started = tokio::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the official producer did not finish in {RUN_TIMEOUT:?} (log {})",
                    log.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        };
        let output = std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
        ensure!(
            status.success(),
            "the official producer exited {status}: see {}",
            log.display()
        );
        parse_complete(&output).with_context(|| format!("no [Complete] line in {}", log.display()))
    }
}

/// `[Complete] Send Total: N | Send TPS: T | Max RT(ms): M | Average RT(ms): A | Send Failed:
/// F | Response Failed: R`, with F and R zero.
fn parse_complete(output: &str) -> anyhow::Result<OfficialRun> {
    let line = output
        .lines()
        .rev()
        .find(|line| line.contains("[Complete] Send Total:") && line.contains("Send TPS:"))
        .context("no [Complete] line")?;
    let field = |name: &str| -> anyhow::Result<&str> {
        let rest = line
            .split(" | ")
            .find_map(|part| part.trim().strip_prefix(name))
            .with_context(|| format!("no {name} in {line:?}"))?;
        Ok(rest.trim())
    };
    let failed: u64 = field("Send Failed:")?.parse()?;
    let response_failed: u64 = field("Response Failed:")?.parse()?;
    ensure!(failed == 0 && response_failed == 0, "sends failed: {line}");
    Ok(OfficialRun {
        sent: field("[Complete] Send Total:")?.parse()?,
        tps: field("Send TPS:")?.parse()?,
        average_rt_ms: field("Average RT(ms):")?.parse()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_complete_line_is_read_and_failures_refused() {
        let ok = "Current Time: 1 | Send TPS: 5 | Max RT(ms): 9 | Average RT(ms):   1.000 | Send Failed: 0 | Response Failed: 0\n\
                  [Complete] Send Total: 200000 | Send TPS: 25431 | Max RT(ms): 120 | Average RT(ms):   2.488 | Send Failed: 0 | Response Failed: 0\n";
        let run = parse_complete(ok).unwrap();
        assert_eq!(run.sent, 200_000);
        assert_eq!(run.tps, 25_431.0);
        assert!((run.average_rt_ms - 2.488).abs() < 1e-9);
        let failed = ok.replace(
            "Send Failed: 0 | Response Failed: 0\n",
            "Send Failed: 3 | Response Failed: 0\n",
        );
        assert!(parse_complete(&failed).is_err());
        assert!(parse_complete("nothing").is_err());
    }
}
