//! The Parquet schema of a segment and the encoding / decoding of one row group.
//!
//! Columns, in file order (the first four are what merges and diffs read, so they are
//! adjacent and one ranged read fetches them):
//!
//! | # | name | type |
//! |---|------|------|
//! | 0 | `key` | binary (UTF-8), sorted ascending |
//! | 1 | `version` | int64 |
//! | 2 | `deleted` | boolean |
//! | 3 | `row_hash` | fixed 16 bytes: SHA-256 of the record JSON, truncated |
//! | 4 | `modstamp` | int64 |
//! | 5 | `created_by` | binary (UTF-8) |
//! | 6 | `modified_by` | binary (UTF-8) |
//! | 7 | `chunks` | binary: concatenated 32-byte chunk ids the record references |
//! | 8 | `record` | binary (UTF-8): the record JSON |
//!
//! Row groups are encoded independently into their own buffers (so several can be encoded
//! in parallel) and spliced into the file with `append_column`.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::reader::{ColumnReader, get_column_reader};
use parquet::column::writer::{ColumnCloseResult, ColumnWriter, get_column_writer};
use parquet::data_type::{ByteArray, FixedLenByteArray};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::{ColumnPath, SchemaDescPtr, SchemaDescriptor, TypePtr};

use super::Row;
use super::batch::Batch;
use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};

pub const COL_KEY: usize = 0;
pub const COL_VERSION: usize = 1;
pub const COL_DELETED: usize = 2;
pub const COL_ROW_HASH: usize = 3;
pub const COL_MODSTAMP: usize = 4;
pub const COL_CREATED_BY: usize = 5;
pub const COL_MODIFIED_BY: usize = 6;
pub const COL_CHUNKS: usize = 7;
pub const COL_RECORD: usize = 8;
pub const NUM_COLUMNS: usize = 9;

const SCHEMA: &str = "message cairn_segment {
    required binary key (STRING);
    required int64 version;
    required boolean deleted;
    required fixed_len_byte_array(16) row_hash;
    required int64 modstamp;
    required binary created_by (STRING);
    required binary modified_by (STRING);
    required binary chunks;
    required binary record (STRING);
}";

/// Which columns a reader decodes. Key, version, deleted and row hash are always read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection {
    /// Modstamp, created-by and modified-by.
    pub meta: bool,
    /// The chunk references.
    pub chunks: bool,
    /// The record JSON.
    pub record: bool,
}

impl Projection {
    /// Every column.
    pub const ALL: Self = Self {
        meta: true,
        chunks: true,
        record: true,
    };
    /// Key, version, deleted, row hash only (merges and diffs).
    pub const KEYS: Self = Self {
        meta: false,
        chunks: false,
        record: false,
    };

    /// The highest column index this projection needs, plus one. Columns are read as one
    /// contiguous prefix range `0..end` of the row group, except that a record-only
    /// projection still fetches the columns in between (they are small).
    pub fn columns(&self) -> Vec<usize> {
        let mut c = vec![COL_KEY, COL_VERSION, COL_DELETED, COL_ROW_HASH];
        if self.meta {
            c.extend([COL_MODSTAMP, COL_CREATED_BY, COL_MODIFIED_BY]);
        }
        if self.chunks {
            c.push(COL_CHUNKS);
        }
        if self.record {
            c.push(COL_RECORD);
        }
        c
    }
}

/// The schema every segment uses.
pub fn schema() -> Result<(TypePtr, SchemaDescPtr)> {
    let t = Arc::new(parse_message_type(SCHEMA).map_err(write_err)?);
    let d = Arc::new(SchemaDescriptor::new(t.clone()));
    Ok((t, d))
}

/// Writer properties: zstd at `level`, statistics only where readers use them, dictionaries
/// only for the low-cardinality user columns.
pub fn writer_properties(level: i32) -> Result<WriterPropertiesPtr> {
    let zstd = Compression::ZSTD(ZstdLevel::try_new(level).map_err(write_err)?);
    let col = |name: &str| ColumnPath::new(vec![name.to_owned()]);
    let mut b = WriterProperties::builder()
        .set_compression(zstd)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_column_statistics_enabled(col("key"), EnabledStatistics::Chunk)
        .set_column_statistics_enabled(col("modstamp"), EnabledStatistics::Chunk)
        .set_column_dictionary_enabled(col("created_by"), true)
        .set_column_dictionary_enabled(col("modified_by"), true)
        .set_data_page_size_limit(256 * 1024)
        .set_created_by("cairn record segments v1".to_owned());
    // Keys are short; untruncated bounds keep row-group skipping exact.
    b = b.set_statistics_truncate_length(None);
    Ok(Arc::new(b.build()))
}

