//! sObject Collections: create, update, upsert by external id, delete and retrieve up to
//! 200 records per call. Results come back in request order with per-item `statusCode`
//! errors; the HTTP status is 200 even when items fail. `allOrNone` rolls every item back
//! and reports the good ones as `ALL_OR_NONE_OPERATION_ROLLED_BACK`.

use std::cell::RefCell;
use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::describe::object_index;
use super::json::Writer;
use super::write;
use crate::salesforce::api::resp::json_error_message;
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::soql::Proj;
use crate::salesforce::state::Shared;
use crate::salesforce::store::{IdError, OrgData, RecRef, RowState, Value};
use crate::salesforce::write::convert::{Mode, parse_record};
use crate::salesforce::write::{RecordError, Txn};

/// Maximum records per collections call.
pub const MAX_RECORDS: usize = 200;

#[derive(Serialize, Clone)]
struct ItemError {
    #[serde(rename = "statusCode")]
    status_code: String,
    message: String,
    fields: Vec<String>,
}

#[derive(Serialize)]
struct ItemResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    success: bool,
    errors: Vec<ItemError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
}

fn item_error(e: RecordError) -> ItemError {
    ItemError {
        status_code: e.code,
        message: e.message,
        fields: e.fields,
    }
}

fn rolled_back() -> ItemError {
    ItemError {
        status_code: "ALL_OR_NONE_OPERATION_ROLLED_BACK".into(),
        message: "Record rolled back because not all records were valid and the request was using AllOrNone header".into(),
        fields: Vec::new(),
    }
}

struct Outcome {
    id: Option<RecRef>,
    result: Result<Option<bool>, RecordError>,
}

/// Entry point for `…/composite/sobjects[/{Obj}[/{ExtField}]]`.
pub fn handle(
    em: &Shared,
    ctx: &Ctx,
    req: &Req,
    obj: Option<&str>,
    ext: Option<&str>,
) -> ApiResult {
    match (&req.method, obj, ext) {
        (&Method::POST, None, None) => save(em, ctx, req, Op::Create),
        (&Method::PATCH, None, None) => save(em, ctx, req, Op::Update),
        (&Method::PATCH, Some(o), Some(f)) => {
            save(em, ctx, req, Op::Upsert(o.to_owned(), f.to_owned()))
        }
        (&Method::DELETE, None, None) => delete(em, ctx, req),
        (&Method::GET, Some(o), None) => {
            let ids: Vec<String> = req
                .param("ids")
                .unwrap_or("")
                .split(',')
                .map(str::to_owned)
                .collect();
            let fields: Vec<String> = req
                .param("fields")
                .unwrap_or("")
                .split(',')
                .map(str::to_owned)
                .collect();
            retrieve(em, ctx, o, &ids, &fields)
        }
        (&Method::POST, Some(o), None) => {
            let body = super::sobject::json_object(&req.body)?;
            let list = |k: &str| -> Vec<String> {
                body.get(k)
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            retrieve(em, ctx, o, &list("ids"), &list("fields"))
        }
        (m, _, _) => Err(ApiError::method(m.as_str())),
    }
}

enum Op {
    Create,
    Update,
    Upsert(String, String),
}

fn parse_body(req: &Req) -> Result<(bool, Vec<Map<String, Json>>), ApiError> {
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(json_error_message(&e)))?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let records = body
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| ApiError::json("Cannot deserialize instance of records from null value or request may be missing a required field"))?;
    if records.len() > MAX_RECORDS {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            format!("Number of records exceeded the limit of {MAX_RECORDS}"),
        ));
    }
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        match r {
            Json::Object(m) => out.push(m.clone()),
            _ => {
                return Err(ApiError::json(
                    "Cannot deserialize instance of sObject from non-object value",
                ));
            }
        }
    }
    Ok((all_or_none, out))
}

fn record_type(
    org: &OrgData,
    rec: &Map<String, Json>,
    forced: Option<usize>,
) -> Result<usize, RecordError> {
    if let Some(o) = forced {
        return Ok(o);
    }
    let t = rec
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Json::as_str)
        .ok_or_else(|| RecordError::new("INVALID_FIELD", "No SObject Type defined in JSON"))?;
    org.schema.object(t).ok_or_else(|| {
        RecordError::new(
            "INVALID_TYPE",
            format!("sObject type '{t}' is not supported."),
        )
    })
}

