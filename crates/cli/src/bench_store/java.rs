//! The official Java store (rocketmq-store 5.3.3 `DefaultMessageStore`) as a child JVM for
//! `bench store`: `java -Xmx2g -cp <classpath> org.ferrocket.bench.store.StoreBench` (source in
//! interop/java/store-bench/), which takes one case per line on stdin
//! (`DIR BODY_BYTES ASYNC_FLUSH|SYNC_FLUSH WRITERS DURATION_MS READ(0|1)`), runs it on a fresh store
//! in DIR with its own writer threads, and answers one `STOREBENCH key=value ...` line on stdout.
//!
//! One JVM serves every case, so its JIT stays warm across cases as our process does; a warm-up
//! case, not reported, runs first. The JVM's other output (stderr, the store's chatter) goes to a
//! file in its temporary home, quoted when it fails. Killed, and its home removed, on drop.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use ferrocket_store::FlushDiskType;
use tempfile::TempDir;
use tokio::sync::mpsc;

use super::{AppendCase, CaseSpec, ReadPass};

const JAVA_MAIN_CLASS: &str = "org.ferrocket.bench.store.StoreBench";
/// A fixed heap ceiling, as a broker's start script would set; G1 is the JVM's default collector.
const JAVA_HEAP_MAX_ARG: &str = "-Xmx2g";
/// The store unmaps files through JDK internals (`UtilAll.cleanBuffer`), as the broker's scripts allow.
const JAVA_MODULE_ARGS: [&str; 3] = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
];
/// Beyond the case's own duration: JVM start (first case), store start, waiting for the consume
/// queues before a read pass (the JVM gives up after 60 s), and a shutdown that flushes.
const JAVA_CASE_SLACK: Duration = Duration::from_secs(180);
/// The warm-up case: long enough for the JIT to compile the append path.
const JAVA_WARMUP: Duration = Duration::from_secs(2);
const JAVA_WARMUP_BODY_BYTES: usize = 1024;
const JAVA_WARMUP_WRITERS: usize = 16;
/// What starts an answer line; anything else on stdout is the store's own chatter.
const ANSWER_PREFIX: &str = "STOREBENCH ";
/// Lines of the JVM's other output quoted when it fails.
const JAVA_OUTPUT_TAIL_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaStoreOptions {
    /// interop/java/store-bench/target/classes and the runtime classpath of rocketmq-store 5.3.3.
    pub classpath: String,
    pub java_bin: PathBuf,
}

/// The Java store's figures for the same cases, in the same order as ours.
#[derive(Debug, Clone, Default)]
pub struct JavaSide {
    pub appends: Vec<AppendCase>,
    pub read: Option<ReadPass>,
}

/// One case for the JVM: the same parameters as ours, a directory of its own.
struct JavaCase<'a> {
    dir: &'a Path,
    body_bytes: usize,
    flush: FlushDiskType,
    writers: usize,
    duration: Duration,
    read: bool,
}

/// The JVM, answering one case at a time; killed and its home removed on drop.
pub(super) struct JavaStore {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::UnboundedReceiver<String>,
    /// `user.home` and `ROCKETMQ_HOME` (the store's logs), and the JVM's other output.
    home: TempDir,
    /// What it measured so far.
    side: JavaSide,
}

