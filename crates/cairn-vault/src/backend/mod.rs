//! Object storage under the vault: one [`Backend`] per vault, over any `object_store`.
//!
//! The backend owns the cross-cutting storage policy so the rest of the vault only names
//! objects: the account prefix, a bound on concurrent requests, retries with exponential
//! backoff for transient failures, create-only writes for objects that must never be
//! overwritten, and multipart uploads for large objects. Object names are relative to
//! the vault root and use `/` separators (`packs/ab/ab12…`).

mod fault;
mod location;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::sync::Semaphore;

pub use fault::{FaultPlan, FaultStore};
pub use location::{Location, redact};

use crate::error::{Result, VaultError};

/// Objects larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Part size of multipart uploads (S3's minimum is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// How failed requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Upper bound of one delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Name relative to the vault root.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// When the store last wrote it.
    pub last_modified: DateTime<Utc>,
}

/// The vault's view of its object store.
#[derive(Debug, Clone)]
pub struct Backend {
    store: Arc<dyn ObjectStore>,
    description: String,
    permits: Arc<Semaphore>,
    retry: RetryPolicy,
}

impl Backend {
    /// Default bound on concurrent requests.
    pub const DEFAULT_CONCURRENCY: usize = 16;

    /// Opens the store a location string names (see [`Location`]).
    ///
    /// # Errors
    /// [`VaultError::Location`] when the location is malformed or the store cannot be built.
    pub fn open(location: &str) -> Result<Self> {
        let store = Location::parse(location)?.build(location)?;
        Ok(Self::from_store(store, redact(location)))
    }

    /// Wraps an existing store (e.g. a [`FaultStore`] in tests).
    #[must_use]
    pub fn from_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Self {
        Self {
            store,
            description: description.into(),
            permits: Arc::new(Semaphore::new(Self::DEFAULT_CONCURRENCY)),
            retry: RetryPolicy::default(),
        }
    }

