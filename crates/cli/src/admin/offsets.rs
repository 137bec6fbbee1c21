//! resetOffsetByTime, printed as mqadmin prints it.

use ferrocket_client::Admin;
use serde_json::{Value, json};

use super::output::{Output, left};

pub async fn reset_offset_by_time(
    admin: &Admin,
    out: &Output,
    group: &str,
    topic: &str,
    timestamp: &str,
    force: bool,
) -> anyhow::Result<()> {
    let timestamp_ms = parse_timestamp(timestamp, now_ms())?;
    let moved = admin.reset_offset_by_time(topic, group, timestamp_ms, force).await?;
    let queues: Vec<Value> = moved
        .iter()
        .map(|(queue, offset)| json!({ "brokerName": queue.broker_name, "queueId": queue.queue_id, "offset": offset }))
        .collect();
    out.emit(
        json!({ "group": group, "topic": topic, "force": force, "timestamp": timestamp_ms, "queues": queues }),
        || {
            let mut text = format!(
                "start reset consumer offset by specified, group[{group}], topic[{topic}], force[{force}], \
                 timestamp(string)[{timestamp}], timestamp(long)[{timestamp_ms}]\n{}  {}  {}\n",
                left("#brokerName", 40),
                left("#queueId", 40),
                left("#offset", 40)
            );
            for (queue, offset) in &moved {
                text.push_str(&format!(
                    "{}  {}  {}\n",
                    left(&queue.broker_name, 40),
                    left(&queue.queue_id.to_string(), 40),
                    left(&offset.to_string(), 40)
                ));
            }
            text
        },
    )
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

/// mqadmin's `-s`: `now`, milliseconds, or `yyyy-MM-dd#HH:mm:ss:SSS` (read as UTC here; Java
/// reads it in the JVM's zone).
pub(super) fn parse_timestamp(text: &str, now_ms: i64) -> anyhow::Result<i64> {
    if text == "now" {
        return Ok(now_ms);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || anyhow::anyhow!("timestamp {text:?}: expected now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS");
    let (date, time) = text.split_once('#').ok_or_else(bad)?;
    let date: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let time: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let ([year, month, day], [hour, minute, second, milli]) = (date.as_slice(), time.as_slice()) else {
        return Err(bad());
    };
    let in_range = (1..=12).contains(month)
        && (1..=31).contains(day)
        && (0..24).contains(hour)
        && (0..60).contains(minute)
        && (0..60).contains(second)
        && (0..1000).contains(milli);
    anyhow::ensure!(in_range, "timestamp {text:?}: a field is out of range");
    let days = days_from_civil(*year, *month, *day);
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of the wire crate's
/// `civil_from_days`; H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::output::human_time;

    #[test]
    fn timestamps_read_as_mqadmin_takes_them() {
        assert_eq!(parse_timestamp("now", 42).unwrap(), 42);
        assert_eq!(parse_timestamp("1796605870225", 0).unwrap(), 1_796_605_870_225);
        let ms = parse_timestamp("2026-12-07#01:11:10:225", 0).unwrap();
        assert_eq!(ms, 1_796_605_870_225);
        assert_eq!(human_time(ms), "2026-12-07 01:11:10,225");
        assert_eq!(
            parse_timestamp("2024-02-29#00:00:00:000", 0).unwrap(),
            1_709_164_800_000
        );
        for bad in [
            "yesterday",
            "2026-13-01#00:00:00:000",
            "2026-12-07#01:11:10",
            "2026-12-07 01:11:10:225",
        ] {
            assert!(parse_timestamp(bad, 0).is_err(), "{bad}");
        }
    }
}
