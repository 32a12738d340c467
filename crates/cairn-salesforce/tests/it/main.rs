//! Integration tests of the Salesforce connector against the in-process emulator.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod budget;
mod fake_server;
mod metadata;
mod oauth;
mod read;
mod resume;
mod session;
mod support;
mod writes;
