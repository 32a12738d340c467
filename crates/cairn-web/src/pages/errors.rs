//! The HTML error page (the JSON form lives in `crate::error`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::ErrorInfo;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    code: &'a str,
}

fn title_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "That request did not make sense",
        StatusCode::UNAUTHORIZED => "Please sign in",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::METHOD_NOT_ALLOWED => "Not allowed here",
        StatusCode::PAYLOAD_TOO_LARGE => "Too much data",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    }
}

/// The error page for `status` with `info`.
pub(crate) fn error_page(status: StatusCode, info: &ErrorInfo) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title: title_for(status),
        message: &info.message,
        code: info.code,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        // Rendering a static template cannot realistically fail; never recurse.
        Err(_) => (status, info.message.clone()).into_response(),
    }
}
