//! `/composite` (up to 25 sub-requests with `@{ref.path}` references and optional
//! `allOrNone`), `/composite/batch`, and `/composite/tree/{Obj}`.
//!
//! Sub-requests go through the same dispatcher as top-level calls but count as one API
//! call. With `allOrNone`, the undo logs of the sub-requests are collected and replayed
//! backwards if any sub-request fails.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use super::describe::object_index;
use super::{UndoSink, write};
use crate::salesforce::api::resp::json_error_message;
use crate::salesforce::api::{self, ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::state::{Shared, parse_version};
use crate::salesforce::store::{RecRef, Value};
use crate::salesforce::write::convert::{Mode, parse_record};
use crate::salesforce::write::{RecordError, Txn};

const MAX_SUBREQUESTS: usize = 25;

#[derive(Serialize)]
struct SubResponse {
    body: Json,
    #[serde(rename = "httpHeaders")]
    http_headers: Map<String, Json>,
    #[serde(rename = "httpStatusCode")]
    status: u16,
    #[serde(rename = "referenceId")]
    reference_id: String,
}

/// Resolves `@{ref.path}` in `s` against earlier results.
fn substitute(s: &str, results: &HashMap<String, Json>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("unterminated reference")? + start;
        let expr = &rest[start + 2..end];
        let mut parts = expr.split('.');
        let head = parts.next().unwrap_or("");
        let mut cur = results.get(head).ok_or_else(|| {
            format!("Invalid reference specified. No value for {expr} found in {head}")
        })?;
        for p in parts {
            let (name, index) = match p.split_once('[') {
                Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
                None => (p, None),
            };
            cur = cur.get(name).ok_or_else(|| {
                format!("Invalid reference specified. No value for {expr} found in {head}")
            })?;
            if let Some(i) = index {
                cur = cur.get(i).ok_or_else(|| {
                    format!("Invalid reference specified. No value for {expr} found in {head}")
                })?;
            }
        }
        match cur {
            Json::String(v) => out.push_str(v),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn sub_request(
    ctx: &Ctx,
    method: &str,
    url: &str,
    body: Option<&Json>,
    headers: &HeaderMap,
) -> Result<Req, ApiError> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ApiError::bad("INVALID_METHOD", format!("Invalid HTTP method: {method}")))?;
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/services/data/").ok_or_else(|| {
        ApiError::bad(
            "INVALID_URL",
            format!("The URL {url} is not supported in a composite request"),
        )
    })?;
    let mut segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if segs.is_empty() || parse_version(&segs[0]) != Some(ctx.version) {
        return Err(ApiError::bad(
            "INVALID_URL",
            format!("The URL {url} must use the same API version as the composite request"),
        ));
    }
    segs.remove(0);
    if segs.len() == 4 && segs[0] == "sobjects" {
        return Err(ApiError::bad(
            "INVALID_URL",
            "Blob retrieval is not supported in a composite request",
        ));
    }
    Ok(Req {
        method,
        segs,
        params: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        headers: headers.clone(),
        body: body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
    })
}

fn body_json(r: &Resp) -> Json {
    if r.body.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&r.body).unwrap_or(Json::Null)
    }
}

