//! Removing a purged task's or entity's data from the account's vault: the vault side
//! of the daily purge ([`cairn_jobs::maintenance::PurgeDeleted`]).
//!
//! - A task: every manifest labelled with it is deleted, then its segments (those the
//!   manifests list and those its entities' cursors list: a run's pending segments are
//!   in no manifest yet), see [`cairn_vault::maintenance::remove`].
//! - An entity: it is redacted from every manifest of its task, then its segments go.
//!
//! Then [`prune`](cairn_vault::maintenance::prune) runs on the account's vault: chunks
//! only the removed data used are marked now and deleted by a later run once the grace
//! period has passed (the purge runs daily), so a concurrent backup that deduplicated
//! against them is never broken. Nothing to delete (a task that never ran, a retry) is
//! success. Callers must make sure no backup commits the removed data meanwhile: purged
//! tasks and entities are deleted, and backups leave deleted ones out.

use std::collections::{BTreeMap, BTreeSet};

use cairn_domain::ids::{AccountId, EntityId, TaskId};
use cairn_domain::{Entity, Service};
use cairn_jobs::maintenance::TaskDataRemover;
use cairn_meta::MetaStore;
use cairn_vault::Vault;
use cairn_vault::maintenance::{self, PruneOptions, RemovalRequest, RemovalScope};
use cairn_vault::segments::SegmentOptions;

use crate::context::BackupContext;
use crate::dropbox::cursor::DropboxCursor;
use crate::error::Result;
use crate::salesforce::cursor::EntityCursor;
use crate::vaults::AccountVaults;

/// Removes tasks' and entities' data from account vaults. Register it with
/// `PurgeDeleted::with_vault`.
#[derive(Debug, Clone)]
pub struct VaultDataRemover {
    store: MetaStore,
    vaults: AccountVaults,
    segments: SegmentOptions,
    prune: PruneOptions,
}

impl VaultDataRemover {
    /// A remover over the backup engine's meta store and vaults, pruning with the
    /// default grace period.
    #[must_use]
    pub fn new(ctx: &BackupContext) -> Self {
        Self {
            store: ctx.store.clone(),
            vaults: ctx.vaults.clone(),
            segments: ctx.options.segments.clone(),
            prune: PruneOptions::default(),
        }
    }

    /// Prunes with `options` after each removal (tests use a zero grace period).
    #[must_use]
    pub fn with_prune(mut self, options: PruneOptions) -> Self {
        self.prune = options;
        self
    }

    /// Removes everything the vault holds for `task`; see the module documentation.
    ///
    /// # Errors
    /// Meta store or vault failures (the purge retries on its next run).
    pub async fn remove_task(&self, account: AccountId, task: TaskId) -> Result<()> {
        let Some(vault) = self.vaults.existing(account).await? else {
            return Ok(());
        };
        let entities = self
            .store
            .account(account)
            .entities()
            .all_of_task(task)
            .await?;
        let request = RemovalRequest {
            labels: task_labels(task),
            scope: RemovalScope::Snapshots,
            segments: entities.iter().flat_map(cursor_segments).collect(),
        };
        let report = maintenance::remove(&vault, &request).await?;
        tracing::info!(%account, %task, ?report, "removed a task's vault data");
        self.prune(&vault).await
    }

    /// Removes one entity's data from its task's snapshots; see the module
    /// documentation. An entity already purged is success.
    ///
    /// # Errors
    /// Meta store or vault failures (the purge retries on its next run).
    pub async fn remove_entity(
        &self,
        account: AccountId,
        task: TaskId,
        entity: EntityId,
    ) -> Result<()> {
        let entity = match self.store.account(account).entities().get(entity).await {
            Ok(e) if e.task_id == task => e,
            Ok(_) => {
                return Err(crate::BackupError::Config(format!(
                    "entity {entity} is not an entity of task {task}"
                )));
            }
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(vault) = self.vaults.existing(account).await? else {
            return Ok(());
        };
        let request = RemovalRequest {
            labels: task_labels(task),
            scope: RemovalScope::Entities(BTreeSet::from([entity_manifest_key(&entity)])),
            segments: cursor_segments(&entity),
        };
        let report = maintenance::remove(&vault, &request).await?;
        tracing::info!(%account, %task, entity = %entity.id, ?report, "removed an entity's vault data");
        self.prune(&vault).await
    }

    async fn prune(&self, vault: &Vault) -> Result<()> {
        let segments = vault.segments(self.segments.clone())?;
        maintenance::prune(vault, &segments, self.prune).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl TaskDataRemover for VaultDataRemover {
    async fn remove_task_data(&self, account: AccountId, task: TaskId) -> Result<(), String> {
        // On a task of its own: the vault's futures are `Send` only for concrete
        // lifetimes (see `BackupRunner`).
        let this = self.clone();
        tokio::spawn(async move { this.remove_task(account, task).await })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    async fn remove_entity_data(
        &self,
        account: AccountId,
        task: TaskId,
        entity: EntityId,
    ) -> Result<(), String> {
        let this = self.clone();
        tokio::spawn(async move { this.remove_entity(account, task, entity).await })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// The labels that select a task's manifests.
fn task_labels(task: TaskId) -> BTreeMap<String, String> {
    BTreeMap::from([("task".to_owned(), task.to_string())])
}

/// The name of `entity` inside its task's manifests.
#[must_use]
pub fn entity_manifest_key(entity: &Entity) -> String {
    match entity.kind.service() {
        Service::Salesforce => crate::salesforce::manifest_key(entity.kind, &entity.external_id),
        Service::Dropbox => crate::dropbox::manifest_key(&entity.external_id),
    }
}

/// Segments an entity's cursor lists (committed and pending). An unreadable cursor
/// lists none: the manifests still name the committed ones.
fn cursor_segments(entity: &Entity) -> Vec<String> {
    let stored = entity.cursor.as_ref();
    let refs = match entity.kind.service() {
        Service::Salesforce => EntityCursor::load(&entity.name, stored)
            .map(|c| c.all_segments())
            .unwrap_or_default(),
        Service::Dropbox => DropboxCursor::load(&entity.name, stored)
            .map(|c| c.segments)
            .unwrap_or_default(),
    };
    refs.into_iter().map(|s| s.object).collect()
}
