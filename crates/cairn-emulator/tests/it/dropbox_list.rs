//! `list_folder` and cursors: paging, mounts, exactly-the-changes semantics under mutation,
//! resets, `get_latest_cursor` and `longpoll`.

use std::collections::{BTreeSet, HashSet};

use cairn_emulator::dropbox::{DropboxOptions, MutateRequest};
use serde_json::{Value, json};

use crate::dropbox_support::{As, emulator, small};

fn paths(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["path_lower"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn recursive_listing_pages_lists_each_entry_once_parents_first() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let who = As::User(member.team_member_id.clone());
    let (entries, _) = emu
        .list_all(&who, json!({"path": "", "recursive": true, "limit": 7}))
        .await;
    let all = paths(&entries);
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        all.len(),
        "no duplicates"
    );
    let mut seen = HashSet::new();
    for p in &all {
        let parent = p.rsplit_once('/').map_or("", |(a, _)| a);
        assert!(
            parent.is_empty() || seen.contains(parent),
            "{p} before its parent"
        );
        seen.insert(p.as_str());
    }
    // Team folders are mounted at the top with sharing_info.shared_folder_id …
    let mounts: Vec<&Value> = entries
        .iter()
        .filter(|e| e["sharing_info"]["shared_folder_id"].is_string())
        .collect();
    assert!(mounts.len() >= 3, "active team folders are mounted");
    // … and their content carries parent_shared_folder_id.
    let inside = entries
        .iter()
        .find(|e| e[".tag"] == "file" && e["sharing_info"]["parent_shared_folder_id"].is_string())
        .expect("a file inside a team folder");
    assert!(
        inside["sharing_info"]["modified_by"]
            .as_str()
            .unwrap()
            .starts_with("dbid:")
    );

    let (without, _) = emu
        .list_all(
            &who,
            json!({"path": "", "recursive": true, "include_mounted_folders": false}),
        )
        .await;
    let mount_paths: Vec<String> = mounts
        .iter()
        .map(|m| format!("{}/", m["path_lower"].as_str().unwrap()))
        .collect();
    assert!(without.iter().all(|e| {
        let p = e["path_lower"].as_str().unwrap();
        !mount_paths.iter().any(|m| p.starts_with(m.as_str()))
    }));
    assert!(without.len() < entries.len());
    for m in &mounts {
        assert!(
            paths(&without).contains(&m["path_lower"].as_str().unwrap().to_owned()),
            "mount points stay listed"
        );
    }
}

#[tokio::test]
async fn non_recursive_listing_returns_direct_children_only() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    assert!(!top.is_empty());
    assert!(paths(&top).iter().all(|p| p.matches('/').count() == 1));
    let folder = top
        .iter()
        .find(|e| e[".tag"] == "folder" && e["sharing_info"].is_null())
        .expect("a home folder");
    let (inner, _) = emu
        .list_all(&who, json!({"path": folder["path_display"]}))
        .await;
    let prefix = format!("{}/", folder["path_lower"].as_str().unwrap());
    assert!(
        paths(&inner)
            .iter()
            .all(|p| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
    );
}

