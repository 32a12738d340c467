//! OAuth 2 for the team-linked app (research note §1): the authorization URL (offline
//! access, PKCE S256), the code exchange, refreshing short-lived access tokens and
//! revoking. `invalid_grant` on refresh means the team must re-authorize:
//! [`DropboxError::Disconnected`], never retried.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::Secret;
use crate::app::DropboxApp;
use crate::error::{DropboxError, excerpt, tag_chain};

const TOKEN_ROUTE: &str = "oauth2/token";
const REVOKE_ROUTE: &str = "auth/token/revoke";

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

impl Pkce {
    /// A fresh random verifier (32 random bytes, 43 URL-safe characters).
    #[must_use]
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        let verifier = Secret::new(URL_SAFE_NO_PAD.encode(bytes));
        Self::challenge_for(verifier)
    }

    /// Rebuilds the pair from a verifier kept between the redirect and the callback.
    ///
    /// # Errors
    /// [`DropboxError::Config`] if the verifier is not 43–128 unreserved characters.
    pub fn from_verifier(verifier: Secret) -> Result<Self, DropboxError> {
        let v = verifier.expose();
        let unreserved = v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !(43..=128).contains(&v.len()) || !unreserved {
            return Err(DropboxError::Config(
                "a PKCE verifier is 43 to 128 characters from A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        Ok(Self::challenge_for(verifier))
    }

    fn challenge_for(verifier: Secret) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }

    /// The verifier, sent with the code exchange (keep it server-side meanwhile).
    #[must_use]
    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }

    /// `base64url(SHA-256(verifier))`, sent in the authorization URL.
    #[must_use]
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// A random `state` value for the authorization URL (CSRF protection).
#[must_use]
pub fn random_state() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the code exchange returns: everything a task must store (encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// Short-lived access token (`sl.…`).
    pub access_token: Secret,
    /// Long-lived refresh token (offline access). Dropbox does not rotate it.
    pub refresh_token: Option<Secret>,
    /// When the access token expires; `None` for long-lived tokens.
    pub expires_at: Option<DateTime<Utc>>,
    /// `dbtid:…` for a team-linked app.
    pub team_id: Option<String>,
    /// `dbid:…` for a user-linked app.
    pub account_id: Option<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
}

/// A new access token from a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The token.
    pub access_token: Secret,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
}

impl TokenResponse {
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_in
            .map(|s| Utc::now() + chrono::Duration::seconds(s.max(0)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Code,
    Refresh,
}

impl DropboxApp {
    /// Where to send the admin's browser to link the app to their team: offline access
    /// (a refresh token), PKCE S256, the caller's CSRF `state`, and `redirect_uri` (which
    /// must be registered in the App Console; `None` makes Dropbox show a code to paste).
    #[must_use]
    pub fn authorize_url(&self, state: &str, pkce: &Pkce, redirect_uri: Option<&str>) -> Url {
        let config = self.config();
        let mut url = config.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &config.app_key)
                .append_pair("response_type", "code")
                .append_pair("token_access_type", "offline")
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", state);
            if let Some(uri) = redirect_uri {
                q.append_pair("redirect_uri", uri);
            }
            if let Some(scopes) = config.scopes.as_ref().filter(|s| !s.is_empty()) {
                q.append_pair("scope", &scopes.join(" "));
            }
        }
        url
    }

