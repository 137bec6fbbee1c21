//! The warning a limit of the broker earns when a client (or a peer of the HA port) hits it: at
//! most one line per limit per [`LIMIT_WARN_INTERVAL_MS`], naming the limit and its value as
//! docs/limits.md lists them, with the count of hits not logged since. A client that fills a
//! table and keeps asking cannot flood the log, and an operator who greps for the limit finds it.
//!
//! Each limit has one `static` [`LimitWarning`] beside its constant, built by
//! [`limit_warning!`] so that the name in the log is the constant's own. Tables pass the `now_ms`
//! they were given, so they read no clock; each warning is fed by one clock only.

use ferrocket_net::log_rate::{LIMIT_WARN_INTERVAL_MS, LogRate};
use tracing::warn;

/// The longest subject (a group, a topic, an address) a warning shows: names from requests may
/// be long, and the beginning identifies them.
const SUBJECT_CHARS_MAX: usize = 255;

/// The rate-limited warning of one limit.
#[derive(Debug)]
pub struct LimitWarning {
    limit: &'static str,
    value: u64,
    rate: LogRate,
}

impl LimitWarning {
    /// The warning of the limit `limit` (a constant's name) of `value`.
    pub const fn new(limit: &'static str, value: u64) -> LimitWarning {
        LimitWarning {
            limit,
            value,
            rate: LogRate::every_ms(LIMIT_WARN_INTERVAL_MS),
        }
    }

    /// The limit was hit at `now_ms`: `consequence` says what the request did not get, `subject`
    /// whose request it was. Logged unless this limit was logged less than an interval ago.
    pub fn hit(&self, now_ms: i64, subject: &str, consequence: &str) {
        let Some(hits_not_logged) = self.rate.allow_at(u64::try_from(now_ms).unwrap_or(0)) else {
            return;
        };
        warn!(
            limit = self.limit,
            subject = cut(subject),
            hits_not_logged,
            "{consequence}: the limit is {} = {}",
            self.limit,
            self.value
        );
    }
}

/// `limit_warning!(TOPICS_MAX)`: the [`LimitWarning`] of a constant in scope, named by it.
macro_rules! limit_warning {
    ($constant:ident) => {
        $crate::limit_warnings::LimitWarning::new(stringify!($constant), $constant as u64)
    };
}
pub(crate) use limit_warning;

fn cut(subject: &str) -> &str {
    subject
        .char_indices()
        .nth(SUBJECT_CHARS_MAX)
        .map_or(subject, |(end, _)| subject.get(..end).unwrap_or(subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_MAX: usize = 7;

    #[test]
    fn a_warning_is_named_by_its_constant_and_long_subjects_are_cut() {
        static WARNING: LimitWarning = limit_warning!(EXAMPLE_MAX);
        assert_eq!((WARNING.limit, WARNING.value), ("EXAMPLE_MAX", 7));
        WARNING.hit(1_000, "group", "not registered");
        assert_eq!(
            WARNING.rate.allow_at(1_001),
            None,
            "the hit above took this interval's line"
        );
        let long = "é".repeat(1_000);
        assert_eq!(cut(&long).chars().count(), SUBJECT_CHARS_MAX);
        assert_eq!(cut("short"), "short");
    }
}
