//! Restore writes against the emulator: folders, single uploads with their conflict
//! modes, upload sessions in aligned chunks, restoring a revision, the data-transport
//! quota, write contention; and against a local server, resuming an upload session whose
//! answer was lost.

use std::convert::Infallible;

use bytes::Bytes;
use cairn_dropbox::{
    Access, Change, Commit, ContentHash, DropboxApp, Entity, EntityKind, EntityStatus, ErrorKind,
    NamespaceType, Secret, TeamClient, TokenSet, WriteMode,
};
use cairn_emulator::dropbox::{Faults, MutateRequest, TransportQuota};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use url::Url;

use crate::fake_server::{Reply, serve};
use crate::support::{Env, Mirror, config_for, console_tokens, emulator, small, sync};

fn data(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ salt).collect()
}

/// A client uploading in 4 MiB chunks, and an active team folder to write into.
async fn writer(env: &Env) -> (TeamClient, Entity) {
    let mut config = config_for(&env.dropbox);
    config.upload_chunk_size = 4 << 20;
    let app = DropboxApp::new(config).unwrap();
    let client = app.team(console_tokens(&env.dropbox)).build();
    let entity = client
        .discover()
        .await
        .unwrap()
        .entities
        .into_iter()
        .find(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Active)
        .unwrap();
    (client, entity)
}

async fn fetch(client: &TeamClient, entity: &Entity, file: &cairn_dropbox::FileEntry) -> Vec<u8> {
    let chunks: Vec<Bytes> = client.download(entity, file).try_collect().await.unwrap();
    chunks.concat()
}

