//! End-to-end tests of the application over HTTP: accounts and sign-in, CSRF, sessions,
//! throttling, bad input, operational endpoints, portal pages. Each test boots its own app
//! (SQLite, or PostgreSQL when `CAIRN_TEST_POSTGRES_URL` is set).

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod support;

mod bad_input;
mod csrf;
mod ops;
mod password_change;
mod portal;
mod reset;
mod sessions;
mod signup;
mod tasks;
mod throttling;
mod usage_report;
