//! Dropbox backups against the in-process emulator: full and incremental snapshots equal
//! the emulator's dumps, content is fetched once per distinct `content_hash`, cursor
//! resets converge, tokens refresh mid-run, revoked access disconnects the task.

use std::collections::BTreeSet;

use cairn_backup::RunStatus;
use cairn_backup::dropbox::manifest_key;
use cairn_backup::pit::entity_items;
use cairn_domain::{ConnectionStatus, EntityKind, EntityStatus};
use cairn_emulator::dropbox::model::MemberStatus;
use cairn_emulator::dropbox::{AddMemberRequest, MutateRequest};
use cairn_meta::EntityQuery;
use cairn_vault::segments::SegmentOptions;

use crate::dropbox_support::{DbxWorld, dbx_world, small};

fn far_past() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::UNIX_EPOCH
}

fn far_future() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(1)
}

/// Distinct non-empty contents of the team now.
async fn distinct_contents(w: &DbxWorld) -> usize {
    w.dropbox
        .control()
        .dump()
        .await
        .into_iter()
        .filter(|e| e.tag == "file" && e.size.unwrap_or(0) > 0)
        .filter_map(|e| e.content_hash)
        .collect::<BTreeSet<_>>()
        .len()
}

async fn entities(w: &DbxWorld) -> Vec<cairn_domain::Entity> {
    w.store
        .account(w.task.account_id)
        .entities()
        .list(
            w.task.id,
            &EntityQuery {
                include_limited: true,
                ..EntityQuery::default()
            },
        )
        .await
        .unwrap()
}

