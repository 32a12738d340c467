//! Failed sign-in attempts, counted per email address and per IP address.
//!
//! Kept in the meta store rather than in memory so that every API replica sees the same
//! counts: an attacker spreading guesses across replicas is still throttled.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::auth::FailureWindow;

use crate::db::with_pool;
use crate::error::{MetaError, Result};
use crate::store::MetaStore;

/// Failed sign-in storage.
#[derive(Debug, Clone, Copy)]
pub struct SignInFailures<'a> {
    store: &'a MetaStore,
}

#[derive(sqlx::FromRow)]
struct WindowRow {
    count: i64,
    oldest: Option<DateTime<Utc>>,
}

impl WindowRow {
    fn into_window(self) -> Result<FailureWindow> {
        Ok(FailureWindow {
            count: u64::try_from(self.count).map_err(MetaError::corrupt)?,
            oldest: self.oldest,
        })
    }
}

impl<'a> SignInFailures<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Records one failed attempt for `email` (normalised) from `ip`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record(&self, email: &str, ip: Option<&str>, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str =
            "INSERT INTO sign_in_failures (id, email, ip, occurred_at) VALUES ($1, $2, $3, $4)";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(Uuid::now_v7())
                .bind(email)
                .bind(ip)
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Failures for `email` since `since`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn for_email(&self, email: &str, since: DateTime<Utc>) -> Result<FailureWindow> {
        const SQL: &str = "SELECT COUNT(*) AS count, MIN(occurred_at) AS oldest \
             FROM sign_in_failures WHERE email = $1 AND occurred_at > $2";
        let row: WindowRow = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL).bind(email).bind(since).fetch_one(pool).await)?;
        row.into_window()
    }

    /// Failures from `ip` since `since`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn for_ip(&self, ip: &str, since: DateTime<Utc>) -> Result<FailureWindow> {
        const SQL: &str = "SELECT COUNT(*) AS count, MIN(occurred_at) AS oldest \
             FROM sign_in_failures WHERE ip = $1 AND occurred_at > $2";
        let row: WindowRow = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL).bind(ip).bind(since).fetch_one(pool).await)?;
        row.into_window()
    }

    /// Forgets the failures for `email` (after a successful sign-in or a password reset).
    ///
    /// # Errors
    /// Database errors.
    pub async fn clear_for_email(&self, email: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM sign_in_failures WHERE email = $1";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(email).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Deletes records older than `before`; returns how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self, before: DateTime<Utc>) -> Result<u64> {
        const SQL: &str = "DELETE FROM sign_in_failures WHERE occurred_at < $1";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL).bind(before).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done)
    }
}
