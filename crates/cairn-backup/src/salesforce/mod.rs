//! Salesforce backup runs: [`SalesforceBackup::run`].
//!
//! A run, in order:
//! 1. opens the task's sealed tokens and gets the org's shared session (refreshed tokens
//!    are persisted through [`crate::tokens::MetaTokenSink`]);
//! 2. discovers objects (data entities) and metadata types (metadata entities) and
//!    records them; new ones are Not Active unless the task auto-activates;
//! 3. backs up every active entity, objects first ([`object`], [`metadata`]), each
//!    made durable in steps with its checkpoint (see [`cursor::EntityCursor`]);
//! 4. writes the snapshot manifest last — per entity, the previous segments plus the new
//!    delta, so every snapshot is a complete point-in-time view — and only then moves
//!    the entities' pending segments into their committed state and records the
//!    catalog row with per-entity and per-user counters.
//!
//! The API budget running out makes the run Partial: finished entities are in the
//! snapshot, the others continue next run from their checkpoints. A refused token makes
//! the task Disconnected. A stop request (cancel, shutdown, lost lease) writes no
//! snapshot; the checkpoints already saved let the next run skip what was done.

pub mod cursor;
pub mod metadata;
mod object;
mod outcome;
mod work;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{EntityId, JobId};
use cairn_domain::job::LogLevel;
use cairn_domain::{BackupTask, ConnectionStatus, Entity, EntityKind, EntityStatus, Service};
use cairn_meta::EntityQuery;
use cairn_salesforce::{ApiBudget, MetadataType, OrgClient, SalesforceApp, SessionRegistry};
use cairn_vault::SnapshotManifest;

use futures::FutureExt;

use crate::commit::{CommitPlan, ErrorClass, Finished, back_up_entities, commit};
use crate::context::BackupContext;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::tokens::MetaTokenSink;
use cursor::EntityCursor;
use work::Env;

pub use outcome::{EntityResult, RunOutcome, RunStatus};
pub use work::{is_tombstone, tombstone};

/// The name of an entity inside snapshot manifests: `object/<API name>` or
/// `metadata/<type>`.
#[must_use]
pub fn manifest_key(kind: EntityKind, external_id: &str) -> String {
    match kind {
        EntityKind::SalesforceMetadata => format!("metadata/{external_id}"),
        _ => format!("object/{external_id}"),
    }
}

/// Runs Salesforce backups. One per process: it holds the connected app and the
/// registry that shares one session (and one token refresher) per org.
#[derive(Debug)]
pub struct SalesforceBackup {
    app: SalesforceApp,
    sessions: SessionRegistry,
}

impl SalesforceBackup {
    /// Backups through `app` (real Salesforce or the emulator, by its configuration).
    #[must_use]
    pub fn new(app: SalesforceApp) -> Self {
        Self {
            app,
            sessions: SessionRegistry::new(),
        }
    }

    /// Runs one backup of `task` (made by `job`, if any).
    ///
    /// Connector trouble ends in the outcome (Partial, Disconnected, Failed), not in an
    /// error; errors are the meta store or vault failing, or a task that is not a
    /// Salesforce task.
    ///
    /// # Errors
    /// See above.
    pub async fn run(
        &self,
        ctx: &BackupContext,
        task: &BackupTask,
        job: Option<JobId>,
        progress: &dyn Progress,
    ) -> Result<RunOutcome> {
        self.run_selected(ctx, task, job, None, progress).await
    }

