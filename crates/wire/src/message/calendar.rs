//! Calendar dates from epoch milliseconds, for the two places the format depends on a date:
//! a unique message id's time since the start of its month, and an index file's
//! `yyyyMMddHHmmssSSS` name. Pure arithmetic (Howard Hinnant's `civil_from_days`), in UTC: the
//! workspace carries no time-zone data, where Java uses the JVM's zone (see protocol-notes.md).

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// (year, month 1–12, day 1–31) of the proleptic Gregorian calendar for a count of days since
/// 1970-01-01 (negative before it).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so the leap day ends the year.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC date and time of `ms`: (year, month, day, hour, minute, second, millisecond).
pub fn utc_fields(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    (year, month, day, hour, minute, in_day / 1000 % 60, in_day % 1000)
}

/// A unique message id's time field: milliseconds since 00:00 on the 1st of `ms`'s month (UTC
/// here), narrowed as Java's `(int)` cast narrows it. From about day 25 the value wraps
/// negative, and readers (`getNearlyTimeFromID`) take it back as unsigned; saturating instead
/// would give every later id the same wrong time, and lookups by id would search the wrong hour.
pub fn ms_since_month_start(ms: i64) -> i32 {
    let (_, _, day_of_month) = civil_from_days(ms.div_euclid(DAY_MS));
    let since = (day_of_month - 1) * DAY_MS + ms.rem_euclid(DAY_MS);
    // At most 31 days of milliseconds, below 2^32: the two's-complement reinterpretation is
    // exactly Java's narrowing.
    u32::try_from(since).map_or(i32::MAX, |unsigned| unsigned as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        // 2024-02-29, a leap day, and the day after.
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(utc_fields(1_795_824_000_123), (2026, 11, 28, 0, 0, 0, 123));
        assert_eq!(utc_fields(-1), (1969, 12, 31, 23, 59, 59, 999));
    }

    #[test]
    fn month_start_offsets_wrap_like_javas_int_cast() {
        assert_eq!(ms_since_month_start(0), 0);
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(
            ms_since_month_start(1_700_000_000_000),
            13 * 86_400_000 + (22 * 3600 + 13 * 60 + 20) * 1000
        );
        // 2026-11-28 00:00 UTC: 27 days past the first, beyond i32::MAX ms.
        let late_in_month = 1_795_824_000_000;
        let since = 27 * DAY_MS;
        assert_eq!(ms_since_month_start(late_in_month), (since - (1_i64 << 32)) as i32);
        assert_eq!(i64::from(ms_since_month_start(late_in_month) as u32), since);
    }

    #[test]
    fn every_day_for_a_thousand_years_follows_the_previous() {
        let mut previous = civil_from_days(-200_000);
        for days in -199_999..200_000 {
            let date = civil_from_days(days);
            let (y, m, d) = previous;
            let next_day = (y, m, d + 1);
            let next_month = (y, m + 1, 1);
            let next_year = (y + 1, 1, 1);
            assert!(
                date == next_day || date == next_month || date == next_year,
                "{previous:?} -> {date:?}"
            );
            previous = date;
        }
    }
}
