//! Purging deleted tasks after the grace period.

use std::sync::Arc;

use chrono::Duration;
use parking_lot::Mutex;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{AccountId, EntityId, TaskId};
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{Clock, EntityKind, EntityStatus, JobKind, JobStatus, NewJob, SharedClock};
use cairn_jobs::maintenance::{PURGE_DELETED, PurgeDeleted, TaskDataRemover};
use cairn_jobs::{CancellationToken, Runners, WorkerConfig, WorkerEvent, WorkerPool};
use cairn_meta::MetaStore;

use crate::harness::{account, clock, connected_task, t0};

/// Records removals; refuses the tasks listed in `refuse`.
#[derive(Default)]
struct FakeVault {
    removed: Mutex<Vec<TaskId>>,
    removed_entities: Mutex<Vec<EntityId>>,
    refuse: Mutex<Vec<TaskId>>,
}

#[async_trait::async_trait]
impl TaskDataRemover for FakeVault {
    async fn remove_task_data(&self, _account: AccountId, task: TaskId) -> Result<(), String> {
        if self.refuse.lock().contains(&task) {
            return Err("bucket unreachable".into());
        }
        self.removed.lock().push(task);
        Ok(())
    }

    async fn remove_entity_data(
        &self,
        _account: AccountId,
        task: TaskId,
        entity: EntityId,
    ) -> Result<(), String> {
        if self.refuse.lock().contains(&task) {
            return Err("bucket unreachable".into());
        }
        self.removed_entities.lock().push(entity);
        Ok(())
    }
}

