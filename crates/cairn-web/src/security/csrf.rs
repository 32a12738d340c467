//! Cross-site request forgery protection for every state-changing form.
//!
//! Tokens are signed and bound, not stored: a form's token is
//! `HMAC-SHA256(instance key, binding)`, where the binding is the session cookie when the
//! browser has one, and otherwise the random `cairn_csrf` cookie every portal response
//! makes sure exists. A forged cross-site request cannot read either cookie (HttpOnly,
//! SameSite=Lax), so it cannot produce the token; binding to the session also means a
//! token obtained before sign-in is useless after it. The key is an instance secret kept
//! in the meta store, so every replica accepts every other replica's tokens.

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::cookies::{self, CSRF_COOKIE, SESSION_COOKIE};
use super::tokens;

/// The form field carrying the token.
pub const FORM_FIELD: &str = "csrf_token";
/// The header carrying the token on htmx requests.
pub const HEADER: &str = "x-csrf-token";
/// The name of the instance secret holding the key.
pub const SECRET_NAME: &str = "csrf-hmac-v1";

/// The signing key.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

impl CsrfKey {
    /// A key from stored bytes; `None` unless exactly 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The token for `binding`.
    #[must_use]
    pub fn token_for(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(binding))
    }

    /// Whether `token` is the token for `binding` (constant-time).
    #[must_use]
    pub fn verify(&self, binding: &str, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        bool::from(given.ct_eq(&self.mac(binding)))
    }

    fn mac(&self, binding: &str) -> Vec<u8> {
        // `new_from_slice` only fails for key lengths HMAC cannot take; 32 bytes is fine.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return Vec::new(),
        };
        mac.update(b"cairn-csrf-v1\0");
        mac.update(binding.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// The `cairn_csrf` cookie value for this request (existing or just issued), put in the
/// request's extensions by [`ensure_cookie`].
#[derive(Debug, Clone)]
pub struct CsrfCookie(pub String);

/// What a request's CSRF tokens are bound to: its session cookie if it has a well-formed
/// one, else its `cairn_csrf` cookie.
#[must_use]
pub fn binding(headers: &HeaderMap, csrf_cookie: Option<&CsrfCookie>) -> Option<String> {
    if let Some(session) = cookies::read(headers, SESSION_COOKIE)
        && tokens::looks_valid(session)
    {
        return Some(format!("session:{session}"));
    }
    csrf_cookie
        .map(|c| c.0.clone())
        .or_else(|| cookies::read(headers, CSRF_COOKIE).map(str::to_owned))
        .filter(|value| tokens::looks_valid(value))
        .map(|value| format!("anon:{value}"))
}

/// Middleware: makes sure the browser has a `cairn_csrf` cookie, so the anonymous forms
/// (sign-in, sign-up, password reset) can carry a token.
pub async fn ensure_cookie(secure: bool, mut request: Request, next: Next) -> Response {
    let existing = cookies::read(request.headers(), CSRF_COOKIE)
        .filter(|value| tokens::looks_valid(value))
        .map(str::to_owned);
    let (value, fresh) = match existing {
        Some(value) => (value, false),
        None => (tokens::issue().token, true),
    };
    request.extensions_mut().insert(CsrfCookie(value.clone()));
    let mut response = next.run(request).await;
    if fresh {
        const ONE_YEAR: i64 = 365 * 24 * 3600;
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(CSRF_COOKIE, &value, ONE_YEAR, secure),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key() -> CsrfKey {
        CsrfKey::from_bytes(&[7; 32]).unwrap()
    }

    #[test]
    fn tokens_verify_only_for_their_binding() {
        let key = key();
        let token = key.token_for("anon:abc");
        assert!(key.verify("anon:abc", &token));
        assert!(!key.verify("anon:abd", &token));
        assert!(!key.verify("anon:abc", "not base64 !"));
        assert!(!key.verify("anon:abc", ""));
        let other = CsrfKey::from_bytes(&[8; 32]).unwrap();
        assert!(!other.verify("anon:abc", &token));
        assert!(CsrfKey::from_bytes(&[1; 31]).is_none());
    }

    #[test]
    fn the_session_cookie_takes_precedence() {
        let session = tokens::issue().token;
        let anon = tokens::issue().token;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={anon}")).unwrap(),
        );
        assert_eq!(binding(&headers, None), Some(format!("anon:{anon}")));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={anon}; {SESSION_COOKIE}={session}"))
                .unwrap(),
        );
        assert_eq!(binding(&headers, None), Some(format!("session:{session}")));
        // Malformed cookies bind nothing.
        let mut junk = HeaderMap::new();
        junk.insert(header::COOKIE, HeaderValue::from_static("cairn_csrf=x"));
        assert_eq!(binding(&junk, None), None);
        assert_eq!(
            binding(&junk, Some(&CsrfCookie(anon.clone()))),
            Some(format!("anon:{anon}"))
        );
    }
}
