//! Record JSON, written straight into a byte buffer: the query hot path.
//!
//! Shapes follow the REST API: each record starts with `attributes` (`type`, `url`);
//! parent relationships nest as objects with their own `attributes` (or `null`); child
//! subqueries nest as query results; dates are `2026-11-22`, date-times
//! `2026-11-22T10:00:00.000+0000`; binary fields show the URL of their blob resource;
//! numbers print the way Java's `Double.toString` does (`1500.0`, `1.5E7`), integers
//! without a fraction; addresses are compound objects.

use super::super::schema::FieldType;
use super::super::soql::{Bound, Proj, eval};
use std::cell::RefCell;
use std::collections::HashMap;

use super::super::store::{FieldVal, OrgData, RecRef, RowState};

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Java `Double.toString` formatting.
pub fn java_double(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    if !d.is_finite() {
        return "null".into();
    }
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{d}");
        if s.contains('.') { s } else { s + ".0" }
    } else {
        let s = format!("{d:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_owned()
        } else {
            format!("{m}.0")
        };
        format!("{m}E{e}")
    }
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev());
}

/// Appends a number for a field of type `ftype`.
pub fn write_num(out: &mut Vec<u8>, n: f64, ftype: FieldType) {
    let whole = n.fract() == 0.0;
    if ftype == FieldType::Int && whole && n.abs() < 1e15 {
        push_int(out, n as i64);
    } else if whole && n.abs() < 1e7 && n != 0.0 {
        // Java prints whole doubles below 10^7 as `1500.0`.
        push_int(out, n as i64);
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(java_double(n).as_bytes());
    }
}

/// Child rows per parent for one subquery, computed once per response.
type ChildGroups = HashMap<u64, Vec<u32>>;

/// Formats context for one response.
pub struct Writer<'a> {
    /// The org.
    pub org: &'a OrgData,
    /// `/services/data/v62.0`.
    pub vpath: &'a str,
    /// Emulated time (formulas).
    pub now: i64,
    /// queryAll semantics for child subqueries.
    pub include_deleted: bool,
    /// Child subquery results grouped by parent, keyed by the subquery's address.
    pub child_cache: RefCell<HashMap<usize, ChildGroups>>,
}

