//! Backup tasks.
//!
//! [`AccountTasks`] is everything users do to their tasks: create, read, change settings,
//! store the (already encrypted) OAuth token, flip the connection status, delete with a
//! grace period and undo that. [`TaskCatalog`] is the cross-account view background work
//! needs: every task the scheduler should consider, and the deleted tasks and entities
//! whose grace has passed, with the purges that remove them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::ids::{AccountId, EntityId, TaskId, TypedId};
use cairn_domain::{BackupTask, ConnectionStatus, TaskSettings};

use crate::db::with_pool;
use crate::error::{MetaError, Result};
use crate::rows::{count_from_db, parse_stored};
use crate::store::MetaStore;

const TASK_COLUMNS: &str = "id, account_id, service, name, environment, connection, \
     api_limit_percent, index_for_search, frequency, hour_utc, auto_activate, \
     retain_auto_archived_days, region, created_at, deleted_at";

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    account_id: Uuid,
    service: String,
    name: String,
    environment: String,
    connection: String,
    api_limit_percent: i32,
    index_for_search: bool,
    frequency: String,
    hour_utc: i32,
    auto_activate: bool,
    retain_auto_archived_days: Option<i32>,
    region: String,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl TaskRow {
    fn into_task(self) -> Result<BackupTask> {
        let frequency = cairn_domain::schedule::BackupFrequency::parse(&self.frequency)
            .ok_or_else(|| {
                MetaError::corrupt(format!("tasks.frequency: unknown `{}`", self.frequency))
            })?;
        Ok(BackupTask {
            id: TaskId::from_uuid(self.id),
            account_id: AccountId::from_uuid(self.account_id),
            service: parse_stored("tasks.service", &self.service)?,
            name: self.name,
            environment: parse_stored("tasks.environment", &self.environment)?,
            connection: parse_stored("tasks.connection", &self.connection)?,
            settings: TaskSettings {
                api_limit_percent: count_from_db(
                    "tasks.api_limit_percent",
                    i64::from(self.api_limit_percent),
                )?,
                index_for_search: self.index_for_search,
                frequency,
                hour_utc: count_from_db("tasks.hour_utc", i64::from(self.hour_utc))?,
                auto_activate: self.auto_activate,
                retain_auto_archived_days: self
                    .retain_auto_archived_days
                    .map(|d| count_from_db("tasks.retain_auto_archived_days", i64::from(d)))
                    .transpose()?,
            },
            region: parse_stored("tasks.region", &self.region)?,
            created_at: self.created_at,
            deleted_at: self.deleted_at,
        })
    }
}

fn settings_ints(settings: &TaskSettings) -> (i32, i32, Option<i32>) {
    // Validated settings are small; saturate rather than wrap if one is not.
    let small = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    (
        i32::from(settings.api_limit_percent),
        small(settings.hour_utc),
        settings.retain_auto_archived_days.map(small),
    )
}

