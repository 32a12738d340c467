//! Connector configuration: endpoints (real Dropbox or an emulator — same code), the app's
//! credentials, the CA to trust, timeouts, retry policy and concurrency.

use std::time::Duration;

use url::Url;

use crate::Secret;
use crate::error::DropboxError;

/// Dropbox's RPC host.
pub const DROPBOX_API_URL: &str = "https://api.dropboxapi.com";
/// Dropbox's content host (downloads, uploads).
pub const DROPBOX_CONTENT_URL: &str = "https://content.dropboxapi.com";
/// Dropbox's long-poll host.
pub const DROPBOX_NOTIFY_URL: &str = "https://notify.dropboxapi.com";
/// Where a browser is sent to link the app.
pub const DROPBOX_AUTHORIZE_URL: &str = "https://www.dropbox.com/oauth2/authorize";

/// Network timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP + TLS).
    pub connect: Duration,
    /// A whole RPC call, response body included.
    pub request: Duration,
    /// The longest silence between two chunks of a download before it is resumed.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            request: Duration::from_secs(120),
            idle: Duration::from_secs(60),
        }
    }
}

/// How failed calls are retried.
///
/// Rate limits (429) wait for what Dropbox asks (`retry_after` in the body, then the
/// `Retry-After` header, then [`RetryPolicy::default_retry_after`]); server errors and
/// dropped connections back off exponentially with jitter from
/// [`RetryPolicy::backoff_base`]. Tests shrink these to milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after 5xx answers and transport failures (timeouts, resets).
    pub max_server_retries: u32,
    /// First backoff step; doubled per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest single backoff.
    pub backoff_max: Duration,
    /// Retries after 429 answers for one call.
    pub max_rate_limit_retries: u32,
    /// Wait when a 429 names none.
    pub default_retry_after: Duration,
    /// A 429 asking for a longer wait fails the call with
    /// [`DropboxError::RateLimited`] instead, so a job can pause and come back.
    pub max_retry_after: Duration,
    /// Times one download may resume with `Range` after a dropped connection.
    pub max_download_resumes: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_server_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            max_rate_limit_retries: 20,
            default_retry_after: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(15 * 60),
            max_download_resumes: 5,
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1-based): `base * 2^(attempt-1)`, capped,
    /// then "equal jitter" (half fixed, half random) so parallel clients spread out.
    #[must_use]
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.backoff_max);
        let half = exp / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        half + jitter
    }
}

