//! The [`Vault`] handle: an opened vault with its keys, config and in-memory catalog
//! (chunk index and content keys), and the read side of the chunk store.
//!
//! Everything a vault needs is loaded from the vault itself at open, so a fresh process
//! with the location and the master key can read every snapshot.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use parking_lot::RwLock;

use crate::backend::Backend;
use crate::chunk_id::ChunkId;
use crate::crypto::MasterKey;
use crate::error::{Result, VaultError};
use crate::index::{self, Index, LoadProblems};
use crate::keys::{self, VaultConfig, VaultKeys};
use crate::marks::{self, CONTENT_KEYS_PREFIX, ContentKeys, MARKS_PREFIX, Marks};
use crate::pack::{open_blob, pack_object};
use crate::writer::ChunkWriter;

/// An open vault. Cheap to clone; clones share the catalog.
#[derive(Clone, Debug)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    config: VaultConfig,
    keys: VaultKeys,
    index: RwLock<Index>,
    content_keys: RwLock<ContentKeys>,
}

impl Vault {
    /// Creates a new vault at `backend` and opens it.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`] when one exists; store failures.
    pub async fn init(backend: Backend, master: &MasterKey) -> Result<Self> {
        Self::init_with(backend, master, &VaultConfig::new_default()).await
    }

    /// Creates a new vault with explicit parameters (tests use small chunks and packs).
    ///
    /// # Errors
    /// As [`Vault::init`]; [`VaultError::Invalid`] for unusable chunker parameters.
    pub async fn init_with(
        backend: Backend,
        master: &MasterKey,
        config: &VaultConfig,
    ) -> Result<Self> {
        let c = config.chunker;
        if c.min < 64
            || c.avg < c.min
            || c.max < c.avg
            || c.max > 16 * 1024 * 1024
            || !c.min.is_multiple_of(2)
            || !c.avg.is_multiple_of(2)
            || !c.max.is_multiple_of(2)
        {
            return Err(VaultError::Invalid(format!(
                "unusable chunker parameters {c:?}"
            )));
        }
        let keys = keys::init(&backend, master, config).await?;
        Ok(Self::assemble(
            backend,
            config.clone(),
            keys,
            Index::default(),
            ContentKeys::new(),
        ))
    }

    /// Opens an existing vault, loading its catalog.
    ///
    /// # Errors
    /// [`VaultError::NotAVault`], [`VaultError::Integrity`] (wrong master key, damaged
    /// objects, naming them), store failures.
    pub async fn open(backend: Backend, master: &MasterKey) -> Result<Self> {
        Ok(Self::open_inner(backend, master, false).await?.0)
    }

    /// Opens leniently: damaged catalog objects are reported instead of failing (`check`).
    pub(crate) async fn open_inner(
        backend: Backend,
        master: &MasterKey,
        lenient: bool,
    ) -> Result<(Self, LoadProblems)> {
        let (keys, config) = keys::open(&backend, master).await?;
        let (marks, _, mut problems) =
            marks::load_map::<Marks>(&backend, &keys.meta, MARKS_PREFIX, lenient).await?;
        let marked: HashSet<String> = marks.into_keys().collect();
        let (index, p) = index::load(&backend, &keys.meta, marked, lenient).await?;
        problems.extend(p);
        let (content_keys, _, p) =
            marks::load_map::<ContentKeys>(&backend, &keys.meta, CONTENT_KEYS_PREFIX, lenient)
                .await?;
        problems.extend(p);
        Ok((
            Self::assemble(backend, config, keys, index, content_keys),
            problems,
        ))
    }

