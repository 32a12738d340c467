//! Embedded, forward-only schema migrations.
//!
//! Each backend has its own directory (`migrations/sqlite`, `migrations/postgres`) with
//! files `NNNN_slug.sql`; the same number means the same logical change in both dialects,
//! and a test keeps the two lists in step. Files are embedded at compile time and applied
//! at start-up. A migration that has landed is never edited: sqlx records a checksum of
//! every applied file and refuses to continue when one changes.
//!
//! Before migrating, the store reads the highest version already applied and refuses to
//! start if it is newer than anything this binary knows: an old binary must never run
//! against a schema it does not understand.

use sqlx::migrate::Migrator;

use crate::db::{Db, with_pool};
use crate::error::{MetaError, Result};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite { .. } => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    }
}

/// The highest schema version this binary contains.
#[must_use]
pub fn known_schema_version() -> i64 {
    SQLITE.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The highest successfully applied version, or `None` on a database never migrated.
pub(crate) async fn applied_version(db: &Db) -> Result<Option<i64>> {
    const SQLITE_HAS_TABLE: &str =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1";
    const POSTGRES_HAS_TABLE: &str = "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = $1";
    let exists: i64 = match db {
        Db::Sqlite { read, .. } => {
            sqlx::query_scalar(SQLITE_HAS_TABLE)
                .bind(MIGRATIONS_TABLE)
                .fetch_one(read)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(POSTGRES_HAS_TABLE)
                .bind(MIGRATIONS_TABLE)
                .fetch_one(pool)
                .await?
        }
    };
    if exists == 0 {
        return Ok(None);
    }
    const MAX_VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
    let version: Option<i64> =
        with_pool!(db, read, pool => sqlx::query_scalar(MAX_VERSION).fetch_one(pool).await)?;
    Ok(version)
}

/// Refuses a newer schema, then applies every pending migration. Returns the schema version
/// the database is at afterwards.
pub(crate) async fn migrate(db: &Db) -> Result<i64> {
    let known = known_schema_version();
    if let Some(applied) = applied_version(db).await?
        && applied > known
    {
        return Err(MetaError::SchemaTooNew {
            database: applied,
            known,
        });
    }
    // PostgreSQL: sqlx takes an advisory lock, so replicas starting together migrate once.
    with_pool!(db, write, pool => migrator(db).run(pool).await)?;
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite: Vec<(i64, String)> = SQLITE
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        let postgres: Vec<(i64, String)> = POSTGRES
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        assert_eq!(sqlite, postgres);
        assert!(!sqlite.is_empty());
        // Versions are consecutive from 1, so a missing file cannot go unnoticed.
        for (index, (version, _)) in sqlite.iter().enumerate() {
            assert_eq!(*version, i64::try_from(index).unwrap() + 1);
        }
    }
}
