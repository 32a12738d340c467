//! Maintenance runners.
//!
//! [`PurgeDeleted`] finishes what "Delete task" (F-TASK-9) and "Delete" on a selection of
//! entities (F-TASK-5) started: once the 7-day grace has passed, the data is removed from
//! the vault through the [`TaskDataRemover`] hook (the application wires the vault in),
//! and only then the meta rows, so a failure in between leaves the task or entity listed
//! as deleted and the next run tries again. Anything undeleted meanwhile is left alone.
//!
//! The same job enforces a Dropbox task's "retain auto-archived backups N days"
//! (`retain_auto_archived_days`): an entity archived by discovery longer than that is
//! first marked deleted (so no backup includes it from then on), then its data leaves the
//! vault and its row goes, with an [`ENTITY_ARCHIVE_EXPIRED`] event. While a backup of its
//! task is running (it may have listed the entity before the mark), the entity is left
//! for the next day's run.

use std::collections::HashSet;
use std::sync::Arc;

use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::{AccountId, EntityId, TaskId};
use cairn_domain::job::{JobProgress, LogLevel};
use cairn_domain::task::DELETE_GRACE;
use cairn_domain::{JobKind, JobOutcome, JobStatus};

use cairn_meta::{ArchivedEntity, JobQuery};

use crate::error::JobsError;
use crate::runner::{Completion, JobContext, JobRunner};

/// The activity event code recorded in an account when one of its tasks is purged.
pub const TASK_PURGED: &str = "task.purged";

/// The activity event code recorded in an account when an archived entity's retention
/// ran out and its data was removed.
pub const ENTITY_ARCHIVE_EXPIRED: &str = "entity.archive_expired";

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
        // An expired archived entity already deleted by a user goes with the deleted ones.
        let deleted: HashSet<_> = entities.iter().map(|e| e.entity).collect();
        let expired: Vec<ArchivedEntity> = catalog
            .expired_archived_entities(ctx.clock().now())
            .await?
            .into_iter()
            .filter(|e| !deleted.contains(&e.entity.entity))
            .collect();
        let total = (tasks.len() + entities.len() + expired.len()) as u64;
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
        for entity in &expired {
            if ctx.is_stopped() {
                return Ok(JobOutcome::Canceled.into());
            }
            failed += self.expire(ctx, entity).await?;
            done += 1;
            ctx.progress(&progress(done, total)).await?;
        }
        Ok(if failed == 0 {
            JobOutcome::Succeeded
        } else {
            JobOutcome::PartiallySucceeded(format!(
                "{failed} of {total} deleted tasks and entities (or expired archived \
                 entities) could not be purged; the next run retries them"
            ))
        }
        .into())
    }

    /// Expires one archived entity (see the module documentation). Returns 1 for a
    /// failure, 0 otherwise (including an entity left for the next run).
    async fn expire(&self, ctx: &JobContext, expired: &ArchivedEntity) -> Result<u32, JobsError> {
        let e = &expired.entity;
        let catalog = ctx.store().task_catalog();
        if !catalog
            .expire_archived(e.account, e.entity, ctx.clock().now())
            .await?
        {
            return Ok(0);
        }
        let running = ctx
            .store()
            .account(e.account)
            .jobs()
            .list(&JobQuery {
                task: Some(e.task),
                kind: Some(JobKind::Backup),
                status: Some(JobStatus::InProgress),
                limit: 1,
            })
            .await?;
        if !running.is_empty() {
            let message = format!(
                "Archived entity {} ({}): a backup of its task is running; its data is \
                 removed by the next run.",
                e.entity, e.name
            );
            ctx.log(LogLevel::Info, &message).await?;
            return Ok(0);
        }
        let removed = match &self.vault {
            Some(vault) => vault.remove_entity_data(e.account, e.task, e.entity).await,
            None => Ok(()),
        };
        let what = format!(
            "archived entity {} ({}), archived on {} and kept {} days",
            e.entity,
            e.name,
            expired.archived_at.format("%Y-%m-%d"),
            expired.retain_days
        );
        let purged = || async {
            let gone = catalog.purge_entity(e.account, e.entity).await?;
            if gone {
                let event = Event::new(
                    EventKind::Other(ENTITY_ARCHIVE_EXPIRED.to_owned()),
                    EventOutcome::Success,
                    ctx.clock().now(),
                )
                .with("task", e.task.to_string())
                .with("entity", e.entity.to_string())
                .with("name", e.name.as_str())
                .with("archived_at", expired.archived_at.to_rfc3339())
                .with("retain_days", expired.retain_days);
                ctx.store()
                    .account(e.account)
                    .events()
                    .record(&event)
                    .await?;
            }
            Ok(gone)
        };
        self.finish_one(ctx, &what, e.task, removed, purged).await
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
