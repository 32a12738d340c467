//! The per-member concurrency limiter.
//!
//! Dropbox rate-limits per acting member (Select-User / Select-Admin) and per team for
//! team routes (research note §6.2, §9), so parallelism belongs *across* members. Every
//! request and every open download stream holds one of the acting member's N slots; a job
//! can run many members at once without any one of them exceeding N. A 429 pauses the
//! whole member until its `Retry-After` has passed, since further calls would only be
//! refused and still count against the limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The key team-wide calls are limited under.
pub const TEAM_KEY: &str = "team";

#[derive(Debug)]
struct Slots {
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    paused_until: Mutex<Option<Instant>>,
}

/// Per-member slots.
#[derive(Debug)]
pub struct MemberLimiter {
    per_member: usize,
    members: Mutex<HashMap<String, Arc<Slots>>>,
}

/// One held slot; released on drop.
#[derive(Debug)]
pub struct MemberPermit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl MemberPermit {
    /// A permit that holds no slot (calls outside any member's pool).
    #[must_use]
    pub fn unlimited() -> Self {
        Self { _permit: None }
    }
}

/// Decrements a waiting count even if the waiting future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl MemberLimiter {
    /// At most `per_member` concurrent slots per key (at least 1).
    #[must_use]
    pub fn new(per_member: usize) -> Self {
        Self {
            per_member: per_member.max(1),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// Slots per member.
    #[must_use]
    pub fn per_member(&self) -> usize {
        self.per_member
    }

    fn slots(&self, key: &str) -> Arc<Slots> {
        self.members
            .lock()
            .entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(Slots {
                    semaphore: Arc::new(Semaphore::new(self.per_member)),
                    waiting: AtomicUsize::new(0),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Waits for a slot of `key`, then for any rate-limit pause of `key` to end.
    pub async fn acquire(&self, key: &str) -> MemberPermit {
        let slots = self.slots(key);
        slots.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = {
            let _waiting = Waiting(&slots.waiting);
            // The semaphore is never closed, so this cannot fail; without a permit the
            // call would merely go unlimited.
            slots.semaphore.clone().acquire_owned().await.ok()
        };
        loop {
            let until = *slots.paused_until.lock();
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        MemberPermit { _permit: permit }
    }

    /// Holds every call of `key` until `until` (never shortens an existing pause).
    pub fn pause(&self, key: &str, until: Instant) {
        let slots = self.slots(key);
        let mut paused = slots.paused_until.lock();
        if paused.is_none_or(|t| t < until) {
            *paused = Some(until);
        }
    }

    /// Slots of `key` currently held.
    #[must_use]
    pub fn in_use(&self, key: &str) -> usize {
        let slots = self.slots(key);
        self.per_member - slots.semaphore.available_permits()
    }

    /// Calls of `key` waiting for a slot.
    #[must_use]
    pub fn waiting(&self, key: &str) -> usize {
        self.slots(key).waiting.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn slots_are_per_member_and_released_on_drop() {
        let limiter = Arc::new(MemberLimiter::new(2));
        let a1 = limiter.acquire("a").await;
        let _a2 = limiter.acquire("a").await;
        let _b1 = limiter.acquire("b").await;
        assert_eq!(limiter.in_use("a"), 2);
        assert_eq!(limiter.in_use("b"), 1);
        let l = limiter.clone();
        let third = tokio::spawn(async move { l.acquire("a").await });
        while limiter.waiting("a") == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!third.is_finished());
        drop(a1);
        let _a3 = third.await.unwrap();
        assert_eq!(limiter.in_use("a"), 2);
        assert_eq!(limiter.waiting("a"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_new_calls_of_that_member_only() {
        let limiter = MemberLimiter::new(4);
        let start = Instant::now();
        limiter.pause("a", start + Duration::from_secs(30));
        limiter.pause("a", start + Duration::from_secs(5));
        let _b = limiter.acquire("b").await;
        assert_eq!(Instant::now(), start);
        let _a = limiter.acquire("a").await;
        assert_eq!(Instant::now() - start, Duration::from_secs(30));
    }
}
