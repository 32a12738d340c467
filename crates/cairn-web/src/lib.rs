//! Cairn's web layer: the portal (server-rendered HTML with htmx), the REST API under
//! `/api/v1`, and the operational endpoints, over one axum [`Router`].
//!
//! Rules of this crate:
//! - It is, with the binary, the only crate that uses axum. Everything HTTP-shaped stops
//!   here: the account operations in [`auth`] take plain values and are also used by the
//!   admin CLI.
//! - Every handler returns [`ApiError`] at the edge: a status, a stable code and a safe
//!   message; the [`error::render_errors`] middleware turns it into JSON or an HTML page.
//! - Every state-changing form goes through [`extract::CsrfForm`]; sessions live in the
//!   meta store; the clock comes from the state, never from `Utc::now()`.
//! - [`router`] builds the app from an [`AppState`]; [`serve`] runs it on a listener the
//!   caller bound (port 0 in tests).

#![warn(missing_docs)]

mod api;
mod assets;
pub mod auth;
pub mod error;
pub mod extract;
pub mod metrics;
mod ops;
mod pages;
pub mod security;
pub mod server;
pub mod state;
pub mod tasks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::{ApiError, WebError};
pub use server::{RunningServer, load_tls, local_base_url, serve};
pub use state::{AppState, WebSettings};

/// Which endpoints a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Portal, API and operational endpoints (`serve --role all|api`).
    Full,
    /// Only `/healthz`, `/readyz` and `/metrics` (`serve --role worker`).
    OpsOnly,
}

/// The application's router: portal, API and operational endpoints.
pub fn router(state: AppState) -> Router {
    build(state, Surface::Full)
}

/// The router for `surface`.
pub fn build(state: AppState, surface: Surface) -> Router {
    let settings = state.settings().clone();
    let mut routes = Router::new().merge(ops::routes());
    if surface == Surface::Full {
        let secure = settings.secure_cookies;
        let portal = pages::routes(settings.demo).layer(from_fn(move |request, next| {
            security::csrf::ensure_cookie(secure, request, next)
        }));
        routes = routes
            .merge(portal)
            .nest("/api/v1", api::routes())
            .route("/assets/{name}", axum::routing::get(assets::serve));
    }
    routes
        .fallback(|| async { ApiError::route_not_found() })
        .layer(from_fn_with_state(state.clone(), metrics::track_requests))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(from_fn(error::render_errors))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::REFERRER_POLICY, "same-origin"))
        .layer(security_header(header::CACHE_CONTROL, "no-store"))
        .with_state(state)
}

/// A handler panicked: log it and answer 500 like any other internal error.
fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "a request handler panicked");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on our side. Try again in a moment.",
    )
    .into_response()
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
