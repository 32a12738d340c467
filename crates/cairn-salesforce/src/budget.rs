//! The task's share of the org's daily API allowance (research note §2.7, §7): the org's
//! usage is read from `/limits` (`DailyApiRequests`) and kept current from the
//! `Sforce-Limit-Info: api-usage=used/max` header every response carries. Before each
//! call the budget refuses with [`SalesforceError::BudgetExhausted`] once the call would
//! pass the task's "daily API usage limit %": the allowance is shared with the customer's
//! other integrations, so a backup stops early (run Partial) instead of starving them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::SalesforceError;

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    used: u64,
    max: u64,
    known: bool,
}

/// What the budget knows, for progress pages and run results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetStatus {
    /// Org-wide requests used in the rolling 24 hours (last reported, plus our calls since).
    pub used: u64,
    /// The org's daily allowance (0 while unknown).
    pub max: u64,
    /// The task's share, percent.
    pub limit_percent: u8,
    /// Calls this budget let through (every API request this client made).
    pub calls: u64,
}

/// A task's API budget. Share one per run between all clients of the run.
#[derive(Debug)]
pub struct ApiBudget {
    limit_percent: u8,
    usage: parking_lot::Mutex<Usage>,
    calls: AtomicU64,
}

impl ApiBudget {
    /// A budget of `limit_percent` (1–100, clamped) of the org's daily allowance.
    #[must_use]
    pub fn new(limit_percent: u8) -> Self {
        Self {
            limit_percent: limit_percent.clamp(1, 100),
            usage: parking_lot::Mutex::new(Usage::default()),
            calls: AtomicU64::new(0),
        }
    }

    /// The task's share in percent.
    #[must_use]
    pub fn limit_percent(&self) -> u8 {
        self.limit_percent
    }

    /// Requests the task may let the org reach: `floor(max * percent / 100)`.
    #[must_use]
    pub fn ceiling(&self) -> Option<u64> {
        let u = *self.usage.lock();
        u.known
            .then(|| u.max.saturating_mul(u64::from(self.limit_percent)) / 100)
    }

    /// The current figures.
    #[must_use]
    pub fn status(&self) -> BudgetStatus {
        let u = *self.usage.lock();
        BudgetStatus {
            used: u.used,
            max: u.max,
            limit_percent: self.limit_percent,
            calls: self.calls.load(Ordering::Relaxed),
        }
    }

    /// Calls made through this budget.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Records the org's usage as reported (`/limits` or `Sforce-Limit-Info`).
    ///
    /// The count never goes down within one budget (one run): with calls in flight, an
    /// answer reports the usage as of when it was handled, without the calls admitted
    /// since, so taking it as is would let the run pass its ceiling. A lower figure
    /// (usage rolling off the 24-hour window) is seen by the next run's budget.
    pub fn observe(&self, used: u64, max: u64) {
        let mut u = self.usage.lock();
        let used = if u.known { used.max(u.used) } else { used };
        *u = Usage {
            used,
            max,
            known: true,
        };
    }

    fn exhausted(&self, u: Usage, org_limit: bool) -> SalesforceError {
        SalesforceError::BudgetExhausted {
            used: u.used,
            max: u.max,
            limit_percent: self.limit_percent,
            org_limit,
        }
    }

    /// Admits one call, or refuses because it would pass the ceiling.
    pub(crate) fn admit(&self) -> Result<(), SalesforceError> {
        let mut u = self.usage.lock();
        if u.known {
            let ceiling = u.max.saturating_mul(u64::from(self.limit_percent)) / 100;
            if u.used.saturating_add(1) > ceiling {
                return Err(self.exhausted(*u, false));
            }
            // Counted until the answer's header says better.
            u.used += 1;
        }
        drop(u);
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Salesforce refused with `TotalRequests Limit exceeded.`: the whole allowance is spent.
    pub(crate) fn org_exhausted(&self) -> SalesforceError {
        let mut u = self.usage.lock();
        if u.known {
            u.used = u.used.max(u.max);
        }
        self.exhausted(*u, true)
    }
}

/// `api-usage=18/5000` out of a `Sforce-Limit-Info` value (`;`-separated pairs, §2.7).
#[must_use]
pub fn parse_limit_info(value: &str) -> Option<(u64, u64)> {
    value.split([';', ',']).find_map(|pair| {
        let (key, v) = pair.trim().split_once('=')?;
        if key.trim() != "api-usage" {
            return None;
        }
        let (used, max) = v.trim().split_once('/')?;
        Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_headers_parse() {
        assert_eq!(parse_limit_info("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_limit_info(
                "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
            ),
            Some((25, 5000))
        );
        assert_eq!(
            parse_limit_info(
                "per-app-api-usage=17/250(appName=x); api-usage=3/15000; api-bursts=1/750"
            ),
            Some((3, 15000))
        );
        assert_eq!(parse_limit_info("nothing"), None);
    }

    #[test]
    fn the_budget_stops_at_the_ceiling() {
        let b = ApiBudget::new(75);
        b.admit().unwrap(); // unknown usage: admitted
        b.observe(70, 100);
        assert_eq!(b.ceiling(), Some(75));
        for _ in 0..5 {
            b.admit().unwrap();
        }
        let e = b.admit().unwrap_err();
        assert!(e.is_budget_exhausted(), "{e}");
        assert_eq!(b.calls(), 6);
        b.observe(10, 100);
        assert!(
            b.admit().is_err(),
            "a stale lower figure (calls in flight) does not reopen the budget"
        );
        let b = ApiBudget::new(75);
        b.observe(10, 100);
        b.admit().unwrap();
        assert!(b.org_exhausted().is_budget_exhausted());
        assert!(
            b.admit().is_err(),
            "the org's spent allowance stops the task too"
        );
    }
}
