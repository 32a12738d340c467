//! The job queue.
//!
//! Jobs live in the `jobs` table. [`AccountJobs`] is the tenant's view: enqueue, list,
//! read logs, ask for cancellation. [`JobQueue`] is the workers' view across accounts:
//! claim with a lease, heartbeat, report progress and log lines, finish, hand back.
//!
//! Leases: a claim sets `lease_until` and a fresh random `lease_token`. Every write a
//! worker makes afterwards names the token, so a worker whose lease lapsed and whose job
//! was taken over cannot report progress or finish it: its writes match no row and it
//! learns it has lost the job ([`LeaseState::Lost`]). A claim takes the oldest runnable
//! job: pending and due, or in progress with an expired lease (take-over). Claiming is
//! one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`: on SQLite every write runs on
//! the single writer connection, so it is atomic; on PostgreSQL the inner select adds
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows instead of
//! waiting or taking the same one.

use chrono::{DateTime, Duration, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use cairn_domain::ids::{AccountId, JobId, SnapshotId, TaskId, TypedId};
use cairn_domain::job::{JobLogLine, JobProgress};
use cairn_domain::{Job, JobKind, JobOutcome, JobStatus, NewJob};

use crate::db::{Db, with_pool};
use crate::entities::bind_params;
use crate::error::{MetaError, Result};
use crate::rows::{count_from_db, parse_stored};
use crate::store::MetaStore;

const JOB_COLUMNS: &str = "id, account_id, kind, status, task_id, snapshot_id, dedupe_key, \
     params, progress, error, attempts, max_attempts, cancel_requested, run_after, \
     created_at, started_at, finished_at, lease_owner, lease_until";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    account_id: Option<Uuid>,
    kind: String,
    status: String,
    task_id: Option<Uuid>,
    snapshot_id: Option<Uuid>,
    dedupe_key: Option<String>,
    params: Json<serde_json::Value>,
    progress: Json<JobProgress>,
    error: Option<String>,
    attempts: i32,
    max_attempts: i32,
    cancel_requested: bool,
    run_after: DateTime<Utc>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
}

impl JobRow {
    fn into_job(self) -> Result<Job> {
        Ok(Job {
            id: JobId::from_uuid(self.id),
            account_id: self.account_id.map(AccountId::from_uuid),
            kind: parse_stored("jobs.kind", &self.kind)?,
            status: parse_stored("jobs.status", &self.status)?,
            task_id: self.task_id.map(TaskId::from_uuid),
            snapshot_id: self.snapshot_id.map(SnapshotId::from_uuid),
            dedupe_key: self.dedupe_key,
            params: self.params.0,
            progress: self.progress.0,
            error: self.error,
            attempts: count_from_db("jobs.attempts", i64::from(self.attempts))?,
            max_attempts: count_from_db("jobs.max_attempts", i64::from(self.max_attempts))?,
            cancel_requested: self.cancel_requested,
            run_after: self.run_after,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            lease_owner: self.lease_owner,
            lease_until: self.lease_until,
        })
    }
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job: the new one, or the one already holding the dedupe key.
    pub id: JobId,
    /// Whether this call created it.
    pub created: bool,
}

/// A claimed job and the token that proves the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job as claimed (status In progress, attempts counted).
    pub job: Job,
    /// Names this claim in every later write.
    pub token: LeaseToken,
}

/// Proof of holding a job's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseToken(Uuid);

/// What a worker learns when it touches its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Still ours; `cancel_requested` says whether a user asked to stop.
    Held {
        /// A user asked to stop the job.
        cancel_requested: bool,
    },
    /// The lease lapsed and the job was taken over (or finished): stop, write nothing.
    Lost,
}

