//! What a job can watch while the client works: [`ClientStats`] counters (requests, rate
//! limits and the time spent waiting on them, retries, token refreshes, resumed downloads)
//! and a [`ClientObserver`] told about each rate-limit wait and retry as it happens, so a
//! job page can say "rate limited by Dropbox, resuming in 30 s".

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A 429 the client is waiting out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitEvent {
    /// Route, e.g. `files/list_folder/continue`.
    pub route: String,
    /// Acting member (`dbmid:…`), `None` for team-wide calls.
    pub member: Option<String>,
    /// `too_many_requests` or `too_many_write_operations`.
    pub reason: String,
    /// How long the client waits before trying again.
    pub wait: Duration,
    /// Which 429 of this call this is (1-based).
    pub attempt: u32,
}

/// A failed call about to be retried (5xx, timeout, dropped connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryEvent {
    /// Route.
    pub route: String,
    /// Acting member, `None` for team-wide calls.
    pub member: Option<String>,
    /// What failed (`503`, `connection reset`, …).
    pub cause: String,
    /// Backoff before the retry.
    pub wait: Duration,
    /// Which retry of this call this is (1-based).
    pub attempt: u32,
}

/// Told about waits as they start. Methods must return quickly (they run on the request
/// path); the defaults do nothing.
pub trait ClientObserver: Send + Sync {
    /// A 429 is being waited out.
    fn rate_limited(&self, _event: &RateLimitEvent) {}
    /// A failed call is being retried.
    fn retrying(&self, _event: &RetryEvent) {}
}

/// The default observer: ignores everything (the counters still count).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl ClientObserver for NoObserver {}

/// Counters of one client, since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Time spent waiting out 429s.
    pub rate_limit_wait: Duration,
    /// Retries after 5xx answers.
    pub server_retries: u64,
    /// Retries after transport failures (timeouts, resets).
    pub transport_retries: u64,
    /// Access tokens obtained with the refresh token.
    pub token_refreshes: u64,
    /// Downloads resumed with `Range` after a dropped connection.
    pub download_resumes: u64,
    /// Content bytes received by downloads.
    pub bytes_downloaded: u64,
}

/// Live counters behind [`ClientStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    pub rate_limit_wait_ms: AtomicU64,
    pub server_retries: AtomicU64,
    pub transport_retries: AtomicU64,
    pub token_refreshes: AtomicU64,
    pub download_resumes: AtomicU64,
    pub bytes_downloaded: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ClientStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&self.requests),
            rate_limited: get(&self.rate_limited),
            rate_limit_wait: Duration::from_millis(get(&self.rate_limit_wait_ms)),
            server_retries: get(&self.server_retries),
            transport_retries: get(&self.transport_retries),
            token_refreshes: get(&self.token_refreshes),
            download_resumes: get(&self.download_resumes),
            bytes_downloaded: get(&self.bytes_downloaded),
        }
    }
}
