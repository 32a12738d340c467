//! Bulk API 2.0 query jobs: create (SOQL validated up front, with the Bulk-specific
//! restrictions), poll, abort, delete, and CSV results paged with `Sforce-Locator`
//! (base64 of the next row offset; the string `null` at the end) and
//! `Sforce-NumberOfRecords`.

use axum::http::{HeaderName, Method, StatusCode};
use base64::Engine;
use serde_json::Value as Json;

use super::{BulkJobs, Dialect, Job, JobState, QueryResults, job_not_found, list, push_field};
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::clock::{format_date, format_datetime_z};
use crate::salesforce::rest::json::java_double;
use crate::salesforce::schema::FieldType;
use crate::salesforce::soql::{self, Bound, eval};
use crate::salesforce::state::Shared;
use crate::salesforce::store::{FieldVal, OrgData, RecRef};

/// Rows per result chunk when the client does not set `maxRecords`.
const DEFAULT_CHUNK: usize = 100_000;

/// Routes `…/jobs/query[/{id}[/results]]`.
pub async fn route(em: &Shared, ctx: &Ctx, req: &Req, rest: &[&str]) -> ApiResult {
    em.bulk.lock().expire(ctx.now);
    match (rest, &req.method) {
        ([], &Method::POST) => create(em, ctx, req),
        ([], &Method::GET) => {
            let org = em.data.read();
            Ok(Resp::json(
                StatusCode::OK,
                &list(&org, &em.bulk.lock(), false, ctx),
            ))
        }
        ([id], &Method::GET) => {
            let org = em.data.read();
            let jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get(*id)
                .filter(|j| !j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            Ok(Resp::json(StatusCode::OK, &job.info(&org, true)))
        }
        ([id], &Method::PATCH) => {
            let body: Json =
                serde_json::from_slice(&req.body).map_err(|e| ApiError::json(e.to_string()))?;
            if body.get("state").and_then(Json::as_str) != Some("Aborted") {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    "InvalidJob : only 'Aborted' can be set on a query job",
                ));
            }
            let org = em.data.read();
            let mut jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get_mut(*id)
                .filter(|j| !j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            if job.state.terminal() {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    format!(
                        "InvalidJob : Job is already in a terminal state: {}",
                        job.state.name()
                    ),
                ));
            }
            job.state = JobState::Aborted;
            job.modstamp = ctx.now;
            Ok(Resp::json(StatusCode::OK, &job.info(&org, false)))
        }
        ([id], &Method::DELETE) => {
            let mut jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get(*id)
                .filter(|j| !j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            if !job.state.terminal() {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    "InvalidJob : a job can only be deleted once it is complete, failed or aborted",
                ));
            }
            jobs.jobs.remove(*id);
            Ok(Resp::empty(StatusCode::NO_CONTENT))
        }
        ([id, "results"], &Method::GET) => results(em, ctx, req, id),
        (_, m) => Err(ApiError::method(m.as_str())),
    }
}

fn bulk_restrictions(org: &OrgData, q: &soql::parser::Query, b: &Bound) -> Result<(), String> {
    if q.count {
        return Err(
            "FeatureNotEnabled : Aggregate queries are not supported by Bulk API 2.0".into(),
        );
    }
    if q.offset.is_some() {
        return Err("FeatureNotEnabled : OFFSET is not supported by Bulk API 2.0".into());
    }
    if b.has_children {
        return Err("FeatureNotEnabled : Parent-to-child relationship queries are not supported by Bulk API 2.0".into());
    }
    if q.select
        .iter()
        .any(|s| matches!(s, soql::parser::SelectItem::Fields(..)))
    {
        return Err("FeatureNotEnabled : FIELDS() is not supported by Bulk API 2.0".into());
    }
    for c in &b.columns {
        match c.ftype {
            FieldType::Base64 => {
                return Err("FeatureNotEnabled : Binary field not supported".into());
            }
            FieldType::Address => {
                return Err("FUNCTIONALITY_NOT_ENABLED: Selecting compound data not supported in Bulk Query".into());
            }
            _ => {}
        }
    }
    let _ = org;
    Ok(())
}