    /// As [`SalesforceBackup::run`], backing up only the active entities in `only` when
    /// given ("Backup now" on a selection); the others keep their committed state in
    /// the snapshot.
    ///
    /// # Errors
    /// See [`SalesforceBackup::run`].
    pub async fn run_selected(
        &self,
        ctx: &BackupContext,
        task: &BackupTask,
        job: Option<JobId>,
        only: Option<&[EntityId]>,
        progress: &dyn Progress,
    ) -> Result<RunOutcome> {
        if task.service != Service::Salesforce {
            return Err(BackupError::Config(format!(
                "task {} is a {} task",
                task.id,
                task.service.label()
            )));
        }
        let started_at = ctx.clock.now();
        let scope = ctx.store.account(task.account_id);
        let sealed = scope.tasks().token(task.id).await?;
        let Some(sealed) = sealed else {
            let message = "The task is not connected to Salesforce: authenticate it first.";
            progress.log(LogLevel::Error, message).await;
            return Ok(RunOutcome::ended(RunStatus::Disconnected, message));
        };
        let tokens = ctx.tokens.open(task.id, &sealed)?;
        let sink = Arc::new(MetaTokenSink::new(
            ctx.store.clone(),
            task.account_id,
            task.id,
            ctx.tokens.clone(),
            ctx.clock.clone(),
        ));
        let session = self.sessions.session(&self.app, tokens, sink);
        let budget = Arc::new(ApiBudget::new(task.settings.api_limit_percent));
        let client = OrgClient::new(session, budget.clone());
        let vault = ctx.vaults.fresh(task.account_id).await?;

        let types = match discover(ctx, task, &client).await {
            Ok(t) => t,
            Err(e) => return self.ended_early(ctx, task, e, progress, &budget).await,
        };
        let mut entities = scope
            .entities()
            .list(
                task.id,
                &EntityQuery {
                    include_limited: true,
                    ..EntityQuery::default()
                },
            )
            .await?;
        entities.retain(|e| e.kind.service() == Service::Salesforce);
        // Objects first, then metadata; by name within each.
        entities.sort_by(|a, b| {
            (a.kind != EntityKind::SalesforceObject, &a.name)
                .cmp(&(b.kind != EntityKind::SalesforceObject, &b.name))
        });
        let active: Vec<&Entity> = entities
            .iter()
            .filter(|e| e.status.is_active())
            .filter(|e| {
                e.kind == EntityKind::SalesforceObject || types.contains_key(e.external_id.as_str())
            })
            .filter(|e| only.is_none_or(|ids| ids.contains(&e.id)))
            .collect();
        progress
            .log(
                LogLevel::Info,
                &format!("Backing up {} active entities.", active.len()),
            )
            .await;

        // Entities run side by side, so each one's segment writer gets its share of
        // the memory budget.
        let concurrency = ctx.options.entity_concurrency.max(1);
        let mut seg_options = ctx.options.segments.clone();
        seg_options.memory_budget /= concurrency;
        let segs = vault.segments(seg_options)?;
        let env = Env {
            ctx,
            account: task.account_id,
            client: &client,
            vault: &vault,
            segs: &segs,
            progress,
            fetched: AtomicU64::new(0),
            components: AtomicU64::new(0),
        };
        let driven = back_up_entities(
            ctx,
            task,
            &active,
            concurrency,
            progress,
            classify,
            |entity| {
                let (env, types) = (&env, &types);
                async move {
                    let done = match entity.kind {
                        EntityKind::SalesforceMetadata => {
                            match types.get(entity.external_id.as_str()) {
                                Some(t) => metadata::backup_metadata(env, entity, t).await?,
                                None => None,
                            }
                        }
                        _ => object::backup_object(env, entity).await?,
                    };
                    Ok(done.map(|d| Finished {
                        segments: d.cursor.all_segments(),
                        cursor: d.cursor.committed(d.counters.items).to_value(),
                        counters: d.counters,
                        users: d.users,
                    }))
                }
                .boxed()
            },
        )
        .await?;
        let fetched = env.fetched.into_inner();
        let components = env.components.into_inner();
        if driven.stopped {
            let mut out = RunOutcome::ended(RunStatus::Stopped, "The run was stopped.");
            out.records_fetched = fetched;
            out.components_fetched = components;
            out.api_calls = budget.calls();
            out.blob_downloads = client.stats().blob_downloads();
            return Ok(out);
        }
        let stop = driven.stop.as_ref().map(|e| {
            if e.is_disconnected() {
                (RunStatus::Disconnected, disconnected_message(e))
            } else {
                (
                    RunStatus::Partial,
                    format!(
                        "The API budget is spent; the remaining entities continue next run. ({e})"
                    ),
                )
            }
        });
        let plan = CommitPlan {
            job,
            started_at,
            service: "salesforce",
            key: &|e: &Entity| manifest_key(e.kind, &e.external_id),
            kept_segments: &|e: &Entity| {
                EntityCursor::load(&e.name, e.cursor.as_ref())
                    .unwrap_or_default()
                    .segments
            },
        };
        let mut outcome = commit(ctx, task, &entities, driven.parts, &plan, stop).await?;
        outcome.records_fetched = fetched;
        outcome.components_fetched = components;
        outcome.api_calls = budget.calls();
        outcome.blob_downloads = client.stats().blob_downloads();
        if driven
            .stop
            .as_ref()
            .is_some_and(BackupError::is_disconnected)
        {
            scope
                .tasks()
                .set_connection(task.id, ConnectionStatus::Disconnected)
                .await?;
        }
        let level = match outcome.status {
            RunStatus::Complete => LogLevel::Info,
            _ => LogLevel::Warn,
        };
        progress.log(level, &outcome.summary()).await;
        Ok(outcome)
    }