async fn insert_job(
    store: &MetaStore,
    account: Option<AccountId>,
    job: &NewJob,
) -> Result<Enqueued> {
    const INSERT: &str = "INSERT INTO jobs (id, account_id, kind, status, task_id, \
         snapshot_id, dedupe_key, params, progress, error, attempts, max_attempts, \
         cancel_requested, run_after, created_at) \
         SELECT $1, $2, $3, $4, $5, NULL, $6, $7, $8, NULL, 0, $9, $10, $11, $12 \
         WHERE $5 IS NULL OR EXISTS (SELECT 1 FROM tasks WHERE id = $5 AND account_id = $2) \
         ON CONFLICT (dedupe_key) DO NOTHING";
    const BY_KEY: &str = "SELECT id, account_id FROM jobs WHERE dedupe_key = $1";
    let max_attempts = i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX);
    with_pool!(&store.db, write, pool => {
        let inserted = sqlx::query(INSERT)
            .bind(job.id.as_uuid())
            .bind(account.map(|a| a.as_uuid()))
            .bind(job.kind.as_str())
            .bind(JobStatus::Pending.as_str())
            .bind(job.task_id.map(|t| t.as_uuid()))
            .bind(job.dedupe_key.as_deref())
            .bind(Json(&job.params))
            .bind(Json(JobProgress::default()))
            .bind(max_attempts)
            .bind(false)
            .bind(job.run_after)
            .bind(job.created_at)
            .execute(pool)
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(Enqueued { id: job.id, created: true });
        }
        // Either the task is not this account's, or the key is taken; read on the writer
        // so the row that won is certainly visible.
        let existing: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(BY_KEY)
            .bind(job.dedupe_key.as_deref())
            .fetch_optional(pool)
            .await?;
        let Some((id, owner)) = existing else {
            return Err(MetaError::NotFound { what: "task" });
        };
        if owner != account.map(|a| a.as_uuid()) {
            return Err(MetaError::Conflict { what: "job dedupe key" });
        }
        Ok(Enqueued { id: JobId::from_uuid(id), created: false })
    })
}

/// Which jobs of an account to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only jobs of this task.
    pub task: Option<TaskId>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only this status.
    pub status: Option<JobStatus>,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// The jobs of one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountJobs<'a> {
    store: &'a MetaStore,
    account: AccountId,
}

impl<'a> AccountJobs<'a> {
    pub(crate) fn new(store: &'a MetaStore, account: AccountId) -> Self {
        Self { store, account }
    }

    /// Queues a job for this account; with a dedupe key already used, returns that job.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when the job's task is not this account's;
    /// [`MetaError::Conflict`] when the key is held by a job of another account;
    /// database errors.
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued> {
        insert_job(self.store, Some(self.account), job).await
    }

    /// One job.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such job in this account.
    pub async fn get(&self, id: JobId) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND account_id = $2");
        let row: Option<JobRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .fetch_optional(pool)
                .await)?;
        row.ok_or(MetaError::NotFound { what: "job" })?.into_job()
    }

    /// Jobs matching `query`, newest first.
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn list(&self, query: &JobQuery) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE account_id = $1 \
             AND ($2 IS NULL OR task_id = $2) AND ($3 IS NULL OR kind = $3) \
             AND ($4 IS NULL OR status = $4) ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        let rows: Vec<JobRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.account.as_uuid())
                .bind(query.task.map(|t| t.as_uuid()))
                .bind(query.kind.map(JobKind::as_str))
                .bind(query.status.map(JobStatus::as_str))
                .bind(i64::from(query.limit.clamp(1, 500)))
                .fetch_all(pool)
                .await)?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    /// Asks a job to stop. A pending job is canceled at once; a running one is flagged
    /// and its worker stops at its next heartbeat. Returns the job's status afterwards
    /// (unchanged for a job already finished).
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such job in this account.
    pub async fn request_cancel(&self, id: JobId, at: DateTime<Utc>) -> Result<JobStatus> {
        const SQL: &str = "UPDATE jobs SET cancel_requested = $3, \
             status = CASE WHEN status = 'pending' THEN 'canceled' ELSE status END, \
             finished_at = CASE WHEN status = 'pending' THEN $4 ELSE finished_at END \
             WHERE id = $1 AND account_id = $2 AND status IN ('pending', 'in_progress') \
             RETURNING status";
        let status: Option<String> = with_pool!(&self.store.db, write, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(true)
                .bind(at)
                .fetch_optional(pool)
                .await)?;
        match status {
            Some(status) => parse_stored("jobs.status", &status),
            None => Ok(self.get(id).await?.status),
        }
    }

    /// A job's log lines, oldest first, at most `limit` after skipping `offset`.
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such job in this account.
    pub async fn logs(&self, id: JobId, offset: u32, limit: u32) -> Result<Vec<JobLogLine>> {
        const SQL: &str = "SELECT l.at, l.level, l.message FROM job_logs l \
             JOIN jobs j ON j.id = l.job_id WHERE l.job_id = $1 AND j.account_id = $2 \
             ORDER BY l.id LIMIT $3 OFFSET $4";
        self.get(id).await?;
        let rows: Vec<(DateTime<Utc>, String, String)> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(SQL)
                .bind(id.as_uuid())
                .bind(self.account.as_uuid())
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await)?;
        rows.into_iter()
            .map(|(at, level, message)| {
                Ok(JobLogLine {
                    at,
                    level: parse_stored("job_logs.level", &level)?,
                    message,
                })
            })
            .collect()
    }
}

