//! `query` and `queryAll` with `nextRecordsUrl` paging.
//!
//! The first call evaluates the query and keeps the matching rows in a cursor; pages are
//! rendered from current record values. Page size is the `Sforce-Query-Options:
//! batchSize` (200–2000, default 2000), reduced when child subquery rows fill the batch
//! and when the control API caps pages — clients must follow `nextRecordsUrl` verbatim.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;

use super::json::Writer;
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::soql::{self, Bound, eval};
use crate::salesforce::state::{Cursor, Shared};
use crate::salesforce::store::{OrgData, RecRef};

/// Page size from `Sforce-Query-Options: batchSize=N`.
pub fn batch_size(req: &Req) -> usize {
    req.header("sforce-query-options")
        .and_then(|v| {
            v.split([',', ';'])
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .map_or(2000, |n| n.clamp(200, 2000))
}

/// `GET …/query?q=` and `GET …/queryAll?q=`.
pub fn start(em: &Shared, ctx: &Ctx, req: &Req, all: bool) -> ApiResult {
    let Some(q) = req.param("q") else {
        return Err(ApiError::bad(
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    if q.len() > 100_000 {
        return Err(ApiError::bad(
            "MALFORMED_QUERY",
            "Query is too long: the maximum length of a SOQL statement is 100,000 characters",
        ));
    }
    let org = em.data.read();
    let bound = soql::parse(q)
        .and_then(|parsed| soql::bind(&org, &parsed, ctx.now))
        .map_err(|e| ApiError::bad(e.code, e.render(q)))?;
    if bound.count {
        let n = eval::count(&org, &bound, all, ctx.now);
        return Ok(Resp::json_bytes(
            StatusCode::OK,
            format!("{{\"totalSize\":{n},\"done\":true,\"records\":[]}}").into_bytes(),
        ));
    }
    let rows = eval::run(&org, &bound, all, ctx.now);
    let mut batch = batch_size(req);
    if let Some(cap) = em.tuning.lock().query_page_cap {
        batch = batch.min(cap.max(1));
    }
    let cursor = Cursor {
        bound: Arc::new(bound),
        rows: Arc::new(rows),
        include_deleted: all,
        batch,
        last_used: ctx.now,
    };
    let (body, next) = page(&org, ctx, &cursor, 0, None);
    drop(org);
    Ok(finish(em, ctx, cursor, body, next))
}

fn finish(em: &Shared, ctx: &Ctx, cursor: Cursor, body: PageBody, next: Option<usize>) -> Resp {
    let next_url = next.map(|offset| {
        let pod = em.data.read().pod;
        let id = em.cursors.lock().open(pod, cursor, ctx.now);
        format!("{}/query/{id}-{offset}", ctx.vpath())
    });
    Resp::json_bytes(StatusCode::OK, body.assemble(next_url.as_deref()))
}

/// `GET …/query/{locator}-{offset}`.
pub fn more(em: &Shared, ctx: &Ctx, _req: &Req, locator: &str) -> ApiResult {
    let invalid = || ApiError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursor = em.cursors.lock().get(id, ctx.now).ok_or_else(invalid)?;
    if offset > cursor.rows.len() {
        return Err(invalid());
    }
    let org = em.data.read();
    let (body, next) = page(&org, ctx, &cursor, offset, Some(id));
    drop(org);
    let next_url = next.map(|o| format!("{}/query/{id}-{o}", ctx.vpath()));
    Ok(Resp::json_bytes(
        StatusCode::OK,
        body.assemble(next_url.as_deref()),
    ))
}

/// A rendered page waiting for its `nextRecordsUrl`.
struct PageBody {
    total: usize,
    records: Vec<u8>,
    done: bool,
}

impl PageBody {
    fn assemble(self, next: Option<&str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.records.len() + 160);
        out.extend_from_slice(
            format!("{{\"totalSize\":{},\"done\":{}", self.total, self.done).as_bytes(),
        );
        if let Some(n) = next {
            out.extend_from_slice(b",\"nextRecordsUrl\":\"");
            out.extend_from_slice(n.as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"records\":[");
        out.extend_from_slice(&self.records);
        out.extend_from_slice(b"]}");
        out
    }
}

/// Renders rows from `offset`; returns the body and the next offset if more remain.
fn page(
    org: &OrgData,
    ctx: &Ctx,
    cursor: &Cursor,
    offset: usize,
    _id: Option<&str>,
) -> (PageBody, Option<usize>) {
    let bound: &Bound = &cursor.bound;
    let vpath = ctx.vpath();
    let writer = Writer {
        org,
        vpath: &vpath,
        now: ctx.now,
        include_deleted: cursor.include_deleted,
        child_cache: RefCell::new(HashMap::new()),
    };
    let children_written = Cell::new(0usize);
    let obj = bound.obj as u32;
    let mut records = Vec::with_capacity(cursor.batch.min(cursor.rows.len()) * 512);
    let mut i = offset;
    let mut count = 0;
    while i < cursor.rows.len() && count < cursor.batch {
        if count > 0 {
            records.push(b',');
        }
        let before = records.len();
        writer.record(
            &mut records,
            RecRef {
                obj,
                row: cursor.rows[i],
            },
            &bound.proj,
        );
        count += 1;
        i += 1;
        if bound.has_children {
            // Child rows count toward the batch.
            let nested = records[before..]
                .windows(13)
                .filter(|w| w == b"\"attributes\":")
                .count()
                - 1;
            children_written.set(children_written.get() + nested);
            if count + children_written.get() >= cursor.batch {
                break;
            }
        }
    }
    let done = i >= cursor.rows.len();
    (
        PageBody {
            total: cursor.rows.len(),
            records,
            done,
        },
        (!done).then_some(i),
    )
}
