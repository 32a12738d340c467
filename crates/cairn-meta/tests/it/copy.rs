//! `admin db copy`: whole-database copies between backends.

use cairn_domain::entity::DiscoveredEntity;
use cairn_domain::event::{Event, EventKind, EventOutcome};
use cairn_domain::ids::{SessionId, SnapshotId};
use cairn_domain::job::{JobLogLine, LogLevel};
use cairn_domain::snapshot::{SnapshotEntity, UserCounters};
use cairn_domain::{
    EmailAddress, EntityCounters, EntityKind, EntityStatus, JobKind, NewJob, SnapshotOutcome,
    SnapshotRecord, Tag, UserStatus,
};
use cairn_meta::copy::copy_database;
use cairn_meta::testing::{TestDatabase, postgres_url_from_env};
use cairn_meta::{ConnectOptions, EventQuery, JobQuery, MetaError, MetaStore, NewSession};
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
    fill_backup_tables(store, &account).await;
    (account, user)
}

/// A task with a token, tagged entities, a snapshot and a job with a log line.
async fn fill_backup_tables(store: &MetaStore, account: &cairn_domain::Account) {
    let scope = store.account(account.id);
    let task = crate::tasks::sf_task(account.id, "Org");
    scope.tasks().create(&task).await.unwrap();
    scope
        .tasks()
        .store_token(task.id, &[9, 9], t0())
        .await
        .unwrap();
    let ids = scope
        .entities()
        .upsert_discovered(
            task.id,
            &[DiscoveredEntity {
                kind: EntityKind::SalesforceObject,
                name: "Account".into(),
                external_id: "Account".into(),
                email: None,
            }],
            EntityStatus::Scheduled,
            t0(),
        )
        .await
        .unwrap();
    scope
        .entities()
        .save_cursor(ids[0], &serde_json::json!({"wm": "2025-01-01"}))
        .await
        .unwrap();
    let tag = Tag::new("VIP", true, t0()).unwrap();
    scope.tags().create(&tag).await.unwrap();
    scope.tags().apply(tag.id, &ids).await.unwrap();
    let snapshot = SnapshotRecord::new(
        SnapshotId::new(),
        task.id,
        None,
        t0(),
        t0(),
        SnapshotOutcome::Complete,
        vec![SnapshotEntity {
            entity_id: ids[0],
            status: EntityStatus::Success,
            counters: EntityCounters {
                items: 3,
                ..EntityCounters::default()
            },
        }],
        vec![UserCounters {
            entity_id: ids[0],
            user: "005x".into(),
            added: 3,
            updated: 0,
            deleted: 0,
        }],
    );
    scope.snapshots().record(&snapshot).await.unwrap();
    let job = scope
        .jobs()
        .enqueue(&NewJob::new(JobKind::Backup, t0()).for_task(task.id))
        .await
        .unwrap();
    store
        .jobs()
        .log(job.id, &JobLogLine::new(t0(), LogLevel::Info, "first"))
        .await
        .unwrap();
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

    // The backup tables came across, and the log's id sequence continues past them.
    for table in ["tasks", "entities", "tags", "entity_tags", "snapshots"] {
        assert_eq!(rows(table), 1, "{table}");
    }
    assert_eq!(rows("snapshot_entities"), 1);
    assert_eq!(rows("snapshot_users"), 1);
    let jobs = to
        .account(account.id)
        .jobs()
        .list(&JobQuery {
            limit: 10,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    to.jobs()
        .log(jobs[0].id, &JobLogLine::new(t0(), LogLevel::Info, "second"))
        .await
        .unwrap();
    let logs = to
        .account(account.id)
        .jobs()
        .logs(jobs[0].id, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        ["first", "second"]
    );
    let tasks = to.account(account.id).tasks();
    let task = &tasks.list(false).await.unwrap()[0];
    assert_eq!(tasks.token(task.id).await.unwrap(), Some(vec![9, 9]));
    let entity = &to
        .account(account.id)
        .entities()
        .list(
            task.id,
            &cairn_meta::EntityQuery {
                include_limited: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()[0];
    assert!(entity.limited_access);
    assert_eq!(entity.cursor, Some(serde_json::json!({"wm": "2025-01-01"})));
    assert_eq!(entity.counters.items, 3);

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
