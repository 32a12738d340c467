//! Canonical records: one [`RecordVersion`] per version of a record, whichever API it was
//! read with. REST JSON and Bulk CSV values are brought to one form — keys sorted, no
//! `attributes`, no compound or binary fields, integers as integers, other numbers as
//! doubles, datetimes as `2026-03-02T09:00:00.000+0000`, empty Bulk cells as `null` — so
//! the same record has the same bytes and row hash from either path, and a snapshot
//! compare is a comparison of hashes. Calculated fields are left out (see
//! [`ObjectSchema::is_stored`]): a record's bytes change only when its `SystemModstamp`
//! does.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::describe::ObjectSchema;

/// One version of one record: the unit a backup stores (ARCHITECTURE §3 "item version").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordVersion {
    /// The 18-character record id.
    pub key: String,
    /// The version: `SystemModstamp`, canonical datetime text.
    pub version: String,
    /// `SystemModstamp` in epoch milliseconds.
    pub modstamp_ms: i64,
    /// `IsDeleted`: the record is in the recycle bin.
    pub deleted: bool,
    /// `CreatedById`.
    pub created_by: Option<String>,
    /// `LastModifiedById`.
    pub modified_by: Option<String>,
    /// The record as canonical JSON (sorted keys, no `attributes`, no binary fields).
    pub record: String,
    /// BLAKE3 of `record`.
    pub row_hash: [u8; 32],
    /// Binary fields that hold content (read them with [`crate::OrgClient::blob`]).
    pub blob_fields: Vec<String>,
}

/// Why a record could not be brought to canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordError(pub String);

/// Parses a Salesforce datetime (`2026-03-02T09:00:00.000+0000`, `…Z`, `…+00:00`) to
/// epoch milliseconds. Lenient about the offset form (pitfall 24).
#[must_use]
pub fn parse_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let normalised = if let Some(stripped) = t.strip_suffix('Z') {
        format!("{stripped}+0000")
    } else {
        t.to_owned()
    };
    DateTime::parse_from_str(&normalised, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Formats epoch milliseconds the way the REST API does: `2026-03-02T09:00:00.000+0000`.
#[must_use]
pub fn format_datetime(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// Formats epoch milliseconds for a SOQL literal, floored to the second:
/// `2026-03-02T09:00:00Z` (SOQL datetime literals take no fractional seconds).
#[must_use]
pub fn soql_datetime(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms - ms.rem_euclid(1000))
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The canonical value of one field, from a REST JSON value.
fn canonical_json(field_type: &str, v: Value) -> Result<Value, RecordError> {
    Ok(match (field_type, v) {
        (_, Value::Null) => Value::Null,
        ("int", Value::Number(n)) => match n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        {
            Some(i) => Value::from(i),
            None => Value::Number(n),
        },
        ("double" | "currency" | "percent", Value::Number(n)) => match n.as_f64() {
            Some(f) => Value::from(f),
            None => Value::Number(n),
        },
        ("datetime", Value::String(s)) => Value::String(
            parse_datetime(&s)
                .map(format_datetime)
                .ok_or_else(|| RecordError(format!("bad datetime {s:?}")))?,
        ),
        (_, v) => v,
    })
}

/// The canonical value of one field, from a Bulk CSV cell (empty means null).
fn canonical_csv(field_type: &str, cell: &str) -> Result<Value, RecordError> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    let bad = || RecordError(format!("bad {field_type} value {cell:?}"));
    Ok(match field_type {
        "boolean" => Value::Bool(match cell {
            "true" => true,
            "false" => false,
            _ => return Err(bad()),
        }),
        "int" => Value::from(
            cell.parse::<i64>()
                .or_else(|_| cell.parse::<f64>().map(|f| f as i64))
                .map_err(|_| bad())?,
        ),
        "double" | "currency" | "percent" => Value::from(cell.parse::<f64>().map_err(|_| bad())?),
        "datetime" => Value::String(parse_datetime(cell).map(format_datetime).ok_or_else(bad)?),
        "date" => {
            NaiveDate::parse_from_str(cell, "%Y-%m-%d").map_err(|_| bad())?;
            Value::String(cell.to_owned())
        }
        _ => Value::String(cell.to_owned()),
    })
}

/// Writes `fields` as JSON with keys in byte order, whatever the map's own order.
fn write_sorted(fields: &[(&str, Value)]) -> String {
    let mut out = String::with_capacity(fields.len() * 24);
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Serialising a str or a Value cannot fail.
        out.push_str(&serde_json::to_string(k).unwrap_or_default());
        out.push(':');
        let _ = write!(out, "{v}");
    }
    out.push('}');
    out
}

