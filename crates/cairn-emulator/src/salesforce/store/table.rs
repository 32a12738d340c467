//! One object's records in columnar form.
//!
//! Rows are never moved or reused: a row number is part of the record's id. System fields
//! live in header columns, stored fields in typed columns, strings in an append-only arena
//! (low-cardinality strings are interned), and file bodies in a blob list. A
//! SystemModstamp log kept in stamp order serves incremental queries without scanning.

use std::collections::HashMap;

use super::value::{BlobBody, Cell, RecRef, StrSpan};
use crate::salesforce::schema::{ColKind, ObjectDef};

/// Lifecycle of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// Visible to query.
    Live,
    /// In the recycle bin: visible to queryAll with IsDeleted = true.
    Deleted,
    /// Hard-deleted or purged: gone for good (the id stays reserved).
    Purged,
}

/// Why and when a row went to the recycle bin.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteInfo {
    /// When.
    pub at: i64,
    /// Who (user row).
    pub by: u32,
    /// The record whose delete cascaded to this one (None when deleted directly).
    pub cascade_root: Option<RecRef>,
    /// Lookups on other records cleared by this delete, restored on undelete:
    /// (child record, field index).
    pub cleared: Vec<(RecRef, usize)>,
}

/// A typed column.
#[derive(Debug, Clone)]
pub enum Column {
    /// Text spans.
    Text(Vec<StrSpan>),
    /// Numbers (NaN = null).
    Num(Vec<f64>),
    /// Checkboxes.
    Bool(Vec<bool>),
    /// Dates (`i32::MIN` = null).
    Date(Vec<i32>),
    /// Date-times (`i64::MIN` = null).
    DateTime(Vec<i64>),
    /// Packed references (`u64::MAX` = null).
    Ref(Vec<u64>),
    /// Blob indexes (`u32::MAX` = null).
    Blob(Vec<u32>),
}

impl Column {
    /// An empty column of `kind` with room for `cap` rows.
    pub fn new(kind: ColKind, cap: usize) -> Self {
        match kind {
            ColKind::Text => Column::Text(Vec::with_capacity(cap)),
            ColKind::Num => Column::Num(Vec::with_capacity(cap)),
            ColKind::Bool => Column::Bool(Vec::with_capacity(cap)),
            ColKind::Date => Column::Date(Vec::with_capacity(cap)),
            ColKind::DateTime => Column::DateTime(Vec::with_capacity(cap)),
            ColKind::Ref => Column::Ref(Vec::with_capacity(cap)),
            ColKind::Blob => Column::Blob(Vec::with_capacity(cap)),
        }
    }

    /// The cell at `row`.
    #[inline]
    pub fn get(&self, row: usize) -> Cell {
        match self {
            Column::Text(v) => {
                let s = v[row];
                if s.is_null() {
                    Cell::Null
                } else {
                    Cell::Text(s)
                }
            }
            Column::Num(v) => {
                let n = v[row];
                if n.is_nan() { Cell::Null } else { Cell::Num(n) }
            }
            Column::Bool(v) => Cell::Bool(v[row]),
            Column::Date(v) => match v[row] {
                i32::MIN => Cell::Null,
                d => Cell::Date(d),
            },
            Column::DateTime(v) => match v[row] {
                i64::MIN => Cell::Null,
                t => Cell::DateTime(t),
            },
            Column::Ref(v) => match v[row] {
                u64::MAX => Cell::Null,
                r => Cell::Ref(RecRef::unpack(r)),
            },
            Column::Blob(v) => match v[row] {
                u32::MAX => Cell::Null,
                b => Cell::Blob(b),
            },
        }
    }

    /// Stores `cell` at `row` (a cell of the wrong kind stores null).
    pub fn set(&mut self, row: usize, cell: Cell) {
        match self {
            Column::Text(v) => {
                v[row] = if let Cell::Text(s) = cell {
                    s
                } else {
                    StrSpan::NULL
                }
            }
            Column::Num(v) => v[row] = if let Cell::Num(n) = cell { n } else { f64::NAN },
            Column::Bool(v) => v[row] = matches!(cell, Cell::Bool(true)),
            Column::Date(v) => {
                v[row] = if let Cell::Date(d) = cell {
                    d
                } else {
                    i32::MIN
                }
            }
            Column::DateTime(v) => {
                v[row] = if let Cell::DateTime(t) = cell {
                    t
                } else {
                    i64::MIN
                }
            }
            Column::Ref(v) => {
                v[row] = if let Cell::Ref(r) = cell {
                    r.pack()
                } else {
                    u64::MAX
                }
            }
            Column::Blob(v) => {
                v[row] = if let Cell::Blob(b) = cell {
                    b
                } else {
                    u32::MAX
                }
            }
        }
    }

