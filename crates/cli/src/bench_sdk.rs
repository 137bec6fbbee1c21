//! `ferrocket bench producer` and `ferrocket bench consumer`: the SDK's (crates/client) own
//! benchmark against any name server and broker, ours or Java's.
//!
//! Both measure what an application sees through the SDK's public API and nothing else:
//! - producer: `threads` tasks each loop on a synchronous `Producer::send` (Java's benchmark
//!   Producer runs `-w` threads doing the same) for `--seconds` after `--warmup-seconds`;
//!   sends/s, send latency percentiles, and this process's CPU time per message;
//! - consumer: a push consumer in a fresh group reads the topic's backlog from its first offset
//!   with at most `threads` messages in the listener at once (Java's `consumeThreadMax`) until it
//!   has `--messages`; msgs/s and CPU per message from the first message to the last, so start-up
//!   and the first rebalance are not counted.
//!
//! CPU time is `utime + stime` of `/proc/self/stat`: every thread of this process, the runtime's
//! and the SDK's timers included, which is what a client costs its host. Each case also prints one
//! `RESULT` line (`key=value` pairs) that interop/rust-client/bench.sh reads and sets beside the
//! Java 5.3.3 client's (interop/rust-client/SdkBench.java prints the same line).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::Args;
use ferrocket_client::{
    ClientOptions, ConsumeOutcome, Message, Producer, ProducerOptions, PushConsumer, PushConsumerOptions,
    ReceivedMessage, StartFrom,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::bench_namesrv::proc_stats::cpu_time;
use crate::bench_net::percentile;

/// Latency samples kept per sending task; later sends are counted but not sampled.
const SAMPLES_PER_SENDER_MAX: usize = 200_000;
/// Bounds that keep a mistyped option from running for hours or exhausting memory.
const THREADS_MAX: usize = 1024;
const SECONDS_MAX: u64 = 3600;
/// Java's default `maxMessageSize`.
const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// How often the consumer case looks at its progress.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

/// Flags shared by both modes; names follow rocketmq-example's benchmark (`-n -t -w -s`).
#[derive(Args, Debug, Clone)]
pub struct SdkBenchArgs {
    /// Name server address(es), `;`-separated.
    #[arg(short = 'n', long = "namesrv", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// The topic to send to or consume.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Thread counts, one case each: concurrent sending tasks, or messages in the listener at once.
    #[arg(short = 'w', long, value_delimiter = ',', default_value = "1,8,64")]
    pub threads: Vec<usize>,
    /// Message body size in bytes (producer).
    #[arg(short = 's', long, default_value_t = 128)]
    pub body_bytes: usize,
    /// Measured seconds per producer case.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Unmeasured sends before each producer case (route lookup, connection, allocator).
    #[arg(long, default_value_t = 2)]
    pub warmup_seconds: u64,
    /// Producer: stop after this many sends instead of after `--seconds` (to fill a backlog).
    /// Consumer: messages each case reads (the backlog's size; default 100000).
    #[arg(long)]
    pub messages: Option<u64>,
    /// Consumer: a case ends after this many seconds without a new message.
    #[arg(long, default_value_t = 10)]
    pub idle_seconds: u64,
    /// Producer group, or the consumer groups' prefix (a fresh group per case).
    #[arg(short = 'g', long, default_value = "ferrocket_bench")]
    pub group: String,
    /// A label for the `RESULT` lines, e.g. the broker's name.
    #[arg(long, default_value = "-")]
    pub broker: String,
}

impl SdkBenchArgs {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(!self.threads.is_empty(), "--threads needs at least one count");
        for &threads in &self.threads {
            ensure!(
                (1..=THREADS_MAX).contains(&threads),
                "--threads {threads}: 1..={THREADS_MAX}"
            );
        }
        ensure!(
            (1..=BODY_BYTES_MAX).contains(&self.body_bytes),
            "--body-bytes {}: 1..={BODY_BYTES_MAX}",
            self.body_bytes
        );
        ensure!(
            (1..=SECONDS_MAX).contains(&self.seconds),
            "--seconds {}: 1..={SECONDS_MAX}",
            self.seconds
        );
        ensure!(
            self.warmup_seconds <= SECONDS_MAX,
            "--warmup-seconds: at most {SECONDS_MAX}"
        );
        ensure!(
            (1..=SECONDS_MAX).contains(&self.idle_seconds),
            "--idle-seconds: 1..={SECONDS_MAX}"
        );
        ensure!(self.messages != Some(0), "--messages must be at least 1");
        Ok(())
    }
}

