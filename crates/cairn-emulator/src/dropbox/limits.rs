//! Rate limits, the data-transport quota, injected faults and call counters.
//!
//! - Per-member rate limit: a token bucket per acting member (Select-User / Select-Admin,
//!   or the team for team routes). Over the limit: 429 `too_many_requests` with
//!   `Retry-After`. Rejected calls still count, as on Dropbox.
//! - Data-transport quota: counts calls of the upload family; over it, 403
//!   `invalid_account_type/feature`.
//! - Faults: probabilities of 429 / 500 / 503 and added latency, optionally per route,
//!   drawn from a seeded generator so a test run is reproducible.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::wire::ApiError;

/// Fault injection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of calls answered 429 `too_many_requests`.
    pub rate_429: f64,
    /// Share of write calls answered 429 `too_many_write_operations`.
    pub rate_429_write: f64,
    /// Share of calls answered 500.
    pub rate_500: f64,
    /// Share of calls answered 503.
    pub rate_503: f64,
    /// Added latency per call, in milliseconds.
    pub latency_ms: u64,
    /// `Retry-After` seconds on injected 429s.
    pub retry_after: u64,
    /// Routes affected (e.g. `files/download`); empty means all.
    pub routes: Vec<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_429: 0.0,
            rate_429_write: 0.0,
            rate_500: 0.0,
            rate_503: 0.0,
            latency_ms: 0,
            retry_after: 1,
            routes: Vec::new(),
        }
    }
}

impl Faults {
    /// Checks that every rate is a probability.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("rate_429", self.rate_429),
            ("rate_429_write", self.rate_429_write),
            ("rate_500", self.rate_500),
            ("rate_503", self.rate_503),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        if self.latency_ms > 60_000 {
            return Err("latency_ms must be at most 60000".into());
        }
        Ok(())
    }
}

/// Per-member request-rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub requests_per_second: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Data-transport quota state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportQuota {
    /// Calls allowed per month; `None` is unlimited.
    pub limit: Option<u64>,
    /// Calls used so far this month.
    pub used: u64,
}

/// Limits and faults in force.
#[derive(Debug)]
pub struct Limits {
    faults: Mutex<Faults>,
    fault_rng: Mutex<Rng>,
    rate: Mutex<Option<RateLimit>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    transport: Mutex<TransportQuota>,
}

impl Limits {
    /// No limits, no faults; faults drawn from a stream seeded by `seed`.
    #[must_use]
    pub fn new(seed: u64, rate: Option<RateLimit>, transport_limit: Option<u64>) -> Self {
        Self {
            faults: Mutex::new(Faults::default()),
            fault_rng: Mutex::new(Rng::derived(&[seed, 0xFA_0175])),
            rate: Mutex::new(rate),
            buckets: Mutex::new(HashMap::new()),
            transport: Mutex::new(TransportQuota {
                limit: transport_limit,
                used: 0,
            }),
        }
    }

    /// Current fault settings.
    #[must_use]
    pub fn faults(&self) -> Faults {
        self.faults.lock().clone()
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock() = faults;
    }

    /// Current rate limit.
    #[must_use]
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self.rate.lock()
    }

    /// Replaces the rate limit (and forgets bucket state).
    pub fn set_rate_limit(&self, rate: Option<RateLimit>) {
        *self.rate.lock() = rate;
        self.buckets.lock().clear();
    }

    /// Current transport quota.
    #[must_use]
    pub fn transport(&self) -> TransportQuota {
        *self.transport.lock()
    }

    /// Replaces the transport quota.
    pub fn set_transport(&self, quota: TransportQuota) {
        *self.transport.lock() = quota;
    }

    /// Counts one request against `key`'s bucket.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] when the bucket is empty.
    pub fn check_rate(&self, key: &str) -> Result<(), ApiError> {
        let Some(limit) = *self.rate.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let burst = f64::from(limit.burst.max(1));
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.requests_per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        // Rejected calls count too, but the debt is bounded.
        bucket.tokens = (bucket.tokens - 1.0).max(-burst);
        // Retry-After is when a call would pass again, debt included: a client that
        // retries exactly then must succeed, or it would be refused forever.
        let wait = if limit.requests_per_second > 0.0 {
            ((1.0 - bucket.tokens) / limit.requests_per_second).ceil() as u64
        } else {
            3600
        };
        Err(ApiError::RateLimited {
            reason: "too_many_requests",
            retry_after: wait.max(1),
        })
    }

    /// Charges one data-transport call.
    ///
    /// # Errors
    /// 403 `invalid_account_type/feature` when the month's quota is used up.
    pub fn charge_transport(&self) -> Result<(), ApiError> {
        let mut quota = self.transport.lock();
        if quota.limit.is_some_and(|limit| quota.used >= limit) {
            return Err(ApiError::Access(
                super::wire::nested("invalid_account_type", super::wire::tag("feature")),
                Some(
                    "Your team has used all of its data transport API calls for the month. \
                     Your monthly limit will reset on the 1st day of every month."
                        .into(),
                ),
            ));
        }
        quota.used += 1;
        Ok(())
    }

    /// Draws the fault for one call of `route`: latency to add and an error to return.
    pub fn draw_fault(&self, route: &str, write: bool) -> (Duration, Option<ApiError>) {
        let faults = self.faults.lock().clone();
        if !faults.routes.is_empty() && !faults.routes.iter().any(|r| r == route) {
            return (Duration::ZERO, None);
        }
        let latency = Duration::from_millis(faults.latency_ms);
        let mut rng = self.fault_rng.lock();
        let roll = |rng: &mut Rng, p: f64| p > 0.0 && rng.unit() < p;
        let error = if roll(&mut rng, faults.rate_503) {
            Some(ApiError::Server(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable (injected fault)".into(),
            ))
        } else if roll(&mut rng, faults.rate_500) {
            Some(ApiError::Server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error (injected fault)".into(),
            ))
        } else if roll(&mut rng, faults.rate_429) {
            Some(ApiError::RateLimited {
                reason: "too_many_requests",
                retry_after: faults.retry_after,
            })
        } else if write && roll(&mut rng, faults.rate_429_write) {
            Some(ApiError::RateLimited {
                reason: "too_many_write_operations",
                retry_after: faults.retry_after,
            })
        } else {
            None
        };
        (latency, error)
    }
}

