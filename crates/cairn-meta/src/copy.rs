//! `cairn admin db copy`: moving a whole meta store to another database, typically from
//! the embedded SQLite file to PostgreSQL when an installation scales out.
//!
//! The copy is generic over tables: it reads the table list, columns and foreign keys from
//! the database catalogs, so tables added by later migrations are copied without touching
//! this code. Column types come from whichever side is PostgreSQL (SQLite's declared types
//! are only hints); between two SQLite files values are copied by storage class.
//!
//! Both stores must be at the same schema version (opening them migrates both to this
//! binary's version) and the target must be empty. The source is read in one read
//! transaction, so the copy is a consistent snapshot; the target is written in one
//! transaction, so a failed copy leaves it empty. Row counts are compared table by table
//! before and after the commit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::types::Json;
use sqlx::{Row, ValueRef};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::{Backend, Db, with_pool};
use crate::error::{MetaError, Result};
use crate::store::MetaStore;

/// How a column's values are carried across.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uuid,
    Time,
    Text,
    Int,
    Real,
    Bool,
    Bytes,
    Json,
    /// SQLite to SQLite: whatever storage class the value has.
    Raw,
}

impl Kind {
    fn from_postgres(data_type: &str) -> Option<Self> {
        Some(match data_type {
            "uuid" => Self::Uuid,
            "timestamp with time zone" => Self::Time,
            "text" | "character varying" | "character" => Self::Text,
            "bigint" | "integer" | "smallint" => Self::Int,
            "double precision" | "real" => Self::Real,
            "boolean" => Self::Bool,
            "bytea" => Self::Bytes,
            "jsonb" | "json" => Self::Json,
            _ => return None,
        })
    }
}

/// One value in flight.
#[derive(Debug, Clone)]
enum Value {
    Null(Kind),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
}

#[derive(Debug, Clone)]
struct TablePlan {
    name: String,
    columns: Vec<(String, Kind)>,
}

/// What was copied from one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopied {
    /// The table.
    pub table: String,
    /// Rows copied (equal in source and target).
    pub rows: u64,
}

/// The result of a copy, tables in the order they were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Per-table counts.
    pub tables: Vec<TableCopied>,
    /// The schema version both databases are at.
    pub schema_version: i64,
}

const BATCH_PARAMETERS: usize = 4_000;

const SEQUENCED_COLUMNS: &str = "SELECT column_name::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name = $1 \
     AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')";

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Copies every table of `from` into the empty `to`; `progress` is called after each table.
///
/// # Errors
/// [`MetaError::Copy`] when the schemas differ, the target is not empty, a column type is
/// not supported, or counts do not match; database errors.
pub async fn copy_database(
    from: &MetaStore,
    to: &MetaStore,
    mut progress: impl FnMut(&TableCopied),
) -> Result<CopyReport> {
    let source_version = from.schema_version().await?;
    let target_version = to.schema_version().await?;
    if source_version != target_version {
        return Err(MetaError::Copy(format!(
            "schema versions differ (source {source_version}, target {target_version})"
        )));
    }
    let plans = plan(from, to).await?;
    for table in &plans {
        let rows = count_rows(&to.db, &table.name).await?;
        if rows > 0 {
            return Err(MetaError::Copy(format!(
                "the target is not empty: table {} has {rows} rows; copy into a freshly created database",
                table.name
            )));
        }
    }

    let (sender, receiver) = mpsc::channel::<Vec<Vec<Value>>>(4);
    let (source_counts, target_counts) = futures::try_join!(
        read_source(&from.db, &plans, sender),
        write_target(&to.db, &plans, receiver),
    )?;
    if source_counts != target_counts {
        return Err(MetaError::Copy(format!(
            "row counts differ after writing: source {source_counts:?}, target {target_counts:?}"
        )));
    }

    // Verify through fresh connections, after the commit.
    let mut tables = Vec::with_capacity(plans.len());
    for (table, expected) in plans.iter().zip(source_counts) {
        let copied = count_rows(&to.db, &table.name).await?;
        if copied != expected {
            return Err(MetaError::Copy(format!(
                "table {}: {expected} rows read but {copied} found in the target",
                table.name
            )));
        }
        let done = TableCopied {
            table: table.name.clone(),
            rows: copied,
        };
        progress(&done);
        tables.push(done);
    }
    Ok(CopyReport {
        tables,
        schema_version: source_version,
    })
}

