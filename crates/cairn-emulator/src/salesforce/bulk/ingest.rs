//! Bulk API 2.0 ingest jobs: create (`Open`), one CSV upload, `UploadComplete`,
//! processing in batches of 200 through the shared write path, and the three result
//! files. Result rows are not in upload order (batches finish out of order on a real
//! org, and clients must join on their own key columns); `#N/A` nulls a field and an
//! empty cell leaves it alone.

use axum::http::{Method, StatusCode};
use serde_json::Value as Json;

use super::{Dialect, IngestResults, Job, JobState, job_not_found, list};
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::state::Shared;

const OPERATIONS: &[&str] = &["insert", "update", "upsert", "delete", "hardDelete"];

/// Routes `…/jobs/ingest[/{id}[/…]]`.
pub async fn route(em: &Shared, ctx: &Ctx, req: &Req, rest: &[&str]) -> ApiResult {
    em.bulk.lock().expire(ctx.now);
    match (rest, &req.method) {
        ([], &Method::POST) => create(em, ctx, req),
        ([], &Method::GET) => {
            let org = em.data.read();
            Ok(Resp::json(
                StatusCode::OK,
                &list(&org, &em.bulk.lock(), true, ctx),
            ))
        }
        ([id], &Method::GET) => {
            let org = em.data.read();
            let jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get(*id)
                .filter(|j| j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            Ok(Resp::json(StatusCode::OK, &job.info(&org, true)))
        }
        ([id, "batches"], &Method::PUT) => upload(em, ctx, req, id),
        ([id], &Method::PATCH) => patch(em, ctx, req, id),
        ([id], &Method::DELETE) => {
            let mut jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get(*id)
                .filter(|j| j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            if !(job.state.terminal() || job.state == JobState::Open) {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    "InvalidJob : a job in progress cannot be deleted",
                ));
            }
            jobs.jobs.remove(*id);
            Ok(Resp::empty(StatusCode::NO_CONTENT))
        }
        (
            [
                id,
                kind @ ("successfulResults" | "failedResults" | "unprocessedrecords"),
            ],
            &Method::GET,
        ) => {
            let jobs = em.bulk.lock();
            let job = jobs
                .jobs
                .get(*id)
                .filter(|j| j.ingest)
                .ok_or_else(|| job_not_found(id))?;
            let res = job.ingest_results.as_ref().filter(|_| job.state.terminal());
            let body = match (res, *kind) {
                (Some(r), "successfulResults") => r.successful.clone(),
                (Some(r), "failedResults") => r.failed.clone(),
                (Some(r), _) => r.unprocessed.clone(),
                (None, "unprocessedrecords") => job.data.clone().unwrap_or_default(),
                (None, _) => {
                    return Err(ApiError::bad(
                        "JOB_NOT_COMPLETE",
                        format!(
                            "Job {id} is not complete. Current state: {}",
                            job.state.name()
                        ),
                    ));
                }
            };
            Ok(Resp::bytes(StatusCode::OK, "text/csv", body))
        }
        (_, m) => Err(ApiError::method(m.as_str())),
    }
}

