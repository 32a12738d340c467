//! What a job kind plugs in: the [`JobRunner`] trait, the [`JobContext`] it runs with,
//! and the [`Runners`] registry the worker pool dispatches on.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use cairn_domain::ids::SnapshotId;
use cairn_domain::job::{JobLogLine, JobProgress, LogLevel};
use cairn_domain::{Job, JobKind, JobOutcome, SharedClock};
use cairn_meta::{AccountScope, LeaseState, LeaseToken, MetaStore};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::error::JobsError;

/// How a run ended, as a runner reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The job's outcome.
    pub outcome: JobOutcome,
    /// The snapshot the run produced, if any.
    pub snapshot: Option<SnapshotId>,
}

impl From<JobOutcome> for Completion {
    fn from(outcome: JobOutcome) -> Self {
        Self {
            outcome,
            snapshot: None,
        }
    }
}

/// Runs the jobs of one kind.
///
/// A runner must watch [`JobContext::stopped`] (or check [`JobContext::is_stopped`]
/// between steps), save its checkpoint and return [`JobOutcome::Canceled`] soon after it
/// fires. What happens next depends on [`JobContext::stop_reason`]: a user's cancel
/// request ends the job as Canceled; on shutdown the pool hands the job back to the queue
/// (it is not marked canceled) and another worker resumes it; after a lost lease nothing
/// is written. A job may be run more than once (take-over after a crash), so runners
/// resume from their checkpoints instead of assuming a fresh start.
#[async_trait::async_trait]
pub trait JobRunner: Send + Sync + 'static {
    /// Runs one job to its end.
    async fn run(&self, ctx: &JobContext) -> Completion;
}

/// The runners a worker pool dispatches to, by job kind.
#[derive(Clone, Default)]
pub struct Runners {
    by_kind: BTreeMap<JobKind, Arc<dyn JobRunner>>,
}

impl std::fmt::Debug for Runners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_kind.keys()).finish()
    }
}

impl Runners {
    /// No runners.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `runner` for `kind`, replacing any earlier one.
    #[must_use]
    pub fn with(mut self, kind: JobKind, runner: Arc<dyn JobRunner>) -> Self {
        self.by_kind.insert(kind, runner);
        self
    }

    /// The kinds with a runner (what the pool claims).
    #[must_use]
    pub fn kinds(&self) -> Vec<JobKind> {
        self.by_kind.keys().copied().collect()
    }

    /// The runner for `kind`.
    #[must_use]
    pub fn get(&self, kind: JobKind) -> Option<Arc<dyn JobRunner>> {
        self.by_kind.get(&kind).cloned()
    }
}

/// Why a running job was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A user asked to cancel it.
    CancelRequested,
    /// The worker is shutting down; the job goes back to the queue.
    Shutdown,
    /// The lease lapsed and another worker took the job over; write nothing more.
    LeaseLost,
}

/// Everything a runner gets: the job, the store, the clock, and the stop signal.
#[derive(Debug, Clone)]
pub struct JobContext {
    job: Job,
    token: LeaseToken,
    store: MetaStore,
    clock: SharedClock,
    stop: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
}

impl JobContext {
    pub(crate) fn new(job: Job, token: LeaseToken, store: MetaStore, clock: SharedClock) -> Self {
        Self {
            job,
            token,
            store,
            clock,
            stop: CancellationToken::new(),
            reason: Arc::new(OnceLock::new()),
        }
    }

    /// The job as claimed.
    #[must_use]
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The meta store.
    #[must_use]
    pub fn store(&self) -> &MetaStore {
        &self.store
    }

    /// The job's account, through which a runner reaches the task, its entities and the
    /// snapshot catalog; `None` for installation-wide housekeeping.
    #[must_use]
    pub fn account(&self) -> Option<AccountScope<'_>> {
        self.job.account_id.map(|id| self.store.account(id))
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Resolves when the job should stop (see [`JobContext::stop_reason`]).
    pub fn stopped(&self) -> WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }

    /// Whether the job should stop.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Why the job should stop, once it should.
    #[must_use]
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    /// Signals the runner to stop; the first reason given wins.
    pub(crate) fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.stop.cancel();
    }

    /// Applies what the queue said about the lease.
    pub(crate) fn observe(&self, state: LeaseState) {
        match state {
            LeaseState::Lost => self.stop(StopReason::LeaseLost),
            LeaseState::Held {
                cancel_requested: true,
            } => self.stop(StopReason::CancelRequested),
            LeaseState::Held { .. } => {}
        }
    }

    pub(crate) fn token(&self) -> LeaseToken {
        self.token
    }

    /// Records progress (and learns of cancellation or a lost lease on the way).
    ///
    /// # Errors
    /// Meta store failures.
    pub async fn progress(&self, progress: &JobProgress) -> Result<(), JobsError> {
        let state = self
            .store
            .jobs()
            .progress(self.job.id, self.token, progress)
            .await?;
        self.observe(state);
        Ok(())
    }

    /// Appends a line to the job's log.
    ///
    /// # Errors
    /// Meta store failures.
    pub async fn log(&self, level: LogLevel, message: &str) -> Result<(), JobsError> {
        let line = JobLogLine::new(self.clock.now(), level, message);
        self.store.jobs().log(self.job.id, &line).await?;
        Ok(())
    }
}
