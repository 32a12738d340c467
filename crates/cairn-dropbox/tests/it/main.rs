//! Integration tests of the Dropbox connector against the in-process emulator (and, for
//! failures the emulator cannot produce, a tiny local HTTP server).

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod discovery;
mod download;
mod fake_server;
mod faults;
mod listing;
mod oauth;
mod support;
mod writes;