impl Writer<'_> {
    /// Appends `{"type":…,"url":…}` for a record.
    pub fn attributes(&self, out: &mut Vec<u8>, r: RecRef) {
        let name = &self.org.schema.objects[r.obj as usize].name;
        out.extend_from_slice(b"\"attributes\":{\"type\":");
        write_str(out, name);
        out.extend_from_slice(b",\"url\":\"");
        out.extend_from_slice(self.vpath.as_bytes());
        out.extend_from_slice(b"/sobjects/");
        out.extend_from_slice(name.as_bytes());
        out.push(b'/');
        self.org.write_id(out, r);
        out.extend_from_slice(b"\"}");
    }

    /// Appends one field value.
    pub fn value(&self, out: &mut Vec<u8>, r: RecRef, field: usize) {
        let def = &self.org.schema.objects[r.obj as usize].fields[field];
        let v = self.org.read(r, field, self.now);
        self.write_val(out, r, def.ftype, &def.name, v);
    }

    fn write_val(
        &self,
        out: &mut Vec<u8>,
        r: RecRef,
        ftype: FieldType,
        name: &str,
        v: FieldVal<'_>,
    ) {
        match v {
            FieldVal::Null => out.extend_from_slice(b"null"),
            FieldVal::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            FieldVal::Num(n) => write_num(out, n, ftype),
            FieldVal::Str(s) => write_str(out, s),
            FieldVal::Owned(s) => write_str(out, &s),
            FieldVal::Date(d) => {
                out.push(b'"');
                super::super::clock::write_date(out, d);
                out.push(b'"');
            }
            FieldVal::DateTime(t) => {
                out.push(b'"');
                super::super::clock::write_datetime(out, t);
                out.push(b'"');
            }
            FieldVal::Ref(x) => {
                out.push(b'"');
                self.org.write_id(out, x);
                out.push(b'"');
            }
            FieldVal::Blob(_) => {
                let obj = &self.org.schema.objects[r.obj as usize].name;
                out.push(b'"');
                out.extend_from_slice(self.vpath.as_bytes());
                out.extend_from_slice(b"/sobjects/");
                out.extend_from_slice(obj.as_bytes());
                out.push(b'/');
                self.org.write_id(out, r);
                out.push(b'/');
                out.extend_from_slice(name.as_bytes());
                out.push(b'"');
            }
            FieldVal::Address(parts) => {
                let [street, city, state, postal, country] = *parts;
                out.extend_from_slice(b"{\"city\":");
                self.write_val(out, r, FieldType::String, "", city);
                out.extend_from_slice(b",\"country\":");
                self.write_val(out, r, FieldType::String, "", country);
                out.extend_from_slice(
                    b",\"geocodeAccuracy\":null,\"latitude\":null,\"longitude\":null,\"postalCode\":",
                );
                self.write_val(out, r, FieldType::String, "", postal);
                out.extend_from_slice(b",\"state\":");
                self.write_val(out, r, FieldType::String, "", state);
                out.extend_from_slice(b",\"street\":");
                self.write_val(out, r, FieldType::String, "", street);
                out.push(b'}');
            }
        }
    }

    /// Appends a record with the projected fields.
    pub fn record(&self, out: &mut Vec<u8>, r: RecRef, proj: &[Proj]) {
        out.push(b'{');
        self.attributes(out, r);
        for p in proj {
            out.push(b',');
            match p {
                Proj::Field { key, field } => {
                    write_str(out, key);
                    out.push(b':');
                    self.value(out, r, *field);
                }
                Proj::Parent {
                    key,
                    ref_field,
                    targets,
                } => {
                    write_str(out, key);
                    out.push(b':');
                    let parent = match self.org.read(r, *ref_field, self.now) {
                        FieldVal::Ref(p) if self.org.state(p) != RowState::Purged => Some(p),
                        _ => None,
                    };
                    match parent.and_then(|p| {
                        targets
                            .iter()
                            .find(|(o, _)| *o == p.obj)
                            .map(|(_, s)| (p, s))
                    }) {
                        Some((p, sub)) => self.record(out, p, sub),
                        None => out.extend_from_slice(b"null"),
                    }
                }
                Proj::Children {
                    key,
                    sub,
                    child_field,
                } => {
                    write_str(out, key);
                    out.push(b':');
                    self.children(out, r, sub, *child_field);
                }
            }
        }
        out.push(b'}');
    }

    fn children(&self, out: &mut Vec<u8>, parent: RecRef, sub: &Bound, child_field: usize) {
        let child_obj = sub.obj as u32;
        let key = std::ptr::from_ref(sub) as usize;
        let rows: Vec<u32> = {
            let mut cache = self.child_cache.borrow_mut();
            let groups = cache.entry(key).or_insert_with(|| {
                // One pass over the child object per response, grouped by parent; LIMIT and
                // OFFSET of a subquery apply per parent.
                let mut unlimited = sub.clone();
                unlimited.limit = None;
                unlimited.offset = 0;
                let mut map: ChildGroups = HashMap::new();
                for row in eval::run(self.org, &unlimited, self.include_deleted, self.now) {
                    let child = RecRef {
                        obj: child_obj,
                        row,
                    };
                    if let FieldVal::Ref(p) = self.org.read(child, child_field, self.now) {
                        map.entry(p.pack()).or_default().push(row);
                    }
                }
                map
            });
            let all = groups.get(&parent.pack()).map_or(&[][..], Vec::as_slice);
            let start = (sub.offset as usize).min(all.len());
            let end = sub
                .limit
                .map_or(all.len(), |l| (start + l as usize).min(all.len()));
            all[start..end].to_vec()
        };
        if rows.is_empty() {
            out.extend_from_slice(b"null");
            return;
        }
        out.extend_from_slice(
            format!("{{\"totalSize\":{},\"done\":true,\"records\":[", rows.len()).as_bytes(),
        );
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.record(
                out,
                RecRef {
                    obj: child_obj,
                    row: *row,
                },
                &sub.proj,
            );
        }
        out.extend_from_slice(b"]}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1500.0), "1500.0");
        assert_eq!(java_double(0.25), "0.25");
        assert_eq!(java_double(1.5e7), "1.5E7");
        assert_eq!(java_double(10_000_000.0), "1.0E7");
        assert_eq!(java_double(139_000_000.0), "1.39E8");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-42.5), "-42.5");
        let mut v = Vec::new();
        write_num(&mut v, 25.0, FieldType::Int);
        assert_eq!(v, b"25");
    }

    #[test]
    fn strings_are_escaped() {
        let mut v = Vec::new();
        write_str(&mut v, "a\"b\\c\nd\u{1}é");
        assert_eq!(String::from_utf8(v).unwrap(), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }
}
