//! Schema versioning and instance secrets.

use cairn_meta::{ConnectOptions, MetaError, MetaStore, known_schema_version};

use crate::harness::t0;

/// Marks a migration newer than this binary as applied, reopens, expects a refusal.
async fn a_newer_schema_is_refused(store: MetaStore) {
    const FUTURE: &str = "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) VALUES ($1, $2, $3, $4, $5)";
    let url = store.display_url();
    let future_version = known_schema_version() + 1;
    match store.backend() {
        cairn_meta::Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(FUTURE)
                .bind(future_version)
                .bind("from the future")
                .bind(true)
                .bind(vec![0_u8; 48])
                .bind(0_i64)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        cairn_meta::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(FUTURE)
                .bind(future_version)
                .bind("from the future")
                .bind(true)
                .bind(vec![0_u8; 48])
                .bind(0_i64)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    store.close().await;
    let err = MetaStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap_err();
    match err {
        MetaError::SchemaTooNew { database, known } => {
            assert_eq!(database, future_version);
            assert_eq!(known, known_schema_version());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

async fn reconnecting_is_idempotent(store: MetaStore) {
    let url = store.display_url();
    let again = MetaStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        known_schema_version()
    );
    again.close().await;
}

async fn instance_secrets_are_created_once(store: MetaStore) {
    let secrets = store.instance_secrets();
    let first = secrets
        .get_or_create("csrf", b"first-candidate", t0())
        .await
        .unwrap();
    assert_eq!(first, b"first-candidate");
    let second = secrets
        .get_or_create("csrf", b"second-candidate", t0())
        .await
        .unwrap();
    assert_eq!(second, first, "the first value wins");
    let other = secrets.get_or_create("other", b"x", t0()).await.unwrap();
    assert_eq!(other, b"x");
}

crate::contract_tests!(
    a_newer_schema_is_refused,
    reconnecting_is_idempotent,
    instance_secrets_are_created_once,
);
