//! Reading and writing the two cookies the portal uses.
//!
//! - `cairn_session`: the session token. `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
//!   when the portal is served over HTTPS, `Max-Age` = the session's absolute lifetime.
//! - `cairn_csrf`: a random value that anonymous forms' CSRF tokens are bound to. Same
//!   attributes; it lives for a year.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cairn_session";
/// The CSRF binding cookie's name.
pub const CSRF_COOKIE: &str = "cairn_csrf";

/// The value of cookie `name` in the request, if present (first occurrence wins).
#[must_use]
pub fn read<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A `Set-Cookie` value that sets `name` for `max_age_seconds`.
#[must_use]
pub fn set(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}"
    );
    // Names and values are our own base64url tokens: always valid header text.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes `name`.
#[must_use]
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_named_cookies_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; cairn_session=tok; b=2"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("cairn_csrf=\"quoted\""),
        );
        assert_eq!(read(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(read(&headers, CSRF_COOKIE), Some("quoted"));
        assert_eq!(read(&headers, "missing"), None);
        assert_eq!(read(&headers, "cairn"), None);
    }

    #[test]
    fn set_cookie_has_the_security_attributes() {
        let value = set(SESSION_COOKIE, "abc", 3600, true);
        let text = value.to_str().unwrap();
        for part in [
            "cairn_session=abc",
            "Path=/",
            "Max-Age=3600",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        let plain = set(SESSION_COOKIE, "abc", 3600, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
        assert!(
            clear(CSRF_COOKIE, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}
