//! The worker pool: claim, run, heartbeat, finish — N jobs at a time.
//!
//! Each claimed job runs in its own task with a [`JobContext`]. Alongside the runner the
//! task heartbeats every `heartbeat` interval; the heartbeat's answer turns a user's
//! cancel request or a lost lease into the context's stop signal. Shutdown (the token
//! passed to [`WorkerPool::run`]) stops claiming, signals every running job
//! [`StopReason::Shutdown`], waits for the runners to return, and hands back the jobs they
//! did not finish so another worker continues them at once. A runner that panics fails
//! its job with a message instead of leaving it to the lease. Each finished job of an
//! account is recorded in its activity as a [`JOB_FINISHED`] event.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use chrono::{DateTime, Utc};

use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::JobId;
use cairn_domain::job::LogLevel;
use cairn_domain::{JobOutcome, JobStatus, SharedClock};
use cairn_meta::{ClaimedJob, LeaseState, MetaStore};

use crate::runner::{Completion, JobContext, JobRunner, Runners, StopReason};

/// The activity event code recorded when an account's job finishes.
pub const JOB_FINISHED: &str = "job.finished";

/// How a pool works.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Shown as the lease owner (host and process, for people reading job rows).
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often running jobs heartbeat (well under `lease`).
    pub heartbeat: Duration,
    /// How long to wait before looking for work again when the queue was empty.
    pub poll: Duration,
}

impl WorkerConfig {
    /// A pool named `name` running `concurrency` jobs with `lease`, heartbeating every
    /// third of the lease and polling every second.
    #[must_use]
    pub fn new(name: impl Into<String>, concurrency: usize, lease: Duration) -> Self {
        Self {
            name: name.into(),
            concurrency: concurrency.max(1),
            lease,
            heartbeat: lease / 3,
            poll: Duration::from_secs(1),
        }
    }
}

/// What happened to a job in this pool (for tests and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerEvent {
    /// A job was claimed and its runner started.
    Started {
        /// The job.
        job: JobId,
        /// Its attempt number.
        attempt: u32,
    },
    /// The runner returned and the outcome was stored.
    Finished {
        /// The job.
        job: JobId,
        /// Its final status.
        status: JobStatus,
    },
    /// The job went back to the queue unfinished (shutdown).
    Released {
        /// The job.
        job: JobId,
    },
    /// The lease was lost to another worker; this pool's result was discarded.
    LeaseLost {
        /// The job.
        job: JobId,
    },
}

/// Claims and runs jobs until shut down.
#[derive(Debug)]
pub struct WorkerPool {
    store: MetaStore,
    clock: SharedClock,
    runners: Runners,
    config: WorkerConfig,
    events: Option<mpsc::UnboundedSender<WorkerEvent>>,
}

impl WorkerPool {
    /// A pool over `store` running `runners`.
    #[must_use]
    pub fn new(
        store: MetaStore,
        clock: SharedClock,
        runners: Runners,
        config: WorkerConfig,
    ) -> Self {
        Self {
            store,
            clock,
            runners,
            config,
            events: None,
        }
    }

    /// Reports every job's progress through the pool on `events`.
    #[must_use]
    pub fn with_events(mut self, events: mpsc::UnboundedSender<WorkerEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// Runs until `shutdown` is cancelled, then winds down (see the module docs).
    pub async fn run(self, shutdown: CancellationToken) {
        let kinds = self.runners.kinds();
        let pool = Arc::new(self);
        let permits = Arc::new(Semaphore::new(pool.config.concurrency));
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let lease = chrono_duration(pool.config.lease);
            let claimed = pool
                .store
                .jobs()
                .claim(&pool.config.name, &kinds, pool.clock.now(), lease)
                .await;
            match claimed {
                Ok(Some(claimed)) => {
                    let pool = pool.clone();
                    let shutdown = shutdown.clone();
                    running.spawn(async move {
                        pool.run_one(claimed, shutdown).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    if idle(&shutdown, pool.config.poll).await {
                        break;
                    }
                }
                Err(error) => {
                    drop(permit);
                    tracing::warn!(error = %error, worker = %pool.config.name, "claiming a job failed");
                    if idle(&shutdown, pool.config.poll).await {
                        break;
                    }
                }
            }
        }
        while running.join_next().await.is_some() {}
    }

    async fn run_one(&self, claimed: ClaimedJob, shutdown: CancellationToken) {
        let ClaimedJob { job, token } = claimed;
        let id = job.id;
        let attempt = job.attempts;
        let Some(runner) = self.runners.get(job.kind) else {
            // Claims only name registered kinds; a missing runner is a wiring bug.
            tracing::error!(job = %id, kind = %job.kind, "no runner for a claimed job");
            return;
        };
        let ctx = JobContext::new(job, token, self.store.clone(), self.clock.clone());
        self.emit(WorkerEvent::Started { job: id, attempt });
        let _ = ctx
            .log(
                LogLevel::Info,
                &format!(
                    "Started by worker {} (attempt {attempt}).",
                    self.config.name
                ),
            )
            .await;
        let completion = self.drive(&ctx, runner.as_ref(), &shutdown).await;
        self.settle(&ctx, completion).await;
    }

    /// Runs the runner while heartbeating and watching for shutdown.
    async fn drive(
        &self,
        ctx: &JobContext,
        runner: &dyn JobRunner,
        shutdown: &CancellationToken,
    ) -> Completion {
        let run = AssertUnwindSafe(runner.run(ctx)).catch_unwind();
        tokio::pin!(run);
        let mut heartbeat =
            tokio::time::interval(self.config.heartbeat.max(Duration::from_millis(1)));
        heartbeat.tick().await;
        let lease = chrono_duration(self.config.lease);
        loop {
            tokio::select! {
                result = &mut run => {
                    return result.unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        tracing::error!(job = %ctx.job().id, panic = %what, "job runner panicked");
                        JobOutcome::Failed(format!("The job crashed: {what}")).into()
                    });
                }
                _ = heartbeat.tick(), if ctx.stop_reason() != Some(StopReason::LeaseLost) => {
                    match self.store.jobs().heartbeat(ctx.job().id, ctx.token(), self.clock.now(), lease).await {
                        Ok(state) => ctx.observe(state),
                        Err(error) => tracing::warn!(job = %ctx.job().id, error = %error, "heartbeat failed"),
                    }
                }
                () = shutdown.cancelled(), if !ctx.is_stopped() => ctx.stop(StopReason::Shutdown),
            }
        }
    }

