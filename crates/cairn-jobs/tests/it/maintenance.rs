//! Purging deleted tasks after the grace period.

use std::sync::Arc;

use chrono::Duration;
use parking_lot::Mutex;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{AccountId, EntityId, TaskId};
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{EntityKind, EntityStatus, JobKind, JobStatus, NewJob, SharedClock};
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

crate::backend_tests!(deleted_tasks_are_purged_after_the_grace_period);
