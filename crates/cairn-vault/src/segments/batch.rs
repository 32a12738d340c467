//! One row group's worth of sorted rows, held column by column, and the cutter that fills
//! them from a sorted row stream.
//!
//! Values are Parquet `ByteArray`s over `Bytes`: rows from the writer's arena or spill
//! frames become column values without copying, rows decoded by readers (compaction) give
//! up their `String`s.

use bytes::Bytes;
use parquet::data_type::{ByteArray, FixedLenByteArray};

use super::Row;
use super::arena::RawRow;
use super::columns::write_err;
use crate::error::Result;

/// Sorted rows of one row group, column by column.
#[derive(Default)]
pub struct Batch {
    pub keys: Vec<ByteArray>,
    pub versions: Vec<i64>,
    pub deleted: Vec<bool>,
    pub hashes: Vec<FixedLenByteArray>,
    pub modstamps: Vec<i64>,
    pub created: Vec<ByteArray>,
    pub modified: Vec<ByteArray>,
    pub chunks: Vec<ByteArray>,
    pub records: Vec<ByteArray>,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Self {
            keys: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            deleted: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            modstamps: Vec::with_capacity(n),
            created: Vec::with_capacity(n),
            modified: Vec::with_capacity(n),
            chunks: Vec::with_capacity(n),
            records: Vec::with_capacity(n),
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn push_raw(&mut self, r: RawRow) {
        self.keys.push(r.key.into());
        self.versions.push(r.version);
        self.deleted.push(r.deleted);
        self.hashes.push(ByteArray::from(r.row_hash).into());
        self.modstamps.push(r.modstamp);
        self.created.push(r.created_by.into());
        self.modified.push(r.modified_by.into());
        self.chunks.push(r.chunks.into());
        self.records.push(r.record.into());
    }

    fn push_row(&mut self, r: Row) {
        let mut chunks = Vec::with_capacity(r.chunks.len() * 32);
        for id in &r.chunks {
            chunks.extend_from_slice(id.as_bytes());
        }
        self.push_raw(RawRow {
            key: Bytes::from(r.key.into_bytes()),
            version: r.version,
            deleted: r.deleted,
            row_hash: Bytes::copy_from_slice(&r.row_hash),
            modstamp: r.modstamp,
            created_by: Bytes::from(r.created_by.into_bytes()),
            modified_by: Bytes::from(r.modified_by.into_bytes()),
            chunks: Bytes::from(chunks),
            record: Bytes::from(r.record.into_bytes()),
        });
    }

    /// The first and last keys (the batch is sorted), as text.
    pub fn key_range(&self) -> Result<Option<(String, String)>> {
        let text = |v: &ByteArray| {
            std::str::from_utf8(v.data())
                .map(str::to_owned)
                .map_err(|_| write_err("a record key is not UTF-8"))
        };
        match (self.keys.first(), self.keys.last()) {
            (Some(a), Some(b)) => Ok(Some((text(a)?, text(b)?))),
            _ => Ok(None),
        }
    }
}

/// Cuts a sorted row stream into row groups by row count and bytes.
pub struct GroupCutter {
    batch: Batch,
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
}

impl GroupCutter {
    pub fn new(max_rows: usize, max_bytes: usize) -> Self {
        let max_rows = max_rows.max(1);
        Self {
            batch: Batch::with_capacity(max_rows.min(1 << 16)),
            bytes: 0,
            max_rows,
            max_bytes: max_bytes.max(1),
        }
    }

    /// Adds a row from the writer's arena or a spill run; returns a full group.
    pub fn push_raw(&mut self, row: RawRow) -> Option<Batch> {
        self.bytes += row.size();
        self.batch.push_raw(row);
        self.cut()
    }

    /// Adds a decoded row (compaction); returns a full group.
    pub fn push(&mut self, row: Row) -> Option<Batch> {
        self.bytes += row.mem_size();
        self.batch.push_row(row);
        self.cut()
    }

    fn cut(&mut self) -> Option<Batch> {
        (self.batch.len() >= self.max_rows || self.bytes >= self.max_bytes)
            .then(|| self.take())
            .flatten()
    }

    /// The rows held so far, if any.
    pub fn take(&mut self) -> Option<Batch> {
        self.bytes = 0;
        if self.batch.is_empty() {
            return None;
        }
        let next = Batch::with_capacity(self.max_rows.min(1 << 16));
        Some(std::mem::replace(&mut self.batch, next))
    }
}
