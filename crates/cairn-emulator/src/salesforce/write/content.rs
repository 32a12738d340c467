//! Files: inserting a ContentVersion creates its ContentDocument (or adds a version to
//! an existing one) and shares it with the record it was first published to, as
//! Salesforce does.

use super::draft::Draft;
use super::{RecordError, Txn, Undo};
use crate::salesforce::store::{FieldVal, Header, RecRef, RowState, USER_TABLE, Value};

/// `FileType` for a file extension.
pub fn file_type(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "pdf" => "PDF",
        "png" => "PNG",
        "jpg" | "jpeg" => "JPG",
        "gif" => "GIF",
        "txt" => "TEXT",
        "csv" => "CSV",
        "doc" => "WORD",
        "docx" => "WORD_X",
        "xls" => "EXCEL",
        "xlsx" => "EXCEL_X",
        "ppt" => "POWER_POINT",
        "pptx" => "POWER_POINT_X",
        "zip" => "ZIP",
        "xml" => "XML",
        "html" | "htm" => "HTML",
        _ => "UNKNOWN",
    }
}

fn is(txn: &Txn<'_>, obj: usize, name: &str) -> bool {
    txn.org.schema.objects[obj].name == name
}

/// Fills the system-maintained fields of a new ContentVersion.
pub fn before_insert(txn: &mut Txn<'_>, draft: &mut Draft) -> Result<(), RecordError> {
    if !is(txn, draft.obj, "ContentVersion") {
        return Ok(());
    }
    let org = &*txn.org;
    let def = &org.schema.objects[draft.obj];
    let path = def
        .field("PathOnClient")
        .and_then(|f| draft.values[f].clone())
        .and_then(|v| {
            if let Value::Text(s) = v {
                Some(s)
            } else {
                None
            }
        })
        .unwrap_or_default();
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let mut version = 1;
    if let Some(fi) = def.field("ContentDocumentId")
        && let Some(Value::Ref(doc)) = draft.values[fi].clone()
    {
        let cv = txn.org.tables[draft.obj].len();
        version += (0..cv as u32)
            .filter(|&row| {
                let r = RecRef {
                    obj: draft.obj as u32,
                    row,
                };
                org.state(r) != RowState::Purged
                    && matches!(org.read(r, fi, 0), FieldVal::Ref(d) if d == doc)
            })
            .count();
    }
    draft.set_named(org, "FileExtension", Value::Text(ext.clone()));
    draft.set_named(org, "FileType", Value::Text(file_type(&ext).to_owned()));
    draft.set_named(org, "IsLatest", Value::Bool(true));
    draft.set_named(org, "VersionNumber", Value::Text(version.to_string()));
    Ok(())
}

impl Txn<'_> {
    /// Inserts a row without API checks (records the system creates itself).
    fn insert_system(&mut self, obj: usize, values: &[(&str, Value)]) -> RecRef {
        let header = Header {
            created: self.now,
            modified: self.now,
            modstamp: self.now,
            created_by: self.user,
            modified_by: self.user,
            state: RowState::Live,
        };
        let row = self.org.tables[obj].push_row(header);
        self.undo.push(Undo::Inserted(obj as u32));
        let r = RecRef {
            obj: obj as u32,
            row,
        };
        for (name, v) in values {
            if let Some(fi) = self.org.schema.objects[obj].field(name) {
                self.set_cell(r, fi, v);
            }
        }
        r
    }

    fn set_system(&mut self, r: RecRef, values: &[(&str, Value)]) {
        self.snapshot(r);
        let mut h = *self.org.header(r);
        h.modstamp = self.now;
        self.org.tables[r.obj as usize].set_header(r.row, h);
        for (name, v) in values {
            if let Some(fi) = self.org.schema.objects[r.obj as usize].field(name) {
                self.set_cell(r, fi, v);
            }
        }
    }
}

/// Creates or updates the ContentDocument (and its first share) of a new version.
pub fn after_insert(txn: &mut Txn<'_>, cv: RecRef) -> Result<(), RecordError> {
    if !is(txn, cv.obj as usize, "ContentVersion") {
        return Ok(());
    }
    let (Some(doc_obj), Some(link_obj)) = (
        txn.org.schema.object("ContentDocument"),
        txn.org.schema.object("ContentDocumentLink"),
    ) else {
        return Ok(());
    };
    let read = |txn: &Txn<'_>, name: &str| -> Value {
        let fi = txn.org.schema.objects[cv.obj as usize]
            .field(name)
            .unwrap_or(0);
        match txn.org.read(cv, fi, txn.now) {
            FieldVal::Str(s) => Value::Text(s.to_owned()),
            FieldVal::Owned(s) => Value::Text(s),
            FieldVal::Num(n) => Value::Num(n),
            FieldVal::Ref(r) => Value::Ref(r),
            _ => Value::Null,
        }
    };
    let size = read(txn, "ContentSize");
    let file_type = read(txn, "FileType");
    let ext = read(txn, "FileExtension");
    let owner = read(txn, "OwnerId");
    match read(txn, "ContentDocumentId") {
        Value::Ref(doc) => {
            // A new version: the previous latest one stops being latest.
            let ci = txn.org.schema.objects[cv.obj as usize]
                .field("ContentDocumentId")
                .unwrap_or(0);
            let li = txn.org.schema.objects[cv.obj as usize]
                .field("IsLatest")
                .unwrap_or(0);
            let others: Vec<RecRef> = (0..txn.org.tables[cv.obj as usize].len() as u32)
                .map(|row| RecRef { obj: cv.obj, row })
                .filter(|&r| {
                    r != cv
                        && txn.org.state(r) == RowState::Live
                        && matches!(txn.org.read(r, ci, 0), FieldVal::Ref(d) if d == doc)
                        && txn.org.read(r, li, 0) == FieldVal::Bool(true)
                })
                .collect();
            for r in others {
                txn.set_system(r, &[("IsLatest", Value::Bool(false))]);
            }
            txn.set_system(
                doc,
                &[
                    ("LatestPublishedVersionId", Value::Ref(cv)),
                    ("ContentSize", size),
                    ("FileType", file_type),
                    ("FileExtension", ext),
                ],
            );
        }
        _ => {
            let title = read(txn, "Title");
            let doc = txn.insert_system(
                doc_obj,
                &[
                    ("Title", title),
                    ("OwnerId", owner.clone()),
                    ("PublishStatus", Value::Text("P".into())),
                    ("LatestPublishedVersionId", Value::Ref(cv)),
                    ("ContentSize", size),
                    ("FileType", file_type),
                    ("FileExtension", ext),
                ],
            );
            txn.set_system(cv, &[("ContentDocumentId", Value::Ref(doc))]);
            if let Value::Ref(owner) = owner
                && owner.obj as usize == USER_TABLE
            {
                txn.insert_system(
                    link_obj,
                    &[
                        ("ContentDocumentId", Value::Ref(doc)),
                        ("LinkedEntityId", Value::Ref(owner)),
                        ("ShareType", Value::Text("I".into())),
                        ("Visibility", Value::Text("AllUsers".into())),
                    ],
                );
            }
            if let Value::Ref(location) = read(txn, "FirstPublishLocationId")
                && location.obj as usize != USER_TABLE
            {
                txn.insert_system(
                    link_obj,
                    &[
                        ("ContentDocumentId", Value::Ref(doc)),
                        ("LinkedEntityId", Value::Ref(location)),
                        ("ShareType", Value::Text("V".into())),
                        ("Visibility", Value::Text("AllUsers".into())),
                    ],
                );
            }
        }
    }
    Ok(())
}