async fn count_rows(db: &Db, table: &str) -> Result<u64> {
    let sql = format!("SELECT COUNT(*) FROM {}", quote(table));
    let count: i64 = with_pool!(db, read, pool =>
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await)?;
    u64::try_from(count).map_err(MetaError::corrupt)
}

/// Tables in foreign-key order, with the columns and how to carry each.
async fn plan(from: &MetaStore, to: &MetaStore) -> Result<Vec<TablePlan>> {
    let source_tables = tables(&from.db).await?;
    let target_tables = tables(&to.db).await?;
    if source_tables != target_tables {
        return Err(MetaError::Copy(format!(
            "the databases have different tables (source {source_tables:?}, target {target_tables:?})"
        )));
    }
    let typed = match (from.backend(), to.backend()) {
        (_, Backend::Postgres) => Some(&to.db),
        (Backend::Postgres, Backend::Sqlite) => Some(&from.db),
        (Backend::Sqlite, Backend::Sqlite) => None,
    };
    let mut plans = Vec::new();
    for table in order_by_foreign_keys(&source_tables, &foreign_keys(&from.db).await?)? {
        let source_columns = column_names(&from.db, &table).await?;
        let target_columns = column_names(&to.db, &table).await?;
        let source_set: BTreeSet<&String> = source_columns.iter().collect();
        let target_set: BTreeSet<&String> = target_columns.iter().collect();
        if source_set != target_set {
            return Err(MetaError::Copy(format!(
                "table {table} has different columns (source {source_columns:?}, target {target_columns:?})"
            )));
        }
        let kinds = match typed {
            Some(db) => postgres_kinds(db, &table).await?,
            None => source_columns
                .iter()
                .map(|c| (c.clone(), Kind::Raw))
                .collect(),
        };
        let columns = source_columns
            .into_iter()
            .map(|column| {
                let kind = kinds.get(&column).copied().ok_or_else(|| {
                    MetaError::Copy(format!(
                        "column {table}.{column} has a type the copy does not support"
                    ))
                })?;
                Ok((column, kind))
            })
            .collect::<Result<Vec<_>>>()?;
        plans.push(TablePlan {
            name: table,
            columns,
        });
    }
    Ok(plans)
}

async fn tables(db: &Db) -> Result<BTreeSet<String>> {
    const SQLITE: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'";
    const POSTGRES: &str = "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations'";
    let names: Vec<String> = match db {
        Db::Sqlite { read, .. } => sqlx::query_scalar(SQLITE).fetch_all(read).await?,
        Db::Postgres(pool) => sqlx::query_scalar(POSTGRES).fetch_all(pool).await?,
    };
    Ok(names.into_iter().collect())
}

async fn column_names(db: &Db, table: &str) -> Result<Vec<String>> {
    const SQLITE: &str = "SELECT name FROM pragma_table_info($1) ORDER BY cid";
    const POSTGRES: &str = "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
    Ok(match db {
        Db::Sqlite { read, .. } => {
            sqlx::query_scalar(SQLITE)
                .bind(table)
                .fetch_all(read)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(POSTGRES)
                .bind(table)
                .fetch_all(pool)
                .await?
        }
    })
}

async fn postgres_kinds(db: &Db, table: &str) -> Result<BTreeMap<String, Kind>> {
    const SQL: &str = "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1";
    let Db::Postgres(pool) = db else {
        return Err(MetaError::Copy(
            "column types need a PostgreSQL side".into(),
        ));
    };
    let rows: Vec<(String, String)> = sqlx::query_as(SQL).bind(table).fetch_all(pool).await?;
    let mut kinds = BTreeMap::new();
    for (column, data_type) in rows {
        let kind = Kind::from_postgres(&data_type).ok_or_else(|| {
            MetaError::Copy(format!(
                "column {table}.{column} has type {data_type}, which the copy does not support"
            ))
        })?;
        kinds.insert(column, kind);
    }
    Ok(kinds)
}

/// (child, parent) pairs.
async fn foreign_keys(db: &Db) -> Result<Vec<(String, String)>> {
    const SQLITE: &str = "SELECT m.name, p.\"table\" FROM sqlite_master m \
         JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'";
    const POSTGRES: &str = "SELECT conrelid::regclass::text, confrelid::regclass::text \
         FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace";
    Ok(match db {
        Db::Sqlite { read, .. } => sqlx::query_as(SQLITE).fetch_all(read).await?,
        Db::Postgres(pool) => sqlx::query_as(POSTGRES).fetch_all(pool).await?,
    })
}

