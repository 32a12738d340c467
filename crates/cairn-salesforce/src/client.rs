//! [`OrgClient`]: calls to one connected org with everything around them — the budget
//! check, the bearer token (refreshed once on `INVALID_SESSION_ID`, shared with every
//! other client of the org), `Sforce-Limit-Info` accounting, and the retry policy:
//! 5xx, 429, transport failures and `ConcurrentRequests` limits back off with jitter a
//! bounded number of times; `TotalRequests` ends the run as
//! [`SalesforceError::BudgetExhausted`]; everything else fails at once with Salesforce's
//! `errorCode` and message (research note §1.8, §2.8, pitfall 11).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::SalesforceApp;
use crate::budget::{ApiBudget, parse_limit_info};
use crate::config::SalesforceConfig;
use crate::error::{SalesforceError, excerpt, first_error};
use crate::tokens::Session;

/// Replaced by the session id in SOAP envelopes (SOAP carries it in the body).
pub(crate) const SESSION_PLACEHOLDER: &str = "{{cairn-session-id}}";

/// What a request sends.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    /// A SOAP envelope with [`SESSION_PLACEHOLDER`] where the session id goes.
    Soap {
        action: String,
        envelope: String,
    },
}

/// One request to the org's instance.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// A path on the instance (`/services/data/v62.0/…`), query included if any.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// No total timeout (blob and CSV streams).
    pub stream: bool,
}

impl Request {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            stream: false,
        }
    }

    pub(crate) fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Counters of what a client did.
#[derive(Debug, Default)]
pub struct ClientStats {
    retries: AtomicU64,
    session_refreshes_waited: AtomicU64,
    blob_downloads: AtomicU64,
}

impl ClientStats {
    /// Calls repeated after a 5xx, 429, transport failure or concurrency limit.
    #[must_use]
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    /// Times a call met an invalid session and went through the refresher.
    #[must_use]
    pub fn session_renewals(&self) -> u64 {
        self.session_refreshes_waited.load(Ordering::Relaxed)
    }
    /// Blob bodies opened (one API call each: Salesforce has no batch download).
    #[must_use]
    pub fn blob_downloads(&self) -> u64 {
        self.blob_downloads.load(Ordering::Relaxed)
    }
    pub(crate) fn count_blob_download(&self) {
        self.blob_downloads.fetch_add(1, Ordering::Relaxed);
    }
}

/// A client of one connected org: cheap to clone; clones share the session, budget and
/// counters.
#[derive(Debug, Clone)]
pub struct OrgClient {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
struct ClientInner {
    session: Arc<Session>,
    budget: Arc<ApiBudget>,
    stats: ClientStats,
    /// The org's clock as of the last answer (epoch ms; 0 while unknown).
    server_time: AtomicI64,
}

enum Failure {
    Session(String),
    Retry { status: u16, message: String },
    Fatal(SalesforceError),
}

impl OrgClient {
    /// A client of the org behind `session`, spending from `budget`.
    #[must_use]
    pub fn new(session: Arc<Session>, budget: Arc<ApiBudget>) -> Self {
        Self {
            inner: Arc::new(ClientInner {
                session,
                budget,
                stats: ClientStats::default(),
                server_time: AtomicI64::new(0),
            }),
        }
    }

    /// The org's session.
    #[must_use]
    pub fn session(&self) -> &Arc<Session> {
        &self.inner.session
    }

