//! Maintenance: `check`, `forget`, `prune`, `remove`, `stats`, `rebuild-catalog`.
//!
//! Prune needs to know which chunks record segments use; the vault core does not read
//! segments itself, so callers pass a [`SegmentChunkRefs`]: the vault's
//! [`SegmentStore`](crate::segments::SegmentStore) (which reads only the segments' chunk
//! column), or [`NoSegmentRefs`] for vaults without record segments.

mod check;
mod live;
mod prune;
mod remove;
mod stats;

use futures::future::BoxFuture;

pub use check::{CheckReport, Problem, check};
pub use live::referenced_chunks;
pub use prune::{
    ForgetReport, PruneOptions, PruneReport, RebuildReport, forget, prune, rebuild_catalog,
};
pub use remove::{REMOVALS_PREFIX, RemovalReport, RemovalRequest, RemovalScope, remove};
pub use stats::{VaultStats, stats};

use crate::chunk_id::ChunkId;
use crate::error::Result;
use crate::segments::SegmentRef;

/// Tells prune and stats which chunks a segment refers to (e.g. record blobs stored in
/// the chunk store), so they are kept while the segment is.
pub trait SegmentChunkRefs: Send + Sync {
    /// The chunks `segment` refers to.
    fn referenced_chunks<'a>(
        &'a self,
        segment: &'a SegmentRef,
    ) -> BoxFuture<'a, Result<Vec<ChunkId>>>;
}

impl SegmentChunkRefs for crate::segments::SegmentStore {
    fn referenced_chunks<'a>(
        &'a self,
        segment: &'a SegmentRef,
    ) -> BoxFuture<'a, Result<Vec<ChunkId>>> {
        Box::pin(crate::segments::SegmentStore::referenced_chunks(
            self, segment,
        ))
    }
}

/// For vaults whose segments refer to no chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSegmentRefs;

impl SegmentChunkRefs for NoSegmentRefs {
    fn referenced_chunks<'a>(
        &'a self,
        _segment: &'a SegmentRef,
    ) -> BoxFuture<'a, Result<Vec<ChunkId>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