fn finish(
    mut fields: Vec<(&str, Value)>,
    blob_fields: Vec<String>,
) -> Result<RecordVersion, RecordError> {
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let get = |name: &str| {
        fields
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &fields[i].1)
    };
    let key = get("Id")
        .and_then(Value::as_str)
        .ok_or_else(|| RecordError("the record has no Id".into()))?
        .to_owned();
    let version = get("SystemModstamp")
        .and_then(Value::as_str)
        .ok_or_else(|| RecordError(format!("record {key} has no SystemModstamp")))?
        .to_owned();
    let modstamp_ms = parse_datetime(&version)
        .ok_or_else(|| RecordError(format!("record {key}: bad SystemModstamp {version}")))?;
    let deleted = get("IsDeleted").and_then(Value::as_bool).unwrap_or(false);
    let text = |name: &str| get(name).and_then(Value::as_str).map(str::to_owned);
    let created_by = text("CreatedById");
    let modified_by = text("LastModifiedById");
    let record = write_sorted(&fields);
    let row_hash = *blake3::hash(record.as_bytes()).as_bytes();
    Ok(RecordVersion {
        key,
        version,
        modstamp_ms,
        deleted,
        created_by,
        modified_by,
        record,
        row_hash,
        blob_fields,
    })
}

/// A REST query record (or an org dump's `fields`) in canonical form. Takes the record
/// by value: its values move into the result instead of being copied.
pub(crate) fn from_json(
    schema: &ObjectSchema,
    mut record: Map<String, Value>,
) -> Result<RecordVersion, RecordError> {
    let mut fields = Vec::with_capacity(record.len());
    let mut blobs = Vec::new();
    for f in &schema.fields {
        if !ObjectSchema::is_stored(f) {
            continue;
        }
        let Some(v) = record.remove(&f.name) else {
            continue;
        };
        if f.is_blob() {
            if !v.is_null() {
                blobs.push(f.name.clone());
            }
            continue;
        }
        fields.push((f.name.as_str(), canonical_json(&f.field_type, v)?));
    }
    finish(fields, blobs)
}

/// A Bulk CSV row in canonical form; `header` holds the field of each column.
pub(crate) fn from_csv(
    schema: &ObjectSchema,
    header: &[(String, String)],
    row: &csv::StringRecord,
) -> Result<RecordVersion, RecordError> {
    let mut fields = Vec::with_capacity(header.len());
    for ((name, field_type), cell) in header.iter().zip(row.iter()) {
        fields.push((name.as_str(), canonical_csv(field_type, cell)?));
    }
    let _ = schema;
    finish(fields, Vec::new())
}

