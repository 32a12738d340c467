//! Turning request input (JSON record bodies, Bulk CSV cells) into typed field values,
//! with the per-field errors the API reports: `INVALID_FIELD`,
//! `INVALID_FIELD_FOR_INSERT_UPDATE`, `JSON_PARSER_ERROR`, `STRING_TOO_LONG`,
//! `MALFORMED_ID`, `INVALID_CROSS_REFERENCE_KEY`, restricted picklist errors, …

use std::sync::Arc;

use base64::Engine;
use serde_json::Value as Json;

use super::RecordError;
use crate::salesforce::clock::{DAY_MS, parse_date, parse_datetime};
use crate::salesforce::rest::describe::MASTER_RECORD_TYPE;
use crate::salesforce::schema::{FieldDef, FieldType, ObjectDef, Storage};
use crate::salesforce::store::{BlobBody, IdError, OrgData, RecRef, RowState, Value};

/// Whether values are for an insert or an update (writability differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Insert.
    Insert,
    /// Update.
    Update,
}

fn parser_error(kind: &str, v: &str) -> RecordError {
    RecordError::new(
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {kind} from VALUE_STRING value {v} or request may be missing a required field"
        ),
    )
}

/// Whether `f` may be written in `mode` given the org's audit-field setting.
pub fn writable(org: &OrgData, f: &FieldDef, mode: Mode) -> bool {
    match mode {
        Mode::Insert => f.createable || (f.audit && org.settings.audit_fields_on_create),
        Mode::Update => f.updateable,
    }
}

/// Converts text (a Bulk CSV cell or a JSON string) to a value for `f`.
pub fn from_text(org: &OrgData, f: &FieldDef, s: &str) -> Result<Value, RecordError> {
    match f.ftype {
        FieldType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" | "" => Ok(Value::Bool(false)),
            _ => Err(parser_error("boolean", s)),
        },
        FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent => {
            let n: f64 = s
                .trim()
                .parse()
                .map_err(|_| parser_error(if f.ftype == FieldType::Int { "int" } else { "double" }, s))?;
            number(f, n)
        }
        FieldType::Date => parse_date(s.trim())
            .or_else(|| parse_datetime(s.trim(), false).map(|t| t.div_euclid(DAY_MS) as i32))
            .map(Value::Date)
            .ok_or_else(|| parser_error("date", s)),
        FieldType::DateTime => parse_datetime(s.trim(), true)
            .map(|t| Value::DateTime(t - t.rem_euclid(1000)))
            .ok_or_else(|| parser_error("datetime", s)),
        FieldType::Reference | FieldType::Id => reference(org, f, s.trim()),
        FieldType::Base64 => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(|b| Value::Blob(BlobBody::Stored(Arc::new(b))))
            .map_err(|_| parser_error("base64", "(binary)")),
        FieldType::Address => Err(RecordError::new("INVALID_FIELD_FOR_INSERT_UPDATE", format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name)).with_fields(vec![f.name.clone()])),
        _ => text(f, s),
    }
}

fn number(f: &FieldDef, n: f64) -> Result<Value, RecordError> {
    if !n.is_finite() {
        return Err(parser_error("double", &n.to_string()));
    }
    if f.ftype == FieldType::Int && n.fract() != 0.0 {
        return Err(RecordError::new(
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value {n} or request may be missing a required field"
            ),
        ));
    }
    let int_digits = f.precision.saturating_sub(f.scale);
    if f.ftype != FieldType::Int && int_digits > 0 && n.abs() >= 10f64.powi(int_digits as i32) {
        return Err(RecordError::new(
            "NUMBER_OUTSIDE_VALID_RANGE",
            format!(
                "{}: value outside of valid range on numeric field: {n}",
                f.label
            ),
        )
        .with_fields(vec![f.name.clone()]));
    }
    Ok(Value::Num(n))
}