    /// Appends a null cell.
    pub fn push_null(&mut self) {
        match self {
            Column::Text(v) => v.push(StrSpan::NULL),
            Column::Num(v) => v.push(f64::NAN),
            Column::Bool(v) => v.push(false),
            Column::Date(v) => v.push(i32::MIN),
            Column::DateTime(v) => v.push(i64::MIN),
            Column::Ref(v) => v.push(u64::MAX),
            Column::Blob(v) => v.push(u32::MAX),
        }
    }

    /// Drops rows from `len` on.
    pub fn truncate(&mut self, len: usize) {
        match self {
            Column::Text(v) => v.truncate(len),
            Column::Num(v) => v.truncate(len),
            Column::Bool(v) => v.truncate(len),
            Column::Date(v) => v.truncate(len),
            Column::DateTime(v) => v.truncate(len),
            Column::Ref(v) => v.truncate(len),
            Column::Blob(v) => v.truncate(len),
        }
    }
}

/// The header of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
    /// SystemModstamp.
    pub modstamp: i64,
    /// CreatedById (user row).
    pub created_by: u32,
    /// LastModifiedById (user row).
    pub modified_by: u32,
    /// Lifecycle state.
    pub state: RowState,
}

/// One object's records.
#[derive(Debug)]
pub struct Table {
    /// Object index in the schema.
    pub obj: usize,
    /// Row headers.
    pub headers: Vec<Header>,
    /// Stored columns.
    pub cols: Vec<Column>,
    /// String bytes.
    pub arena: Vec<u8>,
    interned: HashMap<Box<str>, StrSpan>,
    /// File bodies.
    pub blobs: Vec<BlobBody>,
    /// Recycle-bin information per deleted row.
    pub deleted: HashMap<u32, DeleteInfo>,
    /// (SystemModstamp, row), ascending by stamp; may hold stale entries, which readers
    /// skip by comparing with the row's current stamp.
    pub modstamp_log: Vec<(i64, u32)>,
    /// False once an out-of-order entry was appended (an undo restoring an older stamp);
    /// the next range read re-sorts.
    log_sorted: bool,
    /// Next auto-number value.
    pub auto_number: u64,
    /// Unique / external-id indexes: field index → lower-cased value → row.
    pub unique: HashMap<usize, HashMap<Box<str>, u32>>,
    /// Rows currently Live or Deleted.
    pub live_count: usize,
    /// The oldest moment getDeleted can still answer for (advances on purges).
    pub earliest_delete_available: i64,
}

