//! The snapshot catalog (see `cairn_domain::snapshot`).
//!
//! Recording a snapshot is one transaction: the snapshot row, its per-entity and per-user
//! counters, and each entity's latest counters, status and last snapshot. A reader never
//! sees a snapshot without its counters or an entity pointing at a snapshot that is not
//! there.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cairn_domain::ids::{AccountId, EntityId, JobId, SnapshotId, TaskId, TypedId};
use cairn_domain::snapshot::{SnapshotEntity, UserCounters};
use cairn_domain::{EntityCounters, SnapshotOutcome, SnapshotRecord};

use crate::db::with_pool;
use crate::error::{MetaError, Result};
use crate::rows::{CounterColumns, count_from_db, count_to_db as n, parse_stored};
use crate::store::MetaStore;

/// A snapshot without its per-entity and per-user parts (for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Its id.
    pub id: SnapshotId,
    /// Its task.
    pub task_id: TaskId,
    /// The job that made it.
    pub job_id: Option<JobId>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// The point in time it represents.
    pub taken_at: DateTime<Utc>,
    /// Complete or partial.
    pub outcome: SnapshotOutcome,
    /// Counters summed over its entities.
    pub totals: EntityCounters,
}

/// One entity's counters in one snapshot, for per-day charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityHistoryPoint {
    /// The snapshot.
    pub snapshot_id: SnapshotId,
    /// Its time.
    pub taken_at: DateTime<Utc>,
    /// The entity's part in it.
    pub entity: SnapshotEntity,
}

const SUMMARY_COLUMNS: &str = "id, task_id, job_id, started_at, taken_at, outcome, items, \
     bytes, added, updated, deleted";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    task_id: Uuid,
    job_id: Option<Uuid>,
    started_at: DateTime<Utc>,
    taken_at: DateTime<Utc>,
    outcome: String,
    #[sqlx(flatten)]
    totals: CounterColumns,
}

