//! OAuth 2.0 endpoints on the production (`/login`), sandbox (`/test`) and instance (My
//! Domain) login hosts: authorize (login + consent pages), token (authorization code with
//! PKCE, refresh token, username-password), revoke, userinfo and the identity URL.

// Handlers answer errors with a ready `Response`, so `Result<_, Response>` is by design.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::pages;
use super::tokens::{AuthCode, PendingConsent, random_string};
use crate::salesforce::generator;
use crate::salesforce::state::{Emulator, Shared};
use crate::salesforce::store::{FieldVal, RecRef, USER_TABLE};

/// Which login host a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `login.salesforce.com`.
    Production,
    /// `test.salesforce.com`.
    Sandbox,
    /// The org's own My Domain (the instance URL).
    Instance,
}

/// `/login/services/oauth2/…`.
pub async fn production(
    state: State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, Host::Production, method, uri, headers, body).await
}

/// `/test/services/oauth2/…`.
pub async fn sandbox(
    state: State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, Host::Sandbox, method, uri, headers, body).await
}

/// `/services/oauth2/…` on the instance.
pub async fn instance(
    state: State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, Host::Instance, method, uri, headers, body).await
}

async fn handle(
    State(em): State<Shared>,
    host: Host,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = uri.path().rsplit('/').next().unwrap_or("").to_owned();
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if method == Method::POST {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    match (endpoint.as_str(), &method) {
        ("authorize", &Method::GET) => authorize_page(&em, host, &params),
        ("authorize", &Method::POST) => authorize_submit(&em, host, &params),
        ("token", &Method::POST) => super::token::token(&em, host, &params, &headers),
        ("revoke", _) => super::token::revoke(&em, &params),
        ("userinfo", &Method::GET) => super::token::userinfo(&em, &headers),
        _ => oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "unknown OAuth endpoint",
            false,
        ),
    }
}

pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: &str,
    urlencoded: bool,
) -> Response {
    if urlencoded {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("error", error)
            .append_pair("error_description", description)
            .finish();
        return (
            status,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            body,
        )
            .into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

pub(super) fn environment_ok(em: &Emulator, host: Host) -> bool {
    let sandbox = em.data.read().settings.is_sandbox;
    match host {
        Host::Instance => true,
        Host::Production => !sandbox,
        Host::Sandbox => sandbox,
    }
}

/// Checks a username/password (with or without the security token appended).
pub(super) fn check_password(
    em: &Emulator,
    username: &str,
    password: &str,
) -> Result<u32, &'static str> {
    let org = em.data.read();
    let def = &org.schema.objects[USER_TABLE];
    let uf = def.field("Username").unwrap_or(0);
    let Some(&row) = org.tables[USER_TABLE]
        .unique
        .get(&uf)
        .and_then(|m| m.get(username.to_ascii_lowercase().as_str()))
    else {
        return Err("authentication failure");
    };
    let expected = generator::password_for(em.seed, row as usize);
    let token = security_token(em.seed, row);
    if password != expected && password != format!("{expected}{token}") {
        return Err("authentication failure");
    }
    let active = def.field("IsActive").map(|f| {
        org.read(
            RecRef {
                obj: USER_TABLE as u32,
                row,
            },
            f,
            0,
        )
    });
    if active != Some(FieldVal::Bool(true)) {
        return Err("inactive user");
    }
    Ok(row)
}

/// The security token of user `row` (appended to the password in the password flow).
pub fn security_token(seed: u64, row: u32) -> String {
    let p = generator::password_for(seed ^ 0x5ec7, row as usize);
    p.trim_start_matches("Cairn-").to_ascii_uppercase()
}

fn validate_client(em: &Emulator, params: &[(String, String)]) -> Result<(), Response> {
    let auth = em.auth.lock();
    let client_id = param(params, "client_id").unwrap_or("");
    if client_id != auth.client_id {
        return Err(Html(pages::error(
            "invalid_client_id",
            "client identifier invalid",
        ))
        .into_response());
    }
    let redirect = param(params, "redirect_uri").unwrap_or("");
    let allowed = if auth.callback_urls.is_empty() {
        redirect.starts_with("http://") || redirect.starts_with("https://")
    } else {
        auth.callback_urls.iter().any(|c| c == redirect)
    };
    if !allowed {
        return Err(Html(pages::error(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        ))
        .into_response());
    }
    Ok(())
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    // Salesforce answers the consent POST with 302 Found.
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{redirect_uri}{sep}{}", s.finish()),
        )],
    )
        .into_response()
}

