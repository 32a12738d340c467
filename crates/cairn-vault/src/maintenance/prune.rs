//! `forget`, two-phase `prune`, and `rebuild-catalog`.
//!
//! Prune, per run:
//! 1. computes the chunks live snapshots reference (trees, chunk refs, segments);
//! 2. marks packs older than the grace period that hold nothing live, and packs no
//!    index lists (leftovers of crashed writers); repacks partly used packs (copying the
//!    sealed live blobs as they are into new packs) and marks the originals;
//! 3. deletes packs marked at least the grace period ago whose live blobs (if any) are
//!    all available in packs that stay; a marked pack that is needed again (a concurrent
//!    writer deduplicated against it before the mark) is unmarked instead;
//! 4. writes a consolidated index (superseding the ones it read), a new marks object,
//!    and only then deletes old index objects, packs and old marks objects.
//!
//! A crash anywhere leaves either the old or the new catalog, both complete for every
//! live snapshot. Packs younger than the grace period are never marked, so packs a
//! concurrent writer uploads (before its index and manifest) are safe.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;

use cairn_domain::retention::{RetentionPolicy, apply};

use super::SegmentChunkRefs;
use super::check::read_trailer;
use super::live::referenced_chunks;
use crate::backend::Backend;
use crate::crypto::MasterKey;
use crate::error::{Result, VaultError};
use crate::index::{INDEX_PREFIX, Index, IndexFile, PackRecord, index_object, write_index};
use crate::marks::{MARKS_PREFIX, MapFile, Marks, load_map, write_map};
use crate::pack::{PACKS_PREFIX, PackBuilder, pack_id_of, pack_object};
use crate::vault::Vault;

/// What [`forget`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ForgetReport {
    /// Snapshots kept, with the rules that keep them.
    pub kept: BTreeMap<String, Vec<&'static str>>,
    /// Snapshots removed (or that would be, with `dry_run`).
    pub removed: Vec<String>,
    /// Whether nothing was deleted.
    pub dry_run: bool,
}

/// Deletes the manifests of snapshots `policy` does not keep. Data goes at the next
/// prune. An empty policy is refused (it would keep everything anyway, and a typo
/// should not look like success).
///
/// # Errors
/// [`VaultError::Invalid`] for an empty policy; unreadable manifests; store failures.
pub async fn forget(
    vault: &Vault,
    policy: &RetentionPolicy,
    dry_run: bool,
) -> Result<ForgetReport> {
    if policy.is_empty() {
        return Err(VaultError::Invalid(
            "no keep rule given (e.g. --keep-last 7)".into(),
        ));
    }
    let snapshots = vault.snapshots().await?;
    let times: Vec<_> = snapshots.iter().map(|s| s.time).collect();
    let mut report = ForgetReport {
        dry_run,
        ..ForgetReport::default()
    };
    for decision in apply(policy, &times, Utc::now()) {
        let id = snapshots[decision.position].id.clone();
        if decision.keep {
            report.kept.insert(id, decision.reasons);
        } else {
            if !dry_run {
                vault.delete_snapshot(&id).await?;
            }
            report.removed.push(id);
        }
    }
    Ok(report)
}

/// Options of [`prune`].
#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    /// How long a pack stays marked before deletion, and how old a pack must be to be
    /// marked. Zero deletes at the second run: only safe without concurrent writers.
    pub grace: Duration,
    /// Repack a pack when more than this fraction of its bytes is unused.
    pub max_unused: f64,
    /// Report without changing anything.
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(24 * 3600),
            max_unused: 0.2,
            dry_run: false,
        }
    }
}

/// What [`prune`] did (or would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// Packs newly marked for deletion.
    pub marked: u64,
    /// Marked packs unmarked because a snapshot needs them again.
    pub unmarked: u64,
    /// Packs deleted.
    pub deleted: u64,
    /// Bytes of packs deleted.
    pub deleted_bytes: u64,
    /// Packs repacked.
    pub repacked: u64,
    /// New packs written by repacking.
    pub new_packs: u64,
    /// Packs still marked, waiting for their grace period.
    pub waiting: u64,
    /// Chunks referenced by live snapshots.
    pub live_chunks: u64,
    /// Whether nothing was changed.
    pub dry_run: bool,
}

