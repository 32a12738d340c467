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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{JobId, SnapshotId};
use cairn_domain::job::LogLevel;
use cairn_domain::snapshot::{SnapshotEntity, UserCounters};
use cairn_domain::{
    BackupTask, ConnectionStatus, Entity, EntityCounters, EntityKind, EntityStatus, Service,
    SnapshotOutcome, SnapshotRecord, TypedId,
};
use cairn_meta::EntityQuery;
use cairn_salesforce::{ApiBudget, MetadataType, OrgClient, SalesforceApp, SessionRegistry};
use cairn_vault::{EntityManifest, SnapshotManifest};

use crate::context::BackupContext;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::tokens::MetaTokenSink;
use cursor::EntityCursor;
use work::{EntityDone, Env};

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

/// How one entity's part of a run ended.
enum Part {
    Done(Box<EntityDone>),
    Failed(String),
    /// Left for the next run (budget, disconnection).
    Left,
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
        let segs = vault.segments(ctx.options.segments.clone())?;

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
            .collect();
        progress
            .log(
                LogLevel::Info,
                &format!("Backing up {} active entities.", active.len()),
            )
            .await;

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
        let mut parts: HashMap<cairn_domain::ids::EntityId, Part> = HashMap::new();
        let mut stop: Option<BackupError> = None;
        for entity in &active {
            if stop.is_some() {
                parts.insert(entity.id, Part::Left);
                continue;
            }
            scope
                .entities()
                .set_status(&[entity.id], EntityStatus::InProcess)
                .await?;
            let result = match entity.kind {
                EntityKind::SalesforceMetadata => match types.get(entity.external_id.as_str()) {
                    Some(t) => metadata::backup_metadata(&env, entity, t).await,
                    None => Ok(None),
                },
                _ => object::backup_object(&env, entity).await,
            };
            match result {
                Ok(Some(done)) => {
                    parts.insert(entity.id, Part::Done(Box::new(done)));
                }
                Ok(None) => {
                    // Told to stop: put statuses back, write nothing more.
                    scope
                        .entities()
                        .set_status(&[entity.id], entity.status)
                        .await?;
                    progress
                        .log(LogLevel::Warn, "Stopped; the next run resumes here.")
                        .await;
                    let mut out = RunOutcome::ended(RunStatus::Stopped, "The run was stopped.");
                    out.records_fetched = env.fetched.into_inner();
                    out.components_fetched = env.components.into_inner();
                    out.api_calls = budget.calls();
                    return Ok(out);
                }
                Err(e) if e.is_budget_exhausted() || e.is_disconnected() => {
                    progress
                        .log(LogLevel::Warn, &format!("{}: {e}", entity.name))
                        .await;
                    parts.insert(entity.id, Part::Left);
                    stop = Some(e);
                }
                Err(e @ (BackupError::Salesforce(_) | BackupError::Cursor { .. })) => {
                    let message = e.to_string();
                    progress
                        .log(LogLevel::Error, &format!("{}: {message}", entity.name))
                        .await;
                    parts.insert(entity.id, Part::Failed(message));
                }
                Err(e) => return Err(e),
            }
        }
        let fetched = env.fetched.into_inner();
        let components = env.components.into_inner();
        let mut outcome =
            finish(ctx, task, job, started_at, &entities, parts, stop.as_ref()).await?;
        outcome.records_fetched = fetched;
        outcome.components_fetched = components;
        outcome.api_calls = budget.calls();
        if stop.as_ref().is_some_and(BackupError::is_disconnected) {
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

/// Writes the manifest (when any entity completed), then commits the completed
/// entities' cursors, then records the catalog row and statuses.
async fn finish(
    ctx: &BackupContext,
    task: &BackupTask,
    job: Option<JobId>,
    started_at: chrono::DateTime<chrono::Utc>,
    entities: &[Entity],
    mut parts: HashMap<cairn_domain::ids::EntityId, Part>,
    stop: Option<&BackupError>,
) -> Result<RunOutcome> {
    let scope = ctx.store.account(task.account_id);
    let failed: Vec<String> = entities
        .iter()
        .filter_map(|e| match parts.get(&e.id) {
            Some(Part::Failed(m)) => Some(format!("{} ({m})", e.name)),
            _ => None,
        })
        .collect();
    let complete = parts.values().all(|p| matches!(p, Part::Done(_)));
    let any_done = parts.values().any(|p| matches!(p, Part::Done(_)));
    let mut results = Vec::new();
    let mut snapshot = None;
    if any_done {
        let id = SnapshotId::new();
        let taken_at = ctx.clock.now();
        let mut labels = BTreeMap::new();
        labels.insert("service".to_owned(), "salesforce".to_owned());
        labels.insert("task".to_owned(), task.id.to_string());
        labels.insert("account".to_owned(), task.account_id.to_string());
        if let Some(j) = job {
            labels.insert("job".to_owned(), j.to_string());
        }
        let outcome = if complete {
            SnapshotOutcome::Complete
        } else {
            SnapshotOutcome::Partial
        };
        labels.insert("outcome".to_owned(), outcome.as_str().to_owned());
        let mut manifest = SnapshotManifest::new(labels);
        manifest.id = id.as_uuid().simple().to_string();
        manifest.time = taken_at;
        for e in entities {
            let (segments, counters) = match parts.get(&e.id) {
                Some(Part::Done(d)) => (d.cursor.all_segments(), d.counters),
                _ => {
                    let c = EntityCursor::load(&e.name, e.cursor.as_ref()).unwrap_or_default();
                    (
                        c.segments,
                        EntityCounters {
                            items: c.items,
                            ..EntityCounters::default()
                        },
                    )
                }
            };
            if segments.is_empty() && !matches!(parts.get(&e.id), Some(Part::Done(_))) {
                continue;
            }
            manifest.entities.insert(
                manifest_key(e.kind, &e.external_id),
                EntityManifest {
                    segments,
                    counters: cairn_vault::EntityCounters {
                        items: counters.items,
                        bytes: counters.bytes,
                        added: counters.added,
                        updated: counters.updated,
                        deleted: counters.deleted,
                    },
                    ..EntityManifest::default()
                },
            );
        }
        ctx.vaults
            .vault(task.account_id)
            .await?
            .write_snapshot(&manifest)
            .await?;
        // The manifest is durable: the pending reads are now committed state.
        let mut snapshot_entities = Vec::new();
        let mut users: Vec<UserCounters> = Vec::new();
        for e in entities {
            let Some(part) = parts.remove(&e.id) else {
                continue;
            };
            let (status, counters) = match part {
                Part::Done(d) => {
                    let committed = d.cursor.committed(d.counters.items);
                    scope
                        .entities()
                        .save_cursor(e.id, &committed.to_value())
                        .await?;
                    users.extend(d.users);
                    (EntityStatus::Success, d.counters)
                }
                Part::Failed(_) => (EntityStatus::Failed, kept_counters(e)),
                Part::Left => (EntityStatus::Partial, kept_counters(e)),
            };
            results.push(EntityResult {
                entity_id: e.id,
                name: e.name.clone(),
                status,
                counters,
            });
            snapshot_entities.push(SnapshotEntity {
                entity_id: e.id,
                status,
                counters,
            });
        }
        let record = SnapshotRecord::new(
            id,
            task.id,
            job,
            started_at,
            taken_at,
            outcome,
            snapshot_entities,
            users,
        );
        scope.snapshots().record(&record).await?;
        snapshot = Some(id);
    } else {
        for e in entities {
            let Some(part) = parts.remove(&e.id) else {
                continue;
            };
            let status = match part {
                Part::Failed(_) => EntityStatus::Failed,
                _ => EntityStatus::Partial,
            };
            scope.entities().set_status(&[e.id], status).await?;
            results.push(EntityResult {
                entity_id: e.id,
                name: e.name.clone(),
                status,
                counters: kept_counters(e),
            });
        }
    }
    let (status, message) = match stop {
        Some(e) if e.is_disconnected() => (RunStatus::Disconnected, Some(disconnected_message(e))),
        Some(e) => (
            RunStatus::Partial,
            Some(format!(
                "The API budget is spent; the remaining entities continue next run. ({e})"
            )),
        ),
        None if failed.is_empty() => (RunStatus::Complete, None),
        None if snapshot.is_some() => (
            RunStatus::Partial,
            Some(format!("Failed: {}.", failed.join(", "))),
        ),
        None => (
            RunStatus::Failed,
            Some(format!("Failed: {}.", failed.join(", "))),
        ),
    };
    Ok(RunOutcome {
        status,
        message,
        snapshot,
        entities: results,
        records_fetched: 0,
        components_fetched: 0,
        api_calls: 0,
    })
}

/// An entity's counters when this run did not change it.
fn kept_counters(e: &Entity) -> EntityCounters {
    EntityCounters {
        items: e.counters.items,
        bytes: e.counters.bytes,
        ..EntityCounters::default()
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