impl Table {
    /// An empty table for `def` with room for `cap` rows.
    pub fn new(obj: usize, def: &ObjectDef, cap: usize) -> Self {
        let unique = def
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.unique && f.column().is_some())
            .map(|(i, _)| (i, HashMap::new()))
            .collect();
        Self {
            obj,
            headers: Vec::with_capacity(cap),
            cols: def.columns.iter().map(|k| Column::new(*k, cap)).collect(),
            arena: Vec::new(),
            interned: HashMap::new(),
            blobs: Vec::new(),
            deleted: HashMap::new(),
            modstamp_log: Vec::with_capacity(cap),
            log_sorted: true,
            auto_number: 1,
            unique,
            live_count: 0,
            earliest_delete_available: 0,
        }
    }

    /// Number of row slots (including purged ones).
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the table has no rows at all.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The text of a span.
    #[inline]
    pub fn text(&self, span: StrSpan) -> &str {
        let bytes = &self.arena[span.off as usize..span.off as usize + span.len as usize];
        // Only whole `&str`s are ever appended, so every span is valid UTF-8.
        std::str::from_utf8(bytes).unwrap_or("")
    }

    /// Appends `s` to the arena (interning it when asked) and returns its span.
    pub fn intern_str(&mut self, s: &str, intern: bool) -> StrSpan {
        if intern && let Some(span) = self.interned.get(s) {
            return *span;
        }
        let off = u32::try_from(self.arena.len()).unwrap_or(u32::MAX - 1);
        self.arena.extend_from_slice(s.as_bytes());
        let span = StrSpan {
            off,
            len: s.len() as u32,
        };
        if intern {
            self.interned.insert(s.into(), span);
        }
        span
    }

    /// Appends a blob and returns its index.
    pub fn add_blob(&mut self, body: BlobBody) -> u32 {
        self.blobs.push(body);
        (self.blobs.len() - 1) as u32
    }

    /// Appends an empty (all-null) row with `header` and returns its number.
    pub fn push_row(&mut self, header: Header) -> u32 {
        let row = self.headers.len() as u32;
        self.headers.push(header);
        for c in &mut self.cols {
            c.push_null();
        }
        if header.state != RowState::Purged {
            self.live_count += 1;
        }
        self.log_stamp(header.modstamp, row);
        row
    }

    /// Removes the last row (undo of an insert).
    pub fn pop_row(&mut self) {
        if let Some(h) = self.headers.pop() {
            if h.state != RowState::Purged {
                self.live_count -= 1;
            }
            let len = self.headers.len();
            for c in &mut self.cols {
                c.truncate(len);
            }
            self.deleted.remove(&(len as u32));
        }
    }

    /// Sets a row's header, keeping the live count and the modstamp log current.
    pub fn set_header(&mut self, row: u32, header: Header) {
        let old = self.headers[row as usize];
        match (
            old.state == RowState::Purged,
            header.state == RowState::Purged,
        ) {
            (false, true) => self.live_count -= 1,
            (true, false) => self.live_count += 1,
            _ => {}
        }
        if old.modstamp != header.modstamp {
            self.log_stamp(header.modstamp, row);
        }
        self.headers[row as usize] = header;
    }

    fn log_stamp(&mut self, stamp: i64, row: u32) {
        if self.modstamp_log.last().is_some_and(|(s, _)| *s > stamp) {
            self.log_sorted = false;
        }
        self.modstamp_log.push((stamp, row));
    }

    /// Sorts the modstamp log and drops stale entries (after generation or loading, and
    /// when stale entries pile up).
    pub fn rebuild_modstamp_log(&mut self) {
        let mut log: Vec<(i64, u32)> = self
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state != RowState::Purged)
            .map(|(r, h)| (h.modstamp, r as u32))
            .collect();
        log.sort_unstable();
        self.modstamp_log = log;
        self.log_sorted = true;
    }

    /// Re-sorts or compacts the modstamp log when an undo left it out of order or stale
    /// entries pile up. Called after each write batch.
    pub fn maintain_log(&mut self) {
        if !self.log_sorted || self.modstamp_log.len() > 2 * self.live_count + 1024 {
            self.rebuild_modstamp_log();
        }
    }

    /// Rows (not purged) whose SystemModstamp is within `[lo, hi]`, ascending by stamp.
    pub fn rows_by_modstamp(&self, lo: i64, hi: i64) -> Vec<u32> {
        let mut out: Vec<(i64, u32)> = if self.log_sorted {
            let start = self.modstamp_log.partition_point(|(s, _)| *s < lo);
            self.modstamp_log[start..]
                .iter()
                .take_while(|(s, _)| *s <= hi)
                .filter(|(s, r)| {
                    let h = &self.headers[*r as usize];
                    h.state != RowState::Purged && h.modstamp == *s
                })
                .copied()
                .collect()
        } else {
            self.headers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.state != RowState::Purged && (lo..=hi).contains(&h.modstamp))
                .map(|(r, h)| (h.modstamp, r as u32))
                .collect()
        };
        out.sort_unstable();
        out.dedup();
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Bytes held (approximate), for the limits resource.
    pub fn approx_bytes(&self) -> usize {
        self.headers.len() * std::mem::size_of::<Header>()
            + self.arena.len()
            + self.cols.len() * self.headers.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema::Schema;

    fn header(stamp: i64) -> Header {
        Header {
            created: stamp,
            modified: stamp,
            modstamp: stamp,
            created_by: 0,
            modified_by: 0,
            state: RowState::Live,
        }
    }

    #[test]
    fn modstamp_log_answers_ranges_and_skips_stale_entries() {
        let schema = Schema::build();
        let oi = schema.object("Account").unwrap();
        let mut t = Table::new(oi, &schema.objects[oi], 4);
        for s in [30, 10, 20] {
            t.push_row(header(s));
        }
        t.rebuild_modstamp_log();
        assert_eq!(t.rows_by_modstamp(15, 100), vec![2, 0]);
        // Row 1 is modified at 40: it moves out of [0, 15] and into [35, 45].
        t.set_header(1, header(40));
        t.maintain_log();
        assert_eq!(t.rows_by_modstamp(0, 15), Vec::<u32>::new());
        assert_eq!(t.rows_by_modstamp(35, 45), vec![1]);
        assert_eq!(t.rows_by_modstamp(i64::MIN, i64::MAX), vec![2, 0, 1]);
    }

    #[test]
    fn interning_shares_bytes() {
        let schema = Schema::build();
        let oi = schema.object("Account").unwrap();
        let mut t = Table::new(oi, &schema.objects[oi], 0);
        let a = t.intern_str("Banking", true);
        let b = t.intern_str("Banking", true);
        let c = t.intern_str("Banking", false);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.text(c), "Banking");
    }
}
