//! A per-recipient cap on account emails (activation, "already registered", password reset).
//!
//! The sign-up and forgotten-password forms accept any address without signing in, so
//! without a cap anyone could use them to flood a stranger's inbox through our mail
//! server. The forms still answer exactly as if a message went out (so they reveal nothing
//! about which addresses have accounts); only the message is held back, and the audit
//! event records why.
//!
//! The window is kept in memory per process: it guards against floods, not against a
//! determined attacker spreading requests over many API nodes, which the per-IP request
//! limits in front of Cairn handle.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

/// At most this many account emails to one address per [`WINDOW_MINUTES`].
pub const MAX_PER_WINDOW: usize = 3;
/// The length of the sliding window.
pub const WINDOW_MINUTES: i64 = 15;
/// Above this many tracked addresses, expired ones are swept on the next call.
const SWEEP_ABOVE: usize = 10_000;

/// Sliding-window counter of emails sent per recipient.
#[derive(Debug)]
pub struct MailLimiter {
    max: usize,
    window: Duration,
    sent: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Default for MailLimiter {
    fn default() -> Self {
        Self::new(MAX_PER_WINDOW, Duration::minutes(WINDOW_MINUTES))
    }
}

impl MailLimiter {
    /// A limiter allowing `max` emails per recipient in any `window`.
    #[must_use]
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Records a send to `recipient` at `now` and returns `true`, or returns `false`
    /// (recording nothing) when the recipient already had `max` emails in the window.
    /// Addresses are compared case-insensitively.
    pub fn try_acquire(&self, recipient: &str, now: DateTime<Utc>) -> bool {
        let cutoff = now - self.window;
        let mut sent = self.sent.lock();
        if sent.len() > SWEEP_ABOVE {
            sent.retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
        }
        let times = sent.entry(recipient.to_lowercase()).or_default();
        while times.front().is_some_and(|t| *t <= cutoff) {
            times.pop_front();
        }
        if times.len() >= self.max {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window_then_recovers_as_the_window_slides() {
        let limiter = MailLimiter::new(3, Duration::minutes(15));
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(limiter.try_acquire("ada@example.com", t0));
        assert!(limiter.try_acquire("ADA@example.com", t0 + Duration::minutes(1)));
        assert!(limiter.try_acquire("ada@example.com", t0 + Duration::minutes(2)));
        assert!(!limiter.try_acquire("ada@example.com", t0 + Duration::minutes(3)));
        // Someone else is not affected.
        assert!(limiter.try_acquire("bob@example.com", t0 + Duration::minutes(3)));
        // Refusals are not counted: once the first send leaves the window, one more fits.
        assert!(!limiter.try_acquire("ada@example.com", t0 + Duration::minutes(14)));
        assert!(limiter.try_acquire("ada@example.com", t0 + Duration::minutes(15)));
        assert!(!limiter.try_acquire("ada@example.com", t0 + Duration::minutes(15)));
    }
}
