//! Integration tests of the backup engine against the Salesforce emulator.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod dropbox_backup;
mod dropbox_support;

mod failures;
mod full;
mod purge;
mod resume;
mod selected;
