//! The token endpoint (authorization code with PKCE, refresh token with optional
//! rotation, username-password), revocation, userinfo and the identity URL.

// Handlers answer errors with a ready `Response`.
#![allow(clippy::result_large_err)]

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::http::{Host, check_password, environment_ok, oauth_error, param};
use crate::salesforce::api::bearer;
use crate::salesforce::state::{Emulator, Shared};
use crate::salesforce::store::{FieldVal, RecRef, USER_TABLE};

fn client_credentials(params: &[(String, String)], headers: &HeaderMap) -> (String, String) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        && let Some((id, secret)) = basic.split_once(':')
    {
        return (id.to_owned(), secret.to_owned());
    }
    (
        param(params, "client_id").unwrap_or("").to_owned(),
        param(params, "client_secret").unwrap_or("").to_owned(),
    )
}

pub(super) fn token(
    em: &Shared,
    host: Host,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let urlencoded = param(params, "format") == Some("urlencoded")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("x-www-form-urlencoded"));
    let fail = |e: &str, d: &str| oauth_error(StatusCode::BAD_REQUEST, e, d, urlencoded);
    let now = em.now();
    let (client_id, secret) = client_credentials(params, headers);
    {
        let auth = em.auth.lock();
        let secret_ok: bool =
            subtle::ConstantTimeEq::ct_eq(secret.as_bytes(), auth.client_secret.as_bytes()).into();
        if client_id != auth.client_id || !secret_ok {
            return fail("invalid_client", "invalid client credentials");
        }
    }
    let grant = param(params, "grant_type").unwrap_or("");
    let (user, refresh, scope) = match grant {
        "authorization_code" => {
            let code = param(params, "code").unwrap_or("");
            let Some(c) = em.auth.lock().codes.remove(code) else {
                return fail("invalid_grant", "invalid authorization code");
            };
            if c.expires < now || c.client_id != client_id {
                return fail("invalid_grant", "invalid authorization code");
            }
            if param(params, "redirect_uri").is_some_and(|r| r != c.redirect_uri) {
                return fail(
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                );
            }
            if let Some(challenge) = &c.challenge {
                let Some(verifier) = param(params, "code_verifier") else {
                    return fail("invalid_grant", "invalid code verifier");
                };
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return fail("invalid_request", "invalid code verifier");
                }
            }
            if !environment_ok(em, host) {
                return fail("invalid_grant", "authentication failure");
            }
            let wants_refresh = c
                .scope
                .split_whitespace()
                .any(|s| s == "refresh_token" || s == "offline_access" || s == "full");
            let refresh = wants_refresh.then(|| em.auth.lock().new_grant(c.user, now, &c.scope));
            (c.user, refresh, c.scope)
        }
        "refresh_token" => {
            let rt = param(params, "refresh_token").unwrap_or("");
            let grant = em.auth.lock().grants.get(rt).cloned();
            let Some(g) = grant else {
                return fail("invalid_grant", "expired access/refresh token");
            };
            if !user_active(em, g.user) {
                return fail("invalid_grant", "inactive user");
            }
            let rotated = {
                let mut auth = em.auth.lock();
                if auth.rotate_refresh_tokens {
                    auth.grants.remove(rt);
                    Some(auth.new_grant(g.user, now, &g.scope))
                } else {
                    None
                }
            };
            let session_refresh = rotated.clone().unwrap_or_else(|| rt.to_owned());
            let out = issue(
                em,
                host,
                g.user,
                Some(session_refresh),
                &g.scope,
                rotated,
                urlencoded,
            );
            em.touch();
            return out;
        }
        "password" => {
            let username = param(params, "username").unwrap_or("");
            let password = param(params, "password").unwrap_or("");
            if !environment_ok(em, host) {
                return fail("invalid_grant", "authentication failure");
            }
            match check_password(em, username, password) {
                Ok(u) => (u, None, "api web full".to_owned()),
                Err(msg) => return fail("invalid_grant", msg),
            }
        }
        "" => return fail("invalid_request", "grant type not specified"),
        _ => return fail("unsupported_grant_type", "grant type not supported"),
    };
    let out = issue(em, host, user, refresh.clone(), &scope, refresh, urlencoded);
    em.touch();
    out
}

fn user_active(em: &Emulator, user: u32) -> bool {
    let org = em.data.read();
    org.schema.objects[USER_TABLE].field("IsActive").map(|f| {
        org.read(
            RecRef {
                obj: USER_TABLE as u32,
                row: user,
            },
            f,
            0,
        )
    }) == Some(FieldVal::Bool(true))
}

