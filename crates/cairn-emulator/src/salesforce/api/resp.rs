//! Responses and errors in Salesforce's wire shapes: JSON bodies with
//! `application/json;charset=UTF-8`, and errors as a JSON array of
//! `{"message", "errorCode", "fields"?}`.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A response from an API handler.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(HeaderName, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// JSON content type as Salesforce sends it.
pub const JSON: &str = "application/json;charset=UTF-8";

impl Resp {
    /// A JSON body already serialised.
    pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
        }
    }
    /// A serialisable value as JSON.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Self {
        Self::json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
    }
    /// No body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            content_type: "",
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    /// Raw bytes with a content type.
    pub fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }
    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for Resp {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body).into_response();
        if !self.content_type.is_empty()
            && let Ok(v) = HeaderValue::from_str(self.content_type)
        {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                r.headers_mut().append(k, v);
            }
        }
        r
    }
}

/// One entry of an error body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorItem {
    /// Human-readable message.
    pub message: String,
    /// Stable error code.
    #[serde(rename = "errorCode")]
    pub error_code: String,
    /// Fields involved, when the error is about fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Status.
    pub status: StatusCode,
    /// Body items.
    pub items: Vec<ErrorItem>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    /// One error with a code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            items: vec![ErrorItem {
                message: message.into(),
                error_code: code.to_owned(),
                fields: None,
            }],
            headers: Vec::new(),
        }
    }
    /// One error naming fields.
    pub fn with_fields(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> Self {
        let mut e = Self::new(status, code, message);
        e.items[0].fields = Some(fields);
        e
    }
    /// 404 `NOT_FOUND` "The requested resource does not exist".
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }
    /// 405 for a method the resource does not support.
    pub fn method(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are GET,HEAD,PATCH,POST,DELETE"),
        )
    }
    /// 400 with a code.
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 400 `JSON_PARSER_ERROR`.
    pub fn json(message: impl Into<String>) -> Self {
        Self::bad("JSON_PARSER_ERROR", message)
    }
    /// 401 `INVALID_SESSION_ID` with `WWW-Authenticate: Token`.
    pub fn session() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        );
        e.headers
            .push((header::WWW_AUTHENTICATE, "Token".to_owned()));
        e
    }
    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.items).unwrap_or_default()
    }
    /// As a [`Resp`].
    pub fn into_resp(self) -> Resp {
        let body = self.body();
        let mut r = Resp::json_bytes(self.status, body);
        r.headers = self.headers;
        r
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_resp().into_response()
    }
}

/// Handler result.
pub type ApiResult = Result<Resp, ApiError>;

/// A JSON parse error message in the style of the real API's Jackson errors.
pub fn json_error_message(e: &serde_json::Error) -> String {
    format!(
        "{} at [line:{}, column:{}]",
        match e.classify() {
            serde_json::error::Category::Eof => "Unexpected end-of-input".to_owned(),
            _ => {
                let s = e.to_string();
                s.split(" at line").next().unwrap_or(&s).to_owned()
            }
        },
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_an_array_with_message_first() {
        let e = ApiError::with_fields(
            StatusCode::BAD_REQUEST,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
            vec!["Name".into()],
        );
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]"#
        );
        let s = ApiError::session();
        assert_eq!(s.status, StatusCode::UNAUTHORIZED);
        assert_eq!(s.headers[0].1, "Token");
    }
}
