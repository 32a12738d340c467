//! Time as a dependency.
//!
//! Nothing in Cairn calls `Utc::now()` directly: the application holds one [`SharedClock`]
//! and passes it (or the instant it reads) to whatever needs the time. Production uses
//! [`SystemClock`]; tests use [`ManualClock`] and move time forward explicitly, so "the
//! session expired after 30 idle minutes" is tested without waiting 30 minutes.
//!
//! Instants are truncated to whole microseconds, the precision PostgreSQL stores, so a
//! time written to the meta store reads back equal on every backend.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use parking_lot::Mutex;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, truncated to microseconds.
    fn now(&self) -> DateTime<Utc>;
}

/// The clock handle passed around the application.
pub type SharedClock = Arc<dyn Clock>;

/// Truncates an instant to whole microseconds (PostgreSQL's `timestamptz` precision).
#[must_use]
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    // `duration_trunc` only fails for durations beyond ±262,000 years.
    at.duration_trunc(Duration::microseconds(1)).unwrap_or(at)
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    #[must_use]
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_to_micros(Utc::now())
    }
}

/// A clock that only moves when told to. For tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    #[must_use]
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(truncate_to_micros(start)),
        }
    }

    /// A clock stopped at the current system time.
    #[must_use]
    pub fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now = truncate_to_micros(*now + by);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock() = truncate_to_micros(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SubsecRound, Timelike};

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2025-03-01T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), clock.now());
        assert_eq!(clock.now().nanosecond(), 123_456_000, "truncated to micros");
        clock.advance(Duration::minutes(31));
        assert_eq!(clock.now(), start.trunc_subsecs(6) + Duration::minutes(31));
    }

    #[test]
    fn system_clock_is_microsecond_precise() {
        let now = SystemClock.now();
        assert_eq!(now.nanosecond() % 1_000, 0);
    }
}
