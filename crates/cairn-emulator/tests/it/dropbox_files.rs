//! get_metadata, create_folder_v2, delete_v2, copy_v2, move_v2, list_revisions, restore.

use serde_json::{Value, json};

use crate::dropbox_support::{As, Emu, emulator, small};

async fn put(emu: &Emu, who: &As, path: &str, body: &[u8]) -> Value {
    emu.upload(
        "files/upload",
        who,
        &json!({"path": path, "mode": "overwrite"}),
        body.to_vec(),
    )
    .send()
    .await
    .ok()
}

async fn download(emu: &Emu, who: &As, path: &str) -> Vec<u8> {
    let reply = emu.download(who, &json!({"path": path})).send().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.body
}

#[tokio::test]
async fn metadata_of_files_folders_mounts_and_deleted_paths() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let file = put(&emu, &who, "/Docs/Plan.txt", b"plan").await;
    let meta = emu
        .rpc(
            "files/get_metadata",
            &who,
            &json!({"path": "/docs/plan.TXT"}),
        )
        .send()
        .await
        .ok();
    assert_eq!(meta[".tag"], "file");
    assert_eq!(
        meta["path_display"], "/Docs/Plan.txt",
        "display casing is the stored one"
    );
    assert_eq!(meta["id"], file["id"]);
    let by_id = emu
        .rpc("files/get_metadata", &who, &json!({"path": file["id"]}))
        .send()
        .await
        .ok();
    assert_eq!(by_id["path_lower"], "/docs/plan.txt");
    let folder = emu
        .rpc("files/get_metadata", &who, &json!({"path": "/Docs"}))
        .send()
        .await
        .ok();
    assert_eq!(folder[".tag"], "folder");

    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    let mount = top
        .iter()
        .find(|e| e["sharing_info"]["shared_folder_id"].is_string())
        .unwrap();
    let mount_meta = emu
        .rpc(
            "files/get_metadata",
            &who,
            &json!({"path": mount["path_display"]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(
        mount_meta["shared_folder_id"],
        mount["sharing_info"]["shared_folder_id"]
    );

    emu.rpc("files/delete_v2", &who, &json!({"path": "/Docs/Plan.txt"}))
        .send()
        .await
        .ok();
    let gone = emu
        .rpc(
            "files/get_metadata",
            &who,
            &json!({"path": "/Docs/Plan.txt"}),
        )
        .send()
        .await;
    assert_eq!(gone.status, 409);
    assert_eq!(gone.error_tags(), "path/not_found");
    let deleted = emu
        .rpc(
            "files/get_metadata",
            &who,
            &json!({"path": "/Docs/Plan.txt", "include_deleted": true}),
        )
        .send()
        .await
        .ok();
    assert_eq!(deleted[".tag"], "deleted");
    let root = emu
        .rpc("files/get_metadata", &who, &json!({"path": ""}))
        .send()
        .await;
    assert_eq!(root.status, 400);
}

#[tokio::test]
async fn folders_are_created_renamed_and_conflict() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let made = emu
        .rpc(
            "files/create_folder_v2",
            &who,
            &json!({"path": "/New Folder/Sub"}),
        )
        .send()
        .await
        .ok();
    assert_eq!(made["metadata"]["name"], "Sub");
    assert!(
        made["metadata"].get(".tag").is_none(),
        "FolderMetadata is untagged here"
    );
    let again = emu
        .rpc(
            "files/create_folder_v2",
            &who,
            &json!({"path": "/new folder/sub"}),
        )
        .send()
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.error_tags(), "path/conflict/folder");
    let renamed = emu
        .rpc(
            "files/create_folder_v2",
            &who,
            &json!({"path": "/New Folder/Sub", "autorename": true}),
        )
        .send()
        .await
        .ok();
    assert_eq!(renamed["metadata"]["path_display"], "/New Folder/Sub (2)");
    put(&emu, &who, "/f.txt", b"f").await;
    let under_file = emu
        .rpc(
            "files/create_folder_v2",
            &who,
            &json!({"path": "/f.txt/inner"}),
        )
        .send()
        .await;
    assert_eq!(under_file.error_tags(), "path/conflict/file_ancestor");
}

