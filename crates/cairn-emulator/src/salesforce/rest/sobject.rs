//! Single-record resources: create, read, update, delete by id; read, upsert and delete
//! by external id; blob download and multipart blob upload.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode, header};
use serde_json::{Map, Value as Json};

use super::describe::{basic_info, object_index};
use super::json::Writer;
use super::{record_error, write};
use crate::salesforce::api::resp::json_error_message;
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::generator::blob;
use crate::salesforce::schema::{FieldType, Storage};
use crate::salesforce::soql::Proj;
use crate::salesforce::state::Shared;
use crate::salesforce::store::{BlobBody, FieldVal, OrgData, RecRef, RowState, Value};
use crate::salesforce::write::convert::{Mode, parse_record};

#[derive(serde::Serialize)]
struct SaveResult {
    id: String,
    success: bool,
    errors: Vec<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
}

/// Parses a JSON object body.
pub fn json_object(body: &[u8]) -> Result<Map<String, Json>, ApiError> {
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::json(
            "Cannot deserialize instance of sObject from START_ARRAY value or request may be missing a required field at [line:1, column:1]",
        )),
        Err(e) => Err(ApiError::json(json_error_message(&e))),
    }
}

/// The record `id` of object `obj`, if it exists and is visible.
fn find(org: &OrgData, obj: usize, id: &str) -> Option<RecRef> {
    let r = org.resolve_id(id).ok()?;
    (r.obj as usize == obj && org.state(r) == RowState::Live).then_some(r)
}

fn not_found_ext(field: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("Provided external ID field does not exist or is not accessible: {field}"),
    )
}

