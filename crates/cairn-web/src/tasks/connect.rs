//! Connecting a task to its service by OAuth (F-TASK-1, F-TASK-2): the redirect to the
//! service's consent page and the callback that finishes it.
//!
//! The `state` and PKCE verifier of each authorization in flight are kept server-side in
//! [`OAuthPending`], bound to the session and task that started it, single use (taken
//! out on the callback whatever its outcome) and expiring after [`PENDING_LIFETIME`]. A
//! callback that does not match (unknown, used or expired state, another session, the
//! wrong service), a denied consent or a refused code exchange (PKCE mismatch, used code)
//! ends with a clear message and changes nothing. A successful exchange stores the
//! connector's token set sealed with the installation's token key (AES-256-GCM under a
//! key derived from the master key, bound to the task) and marks the task Connected.
//!
//! Pending authorizations live in the process: in a multi-replica deployment the
//! callback must reach the replica that sent the user away (sticky sessions), or the
//! user is asked to start again.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use url::Url;

use cairn_domain::event::EventOutcome;
use cairn_domain::ids::{AccountId, SessionId, TaskId};
use cairn_domain::{ConnectionStatus, Environment, Service};
use cairn_dropbox::DropboxApp;
use cairn_salesforce::SalesforceApp;
use cairn_vault::crypto::{SubKey, task_token_aad};

use super::{TaskFailure, Tasks};
use crate::error::WebError;

/// How long a user has to finish the consent page.
pub const PENDING_LIFETIME: Duration = Duration::minutes(15);

/// Most authorizations in flight kept at once (oldest dropped first).
const MAX_PENDING: usize = 10_000;

/// The connectors the portal can send users to, and the key tokens are sealed with.
#[derive(Debug, Clone, Default)]
pub struct Connectors {
    /// Salesforce, when a connected app is configured.
    pub salesforce: Option<SalesforceApp>,
    /// Dropbox, when an app is configured.
    pub dropbox: Option<DropboxApp>,
    /// Seals OAuth tokens in the meta store (`None` without a master key: tasks cannot
    /// be connected).
    pub token_key: Option<SubKey>,
}

impl Connectors {
    /// Whether tasks of `service` can be created and connected.
    pub(crate) fn ensure_configured(&self, service: Service) -> Result<(), TaskFailure> {
        let configured = match service {
            Service::Salesforce => self.salesforce.is_some(),
            Service::Dropbox => self.dropbox.is_some(),
        };
        if !configured {
            return Err(TaskFailure::refused(
                "task.service_unavailable",
                format!(
                    "{} is not set up on this Cairn installation. Ask your operator to configure it.",
                    service.label()
                ),
            ));
        }
        if self.token_key.is_none() {
            return Err(TaskFailure::refused(
                "task.service_unavailable",
                "This Cairn installation has no master key, so it cannot store connection tokens. Ask your operator to configure one.",
            ));
        }
        Ok(())
    }
}

/// One authorization in flight.
#[derive(Debug, Clone)]
struct Pending {
    account: AccountId,
    session: SessionId,
    task: TaskId,
    service: Service,
    environment: Environment,
    verifier: String,
    expires_at: DateTime<Utc>,
}

/// Authorizations in flight, by `state`.
#[derive(Debug, Default)]
pub struct OAuthPending {
    by_state: Mutex<HashMap<String, Pending>>,
}

impl OAuthPending {
    fn insert(&self, state: String, pending: Pending, now: DateTime<Utc>) {
        let mut map = self.by_state.lock();
        map.retain(|_, p| p.expires_at > now);
        if map.len() >= MAX_PENDING
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(state, pending);
    }

    /// Takes the authorization for `state` out (single use).
    fn take(&self, state: &str) -> Option<Pending> {
        self.by_state.lock().remove(state)
    }
}

fn bad_state() -> TaskFailure {
    TaskFailure::refused(
        "oauth.invalid_state",
        "This sign-in answer does not belong to a connection you started here, or it has expired or was already used. Start the connection again from the task page.",
    )
}

fn denied(service: Service) -> TaskFailure {
    TaskFailure::refused(
        "oauth.denied",
        format!(
            "Access was not allowed in {}, so the task was not connected. Try again and choose Allow.",
            service.label()
        ),
    )
}

fn exchange_failed(service: Service, detail: &str) -> TaskFailure {
    TaskFailure::refused(
        "oauth.exchange_failed",
        format!(
            "{} did not accept the sign-in ({detail}). The task was not connected; start the connection again.",
            service.label()
        ),
    )
}

