//! A deleted task's data leaves the vault: after the grace period the daily purge job
//! (with the vault remover) deletes its manifests and segments, another task's snapshots
//! in the same account read back identically, and prune frees the chunks only it used.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cairn_backup::{RunStatus, VaultDataRemover};
use cairn_domain::{
    BackupTask, Environment, JobKind, JobStatus, ManualClock, NewJob, RegionCode, Service,
    SharedClock, TaskSettings,
};
use cairn_emulator::dropbox::MutateRequest;
use cairn_jobs::maintenance::{PURGE_DELETED, PurgeDeleted};
use cairn_jobs::{CancellationToken, Runners, WorkerConfig, WorkerEvent, WorkerPool};
use cairn_vault::maintenance::{self, PruneOptions};
use cairn_vault::segments::SegmentOptions;
use cairn_vault::{SnapshotManifest, Vault};

use crate::dropbox_support::{DbxWorld, dbx_world, small};
use crate::support::Recorder;

fn no_grace() -> PruneOptions {
    PruneOptions {
        grace: std::time::Duration::ZERO,
        ..PruneOptions::default()
    }
}

/// A second Dropbox task of the same account, on the same team.
async fn second_task(w: &DbxWorld) -> BackupTask {
    let task = BackupTask::new(
        w.task.account_id,
        Service::Dropbox,
        "Team again",
        Environment::Production,
        TaskSettings {
            auto_activate: true,
            ..TaskSettings::default()
        },
        RegionCode::parse("local").unwrap(),
        chrono::Utc::now(),
    )
    .unwrap();
    let tasks = w.store.account(task.account_id).tasks();
    tasks.create(&task).await.unwrap();
    let sealed = w.ctx.tokens.seal_json(task.id, &w.tokens).unwrap();
    tasks
        .store_token(task.id, &sealed, chrono::Utc::now())
        .await
        .unwrap();
    task
}

async fn run(w: &DbxWorld, task: &BackupTask) -> SnapshotManifest {
    let outcome = w
        .engine
        .run(&w.ctx, task, None, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Complete, "{:?}", outcome.message);
    w.manifest(&outcome).await
}

/// Every item of every entity of a snapshot with its record and content bytes.
async fn read_back(
    vault: &Vault,
    manifest: &SnapshotManifest,
) -> BTreeMap<String, (String, Vec<u8>)> {
    let segs = vault.segments(SegmentOptions::default()).unwrap();
    let mut out = BTreeMap::new();
    for (name, em) in &manifest.entities {
        for (key, item) in cairn_backup::pit::entity_items(&segs, em).await.unwrap() {
            let mut bytes = Vec::new();
            for c in &item.chunks {
                bytes.extend(vault.read_chunk(c).await.unwrap());
            }
            out.insert(format!("{name}:{key}"), (item.record, bytes));
        }
    }
    out
}

/// Everything stored in the account's vault, in bytes.
async fn vault_bytes(vault: &Vault) -> u64 {
    vault
        .backend()
        .list("")
        .await
        .unwrap()
        .iter()
        .map(|o| o.size)
        .sum()
}