fn create(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(e.to_string()))?;
    let object = body.get("object").and_then(Json::as_str).unwrap_or("");
    let operation = body.get("operation").and_then(Json::as_str).unwrap_or("");
    if !OPERATIONS.contains(&operation) {
        return Err(ApiError::bad(
            "INVALIDJOB",
            format!("InvalidJob : Invalid operation: {operation}"),
        ));
    }
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
    let oi = org.schema.object(object).ok_or_else(|| {
        ApiError::bad(
            "INVALIDJOB",
            format!("InvalidJob : Invalid object: {object}"),
        )
    })?;
    let def = &org.schema.objects[oi];
    let external_id = body
        .get("externalIdFieldName")
        .and_then(Json::as_str)
        .map(str::to_owned);
    if operation == "upsert" {
        let ext = external_id.as_deref().ok_or_else(|| {
            ApiError::bad(
                "INVALIDJOB",
                "InvalidJob : External ID was blank for upsert",
            )
        })?;
        if !def
            .field(ext)
            .is_some_and(|f| def.fields[f].external_id || def.fields[f].name == "Id")
        {
            return Err(ApiError::bad(
                "INVALIDJOB",
                format!(
                    "InvalidJob : Field name provided, {ext} is not an External ID or indexed field for {}",
                    def.name
                ),
            ));
        }
    }
    let object = def.name.clone();
    let mut jobs = em.bulk.lock();
    let id = jobs.new_id(org.pod);
    let job = Job {
        id: id.clone(),
        ingest: true,
        operation: operation.to_owned(),
        object,
        created_by: ctx.user,
        created: ctx.now,
        modstamp: ctx.now,
        state: JobState::Open,
        api_version: ctx.version,
        dialect,
        query: String::new(),
        external_id,
        data: None,
        processed: 0,
        failed: 0,
        error: None,
        processing_ms: 0,
        results: None,
        ingest_results: None,
    };
    let info = job.info(&org, false);
    jobs.jobs.insert(id, job);
    Ok(Resp::json(StatusCode::OK, &info))
}

fn upload(em: &Shared, _ctx: &Ctx, req: &Req, id: &str) -> ApiResult {
    let mut jobs = em.bulk.lock();
    let job = jobs
        .jobs
        .get_mut(id)
        .filter(|j| j.ingest)
        .ok_or_else(|| job_not_found(id))?;
    if job.state != JobState::Open {
        return Err(ApiError::bad(
            "INVALIDJOB",
            format!(
                "InvalidJob : Job is not open for upload. Current state: {}",
                job.state.name()
            ),
        ));
    }
    if job.data.is_some() {
        return Err(ApiError::bad(
            "INVALIDJOB",
            format!(
                "Found multiple contents for job: <{id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."
            ),
        ));
    }
    if req.body.len() > 150 * 1024 * 1024 {
        return Err(ApiError::bad(
            "INVALIDJOB",
            "InvalidJob : the upload exceeds 150 MB",
        ));
    }
    job.data = Some(req.body.to_vec());
    Ok(Resp::empty(StatusCode::CREATED))
}

fn patch(em: &Shared, ctx: &Ctx, req: &Req, id: &str) -> ApiResult {
    let body: Json =
        serde_json::from_slice(&req.body).map_err(|e| ApiError::json(e.to_string()))?;
    let state = body.get("state").and_then(Json::as_str).unwrap_or("");
    let info = {
        let org = em.data.read();
        let mut jobs = em.bulk.lock();
        let job = jobs
            .jobs
            .get_mut(id)
            .filter(|j| j.ingest)
            .ok_or_else(|| job_not_found(id))?;
        match state {
            "UploadComplete" if job.state == JobState::Open => {
                if job.data.is_none() {
                    job.state = JobState::Failed;
                    job.error = Some("InvalidBatch : no data was uploaded for the job".into());
                    job.ingest_results = Some(IngestResults::default());
                } else {
                    job.state = JobState::UploadComplete;
                }
            }
            "Aborted" if !job.state.terminal() => {
                job.state = JobState::Aborted;
            }
            "UploadComplete" | "Aborted" => {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    format!(
                        "InvalidJob : Job is in state {} and cannot change to {state}",
                        job.state.name()
                    ),
                ));
            }
            other => {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    format!("InvalidJob : Invalid state: {other}"),
                ));
            }
        }
        job.modstamp = ctx.now;
        job.info(&org, false)
    };
    if state == "UploadComplete" {
        let em2 = em.clone();
        let id = id.to_owned();
        let user = ctx.user;
        tokio::task::spawn_blocking(move || super::load::process(&em2, &id, user));
    }
    Ok(Resp::json(StatusCode::OK, &info))
}