fn create(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(e.to_string()))?;
    let operation = body
        .get("operation")
        .and_then(Json::as_str)
        .unwrap_or("query")
        .to_owned();
    if operation != "query" && operation != "queryAll" {
        return Err(ApiError::bad(
            "INVALIDJOB",
            format!("InvalidJob : Invalid operation: {operation}"),
        ));
    }
    let query = body
        .get("query")
        .and_then(Json::as_str)
        .ok_or_else(|| ApiError::bad("INVALIDJOB", "InvalidJob : query is required"))?
        .to_owned();
    if body
        .get("contentType")
        .and_then(Json::as_str)
        .is_some_and(|c| c != "CSV")
    {
        return Err(ApiError::bad(
            "INVALIDJOB",
            "InvalidJob : only CSV is supported",
        ));
    }
    let dialect = Dialect::from_request(&body)?;
    let org = em.data.read();
    let parsed = soql::parse(&query).map_err(|e| ApiError::bad(e.code, e.render(&query)))?;
    let bound =
        soql::bind(&org, &parsed, ctx.now).map_err(|e| ApiError::bad(e.code, e.render(&query)))?;
    bulk_restrictions(&org, &parsed, &bound).map_err(|m| ApiError::bad("INVALIDJOB", m))?;
    let object = org.schema.objects[bound.obj].name.clone();
    let mut jobs = em.bulk.lock();
    if jobs.query_jobs_today(ctx.now) >= 10_000 {
        return Err(ApiError::bad(
            "LIMIT_EXCEEDED",
            "Max number of Bulk API 2.0 query jobs per 24 hours exceeded",
        ));
    }
    let id = jobs.new_id(org.pod);
    let job = Job {
        id: id.clone(),
        ingest: false,
        operation: operation.clone(),
        object,
        created_by: ctx.user,
        created: ctx.now,
        modstamp: ctx.now,
        state: JobState::UploadComplete,
        api_version: ctx.version,
        dialect,
        query,
        external_id: None,
        data: None,
        processed: 0,
        failed: 0,
        error: None,
        processing_ms: 0,
        results: None,
        ingest_results: None,
    };
    let info = job.info(&org, false);
    jobs.note_query_job(ctx.now);
    jobs.jobs.insert(id.clone(), job);
    drop(jobs);
    drop(org);
    let em2 = em.clone();
    let all = operation == "queryAll";
    tokio::task::spawn_blocking(move || process(&em2, &id, bound, all));
    Ok(Resp::json(StatusCode::OK, &info))
}

fn csv_value(org: &OrgData, v: FieldVal<'_>, ftype: FieldType) -> String {
    match v {
        FieldVal::Null | FieldVal::Address(_) | FieldVal::Blob(_) => String::new(),
        FieldVal::Bool(b) => b.to_string(),
        FieldVal::Num(n) if ftype == FieldType::Int && n.fract() == 0.0 => (n as i64).to_string(),
        FieldVal::Num(n) => java_double(n),
        FieldVal::Str(s) => s.to_owned(),
        FieldVal::Owned(s) => s,
        FieldVal::Date(d) => format_date(d),
        FieldVal::DateTime(t) => format_datetime_z(t),
        FieldVal::Ref(r) => org.id_of(r),
    }
}

fn process(em: &Shared, id: &str, bound: Bound, all: bool) {
    let started = std::time::Instant::now();
    {
        let mut jobs = em.bulk.lock();
        let Some(job) = jobs.jobs.get_mut(id) else {
            return;
        };
        if job.state != JobState::UploadComplete {
            return;
        }
        job.state = JobState::InProgress;
    }
    let now = em.now();
    let dialect = em.bulk.lock().jobs.get(id).map(|j| j.dialect);
    let Some(dialect) = dialect else { return };
    let org = em.data.read();
    let rows = eval::run(&org, &bound, all, now);
    drop(org);
    let mut header = Vec::new();
    for (i, c) in bound.columns.iter().enumerate() {
        if i > 0 {
            header.push(dialect.delimiter);
        }
        push_field(&mut header, &c.name);
    }
    header.extend_from_slice(dialect.eol());
    let mut jobs = em.bulk.lock();
    if let Some(job) = jobs.jobs.get_mut(id)
        && job.state == JobState::InProgress
    {
        job.processed = rows.len() as u64;
        job.results = Some(QueryResults {
            header,
            bound: std::sync::Arc::new(bound),
            rows,
        });
        job.state = JobState::JobComplete;
        job.modstamp = em.now();
        job.processing_ms = started.elapsed().as_millis() as u64;
    }
    drop(jobs);
    em.bulk_done.notify_waiters();
}

