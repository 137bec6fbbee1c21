//! The last hour of each topic's message rate and each group's lag, kept in memory for the
//! console's charts: a sample every [`SAMPLE_INTERVAL_DEFAULT`], the newest [`HISTORY_POINTS_MAX`]
//! per series, at most [`HISTORY_SERIES_MAX`] series (topics and groups past that are not charted).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Java's dashboard refreshes its figures about this often; 120 samples make the hour.
pub const SAMPLE_INTERVAL_DEFAULT: Duration = Duration::from_secs(30);
/// Points kept per series (an hour at the default interval).
pub const HISTORY_POINTS_MAX: usize = 120;
/// Series kept; each is a topic or a group, named by remote input (topics clients create).
pub const HISTORY_SERIES_MAX: usize = 1000;

/// One value over time: (wall-clock ms, value).
pub type Series = VecDeque<(u64, f64)>;

#[derive(Default)]
pub struct History {
    series: Mutex<BTreeMap<String, Series>>,
}

impl History {
    /// Adds `value` at `at_ms` to the series `name`, dropping its oldest point past the bound.
    pub fn push(&self, name: &str, at_ms: u64, value: f64) {
        let mut series = self.lock();
        if !series.contains_key(name) && series.len() >= HISTORY_SERIES_MAX {
            return;
        }
        let points = series.entry(name.to_owned()).or_default();
        if points.len() >= HISTORY_POINTS_MAX {
            points.pop_front();
        }
        points.push_back((at_ms, value));
    }

    pub fn get(&self, name: &str) -> Series {
        self.lock().get(name).cloned().unwrap_or_default()
    }

    /// The last value of `name`, if any.
    pub fn last(&self, name: &str) -> Option<(u64, f64)> {
        self.lock().get(name).and_then(|points| points.back().copied())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Series>> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The rate between two cumulative counts `per` seconds apart (0 when the count went back, a
/// queue deleted or a broker restarted).
pub fn rate(before: (u64, f64), now: (u64, f64)) -> f64 {
    let seconds = now.0.saturating_sub(before.0) as f64 / 1000.0;
    if seconds <= 0.0 || now.1 < before.1 {
        return 0.0;
    }
    (now.1 - before.1) / seconds
}

/// A small inline SVG line chart of `points` (no script, no library).
pub fn svg(points: &Series, label: &str) -> String {
    const WIDTH: f64 = 240.0;
    const HEIGHT: f64 = 40.0;
    let max = points.iter().map(|(_, value)| *value).fold(0.0_f64, f64::max);
    let (first, last) = match (points.front(), points.back()) {
        (Some(first), Some(last)) => (first.0, last.0),
        _ => (0, 0),
    };
    let span = last.saturating_sub(first).max(1) as f64;
    let mut path = String::new();
    for (at, value) in points {
        let x = at.saturating_sub(first) as f64 / span * WIDTH;
        let y = if max > 0.0 {
            HEIGHT - value / max * HEIGHT
        } else {
            HEIGHT
        };
        let _ = write!(path, "{x:.1},{y:.1} ");
    }
    format!(
        "<svg class=\"chart\" data-points=\"{count}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\"><title>{label}: max {max:.1}</title>\
         <polyline fill=\"none\" stroke=\"#23395d\" points=\"{path}\"/></svg>",
        count = points.len(),
        path = path.trim_end(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_bounded_in_points_and_in_number() {
        let history = History::default();
        for at in 0..HISTORY_POINTS_MAX as u64 + 3 {
            history.push("t", at, at as f64);
        }
        let points = history.get("t");
        assert_eq!(points.len(), HISTORY_POINTS_MAX);
        assert_eq!(points.front(), Some(&(3, 3.0)), "the oldest go first");
        for index in 1..HISTORY_SERIES_MAX {
            history.push(&format!("s{index}"), 0, 0.0);
        }
        history.push("one-too-many", 0, 1.0);
        assert!(history.get("one-too-many").is_empty());
        history.push("t", 1000, 1.0);
        assert_eq!(history.last("t"), Some((1000, 1.0)), "known series still grow");
    }

    #[test]
    fn rate_is_per_second_and_never_negative() {
        assert_eq!(rate((0, 10.0), (2000, 30.0)), 10.0);
        assert_eq!(rate((0, 30.0), (2000, 10.0)), 0.0);
        assert_eq!(rate((5, 1.0), (5, 9.0)), 0.0);
    }

    #[test]
    fn the_chart_has_a_point_per_sample() {
        let points: Series = [(0, 0.0), (500, 2.0), (1000, 1.0)].into_iter().collect();
        let chart = svg(&points, "x");
        assert!(chart.contains("data-points=\"3\""));
        assert!(chart.contains("points=\"0.0,40.0 120.0,0.0 240.0,20.0\""), "{chart}");
    }
}
