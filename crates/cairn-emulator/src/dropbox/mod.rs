//! The Dropbox Business API v2 emulator.
//!
//! A stateful, wire-faithful emulator of the api / content / notify hosts: OAuth 2 with a
//! consent page, team routes, files routes with stable cursors, uploads and upload
//! sessions, downloads with `Range`, rate limits, the data-transport quota, fault
//! injection, and a control API under `/__emulator/`. Behaviour follows
//! `research/dropbox-api.md`; the official Python SDK works against it unchanged.
//!
//! The team is generated deterministically from a seed ([`generator`]); file bytes are
//! produced on the fly ([`content`]), so a 20 GiB team costs memory for its metadata only.
//! With a data directory, every change is journaled ([`persist`]) and replayed on start,
//! which keeps ids, revisions and cursors stable across restarts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cairn_emulator::EmulatorError> {
//! use cairn_emulator::dropbox::{DropboxOptions, start};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
//!     cairn_emulator::EmulatorError::io("binding", e)
//! })?;
//! let dropbox = start(listener, DropboxOptions::default()).await?;
//! println!("{} {}", dropbox.api_url(), dropbox.credentials().team_token);
//! dropbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod blobs;
pub mod content;
pub mod content_hash;
pub mod control;
mod control_http;
pub mod cursor;
pub mod download;
pub mod dump;
pub mod files;
pub mod form;
pub mod generator;
pub mod hashes;
pub mod ids;
pub mod limits;
pub mod list;
pub mod metadata;
pub mod model;
pub mod mutate;
pub mod names;
pub mod oauth;
mod oauth_pages;
pub mod ops;
pub mod persist;
pub mod rng;
pub mod route_errors;
pub mod routes;
mod server;
pub mod session_batch;
pub mod sessions;
pub mod state;
pub mod structure;
pub mod team_routes;
pub mod tokens;
pub mod tree;
pub mod upload;
pub mod view;
pub mod wire;
pub mod writes;

pub use control::{AddMemberRequest, Control, DumpEntry, Info, MemberSummary};
pub use generator::TeamSpec;
pub use limits::{CountersSnapshot, Faults, RateLimit, TransportQuota};
pub use mutate::{MutateReport, MutateRequest};
pub use server::{Credentials, DropboxOptions, Listeners, RunningDropbox, start};