/// Everything the connector needs to talk to Dropbox (or the emulator).
#[derive(Debug, Clone)]
pub struct DropboxConfig {
    /// RPC host base URL (`https://api.dropboxapi.com`); `/2/…` and `/oauth2/token` go here.
    pub api_url: Url,
    /// Content host base URL (downloads and uploads).
    pub content_url: Url,
    /// Long-poll host base URL.
    pub notify_url: Url,
    /// The browser authorization page (`https://www.dropbox.com/oauth2/authorize`).
    pub authorize_url: Url,
    /// App key (`client_id`).
    pub app_key: String,
    /// App secret; `None` for a PKCE-only public client.
    pub app_secret: Option<Secret>,
    /// Extra CA certificate (PEM) to trust, e.g. the emulator's.
    pub ca_pem: Option<String>,
    /// Scopes to request; `None` asks for every scope configured for the app.
    pub scopes: Option<Vec<String>>,
    /// Network timeouts.
    pub timeouts: Timeouts,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Concurrent requests and download streams per acting member (the unit Dropbox
    /// rate-limits). Calls made as the admin (team folders, suspended members) share the
    /// admin's slots; team-wide calls share one "team" slot pool.
    pub max_concurrency_per_member: usize,
    /// `limit` of each `files/list_folder` page (1..=2000; approximate on Dropbox).
    pub list_page_limit: u32,
    /// Bytes per upload-session call when restoring large files: a multiple of 4 MiB, at
    /// most 148 MiB. Each call is one data-transport call, so bigger is cheaper (§3.6, §9).
    pub upload_chunk_size: usize,
    /// Refresh the access token this long before it expires.
    pub refresh_margin: Duration,
    /// `User-Agent` sent with every call.
    pub user_agent: String,
}

fn parse_url(text: &'static str) -> Url {
    // Only called with the constants above, which `real_dropbox_defaults_are_valid` parses.
    Url::parse(text).expect("the built-in Dropbox URLs are valid")
}

impl DropboxConfig {
    /// A configuration for the real Dropbox.
    #[must_use]
    pub fn new(app_key: impl Into<String>, app_secret: Option<Secret>) -> Self {
        Self {
            api_url: parse_url(DROPBOX_API_URL),
            content_url: parse_url(DROPBOX_CONTENT_URL),
            notify_url: parse_url(DROPBOX_NOTIFY_URL),
            authorize_url: parse_url(DROPBOX_AUTHORIZE_URL),
            app_key: app_key.into(),
            app_secret,
            ca_pem: None,
            scopes: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            max_concurrency_per_member: 4,
            list_page_limit: 2000,
            upload_chunk_size: 64 * 1024 * 1024,
            refresh_margin: Duration::from_secs(300),
            user_agent: format!("cairn-dropbox/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Checks the values a caller could get wrong.
    ///
    /// # Errors
    /// [`DropboxError::Config`] naming the bad setting.
    pub fn validate(&self) -> Result<(), DropboxError> {
        let bad = |m: String| Err(DropboxError::Config(m));
        for (name, url) in [
            ("api_url", &self.api_url),
            ("content_url", &self.content_url),
            ("notify_url", &self.notify_url),
            ("authorize_url", &self.authorize_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return bad(format!(
                    "{name} must be an http(s) URL with a host, got {url}"
                ));
            }
            if url.query().is_some() {
                return bad(format!("{name} must not carry a query, got {url}"));
            }
        }
        if self.app_key.trim().is_empty() {
            return bad("app_key is empty".into());
        }
        if self.app_secret.as_ref().is_some_and(Secret::is_empty) {
            return bad("app_secret is empty (leave it unset for a PKCE-only app)".into());
        }
        if !(1..=2000).contains(&self.list_page_limit) {
            return bad(format!(
                "list_page_limit must be 1..=2000, got {}",
                self.list_page_limit
            ));
        }
        const BLOCK: usize = 4 * 1024 * 1024;
        if self.upload_chunk_size == 0
            || !self.upload_chunk_size.is_multiple_of(BLOCK)
            || self.upload_chunk_size > 37 * BLOCK
        {
            return bad(format!(
                "upload_chunk_size must be a multiple of 4 MiB up to 148 MiB, got {}",
                self.upload_chunk_size
            ));
        }
        if self.max_concurrency_per_member == 0 {
            return bad("max_concurrency_per_member must be at least 1".into());
        }
        if self.timeouts.connect.is_zero()
            || self.timeouts.request.is_zero()
            || self.timeouts.idle.is_zero()
        {
            return bad("timeouts must be positive".into());
        }
        Ok(())
    }

    /// `<api_url>/<path>` (path without a leading slash).
    pub(crate) fn api(&self, path: &str) -> String {
        join(&self.api_url, path)
    }

    /// `<content_url>/<path>`.
    pub(crate) fn content(&self, path: &str) -> String {
        join(&self.content_url, path)
    }

    /// `<notify_url>/<path>`.
    pub(crate) fn notify(&self, path: &str) -> String {
        join(&self.notify_url, path)
    }
}

/// Joins a base URL (which may carry a path prefix, e.g. behind a proxy) and a path.
fn join(base: &Url, path: &str) -> String {
    format!("{}/{}", base.as_str().trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_dropbox_defaults_are_valid() {
        let c = DropboxConfig::new("key", Some(Secret::new("secret")));
        c.validate().unwrap();
        assert_eq!(
            c.api("2/team/get_info"),
            "https://api.dropboxapi.com/2/team/get_info"
        );
        assert_eq!(
            c.content("2/files/download"),
            "https://content.dropboxapi.com/2/files/download"
        );
        assert!(format!("{c:?}").contains("<redacted>"));
        assert!(!format!("{c:?}").contains("secret\""));
    }

    #[test]
    fn prefixed_bases_keep_their_prefix() {
        let mut c = DropboxConfig::new("key", None);
        c.api_url = Url::parse("http://127.0.0.1:9/proxy/dropbox/").unwrap();
        assert_eq!(
            c.api("oauth2/token"),
            "http://127.0.0.1:9/proxy/dropbox/oauth2/token"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut c = DropboxConfig::new("key", None);
        c.list_page_limit = 0;
        assert!(matches!(c.validate(), Err(DropboxError::Config(_))));
        let mut c = DropboxConfig::new("", None);
        assert!(c.validate().is_err());
        c.app_key = "k".into();
        c.api_url = Url::parse("ftp://x").unwrap();
        assert!(c.validate().is_err());
        let mut c = DropboxConfig::new("k", Some(Secret::new("")));
        assert!(c.validate().is_err());
        c.app_secret = None;
        c.max_concurrency_per_member = 0;
        assert!(c.validate().is_err());
        let mut c = DropboxConfig::new("k", None);
        c.upload_chunk_size = 5 << 20;
        assert!(c.validate().is_err());
        c.upload_chunk_size = 152 << 20;
        assert!(c.validate().is_err());
        c.upload_chunk_size = 148 << 20;
        c.validate().unwrap();
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let p = RetryPolicy {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for attempt in 1..=10 {
            let exp = (100u64 << (attempt - 1)).min(1000);
            let d = p.backoff(attempt).as_millis() as u64;
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d} vs {exp}");
        }
    }
}