/// The tasks of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountTasks<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl<'a> AccountTasks<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Stores a new task. Its settings must have been validated.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when `task` belongs to another account; database errors.
    pub async fn create(&self, task: &BackupTask) -> Result<()> {
        const SQL: &str = "INSERT INTO tasks (id, account_id, service, name, environment, \
             connection, api_limit_percent, index_for_search, frequency, hour_utc, \
             auto_activate, retain_auto_archived_days, region, created_at, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
        if task.account_id != self.account {
            return Err(MetaError::NotFound { what: "account" });
        }
        let (limit, hour, retain) = settings_ints(&task.settings);
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(task.id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(task.service.as_str())
                .bind(&task.name)
                .bind(task.environment.as_str())
                .bind(task.connection.as_str())
                .bind(limit)
                .bind(task.settings.index_for_search)
                .bind(task.settings.frequency.as_str())
                .bind(hour)
                .bind(task.settings.auto_activate)
                .bind(retain)
                .bind(task.region.as_str())
                .bind(task.created_at)
                .bind(task.deleted_at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// One task, deleted or not.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such task in this account.
    pub async fn get(&self, id: TaskId) -> Result<BackupTask> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND account_id = $2");
        let row: Option<TaskRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        row.ok_or(MetaError::NotFound { what: "task" })?.into_task()
    }

    /// The account's tasks, oldest first; deleted ones only when asked.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn list(&self, include_deleted: bool) -> Result<Vec<BackupTask>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE account_id = $1 \
             AND ($2 OR deleted_at IS NULL) ORDER BY created_at, id"
        );
        let rows: Vec<TaskRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .bind(include_deleted)
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(TaskRow::into_task).collect()
    }

    /// Renames a task and replaces its settings (validated by the caller). The service,
    /// environment and region never change.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such live task in this account.
    pub async fn update(&self, id: TaskId, name: &str, settings: &TaskSettings) -> Result<()> {
        const SQL: &str = "UPDATE tasks SET name = $3, api_limit_percent = $4, \
             index_for_search = $5, frequency = $6, hour_utc = $7, auto_activate = $8, \
             retain_auto_archived_days = $9 \
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL";
        let (limit, hour, retain) = settings_ints(settings);
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(name)
                .bind(limit)
                .bind(settings.index_for_search)
                .bind(settings.frequency.as_str())
                .bind(hour)
                .bind(settings.auto_activate)
                .bind(retain)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        found(done, "task")
    }

    /// Stores a freshly obtained token (encrypted by the caller) and marks the task
    /// Connected.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such live task in this account.
    pub async fn store_token(
        &self,
        id: TaskId,
        ciphertext: &[u8],
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE tasks SET token_ciphertext = $3, token_updated_at = $4, \
             connection = $5 WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(ciphertext)
                .bind(at)
                .bind(ConnectionStatus::Connected.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        found(done, "task")
    }

    /// The stored (encrypted) token, if the task has one.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such task in this account.
    pub async fn token(&self, id: TaskId) -> Result<Option<Vec<u8>>> {
        const SQL: &str = "SELECT token_ciphertext FROM tasks WHERE id = $1 AND account_id = $2";
        let row: Option<Option<Vec<u8>>> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        row.ok_or(MetaError::NotFound { what: "task" })
    }

    /// Sets the connection status (a dead token → Disconnected). Going Disconnected or
    /// Not authenticated drops the stored token: it no longer works.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such task in this account.
    pub async fn set_connection(&self, id: TaskId, status: ConnectionStatus) -> Result<()> {
        const SQL: &str = "UPDATE tasks SET connection = $3, token_ciphertext = CASE \
             WHEN $3 = 'connected' THEN token_ciphertext ELSE NULL END \
             WHERE id = $1 AND account_id = $2";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(status.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        found(done, "task")
    }

    /// Deletes a task (F-TASK-9): it disappears from lists and schedules at once; its data
    /// is purged after the grace period unless [`AccountTasks::undelete`] is called first.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such live task in this account.
    pub async fn delete(&self, id: TaskId, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str = "UPDATE tasks SET deleted_at = $3 \
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        found(done, "task")
    }

    /// Takes back a deletion during the grace period.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such deleted task in this account.
    pub async fn undelete(&self, id: TaskId) -> Result<()> {
        const SQL: &str = "UPDATE tasks SET deleted_at = NULL \
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NOT NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        found(done, "task")
    }
}

/// `NotFound { what }` when an update touched no row.
pub(crate) fn found(rows_affected: u64, what: &'static str) -> Result<()> {
    if rows_affected == 0 {
        Err(MetaError::NotFound { what })
    } else {
        Ok(())
    }
}

/// Tasks across accounts, for the scheduler and maintenance.
#[derive(Debug, Clone, Copy)]
pub struct TaskCatalog<'a> {
    store: &'a MetaStore,
}