fn pieces(
    bytes: &[u8],
    size: usize,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + use<> {
    let owned: Vec<Result<Bytes, Infallible>> = bytes
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(owned)
}

#[tokio::test]
async fn folders_and_single_uploads_honour_their_modes() {
    let env = emulator(small()).await;
    let (client, entity) = writer(&env).await;
    let folder = client
        .create_folder(&entity, "/Restored/2024")
        .await
        .unwrap();
    assert_eq!(folder.path_lower, "/restored/2024");
    let again = client
        .create_folder(&entity, "/Restored/2024")
        .await
        .unwrap_err();
    assert!(again.is_conflict(), "{again}");

    let body = data(300_000, 1);
    let mut commit = Commit::new("/Restored/2024/Report é.pdf");
    let when = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    commit.client_modified = Some(when);
    let file = client
        .upload(&entity, &commit, Bytes::from(body.clone()))
        .await
        .unwrap();
    assert_eq!(file.path_display, "/Restored/2024/Report é.pdf");
    assert_eq!(file.content_hash, Some(ContentHash::of(&body)));
    assert_eq!(file.client_modified, when);
    assert_eq!(fetch(&client, &entity, &file).await, body);

    // add + identical content: nothing written, same revision.
    let same = client
        .upload(&entity, &commit, Bytes::from(body.clone()))
        .await
        .unwrap();
    assert_eq!(same.rev, file.rev);
    // add + other content: conflict (no silent rename).
    let other = Bytes::from(data(1000, 2));
    let err = client
        .upload(&entity, &commit, other.clone())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    // update against a stale revision conflicts too; against the current one it writes.
    commit.mode = WriteMode::Update(file.rev.clone());
    let newer = client
        .upload(&entity, &commit, other.clone())
        .await
        .unwrap();
    assert_ne!(newer.rev, file.rev);
    let err = client
        .upload(&entity, &commit, Bytes::from(data(10, 3)))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    // overwrite always writes; autorename writes beside.
    commit.mode = WriteMode::Overwrite;
    let over = client
        .upload(&entity, &commit, Bytes::from(data(10, 4)))
        .await
        .unwrap();
    assert_eq!(over.path_lower, file.path_lower);
    let mut copy = Commit::new("/Restored/2024/Report é.pdf");
    copy.autorename = true;
    let beside = client
        .upload(&entity, &copy, Bytes::from(data(10, 5)))
        .await
        .unwrap();
    assert_ne!(beside.path_lower, file.path_lower);

    let mut mirror = Mirror::new();
    sync(&client, &entity, None, &mut mirror).await;
    assert!(matches!(mirror.get(&over.path_lower), Some(Change::File(f)) if f.rev == over.rev));
    assert!(mirror.contains_key(&beside.path_lower));
}

#[tokio::test]
async fn large_files_go_through_an_upload_session() {
    let env = emulator(small()).await;
    let (client, entity) = writer(&env).await;
    let control = env.dropbox.control();
    for (len, calls) in [
        ((10 << 20) + 5, [1, 1, 1, 0]),
        (8 << 20, [1, 1, 1, 0]),
        (3 << 20, [0, 0, 0, 1]),
        (0, [0, 0, 0, 1]),
    ] {
        control.reset_counters();
        let body = data(len, 7);
        let commit = Commit::new(format!("/Big/file-{len}.bin"));
        let file = client
            .upload_stream(&entity, &commit, pieces(&body, 100_003))
            .await
            .unwrap();
        assert_eq!(file.size, len as u64);
        assert_eq!(file.content_hash, Some(ContentHash::of(&body)));
        assert!(fetch(&client, &entity, &file).await == body);
        let routes = control.counters().routes;
        let count = |r: &str| routes.get(r).map_or(0, |c| c.calls);
        assert_eq!(
            [
                count("files/upload_session/start"),
                count("files/upload_session/append_v2"),
                count("files/upload_session/finish"),
                count("files/upload"),
            ],
            calls,
            "{len} bytes"
        );
    }
}

#[tokio::test]
async fn a_revision_dropbox_still_has_is_restored_without_upload() {
    let env = emulator(small()).await;
    let (client, entity) = writer(&env).await;
    let control = env.dropbox.control();
    let mut mirror = Mirror::new();
    sync(&client, &entity, None, &mut mirror).await;
    let before: Vec<_> = mirror
        .values()
        .filter_map(|c| match c {
            Change::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    control
        .mutate(&MutateRequest {
            percent: 100.0,
            member: None,
            namespace_id: Some(entity.namespace_id.clone()),
            seed: Some(2),
            kinds: vec!["modify".into()],
        })
        .unwrap();
    let old = &before[0];
    control.reset_counters();
    let restored = client
        .restore_revision(&entity, &old.path_display, &old.rev)
        .await
        .unwrap();
    assert_eq!(restored.content_hash, old.content_hash);
    assert_eq!(
        control.current_rev(&entity.namespace_id, &old.path_lower),
        Some(restored.rev.clone())
    );
    assert_eq!(control.transport_quota().used, 0, "no data transport used");
    let err = client
        .restore_revision(&entity, &old.path_display, "fffffffffffff")
        .await
        .unwrap_err();
    assert!(err.api_failure().is_some_and(|f| f.status == 409), "{err}");
}

#[tokio::test]
async fn the_transport_quota_and_write_contention() {
    let env = emulator(small()).await;
    let (client, entity) = writer(&env).await;
    let control = env.dropbox.control();
    control
        .set_faults(Faults {
            rate_429_write: 0.5,
            retry_after: 0,
            routes: vec!["files/upload".into()],
            ..Faults::default()
        })
        .unwrap();
    for i in 0..6 {
        let commit = Commit::new(format!("/Contended/{i}.txt"));
        client
            .upload(&entity, &commit, Bytes::from(data(100, i)))
            .await
            .unwrap();
    }
    assert!(client.stats().rate_limited > 0);

    control.set_faults(Faults::default()).unwrap();
    control.set_transport_quota(TransportQuota {
        limit: Some(0),
        used: 0,
    });
    let err = client
        .upload(&entity, &Commit::new("/over.txt"), Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");
    let failure = err.api_failure().expect("an access error");
    assert_eq!(failure.status, 403);
    assert!(
        failure
            .user_message
            .as_ref()
            .unwrap()
            .contains("data transport")
    );
}

#[tokio::test]
async fn a_lost_append_answer_continues_at_the_correct_offset() {
    let env = emulator(small()).await;
    let body = data((10 << 20) + 1, 9);
    let whole = ContentHash::of(&body);
    let json = |v: String| Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: v.into_bytes(),
    };
    let server = serve(move |seen, index| async move {
        match seen.path.as_str() {
            "/2/files/upload_session/start" => json(r#"{"session_id": "pid_upload_session:s"}"#.into()),
            // The append is stored but its answer is lost (a 503); the retry then hears
            // that the session is already at 8 MiB.
            "/2/files/upload_session/append_v2" if index == 1 => Reply::Full {
                status: 503,
                headers: vec![],
                body: b"upstream timeout".to_vec(),
            },
            "/2/files/upload_session/append_v2" => Reply::Full {
                status: 409,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: br#"{"error_summary": "incorrect_offset/..", "error": {".tag": "incorrect_offset", "correct_offset": 8388608}}"#.to_vec(),
            },
            "/2/files/upload_session/finish" => json(format!(
                r#"{{"name": "a.bin", "id": "id:1", "client_modified": "2024-01-01T00:00:00Z",
                    "server_modified": "2024-01-01T00:00:00Z", "rev": "0123456789", "size": {},
                    "path_lower": "/a.bin", "path_display": "/a.bin", "content_hash": "{}"}}"#,
                (10 << 20) + 1,
                whole.to_hex(),
            )),
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let mut config = config_for(&env.dropbox);
    config.content_url = Url::parse(&server.url).unwrap();
    config.upload_chunk_size = 4 << 20;
    let client = DropboxApp::new(config)
        .unwrap()
        .team(TokenSet {
            access_token: Secret::new("t"),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            account_id: None,
            scopes: vec![],
        })
        .build();
    let entity = Entity {
        id: "dbmid:w".into(),
        kind: EntityKind::Member,
        display_name: "W".into(),
        email: None,
        status: EntityStatus::Active,
        namespace_id: "5".into(),
        namespace_type: NamespaceType::TeamMemberFolder,
        access: Access::Member {
            team_member_id: "dbmid:w".into(),
        },
    };
    let file = client
        .upload_stream(&entity, &Commit::new("/a.bin"), pieces(&body, 1 << 20))
        .await
        .unwrap();
    assert_eq!(file.content_hash, Some(whole));
    let seen = server.seen.lock().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/2/files/upload_session/start",
            "/2/files/upload_session/append_v2",
            "/2/files/upload_session/append_v2",
            "/2/files/upload_session/finish"
        ]
    );
    let append: serde_json::Value =
        serde_json::from_str(&seen[1].headers["dropbox-api-arg"]).unwrap();
    assert_eq!(append["cursor"]["offset"], 4 << 20);
    assert_eq!(append["cursor"]["session_id"], "pid_upload_session:s");
    let finish: serde_json::Value =
        serde_json::from_str(&seen[3].headers["dropbox-api-arg"]).unwrap();
    assert_eq!(finish["cursor"]["offset"], 8 << 20);
    assert_eq!(finish["commit"]["path"], "/a.bin");
}