fn query_value<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl Tasks<'_> {
    /// The callback URL registered with the service's app.
    fn redirect_uri(&self, service: Service) -> String {
        self.state
            .settings()
            .link(&format!("/oauth/{}/callback", service.as_str()))
    }

    /// Starts connecting (or re-connecting) a task: remembers a fresh state and PKCE
    /// verifier for this session and returns the service's authorization URL.
    ///
    /// # Errors
    /// `task.not_found`, `task.deleted`, `task.service_unavailable`.
    pub async fn begin_connect(&self, id: TaskId) -> Result<Url, TaskFailure> {
        self.authorize()?;
        let task = self.live_task(id).await?;
        let connectors = self.state.connectors();
        connectors.ensure_configured(task.service)?;
        let redirect = self.redirect_uri(task.service);
        let (state, verifier, url) =
            match (task.service, &connectors.salesforce, &connectors.dropbox) {
                (Service::Salesforce, Some(app), _) => {
                    let pkce = cairn_salesforce::Pkce::generate();
                    let state = cairn_salesforce::random_state();
                    let env = match task.environment {
                        Environment::Production => cairn_salesforce::Environment::Production,
                        Environment::Sandbox => cairn_salesforce::Environment::Sandbox,
                    };
                    let url = app.authorize_url(env, &redirect, &state, &pkce);
                    (state, pkce.verifier().expose().to_owned(), url)
                }
                (Service::Dropbox, _, Some(app)) => {
                    let pkce = cairn_dropbox::Pkce::generate();
                    let state = cairn_dropbox::random_state();
                    let url = app.authorize_url(&state, &pkce, Some(&redirect));
                    (state, pkce.verifier().expose().to_owned(), url)
                }
                _ => return Err(TaskFailure::Forbidden),
            };
        let now = self.state.clock().now();
        self.state.oauth_pending().insert(
            state,
            Pending {
                account: self.viewer.account,
                session: self.viewer.session,
                task: task.id,
                service: task.service,
                environment: task.environment,
                verifier,
                expires_at: now + PENDING_LIFETIME,
            },
            now,
        );
        Ok(url)
    }

    /// Finishes a connection from the service's redirect back (`params` is its query
    /// string). Returns the connected task.
    ///
    /// # Errors
    /// `oauth.invalid_state`, `oauth.denied`, `oauth.exchange_failed`,
    /// `task.not_found`, `task.deleted`, `task.service_unavailable`.
    pub async fn finish_connect(
        &self,
        service: Service,
        params: &[(String, String)],
    ) -> Result<TaskId, TaskFailure> {
        self.authorize()?;
        let state = query_value(params, "state").unwrap_or_default();
        let pending = if state.is_empty() {
            None
        } else {
            self.state.oauth_pending().take(state)
        };
        let Some(pending) = pending else {
            return Err(bad_state());
        };
        let now = self.state.clock().now();
        if pending.expires_at <= now
            || pending.session != self.viewer.session
            || pending.account != self.viewer.account
            || pending.service != service
        {
            return Err(bad_state());
        }
        let task = self.live_task(pending.task).await?;
        let connectors = self.state.connectors();
        connectors.ensure_configured(service)?;
        let redirect = self.redirect_uri(service);
        let result = self
            .exchange(service, &pending, state, params, &redirect)
            .await;
        let plaintext = match result {
            Ok(plaintext) => plaintext,
            Err(failure) => {
                self.audit("task.connect", EventOutcome::Failure, &task)
                    .await;
                return Err(failure);
            }
        };
        let key = connectors
            .token_key
            .as_ref()
            .ok_or_else(|| exchange_failed(service, "no token key"))?;
        let sealed = seal_token(key, task.id, &plaintext);
        self.scope()
            .tasks()
            .store_token(task.id, &sealed, now)
            .await?;
        self.audit("task.connect", EventOutcome::Success, &task)
            .await;
        Ok(task.id)
    }

    /// Checks the callback and exchanges its code; returns the token set as JSON.
    async fn exchange(
        &self,
        service: Service,
        pending: &Pending,
        state: &str,
        params: &[(String, String)],
        redirect: &str,
    ) -> Result<Vec<u8>, TaskFailure> {
        let connectors = self.state.connectors();
        let redirect = redirect.to_owned();
        let sealed_json = match (service, &connectors.salesforce, &connectors.dropbox) {
            (Service::Salesforce, Some(app), _) => {
                use cairn_salesforce::SalesforceError as E;
                let code = SalesforceApp::callback_code(params, state).map_err(|e| match e {
                    E::AccessDenied { .. } => denied(service),
                    E::StateMismatch => bad_state(),
                    other => exchange_failed(service, &other.to_string()),
                })?;
                let pkce = cairn_salesforce::Pkce::from_verifier(cairn_salesforce::Secret::new(
                    pending.verifier.clone(),
                ))
                .map_err(|e| exchange_failed(service, &e.to_string()))?;
                let env = match pending.environment {
                    Environment::Production => cairn_salesforce::Environment::Production,
                    Environment::Sandbox => cairn_salesforce::Environment::Sandbox,
                };
                let tokens = app
                    .exchange_code(env, &code, &pkce, &redirect)
                    .await
                    .map_err(|e| exchange_failed(service, &e.to_string()))?;
                serde_json::to_vec(&tokens)
            }
            (Service::Dropbox, _, Some(app)) => {
                if let Some(error) = query_value(params, "error") {
                    return Err(if error == "access_denied" {
                        denied(service)
                    } else {
                        exchange_failed(
                            service,
                            query_value(params, "error_description").unwrap_or(error),
                        )
                    });
                }
                let code = query_value(params, "code")
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| exchange_failed(service, "no authorization code"))?;
                let pkce = cairn_dropbox::Pkce::from_verifier(cairn_dropbox::Secret::new(
                    pending.verifier.clone(),
                ))
                .map_err(|e| exchange_failed(service, &e.to_string()))?;
                let tokens = app
                    .exchange_code(code, &pkce, Some(&redirect))
                    .await
                    .map_err(|e| exchange_failed(service, &e.to_string()))?;
                serde_json::to_vec(&tokens)
            }
            _ => return Err(bad_state()),
        };
        sealed_json.map_err(|e| {
            TaskFailure::Failed(WebError::Io {
                context: "encoding the connection tokens".into(),
                source: std::io::Error::other(e),
            })
        })
    }

    /// Marks a task Disconnected (its token stopped working) — what a backup run does on
    /// `invalid_grant`; exposed for the same reason to the portal's tests.
    ///
    /// # Errors
    /// `task.not_found`.
    pub async fn mark_disconnected(&self, id: TaskId) -> Result<(), TaskFailure> {
        self.authorize()?;
        self.task(id).await?;
        self.scope()
            .tasks()
            .set_connection(id, ConnectionStatus::Disconnected)
            .await?;
        Ok(())
    }
}

