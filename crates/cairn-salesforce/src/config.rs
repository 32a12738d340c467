//! Connector configuration: the login hosts (real Salesforce or the emulator — same code),
//! the connected app's credentials, the pinned API version, the CA to trust, timeouts,
//! the retry policy and the read tuning (page size, Bulk threshold, watermark overlap).

use std::time::Duration;

use url::Url;

use crate::Secret;
use crate::error::SalesforceError;

/// Production / Developer Edition login host.
pub const PRODUCTION_LOGIN_URL: &str = "https://login.salesforce.com";
/// Sandbox login host.
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";
/// The API version this connector is written and tested against (research note §2.1:
/// pin one version and record it with every backup).
pub const DEFAULT_API_VERSION: &str = "62.0";

/// Which login host an org authenticates through. Fixed for a task once chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// `login.salesforce.com`.
    Production,
    /// `test.salesforce.com`.
    Sandbox,
}

/// Network timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP + TLS).
    pub connect: Duration,
    /// A whole JSON call, response body included (blob and CSV streams are exempt).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            // REST/SOAP calls time out after 10 minutes on Salesforce's side (§2.8).
            request: Duration::from_secs(600),
        }
    }
}

/// How failed calls are retried: 5xx, transport failures, 429 and the concurrent-request
/// limit back off exponentially with jitter, a bounded number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one call.
    pub max_retries: u32,
    /// First backoff step; doubled per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest single backoff.
    pub backoff_max: Duration,
    /// First wait between polls of an asynchronous job (Bulk query, metadata retrieve).
    pub poll_initial: Duration,
    /// Longest wait between polls.
    pub poll_max: Duration,
    /// Give up on an asynchronous job after this long.
    pub poll_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            poll_initial: Duration::from_millis(500),
            poll_max: Duration::from_secs(30),
            poll_timeout: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1-based): `base * 2^(attempt-1)`, capped,
    /// then "equal jitter" (half fixed, half random) so parallel workers spread out.
    #[must_use]
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.backoff_max);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    /// The wait before poll number `attempt` (0-based) of an asynchronous job.
    #[must_use]
    pub fn poll_wait(&self, attempt: u32) -> Duration {
        self.poll_initial
            .saturating_mul(1u32 << attempt.min(10))
            .min(self.poll_max)
    }
}

/// Everything the connector needs to talk to Salesforce (or the emulator).
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// Production login host base URL; OAuth endpoints are under
    /// `{login}/services/oauth2/`.
    pub production_login_url: Url,
    /// Sandbox login host base URL.
    pub sandbox_login_url: Url,
    /// Connected app consumer key (`client_id`).
    pub client_id: String,
    /// Connected app consumer secret.
    pub client_secret: Secret,
    /// Pinned API version, `62.0`.
    pub api_version: String,
    /// Extra CA certificate (PEM) to trust, e.g. the emulator's.
    pub ca_pem: Option<String>,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// Network timeouts.
    pub timeouts: Timeouts,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// `Sforce-Query-Options: batchSize` (200–2000; Salesforce may return fewer).
    pub query_batch_size: u32,
    /// Objects with more changed records than this (by `COUNT()`) are read with a Bulk
    /// API 2.0 query instead of REST pages. `u64::MAX` disables Bulk.
    pub bulk_threshold: u64,
    /// Rows per Bulk results chunk (`maxRecords`): one page, held in memory while it is
    /// parsed. 20,000 rows cost 50 calls per million records.
    pub bulk_chunk_records: u32,
    /// How far before the watermark an incremental read looks again, because
    /// `SystemModstamp` is taken before commit (§2.6). Rows already read at the same
    /// stamp are recognised and skipped.
    pub watermark_overlap: Duration,
    /// Requests in flight per org, across every client of its [`crate::Session`]: the
    /// org allows 25 long-running (≥ 20 s) requests at once, shared with the customer's
    /// other integrations (§2.8, §7).
    pub max_concurrent_requests: usize,
    /// `User-Agent` sent with every call.
    pub user_agent: String,
}

fn parse_url(text: &'static str) -> Url {
    // Only called with the constants above, which `real_defaults_are_valid` parses.
    Url::parse(text).expect("the built-in Salesforce URLs are valid")
}