/// The workers' side of the queue, across accounts.
#[derive(Debug, Clone, Copy)]
pub struct JobQueue<'a> {
    store: &'a MetaStore,
}

impl<'a> JobQueue<'a> {
    pub(crate) fn new(store: &'a MetaStore) -> Self {
        Self { store }
    }

    /// Queues installation-wide housekeeping (no account, and so no task: work on one
    /// task is enqueued through its account, [`AccountJobs::enqueue`]).
    ///
    /// # Errors
    /// [`MetaError::Conflict`] when the key is held by an account's job; database errors.
    pub async fn enqueue_system(&self, job: &NewJob) -> Result<Enqueued> {
        insert_job(self.store, None, job).await
    }

    /// Any job by id (workers need the full row; tenants use [`AccountJobs::get`]).
    ///
    /// # Errors
    /// [`MetaError::NotFound`] when there is no such job.
    pub async fn get(&self, id: JobId) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(&self.store.db, read, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await)?;
        row.ok_or(MetaError::NotFound { what: "job" })?.into_job()
    }

    /// Claims the oldest runnable job of one of `kinds` for `worker`, leased until
    /// `now + lease`. Jobs whose lease lapsed after their last allowed attempt are failed
    /// first, so a job that keeps killing its workers stops being retried.
    ///
    /// Jobs of one task and kind run one at a time: a job waits while another of the
    /// same task and kind holds a live lease (two backups of one org at once would race
    /// on its watermarks). On PostgreSQL two claims committing at the same instant can
    /// still both pass that check; runners must tolerate it (they resume from the
    /// entity checkpoints either way).
    ///
    /// # Errors
    /// Database errors; unreadable rows.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[JobKind],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>> {
        const GIVE_UP: &str = "UPDATE jobs SET status = 'failed', finished_at = $1, \
             lease_token = NULL, error = 'The job was abandoned: its worker stopped \
             responding on every attempt.' \
             WHERE status = 'in_progress' AND lease_until < $1 AND attempts >= max_attempts";
        if kinds.is_empty() {
            return Ok(None);
        }
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(GIVE_UP).bind(now).execute(pool).await.map(|done| done.rows_affected()))?;
        let lock = match &self.store.db {
            Db::Sqlite { .. } => "",
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'in_progress', attempts = attempts + 1, \
             lease_owner = $1, lease_token = $2, lease_until = $3, \
             started_at = COALESCE(started_at, $4) \
             WHERE id = (SELECT j.id FROM jobs j WHERE \
                 ((j.status = 'pending' AND j.run_after <= $4) \
                  OR (j.status = 'in_progress' AND j.lease_until < $4)) \
                 AND j.attempts < j.max_attempts AND j.kind IN ({kinds}) \
                 AND (j.task_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs busy \
                     WHERE busy.task_id = j.task_id AND busy.kind = j.kind \
                     AND busy.status = 'in_progress' AND busy.lease_until >= $4 \
                     AND busy.id <> j.id)) \
                 ORDER BY j.run_after, j.created_at, j.id LIMIT 1 {lock}) \
             RETURNING {JOB_COLUMNS}",
            kinds = bind_params(5, kinds.len()),
        );
        let token = Uuid::new_v4();
        let row: Option<JobRow> = with_pool!(&self.store.db, write, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(worker)
                .bind(token)
                .bind(now + lease)
                .bind(now);
            for kind in kinds {
                q = q.bind(kind.as_str());
            }
            q.fetch_optional(pool).await
        })?;
        row.map(|row| {
            Ok(ClaimedJob {
                job: row.into_job()?,
                token: LeaseToken(token),
            })
        })
        .transpose()
    }

    /// Extends the lease to `now + lease` and reports whether cancellation was requested.
    ///
    /// # Errors
    /// Database errors.
    pub async fn heartbeat(
        &self,
        id: JobId,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<LeaseState> {
        const SQL: &str = "UPDATE jobs SET lease_until = $3 \
             WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' \
             RETURNING cancel_requested";
        let cancel: Option<bool> = with_pool!(&self.store.db, write, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(token.0)
                .bind(now + lease)
                .fetch_optional(pool)
                .await)?;
        Ok(lease_state(cancel))
    }

    /// Records progress.
    ///
    /// # Errors
    /// Database errors.
    pub async fn progress(
        &self,
        id: JobId,
        token: LeaseToken,
        progress: &JobProgress,
    ) -> Result<LeaseState> {
        const SQL: &str = "UPDATE jobs SET progress = $3 \
             WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' \
             RETURNING cancel_requested";
        let cancel: Option<bool> = with_pool!(&self.store.db, write, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(token.0)
                .bind(Json(progress))
                .fetch_optional(pool)
                .await)?;
        Ok(lease_state(cancel))
    }

    /// Appends a line to a job's log.
    ///
    /// # Errors
    /// Database errors (an unknown job violates the foreign key).
    pub async fn log(&self, id: JobId, line: &JobLogLine) -> Result<()> {
        const SQL: &str =
            "INSERT INTO job_logs (job_id, at, level, message) VALUES ($1, $2, $3, $4)";
        with_pool!(&self.store.db, write, pool =>
            sqlx::query(SQL)
                .bind(id.as_uuid())
                .bind(line.at)
                .bind(line.level.as_str())
                .bind(&line.message)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Ends a job with `outcome` (and the snapshot it produced, if any). Returns
    /// [`LeaseState::Lost`] when the claim is no longer ours: then nothing was written.
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish(
        &self,
        id: JobId,
        token: LeaseToken,
        outcome: &JobOutcome,
        snapshot: Option<SnapshotId>,
        now: DateTime<Utc>,
    ) -> Result<LeaseState> {
        const SQL: &str = "UPDATE jobs SET status = $3, error = $4, \
             snapshot_id = COALESCE($5, snapshot_id), finished_at = $6, lease_token = NULL, \
             lease_until = NULL WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' \
             RETURNING cancel_requested";
        let cancel: Option<bool> = with_pool!(&self.store.db, write, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(token.0)
                .bind(outcome.status().as_str())
                .bind(outcome.message())
                .bind(snapshot.map(|s| s.as_uuid()))
                .bind(now)
                .fetch_optional(pool)
                .await)?;
        Ok(lease_state(cancel))
    }

    /// Hands a claimed job back unfinished (graceful shutdown): it is pending again at
    /// once, and this claim does not count as an attempt.
    ///
    /// # Errors
    /// Database errors.
    pub async fn release(
        &self,
        id: JobId,
        token: LeaseToken,
        now: DateTime<Utc>,
    ) -> Result<LeaseState> {
        const SQL: &str = "UPDATE jobs SET status = 'pending', run_after = $3, \
             attempts = attempts - 1, lease_token = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' \
             RETURNING cancel_requested";
        let cancel: Option<bool> = with_pool!(&self.store.db, write, pool =>
            sqlx::query_scalar(SQL)
                .bind(id.as_uuid())
                .bind(token.0)
                .bind(now)
                .fetch_optional(pool)
                .await)?;
        Ok(lease_state(cancel))
    }
}

fn lease_state(cancel_requested: Option<bool>) -> LeaseState {
    match cancel_requested {
        Some(cancel_requested) => LeaseState::Held { cancel_requested },
        None => LeaseState::Lost,
    }
}