    /// Stores the result, or hands the job back, or discards the result of a lost job.
    async fn settle(&self, ctx: &JobContext, completion: Completion) {
        let id = ctx.job().id;
        let queue = self.store.jobs();
        let now = self.clock.now();
        let reason = ctx.stop_reason();
        let handed_back =
            reason == Some(StopReason::Shutdown) && completion.outcome == JobOutcome::Canceled;
        let written = if reason == Some(StopReason::LeaseLost) {
            Ok(LeaseState::Lost)
        } else if handed_back {
            queue.release(id, ctx.token(), now).await
        } else {
            queue
                .finish(
                    id,
                    ctx.token(),
                    &completion.outcome,
                    completion.snapshot,
                    now,
                )
                .await
        };
        match written {
            Ok(LeaseState::Lost) => {
                tracing::warn!(job = %id, "the job was taken over by another worker; result discarded");
                self.emit(WorkerEvent::LeaseLost { job: id });
            }
            Ok(LeaseState::Held { .. }) if handed_back => {
                self.emit(WorkerEvent::Released { job: id });
            }
            Ok(LeaseState::Held { .. }) => {
                // Logged only once the outcome is ours to report.
                if let Some(message) = completion.outcome.message() {
                    let level = match completion.outcome {
                        JobOutcome::Failed(_) => LogLevel::Error,
                        _ => LogLevel::Warn,
                    };
                    let _ = ctx.log(level, message).await;
                }
                let status = completion.outcome.status();
                tracing::info!(job = %id, kind = %ctx.job().kind, status = %status, "job finished");
                self.record_activity(ctx, &completion, now).await;
                self.emit(WorkerEvent::Finished { job: id, status });
            }
            Err(error) => {
                // The lease will lapse and another worker retries the job.
                tracing::error!(job = %id, error = %error, "storing the job's result failed");
            }
        }
    }

    /// Records a finished account job in the account's activity (F-ACT-1): `job.finished`
    /// with the kind, status, task and message.
    async fn record_activity(&self, ctx: &JobContext, completion: &Completion, at: DateTime<Utc>) {
        let job = ctx.job();
        let Some(account) = job.account_id else {
            return;
        };
        let status = completion.outcome.status();
        let outcome = if status == JobStatus::Failed {
            EventOutcome::Failure
        } else {
            EventOutcome::Success
        };
        let mut event = Event::new(EventKind::Other(JOB_FINISHED.to_owned()), outcome, at)
            .with("job", job.id.to_string())
            .with("kind", job.kind.as_str())
            .with("status", status.as_str());
        if let Some(task) = job.task_id {
            event = event.with("task", task.to_string());
        }
        if let Some(snapshot) = completion.snapshot {
            event = event.with("snapshot", snapshot.to_string());
        }
        if let Some(message) = completion.outcome.message() {
            event = event.with("message", message);
        }
        if let Err(error) = self.store.account(account).events().record(&event).await {
            tracing::warn!(job = %job.id, error = %error, "recording the job's activity failed");
        }
    }

    fn emit(&self, event: WorkerEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

/// Waits `poll` unless shutdown comes first; returns whether it did.
async fn idle(shutdown: &CancellationToken, poll: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(poll) => false,
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
