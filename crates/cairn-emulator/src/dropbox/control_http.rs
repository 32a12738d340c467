//! The control API over HTTP, under `/__emulator/`: JSON in, JSON out, errors as
//! `{"code": "control.…", "message": "…"}` with 400 (bad request), 404 (unknown thing) or
//! 500. The same operations are available in-process through [`Control`].
//!
//! | method | path | body → result |
//! |---|---|---|
//! | GET | `info` | → team summary ([`super::Info`]) |
//! | GET / POST | `members` | → members / [`super::AddMemberRequest`] → member |
//! | POST | `members/status` | `{team_member_id, status: active\|suspended\|removed}` |
//! | POST | `team_folders` | `{name}` → `{team_folder_id}` |
//! | POST | `team_folders/archive` | `{team_folder_id, archived?}` |
//! | POST | `team_folders/delete` | `{team_folder_id}` |
//! | POST | `mutate` | [`super::MutateRequest`] → [`super::MutateReport`] |
//! | GET / PUT | `faults` | [`super::Faults`] (429 / 500 / 503 rates, latency, routes) |
//! | GET / PUT | `rate_limit` | `{requests_per_second, burst}` or `null` (per member) |
//! | GET / PUT | `transport_quota` | `{limit, used}` |
//! | POST | `tokens/expire` | every short-lived access token expires now |
//! | POST | `tokens/revoke` | `{token?}` one token (and its refresh family) or all |
//! | POST | `cursors/reset` | `{namespace_id?}` cursors get `reset` |
//! | GET / POST | `counters`, `counters/reset` | calls per route and status, bytes |
//! | GET | `dump` | state as JSON lines ([`super::DumpEntry`]) |
//! | GET | `content?rev=…` | the bytes of a revision (`Range` supported) |
//! | POST | `reset` | regenerate the team from its seed |

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::control::{AddMemberRequest, Control};
use super::download::{RangeRequest, body_stream, parse_range};
use super::form::url_query_param;
use super::limits::{Faults, RateLimit, TransportQuota};
use super::model::MemberStatus;
use super::mutate::MutateRequest;
use super::state::Shared;
use super::wire::json_response;
use crate::error::EmulatorError;

fn failure(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "code": code, "message": message }))
}

fn error_response(e: &EmulatorError) -> Response {
    match e {
        EmulatorError::Invalid(m) => failure(StatusCode::BAD_REQUEST, "control.invalid", m),
        EmulatorError::NotFound(m) => failure(StatusCode::NOT_FOUND, "control.not_found", m),
        other => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "control.io",
            &other.to_string(),
        ),
    }
}

fn bad_json(message: &str) -> Response {
    failure(StatusCode::BAD_REQUEST, "control.bad_json", message)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not valid for this operation: {e}"))
}

fn respond<T: serde::Serialize>(result: Result<T, EmulatorError>) -> Response {
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error_response(&e),
    }
}

fn control(shared: &Arc<Shared>) -> Control {
    Control {
        shared: shared.clone(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberStatusRequest {
    team_member_id: String,
    status: MemberStatus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFolderRequest {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFolderIdRequest {
    team_folder_id: String,
    #[serde(default)]
    archived: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    #[serde(default)]
    token: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    namespace_id: Option<String>,
}

async fn info(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).info())
}

async fn members(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).members())
}

async fn add_member(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<AddMemberRequest>(&body) {
        Ok(req) => respond(control(&s).add_member(req)),
        Err(m) => bad_json(&m),
    }
}

async fn member_status(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<MemberStatusRequest>(&body) {
        Ok(req) => respond(
            control(&s)
                .set_member_status(&req.team_member_id, req.status)
                .map(|()| json!({})),
        ),
        Err(m) => bad_json(&m),
    }
}

async fn add_team_folder(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TeamFolderRequest>(&body) {
        Ok(req) => respond(
            control(&s)
                .add_team_folder(&req.name)
                .map(|id| json!({ "team_folder_id": id })),
        ),
        Err(m) => bad_json(&m),
    }
}

async fn archive_team_folder(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TeamFolderIdRequest>(&body) {
        Ok(req) => respond(
            control(&s)
                .set_team_folder_archived(&req.team_folder_id, req.archived.unwrap_or(true))
                .map(|()| json!({})),
        ),
        Err(m) => bad_json(&m),
    }
}

async fn delete_team_folder(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TeamFolderIdRequest>(&body) {
        Ok(req) => respond(
            control(&s)
                .delete_team_folder(&req.team_folder_id)
                .map(|()| json!({})),
        ),
        Err(m) => bad_json(&m),
    }
}

async fn mutate(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<MutateRequest>(&body) {
        Ok(req) => respond(control(&s).mutate(&req)),
        Err(m) => bad_json(&m),
    }
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).faults())
}

