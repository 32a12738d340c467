//! Runs one contract test against a backend, with a database of its own.

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;

use cairn_meta::testing::{POSTGRES_URL_VAR, TestDatabase, postgres_url_from_env};
use cairn_meta::{ConnectOptions, MetaStore};
use futures::FutureExt;

/// Runs `test` on a fresh SQLite store in a temp dir.
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
        // Written past the test harness's output capture, so the skip is visible in a
        // normal run instead of looking like a pass.
        let _ = writeln!(
            std::io::stderr(),
            "skipped postgres::{name}: {POSTGRES_URL_VAR} is not set"
        );
        return;
    };
    let db = TestDatabase::postgres(&server).await.unwrap();
    let store = MetaStore::connect(db.url(), &ConnectOptions::default())
        .await
        .unwrap();
    let outcome = AssertUnwindSafe(test(store.clone())).catch_unwind().await;
    store.close().await;
    db.drop_database().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares `sqlite::<name>` and `postgres::<name>` tests for each contract test fn in
/// the calling module.
#[macro_export]
macro_rules! contract_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::harness::on_sqlite(super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::harness::on_postgres(stringify!($name), super::$name).await;
                }
            )+
        }
    };
}

/// A timestamp fixed for tests, microsecond-precise.
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2025-06-01T09:00:00.123456Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}
