//! Point-in-time views: k-way merge of an entity's segments, point lookup, key history,
//! compaction.
//!
//! Memory: a [`StateReader`] holds at most two decoded row groups per segment (the current
//! one and the prefetched next), whatever the size of the entity.

use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::task::JoinHandle;

use super::batch::GroupCutter;
use super::columns::Projection;
use super::reader::Segment;
use super::writer::SegmentSink;
use super::{Row, SegmentRef, SegmentStore, StateOptions};
use crate::error::{Result, VaultError};

/// Segments opened concurrently by lookups and state readers.
const OPEN_CONCURRENCY: usize = 8;

/// Sequential reader of one segment's rows, one row group at a time, prefetching the next.
struct Cursor {
    seg: Arc<Segment>,
    projection: Projection,
    next_group: usize,
    rows: std::vec::IntoIter<Row>,
    head: Option<Row>,
    prefetch: Option<JoinHandle<Result<Vec<Row>>>>,
}

impl Cursor {
    fn new(seg: Arc<Segment>, projection: Projection) -> Self {
        let mut c = Self {
            seg,
            projection,
            next_group: 0,
            rows: Vec::new().into_iter(),
            head: None,
            prefetch: None,
        };
        c.spawn_prefetch();
        c
    }

    fn spawn_prefetch(&mut self) {
        if self.next_group < self.seg.num_groups() {
            let seg = self.seg.clone();
            let (rg, projection) = (self.next_group, self.projection);
            self.next_group += 1;
            self.prefetch = Some(tokio::spawn(
                async move { seg.read_group(rg, projection).await },
            ));
        }
    }

    /// Makes `head` the next row, loading row groups as needed; false at the end.
    async fn fill(&mut self) -> Result<bool> {
        if self.head.is_some() {
            return Ok(true);
        }
        loop {
            if let Some(row) = self.rows.next() {
                self.head = Some(row);
                return Ok(true);
            }
            let Some(task) = self.prefetch.take() else {
                return Ok(false);
            };
            let rows = task.await.map_err(|e| VaultError::SegmentCorrupt {
                object: self.seg.object.clone(),
                detail: e.to_string(),
            })??;
            self.rows = rows.into_iter();
            self.spawn_prefetch();
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        if let Some(t) = self.prefetch.take() {
            t.abort();
        }
    }
}

/// An entity's state at one snapshot, streamed in key order: for each key, the last row
/// of the newest segment holding it; deletions dropped unless asked for.
pub struct StateReader {
    cursors: Vec<Cursor>,
    include_deleted: bool,
}

impl StateReader {
    /// The next key's winning row, or `None` at the end.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn next(&mut self) -> Result<Option<Row>> {
        loop {
            let mut min: Option<&str> = None;
            let mut live = Vec::with_capacity(self.cursors.len());
            for (i, c) in self.cursors.iter_mut().enumerate() {
                if c.fill().await? {
                    live.push(i);
                }
            }
            for &i in &live {
                let k = self.cursors[i].head.as_ref().map(|r| r.key.as_str());
                if let Some(k) = k
                    && min.is_none_or(|m| k < m)
                {
                    min = Some(k);
                }
            }
            let Some(min) = min.map(str::to_owned) else {
                return Ok(None);
            };
            // Newest segment first: its last row for the key wins; older ones are skipped.
            let mut winner: Option<Row> = None;
            let mut holder: Option<usize> = None;
            for &i in live.iter().rev() {
                let c = &mut self.cursors[i];
                while c.fill().await? && c.head.as_ref().is_some_and(|r| r.key == min) {
                    let row = c.head.take();
                    if holder.is_none_or(|h| h == i) {
                        holder = Some(i);
                        winner = row;
                    }
                }
            }
            let Some(row) = winner else {
                continue;
            };
            if row.deleted && !self.include_deleted {
                continue;
            }
            return Ok(Some(row));
        }
    }
}

impl SegmentStore {
    async fn open_all(&self, segments: &[SegmentRef]) -> Result<Vec<Arc<Segment>>> {
        // Owned captures: the returned future stays `Send` for callers generic over
        // lifetimes (job runners behind `async_trait`).
        let this = self.clone();
        let owned: Vec<SegmentRef> = segments.to_vec();
        stream::iter(owned.into_iter().map(move |s| {
            let this = this.clone();
            async move { this.open(&s).await }
        }))
        .buffered(OPEN_CONCURRENCY)
        .try_collect()
        .await
    }

    /// The state of an entity whose segments (oldest first) are `segments`.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn state(&self, segments: &[SegmentRef], opts: StateOptions) -> Result<StateReader> {
        let opened = self.open_all(segments).await?;
        Ok(StateReader {
            cursors: opened
                .into_iter()
                .map(|s| Cursor::new(s, opts.projection))
                .collect(),
            include_deleted: opts.include_deleted,
        })
    }

    /// The winning row of `key` in the state made of `segments` (oldest first): `None` when
    /// the key is absent; a row with `deleted` set when its latest version is a deletion.
    /// Reads only segments whose key range admits the key, and in them only the row
    /// groups whose statistics do.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn lookup(&self, segments: &[SegmentRef], key: &str) -> Result<Option<Row>> {
        let candidates: Vec<SegmentRef> = segments
            .iter()
            .rev()
            .filter(|s| s.min_key.as_str() <= key && key <= s.max_key.as_str())
            .cloned()
            .collect();
        // Probe the key column of the candidates concurrently, newest first; the first
        // hit in that order wins, then read its full row. (Owned captures, as in
        // `open_all`.)
        let this = self.clone();
        let wanted = key.to_owned();
        let hits: Vec<Option<(Arc<Segment>, usize)>> =
            stream::iter(candidates.into_iter().map(move |s| {
                let (this, wanted) = (this.clone(), wanted.clone());
                async move {
                    let seg = this.open(&s).await?;
                    let keys = seg.rows_for_key(&wanted, Projection::KEYS).await?;
                    Ok::<_, VaultError>((!keys.is_empty()).then_some((seg, keys.len())))
                }
            }))
            .buffered(OPEN_CONCURRENCY)
            .try_collect()
            .await?;
        let Some((seg, _)) = hits.into_iter().flatten().next() else {
            return Ok(None);
        };
        Ok(seg.rows_for_key(key, Projection::ALL).await?.pop())
    }

    /// Every stored version of `key` across `segments` (oldest first), in order.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn history(&self, segments: &[SegmentRef], key: &str) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for s in segments
            .iter()
            .filter(|s| s.min_key.as_str() <= key && key <= s.max_key.as_str())
        {
            let seg = self.open(s).await?;
            out.extend(seg.rows_for_key(key, Projection::ALL).await?);
        }
        Ok(out)
    }

    /// Merges an entity's segments into new base segment(s) holding exactly its state
    /// (deletions dropped). The inputs are left untouched.
    ///
    /// # Errors
    /// Store, integrity, format or encoding errors.
    pub async fn compact(&self, segments: &[SegmentRef]) -> Result<Vec<SegmentRef>> {
        let mut state = self.state(segments, StateOptions::default()).await?;
        let opts = &self.inner.opts;
        let mut groups = GroupCutter::new(opts.group_rows, opts.group_bytes);
        let mut sink = SegmentSink::new(self.clone());
        while let Some(row) = state.next().await? {
            if let Some(g) = groups.push(row) {
                sink.push_group(g).await?;
            }
        }
        if let Some(g) = groups.take() {
            sink.push_group(g).await?;
        }
        sink.finish().await
    }
}
