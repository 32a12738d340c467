//! `admin db copy`: whole-database copies between backends.

use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::SessionId;
use cairn_domain::{EmailAddress, UserStatus};
use cairn_meta::copy::copy_database;
use cairn_meta::testing::{TestDatabase, postgres_url_from_env};
use cairn_meta::{ConnectOptions, EventQuery, MetaError, MetaStore, NewSession};
use chrono::Duration;

use crate::accounts::seed;
use crate::harness::t0;

async fn sqlite_store(dir: &tempfile::TempDir) -> MetaStore {
    let db = TestDatabase::sqlite_in(dir.path());
    MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap()
}

/// Fills a store with a little of everything.
async fn fill(store: &MetaStore) -> (cairn_domain::Account, cairn_domain::User) {
    let (account, user) = seed(store, "ada@example.com", UserStatus::Active).await;
    seed(store, "bob@example.com", UserStatus::Pending).await;
    store
        .sessions()
        .create(&NewSession {
            id: SessionId::new(),
            token_hash: vec![1, 2, 3],
            user_id: user.id,
            account_id: account.id,
            created_at: t0(),
            expires_at: t0() + Duration::hours(1),
            origin: Default::default(),
        })
        .await
        .unwrap();
    for i in 0..1_203 {
        store
            .account(account.id)
            .events()
            .record(
                &Event::new(
                    EventKind::SignIn,
                    EventOutcome::Success,
                    t0() + Duration::seconds(i),
                )
                .by(Some(user.id), "ada@example.com")
                .with("n", i),
            )
            .await
            .unwrap();
    }
    store
        .events()
        .record(
            &Event::new(EventKind::SignIn, EventOutcome::Failure, t0())
                .with("nested", serde_json::json!({"a": [1, null]})),
        )
        .await
        .unwrap();
    store
        .sign_in_failures()
        .record("x@example.com", None, t0())
        .await
        .unwrap();
    store
        .instance_secrets()
        .get_or_create("csrf", &[0, 255, 7], t0())
        .await
        .unwrap();
    (account, user)
}

async fn check_copy(from: &MetaStore, to: &MetaStore) {
    let (account, user) = fill(from).await;
    let mut seen = Vec::new();
    let report = copy_database(from, to, |t| seen.push(t.table.clone()))
        .await
        .unwrap();
    assert_eq!(seen.len(), report.tables.len());
    let rows = |name: &str| report.tables.iter().find(|t| t.table == name).unwrap().rows;
    assert_eq!(rows("accounts"), 2);
    assert_eq!(rows("users"), 2);
    assert_eq!(rows("sessions"), 1);
    assert_eq!(rows("events"), 1_204);
    assert_eq!(rows("instance_secrets"), 1);
    // Parents are copied before children.
    let position = |name: &str| seen.iter().position(|t| t == name).unwrap();
    assert!(position("accounts") < position("users"));
    assert!(position("users") < position("sessions"));

    // The copy reads back identically through the store API.
    let found = to
        .directory()
        .find_user_by_email(&EmailAddress::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, user);
    assert_eq!(to.account(account.id).get().await.unwrap(), account);
    let query = EventQuery {
        limit: 500,
        ..EventQuery::default()
    };
    assert_eq!(
        to.account(account.id)
            .events()
            .list(&query)
            .await
            .unwrap()
            .events,
        from.account(account.id)
            .events()
            .list(&query)
            .await
            .unwrap()
            .events
    );
    let session = to
        .sessions()
        .find_by_token_hash(&[1, 2, 3])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user, user);
    assert_eq!(
        to.instance_secrets()
            .get_or_create("csrf", b"new", t0())
            .await
            .unwrap(),
        vec![0, 255, 7]
    );

    // A second copy into the now non-empty target is refused and changes nothing.
    let err = copy_database(from, to, |_| {}).await.unwrap_err();
    assert!(
        matches!(err, MetaError::Copy(ref m) if m.contains("not empty")),
        "{err}"
    );
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn sqlite_to_sqlite() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (from, to) = (sqlite_store(&a).await, sqlite_store(&b).await);
        check_copy(&from, &to).await;
    }
}

mod postgres {
    use super::*;

    async fn with_postgres_store(name: &str) -> Option<(TestDatabase, MetaStore)> {
        let Some(server) = postgres_url_from_env() else {
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!("skipped postgres::{name}: CAIRN_TEST_POSTGRES_URL is not set\n"),
            );
            return None;
        };
        let db = TestDatabase::postgres(&server).await.unwrap();
        let store = MetaStore::connect(db.url(), &ConnectOptions::default())
            .await
            .unwrap();
        Some((db, store))
    }

    #[tokio::test]
    async fn sqlite_to_postgres() {
        let Some((db, to)) = with_postgres_store("sqlite_to_postgres").await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let from = sqlite_store(&dir).await;
        check_copy(&from, &to).await;
        to.close().await;
        db.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn postgres_to_sqlite() {
        let Some((db, from)) = with_postgres_store("postgres_to_sqlite").await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let to = sqlite_store(&dir).await;
        check_copy(&from, &to).await;
        from.close().await;
        db.drop_database().await.unwrap();
    }
}
