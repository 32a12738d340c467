//! The Salesforce connector: everything Cairn needs from the Salesforce APIs to back up an
//! org, and nothing about storage. It yields record versions, blob streams and metadata
//! components; the caller stores them.
//!
//! - [`SalesforceApp`] — the connected app and its endpoints (real login hosts or the
//!   emulator's: base URLs and CA are configuration). OAuth web-server flow with PKCE:
//!   [`SalesforceApp::authorize_url`], [`SalesforceApp::callback_code`],
//!   [`SalesforceApp::exchange_code`], [`SalesforceApp::refresh`], [`SalesforceApp::revoke`].
//! - [`Session`] — one org's tokens, shared by every worker of the org (see
//!   [`SessionRegistry`]): on `INVALID_SESSION_ID` exactly one refresh runs and the others
//!   wait for it; new tokens go to a [`TokenSink`]; a refused refresh token makes the
//!   session [`SalesforceError::Disconnected`].
//! - [`OrgClient`] — calls with the [`ApiBudget`] (the task's daily API limit %, read from
//!   `/limits` and `Sforce-Limit-Info`; [`SalesforceError::BudgetExhausted`] when spent)
//!   and retries with backoff and jitter for 5xx, 429 and concurrency limits.
//! - Discovery: [`OrgClient::backup_objects`], [`OrgClient::describe`].
//! - Records: [`OrgClient::read_records`] reads an object incrementally from a
//!   [`Checkpoint`] (REST `queryAll` pages or a Bulk API 2.0 job above a threshold) as
//!   canonical [`RecordVersion`]s, page by page with the checkpoint to persist;
//!   [`OrgClient::fetch_records`] reads named records live.
//! - Deletes: [`OrgClient::deleted_since`] (getDeleted) and [`OrgClient::all_ids`] for
//!   reconciliation ([`hard_deleted`]).
//! - Blobs: [`OrgClient::blob`] streams a binary field.
//! - Restore writes ([`writes`]): sObject Collections create / update / delete (≤ 200 per
//!   call, per-item results, `UNABLE_TO_LOCK_ROW` retried) and SOAP `undelete`.
//! - Metadata: [`OrgClient::metadata_types`], [`OrgClient::retrieve_metadata`] (components
//!   as items keyed `type/fullName`).
//!
//! # A backup run, as a job drives it
//!
//! 1. Connect once: [`SalesforceApp::authorize_url`] (keep the state and [`Pkce`]
//!    verifier server-side), then on the callback [`SalesforceApp::callback_code`] and
//!    [`SalesforceApp::exchange_code`]; store the [`TokenSet`] encrypted.
//! 2. Per run: get the org's [`Session`] from a process-wide [`SessionRegistry`] (with a
//!    [`TokenSink`] that persists refreshed tokens and can read them back), make an
//!    [`OrgClient`] with an [`ApiBudget`] of the task's limit %, call
//!    [`OrgClient::load_limits`].
//! 3. Per entity (object): [`OrgClient::deleted_since`] with the stored [`DeleteCursor`];
//!    then [`OrgClient::read_records`] from the stored [`Checkpoint`] (use
//!    [`Checkpoint::next_run`] once a read is done) and store each [`Page`]'s records
//!    before persisting its checkpoint; stream [`RecordVersion::blob_fields`] with
//!    [`OrgClient::blob`]. If the scan says `needs_reconciliation`, compare the stored ids
//!    with [`OrgClient::all_ids`] ([`hard_deleted`]). Persist the new delete cursor.
//! 4. [`SalesforceError::BudgetExhausted`] → the run is Partial, the next run resumes
//!    from the checkpoints; [`SalesforceError::Disconnected`] → the task is Disconnected.
//!
//! Behaviour follows `research/salesforce-api.md`; section numbers in comments refer to it.

#![warn(missing_docs)]

pub mod app;
pub mod blobs;
pub mod budget;
mod bulk;
pub mod client;
pub mod config;
pub mod deleted;
pub mod describe;
pub mod error;
pub mod metadata;
pub mod oauth;
pub mod read;
pub mod record;
pub mod tokens;
pub mod watermark;
pub mod writes;
mod xml;

pub use app::SalesforceApp;
pub use blobs::{Blob, BlobStream};
pub use budget::{ApiBudget, BudgetStatus, parse_limit_info};
pub use cairn_domain::Secret;
pub use client::{ClientStats, OrgClient};
pub use config::{Environment, RetryPolicy, SalesforceConfig, Timeouts};
pub use deleted::{DeleteCursor, DeletedRecord, DeletedScan, hard_deleted};
pub use describe::{FieldInfo, ObjectSchema, SObjectInfo};
pub use error::{ErrorKind, SalesforceError};
pub use metadata::{MetadataComponent, MetadataType};
pub use oauth::{Pkce, TokenSet, random_state};
pub use read::{Page, ReadPath, RecordReader};
pub use record::{RecordVersion, canonical_record, format_datetime, parse_datetime};
pub use tokens::{DiscardTokens, Session, SessionRegistry, TokenSink};
pub use watermark::{Checkpoint, Cursor, Watermark};
pub use writes::{WriteError, WriteResult};