    /// Exchanges the code from the redirect for tokens.
    ///
    /// # Errors
    /// [`DropboxError::OAuth`] when Dropbox refuses (bad or used code, verifier or
    /// redirect mismatch), transport and server errors after retries.
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce: &Pkce,
        redirect_uri: Option<&str>,
    ) -> Result<TokenSet, DropboxError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.trim().to_owned()),
            ("code_verifier", pkce.verifier().expose().to_owned()),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri.to_owned()));
        }
        let response = self.token_call(form, Grant::Code).await?;
        Ok(TokenSet {
            expires_at: response.expires_at(),
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            team_id: response.team_id,
            account_id: response.account_id,
            scopes: response
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Gets a new access token with the refresh token.
    ///
    /// # Errors
    /// [`DropboxError::Disconnected`] on `invalid_grant` (revoked or invalid refresh
    /// token), [`DropboxError::OAuth`] for other refusals, transport and server errors
    /// after retries.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<AccessToken, DropboxError> {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ];
        let response = self.token_call(form, Grant::Refresh).await?;
        Ok(AccessToken {
            expires_at: response.expires_at(),
            access_token: response.access_token,
        })
    }

    /// Revokes an access token, its refresh token and every access token minted from that
    /// refresh token. A token that is already invalid counts as revoked.
    ///
    /// Dropbox has been seen to refuse this route for team tokens unless a member is
    /// selected (research note §1.4), so on that refusal the call is repeated as the
    /// authenticated admin.
    ///
    /// # Errors
    /// Transport errors, and Dropbox refusals other than `invalid_access_token` (an
    /// expired token must be refreshed first: use [`crate::TeamClient::revoke`]).
    pub async fn revoke(&self, access_token: &Secret) -> Result<(), DropboxError> {
        match self.revoke_as(access_token, None).await {
            Err(DropboxError::BadRequest { .. }) => {}
            other => return other,
        }
        let admin = self
            .post_json("team/token/get_authenticated_admin", access_token, None)
            .await?;
        let Some(body) = admin else {
            return Ok(());
        };
        let admin_id = body
            .pointer("/admin_profile/team_member_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                DropboxError::protocol(
                    "team/token/get_authenticated_admin",
                    "no admin_profile.team_member_id in the answer",
                )
            })?
            .to_owned();
        self.revoke_as(access_token, Some(&admin_id)).await
    }

    async fn revoke_as(
        &self,
        access_token: &Secret,
        select_admin: Option<&str>,
    ) -> Result<(), DropboxError> {
        self.post_json(REVOKE_ROUTE, access_token, select_admin)
            .await
            .map(|_| ())
    }

    /// One authenticated RPC with a `null` argument, no retries (OAuth housekeeping).
    /// `Ok(None)` when Dropbox says the token is invalid.
    async fn post_json(
        &self,
        route: &str,
        access_token: &Secret,
        select_admin: Option<&str>,
    ) -> Result<Option<Value>, DropboxError> {
        let config = self.config();
        let mut request = self
            .http()
            .post(config.api(&format!("2/{route}")))
            .bearer_auth(access_token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("null")
            .timeout(config.timeouts.request);
        if let Some(admin) = select_admin {
            request = request.header("Dropbox-API-Select-Admin", admin);
        }
        let response = request
            .send()
            .await
            .map_err(|source| DropboxError::Transport {
                route: route.into(),
                attempts: 1,
                source,
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(Some(serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        if status == StatusCode::BAD_REQUEST {
            return Err(DropboxError::BadRequest {
                route: route.into(),
                message: excerpt(&text),
            });
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let tags = tag_chain(&body["error"]);
        if status == StatusCode::UNAUTHORIZED
            && tags.first().map(String::as_str) == Some("invalid_access_token")
        {
            return Ok(None);
        }
        Err(DropboxError::Unauthorized {
            route: route.into(),
            tag: tags
                .first()
                .cloned()
                .unwrap_or_else(|| status.as_str().to_owned()),
            summary: excerpt(&text),
        })
    }

    async fn token_call(
        &self,
        mut form: Vec<(&'static str, String)>,
        grant: Grant,
    ) -> Result<TokenResponse, DropboxError> {
        let config = self.config();
        form.push(("client_id", config.app_key.clone()));
        if let Some(secret) = &config.app_secret {
            form.push(("client_secret", secret.expose().to_owned()));
        }
        let policy = &config.retry;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let sent = self
                .http()
                .post(config.api(TOKEN_ROUTE))
                .form(&form)
                .timeout(config.timeouts.request)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(source) if attempts <= policy.max_server_retries => {
                    let wait = policy.backoff(attempts);
                    tracing::warn!(error = %source, ?wait, "OAuth token call failed; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(source) => {
                    return Err(DropboxError::Transport {
                        route: TOKEN_ROUTE.into(),
                        attempts,
                        source,
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = match response.text().await {
                Ok(t) => t,
                Err(source) if attempts <= policy.max_server_retries => {
                    tracing::warn!(error = %source, "reading the OAuth token answer failed; retrying");
                    tokio::time::sleep(policy.backoff(attempts)).await;
                    continue;
                }
                Err(source) => {
                    return Err(DropboxError::Transport {
                        route: TOKEN_ROUTE.into(),
                        attempts,
                        source,
                    });
                }
            };
            if status.is_success() {
                return serde_json::from_str(&text).map_err(|e| {
                    DropboxError::protocol(TOKEN_ROUTE, format!("token answer is not valid: {e}"))
                });
            }
            let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            if retryable && attempts <= policy.max_server_retries {
                let wait = match retry_after {
                    Some(w) if status == StatusCode::TOO_MANY_REQUESTS => {
                        w.min(policy.max_retry_after)
                    }
                    _ => policy.backoff(attempts),
                };
                tracing::warn!(%status, ?wait, "OAuth token endpoint failed; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(oauth_failure(status, &text, grant, attempts));
        }
    }
}

fn oauth_failure(status: StatusCode, text: &str, grant: Grant, attempts: u32) -> DropboxError {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_str::<OAuthError>(text) {
        Ok(e) if e.error == "invalid_grant" && grant == Grant::Refresh => {
            DropboxError::Disconnected {
                reason: if e.error_description.is_empty() {
                    "the refresh token is invalid or revoked".into()
                } else {
                    e.error_description
                },
            }
        }
        Ok(e) => DropboxError::OAuth {
            error: e.error,
            description: e.error_description,
        },
        Err(_) if status.is_server_error() => DropboxError::Server {
            route: TOKEN_ROUTE.into(),
            status: status.as_u16(),
            message: excerpt(text),
            attempts,
        },
        Err(_) => DropboxError::protocol(TOKEN_ROUTE, format!("HTTP {status}: {}", excerpt(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DropboxConfig;

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let p = Pkce::from_verifier(Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
            .unwrap();
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let g = Pkce::generate();
        assert_eq!(g.verifier().expose().len(), 43);
        assert_ne!(g.verifier().expose(), Pkce::generate().verifier().expose());
        assert!(Pkce::from_verifier(Secret::new("short")).is_err());
        assert!(Pkce::from_verifier(Secret::new("x".repeat(42) + " ")).is_err());
    }

    #[test]
    fn authorize_url_asks_for_offline_access_with_pkce() {
        let mut config = DropboxConfig::new("appkey", None);
        config.scopes = Some(vec!["members.read".into(), "files.content.read".into()]);
        let app = DropboxApp::new(config).unwrap();
        let pkce = Pkce::generate();
        let url = app.authorize_url("st&te", &pkce, Some("https://cairn.example/cb?x=1"));
        assert!(
            url.as_str()
                .starts_with("https://www.dropbox.com/oauth2/authorize?")
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "appkey");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["token_access_type"], "offline");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce.challenge());
        assert_eq!(q["state"], "st&te");
        assert_eq!(q["redirect_uri"], "https://cairn.example/cb?x=1");
        assert_eq!(q["scope"], "members.read files.content.read");
    }

    #[test]
    fn invalid_grant_disconnects_only_on_refresh() {
        let body = r#"{"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}"#;
        let r = oauth_failure(StatusCode::BAD_REQUEST, body, Grant::Refresh, 1);
        assert!(r.is_disconnected(), "{r}");
        let c = oauth_failure(StatusCode::BAD_REQUEST, body, Grant::Code, 1);
        assert!(matches!(c, DropboxError::OAuth { ref error, .. } if error == "invalid_grant"));
        let text = oauth_failure(StatusCode::BAD_GATEWAY, "<html>", Grant::Refresh, 3);
        assert!(matches!(text, DropboxError::Server { status: 502, .. }));
    }

    #[test]
    fn token_sets_redact_secrets_in_debug() {
        let t = TokenSet {
            access_token: Secret::new("sl.ACCESS"),
            refresh_token: Some(Secret::new("REFRESH")),
            expires_at: None,
            team_id: Some("dbtid:1".into()),
            account_id: None,
            scopes: vec![],
        };
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("ACCESS") && !debug.contains("REFRESH"),
            "{debug}"
        );
        assert!(debug.contains("dbtid:1"));
    }
}
