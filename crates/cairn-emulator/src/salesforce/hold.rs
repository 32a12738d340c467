//! Holding API calls at the door: every call whose path starts with a prefix waits until
//! the hold is released. A test uses it to freeze a client at a known point of its work
//! (say, the first call for the second object of a backup) and act while it waits —
//! kill the client's process, look at what it saved — without timing anything.
//!
//! Holds are set through [`Control::hold`](super::Control::hold); they are not part of
//! the HTTP control API (a held call needs an in-process hand to release it).

use std::sync::Arc;

use tokio::sync::watch;

/// One hold. Cloning shares it; releasing any clone releases them all.
#[derive(Debug, Clone)]
pub struct Hold {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path_prefix: String,
    /// Calls that have arrived at the hold (waiting or let through since).
    arrived: watch::Sender<u64>,
    released: watch::Sender<bool>,
}

impl Hold {
    /// A hold on calls whose path (after `/services/data/vXX.X`) starts with `path_prefix`.
    pub(crate) fn new(path_prefix: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                path_prefix: path_prefix.to_owned(),
                arrived: watch::Sender::new(0),
                released: watch::Sender::new(false),
            }),
        }
    }

    /// Whether a call to `path` must wait here.
    pub(crate) fn catches(&self, path: &str) -> bool {
        !self.is_released() && path.starts_with(&self.inner.path_prefix)
    }

    /// Waits until released (a call that [`Hold::catches`]).
    pub(crate) async fn wait(&self) {
        let mut released = self.inner.released.subscribe();
        self.inner.arrived.send_modify(|n| *n += 1);
        // The sender lives as long as `self`, so this ends only on release.
        let _ = released.wait_for(|r| *r).await;
    }

    /// Resolves once at least one call has arrived at the hold.
    pub async fn reached(&self) {
        let mut arrived = self.inner.arrived.subscribe();
        let _ = arrived.wait_for(|n| *n > 0).await;
    }

    /// How many calls have arrived at the hold so far.
    #[must_use]
    pub fn arrived(&self) -> u64 {
        *self.inner.arrived.borrow()
    }

    /// Lets the waiting calls go on, and every later one through.
    pub fn release(&self) {
        self.inner.released.send_replace(true);
    }

    /// Whether [`Hold::release`] was called.
    #[must_use]
    pub fn is_released(&self) -> bool {
        *self.inner.released.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_call_waits_until_released() {
        let hold = Hold::new("/sobjects/Contact/");
        assert!(hold.catches("/sobjects/Contact/describe"));
        assert!(!hold.catches("/sobjects/Account/describe"));
        let waiting = tokio::spawn({
            let hold = hold.clone();
            async move { hold.wait().await }
        });
        hold.reached().await;
        assert_eq!(hold.arrived(), 1);
        assert!(!waiting.is_finished());
        hold.release();
        waiting.await.unwrap();
        assert!(!hold.catches("/sobjects/Contact/describe"), "released");
    }
}