#[tokio::test]
async fn delete_returns_the_previous_metadata_and_protects_team_folders() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let stored = put(&emu, &who, "/trash/me.bin", &[7; 100]).await;
    let deleted = emu
        .rpc("files/delete_v2", &who, &json!({"path": "/trash"}))
        .send()
        .await
        .ok();
    assert_eq!(deleted["metadata"][".tag"], "folder");
    let missing = emu
        .rpc("files/delete_v2", &who, &json!({"path": "/trash/me.bin"}))
        .send()
        .await;
    assert_eq!(missing.error_tags(), "path_lookup/not_found");
    let stale = put(&emu, &who, "/x.txt", b"1").await;
    put(&emu, &who, "/x.txt", b"2").await;
    let guarded = emu
        .rpc(
            "files/delete_v2",
            &who,
            &json!({"path": "/x.txt", "parent_rev": stale["rev"]}),
        )
        .send()
        .await;
    assert_eq!(guarded.error_tags(), "path_write/conflict/file");
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    let team_folder = top
        .iter()
        .find(|e| e["sharing_info"]["shared_folder_id"].is_string())
        .unwrap();
    let refused = emu
        .rpc(
            "files/delete_v2",
            &who,
            &json!({"path": team_folder["path_display"]}),
        )
        .send()
        .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused.error_tags().starts_with("path_write/"),
        "{}",
        refused.text()
    );
    assert_ne!(stored["id"], Value::Null);
}

#[tokio::test]
async fn copy_makes_new_ids_and_move_keeps_them() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let original = put(&emu, &who, "/src/a.txt", b"alpha").await;
    let copied = emu
        .rpc(
            "files/copy_v2",
            &who,
            &json!({"from_path": "/src", "to_path": "/copy"}),
        )
        .send()
        .await
        .ok();
    assert_eq!(copied["metadata"][".tag"], "folder");
    let copy = emu
        .rpc("files/get_metadata", &who, &json!({"path": "/copy/a.txt"}))
        .send()
        .await
        .ok();
    assert_ne!(copy["id"], original["id"]);
    assert_eq!(copy["content_hash"], original["content_hash"]);

    let moved = emu
        .rpc(
            "files/move_v2",
            &who,
            &json!({"from_path": "/src/a.txt", "to_path": "/moved/A.txt"}),
        )
        .send()
        .await
        .ok();
    assert_eq!(moved["metadata"]["id"], original["id"]);
    assert_eq!(moved["metadata"]["path_display"], "/moved/A.txt");
    assert_eq!(download(&emu, &who, "/moved/A.txt").await, b"alpha");

    let into_self = emu
        .rpc(
            "files/move_v2",
            &who,
            &json!({"from_path": "/copy", "to_path": "/copy/inside"}),
        )
        .send()
        .await;
    assert_eq!(into_self.error_tags(), "cant_move_folder_into_itself");
    let onto = emu
        .rpc(
            "files/copy_v2",
            &who,
            &json!({"from_path": "/copy/a.txt", "to_path": "/moved/a.txt"}),
        )
        .send()
        .await;
    assert_eq!(onto.error_tags(), "to/conflict/file");
    let auto = emu
        .rpc(
            "files/copy_v2",
            &who,
            &json!({"from_path": "/copy/a.txt", "to_path": "/moved/a.txt", "autorename": true}),
        )
        .send()
        .await
        .ok();
    assert_eq!(auto["metadata"]["name"], "a (2).txt");
    let nothing = emu
        .rpc(
            "files/move_v2",
            &who,
            &json!({"from_path": "/none", "to_path": "/x"}),
        )
        .send()
        .await;
    assert_eq!(nothing.error_tags(), "from_lookup/not_found");

    // Across namespaces: from the home into a mounted team folder.
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    let team_folder = top
        .iter()
        .find(|e| e["sharing_info"]["shared_folder_id"].is_string())
        .unwrap()["path_display"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = format!("{team_folder}/from-home.txt");
    let across = emu
        .rpc(
            "files/move_v2",
            &who,
            &json!({"from_path": "/moved/A.txt", "to_path": target}),
        )
        .send()
        .await
        .ok();
    assert_eq!(across["metadata"]["id"], original["id"]);
    assert!(across["metadata"]["sharing_info"]["parent_shared_folder_id"].is_string());
}

