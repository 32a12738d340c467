//! The write path every API shares (REST, collections, composite, Bulk ingest, SOAP
//! undelete, the control API): insert, update, delete with cascades, undelete, hard
//! delete — in a transaction with an undo log so `allOrNone` can roll back.
//!
//! Order of a save, after Salesforce's order of execution: field checks → defaults →
//! before-save flows and triggers → required fields → inactive owner → validation rules →
//! uniqueness → save → workflow field updates → side effects (files).

pub mod content;
pub mod convert;
pub mod delete;
pub mod draft;

use super::schema::{FieldType, Storage, SysField};
use super::store::{Cell, DeleteInfo, Header, OrgData, RecRef, RowState, USER_TABLE, Value};

use draft::Draft;

/// A per-record failure, as sObject Collections report it (`statusCode`, `message`,
/// `fields`) and single-record REST returns it (`errorCode`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// Status code (`REQUIRED_FIELD_MISSING`, …).
    pub code: String,
    /// Message.
    pub message: String,
    /// Fields involved.
    pub fields: Vec<String>,
}

impl RecordError {
    /// An error without fields.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            fields: Vec::new(),
        }
    }
    /// Adds the fields involved.
    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }
}

/// The undo entries of a committed transaction, kept when a larger unit (an
/// `allOrNone` composite request) may still have to roll it back.
#[derive(Debug, Default)]
pub struct UndoLog(Vec<Undo>);

/// Undo log entries.
#[derive(Debug)]
enum Undo {
    Inserted(u32),
    Row {
        r: RecRef,
        header: Header,
        cells: Vec<Cell>,
    },
    DeleteInfo {
        r: RecRef,
        prev: Option<DeleteInfo>,
    },
    Unique {
        obj: u32,
        field: usize,
        key: Box<str>,
        prev: Option<u32>,
    },
    AutoNumber {
        obj: u32,
        prev: u64,
    },
}

/// A write transaction on the org.
pub struct Txn<'a> {
    /// The org (held under the write lock by the caller).
    pub org: &'a mut OrgData,
    /// Emulated time, whole seconds.
    pub now: i64,
    /// Acting user row.
    pub user: u32,
    undo: Vec<Undo>,
    /// Users deactivated in this transaction (their sessions must end).
    pub deactivated: Vec<u32>,
    /// Decides whether a record write hits an injected `UNABLE_TO_LOCK_ROW`.
    pub lock_fault: Option<Box<dyn FnMut() -> bool + 'a>>,
}

impl<'a> Txn<'a> {
    /// Starts a transaction acting as `user` at `now`.
    pub fn new(org: &'a mut OrgData, now: i64, user: u32) -> Self {
        Self {
            org,
            now: now - now.rem_euclid(1000),
            user,
            undo: Vec::new(),
            deactivated: Vec::new(),
            lock_fault: None,
        }
    }

    /// A point to roll back to.
    pub fn savepoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes everything after `sp`.
    pub fn rollback_to(&mut self, sp: usize) {
        while self.undo.len() > sp {
            let Some(u) = self.undo.pop() else { break };
            match u {
                Undo::Inserted(obj) => self.org.tables[obj as usize].pop_row(),
                Undo::Row { r, header, cells } => {
                    let t = &mut self.org.tables[r.obj as usize];
                    t.set_header(r.row, header);
                    for (c, cell) in cells.into_iter().enumerate() {
                        t.cols[c].set(r.row as usize, cell);
                    }
                }
                Undo::DeleteInfo { r, prev } => {
                    let t = &mut self.org.tables[r.obj as usize];
                    match prev {
                        Some(p) => {
                            t.deleted.insert(r.row, p);
                        }
                        None => {
                            t.deleted.remove(&r.row);
                        }
                    }
                }
                Undo::Unique {
                    obj,
                    field,
                    key,
                    prev,
                } => {
                    if let Some(m) = self.org.tables[obj as usize].unique.get_mut(&field) {
                        match prev {
                            Some(row) => {
                                m.insert(key, row);
                            }
                            None => {
                                m.remove(&key);
                            }
                        }
                    }
                }
                Undo::AutoNumber { obj, prev } => self.org.tables[obj as usize].auto_number = prev,
            }
        }
        self.deactivated.clear();
    }

    /// Takes the undo entries (the transaction can no longer roll them back itself).
    pub fn take_undo(&mut self) -> UndoLog {
        UndoLog(std::mem::take(&mut self.undo))
    }