/// The canonical form of a record given as JSON fields, e.g. a line of the emulator's
/// dump: what a backup of that record must hold.
///
/// # Errors
/// A message when the record lacks `Id` / `SystemModstamp` or has malformed values.
pub fn canonical_record(
    schema: &ObjectSchema,
    fields: &Map<String, Value>,
) -> Result<RecordVersion, String> {
    from_json(schema, fields.clone()).map_err(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ObjectSchema {
        ObjectSchema::from_describe(json!({
            "name": "Account",
            "fields": [
                {"name": "Id", "type": "id"},
                {"name": "IsDeleted", "type": "boolean"},
                {"name": "Name", "type": "string"},
                {"name": "NumberOfEmployees", "type": "int"},
                {"name": "AnnualRevenue", "type": "currency"},
                {"name": "SystemModstamp", "type": "datetime"},
                {"name": "CreatedById", "type": "reference"},
                {"name": "LastModifiedById", "type": "reference"},
                {"name": "BillingAddress", "type": "address"},
                {"name": "Logo", "type": "base64"},
                {"name": "Founded", "type": "date"},
                {"name": "Days_Left__c", "type": "double", "calculated": true},
            ]
        }))
        .unwrap()
    }

    #[test]
    fn datetimes_parse_in_every_offset_form() {
        let a = parse_datetime("2026-03-02T09:00:00.000+0000").unwrap();
        assert_eq!(parse_datetime("2026-03-02T09:00:00.000Z"), Some(a));
        assert_eq!(parse_datetime("2026-03-02T10:00:00.000+01:00"), Some(a));
        assert_eq!(parse_datetime("2026-03-02T09:00:00Z"), Some(a));
        assert_eq!(format_datetime(a), "2026-03-02T09:00:00.000+0000");
        assert_eq!(
            soql_datetime(a + 999),
            "2026-03-02T09:00:00Z",
            "floored, never later"
        );
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn rest_and_bulk_give_the_same_bytes() {
        let s = schema();
        let rest = json!({
            "attributes": {"type": "Account", "url": "/x"},
            "Id": "001000000000001AAA", "IsDeleted": false, "Name": "Acme",
            "NumberOfEmployees": 12, "AnnualRevenue": 1500.0,
            "SystemModstamp": "2026-03-02T09:00:00.000+0000",
            "CreatedById": "005000000000001AAA", "LastModifiedById": "005000000000002AAA",
            "BillingAddress": {"city": "Paris"}, "Logo": "/services/data/v62.0/sobjects/Account/001/Logo",
            "Founded": null, "Days_Left__c": 12.0
        });
        let a = from_json(&s, rest.as_object().unwrap().clone()).unwrap();
        let header: Vec<(String, String)> = [
            ("Id", "id"),
            ("IsDeleted", "boolean"),
            ("Name", "string"),
            ("NumberOfEmployees", "int"),
            ("AnnualRevenue", "currency"),
            ("SystemModstamp", "datetime"),
            ("CreatedById", "reference"),
            ("LastModifiedById", "reference"),
            ("Founded", "date"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        let row = csv::StringRecord::from(vec![
            "001000000000001AAA",
            "false",
            "Acme",
            "12",
            "1500.0",
            "2026-03-02T09:00:00.000Z",
            "005000000000001AAA",
            "005000000000002AAA",
            "",
        ]);
        let b = from_csv(&s, &header, &row).unwrap();
        assert_eq!(a.record, b.record);
        assert_eq!(a.row_hash, b.row_hash);
        assert_eq!(a.blob_fields, ["Logo"]);
        assert!(b.blob_fields.is_empty());
        assert!(!a.record.contains("attributes") && !a.record.contains("Billing"));
        assert!(
            !a.record.contains("Days_Left__c"),
            "calculated fields are not stored"
        );
        assert!(
            a.record
                .starts_with("{\"AnnualRevenue\":1500.0,\"CreatedById\"")
        );
        assert_eq!(a.key, "001000000000001AAA");
        assert_eq!(a.modified_by.as_deref(), Some("005000000000002AAA"));
        assert!(!a.deleted);
    }

    #[test]
    fn malformed_values_are_refused() {
        let s = schema();
        let no_id = json!({"SystemModstamp": "2026-03-02T09:00:00.000+0000"});
        assert!(from_json(&s, no_id.as_object().unwrap().clone()).is_err());
        let header = vec![("NumberOfEmployees".to_owned(), "int".to_owned())];
        let row = csv::StringRecord::from(vec!["twelve"]);
        assert!(from_csv(&s, &header, &row).is_err());
    }
}