/// What one sending task saw.
#[derive(Default)]
struct SenderTally {
    sent: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

/// Runs every producer case and prints a line per case.
pub async fn run_producer(args: SdkBenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let options = ProducerOptions::new(ClientOptions::new(&args.namesrv), &args.group);
    let producer = Arc::new(Producer::start(options).context("cannot start the producer")?);
    // A fixed, incompressible-looking body of the asked size, shared by every send.
    let body: bytes::Bytes = (0..args.body_bytes)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    for &threads in &args.threads {
        if args.warmup_seconds > 0 && args.messages.is_none() {
            let warmup = Duration::from_secs(args.warmup_seconds);
            send_for(&producer, &args.topic, &body, threads, Some(warmup), None).await?;
        }
        let cpu_before = cpu_time(None);
        let started = Instant::now();
        let tally = send_for(
            &producer,
            &args.topic,
            &body,
            threads,
            args.messages.is_none().then(|| Duration::from_secs(args.seconds)),
            args.messages,
        )
        .await?;
        let elapsed = started.elapsed();
        let cpu = cpu_before
            .zip(cpu_time(None))
            .and_then(|(before, after)| after.checked_sub(before));
        let mut sorted = tally.latencies_us;
        sorted.sort_unstable();
        let rate = tally.sent as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "RESULT client=sdk mode=producer broker={} threads={threads} body={} msgs={} failed={} seconds={:.2} \
             msgs_per_s={rate:.0} p50_us={} p99_us={} p999_us={} cpu_us_per_msg={}",
            args.broker,
            args.body_bytes,
            tally.sent,
            tally.failed,
            elapsed.as_secs_f64(),
            percentile(&sorted, 50).as_micros(),
            percentile(&sorted, 99).as_micros(),
            permille(&sorted, 999).as_micros(),
            cpu_per_message(cpu, tally.sent),
        );
    }
    producer.shutdown().await;
    Ok(())
}

/// `threads` tasks sending until `duration` passes or `messages` are sent (whichever is given).
async fn send_for(
    producer: &Arc<Producer>,
    topic: &str,
    body: &bytes::Bytes,
    threads: usize,
    duration: Option<Duration>,
    messages: Option<u64>,
) -> anyhow::Result<SenderTally> {
    let deadline = duration.map(|duration| Instant::now() + duration);
    let tickets = Arc::new(AtomicU64::new(messages.unwrap_or(u64::MAX)));
    let mut senders = JoinSet::new();
    for _ in 0..threads {
        let producer = Arc::clone(producer);
        let tickets = Arc::clone(&tickets);
        let message = Message::new(topic, body.clone());
        senders.spawn(async move {
            let mut tally = SenderTally::default();
            loop {
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    break;
                }
                // Take a ticket; none left means the asked number is sent.
                if tickets
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1))
                    .is_err()
                {
                    break;
                }
                let started = Instant::now();
                match producer.send(message.clone()).await {
                    Ok(_) => {
                        tally.sent += 1;
                        if tally.latencies_us.len() < SAMPLES_PER_SENDER_MAX {
                            let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                            tally.latencies_us.push(micros);
                        }
                    }
                    Err(_) => tally.failed += 1,
                }
            }
            tally
        });
    }
    let mut total = SenderTally::default();
    while let Some(joined) = senders.join_next().await {
        let tally = joined.context("a sending task failed")?;
        total.sent += tally.sent;
        total.failed += tally.failed;
        total.latencies_us.extend(tally.latencies_us);
    }
    Ok(total)
}

