//! Maintenance runners.
//!
//! [`PurgeDeletedTasks`] finishes what "Delete task" started (F-TASK-9): once a deleted
//! task's 7-day grace has passed, its vault data is removed through the
//! [`TaskDataRemover`] hook (the vault is wired in by the application), and only then its
//! meta rows, so a failure in between leaves the task listed as deleted and the next run
//! tries again. Tasks undeleted meanwhile are left alone.

use std::sync::Arc;

use cairn_domain::JobOutcome;
use cairn_domain::ids::{AccountId, TaskId};
use cairn_domain::job::{JobProgress, LogLevel};
use cairn_domain::task::DELETE_GRACE;

use crate::error::JobsError;
use crate::runner::{Completion, JobContext, JobRunner};

/// The `action` parameter of the maintenance job that purges deleted tasks.
pub const PURGE_DELETED_TASKS: &str = "purge_deleted_tasks";

/// Removes everything the vault stores for one task.
#[async_trait::async_trait]
pub trait TaskDataRemover: Send + Sync + 'static {
    /// Deletes the task's snapshots and data from the account's vault. Must succeed when
    /// there is nothing to delete (a task that never ran, or a retry).
    ///
    /// # Errors
    /// A message for the job log when the vault refused.
    async fn remove_task_data(&self, account: AccountId, task: TaskId) -> Result<(), String>;
}

/// Runs maintenance jobs whose `action` is [`PURGE_DELETED_TASKS`].
#[derive(Clone, Default)]
pub struct PurgeDeletedTasks {
    vault: Option<Arc<dyn TaskDataRemover>>,
}

impl std::fmt::Debug for PurgeDeletedTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurgeDeletedTasks")
            .field("vault", &self.vault.is_some())
            .finish()
    }
}

impl PurgeDeletedTasks {
    /// A purger removing meta rows only (for installations that have no per-task vault
    /// data yet); add the vault with [`PurgeDeletedTasks::with_vault`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also removes each task's vault data, before its meta rows.
    #[must_use]
    pub fn with_vault(mut self, vault: Arc<dyn TaskDataRemover>) -> Self {
        self.vault = Some(vault);
        self
    }

    async fn purge(&self, ctx: &JobContext) -> Result<Completion, JobsError> {
        let catalog = ctx.store().task_catalog();
        let due = catalog
            .deleted_before(ctx.clock().now() - DELETE_GRACE)
            .await?;
        let total = due.len() as u64;
        let mut failures = Vec::new();
        for (done, task) in due.iter().enumerate() {
            if ctx.is_stopped() {
                return Ok(JobOutcome::Canceled.into());
            }
            let removed = match &self.vault {
                Some(vault) => vault.remove_task_data(task.account_id, task.id).await,
                None => Ok(()),
            };
            match removed {
                Ok(()) => {
                    if catalog.purge(task.account_id, task.id).await? {
                        ctx.log(
                            LogLevel::Info,
                            &format!("Purged deleted task {} ({}).", task.id, task.name),
                        )
                        .await?;
                    }
                }
                Err(reason) => {
                    let error = JobsError::VaultRemoval {
                        task: task.id,
                        reason,
                    };
                    ctx.log(LogLevel::Error, &error.to_string()).await?;
                    failures.push(task.id);
                }
            }
            ctx.progress(&JobProgress {
                done: done as u64 + 1,
                total: Some(total),
                note: None,
            })
            .await?;
        }
        Ok(if failures.is_empty() {
            JobOutcome::Succeeded
        } else {
            JobOutcome::PartiallySucceeded(format!(
                "{} of {total} deleted tasks could not be purged; the next run retries them",
                failures.len()
            ))
        }
        .into())
    }
}

#[async_trait::async_trait]
impl JobRunner for PurgeDeletedTasks {
    async fn run(&self, ctx: &JobContext) -> Completion {
        let action = ctx.job().params.get("action").and_then(|a| a.as_str());
        if action != Some(PURGE_DELETED_TASKS) {
            return JobOutcome::Failed(format!(
                "unknown maintenance action {}",
                action.unwrap_or("(none)")
            ))
            .into();
        }
        match self.purge(ctx).await {
            Ok(completion) => completion,
            Err(error) => {
                JobOutcome::Failed(format!("Purging deleted tasks failed: {error}")).into()
            }
        }
    }
}