#[tokio::test]
async fn revisions_are_listed_newest_first_and_restored() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let v1 = put(&emu, &who, "/r.txt", b"one").await;
    let v2 = put(&emu, &who, "/r.txt", b"two").await;
    let v3 = put(&emu, &who, "/r.txt", b"three").await;
    let listed = emu
        .rpc(
            "files/list_revisions",
            &who,
            &json!({"path": "/r.txt", "limit": 2}),
        )
        .send()
        .await
        .ok();
    assert_eq!(listed["is_deleted"], false);
    assert_eq!(listed["has_more"], true);
    let revs: Vec<&Value> = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["rev"])
        .collect();
    assert_eq!(revs, [&v3["rev"], &v2["rev"]]);
    let older = emu
        .rpc(
            "files/list_revisions",
            &who,
            &json!({"path": "/r.txt", "before_rev": v2["rev"]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(older["entries"][0]["rev"], v1["rev"]);

    let restored = emu
        .rpc(
            "files/restore",
            &who,
            &json!({"path": "/r.txt", "rev": v1["rev"]}),
        )
        .send()
        .await
        .ok();
    assert_ne!(restored["rev"], v1["rev"], "a restore is a new revision");
    assert_eq!(restored["content_hash"], v1["content_hash"]);
    assert_eq!(download(&emu, &who, "/r.txt").await, b"one");

    emu.rpc("files/delete_v2", &who, &json!({"path": "/r.txt"}))
        .send()
        .await
        .ok();
    let history = emu
        .rpc("files/list_revisions", &who, &json!({"path": "/r.txt"}))
        .send()
        .await
        .ok();
    assert_eq!(history["is_deleted"], true);
    assert!(history["server_deleted"].is_string());
    assert_eq!(history["entries"].as_array().unwrap().len(), 4);
    emu.rpc(
        "files/restore",
        &who,
        &json!({"path": "/r.txt", "rev": v2["rev"]}),
    )
    .send()
    .await
    .ok();
    assert_eq!(download(&emu, &who, "/r.txt").await, b"two");

    let unknown = emu
        .rpc(
            "files/restore",
            &who,
            &json!({"path": "/r.txt", "rev": "0123456789abcdef"}),
        )
        .send()
        .await;
    assert_eq!(unknown.error_tags(), "invalid_revision");
    let malformed = emu
        .rpc(
            "files/restore",
            &who,
            &json!({"path": "/r.txt", "rev": "xyz"}),
        )
        .send()
        .await;
    assert_eq!(malformed.status, 400);
}

#[tokio::test]
async fn generated_history_can_be_read_back_by_revision() {
    let emu = emulator(small()).await;
    let dump = emu.dropbox.control().dump().await;
    let with_history = dump
        .iter()
        .find(|e| e.revisions.unwrap_or(0) > 1)
        .expect("a generated file with history");
    let admin = As::Admin(emu.admin());
    let revisions = emu
        .rpc(
            "files/list_revisions",
            &admin,
            &json!({"path": with_history.path_lower}),
        )
        .root(&with_history.namespace_id)
        .send()
        .await
        .ok();
    let entries = revisions["entries"].as_array().unwrap();
    assert_eq!(entries.len(), with_history.revisions.unwrap());
    let oldest = entries.last().unwrap();
    let bytes = emu
        .download(
            &admin,
            &json!({"path": format!("rev:{}", oldest["rev"].as_str().unwrap())}),
        )
        .root(&with_history.namespace_id)
        .send()
        .await;
    assert_eq!(bytes.status, 200);
    assert_eq!(
        crate::dropbox_support::dropbox_hash(&bytes.body),
        oldest["content_hash"].as_str().unwrap()
    );
    assert_ne!(
        oldest["content_hash"].as_str(),
        with_history.content_hash.as_deref()
    );
}
