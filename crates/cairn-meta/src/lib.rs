//! Cairn's meta store: every relational fact (accounts, users, sessions, events, backup
//! tasks, entities and tags, the job queue and the snapshot catalog) on SQLite or
//! PostgreSQL.
//!
//! Rules of this crate:
//! - It is the only crate that uses sqlx. Queries are runtime queries (`query_as` +
//!   `FromRow`), written once with `$n` bind_params wherever the two dialects agree; the
//!   contract suite in `tests/it` runs every one of them on both backends.
//! - Tenancy is structural: anything owned by an account is reached through
//!   [`MetaStore::account`], whose handles never take an account id.
//! - Migrations are embedded, forward-only and per backend (`migrations/{sqlite,postgres}`);
//!   a database migrated by a newer Cairn is refused.
//! - Instants are `DateTime<Utc>` truncated to microseconds (see `cairn_domain::clock`),
//!   so values read back equal on both backends.
//!
//! Adding a concern (tasks, jobs, snapshots…):
//! 1. a migration pair `migrations/{sqlite,postgres}/NNNN_slug.sql` with the next number
//!    (ids are `BLOB`/`UUID`, instants `TEXT`/`TIMESTAMPTZ`, JSON `TEXT`/`JSONB`);
//! 2. a module with a handle struct holding `&MetaStore` (and the `AccountId` for
//!    tenant data), made from [`AccountScope`] (or [`MetaStore`] for cross-account work
//!    such as claiming jobs);
//! 3. queries as `const` SQL next to their method, run with `with_pool!(…, read|write,
//!    pool => …)`; where the dialects differ (`FOR UPDATE SKIP LOCKED`), match on the
//!    backend and keep both texts side by side;
//! 4. contract tests in `tests/it/<concern>.rs` listed in `contract_tests!`, so they run
//!    on both backends. `admin db copy` picks new tables up by itself.

#![warn(missing_docs)]

pub mod accounts;
pub mod copy;
mod db;
pub mod entities;
mod error;
pub mod events;
pub mod jobs;
mod migrate;
mod rows;
pub mod secrets;
pub mod sessions;
pub mod snapshots;
mod store;
pub mod tags;
pub mod tasks;
pub mod testing;
pub mod throttle;
pub mod tokens;

pub use accounts::{AccountScope, AccountUsers, Directory, PendingSignUp};
pub use db::{Backend, ConnectOptions, redact_url};
pub use entities::{AccountEntities, EntityQuery};
pub use error::{MetaError, Result};
pub use events::{EventCursor, EventPage, EventQuery};
pub use jobs::{AccountJobs, ClaimedJob, Enqueued, JobQuery, JobQueue, LeaseState, LeaseToken};
pub use migrate::known_schema_version;
pub use rows::UserRecord;
pub use sessions::{NewSession, SessionRecord};
pub use snapshots::{AccountSnapshots, EntityHistoryPoint, SnapshotSummary};
pub use store::MetaStore;
pub use tags::AccountTags;
pub use tasks::{AccountTasks, ArchivedEntity, DeletedEntity, TaskCatalog};
pub use tokens::{NewEmailToken, TokenPurpose};
