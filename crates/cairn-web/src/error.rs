//! Errors: the crate's own [`WebError`], and [`ApiError`], the one type every handler
//! returns at the HTTP edge.
//!
//! An `ApiError` carries an HTTP status, a stable machine-readable code
//! (`auth.invalid_credentials`, `request.csrf_failed`, …), a message safe to show a user,
//! and optionally the internal error that caused it. Turning it into a response logs that
//! source chain exactly once and attaches an [`ErrorInfo`] to the response; the
//! [`render_errors`] middleware then writes the body as JSON for API clients or as an HTML
//! page for browsers. Responses that axum or tower produce without an `ErrorInfo` (405,
//! 413, …) get one there too, so every error a client sees has the same shape.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use cairn_mail::MailError;
use cairn_meta::MetaError;

/// Failures inside this crate.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The meta store failed.
    #[error("meta store")]
    Meta(#[from] MetaError),
    /// Sending mail failed.
    #[error("sending mail")]
    Mail(#[from] MailError),
    /// Hashing or verifying a password failed.
    #[error("password hashing: {0}")]
    PasswordHash(String),
    /// A template could not be rendered.
    #[error("rendering a page")]
    Template(#[from] askama::Error),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed")]
    Join(#[from] tokio::task::JoinError),
    /// TLS material could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// A filesystem or socket error.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The error a handler returns: status + stable code + safe message (+ logged source).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    source: Option<WebError>,
    retry_after_seconds: Option<i64>,
}

/// What the error middleware needs to render a body; attached to error responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    /// Stable code.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
}

impl ApiError {
    /// An error with a code and message of the caller's choosing.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            source: None,
            retry_after_seconds: None,
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `route.not_found`.
    #[must_use]
    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "route.not_found",
            "There is nothing at this address.",
        )
    }

    /// 404 for a missing thing, e.g. `not_found("mail.not_found", "No such message.")`.
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 403 `request.csrf_failed`.
    #[must_use]
    pub fn csrf_failed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "request.csrf_failed",
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    }

    /// 401 `auth.required`.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "auth.required",
            "Sign in to continue.",
        )
    }

    /// 500 `internal`, keeping `source` for the log.
    pub fn internal(source: impl Into<WebError>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: Cow::Borrowed(
                "Something went wrong on our side. Try again in a moment; if it keeps happening, tell your administrator.",
            ),
            source: Some(source.into()),
            retry_after_seconds: None,
        }
    }

    /// Adds a `Retry-After` header.
    #[must_use]
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after_seconds = Some(seconds.max(1));
        self
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<WebError> for ApiError {
    fn from(error: WebError) -> Self {
        match error {
            WebError::Meta(MetaError::NotFound { .. }) => Self::route_not_found(),
            WebError::Mail(_) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "mail.unavailable",
                message: Cow::Borrowed(
                    "We could not send the email right now. Try again in a few minutes.",
                ),
                source: Some(error),
                retry_after_seconds: Some(60),
            },
            other => Self::internal(other),
        }
    }
}

impl From<MetaError> for ApiError {
    fn from(error: MetaError) -> Self {
        WebError::from(error).into()
    }
}

impl From<askama::Error> for ApiError {
    fn from(error: askama::Error) -> Self {
        Self::internal(error)
    }
}

/// The whole `source()` chain on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        let _ = write!(text, ": {cause}");
        current = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            if self.status.is_server_error() {
                tracing::error!(code = self.code, error = %error_chain(source), "request failed");
            } else {
                tracing::warn!(code = self.code, error = %error_chain(source), "request refused");
            }
        }
        let info = ErrorInfo {
            code: self.code,
            message: self.message.into_owned(),
        };
        let mut response = json_error_response(self.status, &info);
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(info);
        response
    }
}

#[derive(Serialize)]
struct JsonError<'a> {
    error: &'a ErrorInfo,
}

fn json_error_response(status: StatusCode, info: &ErrorInfo) -> Response {
    let body = serde_json::to_string(&JsonError { error: info })
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":""}}"#.to_owned());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// What a bare error status from axum or tower means, for responses without an
/// [`ErrorInfo`].
fn info_for_bare_status(status: StatusCode) -> ErrorInfo {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("route.not_found", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "request.method_not_allowed",
            "This address does not accept that kind of request.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "request.body_too_large",
            "The request is larger than this server accepts.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "request.unsupported_media_type",
            "The request body has a content type this address does not accept.",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request.timeout", "The request took too long."),
        s if s.is_server_error() => (
            "internal",
            "Something went wrong on our side. Try again in a moment.",
        ),
        _ => ("request.invalid", "The request could not be processed."),
    };
    ErrorInfo {
        code,
        message: message.to_owned(),
    }
}

/// Whether the client wants JSON: API paths always, other paths when `Accept` asks for
/// JSON and not HTML.
fn wants_json(path: &str, accept: Option<&str>) -> bool {
    if path == "/api" || path.starts_with("/api/") {
        return true;
    }
    accept
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

/// Middleware: gives every error response its final body, JSON or HTML.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    let finished = response
        .extensions()
        .get::<crate::pages::RenderedPage>()
        .is_some();
    if finished || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let info = match response.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None => info_for_bare_status(status),
    };
    let json = wants_json(&path, accept.as_deref());
    if json && response.extensions().get::<ErrorInfo>().is_some() {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let mut rebuilt = if json {
        json_error_response(status, &info)
    } else {
        crate::pages::errors::error_page(status, &info)
    };
    // Keep headers the error set (Retry-After, Set-Cookie) but not its body headers.
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
        parts.headers.remove(name);
    }
    for (name, value) in &parts.headers {
        rebuilt.headers_mut().append(name.clone(), value.clone());
    }
    rebuilt.extensions_mut().insert(info);
    rebuilt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_chosen_for_api_paths_and_json_accept_headers() {
        assert!(wants_json("/api/v1/me", None));
        assert!(wants_json("/api", Some("text/html")));
        assert!(!wants_json("/apis", None));
        assert!(!wants_json(
            "/sign-in",
            Some("text/html,application/xhtml+xml")
        ));
        assert!(wants_json("/healthz", Some("application/json")));
        assert!(!wants_json("/", None));
    }

    #[test]
    fn error_chains_are_flattened() {
        let io = std::io::Error::other("disk on fire");
        let error = WebError::Io {
            context: "writing".into(),
            source: io,
        };
        assert_eq!(error_chain(&error), "writing: disk on fire");
    }

    #[test]
    fn internal_errors_hide_their_source() {
        let error = ApiError::internal(WebError::PasswordHash("secret detail".into()));
        assert_eq!(error.code(), "internal");
        let response = error.into_response();
        let info = response.extensions().get::<ErrorInfo>().unwrap();
        assert!(!info.message.contains("secret detail"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn mail_failures_are_503_with_their_own_code() {
        let io = std::io::Error::other("disk full");
        let error = ApiError::from(WebError::Mail(cairn_mail::MailError::Io {
            context: "writing".into(),
            source: io,
        }));
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code(), "mail.unavailable");
    }

    #[test]
    fn retry_after_is_set() {
        let response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "auth.throttled", "wait")
            .retry_after(90)
            .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "90");
    }
}
