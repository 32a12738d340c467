//! Throw-away databases for tests (used by this crate's contract suite and by
//! `cairn-testkit`; not used by the application).
//!
//! SQLite tests get a file in a directory the caller owns (a temp dir). PostgreSQL tests
//! run when [`POSTGRES_URL_VAR`] names a server: each test gets its own database, created
//! fresh with a random name and dropped afterwards, so tests run in parallel without
//! seeing each other's rows. Names start with the database in that URL, so a CI run can
//! drop whatever a crashed test left behind without touching anyone else's.

use std::path::Path;

use rand::Rng;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::db::redact_url;
use crate::error::{MetaError, Result};

/// The environment variable naming the PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/cairn_ci`.
pub const POSTGRES_URL_VAR: &str = "CAIRN_TEST_POSTGRES_URL";

/// The PostgreSQL URL for tests, if configured.
#[must_use]
pub fn postgres_url_from_env() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    postgres: Option<PostgresOwner>,
}

#[derive(Debug)]
struct PostgresOwner {
    server_url: String,
    name: String,
}

impl TestDatabase {
    /// An SQLite database file inside `dir`.
    #[must_use]
    pub fn sqlite_in(dir: &Path) -> Self {
        Self {
            url: format!("sqlite://{}", dir.join("cairn.db").display()),
            postgres: None,
        }
    }

    /// A new, empty PostgreSQL database on the server `server_url` points at.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses `CREATE DATABASE`.
    pub async fn postgres(server_url: &str) -> Result<Self> {
        let mut url = url::Url::parse(server_url).map_err(|e| MetaError::InvalidUrl {
            url: redact_url(server_url),
            reason: e.to_string(),
        })?;
        let base: String = url
            .path()
            .trim_start_matches('/')
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let base = if base.is_empty() {
            "cairn_test".to_owned()
        } else {
            base
        };
        let suffix: u64 = rand::rng().random();
        let name = format!("{base}_t{suffix:016x}");
        let mut admin = PgConnection::connect(server_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            postgres: Some(PostgresOwner {
                server_url: server_url.to_owned(),
                name,
            }),
        })
    }

    /// Where to connect.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database (PostgreSQL; SQLite files go with their temp dir). Close every
    /// store using it first; remaining connections are terminated.
    ///
    /// # Errors
    /// When the server refuses the drop.
    pub async fn drop_database(self) -> Result<()> {
        if let Some(owner) = self.postgres {
            let mut admin = PgConnection::connect(&owner.server_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                owner.name
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
        }
        Ok(())
    }
}
