//! Where an incremental read of one object stands, as plain serialisable data the job
//! persists after every page: the [`Watermark`] (the `SystemModstamp` read up to, with
//! the record versions already read near it) and the position inside the current read
//! ([`Cursor`]).
//!
//! Boundary rule (research note §2.6, pitfall 8): the next read asks for
//! `SystemModstamp >= watermark - overlap`, because a stamp is taken before its
//! transaction commits and a row with an older stamp can become visible late. Rows at
//! or after `watermark - overlap` that were already read are remembered by
//! `(Id, SystemModstamp)` and skipped, so ties at the watermark and the overlap never
//! yield a record version twice — and a changed record is never missed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Remembered versions beyond this many are dropped oldest-first: correctness is kept
/// (a dropped entry can only make a version be read again), and the checkpoint a job
/// persists after every page stays small (under a megabyte) even after a mass update.
pub const MAX_REMEMBERED: usize = 20_000;

/// The `SystemModstamp` an object has been read up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Highest `SystemModstamp` read (epoch ms); `None` before the first read.
    pub modstamp_ms: Option<i64>,
    /// Versions read at or after `modstamp_ms - overlap`: id → stamp.
    pub recent: BTreeMap<String, i64>,
}

impl Watermark {
    /// The lower bound of the next read (`None`: read everything).
    #[must_use]
    pub fn lower_bound(&self, overlap: Duration) -> Option<i64> {
        let overlap = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
        self.modstamp_ms.map(|m| m.saturating_sub(overlap))
    }

    /// Records that version `(id, stamp)` is being read; `false` if it already was.
    pub fn admit(&mut self, id: &str, stamp: i64) -> bool {
        if self.recent.get(id) == Some(&stamp) {
            return false;
        }
        self.recent.insert(id.to_owned(), stamp);
        if self.modstamp_ms.is_none_or(|m| stamp > m) {
            self.modstamp_ms = Some(stamp);
        }
        true
    }

    /// Forgets versions older than the overlap window, and the oldest beyond
    /// [`MAX_REMEMBERED`].
    pub fn prune(&mut self, overlap: Duration) {
        let Some(bound) = self.lower_bound(overlap) else {
            return;
        };
        self.recent.retain(|_, stamp| *stamp >= bound);
        if self.recent.len() > MAX_REMEMBERED {
            let mut stamps: Vec<i64> = self.recent.values().copied().collect();
            let cut = stamps.len() - MAX_REMEMBERED;
            let (_, nth, _) = stamps.select_nth_unstable(cut);
            let floor = *nth;
            self.recent.retain(|_, stamp| *stamp > floor);
        }
    }
}

/// The position inside one read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cursor {
    /// Nothing fetched yet for this read.
    #[default]
    Start,
    /// A REST query in progress: the `nextRecordsUrl` to follow. If the locator has
    /// expired, the read starts again from the watermark (which is exact for REST reads:
    /// they are ordered by `SystemModstamp`).
    Rest {
        /// `nextRecordsUrl`, verbatim.
        next_records_url: String,
    },
    /// A Bulk API 2.0 query in progress. Its rows are unordered, so the watermark only
    /// becomes a resume point at the end; until then `base` is.
    Bulk {
        /// `750…`.
        job_id: String,
        /// `Sforce-Locator` of the next results chunk (`None`: the first).
        locator: Option<String>,
        /// The watermark the job started from, to start over if the job is gone.
        base: Watermark,
    },
    /// The read is complete.
    Done,
}

/// What a job persists per object after each page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Read up to here.
    pub watermark: Watermark,
    /// Position in the current read.
    pub cursor: Cursor,
}

impl Checkpoint {
    /// A first, full read.
    #[must_use]
    pub fn full() -> Self {
        Self::default()
    }

    /// The next incremental read after a completed one (keeps the watermark).
    #[must_use]
    pub fn next_run(&self) -> Self {
        Self {
            watermark: self.watermark.clone(),
            cursor: Cursor::Start,
        }
    }

    /// Whether the read is complete.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.cursor == Cursor::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn versions_are_admitted_once_and_ties_are_kept() {
        let mut w = Watermark::default();
        assert_eq!(w.lower_bound(MIN), None);
        assert!(w.admit("a", 1_000_000));
        assert!(
            w.admit("b", 1_000_000),
            "a tie at the same stamp is another record"
        );
        assert!(
            !w.admit("a", 1_000_000),
            "the same version twice is skipped"
        );
        assert!(w.admit("a", 1_000_500), "a newer version of a is new");
        assert_eq!(w.modstamp_ms, Some(1_000_500));
        assert_eq!(w.lower_bound(MIN), Some(940_500));
        assert!(
            w.admit("c", 900_000),
            "older stamps do not move the watermark back"
        );
        w.prune(MIN);
        assert_eq!(w.recent.len(), 2, "c fell out of the overlap window: {w:?}");
        assert_eq!(w.modstamp_ms, Some(1_000_500));
    }

    #[test]
    fn checkpoints_round_trip_through_json() {
        let c = Checkpoint {
            watermark: Watermark {
                modstamp_ms: Some(5),
                recent: [("x".to_owned(), 5)].into(),
            },
            cursor: Cursor::Bulk {
                job_id: "750x".into(),
                locator: Some("MTAw".into()),
                base: Watermark::default(),
            },
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), c);
        assert!(!c.is_done());
        assert_eq!(c.next_run().cursor, Cursor::Start);
    }
}
