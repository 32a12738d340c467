//! Dropbox backup runs: [`DropboxBackup::run`].
//!
//! A run, in order:
//! 1. opens the task's sealed tokens and builds a team client (refreshed access tokens
//!    are persisted through [`DropboxTokenSink`]; a refused token makes the task
//!    Disconnected);
//! 2. discovers members, team folders and namespaces (each namespace once) and records
//!    them ([`discover`]): new ones activated when the task says so, gone ones Archived;
//! 3. backs up every active entity ([`entity`]): changes since its cursor (in full the
//!    first time or after a cursor reset), content fetched only when the vault does not
//!    have its `content_hash` yet, one delta segment;
//! 4. writes the snapshot manifest last — per entity, the previous segments plus the
//!    delta — then saves the entities' cursors and records the catalog row.
//!
//! An entity that fails (a download whose `content_hash` does not match, a member
//! removed mid-run) is Failed and keeps its previous state in the snapshot, which is
//! then Partial; its cursor does not move, so the next run lists the same changes again.
//! A stop request writes no snapshot and moves no cursor.

pub mod cursor;
pub mod discover;
pub mod entity;
mod tokens;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cairn_domain::ids::{EntityId, JobId, SnapshotId};
use cairn_domain::job::LogLevel;
use cairn_domain::snapshot::SnapshotEntity;
use cairn_domain::{
    BackupTask, ConnectionStatus, Entity, EntityCounters, EntityStatus, Service, SnapshotOutcome,
    SnapshotRecord, TypedId,
};
use cairn_dropbox::{DropboxApp, TeamClient, TokenSet};
use cairn_vault::{EntityManifest, SnapshotManifest};

use crate::context::BackupContext;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::salesforce::{EntityResult, RunOutcome, RunStatus};
use cursor::DropboxCursor;
use entity::{EntityDone, Env, RunStats};

pub use entity::content_key;
pub use tokens::DropboxTokenSink;

/// The name of a Dropbox entity inside snapshot manifests.
#[must_use]
pub fn manifest_key(external_id: &str) -> String {
    format!("dropbox/{external_id}")
}

/// Runs Dropbox backups through one registered app (real Dropbox or the emulator).
#[derive(Debug, Clone)]
pub struct DropboxBackup {
    app: DropboxApp,
}

/// How one entity's part of a run ended.
enum Part {
    Done(EntityDone),
    Failed(String),
    /// Left for the next run (the connection was refused).
    Left,
}

/// What a run fetched, beside its outcome (benches and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Files whose content was downloaded.
    pub files_fetched: u64,
    /// Content bytes downloaded.
    pub bytes_fetched: u64,
    /// Changed files whose content was already in the vault (or fetched for another
    /// file in this run).
    pub files_reused: u64,
    /// Listing entries read.
    pub entries_listed: u64,
}

impl DropboxBackup {
    /// Backups through `app`.
    #[must_use]
    pub fn new(app: DropboxApp) -> Self {
        Self { app }
    }

