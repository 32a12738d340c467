//! Bytes uploaded by clients: small blobs in memory, larger ones as files (in the data
//! directory when persistence is on, else in a temporary directory removed on drop).
//!
//! A blob is written through a [`BlobWriter`] that hashes (`content_hash`) as it goes, so
//! an upload is never held in memory whole; it becomes visible only when committed.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::content_hash::ContentHasher;
use crate::error::EmulatorError;

/// Blobs up to this size stay in memory when persistence is off.
const MEMORY_LIMIT: usize = 1 << 20;

/// A committed blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    /// Blob id.
    pub id: u64,
    /// Length.
    pub size: u64,
    /// `content_hash`.
    pub hash: [u8; 32],
}

/// Store of uploaded bytes.
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    persistent: bool,
    memory: Mutex<HashMap<u64, Bytes>>,
    next: AtomicU64,
}

/// A blob being written.
#[derive(Debug)]
pub struct BlobWriter {
    id: u64,
    buf: Vec<u8>,
    file: Option<(tokio::fs::File, PathBuf)>,
    hasher: ContentHasher,
    size: u64,
    spill: usize,
}

/// A point a [`BlobWriter`] can be rolled back to.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    hasher: ContentHasher,
    size: u64,
    buffered: usize,
}

impl BlobWriter {
    /// Remembers the current state.
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            hasher: self.hasher.clone(),
            size: self.size,
            buffered: self.buf.len(),
        }
    }

    /// Forgets everything written since `checkpoint` (a chunk whose hash did not match).
    ///
    /// # Errors
    /// IO errors truncating the spill file.
    pub async fn rollback(&mut self, checkpoint: Checkpoint) -> std::io::Result<()> {
        self.hasher = checkpoint.hasher;
        self.size = checkpoint.size;
        match &mut self.file {
            Some((file, _)) => {
                file.flush().await?;
                file.set_len(checkpoint.size).await?;
                file.seek(SeekFrom::End(0)).await?;
            }
            None => self.buf.truncate(checkpoint.buffered),
        }
        Ok(())
    }

    /// Bytes written so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes.
    ///
    /// # Errors
    /// IO errors writing the spill file.
    pub async fn write(&mut self, chunk: &[u8], dir: &Path) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        if self.file.is_none() && self.buf.len() + chunk.len() <= self.spill {
            self.buf.extend_from_slice(chunk);
            return Ok(());
        }
        if self.file.is_none() {
            let path = dir.join(format!("{:016x}.part", self.id));
            let mut file = tokio::fs::File::create(&path).await?;
            file.write_all(&self.buf).await?;
            self.buf = Vec::new();
            self.file = Some((file, path));
        }
        if let Some((file, _)) = &mut self.file {
            file.write_all(chunk).await?;
        }
        Ok(())
    }
}