fn text(f: &FieldDef, s: &str) -> Result<Value, RecordError> {
    if s.is_empty() {
        return Ok(Value::Null);
    }
    let chars = s.chars().count();
    if f.length > 0 && chars > f.length as usize {
        let shown: String = s.chars().take(40).collect();
        return Err(RecordError::new(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {shown} (max length={})",
                f.label, f.length
            ),
        )
        .with_fields(vec![f.name.clone()]));
    }
    if f.ftype == FieldType::Email && !(s.contains('@') && !s.starts_with('@') && !s.ends_with('@'))
    {
        return Err(RecordError::new(
            "INVALID_EMAIL_ADDRESS",
            format!("{}: invalid email address: {s}", f.label),
        )
        .with_fields(vec![f.name.clone()]));
    }
    if f.restricted_picklist && !f.picklist.iter().any(|p| p.value == s) {
        return Err(RecordError::new(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!("{}: bad value for restricted picklist field: {s}", f.label),
        )
        .with_fields(vec![f.name.clone()]));
    }
    Ok(Value::Text(s.to_owned()))
}

/// Resolves an id for a reference field, checking its target type and state.
pub fn reference(org: &OrgData, f: &FieldDef, id: &str) -> Result<Value, RecordError> {
    if id.is_empty() {
        return Ok(Value::Null);
    }
    if f.name == "RecordTypeId" && id.get(..15) == Some(&MASTER_RECORD_TYPE[..15]) {
        return Ok(Value::Null);
    }
    let wrong_type = || {
        RecordError::new(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("{}: id value of incorrect type: {id}", f.label),
        )
        .with_fields(vec![f.name.clone()])
    };
    let r = match org.resolve_id(id) {
        Ok(r) => r,
        Err(IdError::Malformed) => {
            return Err(RecordError::new(
                "MALFORMED_ID",
                format!("{}: id value of incorrect type: {id}", f.label),
            )
            .with_fields(vec![f.name.clone()]));
        }
        Err(IdError::NotFound) => {
            return Err(match org.object_of_id(id) {
                Some(o) if !targets(f, &org.schema.objects[o]) => wrong_type(),
                _ => RecordError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                    .with_fields(vec![f.name.clone()]),
            });
        }
    };
    if !targets(f, &org.schema.objects[r.obj as usize]) {
        return Err(wrong_type());
    }
    match org.state(r) {
        RowState::Live => Ok(Value::Ref(r)),
        RowState::Deleted => Err(RecordError::new("ENTITY_IS_DELETED", "entity is deleted")
            .with_fields(vec![f.name.clone()])),
        RowState::Purged => Err(RecordError::new(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
        )
        .with_fields(vec![f.name.clone()])),
    }
}

fn targets(f: &FieldDef, o: &ObjectDef) -> bool {
    f.ftype == FieldType::Id || f.reference_to.iter().any(|t| t == &o.name)
}

/// Converts a JSON value for `f`.
pub fn from_json(org: &OrgData, f: &FieldDef, v: &Json) -> Result<Value, RecordError> {
    match v {
        Json::Null => Ok(Value::Null),
        Json::Bool(b) => match f.ftype {
            FieldType::Boolean => Ok(Value::Bool(*b)),
            _ if f.ftype.is_textual() => text(f, &b.to_string()),
            _ => Err(RecordError::new(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {} from VALUE_{} value {b} or request may be missing a required field",
                    f.ftype.api_name(),
                    if *b { "TRUE" } else { "FALSE" }
                ),
            )),
        },
        Json::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            match f.ftype {
                FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent => {
                    number(f, x)
                }
                _ if f.ftype.is_textual() => text(f, &n.to_string()),
                FieldType::Boolean => Err(parser_error("boolean", &n.to_string())),
                _ => Err(RecordError::new(
                    "JSON_PARSER_ERROR",
                    format!(
                        "Cannot deserialize instance of {} from VALUE_NUMBER_INT value {n} or request may be missing a required field",
                        f.ftype.api_name()
                    ),
                )),
            }
        }
        Json::String(s) => match f.ftype {
            FieldType::Boolean => Err(parser_error("boolean", s)),
            _ => from_text(org, f, s),
        },
        Json::Array(_) | Json::Object(_) => Err(RecordError::new(
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of {} from START_{} value or request may be missing a required field",
                f.ftype.api_name(),
                if v.is_array() { "ARRAY" } else { "OBJECT" }
            ),
        )),
    }
}

