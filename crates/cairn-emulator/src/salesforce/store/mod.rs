//! The org's records: one columnar [`Table`] per object, plus the id scheme that maps an
//! 18-character id to (table, row) without an index, and typed reads of any field
//! (stored, system, formula, compound).

pub mod persist;
pub mod table;
pub mod value;

use std::sync::Arc;

pub use table::{DeleteInfo, Header, RowState, Table};
pub use value::{BlobBody, BlobKind, Cell, FieldVal, RecRef, StrSpan, Value};

use super::formula::{self, FVal, FormulaContext};
use super::ids;
use super::metadata::MetadataStore;
use super::schema::{FieldType, Schema, Storage, SysField};

/// Org-wide settings that change API behaviour.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrgSettings {
    /// "Set Audit Fields upon Record Creation": CreatedDate/CreatedById/LastModified* become
    /// createable on insert (and inactive owners are allowed).
    pub audit_fields_on_create: bool,
    /// The org is a sandbox (logins go through the sandbox login host).
    pub is_sandbox: bool,
}

/// Why an id could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not a 15/18-character id with a valid checksum.
    Malformed,
    /// Well-formed but names no record of this org (or of the expected object).
    NotFound,
}

/// All records and record-level state of one org. Guarded by one lock in the server.
#[derive(Debug)]
pub struct OrgData {
    /// The schema.
    pub schema: Arc<Schema>,
    /// One table per object, indexed like `schema.objects`.
    pub tables: Vec<Table>,
    /// The two id characters that name this org's pod.
    pub pod: [u8; 2],
    /// Organization id (`00D…`, 18 characters).
    pub org_id: String,
    /// Settings.
    pub settings: OrgSettings,
    /// Metadata components (automation and code).
    pub metadata: MetadataStore,
    /// When describe results last changed (ms): org creation or a settings change.
    pub describe_changed_at: i64,
}

impl OrgData {
    /// The 18-character id of a record.
    pub fn id_of(&self, r: RecRef) -> String {
        let o = &self.schema.objects[r.obj as usize];
        ids::encode(o.prefix_str(), self.pod, r.row)
    }

    /// Appends the 18-character id of a record to `out`.
    #[inline]
    pub fn write_id(&self, out: &mut Vec<u8>, r: RecRef) {
        let o = &self.schema.objects[r.obj as usize];
        ids::write_id(out, &o.key_prefix, self.pod, r.row);
    }

    /// Resolves an id to a record slot of this org (the row may be deleted or purged;
    /// check [`OrgData::state`]).
    pub fn resolve_id(&self, id: &str) -> Result<RecRef, IdError> {
        let parsed = ids::parse(id.trim()).ok_or(IdError::Malformed)?;
        let obj = self
            .schema
            .by_prefix(&parsed.prefix)
            .ok_or(IdError::NotFound)?;
        if parsed.pod != self.pod {
            return Err(IdError::NotFound);
        }
        let row = parsed.row().ok_or(IdError::NotFound)?;
        if row as usize >= self.tables[obj].len() {
            return Err(IdError::NotFound);
        }
        Ok(RecRef {
            obj: obj as u32,
            row,
        })
    }

    /// The object index an id's prefix names, if any.
    pub fn object_of_id(&self, id: &str) -> Option<usize> {
        let parsed = ids::parse(id.trim())?;
        self.schema.by_prefix(&parsed.prefix)
    }

    /// The row header.
    #[inline]
    pub fn header(&self, r: RecRef) -> &Header {
        &self.tables[r.obj as usize].headers[r.row as usize]
    }

    /// The row's lifecycle state.
    #[inline]
    pub fn state(&self, r: RecRef) -> RowState {
        self.header(r).state
    }

    /// Converts a stored cell to a readable value.
    #[inline]
    pub fn cell_val<'a>(&'a self, table: &'a Table, cell: Cell) -> FieldVal<'a> {
        match cell {
            Cell::Null => FieldVal::Null,
            Cell::Text(s) => FieldVal::Str(table.text(s)),
            Cell::Num(n) => FieldVal::Num(n),
            Cell::Bool(b) => FieldVal::Bool(b),
            Cell::Date(d) => FieldVal::Date(d),
            Cell::DateTime(t) => FieldVal::DateTime(t),
            Cell::Ref(r) => FieldVal::Ref(r),
            Cell::Blob(b) => FieldVal::Blob(b),
        }
    }

