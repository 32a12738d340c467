//! Saving and loading an org: one binary snapshot file in the data directory, written
//! atomically (temporary file + rename).
//!
//! Layout: magic `CAIRNSF\x01`, a length-prefixed JSON header (seed, clock, settings,
//! sessions, API usage, metadata components, the schema fingerprint), then per table the
//! row headers, the string arena, each column's raw values, blobs (generated ones as
//! their seed, uploaded ones as bytes) and the recycle-bin entries. Unique indexes and the
//! SystemModstamp log are rebuilt on load. A snapshot from a binary with a different
//! schema is refused rather than misread.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::table::{Column, DeleteInfo, Header, RowState, Table};
use super::value::{BlobBody, BlobKind, Cell, RecRef, StrSpan};
use super::{OrgData, OrgSettings};
use crate::salesforce::faults::ApiUsage;
use crate::salesforce::metadata::{Component, MetadataStore};
use crate::salesforce::oauth::tokens::AuthState;
use crate::salesforce::schema::Schema;

const MAGIC: &[u8; 8] = b"CAIRNSF\x01";
/// File name of the snapshot in the data directory.
pub const FILE_NAME: &str = "salesforce-org.bin";

/// Everything besides the tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header0 {
    /// Schema fingerprint.
    pub fingerprint: u64,
    /// Generation seed.
    pub seed: u64,
    /// Emulated time at save (ms).
    pub now_ms: i64,
    /// Organization id.
    pub org_id: String,
    /// Id pod.
    pub pod: [u8; 2],
    /// Company name.
    pub org_name: String,
    /// Settings.
    pub settings: OrgSettings,
    /// Describe change time.
    pub describe_changed_at: i64,
    /// Metadata components.
    pub components: Vec<Component>,
    /// Next metadata id.
    pub next_component_id: u64,
    /// Sessions and grants.
    pub auth: AuthState,
    /// API usage.
    pub usage: ApiUsage,
}

fn w64(w: &mut dyn Write, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}
fn r64(r: &mut dyn Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}
fn r32(r: &mut dyn Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}
fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn write_bytes(w: &mut dyn Write, b: &[u8]) -> io::Result<()> {
    w64(w, b.len() as u64)?;
    w.write_all(b)
}