impl SalesforceConfig {
    /// A configuration for the real Salesforce.
    #[must_use]
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            production_login_url: parse_url(PRODUCTION_LOGIN_URL),
            sandbox_login_url: parse_url(SANDBOX_LOGIN_URL),
            client_id: client_id.into(),
            client_secret,
            api_version: DEFAULT_API_VERSION.to_owned(),
            ca_pem: None,
            scopes: vec!["api".into(), "refresh_token".into()],
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            query_batch_size: 2000,
            bulk_threshold: 20_000,
            bulk_chunk_records: 20_000,
            watermark_overlap: Duration::from_secs(5 * 60),
            max_concurrent_requests: 10,
            user_agent: format!("cairn-salesforce/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Checks the values a caller could get wrong.
    ///
    /// # Errors
    /// [`SalesforceError::Config`] naming the bad setting.
    pub fn validate(&self) -> Result<(), SalesforceError> {
        let bad = |m: String| Err(SalesforceError::Config(m));
        for (name, url) in [
            ("production_login_url", &self.production_login_url),
            ("sandbox_login_url", &self.sandbox_login_url),
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
        if self.client_id.trim().is_empty() {
            return bad("client_id is empty".into());
        }
        if self.client_secret.is_empty() {
            return bad("client_secret is empty".into());
        }
        let version_ok = self
            .api_version
            .split_once('.')
            .is_some_and(|(major, minor)| {
                major.parse::<u32>().is_ok_and(|m| m >= 47) && minor == "0"
            });
        if !version_ok {
            return bad(format!(
                "api_version must look like 62.0 (47.0 or later for Bulk API 2.0 queries), got {:?}",
                self.api_version
            ));
        }
        if !(200..=2000).contains(&self.query_batch_size) {
            return bad(format!(
                "query_batch_size must be 200..=2000, got {}",
                self.query_batch_size
            ));
        }
        if self.max_concurrent_requests == 0 {
            return bad("max_concurrent_requests must be at least 1".into());
        }
        if self.bulk_chunk_records == 0 {
            return bad("bulk_chunk_records must be at least 1".into());
        }
        if self.timeouts.connect.is_zero() || self.timeouts.request.is_zero() {
            return bad("timeouts must be positive".into());
        }
        Ok(())
    }

    /// The login host for an environment.
    #[must_use]
    pub fn login_url(&self, env: Environment) -> &Url {
        match env {
            Environment::Production => &self.production_login_url,
            Environment::Sandbox => &self.sandbox_login_url,
        }
    }

    /// `/services/data/v62.0`.
    #[must_use]
    pub fn data_path(&self) -> String {
        format!("/services/data/v{}", self.api_version)
    }
}

/// Joins a base URL (which may carry a path prefix, as the emulator's login hosts do) and
/// a path starting with `/`.
pub(crate) fn join(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_defaults_are_valid() {
        let c = SalesforceConfig::new("key", Secret::new("secret"));
        c.validate().unwrap();
        assert_eq!(
            join(c.login_url(Environment::Sandbox), "/services/oauth2/token"),
            "https://test.salesforce.com/services/oauth2/token"
        );
        assert_eq!(c.data_path(), "/services/data/v62.0");
        assert!(format!("{c:?}").contains("<redacted>"));
        assert!(!format!("{c:?}").contains("\"secret\""));
    }

    #[test]
    fn prefixed_login_hosts_keep_their_prefix() {
        let base = Url::parse("http://127.0.0.1:9/login").unwrap();
        assert_eq!(
            join(&base, "/services/oauth2/authorize"),
            "http://127.0.0.1:9/login/services/oauth2/authorize"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let ok = || SalesforceConfig::new("k", Secret::new("s"));
        let mut c = ok();
        c.query_batch_size = 100;
        assert!(matches!(c.validate(), Err(SalesforceError::Config(_))));
        let mut c = ok();
        c.api_version = "v62".into();
        assert!(c.validate().is_err());
        c.api_version = "40.0".into();
        assert!(c.validate().is_err());
        let c = SalesforceConfig::new("k", Secret::new(""));
        assert!(c.validate().is_err());
        let mut c = ok();
        c.sandbox_login_url = Url::parse("ftp://x").unwrap();
        assert!(c.validate().is_err());
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
        assert_eq!(p.poll_wait(0), Duration::from_millis(500));
        assert_eq!(p.poll_wait(10), Duration::from_secs(30));
    }
}
