//! [`SalesforceApp`]: the connected app (key, secret, login hosts, CA) and its HTTP
//! client; the entry point for OAuth and for building [`crate::OrgClient`]s.

use std::sync::Arc;

use crate::config::SalesforceConfig;
use crate::error::SalesforceError;

/// A Salesforce connected app as configured: cheap to clone, shares one connection pool.
#[derive(Debug, Clone)]
pub struct SalesforceApp {
    inner: Arc<AppInner>,
}

#[derive(Debug)]
struct AppInner {
    config: SalesforceConfig,
    http: reqwest::Client,
}

impl SalesforceApp {
    /// Validates the configuration and builds the HTTP client (trusting `ca_pem` on top of
    /// the system's roots).
    ///
    /// # Errors
    /// [`SalesforceError::Config`] for a bad setting or an unreadable CA certificate.
    pub fn new(config: SalesforceConfig) -> Result<Self, SalesforceError> {
        config.validate()?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent.clone())
            .pool_idle_timeout(std::time::Duration::from_secs(90));
        if let Some(pem) = &config.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                SalesforceError::Config(format!("ca_pem is not a PEM certificate: {e}"))
            })?;
            if certs.is_empty() {
                return Err(SalesforceError::Config(
                    "ca_pem holds no certificate".into(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| {
            SalesforceError::Config(format!("building the HTTP client failed: {e}"))
        })?;
        Ok(Self {
            inner: Arc::new(AppInner { config, http }),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SalesforceConfig {
        &self.inner.config
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}
