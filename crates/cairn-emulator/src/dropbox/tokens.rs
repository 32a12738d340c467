//! OAuth tokens: short-lived access tokens, refresh tokens, authorization codes.
//!
//! Every token here is a *team* token (the emulated app is team-linked). Access tokens
//! issued by `/oauth2/token` expire after the configured lifetime (14400 s by default, as
//! observed on Dropbox) and carry `sl.`; refresh tokens never expire and are not rotated.
//! The console token printed at start-up is long-lived. Revoking an access token also
//! revokes its refresh token and every access token minted from it (spec of
//! `auth/token/revoke`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Every scope the emulated app is configured with (granted when none are requested).
pub const APP_SCOPES: [&str; 15] = [
    "account_info.read",
    "files.metadata.read",
    "files.metadata.write",
    "files.content.read",
    "files.content.write",
    "files.permanent_delete",
    "sharing.read",
    "sharing.write",
    "team_info.read",
    "team_data.member",
    "team_data.content.read",
    "team_data.content.write",
    "team_data.team_space",
    "members.read",
    "groups.read",
];

/// An access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer string.
    pub token: String,
    /// Unix seconds; `None` for long-lived tokens.
    pub expires_at: Option<i64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The refresh token it was minted from.
    pub refresh: Option<String>,
    /// Revoked tokens answer `invalid_access_token`.
    pub revoked: bool,
}

/// A refresh token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshToken {
    /// The token string.
    pub token: String,
    /// Scopes granted at authorization.
    pub scopes: Vec<String>,
    /// Revoked tokens answer `invalid_grant`.
    pub revoked: bool,
}

/// An authorization code waiting to be exchanged (not persisted: codes live minutes).
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// App key it was issued to.
    pub client_id: String,
    /// `redirect_uri` given to `/oauth2/authorize`, which the exchange must repeat.
    pub redirect_uri: Option<String>,
    /// PKCE challenge and method.
    pub challenge: Option<(String, String)>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `offline` gets a refresh token.
    pub offline: bool,
    /// `legacy` gets a long-lived access token.
    pub long_lived: bool,
    /// Unix seconds after which the code is refused.
    pub expires_at: i64,
}

/// A change to the token store, as journaled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TokenOp {
    /// A new access token.
    Access(AccessToken),
    /// A new refresh token.
    Refresh(RefreshToken),
    /// Revoke an access token and its refresh family.
    Revoke {
        /// The access token.
        token: String,
    },
    /// Make every expiring access token expire at `at`.
    ExpireAll {
        /// Unix seconds.
        at: i64,
    },
    /// Revoke every token except the console token.
    RevokeAll,
}

/// What checking a bearer token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Usable.
    Valid,
    /// Past its expiry: `expired_access_token`.
    Expired,
    /// Unknown or revoked: `invalid_access_token`.
    Invalid,
}

/// All tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    /// Pending authorization codes.
    pub codes: HashMap<String, AuthCode>,
    console: Option<String>,
}

impl TokenStore {
    /// A store holding the long-lived console token.
    #[must_use]
    pub fn with_console_token(token: &str) -> Self {
        let mut store = Self::default();
        store.access.insert(
            token.to_owned(),
            AccessToken {
                token: token.to_owned(),
                expires_at: None,
                scopes: APP_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                refresh: None,
                revoked: false,
            },
        );
        store.console = Some(token.to_owned());
        store
    }

    /// Applies a journaled change.
    pub fn apply(&mut self, op: &TokenOp) {
        match op {
            TokenOp::Access(t) => {
                self.access.insert(t.token.clone(), t.clone());
            }
            TokenOp::Refresh(t) => {
                self.refresh.insert(t.token.clone(), t.clone());
            }
            TokenOp::Revoke { token } => {
                let family = self.access.get(token).and_then(|t| t.refresh.clone());
                if let Some(t) = self.access.get_mut(token) {
                    t.revoked = true;
                }
                if let Some(rt) = family {
                    if let Some(r) = self.refresh.get_mut(&rt) {
                        r.revoked = true;
                    }
                    for t in self.access.values_mut() {
                        if t.refresh.as_deref() == Some(rt.as_str()) {
                            t.revoked = true;
                        }
                    }
                }
            }
            TokenOp::ExpireAll { at } => {
                for t in self.access.values_mut() {
                    if let Some(exp) = &mut t.expires_at {
                        *exp = (*exp).min(*at);
                    }
                }
            }
            TokenOp::RevokeAll => {
                let console = self.console.clone();
                for t in self.access.values_mut() {
                    if Some(&t.token) != console.as_ref() {
                        t.revoked = true;
                    }
                }
                for r in self.refresh.values_mut() {
                    r.revoked = true;
                }
            }
        }
    }