impl<'a> TaskCatalog<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Every live, connected task (what the scheduler enqueues backups for).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn schedulable(&self) -> Result<Vec<BackupTask>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE deleted_at IS NULL AND connection = $1 \
             ORDER BY created_at, id"
        );
        let rows: Vec<TaskRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ConnectionStatus::Connected.as_str())
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(TaskRow::into_task).collect()
    }

    /// Tasks deleted at or before `deleted_before` (now minus the grace period).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn deleted_before(&self, deleted_before: DateTime<Utc>) -> Result<Vec<BackupTask>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE deleted_at IS NOT NULL \
             AND deleted_at <= $1 ORDER BY deleted_at, id"
        );
        let rows: Vec<TaskRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(deleted_before)
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(TaskRow::into_task).collect()
    }

    /// Removes a deleted task and everything the meta store holds for it (entities,
    /// snapshot catalog rows, tags on its entities; its jobs keep their history with the
    /// task reference cleared). Only tasks still marked deleted are removed, so an
    /// undelete that raced the purge wins. Returns whether a row was removed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge(&self, account: AccountId, id: TaskId) -> Result<bool> {
        const SQL: &str = "DELETE FROM tasks \
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NOT NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(account.as_uuid())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Entities users deleted at or before `deleted_before`, of tasks that are not
    /// deleted themselves (those go with their task).
    ///
    /// # Errors
    /// Database errors.
    pub async fn deleted_entities_before(
        &self,
        deleted_before: DateTime<Utc>,
    ) -> Result<Vec<DeletedEntity>> {
        const SQL: &str = "SELECT e.account_id, e.task_id, e.id, e.name FROM entities e \
             JOIN tasks t ON t.id = e.task_id WHERE e.deleted_at IS NOT NULL \
             AND e.deleted_at <= $1 AND t.deleted_at IS NULL ORDER BY e.deleted_at, e.id";
        let rows: Vec<(Uuid, Uuid, Uuid, String)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL).bind(deleted_before).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(account, task, entity, name)| DeletedEntity {
                account: AccountId::from_uuid(account),
                task: TaskId::from_uuid(task),
                entity: EntityId::from_uuid(entity),
                name,
            })
            .collect())
    }

    /// Archived entities whose task keeps auto-archived backups for a number of days
    /// (`retain_auto_archived_days`) and that have been archived at least that long at
    /// `now`, of tasks that are not deleted. Deleted ones are included (the expiry marks
    /// an entity deleted before removing its data, and a retry must find it again).
    ///
    /// # Errors
    /// Database errors.
    pub async fn expired_archived_entities(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArchivedEntity>> {
        const SQL: &str = "SELECT e.account_id, e.task_id, e.id, e.name, e.archived_at, \
             t.retain_auto_archived_days FROM entities e JOIN tasks t ON t.id = e.task_id \
             WHERE e.status = $1 AND e.archived_at IS NOT NULL AND t.deleted_at IS NULL \
             AND t.retain_auto_archived_days IS NOT NULL ORDER BY e.archived_at, e.id";
        type Row = (Uuid, Uuid, Uuid, String, DateTime<Utc>, i32);
        let rows: Vec<Row> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL)
                .bind(cairn_domain::EntityStatus::Archived.as_str())
                .fetch_all(pool)
                .await)?;
        Ok(rows
            .into_iter()
            .filter(|(.., archived_at, days)| {
                *archived_at + chrono::Duration::days(i64::from(*days)) <= now
            })
            .map(
                |(account, task, entity, name, archived_at, days)| ArchivedEntity {
                    entity: DeletedEntity {
                        account: AccountId::from_uuid(account),
                        task: TaskId::from_uuid(task),
                        entity: EntityId::from_uuid(entity),
                        name,
                    },
                    archived_at,
                    retain_days: u32::try_from(days).unwrap_or_default(),
                },
            )
            .collect())
    }

    /// Marks an expired archived entity deleted (keeping an earlier deletion time), so
    /// backups leave it out from now on and [`TaskCatalog::purge_entity`] can remove it
    /// once its data is gone. Returns false, changing nothing, when it is no longer
    /// archived (it came back) or no longer exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn expire_archived(
        &self,
        account: AccountId,
        id: EntityId,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE entities SET deleted_at = COALESCE(deleted_at, $3) \
             WHERE id = $1 AND account_id = $2 AND status = $4 AND archived_at IS NOT NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(account.as_uuid())
                .bind(at)
                .bind(cairn_domain::EntityStatus::Archived.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Removes a deleted entity with its snapshot counters and tags. Returns whether a
    /// row was removed (not when it is no longer marked deleted).
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge_entity(&self, account: AccountId, id: EntityId) -> Result<bool> {
        const SQL: &str = "DELETE FROM entities \
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NOT NULL";
        let done = with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(account.as_uuid())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}

/// An entity waiting to be purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedEntity {
    /// Its account.
    pub account: AccountId,
    /// Its task.
    pub task: TaskId,
    /// The entity.
    pub entity: EntityId,
    /// Its name, for the job log.
    pub name: String,
}

/// An archived entity whose retention has run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedEntity {
    /// Which entity.
    pub entity: DeletedEntity,
    /// When discovery archived it.
    pub archived_at: DateTime<Utc>,
    /// Its task's `retain_auto_archived_days`.
    pub retain_days: u32,
}
