//! The chunk index: which pack holds which chunk.
//!
//! On the vault it is a set of `index/<32 hex>` objects, each listing whole packs with
//! their blob entries (sealed, compressed JSON). A writer adds one index object after its
//! packs are uploaded and before its snapshot manifest; prune writes a consolidated one
//! that `supersedes` older ones and then deletes those. At open, all index objects are
//! loaded into memory (≈100 bytes per chunk), so lookups need no request.
//!
//! Packs marked for deletion by prune (see [`crate::maintenance`]) stay readable but are
//! not used for dedup, so new snapshots never start depending on them.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::chunk_id::ChunkId;
use crate::crypto::SubKey;
use crate::error::Result;
use crate::keys::random_hex;
use crate::pack::{BlobEntry, open_json_compressed, seal_json_compressed};

/// Prefix of index objects.
pub const INDEX_PREFIX: &str = "index";

/// One pack as listed in an index object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRecord {
    /// Pack id (32 hex).
    pub id: String,
    /// Pack object size in bytes.
    pub size: u64,
    /// Its blobs, in pack order.
    pub blobs: Vec<BlobEntry>,
}

/// The content of one index object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    /// Index objects (ids) this one replaces; loaders ignore those if still present.
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// Packs it lists.
    pub packs: Vec<PackRecord>,
}

fn index_aad(id: &str) -> Vec<u8> {
    format!("index/{id}").into_bytes()
}

/// The object name of index `id`.
#[must_use]
pub fn index_object(id: &str) -> String {
    format!("{INDEX_PREFIX}/{id}")
}

/// Writes a new index object; returns its id.
///
/// # Errors
/// Encoding or store failures.
pub async fn write_index(backend: &Backend, meta: &SubKey, file: &IndexFile) -> Result<String> {
    let id = random_hex(16);
    let object = index_object(&id);
    let sealed = seal_json_compressed(meta, &index_aad(&id), file, &object)?;
    backend.put_new(&object, Bytes::from(sealed)).await?;
    Ok(id)
}

/// Reads one index object.
///
/// # Errors
/// Store failures; [`crate::VaultError::Integrity`] / `Format` naming the object.
pub async fn read_index(backend: &Backend, meta: &SubKey, id: &str) -> Result<IndexFile> {
    let object = index_object(id);
    let sealed = backend.get(&object).await?;
    open_json_compressed(meta, &index_aad(id), &sealed, &object)
}

/// Where one chunk lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Position of the pack in [`Index::packs`].
    pub pack: u32,
    /// Position of the entry in that pack's blob list.
    pub entry: u32,
}

/// The in-memory chunk index.
#[derive(Debug, Default, Clone)]
pub struct Index {
    packs: Vec<PackRecord>,
    pack_pos: HashMap<String, u32>,
    by_id: HashMap<ChunkId, Location>,
    marked: HashSet<String>,
    /// Ids of the index objects loaded.
    pub objects: Vec<String>,
}

impl Index {
    /// An index whose `marked` packs are kept out of dedup and preferred last for reads.
    #[must_use]
    pub fn with_marked(marked: HashSet<String>) -> Self {
        Self {
            marked,
            ..Self::default()
        }
    }

    /// Adds a pack; a pack already present is ignored.
    pub fn add_pack(&mut self, record: PackRecord) {
        if self.pack_pos.contains_key(&record.id) {
            return;
        }
        let pos = self.packs.len() as u32;
        let marked = self.marked.contains(&record.id);
        for (i, blob) in record.blobs.iter().enumerate() {
            let loc = Location {
                pack: pos,
                entry: i as u32,
            };
            match self.by_id.get(&blob.id) {
                Some(existing)
                    if !marked && self.marked.contains(&self.packs[existing.pack as usize].id) =>
                {
                    self.by_id.insert(blob.id, loc);
                }
                Some(_) => {}
                None => {
                    self.by_id.insert(blob.id, loc);
                }
            }
        }
        self.pack_pos.insert(record.id.clone(), pos);
        self.packs.push(record);
    }

    /// Where a chunk is, with its pack id.
    #[must_use]
    pub fn find(&self, id: &ChunkId) -> Option<(&str, &BlobEntry)> {
        let loc = self.by_id.get(id)?;
        let pack = &self.packs[loc.pack as usize];
        Some((&pack.id, &pack.blobs[loc.entry as usize]))
    }

    /// Whether the chunk is held in a pack not marked for deletion (usable for dedup).
    #[must_use]
    pub fn has_live(&self, id: &ChunkId) -> bool {
        self.by_id
            .get(id)
            .is_some_and(|loc| !self.marked.contains(&self.packs[loc.pack as usize].id))
    }

    /// Whether the chunk is anywhere in the index.
    #[must_use]
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.by_id.contains_key(id)
    }

    /// All packs.
    #[must_use]
    pub fn packs(&self) -> &[PackRecord] {
        &self.packs
    }

    /// A pack by id.
    #[must_use]
    pub fn pack(&self, id: &str) -> Option<&PackRecord> {
        self.pack_pos.get(id).map(|p| &self.packs[*p as usize])
    }

    /// Packs marked for deletion.
    #[must_use]
    pub fn marked(&self) -> &HashSet<String> {
        &self.marked
    }

    /// Number of distinct chunks.
    #[must_use]
    pub fn chunk_count(&self) -> usize {
        self.by_id.len()
    }

    /// Chunk ids usable for dedup (held in packs not marked for deletion).
    pub fn live_ids(&self) -> impl Iterator<Item = &ChunkId> {
        self.by_id
            .iter()
            .filter(|(_, loc)| !self.marked.contains(&self.packs[loc.pack as usize].id))
            .map(|(id, _)| id)
    }
}

/// Problems met while loading, when loading leniently (for `check`).
pub type LoadProblems = Vec<(String, String)>;

/// Loads every index object. With `lenient`, unreadable objects are reported in the
/// returned problems instead of failing the load.
///
/// # Errors
/// Store failures listing the objects; with `lenient == false`, the first bad object.
pub async fn load(
    backend: &Backend,
    meta: &SubKey,
    marked: HashSet<String>,
    lenient: bool,
) -> Result<(Index, LoadProblems)> {
    let listed = backend.list(INDEX_PREFIX).await?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    // Owned captures only, so the future is `Send` for every lifetime (spawned tasks,
    // `async_trait` runners).
    let ids: Vec<String> = listed
        .iter()
        .map(|o| o.name.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    let reads = ids.into_iter().map(|id| {
        let (backend, meta) = (backend.clone(), meta.clone());
        async move {
            let file = read_index(&backend, &meta, &id).await;
            (id, file)
        }
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(8)
        .collect()
        .await;
    for (id, file) in results {
        match file {
            Ok(f) => files.push((id, f)),
            Err(e) if lenient => problems.push((index_object(&id), e.to_string())),
            Err(e) => return Err(e),
        }
    }
    let superseded: HashSet<String> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().cloned())
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut index = Index::with_marked(marked);
    for (id, file) in files {
        if superseded.contains(&id) {
            continue;
        }
        for pack in file.packs {
            index.add_pack(pack);
        }
        index.objects.push(id);
    }
    Ok((index, problems))
}

use futures::StreamExt;
