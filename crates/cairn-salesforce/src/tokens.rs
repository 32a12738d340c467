//! The session of one connected org, shared by every worker that reads it: the current
//! access token and instance URL, and a single-flight refresher — when a call meets
//! `INVALID_SESSION_ID`, one caller refreshes and everyone else holding the same stale
//! token waits for that refresh instead of starting their own. This matters twice over:
//! with refresh-token rotation a second concurrent refresh would present a refresh token
//! the first one just invalidated (pitfall 2), and each OAuth approval per worker would
//! silently revoke older ones (pitfall 3).
//!
//! Nothing is stored here: the caller's [`TokenSink`] hears about each new token set and
//! persists it (encrypted), rotated refresh token included.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use futures::future::BoxFuture;

use crate::Secret;
use crate::app::SalesforceApp;
use crate::error::SalesforceError;
use crate::oauth::TokenSet;

/// Told when the session was refreshed, so the caller can persist the new tokens; and
/// asked for the stored tokens when a refresh token is refused, because with several
/// processes (scale-out workers) another process may have rotated it a moment ago.
pub trait TokenSink: Send + Sync {
    /// New tokens are in use (a rotated refresh token among them). Must return quickly.
    fn tokens_refreshed(&self, tokens: &TokenSet);

    /// The tokens as currently stored (decrypted), if the sink can read them back. Only
    /// asked after `invalid_grant`: if they hold a different refresh token, the session
    /// adopts them instead of declaring the org disconnected.
    fn stored_tokens(&self) -> BoxFuture<'_, Option<TokenSet>> {
        Box::pin(async { None })
    }
}

impl<F: Fn(&TokenSet) + Send + Sync> TokenSink for F {
    fn tokens_refreshed(&self, tokens: &TokenSet) {
        self(tokens);
    }
}

/// A sink that keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardTokens;

impl TokenSink for DiscardTokens {
    fn tokens_refreshed(&self, _tokens: &TokenSet) {}
}

/// The token handed to one request, with the generation it belongs to.
#[derive(Clone)]
pub(crate) struct Lease {
    pub token: Secret,
    pub instance_url: String,
    pub generation: u64,
}

