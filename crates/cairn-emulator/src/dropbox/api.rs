//! The `/2/…` route table and the pipeline every API call goes through: route lookup,
//! method check, authentication (token, Select-User / Select-Admin, Path-Root), rate limit,
//! injected faults, data-transport quota, argument parsing, then the route's handler.
//! Every response carries an `X-Dropbox-Request-Id` and is counted.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Caller, authenticate};
use super::form::url_query_param;
use super::routes::{Host, RouteSpec, Style, find};
use super::state::Shared;
use super::view::View;
use super::wire::ApiError;
use super::{download, files, list, session_batch, sessions, team_routes, upload};

/// Which hosts a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// RPC routes, OAuth, control API.
    pub api: bool,
    /// Upload and download routes.
    pub content: bool,
    /// Long-poll.
    pub notify: bool,
}

impl Roles {
    /// One listener serving everything.
    pub const ALL: Self = Self {
        api: true,
        content: true,
        notify: true,
    };

    fn serves(self, host: Host) -> bool {
        match host {
            Host::Api => self.api,
            Host::Content => self.content,
            Host::Notify => self.notify,
        }
    }
}

/// State handed to the `/2/…` handler.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Shared emulator state.
    pub shared: Arc<Shared>,
    /// Hosts this listener plays.
    pub roles: Roles,
}

/// A call that passed the pipeline, handed to a route handler.
#[derive(Debug)]
pub struct Ctx {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// The route.
    pub spec: &'static RouteSpec,
    /// Who is calling.
    pub caller: Caller,
    /// Request headers.
    pub headers: HeaderMap,
    /// The bearer token used, if any.
    pub token: Option<String>,
}

impl Ctx {
    /// The caller's view (user routes only).
    ///
    /// # Errors
    /// 400 if the call has no member context (cannot happen past authentication).
    pub fn view(&self) -> Result<View, ApiError> {
        match self.caller {
            Caller::Member(view) => Ok(view),
            _ => Err(self.bad_input("this route needs a member context")),
        }
    }

    /// A 400 in Dropbox's wording for this route.
    #[must_use]
    pub fn bad_input(&self, message: &str) -> ApiError {
        bad_input(self.spec.name, message)
    }

    /// Parses a typed argument from a JSON value.
    ///
    /// # Errors
    /// 400 naming the problem.
    pub fn parse<T: DeserializeOwned>(&self, arg: Value) -> Result<T, ApiError> {
        let source = match self.spec.style {
            Style::Rpc => "request body",
            _ => "HTTP header \"Dropbox-API-Arg\"",
        };
        serde_json::from_value(arg).map_err(|e| self.bad_input(&format!("{source}: {e}")))
    }
}

/// `Error in call to API function "route": message` (400, plain text).
#[must_use]
pub fn bad_input(route: &str, message: &str) -> ApiError {
    ApiError::BadInput(format!(
        "Error in call to API function \"{route}\": {message}"
    ))
}

/// Largest RPC body accepted (JSON arguments, batches of 1000 entries included).
const MAX_RPC_BODY: usize = 16 << 20;

/// The axum handler for `/2/{*route}`.
pub async fn handle(
    State(state): State<ApiState>,
    Path(route): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = super::ids::random_token("", 12).replace(['-', '_'], "0");
    let (name, mut response) = match find(&route).filter(|s| state.roles.serves(s.host)) {
        None => (
            "unknown".to_owned(),
            ApiError::BadInput(format!("Unknown API function: \"{route}\"")).into_response(),
        ),
        Some(spec) => {
            let result = run(&state.shared, spec, method, headers, query, body).await;
            (
                spec.name.to_owned(),
                result.unwrap_or_else(IntoResponse::into_response),
            )
        }
    };
    state
        .shared
        .counters
        .record(&name, response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-dropbox-request-id", value);
    }
    response
}