/// Runs one prune pass (see the module documentation).
///
/// # Errors
/// Any unreadable manifest or tree stops prune before it deletes anything (the live set
/// would be incomplete); store failures.
pub async fn prune(
    vault: &Vault,
    segments: &dyn SegmentChunkRefs,
    options: PruneOptions,
) -> Result<PruneReport> {
    // Index objects are listed before the catalog is loaded: an index a concurrent writer
    // adds after this list is neither superseded nor deleted.
    let index_ids: Vec<String> = vault
        .backend()
        .list(INDEX_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| o.name.rsplit('/').next().map(str::to_owned))
        .collect();
    vault.reload().await?;
    let now = Utc::now();
    let grace = chrono::Duration::from_std(options.grace)
        .map_err(|e| VaultError::Invalid(e.to_string()))?;
    let snapshots = vault.snapshots().await?;
    let live = referenced_chunks(vault, &snapshots, segments).await?;
    let mut report = PruneReport {
        live_chunks: live.len() as u64,
        dry_run: options.dry_run,
        ..PruneReport::default()
    };
    let backend = vault.backend();
    let meta = &vault.keys().meta;
    let (old_marks, mark_ids, _) = load_map::<Marks>(backend, meta, MARKS_PREFIX, false).await?;
    let listed = backend.list(PACKS_PREFIX).await?;
    let index = vault.index().clone();

    let mut marks: Marks = old_marks.clone();
    let mut to_repack: Vec<&PackRecord> = Vec::new();
    for object in &listed {
        let Some(id) = pack_id_of(&object.name) else {
            continue;
        };
        if marks.contains_key(id) || object.last_modified > now - grace {
            continue;
        }
        match index.pack(id) {
            None => {
                marks.insert(id.to_owned(), now);
                report.marked += 1;
            }
            Some(record) => {
                let mut seen = HashSet::new();
                let used: u64 = record
                    .blobs
                    .iter()
                    .filter(|b| live.contains(&b.id) && seen.insert(b.id))
                    .map(|b| u64::from(b.len))
                    .sum();
                let total: u64 = record.blobs.iter().map(|b| u64::from(b.len)).sum();
                if used == 0 {
                    marks.insert(id.to_owned(), now);
                    report.marked += 1;
                } else if (total - used) as f64 > options.max_unused * total as f64 {
                    to_repack.push(record);
                }
            }
        }
    }

    // Repack: copy live blobs not held by another unmarked, non-repacked pack.
    let mut new_records = Vec::new();
    if !to_repack.is_empty() && !options.dry_run {
        let repack_ids: HashSet<&str> = to_repack.iter().map(|r| r.id.as_str()).collect();
        let mut copied = HashSet::new();
        let mut builder = PackBuilder::new(vault.config().pack_size as usize + 1024 * 1024);
        for record in &to_repack {
            let object = pack_object(&record.id);
            let bytes = backend.get(&object).await?;
            for blob in &record.blobs {
                if !live.contains(&blob.id) || !copied.insert(blob.id) {
                    continue;
                }
                let elsewhere = index.find(&blob.id).is_some_and(|(p, _)| {
                    p != record.id && !repack_ids.contains(p) && !marks.contains_key(p)
                });
                if elsewhere {
                    continue;
                }
                let sealed = bytes
                    .get(blob.offset as usize..(blob.offset + blob.len) as usize)
                    .ok_or_else(|| VaultError::format(&object, "blob outside the pack"))?;
                builder.push(blob.id, blob.kind, blob.raw_len, blob.compressed, sealed);
                if builder.len() as u64 >= vault.config().pack_size {
                    let full = std::mem::replace(
                        &mut builder,
                        PackBuilder::new(vault.config().pack_size as usize),
                    );
                    new_records.push(upload(backend, full, meta).await?);
                }
            }
            marks.insert(record.id.clone(), now);
            report.repacked += 1;
        }
        if !builder.is_empty() {
            new_records.push(upload(backend, builder, meta).await?);
        }
        report.new_packs = new_records.len() as u64;
    }

    // A view where every marked pack is a last resort: which marked packs are needed?
    let mut view = Index::with_marked(marks.keys().cloned().collect());
    for record in new_records.iter().chain(index.packs()) {
        view.add_pack(record.clone());
    }
    let needed: HashSet<String> = live
        .iter()
        .filter_map(|c| view.find(c).map(|(p, _)| p.to_owned()))
        .filter(|p| marks.contains_key(p))
        .collect();
    let mut delete = Vec::new();
    for (id, at) in &old_marks {
        if needed.contains(id) {
            marks.remove(id);
            report.unmarked += 1;
        } else if *at + grace <= now {
            delete.push(id.clone());
        }
    }
    for id in &needed {
        if marks.remove(id).is_some() && !old_marks.contains_key(id) {
            report.marked = report.marked.saturating_sub(1);
        }
    }
    let sizes: BTreeMap<&str, u64> = listed
        .iter()
        .filter_map(|o| pack_id_of(&o.name).map(|id| (id, o.size)))
        .collect();
    report.deleted = delete.len() as u64;
    report.deleted_bytes = delete.iter().filter_map(|id| sizes.get(id.as_str())).sum();
    for id in &delete {
        marks.remove(id);
    }
    report.waiting = marks.len() as u64;
    if options.dry_run {
        return Ok(report);
    }

    // Catalog first, then deletions.
    let deleting: HashSet<&str> = delete.iter().map(String::as_str).collect();
    let consolidated = IndexFile {
        supersedes: index_ids.clone(),
        packs: new_records
            .iter()
            .chain(index.packs())
            .filter(|p| !deleting.contains(p.id.as_str()))
            .cloned()
            .collect(),
    };
    write_index(backend, meta, &consolidated).await?;
    write_map(
        backend,
        meta,
        MARKS_PREFIX,
        &MapFile {
            supersedes: mark_ids.clone(),
            entries: marks,
        },
    )
    .await?;
    for id in &index_ids {
        backend.delete(&index_object(id)).await?;
    }
    for id in &delete {
        backend.delete(&pack_object(id)).await?;
    }
    for id in &mark_ids {
        backend.delete(&format!("{MARKS_PREFIX}/{id}")).await?;
    }
    vault.reload().await?;
    Ok(report)
}

