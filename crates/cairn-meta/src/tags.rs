//! Tags of an account and their application to entities (F-TASK-6).
//!
//! Applying and removing work on a selection and touch only entities of this account; a
//! tag id from another account matches nothing.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::Tag;
use cairn_domain::ids::{AccountId, EntityId, TagId, TypedId};

use crate::db::with_pool;
use crate::entities::{ID_BATCH, bind_params};
use crate::error::{MetaError, Result, conflict_on_unique};
use crate::store::MetaStore;

#[derive(sqlx::FromRow)]
struct TagRow {
    id: Uuid,
    name: String,
    limited_access: bool,
    created_at: DateTime<Utc>,
}

impl TagRow {
    fn into_tag(self) -> Tag {
        Tag {
            id: TagId::from_uuid(self.id),
            name: self.name,
            limited_access: self.limited_access,
            created_at: self.created_at,
        }
    }
}

/// The tags of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountTags<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl<'a> AccountTags<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Stores a new tag.
    ///
    /// # Errors
    /// [`MetaError::Conflict`] when the account already has a tag of that name.
    pub async fn create(&self, tag: &Tag) -> Result<()> {
        const SQL: &str = "INSERT INTO tags (id, account_id, name, limited_access, created_at) \
             VALUES ($1, $2, $3, $4, $5)";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(tag.id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(&tag.name)
                .bind(tag.limited_access)
                .bind(tag.created_at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
                .map_err(conflict_on_unique("tag name")))?;
        Ok(())
    }

    /// The account's tags by name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(&self) -> Result<Vec<Tag>> {
        const SQL: &str = "SELECT id, name, limited_access, created_at FROM tags \
             WHERE account_id = $1 ORDER BY name, id";
        let rows: Vec<TagRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL).bind(self.account.as_uuid()).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(TagRow::into_tag).collect())
    }

    /// Deletes a tag; it leaves every entity it was on.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such tag in this account.
    pub async fn delete(&self, id: TagId) -> Result<()> {
        const SQL: &str = "DELETE FROM tags WHERE id = $1 AND account_id = $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        crate::tasks::found(done, "tag")
    }

    /// Puts `tag` on each listed entity of this account (already tagged ones stay as they
    /// are). Returns how many entities gained the tag.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when the tag is not in this account.
    pub async fn apply(&self, tag: TagId, entities: &[EntityId]) -> Result<u64> {
        self.check(tag).await?;
        let mut added = 0;
        for batch in entities.chunks(ID_BATCH) {
            let sql = format!(
                "INSERT INTO entity_tags (entity_id, tag_id) SELECT id, $2 FROM entities \
                 WHERE account_id = $1 AND id IN ({}) ON CONFLICT DO NOTHING",
                bind_params(3, batch.len())
            );
            added += with_pool!(&self.store.db, write, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account.as_uuid())
                    .bind(tag.as_uuid());
                for id in batch {
                    q = q.bind(id.as_uuid());
                }
                q.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(added)
    }

    /// Takes `tag` off each listed entity. Returns how many lost it.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when the tag is not in this account.
    pub async fn remove(&self, tag: TagId, entities: &[EntityId]) -> Result<u64> {
        self.check(tag).await?;
        let mut removed = 0;
        for batch in entities.chunks(ID_BATCH) {
            let sql = format!(
                "DELETE FROM entity_tags WHERE tag_id = $1 AND entity_id IN ({})",
                bind_params(2, batch.len())
            );
            removed += with_pool!(&self.store.db, write, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tag.as_uuid());
                for id in batch {
                    q = q.bind(id.as_uuid());
                }
                q.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(removed)
    }

    async fn check(&self, tag: TagId) -> Result<()> {
        const SQL: &str = "SELECT COUNT(*) FROM tags WHERE id = $1 AND account_id = $2";
        let n: i64 = with_pool!(&self.store.db, read, pool =>
            sqlx::query_scalar(SQL)
                .bind(tag.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_one(pool)
                .await)?;
        if n == 0 {
            return Err(MetaError::NotFound { what: "tag" });
        }
        Ok(())
    }
}
