//! `/sign-up`, the "check your inbox" page and `/activate`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Link, MessagePage, render};
use crate::auth::{FormErrors, FormFailure, SignUpInput};
use crate::error::ApiError;
use crate::extract::{ClientOrigin, CsrfForm, CsrfToken};
use crate::state::AppState;

pub(crate) struct RegionChoice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    csrf_token: String,
    name: String,
    email: String,
    regions: Vec<RegionChoice>,
    password_hint: String,
    errors: FormErrors,
}

fn form_page(
    state: &AppState,
    csrf_token: String,
    input: &SignUpInput,
    errors: FormErrors,
) -> SignUpPage {
    let regions = state
        .settings()
        .regions
        .iter()
        .map(|region| RegionChoice {
            code: region.code.to_string(),
            name: region.name.clone(),
            selected: region.code.as_str() == input.region,
        })
        .collect();
    SignUpPage {
        csrf_token,
        name: input.name.chars().take(200).collect(),
        email: input.email.chars().take(254).collect(),
        regions,
        password_hint: state.settings().auth.password_policy().describe(),
        errors,
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    CsrfToken(csrf_token): CsrfToken,
) -> Result<Response, ApiError> {
    render(
        StatusCode::OK,
        &form_page(
            &state,
            csrf_token,
            &SignUpInput::default(),
            FormErrors::default(),
        ),
    )
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    CsrfToken(csrf_token): CsrfToken,
    CsrfForm(input): CsrfForm<SignUpInput>,
) -> Result<Response, ApiError> {
    match state.auth().sign_up(&input, &origin).await {
        Ok(()) => Ok(Redirect::to("/sign-up/check-email").into_response()),
        Err(FormFailure::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&state, csrf_token, &input, errors),
        ),
        Err(FormFailure::Failed(error)) => Err(error.into()),
    }
}

pub(crate) async fn check_email(State(state): State<AppState>) -> Result<Response, ApiError> {
    let hours = state.settings().auth.activation_link_hours;
    render(StatusCode::OK,
        &MessagePage {
            title: "Check your inbox",
            paragraphs: vec![
                "We have sent an email to the address you entered. Open the link in it to activate your account.".to_owned(),
                format!("The link expires in {hours} hours. Nothing arrived? Check your spam folder, or sign up again to get a new link."),
            ],
            links: vec![Link { label: "Sign in", href: "/sign-in" }],
            demo: state.settings().demo,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub(crate) async fn activate(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    match state.auth().activate(&query.token, &origin).await? {
        Some(_) => Ok(Redirect::to("/sign-in?notice=activated").into_response()),
        None => render(StatusCode::BAD_REQUEST,
            &MessagePage {
                title: "This activation link does not work",
                paragraphs: vec![
                    "The link is incomplete, has already been used, or has expired.".to_owned(),
                    "If your account is already active, just sign in. Otherwise sign up again with the same email address to get a new link.".to_owned(),
                ],
                links: vec![
                    Link { label: "Sign in", href: "/sign-in" },
                    Link { label: "Sign up", href: "/sign-up" },
                ],
                demo: false,
            },
        ),
    }
}
