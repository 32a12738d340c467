//! Entities of a task, and the tags on them.
//!
//! Lists filter by search text, kind, status and tag in one statement (a NULL parameter
//! switches its condition off, as in `events`). Limited Access is derived from the tags:
//! an entity carrying a tag marked `limited_access` is left out of every list and count
//! unless the caller says the viewer may see it (the account's primary user), so the rule
//! lives in the query, not in each page.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use cairn_domain::entity::{DiscoveredEntity, EntityAction};
use cairn_domain::ids::{AccountId, EntityId, SnapshotId, TagId, TaskId, TypedId};
use cairn_domain::{Entity, EntityKind, EntityStatus};

use crate::db::with_pool;
use crate::error::{MetaError, Result};
use crate::rows::{CounterColumns, parse_stored};
use crate::store::MetaStore;

/// Most ids bound in one statement (well under both backends' parameter limits).
pub(crate) const ID_BATCH: usize = 500;

/// The numbered bind parameters `$first, $first+1, …` (`count` of them) for an
/// `IN (…)` list; both backends accept `$n`.
pub(crate) fn bind_params(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const ENTITY_COLUMNS: &str = "id, task_id, kind, name, external_id, email, status, items, \
     bytes, added, updated, deleted, cursor, last_snapshot_id, last_backup_at, created_at, \
     deleted_at, archived_at";

/// The condition "the entity carries no Limited Access tag", for `entities` rows.
const NOT_LIMITED: &str = "NOT EXISTS (SELECT 1 FROM entity_tags et JOIN tags t \
     ON t.id = et.tag_id WHERE et.entity_id = entities.id AND t.limited_access)";

#[derive(sqlx::FromRow)]
struct EntityRow {
    id: Uuid,
    task_id: Uuid,
    kind: String,
    name: String,
    external_id: String,
    email: Option<String>,
    status: String,
    #[sqlx(flatten)]
    counters: CounterColumns,
    cursor: Option<Json<serde_json::Value>>,
    last_snapshot_id: Option<Uuid>,
    last_backup_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
}

impl EntityRow {
    fn into_entity(self, tags: Vec<(TagId, bool)>) -> Result<Entity> {
        Ok(Entity {
            id: EntityId::from_uuid(self.id),
            task_id: TaskId::from_uuid(self.task_id),
            kind: parse_stored("entities.kind", &self.kind)?,
            name: self.name,
            external_id: self.external_id,
            email: self.email,
            status: parse_stored("entities.status", &self.status)?,
            limited_access: tags.iter().any(|(_, limited)| *limited),
            tags: tags.into_iter().map(|(id, _)| id).collect(),
            counters: self.counters.into_counters("entities")?,
            cursor: self.cursor.map(|c| c.0),
            last_snapshot_id: self.last_snapshot_id.map(SnapshotId::from_uuid),
            last_backup_at: self.last_backup_at,
            created_at: self.created_at,
            deleted_at: self.deleted_at,
            archived_at: self.archived_at,
        })
    }
}

/// Which entities of a task to list.
#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    /// Substring of the name, email or external id; case-insensitive (on SQLite for
    /// ASCII letters only, as its `LOWER` does not fold other scripts).
    pub search: Option<String>,
    /// Only this kind.
    pub kind: Option<EntityKind>,
    /// Only this status.
    pub status: Option<EntityStatus>,
    /// Only entities carrying this tag.
    pub tag: Option<TagId>,
    /// Include Limited Access entities (only for the account's primary user).
    pub include_limited: bool,
    /// At most this many (0 = no limit).
    pub limit: u32,
    /// Skip this many (for paging).
    pub offset: u32,
}

