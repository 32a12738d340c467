//! `[salesforce]` and `[dropbox]`: where the connectors find the services (the real ones
//! by default, the built-in emulators in the demo and tests), the OAuth client
//! credentials of Cairn's connected app / Dropbox app, and an extra CA to trust.
//!
//! A service whose client id is empty is "not configured": the portal refuses to create
//! tasks for it with a message saying so, instead of sending users to a login page that
//! will reject the request.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::error::Error;

/// `[salesforce]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforceSection {
    /// Production / Developer Edition login host.
    pub production_login_url: String,
    /// Sandbox login host.
    pub sandbox_login_url: String,
    /// The connected app's consumer key; empty = Salesforce not configured.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: Option<Secret>,
    /// PEM file with an extra CA certificate to trust (the emulator's).
    pub ca_file: Option<PathBuf>,
}

impl Default for SalesforceSection {
    fn default() -> Self {
        Self {
            production_login_url: cairn_salesforce::config::PRODUCTION_LOGIN_URL.to_owned(),
            sandbox_login_url: cairn_salesforce::config::SANDBOX_LOGIN_URL.to_owned(),
            client_id: String::new(),
            client_secret: None,
            ca_file: None,
        }
    }
}

/// `[dropbox]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DropboxSection {
    /// RPC host (`/2/…`, `/oauth2/token`).
    pub api_url: String,
    /// Content host (downloads, uploads).
    pub content_url: String,
    /// Long-poll host.
    pub notify_url: String,
    /// The browser authorization page.
    pub authorize_url: String,
    /// The Dropbox app's key; empty = Dropbox not configured.
    pub app_key: String,
    /// The app's secret (none for a PKCE-only app).
    pub app_secret: Option<Secret>,
    /// PEM file with an extra CA certificate to trust (the emulator's).
    pub ca_file: Option<PathBuf>,
}

impl Default for DropboxSection {
    fn default() -> Self {
        Self {
            api_url: "https://api.dropboxapi.com".to_owned(),
            content_url: "https://content.dropboxapi.com".to_owned(),
            notify_url: "https://notify.dropboxapi.com".to_owned(),
            authorize_url: "https://www.dropbox.com/oauth2/authorize".to_owned(),
            app_key: String::new(),
            app_secret: None,
            ca_file: None,
        }
    }
}

fn parse_url(key: &str, text: &str) -> Result<url::Url, Error> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(Error::Config(format!(
            "{key}: `{text}` is not an http:// or https:// URL"
        ))),
    }
}

fn read_ca(key: &str, file: Option<&PathBuf>) -> Result<Option<String>, Error> {
    file.map(|path| {
        std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{key}: cannot read {}: {e}", path.display())))
    })
    .transpose()
}

impl SalesforceSection {
    /// Whether a connected app is configured.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        !self.client_id.trim().is_empty()
    }

    /// The connector configuration, or `None` when Salesforce is not configured.
    ///
    /// # Errors
    /// [`Error::Config`] for bad URLs, a missing secret or an unreadable CA file.
    pub fn connector_config(&self) -> Result<Option<cairn_salesforce::SalesforceConfig>, Error> {
        if !self.is_configured() {
            return Ok(None);
        }
        let secret = self.client_secret.as_ref().ok_or_else(|| {
            Error::Config("salesforce.client_secret is required with a client_id".to_owned())
        })?;
        let mut config = cairn_salesforce::SalesforceConfig::new(
            self.client_id.trim(),
            cairn_salesforce::Secret::new(secret.expose()),
        );
        config.production_login_url = parse_url(
            "salesforce.production_login_url",
            &self.production_login_url,
        )?;
        config.sandbox_login_url =
            parse_url("salesforce.sandbox_login_url", &self.sandbox_login_url)?;
        config.ca_pem = read_ca("salesforce.ca_file", self.ca_file.as_ref())?;
        Ok(Some(config))
    }
}

impl DropboxSection {
    /// Whether a Dropbox app is configured.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        !self.app_key.trim().is_empty()
    }

    /// The connector configuration, or `None` when Dropbox is not configured.
    ///
    /// # Errors
    /// [`Error::Config`] for bad URLs or an unreadable CA file.
    pub fn connector_config(&self) -> Result<Option<cairn_dropbox::DropboxConfig>, Error> {
        if !self.is_configured() {
            return Ok(None);
        }
        let mut config = cairn_dropbox::DropboxConfig::new(
            self.app_key.trim(),
            self.app_secret
                .as_ref()
                .map(|s| cairn_dropbox::Secret::new(s.expose())),
        );
        config.api_url = parse_url("dropbox.api_url", &self.api_url)?;
        config.content_url = parse_url("dropbox.content_url", &self.content_url)?;
        config.notify_url = parse_url("dropbox.notify_url", &self.notify_url)?;
        config.authorize_url = parse_url("dropbox.authorize_url", &self.authorize_url)?;
        config.ca_pem = read_ca("dropbox.ca_file", self.ca_file.as_ref())?;
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_real_services_and_are_unconfigured() {
        let sf = SalesforceSection::default();
        assert_eq!(sf.production_login_url, "https://login.salesforce.com");
        assert!(!sf.is_configured());
        assert!(sf.connector_config().unwrap().is_none());
        let db = DropboxSection::default();
        assert_eq!(db.authorize_url, "https://www.dropbox.com/oauth2/authorize");
        assert!(db.connector_config().unwrap().is_none());
    }

    #[test]
    fn configured_sections_build_connector_configs() {
        let sf = SalesforceSection {
            client_id: "cid".into(),
            client_secret: Some(Secret::new("shh")),
            sandbox_login_url: "https://127.0.0.1:9443".into(),
            ..SalesforceSection::default()
        };
        let config = sf.connector_config().unwrap().unwrap();
        assert_eq!(config.client_id, "cid");
        assert_eq!(config.sandbox_login_url.as_str(), "https://127.0.0.1:9443/");
        let missing_secret = SalesforceSection {
            client_secret: None,
            ..sf
        };
        assert!(missing_secret.connector_config().is_err());
        let bad = DropboxSection {
            app_key: "k".into(),
            api_url: "ftp://nope".into(),
            ..DropboxSection::default()
        };
        let err = bad.connector_config().unwrap_err().to_string();
        assert!(err.contains("dropbox.api_url"), "{err}");
    }
}