impl JavaStore {
    /// Starts the JVM and runs the warm-up case in `scratch`.
    pub(super) async fn start(options: &JavaStoreOptions, scratch: &Path) -> anyhow::Result<JavaStore> {
        let home = tempfile::Builder::new()
            .prefix("ferrocket-bench-java-store-")
            .tempdir()
            .context("cannot create the Java store's home")?;
        let output = File::create(home.path().join("output.log")).context("cannot create the JVM's output file")?;
        let mut child = Command::new(&options.java_bin)
            .arg(JAVA_HEAP_MAX_ARG)
            .args(JAVA_MODULE_ARGS)
            .arg(format!("-Duser.home={}", home.path().display()))
            .arg(format!("-Drocketmq.home.dir={}", home.path().display()))
            .arg("-cp")
            .arg(&options.classpath)
            .arg(JAVA_MAIN_CLASS)
            .env("ROCKETMQ_HOME", home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot run {}", options.java_bin.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            bail!("the JVM's stdin or stdout is not a pipe");
        };
        let (sender, answers) = mpsc::unbounded_channel();
        // Ends at the JVM's exit (end of its stdout) or once nobody listens.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(answer) = line.strip_prefix(ANSWER_PREFIX)
                    && sender.send(answer.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let mut java = JavaStore {
            child,
            stdin,
            answers,
            home,
            side: JavaSide::default(),
        };
        let warmup_dir = scratch.join("java-warmup");
        java.run_case(&JavaCase {
            dir: &warmup_dir,
            body_bytes: JAVA_WARMUP_BODY_BYTES,
            flush: FlushDiskType::Async,
            writers: JAVA_WARMUP_WRITERS,
            duration: JAVA_WARMUP,
            read: false,
        })
        .await
        .context("the Java store's warm-up case")?;
        std::fs::remove_dir_all(&warmup_dir).with_context(|| format!("removing {}", warmup_dir.display()))?;
        Ok(java)
    }

    /// Runs `spec` for `duration` on a fresh store in `scratch` (removed after) and keeps the result.
    pub(super) async fn measure(
        &mut self,
        scratch: &Path,
        spec: CaseSpec,
        duration: Duration,
    ) -> anyhow::Result<&AppendCase> {
        let dir = scratch.join(format!(
            "java-store-{}-{:?}-{}",
            spec.body_bytes, spec.flush, spec.writers
        ));
        let (append, read) = self
            .run_case(&JavaCase {
                dir: &dir,
                body_bytes: spec.body_bytes,
                flush: spec.flush,
                writers: spec.writers,
                duration,
                read: spec.reads,
            })
            .await?;
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        if read.is_some() {
            self.side.read = read;
        }
        self.side.appends.push(append);
        self.side.appends.last().context("the case just measured is missing")
    }

    /// Everything measured; the JVM is stopped.
    pub(super) fn into_side(mut self) -> JavaSide {
        std::mem::take(&mut self.side)
    }

    /// Runs one case and waits for its answer.
    async fn run_case(&mut self, case: &JavaCase<'_>) -> anyhow::Result<(AppendCase, Option<ReadPass>)> {
        let line = case_line(case)?;
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .with_context(|| format!("the JVM stopped reading cases:\n{}", self.output_tail()))?;
        match tokio::time::timeout(case.duration + JAVA_CASE_SLACK, self.answers.recv()).await {
            Ok(Some(answer)) => parse_answer(&answer, case),
            Ok(None) => bail!("the JVM exited during a case:\n{}", self.output_tail()),
            Err(_) => bail!(
                "the JVM did not answer within {:?}:\n{}",
                case.duration + JAVA_CASE_SLACK,
                self.output_tail()
            ),
        }
    }

    fn output_tail(&self) -> String {
        let text = std::fs::read_to_string(self.home.path().join("output.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(JAVA_OUTPUT_TAIL_LINES);
        lines.into_iter().skip(skipped).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for JavaStore {
    fn drop(&mut self) {
        // Every case's store is shut down before it answers; nothing is left to flush.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `DIR BODY_BYTES FLUSH WRITERS DURATION_MS READ\n`; the JVM splits on white space.
fn case_line(case: &JavaCase<'_>) -> anyhow::Result<String> {
    let dir = case.dir.to_str().context("the store directory is not UTF-8")?;
    if dir.is_empty() || dir.contains(char::is_whitespace) {
        bail!("the Java side needs a store directory without white space, not {dir:?}");
    }
    let flush = match case.flush {
        FlushDiskType::Async => "ASYNC_FLUSH",
        FlushDiskType::Sync => "SYNC_FLUSH",
    };
    Ok(format!(
        "{dir} {} {flush} {} {} {}\n",
        case.body_bytes,
        case.writers,
        case.duration.as_millis(),
        u8::from(case.read)
    ))
}

/// `messages=.. failures=.. elapsed_ns=.. record_bytes=.. p50_us=.. p99_us=.. read_messages=..
/// read_bytes=.. read_ns=..` (read fields -1 without a read pass), or `error=...`.
fn parse_answer(answer: &str, case: &JavaCase<'_>) -> anyhow::Result<(AppendCase, Option<ReadPass>)> {
    let fields: Vec<(&str, &str)> = answer.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
    let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    if let Some(error) = get("error") {
        bail!("the Java store failed: {error}");
    }
    let number = |key: &str| -> anyhow::Result<i64> {
        let text = get(key).with_context(|| format!("no {key} in the JVM's answer {answer:?}"))?;
        text.parse()
            .with_context(|| format!("{key}={text} in the JVM's answer"))
    };
    let unsigned = |key: &str| -> anyhow::Result<u64> {
        u64::try_from(number(key)?).with_context(|| format!("{key} is negative in the JVM's answer"))
    };
    let append = AppendCase {
        body_bytes: case.body_bytes,
        flush: case.flush,
        writers: case.writers,
        messages: unsigned("messages")?,
        failures: unsigned("failures")?,
        elapsed: Duration::from_nanos(unsigned("elapsed_ns")?),
        record_bytes: unsigned("record_bytes")?,
        p50: Duration::from_micros(unsigned("p50_us")?),
        p99: Duration::from_micros(unsigned("p99_us")?),
    };
    let read = match number("read_messages")? {
        -1 => None,
        _ => Some(ReadPass {
            messages: unsigned("read_messages")?,
            bytes: unsigned("read_bytes")?,
            elapsed: Duration::from_nanos(unsigned("read_ns")?),
        }),
    };
    if append.elapsed.is_zero() || read.as_ref().is_some_and(|read| read.elapsed.is_zero()) {
        bail!("a zero elapsed time in the JVM's answer {answer:?}");
    }
    Ok((append, read))
}

/// Ours beside Java, case by case: throughput and p99 with ours/Java ratios.
pub(super) struct Comparison<'a> {
    pub(super) ours: &'a [AppendCase],
    pub(super) ours_read: Option<&'a ReadPass>,
    pub(super) java: &'a JavaSide,
}

impl fmt::Display for Comparison<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ours beside the Java store (rocketmq-store 5.3.3 DefaultMessageStore in one JVM, each case right after ours, same run):"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| body | flush | writers | ours msgs/s | java msgs/s | ours/java msgs/s | ours p99 µs | java p99 µs | ours/java p99 | java failed |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|")?;
        for (ours, java) in self.ours.iter().zip(&self.java.appends) {
            // µs, not ms: page-cache appends answer in a few µs.
            let ours_p99 = ours.p99.as_secs_f64() * 1e6;
            let java_p99 = java.p99.as_secs_f64() * 1e6;
            writeln!(
                f,
                "| {:>5} B | {:<5} | {:>3} | {:>10.0} | {:>10.0} | {:>5} | {:>6.0} | {:>6.0} | {:>5} | {} |",
                ours.body_bytes,
                flush_name(ours.flush),
                ours.writers,
                ours.messages_per_s(),
                java.messages_per_s(),
                ratio(ours.messages_per_s(), java.messages_per_s()),
                ours_p99,
                java_p99,
                ratio(ours_p99, java_p99),
                java.failures
            )?;
        }
        if let (Some(ours), Some(java)) = (self.ours_read, &self.java.read) {
            writeln!(f)?;
            writeln!(
                f,
                "page-cache reads: ours {:.0} msgs/s, java {:.0} msgs/s ({} messages, copied to the heap as the broker's default transferMsgByHeap), ours/java {}",
                ours.messages_per_s(),
                java.messages_per_s(),
                java.messages,
                ratio(ours.messages_per_s(), java.messages_per_s())
            )?;
        }
        Ok(())
    }
}

pub(super) fn flush_name(flush: FlushDiskType) -> &'static str {
    match flush {
        FlushDiskType::Async => "ASYNC",
        FlushDiskType::Sync => "SYNC",
    }
}

/// `ours / java` to two places, or `-` when Java's figure is zero (a p99 under 1 µs).
fn ratio(ours: f64, java: f64) -> String {
    if java > 0.0 {
        format!("{:.2}", ours / java)
    } else {
        "-".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    const ANSWER: &str = "messages=1000 failures=2 elapsed_ns=3000000000 record_bytes=1200000 p50_us=40 \
                          p99_us=900 read_messages=1000 read_bytes=1200000 read_ns=5000000";

    fn case(read: bool) -> JavaCase<'static> {
        JavaCase {
            dir: Path::new("/tmp/bench/java-store-1024-Async-16"),
            body_bytes: 1024,
            flush: FlushDiskType::Async,
            writers: 16,
            duration: Duration::from_secs(3),
            read,
        }
    }

    #[test]
    fn case_line_is_what_store_bench_parses() {
        assert_eq!(
            case_line(&case(true)).unwrap(),
            "/tmp/bench/java-store-1024-Async-16 1024 ASYNC_FLUSH 16 3000 1\n"
        );
        let mut sync = case(false);
        sync.flush = FlushDiskType::Sync;
        assert_eq!(
            case_line(&sync).unwrap(),
            "/tmp/bench/java-store-1024-Async-16 1024 SYNC_FLUSH 16 3000 0\n"
        );
    }

    #[test]
    fn case_line_refuses_a_directory_with_spaces() {
        let mut spaced = case(false);
        spaced.dir = Path::new("/tmp/my bench");
        assert!(case_line(&spaced).is_err());
    }

    #[test]
    fn answer_with_a_read_pass() {
        let (append, read) = parse_answer(ANSWER, &case(true)).unwrap();
        assert_eq!(append.messages, 1000);
        assert_eq!(append.failures, 2);
        assert_eq!(append.elapsed, Duration::from_secs(3));
        assert_eq!(append.record_bytes, 1_200_000);
        assert_eq!(append.p50, Duration::from_micros(40));
        assert_eq!(append.p99, Duration::from_micros(900));
        assert_eq!((append.body_bytes, append.writers), (1024, 16));
        let read = read.unwrap();
        assert_eq!((read.messages, read.bytes), (1000, 1_200_000));
        assert_eq!(read.elapsed, Duration::from_millis(5));
    }

    #[test]
    fn answer_without_a_read_pass() {
        let answer = ANSWER.replace(
            "read_messages=1000 read_bytes=1200000 read_ns=5000000",
            "read_messages=-1 read_bytes=-1 read_ns=-1",
        );
        let (_, read) = parse_answer(&answer, &case(false)).unwrap();
        assert!(read.is_none());
    }

    #[test]
    fn error_answer_is_an_error() {
        let err = parse_answer("error=java.lang.IllegalStateException:_load_failed", &case(false)).unwrap_err();
        assert!(err.to_string().contains("load_failed"), "{err}");
    }

    #[test]
    fn answer_cut_anywhere_is_an_error_not_a_panic() {
        // Cut before the last field's value is complete; every shorter prefix misses a field or a digit.
        let whole = ANSWER.len() - "5000000".len();
        for cut in 0..whole {
            assert!(parse_answer(&ANSWER[..cut], &case(true)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn ratio_of_a_zero_is_a_dash() {
        assert_eq!(ratio(3.0, 2.0), "1.50");
        assert_eq!(ratio(3.0, 0.0), "-");
    }

    #[test]
    fn negative_counts_are_errors() {
        assert!(parse_answer(&ANSWER.replace("messages=1000 ", "messages=-5 "), &case(true)).is_err());
        assert!(parse_answer(&ANSWER.replace("elapsed_ns=3000000000", "elapsed_ns=0"), &case(true)).is_err());
    }
}