fn authorize_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "response_type"
                    | "client_id"
                    | "redirect_uri"
                    | "scope"
                    | "state"
                    | "code_challenge"
                    | "code_challenge_method"
                    | "prompt"
                    | "login_hint"
                    | "display"
                    | "nonce"
            )
        })
        .cloned()
        .collect()
}

fn env_label(host: Host, em: &Emulator) -> &'static str {
    match host {
        Host::Production => "Production",
        Host::Sandbox => "Sandbox",
        Host::Instance if em.data.read().settings.is_sandbox => "Sandbox",
        Host::Instance => "Production",
    }
}

fn authorize_page(em: &Shared, host: Host, params: &[(String, String)]) -> Response {
    if let Err(r) = validate_client(em, params) {
        return r;
    }
    let redirect = param(params, "redirect_uri").unwrap_or("");
    let state = param(params, "state").unwrap_or("");
    if param(params, "response_type") != Some("code") {
        return redirect_with(
            redirect,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"),
                ("state", state),
            ],
        );
    }
    let org_name = em.org_name();
    Html(pages::login(
        &org_name,
        env_label(host, em),
        &authorize_params(params),
        None,
        param(params, "login_hint").unwrap_or(""),
    ))
    .into_response()
}

fn authorize_submit(em: &Shared, host: Host, params: &[(String, String)]) -> Response {
    let now = em.now();
    match param(params, "action") {
        Some("consent") => {
            let pending = param(params, "pending").unwrap_or("");
            let Some(p) = em
                .auth
                .lock()
                .pending
                .remove(pending)
                .filter(|p| p.expires > now)
            else {
                return Html(pages::error(
                    "invalid_request",
                    "the login session expired; start again",
                ))
                .into_response();
            };
            let redirect = param(&p.params, "redirect_uri").unwrap_or("").to_owned();
            let state = param(&p.params, "state").unwrap_or("").to_owned();
            if param(params, "decision") != Some("allow") {
                return redirect_with(
                    &redirect,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "end-user denied authorization"),
                        ("state", &state),
                    ],
                );
            }
            let code = em.auth.lock().new_code(AuthCode {
                user: p.user,
                client_id: param(&p.params, "client_id").unwrap_or("").to_owned(),
                redirect_uri: redirect.clone(),
                challenge: param(&p.params, "code_challenge")
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
                scope: param(&p.params, "scope")
                    .unwrap_or("api refresh_token")
                    .to_owned(),
                expires: now + 15 * 60_000,
            });
            em.touch();
            let mut pairs = vec![("code", code.as_str())];
            if !state.is_empty() {
                pairs.push(("state", &state));
            }
            redirect_with(&redirect, &pairs)
        }
        _ => {
            if let Err(r) = validate_client(em, params) {
                return r;
            }
            let username = param(params, "username").unwrap_or("");
            let password = param(params, "password").unwrap_or("");
            let checked = if environment_ok(em, host) {
                check_password(em, username, password)
            } else {
                Err("authentication failure")
            };
            let user = match checked {
                Ok(u) => u,
                Err(_) => {
                    let page = pages::login(
                        &em.org_name(),
                        env_label(host, em),
                        &authorize_params(params),
                        Some(
                            "Please check your username and password. If you still can't log in, contact your Salesforce administrator.",
                        ),
                        username,
                    );
                    return (StatusCode::OK, Html(page)).into_response();
                }
            };
            let token = random_string(
                40,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            );
            let scopes: Vec<String> = param(params, "scope")
                .unwrap_or("api refresh_token")
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            em.auth.lock().pending.insert(
                token.clone(),
                PendingConsent {
                    user,
                    params: authorize_params(params),
                    expires: now + 15 * 60_000,
                },
            );
            Html(pages::consent(&em.app_name(), username, &scopes, &token)).into_response()
        }
    }
}

pub use super::token::identity;