pub fn write_err(e: impl std::fmt::Display) -> VaultError {
    VaultError::SegmentWrite(e.to_string())
}

/// One row group encoded into its own buffer, ready to splice into a file.
pub struct EncodedGroup {
    pub data: Bytes,
    pub columns: Vec<ColumnCloseResult>,
}

/// Encodes `batch` (already sorted) as one row group.
pub fn encode_group(
    schema: &SchemaDescPtr,
    props: &WriterPropertiesPtr,
    batch: &Batch,
) -> Result<EncodedGroup> {
    let Batch {
        keys,
        versions,
        deleted,
        hashes,
        modstamps,
        created,
        modified,
        chunks,
        records,
    } = batch;
    let mut sink = TrackedWrite::new(Vec::new());
    let mut closes = Vec::with_capacity(NUM_COLUMNS);
    for (i, descr) in schema.columns().iter().enumerate() {
        let pages = Box::new(SerializedPageWriter::new(&mut sink));
        let mut w = get_column_writer(descr.clone(), props.clone(), pages);
        let written = match (&mut w, i) {
            (ColumnWriter::ByteArrayColumnWriter(w), COL_KEY) => w.write_batch(keys, None, None),
            (ColumnWriter::Int64ColumnWriter(w), COL_VERSION) => {
                w.write_batch(versions, None, None)
            }
            (ColumnWriter::BoolColumnWriter(w), COL_DELETED) => w.write_batch(deleted, None, None),
            (ColumnWriter::FixedLenByteArrayColumnWriter(w), COL_ROW_HASH) => {
                w.write_batch(hashes, None, None)
            }
            (ColumnWriter::Int64ColumnWriter(w), COL_MODSTAMP) => {
                w.write_batch(modstamps, None, None)
            }
            (ColumnWriter::ByteArrayColumnWriter(w), COL_CREATED_BY) => {
                w.write_batch(created, None, None)
            }
            (ColumnWriter::ByteArrayColumnWriter(w), COL_MODIFIED_BY) => {
                w.write_batch(modified, None, None)
            }
            (ColumnWriter::ByteArrayColumnWriter(w), COL_CHUNKS) => {
                w.write_batch(chunks, None, None)
            }
            (ColumnWriter::ByteArrayColumnWriter(w), COL_RECORD) => {
                w.write_batch(records, None, None)
            }
            _ => {
                return Err(write_err(format!(
                    "schema column {i} has an unexpected type"
                )));
            }
        };
        written.map_err(write_err)?;
        closes.push(w.close().map_err(write_err)?);
    }
    let data = sink.into_inner().map_err(write_err)?;
    Ok(EncodedGroup {
        data: Bytes::from(data),
        columns: closes,
    })
}

/// A window of a segment's plaintext: `data` holds bytes `base..base + data.len()` of a
/// Parquet file `len` bytes long. Reads outside the window are errors, never zeros.
#[derive(Clone)]
pub struct Window {
    pub base: u64,
    pub data: Bytes,
    pub len: u64,
}

