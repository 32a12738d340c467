//! Record segments: immutable, key-sorted, encrypted Parquet files per (task, entity).
//!
//! A backup run writes one delta segment per changed entity; compaction writes a new base.
//! A snapshot's manifest lists, per entity, the [`SegmentRef`]s that make up its state, so
//! a point-in-time view is a k-way merge of those segments (newest wins per key).

use serde::{Deserialize, Serialize};

/// A pointer to one segment object, as stored in a snapshot manifest.
///
/// Segments listed for one entity are ordered oldest first; for a key present in several,
/// the version in the later segment wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// Object name relative to the vault root, `segments/<32 hex>.seg`.
    pub object: String,
    /// Number of rows (item versions) in the segment.
    pub rows: u64,
    /// Stored (encrypted) size in bytes.
    pub stored_bytes: u64,
    /// Smallest key in the segment; lets readers skip segments for a point lookup.
    pub min_key: String,
    /// Largest key in the segment.
    pub max_key: String,
}
