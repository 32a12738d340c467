//! Discovery and full listings: every member and namespace becomes exactly one entity,
//! team and shared folders mounted in several members are listed once, and the union of
//! all full listings equals the emulator's state dump.

use std::collections::{BTreeMap, HashSet};

use cairn_dropbox::{Access, Change, EntityKind, EntityStatus};
use cairn_emulator::dropbox::model::MemberStatus as EmuStatus;

use crate::support::{Mirror, console_client, dump_rows, emulator, mirror_rows, small, sync};

#[tokio::test]
async fn discovery_yields_each_member_and_namespace_once() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let d = client.discover().await.unwrap();
    let control = env.dropbox.control();
    let creds = env.dropbox.credentials();

    assert_eq!(d.team.team_id, creds.team_id);
    assert_eq!(d.admin.team_member_id, creds.admin_team_member_id);
    assert_eq!(d.entities.len(), control.info().namespaces);
    let ids: HashSet<&str> = d.entities.iter().map(|e| e.id.as_str()).collect();
    let namespaces: HashSet<&str> = d.entities.iter().map(|e| e.namespace_id.as_str()).collect();
    assert_eq!(ids.len(), d.entities.len());
    assert_eq!(namespaces.len(), d.entities.len());

    let members = control.members();
    assert_eq!(d.members.len(), members.len());
    for m in &members {
        let e = d
            .entities
            .iter()
            .find(|e| e.id == m.team_member_id)
            .unwrap();
        assert_eq!(e.kind, EntityKind::Member);
        assert_eq!(e.namespace_id, m.home_namespace_id);
        assert_eq!(e.email.as_deref(), Some(m.email.as_str()));
        let (status, access) = match m.status {
            EmuStatus::Active => (
                EntityStatus::Active,
                Access::Member {
                    team_member_id: m.team_member_id.clone(),
                },
            ),
            EmuStatus::Invited => (EntityStatus::Invited, Access::Admin),
            EmuStatus::Suspended => (EntityStatus::Suspended, Access::Admin),
            EmuStatus::Removed => (EntityStatus::Removed, Access::Admin),
        };
        assert_eq!((e.status, &e.access), (status, &access), "{}", m.email);
    }
    let folders = d
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::TeamFolder)
        .count();
    assert_eq!(folders, 4);
    assert!(
        d.entities
            .iter()
            .any(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Archived)
    );
    assert!(
        d.entities
            .iter()
            .any(|e| e.kind == EntityKind::SharedFolder)
    );
}

#[tokio::test]
async fn full_listings_cover_the_dump_exactly_once() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let d = client.discover().await.unwrap();
    let mut mirrors: Vec<Mirror> = Vec::new();
    for entity in &d.entities {
        let mut mirror = Mirror::new();
        sync(&client, entity, None, &mut mirror).await;
        mirrors.push(mirror);
    }
    let mut listed = mirror_rows(d.entities.iter().zip(mirrors.iter()));
    listed.sort();
    let dump: Vec<_> = dump_rows(&env.dropbox).await.into_iter().collect();
    assert!(dump.len() > 150, "files and folders: {}", dump.len());
    assert_eq!(
        listed.len(),
        dump.len(),
        "nothing listed twice, nothing missed"
    );
    assert_eq!(listed, dump);

    // Active team folders are mounted in every member's home, yet their content is only
    // listed through the team folder entity.
    let mut mounts: BTreeMap<String, usize> = BTreeMap::new();
    for (entity, mirror) in d.entities.iter().zip(&mirrors) {
        for change in mirror.values() {
            if let Change::Folder(f) = change
                && let Some(shared) = &f.shared_folder_id
            {
                assert_eq!(entity.kind, EntityKind::Member);
                *mounts.entry(shared.clone()).or_default() += 1;
            }
        }
    }
    let active_folder = d
        .entities
        .iter()
        .find(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Active)
        .unwrap();
    assert!(mounts[&active_folder.namespace_id] >= 2, "{mounts:?}");
    let dump = env.dropbox.control().dump().await;
    let inside = dump
        .iter()
        .filter(|r| r.namespace_id == active_folder.namespace_id)
        .count();
    assert!(inside > 0);

    // Files carry what a backup needs.
    let file = mirrors
        .iter()
        .flat_map(|m| m.values())
        .find_map(|c| match c {
            Change::File(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    let row = dump.iter().find(|r| r.id == file.id).unwrap();
    assert_eq!(Some(file.size), row.size);
    assert_eq!(file.path_display, row.path_display);
    assert_eq!(
        file.server_modified
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        row.server_modified.clone().unwrap()
    );
}