/// Progress shared with the consumer's listener.
struct ConsumeTally {
    consumed: AtomicU64,
    first: std::sync::Mutex<Option<(Instant, Option<Duration>)>>,
    started: AtomicBool,
}

/// Runs every consumer case (a fresh group each) and prints a line per case.
pub async fn run_consumer(args: SdkBenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let target = args.messages.unwrap_or(100_000);
    for &threads in &args.threads {
        let group = format!(
            "{}_{threads}_{}",
            args.group,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let mut options =
            PushConsumerOptions::new(ClientOptions::new(&args.namesrv), group).subscribe(&args.topic, "*");
        options.start_from = StartFrom::FirstOffset;
        let tally = Arc::new(ConsumeTally {
            consumed: AtomicU64::new(0),
            first: std::sync::Mutex::new(None),
            started: AtomicBool::new(false),
        });
        let in_listener = Arc::new(Semaphore::new(threads));
        let listener_tally = Arc::clone(&tally);
        let consumer = PushConsumer::start(options, move |_message: ReceivedMessage| {
            let tally = Arc::clone(&listener_tally);
            let in_listener = Arc::clone(&in_listener);
            async move {
                let _permit = in_listener.acquire_owned().await;
                if !tally.started.swap(true, Ordering::AcqRel) {
                    let mut first = tally.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    *first = Some((Instant::now(), cpu_time(None)));
                }
                tally.consumed.fetch_add(1, Ordering::AcqRel);
                ConsumeOutcome::Success
            }
        })
        .await
        .context("cannot start the push consumer")?;
        let idle = Duration::from_secs(args.idle_seconds);
        let mut last_count = 0;
        let mut last_progress = Instant::now();
        loop {
            tokio::time::sleep(PROGRESS_TICK).await;
            let count = tally.consumed.load(Ordering::Acquire);
            if count >= target {
                break;
            }
            if count != last_count {
                last_count = count;
                last_progress = Instant::now();
            } else if last_progress.elapsed() >= idle {
                break;
            }
        }
        let (ended, cpu_after) = (Instant::now(), cpu_time(None));
        let consumed = tally.consumed.load(Ordering::Acquire);
        consumer.shutdown().await;
        let first = *tally.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (seconds, cpu) = match first {
            Some((at, cpu_before)) => (
                ended.duration_since(at),
                cpu_before
                    .zip(cpu_after)
                    .and_then(|(before, after)| after.checked_sub(before)),
            ),
            None => (Duration::ZERO, None),
        };
        let rate = consumed as f64 / seconds.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "RESULT client=sdk mode=consumer broker={} threads={threads} msgs={consumed} wanted={target} \
             seconds={:.2} msgs_per_s={rate:.0} cpu_us_per_msg={}",
            args.broker,
            seconds.as_secs_f64(),
            cpu_per_message(cpu, consumed),
        );
    }
    Ok(())
}

/// The `per_mille`th of 1000 quantile of latencies sorted ascending (99.9 % is 999).
fn permille(sorted_us: &[u32], per_mille: usize) -> Duration {
    let index = (sorted_us.len() * per_mille / 1000).min(sorted_us.len().saturating_sub(1));
    Duration::from_micros(sorted_us.get(index).copied().map_or(0, u64::from))
}

/// CPU microseconds per message with one decimal, or `-` when unknown.
fn cpu_per_message(cpu: Option<Duration>, messages: u64) -> String {
    match cpu {
        Some(cpu) if messages > 0 => format!("{:.1}", cpu.as_secs_f64() * 1e6 / messages as f64),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permille_picks_the_tail() {
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(permille(&sorted, 999), Duration::from_micros(1000));
        assert_eq!(permille(&sorted, 500), Duration::from_micros(501));
        assert_eq!(permille(&[], 999), Duration::ZERO);
    }

    #[test]
    fn cpu_per_message_divides_and_says_when_unknown() {
        assert_eq!(cpu_per_message(Some(Duration::from_millis(3)), 1000), "3.0");
        assert_eq!(cpu_per_message(None, 1000), "-");
        assert_eq!(cpu_per_message(Some(Duration::from_millis(3)), 0), "-");
    }
}
