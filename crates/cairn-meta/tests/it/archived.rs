//! Archived entities: when discovery archived them, and which ones a task's
//! "retain auto-archived backups N days" has expired.

use chrono::Duration;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::{EntityKind, EntityStatus, TaskSettings, UserStatus};
use cairn_meta::MetaStore;

use crate::accounts::seed;
use crate::harness::t0;
use crate::tasks::sf_task;

fn member(name: &str) -> DiscoveredEntity {
    DiscoveredEntity {
        kind: EntityKind::DropboxMember,
        name: name.into(),
        external_id: format!("dbmid:{name}"),
        email: None,
    }
}

async fn archiving_records_when_and_coming_back_clears_it(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Team");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let entities = store.account(a.id).entities();
    let ids = entities
        .upsert_discovered(
            task.id,
            &[member("ann"), member("bob")],
            EntityStatus::Scheduled,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(entities.get(ids[0]).await.unwrap().archived_at, None);

    let at = t0() + Duration::days(1);
    assert_eq!(entities.archive(&ids[..1], at).await.unwrap(), 1);
    let ann = entities.get(ids[0]).await.unwrap();
    assert_eq!(
        (ann.status, ann.archived_at),
        (EntityStatus::Archived, Some(at))
    );
    // Archiving again keeps the first instant (retention counts from it).
    assert_eq!(
        entities
            .archive(&ids[..1], at + Duration::days(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(entities.get(ids[0]).await.unwrap().archived_at, Some(at));
    assert_eq!(entities.get(ids[1]).await.unwrap().archived_at, None);

    // Back at the service: scheduled again, no longer archived.
    entities
        .set_status(&ids[..1], EntityStatus::Scheduled)
        .await
        .unwrap();
    let ann = entities.get(ids[0]).await.unwrap();
    assert_eq!(
        (ann.status, ann.archived_at),
        (EntityStatus::Scheduled, None)
    );
}

async fn expired_archived_entities_follow_the_task_setting(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let tasks = store.account(a.id).tasks();
    let keeps = sf_task(a.id, "Keeps 10 days");
    let forever = sf_task(a.id, "Keeps forever");
    let gone = sf_task(a.id, "Deleted task");
    for t in [&keeps, &forever, &gone] {
        tasks.create(t).await.unwrap();
    }
    for t in [&keeps, &gone] {
        tasks
            .update(
                t.id,
                &t.name,
                &TaskSettings {
                    retain_auto_archived_days: Some(10),
                    ..TaskSettings::default()
                },
            )
            .await
            .unwrap();
    }
    let entities = store.account(a.id).entities();
    let mut ids = Vec::new();
    for (task, name) in [
        (&keeps, "old"),
        (&keeps, "young"),
        (&keeps, "live"),
        (&forever, "old"),
        (&gone, "old"),
    ] {
        ids.extend(
            entities
                .upsert_discovered(task.id, &[member(name)], EntityStatus::Scheduled, t0())
                .await
                .unwrap(),
        );
    }
    entities
        .archive(&[ids[0], ids[3], ids[4]], t0())
        .await
        .unwrap();
    entities
        .archive(&[ids[1]], t0() + Duration::days(5))
        .await
        .unwrap();
    tasks.delete(gone.id, t0()).await.unwrap();

    let catalog = store.task_catalog();
    let at = |days| t0() + Duration::days(days);
    assert!(
        catalog
            .expired_archived_entities(at(9))
            .await
            .unwrap()
            .is_empty()
    );
    let expired = catalog.expired_archived_entities(at(10)).await.unwrap();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].entity.entity, ids[0]);
    assert_eq!(expired[0].entity.task, keeps.id);
    assert_eq!(expired[0].entity.account, a.id);
    assert_eq!(expired[0].entity.name, "old");
    assert_eq!((expired[0].archived_at, expired[0].retain_days), (t0(), 10));
    let later: Vec<_> = catalog
        .expired_archived_entities(at(15))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity.entity)
        .collect();
    assert_eq!(later, vec![ids[0], ids[1]]);

    // Marked deleted (the purge's first step), it is still found; purged, it is gone.
    assert!(catalog.expire_archived(a.id, ids[0], at(15)).await.unwrap());
    assert!(catalog.expire_archived(a.id, ids[0], at(16)).await.unwrap());
    assert_eq!(entities.get(ids[0]).await.unwrap().deleted_at, Some(at(15)));
    // One that is no longer archived is left alone.
    assert!(!catalog.expire_archived(a.id, ids[2], at(15)).await.unwrap());
    assert_eq!(entities.get(ids[2]).await.unwrap().deleted_at, None);
    // Purges see deleted entities too; lists do not.
    assert_eq!(entities.all_of_task(keeps.id).await.unwrap().len(), 3);
    assert_eq!(
        entities
            .list(keeps.id, &cairn_meta::EntityQuery::default())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        catalog
            .expired_archived_entities(at(15))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(catalog.purge_entity(a.id, ids[0]).await.unwrap());
    assert_eq!(
        catalog
            .expired_archived_entities(at(15))
            .await
            .unwrap()
            .len(),
        1
    );
}

crate::contract_tests!(
    archiving_records_when_and_coming_back_clears_it,
    expired_archived_entities_follow_the_task_setting,
);
