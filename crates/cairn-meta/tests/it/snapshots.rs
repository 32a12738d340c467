//! The snapshot catalog: recording runs with their counters, listing, history.

use chrono::Duration;

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::ids::{EntityId, SnapshotId};
use cairn_domain::snapshot::{SnapshotEntity, UserCounters};
use cairn_domain::{
    EntityCounters, EntityKind, EntityStatus, SnapshotOutcome, SnapshotRecord, UserStatus,
};
use cairn_meta::MetaStore;

use crate::accounts::seed;
use crate::harness::t0;
use crate::tasks::sf_task;

fn counters(items: u64, added: u64) -> EntityCounters {
    EntityCounters {
        items,
        bytes: items * 100,
        added,
        updated: 1,
        deleted: 0,
    }
}

async fn record_get_list_and_history(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Org");
    let scope = store.account(a.id);
    scope.tasks().create(&task).await.unwrap();
    let ids = scope
        .entities()
        .upsert_discovered(
            task.id,
            &["Account", "Contact"].map(|n| DiscoveredEntity {
                kind: EntityKind::SalesforceObject,
                name: n.into(),
                external_id: n.into(),
                email: None,
            }),
            EntityStatus::Scheduled,
            t0(),
        )
        .await
        .unwrap();

    let mut recorded = Vec::new();
    for day in 0..3_i64 {
        let at = t0() + Duration::days(day);
        let day = u64::try_from(day).unwrap();
        let snapshot = SnapshotRecord::new(
            SnapshotId::new(),
            task.id,
            None,
            at - Duration::minutes(5),
            at,
            if day == 1 {
                SnapshotOutcome::Partial
            } else {
                SnapshotOutcome::Complete
            },
            vec![
                SnapshotEntity {
                    entity_id: ids[0],
                    status: EntityStatus::Success,
                    counters: counters(10 + day, day),
                },
                SnapshotEntity {
                    entity_id: ids[1],
                    status: if day == 1 {
                        EntityStatus::Partial
                    } else {
                        EntityStatus::Success
                    },
                    counters: counters(5, 0),
                },
            ],
            vec![UserCounters {
                entity_id: ids[0],
                user: "005000000000001".into(),
                added: day,
                updated: 1,
                deleted: 0,
            }],
        );
        scope.snapshots().record(&snapshot).await.unwrap();
        recorded.push(snapshot);
    }

    let got = scope.snapshots().get(recorded[1].id).await.unwrap();
    let mut want = recorded[1].clone();
    want.entities.sort_by_key(|e| e.entity_id);
    assert_eq!(got, want);

    let listed = scope
        .snapshots()
        .list(task.id, t0(), t0() + Duration::days(2), 10)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![recorded[1].id, recorded[0].id],
        "newest first, end exclusive"
    );
    assert_eq!(listed[0].outcome, SnapshotOutcome::Partial);
    assert_eq!(listed[0].totals.items, 16);

    let history = scope
        .snapshots()
        .entity_history(ids[0], t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|p| p.entity.counters.items)
            .collect::<Vec<_>>(),
        [11, 12]
    );

    // The entity carries its latest run's counters.
    let account = scope.entities().get(ids[0]).await.unwrap();
    assert_eq!(account.counters, counters(12, 2));
    assert_eq!(account.last_snapshot_id, Some(recorded[2].id));
    assert_eq!(account.last_backup_at, Some(t0() + Duration::days(2)));
    assert_eq!(account.status, EntityStatus::Success);

    // Paused while a run was going: the run's counters land, the pause stays.
    scope
        .entities()
        .apply_action(&ids[1..], cairn_domain::entity::EntityAction::Pause)
        .await
        .unwrap();
    let mut later = recorded[2].clone();
    later.id = SnapshotId::new();
    later.taken_at += Duration::days(1);
    scope.snapshots().record(&later).await.unwrap();
    let contact = scope.entities().get(ids[1]).await.unwrap();
    assert_eq!(contact.status, EntityStatus::Paused);
    assert_eq!(contact.last_snapshot_id, Some(later.id));
}

async fn a_bad_record_writes_nothing(store: MetaStore) {
    let (a, _) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (b, _) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let task = sf_task(a.id, "Org");
    store.account(a.id).tasks().create(&task).await.unwrap();
    let bad = SnapshotRecord::new(
        SnapshotId::new(),
        task.id,
        None,
        t0(),
        t0(),
        SnapshotOutcome::Complete,
        vec![SnapshotEntity {
            entity_id: EntityId::new(),
            status: EntityStatus::Success,
            counters: counters(1, 1),
        }],
        Vec::new(),
    );
    let err = store
        .account(a.id)
        .snapshots()
        .record(&bad)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        store
            .account(a.id)
            .snapshots()
            .get(bad.id)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Another account cannot record into this task.
    let foreign = SnapshotRecord {
        entities: Vec::new(),
        ..bad.clone()
    };
    assert!(
        store
            .account(b.id)
            .snapshots()
            .record(&foreign)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .account(a.id)
            .snapshots()
            .list(
                task.id,
                t0() - Duration::days(1),
                t0() + Duration::days(1),
                10
            )
            .await
            .unwrap()
            .is_empty()
    );
}

crate::contract_tests!(record_get_list_and_history, a_bad_record_writes_nothing);
