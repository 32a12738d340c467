//! Reading one segment: open (trailer + Parquet footer), ranged reads of row groups with a
//! column projection, key probes using row-group statistics, full verification.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use object_store::GetOptions;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};

use super::columns::{self, COL_KEY, NUM_COLUMNS, Projection, Window};
use super::container::{self, BLOCK, SEALED_BLOCK, TAIL_LEN, Trailer};
use super::writer::store_err;
use super::{Row, SegmentRef, SegmentStore};
use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};

/// Blocks fetched with the trailer on open, so small segments open in one GET.
const TAIL_BLOCKS: u64 = 4;
/// Blocks per GET when verifying a whole segment.
const VERIFY_BLOCKS: u64 = 64;

/// An opened segment: its trailer and Parquet metadata, ready for row-group reads.
pub(super) struct Segment {
    store: SegmentStore,
    pub(super) object: String,
    path: object_store::path::Path,
    trailer: Trailer,
    pub(super) meta: ParquetMetaData,
}

/// What [`SegmentStore::verify`] found in a sound segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The object checked.
    pub object: String,
    /// Rows decoded.
    pub rows: u64,
    /// Sealed blocks authenticated.
    pub blocks: u64,
}

fn corrupt(object: &str, detail: impl std::fmt::Display) -> VaultError {
    VaultError::SegmentCorrupt {
        object: object.to_owned(),
        detail: detail.to_string(),
    }
}

impl SegmentStore {
    pub(super) async fn get_range(&self, object: &str, range: Range<u64>) -> Result<Bytes> {
        let path = self.path_of(object);
        let opts = GetOptions::new().with_range(Some(range.clone()));
        let got = self
            .inner
            .store
            .get_opts(&path, opts)
            .await
            .map_err(|e| store_err(object, e))?;
        let bytes = got.bytes().await.map_err(|e| store_err(object, e))?;
        if bytes.len() as u64 != range.end - range.start {
            return Err(corrupt(object, "object is shorter than its manifest says"));
        }
        Ok(bytes)
    }

    /// Opens a segment: one GET of its tail (trailer and, usually, the footer).
    pub(super) async fn open(&self, seg: &SegmentRef) -> Result<Arc<Segment>> {
        let object = seg.object.clone();
        let size = seg.stored_bytes;
        if size < TAIL_LEN {
            return Err(corrupt(&object, "object too short"));
        }
        let tail_start = size.saturating_sub(TAIL_LEN + TAIL_BLOCKS * SEALED_BLOCK);
        let tail = self.get_range(&object, tail_start..size).await?;
        let key = &self.inner.key;
        let trailer = container::open_trailer(key, &object, &tail, size)?;
        let meta_range = trailer.meta_offset..trailer.meta_offset + trailer.meta_len;
        let (stored, first) = trailer.stored_range(&meta_range);
        let sealed = if stored.start >= tail_start {
            tail.slice((stored.start - tail_start) as usize..(stored.end - tail_start) as usize)
        } else {
            self.get_range(&object, stored).await?
        };
        let plain = container::open_blocks(key, &object, &trailer, first, &sealed)?;
        let off = (meta_range.start - first * BLOCK) as usize;
        let meta_bytes = plain
            .get(off..off + trailer.meta_len as usize)
            .ok_or_else(|| corrupt(&object, "footer outside its blocks"))?;
        let meta = ParquetMetaDataReader::decode_metadata(meta_bytes)
            .map_err(|e| corrupt(&object, format!("Parquet footer: {e}")))?;
        let fields = meta.file_metadata().schema_descr().num_columns();
        if fields != NUM_COLUMNS || meta.file_metadata().num_rows() as u64 != trailer.rows {
            return Err(corrupt(&object, "unexpected schema or row count"));
        }
        Ok(Arc::new(Segment {
            store: self.clone(),
            path: self.path_of(&object),
            object,
            trailer,
            meta,
        }))
    }
}

impl Segment {
    pub(super) fn num_groups(&self) -> usize {
        self.meta.num_row_groups()
    }

    fn group(&self, rg: usize) -> &RowGroupMetaData {
        self.meta.row_group(rg)
    }

    /// Plaintext byte range of the projected columns of row group `rg`.
    fn column_range(&self, rg: usize, projection: Projection) -> Range<u64> {
        let g = self.group(rg);
        let mut start = u64::MAX;
        let mut end = 0;
        for c in projection.columns() {
            let (s, len) = g.column(c).byte_range();
            start = start.min(s);
            end = end.max(s + len);
        }
        start..end
    }