impl Length for Window {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Window {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        let off = self.offset(start, 0)?;
        Ok(self.data.slice(off..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let off = self.offset(start, length)?;
        Ok(self.data.slice(off..off + length))
    }
}

impl Window {
    fn offset(&self, start: u64, length: usize) -> parquet::errors::Result<usize> {
        let end = start.saturating_add(length as u64);
        if start < self.base || end > self.base + self.data.len() as u64 {
            return Err(parquet::errors::ParquetError::General(format!(
                "read {start}+{length} outside the fetched window"
            )));
        }
        Ok((start - self.base) as usize)
    }
}

/// Decodes the projected columns of one row group from `window` into rows. Columns not in
/// the projection are left empty (zero, empty string, no chunks).
pub fn decode_group(
    window: &Arc<Window>,
    schema: &SchemaDescPtr,
    rg: &RowGroupMetaData,
    projection: Projection,
    rows_wanted: Range<usize>,
) -> parquet::errors::Result<Vec<Row>> {
    let total = usize::try_from(rg.num_rows()).unwrap_or(0);
    if rows_wanted.end > total || rows_wanted.start > rows_wanted.end {
        return Err(parquet::errors::ParquetError::General(format!(
            "rows {rows_wanted:?} outside a row group of {total}"
        )));
    }
    let n = rows_wanted.len();
    let mut rows: Vec<Row> = Vec::with_capacity(n);
    for i in projection.columns() {
        let pages = SerializedPageReader::new(window.clone(), rg.column(i), total, None)?;
        let mut reader = get_column_reader(schema.column(i), Box::new(pages));
        // Whole pages before the wanted rows are skipped without being decompressed.
        if rows_wanted.start > 0 {
            let skipped = match &mut reader {
                ColumnReader::ByteArrayColumnReader(r) => r.skip_records(rows_wanted.start)?,
                ColumnReader::Int64ColumnReader(r) => r.skip_records(rows_wanted.start)?,
                ColumnReader::BoolColumnReader(r) => r.skip_records(rows_wanted.start)?,
                ColumnReader::FixedLenByteArrayColumnReader(r) => {
                    r.skip_records(rows_wanted.start)?
                }
                _ => 0,
            };
            if skipped != rows_wanted.start {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column {i} ended while skipping to row {}",
                    rows_wanted.start
                )));
            }
        }
        let check = |got: usize| {
            if got == n {
                Ok(())
            } else {
                Err(parquet::errors::ParquetError::General(format!(
                    "column {i} has {got} values, the row group {n}"
                )))
            }
        };
        match reader {
            ColumnReader::ByteArrayColumnReader(mut r) => {
                let mut values: Vec<ByteArray> = Vec::with_capacity(n);
                while values.len() < n {
                    let (got, _, _) = r.read_records(n - values.len(), None, None, &mut values)?;
                    if got == 0 {
                        break;
                    }
                }
                check(values.len())?;
                if i == COL_KEY {
                    for v in values {
                        rows.push(Row {
                            key: utf8(v)?,
                            ..Row::default()
                        });
                    }
                } else {
                    for (row, v) in rows.iter_mut().zip(values) {
                        match i {
                            COL_CREATED_BY => row.created_by = utf8(v)?,
                            COL_MODIFIED_BY => row.modified_by = utf8(v)?,
                            COL_RECORD => row.record = utf8(v)?,
                            _ => row.chunks = chunk_ids(v.data())?,
                        }
                    }
                }
            }
            ColumnReader::Int64ColumnReader(mut r) => {
                let mut values: Vec<i64> = Vec::with_capacity(n);
                while values.len() < n {
                    let (got, _, _) = r.read_records(n - values.len(), None, None, &mut values)?;
                    if got == 0 {
                        break;
                    }
                }
                check(values.len())?;
                for (row, v) in rows.iter_mut().zip(values) {
                    if i == COL_VERSION {
                        row.version = v;
                    } else {
                        row.modstamp = v;
                    }
                }
            }
            ColumnReader::BoolColumnReader(mut r) => {
                let mut values: Vec<bool> = Vec::with_capacity(n);
                while values.len() < n {
                    let (got, _, _) = r.read_records(n - values.len(), None, None, &mut values)?;
                    if got == 0 {
                        break;
                    }
                }
                check(values.len())?;
                for (row, v) in rows.iter_mut().zip(values) {
                    row.deleted = v;
                }
            }
            ColumnReader::FixedLenByteArrayColumnReader(mut r) => {
                let mut values: Vec<FixedLenByteArray> = Vec::with_capacity(n);
                while values.len() < n {
                    let (got, _, _) = r.read_records(n - values.len(), None, None, &mut values)?;
                    if got == 0 {
                        break;
                    }
                }
                check(values.len())?;
                for (row, v) in rows.iter_mut().zip(values) {
                    row.row_hash = v.data().try_into().map_err(|_| {
                        parquet::errors::ParquetError::General("row hash is not 16 bytes".into())
                    })?;
                }
            }
            _ => {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column {i} has an unexpected type"
                )));
            }
        }
    }
    Ok(rows)
}

fn utf8(v: ByteArray) -> parquet::errors::Result<String> {
    String::from_utf8(v.data().to_vec())
        .map_err(|_| parquet::errors::ParquetError::General("a text column is not UTF-8".into()))
}

fn chunk_ids(data: &[u8]) -> parquet::errors::Result<Vec<ChunkId>> {
    if !data.len().is_multiple_of(32) {
        return Err(parquet::errors::ParquetError::General(
            "chunk list is not a multiple of 32 bytes".into(),
        ));
    }
    Ok(data
        .chunks_exact(32)
        .map(|c| {
            let mut id = [0u8; 32];
            id.copy_from_slice(c);
            ChunkId(id)
        })
        .collect())
}
