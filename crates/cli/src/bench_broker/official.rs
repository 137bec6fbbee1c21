//! The official benchmark Producer and Consumer (`org.apache.rocketmq.example.benchmark.*` from
//! rocketmq-example, on the 5.3.3 client's classpath) driving a broker through its name server:
//! the figures a RocketMQ operator knows. A Producer run sends a fixed count with `-w` threads and
//! `-s`-byte bodies and reports the `[Complete]` line's send TPS; failures must be zero. A
//! Consumer run is a fresh group catching up a backlog; the Consumer never ends by itself, so it is
//! stopped once its report shows the backlog drained.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::sides::{Side, spawn};

/// A run that has not finished after this long is stuck (a count is sized for seconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The Consumer's push threads (`-w`, its own default).
const CONSUMER_THREADS: usize = 20;

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
    /// `Send Failed` plus `Response Failed`: sends the benchmark gave up on (timeouts, a busy
    /// broker); a measured run must have none, a backlog tolerates a few.
    pub failed: u64,
}

impl OfficialProducer {
    /// Sends `messages` of `body_bytes` from `threads` threads to `side`'s topic.
    pub async fn run(
        &self,
        side: &Side,
        topic: &str,
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
                .args(["-n", namesrv, "-t", topic])
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

/// One Consumer run: a fresh group reading a topic's backlog from its first message.
#[derive(Debug, Clone, Copy)]
pub struct CatchUp {
    /// The highest `Consume TPS` the Consumer printed: its rate over the last 9 s, so while the
    /// backlog lasts longer than that, the steady catch-up rate.
    pub peak_tps: u64,
    /// From the process start until the report shows nothing consumed any more, less the 9 s
    /// window that report covers: JVM start and rebalance included.
    pub drained_after: Duration,
}

impl OfficialProducer {
    /// Starts the official Consumer as group `group` on `topic` (a group new to the broker starts
    /// at the first message while the backlog is in memory, as Java's broker answers) and stops it
    /// once it has consumed something and then reports a window with nothing consumed.
    pub async fn catch_up(&self, side: &Side, topic: &str, group: &str, work_dir: &Path) -> anyhow::Result<CatchUp> {
        let namesrv = side
            .namesrv_addr
            .as_deref()
            .context("the official consumer needs a name server")?;
        let log_name = format!("official-consumer-{group}");
        let log = work_dir.join(format!("{log_name}.log"));
        let mut child = spawn(
            Command::new(&self.java_bin)
                .args(["-Xms256m", "-Xmx256m", "-cp", &self.classpath])
                .arg("org.apache.rocketmq.example.benchmark.Consumer")
                .args(["-n", namesrv, "-t", topic, "-g", group])
                .args(["-w", &CONSUMER_THREADS.to_string(), "-ri", "1000"]),
            work_dir,
            &log_name,
        )?;
        let started = tokio::time::Instant::now();
        let outcome = loop {
            tokio::time::sleep(POLL_INTERVAL).await;
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(peak_tps) = drained(&output) {
                break Ok(CatchUp {
                    peak_tps,
                    drained_after: started.elapsed().saturating_sub(CONSUMER_WINDOW),
                });
            }
            if let Some(status) = child.try_wait()? {
                break Err(anyhow::anyhow!(
                    "the official consumer exited {status}: see {}",
                    log.display()
                ));
            }
            if started.elapsed() > RUN_TIMEOUT {
                break Err(anyhow::anyhow!(
                    "the official consumer did not drain {topic} in {RUN_TIMEOUT:?} (log {})",
                    log.display()
                ));
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        outcome
    }
}

/// The span the Consumer's `Consume TPS` is computed over (ten snapshots a second apart).
const CONSUMER_WINDOW: Duration = Duration::from_secs(9);

/// The peak `Consume TPS` once a report after a non-zero one shows zero (the backlog drained);
/// `None` while it is still consuming or has not started.
fn drained(output: &str) -> Option<u64> {
    let mut peak = 0;
    for line in output.lines() {
        let Some(rest) = line
            .split(" | ")
            .find_map(|part| part.trim().strip_prefix("Consume TPS:"))
        else {
            continue;
        };
        let Ok(tps) = rest.trim().parse::<u64>() else {
            continue;
        };
        if tps == 0 && peak > 0 {
            return Some(peak);
        }
        peak = peak.max(tps);
    }
    None
}

/// `[Complete] Send Total: N | Send TPS: T | Max RT(ms): M | Average RT(ms): A | Send Failed:
/// F | Response Failed: R`.
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
    Ok(OfficialRun {
        sent: field("[Complete] Send Total:")?.parse()?,
        tps: field("Send TPS:")?.parse()?,
        average_rt_ms: field("Average RT(ms):")?.parse()?,
        failed: failed.saturating_add(response_failed),
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
        assert_eq!(run.failed, 0);
        let failed = ok.replace(
            "Send Failed: 0 | Response Failed: 0\n",
            "Send Failed: 3 | Response Failed: 1\n",
        );
        assert_eq!(parse_complete(&failed).unwrap().failed, 4);
        assert!(parse_complete("nothing").is_err());
    }

    #[test]
    fn the_backlog_counts_as_drained_only_after_consuming() {
        let line = |tps: u64| {
            format!(
                "Current Time: 2026-12-07 09:30:00,000 | Consume TPS: {tps} | AVG(B2C) RT(ms): 1.000 | AVG(S2C) RT(ms): 1.000 | MAX(B2C) RT(ms): 9 | MAX(S2C) RT(ms): 9 | Consume Fail: 0\n"
            )
        };
        let starting = format!("Consumer Started.\n{}", line(0));
        assert_eq!(
            drained(&starting),
            None,
            "zero before anything was consumed is the start"
        );
        let consuming = format!("{starting}{}{}", line(41_000), line(52_000));
        assert_eq!(drained(&consuming), None);
        assert_eq!(drained(&format!("{consuming}{}{}", line(3_000), line(0))), Some(52_000));
    }
}
