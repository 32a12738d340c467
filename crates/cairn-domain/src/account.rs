//! Tenants and the people who sign in to them.
//!
//! An [`Account`] is the tenant: every backup task, snapshot, job and event belongs to
//! exactly one. A [`User`] belongs to one account and signs in with an email address that
//! is unique across the whole installation (sign-in asks only for the email, so it must
//! name one user). The user who signed the account up is its [`Role::Primary`] user.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::email::EmailAddress;
use crate::ids::{AccountId, UserId};
use crate::region::RegionCode;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// The name shown in the portal and in emails (a company or the person's name).
    pub name: String,
    /// The data-center region chosen at sign-up; fixed afterwards.
    pub region: RegionCode,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A person who can sign in to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// The sign-in address, unique across the installation.
    pub email: EmailAddress,
    /// Full name.
    pub name: String,
    /// What the user may do in the account.
    pub role: Role,
    /// Whether the user can sign in.
    pub status: UserStatus,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the email address was confirmed (by activation link, or by an operator).
    pub activated_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether the user may sign in at all.
    #[must_use]
    pub fn can_sign_in(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// What a user may do. Custom roles (chosen operations and services) come with user
/// management; until then every user is the account's primary user or an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user who created the account: everything, and cannot be removed.
    Primary,
    /// Everything in the account.
    Administrator,
}

/// Whether a user can sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Signed up, email address not confirmed yet.
    Pending,
    /// Can sign in.
    Active,
    /// Blocked by an administrator or operator.
    Disabled,
}

/// A stored enum value that this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    /// What was being parsed (e.g. "role").
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
}

impl UnknownValue {
    /// Records that `value` is not a known `kind`; long values are cut short.
    #[must_use]
    pub fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}

impl Role {
    /// The stable text form used in storage and APIs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Administrator => "administrator",
        }
    }

    /// The name shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Primary => "Primary user",
            Self::Administrator => "Administrator",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "primary" => Ok(Self::Primary),
            "administrator" => Ok(Self::Administrator),
            _ => Err(UnknownValue::new("role", s)),
        }
    }
}

impl UserStatus {
    /// The stable text form used in storage and APIs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// The name shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting for activation",
            Self::Active => "Active",
            Self::Disabled => "Disabled",
        }
    }
}

impl FromStr for UserStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(UnknownValue::new("user status", s)),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest name accepted for a person or an account.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a name was refused. The message is shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    /// Nothing but whitespace.
    #[error("Enter a name.")]
    Empty,
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("Names can be at most {MAX_NAME_CHARS} characters long.")]
    TooLong,
    /// Contains control characters (newlines, tabs, NUL…).
    #[error("Names cannot contain line breaks or control characters.")]
    ControlCharacters,
}

/// Trims a person's or account's name and checks it is presentable.
///
/// # Errors
/// [`InvalidName`] when it is empty, too long or contains control characters.
pub fn parse_name(input: &str) -> Result<String, InvalidName> {
    let name = input.trim();
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(InvalidName::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidName::ControlCharacters);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_text_forms_round_trip() {
        for role in [Role::Primary, Role::Administrator] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        for status in [
            UserStatus::Pending,
            UserStatus::Active,
            UserStatus::Disabled,
        ] {
            assert_eq!(status.to_string().parse::<UserStatus>().unwrap(), status);
        }
        let err = "owner".parse::<Role>().unwrap_err();
        assert_eq!(err.kind, "role");
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(parse_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(parse_name(" \t "), Err(InvalidName::Empty));
        assert_eq!(parse_name("a\nb"), Err(InvalidName::ControlCharacters));
        assert_eq!(parse_name(&"é".repeat(100)).unwrap().chars().count(), 100);
        assert_eq!(parse_name(&"x".repeat(101)), Err(InvalidName::TooLong));
    }

    #[test]
    fn only_active_users_sign_in() {
        let mut user = User {
            id: UserId::new(),
            account_id: AccountId::new(),
            email: EmailAddress::parse("a@example.com").unwrap(),
            name: "A".into(),
            role: Role::Primary,
            status: UserStatus::Pending,
            created_at: Utc::now(),
            activated_at: None,
        };
        assert!(!user.can_sign_in());
        user.status = UserStatus::Active;
        assert!(user.can_sign_in());
        user.status = UserStatus::Disabled;
        assert!(!user.can_sign_in());
    }
}
