//! Incremental listings: after control-API mutations each entity reports exactly the
//! changes made to its namespace; new members appear at rediscovery; `reset` is a distinct
//! error after which a fresh listing converges; long-poll and latest-cursor work.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_dropbox::{Access, Change, DropboxError, Entity, EntityKind, EntityStatus, ErrorKind};
use cairn_emulator::dropbox::model::MemberStatus as EmuStatus;
use cairn_emulator::dropbox::{AddMemberRequest, MutateRequest};
use futures::StreamExt;

use crate::support::{Mirror, console_client, dump_rows, emulator, mirror_rows, small, sync};

fn kind(change: &Change) -> &'static str {
    match change {
        Change::File(_) => "file",
        Change::Folder(_) => "folder",
        Change::Deleted { .. } => "deleted",
    }
}

#[tokio::test]
async fn incremental_listings_report_exactly_the_mutations() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let entities = client.discover().await.unwrap().entities;
    let mut synced: Vec<(Entity, Mirror, String)> = Vec::new();
    for entity in entities {
        let mut mirror = Mirror::new();
        let (cursor, _) = sync(&client, &entity, None, &mut mirror).await;
        synced.push((entity, mirror, cursor));
    }

    let report = control
        .mutate(&MutateRequest {
            percent: 25.0,
            member: None,
            namespace_id: None,
            seed: Some(11),
            kinds: vec![],
        })
        .unwrap();
    assert!(report.modified > 0 && report.added > 0 && report.deleted > 0 && report.renamed > 0);
    // What each namespace must report: the last state of every touched path.
    let mut expected: BTreeMap<(String, String), &str> = BTreeMap::new();
    for c in &report.changes {
        let key = |p: &str| (c.namespace_id.clone(), p.to_lowercase());
        match c.kind.as_str() {
            "delete" => {
                expected.insert(key(&c.path), "deleted");
            }
            "rename" => {
                expected.insert(key(&c.path), "deleted");
                expected.insert(key(c.new_path.as_ref().unwrap()), "file");
            }
            _ => {
                expected.insert(key(&c.path), "file");
            }
        }
    }
    let newcomer = control
        .add_member(AddMemberRequest {
            email: "new.hire@example.com".into(),
            given_name: "New".into(),
            surname: "Hire".into(),
            admin: false,
            status: None,
            password: None,
        })
        .unwrap();

    let mut observed: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (entity, mirror, cursor) in &mut synced {
        let (next, seen) = sync(&client, entity, Some(cursor), mirror).await;
        *cursor = next;
        for change in &seen {
            let key = (entity.namespace_id.clone(), change.path_lower().to_owned());
            assert!(
                observed.insert(key, kind(change)).is_none(),
                "{} reported twice",
                change.path_lower()
            );
        }
    }
    assert_eq!(observed, expected);

    // A second pass with the new cursors has nothing to report.
    for (entity, mirror, cursor) in &mut synced {
        let (_, seen) = sync(&client, entity, Some(cursor), mirror).await;
        assert!(seen.is_empty(), "{}: {seen:?}", entity.id);
    }

    // The new member shows up at the next discovery and is backed up in full.
    let rediscovered = client.discover().await.unwrap().entities;
    let new_entity = rediscovered
        .iter()
        .find(|e| e.id == newcomer.team_member_id)
        .expect("the new member is an entity")
        .clone();
    assert_eq!(new_entity.status, EntityStatus::Active);
    assert_eq!(new_entity.namespace_id, newcomer.home_namespace_id);
    let mut mirror = Mirror::new();
    sync(&client, &new_entity, None, &mut mirror).await;
    assert!(
        mirror
            .values()
            .all(|c| matches!(c, Change::Folder(f) if f.shared_folder_id.is_some())),
        "a new home holds only the mounted team folders"
    );
    synced.push((new_entity, mirror, String::new()));

    let mut listed = mirror_rows(synced.iter().map(|(e, m, _)| (e, m)));
    listed.sort();
    let dump: Vec<_> = dump_rows(&env.dropbox).await.into_iter().collect();
    assert_eq!(listed, dump);
}

