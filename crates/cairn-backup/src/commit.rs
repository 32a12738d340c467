//! What every service's run shares once it knows its active entities: backing them up a
//! few at a time ([`back_up_entities`]) and committing the result ([`commit`]) — the
//! snapshot manifest first, then the entities' cursors, then the catalog row — so a
//! crash before the manifest leaves the previous snapshot as the latest complete one,
//! and a crash after it only repeats cursor saves.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_domain::ids::{EntityId, JobId, SnapshotId};
use cairn_domain::job::LogLevel;
use cairn_domain::snapshot::{SnapshotEntity, UserCounters};
use cairn_domain::{
    BackupTask, Entity, EntityCounters, EntityStatus, SnapshotOutcome, SnapshotRecord, TypedId,
};
use cairn_vault::segments::SegmentRef;
use cairn_vault::{EntityManifest, SnapshotManifest};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use crate::context::BackupContext;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::salesforce::{EntityResult, RunOutcome, RunStatus};

/// An entity backed up completely by this run, waiting for the manifest that lists it.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its whole state at this snapshot (committed segments plus this run's delta).
    pub segments: Vec<SegmentRef>,
    /// Its counters at this snapshot.
    pub counters: EntityCounters,
    /// Changes per user (Salesforce; empty for services without the notion).
    pub users: Vec<UserCounters>,
    /// The cursor to save once the manifest is durable.
    pub cursor: serde_json::Value,
}

/// How one entity's part of a run ended.
pub(crate) enum Part {
    Done(Box<Finished>),
    Failed(String),
    /// Left for the next run (budget spent, connection refused).
    Left,
}

/// How the run treats an entity's error.
pub(crate) enum ErrorClass {
    /// The whole run stops here (budget spent, connection refused); entities not started
    /// yet are left for the next run.
    StopRun,
    /// This entity failed; the others go on.
    EntityFailed,
    /// Not the connector's doing (vault, meta store): the run fails.
    Fatal,
}

/// What backing up the active entities came to.
pub(crate) struct Driven {
    pub parts: HashMap<EntityId, Part>,
    /// The error that stopped the run, if one did.
    pub stop: Option<BackupError>,
    /// The run was told to stop (cancel, shutdown, lost lease): nothing is committed.
    pub stopped: bool,
}

/// An entity with how its backup ended (`None`: not started, the run had halted).
type EntityEnd<'e> = (&'e Entity, Option<Result<Option<Finished>>>);