    /// Reads field `field` of record `r` at emulated time `now` (formulas may use it).
    pub fn read(&self, r: RecRef, field: usize, now: i64) -> FieldVal<'_> {
        let table = &self.tables[r.obj as usize];
        let def = &self.schema.objects[r.obj as usize].fields[field];
        let row = r.row as usize;
        match &def.storage {
            Storage::Column(c) => self.cell_val(table, table.cols[*c].get(row)),
            Storage::System(sys) => {
                let h = &table.headers[row];
                let user = |u: u32| {
                    FieldVal::Ref(RecRef {
                        obj: USER_TABLE as u32,
                        row: u,
                    })
                };
                match sys {
                    SysField::Id => FieldVal::Ref(r),
                    SysField::IsDeleted => FieldVal::Bool(h.state == RowState::Deleted),
                    SysField::CreatedDate => FieldVal::DateTime(h.created),
                    SysField::CreatedById => user(h.created_by),
                    SysField::LastModifiedDate => FieldVal::DateTime(h.modified),
                    SysField::LastModifiedById => user(h.modified_by),
                    SysField::SystemModstamp => FieldVal::DateTime(h.modstamp),
                }
            }
            Storage::BlobLength(bf) => match self.read(r, *bf, now) {
                FieldVal::Blob(b) => FieldVal::Num(table.blobs[b as usize].len() as f64),
                _ => FieldVal::Null,
            },
            Storage::FullName(first, last) => {
                let text = |f: usize| match self.read(r, f, now) {
                    FieldVal::Str(s) => s.trim(),
                    _ => "",
                };
                let (a, b) = (text(*first), text(*last));
                let full = match (a.is_empty(), b.is_empty()) {
                    (true, true) => return FieldVal::Null,
                    (false, true) => a.to_owned(),
                    (true, false) => b.to_owned(),
                    (false, false) => format!("{a} {b}"),
                };
                FieldVal::Owned(full)
            }
            Storage::Formula(expr) => {
                let ctx = RowCtx { org: self, r, now };
                fval_to_field(formula::eval(expr, &ctx), def.ftype)
            }
            Storage::Address(parts) => {
                let vals = parts.map(|p| self.read(r, p, now));
                if vals.iter().all(FieldVal::is_null) {
                    FieldVal::Null
                } else {
                    FieldVal::Address(Box::new(vals))
                }
            }
        }
    }

    /// Reads a field as a formula value (used by validation rules and workflow criteria).
    pub fn read_fval(&self, r: RecRef, field: usize, now: i64) -> FVal {
        field_to_fval(self, self.read(r, field, now))
    }

    /// Number of records (live + recycle bin) of an object.
    pub fn count(&self, obj: usize) -> usize {
        self.tables[obj].live_count
    }
}

/// The User table is always the first table (the schema puts it first).
pub const USER_TABLE: usize = 0;

/// Converts a read value to a formula value.
pub fn field_to_fval(org: &OrgData, v: FieldVal<'_>) -> FVal {
    match v {
        FieldVal::Null | FieldVal::Address(_) | FieldVal::Blob(_) => FVal::Null,
        FieldVal::Bool(b) => FVal::Bool(b),
        FieldVal::Num(n) => FVal::Num(n),
        FieldVal::Str(s) => {
            if s.is_empty() {
                FVal::Null
            } else {
                FVal::Text(s.to_owned())
            }
        }
        FieldVal::Owned(s) => {
            if s.is_empty() {
                FVal::Null
            } else {
                FVal::Text(s)
            }
        }
        FieldVal::Date(d) => FVal::Date(d),
        FieldVal::DateTime(t) => FVal::DateTime(t),
        FieldVal::Ref(r) => FVal::Text(org.id_of(r)),
    }
}

/// Converts a formula result to the field's declared type.
pub fn fval_to_field(v: FVal, ftype: FieldType) -> FieldVal<'static> {
    match (v, ftype) {
        (FVal::Null, FieldType::Boolean) => FieldVal::Bool(false),
        (FVal::Null, _) => FieldVal::Null,
        (FVal::Bool(b), _) => FieldVal::Bool(b),
        (FVal::Num(n), FieldType::Int) => FieldVal::Num(n.round()),
        (FVal::Num(n), FieldType::Currency) => FieldVal::Num((n * 100.0).round() / 100.0),
        (FVal::Num(n), _) if n.is_finite() => FieldVal::Num(n),
        (FVal::Num(_), _) => FieldVal::Null,
        (FVal::Text(s), _) => FieldVal::Owned(s),
        (FVal::Date(d), _) => FieldVal::Date(d),
        (FVal::DateTime(t), _) => FieldVal::DateTime(t),
    }
}

/// Formula evaluation against a stored record.
struct RowCtx<'a> {
    org: &'a OrgData,
    r: RecRef,
    now: i64,
}

impl FormulaContext for RowCtx<'_> {
    fn field(&self, index: usize) -> FVal {
        self.org.read_fval(self.r, index, self.now)
    }
    fn prior(&self, index: usize) -> FVal {
        self.field(index)
    }
    fn is_new(&self) -> bool {
        false
    }
    fn now_ms(&self) -> i64 {
        self.now
    }
}
