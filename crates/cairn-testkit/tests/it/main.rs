//! End-to-end tests of the application over HTTP: accounts and sign-in, CSRF, sessions,
//! throttling, bad input, operational endpoints, portal pages, backup tasks, and backups
//! through the portal and the workers (`e2e_*`, `takeover`). Each test boots its own app
//! (SQLite, or PostgreSQL when `CAIRN_TEST_POSTGRES_URL` is set).

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod backup_support;
mod support;
mod task_support;

mod bad_input;
mod csrf;
mod e2e_dropbox;
mod e2e_salesforce;
mod ops;
mod password_change;
mod portal;
mod reset;
mod sessions;
mod signup;
mod takeover;
mod task_connect;
mod task_entities;
mod tasks;
mod throttling;
mod usage_report;
