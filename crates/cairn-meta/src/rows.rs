//! Row structs shared by several modules, and their conversion into domain types.
//!
//! Rows hold only types both backends decode the same way (UUID, text, `DateTime<Utc>`);
//! turning stored text back into enums and validated values happens here, and a value
//! this build cannot read becomes [`MetaError::Corrupt`] rather than a panic.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::ids::{AccountId, TypedId, UserId};
use cairn_domain::{Account, EmailAddress, RegionCode, User};

use crate::error::{MetaError, Result};

/// Parses stored text, reporting which column held the bad value.
pub(crate) fn parse_stored<T>(column: &str, value: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| MetaError::corrupt(format!("{column}: {e}")))
}

/// The columns of `users` that make a [`User`], plus its password hash.
pub(crate) const USER_COLUMNS: &str = "users.id, users.account_id, users.email, users.name, \
     users.role, users.status, users.password_hash, users.created_at, users.activated_at";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User> {
        Ok(self.into_record()?.user)
    }

    pub(crate) fn into_record(self) -> Result<UserRecord> {
        Ok(UserRecord {
            user: User {
                id: UserId::from_uuid(self.id),
                account_id: AccountId::from_uuid(self.account_id),
                email: EmailAddress::parse(&self.email)
                    .map_err(|_| MetaError::corrupt("users.email: not a valid address"))?,
                name: self.name,
                role: parse_stored("users.role", &self.role)?,
                status: parse_stored("users.status", &self.status)?,
                created_at: self.created_at,
                activated_at: self.activated_at,
            },
            password_hash: self.password_hash,
        })
    }
}

/// A user together with their password hash: what sign-in needs.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// The PHC-format password hash; `None` for users who have never set a password.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub id: Uuid,
    pub name: String,
    pub region: String,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    pub(crate) fn into_account(self) -> Result<Account> {
        Ok(Account {
            id: AccountId::from_uuid(self.id),
            name: self.name,
            region: parse_stored::<RegionCode>("accounts.region", &self.region)?,
            created_at: self.created_at,
        })
    }
}

/// A counter for a `BIGINT` column (values past `i64::MAX` are clamped; no counter gets
/// there in practice).
pub(crate) fn count_to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `BIGINT` or `INTEGER` column read back as a non-negative count.
pub(crate) fn count_from_db<T: TryFrom<i64>>(column: &str, value: i64) -> Result<T> {
    T::try_from(value).map_err(|_| MetaError::corrupt(format!("{column}: {value} out of range")))
}

/// The five counter columns of `entities`, `snapshots` and `snapshot_entities`, read back.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(crate) struct CounterColumns {
    pub items: i64,
    pub bytes: i64,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
}

impl CounterColumns {
    pub(crate) fn into_counters(self, table: &str) -> Result<cairn_domain::EntityCounters> {
        Ok(cairn_domain::EntityCounters {
            items: count_from_db(&format!("{table}.items"), self.items)?,
            bytes: count_from_db(&format!("{table}.bytes"), self.bytes)?,
            added: count_from_db(&format!("{table}.added"), self.added)?,
            updated: count_from_db(&format!("{table}.updated"), self.updated)?,
            deleted: count_from_db(&format!("{table}.deleted"), self.deleted)?,
        })
    }
}
