//! Jobs: units of background work, and what they report while they run.
//!
//! A [`Job`] is queued as Pending, claimed by a worker with a lease (Pending → In
//! Progress), kept alive by heartbeats, and finished with a [`JobOutcome`]. A worker that
//! stops heartbeating loses its lease and another worker takes the job over, so a job
//! may be attempted more than once; `max_attempts` bounds that. Cancellation is a request
//! the running worker sees at its next heartbeat; a job still pending is canceled at once.
//!
//! Jobs with a `dedupe_key` are enqueued at most once per key, ever: the scheduler uses
//! the slot key of each scheduled backup, so any number of schedulers enqueue it once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, EntityId, JobId, SnapshotId, TaskId};

/// How many times a job is claimed before it is failed for good (a job that keeps killing
/// its worker must not loop forever).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The longest log line stored; longer lines are cut.
pub const MAX_LOG_LINE_CHARS: usize = 2_000;

crate::stored_enum! {
    /// What a job does.
    pub enum JobKind ("job kind") {
        /// Back up a task's active entities into a snapshot.
        Backup = ("backup", "Backup"),
        /// Restore items into a service.
        Restore = ("restore", "Restore"),
        /// Export items as a download.
        Export = ("export", "Export"),
        /// Compare two snapshots, or a snapshot with the live service.
        Compare = ("compare", "Compare"),
        /// Copy data from one org to another.
        Replicate = ("replicate", "Replicate"),
        /// Erase one person's data from every snapshot.
        GdprDelete = ("gdpr_delete", "GDPR delete"),
        /// Housekeeping: purges, retention, pruning.
        Maintenance = ("maintenance", "Maintenance"),
    }
}

crate::stored_enum! {
    /// Where a job stands.
    pub enum JobStatus ("job status") {
        /// Queued, waiting for a worker.
        Pending = ("pending", "Pending"),
        /// Claimed by a worker (or waiting for take-over after its lease lapsed).
        InProgress = ("in_progress", "In progress"),
        /// Finished completely.
        Succeeded = ("succeeded", "Succeeded"),
        /// Finished, but some of the work is left for the next run.
        PartiallySucceeded = ("partially_succeeded", "Partially succeeded"),
        /// Finished with an error.
        Failed = ("failed", "Failed"),
        /// Stopped at a user's request.
        Canceled = ("canceled", "Canceled"),
    }
}

impl JobStatus {
    /// Whether the job is over.
    #[must_use]
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::InProgress)
    }
}

/// How far a job has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Units done (items, entities…).
    pub done: u64,
    /// Units in total, when known.
    pub total: Option<u64>,
    /// What it is doing now ("Account: page 3").
    pub note: Option<String>,
}

/// How a job ended, as its runner reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Everything done.
    Succeeded,
    /// Done in part; the message says what is left.
    PartiallySucceeded(String),
    /// Failed; the message is shown to users.
    Failed(String),
    /// Stopped because cancellation was requested.
    Canceled,
}

impl JobOutcome {
    /// The status the job ends in.
    #[must_use]
    pub fn status(&self) -> JobStatus {
        match self {
            Self::Succeeded => JobStatus::Succeeded,
            Self::PartiallySucceeded(_) => JobStatus::PartiallySucceeded,
            Self::Failed(_) => JobStatus::Failed,
            Self::Canceled => JobStatus::Canceled,
        }
    }

    /// The message stored with the job, if any.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::PartiallySucceeded(m) | Self::Failed(m) => Some(m),
            Self::Succeeded | Self::Canceled => None,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The account it works for; `None` for installation-wide housekeeping.
    pub account_id: Option<AccountId>,
    /// What it does.
    pub kind: JobKind,
    /// Where it stands.
    pub status: JobStatus,
    /// The task it works on.
    pub task_id: Option<TaskId>,
    /// The snapshot it produced or reads.
    pub snapshot_id: Option<SnapshotId>,
    /// Its idempotency key, unique across all jobs.
    pub dedupe_key: Option<String>,
    /// Kind-specific parameters for the runner.
    pub params: serde_json::Value,
    /// How far it has got.
    pub progress: JobProgress,
    /// Why it failed or what was left undone.
    pub error: Option<String>,
    /// How many times it has been claimed.
    pub attempts: u32,
    /// Claims allowed before it is failed for good.
    pub max_attempts: u32,
    /// A user asked to stop it.
    pub cancel_requested: bool,
    /// Not to be claimed before this instant.
    pub run_after: DateTime<Utc>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it was first claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The worker holding (or last holding) its lease.
    pub lease_owner: Option<String>,
    /// When the current lease runs out.
    pub lease_until: Option<DateTime<Utc>>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its id (fresh unless the caller needs to know it in advance).
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// The task it works on.
    pub task_id: Option<TaskId>,
    /// Idempotency key: a second enqueue with the same key returns the first job.
    pub dedupe_key: Option<String>,
    /// Kind-specific parameters.
    pub params: serde_json::Value,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// Not to be claimed before this instant.
    pub run_after: DateTime<Utc>,
    /// Claims allowed.
    pub max_attempts: u32,
}