    /// Re-arms entries taken earlier, so [`Txn::rollback_to`] undoes them too.
    pub fn restore_undo(&mut self, log: UndoLog) {
        let mut entries = log.0;
        entries.append(&mut self.undo);
        self.undo = entries;
    }

    /// Ends the transaction, tidying indexes.
    pub fn commit(self) -> Vec<u32> {
        for t in &mut self.org.tables {
            t.maintain_log();
        }
        self.deactivated
    }

    fn snapshot(&mut self, r: RecRef) {
        let t = &self.org.tables[r.obj as usize];
        let cells = t.cols.iter().map(|c| c.get(r.row as usize)).collect();
        self.undo.push(Undo::Row {
            r,
            header: t.headers[r.row as usize],
            cells,
        });
    }

    fn lock_fault(&mut self) -> Result<(), RecordError> {
        if let Some(f) = self.lock_fault.as_mut()
            && f()
        {
            return Err(RecordError::new(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record or 1 records",
            ));
        }
        Ok(())
    }

    fn set_cell(&mut self, r: RecRef, field: usize, v: &Value) {
        let def = &self.org.schema.objects[r.obj as usize].fields[field];
        let Storage::Column(c) = def.storage else {
            return;
        };
        let intern = def.intern;
        let t = &mut self.org.tables[r.obj as usize];
        let cell = match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Num(n) => Cell::Num(*n),
            Value::Text(s) if s.is_empty() => Cell::Null,
            Value::Text(s) => Cell::Text(t.intern_str(s, intern)),
            Value::Date(d) => Cell::Date(*d),
            Value::DateTime(x) => Cell::DateTime(*x),
            Value::Ref(x) => Cell::Ref(*x),
            Value::Blob(b) => Cell::Blob(t.add_blob(b.clone())),
        };
        t.cols[c].set(r.row as usize, cell);
    }

    /// Sets unique-index entries for the draft's unique fields, failing on duplicates.
    fn check_unique(
        &mut self,
        draft: &Draft,
        row: Option<u32>,
    ) -> Result<Vec<(usize, Box<str>)>, RecordError> {
        let obj = draft.obj;
        let mut keys = Vec::new();
        for (fi, v) in draft.values.iter().enumerate() {
            let Some(Value::Text(s)) = v else { continue };
            let t = &self.org.tables[obj];
            let Some(index) = t.unique.get(&fi) else {
                continue;
            };
            let key: Box<str> = s.to_ascii_lowercase().into();
            if let Some(&other) = index.get(&key)
                && Some(other) != row
                && t.headers[other as usize].state == RowState::Live
            {
                let f = &self.org.schema.objects[obj].fields[fi];
                let id = self.org.id_of(RecRef {
                    obj: obj as u32,
                    row: other,
                });
                return Err(RecordError::new(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {id}",
                        f.name
                    ),
                )
                .with_fields(vec![f.name.clone()]));
            }
            keys.push((fi, key));
        }
        Ok(keys)
    }

    fn index_unique(
        &mut self,
        obj: usize,
        row: u32,
        keys: Vec<(usize, Box<str>)>,
        old: &[(usize, Option<Box<str>>)],
    ) {
        for (fi, old_key) in old {
            if let Some(k) = old_key
                && let Some(m) = self.org.tables[obj].unique.get_mut(fi)
                && m.get(k) == Some(&row)
            {
                m.remove(k);
                self.undo.push(Undo::Unique {
                    obj: obj as u32,
                    field: *fi,
                    key: k.clone(),
                    prev: Some(row),
                });
            }
        }
        for (fi, key) in keys {
            if let Some(m) = self.org.tables[obj].unique.get_mut(&fi) {
                let prev = m.insert(key.clone(), row);
                self.undo.push(Undo::Unique {
                    obj: obj as u32,
                    field: fi,
                    key,
                    prev,
                });
            }
        }
    }

    fn required_missing(&self, draft: &Draft, insert: bool) -> Vec<String> {
        let def = &self.org.schema.objects[draft.obj];
        def.fields
            .iter()
            .enumerate()
            .filter(|(fi, f)| {
                !f.nillable
                    && f.ftype != FieldType::Boolean
                    && matches!(f.storage, Storage::Column(_))
                    && f.auto_number.is_none()
                    && (f.createable || f.updateable)
                    && (insert || draft.values[*fi].is_some())
                    && !matches!(draft.values[*fi], Some(Value::Blob(_)))
                    && draft.is_null(self.org, *fi, self.now)
            })
            .map(|(_, f)| f.name.clone())
            .collect()
    }

    fn check_owner(&self, draft: &Draft) -> Result<(), RecordError> {
        let def = &self.org.schema.objects[draft.obj];
        let Some(oi) = def.field("OwnerId") else {
            return Ok(());
        };
        let Some(Value::Ref(owner)) = &draft.values[oi] else {
            return Ok(());
        };
        if owner.obj as usize != USER_TABLE || self.org.settings.audit_fields_on_create {
            return Ok(());
        }
        let active = self.org.schema.objects[USER_TABLE]
            .field("IsActive")
            .map(|f| self.org.read(*owner, f, self.now))
            .is_some_and(|v| v == super::store::FieldVal::Bool(true));
        if active {
            Ok(())
        } else {
            Err(RecordError::new(
                "INACTIVE_OWNER_OR_USER",
                format!(
                    "operation performed with inactive user [{}] as owner of {}",
                    self.org.id_of(*owner),
                    def.label.to_lowercase()
                ),
            ))
        }
    }

    /// Inserts a record.
    ///
    /// # Errors
    /// The record-level error; nothing is written.
    pub fn insert(
        &mut self,
        obj: usize,
        values: Vec<(usize, Value)>,
    ) -> Result<RecRef, RecordError> {
        let def = &self.org.schema.objects[obj];
        if !def.flags.createable {
            return Err(RecordError::new(
                "INVALID_TYPE_FOR_OPERATION",
                format!("entity type cannot be inserted: {}", def.label),
            ));
        }
        self.lock_fault()?;
        let mut draft = Draft::new(self.org, obj, None);
        for (fi, v) in values {
            draft.values[fi] = Some(v);
        }
        self.apply_defaults(&mut draft);
        draft::before_save(self.org, &mut draft, self.now);
        let missing = self.required_missing(&draft, true);
        if !missing.is_empty() {
            return Err(RecordError::new(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        self.check_owner(&draft)?;
        draft::validate(self.org, &draft, self.now)?;
        let keys = self.check_unique(&draft, None)?;
        super::write::content::before_insert(self, &mut draft)?;
        let audit = |name: &str, d: &Draft, org: &OrgData| -> Option<Value> {
            org.schema.objects[obj]
                .field(name)
                .and_then(|f| d.values[f].clone())
        };
        let created = match audit("CreatedDate", &draft, self.org) {
            Some(Value::DateTime(t)) => t,
            _ => self.now,
        };
        let modified = match audit("LastModifiedDate", &draft, self.org) {
            Some(Value::DateTime(t)) => t,
            _ => created,
        };
        let created_by = match audit("CreatedById", &draft, self.org) {
            Some(Value::Ref(r)) if r.obj as usize == USER_TABLE => r.row,
            _ => self.user,
        };
        let modified_by = match audit("LastModifiedById", &draft, self.org) {
            Some(Value::Ref(r)) if r.obj as usize == USER_TABLE => r.row,
            _ => created_by,
        };
        let header = Header {
            created,
            modified,
            modstamp: self.now,
            created_by,
            modified_by,
            state: RowState::Live,
        };
        let row = self.org.tables[obj].push_row(header);
        self.undo.push(Undo::Inserted(obj as u32));
        let r = RecRef {
            obj: obj as u32,
            row,
        };
        for fi in 0..draft.values.len() {
            if let Some(v) = draft.values[fi].take() {
                self.set_cell(r, fi, &v);
            }
        }
        self.index_unique(obj, row, keys, &[]);
        self.after_save(r, true, &[]);
        super::write::content::after_insert(self, r)?;
        Ok(r)
    }

    fn apply_defaults(&mut self, draft: &mut Draft) {
        let obj = draft.obj;
        let schema = self.org.schema.clone();
        let def = &schema.objects[obj];
        for (fi, f) in def.fields.iter().enumerate() {
            if draft.values[fi].is_some() || !matches!(f.storage, Storage::Column(_)) {
                continue;
            }
            let v = if f.name == "OwnerId" {
                Some(Value::Ref(RecRef {
                    obj: USER_TABLE as u32,
                    row: self.user,
                }))
            } else if let Some(fmt) = &f.auto_number {
                let t = &mut self.org.tables[obj];
                self.undo.push(Undo::AutoNumber {
                    obj: obj as u32,
                    prev: t.auto_number,
                });
                let n = t.auto_number;
                t.auto_number += 1;
                Some(Value::Text(format_auto_number(fmt, n)))
            } else if f.ftype == FieldType::Boolean {
                Some(Value::Bool(f.default_bool.unwrap_or(false)))
            } else if let Some(p) = f.picklist.iter().find(|p| p.default) {
                Some(Value::Text(p.value.clone()))
            } else if f.name == "RecordTypeId" && !def.record_types.is_empty() {
                super::rest::describe::record_type(
                    self.org,
                    &def.name,
                    &def.record_types[0].developer_name,
                )
                .map(Value::Ref)
            } else if f.name == "AuthorId" {
                Some(Value::Ref(RecRef {
                    obj: USER_TABLE as u32,
                    row: self.user,
                }))
            } else {
                None
            };
            if v.is_some() {
                draft.values[fi] = v;
            }
        }
    }

    /// Updates a record.
    ///
    /// # Errors
    /// The record-level error; nothing is written.
    pub fn update(&mut self, r: RecRef, values: Vec<(usize, Value)>) -> Result<(), RecordError> {
        let obj = r.obj as usize;
        match self.org.state(r) {
            RowState::Live => {}
            RowState::Deleted => {
                return Err(RecordError::new("ENTITY_IS_DELETED", "entity is deleted"));
            }
            RowState::Purged => {
                return Err(RecordError::new(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                ));
            }
        }
        let schema = self.org.schema.clone();
        let def = &schema.objects[obj];
        if !def.flags.updateable {
            return Err(RecordError::new(
                "INVALID_TYPE_FOR_OPERATION",
                format!("entity type cannot be updated: {}", def.label),
            ));
        }
        self.lock_fault()?;
        let mut draft = Draft::new(self.org, obj, Some(r));
        for (fi, v) in values {
            draft.values[fi] = Some(v);
        }
        draft::before_save(self.org, &mut draft, self.now);
        let missing = self.required_missing(&draft, false);
        if !missing.is_empty() {
            return Err(RecordError::new(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        self.check_owner(&draft)?;
        draft::validate(self.org, &draft, self.now)?;
        let keys = self.check_unique(&draft, Some(r.row))?;
        let was = draft::workflow_matches(self.org, obj, Some(r), self.now);
        let old_keys: Vec<(usize, Option<Box<str>>)> = keys
            .iter()
            .map(|(fi, _)| {
                let old = self.org.read(r, *fi, self.now);
                (*fi, old.as_str().map(|s| s.to_ascii_lowercase().into()))
            })
            .collect();
        if let Some(ai) = def.field("IsActive")
            && obj == USER_TABLE
            && draft.values[ai] == Some(Value::Bool(false))
        {
            self.deactivated.push(r.row);
        }
        self.snapshot(r);
        let mut header = *self.org.header(r);
        header.modified = self.now;
        header.modified_by = self.user;
        header.modstamp = self.now;
        self.org.tables[obj].set_header(r.row, header);
        for fi in 0..draft.values.len() {
            if let Some(v) = draft.values[fi].take() {
                self.set_cell(r, fi, &v);
            }
        }
        self.index_unique(obj, r.row, keys, &old_keys);
        self.after_save(r, false, &was);
        Ok(())
    }

    /// Workflow field updates after a save (they don't re-run validation, as in Salesforce).
    fn after_save(&mut self, r: RecRef, inserted: bool, was: &[bool]) {
        let updates = draft::workflow_updates(self.org, r, inserted, was, self.now);
        if updates.is_empty() {
            return;
        }
        if !inserted {
            self.snapshot(r);
        }
        for (fi, v) in updates {
            self.set_cell(r, fi, &v);
        }
    }

    /// The value of a system field on a record (for responses).
    pub fn sys(&self, r: RecRef, sys: SysField) -> i64 {
        let h = self.org.header(r);
        match sys {
            SysField::CreatedDate => h.created,
            SysField::LastModifiedDate => h.modified,
            _ => h.modstamp,
        }
    }
}

/// `INV-{000000}` with n = 42 → `INV-000042`.
pub fn format_auto_number(fmt: &str, n: u64) -> String {
    let Some(open) = fmt.find('{') else {
        return format!("{fmt}{n}");
    };
    let close = fmt[open..].find('}').map_or(fmt.len(), |c| open + c);
    let width = close - open - 1;
    format!(
        "{}{n:0width$}{}",
        &fmt[..open],
        fmt.get(close + 1..).unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_numbers_are_zero_padded() {
        assert_eq!(format_auto_number("INV-{000000}", 42), "INV-000042");
        assert_eq!(format_auto_number("{00000000}", 1001), "00001001");
    }
}