/// `POST …/composite`.
pub async fn composite(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    if req.method != Method::POST {
        return Err(ApiError::method(req.method.as_str()));
    }
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(json_error_message(&e)))?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let subs = body
        .get("compositeRequest")
        .and_then(Json::as_array)
        .ok_or_else(|| ApiError::json("Cannot deserialize instance of compositeRequest from null value or request may be missing a required field"))?;
    if subs.len() > MAX_SUBREQUESTS {
        return Err(ApiError::bad(
            "LIMIT_EXCEEDED",
            format!("Composite requests cannot have more than {MAX_SUBREQUESTS} subrequests"),
        ));
    }
    let sink: UndoSink = Arc::new(Mutex::new(Vec::new()));
    let mut sub_ctx = ctx.clone();
    if all_or_none {
        sub_ctx.undo_sink = Some(sink.clone());
    }
    let mut results: HashMap<String, Json> = HashMap::new();
    let mut responses: Vec<SubResponse> = Vec::new();
    let mut failed = false;
    for s in subs {
        let reference_id = s
            .get("referenceId")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        if failed && all_or_none {
            responses.push(halted(reference_id, "The transaction was rolled back since another operation in the same transaction failed."));
            continue;
        }
        let method = s.get("method").and_then(Json::as_str).unwrap_or("GET");
        let url = s.get("url").and_then(Json::as_str).unwrap_or("");
        let prepared = substitute(url, &results).and_then(|u| {
            let b = s
                .get("body")
                .map(|b| substitute(&b.to_string(), &results))
                .transpose()?;
            let b = b
                .map(|b| serde_json::from_str::<Json>(&b).map_err(|e| e.to_string()))
                .transpose()?;
            Ok((u, b))
        });
        let resp = match prepared {
            Err(msg) => {
                failed = true;
                responses.push(halted(reference_id, &msg));
                continue;
            }
            Ok((u, b)) => match sub_request(ctx, method, &u, b.as_ref(), &req.headers) {
                Ok(sub) => Box::pin(api::dispatch(em, &sub_ctx, &sub))
                    .await
                    .unwrap_or_else(ApiError::into_resp),
                Err(e) => e.into_resp(),
            },
        };
        let json = body_json(&resp);
        if resp.status.as_u16() >= 400 {
            failed = true;
        } else {
            results.insert(reference_id.clone(), json.clone());
        }
        let mut headers = Map::new();
        for (k, v) in &resp.headers {
            if k.as_str().eq_ignore_ascii_case("location") {
                headers.insert("Location".into(), Json::String(v.clone()));
            }
        }
        responses.push(SubResponse {
            body: json,
            http_headers: headers,
            status: resp.status.as_u16(),
            reference_id,
        });
    }
    if all_or_none && failed {
        let logs: Vec<_> = std::mem::take(&mut *sink.lock());
        let mut org = em.data.write();
        let mut txn = Txn::new(&mut org, ctx.now, ctx.user);
        for log in logs {
            txn.restore_undo(log);
        }
        txn.rollback_to(0);
        txn.commit();
        drop(org);
        em.touch();
        for r in &mut responses {
            if r.status < 400 {
                *r = halted(
                    r.reference_id.clone(),
                    "The transaction was rolled back since another operation in the same transaction failed.",
                );
            }
        }
    }
    Ok(Resp::json(
        StatusCode::OK,
        &json!({ "compositeResponse": responses }),
    ))
}

fn halted(reference_id: String, message: &str) -> SubResponse {
    SubResponse {
        body: json!([{"errorCode": "PROCESSING_HALTED", "message": message}]),
        http_headers: Map::new(),
        status: 400,
        reference_id,
    }
}

/// `POST …/composite/batch`.
pub async fn batch(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    if req.method != Method::POST {
        return Err(ApiError::method(req.method.as_str()));
    }
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(json_error_message(&e)))?;
    let halt = body
        .get("haltOnError")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let subs = body
        .get("batchRequests")
        .and_then(Json::as_array)
        .ok_or_else(|| ApiError::json("Cannot deserialize instance of batchRequests from null value or request may be missing a required field"))?;
    if subs.len() > MAX_SUBREQUESTS {
        return Err(ApiError::bad(
            "LIMIT_EXCEEDED",
            format!("Batch requests cannot have more than {MAX_SUBREQUESTS} subrequests"),
        ));
    }
    let mut results = Vec::new();
    let mut has_errors = false;
    for s in subs {
        if halt && has_errors {
            results.push(json!({"statusCode": 412, "result": [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]}));
            continue;
        }
        let method = s.get("method").and_then(Json::as_str).unwrap_or("GET");
        let url = s.get("url").and_then(Json::as_str).unwrap_or("");
        let full = format!("/services/data/{}", url.trim_start_matches('/'));
        let resp = match sub_request(ctx, method, &full, s.get("richInput"), &req.headers) {
            Ok(sub) => Box::pin(api::dispatch(em, ctx, &sub))
                .await
                .unwrap_or_else(ApiError::into_resp),
            Err(e) => e.into_resp(),
        };
        if resp.status.as_u16() >= 400 {
            has_errors = true;
        }
        results.push(json!({"statusCode": resp.status.as_u16(), "result": body_json(&resp)}));
    }
    Ok(Resp::json(
        StatusCode::OK,
        &json!({"hasErrors": has_errors, "results": results}),
    ))
}

