//! Cairn's backup engine: runs a task's backup from a connector into the account's vault
//! and records the snapshot. It sits between the connectors, the vault and the meta store
//! below and the job runners above; it creates no runtime and knows no HTTP framework.
//!
//! - [`AccountVaults`]: one vault per account, opened or created on first use, cached.
//! - [`TokenCipher`] / [`MetaTokenSink`]: task OAuth tokens sealed at rest, refreshed
//!   tokens persisted.
//! - [`SalesforceBackup`]: a Salesforce backup run (see [`salesforce`] for the steps).
//! - [`DropboxBackup`]: a Dropbox backup run (see [`dropbox`] for the steps).
//! - [`pit`]: reading an entity back at a snapshot and comparing it with a source.
//! - [`VaultDataRemover`]: removes purged tasks' and entities' data from the vault.
//! - [`Progress`]: how a run reports to its job and learns it should stop;
//!   [`BackupRunner`] runs backup jobs of the worker pool with it.

#![warn(missing_docs)]

mod commit;
mod context;
pub mod dropbox;
mod error;
pub mod pit;
mod progress;
mod removal;
mod runner;
pub mod salesforce;
mod tokens;
mod vaults;

pub use context::{BackupContext, BackupOptions};
pub use dropbox::DropboxBackup;
pub use error::{BackupError, Result};
pub use progress::{NoProgress, Progress};
pub use removal::{VaultDataRemover, entity_manifest_key};
pub use runner::BackupRunner;
pub use salesforce::{EntityResult, RunOutcome, RunStatus, SalesforceBackup, manifest_key};
pub use tokens::{MetaTokenSink, TokenCipher};
pub use vaults::{AccountVaults, account_prefix};
