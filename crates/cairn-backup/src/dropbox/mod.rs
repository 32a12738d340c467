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

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cairn_domain::ids::{EntityId, JobId};
use cairn_domain::job::LogLevel;
use cairn_domain::{BackupTask, ConnectionStatus, Entity, Service};
use cairn_dropbox::{DropboxApp, TeamClient, TokenSet};

use futures::FutureExt;

use crate::commit::{CommitPlan, ErrorClass, Finished, back_up_entities, commit};
use crate::context::BackupContext;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::salesforce::{RunOutcome, RunStatus};
use cursor::DropboxCursor;
use entity::{Env, RunStats};

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
        self.run_selected(ctx, task, job, None, progress).await
    }

    /// As [`DropboxBackup::run_with_stats`], backing up only the active entities in
    /// `only` when given ("Backup now" on a selection); the others keep their committed
    /// state in the snapshot.
    ///
    /// # Errors
    /// See [`DropboxBackup::run`].
    pub async fn run_selected(
        &self,
        ctx: &BackupContext,
        task: &BackupTask,
        job: Option<JobId>,
        only: Option<&[EntityId]>,
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
            .filter(|e| only.is_none_or(|ids| ids.contains(&e.id)))
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
        // Entities run one at a time: two members sharing content must not download it
        // twice, and a content hash is known to the run only once its download ends.
        let driven = back_up_entities(ctx, task, &active, 1, progress, classify, |entity| {
            let (env, present) = (&env, &present);
            async move {
                let Some(source) = present.get(&entity.external_id) else {
                    return Err(BackupError::Config(format!(
                        "{} is not on the team any more",
                        entity.name
                    )));
                };
                let cursor = DropboxCursor::load(&entity.name, entity.cursor.as_ref())?;
                let done = entity::backup_entity(env, source, &entity.name, &cursor).await?;
                Ok(done.map(|d| Finished {
                    segments: d.cursor.segments.clone(),
                    cursor: d.cursor.to_value(),
                    counters: d.counters,
                    users: Vec::new(),
                }))
            }
            .boxed()
        })
        .await?;
        if driven.stopped {
            let out = RunOutcome::ended(RunStatus::Stopped, "The run was stopped.");
            return Ok((out, stats_of(&stats)));
        }
        let stop = driven
            .stop
            .as_ref()
            .map(|e| (RunStatus::Disconnected, disconnected_message(e)));
        let plan = CommitPlan {
            job,
            started_at,
            service: "dropbox",
            key: &|e: &Entity| manifest_key(&e.external_id),
            kept_segments: &|e: &Entity| {
                DropboxCursor::load(&e.name, e.cursor.as_ref())
                    .unwrap_or_default()
                    .segments
            },
        };
        let mut outcome = commit(ctx, task, &entities, driven.parts, &plan, stop).await?;
        let stats = stats_of(&stats);
        outcome.records_fetched = stats.files_fetched;
        outcome.api_calls = client.stats().requests;
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

/// How a Dropbox run treats an entity's error.
fn classify(e: &BackupError) -> ErrorClass {
    if e.is_disconnected() {
        ErrorClass::StopRun
    } else if matches!(e, BackupError::Dropbox(_) | BackupError::Cursor { .. }) {
        ErrorClass::EntityFailed
    } else {
        ErrorClass::Fatal
    }
}
