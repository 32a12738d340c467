//! `stats`: logical vs stored bytes, dedup ratio, counts.

use std::collections::HashSet;

use serde::Serialize;

use super::SegmentChunkRefs;
use super::live::referenced_chunks;
use crate::error::Result;
use crate::vault::Vault;

/// Vault figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VaultStats {
    /// Snapshots.
    pub snapshots: u64,
    /// Sum over snapshots of their entities' logical bytes (what restoring every
    /// snapshot would produce).
    pub logical_bytes: u64,
    /// Plaintext bytes of the distinct chunks live snapshots reference.
    pub unique_bytes: u64,
    /// Bytes of every pack (sealed, compressed), live or not.
    pub stored_bytes: u64,
    /// `logical_bytes / stored_bytes` (0 when nothing is stored).
    pub dedup_ratio: f64,
    /// Distinct chunks in the index.
    pub chunks: u64,
    /// Distinct chunks live snapshots reference.
    pub live_chunks: u64,
    /// Packs in the index.
    pub packs: u64,
    /// Packs marked for deletion.
    pub marked_packs: u64,
    /// Index objects.
    pub index_objects: u64,
    /// External content keys known.
    pub content_keys: u64,
}

/// Computes [`VaultStats`].
///
/// # Errors
/// Unreadable manifests or trees; store failures.
pub async fn stats(vault: &Vault, segments: &dyn SegmentChunkRefs) -> Result<VaultStats> {
    let snapshots = vault.snapshots().await?;
    let live = referenced_chunks(vault, &snapshots, segments).await?;
    let index = vault.index();
    let mut seen = HashSet::new();
    let unique_bytes = live
        .iter()
        .filter(|c| seen.insert(**c))
        .filter_map(|c| index.find(c).map(|(_, e)| u64::from(e.raw_len)))
        .sum();
    let logical_bytes: u64 = snapshots
        .iter()
        .flat_map(|s| s.entities.values())
        .map(|e| e.counters.bytes)
        .sum();
    let stored_bytes: u64 = index.packs().iter().map(|p| p.size).sum();
    Ok(VaultStats {
        snapshots: snapshots.len() as u64,
        logical_bytes,
        unique_bytes,
        stored_bytes,
        dedup_ratio: if stored_bytes == 0 {
            0.0
        } else {
            logical_bytes as f64 / stored_bytes as f64
        },
        chunks: index.chunk_count() as u64,
        live_chunks: live.len() as u64,
        packs: index.packs().len() as u64,
        marked_packs: index.marked().len() as u64,
        index_objects: index.objects.len() as u64,
        content_keys: vault.content_key_count() as u64,
    })
}
