//! A full backup equals the org; after every kind of change a second backup does too,
//! while the first snapshot still equals the org as it was; counters and statuses say
//! what happened.

use cairn_backup::RunStatus;
use cairn_domain::{EntityKind, EntityStatus};
use cairn_emulator::salesforce::{Mutation, MutationOp};
use cairn_meta::EntityQuery;

use super::support::{dump, mutation, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_snapshots_equal_the_org_at_their_times() {
    let w = world(41, |_, _| {}).await;
    let first = w.run().await;
    assert_eq!(first.status, RunStatus::Complete, "{first:?}");
    let before = dump(&w.sf);
    let m1 = w.manifest(&first).await;
    let compared = w.assert_snapshot_matches(&m1, &before).await;
    assert!(compared > 1000, "compared {compared}");
    assert!(m1.entities.keys().any(|k| k.starts_with("metadata/")));

    // Entities are recorded with statuses and counters.
    let scope = w.store.account(w.task.account_id);
    let entities = scope
        .entities()
        .list(
            w.task.id,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap();
    let contact = entities
        .iter()
        .find(|e| e.kind == EntityKind::SalesforceObject && e.external_id == "Contact")
        .unwrap();
    assert_eq!(contact.status, EntityStatus::Success);
    let live_contacts = before["Contact"].values().filter(|(d, _)| !d).count() as u64;
    assert_eq!(contact.counters.items, live_contacts);
    assert_eq!(contact.counters.added, live_contacts);
    assert!(contact.counters.bytes > 0);
    let record = scope
        .snapshots()
        .get(first.snapshot.unwrap())
        .await
        .unwrap();
    assert_eq!(record.outcome, cairn_domain::SnapshotOutcome::Complete);
    assert!(!record.users.is_empty(), "per-user counters are recorded");

    // Every kind of change.
    let control = w.sf.control();
    control.advance_clock(120_000);
    let updated = control
        .mutate(&Mutation {
            count: Some(7),
            ..mutation(MutationOp::Update, "Contact")
        })
        .unwrap();
    assert_eq!(updated.succeeded, 7);
    let deleted = control
        .mutate(&Mutation {
            count: Some(4),
            ..mutation(MutationOp::Delete, "Lead")
        })
        .unwrap();
    assert_eq!(deleted.succeeded, 4);
    control.advance_clock(60_000);
    control
        .mutate(&Mutation {
            ids: Some(deleted.ids[..1].to_vec()),
            ..mutation(MutationOp::Undelete, "Lead")
        })
        .unwrap();
    let live_lead = before["Lead"]
        .iter()
        .filter(|(_, (d, _))| !d)
        .map(|(id, _)| id.clone())
        .find(|id| !deleted.ids.contains(id))
        .unwrap();
    let hard = control
        .mutate(&Mutation {
            ids: Some(vec![live_lead.clone(), deleted.ids[1].clone()]),
            ..mutation(MutationOp::HardDelete, "Lead")
        })
        .unwrap();
    assert_eq!(hard.succeeded, 2, "{hard:?}");
    let inserted = control
        .mutate(&Mutation {
            count: Some(3),
            ..mutation(MutationOp::Insert, "Account")
        })
        .unwrap();
    assert_eq!(inserted.succeeded, 3);
    control.advance_clock(120_000);

    let second = w.run().await;
    assert_eq!(second.status, RunStatus::Complete, "{second:?}");
    assert!(
        second.records_fetched < first.records_fetched / 10,
        "incremental: {} vs {}",
        second.records_fetched,
        first.records_fetched
    );
    let after = dump(&w.sf);
    let m2 = w.manifest(&second).await;
    w.assert_snapshot_matches(&m2, &after).await;
    // The first snapshot is still the org as it was.
    w.assert_snapshot_matches(&m1, &before).await;

    let counters = |name: &str| {
        second
            .entities
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.counters)
            .unwrap()
    };
    assert_eq!(counters("Contact").updated, 7);
    assert_eq!(counters("Contact").added, 0);
    assert_eq!(counters("Account").added, 3);
    // 4 to the recycle bin, 1 back, 1 live one hard-deleted: 4 gone from the live state.
    assert_eq!(counters("Lead").deleted, 4, "{:?}", counters("Lead"));
    assert_eq!(counters("Lead").added, 0);
    assert_eq!(
        counters("Lead").items,
        after["Lead"].values().filter(|(d, _)| !d).count() as u64
    );

    // Nothing changed: the next run fetches nothing and the snapshot still matches.
    control.advance_clock(120_000);
    let third = w.run().await;
    assert_eq!(third.status, RunStatus::Complete);
    assert_eq!(third.records_fetched, 0, "{third:?}");
    assert!(third.components_fetched > 0);
    assert!(
        third
            .entities
            .iter()
            .all(|e| e.counters.added + e.counters.updated + e.counters.deleted == 0),
        "{third:?}"
    );
    let m3 = w.manifest(&third).await;
    w.assert_snapshot_matches(&m3, &after).await;
}
