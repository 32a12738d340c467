//! Issue 6 acceptance, end to end through the portal and the app's own in-process
//! worker: a user connects a Salesforce org on the emulator's consent page, activates its
//! objects in the entity list, presses Backup now; the org changes in every way a record
//! can (update, recycle bin, undelete, hard delete, insert); Backup now again. Both
//! snapshots equal the org as the emulator dumped it right after each run.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_backup::pit::compare;
use cairn_domain::ids::{AccountId, SnapshotId};
use cairn_domain::{EntityKind, EntityStatus, JobStatus};
use cairn_emulator::salesforce::{Mutation, MutationOp, RunningSalesforce};
use cairn_meta::EntityQuery;
use cairn_salesforce::{ApiBudget, DiscardTokens, OrgClient, SalesforceApp, Session, TokenSet};
use cairn_testkit::TestApp;
use serde_json::Value;

use crate::backup_support::{
    AccountVault, activate, backup_now, connect_salesforce_task, listed_entities, page,
};
use crate::task_support::{account_of, app_with, salesforce};

/// The org as the emulator dumps it: object → id → (in the recycle bin, fields).
pub type OrgDump = BTreeMap<String, BTreeMap<String, (bool, serde_json::Map<String, Value>)>>;

/// The emulator's dump, now.
pub fn org_dump(sf: &RunningSalesforce) -> OrgDump {
    let bytes = sf.control().dump();
    let mut out = OrgDump::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap();
        out.entry(v["type"].as_str().unwrap().to_owned())
            .or_default()
            .insert(
                v["id"].as_str().unwrap().to_owned(),
                (
                    v["deleted"].as_bool().unwrap(),
                    v["fields"].as_object().unwrap().clone(),
                ),
            );
    }
    out
}

/// A client of the task's org, with the task's own tokens (for describes).
pub async fn org_client(
    app: &TestApp,
    vault: &AccountVault,
    account: AccountId,
    task: cairn_domain::ids::TaskId,
) -> OrgClient {
    let tokens: TokenSet = vault.task_tokens(app, account, task).await;
    let config = app.config.salesforce.connector_config().unwrap().unwrap();
    let session = Session::new(
        SalesforceApp::new(config).unwrap(),
        tokens,
        Arc::new(DiscardTokens),
    );
    OrgClient::new(Arc::new(session), Arc::new(ApiBudget::new(100)))
}

/// Asserts that snapshot `snapshot` holds exactly what `dump` has of each of `objects`
/// (live records and those in the recycle bin, field by field); returns the number of
/// records compared.
pub async fn assert_snapshot_equals_dump(
    vault: &AccountVault,
    client: &OrgClient,
    snapshot: SnapshotId,
    objects: &[String],
    dump: &OrgDump,
) -> usize {
    let manifest = vault.manifest(snapshot).await;
    let mut compared = 0;
    for name in objects {
        let schema = client.describe(name).await.unwrap();
        let stored = vault.items(&manifest, &format!("object/{name}")).await;
        let source: BTreeMap<String, (bool, String)> = dump
            .get(name)
            .into_iter()
            .flatten()
            .map(|(id, (deleted, fields))| {
                let r = cairn_salesforce::canonical_record(&schema, fields).unwrap();
                (id.clone(), (*deleted, r.record))
            })
            .collect();
        let c = compare(&stored, &source);
        assert!(
            c.matches(),
            "{name}: missing {:?}, unexpected {:?}, different {:?}",
            &c.missing[..c.missing.len().min(5)],
            &c.unexpected[..c.unexpected.len().min(5)],
            &c.different[..c.different.len().min(5)]
        );
        compared += c.compared;
    }
    compared
}

