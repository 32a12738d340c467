//! Snapshot retention: which snapshots a keep-policy keeps.
//!
//! Semantics follow restic's `forget`: snapshots are considered newest first; `keep_last`
//! keeps the n newest; `keep_daily`/`weekly`/`monthly` keep the newest snapshot of each of
//! the n most recent days/ISO weeks/months that have one; `keep_within` keeps everything
//! taken within that span before `now`. A snapshot is kept if any rule keeps it. An
//! empty policy keeps everything (forgetting all snapshots takes an explicit rule).

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A keep-policy. `None` means the rule is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Keep the n most recent snapshots.
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent days.
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent ISO weeks.
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the n most recent months.
    pub keep_monthly: Option<u32>,
    /// Keep every snapshot taken within this span before now.
    pub keep_within: Option<Duration>,
}

impl RetentionPolicy {
    /// Whether no rule is set (the policy keeps everything).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
            && self.keep_monthly.is_none()
            && self.keep_within.is_none()
    }
}

/// The decision for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Position of the snapshot in the input.
    pub position: usize,
    /// Whether it is kept.
    pub keep: bool,
    /// The rules that keep it (`last`, `daily`, `weekly`, `monthly`, `within`, `all`).
    pub reasons: Vec<&'static str>,
}

/// Applies `policy` to snapshots taken at `times` (any order); returns one decision per
/// input position, in input order.
#[must_use]
pub fn apply(
    policy: &RetentionPolicy,
    times: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]).then(b.cmp(a)));
    let mut decisions: Vec<Decision> = (0..times.len())
        .map(|position| Decision {
            position,
            keep: policy.is_empty(),
            reasons: if policy.is_empty() {
                vec!["all"]
            } else {
                Vec::new()
            },
        })
        .collect();
    if policy.is_empty() {
        return decisions;
    }
    type Bucket = fn(&DateTime<Utc>) -> (i32, u32);
    let rules: [(&'static str, Option<u32>, Bucket); 3] = [
        ("daily", policy.keep_daily, |t| (t.year(), t.ordinal())),
        ("weekly", policy.keep_weekly, |t| {
            let w = t.iso_week();
            (w.year(), w.week())
        }),
        ("monthly", policy.keep_monthly, |t| (t.year(), t.month())),
    ];
    for (rank, &i) in order.iter().enumerate() {
        if policy
            .keep_last
            .is_some_and(|n| (rank as u64) < u64::from(n))
        {
            decisions[i].reasons.push("last");
        }
        if policy
            .keep_within
            .is_some_and(|span| times[i] >= now - span)
        {
            decisions[i].reasons.push("within");
        }
    }
    for (name, count, bucket) in rules {
        let Some(count) = count else { continue };
        let mut last_bucket = None;
        let mut kept = 0u32;
        for &i in &order {
            if kept >= count {
                break;
            }
            let b = bucket(&times[i]);
            if last_bucket != Some(b) {
                last_bucket = Some(b);
                decisions[i].reasons.push(name);
                kept += 1;
            }
        }
    }
    for d in &mut decisions {
        d.keep = !d.reasons.is_empty();
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).single().unwrap()
    }

    fn kept(policy: &RetentionPolicy, times: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<usize> {
        apply(policy, times, now)
            .into_iter()
            .filter(|d| d.keep)
            .map(|d| d.position)
            .collect()
    }

    #[test]
    fn empty_policy_keeps_everything() {
        let times = [at(1, 0), at(2, 0)];
        assert_eq!(
            kept(&RetentionPolicy::default(), &times, at(3, 0)),
            vec![0, 1]
        );
    }

    #[test]
    fn keep_last_keeps_newest_regardless_of_input_order() {
        let times = [at(3, 0), at(1, 0), at(5, 0), at(2, 0)];
        let p = RetentionPolicy {
            keep_last: Some(2),
            ..Default::default()
        };
        assert_eq!(kept(&p, &times, at(6, 0)), vec![0, 2]);
    }

    #[test]
    fn keep_daily_keeps_newest_per_day() {
        let times = [at(1, 8), at(1, 20), at(2, 9), at(3, 7), at(3, 23)];
        let p = RetentionPolicy {
            keep_daily: Some(2),
            ..Default::default()
        };
        // Days 3 and 2, newest of each.
        assert_eq!(kept(&p, &times, at(4, 0)), vec![2, 4]);
    }

    #[test]
    fn keep_weekly_and_monthly_use_calendar_buckets() {
        // 2026-03-02 is a Monday.
        let times = [at(2, 1), at(4, 1), at(9, 1), at(10, 1)];
        let weekly = RetentionPolicy {
            keep_weekly: Some(5),
            ..Default::default()
        };
        assert_eq!(kept(&weekly, &times, at(20, 0)), vec![1, 3]);
        let feb = Utc.with_ymd_and_hms(2026, 2, 27, 0, 0, 0).single().unwrap();
        let monthly = RetentionPolicy {
            keep_monthly: Some(1),
            ..Default::default()
        };
        assert_eq!(
            kept(&monthly, &[feb, at(2, 1), at(4, 1)], at(20, 0)),
            vec![2]
        );
    }

    #[test]
    fn keep_within_is_relative_to_now_and_rules_combine() {
        let times = [at(1, 0), at(5, 0), at(6, 0), at(7, 0)];
        let p = RetentionPolicy {
            keep_within: Some(Duration::days(2)),
            keep_last: Some(1),
            ..Default::default()
        };
        let d = apply(&p, &times, at(7, 12));
        assert_eq!(
            d.iter()
                .filter(|d| d.keep)
                .map(|d| d.position)
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(d[3].reasons, vec!["last", "within"]);
        assert!(!d[0].keep && d[0].reasons.is_empty());
    }
}
