//! Writing segments: [`SegmentWriter`] (unsorted input, bounded memory) and the sink that
//! turns sorted rows into encrypted segment objects.
//!
//! Pipeline of [`SegmentWriter::finish`]: a blocking task merges the sorted runs (spilled
//! files plus the in-memory tail) and cuts row groups; row groups are encoded in parallel
//! on the blocking pool (at most `parallelism` in flight, so memory stays bounded) and
//! spliced in order into the Parquet file, whose bytes are sealed block by block and
//! uploaded as they are produced.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use bytes::{Bytes, BytesMut};
use object_store::WriteMultipart;
use object_store::{PutMode, PutOptions, PutPayload};
use parquet::file::writer::SerializedFileWriter;
use rand::RngCore;
use tokio::task::JoinHandle;

use super::arena::{RawRow, RowArena, encoded_len};
use super::batch::{Batch, GroupCutter};
use super::columns::{self, EncodedGroup, write_err};
use super::container::BlockSealer;
use super::spill::{RunReader, write_run};
use super::{RecordVersion, SegmentRef, SegmentStore};
use crate::crypto::DataKey;
use crate::error::{Result, VaultError};

/// Sealed bytes buffered before a segment upload switches from one PUT to multipart.
const UPLOAD_PART: usize = 8 << 20;
/// Multipart parts in flight per segment.
const UPLOAD_CONCURRENCY: usize = 2;

/// Writes one (task, entity) delta: versions pushed in any order come out as one or more
/// key-sorted segments with disjoint key ranges (a key's versions may straddle two).
///
/// Memory is bounded by [`super::SegmentOptions::memory_budget`]: above it, the buffered
/// rows are sorted and spilled to an encrypted temp file, and `finish` merges the runs.
/// Dropping a writer without `finish` writes nothing to the vault.
pub struct SegmentWriter {
    store: SegmentStore,
    buf: RowArena,
    /// The arena of the last spill, handed back for reuse when that spill completes.
    spare: Option<RowArena>,
    runs: Vec<std::fs::File>,
    spilling: Option<JoinHandle<Result<(std::fs::File, RowArena)>>>,
    spill_dir: Option<tempfile::TempDir>,
    spill_key: crate::crypto::SubKey,
}

impl SegmentWriter {
    pub(super) fn new(store: SegmentStore) -> Self {
        Self {
            store,
            buf: RowArena::default(),
            spare: None,
            runs: Vec::new(),
            spilling: None,
            spill_dir: None,
            spill_key: DataKey::generate().derive("cairn 2026 segment spill v1"),
        }
    }

    /// Number of sorted runs spilled (or being spilled) to disk so far.
    #[must_use]
    pub fn spilled_runs(&self) -> usize {
        self.runs.len() + usize::from(self.spilling.is_some())
    }

    /// Adds one version.
    ///
    /// # Errors
    /// [`VaultError::SegmentInput`] for an empty key; spill-file errors when over budget.
    pub async fn push(&mut self, version: RecordVersion) -> Result<()> {
        if version.key.is_empty() {
            return Err(VaultError::SegmentInput(
                "a record key must not be empty".into(),
            ));
        }
        let len = encoded_len(&version)?;
        // Half the budget fills while the other half is being spilled in the background;
        // spilling before the row that would overflow keeps the arena within its capacity.
        if !self.buf.is_empty()
            && self.buf.bytes() + RowArena::cost(len) > self.store.inner.opts.memory_budget / 2
        {
            self.spill().await?;
        }
        self.buf.push(&version, len);
        Ok(())
    }

    async fn wait_spill(&mut self) -> Result<()> {
        if let Some(task) = self.spilling.take() {
            let (file, arena) = task.await.map_err(write_err)??;
            self.runs.push(file);
            self.spare = Some(arena);
        }
        Ok(())
    }

    async fn spill(&mut self) -> Result<()> {
        self.wait_spill().await?;
        let dir = match &self.spill_dir {
            Some(d) => d.path().to_owned(),
            None => {
                let base = self
                    .store
                    .inner
                    .opts
                    .spill_dir
                    .clone()
                    .unwrap_or_else(std::env::temp_dir);
                let d = tempfile::Builder::new()
                    .prefix("cairn-spill-")
                    .tempdir_in(base)
                    .map_err(|e| VaultError::SegmentWrite(format!("spill dir: {e}")))?;
                let p = d.path().to_owned();
                self.spill_dir = Some(d);
                p
            }
        };
        let next = self.spare.take().unwrap_or_default();
        let mut rows = std::mem::replace(&mut self.buf, next);
        let key = self.spill_key.clone();
        self.spilling = Some(tokio::task::spawn_blocking(move || {
            rows.prepare()?;
            let file = write_run(&dir, &key, &rows)?;
            rows.clear();
            Ok((file, rows))
        }));
        Ok(())
    }

