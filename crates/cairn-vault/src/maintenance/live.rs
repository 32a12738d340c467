//! The set of chunks live snapshots reference.

use std::collections::HashSet;

use super::SegmentChunkRefs;
use crate::chunk_id::ChunkId;
use crate::error::Result;
use crate::snapshot::SnapshotManifest;
use crate::vault::Vault;

/// Every chunk (trees included) the snapshots reference, directly, through their trees,
/// or through their segments.
///
/// # Errors
/// An unreadable tree or segment reference: the set would be incomplete, so callers that
/// delete must stop.
pub async fn referenced_chunks(
    vault: &Vault,
    snapshots: &[SnapshotManifest],
    segments: &dyn SegmentChunkRefs,
) -> Result<HashSet<ChunkId>> {
    let mut live = HashSet::new();
    let mut trees = Vec::new();
    for snapshot in snapshots {
        for entity in snapshot.entities.values() {
            live.extend(entity.chunks.iter().copied());
            if let Some(t) = entity.tree {
                trees.push(t);
            }
            for seg in &entity.segments {
                live.extend(segments.referenced_chunks(seg).await?);
            }
        }
    }
    let mut seen = HashSet::new();
    while let Some(id) = trees.pop() {
        if !seen.insert(id) {
            continue;
        }
        live.insert(id);
        let tree = vault.read_tree(&id).await?;
        for node in tree.nodes {
            live.extend(node.chunks);
            if let Some(sub) = node.subtree {
                trees.push(sub);
            }
        }
    }
    Ok(live)
}