fn save(em: &Shared, ctx: &Ctx, req: &Req, op: Op) -> ApiResult {
    let (all_or_none, records) = parse_body(req)?;
    // Request-level checks: chunk count and setup/non-setup mixing.
    let (forced, ext_field) = {
        let org = em.data.read();
        let mut types: Vec<Option<usize>> = Vec::new();
        for rec in &records {
            let o = rec
                .get("attributes")
                .and_then(|a| a.get("type"))
                .and_then(Json::as_str)
                .and_then(|t| org.schema.object(t));
            if types.last() != Some(&o) {
                types.push(o);
            }
        }
        if types.len() > 10 {
            return Err(ApiError::bad(
                "INVALID_BATCH_REQUEST",
                "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.",
            ));
        }
        let setup: Vec<bool> = types
            .iter()
            .flatten()
            .map(|o| org.schema.objects[*o].flags.setup)
            .collect();
        if setup.iter().any(|s| *s) && setup.iter().any(|s| !*s) {
            return Err(ApiError::bad(
                "MIXED_DML_OPERATION",
                "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa)",
            ));
        }
        match &op {
            Op::Upsert(o, f) => {
                let oi = object_index(&org, o)?;
                let def = &org.schema.objects[oi];
                let fi = def
                    .field(f)
                    .filter(|i| def.fields[*i].external_id || def.fields[*i].name == "Id")
                    .ok_or_else(|| ApiError::bad("INVALID_FIELD", format!("Field name provided, {f} is not an External ID or indexed field for {}", def.name)))?;
                (Some(oi), Some(fi))
            }
            _ => (None, None),
        }
    };
    let path = req.subpath();
    let outcomes = write(em, ctx, &path, |txn| {
        let sp = txn.savepoint();
        let mut outs = Vec::with_capacity(records.len());
        for rec in &records {
            outs.push(match &op {
                Op::Create => create_one(txn, rec),
                Op::Update => update_one(txn, rec),
                Op::Upsert(_, _) => {
                    upsert_one(txn, rec, forced.unwrap_or(0), ext_field.unwrap_or(0))
                }
            });
        }
        if all_or_none && outs.iter().any(|o| o.result.is_err()) {
            txn.rollback_to(sp);
        }
        outs.into_iter()
            .map(|o| (o.id.map(|r| txn.org.id_of(r)), o.result))
            .collect::<Vec<_>>()
    });
    let failed = outcomes.iter().any(|(_, r)| r.is_err());
    let results: Vec<ItemResult> = outcomes
        .into_iter()
        .map(|(id, result)| match result {
            Ok(_) if all_or_none && failed => ItemResult {
                id: None,
                success: false,
                errors: vec![rolled_back()],
                created: None,
            },
            Ok(created) => ItemResult {
                id,
                success: true,
                errors: Vec::new(),
                created,
            },
            Err(e) => ItemResult {
                id: id.filter(|_| !matches!(op, Op::Create)),
                success: false,
                errors: vec![item_error(e)],
                created: None,
            },
        })
        .collect();
    Ok(Resp::json(StatusCode::OK, &results))
}

fn create_one(txn: &mut Txn<'_>, rec: &Map<String, Json>) -> Outcome {
    let res = (|| {
        if rec.keys().any(|k| k.eq_ignore_ascii_case("id")) {
            return Err(RecordError::new(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "cannot specify Id in an insert call",
            ));
        }
        let obj = record_type(txn.org, rec, None)?;
        let values = parse_record(txn.org, obj, rec, Mode::Insert)?;
        txn.insert(obj, values)
    })();
    match res {
        Ok(r) => Outcome {
            id: Some(r),
            result: Ok(None),
        },
        Err(e) => Outcome {
            id: None,
            result: Err(e),
        },
    }
}

fn resolve_for(org: &OrgData, obj: usize, id: &str) -> Result<RecRef, RecordError> {
    match org.resolve_id(id) {
        Ok(r) if r.obj as usize == obj => Ok(r),
        Ok(_) | Err(IdError::NotFound) => Err(RecordError::new(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
        )),
        Err(IdError::Malformed) => Err(RecordError::new(
            "MALFORMED_ID",
            format!("malformed id {id}"),
        )),
    }
}

fn update_one(txn: &mut Txn<'_>, rec: &Map<String, Json>) -> Outcome {
    let id = rec
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str());
    let mut known = None;
    let res = (|| {
        let id = id.ok_or_else(|| {
            RecordError::new("MISSING_ARGUMENT", "Id not specified in an update call")
        })?;
        let obj = record_type(txn.org, rec, None)?;
        let r = resolve_for(txn.org, obj, id)?;
        known = Some(r);
        let values = parse_record(txn.org, obj, rec, Mode::Update)?;
        txn.update(r, values)
    })();
    Outcome {
        id: known,
        result: res.map(|()| None),
    }
}

