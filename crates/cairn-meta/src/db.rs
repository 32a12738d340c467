//! Connection pools for the two backends, and the one place that chooses between them.
//!
//! Every query in this crate is written once, with `$1`-style bind_params that both
//! SQLite and PostgreSQL accept, and run through [`with_pool!`], which expands the same
//! expression once per backend so the sqlx types line up. Only DDL (the migrations) and the
//! few statements the dialects genuinely disagree on are written twice.
//!
//! SQLite runs in WAL mode with a busy timeout and foreign keys on. Writes go through a
//! pool of exactly one connection, so writers queue in the pool instead of failing with
//! "database is locked"; reads use a separate pool of read-only connections, which WAL
//! lets run alongside the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{MetaError, Result};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (embedded mode).
    Sqlite,
    /// A PostgreSQL server (scale-out mode).
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Tunables for opening a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Maximum pooled connections (PostgreSQL; SQLite readers).
    pub max_connections: u32,
    /// How long to wait for a free connection before failing.
    pub acquire_timeout: Duration,
    /// How long SQLite waits on a locked database before failing.
    pub busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The pools behind a store.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite {
        /// Exactly one connection: all writes are serialised here.
        write: SqlitePool,
        /// Read-only connections.
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the right pool of `$db`: `read` or `write` picks the
/// SQLite pool (PostgreSQL has one pool for both).
///
/// The body is expanded once per backend, so it must be an expression that type-checks
/// against either `&SqlitePool` or `&PgPool`; in practice a `sqlx::query…` chain or a call
/// of a function generic over the executor.
macro_rules! with_pool {
    ($db:expr, read, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { read: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, write, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { write: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens the pools for `url` (`sqlite://…`, `sqlite:…`, `postgres://…`,
    /// `postgresql://…`). A missing SQLite file (and its directory) is created.
    pub(crate) async fn open(url: &str, options: &ConnectOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Self::open_sqlite(url, options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(|e| MetaError::InvalidUrl {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(MetaError::InvalidUrl {
                url: redact_url(url),
                reason: "expected a sqlite:// or postgres:// URL".to_owned(),
            })
        }
    }

    async fn open_sqlite(url: &str, options: &ConnectOptions) -> Result<Self> {
        let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
        if path.starts_with(":memory:") || url.contains("mode=memory") {
            // Separate reader and writer connections cannot share a private in-memory
            // database; tests use temporary files instead.
            return Err(MetaError::InvalidUrl {
                url: redact_url(url),
                reason: "in-memory SQLite is not supported; use a file path".to_owned(),
            });
        }
        let base = SqliteConnectOptions::from_str(url).map_err(|e| MetaError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        if let Some(dir) = base.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| MetaError::Io {
                context: format!("creating the database directory {}", dir.display()),
                source,
            })?;
        }
        let common = base
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(SqliteSynchronous::Normal);
        // The writer stays open for the life of the store: while one connection is open,
        // SQLite keeps the -wal and -shm files, which the read-only connections need.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(
                common
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await?;
        // Opened after the writer has created the file and switched it to WAL, which is a
        // persistent property of the database file.
        let read = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(common.read_only(true))
            .await?;
        Ok(Self::Sqlite { write, read })
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://cairn:hunter2@db.example.com:5432/cairn"),
            "postgres://cairn:***@db.example.com:5432/cairn"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/cairn/cairn.db"),
            "sqlite:///var/lib/cairn/cairn.db"
        );
    }

    #[tokio::test]
    async fn unsupported_urls_are_refused() {
        let err = Db::open("mysql://x", &ConnectOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, MetaError::InvalidUrl { .. }), "{err}");
        let err = Db::open("sqlite::memory:", &ConnectOptions::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("in-memory"), "{err}");
    }
}
