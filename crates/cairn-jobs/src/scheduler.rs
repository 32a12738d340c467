//! The scheduler: turns task schedules into queued backup jobs.
//!
//! Each tick looks at every live, connected task, finds the latest slot of its schedule
//! at or before now (see `cairn_domain::schedule`), and enqueues a backup
//! ([`BackupParams::scheduled`]) under that slot's key
//! ([`cairn_domain::task::backup_slot_key`]). The queue keeps keys forever, so
//! a slot is enqueued once no matter how many schedulers tick, how often, or how many
//! times the process restarts; a scheduler that was down across several slots enqueues
//! only the latest. Slots before the task was created are not run: a new task's first
//! backup comes from the user ("Backup now") or its first slot.
//!
//! Each tick also enqueues the day's maintenance job (purging deleted tasks and entities)
//! under a per-day key.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use cairn_domain::job::BackupParams;
use cairn_domain::{BackupTask, JobKind, NewJob, SharedClock};
use cairn_meta::MetaStore;

use crate::error::JobsError;
use crate::maintenance::PURGE_DELETED;

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Backups newly enqueued.
    pub enqueued: usize,
    /// Tasks whose latest slot was already enqueued.
    pub already_enqueued: usize,
    /// Tasks skipped because their schedule could not be read or their backup could not
    /// be enqueued (logged; retried next tick).
    pub skipped: usize,
}

/// Enqueues scheduled backups and daily maintenance.
#[derive(Debug, Clone)]
pub struct Scheduler {
    store: MetaStore,
    clock: SharedClock,
}

impl Scheduler {
    /// A scheduler over `store`, reading time from `clock`.
    #[must_use]
    pub fn new(store: MetaStore, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// One pass over every schedulable task, plus the day's maintenance job.
    ///
    /// # Errors
    /// Meta store failures listing the tasks or enqueueing maintenance (a task whose
    /// backup cannot be enqueued is skipped and logged).
    pub async fn tick(&self) -> Result<TickReport, JobsError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        for task in self.store.task_catalog().schedulable().await? {
            match self.enqueue_due(&task, now).await {
                Ok(Some(true)) => report.enqueued += 1,
                Ok(Some(false)) => report.already_enqueued += 1,
                Ok(None) => {}
                // One task's problem must not starve the others; the next tick retries.
                Err(error) => {
                    tracing::warn!(task = %task.id, error = %error, "could not schedule a task");
                    report.skipped += 1;
                }
            }
        }
        self.enqueue_maintenance(now).await?;
        Ok(report)
    }

    /// Enqueues `task`'s latest due slot. `None` when nothing is due yet; otherwise
    /// whether this call created the job.
    async fn enqueue_due(
        &self,
        task: &BackupTask,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, JobsError> {
        let schedule = task.schedule().map_err(|e| JobsError::BadSchedule {
            task: task.id,
            reason: e.to_string(),
        })?;
        let Some(slot) = schedule.latest_slot_at_or_before(now) else {
            return Ok(None);
        };
        if slot < task.created_at {
            return Ok(None);
        }
        let job = BackupParams::scheduled(slot).into_job(task.id, now);
        let enqueued = self
            .store
            .account(task.account_id)
            .jobs()
            .enqueue(&job)
            .await?;
        if enqueued.created {
            tracing::info!(task = %task.id, slot = %slot, job = %enqueued.id, "scheduled backup enqueued");
        }
        Ok(Some(enqueued.created))
    }

    async fn enqueue_maintenance(&self, now: DateTime<Utc>) -> Result<(), JobsError> {
        let key = format!("maintenance:{PURGE_DELETED}:{}", now.date_naive());
        let job = NewJob::new(JobKind::Maintenance, now)
            .deduplicated_by(key)
            .with_params(serde_json::json!({ "action": PURGE_DELETED }));
        self.store.jobs().enqueue_system(&job).await?;
        Ok(())
    }

    /// Ticks every `interval` until `shutdown`; failures are logged and retried next tick.
    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.tick().await {
                tracing::warn!(error = %error, "scheduler tick failed");
            }
        }
    }
}
