//! Sessions and grants: access tokens, refresh tokens, authorization codes, and the
//! connected app they belong to.
//!
//! Access tokens have no fixed lifetime (the token response carries no `expires_in`); a
//! session expires after the org's session timeout of inactivity, when revoked, when its
//! refresh token is revoked, or when its user is deactivated — each surfacing as
//! `INVALID_SESSION_ID`.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// An access token's session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// User row.
    pub user: u32,
    /// Issued at (ms).
    pub issued: i64,
    /// Last used (ms); inactivity longer than the session timeout expires the session.
    pub last_used: i64,
    /// The refresh token it was minted from, if any.
    pub refresh: Option<String>,
    /// Scopes granted.
    pub scope: String,
}

/// A refresh token's grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    /// User row.
    pub user: u32,
    /// Issued at (ms).
    pub issued: i64,
    /// Scopes granted.
    pub scope: String,
}

/// A pending authorization code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    /// User row.
    pub user: u32,
    /// Client id it was issued to.
    pub client_id: String,
    /// Redirect URI it was issued for.
    pub redirect_uri: String,
    /// PKCE challenge (S256), if sent.
    pub challenge: Option<String>,
    /// Scopes granted.
    pub scope: String,
    /// Expiry (ms).
    pub expires: i64,
}

/// All sessions and grants of the org, plus the connected app.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthState {
    /// Connected app consumer key.
    pub client_id: String,
    /// Connected app consumer secret.
    pub client_secret: String,
    /// Allowed callback URLs (empty: any `http(s)` URL is accepted).
    pub callback_urls: Vec<String>,
    /// Refresh-token rotation: each refresh returns a new refresh token and retires the old.
    pub rotate_refresh_tokens: bool,
    /// Session timeout (ms of inactivity).
    pub session_timeout_ms: i64,
    /// Access tokens.
    pub sessions: HashMap<String, Session>,
    /// Refresh tokens.
    pub grants: HashMap<String, Grant>,
    /// Authorization codes.
    pub codes: HashMap<String, AuthCode>,
    /// The token printed at start-up for the admin.
    pub ready_token: String,
    /// Logins waiting for the consent decision (not persisted).
    #[serde(skip)]
    pub pending: HashMap<String, PendingConsent>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens and the consumer secret are credentials: never in logs.
        f.debug_struct("AuthState")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("sessions", &self.sessions.len())
            .field("grants", &self.grants.len())
            .field("codes", &self.codes.len())
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .finish_non_exhaustive()
    }
}

/// A successful login waiting for Allow / Deny.
#[derive(Debug, Clone)]
pub struct PendingConsent {
    /// User row.
    pub user: u32,
    /// The authorize request parameters.
    pub params: Vec<(String, String)>,
    /// Expiry (ms).
    pub expires: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// Unknown, revoked or expired.
    Invalid,
}