/// One connected org's session. Share it (`Arc`) between all clients of the org, or get
/// it from a [`SessionRegistry`].
pub struct Session {
    app: SalesforceApp,
    org_id: String,
    /// Held across a refresh: this is what makes it single-flight.
    refresh_lock: tokio::sync::Mutex<TokenSet>,
    current: parking_lot::RwLock<Lease>,
    disconnected: parking_lot::Mutex<Option<String>>,
    sink: Arc<dyn TokenSink>,
    refreshes: AtomicU64,
    /// Requests in flight to this org.
    in_flight: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("org_id", &self.org_id)
            .field("disconnected", &*self.disconnected.lock())
            .field("refreshes", &self.refreshes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session from stored tokens.
    #[must_use]
    pub fn new(app: SalesforceApp, tokens: TokenSet, sink: Arc<dyn TokenSink>) -> Self {
        let slots = app.config().max_concurrent_requests.max(1);
        let lease = Lease {
            token: tokens.access_token.clone(),
            instance_url: tokens.instance_url.clone(),
            generation: 0,
        };
        Self {
            app,
            org_id: tokens.org_id.clone(),
            refresh_lock: tokio::sync::Mutex::new(tokens),
            current: parking_lot::RwLock::new(lease),
            disconnected: parking_lot::Mutex::new(None),
            sink,
            refreshes: AtomicU64::new(0),
            in_flight: tokio::sync::Semaphore::new(slots),
        }
    }

    /// The app this session belongs to.
    #[must_use]
    pub fn app(&self) -> &SalesforceApp {
        &self.app
    }

    /// Organization id.
    #[must_use]
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Refreshes performed by this session.
    #[must_use]
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The tokens currently in use (waits for a refresh in flight).
    pub async fn tokens(&self) -> TokenSet {
        self.refresh_lock.lock().await.clone()
    }

    /// Why the session is disconnected, if it is.
    #[must_use]
    pub fn disconnected_reason(&self) -> Option<String> {
        self.disconnected.lock().clone()
    }

    fn check_connected(&self) -> Result<(), SalesforceError> {
        match &*self.disconnected.lock() {
            Some(reason) => Err(SalesforceError::Disconnected {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the session disconnected: later calls fail without touching the network.
    pub(crate) fn disconnect(&self, reason: &str) -> SalesforceError {
        let reason = self
            .disconnected
            .lock()
            .get_or_insert_with(|| reason.to_owned())
            .clone();
        SalesforceError::Disconnected { reason }
    }

    /// A slot for one request to the org (held until its answer's headers arrive).
    pub(crate) async fn request_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.in_flight
            .acquire()
            .await
            .expect("the request semaphore is never closed")
    }

    /// The token to use now.
    pub(crate) fn lease(&self) -> Result<Lease, SalesforceError> {
        self.check_connected()?;
        Ok(self.current.read().clone())
    }

    /// Refreshes after `INVALID_SESSION_ID` on a token of `generation`, unless another
    /// caller already did (then this just waited for it).
    ///
    /// # Errors
    /// [`SalesforceError::Disconnected`] when the refresh token is refused or missing;
    /// transport and server errors of the token endpoint.
    pub(crate) async fn refresh_after(&self, generation: u64) -> Result<(), SalesforceError> {
        self.check_connected()?;
        let mut tokens = self.refresh_lock.lock().await;
        self.check_connected()?;
        if self.current.read().generation != generation {
            return Ok(());
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(self.disconnect("the session expired and no refresh token is stored"));
        };
        match self.app.refresh(&tokens, &refresh_token).await {
            Ok(fresh) => {
                *tokens = fresh;
                {
                    let mut current = self.current.write();
                    current.token = tokens.access_token.clone();
                    current.instance_url = tokens.instance_url.clone();
                    current.generation += 1;
                }
                self.refreshes.fetch_add(1, Ordering::Relaxed);
                tracing::info!(org_id = %self.org_id, "refreshed the Salesforce session");
                self.sink.tokens_refreshed(&tokens);
                Ok(())
            }
            Err(SalesforceError::Disconnected { reason }) => {
                if let Some(stored) = self.sink.stored_tokens().await
                    && stored.org_id == tokens.org_id
                    && stored.refresh_token.is_some()
                    && stored.refresh_token != tokens.refresh_token
                {
                    // Another process refreshed (and rotated) meanwhile: use its tokens.
                    tracing::info!(org_id = %self.org_id, "adopting tokens refreshed by another process");
                    *tokens = stored;
                    let mut current = self.current.write();
                    current.token = tokens.access_token.clone();
                    current.instance_url = tokens.instance_url.clone();
                    current.generation += 1;
                    return Ok(());
                }
                tracing::warn!(org_id = %self.org_id, %reason, "the Salesforce refresh token was refused");
                Err(self.disconnect(&reason))
            }
            Err(e) => Err(e),
        }
    }
}

/// Sessions by org id, so independent workers of one process share one session (and one
/// refresher) per org. Entries go away when the last client drops its session.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    sessions: parking_lot::Mutex<HashMap<String, Weak<Session>>>,
}

impl SessionRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The live session of the org in `tokens`, or a new one built from them.
    pub fn session(
        &self,
        app: &SalesforceApp,
        tokens: TokenSet,
        sink: Arc<dyn TokenSink>,
    ) -> Arc<Session> {
        let mut map = self.sessions.lock();
        map.retain(|_, s| s.strong_count() > 0);
        if let Some(live) = map.get(&tokens.org_id).and_then(Weak::upgrade) {
            return live;
        }
        let org = tokens.org_id.clone();
        let session = Arc::new(Session::new(app.clone(), tokens, sink));
        map.insert(org, Arc::downgrade(&session));
        session
    }
}