/// Seals a task's token set (JSON) for `tasks.token_ciphertext`.
#[must_use]
pub fn seal_token(key: &SubKey, task: TaskId, plaintext: &[u8]) -> Vec<u8> {
    key.seal(&task_token_aad(task), plaintext)
}

/// Opens what [`seal_token`] sealed.
///
/// # Errors
/// When the blob was sealed for another task or with another key, or was modified.
pub fn open_token(
    key: &SubKey,
    task: TaskId,
    sealed: &[u8],
) -> Result<Vec<u8>, cairn_vault::VaultError> {
    key.open(&task_token_aad(task), sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_task() {
        let key = SubKey::from_bytes([7; 32]);
        let task = TaskId::new();
        let sealed = seal_token(&key, task, b"{\"access_token\":\"x\"}");
        assert!(!sealed.windows(12).any(|w| w == b"access_token"));
        assert_eq!(
            open_token(&key, task, &sealed).unwrap(),
            b"{\"access_token\":\"x\"}"
        );
        assert!(open_token(&key, TaskId::new(), &sealed).is_err());
        assert!(open_token(&SubKey::from_bytes([8; 32]), task, &sealed).is_err());
    }

    #[test]
    fn pending_authorizations_are_single_use_and_pruned() {
        let pending = OAuthPending::default();
        let now = Utc::now();
        let entry = |expires_at| Pending {
            account: AccountId::new(),
            session: SessionId::new(),
            task: TaskId::new(),
            service: Service::Dropbox,
            environment: Environment::Production,
            verifier: "v".into(),
            expires_at,
        };
        pending.insert("old".into(), entry(now - Duration::seconds(1)), now);
        pending.insert("new".into(), entry(now + PENDING_LIFETIME), now);
        assert!(pending.take("new").is_some());
        assert!(pending.take("new").is_none(), "single use");
        pending.insert("x".into(), entry(now + PENDING_LIFETIME), now);
        assert!(pending.take("old").is_none(), "expired entries are pruned");
    }
}
