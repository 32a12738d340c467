//! The meta store contract suite.
//!
//! Every test is one `async fn(MetaStore)` and runs twice: `<module>::sqlite::<test>`
//! always, and `<module>::postgres::<test>` against a fresh database when
//! `CAIRN_TEST_POSTGRES_URL` is set (otherwise it prints that it was skipped).

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod harness;

mod accounts;
mod archived;
mod copy;
mod entities;
mod events;
mod jobs;
mod migrations;
mod sessions;
mod snapshots;
mod tasks;
mod throttle;
mod tokens;