    /// Sorts, encodes, encrypts and uploads everything pushed; returns the segments in
    /// order (empty when nothing was pushed).
    ///
    /// # Errors
    /// Store, encoding or spill errors; segments already uploaded by a failed call are
    /// unreferenced and left for prune.
    pub async fn finish(mut self) -> Result<Vec<SegmentRef>> {
        self.wait_spill().await?;
        let Self {
            store,
            mut buf,
            runs,
            spill_dir,
            spill_key,
            spare,
            ..
        } = self;
        // The spare arena's pages would otherwise stay resident through the merge.
        drop(spare);
        let opts = store.inner.opts.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch>>(2);
        let producer = tokio::task::spawn_blocking(move || {
            let send_err = |e| {
                let _ = tx.blocking_send(Err(e));
            };
            if let Err(e) = buf.prepare() {
                return send_err(e);
            }
            let mut sources: Vec<Source> = runs
                .into_iter()
                .map(|f| Box::new(RunReader::new(f, spill_key.clone())) as Source)
                .collect();
            sources.push(Box::new(buf.into_rows()));
            let mut groups = GroupCutter::new(opts.group_rows, opts.group_bytes);
            let mut merged = MergeRuns::new(sources);
            loop {
                match merged.next_row() {
                    Ok(Some(row)) => {
                        if let Some(g) = groups.push_raw(row)
                            && tx.blocking_send(Ok(g)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return send_err(e),
                }
            }
            if let Some(g) = groups.take() {
                let _ = tx.blocking_send(Ok(g));
            }
        });
        let mut sink = SegmentSink::new(store);
        while let Some(group) = rx.recv().await {
            sink.push_group(group?).await?;
        }
        producer.await.map_err(write_err)?;
        let refs = sink.finish().await?;
        drop(spill_dir);
        Ok(refs)
    }
}

/// A sorted run being merged.
type Source = Box<dyn Iterator<Item = Result<RawRow>> + Send>;

/// K-way merge of sorted runs; ties on (key, version) go to the earlier run (arrival order).
///
/// The heap holds small entries (key, version, run); each run's current row waits in
/// `heads`, so sifting moves a few words rather than whole rows.
struct MergeRuns {
    sources: Vec<Source>,
    heads: Vec<Option<RawRow>>,
    heap: BinaryHeap<HeapEntry>,
    primed: bool,
}

struct HeapEntry {
    key: Bytes,
    version: i64,
    source: usize,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse for smallest first.
        other
            .key
            .cmp(&self.key)
            .then(other.version.cmp(&self.version))
            .then(other.source.cmp(&self.source))
    }
}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}

impl MergeRuns {
    fn new(sources: Vec<Source>) -> Self {
        Self {
            heads: (0..sources.len()).map(|_| None).collect(),
            sources,
            heap: BinaryHeap::new(),
            primed: false,
        }
    }

    fn pull(&mut self, source: usize) -> Result<()> {
        if let Some(row) = self.sources[source].next() {
            let row = row?;
            self.heap.push(HeapEntry {
                key: row.key.clone(),
                version: row.version,
                source,
            });
            self.heads[source] = Some(row);
        }
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        if !self.primed {
            self.primed = true;
            for s in 0..self.sources.len() {
                self.pull(s)?;
            }
        }
        let Some(top) = self.heap.pop() else {
            return Ok(None);
        };
        let row = self.heads[top.source].take();
        self.pull(top.source)?;
        Ok(row)
    }
}

/// Turns sorted row groups into segment objects: parallel encode, in-order splice,
/// block sealing, upload. Starts a new segment after `max_segment_rows`.
pub(super) struct SegmentSink {
    store: SegmentStore,
    inflight: VecDeque<(JoinHandle<Result<EncodedGroup>>, u64, String, String)>,
    current: Option<OpenSegment>,
    done: Vec<SegmentRef>,
}

struct OpenSegment {
    object: String,
    path: object_store::path::Path,
    writer: SerializedFileWriter<BlockSealer>,
    pending: BytesMut,
    upload: Option<WriteMultipart>,
    stored: u64,
    rows: u64,
    min_key: String,
    max_key: String,
}

impl SegmentSink {
    pub(super) fn new(store: SegmentStore) -> Self {
        Self {
            store,
            inflight: VecDeque::new(),
            current: None,
            done: Vec::new(),
        }
    }

    /// Queues one sorted row group (which must sort after every earlier one); its rows
    /// carry their hashes already.
    pub(super) async fn push_group(&mut self, batch: Batch) -> Result<()> {
        let Some((min, max)) = batch.key_range()? else {
            return Ok(());
        };
        let n = batch.len() as u64;
        let schema = self.store.inner.schema.clone();
        let props = self.store.inner.props.clone();
        let task =
            tokio::task::spawn_blocking(move || columns::encode_group(&schema, &props, &batch));
        self.inflight.push_back((task, n, min, max));
        while self.inflight.len() >= self.store.inner.opts.parallelism.max(1) {
            self.append_next().await?;
        }
        Ok(())
    }