    /// Runs one backup of `task` (made by `job`, if any).
    ///
    /// Connector trouble ends in the outcome (Partial, Disconnected, Failed), not in an
    /// error; errors are the meta store or vault failing, or a task that is not a
    /// Dropbox task.
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
        self.run_with_stats(ctx, task, job, progress)
            .await
            .map(|(o, _)| o)
    }

    /// As [`DropboxBackup::run`], also returning what was fetched.
    ///
    /// # Errors
    /// See [`DropboxBackup::run`].
    pub async fn run_with_stats(
        &self,
        ctx: &BackupContext,
        task: &BackupTask,
        job: Option<JobId>,
        progress: &dyn Progress,
    ) -> Result<(RunOutcome, FetchStats)> {
        if task.service != Service::Dropbox {
            return Err(BackupError::Config(format!(
                "task {} is a {} task",
                task.id,
                task.service.label()
            )));
        }
        let started_at = ctx.clock.now();
        let scope = ctx.store.account(task.account_id);
        let Some(sealed) = scope.tasks().token(task.id).await? else {
            let message = "The task is not connected to Dropbox: authenticate it first.";
            progress.log(LogLevel::Error, message).await;
            return Ok((
                RunOutcome::ended(RunStatus::Disconnected, message),
                FetchStats::default(),
            ));
        };
        let tokens: TokenSet = ctx.tokens.open_json(task.id, &sealed)?;
        let sink = Arc::new(DropboxTokenSink::new(
            ctx.store.clone(),
            task.account_id,
            task.id,
            ctx.tokens.clone(),
            ctx.clock.clone(),
            tokens.clone(),
        ));
        let client = self.app.team(tokens).token_sink(sink).build();

        let discovery = match client.discover().await {
            Ok(d) => d,
            Err(e) => {
                let error = BackupError::from(e);
                let out = if error.is_disconnected() {
                    scope
                        .tasks()
                        .set_connection(task.id, ConnectionStatus::Disconnected)
                        .await?;
                    RunOutcome::ended(RunStatus::Disconnected, &disconnected_message(&error))
                } else {
                    RunOutcome::ended(RunStatus::Failed, &format!("Discovery failed: {error}"))
                };
                progress.log(LogLevel::Error, &out.summary()).await;
                return Ok((out, FetchStats::default()));
            }
        };
        let (entities, present) = discover::sync_entities(ctx, task, &discovery).await?;
        let active: Vec<&Entity> = entities
            .iter()
            .filter(|e| e.status.is_active() && present.contains_key(&e.external_id))
            .collect();
        progress
            .log(
                LogLevel::Info,
                &format!("Backing up {} active entities.", active.len()),
            )
            .await;

        let vault = ctx.vaults.fresh(task.account_id).await?;
        let segs = vault.segments(ctx.options.segments.clone())?;
        let fetched = parking_lot::Mutex::new(HashMap::new());
        let stats = RunStats::default();
        let env = Env {
            client: &client,
            vault: &vault,
            segs: &segs,
            progress,
            concurrency: ctx.options.blob_concurrency,
            fetched: &fetched,
            stats: &stats,
        };
        let mut parts: HashMap<EntityId, Part> = HashMap::new();
        let mut stop: Option<BackupError> = None;
        for entity in &active {
            if stop.is_some() {
                parts.insert(entity.id, Part::Left);
                continue;
            }
            let Some(source) = present.get(&entity.external_id) else {
                continue;
            };
            scope
                .entities()
                .set_status(&[entity.id], EntityStatus::InProcess)
                .await?;
            let result = match DropboxCursor::load(&entity.name, entity.cursor.as_ref()) {
                Ok(cursor) => entity::backup_entity(&env, source, &entity.name, &cursor).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(Some(done)) => {
                    parts.insert(entity.id, Part::Done(done));
                }
                Ok(None) => {
                    scope
                        .entities()
                        .set_status(&[entity.id], entity.status)
                        .await?;
                    progress
                        .log(LogLevel::Warn, "Stopped; nothing of this run is kept.")
                        .await;
                    let out = RunOutcome::ended(RunStatus::Stopped, "The run was stopped.");
                    return Ok((out, stats_of(&stats)));
                }
                Err(e) if e.is_disconnected() => {
                    progress
                        .log(LogLevel::Warn, &format!("{}: {e}", entity.name))
                        .await;
                    parts.insert(entity.id, Part::Left);
                    stop = Some(e);
                }
                Err(e @ (BackupError::Dropbox(_) | BackupError::Cursor { .. })) => {
                    let message = e.to_string();
                    progress
                        .log(LogLevel::Error, &format!("{}: {message}", entity.name))
                        .await;
                    parts.insert(entity.id, Part::Failed(message));
                }
                Err(e) => return Err(e),
            }
        }
        let mut outcome =
            finish(ctx, task, job, started_at, &entities, parts, stop.as_ref()).await?;
        let stats = stats_of(&stats);
        outcome.records_fetched = stats.files_fetched;
        outcome.api_calls = client.stats().requests;
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
        Ok((outcome, stats))
    }

    /// A client for `tokens` (tools and tests).
    #[must_use]
    pub fn client(&self, tokens: TokenSet) -> TeamClient {
        self.app.team(tokens).build()
    }
}

fn stats_of(s: &RunStats) -> FetchStats {
    FetchStats {
        files_fetched: s.files_fetched.load(Ordering::Relaxed),
        bytes_fetched: s.bytes_fetched.load(Ordering::Relaxed),
        files_reused: s.files_reused.load(Ordering::Relaxed),
        entries_listed: s.entries_listed.load(Ordering::Relaxed),
    }
}

fn disconnected_message(error: &BackupError) -> String {
    format!("Dropbox refused the task's connection; re-authenticate the task. ({error})")
}

/// An entity's counters when this run did not change it.
fn kept_counters(e: &Entity) -> EntityCounters {
    EntityCounters {
        items: e.counters.items,
        bytes: e.counters.bytes,
        ..EntityCounters::default()
    }
}

/// Writes the manifest (when any entity completed), then saves the completed entities'
/// cursors, then records the catalog row and statuses.
async fn finish(
    ctx: &BackupContext,
    task: &BackupTask,
    job: Option<JobId>,
    started_at: chrono::DateTime<chrono::Utc>,
    entities: &[Entity],
    mut parts: HashMap<EntityId, Part>,
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
        let outcome = if complete {
            SnapshotOutcome::Complete
        } else {
            SnapshotOutcome::Partial
        };
        let mut labels = BTreeMap::new();
        labels.insert("service".to_owned(), "dropbox".to_owned());
        labels.insert("task".to_owned(), task.id.to_string());
        labels.insert("account".to_owned(), task.account_id.to_string());
        if let Some(j) = job {
            labels.insert("job".to_owned(), j.to_string());
        }
        labels.insert("outcome".to_owned(), outcome.as_str().to_owned());
        let mut manifest = SnapshotManifest::new(labels);
        manifest.id = id.as_uuid().simple().to_string();
        manifest.time = taken_at;
        for e in entities {
            // Entities not done in this run (failed, left, archived, paused) keep their
            // committed state in the snapshot.
            let (segments, counters) = match parts.get(&e.id) {
                Some(Part::Done(d)) => (d.cursor.segments.clone(), d.counters),
                _ => {
                    let c = DropboxCursor::load(&e.name, e.cursor.as_ref()).unwrap_or_default();
                    (c.segments, kept_counters(e))
                }
            };
            if segments.is_empty() && !matches!(parts.get(&e.id), Some(Part::Done(_))) {
                continue;
            }
            manifest.entities.insert(
                manifest_key(&e.external_id),
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
        // The manifest is durable: the cursors may move now.
        let mut snapshot_entities = Vec::new();
        for e in entities {
            let Some(part) = parts.remove(&e.id) else {
                continue;
            };
            let (status, counters) = match part {
                Part::Done(d) => {
                    scope
                        .entities()
                        .save_cursor(e.id, &d.cursor.to_value())
                        .await?;
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
            Vec::new(),
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
        Some(e) => (RunStatus::Disconnected, Some(disconnected_message(e))),
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