/// Parses a record body (`{"attributes": …, "Field": value, …}`) into field values.
/// Relationship keys holding `{ "ExtId__c": "value" }` resolve the parent by external id.
///
/// # Errors
/// The first problem, in the order the API reports them: unknown fields, then
/// non-writable fields (all named at once), then bad values.
pub fn parse_record(
    org: &OrgData,
    obj: usize,
    body: &serde_json::Map<String, Json>,
    mode: Mode,
) -> Result<Vec<(usize, Value)>, RecordError> {
    let def = &org.schema.objects[obj];
    let mut picked: Vec<(usize, &Json, Option<&str>)> = Vec::new();
    let mut not_writable = Vec::new();
    for (k, v) in body {
        if k == "attributes" || (k.eq_ignore_ascii_case("Id") && mode == Mode::Update) {
            continue;
        }
        if let Some(fi) = def.field(k) {
            let f = &def.fields[fi];
            if !writable(org, f, mode)
                || matches!(f.storage, Storage::Formula(_) | Storage::Address(_))
            {
                not_writable.push(f.name.clone());
            } else {
                picked.push((fi, v, None));
            }
        } else if let (Some(&fi), Json::Object(inner)) =
            (def.rel_index.get(&k.to_ascii_lowercase()), v)
        {
            let f = &def.fields[fi];
            if !writable(org, f, mode) {
                not_writable.push(f.name.clone());
                continue;
            }
            let Some((ext_field, _)) = inner.iter().find(|(k, _)| *k != "attributes") else {
                return Err(RecordError::new(
                    "INVALID_FIELD",
                    format!("No such column '{k}' on sobject of type {}", def.name),
                ));
            };
            picked.push((fi, v, Some(ext_field.as_str())));
        } else {
            return Err(RecordError::new(
                "INVALID_FIELD",
                format!("No such column '{k}' on sobject of type {}", def.name),
            ));
        }
    }
    if !not_writable.is_empty() {
        return Err(RecordError::new(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                not_writable.join(", ")
            ),
        )
        .with_fields(not_writable));
    }
    let mut out = Vec::with_capacity(picked.len());
    for (fi, v, ext) in picked {
        let f = &def.fields[fi];
        let value = match ext {
            None => from_json(org, f, v)?,
            Some(ext_field) => {
                let inner = v
                    .as_object()
                    .and_then(|o| o.get(ext_field))
                    .cloned()
                    .unwrap_or(Json::Null);
                let key = match &inner {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                by_external_id(org, f, ext_field, &key)?
            }
        };
        out.push((fi, value));
    }
    Ok(out)
}

/// Finds the parent of lookup `f` whose external id `ext_field` equals `key`.
pub fn by_external_id(
    org: &OrgData,
    f: &FieldDef,
    ext_field: &str,
    key: &str,
) -> Result<Value, RecordError> {
    for t in &f.reference_to {
        let Some(ti) = org.schema.object(t) else {
            continue;
        };
        let tdef = &org.schema.objects[ti];
        let Some(efi) = tdef.field(ext_field).filter(|i| tdef.fields[*i].id_lookup) else {
            continue;
        };
        if let Some(&row) = org.tables[ti]
            .unique
            .get(&efi)
            .and_then(|m| m.get(key.to_ascii_lowercase().as_str()))
        {
            let r = RecRef {
                obj: ti as u32,
                row,
            };
            if org.state(r) == RowState::Live {
                return Ok(Value::Ref(r));
            }
        }
        return Err(RecordError::new(
            "INVALID_FIELD",
            format!(
                "Foreign key external ID: {key} not found for field {ext_field} in entity {}",
                tdef.name
            ),
        )
        .with_fields(vec![f.name.clone()]));
    }
    Err(RecordError::new(
        "INVALID_FIELD",
        format!("Provided external ID field does not exist or is not accessible: {ext_field}"),
    ))
}