    /// Checks a bearer token at time `now`; returns its scopes when valid.
    #[must_use]
    pub fn check(&self, token: &str, now: i64) -> (TokenState, Vec<String>) {
        match self.access.get(token) {
            None => (TokenState::Invalid, Vec::new()),
            Some(t) if t.revoked => (TokenState::Invalid, Vec::new()),
            Some(t) if t.expires_at.is_some_and(|e| now >= e) => (TokenState::Expired, Vec::new()),
            Some(t) => (TokenState::Valid, t.scopes.clone()),
        }
    }

    /// A usable refresh token.
    #[must_use]
    pub fn refresh_token(&self, token: &str) -> Option<&RefreshToken> {
        self.refresh.get(token).filter(|r| !r.revoked)
    }

    /// The store's state as journal entries (the console token excluded): what a reset
    /// journal keeps.
    #[must_use]
    pub fn journal_entries(&self) -> Vec<super::persist::Entry> {
        let mut out: Vec<super::persist::Entry> = self
            .refresh
            .values()
            .map(|r| super::persist::Entry::Token(TokenOp::Refresh(r.clone())))
            .collect();
        out.extend(
            self.access
                .values()
                .filter(|t| Some(&t.token) != self.console.as_ref())
                .map(|t| super::persist::Entry::Token(TokenOp::Access(t.clone()))),
        );
        out
    }

    /// Number of live (unrevoked, unexpired) access tokens, for the info endpoint.
    #[must_use]
    pub fn live_access_tokens(&self, now: i64) -> usize {
        self.access
            .values()
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|e| now < e))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(token: &str, refresh: Option<&str>, expires_at: Option<i64>) -> TokenOp {
        TokenOp::Access(AccessToken {
            token: token.into(),
            expires_at,
            scopes: vec!["files.metadata.read".into()],
            refresh: refresh.map(Into::into),
            revoked: false,
        })
    }

    #[test]
    fn expiry_and_revocation_are_reported_distinctly() {
        let mut store = TokenStore::with_console_token("console");
        store.apply(&access("a", None, Some(100)));
        assert_eq!(store.check("a", 99).0, TokenState::Valid);
        assert_eq!(store.check("a", 100).0, TokenState::Expired);
        assert_eq!(store.check("nope", 0).0, TokenState::Invalid);
        store.apply(&TokenOp::Revoke { token: "a".into() });
        assert_eq!(store.check("a", 0).0, TokenState::Invalid);
        assert_eq!(store.check("console", i64::MAX).0, TokenState::Valid);
    }

    #[test]
    fn revoking_one_token_revokes_its_refresh_family() {
        let mut store = TokenStore::default();
        store.apply(&TokenOp::Refresh(RefreshToken {
            token: "r".into(),
            scopes: vec![],
            revoked: false,
        }));
        store.apply(&access("a1", Some("r"), Some(1000)));
        store.apply(&access("a2", Some("r"), Some(1000)));
        store.apply(&access("other", None, Some(1000)));
        store.apply(&TokenOp::Revoke { token: "a1".into() });
        assert_eq!(store.check("a2", 0).0, TokenState::Invalid);
        assert!(store.refresh_token("r").is_none());
        assert_eq!(store.check("other", 0).0, TokenState::Valid);
    }

    #[test]
    fn expire_all_spares_long_lived_tokens() {
        let mut store = TokenStore::with_console_token("console");
        store.apply(&access("a", None, Some(10_000)));
        store.apply(&TokenOp::ExpireAll { at: 50 });
        assert_eq!(store.check("a", 60).0, TokenState::Expired);
        assert_eq!(store.check("console", 60).0, TokenState::Valid);
        store.apply(&TokenOp::RevokeAll);
        assert_eq!(store.check("console", 60).0, TokenState::Valid);
    }
}