    /// The same store narrowed to `prefix` (one account per prefix).
    #[must_use]
    pub fn with_prefix(&self, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return self.clone();
        }
        Self {
            store: Arc::new(PrefixStore::new(Arc::clone(&self.store), prefix)),
            description: format!("{}/{prefix}", self.description.trim_end_matches('/')),
            permits: Arc::clone(&self.permits),
            retry: self.retry,
        }
    }

    /// Sets the bound on concurrent requests.
    #[must_use]
    pub fn with_concurrency(mut self, limit: usize) -> Self {
        self.permits = Arc::new(Semaphore::new(limit.max(1)));
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The underlying object store, narrowed to this backend's prefix (record segments
    /// are read and written through it directly, with ranged reads).
    pub(crate) fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// A description of the location for messages (no secrets).
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Runs `op` with a concurrency permit, retrying transient errors with backoff.
    ///
    /// Callers' closures capture owned handles (`Arc` store, cloned path), never
    /// `&self`: a future borrowing through a closure is not `Send` for every lifetime,
    /// which spawned tasks and `async_trait` runners require.
    async fn retrying<T, F, Fut>(&self, op: &'static str, name: &str, mut f: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, object_store::Error>>,
    {
        let mut delay = self.retry.initial_backoff;
        let mut attempt = 0;
        loop {
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| VaultError::Worker(e.to_string()))?;
                f(attempt).await
            };
            match result {
                Ok(v) => return Ok(v),
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(VaultError::NotFound(name.to_owned()));
                }
                Err(object_store::Error::AlreadyExists { .. }) => {
                    return Err(VaultError::AlreadyExists(name.to_owned()));
                }
                Err(e) if is_permanent(&e) || attempt + 1 >= self.retry.attempts => {
                    return Err(VaultError::Backend {
                        op,
                        object: name.to_owned(),
                        source: e,
                    });
                }
                Err(e) => {
                    tracing::warn!(op, object = name, attempt, error = %e, "retrying object-store request");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_backoff);
                    attempt += 1;
                }
            }
        }
    }

    /// Writes a new object; fails with [`VaultError::AlreadyExists`] if it exists.
    ///
    /// A retry that finds the object already present with the expected size counts as
    /// success (the earlier attempt landed but its answer was lost).
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn put_new(&self, name: &str, data: Bytes) -> Result<()> {
        let path = Path::from(name);
        let len = data.len() as u64;
        let store = Arc::clone(&self.store);
        self.retrying("put", name, |attempt| {
            let data = data.clone();
            let path = path.clone();
            let store = Arc::clone(&store);
            async move {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                match store
                    .put_opts(&path, PutPayload::from(data.clone()), opts)
                    .await
                {
                    Err(object_store::Error::AlreadyExists { .. }) if attempt > 0 => {
                        let meta = store.head(&path).await?;
                        if meta.size == len {
                            Ok(())
                        } else {
                            Err(object_store::Error::AlreadyExists {
                                path: path.to_string(),
                                source: "differs from the object being written".into(),
                            })
                        }
                    }
                    Err(object_store::Error::NotImplemented { .. }) => {
                        store.put(&path, PutPayload::from(data)).await.map(|_| ())
                    }
                    other => other.map(|_| ()),
                }
            }
        })
        .await
    }

    /// Replaces an existing object (or creates it) in one atomic put: readers see the old
    /// or the new bytes, never a mix. The one exception to "nothing is overwritten" is
    /// the redaction of a snapshot manifest ([`crate::Vault::redact_snapshot`]), which
    /// keeps the manifest's id; everything else uses [`Backend::put_new`].
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn replace(&self, name: &str, data: Bytes) -> Result<()> {
        let path = Path::from(name);
        let store = Arc::clone(&self.store);
        self.retrying("put", name, |_| {
            let (store, path, data) = (Arc::clone(&store), path.clone(), data.clone());
            async move { store.put(&path, PutPayload::from(data)).await.map(|_| ()) }
        })
        .await
    }

    /// Writes an object with a fresh random name (packs): overwriting is impossible by
    /// construction, so large objects go up in parts.
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn put_large(&self, name: &str, data: Bytes) -> Result<()> {
        if data.len() <= MULTIPART_THRESHOLD {
            return self.put_new(name, data).await;
        }
        let path = Path::from(name);
        let store = Arc::clone(&self.store);
        self.retrying("put", name, |_| {
            let data = data.clone();
            let path = path.clone();
            let store = Arc::clone(&store);
            async move {
                let upload = store.put_multipart(&path).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                let mut offset = 0;
                while offset < data.len() {
                    let end = (offset + PART_SIZE).min(data.len());
                    writer.wait_for_capacity(4).await?;
                    writer.put(data.slice(offset..end));
                    offset = end;
                }
                writer.finish().await.map(|_| ())
            }
        })
        .await
    }

    /// Reads a whole object.
    ///
    /// # Errors
    /// [`VaultError::NotFound`] when absent; store failures after retries.
    pub async fn get(&self, name: &str) -> Result<Bytes> {
        let path = Path::from(name);
        let store = Arc::clone(&self.store);
        self.retrying("get", name, |_| {
            let (store, path) = (Arc::clone(&store), path.clone());
            async move { store.get(&path).await?.bytes().await }
        })
        .await
    }

    /// Reads `range` of an object.
    ///
    /// # Errors
    /// [`VaultError::NotFound`] when absent; store failures after retries; a short read
    /// is reported as [`VaultError::Format`].
    pub async fn get_range(&self, name: &str, range: Range<u64>) -> Result<Bytes> {
        let path = Path::from(name);
        let want = range.end - range.start;
        let store = Arc::clone(&self.store);
        let bytes = self
            .retrying("get", name, |_| {
                let range = range.clone();
                let path = path.clone();
                let store = Arc::clone(&store);
                async move { store.get_range(&path, range).await }
            })
            .await?;
        if bytes.len() as u64 != want {
            return Err(VaultError::format(
                name,
                format!("short read: {} of {want} bytes", bytes.len()),
            ));
        }
        Ok(bytes)
    }

    /// Size and time of an object, or `None` when absent.
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn head(&self, name: &str) -> Result<Option<ObjectInfo>> {
        let path = Path::from(name);
        let store = Arc::clone(&self.store);
        match self
            .retrying("head", name, |_| {
                let (store, path) = (Arc::clone(&store), path.clone());
                async move { store.head(&path).await }
            })
            .await
        {
            Ok(meta) => Ok(Some(ObjectInfo {
                name: name.to_owned(),
                size: meta.size,
                last_modified: meta.last_modified,
            })),
            Err(VaultError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists every object under `prefix` (a directory-like name such as `packs`).
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let path = Path::from(prefix);
        let store = Arc::clone(&self.store);
        let mut out: Vec<ObjectInfo> = self
            .retrying("list", prefix, |_| {
                let (store, path) = (Arc::clone(&store), path.clone());
                async move {
                    store
                        .list(Some(&path))
                        .map_ok(|meta| ObjectInfo {
                            name: meta.location.to_string(),
                            size: meta.size,
                            last_modified: meta.last_modified,
                        })
                        .try_collect::<Vec<_>>()
                        .await
                }
            })
            .await?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Deletes an object; deleting an absent object succeeds.
    ///
    /// # Errors
    /// Store failures after retries.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let path = Path::from(name);
        let store = Arc::clone(&self.store);
        match self
            .retrying("delete", name, |_| {
                let (store, path) = (Arc::clone(&store), path.clone());
                async move { store.delete(&path).await }
            })
            .await
        {
            Ok(()) | Err(VaultError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Errors that retrying cannot fix.
fn is_permanent(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    matches!(
        e,
        E::NotFound { .. }
            | E::AlreadyExists { .. }
            | E::Precondition { .. }
            | E::NotSupported { .. }
            | E::NotImplemented { .. }
            | E::InvalidPath { .. }
            | E::PermissionDenied { .. }
            | E::Unauthenticated { .. }
            | E::UnknownConfigurationKey { .. }
    )
}
