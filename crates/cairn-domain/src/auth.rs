//! Sign-in policy: session lifetimes, sign-in throttling, link lifetimes, password rules.
//!
//! [`AuthSettings`] is the `[auth]` section of the configuration file, flat and in whole
//! minutes or hours so it reads naturally in TOML. The decisions themselves
//! ([`SessionPolicy::state`], [`ThrottlePolicy::decide`]) are pure functions of counts and
//! instants passed in by the caller, so they are tested without a database or a clock.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::password::PasswordPolicy;

/// The `[auth]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// A session unused for this long is signed out.
    pub session_idle_minutes: u32,
    /// A session is signed out this long after sign-in, however active.
    pub session_absolute_hours: u32,
    /// Failed sign-ins for one email address, within the window, before that address is
    /// temporarily blocked.
    pub max_failed_sign_ins_per_account: u32,
    /// Failed sign-ins from one IP address, within the window, before that address is
    /// temporarily blocked.
    pub max_failed_sign_ins_per_ip: u32,
    /// The sliding window for the two limits above.
    pub throttle_window_minutes: u32,
    /// Minimum password length.
    pub password_min_length: u32,
    /// How many of lowercase / uppercase / digits / symbols a password must mix (0–4).
    pub password_character_classes: u32,
    /// How long an activation link stays valid.
    pub activation_link_hours: u32,
    /// How long a password-reset link stays valid.
    pub reset_link_minutes: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let password = PasswordPolicy::default();
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            max_failed_sign_ins_per_account: 5,
            max_failed_sign_ins_per_ip: 20,
            throttle_window_minutes: 15,
            password_min_length: u32::try_from(password.min_length).unwrap_or(10),
            password_character_classes: u32::try_from(password.character_classes).unwrap_or(3),
            activation_link_hours: 24,
            reset_link_minutes: 60,
        }
    }
}

impl AuthSettings {
    /// Checks the values make sense together; returns one message per problem, naming the
    /// configuration key.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let positive = [
            ("auth.session_idle_minutes", self.session_idle_minutes),
            ("auth.session_absolute_hours", self.session_absolute_hours),
            (
                "auth.max_failed_sign_ins_per_account",
                self.max_failed_sign_ins_per_account,
            ),
            (
                "auth.max_failed_sign_ins_per_ip",
                self.max_failed_sign_ins_per_ip,
            ),
            ("auth.throttle_window_minutes", self.throttle_window_minutes),
            ("auth.password_min_length", self.password_min_length),
            ("auth.activation_link_hours", self.activation_link_hours),
            ("auth.reset_link_minutes", self.reset_link_minutes),
        ];
        for (key, value) in positive {
            if value == 0 {
                problems.push(format!("{key} must be at least 1"));
            }
        }
        if self.password_min_length > 128 {
            problems.push("auth.password_min_length must be at most 128".to_owned());
        }
        if self.password_character_classes > 4 {
            problems.push("auth.password_character_classes must be between 0 and 4".to_owned());
        }
        if i64::from(self.session_idle_minutes) > i64::from(self.session_absolute_hours) * 60 {
            problems.push(
                "auth.session_idle_minutes must not exceed auth.session_absolute_hours".to_owned(),
            );
        }
        problems
    }

    /// Session lifetimes.
    #[must_use]
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::minutes(i64::from(self.session_idle_minutes)),
            absolute: Duration::hours(i64::from(self.session_absolute_hours)),
        }
    }

    /// Sign-in throttling.
    #[must_use]
    pub fn throttle_policy(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_per_account: self.max_failed_sign_ins_per_account,
            max_per_ip: self.max_failed_sign_ins_per_ip,
            window: Duration::minutes(i64::from(self.throttle_window_minutes)),
        }
    }

    /// Password rules.
    #[must_use]
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.password_min_length as usize,
            character_classes: self.password_character_classes as usize,
        }
    }

    /// Lifetime of activation links.
    #[must_use]
    pub fn activation_link_ttl(&self) -> Duration {
        Duration::hours(i64::from(self.activation_link_hours))
    }

    /// Lifetime of password-reset links.
    #[must_use]
    pub fn reset_link_ttl(&self) -> Duration {
        Duration::minutes(i64::from(self.reset_link_minutes))
    }
}

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Maximum time between two requests.
    pub idle: Duration,
    /// Maximum time since sign-in.
    pub absolute: Duration,
}

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Usable.
    Active,
    /// Unused for longer than the idle limit.
    IdleExpired,
    /// Older than the absolute limit.
    AbsoluteExpired,
}

impl SessionPolicy {
    /// The state of a session created at `created_at` and last used at `last_seen_at`.
    #[must_use]
    pub fn state(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> SessionState {
        if now >= created_at + self.absolute {
            SessionState::AbsoluteExpired
        } else if now >= last_seen_at + self.idle {
            SessionState::IdleExpired
        } else {
            SessionState::Active
        }
    }

    /// When a session created at `created_at` expires for good.
    #[must_use]
    pub fn absolute_expiry(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + self.absolute
    }
}

/// Limits on failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per email address within the window.
    pub max_per_account: u32,
    /// Failures per IP address within the window.
    pub max_per_ip: u32,
    /// The sliding window.
    pub window: Duration,
}

