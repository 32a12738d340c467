//! Per-member concurrency: with N slots per member, a member never has more than N
//! downloads in flight while other members proceed — observed on a local server that
//! holds answers until released.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_dropbox::{
    Access, ContentHash, DropboxApp, Entity, EntityKind, EntityStatus, FileEntry, NamespaceType,
    Secret, TokenSet,
};
use chrono::Utc;
use futures::TryStreamExt;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use url::Url;

use crate::fake_server::{Reply, serve};
use crate::support::{config_for, emulator, small};

#[derive(Default)]
struct Load {
    now: HashMap<String, usize>,
    peak: HashMap<String, usize>,
}

fn member(id: &str) -> Entity {
    Entity {
        id: id.into(),
        kind: EntityKind::Member,
        display_name: id.into(),
        email: None,
        status: EntityStatus::Active,
        namespace_id: "1".into(),
        namespace_type: NamespaceType::TeamMemberFolder,
        access: Access::Member {
            team_member_id: id.into(),
        },
    }
}

#[tokio::test]
async fn no_member_exceeds_its_slots() {
    let env = emulator(small()).await;
    let body = b"held content".to_vec();
    let load = Arc::new(Mutex::new(Load::default()));
    let (changed, mut watch_load) = watch::channel(0u64);
    let release = Arc::new(Notify::new());
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let (load, release, released, body) = (
            load.clone(),
            release.clone(),
            released.clone(),
            body.clone(),
        );
        let changed = Arc::new(changed);
        serve(move |seen, _| {
            let (load, release, released, body, changed) = (
                load.clone(),
                release.clone(),
                released.clone(),
                body.clone(),
                changed.clone(),
            );
            async move {
                let who = seen.headers["dropbox-api-select-user"].clone();
                {
                    let mut l = load.lock();
                    let now = {
                        let n = l.now.entry(who.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let peak = l.peak.entry(who.clone()).or_default();
                    *peak = (*peak).max(now);
                }
                changed.send_modify(|v| *v += 1);
                let notified = release.notified();
                if !released.load(std::sync::atomic::Ordering::SeqCst) {
                    notified.await;
                }
                *load.lock().now.get_mut(&who).unwrap() -= 1;
                Reply::Full {
                    status: 200,
                    headers: vec![],
                    body,
                }
            }
        })
        .await
    };

    let mut config = config_for(&env.dropbox);
    config.content_url = Url::parse(&server.url).unwrap();
    config.max_concurrency_per_member = 2;
    let app = DropboxApp::new(config).unwrap();
    let client = app
        .team(TokenSet {
            access_token: Secret::new("t"),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            account_id: None,
            scopes: vec![],
        })
        .build();
    let file = FileEntry {
        id: "id:x".into(),
        name: "x".into(),
        path_lower: "/x".into(),
        path_display: "/x".into(),
        rev: "0123456789".into(),
        size: body.len() as u64,
        content_hash: Some(ContentHash::of(&body)),
        server_modified: Utc::now(),
        client_modified: Utc::now(),
        is_downloadable: true,
        parent_shared_folder_id: None,
        modified_by: None,
    };
    let (a, b) = (member("dbmid:a"), member("dbmid:b"));
    let mut tasks = Vec::new();
    for entity in std::iter::repeat_n(&a, 6).chain(std::iter::repeat_n(&b, 3)) {
        let (client, entity, file) = (client.clone(), entity.clone(), file.clone());
        tasks.push(tokio::spawn(async move {
            client
                .download(&entity, &file)
                .try_collect::<Vec<_>>()
                .await
                .map(|c| c.concat())
        }));
    }
    // Wait until both members fill their slots and the rest queue in the client.
    loop {
        let full = {
            let l = load.lock();
            l.now.get("dbmid:a") == Some(&2) && l.now.get("dbmid:b") == Some(&2)
        };
        if full
            && client.limiter().waiting("dbmid:a") == 4
            && client.limiter().waiting("dbmid:b") == 1
        {
            break;
        }
        tokio::select! {
            _ = watch_load.changed() => {}
            () = tokio::task::yield_now() => {}
        }
    }
    assert_eq!(client.limiter().in_use("dbmid:a"), 2);
    released.store(true, std::sync::atomic::Ordering::SeqCst);
    release.notify_waiters();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), body);
    }
    let l = load.lock();
    assert_eq!(l.peak["dbmid:a"], 2);
    assert_eq!(l.peak["dbmid:b"], 2);
    assert_eq!(server.seen.lock().len(), 9);
}