fn read_bytes(r: &mut dyn Read, limit: u64) -> io::Result<Vec<u8>> {
    let n = r64(r)?;
    if n > limit {
        return Err(bad(format!("section of {n} bytes exceeds the file")));
    }
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Writes a snapshot of `org` with `header`.
///
/// # Errors
/// IO errors of the sink.
pub fn save(w: &mut dyn Write, org: &OrgData, header: &Header0) -> io::Result<()> {
    w.write_all(MAGIC)?;
    write_bytes(
        w,
        &serde_json::to_vec(header).map_err(|e| bad(e.to_string()))?,
    )?;
    for t in &org.tables {
        w64(w, t.len() as u64)?;
        let mut buf = Vec::with_capacity(t.len() * 33);
        for h in &t.headers {
            buf.extend_from_slice(&h.created.to_le_bytes());
            buf.extend_from_slice(&h.modified.to_le_bytes());
            buf.extend_from_slice(&h.modstamp.to_le_bytes());
            buf.extend_from_slice(&h.created_by.to_le_bytes());
            buf.extend_from_slice(&h.modified_by.to_le_bytes());
            buf.push(match h.state {
                RowState::Live => 0,
                RowState::Deleted => 1,
                RowState::Purged => 2,
            });
        }
        w.write_all(&buf)?;
        write_bytes(w, &t.arena)?;
        for c in &t.cols {
            buf.clear();
            for row in 0..t.len() {
                match (c, c.get(row)) {
                    (Column::Text(_), Cell::Text(s)) => {
                        buf.extend_from_slice(&s.off.to_le_bytes());
                        buf.extend_from_slice(&s.len.to_le_bytes());
                    }
                    (Column::Text(_), _) => {
                        buf.extend_from_slice(&StrSpan::NULL.off.to_le_bytes());
                        buf.extend_from_slice(&StrSpan::NULL.len.to_le_bytes());
                    }
                    (Column::Num(v), _) => buf.extend_from_slice(&v[row].to_bits().to_le_bytes()),
                    (Column::Bool(v), _) => buf.push(u8::from(v[row])),
                    (Column::Date(v), _) => buf.extend_from_slice(&v[row].to_le_bytes()),
                    (Column::DateTime(v), _) => buf.extend_from_slice(&v[row].to_le_bytes()),
                    (Column::Ref(v), _) => buf.extend_from_slice(&v[row].to_le_bytes()),
                    (Column::Blob(v), _) => buf.extend_from_slice(&v[row].to_le_bytes()),
                }
            }
            write_bytes(w, &buf)?;
        }
        w64(w, t.blobs.len() as u64)?;
        for b in &t.blobs {
            match b {
                BlobBody::Generated { seed, len, kind } => {
                    w.write_all(&[0])?;
                    w64(w, *seed)?;
                    w.write_all(&len.to_le_bytes())?;
                    w.write_all(&[kind.code()])?;
                }
                BlobBody::Stored(bytes) => {
                    w.write_all(&[1])?;
                    write_bytes(w, bytes)?;
                }
            }
        }
        let deleted: Vec<(u32, &DeleteInfo)> = {
            let mut v: Vec<_> = t.deleted.iter().map(|(r, d)| (*r, d)).collect();
            v.sort_by_key(|(r, _)| *r);
            v
        };
        w64(w, deleted.len() as u64)?;
        for (row, d) in deleted {
            w.write_all(&row.to_le_bytes())?;
            w64(w, d.at as u64)?;
            w.write_all(&d.by.to_le_bytes())?;
            w64(w, d.cascade_root.map_or(u64::MAX, RecRef::pack))?;
            w64(w, d.cleared.len() as u64)?;
            for (r, f) in &d.cleared {
                w64(w, r.pack())?;
                w64(w, *f as u64)?;
            }
        }
        w64(w, t.auto_number)?;
        w64(w, t.earliest_delete_available as u64)?;
    }
    Ok(())
}

/// Reads a snapshot into an org for `schema`.
///
/// # Errors
/// `InvalidData` when the file is not a snapshot, is truncated, or belongs to another
/// schema.
pub fn load(
    r: &mut dyn Read,
    schema: Arc<Schema>,
    file_len: u64,
) -> io::Result<(OrgData, Header0)> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("not an emulator snapshot"));
    }
    let header: Header0 =
        serde_json::from_slice(&read_bytes(r, file_len)?).map_err(|e| bad(e.to_string()))?;
    if header.fingerprint != schema.fingerprint() {
        return Err(bad(
            "the snapshot was written by an emulator with a different schema",
        ));
    }
    let mut tables = Vec::with_capacity(schema.objects.len());
    for (oi, def) in schema.objects.iter().enumerate() {
        let n = r64(r)? as usize;
        if n as u64 > file_len {
            return Err(bad("row count exceeds the file"));
        }
        let mut t = Table::new(oi, def, n);
        let mut hb = vec![0u8; n * 33];
        r.read_exact(&mut hb)?;
        for chunk in hb.chunks_exact(33) {
            let i64_at =
                |o: usize| i64::from_le_bytes(chunk[o..o + 8].try_into().unwrap_or([0; 8]));
            let u32_at =
                |o: usize| u32::from_le_bytes(chunk[o..o + 4].try_into().unwrap_or([0; 4]));
            t.push_row(Header {
                created: i64_at(0),
                modified: i64_at(8),
                modstamp: i64_at(16),
                created_by: u32_at(24),
                modified_by: u32_at(28),
                state: match chunk[32] {
                    0 => RowState::Live,
                    1 => RowState::Deleted,
                    _ => RowState::Purged,
                },
            });
        }
        t.arena = read_bytes(r, file_len)?;
        for c in 0..t.cols.len() {
            let raw = read_bytes(r, file_len)?;
            let width = match t.cols[c] {
                Column::Text(_) | Column::Num(_) | Column::DateTime(_) | Column::Ref(_) => 8,
                Column::Bool(_) => 1,
                Column::Date(_) | Column::Blob(_) => 4,
            };
            if raw.len() != n * width {
                return Err(bad("column size does not match the row count"));
            }
            for (row, v) in raw.chunks_exact(width).enumerate() {
                let u64v = || u64::from_le_bytes(v.try_into().unwrap_or([0; 8]));
                let u32v = || u32::from_le_bytes(v.try_into().unwrap_or([0; 4]));
                let cell = match t.cols[c] {
                    Column::Text(_) => {
                        let s = StrSpan {
                            off: u32v_at(v, 0),
                            len: u32v_at(v, 4),
                        };
                        if s.is_null() {
                            Cell::Null
                        } else if s.off as usize + s.len as usize > t.arena.len() {
                            return Err(bad("string outside the arena"));
                        } else {
                            Cell::Text(s)
                        }
                    }
                    Column::Num(_) => Cell::Num(f64::from_bits(u64v())),
                    Column::Bool(_) => Cell::Bool(v[0] != 0),
                    Column::Date(_) => Cell::Date(u32v() as i32),
                    Column::DateTime(_) => Cell::DateTime(u64v() as i64),
                    Column::Ref(_) => match u64v() {
                        u64::MAX => Cell::Null,
                        p => Cell::Ref(RecRef::unpack(p)),
                    },
                    Column::Blob(_) => match u32v() {
                        u32::MAX => Cell::Null,
                        b => Cell::Blob(b),
                    },
                };
                t.cols[c].set(row, cell);
            }
        }
        let blobs = r64(r)?;
        for _ in 0..blobs {
            let mut tag = [0u8; 1];
            r.read_exact(&mut tag)?;
            let body = if tag[0] == 0 {
                let seed = r64(r)?;
                let len = r32(r)?;
                let mut k = [0u8; 1];
                r.read_exact(&mut k)?;
                BlobBody::Generated {
                    seed,
                    len,
                    kind: BlobKind::from_code(k[0]),
                }
            } else {
                BlobBody::Stored(Arc::new(read_bytes(r, file_len)?))
            };
            t.blobs.push(body);
        }
        let deleted = r64(r)?;
        let mut map = HashMap::new();
        for _ in 0..deleted {
            let row = r32(r)?;
            let at = r64(r)? as i64;
            let by = r32(r)?;
            let root = match r64(r)? {
                u64::MAX => None,
                p => Some(RecRef::unpack(p)),
            };
            let cleared_n = r64(r)?;
            let mut cleared = Vec::new();
            for _ in 0..cleared_n.min(file_len) {
                let rr = RecRef::unpack(r64(r)?);
                let f = r64(r)? as usize;
                cleared.push((rr, f));
            }
            map.insert(
                row,
                DeleteInfo {
                    at,
                    by,
                    cascade_root: root,
                    cleared,
                },
            );
        }
        t.deleted = map;
        t.auto_number = r64(r)?;
        t.earliest_delete_available = r64(r)? as i64;
        tables.push(t);
    }
    let mut org = OrgData {
        schema: schema.clone(),
        tables,
        pod: header.pod,
        org_id: header.org_id.clone(),
        settings: header.settings.clone(),
        metadata: MetadataStore {
            components: header.components.clone(),
            compiled: Default::default(),
            next_id: header.next_component_id,
        },
        describe_changed_at: header.describe_changed_at,
    };
    org.metadata
        .recompile(&schema)
        .map_err(|(name, e)| bad(format!("metadata component {name} does not compile: {e}")))?;
    rebuild_indexes(&mut org);
    Ok((org, header))
}

