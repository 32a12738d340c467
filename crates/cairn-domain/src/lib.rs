//! Cairn's domain vocabulary, shared by every other crate.
//!
//! This crate owns the typed ids and the plain data model (accounts, users, tasks,
//! entities, snapshots, jobs, events) together with the pure rules on them (password and
//! session policies, throttling). It performs no IO and knows nothing of HTTP, SQL or
//! object storage, so anything here can be unit-tested with values alone; time is passed
//! in as a parameter or through the [`clock::Clock`] trait.

#![warn(missing_docs)]

mod stored_enum;

pub mod account;
pub mod auth;
pub mod clock;
pub mod email;
pub mod entity;
pub mod event;
pub mod ids;
pub mod job;
pub mod password;
pub mod region;
pub mod retention;
pub mod schedule;
pub mod secret;
pub mod snapshot;
pub mod task;

pub use account::{Account, Role, User, UserStatus};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use email::EmailAddress;
pub use entity::{Entity, EntityCounters, EntityKind, EntityStatus, Tag};
pub use ids::{IdParseError, TypedId};
pub use job::{Job, JobKind, JobOutcome, JobStatus, NewJob};
pub use region::{Region, RegionCode};
pub use secret::Secret;
pub use snapshot::{SnapshotOutcome, SnapshotRecord};
pub use task::{BackupTask, ConnectionStatus, Environment, Service, TaskSettings};
