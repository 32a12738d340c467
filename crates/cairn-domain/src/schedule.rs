//! When backups run: a task's frequency and hour (UTC) turned into concrete run slots.
//!
//! A slot is the instant a scheduled backup becomes due. The scheduler enqueues at most
//! one backup per (task, slot) — the slot's timestamp is the idempotency key — so any
//! number of scheduler replicas, or a scheduler that ticks twice, enqueue it once. A
//! scheduler that was down across several slots enqueues only the latest missed slot: a
//! backup is a full point-in-time view, so catching up on each missed one is wasted work.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// How often a task backs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupFrequency {
    /// Once a day at the backup hour.
    Daily,
    /// Every third day (counted from the schedule's anchor date) at the backup hour.
    Every3Days,
    /// Once a week, on the anchor date's weekday, at the backup hour.
    Weekly,
    /// Three times a day, eight hours apart, starting at the backup hour.
    ThreeTimesADay,
}

impl BackupFrequency {
    /// Every frequency, in the order the settings page offers them.
    pub const ALL: [Self; 4] = [
        Self::Daily,
        Self::Every3Days,
        Self::Weekly,
        Self::ThreeTimesADay,
    ];

    /// The label shown to users.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Daily => "Daily",
            Self::Every3Days => "Every 3 days",
            Self::Weekly => "Weekly",
            Self::ThreeTimesADay => "3 times a day",
        }
    }

    /// The stable machine name (`daily`, `every_3_days`, `weekly`, `three_times_a_day`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Every3Days => "every_3_days",
            Self::Weekly => "weekly",
            Self::ThreeTimesADay => "three_times_a_day",
        }
    }

    /// Parses [`BackupFrequency::as_str`] output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Days between consecutive run days.
    fn day_step(self) -> i64 {
        match self {
            Self::Daily | Self::ThreeTimesADay => 1,
            Self::Every3Days => 3,
            Self::Weekly => 7,
        }
    }

    /// Hours (from the backup hour) at which a run day has slots.
    fn hour_offsets(self) -> &'static [u32] {
        match self {
            Self::ThreeTimesADay => &[0, 8, 16],
            _ => &[0],
        }
    }
}

/// A schedule is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The backup hour is not 0–23.
    #[error("the backup hour must be between 0 and 23 (UTC), not {0}")]
    HourOutOfRange(u32),
}

/// A task's backup schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSchedule {
    frequency: BackupFrequency,
    hour_utc: u32,
    /// The day the cycle counts from (for every-3-days and weekly), usually the day the
    /// task was created.
    anchor: NaiveDate,
}

impl BackupSchedule {
    /// Builds a schedule.
    ///
    /// # Errors
    /// [`ScheduleError::HourOutOfRange`] when `hour_utc` > 23.
    pub fn new(
        frequency: BackupFrequency,
        hour_utc: u32,
        anchor: NaiveDate,
    ) -> Result<Self, ScheduleError> {
        if hour_utc > 23 {
            return Err(ScheduleError::HourOutOfRange(hour_utc));
        }
        Ok(Self {
            frequency,
            hour_utc,
            anchor,
        })
    }

    /// The frequency.
    #[must_use]
    pub fn frequency(&self) -> BackupFrequency {
        self.frequency
    }

    /// The backup hour (UTC).
    #[must_use]
    pub fn hour_utc(&self) -> u32 {
        self.hour_utc
    }

    /// Is `day` one of the schedule's run days?
    fn is_run_day(&self, day: NaiveDate) -> bool {
        (day - self.anchor)
            .num_days()
            .rem_euclid(self.frequency.day_step())
            == 0
    }