/// Per-route call counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteCounts {
    /// Calls received.
    pub calls: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// By route name (`files/download`, `oauth2/token`, …).
    pub routes: BTreeMap<String, RouteCounts>,
    /// Body bytes served by downloads.
    pub bytes_downloaded: u64,
    /// Body bytes received by uploads.
    pub bytes_uploaded: u64,
    /// 429 responses (rate limits and injected).
    pub rate_limited: u64,
    /// Injected 5xx / 429 faults.
    pub faults_injected: u64,
}

/// Live counters.
#[derive(Debug, Default)]
pub struct Counters {
    routes: Mutex<BTreeMap<String, RouteCounts>>,
    /// Download body bytes.
    pub bytes_downloaded: AtomicU64,
    /// Upload body bytes.
    pub bytes_uploaded: AtomicU64,
    /// 429s sent.
    pub rate_limited: AtomicU64,
    /// Faults injected.
    pub faults_injected: AtomicU64,
}

impl Counters {
    /// Records a call of `route` answered with `status`.
    pub fn record(&self, route: &str, status: u16) {
        let mut routes = self.routes.lock();
        let entry = routes.entry(route.to_owned()).or_default();
        entry.calls += 1;
        *entry.statuses.entry(status).or_default() += 1;
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A copy of everything.
    #[must_use]
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            routes: self.routes.lock().clone(),
            bytes_downloaded: self.bytes_downloaded.load(Ordering::Relaxed),
            bytes_uploaded: self.bytes_uploaded.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
        }
    }

    /// Zeroes everything.
    pub fn reset(&self) {
        self.routes.lock().clear();
        for c in [
            &self.bytes_downloaded,
            &self.bytes_uploaded,
            &self.rate_limited,
            &self.faults_injected,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_past_the_burst_with_a_retry_after() {
        let limits = Limits::new(
            1,
            Some(RateLimit {
                requests_per_second: 0.5,
                burst: 2,
            }),
            None,
        );
        assert!(limits.check_rate("m").is_ok());
        assert!(limits.check_rate("m").is_ok());
        match limits.check_rate("m") {
            Err(ApiError::RateLimited { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limits.check_rate("another member").is_ok());
    }

    #[test]
    fn retry_after_covers_the_debt_of_the_refused_call() {
        let limits = Limits::new(
            1,
            Some(RateLimit {
                requests_per_second: 1.0,
                burst: 1,
            }),
            None,
        );
        assert!(limits.check_rate("m").is_ok());
        // The refused call itself costs a token: one second would find the bucket empty
        // again, so the client is told two.
        match limits.check_rate("m") {
            Err(ApiError::RateLimited { retry_after, .. }) => assert_eq!(retry_after, 2),
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }

    #[test]
    fn transport_quota_runs_out() {
        let limits = Limits::new(1, None, Some(1));
        assert!(limits.charge_transport().is_ok());
        assert!(matches!(
            limits.charge_transport(),
            Err(ApiError::Access(..))
        ));
        assert_eq!(limits.transport().used, 1);
    }

    #[test]
    fn faults_honour_rates_and_route_filters() {
        let limits = Limits::new(1, None, None);
        limits.set_faults(Faults {
            rate_503: 1.0,
            routes: vec!["files/download".into()],
            ..Faults::default()
        });
        assert!(limits.draw_fault("files/download", false).1.is_some());
        assert!(limits.draw_fault("files/list_folder", false).1.is_none());
        assert!(
            Faults {
                rate_500: 2.0,
                ..Faults::default()
            }
            .validate()
            .is_err()
        );
    }
}