/// All-field JSON of one record (or the `fields` subset).
fn record_json(
    org: &OrgData,
    ctx: &Ctx,
    r: RecRef,
    fields: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let def = &org.schema.objects[r.obj as usize];
    let proj: Vec<Proj> = match fields {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                def.field(name)
                    .map(|fi| Proj::Field {
                        key: def.fields[fi].name.clone(),
                        field: fi,
                    })
                    .ok_or_else(|| {
                        ApiError::bad(
                            "INVALID_FIELD",
                            format!("No such column '{name}' on sobject of type {}", def.name),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
        None => def
            .fields
            .iter()
            .enumerate()
            .map(|(fi, f)| Proj::Field {
                key: f.name.clone(),
                field: fi,
            })
            .collect(),
    };
    let vpath = ctx.vpath();
    let w = Writer {
        org,
        vpath: &vpath,
        now: ctx.now,
        include_deleted: false,
        child_cache: RefCell::new(HashMap::new()),
    };
    let mut out = Vec::with_capacity(2048);
    w.record(&mut out, r, &proj);
    Ok(out)
}

/// `…/sobjects/{Obj}`: GET basic info, POST create (JSON or multipart with a blob).
pub fn collection(em: &Shared, ctx: &Ctx, req: &Req, name: &str) -> ApiResult {
    let obj = object_index(&em.data.read(), name)?;
    match req.method {
        Method::GET => Ok(Resp::json(
            StatusCode::OK,
            &basic_info(&em.data.read(), ctx, obj),
        )),
        Method::POST => {
            let (body, blob) = body_and_blob(em, req, obj)?;
            let id = write(em, ctx, &req.subpath(), |txn| {
                let mut values =
                    parse_record(txn.org, obj, &body, Mode::Insert).map_err(record_error)?;
                values.extend(blob);
                let r = txn.insert(obj, values).map_err(record_error)?;
                Ok::<_, ApiError>(txn.org.id_of(r))
            })?;
            let location = format!(
                "{}/sobjects/{}/{id}",
                ctx.vpath(),
                em.data.read().schema.objects[obj].name
            );
            Ok(Resp::json(
                StatusCode::CREATED,
                &SaveResult {
                    id,
                    success: true,
                    errors: Vec::new(),
                    created: None,
                },
            )
            .with_header(header::LOCATION, location))
        }
        ref m => Err(ApiError::method(m.as_str())),
    }
}

/// `…/sobjects/{Obj}/{id}`: GET, PATCH, DELETE.
pub fn record(em: &Shared, ctx: &Ctx, req: &Req, name: &str, id: &str) -> ApiResult {
    let obj = object_index(&em.data.read(), name)?;
    let r = {
        let org = em.data.read();
        match org.resolve_id(id) {
            Ok(r) if r.obj as usize == obj => r,
            _ => return Err(not_found_ext(id)),
        }
    };
    match req.method {
        Method::GET | Method::HEAD => {
            let org = em.data.read();
            if org.state(r) != RowState::Live {
                return Err(ApiError::not_found());
            }
            Ok(Resp::json_bytes(
                StatusCode::OK,
                record_json(&org, ctx, r, req.param("fields"))?,
            ))
        }
        Method::PATCH => {
            let (body, blob) = body_and_blob(em, req, obj)?;
            if em.data.read().state(r) != RowState::Live {
                return Err(ApiError::not_found());
            }
            write(em, ctx, &req.subpath(), |txn| {
                let mut values =
                    parse_record(txn.org, obj, &body, Mode::Update).map_err(record_error)?;
                values.extend(blob);
                txn.update(r, values).map_err(record_error)
            })?;
            Ok(Resp::empty(StatusCode::NO_CONTENT))
        }
        Method::DELETE => {
            let state = em.data.read().state(r);
            match state {
                RowState::Live => {}
                RowState::Deleted => {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        "ENTITY_IS_DELETED",
                        "entity is deleted",
                    ));
                }
                RowState::Purged => return Err(ApiError::not_found()),
            }
            let res = write(em, ctx, &req.subpath(), |txn| txn.delete(&[r]).remove(0));
            res.map_err(record_error)?;
            Ok(Resp::empty(StatusCode::NO_CONTENT))
        }
        ref m => Err(ApiError::method(m.as_str())),
    }
}

/// `…/sobjects/{Obj}/{a}/{b}`: a blob (`{id}/{BlobField}`) or an external id
/// (`{ExtField}/{value}`).
pub fn record_or_blob(
    em: &Shared,
    ctx: &Ctx,
    req: &Req,
    name: &str,
    a: &str,
    b: &str,
) -> ApiResult {
    let org = em.data.read();
    let obj = object_index(&org, name)?;
    let def = &org.schema.objects[obj];
    if let Some(bf) = def
        .field(b)
        .filter(|f| def.fields[*f].ftype == FieldType::Base64)
        && let Ok(r) = org.resolve_id(a)
        && r.obj as usize == obj
    {
        if req.method != Method::GET {
            return Err(ApiError::method(req.method.as_str()));
        }
        if org.state(r) != RowState::Live {
            return Err(ApiError::not_found());
        }
        let FieldVal::Blob(bi) = org.read(r, bf, ctx.now) else {
            return Err(ApiError::not_found());
        };
        let body = org.tables[obj].blobs[bi as usize].clone();
        drop(org);
        let bytes = blob::render(&body).into_owned();
        return Ok(Resp::bytes(
            StatusCode::OK,
            "application/octetstream",
            bytes,
        ));
    }
    let Some(fi) = def
        .field(a)
        .filter(|f| def.fields[*f].id_lookup || def.fields[*f].name == "Id")
    else {
        return Err(not_found_ext(a));
    };
    let field_name = def.fields[fi].name.clone();
    let found: Option<RecRef> = if field_name == "Id" {
        find(&org, obj, b)
    } else {
        org.tables[obj]
            .unique
            .get(&fi)
            .and_then(|m| m.get(b.to_ascii_lowercase().as_str()))
            .map(|&row| RecRef {
                obj: obj as u32,
                row,
            })
            .filter(|r| org.state(*r) == RowState::Live)
    };
    match req.method {
        Method::GET => {
            let r = found.ok_or_else(ApiError::not_found)?;
            Ok(Resp::json_bytes(
                StatusCode::OK,
                record_json(&org, ctx, r, req.param("fields"))?,
            ))
        }
        Method::DELETE => {
            let r = found.ok_or_else(ApiError::not_found)?;
            drop(org);
            write(em, ctx, &req.subpath(), |txn| txn.delete(&[r]).remove(0))
                .map_err(record_error)?;
            Ok(Resp::empty(StatusCode::NO_CONTENT))
        }
        Method::PATCH => {
            if !def.fields[fi].external_id && field_name != "Id" {
                return Err(not_found_ext(a));
            }
            drop(org);
            let body = json_object(&req.body)?;
            let (id, created) = write(em, ctx, &req.subpath(), |txn| {
                let mode = if found.is_some() {
                    Mode::Update
                } else {
                    Mode::Insert
                };
                let mut values = parse_record(txn.org, obj, &body, mode).map_err(record_error)?;
                match found {
                    Some(r) => {
                        values.retain(|(f, _)| *f != fi);
                        txn.update(r, values).map_err(record_error)?;
                        Ok::<_, ApiError>((txn.org.id_of(r), false))
                    }
                    None if field_name == "Id" => Err(ApiError::not_found()),
                    None => {
                        if !values.iter().any(|(f, _)| *f == fi) {
                            values.push((fi, Value::Text(b.to_owned())));
                        }
                        let r = txn.insert(obj, values).map_err(record_error)?;
                        Ok((txn.org.id_of(r), true))
                    }
                }
            })?;
            Ok(Resp::json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &SaveResult {
                    id,
                    success: true,
                    errors: Vec::new(),
                    created: Some(created),
                },
            ))
        }
        ref m => Err(ApiError::method(m.as_str())),
    }
}