    fn assemble(
        backend: Backend,
        config: VaultConfig,
        keys: VaultKeys,
        index: Index,
        content_keys: ContentKeys,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                config,
                keys,
                index: RwLock::new(index),
                content_keys: RwLock::new(content_keys),
            }),
        }
    }

    /// Reloads the chunk index and content keys from the vault (after another process
    /// wrote or pruned).
    ///
    /// # Errors
    /// Store or integrity failures.
    pub async fn reload(&self) -> Result<()> {
        let meta = &self.inner.keys.meta;
        let backend = &self.inner.backend;
        let (marks, _, _) = marks::load_map::<Marks>(backend, meta, MARKS_PREFIX, false).await?;
        let (index, _) = index::load(backend, meta, marks.into_keys().collect(), false).await?;
        let (content_keys, _, _) =
            marks::load_map::<ContentKeys>(backend, meta, CONTENT_KEYS_PREFIX, false).await?;
        *self.inner.index.write() = index;
        *self.inner.content_keys.write() = content_keys;
        Ok(())
    }

    /// The object store.
    #[must_use]
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// The vault's config.
    #[must_use]
    pub fn config(&self) -> &VaultConfig {
        &self.inner.config
    }

    pub(crate) fn keys(&self) -> &VaultKeys {
        &self.inner.keys
    }

    /// The account's record segments in this vault (`segments/…` under the vault root),
    /// sealed with a key derived from the vault's data key.
    ///
    /// # Errors
    /// [`VaultError::SegmentWrite`] when `opts` are unusable.
    pub fn segments(
        &self,
        opts: crate::segments::SegmentOptions,
    ) -> Result<crate::segments::SegmentStore> {
        crate::segments::SegmentStore::new(
            self.inner.backend.object_store(),
            object_store::path::Path::from(""),
            self.inner.keys.data_key(),
            opts,
        )
    }

    /// Read access to the chunk index.
    pub fn index(&self) -> parking_lot::RwLockReadGuard<'_, Index> {
        self.inner.index.read()
    }

    pub(crate) fn index_mut(&self) -> parking_lot::RwLockWriteGuard<'_, Index> {
        self.inner.index.write()
    }

    pub(crate) fn content_keys_mut(&self) -> parking_lot::RwLockWriteGuard<'_, ContentKeys> {
        self.inner.content_keys.write()
    }

    /// The id a chunk with this content has in this vault.
    #[must_use]
    pub fn chunk_id(&self, data: &[u8]) -> ChunkId {
        ChunkId::of(&self.inner.keys.id_key, data)
    }

    /// Starts a write session (must be called inside a Tokio runtime).
    #[must_use]
    pub fn writer(&self) -> ChunkWriter {
        ChunkWriter::new(self.clone())
    }

    /// The chunk list stored for an external content key (e.g. a Dropbox
    /// `content_hash`), if every chunk of it is still in the vault.
    #[must_use]
    pub fn content_chunks(&self, key: &str) -> Option<Vec<ChunkId>> {
        let chunks = self.inner.content_keys.read().get(key).cloned()?;
        let index = self.index();
        chunks.iter().all(|c| index.contains(c)).then_some(chunks)
    }

    /// Number of content keys known.
    #[must_use]
    pub fn content_key_count(&self) -> usize {
        self.inner.content_keys.read().len()
    }

    /// Reads, verifies and returns one chunk.
    ///
    /// # Errors
    /// [`VaultError::MissingChunk`] when not indexed; [`VaultError::Integrity`] naming the
    /// pack when its bytes are damaged; store failures.
    pub async fn read_chunk(&self, id: &ChunkId) -> Result<Vec<u8>> {
        let (pack_id, entry) = {
            let index = self.index();
            let (pack, entry) = index
                .find(id)
                .ok_or_else(|| VaultError::MissingChunk(id.to_string()))?;
            (pack.to_owned(), *entry)
        };
        let object = pack_object(&pack_id);
        let sealed = self
            .backend()
            .get_range(
                &object,
                u64::from(entry.offset)..u64::from(entry.offset) + u64::from(entry.len),
            )
            .await?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || open_blob(this.keys(), &entry, &sealed, &object))
            .await
            .map_err(|e| VaultError::Worker(e.to_string()))?
    }

    /// Total plaintext length of a chunk list.
    ///
    /// # Errors
    /// [`VaultError::MissingChunk`] for a chunk not in the index.
    pub fn content_len(&self, chunks: &[ChunkId]) -> Result<u64> {
        let index = self.index();
        chunks.iter().try_fold(0u64, |sum, c| {
            let (_, e) = index
                .find(c)
                .ok_or_else(|| VaultError::MissingChunk(c.to_string()))?;
            Ok(sum + u64::from(e.raw_len))
        })
    }

    /// Streams bytes `range` of the content made of `chunks`, reading only the chunks that
    /// overlap it (a few ahead, in order).
    ///
    /// # Errors
    /// The stream yields an error (and ends) on a missing or damaged chunk; an invalid
    /// range is rejected before any read.
    pub fn read_range(
        &self,
        chunks: &[ChunkId],
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let mut parts = Vec::new();
        let mut pos = 0u64;
        {
            let index = self.index();
            for c in chunks {
                let (_, e) = index
                    .find(c)
                    .ok_or_else(|| VaultError::MissingChunk(c.to_string()))?;
                let len = u64::from(e.raw_len);
                let (start, end) = (pos, pos + len);
                if end > range.start && start < range.end {
                    let from = range.start.saturating_sub(start);
                    let to = (range.end - start).min(len);
                    parts.push((*c, from as usize..to as usize));
                }
                pos = end;
            }
        }
        if range.start > range.end || range.end > pos {
            return Err(VaultError::Invalid(format!(
                "range {}..{} outside content of {pos} bytes",
                range.start, range.end
            )));
        }
        let this = self.clone();
        Ok(stream::iter(parts)
            .map(move |(id, span)| {
                let this = this.clone();
                async move {
                    let data = this.read_chunk(&id).await?;
                    Ok(Bytes::from(data).slice(span))
                }
            })
            .buffered(4)
            .boxed())
    }

    /// Rewraps the vault's data key under `new` (no data object changes).
    ///
    /// # Errors
    /// When `old` opens no key object or the store fails (old keys then stay).
    pub async fn rotate_master_key(&self, old: &MasterKey, new: &MasterKey) -> Result<String> {
        keys::rotate(self.backend(), old, new).await
    }
}
