//! Backup tasks: CRUD, tokens, connection, deletion grace and the cross-account catalog.

use chrono::Duration;

use cairn_domain::ids::TaskId;
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{
    BackupTask, ConnectionStatus, Environment, RegionCode, Service, TaskSettings, UserStatus,
};
use cairn_meta::{MetaError, MetaStore};

use crate::accounts::seed;
use crate::harness::t0;

/// A Salesforce production task of `account` created at `t0`.
pub fn sf_task(account: cairn_domain::ids::AccountId, name: &str) -> BackupTask {
    BackupTask::new(
        account,
        Service::Salesforce,
        name,
        Environment::Production,
        TaskSettings::default(),
        RegionCode::parse("local").unwrap(),
        t0(),
    )
    .unwrap()
}

async fn tasks_round_trip_and_update(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tasks = store.account(a.id).tasks();
    let task = sf_task(a.id, "Production org");
    tasks.create(&task).await.unwrap();
    assert_eq!(tasks.get(task.id).await.unwrap(), task);

    let settings = TaskSettings {
        api_limit_percent: 100,
        index_for_search: false,
        frequency: BackupFrequency::ThreeTimesADay,
        hour_utc: 23,
        auto_activate: true,
        retain_auto_archived_days: Some(30),
    };
    tasks.update(task.id, "Renamed", &settings).await.unwrap();
    let got = tasks.get(task.id).await.unwrap();
    assert_eq!(got.name, "Renamed");
    assert_eq!(got.settings, settings);
    assert_eq!(got.environment, Environment::Production, "fixed");
    assert_eq!(tasks.list(false).await.unwrap(), vec![got]);

    let err = tasks.get(TaskId::new()).await.unwrap_err();
    assert!(matches!(err, MetaError::NotFound { what: "task" }), "{err}");
}

async fn tasks_are_scoped_to_their_account(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "A's org");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let other = store.account(b.id).tasks();
    assert!(other.get(task.id).await.unwrap_err().is_not_found());
    assert!(other.list(true).await.unwrap().is_empty());
    assert!(
        other
            .delete(task.id, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        other
            .store_token(task.id, b"x", t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
    // A task claiming another account cannot be created through this scope.
    assert!(other.create(&sf_task(a.id, "x")).await.is_err());
    assert_eq!(
        store.account(a.id).tasks().list(false).await.unwrap().len(),
        1
    );
}

async fn tokens_and_connection_status(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tasks = store.account(a.id).tasks();
    let task = sf_task(a.id, "Org");
    tasks.create(&task).await.unwrap();
    assert_eq!(tasks.token(task.id).await.unwrap(), None);

    tasks.store_token(task.id, &[1, 2, 3], t0()).await.unwrap();
    assert_eq!(tasks.token(task.id).await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(
        tasks.get(task.id).await.unwrap().connection,
        ConnectionStatus::Connected
    );
    let catalog = store.task_catalog();
    assert_eq!(catalog.schedulable().await.unwrap().len(), 1);

    tasks
        .set_connection(task.id, ConnectionStatus::Disconnected)
        .await
        .unwrap();
    assert_eq!(
        tasks.token(task.id).await.unwrap(),
        None,
        "dead token dropped"
    );
    assert!(catalog.schedulable().await.unwrap().is_empty());
}

async fn delete_grace_undelete_and_purge(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tasks = store.account(a.id).tasks();
    let keep = sf_task(a.id, "Keep");
    let gone = sf_task(a.id, "Gone");
    tasks.create(&keep).await.unwrap();
    tasks.create(&gone).await.unwrap();
    tasks.store_token(gone.id, b"t", t0()).await.unwrap();

    tasks.delete(gone.id, t0()).await.unwrap();
    assert!(
        tasks
            .delete(gone.id, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(tasks.list(false).await.unwrap(), vec![keep.clone()]);
    assert_eq!(tasks.list(true).await.unwrap().len(), 2);
    let catalog = store.task_catalog();
    assert!(
        catalog.schedulable().await.unwrap().is_empty(),
        "deleted: not scheduled"
    );

    // Undo within the grace period, then delete again.
    tasks.undelete(gone.id).await.unwrap();
    assert_eq!(tasks.list(false).await.unwrap().len(), 2);
    tasks.delete(gone.id, t0()).await.unwrap();

    let before_grace = t0() + Duration::days(7) - Duration::seconds(1);
    assert!(
        catalog
            .deleted_before(before_grace - Duration::days(7))
            .await
            .unwrap()
            .is_empty()
    );
    let due = catalog.deleted_before(t0()).await.unwrap();
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![gone.id]);
    assert_eq!(due[0].purge_due_at(), Some(t0() + Duration::days(7)));

    // A live task is never purged.
    assert!(!catalog.purge(a.id, keep.id).await.unwrap());
    assert!(catalog.purge(a.id, gone.id).await.unwrap());
    assert!(tasks.get(gone.id).await.unwrap_err().is_not_found());
    assert_eq!(tasks.get(keep.id).await.unwrap(), keep);
}

crate::contract_tests!(
    tasks_round_trip_and_update,
    tasks_are_scoped_to_their_account,
    tokens_and_connection_status,
    delete_grace_undelete_and_purge,
);
