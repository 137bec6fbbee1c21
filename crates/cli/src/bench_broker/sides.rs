//! The servers `bench broker` drives, each a child process so its CPU time and memory can be read
//! from `/proc`: a do-nothing responder (`ferrocket bench responder`, the ceiling), our broker
//! (`ferrocket namesrv` + `ferrocket broker -c`), and the official Java 5.3.3 name server and
//! broker (from a Maven classpath). Every child listens on free loopback ports and keeps its
//! files in a temporary directory; dropping a side kills its processes and removes the files.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::time::Instant;

/// A cold JVM on a loaded 2-core machine takes several seconds to bind.
const START_TIMEOUT: Duration = Duration::from_secs(90);
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The same commit-log segment size on both brokers (Java's default 1 GiB is preallocated).
const SEGMENT_BYTES: u64 = 256 * 1024 * 1024;
/// The Java broker's heap: fixed, so its resident memory is part of the comparison.
const JAVA_BROKER_HEAP_ARGS: [&str; 2] = ["-Xms1g", "-Xmx1g"];
/// What JDK 17 needs opened for the 5.3.3 broker's direct buffers.
const JAVA_OPENS: [&str; 3] = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
];

/// Which server a side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideKind {
    Responder,
    Ferrocket,
    Java,
}

impl SideKind {
    pub fn name(self) -> &'static str {
        match self {
            SideKind::Responder => "do-nothing responder",
            SideKind::Ferrocket => "ferrocket",
            SideKind::Java => "java 5.3.3",
        }
    }
}

/// What the sides are started from.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Our binary (this one unless told otherwise).
    pub ferrocket_bin: PathBuf,
    pub java_bin: PathBuf,
    /// The runtime classpath of rocketmq-broker and rocketmq-namesrv 5.3.3; `None` skips Java.
    pub java_classpath: Option<String>,
    /// Every side in TLS enforcing mode (`-Dtls.server.mode=enforcing`, test-mode certificate).
    pub tls: bool,
    /// 5.x auth on in both brokers, with the load's user as the initial super user.
    pub acl: bool,
    /// Extra `key=value` lines appended to our broker's broker.conf.
    pub ferrocket_conf: Vec<String>,
}

impl Launch {
    /// The same broker.conf auth lines for both brokers (Java's provider class names, which
    /// ours accepts), or none.
    fn auth_conf(&self) -> String {
        if !self.acl {
            return String::new();
        }
        format!(
            "authenticationEnabled=true\nauthorizationEnabled=true\n\
             authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider\n\
             authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider\n\
             authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider\n\
             authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider\n\
             initAuthenticationUser={{\"username\":\"{}\",\"password\":\"{}\"}}\n",
            super::load::ACL_USER,
            super::load::ACL_SECRET
        )
    }

    /// The same `-D` settings for our servers and Java's JVMs.
    fn tls_settings(&self) -> Option<&'static str> {
        self.tls.then_some("-Dtls.server.mode=enforcing")
    }
}

/// One running server: its processes, the address load goes to, and the process measured.
pub struct Side {
    pub kind: SideKind,
    pub broker_addr: String,
    /// The brokers' name server (none for the responder), for clients that route.
    pub namesrv_addr: Option<String>,
    /// The broker (or responder) process; a separate name server is not measured.
    measured: Child,
    others: Vec<Child>,
    _home: TempDir,
}

impl Side {
    pub fn pid(&self) -> u32 {
        self.measured.id()
    }

    pub async fn start(kind: SideKind, launch: &Launch) -> anyhow::Result<Side> {
        let home = tempfile::Builder::new()
            .prefix("ferrocket-bench-broker-")
            .tempdir()
            .context("cannot create a side's directory")?;
        let side = match kind {
            SideKind::Responder => {
                let port = free_port()?;
                let child = spawn(
                    Command::new(&launch.ferrocket_bin)
                        .args(["bench", "responder", "--port", &port.to_string()])
                        .args(launch.tls.then_some("--tls")),
                    home.path(),
                    "responder",
                )?;
                Side::new(kind, port, None, child, Vec::new(), home)
            }
            SideKind::Ferrocket => start_ferrocket(launch, home)?,
            SideKind::Java => start_java(launch, home)?,
        };
        side.await_listening().await?;
        Ok(side)
    }

    fn new(
        kind: SideKind,
        port: u16,
        namesrv_port: Option<u16>,
        measured: Child,
        others: Vec<Child>,
        home: TempDir,
    ) -> Side {
        Side {
            kind,
            broker_addr: format!("127.0.0.1:{port}"),
            namesrv_addr: namesrv_port.map(|port| format!("127.0.0.1:{port}")),
            measured,
            others,
            _home: home,
        }
    }