#[tokio::test]
async fn a_reset_cursor_is_reported_and_a_fresh_listing_converges() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let entities = client.discover().await.unwrap().entities;
    let folder = entities
        .iter()
        .find(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Active)
        .unwrap();
    let mut mirror = Mirror::new();
    let (cursor, _) = sync(&client, folder, None, &mut mirror).await;

    control
        .mutate(&MutateRequest {
            percent: 30.0,
            member: None,
            namespace_id: Some(folder.namespace_id.clone()),
            seed: Some(3),
            kinds: vec!["delete".into(), "rename".into()],
        })
        .unwrap();
    control.force_reset(Some(&folder.namespace_id)).unwrap();

    let mut stream = Box::pin(client.list_changes(folder, Some(&cursor)));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, DropboxError::CursorReset), "{err}");
    assert_eq!(err.kind(), ErrorKind::CursorReset);
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );

    // Re-list from scratch; reconciling = replacing the mirror with the fresh listing.
    let mut fresh = Mirror::new();
    let (cursor, _) = sync(&client, folder, None, &mut fresh).await;
    let gone = mirror.keys().filter(|k| !fresh.contains_key(*k)).count();
    assert!(gone > 0, "the reconcile finds what was deleted while reset");
    let rows: Vec<_> = mirror_rows([(folder, &fresh)]);
    let dump: Vec<_> = dump_rows(&env.dropbox)
        .await
        .into_iter()
        .filter(|r| r.0 == folder.namespace_id)
        .collect();
    assert_eq!(rows, dump);

    // The new cursor works incrementally.
    control
        .mutate(&MutateRequest {
            percent: 5.0,
            member: None,
            namespace_id: Some(folder.namespace_id.clone()),
            seed: Some(4),
            kinds: vec!["modify".into()],
        })
        .unwrap();
    let (_, seen) = sync(&client, folder, Some(&cursor), &mut fresh).await;
    assert!(!seen.is_empty() && seen.iter().all(|c| matches!(c, Change::File(_))));
}

#[tokio::test]
async fn latest_cursor_and_long_poll_see_only_new_changes() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let entities = client.discover().await.unwrap().entities;
    let member = entities
        .iter()
        .find(|e| matches!(e.access, Access::Member { .. }) && e.has_content())
        .unwrap();
    let cursor = client.latest_cursor(member).await.unwrap();
    let report = control
        .mutate(&MutateRequest {
            percent: 10.0,
            member: None,
            namespace_id: Some(member.namespace_id.clone()),
            seed: Some(5),
            kinds: vec!["modify".into()],
        })
        .unwrap();
    let poll = client
        .wait_for_changes(&cursor, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(poll.changes);
    let mut mirror = Mirror::new();
    let (_, seen) = sync(&client, member, Some(&cursor), &mut mirror).await;
    assert_eq!(seen.len(), report.modified);

    control.force_reset(Some(&member.namespace_id)).unwrap();
    let err = client
        .wait_for_changes(&cursor, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, DropboxError::CursorReset), "{err}");
}

#[tokio::test]
async fn suspended_and_removed_members_are_reported_not_retried() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let d = client.discover().await.unwrap();
    let creds = env.dropbox.credentials();
    let mut active = d.entities.iter().filter(|e| {
        matches!(&e.access, Access::Member { team_member_id } if *team_member_id != creds.admin_team_member_id)
            && e.has_content()
    });
    let (to_suspend, to_remove) = (
        active.next().unwrap().clone(),
        active.next().unwrap().clone(),
    );
    let mut mirror = Mirror::new();
    let (cursor, _) = sync(&client, &to_suspend, None, &mut mirror).await;

    control
        .set_member_status(&to_suspend.id, EmuStatus::Suspended)
        .unwrap();
    control
        .set_member_status(&to_remove.id, EmuStatus::Removed)
        .unwrap();
    for (entity, reason) in [
        (
            &to_suspend,
            cairn_dropbox::MemberUnavailableReason::Suspended,
        ),
        (
            &to_remove,
            cairn_dropbox::MemberUnavailableReason::NotOnTeam,
        ),
    ] {
        let err = Box::pin(client.list_changes(entity, None))
            .next()
            .await
            .unwrap()
            .unwrap_err();
        match err {
            DropboxError::MemberUnavailable {
                team_member_id,
                reason: r,
            } => {
                assert_eq!(team_member_id, entity.id);
                assert_eq!(r, reason);
            }
            other => panic!("expected MemberUnavailable, got {other}"),
        }
    }
    let calls = control.counters().routes["files/list_folder"].statuses[&401];
    assert_eq!(calls, 2, "no retries of a per-member refusal");

    // Rediscovered, the suspended member is read through the admin, from the same cursor.
    let again = client.discover().await.unwrap().entities;
    let suspended = again.iter().find(|e| e.id == to_suspend.id).unwrap();
    assert_eq!(suspended.status, EntityStatus::Suspended);
    assert_eq!(suspended.access, Access::Admin);
    let (_, seen) = sync(&client, suspended, Some(&cursor), &mut mirror).await;
    assert!(seen.is_empty());
    let removed = again.iter().find(|e| e.id == to_remove.id).unwrap();
    assert_eq!(removed.status, EntityStatus::Removed);
    assert!(!removed.has_content());
}