    /// The slots whose run day is `day`, in time order. With three runs a day some fall on
    /// the next calendar day (e.g. hour 20 → 20:00, 04:00+1, 12:00+1).
    fn slots_of_day(&self, day: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let midnight = Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN));
        self.frequency
            .hour_offsets()
            .iter()
            .map(move |off| midnight + Duration::hours(i64::from(self.hour_utc + off)))
    }

    /// The latest slot at or before `now`, if any slot has come due since the anchor.
    #[must_use]
    pub fn latest_slot_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Slots of a run day end at most 16 h + 23 h after its midnight, so scanning back
        // one full step plus two days always finds the latest one.
        let today = now.date_naive();
        let span = self.frequency.day_step() + 2;
        (0..=span)
            .map(|back| today - Duration::days(back))
            .filter(|day| *day >= self.anchor && self.is_run_day(*day))
            .flat_map(|day| self.slots_of_day(day).collect::<Vec<_>>())
            .filter(|slot| *slot <= now)
            .max()
    }

    /// The first slot strictly after `t`.
    #[must_use]
    pub fn next_slot_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut day = t.date_naive().max(self.anchor) - Duration::days(1);
        loop {
            if day >= self.anchor
                && self.is_run_day(day)
                && let Some(slot) = self.slots_of_day(day).find(|slot| *slot > t)
            {
                return slot;
            }
            day += Duration::days(1);
        }
    }

    /// Every slot in `(after, up_to]`, in order.
    #[must_use]
    pub fn slots_between(&self, after: DateTime<Utc>, up_to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        loop {
            let next = self.next_slot_after(t);
            if next > up_to {
                return out;
            }
            out.push(next);
            t = next;
        }
    }

    /// A human description, e.g. "Daily at 21:00 UTC" or "3 times a day at 04:00, 12:00
    /// and 20:00 UTC".
    #[must_use]
    pub fn describe(&self) -> String {
        let hours: Vec<String> = self
            .frequency
            .hour_offsets()
            .iter()
            .map(|off| format!("{:02}:00", (self.hour_utc + off) % 24))
            .collect();
        match self.frequency {
            BackupFrequency::ThreeTimesADay => {
                let mut sorted = hours;
                sorted.sort();
                format!(
                    "3 times a day at {}, {} and {} UTC",
                    sorted[0], sorted[1], sorted[2]
                )
            }
            BackupFrequency::Weekly => {
                format!("Weekly on {} at {} UTC", self.anchor.weekday(), hours[0])
            }
            other => format!("{} at {} UTC", other.label(), hours[0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn three_times_a_day_has_exactly_three_slots_per_day() {
        let s = BackupSchedule::new(BackupFrequency::ThreeTimesADay, 5, day(2026, 1, 1)).unwrap();
        for d in 2..20 {
            let slots = s.slots_between(
                at(2026, 1, d, 0, 0) - Duration::seconds(1),
                at(2026, 1, d, 23, 59),
            );
            // A day holds that day's 05:00, 13:00 and 21:00.
            assert_eq!(slots.len(), 3, "day {d}: {slots:?}");
            assert_eq!(slots[0], at(2026, 1, d, 5, 0));
            assert_eq!(slots[2], at(2026, 1, d, 21, 0));
        }
    }

    #[test]
    fn three_times_a_day_wraps_past_midnight() {
        let s = BackupSchedule::new(BackupFrequency::ThreeTimesADay, 20, day(2026, 1, 1)).unwrap();
        let slots = s.slots_between(at(2026, 1, 5, 0, 0), at(2026, 1, 6, 0, 0));
        assert_eq!(
            slots,
            vec![
                at(2026, 1, 5, 4, 0),
                at(2026, 1, 5, 12, 0),
                at(2026, 1, 5, 20, 0)
            ]
        );
        assert_eq!(s.describe(), "3 times a day at 04:00, 12:00 and 20:00 UTC");
    }

    #[test]
    fn daily_weekly_and_every_three_days() {
        let anchor = day(2026, 3, 2); // a Monday
        let daily = BackupSchedule::new(BackupFrequency::Daily, 21, anchor).unwrap();
        assert_eq!(
            daily
                .slots_between(at(2026, 3, 2, 0, 0), at(2026, 3, 12, 0, 0))
                .len(),
            10
        );

        let weekly = BackupSchedule::new(BackupFrequency::Weekly, 3, anchor).unwrap();
        let w = weekly.slots_between(at(2026, 3, 1, 0, 0), at(2026, 3, 31, 0, 0));
        assert_eq!(
            w,
            vec![
                at(2026, 3, 2, 3, 0),
                at(2026, 3, 9, 3, 0),
                at(2026, 3, 16, 3, 0),
                at(2026, 3, 23, 3, 0),
                at(2026, 3, 30, 3, 0)
            ]
        );
        assert_eq!(weekly.describe(), "Weekly on Mon at 03:00 UTC");

        let e3 = BackupSchedule::new(BackupFrequency::Every3Days, 0, anchor).unwrap();
        let e = e3.slots_between(at(2026, 3, 1, 0, 0), at(2026, 3, 10, 0, 0));
        assert_eq!(
            e,
            vec![
                at(2026, 3, 2, 0, 0),
                at(2026, 3, 5, 0, 0),
                at(2026, 3, 8, 0, 0)
            ]
        );
    }

    #[test]
    fn latest_slot_is_consistent_with_next_slot() {
        for freq in BackupFrequency::ALL {
            let s = BackupSchedule::new(freq, 22, day(2026, 2, 26)).unwrap();
            let mut now = at(2026, 2, 26, 0, 0);
            let end = at(2026, 4, 1, 0, 0);
            while now < end {
                match s.latest_slot_at_or_before(now) {
                    None => assert!(s.next_slot_after(at(2026, 2, 25, 23, 59)) > now),
                    Some(latest) => {
                        assert!(latest <= now);
                        assert!(
                            s.next_slot_after(latest) > now,
                            "{freq:?} at {now}: a slot between {latest} and now was skipped"
                        );
                    }
                }
                now += Duration::minutes(97);
            }
        }
    }

    #[test]
    fn nothing_is_due_before_the_anchor() {
        let s = BackupSchedule::new(BackupFrequency::Daily, 10, day(2026, 5, 1)).unwrap();
        assert_eq!(s.latest_slot_at_or_before(at(2026, 4, 30, 23, 0)), None);
        assert_eq!(
            s.next_slot_after(at(2026, 4, 20, 0, 0)),
            at(2026, 5, 1, 10, 0)
        );
    }

    #[test]
    fn bad_hour_and_round_trip_names() {
        assert_eq!(
            BackupSchedule::new(BackupFrequency::Daily, 24, day(2026, 1, 1)),
            Err(ScheduleError::HourOutOfRange(24))
        );
        for f in BackupFrequency::ALL {
            assert_eq!(BackupFrequency::parse(f.as_str()), Some(f));
        }
        assert_eq!(BackupFrequency::parse("hourly"), None);
    }
}
