//! The portal: server-rendered pages, one module per page or flow, templates in
//! `templates/`. Every page that is linked from the navigation exists; nothing here is a
//! placeholder.

mod activity;
mod chart;
mod chrome;
mod entities;
pub(crate) mod errors;
mod home;
mod mailbox;
mod password;
mod sign_in;
mod sign_up;
mod tasks;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// Marks a response whose error status comes with a finished page (a form shown again
/// with its messages), so the error middleware leaves the body alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderedPage;

/// Renders `template` as the response body with `status`.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Result<Response, ApiError> {
    let html = template.render()?;
    let mut response = (status, Html(html)).into_response();
    response.extensions_mut().insert(RenderedPage);
    Ok(response)
}

/// A link shown on a page.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub label: &'static str,
    pub href: &'static str,
}

/// A short page with a title, a few paragraphs and links ("check your inbox").
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub title: &'static str,
    pub paragraphs: Vec<String>,
    pub links: Vec<Link>,
    pub demo: bool,
}

/// The portal's routes.
pub(crate) fn routes(demo: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(home::page))
        .route("/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/sign-up", get(sign_up::page).post(sign_up::submit))
        .route("/sign-up/check-email", get(sign_up::check_email))
        .route("/activate", get(sign_up::activate))
        .route(
            "/password/forgot",
            get(password::forgot_page).post(password::forgot_submit),
        )
        .route("/password/forgot/sent", get(password::forgot_sent))
        .route(
            "/password/reset",
            get(password::reset_page).post(password::reset_submit),
        )
        .route(
            "/account/password",
            get(password::change_page).post(password::change_submit),
        )
        .route("/activity", get(activity::page))
        .route("/tasks", post(tasks::create))
        .route("/tasks/new", get(tasks::new_page))
        .route("/tasks/usage-report", post(tasks::usage_report))
        .route("/tasks/{id}", get(tasks::page))
        .route("/tasks/{id}/connect", post(tasks::connect))
        .route("/tasks/{id}/settings", post(tasks::save_settings))
        .route("/tasks/{id}/backup", post(tasks::backup_now))
        .route(
            "/tasks/{id}/delete",
            get(tasks::delete_page).post(tasks::delete),
        )
        .route("/tasks/{id}/restore", post(tasks::restore))
        .route("/tasks/{id}/entities", get(entities::list))
        .route("/tasks/{id}/entities/action", post(entities::act))
        .route("/tasks/{id}/entities/{entity}", get(entities::detail))
        .route("/tasks/{id}/tags", post(entities::create_tag))
        .route("/oauth/{service}/callback", get(tasks::callback));
    if demo {
        router
            .route("/dev/mailbox", get(mailbox::list))
            .route("/dev/mailbox/{id}", get(mailbox::show))
            .route(
                "/dev/mailbox/{id}/attachments/{n}",
                get(mailbox::attachment),
            )
    } else {
        router
    }
}

/// `2025-06-01 09:00:00 UTC`.
pub(crate) fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