/// Parents before children (Kahn's algorithm, alphabetical among equals so the order is
/// stable). Self-references are ignored; a cycle is an error.
fn order_by_foreign_keys(
    tables: &BTreeSet<String>,
    edges: &[(String, String)],
) -> Result<Vec<String>> {
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (child, parent) in edges {
        if child != parent
            && tables.contains(parent)
            && let Some(set) = parents.get_mut(child.as_str())
        {
            set.insert(parent.as_str());
        }
    }
    let mut ordered = Vec::with_capacity(tables.len());
    while !parents.is_empty() {
        let ready: Vec<&str> = parents
            .iter()
            .filter(|(_, p)| p.is_empty())
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = parents.keys().copied().collect();
            return Err(MetaError::Copy(format!(
                "foreign keys form a cycle among {stuck:?}"
            )));
        }
        for table in ready {
            parents.remove(table);
            for set in parents.values_mut() {
                set.remove(table);
            }
            ordered.push(table.to_owned());
        }
    }
    Ok(ordered)
}

fn rows_per_batch(columns: usize) -> usize {
    (BATCH_PARAMETERS / columns.max(1)).max(1)
}

/// Streams every table, in plan order, as batches; an empty batch ends a table. Returns
/// the number of rows read per table.
async fn read_source(
    db: &Db,
    plans: &[TablePlan],
    sender: mpsc::Sender<Vec<Vec<Value>>>,
) -> Result<Vec<u64>> {
    let closed = || MetaError::Copy("the writer stopped".into());
    let backend = db.backend();
    with_pool!(db, read, pool => {
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let mut counts = Vec::with_capacity(plans.len());
        for table in plans {
            let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
            let sql = format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name));
            let per_batch = rows_per_batch(table.columns.len());
            let mut count = 0_u64;
            let mut batch = Vec::with_capacity(per_batch);
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let mut values = Vec::with_capacity(table.columns.len());
                for (index, (_, kind)) in table.columns.iter().enumerate() {
                    let value = match kind {
                        Kind::Uuid => row.try_get::<Option<Uuid>, _>(index)?.map(Value::Uuid),
                        Kind::Time => row
                            .try_get::<Option<DateTime<Utc>>, _>(index)?
                            .map(Value::Time),
                        Kind::Text => row.try_get::<Option<String>, _>(index)?.map(Value::Text),
                        // PostgreSQL `integer` / `smallint` columns do not decode as i64.
                        Kind::Int => row
                            .try_get::<Option<i64>, _>(index)
                            .or_else(|_| {
                                row.try_get::<Option<i32>, _>(index).map(|v| v.map(i64::from))
                            })
                            .or_else(|_| {
                                row.try_get::<Option<i16>, _>(index).map(|v| v.map(i64::from))
                            })?
                            .map(Value::Int),
                        Kind::Real => row.try_get::<Option<f64>, _>(index)?.map(Value::Real),
                        Kind::Bool => row.try_get::<Option<bool>, _>(index)?.map(Value::Bool),
                        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.map(Value::Bytes),
                        Kind::Json => row
                            .try_get::<Option<Json<serde_json::Value>>, _>(index)?
                            .map(|json| Value::Json(json.0)),
                        Kind::Raw => {
                            let raw = row.try_get_raw(index)?;
                            if raw.is_null() {
                                None
                            } else {
                                let class = raw.type_info().to_string();
                                Some(match class.as_str() {
                                    "INTEGER" => Value::Int(row.try_get_unchecked(index)?),
                                    "REAL" => Value::Real(row.try_get_unchecked(index)?),
                                    "TEXT" => Value::Text(row.try_get_unchecked(index)?),
                                    _ => Value::Bytes(row.try_get_unchecked(index)?),
                                })
                            }
                        }
                    };
                    values.push(value.unwrap_or(Value::Null(*kind)));
                }
                batch.push(values);
                count += 1;
                if batch.len() == per_batch {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(per_batch));
                    sender.send(full).await.map_err(|_| closed())?;
                }
            }
            drop(rows);
            if !batch.is_empty() {
                sender.send(batch).await.map_err(|_| closed())?;
            }
            sender.send(Vec::new()).await.map_err(|_| closed())?;
            counts.push(count);
        }
        tx.rollback().await?;
        Ok(counts)
    })
}