#[tokio::test]
async fn continue_reports_exactly_the_changes_made_after_the_cursor() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let who = As::User(member.team_member_id.clone());
    let arg = json!({"path": "", "recursive": true, "include_mounted_folders": false, "limit": 5});
    let (before, cursor) = emu.list_all(&who, arg).await;
    let before_set: BTreeSet<String> = paths(&before).into_iter().collect();

    let report = emu
        .dropbox
        .control()
        .mutate(&MutateRequest {
            percent: 40.0,
            member: Some(member.team_member_id.clone()),
            namespace_id: Some(member.home_namespace_id.clone()),
            seed: Some(9),
            kinds: vec![],
        })
        .unwrap();
    assert!(report.changes.len() >= 3, "{report:?}");
    let (changes, next) = emu.continue_all(&who, &cursor).await;

    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for c in &report.changes {
        let lower = c.path.to_lowercase();
        match c.kind.as_str() {
            "delete" => expected.insert(("deleted".into(), lower)),
            "rename" => {
                expected.insert(("deleted".into(), lower));
                expected.insert(("file".into(), c.new_path.clone().unwrap().to_lowercase()))
            }
            _ => expected.insert(("file".into(), lower)),
        };
    }
    let got: BTreeSet<(String, String)> = changes
        .iter()
        .map(|e| {
            (
                e[".tag"].as_str().unwrap().to_owned(),
                e["path_lower"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for e in changes.iter().filter(|e| e[".tag"] == "file") {
        if before_set.contains(e["path_lower"].as_str().unwrap()) {
            assert_eq!(e["content_hash"].as_str().unwrap().len(), 64);
        }
    }
    // Caught up: nothing more, and the same cursor stays quiet.
    let (again, _) = emu.continue_all(&who, &next).await;
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn changes_page_and_deleted_entries_can_be_listed() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let latest = emu
        .rpc(
            "files/list_folder/get_latest_cursor",
            &who,
            &json!({"path": "", "recursive": true, "limit": 1}),
        )
        .send()
        .await
        .ok();
    for i in 0..3 {
        emu.upload(
            "files/upload",
            &who,
            &json!({"path": format!("/fresh/{i}.txt")}),
            vec![b'x'; i + 1],
        )
        .send()
        .await
        .ok();
    }
    let first = emu
        .rpc(
            "files/list_folder/continue",
            &who,
            &json!({"cursor": latest["cursor"]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(first["entries"].as_array().unwrap().len(), 1);
    assert_eq!(first["has_more"], true);
    let (rest, _) = emu
        .continue_all(&who, first["cursor"].as_str().unwrap())
        .await;
    let mut all = paths(first["entries"].as_array().unwrap());
    all.extend(paths(&rest));
    assert_eq!(
        all,
        ["/fresh", "/fresh/0.txt", "/fresh/1.txt", "/fresh/2.txt"]
    );

    emu.rpc("files/delete_v2", &who, &json!({"path": "/fresh/1.txt"}))
        .send()
        .await
        .ok();
    let (live, _) = emu.list_all(&who, json!({"path": "/fresh"})).await;
    assert_eq!(live.len(), 2);
    let (with_deleted, _) = emu
        .list_all(&who, json!({"path": "/fresh", "include_deleted": true}))
        .await;
    let deleted: Vec<_> = with_deleted
        .iter()
        .filter(|e| e[".tag"] == "deleted")
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["path_display"], "/fresh/1.txt");
    assert!(deleted[0].get("id").is_none());
}

#[tokio::test]
async fn cursors_reset_when_forced_or_after_a_team_reset() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let who = As::User(member.team_member_id.clone());
    let cursor = || {
        let who = who.clone();
        let emu = &emu;
        async move {
            emu.rpc(
                "files/list_folder/get_latest_cursor",
                &who,
                &json!({"path": ""}),
            )
            .send()
            .await
            .ok()["cursor"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let c1 = cursor().await;
    emu.dropbox
        .control()
        .force_reset(Some(&member.home_namespace_id))
        .unwrap();
    let reset = emu
        .rpc("files/list_folder/continue", &who, &json!({"cursor": c1}))
        .send()
        .await;
    assert_eq!(reset.status, 409);
    assert_eq!(reset.error_tags(), "reset");
    assert_eq!(reset.json()["error_summary"], "reset/..");

    let c2 = cursor().await;
    emu.dropbox.control().reset().await.unwrap();
    let after = emu
        .rpc("files/list_folder/continue", &who, &json!({"cursor": c2}))
        .send()
        .await;
    assert_eq!(after.error_tags(), "reset");

    let garbage = emu
        .rpc(
            "files/list_folder/continue",
            &who,
            &json!({"cursor": "AAgarbage"}),
        )
        .send()
        .await;
    assert_eq!(garbage.status, 400);
}

#[tokio::test]
async fn listing_errors_use_the_lookup_error_union() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let slash = emu
        .rpc("files/list_folder", &who, &json!({"path": "/"}))
        .send()
        .await;
    assert_eq!(slash.status, 409);
    assert_eq!(slash.error_tags(), "path/malformed_path");
    let missing = emu
        .rpc("files/list_folder", &who, &json!({"path": "/nope"}))
        .send()
        .await;
    assert_eq!(missing.error_tags(), "path/not_found");
    emu.upload(
        "files/upload",
        &who,
        &json!({"path": "/a.txt"}),
        b"a".to_vec(),
    )
    .send()
    .await
    .ok();
    let file = emu
        .rpc("files/list_folder", &who, &json!({"path": "/a.txt"}))
        .send()
        .await;
    assert_eq!(file.error_tags(), "path/not_folder");
    let limit = emu
        .rpc("files/list_folder", &who, &json!({"path": "", "limit": 0}))
        .send()
        .await;
    assert_eq!(limit.status, 400);
    let not_json = emu
        .http
        .post(format!("{}/2/files/list_folder", emu.dropbox.api_url()))
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .header("Content-Type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_type = emu
        .http
        .post(format!("{}/2/files/list_folder", emu.dropbox.api_url()))
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .header("Content-Type", "text/html")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
}

#[tokio::test]
async fn longpoll_needs_no_token_and_reports_changes() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let cursor = emu
        .rpc(
            "files/list_folder/get_latest_cursor",
            &who,
            &json!({"path": "", "recursive": true}),
        )
        .send()
        .await
        .ok()["cursor"]
        .clone();
    let poll = |timeout: u64| {
        let emu = &emu;
        let cursor = cursor.clone();
        async move {
            emu.http
                .post(format!(
                    "{}/2/files/list_folder/longpoll",
                    emu.dropbox.notify_url()
                ))
                .header("Content-Type", "application/json")
                .body(json!({"cursor": cursor, "timeout": timeout}).to_string())
                .send()
                .await
                .unwrap()
        }
    };
    // Nothing changed: the (test-capped) wait ends with changes=false.
    let quiet: Value = poll(30).await.json().await.unwrap();
    assert_eq!(quiet["changes"], false);
    let bad = poll(5).await;
    assert_eq!(bad.status(), 400);

    // A change while waiting wakes the poll (no cap here: only the change can end it).
    let emu = emulator(DropboxOptions {
        max_longpoll_wait: None,
        ..small()
    })
    .await;
    let who = As::User(emu.member().team_member_id);
    let cursor = emu
        .rpc(
            "files/list_folder/get_latest_cursor",
            &who,
            &json!({"path": "", "recursive": true}),
        )
        .send()
        .await
        .ok()["cursor"]
        .clone();
    let waiting = tokio::spawn({
        let http = emu.http.clone();
        let url = format!("{}/2/files/list_folder/longpoll", emu.dropbox.notify_url());
        let body = json!({"cursor": cursor, "timeout": 480}).to_string();
        async move {
            http.post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    emu.upload(
        "files/upload",
        &who,
        &json!({"path": "/poke.txt"}),
        b"!".to_vec(),
    )
    .send()
    .await
    .ok();
    let woke = waiting.await.unwrap();
    assert_eq!(woke["changes"], true);
}
