//! The `content_hash` cache for generated content.
//!
//! Hashing generated content means generating it (about 1.5 GB/s per core), so each content
//! id is hashed once, on a blocking thread, and cached for the life of the process (32
//! bytes per content). Concurrent requests for the same id wait for the one computation; a
//! semaphore keeps hashing from taking more than the machine's cores. An optional warm-up
//! task hashes everything in the background at start-up, one content at a time.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OnceCell, Semaphore};

use super::content::{ContentRef, GenContent, hash_generated};
use super::metadata::{Metadata, Rendered};

/// Contents smaller than this are hashed in batches of about this many bytes.
const BATCH_BYTES: u64 = 8 << 20;

/// Cache of generated contents' hashes, keyed by content id.
#[derive(Debug)]
pub struct HashCache {
    seed: u64,
    cells: Mutex<HashMap<u64, Arc<OnceCell<[u8; 32]>>>>,
    workers: Semaphore,
}

impl HashCache {
    /// An empty cache for a team generated from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            seed,
            cells: Mutex::new(HashMap::new()),
            workers: Semaphore::new(cores),
        }
    }

    fn cell(&self, id: u64) -> Arc<OnceCell<[u8; 32]>> {
        self.cells.lock().entry(id).or_default().clone()
    }

    /// The hash if already known.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<[u8; 32]> {
        self.cells.lock().get(&id).and_then(|c| c.get().copied())
    }

    /// The hash of `content`, computing it if needed.
    pub async fn hash(&self, content: GenContent) -> [u8; 32] {
        let cell = self.cell(content.id);
        *cell
            .get_or_init(|| async {
                let _permit = self.workers.acquire().await;
                let seed = self.seed;
                match tokio::task::spawn_blocking(move || hash_generated(seed, &content)).await {
                    Ok(hash) => hash,
                    // Only a panic in the hasher gets here; compute inline rather than fail.
                    Err(_) => hash_generated(seed, &content),
                }
            })
            .await
    }

    /// Hashes many small contents in one blocking task (one thread hand-off per batch
    /// instead of per file).
    async fn hash_batch(&self, batch: Vec<GenContent>) {
        let _permit = self.workers.acquire().await;
        let seed = self.seed;
        let todo = batch.clone();
        let computed = tokio::task::spawn_blocking(move || {
            todo.iter()
                .map(|c| (c.id, hash_generated(seed, c)))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|_| {
            batch
                .iter()
                .map(|c| (c.id, hash_generated(seed, c)))
                .collect()
        });
        for (id, hash) in computed {
            // Already set by a concurrent computation: same value, nothing to do.
            let _ = self.cell(id).set(hash);
        }
    }

    /// Computes every missing hash among `contents`: small contents in batches of about
    /// [`BATCH_BYTES`], large ones one by one, at most one task per core at a time.
    async fn ensure(&self, contents: Vec<GenContent>) {
        let mut batches: Vec<Vec<GenContent>> = Vec::new();
        let mut large = Vec::new();
        let mut current = Vec::new();
        let mut current_bytes = 0;
        for c in contents {
            if c.size >= BATCH_BYTES {
                large.push(c);
                continue;
            }
            current_bytes += c.size;
            current.push(c);
            if current_bytes >= BATCH_BYTES || current.len() >= 4096 {
                batches.push(std::mem::take(&mut current));
                current_bytes = 0;
            }
        }
        if !current.is_empty() {
            batches.push(current);
        }
        let small = futures::future::join_all(batches.into_iter().map(|b| self.hash_batch(b)));
        let big = futures::future::join_all(large.into_iter().map(|c| self.hash(c)));
        futures::future::join(small, big).await;
    }

    /// Fills in missing `content_hash` fields of rendered entries. `contents` maps content
    /// ids to their generated-content records (captured under the team lock).
    pub async fn fill(&self, entries: &mut [Rendered], contents: &HashMap<u64, GenContent>) {
        let missing: Vec<GenContent> = {
            let cells = self.cells.lock();
            let mut seen = std::collections::HashSet::new();
            entries
                .iter()
                .filter_map(|e| match e.content {
                    Some(ContentRef::Generated { id })
                        if cells.get(&id).and_then(|c| c.get()).is_none() && seen.insert(id) =>
                    {
                        contents.get(&id).copied()
                    }
                    _ => None,
                })
                .collect()
        };
        if !missing.is_empty() {
            self.ensure(missing).await;
        }
        let cells = self.cells.lock();
        for entry in entries {
            if let (Some(ContentRef::Generated { id }), Metadata::File(file)) =
                (entry.content, &mut entry.meta)
                && file.content_hash.is_none()
            {
                file.content_hash = cells.get(&id).and_then(|c| c.get()).map(hex::encode);
            }
        }
    }

    /// Forgets hashes of content ids from `first` on (contents added after generation are
    /// dropped by a control reset, and their ids reused).
    pub fn forget_from(&self, first: u64) {
        self.cells.lock().retain(|&id, _| id < first);
    }

    /// Hashes every content in `contents`, a batch at a time (background warm-up: it
    /// never takes more than one core).
    pub async fn warm(&self, contents: Vec<GenContent>) {
        for chunk in contents.chunks(256) {
            let missing: Vec<GenContent> = chunk
                .iter()
                .filter(|c| self.get(c.id).is_none())
                .copied()
                .collect();
            for c in missing.iter().filter(|c| c.size >= BATCH_BYTES) {
                self.hash(*c).await;
            }
            let small: Vec<GenContent> = missing
                .into_iter()
                .filter(|c| c.size < BATCH_BYTES)
                .collect();
            if !small.is_empty() {
                self.hash_batch(small).await;
            }
        }
    }
}