/// A record body and the optional binary field value of a multipart request.
type BodyAndBlob = (Map<String, Json>, Option<(usize, Value)>);

/// The JSON part of a body and, for `multipart/form-data`, the binary part as a blob
/// value for the object's binary field.
fn body_and_blob(em: &Shared, req: &Req, obj: usize) -> Result<BodyAndBlob, ApiError> {
    let ct = req.header("content-type").unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("multipart/") {
        return Ok((json_object(&req.body)?, None));
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| ApiError::bad("INVALID_MULTIPART_REQUEST", "Missing multipart boundary"))?;
    let parts = multipart(&req.body, &boundary).ok_or_else(|| {
        ApiError::bad(
            "INVALID_MULTIPART_REQUEST",
            "Malformed multipart request body",
        )
    })?;
    let mut json = None;
    let mut binary = None;
    for (headers, content) in parts {
        let is_json = headers.to_ascii_lowercase().contains("application/json");
        if is_json && json.is_none() {
            json = Some(json_object(content)?);
        } else if binary.is_none() {
            let name = headers
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("name="))
                .next()
                .map(|n| {
                    n.split(['\r', '\n'])
                        .next()
                        .unwrap_or("")
                        .trim_matches('"')
                        .to_owned()
                })
                .unwrap_or_default();
            binary = Some((name, content.to_vec()));
        }
    }
    let json = json.ok_or_else(|| {
        ApiError::bad(
            "INVALID_MULTIPART_REQUEST",
            "The multipart request has no JSON part",
        )
    })?;
    let blob = match binary {
        Some((name, bytes)) => {
            let org = em.data.read();
            let def = &org.schema.objects[obj];
            let fi = def
                .field(&name)
                .filter(|f| def.fields[*f].ftype == FieldType::Base64)
                .or_else(|| {
                    def.fields.iter().position(|f| {
                        f.ftype == FieldType::Base64 && matches!(f.storage, Storage::Column(_))
                    })
                })
                .ok_or_else(|| {
                    ApiError::bad(
                        "INVALID_FIELD",
                        format!("No binary field on sobject of type {}", def.name),
                    )
                })?;
            Some((fi, Value::Blob(BlobBody::Stored(Arc::new(bytes)))))
        }
        None => None,
    };
    Ok((json, blob))
}

/// Splits a multipart body into (headers, content) parts.
fn multipart<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<(String, &'a [u8])>> {
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let find = |hay: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?
            .windows(d.len())
            .position(|w| w == d)
            .map(|p| p + from)
    };
    let mut parts = Vec::new();
    let mut pos = find(body, 0)? + d.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        let next = find(body, pos)?;
        let mut chunk = &body[pos..next];
        chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        let split = chunk.windows(4).position(|w| w == b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&chunk[..split]).into_owned();
        parts.push((headers, &chunk[split + 4..]));
        pos = next + d.len();
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_split_into_parts() {
        let body = b"--abc\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n{\"Name\":\"x\"}\r\n--abc\r\nContent-Disposition: form-data; name=\"Body\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--abc--\r\n";
        let parts = multipart(body, "abc").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, b"{\"Name\":\"x\"}");
        assert_eq!(parts[1].1, b"\x00\x01");
        assert!(parts[1].0.contains("name=\"Body\""));
        assert!(multipart(b"garbage", "abc").is_none());
    }
}