    /// The run's API budget.
    #[must_use]
    pub fn budget(&self) -> &Arc<ApiBudget> {
        &self.inner.budget
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &ClientStats {
        &self.inner.stats
    }

    /// The app.
    #[must_use]
    pub fn app(&self) -> &SalesforceApp {
        self.inner.session.app()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SalesforceConfig {
        self.app().config()
    }

    /// `/services/data/v62.0` + `rest`.
    pub(crate) fn data(&self, rest: &str) -> String {
        format!("{}{rest}", self.config().data_path())
    }

    /// Reads `/limits` and primes the budget with `DailyApiRequests`. Returns
    /// `(used, max)`.
    ///
    /// # Errors
    /// API errors; [`SalesforceError::BudgetExhausted`] if the budget is already spent.
    pub async fn load_limits(&self) -> Result<(u64, u64), SalesforceError> {
        let path = self.data("/limits/");
        let limits: Value = self.get_json(Request::get(path.clone())).await?;
        let daily = &limits["DailyApiRequests"];
        let (Some(max), Some(remaining)) = (daily["Max"].as_u64(), daily["Remaining"].as_u64())
        else {
            return Err(SalesforceError::protocol(
                &path,
                "no DailyApiRequests Max/Remaining in /limits",
            ));
        };
        let used = max.saturating_sub(remaining);
        self.inner.budget.observe(used, max);
        Ok((used, max))
    }

    /// A GET (or any request) whose answer is JSON. A connection dropped while the body
    /// is read is retried like one dropped before the answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        req: Request,
    ) -> Result<T, SalesforceError> {
        let path = req.path.clone();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let response = self.send(req.clone()).await?;
            match response.bytes().await {
                Ok(bytes) => {
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        SalesforceError::protocol(
                            &path,
                            format!("the answer is not the expected JSON: {e}"),
                        )
                    });
                }
                Err(source) if attempts <= self.config().retry.max_retries => {
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%path, error = %source, "reading an answer failed; retrying");
                    tokio::time::sleep(self.config().retry.backoff(attempts)).await;
                }
                Err(source) => {
                    return Err(SalesforceError::Transport {
                        path,
                        attempts,
                        source,
                    });
                }
            }
        }
    }

    /// Sends a request with auth, budget and retries; returns the successful response
    /// with its body unread.
    pub(crate) async fn send(&self, req: Request) -> Result<Response, SalesforceError> {
        let session = &self.inner.session;
        let config = self.config();
        let policy = &config.retry;
        let mut attempts = 0u32;
        let mut renewed = false;
        loop {
            attempts += 1;
            self.inner.budget.admit()?;
            let lease = session.lease()?;
            let url = format!("{}{}", lease.instance_url, req.path);
            let mut builder = self.app().http().request(req.method.clone(), &url);
            if !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            if !req.stream {
                builder = builder.timeout(config.timeouts.request);
            }
            for (name, value) in &req.headers {
                builder = builder.header(*name, value);
            }
            builder = match &req.body {
                Body::Empty => builder.bearer_auth(lease.token.expose()),
                Body::Json(b) => builder
                    .bearer_auth(lease.token.expose())
                    .header(CONTENT_TYPE, "application/json")
                    .body(b.clone()),
                Body::Soap { action, envelope } => builder
                    .header(CONTENT_TYPE, "text/xml; charset=UTF-8")
                    .header("SOAPAction", action.as_str())
                    .body(envelope.replace(SESSION_PLACEHOLDER, lease.token.expose())),
            };
            let slot = session.request_slot().await;
            let sent = builder.send().await;
            drop(slot);
            let failure = match sent {
                Ok(response) => {
                    self.observe_usage(response.headers());
                    if response.status().is_success() {
                        return Ok(response);
                    }
                    self.classify(&req, response).await
                }
                Err(source) if attempts <= policy.max_retries => Failure::Retry {
                    status: 0,
                    message: source.to_string(),
                },
                Err(source) => {
                    return Err(SalesforceError::Transport {
                        path: req.path.clone(),
                        attempts,
                        source,
                    });
                }
            };
            match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Session(message) => {
                    if renewed {
                        // Still refused after a refresh: no point looping (§1.8).
                        return Err(session.disconnect(&format!(
                            "the session is refused even after a refresh: {message}"
                        )));
                    }
                    renewed = true;
                    attempts -= 1;
                    self.inner
                        .stats
                        .session_refreshes_waited
                        .fetch_add(1, Ordering::Relaxed);
                    session.refresh_after(lease.generation).await?;
                }
                Failure::Retry { status, message } => {
                    if attempts > policy.max_retries {
                        return Err(SalesforceError::Server {
                            path: req.path.clone(),
                            status,
                            message,
                            attempts,
                        });
                    }
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = policy.backoff(attempts);
                    tracing::debug!(path = %req.path, status, ?wait, %message, "retrying a Salesforce call");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The org's clock as of the last answer (epoch ms), from its `Date` header. Replication
    /// windows (getDeleted) are expressed in the org's time, not ours.
    #[must_use]
    pub fn server_now_ms(&self) -> Option<i64> {
        let t = self.inner.server_time.load(Ordering::Relaxed);
        (t != 0).then_some(t)
    }

    fn observe_usage(&self, headers: &HeaderMap) {
        // The emulator runs its own clock and says so; real orgs only send `Date`.
        let emulated = headers
            .get("x-emulated-time")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::record::parse_datetime);
        let date = || {
            headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
                .map(|d| d.timestamp_millis())
        };
        if let Some(t) = emulated.or_else(date) {
            self.inner.server_time.store(t, Ordering::Relaxed);
        }
        if let Some((used, max)) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info)
        {
            self.inner.budget.observe(used, max);
        }
    }

    async fn classify(&self, req: &Request, response: Response) -> Failure {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let soap = matches!(req.body, Body::Soap { .. });
        if soap && text.contains("INVALID_SESSION_ID") {
            return Failure::Session("INVALID_SESSION_ID".into());
        }
        let (code, message) = first_error(&text).unwrap_or_else(|| (String::new(), excerpt(&text)));
        match status {
            StatusCode::UNAUTHORIZED if code == "INVALID_SESSION_ID" || code.is_empty() => {
                if message.contains("not valid for use with the REST API") {
                    // IP or session-policy restrictions: a refresh cannot fix this.
                    return Failure::Fatal(self.inner.session.disconnect(&message));
                }
                Failure::Session(message)
            }
            StatusCode::FORBIDDEN if code == "REQUEST_LIMIT_EXCEEDED" => {
                if message.contains("ConcurrentRequests") {
                    Failure::Retry {
                        status: status.as_u16(),
                        message,
                    }
                } else {
                    Failure::Fatal(self.inner.budget.org_exhausted())
                }
            }
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                if soap
                    && s == StatusCode::INTERNAL_SERVER_ERROR
                    && text.contains("<faultcode>")
                    && !text.contains("UNKNOWN_EXCEPTION")
                {
                    // A SOAP fault is a definite answer, not an outage.
                    return Failure::Fatal(SalesforceError::Soap {
                        operation: req.path.clone(),
                        message: soap_fault(&text),
                    });
                }
                Failure::Retry {
                    status: s.as_u16(),
                    message: if code.is_empty() {
                        message
                    } else {
                        format!("{code}: {message}")
                    },
                }
            }
            s => Failure::Fatal(SalesforceError::Api {
                path: req.path.clone(),
                status: s.as_u16(),
                code,
                message,
            }),
        }
    }
}

/// The `faultstring` of a SOAP fault.
pub(crate) fn soap_fault(text: &str) -> String {
    text.split_once("<faultstring>")
        .and_then(|(_, rest)| rest.split_once("</faultstring>"))
        .map_or_else(|| excerpt(text), |(s, _)| s.to_owned())
}
