//! Integration tests of `cairn-emulator`: each emulator is started in-process on
//! `127.0.0.1:0` and driven over HTTP like a real client would.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dropbox_control;
mod dropbox_files;
mod dropbox_headers;
mod dropbox_limits;
mod dropbox_list;
mod dropbox_oauth;
mod dropbox_sessions;
mod dropbox_support;
mod dropbox_team;
mod dropbox_transfer;
mod salesforce_bulk;
mod salesforce_collections;
mod salesforce_control;
mod salesforce_oauth;
mod salesforce_rest;
mod salesforce_rules;
mod salesforce_soap;
mod salesforce_support;