/// `POST …/composite/tree/{Obj}`: inserts parents with nested children, all or nothing.
pub fn tree(em: &Shared, ctx: &Ctx, req: &Req, name: &str) -> ApiResult {
    if req.method != Method::POST {
        return Err(ApiError::method(req.method.as_str()));
    }
    let obj = object_index(&em.data.read(), name)?;
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(json_error_message(&e)))?;
    let records = body
        .get("records")
        .and_then(Json::as_array)
        .cloned()
        .ok_or_else(|| ApiError::json("Cannot deserialize instance of records from null value or request may be missing a required field"))?;
    fn count(recs: &[Json]) -> usize {
        recs.iter()
            .map(|r| {
                1 + r
                    .as_object()
                    .map(|m| {
                        m.values()
                            .filter_map(|v| v.get("records").and_then(Json::as_array))
                            .map(|a| count(a))
                            .sum()
                    })
                    .unwrap_or(0)
            })
            .sum()
    }
    if count(&records) > 200 {
        return Err(ApiError::bad(
            "LIMIT_EXCEEDED",
            "Too many records in the tree: the limit is 200",
        ));
    }
    let outcome = write(em, ctx, &req.subpath(), |txn| {
        let sp = txn.savepoint();
        let mut ok = Vec::new();
        let mut errors = Vec::new();
        insert_level(txn, obj, &records, None, &mut ok, &mut errors);
        if !errors.is_empty() {
            txn.rollback_to(sp);
            return Err(errors);
        }
        Ok(ok
            .into_iter()
            .map(|(rid, r)| (rid, txn.org.id_of(r)))
            .collect::<Vec<_>>())
    });
    match outcome {
        Ok(list) => Ok(Resp::json(
            StatusCode::CREATED,
            &json!({"hasErrors": false, "results": list.into_iter().map(|(rid, id)| json!({"referenceId": rid, "id": id})).collect::<Vec<_>>()}),
        )),
        Err(errors) => Ok(Resp::json(
            StatusCode::BAD_REQUEST,
            &json!({"hasErrors": true, "results": errors.into_iter().map(|(rid, e): (String, RecordError)| json!({"referenceId": rid, "errors": [{"statusCode": e.code, "message": e.message, "fields": e.fields}]})).collect::<Vec<_>>()}),
        )),
    }
}

fn insert_level(
    txn: &mut Txn<'_>,
    obj: usize,
    records: &[Json],
    parent: Option<(usize, RecRef)>,
    ok: &mut Vec<(String, RecRef)>,
    errors: &mut Vec<(String, RecordError)>,
) {
    for rec in records {
        let Some(map) = rec.as_object() else { continue };
        let rid = map
            .get("attributes")
            .and_then(|a| a.get("referenceId"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        let def = txn.org.schema.objects[obj].clone();
        let mut fields = Map::new();
        let mut nested = Vec::new();
        for (k, v) in map {
            if let Some(&ci) = def.child_rel_index.get(&k.to_ascii_lowercase())
                && let Some(children) = v.get("records").and_then(Json::as_array)
            {
                nested.push((ci, children.clone()));
            } else {
                fields.insert(k.clone(), v.clone());
            }
        }
        let res = parse_record(txn.org, obj, &fields, Mode::Insert).and_then(|mut values| {
            if let Some((fi, p)) = parent {
                values.push((fi, Value::Ref(p)));
            }
            txn.insert(obj, values)
        });
        match res {
            Ok(r) => {
                ok.push((rid, r));
                for (ci, children) in nested {
                    let rel = &def.children[ci];
                    insert_level(txn, rel.child, &children, Some((rel.field, r)), ok, errors);
                }
            }
            Err(e) => errors.push((rid, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_into_earlier_results() {
        let mut results = HashMap::new();
        results.insert("acc".to_owned(), json!({"id": "001X"}));
        results.insert("q".to_owned(), json!({"records": [{"Id": "003Y"}]}));
        assert_eq!(
            substitute("/x/@{acc.id}/@{q.records[0].Id}", &results).unwrap(),
            "/x/001X/003Y"
        );
        assert!(substitute("@{nope.id}", &results).is_err());
    }
}