/// `n` random characters from `alphabet`.
pub fn random_string(n: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; n];
    // The OS RNG failing is not recoverable here; fall back to a time-seeded stream so the
    // emulator still works (tokens are test credentials, not production secrets).
    if getrandom::fill(&mut bytes).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        crate::salesforce::rng::Rng::new(seed).fill(&mut bytes);
    }
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl AuthState {
    /// A fresh connected app with no sessions.
    pub fn new(callback_urls: Vec<String>) -> Self {
        Self {
            client_id: format!("3MVG9{}", random_string(80, ALNUM)),
            client_secret: random_string(64, b"0123456789ABCDEF"),
            callback_urls,
            rotate_refresh_tokens: false,
            session_timeout_ms: 2 * 3_600_000,
            sessions: HashMap::new(),
            grants: HashMap::new(),
            codes: HashMap::new(),
            ready_token: String::new(),
            pending: HashMap::new(),
        }
    }

    /// Mints an access token for `user` of org `org_id15`.
    pub fn new_session(
        &mut self,
        org_id15: &str,
        user: u32,
        now: i64,
        refresh: Option<String>,
        scope: &str,
    ) -> String {
        let token = format!("{org_id15}!AQ{}", random_string(94, TOKEN_CHARS));
        self.sessions.insert(
            token.clone(),
            Session {
                user,
                issued: now,
                last_used: now,
                refresh,
                scope: scope.to_owned(),
            },
        );
        token
    }

    /// Mints a refresh token.
    pub fn new_grant(&mut self, user: u32, now: i64, scope: &str) -> String {
        let token = format!("5Aep861{}", random_string(80, TOKEN_CHARS));
        self.grants.insert(
            token.clone(),
            Grant {
                user,
                issued: now,
                scope: scope.to_owned(),
            },
        );
        token
    }

    /// Mints an authorization code (valid 15 minutes).
    pub fn new_code(&mut self, code: AuthCode) -> String {
        let value = format!("aPrx{}==", random_string(84, ALNUM));
        self.codes.insert(value.clone(), code);
        value
    }

    /// Validates an access token and records its use; returns the session's user.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] for unknown, revoked or idle-expired tokens.
    pub fn touch(&mut self, token: &str, now: i64) -> Result<u32, SessionError> {
        let timeout = self.session_timeout_ms;
        let s = self.sessions.get_mut(token).ok_or(SessionError::Invalid)?;
        if now - s.last_used > timeout {
            self.sessions.remove(token);
            return Err(SessionError::Invalid);
        }
        s.last_used = now;
        Ok(s.user)
    }

    /// Revokes an access or refresh token (a refresh token takes its sessions with it).
    /// Returns whether the token existed.
    pub fn revoke(&mut self, token: &str) -> bool {
        if self.sessions.remove(token).is_some() {
            return true;
        }
        if self.grants.remove(token).is_some() {
            self.sessions
                .retain(|_, s| s.refresh.as_deref() != Some(token));
            return true;
        }
        false
    }

    /// Ends every session (not grants): the next call with any access token gets
    /// `INVALID_SESSION_ID`, and clients must refresh.
    pub fn expire_all_sessions(&mut self) -> usize {
        let n = self.sessions.len();
        self.sessions.clear();
        n
    }

    /// Drops every session and grant of `user` (deactivated users lose access).
    pub fn drop_user(&mut self, user: u32) {
        self.sessions.retain(|_, s| s.user != user);
        self.grants.retain(|_, g| g.user != user);
    }

    /// The `signature` of a token response: base64(HMAC-SHA256(client_secret, id + issued_at)).
    pub fn signature(&self, id_url: &str, issued_at: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.client_secret.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(id_url.as_bytes());
        mac.update(issued_at.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_after_inactivity_and_revocation_cascades() {
        let mut a = AuthState::new(vec![]);
        let grant = a.new_grant(3, 0, "api refresh_token");
        let t = a.new_session("00DKx0000000001", 3, 0, Some(grant.clone()), "api");
        assert!(t.starts_with("00DKx0000000001!"));
        assert_eq!(a.touch(&t, 1000), Ok(3));
        assert_eq!(
            a.touch(&t, 1000 + a.session_timeout_ms),
            Ok(3),
            "activity extends it"
        );
        assert!(a.touch(&t, 2001 + 2 * a.session_timeout_ms).is_err());
        let t2 = a.new_session("00DKx0000000001", 3, 0, Some(grant.clone()), "api");
        assert!(a.revoke(&grant));
        assert!(
            a.touch(&t2, 1).is_err(),
            "revoking the refresh token ends its sessions"
        );
        assert!(!a.revoke("nope"));
    }

    #[test]
    fn signature_is_hmac_of_id_and_issued_at() {
        let mut a = AuthState::new(vec![]);
        a.client_secret = "secret".into();
        // HMAC-SHA256("secret", "https://x/id/00D/005" + "1700000000000"), computed independently.
        let sig = a.signature("https://x/id/00D/005", "1700000000000");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"https://x/id/00D/0051700000000000");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(sig, expected);
    }
}