/// Backs up `active` entities, at most `concurrency` at once, with `back_up` (which
/// returns `Ok(None)` when the run was told to stop). Each entity is In Process while
/// it runs. When the run is told to stop, every started entity gets its status back.
///
/// # Errors
/// A fatal error of any entity (after the others in flight have ended).
pub(crate) async fn back_up_entities<'a, F>(
    ctx: &BackupContext,
    task: &BackupTask,
    active: &[&'a Entity],
    concurrency: usize,
    progress: &dyn Progress,
    classify: fn(&BackupError) -> ErrorClass,
    back_up: F,
) -> Result<Driven>
where
    F: Fn(&'a Entity) -> BoxFuture<'a, Result<Option<Finished>>> + Sync,
{
    let scope = ctx.store.account(task.account_id);
    let halt = AtomicBool::new(false);
    let back_up = &back_up;
    let scope = &scope;
    let halt_ref = &halt;
    // Boxed up front: futures borrowing the run's state are then plainly `Send`.
    let runs: Vec<BoxFuture<'_, EntityEnd<'a>>> = active
        .iter()
        .copied()
        .map(|entity| {
            async move {
                if halt_ref.load(Ordering::Acquire) {
                    return (entity, None);
                }
                if let Err(e) = scope
                    .entities()
                    .set_status(&[entity.id], EntityStatus::InProcess)
                    .await
                {
                    return (entity, Some(Err(e.into())));
                }
                let result = back_up(entity).await;
                let halts = match &result {
                    Ok(None) => true,
                    Err(e) => !matches!(classify(e), ErrorClass::EntityFailed),
                    Ok(Some(_)) => false,
                };
                if halts {
                    halt_ref.store(true, Ordering::Release);
                }
                (entity, Some(result))
            }
            .boxed()
        })
        .collect();
    let ends: Vec<EntityEnd<'a>> = futures::stream::iter(runs)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;

    let mut driven = Driven {
        parts: HashMap::new(),
        stop: None,
        stopped: false,
    };
    let mut fatal = None;
    for (entity, end) in ends {
        let part = match end {
            None => Part::Left,
            Some(Ok(Some(done))) => Part::Done(Box::new(done)),
            Some(Ok(None)) => {
                driven.stopped = true;
                Part::Left
            }
            Some(Err(e)) => match classify(&e) {
                ErrorClass::StopRun => {
                    progress
                        .log(LogLevel::Warn, &format!("{}: {e}", entity.name))
                        .await;
                    driven.stop.get_or_insert(e);
                    Part::Left
                }
                ErrorClass::EntityFailed => {
                    let message = e.to_string();
                    progress
                        .log(LogLevel::Error, &format!("{}: {message}", entity.name))
                        .await;
                    Part::Failed(message)
                }
                ErrorClass::Fatal => {
                    fatal.get_or_insert(e);
                    Part::Left
                }
            },
        };
        driven.parts.insert(entity.id, part);
    }
    if driven.stopped || fatal.is_some() {
        // Nothing of this run is committed: statuses go back to what they were.
        for entity in active {
            scope
                .entities()
                .set_status(&[entity.id], entity.status)
                .await?;
        }
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    if driven.stopped {
        progress
            .log(LogLevel::Warn, "Stopped; the next run resumes here.")
            .await;
    }
    Ok(driven)
}

/// What the commit needs to know of the run and its service: the job and start time
/// for the catalog, how the service names its entities in manifests and finds the state
/// an entity keeps when this run did not finish it.
pub(crate) struct CommitPlan<'a> {
    /// The job that made the run, if any.
    pub job: Option<JobId>,
    /// When the run started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// `service` label of the snapshot (`salesforce`, `dropbox`).
    pub service: &'static str,
    /// The entity's key in the manifest.
    pub key: &'a (dyn Fn(&Entity) -> String + Sync),
    /// The committed segments of an entity this run did not finish.
    pub kept_segments: &'a (dyn Fn(&Entity) -> Vec<SegmentRef> + Sync),
}

/// An entity's counters when this run did not change it.
pub(crate) fn kept_counters(e: &Entity) -> EntityCounters {
    EntityCounters {
        items: e.counters.items,
        bytes: e.counters.bytes,
        ..EntityCounters::default()
    }
}

/// Writes the manifest (when any entity completed), then saves the completed entities'
/// cursors, then records the catalog row and statuses. `stop` is the status and
/// message of a run that an error stopped part-way.
pub(crate) async fn commit(
    ctx: &BackupContext,
    task: &BackupTask,
    entities: &[Entity],
    mut parts: HashMap<EntityId, Part>,
    plan: &CommitPlan<'_>,
    stop: Option<(RunStatus, String)>,
) -> Result<RunOutcome> {
    let (job, started_at) = (plan.job, plan.started_at);
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
        labels.insert("service".to_owned(), plan.service.to_owned());
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
            // Entities not finished by this run (failed, left, archived, paused) keep
            // their committed state in the snapshot.
            let (segments, counters) = match parts.get(&e.id) {
                Some(Part::Done(d)) => (d.segments.clone(), d.counters),
                _ => ((plan.kept_segments)(e), kept_counters(e)),
            };
            if segments.is_empty() && !matches!(parts.get(&e.id), Some(Part::Done(_))) {
                continue;
            }
            manifest.entities.insert(
                (plan.key)(e),
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
                    scope.entities().save_cursor(e.id, &d.cursor).await?;
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
        Some((status, message)) => (status, Some(message)),
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
        blob_downloads: 0,
    })
}