fn upsert_one(txn: &mut Txn<'_>, rec: &Map<String, Json>, obj: usize, ext: usize) -> Outcome {
    let def_name = txn.org.schema.objects[obj].fields[ext].name.clone();
    let key = rec
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&def_name))
        .map(|(_, v)| match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            _ => String::new(),
        })
        .unwrap_or_default();
    let res = (|| {
        if key.is_empty() {
            return Err(RecordError::new(
                "MISSING_ARGUMENT",
                format!("{def_name} not specified"),
            ));
        }
        let existing = if def_name == "Id" {
            Some(resolve_for(txn.org, obj, &key)?)
        } else {
            txn.org.tables[obj]
                .unique
                .get(&ext)
                .and_then(|m| m.get(key.to_ascii_lowercase().as_str()))
                .map(|&row| RecRef {
                    obj: obj as u32,
                    row,
                })
                .filter(|r| txn.org.state(*r) == RowState::Live)
        };
        match existing {
            Some(r) => {
                let mut values = parse_record(txn.org, obj, rec, Mode::Update)?;
                values.retain(|(f, _)| *f != ext);
                txn.update(r, values).map(|()| (r, false))
            }
            None => {
                let mut values = parse_record(txn.org, obj, rec, Mode::Insert)?;
                if !values.iter().any(|(f, _)| *f == ext) {
                    values.push((ext, Value::Text(key.clone())));
                }
                txn.insert(obj, values).map(|r| (r, true))
            }
        }
    })();
    match res {
        Ok((r, created)) => Outcome {
            id: Some(r),
            result: Ok(Some(created)),
        },
        Err(e) => Outcome {
            id: None,
            result: Err(e),
        },
    }
}

fn delete(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    let ids: Vec<String> = req
        .param("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad(
            "MISSING_ARGUMENT",
            "ids parameter is required",
        ));
    }
    if ids.len() > MAX_RECORDS {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            format!("Number of records exceeded the limit of {MAX_RECORDS}"),
        ));
    }
    let all_or_none = req
        .param("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let outcomes = write(em, ctx, &req.subpath(), |txn| {
        let sp = txn.savepoint();
        let resolved: Vec<Result<RecRef, RecordError>> = ids
            .iter()
            .map(|id| match txn.org.resolve_id(id) {
                Ok(r) => Ok(r),
                Err(IdError::Malformed) => Err(RecordError::new(
                    "MALFORMED_ID",
                    format!("malformed id {id}"),
                )),
                Err(IdError::NotFound) => Err(RecordError::new(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                )),
            })
            .collect();
        let targets: Vec<RecRef> = resolved
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let mut results = txn.delete(&targets).into_iter();
        let outs: Vec<Result<(), RecordError>> = resolved
            .iter()
            .map(|r| match r {
                Ok(_) => results.next().unwrap_or(Ok(())),
                Err(e) => Err(e.clone()),
            })
            .collect();
        if all_or_none && outs.iter().any(Result::is_err) {
            txn.rollback_to(sp);
        }
        outs
    });
    let failed = outcomes.iter().any(Result::is_err);
    let results: Vec<ItemResult> = ids
        .iter()
        .zip(outcomes)
        .map(|(id, r)| match r {
            Ok(()) if all_or_none && failed => ItemResult {
                id: Some(id.clone()),
                success: false,
                errors: vec![rolled_back()],
                created: None,
            },
            Ok(()) => ItemResult {
                id: Some(id.clone()),
                success: true,
                errors: Vec::new(),
                created: None,
            },
            Err(e) => ItemResult {
                id: Some(id.clone()),
                success: false,
                errors: vec![item_error(e)],
                created: None,
            },
        })
        .collect();
    Ok(Resp::json(StatusCode::OK, &results))
}

fn retrieve(
    em: &Shared,
    ctx: &Ctx,
    obj_name: &str,
    ids: &[String],
    fields: &[String],
) -> ApiResult {
    let org = em.data.read();
    let obj = object_index(&org, obj_name)?;
    let def = &org.schema.objects[obj];
    let ids: Vec<&String> = ids.iter().filter(|s| !s.trim().is_empty()).collect();
    if ids.is_empty() || fields.iter().all(|f| f.trim().is_empty()) {
        return Err(ApiError::bad(
            "MISSING_ARGUMENT",
            "ids and fields are required",
        ));
    }
    if ids.len() > 2000 {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            "Number of ids exceeded the limit of 2000",
        ));
    }
    let mut proj = Vec::new();
    for f in fields.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
        let fi = def.field(f).ok_or_else(|| {
            ApiError::bad(
                "INVALID_FIELD",
                format!("No such column '{f}' on sobject of type {}", def.name),
            )
        })?;
        proj.push(Proj::Field {
            key: def.fields[fi].name.clone(),
            field: fi,
        });
    }
    let vpath = ctx.vpath();
    let w = Writer {
        org: &org,
        vpath: &vpath,
        now: ctx.now,
        include_deleted: false,
        child_cache: RefCell::new(HashMap::new()),
    };
    let mut out = b"[".to_vec();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match org.resolve_id(id) {
            Ok(r) if r.obj as usize == obj && org.state(r) == RowState::Live => {
                w.record(&mut out, r, &proj)
            }
            Ok(_) | Err(IdError::NotFound) => out.extend_from_slice(b"null"),
            Err(IdError::Malformed) => {
                return Err(ApiError::bad("MALFORMED_ID", format!("malformed id {id}")));
            }
        }
    }
    out.push(b']');
    Ok(Resp::json_bytes(StatusCode::OK, out))
}
