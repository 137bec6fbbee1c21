//! The process's logs: `tracing` events to stderr (stdout carries the `listening` lines scripts
//! read), human-readable or one JSON object per line, and optionally also to files that roll
//! over daily in the data directory.
//!
//! `FERROCKET_LOG` filters (`info` by default; per-request events are `debug`, so off unless
//! asked for, e.g. `FERROCKET_LOG=info,ferrocket_net=debug`). Colour codes only when stderr is a
//! terminal and `NO_COLOR` is unset, so files, pipes and journald get plain text.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The environment variable holding the log filter (`tracing` `EnvFilter` syntax).
pub const LOG_FILTER_VARIABLE: &str = "FERROCKET_LOG";

/// Daily files kept in the logs directory; older ones are deleted as new ones start.
const LOG_FILES_KEPT_MAX: usize = 14;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event (timestamp, level, target, fields).
    Json,
}

/// Keeps the file writer's background thread alive; dropping it flushes what is queued.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Installs the process's subscriber: stderr always, and rolling files `ferrocket.log.<date>`
/// in `files_dir` when given.
/// `default_level` applies unless `FERROCKET_LOG` says otherwise.
pub fn init(format: LogFormat, files_dir: Option<&Path>, default_level: &str) -> anyhow::Result<LogGuard> {
    let filter = || EnvFilter::try_from_env(LOG_FILTER_VARIABLE).unwrap_or_else(|_| EnvFilter::new(default_level));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A closed stderr (a parent that went away, Java's Process.destroy) must not turn a log line
    // into an eprintln! panic: the write is lost, the shutdown goes on.
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .log_internal_errors(false);
    let stderr: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Human => stderr.with_filter(filter()).boxed(),
        LogFormat::Json => stderr.json().with_filter(filter()).boxed(),
    };
    let (file_layer, guard) = match files_dir {
        None => (None, None),
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the logs directory {}", dir.display()))?;
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("ferrocket.log")
                .max_log_files(LOG_FILES_KEPT_MAX)
                .build(dir)
                .with_context(|| format!("opening log files in {}", dir.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .log_internal_errors(false);
            let layer: Box<dyn Layer<Registry> + Send + Sync> = match format {
                LogFormat::Human => layer.with_filter(filter()).boxed(),
                LogFormat::Json => layer.json().with_filter(filter()).boxed(),
            };
            (Some(layer), Some(guard))
        }
    };
    let layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = std::iter::once(stderr).chain(file_layer).collect();
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .context("installing the logger")?;
    Ok(LogGuard { _file: guard })
}