/// Enqueues one purge job at the clock's time and runs it to its end.
async fn run_purge(store: &MetaStore, clock: SharedClock, vault: Arc<FakeVault>) -> JobStatus {
    let job = NewJob::new(JobKind::Maintenance, clock.now())
        .with_params(serde_json::json!({ "action": PURGE_DELETED }));
    let id = store.jobs().enqueue_system(&job).await.unwrap().id;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let runners = Runners::new().with(
        JobKind::Maintenance,
        Arc::new(PurgeDeleted::new().with_vault(vault)),
    );
    let config = WorkerConfig {
        poll: std::time::Duration::from_millis(10),
        ..WorkerConfig::new("maint", 1, std::time::Duration::from_secs(60))
    };
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(
        WorkerPool::new(store.clone(), clock, runners, config)
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

async fn deleted_tasks_are_purged_after_the_grace_period(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let tasks = store.account(a).tasks();
    let old = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let recent = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let live = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let undone = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    tasks.delete(old.id, t0()).await.unwrap();
    tasks.delete(undone.id, t0()).await.unwrap();
    tasks.undelete(undone.id).await.unwrap();
    tasks
        .delete(recent.id, t0() + Duration::days(3))
        .await
        .unwrap();
    // Two entities of the live task deleted at t0 and t0 + 1 day, one of the old task.
    let entities = store.account(a).entities();
    let mut entity_ids = Vec::new();
    for task in [live.id, live.id, old.id] {
        let found = DiscoveredEntity {
            kind: EntityKind::SalesforceObject,
            name: format!("Object{}", entity_ids.len()),
            external_id: format!("o{}", entity_ids.len()),
            email: None,
        };
        entity_ids.extend(
            entities
                .upsert_discovered(task, &[found], EntityStatus::Scheduled, t0())
                .await
                .unwrap(),
        );
    }
    entities.delete(&entity_ids[..1], t0()).await.unwrap();
    entities
        .delete(&entity_ids[1..], t0() + Duration::days(1))
        .await
        .unwrap();

    let clock = clock();
    clock.advance(Duration::days(7));
    let vault = Arc::new(FakeVault::default());
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert_eq!(*vault.removed.lock(), vec![old.id]);
    assert!(tasks.get(old.id).await.unwrap_err().is_not_found());
    let activity = store
        .account(a)
        .events()
        .list(&cairn_meta::EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let purged: Vec<_> = activity
        .events
        .iter()
        .filter(|e| e.kind.code() == cairn_jobs::maintenance::TASK_PURGED)
        .map(|e| e.details["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(purged, vec![old.id.to_string()]);
    // The old task's entity went with its task, not on its own.
    assert_eq!(*vault.removed_entities.lock(), vec![entity_ids[0]]);
    assert!(
        entities
            .get(entity_ids[0])
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        entities
            .get(entity_ids[1])
            .await
            .unwrap()
            .deleted_at
            .is_some()
    );
    for kept in [recent.id, live.id, undone.id] {
        assert!(tasks.get(kept).await.is_ok());
    }

    // A vault failure keeps the task (still deleted) for the next run.
    vault.refuse.lock().push(recent.id);
    clock.advance(Duration::days(3));
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::PartiallySucceeded
    );
    assert!(tasks.get(recent.id).await.unwrap().deleted_at.is_some());
    vault.refuse.lock().clear();
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert!(tasks.get(recent.id).await.unwrap_err().is_not_found());
    assert_eq!(*vault.removed.lock(), vec![old.id, recent.id]);
    assert_eq!(
        *vault.removed_entities.lock(),
        vec![entity_ids[0], entity_ids[1]]
    );
}

/// Entities discovery archived expire after their task's "retain auto-archived backups N
/// days"; tasks without the setting keep them; a running backup of the task postpones it.
async fn archived_entities_expire_after_the_task_retention(store: MetaStore) {
    let a = account(&store, "ada@example.com").await;
    let tasks = store.account(a).tasks();
    let keeps = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    let forever = connected_task(&store, a, BackupFrequency::Daily, 1, t0()).await;
    tasks
        .update(
            keeps.id,
            &keeps.name,
            &cairn_domain::TaskSettings {
                retain_auto_archived_days: Some(10),
                ..keeps.settings.clone()
            },
        )
        .await
        .unwrap();
    let entities = store.account(a).entities();
    let mut ids = Vec::new();
    for (task, name) in [(keeps.id, "ann"), (keeps.id, "bob"), (forever.id, "cat")] {
        let found = DiscoveredEntity {
            kind: EntityKind::DropboxMember,
            name: name.to_owned(),
            external_id: format!("dbmid:{name}"),
            email: None,
        };
        ids.extend(
            entities
                .upsert_discovered(task, &[found], EntityStatus::Scheduled, t0())
                .await
                .unwrap(),
        );
    }
    let (ann, bob, cat) = (ids[0], ids[1], ids[2]);
    entities.archive(&[ann, cat], t0()).await.unwrap();
    entities
        .archive(&[bob], t0() + Duration::days(5))
        .await
        .unwrap();

    let clock = clock();
    let vault = Arc::new(FakeVault::default());
    clock.advance(Duration::days(9));
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert!(vault.removed_entities.lock().is_empty());

    clock.advance(Duration::days(1));
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert_eq!(*vault.removed_entities.lock(), vec![ann]);
    assert!(entities.get(ann).await.unwrap_err().is_not_found());
    let expired = |store: MetaStore| async move {
        store
            .account(a)
            .events()
            .list(&cairn_meta::EventQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .events
            .into_iter()
            .filter(|e| e.kind.code() == cairn_jobs::maintenance::ENTITY_ARCHIVE_EXPIRED)
            .map(|e| e.details["entity"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(expired(store.clone()).await, vec![ann.to_string()]);
    for kept in [bob, cat] {
        let e = entities.get(kept).await.unwrap();
        assert_eq!((e.status, e.deleted_at), (EntityStatus::Archived, None));
    }

    // Bob's time is up while a backup of his task runs: he is hidden (deleted) at once,
    // his data goes at the next run after that backup.
    store
        .account(a)
        .jobs()
        .enqueue(&NewJob::new(JobKind::Backup, clock.now()).for_task(keeps.id))
        .await
        .unwrap();
    let claimed = store
        .jobs()
        .claim(
            "backup-worker",
            &[JobKind::Backup],
            clock.now(),
            Duration::hours(1),
        )
        .await
        .unwrap()
        .unwrap();
    clock.advance(Duration::days(5));
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert_eq!(*vault.removed_entities.lock(), vec![ann]);
    assert!(entities.get(bob).await.unwrap().deleted_at.is_some());
    store
        .jobs()
        .finish(
            claimed.job.id,
            claimed.token,
            &cairn_domain::JobOutcome::Succeeded,
            None,
            clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        run_purge(&store, clock.clone(), vault.clone()).await,
        JobStatus::Succeeded
    );
    assert_eq!(*vault.removed_entities.lock(), vec![ann, bob]);
    assert!(entities.get(bob).await.unwrap_err().is_not_found());
    assert_eq!(
        expired(store.clone()).await.len(),
        2,
        "one event per expired entity"
    );
    // The task without the setting keeps its archived entity.
    assert_eq!(
        entities.get(cat).await.unwrap().status,
        EntityStatus::Archived
    );
}

crate::backend_tests!(
    deleted_tasks_are_purged_after_the_grace_period,
    archived_entities_expire_after_the_task_retention,
);