/// Inserts the batches into the target in one transaction and counts, inside it, what
/// each table holds before committing.
async fn write_target(
    db: &Db,
    plans: &[TablePlan],
    mut receiver: mpsc::Receiver<Vec<Vec<Value>>>,
) -> Result<Vec<u64>> {
    let backend = db.backend();
    with_pool!(db, write, pool => {
        let mut tx = pool.begin().await?;
        let mut counts = Vec::with_capacity(plans.len());
        for table in plans {
            let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
            loop {
                let Some(batch) = receiver.recv().await else {
                    return Err(MetaError::Copy("the reader stopped".into()));
                };
                if batch.is_empty() {
                    break;
                }
                let width = table.columns.len();
                let groups: Vec<String> = (0..batch.len())
                    .map(|row| {
                        let params: Vec<String> =
                            (1..=width).map(|col| format!("${}", row * width + col)).collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    quote(&table.name),
                    columns.join(", "),
                    groups.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for value in batch.into_iter().flatten() {
                    query = match value {
                        Value::Null(Kind::Uuid) => query.bind(None::<Uuid>),
                        Value::Null(Kind::Time) => query.bind(None::<DateTime<Utc>>),
                        Value::Null(Kind::Int) => query.bind(None::<i64>),
                        Value::Null(Kind::Real) => query.bind(None::<f64>),
                        Value::Null(Kind::Bool) => query.bind(None::<bool>),
                        Value::Null(Kind::Bytes) => query.bind(None::<Vec<u8>>),
                        Value::Null(Kind::Json) => query.bind(None::<Json<serde_json::Value>>),
                        Value::Null(Kind::Text | Kind::Raw) => query.bind(None::<String>),
                        Value::Uuid(v) => query.bind(v),
                        Value::Time(v) => query.bind(v),
                        Value::Text(v) => query.bind(v),
                        Value::Int(v) => query.bind(v),
                        Value::Real(v) => query.bind(v),
                        Value::Bool(v) => query.bind(v),
                        Value::Bytes(v) => query.bind(v),
                        Value::Json(v) => query.bind(Json(v)),
                    };
                }
                query.execute(&mut *tx).await?;
            }
            if backend == Backend::Postgres {
                // Move identity / serial sequences past the copied values so the next
                // insert does not collide with a copied row. No such columns exist today;
                // this keeps the copy correct when a later migration adds one.
                let sequenced: Vec<String> = sqlx::query_scalar(SEQUENCED_COLUMNS)
                    .bind(&table.name)
                    .fetch_all(&mut *tx)
                    .await?;
                for column in sequenced {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), \
                         COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                        quote(&column),
                        quote(&table.name)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&table.name)
                        .bind(&column)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let sql = format!("SELECT COUNT(*) FROM {}", quote(&table.name));
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await?;
            counts.push(u64::try_from(count).map_err(MetaError::corrupt)?);
        }
        tx.commit().await?;
        Ok(counts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn edge(child: &str, parent: &str) -> (String, String) {
        (child.to_owned(), parent.to_owned())
    }

    #[test]
    fn parents_come_before_children() {
        let tables = set(&["sessions", "users", "accounts", "events", "secrets"]);
        let edges = [
            edge("users", "accounts"),
            edge("sessions", "users"),
            edge("sessions", "accounts"),
            edge("events", "accounts"),
            edge("users", "users"),
        ];
        let order = order_by_foreign_keys(&tables, &edges).unwrap();
        assert_eq!(
            order,
            ["accounts", "secrets", "events", "users", "sessions"]
        );
    }

    #[test]
    fn cycles_are_reported() {
        let tables = set(&["a", "b", "c"]);
        let err = order_by_foreign_keys(&tables, &[edge("a", "b"), edge("b", "a")]).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }

    #[test]
    fn batches_stay_under_the_parameter_limit() {
        assert_eq!(rows_per_batch(11), 363);
        assert_eq!(rows_per_batch(0), BATCH_PARAMETERS);
        assert_eq!(rows_per_batch(10_000), 1);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("events"), "\"events\"");
        assert_eq!(quote("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(
            Kind::from_postgres("timestamp with time zone"),
            Some(Kind::Time)
        );
        assert_eq!(Kind::from_postgres("numeric"), None);
    }
}
