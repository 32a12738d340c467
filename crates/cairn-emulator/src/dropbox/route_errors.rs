//! Building the route error unions (`LookupError`, `WriteError` and the routes' own unions
//! around them) from the emulator's internal refusals.

use serde_json::Value;

use super::tree::TreeError;
use super::view::PathError;
use super::wire::{ApiError, nested, tag};

/// `LookupError` for a path that could not be resolved.
#[must_use]
pub fn lookup(e: &PathError) -> Value {
    match e {
        PathError::Malformed(why) => nested("malformed_path", Value::String(why.clone())),
        PathError::NotFound => tag("not_found"),
    }
}

/// `WriteError` for a path that could not be resolved as a write target.
#[must_use]
pub fn write_path(e: &PathError) -> Value {
    match e {
        PathError::Malformed(why) => nested("malformed_path", Value::String(why.clone())),
        PathError::NotFound => tag("no_write_permission"),
    }
}

/// `LookupError` for a tree refusal about the source of an operation.
#[must_use]
pub fn tree_lookup(e: TreeError) -> Value {
    match e {
        TreeError::NotFile => tag("not_file"),
        TreeError::NotFolder => tag("not_folder"),
        _ => tag("not_found"),
    }
}

/// `WriteError` for a tree refusal about the target of an operation.
#[must_use]
pub fn tree_write(e: TreeError) -> Value {
    match e {
        TreeError::ConflictFile => nested("conflict", tag("file")),
        TreeError::ConflictFolder => nested("conflict", tag("folder")),
        TreeError::ConflictFileAncestor => nested("conflict", tag("file_ancestor")),
        TreeError::NoNamespace => tag("no_write_permission"),
        _ => tag("no_write_permission"),
    }
}

/// A 409 whose error is `{".tag": outer, outer: inner}`.
#[must_use]
pub fn conflict(outer: &str, inner: Value) -> ApiError {
    ApiError::Route(nested(outer, inner))
}
