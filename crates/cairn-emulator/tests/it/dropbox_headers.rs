//! Authentication and impersonation: bearer tokens, Select-User / Select-Admin, Path-Root,
//! and the status codes and bodies of each failure.

use cairn_emulator::dropbox::model::MemberStatus;
use serde_json::json;

use crate::dropbox_support::{As, emulator, small};

#[tokio::test]
async fn bad_tokens_get_400_text_or_401_json() {
    let emu = emulator(small()).await;
    let url = format!("{}/2/team/get_info", emu.dropbox.api_url());
    let none = emu.http.post(&url).send().await.unwrap();
    assert_eq!(none.status(), 400);
    assert!(none.text().await.unwrap().contains("Authorization"));

    let malformed = emu
        .http
        .post(&url)
        .header("Authorization", "Bearer not a token!")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert!(malformed.text().await.unwrap().contains("malformed"));

    let unknown = emu
        .http
        .post(&url)
        .bearer_auth("abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    assert_eq!(unknown.headers()["content-type"], "application/json");
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"][".tag"], "invalid_access_token");
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("invalid_access_token/")
    );
}

#[tokio::test]
async fn user_routes_need_exactly_one_select_header_and_team_routes_none() {
    let emu = emulator(small()).await;
    let list = json!({"path": ""});
    let bare = emu.rpc("files/list_folder", &As::Team, &list).send().await;
    assert_eq!(bare.status, 400);
    assert!(bare.text().contains("Dropbox-API-Select-User"));
    assert!(bare.content_type().starts_with("text/plain"));

    let member = emu.member().team_member_id;
    let both = emu
        .rpc("files/list_folder", &As::User(member.clone()), &list)
        .header("Dropbox-API-Select-Admin", &emu.admin())
        .send()
        .await;
    assert_eq!(both.status, 400);

    let team_with_user = emu
        .rpc("team/get_info", &As::User(member), &json!(null))
        .send()
        .await;
    assert_eq!(team_with_user.status, 400);
}

#[tokio::test]
async fn select_user_and_select_admin_check_the_member() {
    let emu = emulator(small()).await;
    let list = json!({"path": ""});
    let unknown = emu
        .rpc("files/list_folder", &As::User("dbmid:nobody".into()), &list)
        .send()
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.error_tags(), "invalid_select_user");

    let member = emu.member().team_member_id;
    emu.dropbox
        .control()
        .set_member_status(&member, MemberStatus::Suspended)
        .unwrap();
    let suspended = emu
        .rpc("files/list_folder", &As::User(member.clone()), &list)
        .send()
        .await;
    assert_eq!(suspended.status, 401);
    assert_eq!(suspended.error_tags(), "user_suspended");

    // A suspended member's data stays reachable through Select-Admin + Path-Root.
    let home = emu
        .members()
        .into_iter()
        .find(|m| m.team_member_id == member)
        .unwrap()
        .home_namespace_id;
    let via_admin = emu
        .rpc("files/list_folder", &As::Admin(emu.admin()), &list)
        .root(&home)
        .send()
        .await;
    assert_eq!(via_admin.status, 200, "{}", via_admin.text());

    let not_admin = emu
        .rpc("files/list_folder", &As::Admin(member), &list)
        .send()
        .await;
    assert_eq!(not_admin.status, 401);
    assert_eq!(not_admin.error_tags(), "invalid_select_admin");
}

#[tokio::test]
async fn path_root_errors_are_422_and_malformed_roots_400() {
    let emu = emulator(small()).await;
    let list = json!({"path": ""});
    let members = emu.members();
    let member = emu.member();
    let other_home = members
        .iter()
        .find(|m| m.team_member_id != member.team_member_id)
        .unwrap()
        .home_namespace_id
        .clone();
    let who = As::User(member.team_member_id.clone());

    let denied = emu
        .rpc("files/list_folder", &who, &list)
        .root(&other_home)
        .send()
        .await;
    assert_eq!(denied.status, 422);
    assert_eq!(denied.content_type(), "application/json");
    assert_eq!(denied.error_tags(), "no_permission");

    let wrong_root = emu
        .rpc("files/list_folder", &who, &list)
        .header(
            "Dropbox-API-Path-Root",
            r#"{".tag": "root", "root": "12345"}"#,
        )
        .send()
        .await;
    assert_eq!(wrong_root.status, 422);
    let body = wrong_root.json();
    assert_eq!(body["error"][".tag"], "invalid_root");
    assert_eq!(
        body["error"]["invalid_root"]["root_namespace_id"],
        member.home_namespace_id
    );

    let right_root = emu
        .rpc("files/list_folder", &who, &list)
        .header(
            "Dropbox-API-Path-Root",
            &json!({".tag": "root", "root": member.home_namespace_id}).to_string(),
        )
        .send()
        .await;
    assert_eq!(right_root.status, 200);

    let garbage = emu
        .rpc("files/list_folder", &who, &list)
        .header("Dropbox-API-Path-Root", "{not json")
        .send()
        .await;
    assert_eq!(garbage.status, 400);
}

#[tokio::test]
async fn select_admin_reads_the_whole_team_but_writes_only_as_itself() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let admin = As::Admin(emu.admin());
    let read = emu
        .rpc("files/list_folder", &admin, &json!({"path": ""}))
        .root(&member.home_namespace_id)
        .send()
        .await;
    assert_eq!(read.status, 200);

    let write = emu
        .upload(
            "files/upload",
            &admin,
            &json!({"path": "/admin.txt"}),
            b"x".to_vec(),
        )
        .root(&member.home_namespace_id)
        .send()
        .await;
    assert_eq!(write.status, 422);
    assert_eq!(write.error_tags(), "no_permission");

    let own = emu
        .upload(
            "files/upload",
            &admin,
            &json!({"path": "/admin.txt"}),
            b"x".to_vec(),
        )
        .send()
        .await;
    assert_eq!(own.status, 200, "{}", own.text());
}

#[tokio::test]
async fn inline_ns_paths_respect_the_same_permissions() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let who = As::User(member.team_member_id.clone());
    let own = emu
        .rpc(
            "files/list_folder",
            &who,
            &json!({"path": format!("ns:{}", member.home_namespace_id)}),
        )
        .send()
        .await;
    assert_eq!(own.status, 200);
    let other = emu
        .members()
        .into_iter()
        .find(|m| m.team_member_id != member.team_member_id)
        .unwrap();
    let foreign = emu
        .rpc(
            "files/list_folder",
            &who,
            &json!({"path": format!("ns:{}", other.home_namespace_id)}),
        )
        .send()
        .await;
    assert_eq!(foreign.status, 409);
    assert_eq!(foreign.error_tags(), "path/not_found");
}
