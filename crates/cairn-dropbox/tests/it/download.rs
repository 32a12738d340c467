//! Downloads: bytes and content_hash equal the emulator's, by revision even after the
//! file changed, a deleted file is "not found", and — against a local server — wrong
//! bytes fail with ContentHashMismatch, extra bytes with SizeMismatch, and cut
//! connections resume with Range.

use bytes::Bytes;
use cairn_dropbox::{
    Access, Change, ContentHash, DropboxApp, DropboxError, Entity, EntityKind, EntityStatus,
    ErrorKind, FileEntry, NamespaceType, TeamClient,
};
use cairn_emulator::dropbox::{DropboxOptions, MutateRequest};
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use url::Url;

use crate::fake_server::{Reply, serve};
use crate::support::{Mirror, console_client, console_tokens, emulator, small, sync};

async fn fetch(
    client: &TeamClient,
    entity: &Entity,
    file: &FileEntry,
) -> Result<Vec<u8>, DropboxError> {
    let chunks: Vec<Bytes> = client.download(entity, file).try_collect().await?;
    Ok(chunks.concat())
}

fn files(mirror: &Mirror) -> Vec<FileEntry> {
    mirror
        .values()
        .filter_map(|c| match c {
            Change::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn downloads_match_the_listed_revision_and_hash() {
    let env = emulator(DropboxOptions {
        files: 80,
        bytes: 64 << 20,
        ..small()
    })
    .await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let entities = client.discover().await.unwrap().entities;
    let mut total = 0u64;
    let mut checked = 0;
    let mut largest = 0;
    for entity in entities.iter().filter(|e| e.has_content()) {
        let mut mirror = Mirror::new();
        sync(&client, entity, None, &mut mirror).await;
        let mut list = files(&mirror);
        list.sort_by_key(|f| std::cmp::Reverse(f.size));
        for file in list.iter().take(2) {
            let bytes = fetch(&client, entity, file).await.unwrap();
            let expected = control.read_content(&file.rev, 0, file.size).await.unwrap();
            assert_eq!(bytes.len() as u64, file.size);
            assert!(bytes == expected, "{}", file.path_display);
            assert_eq!(Some(ContentHash::of(&bytes)), file.content_hash);
            total += file.size;
            checked += 1;
            largest = largest.max(file.size);
        }
    }
    assert!(checked >= 6, "{checked}");
    assert!(
        largest > 4 << 20,
        "at least one multi-block file: {largest}"
    );
    assert_eq!(client.stats().bytes_downloaded, total);
}

#[tokio::test]
async fn a_changed_file_downloads_as_listed_and_a_deleted_one_is_not_found() {
    let env = emulator(small()).await;
    let client = console_client(&env);
    let control = env.dropbox.control();
    let entities = client.discover().await.unwrap().entities;
    let mut folders = entities
        .iter()
        .filter(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Active);
    let (modified_in, deleted_in) = (folders.next().unwrap(), folders.next().unwrap());
    let mut listed = Mirror::new();
    sync(&client, modified_in, None, &mut listed).await;
    let old = files(&listed);
    let mut doomed = Mirror::new();
    sync(&client, deleted_in, None, &mut doomed).await;
    let doomed = files(&doomed);

    for (ns, kind) in [(modified_in, "modify"), (deleted_in, "delete")] {
        control
            .mutate(&MutateRequest {
                percent: 100.0,
                member: None,
                namespace_id: Some(ns.namespace_id.clone()),
                seed: Some(9),
                kinds: vec![kind.into()],
            })
            .unwrap();
    }
    let file = old.iter().find(|f| f.size > 0).unwrap();
    let current = control
        .current_rev(&modified_in.namespace_id, &file.path_lower)
        .unwrap();
    assert_ne!(current, file.rev, "the file has a newer revision now");
    let bytes = fetch(&client, modified_in, file).await.unwrap();
    assert_eq!(Some(ContentHash::of(&bytes)), file.content_hash);

    let err = fetch(&client, deleted_in, &doomed[0]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// A client whose content host is `content_url`, acting as member `dbmid:m`.
fn local_client(env_app: &DropboxApp, content_url: &str) -> (TeamClient, Entity) {
    let mut config = env_app.config().clone();
    config.content_url = Url::parse(content_url).unwrap();
    let app = DropboxApp::new(config).unwrap();
    let client = app
        .team(cairn_dropbox::TokenSet {
            access_token: cairn_dropbox::Secret::new("test-token"),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            account_id: None,
            scopes: vec![],
        })
        .build();
    let entity = Entity {
        id: "dbmid:m".into(),
        kind: EntityKind::Member,
        display_name: "M".into(),
        email: None,
        status: EntityStatus::Active,
        namespace_id: "123".into(),
        namespace_type: NamespaceType::TeamMemberFolder,
        access: Access::Member {
            team_member_id: "dbmid:m".into(),
        },
    };
    (client, entity)
}

fn entry(data: &[u8]) -> FileEntry {
    FileEntry {
        id: "id:abc".into(),
        name: "a.bin".into(),
        path_lower: "/a.bin".into(),
        path_display: "/A.bin".into(),
        rev: "0123456789abcdef".into(),
        size: data.len() as u64,
        content_hash: Some(ContentHash::of(data)),
        server_modified: Utc::now(),
        client_modified: Utc::now(),
        is_downloadable: true,
        parent_shared_folder_id: None,
        modified_by: None,
    }
}

fn result_header(file: &FileEntry) -> (String, String) {
    (
        "Dropbox-API-Result".into(),
        format!(r#"{{"rev": "{}", "size": {}}}"#, file.rev, file.size),
    )
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

#[tokio::test]
async fn wrong_bytes_fail_with_content_hash_mismatch() {
    let env = emulator(small()).await;
    let listed = data(5 << 20);
    let file = entry(&listed);
    let mut served = listed.clone();
    served[4 << 20] ^= 0xFF;
    let header = result_header(&file);
    let server = serve(move |_, _| {
        let (served, header) = (served.clone(), header.clone());
        async move {
            Reply::Full {
                status: 200,
                headers: vec![header],
                body: served,
            }
        }
    })
    .await;
    let (client, entity) = local_client(&env.app, &server.url);
    let items: Vec<_> = client.download(&entity, &file).collect().await;
    let (last, chunks) = items.split_last().unwrap();
    assert!(
        chunks.iter().all(Result::is_ok),
        "bytes stream until the end"
    );
    match last {
        Err(DropboxError::ContentHashMismatch {
            expected, actual, ..
        }) => {
            assert_eq!(*expected, file.content_hash.unwrap().to_hex());
            assert_ne!(expected, actual);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(
        last.as_ref().unwrap_err().kind(),
        ErrorKind::ContentMismatch
    );

    // The request asked for the revision, with the member's headers.
    let seen = server.seen.lock()[0].clone();
    assert_eq!(seen.path, "/2/files/download");
    assert_eq!(
        seen.headers["dropbox-api-arg"],
        format!(r#"{{"path":"rev:{}"}}"#, file.rev)
    );
    assert_eq!(seen.headers["dropbox-api-select-user"], "dbmid:m");
    assert_eq!(
        seen.headers["dropbox-api-path-root"],
        r#"{".tag":"namespace_id","namespace_id":"123"}"#
    );
    assert_eq!(seen.headers["authorization"], "Bearer test-token");
}

#[tokio::test]
async fn extra_bytes_fail_with_size_mismatch() {
    let env = emulator(small()).await;
    let listed = data(1000);
    let file = entry(&listed);
    let header = result_header(&file);
    let server = serve(move |_, _| {
        let header = header.clone();
        async move {
            Reply::Full {
                status: 200,
                headers: vec![header],
                body: data(1500),
            }
        }
    })
    .await;
    let (client, entity) = local_client(&env.app, &server.url);
    let err = fetch(&client, &entity, &file).await.unwrap_err();
    assert!(
        matches!(err, DropboxError::SizeMismatch { expected: 1000, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_cut_connection_resumes_with_range() {
    let env = emulator(small()).await;
    let listed = data(3 << 20);
    let file = entry(&listed);
    let cut_at = (1 << 20) + 12_345;
    let (served, header) = (listed.clone(), result_header(&file));
    let server = serve(move |seen, index| {
        let (served, header) = (served.clone(), header.clone());
        async move {
            if index == 0 {
                return Reply::Cut {
                    headers: vec![header],
                    declared: served.len(),
                    body: served[..cut_at].to_vec(),
                };
            }
            let from: usize = seen.headers["range"]
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .unwrap()
                .parse()
                .unwrap();
            Reply::Full {
                status: 206,
                headers: vec![
                    header,
                    (
                        "Content-Range".into(),
                        format!("bytes {from}-{}/{}", served.len() - 1, served.len()),
                    ),
                ],
                body: served[from..].to_vec(),
            }
        }
    })
    .await;
    let (client, entity) = local_client(&env.app, &server.url);
    let bytes = fetch(&client, &entity, &file).await.unwrap();
    assert!(bytes == listed);
    let seen = server.seen.lock().clone();
    assert_eq!(seen.len(), 2);
    assert!(!seen[0].headers.contains_key("range"));
    assert_eq!(seen[1].headers["range"], format!("bytes={cut_at}-"));
    assert_eq!(client.stats().download_resumes, 1);
    assert_eq!(client.stats().bytes_downloaded, listed.len() as u64);
}

#[tokio::test]
async fn a_stalled_body_resumes_after_the_idle_timeout() {
    let env = emulator(small()).await;
    let listed = data(600_000);
    let file = entry(&listed);
    let (served, header) = (listed.clone(), result_header(&file));
    let server = serve(move |seen, index| {
        let (served, header) = (served.clone(), header.clone());
        async move {
            if index == 0 {
                return Reply::Stall {
                    headers: vec![header],
                    declared: served.len(),
                    body: served[..250_000].to_vec(),
                };
            }
            let from = 250_000;
            assert_eq!(seen.headers["range"], format!("bytes={from}-"));
            Reply::Full {
                status: 206,
                headers: vec![
                    header,
                    (
                        "Content-Range".into(),
                        format!("bytes {from}-{}/{}", served.len() - 1, served.len()),
                    ),
                ],
                body: served[from..].to_vec(),
            }
        }
    })
    .await;
    let mut config = env.app.config().clone();
    config.timeouts.idle = std::time::Duration::from_millis(100);
    let app = DropboxApp::new(config).unwrap();
    let (client, entity) = local_client(&app, &server.url);
    let bytes = fetch(&client, &entity, &file).await.unwrap();
    assert!(bytes == listed);
    assert_eq!(client.stats().download_resumes, 1);
}

#[tokio::test]
async fn a_server_ignoring_range_still_yields_each_byte_once() {
    let env = emulator(small()).await;
    let listed = data(2 << 20);
    let file = entry(&listed);
    let (served, header) = (listed.clone(), result_header(&file));
    let server = serve(move |_, index| {
        let (served, header) = (served.clone(), header.clone());
        async move {
            if index == 0 {
                Reply::Cut {
                    headers: vec![header],
                    declared: served.len(),
                    body: served[..700_000].to_vec(),
                }
            } else {
                Reply::Full {
                    status: 200,
                    headers: vec![header],
                    body: served,
                }
            }
        }
    })
    .await;
    let (client, entity) = local_client(&env.app, &server.url);
    let bytes = fetch(&client, &entity, &file).await.unwrap();
    assert!(bytes == listed);
}

#[tokio::test]
async fn a_connection_that_keeps_breaking_gives_up() {
    let env = emulator(small()).await;
    let listed = data(100_000);
    let file = entry(&listed);
    let (served, header) = (listed.clone(), result_header(&file));
    let server = serve(move |_, _| {
        let (served, header) = (served.clone(), header.clone());
        async move {
            Reply::Cut {
                headers: vec![header],
                declared: served.len(),
                body: Vec::new(),
            }
        }
    })
    .await;
    let (client, entity) = local_client(&env.app, &server.url);
    let err = fetch(&client, &entity, &file).await.unwrap_err();
    assert!(
        matches!(err, DropboxError::DownloadInterrupted { received: 0, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    // One try plus max_download_resumes (3).
    assert_eq!(server.seen.lock().len(), 4);
}

#[tokio::test]
async fn emulator_downloads_survive_injected_faults() {
    let env = emulator(small()).await;
    let client = env.app.team(console_tokens(&env.dropbox)).build();
    let entities = client.discover().await.unwrap().entities;
    let entity = entities
        .iter()
        .find(|e| e.kind == EntityKind::TeamFolder && e.status == EntityStatus::Active)
        .unwrap();
    let mut mirror = Mirror::new();
    sync(&client, entity, None, &mut mirror).await;
    env.dropbox
        .control()
        .set_faults(cairn_emulator::dropbox::Faults {
            rate_429: 0.3,
            rate_503: 0.3,
            retry_after: 0,
            routes: vec!["files/download".into()],
            ..Default::default()
        })
        .unwrap();
    for file in files(&mirror).iter().take(12) {
        let bytes = fetch(&client, entity, file).await.unwrap();
        assert_eq!(Some(ContentHash::of(&bytes)), file.content_hash);
    }
    let stats = client.stats();
    assert!(
        stats.rate_limited > 0 && stats.server_retries > 0,
        "{stats:?}"
    );
}
