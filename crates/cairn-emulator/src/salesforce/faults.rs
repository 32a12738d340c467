//! Fault injection and API accounting: error rates per kind, added latency, the rolling
//! 24-hour daily API allowance, and per-endpoint call counters.
//!
//! Faults are decided by a seeded RNG so a test that sets a rate of 1.0 (or a `count`)
//! gets exactly the failures it asked for.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::hold::Hold;
use super::rng::Rng;

/// Kinds of injectable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 500 `UNKNOWN_EXCEPTION`.
    ServerError,
    /// HTTP 503 `SERVER_UNAVAILABLE`.
    Unavailable,
    /// HTTP 403 `REQUEST_LIMIT_EXCEEDED` (`TotalRequests Limit exceeded.`).
    RequestLimit,
    /// HTTP 403 `REQUEST_LIMIT_EXCEEDED` (`ConcurrentRequests … Limit exceeded.`).
    ConcurrentLimit,
    /// `UNABLE_TO_LOCK_ROW` on writes (per record in collections, 400 on single writes).
    UnableToLockRow,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What fails.
    pub kind: FaultKind,
    /// Probability per eligible call (0–1).
    #[serde(default = "one")]
    pub rate: f64,
    /// Stop after this many injected failures (None: unlimited).
    #[serde(default)]
    pub count: Option<u64>,
    /// Only calls whose path (after `/services/data/vXX.X`) starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// Added latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Latency {
    /// Milliseconds added to each matching call.
    pub ms: u64,
    /// Only calls whose path starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// The fault configuration.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Active rules.
    pub rules: Vec<FaultRule>,
    /// Added latency.
    pub latency: Latency,
    /// Holds not yet released.
    pub holds: Vec<Hold>,
    rng: Rng,
}

impl Faults {
    /// No faults; decisions seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            latency: Latency::default(),
            holds: Vec::new(),
            rng: Rng::for_label(seed, "faults"),
        }
    }

    /// Decides whether a call to `path` fails, and how. `write` says whether the call
    /// writes records (only writes can hit `UNABLE_TO_LOCK_ROW`).
    pub fn decide(&mut self, path: &str, write: bool) -> Option<FaultKind> {
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.kind == FaultKind::UnableToLockRow && !write {
                continue;
            }
            if rule
                .path_prefix
                .as_deref()
                .is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            if rule.count == Some(0) {
                continue;
            }
            let rate = rule.rate;
            if self.rng.chance(rate) {
                let rule = &mut self.rules[i];
                if let Some(c) = rule.count.as_mut() {
                    *c -= 1;
                }
                return Some(rule.kind);
            }
        }
        None
    }

    /// Decides whether one record write under `path` hits `UNABLE_TO_LOCK_ROW`.
    pub fn decide_lock(&mut self, path: &str) -> bool {
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.kind != FaultKind::UnableToLockRow
                || rule.count == Some(0)
                || rule
                    .path_prefix
                    .as_deref()
                    .is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            let rate = rule.rate;
            if self.rng.chance(rate) {
                if let Some(c) = self.rules[i].count.as_mut() {
                    *c -= 1;
                }
                return true;
            }
        }
        false
    }

    /// The hold a call to `path` must wait at, if any (released holds are forgotten).
    pub fn hold_for(&mut self, path: &str) -> Option<Hold> {
        self.holds.retain(|h| !h.is_released());
        self.holds.iter().find(|h| h.catches(path)).cloned()
    }

    /// Latency to add to a call to `path`.
    pub fn latency_for(&self, path: &str) -> u64 {
        match &self.latency.path_prefix {
            Some(p) if !path.starts_with(p.as_str()) => 0,
            _ => self.latency.ms,
        }
    }
}

/// The daily API allowance over a rolling 24-hour window (hourly buckets).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiUsage {
    /// The org's allowance.
    pub max: u64,
    /// (hour start ms, calls) for the last 24 hours.
    buckets: VecDeque<(i64, u64)>,
}

const HOUR: i64 = 3_600_000;

impl ApiUsage {
    /// An allowance of `max` calls per 24 hours.
    pub fn new(max: u64) -> Self {
        Self {
            max,
            buckets: VecDeque::new(),
        }
    }

    fn roll(&mut self, now: i64) {
        while self
            .buckets
            .front()
            .is_some_and(|(start, _)| *start + 24 * HOUR <= now)
        {
            self.buckets.pop_front();
        }
    }

    /// Calls used in the last 24 hours.
    pub fn used(&mut self, now: i64) -> u64 {
        self.roll(now);
        self.buckets.iter().map(|(_, n)| n).sum()
    }

    /// Records one call.
    pub fn record(&mut self, now: i64) {
        self.roll(now);
        let hour = now - now.rem_euclid(HOUR);
        match self.buckets.back_mut() {
            Some((start, n)) if *start == hour => *n += 1,
            _ => self.buckets.push_back((hour, 1)),
        }
    }

    /// Forgets all usage.
    pub fn reset(&mut self) {
        self.buckets.clear();
    }
}

/// Calls per endpoint kind, for the control API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Calls by endpoint (`query`, `sobject.get`, `bulk2.query`, …).
    pub by_endpoint: BTreeMap<String, u64>,
    /// All counted API calls.
    pub total: u64,
    /// Calls refused with an injected fault.
    pub faults_injected: u64,
    /// Calls refused because the allowance was spent.
    pub limit_refusals: u64,
    /// Calls refused for a bad session.
    pub auth_failures: u64,
}

impl Counters {
    /// Counts one call to `endpoint`.
    pub fn count(&mut self, endpoint: &str) {
        *self.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
        self.total += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_rolls_off_after_a_day() {
        let mut u = ApiUsage::new(10);
        u.record(0);
        u.record(HOUR + 5);
        assert_eq!(u.used(HOUR + 6), 2);
        assert_eq!(u.used(24 * HOUR), 1, "the first hour's call rolled off");
        assert_eq!(u.used(26 * HOUR), 0);
    }

    #[test]
    fn counted_faults_stop_after_their_count() {
        let mut f = Faults::new(1);
        f.rules.push(FaultRule {
            kind: FaultKind::Unavailable,
            rate: 1.0,
            count: Some(2),
            path_prefix: Some("/query".into()),
        });
        assert_eq!(f.decide("/sobjects", false), None);
        assert_eq!(f.decide("/query", false), Some(FaultKind::Unavailable));
        assert_eq!(f.decide("/query", false), Some(FaultKind::Unavailable));
        assert_eq!(f.decide("/query", false), None);
    }

    #[test]
    fn lock_faults_only_hit_writes() {
        let mut f = Faults::new(1);
        f.rules.push(FaultRule {
            kind: FaultKind::UnableToLockRow,
            rate: 1.0,
            count: None,
            path_prefix: None,
        });
        assert_eq!(f.decide("/query", false), None);
        assert_eq!(
            f.decide("/composite/sobjects", true),
            Some(FaultKind::UnableToLockRow)
        );
    }
}