    async fn append_next(&mut self) -> Result<()> {
        let Some((task, n, min, max)) = self.inflight.pop_front() else {
            return Ok(());
        };
        let group = task.await.map_err(write_err)??;
        if self.current.is_none() {
            self.current = Some(self.open_segment(&min)?);
        }
        let Some(seg) = self.current.as_mut() else {
            return Ok(());
        };
        let mut rg = seg.writer.next_row_group().map_err(write_err)?;
        for close in group.columns {
            rg.append_column(&group.data, close).map_err(write_err)?;
        }
        rg.close().map_err(write_err)?;
        seg.rows += n;
        seg.max_key = max;
        let sealed = seg.writer.inner_mut().take_sealed();
        seg.send(&self.store, sealed).await?;
        if seg.rows >= self.store.inner.opts.max_segment_rows {
            self.close_current().await?;
        }
        Ok(())
    }

    fn open_segment(&self, min_key: &str) -> Result<OpenSegment> {
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        let object = format!("segments/{}.seg", hex::encode(id));
        let sealer = BlockSealer::new(object.clone(), self.store.inner.key.clone());
        let writer = SerializedFileWriter::new(
            sealer,
            self.store.inner.schema_type.clone(),
            self.store.inner.props.clone(),
        )
        .map_err(write_err)?;
        Ok(OpenSegment {
            path: self.store.path_of(&object),
            object,
            writer,
            pending: BytesMut::new(),
            upload: None,
            stored: 0,
            rows: 0,
            min_key: min_key.to_owned(),
            max_key: min_key.to_owned(),
        })
    }

    async fn close_current(&mut self) -> Result<()> {
        let Some(mut seg) = self.current.take() else {
            return Ok(());
        };
        seg.writer.finish().map_err(write_err)?;
        let sealer = seg.writer.inner_mut();
        let plain_len = sealer.plain_len();
        let tail = sealer.tail();
        let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        let meta_offset = plain_len
            .checked_sub(8 + meta_len)
            .ok_or_else(|| write_err("Parquet footer larger than the file"))?;
        let rest = sealer.take_sealed();
        let sealer = std::mem::replace(
            sealer,
            BlockSealer::new(String::new(), self.store.inner.key.clone()),
        );
        seg.send(&self.store, rest).await?;
        let last = sealer.finish(meta_offset, meta_len, seg.rows);
        seg.send(&self.store, last).await?;
        seg.complete(&self.store).await?;
        self.done.push(SegmentRef {
            object: seg.object,
            rows: seg.rows,
            stored_bytes: seg.stored,
            min_key: seg.min_key,
            max_key: seg.max_key,
        });
        Ok(())
    }

    /// Drains the encode queue, closes the last segment, returns every segment written.
    pub(super) async fn finish(mut self) -> Result<Vec<SegmentRef>> {
        while !self.inflight.is_empty() {
            self.append_next().await?;
        }
        self.close_current().await?;
        Ok(self.done)
    }
}

impl OpenSegment {
    /// Buffers sealed bytes; switches to a multipart upload once they exceed one part.
    async fn send(&mut self, store: &SegmentStore, sealed: Bytes) -> Result<()> {
        self.stored += sealed.len() as u64;
        if let Some(up) = self.upload.as_mut() {
            up.wait_for_capacity(UPLOAD_CONCURRENCY)
                .await
                .map_err(|e| store_err(&self.object, e))?;
            up.put(sealed);
            return Ok(());
        }
        self.pending.extend_from_slice(&sealed);
        if self.pending.len() >= UPLOAD_PART {
            let upload = store
                .inner
                .store
                .put_multipart_opts(&self.path, Default::default())
                .await
                .map_err(|e| store_err(&self.object, e))?;
            let mut up = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
            up.put(self.pending.split().freeze());
            self.upload = Some(up);
        }
        Ok(())
    }

    async fn complete(&mut self, store: &SegmentStore) -> Result<()> {
        match self.upload.take() {
            Some(up) => {
                up.finish().await.map_err(|e| store_err(&self.object, e))?;
            }
            None => {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                };
                let payload = PutPayload::from_bytes(self.pending.split().freeze());
                store
                    .inner
                    .store
                    .put_opts(&self.path, payload, opts)
                    .await
                    .map_err(|e| store_err(&self.object, e))?;
            }
        }
        Ok(())
    }
}

pub(super) fn store_err(object: &str, source: object_store::Error) -> VaultError {
    VaultError::SegmentStore {
        object: object.to_owned(),
        source,
    }
}