fn u32v_at(v: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(v[o..o + 4].try_into().unwrap_or([0; 4]))
}

/// Rebuilds unique indexes and modstamp logs from the rows.
pub fn rebuild_indexes(org: &mut OrgData) {
    for t in &mut org.tables {
        t.rebuild_modstamp_log();
        let fields: Vec<usize> = t.unique.keys().copied().collect();
        for fi in fields {
            let Some(col) = org.schema.objects[t.obj].fields[fi].column() else {
                continue;
            };
            let mut index = HashMap::new();
            for row in 0..t.len() {
                if t.headers[row].state != RowState::Live {
                    continue;
                }
                if let Cell::Text(s) = t.cols[col].get(row) {
                    index.insert(t.text(s).to_ascii_lowercase().into_boxed_str(), row as u32);
                }
            }
            t.unique.insert(fi, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::generator::{self, Profile};

    #[test]
    fn snapshot_round_trips_byte_for_byte() {
        let schema = Arc::new(Schema::build());
        let plan = generator::plan(schema.clone(), 5, Profile::Small, 1_790_000_000_000);
        let org = generator::generate(&plan, 2);
        let header = Header0 {
            fingerprint: schema.fingerprint(),
            seed: 5,
            now_ms: 1,
            org_id: org.org_id.clone(),
            pod: org.pod,
            org_name: "x".into(),
            settings: org.settings.clone(),
            describe_changed_at: 0,
            components: org.metadata.components.clone(),
            next_component_id: 1,
            auth: AuthState::new(vec![]),
            usage: ApiUsage::new(10),
        };
        let mut a = Vec::new();
        save(&mut a, &org, &header).unwrap();
        let (back, _) = load(&mut a.as_slice(), schema.clone(), a.len() as u64).unwrap();
        let mut b = Vec::new();
        save(&mut b, &back, &header).unwrap();
        assert_eq!(a, b);
        // Truncated or foreign files are refused, not misread.
        assert!(load(&mut &a[..a.len() / 2], schema.clone(), a.len() as u64).is_err());
        assert!(load(&mut &b"nonsense"[..], schema, 8).is_err());
    }
}
