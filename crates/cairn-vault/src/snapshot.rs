//! Snapshot manifests: `snapshots/<32 hex>`, sealed JSON, written last.
//!
//! A snapshot exists exactly when its manifest object does: everything it refers to
//! (packs, index, segments, trees) is written before it. Listing snapshots is listing
//! that prefix, so a fresh process with the vault and the master key sees them all.
//!
//! A manifest is never overwritten, with one documented exception: redaction
//! ([`Vault::redact_snapshot`]) removes some entities of a snapshot when their data must
//! go for good (a deleted entity). It replaces the manifest object in one atomic put under
//! the same id, so catalogs naming the snapshot stay valid and readers see either the old
//! or the new manifest, both complete for what they list.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};
use crate::keys::random_hex;
use crate::pack::{open_json_compressed, seal_json_compressed};
use crate::segments::SegmentRef;
use crate::vault::Vault;

/// Prefix of manifest objects.
pub const SNAPSHOTS_PREFIX: &str = "snapshots";

/// The id of a tree blob (a directory listing).
pub type TreeId = ChunkId;

/// Per-entity counters of one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCounters {
    /// Items in the entity's state at this snapshot.
    pub items: u64,
    /// Logical bytes of those items.
    pub bytes: u64,
    /// Items added since the previous snapshot.
    pub added: u64,
    /// Items changed since the previous snapshot.
    pub updated: u64,
    /// Items deleted since the previous snapshot.
    pub deleted: u64,
}

/// One entity's part of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityManifest {
    /// Record segments making up the entity's state, oldest first.
    #[serde(default)]
    pub segments: Vec<SegmentRef>,
    /// Root of a directory tree (file-like entities).
    #[serde(default)]
    pub tree: Option<TreeId>,
    /// Further chunk references (e.g. record blobs, attachments).
    #[serde(default)]
    pub chunks: Vec<ChunkId>,
    /// Counters.
    #[serde(default)]
    pub counters: EntityCounters,
}

/// A snapshot manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotManifest {
    /// Random id (32 hex digits), also the object name.
    pub id: String,
    /// When the snapshot was taken.
    pub time: DateTime<Utc>,
    /// Free-form labels (`source`, `host`, task ids…).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Entities by name.
    #[serde(default)]
    pub entities: BTreeMap<String, EntityManifest>,
}

impl SnapshotManifest {
    /// An empty manifest with a fresh id, taken now.
    #[must_use]
    pub fn new(labels: BTreeMap<String, String>) -> Self {
        Self {
            id: random_hex(16),
            time: Utc::now(),
            labels,
            entities: BTreeMap::new(),
        }
    }
}

/// The object name of snapshot `id`.
#[must_use]
pub fn snapshot_object(id: &str) -> String {
    format!("{SNAPSHOTS_PREFIX}/{id}")
}

fn aad(id: &str) -> Vec<u8> {
    format!("snapshot/{id}").into_bytes()
}