/// Encodes a row offset as a locator (`MTAwMDA` for 10000).
pub fn locator(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn parse_locator(s: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

fn results(em: &Shared, ctx: &Ctx, req: &Req, id: &str) -> ApiResult {
    let jobs: parking_lot::MutexGuard<'_, BulkJobs> = em.bulk.lock();
    let job = jobs
        .jobs
        .get(id)
        .filter(|j| !j.ingest)
        .ok_or_else(|| job_not_found(id))?;
    if job.api_version != ctx.version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "INVALIDJOB",
            format!(
                "Job {id} was created with API version {}.0; fetch its results with the same version",
                job.api_version
            ),
        ));
    }
    let Some(res) = job
        .results
        .as_ref()
        .filter(|_| job.state == JobState::JobComplete)
    else {
        let status = match job.state {
            JobState::InProgress => "IN_PROGRESS",
            JobState::UploadComplete => "UPLOAD_COMPLETE",
            JobState::Aborted => "ABORTED",
            JobState::Failed => "FAILED",
            _ => "OPEN",
        };
        return Err(ApiError::bad(
            "JOB_NOT_COMPLETE",
            format!(
                "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: {status}"
            ),
        ));
    };
    let start = match req
        .param("locator")
        .filter(|l| !l.is_empty() && *l != "null")
    {
        Some(l) => parse_locator(l)
            .filter(|o| *o <= res.rows.len())
            .ok_or_else(|| ApiError::bad("INVALIDLOCATOR", format!("Invalid locator: {l}")))?,
        None => 0,
    };
    let max = req
        .param("maxRecords")
        .map(|m| {
            m.parse::<usize>()
                .map_err(|_| ApiError::bad("INVALID_PARAMETER", format!("Invalid maxRecords: {m}")))
        })
        .transpose()?
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_CHUNK);
    let end = (start + max).min(res.rows.len());
    let total = res.rows.len();
    let (mut out, bound, rows, dialect) = (
        res.header.clone(),
        res.bound.clone(),
        res.rows[start..end].to_vec(),
        job.dialect,
    );
    drop(jobs);
    let org = em.data.read();
    render(&org, &bound, &rows, dialect, ctx.now, &mut out);
    drop(org);
    let next = if end < total {
        locator(end)
    } else {
        "null".to_owned()
    };
    Ok(Resp::bytes(StatusCode::OK, "text/csv", out)
        .with_header(HeaderName::from_static("sforce-locator"), next)
        .with_header(
            HeaderName::from_static("sforce-numberofrecords"),
            (end - start).to_string(),
        ))
}

/// Appends the CSV lines of `rows`.
fn render(org: &OrgData, bound: &Bound, rows: &[u32], d: Dialect, now: i64, out: &mut Vec<u8>) {
    let obj = bound.obj as u32;
    out.reserve(rows.len() * 128);
    for row in rows {
        let r = RecRef { obj, row: *row };
        for (i, c) in bound.columns.iter().enumerate() {
            if i > 0 {
                out.push(d.delimiter);
            }
            push_field(out, &csv_value(org, c.read(org, r, now), c.ftype));
        }
        out.extend_from_slice(d.eol());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_base64_offsets() {
        assert_eq!(locator(10000), "MTAwMDA");
        assert_eq!(parse_locator("MTAwMDA"), Some(10000));
        assert_eq!(parse_locator("!!"), None);
    }
}
