//! The official Java name server (rocketmq-namesrv 5.3.3) as a child JVM for `bench namesrv`:
//! `java -Xmx512m -cp <classpath> org.apache.rocketmq.namesrv.NamesrvStartup -c namesrv.conf`,
//! with `listenPort` a free loopback port and `ROCKETMQ_HOME` / `user.home` (logs, KV file) in a
//! temporary directory. Ready once its port accepts; killed, and its directory removed, on drop.

use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::time::Instant;

use super::JavaNamesrvOptions;

const JAVA_MAIN_CLASS: &str = "org.apache.rocketmq.namesrv.NamesrvStartup";
/// A fixed heap ceiling: the JVM's resident memory follows it, so it is part of the comparison.
const JAVA_HEAP_MAX_ARG: &str = "-Xmx512m";
/// A cold JVM on a loaded 2-core machine takes several seconds to bind.
const JAVA_START_TIMEOUT: Duration = Duration::from_secs(60);
const JAVA_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Lines of the JVM's output quoted when it fails to start.
const JAVA_OUTPUT_TAIL_LINES: usize = 20;

/// The Java name server as a child JVM, killed and its files removed on drop.
pub(super) struct JavaNamesrv {
    child: Child,
    pub(super) addr: String,
    /// `ROCKETMQ_HOME` and `user.home` (logs, kvConfig.json), and the JVM's output.
    home: TempDir,
}

impl JavaNamesrv {
    pub(super) async fn start(options: &JavaNamesrvOptions) -> anyhow::Result<JavaNamesrv> {
        let home = tempfile::Builder::new()
            .prefix("ferrocket-bench-java-namesrv-")
            .tempdir()
            .context("cannot create the Java name server's home")?;
        let port = free_loopback_port()?;
        let conf = home.path().join("namesrv.conf");
        std::fs::write(&conf, format!("listenPort={port}\nbindAddress=127.0.0.1\n"))
            .with_context(|| format!("cannot write {}", conf.display()))?;
        let output = File::create(home.path().join("output.log")).context("cannot create the JVM's output file")?;
        let child = Command::new(&options.java_bin)
            .arg(JAVA_HEAP_MAX_ARG)
            .arg(format!("-Duser.home={}", home.path().display()))
            .arg("-cp")
            .arg(&options.classpath)
            .arg(JAVA_MAIN_CLASS)
            .arg("-c")
            .arg(&conf)
            .env("ROCKETMQ_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot run {}", options.java_bin.display()))?;
        let mut java = JavaNamesrv {
            child,
            addr: format!("127.0.0.1:{port}"),
            home,
        };
        java.wait_until_listening().await?;
        Ok(java)
    }

    async fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + JAVA_START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the Java name server exited ({status}) before listening:\n{}",
                    self.output_tail()
                );
            }
            if tokio::net::TcpStream::connect(&self.addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "the Java name server did not listen on {} within {JAVA_START_TIMEOUT:?}:\n{}",
                    self.addr,
                    self.output_tail()
                );
            }
            tokio::time::sleep(JAVA_POLL_INTERVAL).await;
        }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn output_tail(&self) -> String {
        let text = std::fs::read_to_string(self.home.path().join("output.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(JAVA_OUTPUT_TAIL_LINES);
        lines.into_iter().skip(skipped).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for JavaNamesrv {
    fn drop(&mut self) {
        // A bench child has nothing to flush; the home directory goes with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port the OS reports free on 127.0.0.1. Another process could take it before the JVM binds;
/// the JVM then fails to start and says so.
fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
