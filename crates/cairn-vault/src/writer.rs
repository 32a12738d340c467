//! The write side of the chunk store: a [`ChunkWriter`] session.
//!
//! Content is cut with FastCDC (`fastcdc =5.0.0`, v2020, the vault's parameters), each
//! chunk identified by keyed BLAKE3, deduplicated against the index and the session,
//! compressed when that pays, sealed, and appended to the current pack. Full packs go
//! through a bounded channel to an upload task that runs a few uploads at once; when
//! uploads fall behind, writers block on the channel (back-pressure), so memory stays
//! bounded by (channel + uploads + 1) packs plus one chunk per writer thread, whatever
//! the file sizes.
//!
//! CPU work runs on the caller's thread: call the `*_blocking` methods from
//! `spawn_blocking` workers (the directory backup does), or the async wrappers.
//! [`ChunkWriter::finish`] uploads the last pack, then writes one index object for the
//! session and the content keys recorded — data before index before manifest.

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};
use crate::index::{IndexFile, PackRecord, write_index};
use crate::marks::{CONTENT_KEYS_PREFIX, ContentKeys, MapFile, write_map};
use crate::pack::{BlobKind, FinishedPack, PackBuilder, pack_object, seal_blob};
use crate::vault::Vault;

/// Full packs waiting for upload.
const QUEUED_PACKS: usize = 2;
/// Uploads in flight.
const CONCURRENT_UPLOADS: usize = 3;

/// What a write session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteStats {
    /// Chunks referenced (new or deduplicated).
    pub chunks: u64,
    /// Chunks written (not already in the vault or the session).
    pub new_chunks: u64,
    /// Plaintext bytes of all chunks referenced.
    pub bytes: u64,
    /// Plaintext bytes of new chunks.
    pub new_bytes: u64,
    /// Bytes uploaded in packs (sealed, compressed, with trailers).
    pub stored_bytes: u64,
    /// Packs uploaded.
    pub packs: u64,
}

/// A file's (or stream's) content as chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    /// Chunk ids in order.
    pub chunks: Vec<ChunkId>,
    /// Total length in bytes.
    pub size: u64,
}

#[derive(Debug, Default)]
struct Counters {
    chunks: AtomicU64,
    new_chunks: AtomicU64,
    bytes: AtomicU64,
    new_bytes: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    vault: Vault,
    session: Mutex<HashSet<ChunkId>>,
    pack: Mutex<PackBuilder>,
    tx: Mutex<Option<mpsc::Sender<FinishedPack>>>,
    counters: Counters,
    content_keys: Mutex<ContentKeys>,
}

type Uploader = JoinHandle<Result<Vec<PackRecord>>>;

/// A write session. Clone it to share among worker threads; call
/// [`ChunkWriter::finish`] on one clone after every other clone is done.
#[derive(Debug, Clone)]
pub struct ChunkWriter {
    shared: Arc<Shared>,
    uploader: Arc<Mutex<Option<Uploader>>>,
}

