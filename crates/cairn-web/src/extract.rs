//! Request extractors: who is signed in, where the request came from, CSRF-checked forms
//! and well-formed path ids. Each maps its failures to a clear [`ApiError`] (or, for
//! portal pages, a redirect to the sign-in page) so handlers only see valid input.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use cairn_domain::Account;
use cairn_domain::event::RequestOrigin;
use cairn_meta::SessionRecord;

use crate::auth::SessionCheck;
use crate::error::ApiError;
use crate::security::cookies::{self, SESSION_COOKIE};
use crate::security::csrf::{self, CsrfCookie};
use crate::security::origin::origin_of;
use crate::state::AppState;

/// The client's IP address and user agent.
#[derive(Debug, Clone)]
pub struct ClientOrigin(pub RequestOrigin);

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(origin_of(parts, state.settings().trust_forwarded_for)))
    }
}

/// The CSRF token for forms rendered in this response.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let binding = csrf::binding(&parts.headers, parts.extensions.get::<CsrfCookie>());
        // Without a binding no token can verify; an empty one makes that explicit.
        Ok(Self(
            binding
                .map(|b| state.csrf_key().token_for(&b))
                .unwrap_or_default(),
        ))
    }
}

/// A signed-in portal user. Without a valid session the request is redirected to the
/// sign-in page (which then returns here).
#[derive(Debug, Clone)]
pub struct PortalSession {
    /// The session and its user.
    pub session: SessionRecord,
    /// The user's account.
    pub account: Account,
    /// The CSRF token bound to this session, for forms on the page.
    pub csrf_token: String,
}

/// Where to send someone who needs to sign in, as a response.
fn to_sign_in(parts: &Parts, expired: bool, had_cookie: bool, secure: bool) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| *pq != "/")
        .map(|pq| {
            format!(
                "next={}",
                url::form_urlencoded::byte_serialize(pq.as_bytes()).collect::<String>()
            )
        });
    let mut query: Vec<String> = Vec::new();
    if expired {
        query.push("notice=expired".to_owned());
    }
    query.extend(next);
    let location = if query.is_empty() {
        "/sign-in".to_owned()
    } else {
        format!("/sign-in?{}", query.join("&"))
    };
    // htmx requests would swap the sign-in page into a fragment; tell htmx to navigate.
    let mut response = if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("hx-redirect", value);
        }
        response
    } else {
        Redirect::to(&location).into_response()
    };
    if had_cookie {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear(SESSION_COOKIE, secure));
    }
    response
}

impl FromRequestParts<AppState> for PortalSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secure = state.settings().secure_cookies;
        let Some(token) = cookies::read(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(to_sign_in(parts, false, false, secure));
        };
        let check = state
            .auth()
            .check_session(&token)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let session = match check {
            SessionCheck::Valid(session) => *session,
            SessionCheck::Expired => return Err(to_sign_in(parts, true, true, secure)),
            SessionCheck::Unknown => return Err(to_sign_in(parts, false, true, secure)),
        };
        let account = state
            .store()
            .account(session.user.account_id)
            .get()
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let binding = csrf::binding(&parts.headers, None).unwrap_or_default();
        Ok(Self {
            session,
            account,
            csrf_token: state.csrf_key().token_for(&binding),
        })
    }
}

/// A signed-in API caller (session cookie for now; API clients come later). Without a
/// valid session: 401 `auth.required`.
#[derive(Debug, Clone)]
pub struct ApiSession(pub SessionRecord);

impl FromRequestParts<AppState> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = cookies::read(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        match state.auth().check_session(token).await? {
            SessionCheck::Valid(session) => Ok(Self(*session)),
            SessionCheck::Expired | SessionCheck::Unknown => Err(ApiError::unauthenticated()),
        }
    }
}

/// A URL-encoded form whose CSRF token (field `csrf_token` or header `X-CSRF-Token`) has
/// been verified. Bad token: 403 `request.csrf_failed`; unreadable form: 400
/// `request.invalid_form`; too large: 413; wrong content type: 415.
#[derive(Debug, Clone)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
                "Forms must be sent as application/x-www-form-urlencoded.",
            ));
        }
        let limit = state.settings().max_body_bytes;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.body_too_large",
                format!("The form is larger than the {limit} bytes this server accepts."),
            )
        })?;
        let token = url::form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == csrf::FORM_FIELD)
            .map(|(_, value)| value.into_owned())
            .or_else(|| {
                parts
                    .headers
                    .get(csrf::HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let binding = csrf::binding(&parts.headers, parts.extensions.get::<CsrfCookie>());
        let valid = binding.is_some_and(|b| state.csrf_key().verify(&b, &token));
        if !valid {
            return Err(ApiError::csrf_failed());
        }
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(Self)
            .map_err(|e| {
                ApiError::bad_request(
                    "request.invalid_form",
                    format!("The form could not be read: {e}."),
                )
            })
    }
}

/// A path parameter that must parse (typed ids and the like); otherwise 400
/// `request.invalid_id`.
#[derive(Debug, Clone)]
pub struct IdPath<T>(pub T);

impl<T, S> FromRequestParts<S> for IdPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| {
                ApiError::bad_request("request.invalid_id", "The address contains an invalid id.")
            })
    }
}

/// A `next` parameter made safe to redirect to: a path on this site, or `/`.
#[must_use]
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && next.len() <= 512
                && !next.chars().any(|c| c.is_control() || c == '\\') =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/activity?x=1")), "/activity?x=1");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
