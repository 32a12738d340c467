//! OAuth 2 for the team-linked app: `/oauth2/authorize` (sign-in, then consent), the
//! `/oauth2/token` endpoint (`authorization_code` with optional PKCE, `refresh_token`),
//! and `auth/token/revoke`.
//!
//! Only an active team admin can complete the flow (research note §1.1). Token responses
//! carry what the official SDK reads: `access_token`, `token_type`, `expires_in`,
//! `refresh_token` for `token_access_type=offline`, `scope`, `team_id` and `uid`.
//! Refreshing does not rotate the refresh token. Errors are RFC 6749 JSON with status 400.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::Ctx;
use super::form::form_pairs;
use super::ids::{now_unix, random_token};
use super::model::MemberStatus;
use super::oauth_pages as pages;
use super::state::Shared;
use super::tokens::{APP_SCOPES, AccessToken, AuthCode, RefreshToken, TokenOp};
use super::wire::{JSON, ok};

/// The name the emulated app console shows for the app.
pub const APP_NAME: &str = "Cairn Backup";

/// Pending sign-ins live this long (seconds).
const LOGIN_TTL: i64 = 30 * 60;
/// Authorization codes live this long (seconds).
const CODE_TTL: i64 = 10 * 60;

/// Parameters of an authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    redirect_uri: Option<String>,
    state: Option<String>,
    scopes: Vec<String>,
    offline: bool,
    legacy: bool,
    challenge: Option<(String, String)>,
}

/// A sign-in in progress.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    request: AuthorizeRequest,
    created: i64,
    admin: Option<usize>,
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn param(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

fn parse_authorize(
    shared: &Shared,
    pairs: &[(String, String)],
) -> Result<AuthorizeRequest, String> {
    if param(pairs, "client_id").as_deref() != Some(shared.config.app_key.as_str()) {
        return Err("Invalid client_id: this app does not exist.".into());
    }
    if param(pairs, "response_type").as_deref() != Some("code") {
        return Err("Invalid response_type: only \"code\" is supported.".into());
    }
    let redirect_uri = param(pairs, "redirect_uri");
    if let Some(uri) = &redirect_uri
        && !(uri.starts_with("https://") || uri.starts_with("http://"))
    {
        return Err("Invalid redirect_uri: it must be an http(s) URL.".into());
    }
    let access = param(pairs, "token_access_type");
    if access
        .as_deref()
        .is_some_and(|t| !["offline", "online", "legacy"].contains(&t))
    {
        return Err("Invalid token_access_type.".into());
    }
    let scopes: Vec<String> = match param(pairs, "scope") {
        None => APP_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        Some(list) => list.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(unknown) = scopes.iter().find(|s| !APP_SCOPES.contains(&s.as_str())) {
        return Err(format!(
            "Invalid scope: \"{unknown}\" is not configured for this app."
        ));
    }
    let challenge = match param(pairs, "code_challenge") {
        None => None,
        Some(c) => {
            let method = param(pairs, "code_challenge_method").unwrap_or_else(|| "plain".into());
            if method != "S256" && method != "plain" {
                return Err("Invalid code_challenge_method.".into());
            }
            if !(43..=128).contains(&c.len()) {
                return Err("Invalid code_challenge: it must be 43 to 128 characters.".into());
            }
            Some((c, method))
        }
    };
    Ok(AuthorizeRequest {
        redirect_uri,
        state: param(pairs, "state"),
        scopes,
        offline: access.as_deref() == Some("offline"),
        legacy: access.as_deref() == Some("legacy"),
        challenge,
    })
}

/// `GET /oauth2/authorize`: validates the request and shows the sign-in page.
pub async fn authorize(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    shared.counters.record("oauth2/authorize", 200);
    let pairs = form_pairs(query.unwrap_or_default().as_bytes());
    let request = match parse_authorize(&shared, &pairs) {
        Ok(r) => r,
        Err(message) => return html(StatusCode::BAD_REQUEST, pages::error(&message)),
    };
    let id = random_token("", 24);
    let now = now_unix();
    let mut logins = shared.logins.lock();
    logins.retain(|_, l| now - l.created < LOGIN_TTL);
    logins.insert(
        id.clone(),
        PendingLogin {
            request,
            created: now,
            admin: None,
        },
    );
    drop(logins);
    let team = shared.team.read().info.name.clone();
    html(StatusCode::OK, pages::login(APP_NAME, &team, &id, "", None))
}

fn pending(shared: &Shared, id: &str) -> Option<PendingLogin> {
    shared
        .logins
        .lock()
        .get(id)
        .filter(|l| now_unix() - l.created < LOGIN_TTL)
        .cloned()
}

/// `POST /oauth2/authorize/login`: checks the admin's credentials, shows consent.
pub async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let id = param(&pairs, "request").unwrap_or_default();
    let Some(login) = pending(&shared, &id) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("This sign-in request has expired. Start again from the app."),
        );
    };
    let email = param(&pairs, "email").unwrap_or_default();
    let password = param(&pairs, "password").unwrap_or_default();
    let (team_name, found) = {
        let team = shared.team.read();
        let found = team
            .members
            .iter()
            .position(|m| m.email.eq_ignore_ascii_case(email.trim()))
            .map(|i| (i, team.members[i].clone()));
        (team.info.name.clone(), found)
    };
    let error = match &found {
        Some((_, m)) if m.password.as_deref() == Some(password.as_str()) => {
            if !m.admin || m.status != MemberStatus::Active {
                Some("Only an active team admin can link this app to the team.")
            } else {
                None
            }
        }
        Some((_, m)) if !m.admin => {
            Some("Only an active team admin can link this app to the team.")
        }
        _ => Some("The email or password is incorrect."),
    };
    if let Some(error) = error {
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(APP_NAME, &team_name, &id, &email, Some(error)),
        );
    }
    let Some((index, member)) = found else {
        return html(StatusCode::BAD_REQUEST, pages::error("Unknown member."));
    };
    if let Some(l) = shared.logins.lock().get_mut(&id) {
        l.admin = Some(index);
    }
    html(
        StatusCode::OK,
        pages::consent(
            APP_NAME,
            &team_name,
            &member.email,
            &id,
            &login.request.scopes,
        ),
    )
}

fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = url_encode_params(params);
    url.insert(0, if base.contains('?') { '&' } else { '?' });
    format!("{base}{url}")
}

fn url_encode_params(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /oauth2/authorize/decision`: Allow issues a code, Deny an `access_denied`.
pub async fn decision(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let id = param(&pairs, "request").unwrap_or_default();
    let login = shared.logins.lock().remove(&id);
    let Some(login) = login.filter(|l| l.admin.is_some() && now_unix() - l.created < LOGIN_TTL)
    else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("This sign-in request has expired. Start again from the app."),
        );
    };
    let request = login.request;
    let state = request.state.clone().unwrap_or_default();
    if param(&pairs, "decision").as_deref() != Some("allow") {
        return match &request.redirect_uri {
            Some(uri) => {
                let mut params = vec![
                    ("error", "access_denied"),
                    (
                        "error_description",
                        "The user chose not to give your app access to their Dropbox account.",
                    ),
                ];
                if !state.is_empty() {
                    params.push(("state", &state));
                }
                Redirect::to(&with_query(uri, &params)).into_response()
            }
            None => html(StatusCode::OK, pages::denied(APP_NAME)),
        };
    }
    let code = random_token("", 32);
    shared.tokens.lock().codes.insert(
        code.clone(),
        AuthCode {
            client_id: shared.config.app_key.clone(),
            redirect_uri: request.redirect_uri.clone(),
            challenge: request.challenge.clone(),
            scopes: request.scopes.clone(),
            offline: request.offline,
            long_lived: request.legacy,
            expires_at: now_unix() + CODE_TTL,
        },
    );
    match &request.redirect_uri {
        Some(uri) => {
            let mut params = vec![("code", code.as_str())];
            if !state.is_empty() {
                params.push(("state", &state));
            }
            Redirect::to(&with_query(uri, &params)).into_response()
        }
        None => html(StatusCode::OK, pages::show_code(APP_NAME, &code)),
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    let mut response = (
        StatusCode::BAD_REQUEST,
        serde_json::to_string(&json!({ "error": error, "error_description": description }))
            .unwrap_or_default(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(JSON));
    response
}

/// Client credentials from the form or HTTP Basic auth.
fn client_credentials(
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(raw) = STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(raw)
        && let Some((id, secret)) = text.split_once(':')
    {
        return (Some(id.to_owned()), Some(secret.to_owned()));
    }
    (param(pairs, "client_id"), param(pairs, "client_secret"))
}

/// `POST /oauth2/token`
pub async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = token_inner(&shared, &headers, &body);
    shared
        .counters
        .record("oauth2/token", response.status().as_u16());
    response
}

fn token_inner(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let pairs = form_pairs(body);
    let (client_id, secret) = client_credentials(headers, &pairs);
    if client_id.as_deref() != Some(shared.config.app_key.as_str()) {
        return oauth_error("invalid_client", "Invalid client_id or client_secret");
    }
    if secret
        .as_deref()
        .is_some_and(|s| s != shared.config.app_secret)
    {
        return oauth_error("invalid_client", "Invalid client_id or client_secret");
    }
    match param(&pairs, "grant_type").as_deref() {
        Some("authorization_code") => exchange_code(shared, &pairs, secret.is_some()),
        Some("refresh_token") => refresh(shared, &pairs),
        Some(other) => oauth_error(
            "unsupported_grant_type",
            &format!("grant_type \"{other}\" is not supported"),
        ),
        None => oauth_error("invalid_request", "No grant_type provided"),
    }
}

fn admin_identity(shared: &Shared) -> (String, String) {
    let team = shared.team.read();
    let uid = team.first_admin().map_or(0, |i| {
        100_000_000 + (team.seed % 1_000_000) * 100 + i as u64
    });
    (team.info.team_id.clone(), uid.to_string())
}

fn issue_access(
    shared: &Shared,
    scopes: Vec<String>,
    refresh: Option<String>,
    long_lived: bool,
) -> (String, i64) {
    let ttl = shared.config.access_token_ttl;
    let token = if long_lived {
        random_token("", 48)
    } else {
        random_token("sl.", 96)
    };
    shared.commit_token(TokenOp::Access(AccessToken {
        token: token.clone(),
        expires_at: (!long_lived).then(|| now_unix() + ttl),
        scopes,
        refresh,
        revoked: false,
    }));
    (token, ttl)
}

fn exchange_code(shared: &Shared, pairs: &[(String, String)], has_secret: bool) -> Response {
    let Some(code) = param(pairs, "code") else {
        return oauth_error("invalid_request", "No code provided");
    };
    let grant = shared.tokens.lock().codes.remove(&code);
    let Some(grant) = grant.filter(|g| now_unix() < g.expires_at) else {
        return oauth_error("invalid_grant", "code doesn't exist or has expired");
    };
    if param(pairs, "redirect_uri") != grant.redirect_uri {
        return oauth_error("invalid_grant", "redirect_uri mismatch");
    }
    match (&grant.challenge, param(pairs, "code_verifier")) {
        (Some((challenge, method)), Some(verifier)) => {
            let computed = if method == "S256" {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
            } else {
                verifier
            };
            if &computed != challenge {
                return oauth_error("invalid_grant", "invalid code verifier");
            }
        }
        (Some(_), None) if !has_secret => {
            return oauth_error("invalid_request", "No code_verifier provided");
        }
        (None, _) if !has_secret => {
            return oauth_error("invalid_client", "No client_secret provided");
        }
        _ => {}
    }
    let legacy = grant.long_lived;
    let scopes = grant.scopes;
    let refresh = grant.offline.then(|| {
        let token = random_token("", 48);
        shared.commit_token(TokenOp::Refresh(RefreshToken {
            token: token.clone(),
            scopes: scopes.clone(),
            revoked: false,
        }));
        token
    });
    let (access, ttl) = issue_access(shared, scopes.clone(), refresh.clone(), legacy);
    let (team_id, uid) = admin_identity(shared);
    let mut body = json!({
        "access_token": access,
        "token_type": "bearer",
        "scope": scopes.join(" "),
        "team_id": team_id,
        "uid": uid,
    });
    if !legacy {
        body["expires_in"] = json!(ttl);
    }
    if let Some(rt) = refresh {
        body["refresh_token"] = Value::String(rt);
    }
    ok(&body)
}

fn refresh(shared: &Shared, pairs: &[(String, String)]) -> Response {
    let Some(token) = param(pairs, "refresh_token") else {
        return oauth_error("invalid_request", "No refresh_token provided");
    };
    let granted = shared
        .tokens
        .lock()
        .refresh_token(&token)
        .map(|r| r.scopes.clone());
    let Some(granted) = granted else {
        return oauth_error("invalid_grant", "refresh token is invalid or revoked");
    };
    let scopes = match param(pairs, "scope") {
        None => granted,
        Some(asked) => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
            if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
                return oauth_error(
                    "invalid_scope",
                    &format!("scope \"{extra}\" was not granted"),
                );
            }
            asked
        }
    };
    let (access, ttl) = issue_access(shared, scopes, Some(token), false);
    ok(&json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ttl,
    }))
}

/// `auth/token/revoke`: disables the calling token and its refresh family.
#[must_use]
pub fn revoke(ctx: Ctx) -> Response {
    if let Some(token) = ctx.token.clone() {
        ctx.shared.commit_token(TokenOp::Revoke { token });
    }
    ok(&Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_queries_are_percent_encoded() {
        assert_eq!(
            with_query(
                "https://app.example/cb",
                &[("code", "a b"), ("state", "x/y")]
            ),
            "https://app.example/cb?code=a%20b&state=x%2Fy"
        );
        assert_eq!(
            with_query("https://a/cb?x=1", &[("code", "c")]),
            "https://a/cb?x=1&code=c"
        );
    }
}