/// Enqueues one purge job and runs it to its end on a worker pool at `clock`.
async fn run_purge(w: &DbxWorld, clock: SharedClock, remover: VaultDataRemover) -> JobStatus {
    let job = NewJob::new(JobKind::Maintenance, clock.now())
        .with_params(serde_json::json!({ "action": PURGE_DELETED }));
    let id = w.store.jobs().enqueue_system(&job).await.unwrap().id;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let runners = Runners::new().with(
        JobKind::Maintenance,
        Arc::new(PurgeDeleted::new().with_vault(Arc::new(remover))),
    );
    let config = WorkerConfig {
        poll: std::time::Duration::from_millis(10),
        ..WorkerConfig::new("maint", 1, std::time::Duration::from_secs(60))
    };
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(
        WorkerPool::new(w.store.clone(), clock, runners, config)
            .with_events(tx)
            .run(shutdown.clone()),
    );
    let status = loop {
        if let Some(WorkerEvent::Finished { job, status }) = events.recv().await
            && job == id
        {
            break status;
        }
    };
    shutdown.cancel();
    handle.await.unwrap();
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_task_leaves_the_vault_after_the_grace_period() {
    let w = dbx_world(small()).await;
    let account = w.task.account_id;
    // Task A backs up the team, the team changes, A backs up again; then task B (same
    // account) backs up the changed team: the old versions of changed files are A's
    // alone, everything else is shared through dedup.
    let a1 = run(&w, &w.task).await;
    let report = w
        .dropbox
        .control()
        .mutate(&MutateRequest {
            percent: 30.0,
            member: None,
            namespace_id: None,
            seed: Some(9),
            kinds: Vec::new(),
        })
        .unwrap();
    assert!(report.modified > 0, "{report:?}");
    let a2 = run(&w, &w.task).await;
    let b_task = second_task(&w).await;
    let b = run(&w, &b_task).await;
    w.assert_matches_dump(&b).await;

    let vault = w.ctx.vaults.vault(account).await.unwrap();
    let b_before = read_back(&vault, &b).await;
    assert!(b_before.values().any(|(_, bytes)| !bytes.is_empty()));
    let a_segments: BTreeSet<String> = [&a1, &a2]
        .iter()
        .flat_map(|m| m.entities.values())
        .flat_map(|e| e.segments.iter().map(|s| s.object.clone()))
        .collect();
    let b_segments: BTreeSet<String> = b
        .entities
        .values()
        .flat_map(|e| e.segments.iter().map(|s| s.object.clone()))
        .collect();
    assert!(!a_segments.is_empty() && a_segments.is_disjoint(&b_segments));
    let stats_before =
        maintenance::stats(&vault, &vault.segments(SegmentOptions::default()).unwrap())
            .await
            .unwrap();
    let bytes_before = vault_bytes(&vault).await;

    let deleted_at = chrono::Utc::now();
    w.store
        .account(account)
        .tasks()
        .delete(w.task.id, deleted_at)
        .await
        .unwrap();
    let remover = VaultDataRemover::new(&w.ctx).with_prune(no_grace());
    // Within the grace period nothing goes.
    let clock = Arc::new(ManualClock::new(deleted_at + chrono::Duration::days(6)));
    assert_eq!(
        run_purge(&w, clock.clone(), remover.clone()).await,
        JobStatus::Succeeded
    );
    assert_eq!(vault.snapshot_ids().await.unwrap().len(), 3);

    clock.advance(chrono::Duration::days(2));
    assert_eq!(
        run_purge(&w, clock.clone(), remover.clone()).await,
        JobStatus::Succeeded
    );
    assert!(
        w.store
            .account(account)
            .tasks()
            .get(w.task.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let task_label = w.task.id.to_string();
    let left = vault.snapshots().await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left.iter().all(|m| m.labels["task"] != task_label));
    for s in &a_segments {
        assert!(
            vault.backend().head(s).await.unwrap().is_none(),
            "{s} is gone"
        );
    }
    let check = maintenance::check(vault.backend().clone(), &w.master, true)
        .await
        .unwrap();
    assert!(check.ok, "{:?}", check.problems);
    let fresh = Vault::open(vault.backend().clone(), &w.master)
        .await
        .unwrap();
    assert_eq!(read_back(&fresh, &b).await, b_before);

    // The purge pruned once (marking A's packs); a prune with zero grace deletes them.
    let segs = vault.segments(SegmentOptions::default()).unwrap();
    let pruned = maintenance::prune(&vault, &segs, no_grace()).await.unwrap();
    assert!(pruned.deleted > 0 || pruned.repacked > 0, "{pruned:?}");
    maintenance::prune(&vault, &segs, no_grace()).await.unwrap();
    let stats_after = maintenance::stats(&vault, &segs).await.unwrap();
    assert!(
        stats_after.stored_bytes < stats_before.stored_bytes,
        "{stats_before:?} -> {stats_after:?}"
    );
    assert!(vault_bytes(&vault).await < bytes_before);
    let check = maintenance::check(vault.backend().clone(), &w.master, true)
        .await
        .unwrap();
    assert!(check.ok, "{:?}", check.problems);
    let fresh = Vault::open(vault.backend().clone(), &w.master)
        .await
        .unwrap();
    assert_eq!(read_back(&fresh, &b).await, b_before);

    // Another run has nothing left to remove and succeeds.
    clock.advance(chrono::Duration::days(1));
    assert_eq!(
        run_purge(&w, clock.clone(), remover).await,
        JobStatus::Succeeded
    );
}
