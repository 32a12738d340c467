//! Team routes: get_info, features, members (paging, removed), team folders, namespaces,
//! authenticated admin, current account.

use std::collections::HashSet;

use serde_json::json;

use crate::dropbox_support::{As, emulator, small};

#[tokio::test]
async fn team_info_and_features_follow_the_team_and_quota() {
    let emu = emulator(small()).await;
    let info = emu
        .rpc("team/get_info", &As::Team, &json!(null))
        .send()
        .await
        .ok();
    assert_eq!(info["team_id"], emu.dropbox.credentials().team_id);
    assert_eq!(info["num_provisioned_users"], 6);
    assert_eq!(
        info["policies"]["sharing"]["shared_folder_member_policy"][".tag"],
        "team"
    );

    let arg = json!({"features": [{".tag": "upload_api_rate_limit"}, "has_team_shared_dropbox", {".tag": "no_such_feature"}]});
    let values = emu
        .rpc("team/features/get_values", &As::Team, &arg)
        .send()
        .await
        .ok();
    assert_eq!(
        values["values"][0]["upload_api_rate_limit"][".tag"],
        "unlimited"
    );
    assert_eq!(
        values["values"][1]["has_team_shared_dropbox"]["has_team_shared_dropbox"],
        false
    );
    assert_eq!(values["values"][2][".tag"], "other");

    emu.dropbox
        .control()
        .set_transport_quota(cairn_emulator::dropbox::TransportQuota {
            limit: Some(25_000),
            used: 0,
        });
    let values = emu
        .rpc("team/features/get_values", &As::Team, &arg)
        .send()
        .await
        .ok();
    assert_eq!(
        values["values"][0]["upload_api_rate_limit"]["limit"],
        25_000
    );

    let empty = emu
        .rpc(
            "team/features/get_values",
            &As::Team,
            &json!({"features": []}),
        )
        .send()
        .await;
    assert_eq!(empty.status, 409);
    assert_eq!(empty.error_tags(), "empty_features_list");
}

#[tokio::test]
async fn members_page_with_cursors_and_hide_removed_members() {
    let emu = emulator(small()).await;
    let first = emu
        .rpc("team/members/list_v2", &As::Team, &json!({"limit": 2}))
        .send()
        .await
        .ok();
    assert_eq!(first["members"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let mut ids: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        for m in page["members"].as_array().unwrap() {
            let p = &m["profile"];
            assert_eq!(p["account_id"].as_str().unwrap().len(), 40);
            assert_eq!(p["member_folder_id"], p["root_folder_id"]);
            ids.push(p["team_member_id"].as_str().unwrap().to_owned());
        }
        if page["has_more"] != true {
            break;
        }
        page = emu
            .rpc(
                "team/members/list/continue_v2",
                &As::Team,
                &json!({"cursor": page["cursor"]}),
            )
            .send()
            .await
            .ok();
    }
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 6);

    let gone = emu.member().team_member_id;
    emu.dropbox
        .control()
        .set_member_status(&gone, cairn_emulator::dropbox::model::MemberStatus::Removed)
        .unwrap();
    let listed = emu
        .rpc("team/members/list_v2", &As::Team, &json!({}))
        .send()
        .await
        .ok();
    assert_eq!(listed["members"].as_array().unwrap().len(), 5);
    let all = emu
        .rpc(
            "team/members/list_v2",
            &As::Team,
            &json!({"include_removed": true}),
        )
        .send()
        .await
        .ok();
    let removed = all["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["profile"]["team_member_id"] == gone.as_str())
        .unwrap();
    assert_eq!(removed["profile"]["status"][".tag"], "removed");
    assert_eq!(removed["profile"]["status"]["is_recoverable"], true);

    let bad = emu
        .rpc(
            "team/members/list/continue_v2",
            &As::Team,
            &json!({"cursor": "nonsense"}),
        )
        .send()
        .await;
    assert_eq!(bad.status, 409);
    assert_eq!(bad.error_tags(), "invalid_cursor");
    let too_big = emu
        .rpc("team/members/list_v2", &As::Team, &json!({"limit": 5000}))
        .send()
        .await;
    assert_eq!(too_big.status, 400);
}

#[tokio::test]
async fn team_folders_and_namespaces_describe_every_namespace() {
    let emu = emulator(small()).await;
    let folders = emu
        .rpc("team/team_folder/list", &As::Team, &json!({"limit": 3}))
        .send()
        .await
        .ok();
    let mut all = folders["team_folders"].as_array().unwrap().clone();
    assert_eq!(folders["has_more"], true);
    let more = emu
        .rpc(
            "team/team_folder/list/continue",
            &As::Team,
            &json!({"cursor": folders["cursor"]}),
        )
        .send()
        .await
        .ok();
    all.extend(more["team_folders"].as_array().unwrap().iter().cloned());
    assert_eq!(all.len(), 4);
    let archived: Vec<_> = all
        .iter()
        .filter(|f| f["status"][".tag"] == "archived")
        .collect();
    assert_eq!(archived.len(), 1);

    let spaces = emu
        .rpc("team/namespaces/list", &As::Team, &json!({}))
        .send()
        .await
        .ok();
    let spaces = spaces["namespaces"].as_array().unwrap();
    let count = |t: &str| {
        spaces
            .iter()
            .filter(|s| s["namespace_type"][".tag"] == t)
            .count()
    };
    assert_eq!(count("team_member_folder"), 6);
    assert_eq!(count("team_folder"), 4);
    assert!(count("shared_folder") >= 1);
    for s in spaces {
        let is_home = s["namespace_type"][".tag"] == "team_member_folder";
        assert_eq!(s.get("team_member_id").is_some(), is_home, "{s}");
    }
}

#[tokio::test]
async fn admin_and_current_account_identify_who_is_acting() {
    let emu = emulator(small()).await;
    let admin = emu
        .rpc(
            "team/token/get_authenticated_admin",
            &As::Team,
            &json!(null),
        )
        .send()
        .await
        .ok();
    assert_eq!(admin["admin_profile"]["team_member_id"], emu.admin());
    assert_eq!(
        admin["admin_profile"]["email"],
        emu.dropbox.credentials().admin_email
    );

    let member = emu.member();
    let account = emu
        .rpc(
            "users/get_current_account",
            &As::User(member.team_member_id.clone()),
            &json!(null),
        )
        .send()
        .await
        .ok();
    assert_eq!(account["team_member_id"], member.team_member_id);
    assert_eq!(account["account_type"][".tag"], "business");
    assert_eq!(account["root_info"][".tag"], "user");
    assert_eq!(
        account["root_info"]["root_namespace_id"],
        member.home_namespace_id
    );
    assert_eq!(account["team"]["id"], emu.dropbox.credentials().team_id);
}

#[tokio::test]
async fn members_can_be_looked_up_by_id_or_email() {
    let emu = emulator(small()).await;
    let member = emu.member();
    let arg = json!({"members": [
        {".tag": "team_member_id", "team_member_id": member.team_member_id},
        {".tag": "email", "email": member.email.to_uppercase()},
        {".tag": "email", "email": "nobody@example.com"},
    ]});
    let info = emu
        .rpc("team/members/get_info_v2", &As::Team, &arg)
        .send()
        .await
        .ok();
    let found = info["members_info"].as_array().unwrap();
    assert_eq!(found[0][".tag"], "member_info");
    assert_eq!(found[0]["profile"]["email"], member.email);
    assert_eq!(found[1]["profile"]["team_member_id"], member.team_member_id);
    assert_eq!(found[2][".tag"], "id_not_found");
    assert_eq!(found[2]["id_not_found"], "nobody@example.com");
}
