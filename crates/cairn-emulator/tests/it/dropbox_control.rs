//! The control API and the emulator's lifecycle: determinism, the state dump, content
//! reads, member and team-folder changes, persistence across restarts, TLS, split hosts.

use cairn_emulator::dropbox::model::MemberStatus;
use cairn_emulator::dropbox::{AddMemberRequest, DropboxOptions, Listeners, MutateRequest, start};
use serde_json::{Value, json};

use crate::dropbox_support::{As, Emu, dropbox_hash, emulator, small};

#[tokio::test]
async fn the_same_seed_gives_the_same_team_and_bytes() {
    let a = emulator(small()).await;
    let b = emulator(small()).await;
    let dump_a = a.dropbox.control().dump_jsonl().await;
    assert_eq!(dump_a, b.dropbox.control().dump_jsonl().await);
    assert_eq!(
        a.dropbox.credentials().team_token,
        b.dropbox.credentials().team_token
    );

    let entries = a.dropbox.control().dump().await;
    let files: Vec<_> = entries.iter().filter(|e| e.tag == "file").collect();
    assert!(files.len() > 100);
    // Deterministic order: namespace id, then path.
    let keys: Vec<(u64, &str)> = entries
        .iter()
        .map(|e| (e.namespace_id.parse().unwrap(), e.path_lower.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);

    for file in files.iter().step_by(17).take(6) {
        let rev = file.rev.as_deref().unwrap();
        let size = file.size.unwrap();
        let bytes_a = a
            .dropbox
            .control()
            .read_content(rev, 0, size)
            .await
            .unwrap();
        let bytes_b = b
            .dropbox
            .control()
            .read_content(rev, 0, size)
            .await
            .unwrap();
        assert_eq!(bytes_a, bytes_b);
        assert_eq!(
            dropbox_hash(&bytes_a),
            file.content_hash.as_deref().unwrap()
        );
        let over_http = a
            .http
            .get(a.control_url("content"))
            .query(&[("rev", rev)])
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(over_http.to_vec(), bytes_a);
    }

    let other = emulator(DropboxOptions { seed: 4, ..small() }).await;
    assert_ne!(dump_a, other.dropbox.control().dump_jsonl().await);
    let http_dump = a.http.get(a.control_url("dump")).send().await.unwrap();
    assert_eq!(http_dump.headers()["content-type"], "application/x-ndjson");
    assert_eq!(http_dump.text().await.unwrap(), dump_a);
}

#[tokio::test]
async fn members_and_team_folders_can_be_added_and_removed() {
    let emu = emulator(small()).await;
    let control = emu.dropbox.control();
    let new = control
        .add_member(AddMemberRequest {
            email: "new.person@example.com".into(),
            given_name: "New".into(),
            surname: "Person".into(),
            admin: false,
            status: None,
            password: None,
        })
        .unwrap();
    let who = As::User(new.team_member_id.clone());
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    assert!(
        top.iter()
            .all(|e| e["sharing_info"]["shared_folder_id"].is_string()),
        "only team folders"
    );
    assert!(!top.is_empty());
    let duplicate = emu
        .http
        .post(emu.control_url("members"))
        .json(&json!({"email": "NEW.person@example.com", "given_name": "A", "surname": "B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 400);
    assert_eq!(
        duplicate.json::<Value>().await.unwrap()["code"],
        "control.invalid"
    );

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
    let folder = control.add_team_folder("Board Room").unwrap();
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    assert!(top.iter().any(|e| e["path_display"] == "/Board Room"));
    let reset = emu
        .rpc(
            "files/list_folder/continue",
            &who,
            &json!({"cursor": cursor}),
        )
        .send()
        .await;
    assert_eq!(
        reset.error_tags(),
        "reset",
        "a new mount invalidates cursors that include mounts"
    );

    control.set_team_folder_archived(&folder, true).unwrap();
    let (top, _) = emu.list_all(&who, json!({"path": ""})).await;
    assert!(!top.iter().any(|e| e["path_display"] == "/Board Room"));
    control.delete_team_folder(&folder).unwrap();
    assert!(control.delete_team_folder(&folder).is_err());

    let removal = emu
        .http
        .post(emu.control_url("members/status"))
        .json(&json!({"team_member_id": new.team_member_id, "status": "removed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(removal.status(), 200);
    let refused = emu
        .rpc("files/list_folder", &who, &json!({"path": ""}))
        .send()
        .await;
    assert_eq!(refused.error_tags(), "invalid_select_user");
    assert!(
        control
            .set_member_status("dbmid:none", MemberStatus::Active)
            .is_err()
    );
}

#[tokio::test]
async fn mutations_are_validated_and_reported() {
    let emu = emulator(small()).await;
    let bad = |body: Value| {
        let emu = &emu;
        async move {
            let r = emu
                .http
                .post(emu.control_url("mutate"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(bad(json!({"percent": 150})).await.0, 400);
    assert_eq!(
        bad(json!({"percent": 5, "kinds": ["explode"]})).await.0,
        400
    );
    assert_eq!(
        bad(json!({"percent": 5, "member": "dbmid:ghost"})).await.0,
        404
    );
    assert_eq!(bad(json!({"percent": 5, "surprise": true})).await.0, 400);
    let (status, report) = bad(json!({"percent": 10, "seed": 1, "kinds": ["modify"]})).await;
    assert_eq!(status, 200);
    let info = emu.dropbox.control().info();
    assert_eq!(
        report["modified"].as_u64().unwrap(),
        report["changes"].as_array().unwrap().len() as u64
    );
    assert!(report["modified"].as_u64().unwrap() >= info.files / 20);
    let unknown = emu
        .http
        .get(emu.control_url("nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

async fn start_in(dir: &std::path::Path) -> Emu {
    emulator(DropboxOptions {
        data_dir: Some(dir.to_owned()),
        ..small()
    })
    .await
}

#[tokio::test]
async fn a_persisted_emulator_keeps_changes_uploads_and_cursors_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_in(dir.path()).await;
    let member = emu.member();
    let who = As::User(member.team_member_id.clone());
    let uploaded = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/kept.bin"}),
            vec![42; 3000],
        )
        .send()
        .await
        .ok();
    emu.dropbox
        .control()
        .mutate(&MutateRequest {
            percent: 20.0,
            member: None,
            namespace_id: None,
            seed: Some(3),
            kinds: vec![],
        })
        .unwrap();
    let cursor = emu
        .rpc(
            "files/list_folder/get_latest_cursor",
            &who,
            &json!({"path": "", "recursive": true}),
        )
        .send()
        .await
        .ok()["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let dump = emu.dropbox.control().dump_jsonl().await;
    emu.dropbox.shutdown().await;

    let emu = start_in(dir.path()).await;
    assert_eq!(
        emu.dropbox.control().dump_jsonl().await,
        dump,
        "replay rebuilds the same state"
    );
    let back = emu
        .download(&who, &json!({"path": "/kept.bin"}))
        .send()
        .await;
    assert_eq!(back.body, vec![42; 3000]);
    let quiet = emu
        .rpc(
            "files/list_folder/continue",
            &who,
            &json!({"cursor": cursor}),
        )
        .send()
        .await
        .ok();
    assert_eq!(
        quiet["entries"].as_array().unwrap().len(),
        0,
        "nothing changed since the cursor"
    );
    emu.upload(
        "files/upload",
        &who,
        &json!({"path": "/after.txt"}),
        b"later".to_vec(),
    )
    .send()
    .await
    .ok();
    let (changes, _) = emu.continue_all(&who, &cursor).await;
    let paths: Vec<&str> = changes
        .iter()
        .map(|e| e["path_lower"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/after.txt"]);
    assert_eq!(uploaded["size"], 3000);
    emu.dropbox.shutdown().await;

    let other = start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DropboxOptions {
            data_dir: Some(dir.path().to_owned()),
            seed: 99,
            ..small()
        },
    )
    .await;
    assert!(other.is_err(), "a data dir holding another team is refused");
}

#[tokio::test]
async fn reset_restores_the_generated_team() {
    let emu = emulator(small()).await;
    let before = emu.dropbox.control().dump_jsonl().await;
    let who = As::User(emu.member().team_member_id);
    emu.upload(
        "files/upload",
        &who,
        &json!({"path": "/temp.txt"}),
        b"t".to_vec(),
    )
    .send()
    .await
    .ok();
    assert_ne!(emu.dropbox.control().dump_jsonl().await, before);
    let reset = emu
        .http
        .post(emu.control_url("reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(emu.dropbox.control().dump_jsonl().await, before);
    assert_eq!(emu.dropbox.control().info().epoch, 1);
}

#[tokio::test]
async fn tls_is_trusted_only_with_the_printed_ca() {
    let emu = emulator(DropboxOptions {
        tls: true,
        ..small()
    })
    .await;
    assert!(emu.dropbox.api_url().starts_with("https://localhost:"));
    let pem = emu.dropbox.ca_pem().unwrap();
    assert_eq!(
        std::fs::read_to_string(emu.dropbox.ca_path().unwrap()).unwrap(),
        pem
    );
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let ok = trusting
        .post(format!("{}/2/team/get_info", emu.dropbox.api_url()))
        .bearer_auth(emu.token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let plain = reqwest::Client::new();
    assert!(
        plain
            .post(format!("{}/2/team/get_info", emu.dropbox.api_url()))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_persisted_tls_emulator_stays_trusted_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || DropboxOptions {
        tls: true,
        data_dir: Some(dir.path().to_owned()),
        ..small()
    };
    let first = emulator(opts()).await;
    let pem = first.dropbox.ca_pem().unwrap().to_owned();
    first.dropbox.shutdown().await;
    let second = emulator(opts()).await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let info = client
        .post(format!("{}/2/team/get_info", second.dropbox.api_url()))
        .bearer_auth(second.token())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
}

#[tokio::test]
async fn split_listeners_serve_each_route_on_its_own_host() {
    let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let dropbox = start(
        Listeners::Split {
            api: bind().await.unwrap(),
            content: bind().await.unwrap(),
            notify: bind().await.unwrap(),
        },
        small(),
    )
    .await
    .unwrap();
    assert_ne!(dropbox.api_url(), dropbox.content_url());
    let http = reqwest::Client::new();
    let token = dropbox.credentials().team_token.clone();
    let on_api = http
        .post(format!("{}/2/files/download", dropbox.api_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(on_api.status(), 400);
    assert!(
        on_api
            .text()
            .await
            .unwrap()
            .contains("Unknown API function")
    );
    let info_on_content = http
        .post(format!("{}/2/team/get_info", dropbox.content_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(info_on_content.status(), 400);
    let info = http
        .post(format!("{}/2/team/get_info", dropbox.api_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    dropbox.shutdown().await;
}