/// `LIKE` pattern for a case-insensitive substring, with `\` as the escape character.
fn like_pattern(search: &str) -> String {
    let mut out = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The WHERE clause shared by [`AccountEntities::list`] and [`AccountEntities::count`]
/// (followed by `AND ($7 OR` [`NOT_LIMITED`]`)`); `$1`–`$7` are bound by [`bind_filter!`].
const FILTER: &str = "account_id = $1 AND task_id = $2 AND deleted_at IS NULL \
     AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\' \
         OR LOWER(COALESCE(email, '')) LIKE $3 ESCAPE '\\' \
         OR LOWER(external_id) LIKE $3 ESCAPE '\\') \
     AND ($4 IS NULL OR kind = $4) AND ($5 IS NULL OR status = $5) \
     AND ($6 IS NULL OR EXISTS (SELECT 1 FROM entity_tags et2 \
         WHERE et2.entity_id = entities.id AND et2.tag_id = $6))";

/// Binds `$1`–`$7` of [`FILTER`] on a query of either backend.
macro_rules! bind_filter {
    ($q:expr, $account:expr, $task:expr, $query:expr) => {
        $q.bind($account.as_uuid())
            .bind($task.as_uuid())
            .bind(
                $query
                    .search
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(like_pattern),
            )
            .bind($query.kind.map(EntityKind::as_str))
            .bind($query.status.map(EntityStatus::as_str))
            .bind($query.tag.map(|t| t.as_uuid()))
            .bind($query.include_limited)
    };
}

/// The entities of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountEntities<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl<'a> AccountEntities<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Stores a new entity. Its `tags` and `limited_access` are not stored from here:
    /// tags are applied with [`crate::AccountTags::apply`].
    ///
    /// # Errors
    /// [`MetaError::Conflict`] when the task already has an entity of that kind and
    /// external id; [`MetaError::NotFound`] when the task is not in this account.
    pub async fn create(&self, entity: &Entity) -> Result<()> {
        self.insert_many(std::slice::from_ref(entity)).await
    }

    /// Records what discovery found for `task`: entities not seen before are created in
    /// `new_status` (Not Active, or Scheduled when the task auto-activates); known ones
    /// get their current name and email. Returns the new entities' ids.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when the task is not in this account; database errors.
    pub async fn upsert_discovered(
        &self,
        task: TaskId,
        found: &[DiscoveredEntity],
        new_status: EntityStatus,
        at: DateTime<Utc>,
    ) -> Result<Vec<EntityId>> {
        const EXISTING: &str =
            "SELECT kind, external_id FROM entities WHERE task_id = $1 AND account_id = $2";
        const REFRESH: &str = "UPDATE entities SET name = $4, email = $5 \
             WHERE task_id = $1 AND kind = $2 AND external_id = $3";
        self.check_task(task).await?;
        let existing: Vec<(String, String)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(EXISTING)
                .bind(task.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_all(pool)
                .await)?;
        let existing: std::collections::BTreeSet<(String, String)> = existing.into_iter().collect();
        let mut fresh = Vec::new();
        let mut known = Vec::new();
        for item in found {
            if existing.contains(&(item.kind.as_str().to_owned(), item.external_id.clone())) {
                known.push(item);
            } else {
                fresh.push(Entity::discovered(task, item.clone(), new_status, at));
            }
        }
        self.insert_many(&fresh).await?;
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            for item in known {
                sqlx::query(REFRESH)
                    .bind(task.as_uuid())
                    .bind(item.kind.as_str())
                    .bind(&item.external_id)
                    .bind(&item.name)
                    .bind(item.email.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<(), MetaError>(())
        })?;
        Ok(fresh.into_iter().map(|e| e.id).collect())
    }

    async fn check_task(&self, task: TaskId) -> Result<()> {
        const SQL: &str = "SELECT COUNT(*) FROM tasks WHERE id = $1 AND account_id = $2";
        let n: i64 = with_pool!(&self.store.db, read, pool =>
            sqlx::query_scalar(SQL)
                .bind(task.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_one(pool)
                .await)?;
        if n == 0 {
            return Err(MetaError::NotFound { what: "task" });
        }
        Ok(())
    }

    async fn insert_many(&self, entities: &[Entity]) -> Result<()> {
        const SQL: &str = "INSERT INTO entities (id, account_id, task_id, kind, name, \
             external_id, email, status, items, bytes, added, updated, deleted, cursor, \
             last_snapshot_id, last_backup_at, created_at, deleted_at, archived_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19 WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $3 AND account_id = $2)";
        use crate::rows::count_to_db as n;
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            for e in entities {
                let done = sqlx::query(SQL)
                    .bind(e.id.as_uuid())
                    .bind(self.account.as_uuid())
                    .bind(e.task_id.as_uuid())
                    .bind(e.kind.as_str())
                    .bind(&e.name)
                    .bind(&e.external_id)
                    .bind(e.email.as_deref())
                    .bind(e.status.as_str())
                    .bind(n(e.counters.items))
                    .bind(n(e.counters.bytes))
                    .bind(n(e.counters.added))
                    .bind(n(e.counters.updated))
                    .bind(n(e.counters.deleted))
                    .bind(e.cursor.as_ref().map(Json))
                    .bind(e.last_snapshot_id.map(|s| s.as_uuid()))
                    .bind(e.last_backup_at)
                    .bind(e.created_at)
                    .bind(e.deleted_at)
                    .bind(e.archived_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::conflict_on_unique("entity"))?;
                if done.rows_affected() == 0 {
                    return Err(MetaError::NotFound { what: "task" });
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// One entity (including Limited Access ones: callers showing it to a user check
    /// [`Entity::limited_access`]).
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such entity in this account.
    pub async fn get(&self, id: EntityId) -> Result<Entity> {
        let sql =
            format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE id = $1 AND account_id = $2");
        let row: Option<EntityRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        let row = row.ok_or(MetaError::NotFound { what: "entity" })?;
        let mut tags = self.tags_by_entity(None, Some(row.id)).await?;
        let own = tags.remove(&row.id).unwrap_or_default();
        row.into_entity(own)
    }

    /// `task`'s live (not deleted) entities matching `query`, by name.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn list(&self, task: TaskId, query: &EntityQuery) -> Result<Vec<Entity>> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE {FILTER} AND ($7 OR {NOT_LIMITED}) \
             ORDER BY name, id LIMIT $8 OFFSET $9"
        );
        let limit = if query.limit == 0 {
            i64::MAX
        } else {
            i64::from(query.limit)
        };
        let rows: Vec<EntityRow> = with_pool!(&self.store.db, read, pool =>
            bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), self.account, task, query)
                .bind(limit)
                .bind(i64::from(query.offset))
                .fetch_all(pool)
                .await)?;
        let mut tags = self.tags_by_entity(Some(task.as_uuid()), None).await?;
        rows.into_iter()
            .map(|row| {
                let own = tags.remove(&row.id).unwrap_or_default();
                row.into_entity(own)
            })
            .collect()
    }

    /// Every entity of `task`, deleted and Limited Access ones included, by name: what
    /// a purge must account for (their cursors list segments no snapshot may list yet).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn all_of_task(&self, task: TaskId) -> Result<Vec<Entity>> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE account_id = $1 AND task_id = $2 \
             ORDER BY name, id"
        );
        let rows: Vec<EntityRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .bind(task.as_uuid())
                .fetch_all(pool)
                .await)?;
        let mut tags = self.tags_by_entity(Some(task.as_uuid()), None).await?;
        rows.into_iter()
            .map(|row| {
                let own = tags.remove(&row.id).unwrap_or_default();
                row.into_entity(own)
            })
            .collect()
    }

    /// How many of `task`'s live entities match `query` (ignoring limit and offset).
    ///
    /// # Errors
    /// Database errors.
    pub async fn count(&self, task: TaskId, query: &EntityQuery) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM entities WHERE {FILTER} AND ($7 OR {NOT_LIMITED})");
        let n: i64 = with_pool!(&self.store.db, read, pool =>
            bind_filter!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), self.account, task, query)
                .fetch_one(pool)
                .await)?;
        crate::rows::count_from_db("COUNT(*)", n)
    }

    /// How many live entities of the account (all tasks) are in each status; statuses
    /// with none are left out. Feeds the home page's "not activated" reminder.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn status_counts(&self, include_limited: bool) -> Result<Vec<(EntityStatus, u64)>> {
        let sql = format!(
            "SELECT status, COUNT(*) FROM entities WHERE account_id = $1 \
             AND deleted_at IS NULL AND ($2 OR {NOT_LIMITED}) GROUP BY status ORDER BY status"
        );
        let rows: Vec<(String, i64)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .bind(include_limited)
                .fetch_all(pool)
                .await)?;
        rows.into_iter()
            .map(|(status, n)| {
                Ok((
                    parse_stored("entities.status", &status)?,
                    crate::rows::count_from_db("COUNT(*)", n)?,
                ))
            })
            .collect()
    }

    /// Sets `status` on every listed live entity of this account. Returns how many
    /// changed. Used by backup runs (In Process, Success…) and by discovery (an archived
    /// entity that came back). Any status but Archived clears `archived_at`; discovery
    /// archives with [`AccountEntities::archive`], which records when.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_status(&self, ids: &[EntityId], status: EntityStatus) -> Result<u64> {
        self.update_where(ids, status, EntityStatus::ALL).await
    }

    /// Applies a user's action to a selection (F-TASK-5): only entities for which the
    /// action makes sense change (see [`EntityAction::apply`]). Returns how many changed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn apply_action(&self, ids: &[EntityId], action: EntityAction) -> Result<u64> {
        let target = match action {
            EntityAction::Activate => EntityStatus::Scheduled,
            EntityAction::Pause => EntityStatus::Paused,
        };
        let from: Vec<EntityStatus> = EntityStatus::ALL
            .iter()
            .copied()
            .filter(|s| action.apply(*s) == Some(target))
            .collect();
        self.update_where(ids, target, &from).await
    }

    async fn update_where(
        &self,
        ids: &[EntityId],
        status: EntityStatus,
        from: &[EntityStatus],
    ) -> Result<u64> {
        let mut changed = 0;
        for batch in ids.chunks(ID_BATCH) {
            let sql = format!(
                "UPDATE entities SET status = $2, \
                 archived_at = CASE WHEN $2 = '{archived}' THEN archived_at ELSE NULL END \
                 WHERE account_id = $1 AND deleted_at IS NULL \
                 AND status IN ({}) AND id IN ({})",
                bind_params(3, from.len()),
                bind_params(3 + from.len(), batch.len()),
                archived = EntityStatus::Archived.as_str(),
            );
            changed += with_pool!(&self.store.db, write, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account.as_uuid())
                    .bind(status.as_str());
                for s in from {
                    q = q.bind(s.as_str());
                }
                for id in batch {
                    q = q.bind(id.as_uuid());
                }
                q.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(changed)
    }

    /// Archives entities discovery no longer finds at the service (their backups are
    /// kept) and records `at` as when, for the task's "retain auto-archived backups"
    /// setting. Entities already archived keep their first `archived_at`. Returns how
    /// many changed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn archive(&self, ids: &[EntityId], at: DateTime<Utc>) -> Result<u64> {
        let mut changed = 0;
        for batch in ids.chunks(ID_BATCH) {
            let sql = format!(
                "UPDATE entities SET status = $2, archived_at = $3 WHERE account_id = $1 \
                 AND deleted_at IS NULL AND status <> $2 AND id IN ({})",
                bind_params(4, batch.len())
            );
            changed += with_pool!(&self.store.db, write, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account.as_uuid())
                    .bind(EntityStatus::Archived.as_str())
                    .bind(at);
                for id in batch {
                    q = q.bind(id.as_uuid());
                }
                q.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(changed)
    }

    /// Deletes entities (F-TASK-5): they leave lists and backups at once; their data goes
    /// with the task's purge rules. Returns how many were deleted.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(&self, ids: &[EntityId], at: DateTime<Utc>) -> Result<u64> {
        let mut changed = 0;
        for batch in ids.chunks(ID_BATCH) {
            let sql = format!(
                "UPDATE entities SET deleted_at = $2 WHERE account_id = $1 \
                 AND deleted_at IS NULL AND id IN ({})",
                bind_params(3, batch.len())
            );
            changed += with_pool!(&self.store.db, write, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account.as_uuid())
                    .bind(at);
                for id in batch {
                    q = q.bind(id.as_uuid());
                }
                q.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(changed)
    }

    /// Saves the connector's incremental position (a checkpoint during a run, or the final
    /// watermark).
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such entity in this account.
    pub async fn save_cursor(&self, id: EntityId, cursor: &serde_json::Value) -> Result<()> {
        const SQL: &str = "UPDATE entities SET cursor = $3 WHERE id = $1 AND account_id = $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(Json(cursor))
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        crate::tasks::found(done, "entity")
    }

    /// Tag ids (with their Limited Access flag) of the tagged entities of a task, or of
    /// one entity.
    async fn tags_by_entity(
        &self,
        task: Option<Uuid>,
        entity: Option<Uuid>,
    ) -> Result<BTreeMap<Uuid, Vec<(TagId, bool)>>> {
        const SQL: &str = "SELECT et.entity_id, et.tag_id, t.limited_access \
             FROM entity_tags et JOIN tags t ON t.id = et.tag_id \
             JOIN entities e ON e.id = et.entity_id \
             WHERE e.account_id = $1 AND ($2 IS NULL OR e.task_id = $2) \
             AND ($3 IS NULL OR e.id = $3) ORDER BY et.entity_id, et.tag_id";
        let rows: Vec<(Uuid, Uuid, bool)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL)
                .bind(self.account.as_uuid())
                .bind(task)
                .bind(entity)
                .fetch_all(pool)
                .await)?;
        let mut out: BTreeMap<Uuid, Vec<(TagId, bool)>> = BTreeMap::new();
        for (entity, tag, limited) in rows {
            out.entry(entity)
                .or_default()
                .push((TagId::from_uuid(tag), limited));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod bind_params_tests {
    #[test]
    fn numbers_parameters_from_first() {
        assert_eq!(super::bind_params(3, 3), "$3, $4, $5");
        assert_eq!(super::bind_params(1, 0), "");
    }
}
