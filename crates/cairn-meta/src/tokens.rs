//! Single-use tokens sent by email: account activation and password reset.
//!
//! As with sessions only the SHA-256 of a token is stored. Issuing a token retires every
//! earlier unused token of the same user and purpose, so only the newest link works.
//! Using a token and applying its effect happen in one transaction: a link can never be
//! spent without the account being activated or the password being changed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::User;
use cairn_domain::ids::{TypedId, UserId};

use crate::db::with_pool;
use crate::error::{Result, conflict_on_unique};
use crate::rows::{USER_COLUMNS, UserRow};
use crate::store::MetaStore;

/// What an emailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms the email address of a new sign-up.
    Activation,
    /// Lets the owner of the address choose a new password.
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewEmailToken {
    /// SHA-256 of the token in the link.
    pub token_hash: Vec<u8>,
    /// Whose it is.
    pub user_id: UserId,
    /// What it does.
    pub purpose: TokenPurpose,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Emailed-token storage.
#[derive(Debug, Clone, Copy)]
pub struct EmailTokens<'a> {
    store: &'a MetaStore,
}

const RETIRE: &str = "UPDATE email_tokens SET used_at = $3 \
     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";
const CONSUME: &str = "UPDATE email_tokens SET used_at = $3 \
     WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
     RETURNING user_id";

impl<'a> EmailTokens<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Stores a token and retires the user's earlier unused tokens of the same purpose.
    ///
    /// # Errors
    /// Database errors; [`MetaError::Conflict`] on a hash collision.
    pub async fn issue(&self, token: &NewEmailToken) -> Result<()> {
        const INSERT: &str = "INSERT INTO email_tokens \
             (id, token_hash, user_id, purpose, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(RETIRE)
                .bind(token.user_id.as_uuid())
                .bind(token.purpose.as_str())
                .bind(token.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT)
                .bind(Uuid::now_v7())
                .bind(token.token_hash.as_slice())
                .bind(token.user_id.as_uuid())
                .bind(token.purpose.as_str())
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique("email token"))?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The user a token belongs to, if it is unused and unexpired. Does not use it up
    /// (the reset page checks the link before showing its form).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn peek(
        &self,
        token_hash: &[u8],
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM email_tokens JOIN users ON users.id = email_tokens.user_id \
             WHERE email_tokens.token_hash = $1 AND email_tokens.purpose = $2 \
             AND email_tokens.used_at IS NULL AND email_tokens.expires_at > $3"
        );
        let row: Option<UserRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(purpose.as_str())
                .bind(now)
                .fetch_optional(pool)
                .await)?;
        row.map(UserRow::into_user).transpose()
    }

    /// Uses an activation token: marks it used and activates its (pending) user, in one
    /// transaction. Returns the activated user, or `None` when the token is unknown,
    /// used, expired, or its user is no longer pending.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn activate(&self, token_hash: &[u8], now: DateTime<Utc>) -> Result<Option<User>> {
        const ACTIVATE: &str = "UPDATE users SET status = 'active', activated_at = $2 \
             WHERE id = $1 AND status = 'pending'";
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            let user_id: Option<Uuid> = sqlx::query_scalar(CONSUME)
                .bind(token_hash)
                .bind(TokenPurpose::Activation.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            let activated = sqlx::query(ACTIVATE)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if activated.rows_affected() == 0 {
                // Already active or disabled: the link is spent, nothing else changes.
                tx.commit().await?;
                return Ok(None);
            }
            let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row.into_user().map(Some)
        })
    }

    /// Uses a password-reset token: marks it used, sets the new password hash, retires the
    /// user's other reset tokens and deletes all their sessions, in one transaction.
    /// Returns the user, or `None` when the token is unknown, used or expired.
    ///
    /// A reset also proves the person controls the address, so a still-pending user is
    /// activated by it.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn reset_password(
        &self,
        token_hash: &[u8],
        new_password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2, password_changed_at = $3, \
             status = CASE WHEN status = 'pending' THEN 'active' ELSE status END, \
             activated_at = CASE WHEN status = 'pending' THEN $3 ELSE activated_at END \
             WHERE id = $1";
        const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            let user_id: Option<Uuid> = sqlx::query_scalar(CONSUME)
                .bind(token_hash)
                .bind(TokenPurpose::PasswordReset.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            sqlx::query(SET_PASSWORD)
                .bind(user_id)
                .bind(new_password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(RETIRE)
                .bind(user_id)
                .bind(TokenPurpose::PasswordReset.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(END_SESSIONS).bind(user_id).execute(&mut *tx).await?;
            let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row.into_user().map(Some)
        })
    }
}