    /// The run could not start (discovery failed).
    async fn ended_early(
        &self,
        ctx: &BackupContext,
        task: &BackupTask,
        error: BackupError,
        progress: &dyn Progress,
        budget: &ApiBudget,
    ) -> Result<RunOutcome> {
        let mut out = if error.is_disconnected() {
            ctx.store
                .account(task.account_id)
                .tasks()
                .set_connection(task.id, ConnectionStatus::Disconnected)
                .await?;
            RunOutcome::ended(RunStatus::Disconnected, &disconnected_message(&error))
        } else if error.is_budget_exhausted() {
            RunOutcome::ended(
                RunStatus::Partial,
                &format!("The API budget is spent; the next run continues. ({error})"),
            )
        } else if matches!(error, BackupError::Salesforce(_)) {
            RunOutcome::ended(RunStatus::Failed, &format!("Discovery failed: {error}"))
        } else {
            return Err(error);
        };
        out.api_calls = budget.calls();
        progress.log(LogLevel::Error, &out.summary()).await;
        Ok(out)
    }
}

fn disconnected_message(error: &BackupError) -> String {
    format!("Salesforce refused the task's connection; re-authenticate the task. ({error})")
}

/// Discovers objects and metadata types and records them as entities. Returns the
/// metadata types by name (what a metadata entity's retrieve needs).
async fn discover(
    ctx: &BackupContext,
    task: &BackupTask,
    client: &OrgClient,
) -> Result<BTreeMap<String, MetadataType>> {
    client.load_limits().await?;
    let objects = client.backup_objects().await?;
    let types = client.metadata_types().await?;
    let mut found: Vec<DiscoveredEntity> = objects
        .iter()
        .map(|o| DiscoveredEntity {
            kind: EntityKind::SalesforceObject,
            name: o.name.clone(),
            external_id: o.name.clone(),
            email: None,
        })
        .collect();
    found.extend(types.iter().map(|t| DiscoveredEntity {
        kind: EntityKind::SalesforceMetadata,
        name: t.xml_name.clone(),
        external_id: t.xml_name.clone(),
        email: None,
    }));
    let new_status = if task.settings.auto_activate {
        EntityStatus::Scheduled
    } else {
        EntityStatus::NotActive
    };
    ctx.store
        .account(task.account_id)
        .entities()
        .upsert_discovered(task.id, &found, new_status, ctx.clock.now())
        .await?;
    Ok(types.into_iter().map(|t| (t.xml_name.clone(), t)).collect())
}

/// How a Salesforce run treats an entity's error.
fn classify(e: &BackupError) -> ErrorClass {
    if e.is_budget_exhausted() || e.is_disconnected() {
        ErrorClass::StopRun
    } else if matches!(e, BackupError::Salesforce(_) | BackupError::Cursor { .. }) {
        ErrorClass::EntityFailed
    } else {
        ErrorClass::Fatal
    }
}

/// The entities of a manifest that are Salesforce objects, by API name.
#[must_use]
pub fn manifest_objects(manifest: &SnapshotManifest) -> BTreeSet<String> {
    manifest
        .entities
        .keys()
        .filter_map(|k| k.strip_prefix("object/"))
        .map(str::to_owned)
        .collect()
}