impl NewJob {
    /// A job of `kind`, runnable from `at`, with no task, key or parameters.
    #[must_use]
    pub fn new(kind: JobKind, at: DateTime<Utc>) -> Self {
        Self {
            id: JobId::new(),
            kind,
            task_id: None,
            dedupe_key: None,
            params: serde_json::Value::Object(serde_json::Map::new()),
            created_at: at,
            run_after: at,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// For `task`.
    #[must_use]
    pub fn for_task(mut self, task: TaskId) -> Self {
        self.task_id = Some(task);
        self
    }

    /// With an idempotency key.
    #[must_use]
    pub fn deduplicated_by(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// With parameters.
    #[must_use]
    pub fn with_params(mut self, params: serde_json::Value) -> Self {
        self.params = params;
        self
    }
}

/// What started a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupTrigger {
    /// A slot of the task's schedule.
    Schedule,
    /// A user's "Backup now".
    Manual,
}

/// The parameters of a backup job (`Job::params`), shared by whoever enqueues backups
/// (the scheduler, "Backup now") and the backup runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupParams {
    /// What started it.
    pub trigger: BackupTrigger,
    /// The schedule slot it runs for (scheduled backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<DateTime<Utc>>,
    /// Only these entities ("Backup now" on a selection); empty means every active one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityId>,
}

impl BackupParams {
    /// The backup of schedule slot `slot`.
    #[must_use]
    pub fn scheduled(slot: DateTime<Utc>) -> Self {
        Self {
            trigger: BackupTrigger::Schedule,
            slot: Some(slot),
            entities: Vec::new(),
        }
    }

    /// A user's "Backup now", of `entities` (or every active entity when empty).
    #[must_use]
    pub fn manual(entities: Vec<EntityId>) -> Self {
        Self {
            trigger: BackupTrigger::Manual,
            slot: None,
            entities,
        }
    }

    /// Reads a backup job's parameters.
    ///
    /// # Errors
    /// When the job's parameters are not a backup's.
    pub fn from_job(job: &Job) -> Result<Self, serde_json::Error> {
        serde_json::from_value(job.params.clone())
    }

    /// The backup job for `task` with these parameters, enqueued at `at`. Scheduled ones
    /// carry the slot's idempotency key.
    #[must_use]
    pub fn into_job(self, task: TaskId, at: DateTime<Utc>) -> NewJob {
        let job = NewJob::new(JobKind::Backup, at).for_task(task);
        let job = match self.slot {
            Some(slot) => job.deduplicated_by(crate::task::backup_slot_key(task, slot)),
            None => job,
        };
        // A struct of plain fields always serialises.
        job.with_params(serde_json::to_value(&self).unwrap_or_default())
    }
}

crate::stored_enum! {
    /// How important a log line is.
    pub enum LogLevel ("log level") {
        /// Progress.
        Info = ("info", "Info"),
        /// Something worth a look; the job went on.
        Warn = ("warn", "Warning"),
        /// Something failed.
        Error = ("error", "Error"),
    }
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLogLine {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// How important.
    pub level: LogLevel,
    /// What happened (at most [`MAX_LOG_LINE_CHARS`]).
    pub message: String,
}

impl JobLogLine {
    /// A line, cut to [`MAX_LOG_LINE_CHARS`].
    #[must_use]
    pub fn new(at: DateTime<Utc>, level: LogLevel, message: &str) -> Self {
        Self {
            at,
            level,
            message: message.chars().take(MAX_LOG_LINE_CHARS).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_terminal_statuses() {
        for outcome in [
            JobOutcome::Succeeded,
            JobOutcome::PartiallySucceeded("API budget".into()),
            JobOutcome::Failed("boom".into()),
            JobOutcome::Canceled,
        ] {
            assert!(outcome.status().is_terminal(), "{outcome:?}");
        }
        assert!(!JobStatus::Pending.is_terminal());
        assert!(!JobStatus::InProgress.is_terminal());
        assert_eq!(JobOutcome::Failed("boom".into()).message(), Some("boom"));
        assert_eq!(JobOutcome::Canceled.message(), None);
    }

    #[test]
    fn names_round_trip_and_log_lines_are_cut() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>().unwrap(), *kind);
        }
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), *status);
        }
        assert_eq!(JobStatus::PartiallySucceeded.label(), "Partially succeeded");
        let line = JobLogLine::new(Utc::now(), LogLevel::Info, &"é".repeat(5_000));
        assert_eq!(line.message.chars().count(), MAX_LOG_LINE_CHARS);
    }

    #[test]
    fn backup_params_round_trip_through_the_job() {
        let at = Utc::now();
        let task = TaskId::new();
        let scheduled = BackupParams::scheduled(at).into_job(task, at);
        assert_eq!(
            scheduled.dedupe_key,
            Some(crate::task::backup_slot_key(task, at))
        );
        assert_eq!(scheduled.params["trigger"], "schedule");
        let entity = EntityId::new();
        let manual = BackupParams::manual(vec![entity]).into_job(task, at);
        assert_eq!(manual.dedupe_key, None);
        assert_eq!(manual.task_id, Some(task));
        let job = Job {
            id: manual.id,
            account_id: None,
            kind: manual.kind,
            status: JobStatus::Pending,
            task_id: manual.task_id,
            snapshot_id: None,
            dedupe_key: None,
            params: manual.params,
            progress: JobProgress::default(),
            error: None,
            attempts: 0,
            max_attempts: 1,
            cancel_requested: false,
            run_after: at,
            created_at: at,
            started_at: None,
            finished_at: None,
            lease_owner: None,
            lease_until: None,
        };
        assert_eq!(
            BackupParams::from_job(&job).unwrap(),
            BackupParams::manual(vec![entity])
        );
    }

    #[test]
    fn new_job_builder() {
        let at = Utc::now();
        let task = TaskId::new();
        let job = NewJob::new(JobKind::Backup, at)
            .for_task(task)
            .deduplicated_by("k");
        assert_eq!(job.task_id, Some(task));
        assert_eq!(job.dedupe_key.as_deref(), Some("k"));
        assert_eq!(job.run_after, at);
        assert_eq!(job.max_attempts, DEFAULT_MAX_ATTEMPTS);
    }
}
