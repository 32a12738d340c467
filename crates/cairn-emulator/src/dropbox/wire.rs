//! The HTTP edge of the API: error responses with Dropbox's status codes and bodies,
//! success responses, union values, and header-safe JSON.
//!
//! Status codes (research note §6.1): 400 plain text for bad input, 401 JSON `AuthError`,
//! 403 JSON `AccessError`, 409 JSON route error `{error_summary, error}`, 422 JSON
//! `PathRootError`, 429 JSON `RateLimitError` with `Retry-After`, 5xx plain text. JSON
//! bodies carry `Content-Type: application/json` exactly (the Python SDK asserts it).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// `Content-Type` of every JSON response.
pub const JSON: &str = "application/json";

/// A failed API call, rendered as Dropbox renders it.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400, plain text: malformed request.
    BadInput(String),
    /// 401: an `AuthError` union value.
    Auth(Value),
    /// 403: an `AccessError` union value (with an optional user message).
    Access(Value, Option<String>),
    /// 409: the route's error union value.
    Route(Value),
    /// 422: a `PathRootError` union value.
    PathRoot(Value),
    /// 429: rate limited, `reason` tag and seconds to wait.
    RateLimited {
        /// `too_many_requests` or `too_many_write_operations`.
        reason: &'static str,
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 5xx with a plain-text body (injected faults and internal failures).
    Server(StatusCode, String),
}

/// A void union member: `{".tag": tag}`.
#[must_use]
pub fn tag(name: &str) -> Value {
    json!({ ".tag": name })
}

/// A union member holding another union: `{".tag": name, name: inner}`.
#[must_use]
pub fn nested(name: &str, inner: Value) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert(".tag".into(), Value::String(name.into()));
    obj.insert(name.into(), inner);
    Value::Object(obj)
}

/// A union member holding a struct, flattened next to the tag.
#[must_use]
pub fn flattened(name: &str, fields: Value) -> Value {
    let mut obj = match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    obj.insert(".tag".into(), Value::String(name.into()));
    Value::Object(obj)
}

/// `error_summary` for a union value: the chain of tags, then `/..`.
#[must_use]
pub fn summary(error: &Value) -> String {
    let mut parts = Vec::new();
    let mut at = error;
    while let Some(tag) = at.get(".tag").and_then(Value::as_str) {
        parts.push(tag.to_owned());
        match at.get(tag) {
            Some(inner) if inner.get(".tag").is_some() => at = inner,
            _ => break,
        }
    }
    format!("{}/..", parts.join("/"))
}

/// A response with a JSON body and the exact JSON content type.
#[must_use]
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// A 200 JSON response.
#[must_use]
pub fn ok(body: &impl Serialize) -> Response {
    json_response(StatusCode::OK, body)
}

/// A plain-text response.
#[must_use]
pub fn text(status: StatusCode, message: String) -> Response {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = |error: &Value| json!({ "error_summary": summary(error), "error": error });
        match self {
            Self::BadInput(message) => text(StatusCode::BAD_REQUEST, message),
            Self::Auth(error) => json_response(StatusCode::UNAUTHORIZED, &envelope(&error)),
            Self::Access(error, user_message) => {
                let mut body = envelope(&error);
                if let Some(text) = user_message {
                    body["user_message"] = json!({ "locale": "en", "text": text });
                }
                json_response(StatusCode::FORBIDDEN, &body)
            }
            Self::Route(error) => json_response(StatusCode::CONFLICT, &envelope(&error)),
            Self::PathRoot(error) => {
                json_response(StatusCode::UNPROCESSABLE_ENTITY, &envelope(&error))
            }
            Self::RateLimited {
                reason,
                retry_after,
            } => {
                let error = json!({ "reason": tag(reason), "retry_after": retry_after });
                let body = json!({ "error_summary": format!("{reason}/.."), "error": error });
                let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Self::Server(status, message) => text(status, message),
        }
    }
}

/// Shorthand for a 409 with the given union value.
#[must_use]
pub fn route_error(error: Value) -> ApiError {
    ApiError::Route(error)
}

/// Serialises `value` as JSON that is safe in an HTTP header: every character at or above
/// U+007F is escaped as `\uXXXX` (with surrogate pairs), as Dropbox requires.
#[must_use]
pub fn header_safe_json(value: &impl Serialize) -> String {
    let raw = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if (c as u32) < 0x7F {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// A union argument: accepts the bare-string shorthand (`"add"`) and the object form
/// (`{".tag": "update", "update": "…"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnionArg {
    /// The tag.
    pub tag: String,
    /// The whole object (`Null` for the shorthand).
    pub value: Value,
}

impl<'de> serde::Deserialize<'de> for UnionArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(d)?;
        match &value {
            Value::String(tag) => Ok(Self {
                tag: tag.clone(),
                value: Value::Null,
            }),
            Value::Object(map) => match map.get(".tag").and_then(Value::as_str) {
                Some(tag) => Ok(Self {
                    tag: tag.to_owned(),
                    value: value.clone(),
                }),
                None => Err(D::Error::custom("union value is missing \".tag\"")),
            },
            _ => Err(D::Error::custom("expected a union value")),
        }
    }
}

impl UnionArg {
    /// The string held by a member like `{".tag": "update", "update": "rev"}`.
    #[must_use]
    pub fn inner_str(&self) -> Option<&str> {
        self.value.get(&self.tag).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_follow_the_tag_chain() {
        let error = nested("path", tag("not_found"));
        assert_eq!(summary(&error), "path/not_found/..");
        assert_eq!(summary(&tag("reset")), "reset/..");
        let flat = flattened("incorrect_offset", json!({"correct_offset": 5}));
        assert_eq!(flat["correct_offset"], 5);
        assert_eq!(summary(&flat), "incorrect_offset/..");
    }

    #[test]
    fn header_json_escapes_everything_beyond_ascii() {
        let s = header_safe_json(&json!({"path": "/é/日本/😀", "x": "\u{7f}"}));
        assert!(s.is_ascii());
        assert!(s.contains("\\u00e9") && s.contains("\\ud83d\\ude00") && s.contains("\\u007f"));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["path"], "/é/日本/😀");
    }

    #[test]
    fn unions_accept_both_forms() {
        let a: UnionArg = serde_json::from_str("\"add\"").unwrap();
        assert_eq!(a.tag, "add");
        let b: UnionArg =
            serde_json::from_str(r#"{".tag":"update","update":"0123456789"}"#).unwrap();
        assert_eq!(b.inner_str(), Some("0123456789"));
        assert!(serde_json::from_str::<UnionArg>("{}").is_err());
    }

    #[tokio::test]
    async fn rate_limit_responses_carry_retry_after_and_json() {
        let response = ApiError::RateLimited {
            reason: "too_many_requests",
            retry_after: 3,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON);
    }
}