    /// Fetches and decrypts the plaintext `range` as a window readers can decode from.
    async fn window(&self, range: Range<u64>) -> Result<Window> {
        if range.end > self.trailer.plain_len || range.start > range.end {
            return Err(corrupt(&self.object, "column chunk outside the data"));
        }
        let (stored, first) = self.trailer.stored_range(&range);
        let sealed = self.store.get_range(&self.object, stored).await?;
        let plain = container::open_blocks(
            &self.store.inner.key,
            &self.object,
            &self.trailer,
            first,
            &sealed,
        )?;
        Ok(Window {
            base: first * BLOCK,
            data: plain,
            len: self.trailer.plain_len,
        })
    }

    /// Reads the projected columns of row group `rg` (decoding on the blocking pool).
    pub(super) async fn read_group(
        self: &Arc<Self>,
        rg: usize,
        projection: Projection,
    ) -> Result<Vec<Row>> {
        let all = 0..usize::try_from(self.group(rg).num_rows()).unwrap_or(0);
        self.read_rows(rg, projection, all).await
    }

    /// Reads rows `rows` of row group `rg` (decoding on the blocking pool).
    pub(super) async fn read_rows(
        self: &Arc<Self>,
        rg: usize,
        projection: Projection,
        rows: Range<usize>,
    ) -> Result<Vec<Row>> {
        let window = Arc::new(self.window(self.column_range(rg, projection)).await?);
        let seg = self.clone();
        tokio::task::spawn_blocking(move || {
            let schema = &seg.store.inner.schema;
            columns::decode_group(&window, schema, seg.group(rg), projection, rows)
                .map_err(|e| corrupt(&seg.object, format!("row group {rg}: {e}")))
        })
        .await
        .map_err(|e| corrupt(&self.object, e))?
    }

    /// Row groups whose key statistics admit `key`, in file order.
    pub(super) fn groups_for_key(&self, key: &str) -> Vec<usize> {
        (0..self.num_groups())
            .filter(|&rg| {
                let Some(stats) = self.group(rg).column(COL_KEY).statistics() else {
                    return true;
                };
                let lo = stats.min_bytes_opt().is_none_or(|m| m <= key.as_bytes());
                let hi = stats.max_bytes_opt().is_none_or(|m| m >= key.as_bytes());
                lo && hi
            })
            .collect()
    }

    /// Every row of `key` in this segment, in stored order.
    pub(super) async fn rows_for_key(
        self: &Arc<Self>,
        key: &str,
        projection: Projection,
    ) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for rg in self.groups_for_key(key) {
            let keys = self.read_group(rg, Projection::KEYS).await?;
            let start = keys.partition_point(|r| r.key.as_str() < key);
            let end = keys.partition_point(|r| r.key.as_str() <= key);
            if start == end {
                continue;
            }
            if projection == Projection::KEYS {
                out.extend(keys.into_iter().skip(start).take(end - start));
            } else {
                out.extend(self.read_rows(rg, projection, start..end).await?);
            }
        }
        Ok(out)
    }
}

impl SegmentStore {
    /// Reads every block of a segment, authenticates it, and decodes every row group.
    ///
    /// # Errors
    /// [`VaultError::Integrity`] naming the object and block, or
    /// [`VaultError::SegmentCorrupt`] naming the object, on the first problem found.
    pub async fn verify(&self, seg: &SegmentRef) -> Result<VerifyReport> {
        let opened = self.open(seg).await?;
        let t = opened.trailer;
        let key = &self.inner.key;
        let mut index = 0;
        while index < t.blocks() {
            let end = (index + VERIFY_BLOCKS).min(t.blocks());
            let range = index * BLOCK..(end * BLOCK).min(t.plain_len);
            let (stored, first) = t.stored_range(&range);
            let sealed = self.get_range(&seg.object, stored).await?;
            container::open_blocks(key, &seg.object, &t, first, &sealed)?;
            index = end;
        }
        // Every byte is authentic; now check the Parquet structure decodes end to end.
        let mut rows = 0u64;
        for rg in 0..opened.num_groups() {
            rows += opened.read_group(rg, Projection::ALL).await?.len() as u64;
        }
        if rows != t.rows || rows != seg.rows {
            return Err(corrupt(&seg.object, "row count differs from the manifest"));
        }
        Ok(VerifyReport {
            object: seg.object.clone(),
            rows,
            blocks: t.blocks(),
        })
    }

    /// The distinct chunk ids referenced by any row of the segment (reads one column).
    ///
    /// # Errors
    /// Store, integrity or format errors naming the object.
    pub async fn referenced_chunks(&self, seg: &SegmentRef) -> Result<Vec<ChunkId>> {
        let opened = self.open(seg).await?;
        let projection = Projection {
            chunks: true,
            ..Projection::KEYS
        };
        let mut out = Vec::new();
        for rg in 0..opened.num_groups() {
            for row in opened.read_group(rg, projection).await? {
                out.extend(row.chunks);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("object", &self.object)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