impl SummaryRow {
    fn into_summary(self) -> Result<SnapshotSummary> {
        Ok(SnapshotSummary {
            id: SnapshotId::from_uuid(self.id),
            task_id: TaskId::from_uuid(self.task_id),
            job_id: self.job_id.map(JobId::from_uuid),
            started_at: self.started_at,
            taken_at: self.taken_at,
            outcome: parse_stored("snapshots.outcome", &self.outcome)?,
            totals: self.totals.into_counters("snapshots")?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PartRow {
    snapshot_id: Uuid,
    taken_at: DateTime<Utc>,
    entity_id: Uuid,
    status: String,
    #[sqlx(flatten)]
    counters: CounterColumns,
}

impl PartRow {
    fn into_point(self) -> Result<EntityHistoryPoint> {
        Ok(EntityHistoryPoint {
            snapshot_id: SnapshotId::from_uuid(self.snapshot_id),
            taken_at: self.taken_at,
            entity: SnapshotEntity {
                entity_id: EntityId::from_uuid(self.entity_id),
                status: parse_stored("snapshot_entities.status", &self.status)?,
                counters: self.counters.into_counters("snapshot_entities")?,
            },
        })
    }
}

/// The snapshot catalog of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountSnapshots<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl<'a> AccountSnapshots<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Records a finished run and updates its entities' latest counters, status and last
    /// snapshot, all at once. Entities paused or archived meanwhile keep that status.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when the task (or one of the entities) is not in this
    /// account; [`MetaError::Conflict`] when the snapshot id is already recorded.
    pub async fn record(&self, snapshot: &SnapshotRecord) -> Result<()> {
        const SNAPSHOT: &str = "INSERT INTO snapshots (id, account_id, task_id, job_id, \
             started_at, taken_at, outcome, items, bytes, added, updated, deleted) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
             WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $3 AND account_id = $2)";
        const PART: &str = "INSERT INTO snapshot_entities (snapshot_id, entity_id, status, \
             items, bytes, added, updated, deleted) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS \
             (SELECT 1 FROM entities WHERE id = $2 AND task_id = $9 AND account_id = $10)";
        const USER: &str = "INSERT INTO snapshot_users (snapshot_id, entity_id, user_key, \
             added, updated, deleted) VALUES ($1, $2, $3, $4, $5, $6)";
        // A user's Pause (or discovery's Archive) during the run outlives the run's
        // outcome: only entities still active take the run's status.
        const ENTITY: &str = "UPDATE entities SET status = CASE \
             WHEN status IN ('not_active', 'paused', 'archived') THEN status ELSE $2 END, \
             items = $3, bytes = $4, added = $5, updated = $6, deleted = $7, \
             last_snapshot_id = $8, last_backup_at = $9 WHERE id = $1";
        let s = snapshot;
        with_pool!(&self.store.db, write, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(SNAPSHOT)
                .bind(s.id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(s.task_id.as_uuid())
                .bind(s.job_id.map(|j| j.as_uuid()))
                .bind(s.started_at)
                .bind(s.taken_at)
                .bind(s.outcome.as_str())
                .bind(n(s.totals.items))
                .bind(n(s.totals.bytes))
                .bind(n(s.totals.added))
                .bind(n(s.totals.updated))
                .bind(n(s.totals.deleted))
                .execute(&mut *tx)
                .await
                .map_err(crate::error::conflict_on_unique("snapshot"))?;
            if done.rows_affected() == 0 {
                return Err(MetaError::NotFound { what: "task" });
            }
            for part in &s.entities {
                let c = part.counters;
                let done = sqlx::query(PART)
                    .bind(s.id.as_uuid())
                    .bind(part.entity_id.as_uuid())
                    .bind(part.status.as_str())
                    .bind(n(c.items))
                    .bind(n(c.bytes))
                    .bind(n(c.added))
                    .bind(n(c.updated))
                    .bind(n(c.deleted))
                    .bind(s.task_id.as_uuid())
                    .bind(self.account.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(MetaError::NotFound { what: "entity" });
                }
                sqlx::query(ENTITY)
                    .bind(part.entity_id.as_uuid())
                    .bind(part.status.as_str())
                    .bind(n(c.items))
                    .bind(n(c.bytes))
                    .bind(n(c.added))
                    .bind(n(c.updated))
                    .bind(n(c.deleted))
                    .bind(s.id.as_uuid())
                    .bind(s.taken_at)
                    .execute(&mut *tx)
                    .await?;
            }
            for user in &s.users {
                sqlx::query(USER)
                    .bind(s.id.as_uuid())
                    .bind(user.entity_id.as_uuid())
                    .bind(&user.user)
                    .bind(n(user.added))
                    .bind(n(user.updated))
                    .bind(n(user.deleted))
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::conflict_on_unique("snapshot user counters"))?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// `task`'s snapshots taken in `[from, to)`, newest first, at most `limit`.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn list(
        &self,
        task: TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SnapshotSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM snapshots WHERE account_id = $1 AND task_id = $2 \
             AND taken_at >= $3 AND taken_at < $4 ORDER BY taken_at DESC, id DESC LIMIT $5"
        );
        let rows: Vec<SummaryRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .bind(task.as_uuid())
                .bind(from)
                .bind(to)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    /// One snapshot with its per-entity and per-user counters.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such snapshot in this account.
    pub async fn get(&self, id: SnapshotId) -> Result<SnapshotRecord> {
        let sql =
            format!("SELECT {SUMMARY_COLUMNS} FROM snapshots WHERE id = $1 AND account_id = $2");
        const PARTS: &str = "SELECT se.snapshot_id, s.taken_at, se.entity_id, se.status, \
             se.items, se.bytes, se.added, se.updated, se.deleted \
             FROM snapshot_entities se JOIN snapshots s ON s.id = se.snapshot_id \
             WHERE se.snapshot_id = $1 ORDER BY se.entity_id";
        const USERS: &str = "SELECT entity_id, user_key, added, updated, deleted \
             FROM snapshot_users WHERE snapshot_id = $1 ORDER BY entity_id, user_key";
        let row: Option<SummaryRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        let summary = row
            .ok_or(MetaError::NotFound { what: "snapshot" })?
            .into_summary()?;
        let parts: Vec<PartRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(PARTS).bind(id.as_uuid()).fetch_all(pool).await)?;
        let users: Vec<(Uuid, String, i64, i64, i64)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(USERS).bind(id.as_uuid()).fetch_all(pool).await)?;
        Ok(SnapshotRecord {
            id: summary.id,
            task_id: summary.task_id,
            job_id: summary.job_id,
            started_at: summary.started_at,
            taken_at: summary.taken_at,
            outcome: summary.outcome,
            totals: summary.totals,
            entities: parts
                .into_iter()
                .map(|p| p.into_point().map(|p| p.entity))
                .collect::<Result<_>>()?,
            users: users
                .into_iter()
                .map(|(entity, user, added, updated, deleted)| {
                    Ok(UserCounters {
                        entity_id: EntityId::from_uuid(entity),
                        user,
                        added: count_from_db("snapshot_users.added", added)?,
                        updated: count_from_db("snapshot_users.updated", updated)?,
                        deleted: count_from_db("snapshot_users.deleted", deleted)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// One entity's part in every snapshot taken at or after `since`, oldest first (the
    /// drill-down chart, F-TASK-7).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn entity_history(
        &self,
        entity: EntityId,
        since: DateTime<Utc>,
    ) -> Result<Vec<EntityHistoryPoint>> {
        const SQL: &str = "SELECT se.snapshot_id, s.taken_at, se.entity_id, se.status, \
             se.items, se.bytes, se.added, se.updated, se.deleted \
             FROM snapshot_entities se JOIN snapshots s ON s.id = se.snapshot_id \
             WHERE se.entity_id = $1 AND s.account_id = $2 AND s.taken_at >= $3 \
             ORDER BY s.taken_at, s.id";
        let rows: Vec<PartRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL)
                .bind(entity.as_uuid())
                .bind(self.account.as_uuid())
                .bind(since)
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(PartRow::into_point).collect()
    }
}