async fn upload(
    backend: &Backend,
    builder: PackBuilder,
    meta: &crate::crypto::SubKey,
) -> Result<PackRecord> {
    let pack = builder.finish(meta)?;
    let size = pack.bytes.len() as u64;
    backend
        .put_large(&pack_object(&pack.id), Bytes::from(pack.bytes))
        .await?;
    Ok(PackRecord {
        id: pack.id,
        size,
        blobs: pack.entries,
    })
}

/// What [`rebuild_catalog`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildReport {
    /// Packs whose trailers were read into the new index.
    pub packs: u64,
    /// Distinct chunks indexed.
    pub chunks: u64,
    /// Index objects replaced.
    pub replaced_index_objects: u64,
    /// Snapshots readable with the new index.
    pub snapshots: u64,
    /// Packs whose trailer could not be read (left out).
    pub unreadable_packs: Vec<String>,
}

/// Rebuilds the chunk index from the packs' own trailers (the vault alone is the source
/// of truth): writes one index object superseding all others, then deletes them.
///
/// # Errors
/// Store failures; unreadable key or config.
pub async fn rebuild_catalog(backend: Backend, master: &MasterKey) -> Result<RebuildReport> {
    let (vault, _) = Vault::open_inner(backend, master, true).await?;
    let backend = vault.backend();
    let old: Vec<String> = backend
        .list(INDEX_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| o.name.rsplit('/').next().map(str::to_owned))
        .collect();
    let mut report = RebuildReport::default();
    let mut packs = Vec::new();
    for object in backend.list(PACKS_PREFIX).await? {
        let Some(id) = pack_id_of(&object.name) else {
            continue;
        };
        match read_trailer(&vault, id, object.size).await {
            Ok(blobs) => packs.push(PackRecord {
                id: id.to_owned(),
                size: object.size,
                blobs,
            }),
            Err(_) => report.unreadable_packs.push(object.name.clone()),
        }
    }
    report.packs = packs.len() as u64;
    let file = IndexFile {
        supersedes: old.clone(),
        packs,
    };
    write_index(backend, &vault.keys().meta, &file).await?;
    for id in &old {
        backend.delete(&index_object(id)).await?;
    }
    report.replaced_index_objects = old.len() as u64;
    vault.reload().await?;
    report.chunks = vault.index().chunk_count() as u64;
    report.snapshots = vault.snapshots().await?.len() as u64;
    Ok(report)
}
