//! Sending one API call with everything around it: the bearer token (refreshed once on
//! `expired_access_token`), Select-User / Select-Admin and Path-Root headers, a slot of
//! the acting member, and the retry policy — 429s wait what Dropbox asks and pause the
//! member, 5xx and transport failures back off exponentially with jitter, everything
//! else fails at once with Dropbox's tags and summary kept (research note §6, §11).

use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_TYPE, HeaderMap, RANGE, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::ClientInner;
use crate::error::{ApiFailure, DropboxError, MemberUnavailableReason, excerpt, tag_chain};
use crate::limiter::{MemberPermit, TEAM_KEY};
use crate::observe::{Counters, RateLimitEvent, RetryEvent};

/// Who a call authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No `Authorization` (long-poll).
    None,
    /// The team token on a team route.
    Team,
    /// A user route as a member (`Dropbox-API-Select-User`).
    User {
        team_member_id: String,
        path_root: Option<String>,
    },
    /// A user route as the admin (`Dropbox-API-Select-Admin`).
    Admin {
        team_member_id: String,
        path_root: Option<String>,
    },
}

impl Auth {
    fn member(&self) -> Option<&str> {
        match self {
            Self::User { team_member_id, .. } | Self::Admin { team_member_id, .. } => {
                Some(team_member_id)
            }
            Self::None | Self::Team => None,
        }
    }

    /// The slot pool a call draws from; `None` for the long-poll, which only waits and
    /// must not hold a slot for minutes.
    fn limit_key(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Team => Some(TEAM_KEY),
            Self::User { team_member_id, .. } | Self::Admin { team_member_id, .. } => {
                Some(team_member_id)
            }
        }
    }
}

/// Which host a route lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    Api,
    Content,
    Notify,
}

/// What a call sends.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    /// An RPC: JSON body.
    Rpc(Vec<u8>),
    /// A download: the argument in `Dropbox-API-Arg`, optionally from an offset.
    Download { arg: String, from: u64 },
    /// An upload: the argument in `Dropbox-API-Arg`, the bytes as the body.
    Upload { arg: String, body: bytes::Bytes },
}

/// One call to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub route: &'static str,
    pub host: Host,
    pub auth: Auth,
    pub payload: Payload,
    /// Overrides the configured request timeout (`None`: no total timeout, for streams).
    pub timeout: Option<Duration>,
}

