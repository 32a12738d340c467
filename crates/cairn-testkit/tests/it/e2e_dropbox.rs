//! Issue 7 acceptance, end to end through the portal and the app's own in-process
//! worker: a user connects a Dropbox team on the emulator's consent page, activates its
//! members and team folders in the entity list, turns auto-activation on in the settings
//! form and presses Backup now; the team changes (files modified, added, deleted,
//! renamed; a member joins, one is removed; a team folder is created); Backup now again.
//! Both snapshots equal the team as the emulator dumped it right after each run (paths,
//! revisions, content hashes); the newcomers are backed up by the second run, the removed
//! member is Archived with its backup kept.

use std::collections::{BTreeMap, BTreeSet};

use cairn_backup::dropbox::manifest_key;
use cairn_domain::ids::{AccountId, SnapshotId, TaskId};
use cairn_domain::{EntityStatus, JobStatus};
use cairn_dropbox::{DropboxApp, TeamClient, TokenSet};
use cairn_emulator::dropbox::model::MemberStatus;
use cairn_emulator::dropbox::{AddMemberRequest, MutateRequest, RunningDropbox};
use cairn_meta::EntityQuery;
use cairn_testkit::TestApp;
use reqwest::StatusCode;

use crate::backup_support::{
    AccountVault, activate, backup_now, connect_dropbox_task, listed_entities, page,
};
use crate::task_support::{account_of, app_with, dropbox};

/// `(namespace, path_lower, tag, rev, content_hash)`, as the emulator's dump has them.
type Row = (String, String, String, Option<String>, Option<String>);

/// The team as it was at one moment: each entity with content (external id → its
/// namespace) and the dump rows of those namespaces.
struct TeamDump {
    entities: BTreeMap<String, String>,
    rows: BTreeSet<Row>,
}

/// A client of the task's team, with the task's own tokens.
async fn team_client(
    app: &TestApp,
    vault: &AccountVault,
    account: AccountId,
    task: TaskId,
) -> TeamClient {
    let tokens: TokenSet = vault.task_tokens(app, account, task).await;
    let config = app.config.dropbox.connector_config().unwrap().unwrap();
    DropboxApp::new(config).unwrap().team(tokens).build()
}

async fn team_dump(team: &TeamClient, db: &RunningDropbox) -> TeamDump {
    let entities: BTreeMap<String, String> = team
        .discover()
        .await
        .unwrap()
        .entities
        .into_iter()
        .filter(|e| e.has_content())
        .map(|e| (e.id, e.namespace_id))
        .collect();
    let namespaces: BTreeSet<&String> = entities.values().collect();
    let rows = db
        .control()
        .dump()
        .await
        .into_iter()
        .filter(|e| namespaces.contains(&e.namespace_id))
        .map(|e| (e.namespace_id, e.path_lower, e.tag, e.rev, e.content_hash))
        .collect();
    TeamDump { entities, rows }
}

/// Asserts that the snapshot holds exactly the dump's rows for each of the dump's
/// entities except `left_out`; returns the number of rows compared.
async fn assert_snapshot_equals_dump(
    vault: &AccountVault,
    snapshot: SnapshotId,
    dump: &TeamDump,
    left_out: &[&str],
) -> usize {
    let manifest = vault.manifest(snapshot).await;
    let mut stored = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for (external, ns) in &dump.entities {
        if left_out.contains(&external.as_str()) {
            continue;
        }
        namespaces.insert(ns.clone());
        for (path, item) in vault.items(&manifest, &manifest_key(external)).await {
            assert!(!item.deleted, "{path} is live");
            let r: serde_json::Value = serde_json::from_str(&item.record).unwrap();
            let tag = r["tag"].as_str().unwrap().to_owned();
            // Mount points belong to the mounted namespace's entity.
            if tag == "folder" && !r["shared_folder_id"].is_null() {
                continue;
            }
            let text = |f: &str| r[f].as_str().map(str::to_owned);
            stored.insert((ns.clone(), path, tag, text("rev"), text("content_hash")));
        }
    }
    let source: BTreeSet<Row> = dump
        .rows
        .iter()
        .filter(|r| namespaces.contains(&r.0))
        .cloned()
        .collect();
    let missing: Vec<_> = source.difference(&stored).take(5).collect();
    let unexpected: Vec<_> = stored.difference(&source).take(5).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing {missing:?}, unexpected {unexpected:?}"
    );
    source.len()
}

