//! Sessions.

use chrono::Duration;

use cairn_domain::UserStatus;
use cairn_domain::event::RequestOrigin;
use cairn_domain::ids::SessionId;
use cairn_meta::{MetaStore, NewSession};

use crate::accounts::seed;
use crate::harness::t0;

fn session_for(user: &cairn_domain::User, token: &[u8]) -> NewSession {
    NewSession {
        id: SessionId::new(),
        token_hash: token.to_vec(),
        user_id: user.id,
        account_id: user.account_id,
        created_at: t0(),
        expires_at: t0() + Duration::hours(12),
        origin: RequestOrigin {
            ip: Some("192.0.2.7".into()),
            user_agent: Some("Mozilla/5.0 test".into()),
        },
    }
}

async fn create_find_touch_delete(store: MetaStore) {
    let (_, user) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let new = session_for(&user, b"hash-one");
    store.sessions().create(&new).await.unwrap();

    let found = store
        .sessions()
        .find_by_token_hash(b"hash-one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, new.id);
    assert_eq!(found.user, user);
    assert_eq!(found.created_at, t0());
    assert_eq!(found.last_seen_at, t0());
    assert_eq!(found.expires_at, new.expires_at);
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"other")
            .await
            .unwrap()
            .is_none()
    );

    let later = t0() + Duration::minutes(5);
    store.sessions().touch(new.id, later).await.unwrap();
    let found = store
        .sessions()
        .find_by_token_hash(b"hash-one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_seen_at, later);

    store.sessions().delete(new.id).await.unwrap();
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"hash-one")
            .await
            .unwrap()
            .is_none()
    );
    // Deleting again is harmless.
    store.sessions().delete(new.id).await.unwrap();
}

async fn delete_for_user_keeps_the_current_session(store: MetaStore) {
    let (_, user) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let (_, other) = seed(&store, "bob@example.com", UserStatus::Active).await;
    let keep = session_for(&user, b"keep");
    store.sessions().create(&keep).await.unwrap();
    store
        .sessions()
        .create(&session_for(&user, b"drop-1"))
        .await
        .unwrap();
    store
        .sessions()
        .create(&session_for(&user, b"drop-2"))
        .await
        .unwrap();
    store
        .sessions()
        .create(&session_for(&other, b"bobs"))
        .await
        .unwrap();

    let deleted = store
        .sessions()
        .delete_for_user(user.id, Some(keep.id))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(store.sessions().count_for_user(user.id).await.unwrap(), 1);
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"keep")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.sessions().count_for_user(other.id).await.unwrap(), 1);

    assert_eq!(
        store
            .sessions()
            .delete_for_user(user.id, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.sessions().count_for_user(user.id).await.unwrap(), 0);
}

async fn delete_expired_removes_idle_and_old_sessions(store: MetaStore) {
    let (_, user) = seed(&store, "ada@example.com", UserStatus::Active).await;
    let fresh = session_for(&user, b"fresh");
    let idle = session_for(&user, b"idle");
    let old = NewSession {
        expires_at: t0() + Duration::minutes(1),
        ..session_for(&user, b"old")
    };
    for s in [&fresh, &idle, &old] {
        store.sessions().create(s).await.unwrap();
    }
    let now = t0() + Duration::minutes(40);
    store
        .sessions()
        .touch(fresh.id, now - Duration::minutes(1))
        .await
        .unwrap();
    store
        .sessions()
        .touch(old.id, now - Duration::minutes(1))
        .await
        .unwrap();

    let deleted = store
        .sessions()
        .delete_expired(now, now - Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"fresh")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"idle")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sessions()
            .find_by_token_hash(b"old")
            .await
            .unwrap()
            .is_none()
    );
}

crate::contract_tests!(
    create_find_touch_delete,
    delete_for_user_keeps_the_current_session,
    delete_expired_removes_idle_and_old_sessions,
);