    async fn await_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(&self.broker_addr).await.is_err() {
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on {} within {START_TIMEOUT:?}",
                    self.kind.name(),
                    self.broker_addr
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Ok(())
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.measured).chain(self.others.iter_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_ferrocket(launch: &Launch, home: TempDir) -> anyhow::Result<Side> {
    let (namesrv_port, broker_port) = (free_port()?, free_broker_port()?);
    let dir = home.path();
    let namesrv = spawn(
        Command::new(&launch.ferrocket_bin)
            .args([
                "namesrv",
                "--host",
                "127.0.0.1",
                "--port",
                &namesrv_port.to_string(),
                "--data-dir",
                &dir.join("namesrv").display().to_string(),
            ])
            .args(launch.tls_settings()),
        dir,
        "namesrv",
    )?;
    let conf = dir.join("broker.conf");
    let mut text = broker_conf(namesrv_port, broker_port, &dir.join("store")) + &launch.auth_conf();
    for line in &launch.ferrocket_conf {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))?;
    let broker = spawn(
        Command::new(&launch.ferrocket_bin)
            .args(["broker", "-c", &conf.display().to_string()])
            .args(launch.tls_settings()),
        dir,
        "broker",
    )?;
    Ok(Side::new(
        SideKind::Ferrocket,
        broker_port,
        Some(namesrv_port),
        broker,
        vec![namesrv],
        home,
    ))
}

fn start_java(launch: &Launch, home: TempDir) -> anyhow::Result<Side> {
    let Some(classpath) = &launch.java_classpath else {
        bail!("the Java side needs --java-classpath");
    };
    let (namesrv_port, broker_port) = (free_port()?, free_broker_port()?);
    let dir = home.path();
    let java = |main_class: &str, heap: &[&str], conf: &Path, name: &str| {
        spawn(
            Command::new(&launch.java_bin)
                .args(heap)
                .args(JAVA_OPENS)
                .arg(format!("-Duser.home={}", dir.display()))
                .args(launch.tls_settings())
                .args(["-cp", classpath, main_class, "-c"])
                .arg(conf)
                .env("ROCKETMQ_HOME", dir),
            dir,
            name,
        )
    };
    let namesrv_conf = dir.join("namesrv.conf");
    std::fs::write(
        &namesrv_conf,
        format!("listenPort={namesrv_port}\nbindAddress=127.0.0.1\n"),
    )?;
    let namesrv = java(
        "org.apache.rocketmq.namesrv.NamesrvStartup",
        &["-Xmx512m"],
        &namesrv_conf,
        "java-namesrv",
    )?;
    let broker_conf_path = dir.join("broker.conf");
    std::fs::write(
        &broker_conf_path,
        broker_conf(namesrv_port, broker_port, &dir.join("store")) + "timerWheelEnable=false\n" + &launch.auth_conf(),
    )?;
    let broker = java(
        "org.apache.rocketmq.broker.BrokerStartup",
        &JAVA_BROKER_HEAP_ARGS,
        &broker_conf_path,
        "java-broker",
    )?;
    Ok(Side::new(
        SideKind::Java,
        broker_port,
        Some(namesrv_port),
        broker,
        vec![namesrv],
        home,
    ))
}

/// The same `broker.conf` for both brokers: Java's defaults but for the ports, the store
/// directory and the segment size.
fn broker_conf(namesrv_port: u16, broker_port: u16, store: &Path) -> String {
    format!(
        "brokerClusterName=BenchCluster\nbrokerName=broker-bench\nbrokerId=0\nbrokerRole=ASYNC_MASTER\n\
         flushDiskType=ASYNC_FLUSH\nbrokerIP1=127.0.0.1\nlistenPort={broker_port}\n\
         namesrvAddr=127.0.0.1:{namesrv_port}\nstorePathRootDir={}\nmappedFileSizeCommitLog={SEGMENT_BYTES}\n\
         autoCreateTopicEnable=true\n",
        store.display()
    )
}

pub(super) fn spawn(command: &mut Command, dir: &Path, name: &str) -> anyhow::Result<Child> {
    let output = File::create(dir.join(format!("{name}.log"))).context("cannot create a process log")?;
    command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .spawn()
        .with_context(|| format!("cannot start {name}"))
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A free port whose successor (the HA port both brokers take) is free too.
fn free_broker_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let port = free_port()?;
        if port < u16::MAX && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no two consecutive free loopback ports")
}
