//! The HTTP surface: the axum router, and the gate every `/services/data/vXX.X/…` call
//! passes — version check, session check (`INVALID_SESSION_ID`), added latency, the daily
//! allowance (`REQUEST_LIMIT_EXCEEDED`), call accounting, injected faults — before the
//! resource dispatcher, which is also what `/composite` sub-requests go through.

pub mod resp;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

pub use resp::{ApiError, ApiResult, Resp};

use super::faults::FaultKind;
use super::state::{Emulator, MAX_VERSION, MIN_VERSION, Shared, parse_version, version_label};
use super::{bulk, control, metadata, oauth, rest, soap};

/// The largest request body accepted (Bulk API 2.0 allows 150 MB uploads).
pub const MAX_BODY: usize = 160 * 1024 * 1024;

/// The largest request URI (and header block) accepted.
pub const MAX_URI: usize = 16_384;

/// A parsed API request.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path segments after `/services/data/vXX.X/`, percent-decoded, empty ones dropped.
    pub segs: Vec<String>,
    /// Query parameters.
    pub params: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Req {
    /// The first query parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The path after the version, for fault matching and counters (`/query`).
    pub fn subpath(&self) -> String {
        let mut s = String::new();
        for seg in &self.segs {
            s.push('/');
            s.push_str(seg);
        }
        s
    }
}

/// Who is calling, and in which API version.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// User row of the session.
    pub user: u32,
    /// API version (62 for v62.0).
    pub version: u32,
    /// Emulated time of the call.
    pub now: i64,
    /// Collects undo logs when an `allOrNone` composite request encloses this call.
    pub undo_sink: Option<rest::UndoSink>,
}

impl Ctx {
    /// `/services/data/v62.0`.
    pub fn vpath(&self) -> String {
        format!("/services/data/v{}.0", self.version)
    }
    /// `62.0`.
    pub fn version_str(&self) -> String {
        format!("{}.0", self.version)
    }
}

/// The router for one emulated org.
pub fn router(em: Shared) -> Router {
    Router::new()
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/data/{*rest}", any(data_api))
        .route("/services/oauth2/{*rest}", any(oauth::http::instance))
        .route(
            "/login/services/oauth2/{*rest}",
            any(oauth::http::production),
        )
        .route("/test/services/oauth2/{*rest}", any(oauth::http::sandbox))
        .route("/id/{org}/{user}", get(oauth::http::identity))
        .route("/login/id/{org}/{user}", get(oauth::http::identity))
        .route("/test/id/{org}/{user}", get(oauth::http::identity))
        .route("/services/Soap/u/{version}", post(soap::partner))
        .route("/services/Soap/m/{version}", post(metadata::soap::handle))
        .route("/__emulator/{*rest}", any(control::http::handle))
        .route("/__emulator", get(control::http::index))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(em)
}

async fn fallback() -> Response {
    ApiError::not_found().into_response()
}

#[derive(serde::Serialize)]
struct VersionEntry {
    label: String,
    url: String,
    version: String,
}

/// `GET /services/data/`: no auth, not counted, no `Sforce-Limit-Info`.
async fn versions() -> Response {
    let list: Vec<VersionEntry> = (MIN_VERSION..=MAX_VERSION)
        .map(|v| VersionEntry {
            label: version_label(v),
            url: format!("/services/data/v{v}.0"),
            version: format!("{v}.0"),
        })
        .collect();
    Resp::json(StatusCode::OK, &list).into_response()
}

/// The bearer token of a request (`Authorization: Bearer …` or the older `OAuth …`).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim())
}

/// Validates a session token and checks the user is still active.
pub fn authenticate(em: &Emulator, token: Option<&str>, now: i64) -> Result<u32, ApiError> {
    let Some(token) = token else {
        em.counters.lock().auth_failures += 1;
        return Err(ApiError::session());
    };
    let user = em.auth.lock().touch(token, now);
    match user {
        Ok(u) => Ok(u),
        Err(_) => {
            em.counters.lock().auth_failures += 1;
            Err(ApiError::session())
        }
    }
}

/// The `Sforce-Limit-Info` header value.
pub fn limit_info(em: &Emulator, now: i64) -> String {
    let mut u = em.usage.lock();
    let used = u.used(now);
    format!("api-usage={used}/{}", u.max)
}

/// Checks the allowance and counts one call to `endpoint`.
///
/// # Errors
/// 403 `REQUEST_LIMIT_EXCEEDED` when the daily allowance is spent.
pub fn account(em: &Emulator, endpoint: &str, now: i64) -> Result<(), ApiError> {
    {
        let mut u = em.usage.lock();
        if u.used(now) >= u.max {
            drop(u);
            em.counters.lock().limit_refusals += 1;
            let mut e = ApiError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
            e.headers.push((limit_header(), limit_info(em, now)));
            return Err(e);
        }
        u.record(now);
    }
    em.counters.lock().count(endpoint);
    Ok(())
}

/// `Sforce-Limit-Info`.
pub fn limit_header() -> HeaderName {
    HeaderName::from_static("sforce-limit-info")
}

/// The error an injected fault produces.
pub fn fault_error(kind: FaultKind) -> ApiError {
    match kind {
        FaultKind::ServerError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1432976157-94826 (-1183291528)",
        ),
        FaultKind::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable. Please try again later.",
        ),
        FaultKind::RequestLimit => ApiError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ),
        FaultKind::ConcurrentLimit => ApiError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        ),
        FaultKind::UnableToLockRow => ApiError::new(
            StatusCode::BAD_REQUEST,
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record",
        ),
    }
}