async fn run(
    shared: &Arc<Shared>,
    spec: &'static RouteSpec,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let method_ok =
        method == Method::POST || (method == Method::GET && spec.style == Style::Download);
    if !method_ok {
        return Err(bad_input(spec.name, "request method must be POST"));
    }
    let (caller, token, limit_key) = authenticate(shared, spec, &headers)?;
    shared.limits.check_rate(&limit_key)?;
    let (latency, fault) = shared.limits.draw_fault(spec.name, spec.write);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(fault) = fault {
        shared
            .counters
            .faults_injected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(fault);
    }
    if spec.transport {
        shared.limits.charge_transport()?;
    }
    let (arg, body) = match spec.style {
        Style::Rpc => (rpc_arg(spec, &headers, body).await?, None),
        Style::Upload => {
            check_upload_content_type(spec, &headers)?;
            (header_arg(spec, &headers, query.as_deref())?, Some(body))
        }
        Style::Download => (header_arg(spec, &headers, query.as_deref())?, None),
    };
    let ctx = Ctx {
        shared: shared.clone(),
        spec,
        caller,
        headers,
        token,
    };
    let body = body.unwrap_or_else(Body::empty);
    match spec.name {
        "files/list_folder" => list::list_folder(ctx, arg).await,
        "files/list_folder/continue" => list::list_folder_continue(ctx, arg).await,
        "files/list_folder/get_latest_cursor" => list::get_latest_cursor(ctx, arg),
        "files/list_folder/longpoll" => list::longpoll(ctx, arg).await,
        "files/get_metadata" => files::get_metadata(ctx, arg).await,
        "files/list_revisions" => files::list_revisions(ctx, arg).await,
        "files/download" => download::download(ctx, arg).await,
        "files/upload" => upload::upload(ctx, arg, body).await,
        "files/upload_session/start" => sessions::start(ctx, arg, body).await,
        "files/upload_session/append_v2" => sessions::append_v2(ctx, arg, body).await,
        "files/upload_session/append" => sessions::append_v1(ctx, arg, body).await,
        "files/upload_session/finish" => sessions::finish(ctx, arg, body).await,
        "files/upload_session/start_batch" => session_batch::start_batch(ctx, arg),
        "files/upload_session/finish_batch_v2" => session_batch::finish_batch_v2(ctx, arg).await,
        "files/upload_session/finish_batch" => session_batch::finish_batch_v1(ctx, arg).await,
        "files/upload_session/finish_batch/check" => session_batch::finish_batch_check(ctx, arg),
        "files/create_folder_v2" => files::create_folder(ctx, arg),
        "files/delete_v2" => files::delete(ctx, arg).await,
        "files/copy_v2" => files::relocate(ctx, arg, true).await,
        "files/move_v2" => files::relocate(ctx, arg, false).await,
        "files/restore" => files::restore(ctx, arg).await,
        "users/get_current_account" => team_routes::current_account(ctx),
        "auth/token/revoke" => Ok(super::oauth::revoke(ctx)),
        "team/get_info" => team_routes::get_info(ctx),
        "team/features/get_values" => team_routes::features(ctx, arg),
        "team/token/get_authenticated_admin" => team_routes::authenticated_admin(ctx),
        "team/members/list_v2" => team_routes::members_list(ctx, arg),
        "team/members/list/continue_v2" => team_routes::members_continue(ctx, arg),
        "team/members/get_info_v2" => team_routes::members_get_info(ctx, arg),
        "team/team_folder/list" => team_routes::team_folder_list(ctx, arg),
        "team/team_folder/list/continue" => team_routes::team_folder_continue(ctx, arg),
        "team/namespaces/list" => team_routes::namespaces_list(ctx, arg),
        "team/namespaces/list/continue" => team_routes::namespaces_continue(ctx, arg),
        other => Err(ApiError::BadInput(format!(
            "Unknown API function: \"{other}\""
        ))),
    }
}

async fn rpc_arg(spec: &RouteSpec, headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_RPC_BODY)
        .await
        .map_err(|_| bad_input(spec.name, "request body is too large"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let base = content_type.split(';').next().unwrap_or("").trim();
    if base != "application/json" && content_type != "text/plain; charset=dropbox-cors-hack" {
        return Err(ApiError::BadInput(format!(
            "Error in call to API function \"{}\": Bad HTTP \"Content-Type\" header: \
             \"{content_type}\".  Expecting one of \"application/json\", \
             \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\".",
            spec.name
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        bad_input(
            spec.name,
            &format!("request body: could not decode input as JSON: {e}"),
        )
    })
}

fn header_arg(
    spec: &RouteSpec,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let from_query = query.and_then(|q| url_query_param(q, "arg"));
    let raw = match headers.get("dropbox-api-arg") {
        Some(value) => value.to_str().map(str::to_owned).map_err(|_| {
            bad_input(
                spec.name,
                "HTTP header \"Dropbox-API-Arg\": must be ASCII; escape other characters as \\uXXXX",
            )
        })?,
        None => from_query.ok_or_else(|| {
            bad_input(
                spec.name,
                "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".",
            )
        })?,
    };
    serde_json::from_str(&raw).map_err(|e| {
        bad_input(
            spec.name,
            &format!("HTTP header \"Dropbox-API-Arg\": could not decode input as JSON: {e}"),
        )
    })
}

fn check_upload_content_type(spec: &RouteSpec, headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type == "application/octet-stream"
        || content_type == "text/plain; charset=dropbox-cors-hack"
    {
        return Ok(());
    }
    Err(ApiError::BadInput(format!(
        "Error in call to API function \"{}\": Bad HTTP \"Content-Type\" header: \
         \"{content_type}\".  Expecting one of \"application/octet-stream\", \
         \"text/plain; charset=dropbox-cors-hack\".",
        spec.name
    )))
}

/// 500 for an unexpected internal failure (never for user error).
#[must_use]
pub fn internal(what: &str) -> ApiError {
    ApiError::Server(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("Internal error: {what}"),
    )
}