/// Failed sign-ins for one key (an email or an IP) within the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    /// How many.
    pub count: u64,
    /// When the oldest of them happened (`None` when `count` is 0).
    pub oldest: Option<DateTime<Utc>>,
}

impl FailureWindow {
    /// No failures.
    pub const EMPTY: Self = Self {
        count: 0,
        oldest: None,
    };
}

/// Which limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    /// Too many failures for this email address.
    Account,
    /// Too many failures from this IP address.
    Ip,
}

/// A sign-in attempt that must be refused without checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Which limit was reached.
    pub scope: ThrottleScope,
    /// How long until another attempt is allowed.
    pub retry_after: Duration,
}

impl Throttled {
    /// The wait in whole minutes, rounded up, at least 1: what the message shows.
    #[must_use]
    pub fn retry_after_minutes(&self) -> i64 {
        let seconds = self.retry_after.num_seconds().max(1);
        (seconds + 59) / 60
    }

    /// The wait in whole seconds, at least 1: for a `Retry-After` header.
    #[must_use]
    pub fn retry_after_seconds(&self) -> i64 {
        self.retry_after.num_seconds().max(1)
    }
}

impl ThrottlePolicy {
    /// Decides whether the next attempt is allowed, given the failures recorded within
    /// the window for the email address and for the IP address.
    #[must_use]
    pub fn decide(
        &self,
        account: FailureWindow,
        ip: FailureWindow,
        now: DateTime<Utc>,
    ) -> Option<Throttled> {
        let check = |window: FailureWindow, max: u32, scope: ThrottleScope| {
            if window.count < u64::from(max) {
                return None;
            }
            let oldest = window.oldest.unwrap_or(now);
            // Sliding window: the block lifts when the oldest counted failure ages out.
            let retry_after = (oldest + self.window) - now;
            (retry_after > Duration::zero()).then_some(Throttled { scope, retry_after })
        };
        check(account, self.max_per_account, ThrottleScope::Account)
            .or_else(|| check(ip, self.max_per_ip, ThrottleScope::Ip))
    }

    /// The start of the window ending at `now`.
    #[must_use]
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let policy = AuthSettings::default().session_policy();
        let created = t(0);
        assert_eq!(policy.state(created, t(10), t(39)), SessionState::Active);
        assert_eq!(
            policy.state(created, t(10), t(40)),
            SessionState::IdleExpired
        );
        assert_eq!(
            policy.state(created, t(12 * 60 - 1), t(12 * 60)),
            SessionState::AbsoluteExpired
        );
        assert_eq!(policy.absolute_expiry(created), t(12 * 60));
    }

    #[test]
    fn throttle_blocks_at_the_limit_until_the_oldest_failure_ages_out() {
        let policy = AuthSettings::default().throttle_policy();
        let four = FailureWindow {
            count: 4,
            oldest: Some(t(0)),
        };
        assert_eq!(policy.decide(four, FailureWindow::EMPTY, t(1)), None);
        let five = FailureWindow {
            count: 5,
            oldest: Some(t(0)),
        };
        let blocked = policy.decide(five, FailureWindow::EMPTY, t(1)).unwrap();
        assert_eq!(blocked.scope, ThrottleScope::Account);
        assert_eq!(blocked.retry_after, Duration::minutes(14));
        assert_eq!(blocked.retry_after_minutes(), 14);
        assert_eq!(policy.decide(five, FailureWindow::EMPTY, t(15)), None);
    }

    #[test]
    fn throttle_counts_ip_failures_separately() {
        let policy = AuthSettings::default().throttle_policy();
        let many = FailureWindow {
            count: 20,
            oldest: Some(t(0)),
        };
        let blocked = policy.decide(FailureWindow::EMPTY, many, t(0)).unwrap();
        assert_eq!(blocked.scope, ThrottleScope::Ip);
        assert_eq!(blocked.retry_after_seconds(), 15 * 60);
    }

    #[test]
    fn retry_minutes_round_up() {
        let throttled = Throttled {
            scope: ThrottleScope::Account,
            retry_after: Duration::seconds(61),
        };
        assert_eq!(throttled.retry_after_minutes(), 2);
    }

    #[test]
    fn settings_problems_name_the_key() {
        let settings = AuthSettings {
            session_idle_minutes: 0,
            password_character_classes: 7,
            ..AuthSettings::default()
        };
        let problems = settings.problems();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("auth.session_idle_minutes"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("auth.password_character_classes"))
        );
        assert!(AuthSettings::default().problems().is_empty());
        let long_idle = AuthSettings {
            session_idle_minutes: 13 * 60,
            ..AuthSettings::default()
        };
        assert_eq!(long_idle.problems().len(), 1);
    }
}
