//! The access token a [`crate::TeamClient`] uses, kept fresh: refreshed shortly before it
//! expires and once on a 401 `expired_access_token` (never on other 401s, pitfall 5),
//! with concurrent callers sharing one refresh. A revoked refresh token (`invalid_grant`)
//! or an invalid access token makes the client disconnected for good: every later call
//! fails fast with [`DropboxError::Disconnected`].
//!
//! Nothing is stored here: the caller's [`TokenSink`] hears about each new access token
//! and persists it (encrypted). The refresh token never changes (Dropbox does not rotate
//! it), so losing a refreshed access token only costs one more refresh.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Secret;
use crate::app::DropboxApp;
use crate::error::DropboxError;
use crate::oauth::AccessToken;

/// Told when the client refreshed its access token, so the caller can persist it.
pub trait TokenSink: Send + Sync {
    /// A new access token is in use. Must return quickly.
    fn access_token_refreshed(&self, token: &AccessToken);
}

impl<F: Fn(&AccessToken) + Send + Sync> TokenSink for F {
    fn access_token_refreshed(&self, token: &AccessToken) {
        self(token);
    }
}

/// A sink that keeps nothing (the client refreshes again next time it is built).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardTokens;

impl TokenSink for DiscardTokens {
    fn access_token_refreshed(&self, _token: &AccessToken) {}
}

struct State {
    access: Secret,
    expires_at: Option<DateTime<Utc>>,
    generation: u64,
}

/// The current access token with its refresh logic.
pub(crate) struct TokenManager {
    state: tokio::sync::Mutex<State>,
    disconnected: parking_lot::Mutex<Option<String>>,
    refresh_token: Option<Secret>,
    sink: Arc<dyn TokenSink>,
    margin: Duration,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("disconnected", &*self.disconnected.lock())
            .finish_non_exhaustive()
    }
}

/// A token handed to one request, with the generation it belongs to.
pub(crate) struct Lease {
    pub token: Secret,
    pub generation: u64,
}

impl TokenManager {
    pub(crate) fn new(
        access: Secret,
        expires_at: Option<DateTime<Utc>>,
        refresh_token: Option<Secret>,
        sink: Arc<dyn TokenSink>,
        margin: Duration,
    ) -> Self {
        Self {
            state: tokio::sync::Mutex::new(State {
                access,
                expires_at,
                generation: 0,
            }),
            disconnected: parking_lot::Mutex::new(None),
            refresh_token,
            sink,
            margin,
        }
    }

    fn check_connected(&self) -> Result<(), DropboxError> {
        match &*self.disconnected.lock() {
            Some(reason) => Err(DropboxError::Disconnected {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the client disconnected: later calls fail without touching the network.
    pub(crate) fn disconnect(&self, reason: &str) {
        self.disconnected
            .lock()
            .get_or_insert_with(|| reason.to_owned());
    }

    /// The token to use now, refreshed first if it is about to expire.
    pub(crate) async fn lease(&self, app: &DropboxApp) -> Result<Lease, DropboxError> {
        self.check_connected()?;
        let mut state = self.state.lock().await;
        let margin = chrono::Duration::from_std(self.margin).unwrap_or(chrono::Duration::zero());
        let due = state.expires_at.is_some_and(|at| at - margin <= Utc::now());
        if due && self.refresh_token.is_some() {
            self.refresh_locked(&mut state, app).await?;
        }
        Ok(Lease {
            token: state.access.clone(),
            generation: state.generation,
        })
    }

    /// Refreshes after a 401 `expired_access_token` on a token of `generation`, unless a
    /// concurrent caller already did. Returns whether this call refreshed.
    pub(crate) async fn refresh_expired(
        &self,
        generation: u64,
        app: &DropboxApp,
    ) -> Result<bool, DropboxError> {
        self.check_connected()?;
        let mut state = self.state.lock().await;
        if state.generation != generation {
            return Ok(false);
        }
        self.refresh_locked(&mut state, app).await?;
        Ok(true)
    }

    async fn refresh_locked(
        &self,
        state: &mut State,
        app: &DropboxApp,
    ) -> Result<(), DropboxError> {
        let Some(refresh_token) = &self.refresh_token else {
            let reason = "the access token expired and no refresh token is stored";
            self.disconnect(reason);
            return Err(DropboxError::Disconnected {
                reason: reason.into(),
            });
        };
        match app.refresh(refresh_token).await {
            Ok(token) => {
                state.access = token.access_token.clone();
                state.expires_at = token.expires_at;
                state.generation += 1;
                tracing::info!(expires_at = ?token.expires_at, "refreshed the Dropbox access token");
                self.sink.access_token_refreshed(&token);
                Ok(())
            }
            Err(DropboxError::Disconnected { reason }) => {
                tracing::warn!(%reason, "the Dropbox refresh token was refused");
                self.disconnect(&reason);
                Err(DropboxError::Disconnected { reason })
            }
            Err(e) => Err(e),
        }
    }

    /// The access token currently in use and its expiry.
    pub(crate) async fn current(&self) -> AccessToken {
        let state = self.state.lock().await;
        AccessToken {
            access_token: state.access.clone(),
            expires_at: state.expires_at,
        }
    }
}
