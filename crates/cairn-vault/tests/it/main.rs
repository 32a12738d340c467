//! Integration tests of `cairn-vault`.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod segments_common;
mod segments_corruption;
mod segments_roundtrip;
mod segments_state;
