//! Batched upload-session routes: `start_batch`, `finish_batch_v2` (synchronous) and the
//! deprecated asynchronous `finish_batch` + `finish_batch/check`. Each entry of a batch is
//! finished like a single `finish`, and fails on its own (`not_closed`, offsets, conflicts).

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Ctx;
use super::ids::random_token;
use super::sessions::{FinishArg, concurrent_type, finish_one, new_session};
use super::upload::validate_commit;
use super::wire::{ApiError, UnionArg, flattened, nested, ok, route_error, tag};

#[derive(Debug, Deserialize)]
struct FinishBatchArg {
    entries: Vec<FinishArg>,
}

#[derive(Debug, Deserialize)]
struct StartBatchArg {
    num_sessions: u64,
    #[serde(default)]
    session_type: Option<UnionArg>,
}

#[derive(Debug, Deserialize)]
struct CheckArg {
    async_job_id: String,
}

/// `files/upload_session/start_batch`
pub fn start_batch(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: StartBatchArg = ctx.parse(arg)?;
    if !(1..=1000).contains(&arg.num_sessions) {
        return Err(ctx.bad_input(&format!(
            "request body: num_sessions: {} is not within range [1, 1000]",
            arg.num_sessions
        )));
    }
    let concurrent = concurrent_type(&ctx, arg.session_type.as_ref())?;
    let ids: Vec<String> = (0..arg.num_sessions)
        .map(|_| new_session(&ctx.shared, concurrent))
        .collect();
    Ok(ok(&json!({ "session_ids": ids })))
}

async fn run_batch(ctx: &Ctx, arg: Value) -> Result<Vec<Value>, ApiError> {
    let arg: FinishBatchArg = ctx.parse(arg)?;
    if arg.entries.len() > 1000 {
        return Err(ctx.bad_input("request body: entries: at most 1000 entries"));
    }
    let checked: Vec<_> = {
        let team = ctx.shared.team.read();
        arg.entries
            .iter()
            .map(|e| validate_commit(ctx, &team, &e.commit))
            .collect::<Result<_, _>>()?
    };
    let view = ctx.view()?;
    let mut results = Vec::with_capacity(arg.entries.len());
    for (entry, checked) in arg.entries.iter().zip(checked) {
        results.push(
            match finish_one(&ctx.shared, &view, entry, checked, true).await {
                Ok(file) => flattened("success", file),
                Err(e) => nested("failure", e),
            },
        );
    }
    Ok(results)
}

/// `files/upload_session/finish_batch_v2`
pub async fn finish_batch_v2(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let entries = run_batch(&ctx, arg).await?;
    Ok(ok(&json!({ "entries": entries })))
}

/// `files/upload_session/finish_batch` (deprecated, asynchronous: poll with `/check`).
pub async fn finish_batch_v1(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let entries = run_batch(&ctx, arg).await?;
    let job = format!("dbjid:{}", random_token("", 30));
    ctx.shared.sessions.lock().jobs.insert(
        job.clone(),
        json!({ ".tag": "complete", "entries": entries }),
    );
    Ok(ok(&json!({ ".tag": "async_job_id", "async_job_id": job })))
}

/// `files/upload_session/finish_batch/check`
pub fn finish_batch_check(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: CheckArg = ctx.parse(arg)?;
    let result = ctx
        .shared
        .sessions
        .lock()
        .jobs
        .get(&arg.async_job_id)
        .cloned();
    result
        .map(|r| ok(&r))
        .ok_or_else(|| route_error(tag("invalid_async_job_id")))
}
