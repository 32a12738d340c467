//! Forgotten password (`/password/forgot`, `/password/reset`) and change password
//! (`/account/password`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::chrome::{Chrome, Section};
use super::{Link, MessagePage, render};
use crate::auth::{ChangePasswordInput, FormErrors, FormFailure, ResetOutcome};
use crate::error::ApiError;
use crate::extract::{ClientOrigin, CsrfForm, CsrfToken, PortalSession};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    csrf_token: String,
    email: String,
    errors: FormErrors,
}

pub(crate) async fn forgot_page(CsrfToken(csrf_token): CsrfToken) -> Result<Response, ApiError> {
    render(
        StatusCode::OK,
        &ForgotPage {
            csrf_token,
            email: String::new(),
            errors: FormErrors::default(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub(crate) async fn forgot_submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    CsrfToken(csrf_token): CsrfToken,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, ApiError> {
    match state
        .auth()
        .request_password_reset(&form.email, &origin)
        .await
    {
        Ok(()) => Ok(Redirect::to("/password/forgot/sent").into_response()),
        Err(FormFailure::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                csrf_token,
                email: form.email.chars().take(254).collect(),
                errors,
            },
        ),
        Err(FormFailure::Failed(error)) => Err(error.into()),
    }
}

pub(crate) async fn forgot_sent(State(state): State<AppState>) -> Result<Response, ApiError> {
    let minutes = state.settings().auth.reset_link_minutes;
    render(StatusCode::OK,
        &MessagePage {
            title: "Check your inbox",
            paragraphs: vec![
                "If an account uses that email address, we have sent it a link to choose a new password.".to_owned(),
                format!("The link expires in {minutes} minutes."),
            ],
            links: vec![Link { label: "Sign in", href: "/sign-in" }],
            demo: state.settings().demo,
        },
    )
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    csrf_token: String,
    token: String,
    email: String,
    password_hint: String,
    errors: FormErrors,
}

fn invalid_link() -> Result<Response, ApiError> {
    render(
        StatusCode::BAD_REQUEST,
        &MessagePage {
            title: "This reset link does not work",
            paragraphs: vec![
                "The link is incomplete, has already been used, or has expired.".to_owned(),
                "Ask for a new link and use the newest email you receive.".to_owned(),
            ],
            links: vec![
                Link {
                    label: "Get a new link",
                    href: "/password/forgot",
                },
                Link {
                    label: "Sign in",
                    href: "/sign-in",
                },
            ],
            demo: false,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub(crate) async fn reset_page(
    State(state): State<AppState>,
    CsrfToken(csrf_token): CsrfToken,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let Some(user) = state.auth().reset_link_user(&query.token).await? else {
        return invalid_link();
    };
    render(
        StatusCode::OK,
        &ResetPage {
            csrf_token,
            token: query.token,
            email: user.email.to_string(),
            password_hint: state.settings().auth.password_policy().describe(),
            errors: FormErrors::default(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub(crate) async fn reset_submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    CsrfToken(csrf_token): CsrfToken,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, ApiError> {
    let auth = state.auth();
    match auth
        .reset_password(&form.token, &form.password, &form.password_confirm, &origin)
        .await?
    {
        ResetOutcome::Reset(_) => {
            Ok(Redirect::to("/sign-in?notice=password_reset").into_response())
        }
        ResetOutcome::InvalidLink => invalid_link(),
        ResetOutcome::Invalid(errors) => {
            let Some(user) = auth.reset_link_user(&form.token).await? else {
                return invalid_link();
            };
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    csrf_token,
                    token: form.token,
                    email: user.email.to_string(),
                    password_hint: state.settings().auth.password_policy().describe(),
                    errors,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct ChangePage {
    chrome: Chrome,
    password_hint: String,
    errors: FormErrors,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

pub(crate) async fn change_page(
    State(state): State<AppState>,
    portal: PortalSession,
    Query(query): Query<SavedQuery>,
) -> Result<Response, ApiError> {
    render(
        StatusCode::OK,
        &ChangePage {
            chrome: Chrome::new(&state, &portal, Section::Account),
            password_hint: state.settings().auth.password_policy().describe(),
            errors: FormErrors::default(),
            saved: query.saved.is_some(),
        },
    )
}

pub(crate) async fn change_submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    portal: PortalSession,
    CsrfForm(input): CsrfForm<ChangePasswordInput>,
) -> Result<Response, ApiError> {
    match state
        .auth()
        .change_password(&portal.session, &input, &origin)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/password?saved=1").into_response()),
        Err(FormFailure::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ChangePage {
                chrome: Chrome::new(&state, &portal, Section::Account),
                password_hint: state.settings().auth.password_policy().describe(),
                errors,
                saved: false,
            },
        ),
        Err(FormFailure::Failed(error)) => Err(error.into()),
    }
}