impl Vault {
    /// Writes a manifest. Call only after every object it refers to is durable (for
    /// chunks: after [`crate::ChunkWriter::finish`]).
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`] if the id is taken; [`VaultError::MissingChunk`] if
    /// a referenced chunk or tree is not in the index; store failures.
    pub async fn write_snapshot(&self, manifest: &SnapshotManifest) -> Result<()> {
        {
            let index = self.index();
            for entity in manifest.entities.values() {
                for id in entity.tree.iter().chain(&entity.chunks) {
                    if !index.contains(id) {
                        return Err(VaultError::MissingChunk(id.to_string()));
                    }
                }
            }
        }
        let object = snapshot_object(&manifest.id);
        let sealed =
            seal_json_compressed(&self.keys().meta, &aad(&manifest.id), manifest, &object)?;
        self.backend().put_new(&object, Bytes::from(sealed)).await
    }

    /// Reads one manifest by its full id.
    ///
    /// # Errors
    /// [`VaultError::NotFound`], or integrity errors naming the object.
    pub async fn snapshot(&self, id: &str) -> Result<SnapshotManifest> {
        let object = snapshot_object(id);
        let sealed = self.backend().get(&object).await?;
        let manifest: SnapshotManifest =
            open_json_compressed(&self.keys().meta, &aad(id), &sealed, &object)?;
        if manifest.id != id {
            return Err(VaultError::format(
                &object,
                "manifest id differs from its name",
            ));
        }
        Ok(manifest)
    }

    /// Ids of every snapshot (unordered by time; sorted by id).
    ///
    /// # Errors
    /// Store failures.
    pub async fn snapshot_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .backend()
            .list(SNAPSHOTS_PREFIX)
            .await?
            .into_iter()
            .filter_map(|o| o.name.rsplit('/').next().map(str::to_owned))
            .collect())
    }

    /// Every snapshot, oldest first.
    ///
    /// # Errors
    /// The first unreadable manifest (naming it) or store failures.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotManifest>> {
        let (mut ok, bad) = self.snapshots_lenient().await?;
        if let Some((_, e)) = bad.into_iter().next() {
            return Err(e);
        }
        ok.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(ok)
    }

    /// Every readable snapshot (oldest first) and the unreadable ones with their errors.
    ///
    /// # Errors
    /// Store failures while listing.
    pub async fn snapshots_lenient(
        &self,
    ) -> Result<(Vec<SnapshotManifest>, Vec<(String, VaultError)>)> {
        let ids = self.snapshot_ids().await?;
        let results: Vec<_> = futures::stream::iter(ids)
            .map(|id| async move { (id.clone(), self.snapshot(&id).await) })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (id, r) in results {
            match r {
                Ok(m) => ok.push(m),
                // Deleted between list and get by a concurrent forget: not a problem.
                Err(VaultError::NotFound(_)) => {}
                Err(e) => bad.push((snapshot_object(&id), e)),
            }
        }
        ok.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok((ok, bad))
    }

    /// Resolves `latest`, a full id or a unique id prefix (at least 4 digits).
    ///
    /// # Errors
    /// [`VaultError::Snapshot`] when nothing or more than one snapshot matches.
    pub async fn resolve_snapshot(&self, id: &str) -> Result<SnapshotManifest> {
        if id == "latest" {
            return self.snapshots().await?.pop().ok_or_else(|| {
                VaultError::Snapshot(id.into(), "the vault has no snapshot".into())
            });
        }
        if id.len() < 4 {
            return Err(VaultError::Snapshot(
                id.into(),
                "give at least 4 digits of the id".into(),
            ));
        }
        let matches: Vec<String> = self
            .snapshot_ids()
            .await?
            .into_iter()
            .filter(|s| s.starts_with(id))
            .collect();
        match matches.as_slice() {
            [one] => self.snapshot(one).await,
            [] => Err(VaultError::Snapshot(id.into(), "no such snapshot".into())),
            _ => Err(VaultError::Snapshot(
                id.into(),
                format!("{} snapshots match; give more digits", matches.len()),
            )),
        }
    }

    /// Rewrites snapshot `id` without the entities named in `entities` (atomic overwrite
    /// under the same id, see the module documentation). Returns the removed entities'
    /// parts (empty, and nothing written, when the snapshot has none of them). The
    /// data they refer to is not touched: segments go with
    /// [`crate::maintenance::remove`], chunks at the next prune.
    ///
    /// # Errors
    /// [`VaultError::NotFound`], integrity errors naming the object, store failures.
    pub async fn redact_snapshot(
        &self,
        id: &str,
        entities: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, EntityManifest>> {
        let mut manifest = self.snapshot(id).await?;
        let removed: BTreeMap<String, EntityManifest> = entities
            .iter()
            .filter_map(|k| manifest.entities.remove(k).map(|e| (k.clone(), e)))
            .collect();
        if removed.is_empty() {
            return Ok(removed);
        }
        let object = snapshot_object(id);
        let sealed = seal_json_compressed(&self.keys().meta, &aad(id), &manifest, &object)?;
        self.backend().replace(&object, Bytes::from(sealed)).await?;
        Ok(removed)
    }

    /// Deletes a snapshot's manifest (its data goes at the next prune).
    ///
    /// # Errors
    /// Store failures.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.backend().delete(&snapshot_object(id)).await
    }
}