async fn put_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Faults>(&body) {
        Ok(f) => respond(control(&s).set_faults(f).map(|()| control(&s).faults())),
        Err(m) => bad_json(&m),
    }
}

async fn get_rate_limit(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).rate_limit())
}

async fn put_rate_limit(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let cleared = matches!(body.trim_ascii(), b"" | b"null");
    let parsed: Result<Option<RateLimit>, String> = if cleared {
        Ok(None)
    } else {
        parse::<RateLimit>(&body).map(Some)
    };
    match parsed {
        Ok(limit) => respond(control(&s).set_rate_limit(limit).map(|()| limit)),
        Err(m) => bad_json(&m),
    }
}

async fn get_quota(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).transport_quota())
}

async fn put_quota(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TransportQuota>(&body) {
        Ok(q) => {
            control(&s).set_transport_quota(q);
            json_response(StatusCode::OK, &q)
        }
        Err(m) => bad_json(&m),
    }
}

async fn expire_tokens(State(s): State<Arc<Shared>>) -> Response {
    control(&s).expire_tokens();
    json_response(StatusCode::OK, &json!({}))
}

async fn revoke_tokens(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TokenRequest>(&body) {
        Ok(req) => {
            control(&s).revoke_tokens(req.token.as_deref());
            json_response(StatusCode::OK, &json!({}))
        }
        Err(m) => bad_json(&m),
    }
}

async fn reset_cursors(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<ResetRequest>(&body) {
        Ok(req) => respond(
            control(&s)
                .force_reset(req.namespace_id.as_deref())
                .map(|()| json!({})),
        ),
        Err(m) => bad_json(&m),
    }
}

async fn counters(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &control(&s).counters())
}

async fn reset_counters(State(s): State<Arc<Shared>>) -> Response {
    control(&s).reset_counters();
    json_response(StatusCode::OK, &json!({}))
}

async fn dump(State(s): State<Arc<Shared>>) -> Response {
    let text = control(&s).dump_jsonl().await;
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

async fn content(
    State(s): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(rev) = query.as_deref().and_then(|q| url_query_param(q, "rev")) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "control.invalid",
            "pass ?rev=<revision>",
        );
    };
    let (source, size) = match control(&s).content_of(&rev) {
        Ok(found) => found,
        Err(e) => return error_response(&e),
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(RangeRequest::Full, |v| parse_range(v, size));
    let (status, start, end) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, size),
        RangeRequest::Partial(a, b) => (StatusCode::PARTIAL_CONTENT, a, b),
        RangeRequest::Unsatisfiable => {
            return failure(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "control.invalid",
                "range not satisfiable",
            );
        }
    };
    match body_stream(&s, source, start, end).await {
        Ok(body) => {
            let mut response = Response::new(body);
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/octet-stream"),
            );
            if let Ok(v) = header::HeaderValue::from_str(&(end - start).to_string()) {
                headers.insert(header::CONTENT_LENGTH, v);
            }
            response
        }
        Err(e) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "control.io",
            &e.to_string(),
        ),
    }
}

async fn reset(State(s): State<Arc<Shared>>) -> Response {
    respond(control(&s).reset().await.map(|()| control(&s).info()))
}

async fn not_found() -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "control.not_found",
        "no such control operation",
    )
}

/// The `/__emulator` router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__emulator/info", get(info))
        .route("/__emulator/members", get(members).post(add_member))
        .route("/__emulator/members/status", post(member_status))
        .route("/__emulator/team_folders", post(add_team_folder))
        .route(
            "/__emulator/team_folders/archive",
            post(archive_team_folder),
        )
        .route("/__emulator/team_folders/delete", post(delete_team_folder))
        .route("/__emulator/mutate", post(mutate))
        .route(
            "/__emulator/faults",
            get(get_faults).put(put_faults).post(put_faults),
        )
        .route(
            "/__emulator/rate_limit",
            get(get_rate_limit).put(put_rate_limit).post(put_rate_limit),
        )
        .route(
            "/__emulator/transport_quota",
            get(get_quota).put(put_quota).post(put_quota),
        )
        .route("/__emulator/tokens/expire", post(expire_tokens))
        .route("/__emulator/tokens/revoke", post(revoke_tokens))
        .route("/__emulator/cursors/reset", post(reset_cursors))
        .route("/__emulator/counters", get(counters))
        .route("/__emulator/counters/reset", post(reset_counters))
        .route("/__emulator/dump", get(dump))
        .route("/__emulator/content", get(content))
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/{*rest}", get(not_found).post(not_found))
        .with_state(shared)
}