/// Mints a session and writes the token response.
fn issue(
    em: &Emulator,
    host: Host,
    user: u32,
    session_refresh: Option<String>,
    scope: &str,
    refresh_out: Option<String>,
    urlencoded: bool,
) -> Response {
    let now = em.now();
    let (org15, id_url) = {
        let org = em.data.read();
        let sandbox = org.settings.is_sandbox;
        let base = match host {
            Host::Instance => em.login_base(sandbox),
            Host::Production => em.login_base(false),
            Host::Sandbox => em.login_base(true),
        };
        let uid = org.id_of(RecRef {
            obj: USER_TABLE as u32,
            row: user,
        });
        (
            org.org_id[..15].to_owned(),
            format!("{base}/id/{}/{uid}", org.org_id),
        )
    };
    let access = em
        .auth
        .lock()
        .new_session(&org15, user, now, session_refresh, scope);
    let issued_at = now.to_string();
    let signature = em.auth.lock().signature(&id_url, &issued_at);
    let mut pairs: Vec<(&str, String)> = vec![("access_token", access)];
    if let Some(r) = refresh_out {
        pairs.push(("refresh_token", r));
    }
    pairs.extend([
        ("signature", signature),
        ("scope", scope.to_owned()),
        ("instance_url", em.base_url.clone()),
        ("id", id_url),
        ("token_type", "Bearer".to_owned()),
        ("issued_at", issued_at),
    ]);
    if urlencoded {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            s.append_pair(k, v);
        }
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            s.finish(),
        )
            .into_response();
    }
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.to_owned(), Json::String(v));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        Json::Object(m).to_string(),
    )
        .into_response()
}

pub(super) fn revoke(em: &Shared, params: &[(String, String)]) -> Response {
    let Some(token) = param(params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "this token type is not supported",
            false,
        );
    };
    if em.auth.lock().revoke(token) {
        em.touch();
        StatusCode::OK.into_response()
    } else {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "invalid token",
            false,
        )
    }
}

fn identity_json(em: &Emulator, user: u32) -> Json {
    let org = em.data.read();
    let def = &org.schema.objects[USER_TABLE];
    let r = RecRef {
        obj: USER_TABLE as u32,
        row: user,
    };
    let get = |f: &str| -> Json {
        match def.field(f).map(|fi| org.read(r, fi, 0)) {
            Some(FieldVal::Str(s)) => Json::String(s.to_owned()),
            Some(FieldVal::Owned(s)) => Json::String(s),
            Some(FieldVal::Bool(b)) => Json::Bool(b),
            _ => Json::Null,
        }
    };
    let uid = org.id_of(r);
    let base = &em.base_url;
    let v = "{version}";
    json!({
        "id": format!("{}/id/{}/{uid}", em.login_base(org.settings.is_sandbox), org.org_id),
        "asserted_user": true,
        "user_id": uid,
        "organization_id": org.org_id,
        "username": get("Username"),
        "nick_name": get("Alias"),
        "display_name": get("Name"),
        "email": get("Email"),
        "email_verified": true,
        "first_name": get("FirstName"),
        "last_name": get("LastName"),
        "timezone": get("TimeZoneSidKey"),
        "active": get("IsActive"),
        "user_type": "STANDARD",
        "language": get("LanguageLocaleKey"),
        "locale": get("LocaleSidKey"),
        "utcOffset": 0,
        "urls": {
            "enterprise": format!("{base}/services/Soap/c/{v}/{}", org.org_id),
            "metadata": format!("{base}/services/Soap/m/{v}/{}", org.org_id),
            "partner": format!("{base}/services/Soap/u/{v}/{}", org.org_id),
            "rest": format!("{base}/services/data/v{v}/"),
            "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
            "query": format!("{base}/services/data/v{v}/query/"),
            "tooling_rest": format!("{base}/services/data/v{v}/tooling/"),
            "profile": format!("{base}/{uid}"),
            "custom_domain": base,
        },
    })
}

pub(super) fn userinfo(em: &Shared, headers: &HeaderMap) -> Response {
    match crate::salesforce::api::authenticate(em, bearer(headers), em.now()) {
        Ok(user) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            identity_json(em, user).to_string(),
        )
            .into_response(),
        Err(_) => (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response(),
    }
}

/// `GET /id/{org}/{user}` (on any login host): the identity URL.
pub async fn identity(
    State(em): State<Shared>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(caller) = crate::salesforce::api::authenticate(&em, bearer(&headers), em.now()) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let target = {
        let data = em.data.read();
        if !org.starts_with(&data.org_id[..15]) {
            None
        } else {
            data.resolve_id(&user)
                .ok()
                .filter(|r| r.obj as usize == USER_TABLE)
                .map(|r| r.row)
        }
    };
    match target {
        Some(u) if u == caller || caller == 0 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            identity_json(&em, u).to_string(),
        )
            .into_response(),
        Some(_) => (StatusCode::FORBIDDEN, "Forbidden").into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
