//! The application state every handler receives, and the settings it is built from.

use std::sync::Arc;

use url::Url;

use cairn_domain::auth::AuthSettings;
use cairn_domain::{Region, SharedClock};
use cairn_mail::Mailer;
use cairn_meta::MetaStore;

use crate::error::WebError;
use crate::metrics::Metrics;
use crate::security::csrf::{self, CsrfKey};
use crate::security::mail_limit::MailLimiter;
use crate::security::passwords::PasswordHasher;
use crate::security::tokens;
use crate::tasks::{Connectors, OAuthPending};

/// What the web layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The address users reach the portal at; links in emails are built from it.
    pub public_url: Url,
    /// Mark cookies `Secure` (the portal is served over HTTPS, directly or via a proxy).
    pub secure_cookies: bool,
    /// Demo mode: enables `/dev/mailbox`.
    pub demo: bool,
    /// Sign-in policy.
    pub auth: AuthSettings,
    /// Regions offered at sign-up (at least one).
    pub regions: Vec<Region>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl WebSettings {
    /// Settings for a portal at `public_url` with every other value at its default.
    #[must_use]
    pub fn new(public_url: Url) -> Self {
        let secure_cookies = public_url.scheme() == "https";
        Self {
            public_url,
            secure_cookies,
            demo: false,
            auth: AuthSettings::default(),
            regions: vec![Region::local()],
            max_body_bytes: 1024 * 1024,
            trust_forwarded_for: false,
        }
    }

    /// An absolute URL for `path_and_query` (which starts with `/`) under the public URL,
    /// keeping any path prefix the public URL has (a portal served under `/cairn/`).
    #[must_use]
    pub fn link(&self, path_and_query: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }
}

/// Shared state: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    settings: WebSettings,
    store: MetaStore,
    mailer: Mailer,
    clock: SharedClock,
    metrics: Metrics,
    csrf_key: CsrfKey,
    passwords: PasswordHasher,
    mail_limiter: MailLimiter,
    connectors: Connectors,
    oauth_pending: OAuthPending,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.0.settings)
            .field("store", &self.0.store.display_url())
            .field("mailer", &self.0.mailer)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state: loads (or creates) the CSRF key in the meta store and prepares
    /// the password hasher. `connectors` are the services tasks can be connected to
    /// ([`Connectors::default`]: none).
    ///
    /// # Errors
    /// Meta store failures.
    pub async fn new(
        settings: WebSettings,
        store: MetaStore,
        mailer: Mailer,
        clock: SharedClock,
        connectors: Connectors,
    ) -> Result<Self, WebError> {
        let candidate = tokens::issue().hash;
        let key_bytes = store
            .instance_secrets()
            .get_or_create(csrf::SECRET_NAME, &candidate, clock.now())
            .await?;
        let csrf_key = CsrfKey::from_bytes(&key_bytes).ok_or_else(|| {
            WebError::Meta(cairn_meta::MetaError::Corrupt {
                detail: format!("instance secret {} is not 32 bytes", csrf::SECRET_NAME),
            })
        })?;
        let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
        let passwords = PasswordHasher::new(parallelism).await?;
        Ok(Self(Arc::new(Inner {
            settings,
            store,
            mailer,
            clock,
            metrics: Metrics::new(),
            csrf_key,
            passwords,
            mail_limiter: MailLimiter::default(),
            connectors,
            oauth_pending: OAuthPending::default(),
        })))
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &WebSettings {
        &self.0.settings
    }

    /// The meta store.
    #[must_use]
    pub fn store(&self) -> &MetaStore {
        &self.0.store
    }

    /// The mailer.
    #[must_use]
    pub fn mailer(&self) -> &Mailer {
        &self.0.mailer
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SharedClock {
        &self.0.clock
    }

    /// Request and sign-in counters.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The CSRF signing key.
    #[must_use]
    pub fn csrf_key(&self) -> &CsrfKey {
        &self.0.csrf_key
    }

    /// The password hasher.
    #[must_use]
    pub fn passwords(&self) -> &PasswordHasher {
        &self.0.passwords
    }

    /// The connectors tasks can be connected to.
    #[must_use]
    pub fn connectors(&self) -> &Connectors {
        &self.0.connectors
    }

    /// OAuth authorizations in flight.
    #[must_use]
    pub(crate) fn oauth_pending(&self) -> &OAuthPending {
        &self.0.oauth_pending
    }

    /// The per-recipient cap on account emails.
    #[must_use]
    pub fn mail_limiter(&self) -> &MailLimiter {
        &self.0.mail_limiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_public_path_prefix() {
        let settings = WebSettings::new(Url::parse("https://backup.example.com/cairn/").unwrap());
        assert!(settings.secure_cookies);
        assert_eq!(
            settings.link("/activate?token=x"),
            "https://backup.example.com/cairn/activate?token=x"
        );
        let plain = WebSettings::new(Url::parse("http://127.0.0.1:8080").unwrap());
        assert!(!plain.secure_cookies);
        assert_eq!(plain.link("/sign-in"), "http://127.0.0.1:8080/sign-in");
    }
}
