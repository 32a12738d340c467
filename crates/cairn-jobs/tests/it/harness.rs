//! A fresh store per test, and the seed data most tests need.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use cairn_domain::ids::{AccountId, UserId};
use cairn_domain::schedule::BackupFrequency;
use cairn_domain::{
    Account, BackupTask, EmailAddress, Environment, ManualClock, RegionCode, Role, Service,
    TaskSettings, User, UserStatus,
};
use cairn_meta::testing::{TestDatabase, postgres_url_from_env};
use cairn_meta::{ConnectOptions, MetaStore};

/// Runs `test` on a fresh SQLite store.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(MetaStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite_in(dir.path());
    let store = MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    test(store.clone()).await;
    store.close().await;
}

/// Runs `test` on a fresh PostgreSQL database, or reports the skip.
pub async fn on_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(MetaStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(server) = postgres_url_from_env() else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped postgres::{name}: no PostgreSQL configured"
        );
        return;
    };
    let db = TestDatabase::postgres(&server).await.unwrap();
    let store = MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    test(store.clone()).await;
    store.close().await;
    db.drop_database().await.unwrap();
}

/// Declares `sqlite::<name>` and `postgres::<name>` for each test fn of the module.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::harness::on_sqlite(super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::harness::on_postgres(stringify!($name), super::$name).await;
                }
            )+
        }
    };
}

/// 2026-01-10 00:30 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 0, 30, 0).unwrap()
}

/// A manual clock at [`t0`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

/// An account with a primary user.
pub async fn account(store: &MetaStore, email: &str) -> AccountId {
    let account = Account {
        id: AccountId::new(),
        name: "Acme".into(),
        region: RegionCode::parse("local").unwrap(),
        created_at: t0(),
    };
    let user = User {
        id: UserId::new(),
        account_id: account.id,
        email: EmailAddress::parse(email).unwrap(),
        name: "Ada".into(),
        role: Role::Primary,
        status: UserStatus::Active,
        created_at: t0(),
        activated_at: Some(t0()),
    };
    store
        .directory()
        .create_account(&account, &user, None)
        .await
        .unwrap();
    account.id
}

/// A connected Salesforce task created at `created_at` with the given schedule.
pub async fn connected_task(
    store: &MetaStore,
    account: AccountId,
    frequency: BackupFrequency,
    hour_utc: u32,
    created_at: DateTime<Utc>,
) -> BackupTask {
    let mut task = BackupTask::new(
        account,
        Service::Salesforce,
        "Org",
        Environment::Production,
        TaskSettings {
            frequency,
            hour_utc,
            ..TaskSettings::default()
        },
        RegionCode::parse("local").unwrap(),
        created_at,
    )
    .unwrap();
    let tasks = store.account(account).tasks();
    tasks.create(&task).await.unwrap();
    tasks
        .store_token(task.id, b"sealed", created_at)
        .await
        .unwrap();
    task.connection = cairn_domain::ConnectionStatus::Connected;
    task
}