/// The API names of the task's entities of `kind` with `status`.
pub async fn entity_names(
    app: &TestApp,
    account: AccountId,
    task: cairn_domain::ids::TaskId,
    kind: EntityKind,
    status: Option<EntityStatus>,
) -> Vec<String> {
    app.store()
        .account(account)
        .entities()
        .list(
            task,
            &EntityQuery {
                kind: Some(kind),
                status,
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.external_id)
        .collect()
}

fn mutation(op: MutationOp, object: &str) -> Mutation {
    Mutation {
        op,
        object: object.into(),
        percent: None,
        count: None,
        ids: None,
        as_user: None,
        fields: None,
        seed: Some(5),
    }
}

/// Every kind of change a record can go through, between two backups.
fn change_the_org(sf: &RunningSalesforce, before: &OrgDump) {
    let control = sf.control();
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
    let undeleted = control
        .mutate(&Mutation {
            ids: Some(deleted.ids[..1].to_vec()),
            ..mutation(MutationOp::Undelete, "Lead")
        })
        .unwrap();
    assert_eq!(undeleted.succeeded, 1);
    let live_lead = before["Lead"]
        .iter()
        .filter(|(_, (d, _))| !d)
        .map(|(id, _)| id.clone())
        .find(|id| !deleted.ids.contains(id))
        .unwrap();
    let hard = control
        .mutate(&Mutation {
            ids: Some(vec![live_lead, deleted.ids[1].clone()]),
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_org_is_backed_up_from_the_portal_and_both_snapshots_equal_the_org() {
    let sf = salesforce().await;
    let app = app_with(Some(&sf), None).await;
    let (client, user) = app.signed_in_client("ada@example.com").await;
    let account = account_of(&app, &user.email).await;
    let task = connect_salesforce_task(&app, &client, &sf).await;
    let task_page = format!("/tasks/{task}");

    // The first Backup now discovers the org: objects and metadata types appear, not
    // active yet, and nothing is backed up.
    let discovery = backup_now(&app, &client, account, task).await;
    assert_eq!(
        discovery.status,
        JobStatus::Succeeded,
        "{:?}",
        discovery.error
    );
    assert_eq!(discovery.snapshot_id, None);
    let objects = listed_entities(&app, &client, task, "kind=sf_object").await;
    assert!(objects.len() > 3, "{objects:?}");
    let metadata = listed_entities(&app, &client, task, "kind=sf_metadata").await;
    assert!(!metadata.is_empty());

    // Select every object in the list and Activate.
    activate(&app, &client, task, &objects).await;
    let active = entity_names(
        &app,
        account,
        task,
        EntityKind::SalesforceObject,
        Some(EntityStatus::Scheduled),
    )
    .await;
    assert_eq!(active.len(), objects.len());

    let full = backup_now(&app, &client, account, task).await;
    assert_eq!(full.status, JobStatus::Succeeded, "{:?}", full.error);
    let before = org_dump(&sf);
    let full_snapshot = full.snapshot_id.expect("the full backup wrote a snapshot");

    // The task page: entities Success, a last backup, the job Succeeded.
    let html = page(&app, &client, &task_page).await;
    assert!(!html.contains(">Never<"), "the last backup is shown");
    assert!(html.contains("Succeeded"), "the finished job is listed");
    let succeeded = listed_entities(&app, &client, task, "kind=sf_object&status=success").await;
    assert_eq!(succeeded.len(), objects.len(), "every object is Success");
    let untouched = listed_entities(&app, &client, task, "kind=sf_metadata&status=not_active")
        .await
        .len();
    assert_eq!(untouched, metadata.len(), "metadata stays Not Active");

    change_the_org(&sf, &before);
    let incremental = backup_now(&app, &client, account, task).await;
    assert_eq!(
        incremental.status,
        JobStatus::Succeeded,
        "{:?}",
        incremental.error
    );
    let after = org_dump(&sf);
    let incremental_snapshot = incremental.snapshot_id.expect("a second snapshot");
    assert_ne!(incremental_snapshot, full_snapshot);

    let vault = AccountVault::open(&app, account).await;
    let org = org_client(&app, &vault, account, task).await;
    let compared = assert_snapshot_equals_dump(&vault, &org, full_snapshot, &active, &before).await;
    assert!(compared > 1000, "compared {compared} records");
    assert_snapshot_equals_dump(&vault, &org, incremental_snapshot, &active, &after).await;

    // The second run's catalog row says what changed, object by object.
    let record = app
        .store()
        .account(account)
        .snapshots()
        .get(incremental_snapshot)
        .await
        .unwrap();
    let entities = app
        .store()
        .account(account)
        .entities()
        .list(
            task,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap();
    let counters = |name: &str| {
        let id = entities.iter().find(|e| e.external_id == name).unwrap().id;
        record
            .entities
            .iter()
            .find(|e| e.entity_id == id)
            .map(|e| e.counters)
            .unwrap()
    };
    assert_eq!(counters("Contact").updated, 7);
    assert_eq!(counters("Account").added, 3);
    assert_eq!(counters("Lead").deleted, 4, "{:?}", counters("Lead"));
    let html = page(&app, &client, &task_page).await;
    assert!(html.contains("Success"));
    let succeeded = listed_entities(&app, &client, task, "kind=sf_object&status=success").await;
    assert_eq!(succeeded.len(), objects.len());
    app.shutdown().await;
    sf.shutdown().await;
}
