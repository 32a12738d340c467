//! The org dump: every record of every object as JSON lines, in a deterministic order,
//! for tests that compare a backup snapshot with the source org.
//!
//! Format, one line per record, objects sorted by API name and records by id:
//! `{"type":"Account","id":"001…","deleted":false,"fields":{…}}`. `fields` holds every
//! field of the object's describe except compound address fields (their components are
//! there), with values exactly as the REST API returns them (`IsDeleted` included);
//! binary fields are `{"sha256":"<hex>","length":<bytes>}` instead of a URL. Records in
//! the recycle bin are included (`"deleted":true`); purged and hard-deleted ones are not.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::salesforce::generator::blob;
use crate::salesforce::rest::json::{Writer, write_str};
use crate::salesforce::schema::FieldType;
use crate::salesforce::state::Emulator;
use crate::salesforce::store::{FieldVal, OrgData, RecRef, RowState};

/// Writes the dump of `org` into `sink`, a line at a time.
///
/// # Errors
/// The sink's IO error.
pub fn write(em: &Emulator, org: &OrgData, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut order: Vec<usize> = (0..org.schema.objects.len()).collect();
    order.sort_by(|a, b| {
        org.schema.objects[*a]
            .name
            .cmp(&org.schema.objects[*b].name)
    });
    let now = em.now();
    let vpath = "/services/data/v62.0";
    let w = Writer {
        org,
        vpath,
        now,
        include_deleted: true,
        child_cache: RefCell::new(HashMap::new()),
    };
    for oi in order {
        let def = &org.schema.objects[oi];
        let t = &org.tables[oi];
        for row in 0..t.len() as u32 {
            let state = t.headers[row as usize].state;
            if state == RowState::Purged {
                continue;
            }
            let r = RecRef {
                obj: oi as u32,
                row,
            };
            line.clear();
            let out = &mut line;
            out.extend_from_slice(b"{\"type\":");
            write_str(out, &def.name);
            out.extend_from_slice(b",\"id\":\"");
            org.write_id(out, r);
            out.extend_from_slice(
                format!(
                    "\",\"deleted\":{},\"fields\":{{",
                    state == RowState::Deleted
                )
                .as_bytes(),
            );
            let mut first = true;
            for (fi, f) in def.fields.iter().enumerate() {
                if f.ftype == FieldType::Address {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(out, &f.name);
                out.push(b':');
                if f.ftype == FieldType::Base64 {
                    match org.read(r, fi, now) {
                        FieldVal::Blob(b) => {
                            let (hash, len) = digest(em, org, oi, b);
                            out.extend_from_slice(
                                format!("{{\"sha256\":\"{hash}\",\"length\":{len}}}").as_bytes(),
                            );
                        }
                        _ => out.extend_from_slice(b"null"),
                    }
                } else {
                    w.value(out, r, fi);
                }
            }
            out.extend_from_slice(b"}}\n");
            sink.write_all(&line)?;
        }
    }
    sink.flush()
}

/// SHA-256 and length of a blob, cached (bodies never change once stored).
fn digest(em: &Emulator, org: &OrgData, obj: usize, blob_index: u32) -> (String, usize) {
    if let Some(d) = em.blob_digests.lock().get(&(obj as u32, blob_index)) {
        return d.clone();
    }
    let d = blob::digest(&org.tables[obj].blobs[blob_index as usize]);
    em.blob_digests
        .lock()
        .insert((obj as u32, blob_index), d.clone());
    d
}
