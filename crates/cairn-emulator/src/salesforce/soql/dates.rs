//! SOQL date literals (`TODAY`, `LAST_N_DAYS:30`, `THIS_QUARTER`, …) as half-open time
//! ranges. The emulated org runs in UTC, and weeks start on Sunday (the en_US locale).

use crate::salesforce::clock::{DAY_MS, civil_from_days, days_from_civil};

fn month_start(y: i64, m: i64) -> i64 {
    let total = y * 12 + (m - 1);
    days_from_civil(total.div_euclid(12), (total.rem_euclid(12) + 1) as u32, 1)
}

/// The `[start, end)` range in ms of a date keyword at time `now`.
pub fn range(keyword: &str, n: Option<i64>, now: i64) -> Option<(i64, i64)> {
    let today = now.div_euclid(DAY_MS);
    let (y, m, _) = civil_from_days(today);
    let m = i64::from(m);
    let week = today - (today + 4).rem_euclid(7); // Sunday of this week
    let quarter_m = (m - 1) / 3 * 3 + 1;
    let n = n.unwrap_or(0);
    let days = |a: i64, b: i64| Some((a * DAY_MS, b * DAY_MS));
    match keyword {
        "TODAY" => days(today, today + 1),
        "YESTERDAY" => days(today - 1, today),
        "TOMORROW" => days(today + 1, today + 2),
        "THIS_WEEK" => days(week, week + 7),
        "LAST_WEEK" => days(week - 7, week),
        "NEXT_WEEK" => days(week + 7, week + 14),
        "THIS_MONTH" => days(month_start(y, m), month_start(y, m + 1)),
        "LAST_MONTH" => days(month_start(y, m - 1), month_start(y, m)),
        "NEXT_MONTH" => days(month_start(y, m + 1), month_start(y, m + 2)),
        "LAST_90_DAYS" => days(today - 90, today + 1),
        "NEXT_90_DAYS" => days(today + 1, today + 91),
        "THIS_QUARTER" => days(month_start(y, quarter_m), month_start(y, quarter_m + 3)),
        "LAST_QUARTER" => days(month_start(y, quarter_m - 3), month_start(y, quarter_m)),
        "NEXT_QUARTER" => days(month_start(y, quarter_m + 3), month_start(y, quarter_m + 6)),
        "THIS_YEAR" => days(month_start(y, 1), month_start(y + 1, 1)),
        "LAST_YEAR" => days(month_start(y - 1, 1), month_start(y, 1)),
        "NEXT_YEAR" => days(month_start(y + 1, 1), month_start(y + 2, 1)),
        "LAST_N_DAYS" => days(today - n, today + 1),
        "NEXT_N_DAYS" => days(today + 1, today + n + 1),
        "N_DAYS_AGO" => days(today - n, today - n + 1),
        "LAST_N_WEEKS" => days(week - 7 * n, week),
        "NEXT_N_WEEKS" => days(week + 7, week + 7 + 7 * n),
        "LAST_N_MONTHS" => days(month_start(y, m - n), month_start(y, m)),
        "NEXT_N_MONTHS" => days(month_start(y, m + 1), month_start(y, m + 1 + n)),
        "LAST_N_YEARS" => days(month_start(y - n, 1), month_start(y, 1)),
        "NEXT_N_YEARS" => days(month_start(y + 1, 1), month_start(y + 1 + n, 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::clock::parse_datetime;

    #[test]
    fn ranges_follow_the_calendar() {
        // Sunday 2026-11-22, 10:00 UTC.
        let now = parse_datetime("2026-11-22T10:00:00Z", false).unwrap();
        let d = |s: &str| parse_datetime(s, true).unwrap();
        assert_eq!(
            range("TODAY", None, now),
            Some((d("2026-11-22"), d("2026-11-23")))
        );
        assert_eq!(
            range("THIS_WEEK", None, now),
            Some((d("2026-11-22"), d("2026-11-29")))
        );
        assert_eq!(
            range("LAST_MONTH", None, now),
            Some((d("2026-10-01"), d("2026-11-01")))
        );
        assert_eq!(
            range("THIS_QUARTER", None, now),
            Some((d("2026-10-01"), d("2027-01-01")))
        );
        assert_eq!(
            range("NEXT_MONTH", None, now),
            Some((d("2026-12-01"), d("2027-01-01")))
        );
        assert_eq!(
            range("LAST_N_DAYS", Some(2), now),
            Some((d("2026-11-20"), d("2026-11-23")))
        );
        assert_eq!(
            range("LAST_N_MONTHS", Some(11), now),
            Some((d("2025-12-01"), d("2026-11-01")))
        );
        assert_eq!(range("BOGUS", None, now), None);
    }
}
