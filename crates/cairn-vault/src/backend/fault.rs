//! A wrapper store that injects failures, for testing how the vault copes with a flaky
//! object store. Public so integration tests (and other crates' tests) can use it.
//!
//! Writes are `put`, multipart `put`, `copy` and `delete`; reads are `get` (including
//! ranges and `head`) and `list`. A failure is an `object_store::Error::Generic`, which
//! the [`super::Backend`] treats as transient and retries.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use parking_lot::Mutex;

/// Which operations fail.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Fail the write with this 1-based ordinal (counting from when the plan was set).
    pub fail_nth_write: Option<u64>,
    /// Fail the read with this 1-based ordinal.
    pub fail_nth_read: Option<u64>,
    /// Fail every write from this ordinal on (a store that goes down for good).
    pub fail_writes_from: Option<u64>,
    /// Fail this fraction (0.0–1.0) of writes, chosen by a seeded generator.
    pub write_failure_rate: f64,
    /// Fail this fraction of reads.
    pub read_failure_rate: f64,
    /// Seed of the generator behind the rates.
    pub seed: u64,
}

#[derive(Debug, Default)]
struct State {
    plan: FaultPlan,
    rng: u64,
}

/// An `ObjectStore` that forwards to `inner` and fails operations per a [`FaultPlan`].
pub struct FaultStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    state: Mutex<State>,
    writes: AtomicU64,
    reads: AtomicU64,
    injected: AtomicU64,
}

impl fmt::Debug for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.inner)
    }
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.inner)
    }
}

impl FaultStore {
    /// Wraps `inner` with no faults planned.
    #[must_use]
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            faults: Arc::new(Faults::default()),
        }
    }

    /// Replaces the plan and restarts the operation counters.
    pub fn set_plan(&self, plan: FaultPlan) {
        let f = &self.faults;
        let mut state = f.state.lock();
        state.rng = plan.seed ^ 0x9E37_79B9_7F4A_7C15;
        state.plan = plan;
        f.writes.store(0, Ordering::SeqCst);
        f.reads.store(0, Ordering::SeqCst);
    }

    /// How many failures were injected so far.
    #[must_use]
    pub fn injected(&self) -> u64 {
        self.faults.injected.load(Ordering::SeqCst)
    }

    /// Writes seen since the plan was set.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.faults.writes.load(Ordering::SeqCst)
    }

    fn check(&self, write: bool, path: &str) -> object_store::Result<()> {
        self.faults.check(write, path)
    }
}

impl Faults {
    fn check(&self, write: bool, path: &str) -> object_store::Result<()> {
        let n = if write {
            self.writes.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.reads.fetch_add(1, Ordering::SeqCst) + 1
        };
        let mut state = self.state.lock();
        let plan = &state.plan;
        let (nth, rate) = if write {
            (plan.fail_nth_write, plan.write_failure_rate)
        } else {
            (plan.fail_nth_read, plan.read_failure_rate)
        };
        let mut fail = nth == Some(n) || (write && plan.fail_writes_from.is_some_and(|f| n >= f));
        if !fail && rate > 0.0 {
            // xorshift64*: deterministic per seed, no dependency.
            let mut x = state.rng;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.rng = x;
            let draw = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            fail = draw < rate;
        }
        if fail {
            self.injected.fetch_add(1, Ordering::SeqCst);
            return Err(object_store::Error::Generic {
                store: "FaultStore",
                source: format!(
                    "injected {} failure #{n} at {path}",
                    if write { "write" } else { "read" }
                )
                .into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(true, location.as_ref())?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(true, location.as_ref())?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(false, location.as_ref())?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        // Decided per path before forwarding, so a failed delete leaves the object.
        let faults = Arc::clone(&self.faults);
        let inner = Arc::clone(&self.inner);
        locations
            .then(move |item| {
                let faults = Arc::clone(&faults);
                let inner = Arc::clone(&inner);
                async move {
                    let path = item?;
                    faults.check(true, path.as_ref())?;
                    let once = futures::stream::once(async move { Ok(path) }).boxed();
                    let mut results = inner.delete_stream(once);
                    results.next().await.unwrap_or_else(|| {
                        Err(object_store::Error::Generic {
                            store: "FaultStore",
                            source: "inner store returned no delete result".into(),
                        })
                    })
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.check(false, prefix.map_or("", |p| p.as_ref())) {
            Ok(()) => self.inner.list(prefix),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.check(false, prefix.map_or("", |p| p.as_ref()))?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.check(true, to.as_ref())?;
        self.inner.copy_opts(from, to, options).await
    }
}
