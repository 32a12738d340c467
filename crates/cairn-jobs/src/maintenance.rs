//! Maintenance runners.
//!
//! [`PurgeDeleted`] finishes what "Delete task" (F-TASK-9) and "Delete" on a selection of
//! entities (F-TASK-5) started: once the 7-day grace has passed, the data is removed from
//! the vault through the [`TaskDataRemover`] hook (the application wires the vault in),
//! and only then the meta rows, so a failure in between leaves the task or entity listed
//! as deleted and the next run tries again. Anything undeleted meanwhile is left alone.

use std::sync::Arc;

use cairn_domain::JobOutcome;
use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::{AccountId, EntityId, TaskId};
use cairn_domain::job::{JobProgress, LogLevel};
use cairn_domain::task::DELETE_GRACE;

use crate::error::JobsError;
use crate::runner::{Completion, JobContext, JobRunner};

/// The activity event code recorded in an account when one of its tasks is purged.
pub const TASK_PURGED: &str = "task.purged";

/// The `action` parameter of the maintenance job that purges deleted tasks and entities.
pub const PURGE_DELETED: &str = "purge_deleted";

/// Removes what the vault stores for a task or an entity.
#[async_trait::async_trait]
pub trait TaskDataRemover: Send + Sync + 'static {
    /// Deletes the task's snapshots and data from the account's vault. Must succeed when
    /// there is nothing to delete (a task that never ran, or a retry).
    ///
    /// # Errors
    /// A message for the job log when the vault refused.
    async fn remove_task_data(&self, account: AccountId, task: TaskId) -> Result<(), String>;

    /// Deletes one entity's data from the task's snapshots. Same rules.
    ///
    /// # Errors
    /// A message for the job log when the vault refused.
    async fn remove_entity_data(
        &self,
        account: AccountId,
        task: TaskId,
        entity: EntityId,
    ) -> Result<(), String>;
}

/// Runs maintenance jobs whose `action` is [`PURGE_DELETED`].
#[derive(Clone, Default)]
pub struct PurgeDeleted {
    vault: Option<Arc<dyn TaskDataRemover>>,
}

impl std::fmt::Debug for PurgeDeleted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurgeDeleted")
            .field("vault", &self.vault.is_some())
            .finish()
    }
}

impl PurgeDeleted {
    /// A purger removing meta rows only (for installations that have no per-task vault
    /// data yet); add the vault with [`PurgeDeleted::with_vault`].
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
        let cutoff = ctx.clock().now() - DELETE_GRACE;
        let tasks = catalog.deleted_before(cutoff).await?;
        let entities = catalog.deleted_entities_before(cutoff).await?;
        let total = (tasks.len() + entities.len()) as u64;
        let mut done = 0;
        let mut failed = 0;
        for task in &tasks {
            if ctx.is_stopped() {
                return Ok(JobOutcome::Canceled.into());
            }
            let removed = match &self.vault {
                Some(vault) => vault.remove_task_data(task.account_id, task.id).await,
                None => Ok(()),
            };
            let what = format!("deleted task {} ({})", task.id, task.name);
            let purged = || async {
                let gone = catalog.purge(task.account_id, task.id).await?;
                if gone {
                    // The account's activity keeps a trace of the task after its rows go.
                    let event = Event::new(
                        EventKind::Other(TASK_PURGED.to_owned()),
                        EventOutcome::Success,
                        ctx.clock().now(),
                    )
                    .with("task", task.id.to_string())
                    .with("name", task.name.as_str());
                    ctx.store()
                        .account(task.account_id)
                        .events()
                        .record(&event)
                        .await?;
                }
                Ok(gone)
            };
            failed += self
                .finish_one(ctx, &what, task.id, removed, purged)
                .await?;
            done += 1;
            ctx.progress(&progress(done, total)).await?;
        }
        for entity in &entities {
            if ctx.is_stopped() {
                return Ok(JobOutcome::Canceled.into());
            }
            let removed = match &self.vault {
                Some(vault) => {
                    vault
                        .remove_entity_data(entity.account, entity.task, entity.entity)
                        .await
                }
                None => Ok(()),
            };
            let what = format!("deleted entity {} ({})", entity.entity, entity.name);
            failed += self
                .finish_one(ctx, &what, entity.task, removed, || {
                    catalog.purge_entity(entity.account, entity.entity)
                })
                .await?;
            done += 1;
            ctx.progress(&progress(done, total)).await?;
        }
        Ok(if failed == 0 {
            JobOutcome::Succeeded
        } else {
            JobOutcome::PartiallySucceeded(format!(
                "{failed} of {total} deleted tasks and entities could not be purged; \
                 the next run retries them"
            ))
        }
        .into())
    }

    /// After the vault step: purges the meta rows and logs, or logs the vault's refusal.
    /// Returns 1 for a failure, 0 otherwise.
    async fn finish_one<F, Fut>(
        &self,
        ctx: &JobContext,
        what: &str,
        task: TaskId,
        removed: Result<(), String>,
        purge: F,
    ) -> Result<u32, JobsError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = cairn_meta::Result<bool>>,
    {
        match removed {
            Ok(()) => {
                if purge().await? {
                    ctx.log(LogLevel::Info, &format!("Purged {what}.")).await?;
                }
                Ok(0)
            }
            Err(reason) => {
                let error = JobsError::VaultRemoval { task, reason };
                ctx.log(LogLevel::Error, &format!("{what}: {error}"))
                    .await?;
                Ok(1)
            }
        }
    }
}

fn progress(done: u64, total: u64) -> JobProgress {
    JobProgress {
        done,
        total: Some(total),
        note: None,
    }
}

#[async_trait::async_trait]
impl JobRunner for PurgeDeleted {
    async fn run(&self, ctx: &JobContext) -> Completion {
        let action = ctx.job().params.get("action").and_then(|a| a.as_str());
        if action != Some(PURGE_DELETED) {
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