/// Checks the bytes of a few files of the snapshot against the emulator's content.
async fn assert_sample_bytes(w: &DbxWorld, manifest: &cairn_vault::SnapshotManifest) -> usize {
    let vault = w.ctx.vaults.vault(w.task.account_id).await.unwrap();
    let segs = vault.segments(SegmentOptions::default()).unwrap();
    let mut checked = 0;
    for em in manifest.entities.values() {
        for item in entity_items(&segs, em).await.unwrap().into_values() {
            let r: serde_json::Value = serde_json::from_str(&item.record).unwrap();
            if r["tag"] != "file" || checked >= 12 {
                continue;
            }
            let size = r["size"].as_u64().unwrap();
            let mut bytes = Vec::new();
            for c in &item.chunks {
                bytes.extend(vault.read_chunk(c).await.unwrap());
            }
            let source = w
                .dropbox
                .control()
                .read_content(r["rev"].as_str().unwrap(), 0, size)
                .await
                .unwrap();
            assert_eq!(bytes.len() as u64, size);
            assert!(bytes == source, "the bytes of {}", r["path_display"]);
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_backups_equal_the_dumps_and_fetch_only_new_content() {
    let w = dbx_world(small()).await;
    let (first, stats) = w.run().await;
    assert_eq!(first.status, RunStatus::Complete, "{:?}", first.message);
    let m1 = w.manifest(&first).await;
    let rows = w.assert_matches_dump(&m1).await;
    assert!(rows > 100, "{rows} rows compared");
    assert!(assert_sample_bytes(&w, &m1).await > 0);

    // Every distinct content was downloaded exactly once; duplicates were not.
    let distinct = distinct_contents(&w).await as u64;
    assert_eq!(stats.files_fetched, distinct);
    assert_eq!(w.downloads(), distinct);
    assert!(stats.files_reused > 0, "the team has duplicate content");

    let list = entities(&w).await;
    assert!(list.iter().any(|e| e.kind == EntityKind::DropboxMember));
    assert!(list.iter().any(|e| e.kind == EntityKind::DropboxTeamFolder));
    assert!(list.iter().all(|e| e.status == EntityStatus::Success));
    let snapshots = w
        .store
        .account(w.task.account_id)
        .snapshots()
        .list(w.task.id, far_past(), far_future(), 10)
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].totals.added, snapshots[0].totals.items);

    // Mutations: modify, add, delete, rename; a new member, a removed member, a new
    // team folder.
    let control = w.dropbox.control();
    let report = control
        .mutate(&MutateRequest {
            percent: 15.0,
            member: None,
            namespace_id: None,
            seed: Some(4),
            kinds: Vec::new(),
        })
        .unwrap();
    assert!(report.modified > 0 && report.added > 0 && report.deleted > 0);
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
    let leaver = control
        .members()
        .into_iter()
        .find(|m| !m.admin && m.status == MemberStatus::Active)
        .unwrap();
    control
        .set_member_status(&leaver.team_member_id, MemberStatus::Removed)
        .unwrap();
    control.add_team_folder("Brand New Folder").unwrap();
    control.reset_counters();

    let (second, stats) = w.run().await;
    assert_eq!(second.status, RunStatus::Complete, "{:?}", second.message);
    let m2 = w.manifest(&second).await;
    w.assert_matches_dump(&m2).await;
    let changed = (report.modified + report.added) as u64;
    assert!(
        stats.files_fetched <= changed,
        "fetched {} for {changed} changed files",
        stats.files_fetched
    );
    assert_eq!(w.downloads(), stats.files_fetched);

    let list = entities(&w).await;
    let by_id = |id: &str| list.iter().find(|e| e.external_id == id).unwrap();
    assert_eq!(
        by_id(&newcomer.team_member_id).status,
        EntityStatus::Success
    );
    assert_eq!(by_id(&leaver.team_member_id).status, EntityStatus::Archived);
    // Each run that activated new entities recorded an auto-discovery event.
    let events = w
        .store
        .account(w.task.account_id)
        .events()
        .list(&cairn_meta::EventQuery {
            limit: 100,
            ..cairn_meta::EventQuery::default()
        })
        .await
        .unwrap()
        .events;
    let discovered: Vec<_> = events
        .iter()
        .filter(|e| e.kind.code() == cairn_backup::dropbox::discover::AUTO_DISCOVERY_EVENT)
        .collect();
    assert_eq!(discovered.len(), 2);
    assert!(discovered.iter().any(|e| {
        e.details["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "Brand New Folder")
    }));
    assert!(list.iter().any(|e| e.name == "Brand New Folder"));
    // The removed member's backup is kept in the new snapshot.
    let kept = &m2.entities[&manifest_key(&leaver.team_member_id)];
    assert_eq!(
        kept.segments,
        m1.entities[&manifest_key(&leaver.team_member_id)].segments
    );
    let snapshots = w
        .store
        .account(w.task.account_id)
        .snapshots()
        .list(w.task.id, far_past(), far_future(), 10)
        .await
        .unwrap();
    let latest = snapshots
        .iter()
        .find(|s| Some(s.id) == second.snapshot)
        .unwrap();
    assert!(latest.totals.updated > 0 && latest.totals.deleted > 0 && latest.totals.added > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_reset_relists_and_converges_without_fetching_known_content() {
    let w = dbx_world(small()).await;
    let (first, _) = w.run().await;
    assert_eq!(first.status, RunStatus::Complete);
    let report = w
        .dropbox
        .control()
        .mutate(&MutateRequest {
            percent: 10.0,
            member: None,
            namespace_id: None,
            seed: Some(9),
            kinds: vec!["delete".into(), "rename".into()],
        })
        .unwrap();
    assert!(report.deleted + report.renamed > 0);
    w.dropbox.control().force_reset(None).unwrap();
    let (second, stats) = w.run().await;
    assert_eq!(second.status, RunStatus::Complete, "{:?}", second.message);
    w.assert_matches_dump(&w.manifest(&second).await).await;
    // Renames and deletions bring no new content.
    assert_eq!(stats.files_fetched, 0);
    // And the next run is a quiet incremental one.
    let (third, stats) = w.run().await;
    assert_eq!(third.status, RunStatus::Complete);
    assert_eq!(stats.files_fetched, 0);
    w.assert_matches_dump(&w.manifest(&third).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refreshed_and_persisted_and_revoked_ones_disconnect() {
    let w = dbx_world(small()).await;
    let scope = w.store.account(w.task.account_id);
    let before = scope.tasks().token(w.task.id).await.unwrap().unwrap();
    w.dropbox.control().expire_tokens();
    let (out, _) = w.run().await;
    assert_eq!(out.status, RunStatus::Complete, "{:?}", out.message);
    w.assert_matches_dump(&w.manifest(&out).await).await;
    // The refreshed token reached the store (the sink writes beside the run).
    let mut after = before.clone();
    for _ in 0..10_000 {
        after = scope.tasks().token(w.task.id).await.unwrap().unwrap();
        if after != before {
            break;
        }
        tokio::task::yield_now().await;
    }
    let opened: cairn_dropbox::TokenSet = w.ctx.tokens.open_json(w.task.id, &after).unwrap();
    assert_ne!(opened.access_token, w.tokens.access_token);
    assert_eq!(opened.refresh_token, w.tokens.refresh_token);

    w.dropbox.control().revoke_tokens(None);
    let (out, _) = w.run().await;
    assert_eq!(out.status, RunStatus::Disconnected, "{:?}", out.message);
    assert!(out.snapshot.is_none());
    let task = scope.tasks().get(w.task.id).await.unwrap();
    assert_eq!(task.connection, ConnectionStatus::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_that_does_not_match_its_hash_fails_the_entity_not_the_snapshot() {
    let data = tempfile::tempdir().unwrap();
    let mut opts = small();
    opts.data_dir = Some(data.path().to_owned());
    let w = dbx_world(opts).await;
    // A member uploads a file; then its stored bytes rot at the source.
    let client = w.engine.client(w.tokens.clone());
    let member = client
        .discover()
        .await
        .unwrap()
        .entities
        .into_iter()
        .find(|e| {
            e.kind == cairn_dropbox::EntityKind::Member
                && e.status == cairn_dropbox::EntityStatus::Active
        })
        .unwrap();
    let original = bytes::Bytes::from(vec![7u8; 5000]);
    client
        .upload(
            &member,
            &cairn_dropbox::Commit::new("/rotten.bin"),
            original.clone(),
        )
        .await
        .unwrap();
    let blobs: Vec<_> = std::fs::read_dir(data.path().join("dropbox").join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::metadata(p).unwrap().len() == 5000)
        .collect();
    assert_eq!(blobs.len(), 1);
    std::fs::write(&blobs[0], vec![8u8; 5000]).unwrap();

    let (out, _) = w.run().await;
    assert_eq!(out.status, RunStatus::Partial, "{:?}", out.message);
    let message = out.message.clone().unwrap();
    assert!(message.contains("content_hash"), "{message}");
    let failed: Vec<_> = out
        .entities
        .iter()
        .filter(|e| e.status == EntityStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    // The snapshot says Partial and holds nothing of the failed member.
    let manifest = w.manifest(&out).await;
    assert_eq!(manifest.labels["outcome"], "partial");
    assert!(!manifest.entities.contains_key(&manifest_key(&member.id)));
    let stored = entities(&w).await;
    let row = stored.iter().find(|e| e.external_id == member.id).unwrap();
    assert_eq!(row.status, EntityStatus::Failed);
    assert!(
        row.cursor.is_none(),
        "the failed member's cursor did not move"
    );

    // Once the source is sound again, the next run converges.
    std::fs::write(&blobs[0], &original).unwrap();
    let (out, _) = w.run().await;
    assert_eq!(out.status, RunStatus::Complete, "{:?}", out.message);
    w.assert_matches_dump(&w.manifest(&out).await).await;
}
