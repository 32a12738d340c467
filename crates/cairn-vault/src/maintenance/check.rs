//! `check`: is every object a snapshot needs present, readable and consistent?
//!
//! Structure (always): key and config open; every index, mark and content-key object
//! opens; every indexed pack exists with the indexed size and a trailer that agrees with
//! the index; every snapshot opens; every tree opens; every chunk a snapshot refers to is
//! indexed; every segment object exists. With `read_data`: every blob of every pack is
//! decrypted, decompressed and its id recomputed.
//!
//! Each problem names the one object at fault. Packs the index does not list are
//! warnings only (leftovers of interrupted writers, which prune removes); their trailers
//! are read so a damaged index object does not make every snapshot look broken.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use serde::Serialize;

use crate::backend::Backend;
use crate::chunk_id::ChunkId;
use crate::crypto::MasterKey;
use crate::error::{Result, VaultError};
use crate::index::PackRecord;
use crate::pack::{
    BlobEntry, PACKS_PREFIX, open_blob, pack_id_of, pack_object, parse_trailer, trailer_span,
};
use crate::snapshot::snapshot_object;
use crate::vault::Vault;

/// One thing wrong, attributed to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The object at fault (relative name).
    pub object: String,
    /// What is wrong.
    pub detail: String,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Whether no problem was found.
    pub ok: bool,
    /// Problems; empty when `ok`.
    pub problems: Vec<Problem>,
    /// Harmless findings (unindexed leftover packs).
    pub warnings: Vec<Problem>,
    /// Snapshots checked.
    pub snapshots: u64,
    /// Packs checked.
    pub packs: u64,
    /// Distinct chunks referenced by snapshots.
    pub chunks_referenced: u64,
    /// Blobs whose data was verified (`read_data`).
    pub blobs_verified: u64,
    /// Whether data was read.
    pub read_data: bool,
}

impl CheckReport {
    fn problem(&mut self, object: impl Into<String>, detail: impl std::fmt::Display) {
        self.problems.push(Problem {
            object: object.into(),
            detail: detail.to_string(),
        });
    }
}

/// The object an open error is about, when the message names one.
fn object_of_open_error(e: &VaultError) -> String {
    match e {
        VaultError::Integrity { what } => what.split(' ').next().unwrap_or("config").to_owned(),
        VaultError::Format { object, .. } => object.clone(),
        VaultError::NotFound(o) => o.clone(),
        _ => "config".to_owned(),
    }
}