/// Serialises JSON for an HTTP header: every character from U+007F up is escaped as
/// `\uXXXX` (surrogate pairs beyond the BMP), as Dropbox requires (pitfall 8).
pub(crate) fn header_json(value: &Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if (c as u32) < 0x7F {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// What a failed answer means for the retry loop.
enum Failure {
    /// 401 `expired_access_token`: refresh once, then retry.
    Expired(String),
    /// 429 (or a retryable `too_many_write_operations`): wait, then retry.
    RateLimited { wait: Duration, reason: String },
    /// 5xx: back off, then retry.
    Server { status: u16, message: String },
    /// Final.
    Fatal(DropboxError),
}

fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

async fn read_failure(call: &Call, response: Response, default_wait: Duration) -> Failure {
    let route = call.route;
    let status = response.status();
    let headers = response.headers().clone();
    let request_id = headers
        .get("x-dropbox-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = response.text().await.unwrap_or_default();
    let body: Option<Value> = is_json.then(|| serde_json::from_str(&text).ok()).flatten();
    let error = body.as_ref().and_then(|b| b.get("error")).cloned();
    let summary = body
        .as_ref()
        .and_then(|b| b.get("error_summary"))
        .and_then(Value::as_str)
        .map_or_else(|| excerpt(&text), str::to_owned);
    let tags = error.as_ref().map(tag_chain).unwrap_or_default();
    let first = tags.first().map(String::as_str);

    if status == StatusCode::TOO_MANY_REQUESTS {
        // The body's retry_after wins over the header (as the official SDK does).
        let wait = error
            .as_ref()
            .and_then(|e| e.get("retry_after"))
            .and_then(Value::as_u64)
            .map(Duration::from_secs)
            .or_else(|| retry_after_header(&headers))
            .unwrap_or(default_wait);
        return Failure::RateLimited {
            wait,
            reason: first.unwrap_or("too_many_requests").to_owned(),
        };
    }
    if status.is_server_error() {
        return Failure::Server {
            status: status.as_u16(),
            message: excerpt(&text),
        };
    }
    if status == StatusCode::BAD_REQUEST {
        return Failure::Fatal(DropboxError::BadRequest {
            route: route.into(),
            message: excerpt(&text),
        });
    }
    if status == StatusCode::UNAUTHORIZED {
        let member = || call.auth.member().unwrap_or_default().to_owned();
        let unavailable = |reason| {
            Failure::Fatal(DropboxError::MemberUnavailable {
                team_member_id: member(),
                reason,
            })
        };
        return match first {
            Some("expired_access_token") => Failure::Expired(summary),
            Some("invalid_access_token") => Failure::Fatal(DropboxError::Disconnected {
                reason: format!("Dropbox says the access token is invalid ({summary})"),
            }),
            Some("user_suspended") => unavailable(MemberUnavailableReason::Suspended),
            Some("invalid_select_user") => unavailable(MemberUnavailableReason::NotOnTeam),
            Some("invalid_select_admin") => unavailable(MemberUnavailableReason::NotAdmin),
            Some("missing_scope") => Failure::Fatal(DropboxError::MissingScope {
                scope: error
                    .as_ref()
                    .and_then(|e| e.get("required_scope"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned(),
            }),
            _ => Failure::Fatal(DropboxError::Unauthorized {
                route: route.into(),
                tag: first.unwrap_or("unknown").to_owned(),
                summary,
            }),
        };
    }
    if tags.iter().any(|t| t == "too_many_write_operations") {
        return Failure::RateLimited {
            wait: retry_after_header(&headers).unwrap_or(default_wait),
            reason: "too_many_write_operations".into(),
        };
    }
    if let Some(error) = error {
        return Failure::Fatal(DropboxError::Api(Box::new(ApiFailure {
            route: route.into(),
            status: status.as_u16(),
            tags,
            summary,
            user_message: body
                .as_ref()
                .and_then(|b| b.pointer("/user_message/text"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            request_id,
            error,
        })));
    }
    Failure::Fatal(DropboxError::protocol(
        route,
        format!("HTTP {status}: {}", excerpt(&text)),
    ))
}

impl ClientInner {
    fn build(&self, call: &Call, token: Option<&str>) -> RequestBuilder {
        let config = self.app.config();
        let path = format!("2/{}", call.route);
        let url = match call.host {
            Host::Api => config.api(&path),
            Host::Content => config.content(&path),
            Host::Notify => config.notify(&path),
        };
        let mut request = self.app.http().post(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let path_root = match &call.auth {
            Auth::User {
                team_member_id,
                path_root,
            } => {
                request = request.header("Dropbox-API-Select-User", team_member_id);
                path_root.as_deref()
            }
            Auth::Admin {
                team_member_id,
                path_root,
            } => {
                request = request.header("Dropbox-API-Select-Admin", team_member_id);
                path_root.as_deref()
            }
            Auth::None | Auth::Team => None,
        };
        if let Some(ns) = path_root {
            let root = serde_json::json!({ ".tag": "namespace_id", "namespace_id": ns });
            request = request.header("Dropbox-API-Path-Root", header_json(&root));
        }
        request = match &call.payload {
            Payload::Rpc(body) => request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            Payload::Upload { arg, body } => request
                .header("Dropbox-API-Arg", arg)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body.clone()),
            Payload::Download { arg, from } => {
                // Ranges address the stored bytes, so ask for no transfer encoding.
                let request = request
                    .header("Dropbox-API-Arg", arg)
                    .header(ACCEPT_ENCODING, "identity");
                if *from > 0 {
                    request.header(RANGE, format!("bytes={from}-"))
                } else {
                    request
                }
            }
        };
        match call.timeout {
            Some(t) => request.timeout(t),
            None => request,
        }
    }

    fn retry_event(&self, call: &Call, cause: String, wait: Duration, attempt: u32) {
        tracing::warn!(route = call.route, member = ?call.auth.member(), %cause, ?wait, attempt, "Dropbox call failed; retrying");
        self.observer.retrying(&RetryEvent {
            route: call.route.into(),
            member: call.auth.member().map(str::to_owned),
            cause,
            wait,
            attempt,
        });
    }

    /// Sends `call` until it succeeds or fails for good; returns the successful response
    /// and the member slot it holds (keep it while reading a stream).
    pub(crate) async fn execute(
        &self,
        call: &Call,
    ) -> Result<(Response, MemberPermit), DropboxError> {
        let policy = &self.app.config().retry;
        let key = call.auth.limit_key();
        let (mut server_retries, mut rate_limits, mut refreshed, mut attempts) = (0, 0, false, 0);
        loop {
            // The slot first: waiting for it can take minutes, and the token is then
            // checked for expiry right before it is sent.
            let permit = match key {
                Some(key) => self.limiter.acquire(key).await,
                None => MemberPermit::unlimited(),
            };
            let lease = match call.auth {
                Auth::None => None,
                _ => Some(self.tokens.lease(&self.app).await?),
            };
            attempts += 1;
            Counters::bump(&self.counters.requests, 1);
            let token = lease.as_ref().map(|l| l.token.expose());
            let response = match self.build(call, token).send().await {
                Ok(r) => r,
                Err(source) => {
                    drop(permit);
                    server_retries += 1;
                    if server_retries > policy.max_server_retries {
                        return Err(DropboxError::Transport {
                            route: call.route.into(),
                            attempts,
                            source,
                        });
                    }
                    Counters::bump(&self.counters.transport_retries, 1);
                    let wait = policy.backoff(server_retries);
                    self.retry_event(call, source.to_string(), wait, server_retries);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if response.status().is_success() {
                return Ok((response, permit));
            }
            let failure = read_failure(call, response, policy.default_retry_after).await;
            drop(permit);
            match failure {
                Failure::Expired(summary) => {
                    let Some(lease) = lease.filter(|_| !refreshed) else {
                        return Err(DropboxError::Unauthorized {
                            route: call.route.into(),
                            tag: "expired_access_token".into(),
                            summary,
                        });
                    };
                    refreshed = true;
                    if self
                        .tokens
                        .refresh_expired(lease.generation, &self.app)
                        .await?
                    {
                        Counters::bump(&self.counters.token_refreshes, 1);
                    }
                }
                Failure::RateLimited { wait, reason } => {
                    rate_limits += 1;
                    Counters::bump(&self.counters.rate_limited, 1);
                    if rate_limits > policy.max_rate_limit_retries || wait > policy.max_retry_after
                    {
                        return Err(DropboxError::RateLimited {
                            route: call.route.into(),
                            retry_after: wait,
                            attempts,
                        });
                    }
                    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    Counters::bump(&self.counters.rate_limit_wait_ms, millis);
                    tracing::warn!(route = call.route, member = ?call.auth.member(), %reason, ?wait, "rate limited by Dropbox; waiting");
                    self.observer.rate_limited(&RateLimitEvent {
                        route: call.route.into(),
                        member: call.auth.member().map(str::to_owned),
                        reason,
                        wait,
                        attempt: rate_limits,
                    });
                    // Every call of this member now waits; acquiring the slot again
                    // waits out the pause.
                    match key {
                        Some(key) => self.limiter.pause(key, Instant::now() + wait),
                        None => tokio::time::sleep(wait).await,
                    }
                }
                Failure::Server { status, message } => {
                    server_retries += 1;
                    if server_retries > policy.max_server_retries {
                        return Err(DropboxError::Server {
                            route: call.route.into(),
                            status,
                            message,
                            attempts,
                        });
                    }
                    Counters::bump(&self.counters.server_retries, 1);
                    let wait = policy.backoff(server_retries);
                    self.retry_event(call, format!("HTTP {status}"), wait, server_retries);
                    tokio::time::sleep(wait).await;
                }
                Failure::Fatal(e) => {
                    if let DropboxError::Disconnected { reason } = &e {
                        self.tokens.disconnect(reason);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// An RPC call returning JSON; a body that cannot be read counts as a transport
    /// failure and is retried.
    pub(crate) async fn rpc<T: DeserializeOwned>(
        &self,
        route: &'static str,
        host: Host,
        auth: Auth,
        arg: &Value,
    ) -> Result<T, DropboxError> {
        let config = self.app.config();
        let call = Call {
            route,
            host,
            auth,
            payload: Payload::Rpc(arg.to_string().into_bytes()),
            timeout: Some(config.timeouts.request),
        };
        let mut read_failures = 0;
        loop {
            let (response, _permit) = self.execute(&call).await?;
            match response.bytes().await {
                Ok(bytes) => {
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        DropboxError::protocol(route, format!("the answer does not parse: {e}"))
                    });
                }
                Err(source) => {
                    read_failures += 1;
                    if read_failures > config.retry.max_server_retries {
                        return Err(DropboxError::Transport {
                            route: route.into(),
                            attempts: read_failures,
                            source,
                        });
                    }
                    Counters::bump(&self.counters.transport_retries, 1);
                    let wait = config.retry.backoff(read_failures);
                    self.retry_event(&call, source.to_string(), wait, read_failures);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_json_escapes_everything_from_del_up() {
        let s = header_json(&json!({"path": "/é/日本/😀\u{7f}", "q": "a\"b"}));
        assert!(s.is_ascii(), "{s}");
        assert!(s.contains("\\u00e9") && s.contains("\\ud83d\\ude00") && s.contains("\\u007f"));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["path"], "/é/日本/😀\u{7f}");
        assert_eq!(back["q"], "a\"b");
    }
}
