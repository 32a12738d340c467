//! `/sign-in` and `/sign-out`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use crate::auth::{SessionCheck, SignInRefusal};
use crate::error::ApiError;
use crate::extract::{ClientOrigin, CsrfForm, CsrfToken, PortalSession, safe_next};
use crate::security::cookies::{self, SESSION_COOKIE};
use crate::state::AppState;

pub(crate) struct Notice {
    pub kind: &'static str,
    pub text: &'static str,
}

pub(crate) struct ShownError {
    pub code: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf_token: String,
    email: String,
    next: String,
    notice: Option<Notice>,
    error: Option<ShownError>,
}

fn notice(code: Option<&str>) -> Option<Notice> {
    let (kind, text) = match code? {
        "activated" => ("success", "Your account is activated. Sign in to continue."),
        "password_reset" => (
            "success",
            "Your password has been changed. Sign in with the new one.",
        ),
        "signed_out" => ("info", "You have been signed out."),
        "expired" => (
            "info",
            "Your session has expired. Sign in again to continue.",
        ),
        _ => return None,
    };
    Some(Notice { kind, text })
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    notice: Option<String>,
    next: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    CsrfToken(csrf_token): CsrfToken,
    headers: axum::http::HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Result<Response, ApiError> {
    // Someone already signed in has nothing to do here.
    if let Some(token) = cookies::read(&headers, SESSION_COOKIE)
        && let SessionCheck::Valid(_) = state.auth().check_session(token).await?
    {
        return Ok(Redirect::to(&safe_next(query.next.as_deref())).into_response());
    }
    render(
        StatusCode::OK,
        &SignInPage {
            csrf_token,
            email: String::new(),
            next: safe_next(query.next.as_deref()),
            notice: notice(query.notice.as_deref()),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    CsrfToken(csrf_token): CsrfToken,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    match state
        .auth()
        .sign_in(&form.email, &form.password, &origin)
        .await?
    {
        Ok(signed_in) => {
            let cookie = cookies::set(
                SESSION_COOKIE,
                &signed_in.token,
                signed_in.max_age.num_seconds(),
                state.settings().secure_cookies,
            );
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Err(refusal) => {
            let status = match &refusal {
                SignInRefusal::InvalidCredentials => StatusCode::UNAUTHORIZED,
                SignInRefusal::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                SignInRefusal::NotActivated | SignInRefusal::Disabled => StatusCode::FORBIDDEN,
            };
            let mut response = render(
                status,
                &SignInPage {
                    csrf_token,
                    email: form.email.chars().take(254).collect(),
                    next,
                    notice: None,
                    error: Some(ShownError {
                        code: refusal.code(),
                        text: refusal.to_string(),
                    }),
                },
            )?;
            if let SignInRefusal::Throttled { seconds, .. } = refusal
                && let Ok(value) = seconds.to_string().parse()
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoFields {}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    portal: PortalSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    state.auth().sign_out(&portal.session, &origin).await?;
    let cookie = cookies::clear(SESSION_COOKIE, state.settings().secure_cookies);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/sign-in?notice=signed_out"),
    )
        .into_response())
}
