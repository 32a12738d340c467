//! Sign-in sessions.
//!
//! The browser holds a random token; the store keeps only its SHA-256 hash, so a leaked
//! database cannot be replayed as cookies. Looking a session up returns its user in the
//! same query, because every authenticated request needs both.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::User;
use cairn_domain::event::RequestOrigin;
use cairn_domain::ids::{AccountId, SessionId, TypedId, UserId};

use crate::db::with_pool;
use crate::error::{MetaError, Result, conflict_on_unique};
use crate::rows::{USER_COLUMNS, UserRow};
use crate::store::MetaStore;

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Its id.
    pub id: SessionId,
    /// SHA-256 of the cookie token.
    pub token_hash: Vec<u8>,
    /// Who signed in.
    pub user_id: UserId,
    /// Their account.
    pub account_id: AccountId,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// Where the sign-in came from.
    pub origin: RequestOrigin,
}

/// A stored session with its user.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Its id.
    pub id: SessionId,
    /// The signed-in user, as currently stored.
    pub user: User,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last request seen.
    pub last_seen_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// Session storage.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    store: &'a MetaStore,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: Uuid,
    session_created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: UserRow,
}

impl<'a> Sessions<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Stores a new session.
    ///
    /// # Errors
    /// [`MetaError::Conflict`] on a token hash collision (practically impossible).
    pub async fn create(&self, session: &NewSession) -> Result<()> {
        const SQL: &str = "INSERT INTO sessions (id, token_hash, user_id, account_id, created_at, \
             last_seen_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(session.id.as_uuid())
                .bind(session.token_hash.as_slice())
                .bind(session.user_id.as_uuid())
                .bind(session.account_id.as_uuid())
                .bind(session.created_at)
                .bind(session.expires_at)
                .bind(session.origin.ip.as_deref())
                .bind(session.origin.user_agent.as_deref())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))
        .map_err(conflict_on_unique("session"))?;
        Ok(())
    }

    /// The session whose token hashes to `token_hash`, with its user. Expiry is the
    /// caller's decision (it depends on policy and the clock); this returns whatever is
    /// stored.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn find_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>> {
        let sql = format!(
            "SELECT sessions.id AS session_id, sessions.created_at AS session_created_at, \
             sessions.last_seen_at, sessions.expires_at, {USER_COLUMNS} \
             FROM sessions JOIN users ON users.id = sessions.user_id \
             WHERE sessions.token_hash = $1"
        );
        let row: Option<SessionRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(pool).await)?;
        row.map(|row| {
            Ok(SessionRecord {
                id: SessionId::from_uuid(row.session_id),
                user: row.user.into_user()?,
                created_at: row.session_created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.expires_at,
            })
        })
        .transpose()
    }

    /// Records activity on a session.
    ///
    /// # Errors
    /// Database errors.
    pub async fn touch(&self, id: SessionId, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id = $1";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(id.as_uuid()).bind(at).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Deletes one session (sign-out). Deleting a session that is already gone is fine.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(&self, id: SessionId) -> Result<()> {
        const SQL: &str = "DELETE FROM sessions WHERE id = $1";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(id.as_uuid()).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Deletes every session of a user except `keep` (after a password change, every other
    /// browser is signed out). Returns how many were deleted.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_for_user(&self, user_id: UserId, keep: Option<SessionId>) -> Result<u64> {
        const SQL: &str = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2";
        // The nil UUID is never a session id, so "keep nothing" needs no second statement.
        let keep = keep.map_or(Uuid::nil(), |id| id.as_uuid());
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(user_id.as_uuid()).bind(keep).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Deletes sessions past their absolute expiry or idle since before `idle_cutoff`.
    /// Returns how many were deleted.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
    ) -> Result<u64> {
        const SQL: &str = "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(now).bind(idle_cutoff).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// How many sessions a user has (for tests and the account page).
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_for_user(&self, user_id: UserId) -> Result<u64> {
        const SQL: &str = "SELECT COUNT(*) FROM sessions WHERE user_id = $1";
        let count: i64 = with_pool!(&self.store.db, read, pool =>
            sqlx::query_scalar(SQL).bind(user_id.as_uuid()).fetch_one(pool).await)?;
        u64::try_from(count).map_err(MetaError::corrupt)
    }
}
