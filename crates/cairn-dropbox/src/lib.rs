//! The Dropbox Business connector: everything Cairn needs from the Dropbox API v2 to back
//! up a team, and nothing about storage.
//!
//! - [`DropboxApp`] — the registered app and its endpoints (real Dropbox or the emulator:
//!   base URLs and CA are configuration). OAuth for team-linked apps:
//!   [`DropboxApp::authorize_url`] (offline access, PKCE S256), [`DropboxApp::exchange_code`],
//!   [`DropboxApp::refresh`], [`DropboxApp::revoke`].
//! - [`TeamClient`] — built from a [`TokenSet`] with [`DropboxApp::team`]: refreshes the
//!   access token on expiry (telling a [`TokenSink`]), maps revoked access to
//!   [`DropboxError::Disconnected`], waits out 429s and backs off on 5xx, and limits
//!   concurrent calls per acting member ([`MemberLimiter`]).
//! - Discovery ([`TeamClient::discover`]) turns members, team folders and namespaces into
//!   [`Entity`]s, each namespace exactly once (see [`entity`] for the model).
//! - [`TeamClient::list_changes`] lists an entity in full or from a cursor, page by page,
//!   with the cursor to persist after each page; [`TeamClient::download`] streams a file
//!   revision and verifies its [`ContentHash`].
//! - Restore writes ([`writes`]): folders, uploads (single call or upload session) and
//!   `files/restore` of a revision Dropbox still has.
//!
//! Behaviour follows `research/dropbox-api.md`; section numbers in comments refer to it.

#![warn(missing_docs)]

pub mod app;
pub mod client;
pub mod config;
pub mod content_hash;
pub mod discovery;
pub mod download;
pub mod entity;
pub mod error;
pub mod limiter;
pub mod listing;
pub mod metadata;
pub mod oauth;
pub mod observe;
pub mod team;
pub mod tokens;
mod transport;
pub mod writes;

pub use app::DropboxApp;
pub use cairn_domain::Secret;
pub use client::{TeamClient, TeamClientBuilder};
pub use config::{DropboxConfig, RetryPolicy, Timeouts};
pub use content_hash::{ContentHash, ContentHasher};
pub use discovery::Discovery;
pub use download::Download;
pub use entity::{Access, Entity, EntityKind, EntityStatus};
pub use error::{ApiFailure, DropboxError, ErrorKind, MemberUnavailableReason};
pub use limiter::MemberLimiter;
pub use listing::{ListPage, PollResult};
pub use metadata::{Change, FileEntry, FolderEntry};
pub use oauth::{AccessToken, Pkce, TokenSet, random_state};
pub use observe::{ClientObserver, ClientStats, NoObserver, RateLimitEvent, RetryEvent};
pub use team::{
    Member, MemberStatus, Namespace, NamespaceType, TeamFeatures, TeamFolder, TeamFolderStatus,
    TeamInfo,
};
pub use tokens::{DiscardTokens, TokenSink};
pub use writes::{Commit, WriteMode};
