//! Installation-wide secrets created on first use.
//!
//! Some keys must be the same on every replica and survive restarts without the operator
//! configuring them (the key that signs CSRF tokens, for one). The first process to need
//! one inserts a random value; every later caller, on any replica, reads that same value.

use chrono::{DateTime, Utc};

use crate::db::with_pool;
use crate::error::Result;
use crate::store::MetaStore;

/// Access to the `instance_secrets` table.
#[derive(Debug, Clone, Copy)]
pub struct InstanceSecrets<'a> {
    store: &'a MetaStore,
}

impl<'a> InstanceSecrets<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// The secret called `name`; if there is none yet, `candidate` is stored and returned.
    /// Concurrent first calls agree on one value.
    ///
    /// # Errors
    /// Database errors.
    pub async fn get_or_create(
        &self,
        name: &str,
        candidate: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Vec<u8>> {
        const INSERT: &str = "INSERT INTO instance_secrets (name, value, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT value FROM instance_secrets WHERE name = $1";
        with_pool!(&self.store.db, write, pool => {
            sqlx::query(INSERT)
                .bind(name)
                .bind(candidate)
                .bind(at)
                .execute(pool)
                .await?;
            // Read on the writer: on SQLite this sees our own insert without any doubt.
            let value: Vec<u8> = sqlx::query_scalar(SELECT).bind(name).fetch_one(pool).await?;
            Ok(value)
        })
    }
}