/// Checks the vault at `backend`.
///
/// # Errors
/// Only store failures that prevent checking at all (listing); damaged objects are
/// reported in the [`CheckReport`].
pub async fn check(backend: Backend, master: &MasterKey, read_data: bool) -> Result<CheckReport> {
    let mut report = CheckReport {
        read_data,
        ..CheckReport::default()
    };
    let (vault, problems) = match Vault::open_inner(backend, master, true).await {
        Ok(v) => v,
        Err(e @ (VaultError::Integrity { .. } | VaultError::Format { .. })) => {
            report.problem(object_of_open_error(&e), &e);
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    for (object, detail) in problems {
        report.problem(object, detail);
    }

    // Packs: presence, size, trailer vs index.
    let listed: HashMap<String, u64> = vault
        .backend()
        .list(PACKS_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| pack_id_of(&o.name).map(|id| (id.to_owned(), o.size)))
        .collect();
    let indexed: Vec<PackRecord> = vault.index().packs().to_vec();
    let indexed_ids: HashSet<&str> = indexed.iter().map(|p| p.id.as_str()).collect();
    let mut trailers: HashMap<String, Vec<BlobEntry>> = HashMap::new();
    let reads = listed.iter().map(|(id, size)| {
        let vault = vault.clone();
        async move { (id.clone(), read_trailer(&vault, id, *size).await) }
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(8)
        .collect()
        .await;
    for (id, result) in results {
        match result {
            Ok(entries) => {
                trailers.insert(id, entries);
            }
            Err(e) => report.problem(pack_object(&id), e),
        }
    }
    let mut extra = crate::index::Index::default();
    for pack in &indexed {
        let object = pack_object(&pack.id);
        match listed.get(&pack.id) {
            None => report.problem(&object, "listed in the index but missing"),
            Some(size) if *size != pack.size => {
                report.problem(&object, format!("size {size}, index says {}", pack.size))
            }
            Some(_) => {
                if let Some(entries) = trailers.get(&pack.id)
                    && *entries != pack.blobs
                {
                    report.problem(&object, "trailer and index disagree");
                }
            }
        }
    }
    for (id, size) in &listed {
        if !indexed_ids.contains(id.as_str()) {
            report.warnings.push(Problem {
                object: pack_object(id),
                detail: "not in the index (left by an interrupted write; prune removes it)".into(),
            });
            if let Some(entries) = trailers.get(id) {
                extra.add_pack(PackRecord {
                    id: id.clone(),
                    size: *size,
                    blobs: entries.clone(),
                });
            }
        }
    }
    report.packs = listed.len() as u64;

    // Snapshots, trees, references.
    let (snapshots, bad) = vault.snapshots_lenient().await?;
    for (object, e) in bad {
        report.problem(object, e);
    }
    report.snapshots = snapshots.len() as u64;
    let locate = |id: &ChunkId| -> Option<String> {
        vault
            .index()
            .find(id)
            .map(|(p, _)| pack_object(p))
            .or_else(|| extra.find(id).map(|(p, _)| pack_object(p)))
    };
    let mut referenced = HashSet::new();
    let mut seen_trees = HashSet::new();
    for snapshot in &snapshots {
        let object = snapshot_object(&snapshot.id);
        let mut trees = Vec::new();
        for (name, entity) in &snapshot.entities {
            for c in &entity.chunks {
                referenced.insert(*c);
            }
            trees.extend(entity.tree);
            for seg in &entity.segments {
                if vault.backend().head(&seg.object).await?.is_none() {
                    report.problem(
                        &seg.object,
                        format!("segment of entity {name} in {object} is missing"),
                    );
                }
            }
        }
        while let Some(tree_id) = trees.pop() {
            if !seen_trees.insert(tree_id) {
                continue;
            }
            referenced.insert(tree_id);
            let Some(pack) = locate(&tree_id) else {
                continue;
            };
            let tree = if vault.index().contains(&tree_id) {
                vault.read_tree(&tree_id).await
            } else {
                read_tree_via(&vault, &extra, &tree_id).await
            };
            match tree {
                Ok(tree) => {
                    for node in tree.nodes {
                        referenced.extend(node.chunks);
                        trees.extend(node.subtree);
                    }
                }
                Err(e) => report.problem(pack, e),
            }
        }
    }
    report.chunks_referenced = referenced.len() as u64;
    let mut missing: Vec<&ChunkId> = referenced.iter().filter(|c| locate(c).is_none()).collect();
    missing.sort();
    if !missing.is_empty() {
        // Name the snapshots that need them.
        for snapshot in &snapshots {
            let needs = snapshot_needs_any(&vault, snapshot, &missing).await;
            if needs {
                report.problem(
                    snapshot_object(&snapshot.id),
                    format!(
                        "refers to {} chunk(s) found in no pack, e.g. {}",
                        missing.len(),
                        missing[0]
                    ),
                );
            }
        }
    }

    if read_data {
        let packs: Vec<(String, u64)> = listed.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let verifies = packs.into_iter().filter_map(|(id, _)| {
            let entries = trailers.get(&id)?.clone();
            let vault = vault.clone();
            Some(async move { (id.clone(), verify_pack(&vault, &id, entries).await) })
        });
        let results: Vec<_> = futures::stream::iter(verifies)
            .buffer_unordered(2)
            .collect()
            .await;
        for (id, result) in results {
            match result {
                Ok(n) => report.blobs_verified += n,
                Err(e) => report.problem(pack_object(&id), e),
            }
        }
    }
    report.problems.sort_by(|a, b| a.object.cmp(&b.object));
    report
        .problems
        .dedup_by(|a, b| a.object == b.object && a.detail == b.detail);
    report.ok = report.problems.is_empty();
    Ok(report)
}

async fn snapshot_needs_any(
    vault: &Vault,
    snapshot: &crate::snapshot::SnapshotManifest,
    missing: &[&ChunkId],
) -> bool {
    let missing: HashSet<&ChunkId> = missing.iter().copied().collect();
    let one = [snapshot.clone()];
    match super::live::referenced_chunks(vault, &one, &super::NoSegmentRefs).await {
        Ok(live) => live.iter().any(|c| missing.contains(c)),
        Err(_) => true,
    }
}

async fn read_tree_via(
    vault: &Vault,
    extra: &crate::index::Index,
    id: &ChunkId,
) -> Result<crate::tree::Tree> {
    let (pack, entry) = extra
        .find(id)
        .ok_or_else(|| VaultError::MissingChunk(id.to_string()))?;
    let object = pack_object(pack);
    let entry = *entry;
    let sealed = vault
        .backend()
        .get_range(
            &object,
            u64::from(entry.offset)..u64::from(entry.offset) + u64::from(entry.len),
        )
        .await?;
    let raw = open_blob(vault.keys(), &entry, &sealed, &object)?;
    serde_json::from_slice(&raw).map_err(|e| VaultError::format(object, e))
}

/// Reads and parses a pack's trailer.
pub(crate) async fn read_trailer(vault: &Vault, id: &str, size: u64) -> Result<Vec<BlobEntry>> {
    let object = pack_object(id);
    if size < 4 {
        return Err(VaultError::format(&object, "too short for a pack"));
    }
    let last = vault.backend().get_range(&object, size - 4..size).await?;
    let mut last4 = [0u8; 4];
    last4.copy_from_slice(&last);
    let span = trailer_span(&last4);
    if span > size {
        return Err(VaultError::Integrity {
            what: format!("{object} (trailer length exceeds the pack)"),
        });
    }
    let tail = vault
        .backend()
        .get_range(&object, size - span..size)
        .await?;
    parse_trailer(&vault.keys().meta, id, &tail, size)
}

async fn verify_pack(vault: &Vault, id: &str, entries: Vec<BlobEntry>) -> Result<u64> {
    let object = pack_object(id);
    let bytes = vault.backend().get(&object).await?;
    let keys = vault.keys().clone();
    tokio::task::spawn_blocking(move || {
        for e in &entries {
            let sealed = &bytes[e.offset as usize..(e.offset + e.len) as usize];
            open_blob(&keys, e, sealed, &object)?;
        }
        Ok(entries.len() as u64)
    })
    .await
    .map_err(|e| VaultError::Worker(e.to_string()))?
}