impl BlobStore {
    /// Opens the store: `data_dir/blobs` when persisting, else a temporary directory.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] if the directory cannot be created or listed.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, EmulatorError> {
        let (dir, temp) = match data_dir {
            Some(d) => (d.join("blobs"), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("cairn-dropbox-blobs")
                    .tempdir()
                    .map_err(|e| EmulatorError::io("creating a temporary blob directory", e))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| EmulatorError::io(format!("creating {}", dir.display()), e))?;
        let mut max = 0;
        let listing = std::fs::read_dir(&dir)
            .map_err(|e| EmulatorError::io(format!("listing {}", dir.display()), e))?;
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".part") || name.ends_with(".session") {
                // Left over from a crash mid-upload: never referenced by the journal.
                let _ = std::fs::remove_file(entry.path());
            } else if let Ok(id) = u64::from_str_radix(&name, 16) {
                max = max.max(id);
            }
        }
        Ok(Self {
            dir,
            persistent: temp.is_none(),
            _temp: temp,
            memory: Mutex::new(HashMap::new()),
            next: AtomicU64::new(max + 1),
        })
    }

    /// Directory holding blob and session files.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a new blob.
    #[must_use]
    pub fn writer(&self) -> BlobWriter {
        BlobWriter {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            buf: Vec::new(),
            file: None,
            hasher: ContentHasher::new(),
            size: 0,
            spill: if self.persistent { 0 } else { MEMORY_LIMIT },
        }
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:016x}"))
    }

    /// Makes a written blob readable.
    ///
    /// # Errors
    /// IO errors flushing or renaming the spill file.
    pub async fn commit(&self, writer: BlobWriter) -> std::io::Result<BlobInfo> {
        let info = BlobInfo {
            id: writer.id,
            size: writer.size,
            hash: writer.hasher.finish(),
        };
        match writer.file {
            Some((mut file, part)) => {
                file.flush().await?;
                file.sync_data().await?;
                tokio::fs::rename(&part, self.path(info.id)).await?;
            }
            None if self.persistent => {
                tokio::fs::write(self.path(info.id), &writer.buf).await?;
            }
            None => {
                self.memory.lock().insert(info.id, Bytes::from(writer.buf));
            }
        }
        Ok(info)
    }

    /// Deletes a committed blob nothing refers to (a refused or no-op upload).
    pub async fn remove(&self, id: u64) {
        if self.memory.lock().remove(&id).is_none() {
            let _ = tokio::fs::remove_file(self.path(id)).await;
        }
    }

    /// Drops a writer that will not be committed.
    pub async fn abandon(&self, writer: BlobWriter) {
        if let Some((file, part)) = writer.file {
            drop(file);
            let _ = tokio::fs::remove_file(part).await;
        }
    }

    /// Adopts a finished file (an upload session's data) as a blob with known hash.
    ///
    /// # Errors
    /// IO errors renaming the file.
    pub async fn adopt(&self, file: &Path, size: u64, hash: [u8; 32]) -> std::io::Result<BlobInfo> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        tokio::fs::rename(file, self.path(id)).await?;
        Ok(BlobInfo { id, size, hash })
    }

    /// A fresh path for an upload session's data file.
    #[must_use]
    pub fn session_path(&self, session: &str) -> PathBuf {
        let safe: String = session
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.dir.join(format!("{safe}.session"))
    }

    /// Streams `blob[start..end]`.
    ///
    /// # Errors
    /// IO errors opening the blob file.
    pub async fn stream(
        &self,
        id: u64,
        start: u64,
        end: u64,
    ) -> std::io::Result<futures::stream::BoxStream<'static, std::io::Result<Bytes>>> {
        if let Some(bytes) = self.memory.lock().get(&id).cloned() {
            let slice = bytes.slice(start as usize..end as usize);
            return Ok(futures::stream::once(async move { Ok(slice) }).boxed());
        }
        let mut file = tokio::fs::File::open(self.path(id)).await?;
        file.seek(SeekFrom::Start(start)).await?;
        let reader = file.take(end - start);
        Ok(tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).boxed())
    }

    /// Reads `blob[start..end]` into memory (control API samples, small reads).
    ///
    /// # Errors
    /// IO errors reading the blob file.
    pub async fn read(&self, id: u64, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut stream = self.stream(id, start, end).await?;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// Forgets every blob (control reset).
    pub async fn clear(&self) {
        self.memory.lock().clear();
        if let Ok(mut listing) = tokio::fs::read_dir(&self.dir).await {
            while let Ok(Some(entry)) = listing.next_entry().await {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::content_hash::content_hash;

    #[tokio::test]
    async fn small_blobs_stay_in_memory_and_large_ones_spill() {
        let store = BlobStore::open(None).unwrap();
        let mut small = store.writer();
        small.write(b"hello", store.dir()).await.unwrap();
        let info = store.commit(small).await.unwrap();
        assert_eq!(info.hash, content_hash(b"hello"));
        assert_eq!(store.read(info.id, 1, 4).await.unwrap(), b"ell");

        let big: Vec<u8> = (0..3 * MEMORY_LIMIT).map(|i| (i % 253) as u8).collect();
        let mut w = store.writer();
        for chunk in big.chunks(100_000) {
            w.write(chunk, store.dir()).await.unwrap();
        }
        let checkpoint = w.checkpoint();
        w.write(b"garbage that gets rolled back", store.dir())
            .await
            .unwrap();
        w.rollback(checkpoint).await.unwrap();
        let info = store.commit(w).await.unwrap();
        assert_eq!(info.size, big.len() as u64);
        assert_eq!(info.hash, content_hash(&big));
        assert!(store.path(info.id).exists());
        assert_eq!(
            store.read(info.id, 1000, 2_000_000).await.unwrap(),
            &big[1000..2_000_000]
        );
    }

    #[tokio::test]
    async fn persistent_stores_write_files_and_resume_ids() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(Some(dir.path())).unwrap();
        let mut w = store.writer();
        w.write(b"x", store.dir()).await.unwrap();
        let first = store.commit(w).await.unwrap();
        assert!(store.path(first.id).exists());
        let reopened = BlobStore::open(Some(dir.path())).unwrap();
        assert!(reopened.writer().id > first.id);
        assert_eq!(reopened.read(first.id, 0, 1).await.unwrap(), b"x");
    }
}
