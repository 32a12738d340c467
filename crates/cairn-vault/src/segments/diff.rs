//! Snapshot compare: merge-join of two states on (key, row hash), reading only the key,
//! version, deleted and row-hash columns of each segment.

use std::cmp::Ordering;

use super::columns::Projection;
use super::merge::StateReader;
use super::{Row, SegmentRef, SegmentStore, StateOptions};
use crate::error::Result;

/// How a key differs between the old and the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Present only in the new state.
    Added,
    /// Present only in the old state.
    Removed,
    /// Present in both with different record content (row hash).
    Changed,
}

/// One differing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    /// The key.
    pub key: String,
    /// What happened to it.
    pub change: Change,
}

/// Streams the differences between two states in key order.
pub struct DiffReader {
    old: StateReader,
    new: StateReader,
    old_head: Option<Row>,
    new_head: Option<Row>,
    primed: bool,
}

impl DiffReader {
    /// The next differing key, or `None` when both states are exhausted.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn next(&mut self) -> Result<Option<DiffEntry>> {
        if !self.primed {
            self.primed = true;
            self.old_head = self.old.next().await?;
            self.new_head = self.new.next().await?;
        }
        loop {
            let order = match (&self.old_head, &self.new_head) {
                (None, None) => return Ok(None),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(o), Some(n)) => o.key.cmp(&n.key),
            };
            match order {
                Ordering::Less => {
                    let Some(o) = self.old_head.take() else {
                        continue;
                    };
                    self.old_head = self.old.next().await?;
                    return Ok(Some(DiffEntry {
                        key: o.key,
                        change: Change::Removed,
                    }));
                }
                Ordering::Greater => {
                    let Some(n) = self.new_head.take() else {
                        continue;
                    };
                    self.new_head = self.new.next().await?;
                    return Ok(Some(DiffEntry {
                        key: n.key,
                        change: Change::Added,
                    }));
                }
                Ordering::Equal => {
                    let (Some(o), Some(n)) = (self.old_head.take(), self.new_head.take()) else {
                        continue;
                    };
                    self.old_head = self.old.next().await?;
                    self.new_head = self.new.next().await?;
                    if o.row_hash != n.row_hash {
                        return Ok(Some(DiffEntry {
                            key: n.key,
                            change: Change::Changed,
                        }));
                    }
                }
            }
        }
    }
}

impl SegmentStore {
    /// Compares the state made of `old` segments with the state made of `new` segments
    /// (each oldest first). Deleted keys count as absent.
    ///
    /// # Errors
    /// Store, integrity or format errors naming the segment object.
    pub async fn diff(&self, old: &[SegmentRef], new: &[SegmentRef]) -> Result<DiffReader> {
        let opts = StateOptions {
            projection: Projection::KEYS,
            include_deleted: false,
        };
        Ok(DiffReader {
            old: self.state(old, opts).await?,
            new: self.state(new, opts).await?,
            old_head: None,
            new_head: None,
            primed: false,
        })
    }
}