async fn entity_status(
    app: &TestApp,
    account: AccountId,
    task: TaskId,
    external: &str,
) -> EntityStatus {
    app.store()
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
        .unwrap()
        .into_iter()
        .find(|e| e.external_id == external)
        .unwrap_or_else(|| panic!("{external} is an entity of the task"))
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropbox_team_is_backed_up_from_the_portal_and_both_snapshots_equal_the_team() {
    let db = dropbox().await;
    let app = app_with(None, Some(&db)).await;
    let (client, user) = app.signed_in_client("grace@example.com").await;
    let account = account_of(&app, &user.email).await;
    let task = connect_dropbox_task(&app, &client, &db).await;
    let task_page = format!("/tasks/{task}");

    // The first Backup now discovers the team; nothing is active yet.
    let discovery = backup_now(&app, &client, account, task).await;
    assert_eq!(
        discovery.status,
        JobStatus::Succeeded,
        "{:?}",
        discovery.error
    );
    assert_eq!(discovery.snapshot_id, None);
    let discovered = listed_entities(&app, &client, task, "status=not_active").await;
    assert!(
        discovered.len() >= 4,
        "members and a team folder: {discovered:?}"
    );
    activate(&app, &client, task, &discovered).await;

    // Auto-activation on, in the settings form.
    let r = app
        .post_form(
            &client,
            &task_page,
            &format!("{task_page}/settings"),
            &[
                ("name", "Team"),
                ("api_limit_percent", "75"),
                ("index_for_search", "on"),
                ("frequency", "daily"),
                ("hour_utc", "1"),
                ("auto_activate", "on"),
                ("retain_auto_archived_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let settings = app
        .store()
        .account(account)
        .tasks()
        .get(task)
        .await
        .unwrap()
        .settings;
    assert!(settings.auto_activate);

    let full = backup_now(&app, &client, account, task).await;
    assert_eq!(full.status, JobStatus::Succeeded, "{:?}", full.error);
    let full_snapshot = full.snapshot_id.expect("the full backup wrote a snapshot");
    let vault = AccountVault::open(&app, account).await;
    let team = team_client(&app, &vault, account, task).await;
    let before = team_dump(&team, &db).await;
    let succeeded = listed_entities(&app, &client, task, "status=success").await;
    assert_eq!(succeeded.len(), discovered.len(), "every entity is Success");
    let html = page(&app, &client, &task_page).await;
    assert!(!html.contains(">Never<"), "the last backup is shown");

    // The team changes: every kind of file change (made by the admin, so the member
    // removed below keeps the files it had), a newcomer, a leaver, a new team folder.
    let control = db.control();
    let members = control.members();
    let admin = members.iter().find(|m| m.admin).unwrap();
    for (seed, kind) in ["modify", "add", "delete", "rename"]
        .into_iter()
        .enumerate()
    {
        let report = control
            .mutate(&MutateRequest {
                percent: 20.0,
                member: Some(admin.team_member_id.clone()),
                namespace_id: None,
                seed: Some(seed as u64 + 1),
                kinds: vec![kind.to_owned()],
            })
            .unwrap();
        let changed = report.modified + report.added + report.deleted + report.renamed;
        assert!(changed > 0, "{kind}: {report:?}");
    }
    let newcomer = control
        .add_member(AddMemberRequest {
            email: "newcomer@example.com".into(),
            given_name: "New".into(),
            surname: "Comer".into(),
            admin: false,
            status: None,
            password: None,
        })
        .unwrap();
    let leaver = members
        .iter()
        .find(|m| !m.admin && m.status == MemberStatus::Active)
        .unwrap();
    control
        .set_member_status(&leaver.team_member_id, MemberStatus::Removed)
        .unwrap();
    let folder = control.add_team_folder("Brand New Folder").unwrap();

    let incremental = backup_now(&app, &client, account, task).await;
    assert_eq!(
        incremental.status,
        JobStatus::Succeeded,
        "{:?}",
        incremental.error
    );
    let incremental_snapshot = incremental.snapshot_id.expect("a second snapshot");
    let after = team_dump(&team, &db).await;

    let rows = assert_snapshot_equals_dump(&vault, full_snapshot, &before, &[]).await;
    assert!(rows > 10, "{rows} rows compared");
    // The removed member is no longer backed up: its part of the second snapshot is the
    // first one's, compared below; everything else equals the team now.
    assert_snapshot_equals_dump(
        &vault,
        incremental_snapshot,
        &after,
        &[leaver.team_member_id.as_str()],
    )
    .await;
    let first = vault.manifest(full_snapshot).await;
    let second = vault.manifest(incremental_snapshot).await;
    let kept = manifest_key(&leaver.team_member_id);
    assert_eq!(
        second.entities[&kept].segments,
        first.entities[&kept].segments
    );
    assert!(
        !second.entities[&kept].segments.is_empty(),
        "the leaver had files"
    );

    // Newcomers were activated and backed up by the second run; the leaver is Archived.
    assert!(after.entities.contains_key(&newcomer.team_member_id));
    assert_eq!(
        entity_status(&app, account, task, &newcomer.team_member_id).await,
        EntityStatus::Success
    );
    assert!(
        second
            .entities
            .contains_key(&manifest_key(&newcomer.team_member_id))
    );
    let folder_entity = after
        .entities
        .iter()
        .find(|(_, ns)| **ns == folder)
        .map(|(id, _)| id.clone())
        .expect("the new team folder is an entity of the team");
    assert_eq!(
        entity_status(&app, account, task, &folder_entity).await,
        EntityStatus::Success
    );
    assert!(second.entities.contains_key(&manifest_key(&folder_entity)));
    assert_eq!(
        entity_status(&app, account, task, &leaver.team_member_id).await,
        EntityStatus::Archived
    );
    let archived = listed_entities(&app, &client, task, "status=archived").await;
    assert_eq!(
        archived.len(),
        1,
        "the task page lists the leaver as Archived"
    );
    app.shutdown().await;
}