/// Applies holds, added latency and request-level injected faults for `path`.
pub async fn inject(em: &Emulator, path: &str) -> Result<(), ApiError> {
    let hold = em.faults.lock().hold_for(path);
    if let Some(hold) = hold {
        hold.wait().await;
    }
    let delay = em.faults.lock().latency_for(path);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let kind = em.faults.lock().decide(path, false);
    if let Some(kind) = kind {
        em.counters.lock().faults_injected += 1;
        return Err(fault_error(kind));
    }
    Ok(())
}

fn split_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// `/services/data/vXX.X/…`.
async fn data_api(
    State(em): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = em.now();
    // URI + headers are capped at 16,384 bytes: 414 / 431 as on a real org.
    if uri.to_string().len() > MAX_URI {
        return StatusCode::URI_TOO_LONG.into_response();
    }
    if headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        > MAX_URI
    {
        return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.into_response();
    }
    let path = uri.path().trim_start_matches("/services/data/");
    let mut segs = split_segments(path);
    if segs.is_empty() {
        return ApiError::not_found().into_response();
    }
    let version_seg = segs.remove(0);
    let Some(version) = parse_version(&version_seg) else {
        return ApiError::not_found().into_response();
    };
    let req = Req {
        method,
        segs,
        params: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers,
        body,
    };
    let user = match authenticate(&em, bearer(&req.headers), now) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let ctx = Ctx {
        user,
        version,
        now,
        undo_sink: None,
    };
    let subpath = req.subpath();
    let endpoint = endpoint_name(&req);
    if let Err(e) = account(&em, &endpoint, now) {
        return e.into_response();
    }
    let result = match inject(&em, &subpath).await {
        Ok(()) => dispatch(&em, &ctx, &req).await,
        Err(e) => Err(e),
    };
    let info = limit_info(&em, now);
    let date = super::clock::format_datetime(now);
    let resp = match result {
        Ok(r) => r,
        Err(e) => e.into_resp(),
    };
    resp.with_header(limit_header(), info)
        .with_header(HeaderName::from_static("x-emulated-time"), date)
        .into_response()
}

/// A short name for counters: `query`, `sobject.get`, `composite.sobjects`, …
fn endpoint_name(req: &Req) -> String {
    let m = req.method.as_str().to_ascii_lowercase();
    match req.segs.first().map(String::as_str) {
        None => "resources".into(),
        Some("sobjects") => match req.segs.len() {
            1 => "describe.global".into(),
            2 => format!("sobject.{m}"),
            3 if req.segs[2] == "describe" => "describe.sobject".into(),
            3 if req.segs[2] == "updated" => "replication.updated".into(),
            3 if req.segs[2] == "deleted" => "replication.deleted".into(),
            4 => "sobject.blob".into(),
            _ => format!("sobject.{m}"),
        },
        Some("query") | Some("queryAll") => {
            let base = req.segs[0].clone();
            if req.segs.len() > 1 {
                format!("{base}.more")
            } else {
                base
            }
        }
        Some("jobs") => format!("bulk2.{}", req.segs.get(1).map_or("jobs", String::as_str)),
        Some("composite") => match req.segs.get(1) {
            Some(s) => format!("composite.{s}"),
            None => "composite".into(),
        },
        Some(other) => other.to_owned(),
    }
}

/// Routes a request to its resource. `/composite` sub-requests come back through here.
pub async fn dispatch(em: &Shared, ctx: &Ctx, req: &Req) -> ApiResult {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [] => rest::misc::resources(ctx),
        ["limits"] => rest::misc::limits(em, ctx, req),
        ["limits", "recordCount"] => rest::misc::record_count(em, req),
        ["sobjects"] => rest::describe::global(em, ctx, req),
        ["sobjects", obj, "describe"] => rest::describe::sobject(em, ctx, req, obj),
        ["sobjects", obj, "updated"] => rest::replication::updated(em, ctx, req, obj),
        ["sobjects", obj, "deleted"] => rest::replication::deleted(em, ctx, req, obj),
        ["sobjects", obj] => rest::sobject::collection(em, ctx, req, obj),
        ["sobjects", obj, id] => rest::sobject::record(em, ctx, req, obj, id),
        ["sobjects", obj, a, b] => rest::sobject::record_or_blob(em, ctx, req, obj, a, b),
        ["query"] => rest::query::start(em, ctx, req, false),
        ["queryAll"] => rest::query::start(em, ctx, req, true),
        ["query", locator] | ["queryAll", locator] => rest::query::more(em, ctx, req, locator),
        ["composite"] => Box::pin(rest::composite::composite(em, ctx, req)).await,
        ["composite", "batch"] => Box::pin(rest::composite::batch(em, ctx, req)).await,
        ["composite", "tree", obj] => rest::composite::tree(em, ctx, req, obj),
        ["composite", "sobjects"] => rest::collections::handle(em, ctx, req, None, None),
        ["composite", "sobjects", obj] => rest::collections::handle(em, ctx, req, Some(obj), None),
        ["composite", "sobjects", obj, field] => {
            rest::collections::handle(em, ctx, req, Some(obj), Some(field))
        }
        ["jobs", "query", rest @ ..] => bulk::query::route(em, ctx, req, rest).await,
        ["jobs", "ingest", rest @ ..] => bulk::ingest::route(em, ctx, req, rest).await,
        ["metadata", "deployRequest", id] => metadata::soap::deploy_request_rest(em, ctx, req, id),
        _ => Err(ApiError::not_found()),
    }
}
