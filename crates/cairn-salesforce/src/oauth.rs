//! OAuth 2.0 web-server flow with PKCE (research note §1): the authorization URL on the
//! production or sandbox login host, the callback check (state, denial), the code
//! exchange with `signature` verification, refresh (with rotation) and revocation.
//! `invalid_grant` on refresh means the org must be re-authorized:
//! [`SalesforceError::Disconnected`], never retried.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::Secret;
use crate::app::SalesforceApp;
use crate::config::{Environment, join};
use crate::error::{SalesforceError, excerpt};

const TOKEN_PATH: &str = "/services/oauth2/token";

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
        Self::challenge_for(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Rebuilds the pair from a verifier kept between the redirect and the callback.
    ///
    /// # Errors
    /// [`SalesforceError::Config`] if the verifier is not 43–128 unreserved characters.
    pub fn from_verifier(verifier: Secret) -> Result<Self, SalesforceError> {
        let v = verifier.expose();
        let unreserved = v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !(43..=128).contains(&v.len()) || !unreserved {
            return Err(SalesforceError::Config(
                "a PKCE verifier is 43 to 128 characters from A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        Ok(Self::challenge_for(verifier))
    }

    fn challenge_for(verifier: Secret) -> Self {
        // base64url of the digest, encoded once, no padding (§1.2).
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

/// What a connected org hands over: everything a task stores (encrypted) to reconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The session (`00D…!…`). There is no expiry: it lasts the org's session timeout.
    pub access_token: Secret,
    /// The refresh token; replaced on refresh when the app rotates refresh tokens.
    pub refresh_token: Option<Secret>,
    /// Where the org's APIs live; always use it, never a hard-coded host (§1.1).
    pub instance_url: String,
    /// The identity URL `https://{login}/id/{orgId}/{userId}`.
    pub id_url: String,
    /// Organization id (`00D…`).
    pub org_id: String,
    /// The authorizing user's id (`005…`).
    pub user_id: String,
    /// `issued_at`, epoch milliseconds.
    pub issued_at_ms: i64,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The login host the org was authorized through (refresh goes there too).
    pub environment: Environment,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    refresh_token: Option<Secret>,
    instance_url: String,
    id: String,
    issued_at: String,
    signature: String,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Code,
    Refresh,
}

/// `{orgId}` and `{userId}` from `…/id/{orgId}/{userId}`.
fn parse_identity(id_url: &str) -> Option<(String, String)> {
    let mut parts = id_url.trim_end_matches('/').rsplit('/');
    let user = parts.next()?;
    let org = parts.next()?;
    (parts.next() == Some("id") && org.starts_with("00D") && !user.is_empty())
        .then(|| (org.to_owned(), user.to_owned()))
}

impl SalesforceApp {
    /// Where to send the admin's browser: the environment's login host with
    /// `response_type=code`, the client id, the callback, the scopes, the caller's CSRF
    /// `state` and the PKCE S256 challenge.
    #[must_use]
    pub fn authorize_url(
        &self,
        env: Environment,
        redirect_uri: &str,
        state: &str,
        pkce: &Pkce,
    ) -> Url {
        let config = self.config();
        let base = join(config.login_url(env), "/services/oauth2/authorize");
        // `join` of a validated URL and a fixed path is a valid URL.
        let mut url = Url::parse(&base).unwrap_or_else(|_| config.login_url(env).clone());
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &config.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", "S256");
        url
    }

    /// Checks the query parameters Salesforce redirected back with and returns the code.
    ///
    /// The `state` is checked first: a callback that is not an answer to our request is
    /// ignored whatever else it says.
    ///
    /// # Errors
    /// [`SalesforceError::StateMismatch`], [`SalesforceError::AccessDenied`] when the admin
    /// clicked Deny, [`SalesforceError::OAuth`] for other errors or a missing code.
    pub fn callback_code(
        params: &[(String, String)],
        expected_state: &str,
    ) -> Result<String, SalesforceError> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let state_ok = get("state").is_some_and(|s| {
            !expected_state.is_empty() && subtle_eq(s.as_bytes(), expected_state.as_bytes())
        });
        if !state_ok {
            return Err(SalesforceError::StateMismatch);
        }
        if let Some(error) = get("error") {
            let description = get("error_description").unwrap_or(error).to_owned();
            return Err(if error == "access_denied" {
                SalesforceError::AccessDenied { description }
            } else {
                SalesforceError::OAuth {
                    error: error.to_owned(),
                    description,
                }
            });
        }
        match get("code") {
            Some(code) if !code.trim().is_empty() => Ok(code.trim().to_owned()),
            _ => Err(SalesforceError::OAuth {
                error: "invalid_request".into(),
                description: "the callback carries no authorization code".into(),
            }),
        }
    }

    /// Exchanges the code from the callback for tokens (with the PKCE verifier) and
    /// verifies the answer's signature.
    ///
    /// # Errors
    /// [`SalesforceError::OAuth`] when Salesforce refuses (bad or used code: `invalid_grant`;
    /// verifier mismatch: `invalid_request`), [`SalesforceError::BadSignature`], transport
    /// and server errors after retries.
    pub async fn exchange_code(
        &self,
        env: Environment,
        code: &str,
        pkce: &Pkce,
        redirect_uri: &str,
    ) -> Result<TokenSet, SalesforceError> {
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.trim().to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", pkce.verifier().expose().to_owned()),
        ];
        let t = self.token_call(env, form, Grant::Code).await?;
        let (org_id, user_id) = parse_identity(&t.id).ok_or_else(|| {
            SalesforceError::protocol(TOKEN_PATH, format!("unexpected identity URL {}", t.id))
        })?;
        Ok(TokenSet {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            instance_url: t.instance_url.trim_end_matches('/').to_owned(),
            id_url: t.id,
            org_id,
            user_id,
            issued_at_ms: t.issued_at.parse().unwrap_or_default(),
            scopes: t
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            environment: env,
        })
    }

    /// Gets a new session with the refresh token. The answer carries a new refresh token
    /// only when the app rotates them; `refresh_token` keeps the old one otherwise.
    ///
    /// # Errors
    /// [`SalesforceError::Disconnected`] on `invalid_grant` (revoked, expired, inactive
    /// user), [`SalesforceError::OAuth`] for other refusals, transport and server errors
    /// after retries.
    pub async fn refresh(
        &self,
        tokens: &TokenSet,
        refresh_token: &Secret,
    ) -> Result<TokenSet, SalesforceError> {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ];
        let t = self
            .token_call(tokens.environment, form, Grant::Refresh)
            .await?;
        Ok(TokenSet {
            access_token: t.access_token,
            refresh_token: Some(t.refresh_token.unwrap_or_else(|| refresh_token.clone())),
            instance_url: t.instance_url.trim_end_matches('/').to_owned(),
            id_url: t.id,
            issued_at_ms: t.issued_at.parse().unwrap_or_default(),
            ..tokens.clone()
        })
    }

    /// Revokes a refresh token (and its sessions) or a session. An already invalid token
    /// counts as revoked.
    ///
    /// # Errors
    /// Transport errors, and refusals other than `invalid_token`.
    pub async fn revoke(&self, env: Environment, token: &Secret) -> Result<(), SalesforceError> {
        let url = join(self.config().login_url(env), "/services/oauth2/revoke");
        let response = self
            .http()
            .post(url)
            .form(&[("token", token.expose())])
            .timeout(self.config().timeouts.request)
            .send()
            .await
            .map_err(|source| SalesforceError::Transport {
                path: "/services/oauth2/revoke".into(),
                attempts: 1,
                source,
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() || text.contains("invalid_token") {
            return Ok(());
        }
        Err(oauth_failure(&text, Grant::Code))
    }

    async fn token_call(
        &self,
        env: Environment,
        mut form: Vec<(&'static str, String)>,
        grant: Grant,
    ) -> Result<TokenResponse, SalesforceError> {
        let config = self.config();
        form.push(("client_id", config.client_id.clone()));
        form.push(("client_secret", config.client_secret.expose().to_owned()));
        form.push(("format", "json".to_owned()));
        let url = join(config.login_url(env), TOKEN_PATH);
        let policy = &config.retry;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let sent = self
                .http()
                .post(&url)
                .form(&form)
                .timeout(config.timeouts.request)
                .send()
                .await;
            let (status, text) = match sent {
                Ok(r) => {
                    let status = r.status();
                    match r.text().await {
                        Ok(t) => (status, t),
                        Err(source) if attempts <= policy.max_retries => {
                            tracing::warn!(error = %source, "reading the OAuth token answer failed; retrying");
                            tokio::time::sleep(policy.backoff(attempts)).await;
                            continue;
                        }
                        Err(source) => {
                            return Err(SalesforceError::Transport {
                                path: TOKEN_PATH.into(),
                                attempts,
                                source,
                            });
                        }
                    }
                }
                Err(source) if attempts <= policy.max_retries => {
                    tracing::warn!(error = %source, "OAuth token call failed; retrying");
                    tokio::time::sleep(policy.backoff(attempts)).await;
                    continue;
                }
                Err(source) => {
                    return Err(SalesforceError::Transport {
                        path: TOKEN_PATH.into(),
                        attempts,
                        source,
                    });
                }
            };
            if status.is_success() {
                let t: TokenResponse = serde_json::from_str(&text).map_err(|e| {
                    SalesforceError::protocol(TOKEN_PATH, format!("token answer is not valid: {e}"))
                })?;
                self.verify_signature(&t)?;
                return Ok(t);
            }
            let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            if retryable && attempts <= policy.max_retries {
                tracing::warn!(%status, "OAuth token endpoint failed; retrying");
                tokio::time::sleep(policy.backoff(attempts)).await;
                continue;
            }
            if retryable {
                return Err(SalesforceError::Server {
                    path: TOKEN_PATH.into(),
                    status: status.as_u16(),
                    message: excerpt(&text),
                    attempts,
                });
            }
            return Err(oauth_failure(&text, grant));
        }
    }

    /// `base64(HMAC-SHA256(client_secret, id + issued_at)) == signature` (§1.5).
    fn verify_signature(&self, t: &TokenResponse) -> Result<(), SalesforceError> {
        let Ok(expected) = STANDARD.decode(t.signature.trim()) else {
            return Err(SalesforceError::BadSignature);
        };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.config().client_secret.expose().as_bytes())
                .map_err(|_| SalesforceError::BadSignature)?;
        mac.update(t.id.as_bytes());
        mac.update(t.issued_at.as_bytes());
        mac.verify_slice(&expected)
            .map_err(|_| SalesforceError::BadSignature)
    }
}

/// Constant-time equality for the `state` check.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn oauth_failure(text: &str, grant: Grant) -> SalesforceError {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_str::<OAuthError>(text) {
        Ok(e) if e.error == "invalid_grant" && grant == Grant::Refresh => {
            SalesforceError::Disconnected {
                reason: if e.error_description.is_empty() {
                    "the refresh token is invalid or revoked".into()
                } else {
                    e.error_description
                },
            }
        }
        Ok(e) => SalesforceError::OAuth {
            error: e.error,
            description: e.error_description,
        },
        Err(_) => SalesforceError::OAuth {
            error: "unknown_error".into(),
            description: excerpt(text),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_rfc7636_s256() {
        // RFC 7636 appendix B.
        let p = Pkce::from_verifier(Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
            .unwrap();
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(Pkce::from_verifier(Secret::new("short")).is_err());
        assert_eq!(Pkce::generate().verifier().expose().len(), 43);
    }

    #[test]
    fn identity_urls_give_org_and_user() {
        assert_eq!(
            parse_identity("https://login.salesforce.com/id/00Dxx0000000001/005xx000001Sv6e"),
            Some(("00Dxx0000000001".into(), "005xx000001Sv6e".into()))
        );
        assert_eq!(parse_identity("https://x/identity/00D1/005"), None);
    }

    #[test]
    fn callbacks_check_state_before_anything_else() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let ok = SalesforceApp::callback_code(&p(&[("code", "aPrx=="), ("state", "s1")]), "s1");
        assert_eq!(ok.unwrap(), "aPrx==");
        let forged = SalesforceApp::callback_code(
            &p(&[("error", "access_denied"), ("state", "other")]),
            "s1",
        );
        assert!(matches!(forged, Err(SalesforceError::StateMismatch)));
        let missing = SalesforceApp::callback_code(&p(&[("code", "c")]), "s1");
        assert!(matches!(missing, Err(SalesforceError::StateMismatch)));
        let denied =
            SalesforceApp::callback_code(&p(&[("error", "access_denied"), ("state", "s1")]), "s1");
        assert!(matches!(denied, Err(SalesforceError::AccessDenied { .. })));
        let empty = SalesforceApp::callback_code(&p(&[("state", "s1")]), "s1");
        assert!(matches!(empty, Err(SalesforceError::OAuth { .. })));
    }

    #[test]
    fn refresh_invalid_grant_means_disconnected() {
        let body =
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        assert!(oauth_failure(body, Grant::Refresh).is_disconnected());
        assert!(matches!(
            oauth_failure(body, Grant::Code),
            SalesforceError::OAuth { .. }
        ));
    }
}
