//! Events: the security audit trail and, later, system activity.
//!
//! One [`Event`] shape serves both streams: a kind with a stable dotted code
//! (`auth.sign_in`), the account it belongs to (none for a failed sign-in with an unknown
//! email), who acted, from where, when, whether it succeeded, and free-form JSON details.
//! Activity pages, reports, SIEM pushes and alerts all read from this one table.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::UnknownValue;
use crate::ids::{AccountId, EventId, UserId};

/// Which stream an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventCategory {
    /// Sign-ins, credential and permission changes (F-ACT-2).
    Security,
    /// Backups, restores, exports and other jobs (F-ACT-1).
    Activity,
}

impl EventCategory {
    /// The stable text form used in storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Activity => "activity",
        }
    }
}

impl FromStr for EventCategory {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "security" => Ok(Self::Security),
            "activity" => Ok(Self::Activity),
            _ => Err(UnknownValue::new("event category", s)),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A sign-in attempt (see the outcome).
    SignIn,
    /// A user signed out.
    SignOut,
    /// Someone signed up; the account waits for activation.
    SignUp,
    /// The activation link was used.
    Activation,
    /// A password-reset link was requested.
    PasswordResetRequest,
    /// A password was set through a reset link.
    PasswordReset,
    /// A signed-in user changed their password.
    PasswordChange,
    /// An operator created a user from the command line.
    UserCreated,
    /// A kind written by a newer version of Cairn; kept verbatim.
    Other(String),
}

impl EventKind {
    /// The stable code stored and exported (`auth.sign_in`).
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::SignIn => "auth.sign_in",
            Self::SignOut => "auth.sign_out",
            Self::SignUp => "auth.sign_up",
            Self::Activation => "auth.activation",
            Self::PasswordResetRequest => "auth.password_reset_request",
            Self::PasswordReset => "auth.password_reset",
            Self::PasswordChange => "auth.password_change",
            Self::UserCreated => "user.created",
            Self::Other(code) => code,
        }
    }

    /// The name shown in activity lists.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            Self::SignIn => "Sign-in",
            Self::SignOut => "Sign-out",
            Self::SignUp => "Sign-up",
            Self::Activation => "Account activation",
            Self::PasswordResetRequest => "Password reset requested",
            Self::PasswordReset => "Password reset",
            Self::PasswordChange => "Password change",
            Self::UserCreated => "User created",
            Self::Other(code) => code,
        }
    }

    /// The stream the kind belongs to.
    #[must_use]
    pub fn category(&self) -> EventCategory {
        match self {
            Self::Other(_) => EventCategory::Activity,
            _ => EventCategory::Security,
        }
    }

    /// Parses a stored code; unknown codes become [`EventKind::Other`].
    #[must_use]
    pub fn from_code(code: &str) -> Self {
        match code {
            "auth.sign_in" => Self::SignIn,
            "auth.sign_out" => Self::SignOut,
            "auth.sign_up" => Self::SignUp,
            "auth.activation" => Self::Activation,
            "auth.password_reset_request" => Self::PasswordResetRequest,
            "auth.password_reset" => Self::PasswordReset,
            "auth.password_change" => Self::PasswordChange,
            "user.created" => Self::UserCreated,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether the thing succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// It worked.
    Success,
    /// It was refused or failed.
    Failure,
}

impl EventOutcome {
    /// The stable text form used in storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

impl FromStr for EventOutcome {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            _ => Err(UnknownValue::new("event outcome", s)),
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's IP address, as text.
    pub ip: Option<String>,
    /// The `User-Agent` header, shortened.
    pub user_agent: Option<String>,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id (time-ordered).
    pub id: EventId,
    /// The account it belongs to; `None` when no account could be identified.
    pub account_id: Option<AccountId>,
    /// What happened.
    pub kind: EventKind,
    /// Whether it succeeded.
    pub outcome: EventOutcome,
    /// The user who acted, when known.
    pub actor_user_id: Option<UserId>,
    /// The email address the actor used or was identified by.
    pub actor_email: Option<String>,
    /// Where the request came from.
    pub origin: RequestOrigin,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Kind-specific details (method, failure reason, …).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    /// A new event of `kind` at `at`, with no account, actor, origin or details yet.
    #[must_use]
    pub fn new(kind: EventKind, outcome: EventOutcome, at: DateTime<Utc>) -> Self {
        Self {
            id: EventId::new(),
            account_id: None,
            kind,
            outcome,
            actor_user_id: None,
            actor_email: None,
            origin: RequestOrigin::default(),
            occurred_at: at,
            details: serde_json::Map::new(),
        }
    }

    /// Sets the account.
    #[must_use]
    pub fn in_account(mut self, account_id: AccountId) -> Self {
        self.account_id = Some(account_id);
        self
    }

    /// Sets the actor.
    #[must_use]
    pub fn by(mut self, user_id: Option<UserId>, email: impl Into<String>) -> Self {
        self.actor_user_id = user_id;
        self.actor_email = Some(email.into());
        self
    }

    /// Sets the origin.
    #[must_use]
    pub fn from_origin(mut self, origin: &RequestOrigin) -> Self {
        self.origin = origin.clone();
        self
    }

    /// Adds one detail.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_round_trip_and_unknown_codes_survive() {
        for kind in [
            EventKind::SignIn,
            EventKind::SignOut,
            EventKind::SignUp,
            EventKind::Activation,
            EventKind::PasswordResetRequest,
            EventKind::PasswordReset,
            EventKind::PasswordChange,
            EventKind::UserCreated,
        ] {
            assert_eq!(EventKind::from_code(kind.code()), kind);
            assert_eq!(kind.category(), EventCategory::Security);
        }
        let future = EventKind::from_code("backup.finished");
        assert_eq!(future, EventKind::Other("backup.finished".into()));
        assert_eq!(future.code(), "backup.finished");
    }

    #[test]
    fn builder_fills_the_fields() {
        let account = AccountId::new();
        let event = Event::new(EventKind::SignIn, EventOutcome::Failure, Utc::now())
            .in_account(account)
            .by(None, "a@example.com")
            .from_origin(&RequestOrigin {
                ip: Some("192.0.2.1".into()),
                user_agent: None,
            })
            .with("reason", "wrong_password");
        assert_eq!(event.account_id, Some(account));
        assert_eq!(event.actor_email.as_deref(), Some("a@example.com"));
        assert_eq!(event.origin.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(event.details["reason"], "wrong_password");
        assert_eq!(
            "failure".parse::<EventOutcome>().unwrap(),
            EventOutcome::Failure
        );
        assert!("meh".parse::<EventCategory>().is_err());
    }
}