impl ChunkWriter {
    pub(crate) fn new(vault: Vault) -> Self {
        let (tx, rx) = mpsc::channel::<FinishedPack>(QUEUED_PACKS);
        let backend = vault.backend().clone();
        let uploader =
            tokio::spawn(async move {
                let uploads = futures::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|p| (p, rx))
                })
                .map(|pack| {
                    let backend = backend.clone();
                    async move {
                        let size = pack.bytes.len() as u64;
                        backend
                            .put_large(&pack_object(&pack.id), Bytes::from(pack.bytes))
                            .await?;
                        Ok::<_, VaultError>(PackRecord {
                            id: pack.id,
                            size,
                            blobs: pack.entries,
                        })
                    }
                })
                .buffer_unordered(CONCURRENT_UPLOADS);
                futures::pin_mut!(uploads);
                let mut records = Vec::new();
                while let Some(result) = uploads.next().await {
                    // Returning drops the receiver, so blocked writers fail fast.
                    records.push(result?);
                }
                Ok(records)
            });
        let capacity = vault.config().pack_size as usize + 1024 * 1024;
        Self {
            shared: Arc::new(Shared {
                vault,
                session: Mutex::new(HashSet::new()),
                pack: Mutex::new(PackBuilder::new(capacity)),
                tx: Mutex::new(Some(tx)),
                counters: Counters::default(),
                content_keys: Mutex::new(ContentKeys::new()),
            }),
            uploader: Arc::new(Mutex::new(Some(uploader))),
        }
    }

    /// The vault this session writes to.
    #[must_use]
    pub fn vault(&self) -> &Vault {
        &self.shared.vault
    }

    /// Stores one blob (blocking: compression, encryption and back-pressure happen on
    /// this thread). Returns its id; known content is not stored again.
    ///
    /// # Errors
    /// [`VaultError::Worker`] when the upload task has failed (its error is reported by
    /// [`ChunkWriter::finish`]).
    pub fn write_blob_blocking(&self, kind: BlobKind, data: &[u8]) -> Result<ChunkId> {
        let s = &self.shared;
        let id = s.vault.chunk_id(data);
        s.counters.chunks.fetch_add(1, Ordering::Relaxed);
        s.counters
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if s.vault.index().has_live(&id) || !s.session.lock().insert(id) {
            return Ok(id);
        }
        s.counters.new_chunks.fetch_add(1, Ordering::Relaxed);
        s.counters
            .new_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let level = s.vault.config().zstd_level;
        let (sealed, compressed) = seal_blob(s.vault.keys(), level, kind, &id, data);
        let full = {
            let mut pack = s.pack.lock();
            pack.push(id, kind, data.len() as u32, compressed, &sealed);
            if pack.len() as u64 >= s.vault.config().pack_size {
                let capacity = s.vault.config().pack_size as usize + 1024 * 1024;
                Some(std::mem::replace(&mut *pack, PackBuilder::new(capacity)))
            } else {
                None
            }
        };
        if let Some(pack) = full {
            self.send_blocking(pack)?;
        }
        Ok(id)
    }

    fn send_blocking(&self, pack: PackBuilder) -> Result<()> {
        let finished = pack.finish(&self.shared.vault.keys().meta)?;
        let tx = self.shared.tx.lock().clone();
        let tx = tx.ok_or_else(|| VaultError::Worker("write session already finished".into()))?;
        tx.blocking_send(finished)
            .map_err(|_| VaultError::Worker("pack upload failed; see the session result".into()))
    }

    /// Chunks and stores everything `reader` yields (blocking).
    ///
    /// # Errors
    /// Reading failures as [`VaultError::Io`] naming `what`; upload failures.
    pub fn write_reader_blocking(&self, reader: impl Read, what: &str) -> Result<Content> {
        let c = self.shared.vault.config().chunker;
        let chunker = fastcdc::v2020::StreamCDC::with_level_and_seed(
            reader,
            c.min as usize,
            c.avg as usize,
            c.max as usize,
            fastcdc::v2020::Normalization::Level1,
            c.seed,
        );
        let mut content = Content::default();
        for chunk in chunker {
            let chunk = chunk.map_err(|e| match e {
                fastcdc::v2020::Error::IoError(io) => VaultError::io(what, io),
                other => VaultError::io(what, std::io::Error::other(other.to_string())),
            })?;
            content.size += chunk.data.len() as u64;
            content
                .chunks
                .push(self.write_blob_blocking(BlobKind::Data, &chunk.data)?);
        }
        Ok(content)
    }

    /// Async wrapper of [`ChunkWriter::write_blob_blocking`].
    ///
    /// # Errors
    /// As the blocking form.
    pub async fn write_blob(&self, kind: BlobKind, data: Vec<u8>) -> Result<ChunkId> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write_blob_blocking(kind, &data))
            .await
            .map_err(|e| VaultError::Worker(e.to_string()))?
    }

    /// Chunks and stores a byte stream (e.g. a download) with bounded memory: the stream
    /// is fed through a small channel to a blocking chunker.
    ///
    /// # Errors
    /// The stream's first error, or a storage failure.
    pub async fn write_stream<S>(&self, stream: S, what: &str) -> Result<Content>
    where
        S: futures::Stream<Item = std::io::Result<Bytes>> + Send,
    {
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
        let this = self.clone();
        let what_owned = what.to_owned();
        let chunking = tokio::task::spawn_blocking(move || {
            this.write_reader_blocking(
                ChannelReader {
                    rx,
                    current: Bytes::new(),
                },
                &what_owned,
            )
        });
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
        drop(tx);
        chunking
            .await
            .map_err(|e| VaultError::Worker(e.to_string()))?
    }

    /// Records that external content `key` (e.g. a Dropbox `content_hash`) is made of
    /// `chunks`; persisted by [`ChunkWriter::finish`].
    pub fn record_content_key(&self, key: impl Into<String>, chunks: Vec<ChunkId>) {
        self.shared.content_keys.lock().insert(key.into(), chunks);
    }

    /// Uploads the last pack, waits for every upload, and writes the session's index
    /// object and content keys. Only after this returns may a manifest refer to the
    /// chunks written.
    ///
    /// # Errors
    /// The first upload or write failure.
    pub async fn finish(self) -> Result<WriteStats> {
        let s = &self.shared;
        let last = {
            let mut pack = s.pack.lock();
            std::mem::replace(&mut *pack, PackBuilder::new(0))
        };
        let tx = s.tx.lock().take();
        if let Some(tx) = tx
            && !last.is_empty()
        {
            let finished = last.finish(&s.vault.keys().meta)?;
            // An error here means the uploader stopped; its own error is reported below.
            let _ = tx.send(finished).await;
        }
        let handle = self.uploader.lock().take();
        let records = match handle {
            Some(h) => h.await.map_err(|e| VaultError::Worker(e.to_string()))??,
            None => return Err(VaultError::Worker("write session finished twice".into())),
        };
        let stats = WriteStats {
            chunks: s.counters.chunks.load(Ordering::Relaxed),
            new_chunks: s.counters.new_chunks.load(Ordering::Relaxed),
            bytes: s.counters.bytes.load(Ordering::Relaxed),
            new_bytes: s.counters.new_bytes.load(Ordering::Relaxed),
            stored_bytes: records.iter().map(|r| r.size).sum(),
            packs: records.len() as u64,
        };
        let meta = &s.vault.keys().meta;
        if !records.is_empty() {
            let file = IndexFile {
                supersedes: Vec::new(),
                packs: records.clone(),
            };
            let id = write_index(s.vault.backend(), meta, &file).await?;
            let mut index = s.vault.index_mut();
            for record in records {
                index.add_pack(record);
            }
            index.objects.push(id);
        }
        let content_keys = std::mem::take(&mut *s.content_keys.lock());
        if !content_keys.is_empty() {
            let file = MapFile {
                supersedes: Vec::new(),
                entries: content_keys.clone(),
            };
            write_map(s.vault.backend(), meta, CONTENT_KEYS_PREFIX, &file).await?;
            s.vault.content_keys_mut().extend(content_keys);
        }
        Ok(stats)
    }
}

/// A `Read` over a channel of byte chunks, for the blocking chunker.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}
