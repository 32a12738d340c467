//! Integration tests of the scheduler, the worker pool and maintenance, on SQLite always
//! and on PostgreSQL when `CAIRN_TEST_POSTGRES_URL` is set.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod harness;

mod maintenance;
mod scheduler;
mod worker;
