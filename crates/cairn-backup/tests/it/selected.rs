//! "Backup now" on a selection: only the chosen entities are read; the snapshot still
//! lists every entity, the others with their committed state.

use cairn_backup::RunStatus;
use cairn_domain::EntityStatus;
use cairn_emulator::salesforce::MutationOp;
use cairn_meta::EntityQuery;

use super::support::{Recorder, dump, mutation, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selected_run_reads_only_the_chosen_objects() {
    let w = world(52, |_, _| {}).await;
    let first = w.run().await;
    assert_eq!(first.status, RunStatus::Complete, "{first:?}");
    let m1 = w.manifest(&first).await;

    let control = w.sf.control();
    control.advance_clock(120_000);
    for object in ["Contact", "Account"] {
        control
            .mutate(&cairn_emulator::salesforce::Mutation {
                count: Some(5),
                ..mutation(MutationOp::Update, object)
            })
            .unwrap();
    }
    control.advance_clock(120_000);
    let scope = w.store.account(w.task.account_id);
    let entities = scope
        .entities()
        .list(w.task.id, &EntityQuery::default())
        .await
        .unwrap();
    let contact = entities
        .iter()
        .find(|e| e.external_id == "Contact")
        .unwrap();
    let account = entities
        .iter()
        .find(|e| e.external_id == "Account")
        .unwrap();
    let task = scope.tasks().get(w.task.id).await.unwrap();
    let second = w
        .engine
        .run_selected(
            &w.ctx,
            &task,
            None,
            Some(&[contact.id]),
            &Recorder::default(),
        )
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::Complete, "{second:?}");
    assert_eq!(second.records_fetched, 5, "only Contact's changes are read");
    assert_eq!(second.entities.len(), 1);
    assert_eq!(second.entities[0].entity_id, contact.id);

    let m2 = w.manifest(&second).await;
    assert_eq!(
        m1.entities.keys().collect::<Vec<_>>(),
        m2.entities.keys().collect::<Vec<_>>(),
        "every entity is still in the snapshot"
    );
    assert_eq!(
        m1.entities["object/Account"].segments, m2.entities["object/Account"].segments,
        "Account keeps its committed state"
    );
    assert_ne!(
        m1.entities["object/Contact"].segments,
        m2.entities["object/Contact"].segments
    );
    let after = scope
        .entities()
        .list(w.task.id, &EntityQuery::default())
        .await
        .unwrap();
    let status = |id| after.iter().find(|e| e.id == id).unwrap().status;
    assert_eq!(status(contact.id), EntityStatus::Success);
    assert_eq!(status(account.id), EntityStatus::Success);

    // The next whole-task run catches Account up and equals the org.
    let third = w.run().await;
    assert_eq!(third.records_fetched, 5, "Account's five changes");
    let m3 = w.manifest(&third).await;
    w.assert_snapshot_matches(&m3, &dump(&w.sf)).await;
}
