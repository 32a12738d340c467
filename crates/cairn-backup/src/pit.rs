//! Reading snapshots back: an entity's items at a snapshot (a point-in-time merge over
//! the segments its manifest lists), and a comparison with a source's items.

use std::collections::BTreeMap;

use cairn_vault::segments::{Projection, SegmentStore, StateOptions};
use cairn_vault::{ChunkId, EntityManifest};

use crate::error::Result;
use crate::salesforce::is_tombstone;

/// One item of an entity as a snapshot holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// In the source's recycle bin (deleted, still restorable).
    pub deleted: bool,
    /// The record JSON.
    pub record: String,
    /// Source modification time (ms).
    pub modstamp: i64,
    /// Blob chunks.
    pub chunks: Vec<ChunkId>,
}

/// The items of `entity` at its snapshot, by key: live items and those in the recycle
/// bin; items gone for good are absent.
///
/// # Errors
/// Store, integrity or format errors naming the segment.
pub async fn entity_items(
    segs: &SegmentStore,
    entity: &EntityManifest,
) -> Result<BTreeMap<String, StoredItem>> {
    let mut out = BTreeMap::new();
    if entity.segments.is_empty() {
        return Ok(out);
    }
    let mut state = segs
        .state(
            &entity.segments,
            StateOptions {
                projection: Projection::ALL,
                include_deleted: true,
            },
        )
        .await?;
    while let Some(row) = state.next().await? {
        if is_tombstone(&row) {
            continue;
        }
        out.insert(
            row.key,
            StoredItem {
                deleted: row.deleted,
                record: row.record,
                modstamp: row.modstamp,
                chunks: row.chunks,
            },
        );
    }
    Ok(out)
}

/// How a snapshot's entity differs from the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Items compared.
    pub compared: usize,
    /// Keys at the source the snapshot lacks.
    pub missing: Vec<String>,
    /// Keys in the snapshot the source lacks.
    pub unexpected: Vec<String>,
    /// Keys whose record or deleted flag differs.
    pub different: Vec<String>,
}

impl Comparison {
    /// Whether the snapshot equals the source.
    #[must_use]
    pub fn matches(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.different.is_empty()
    }
}

/// Compares stored items with the source's `(deleted, record JSON)` by key.
#[must_use]
pub fn compare(
    stored: &BTreeMap<String, StoredItem>,
    source: &BTreeMap<String, (bool, String)>,
) -> Comparison {
    let mut c = Comparison::default();
    for (key, (deleted, record)) in source {
        c.compared += 1;
        match stored.get(key) {
            None => c.missing.push(key.clone()),
            Some(s) if s.deleted != *deleted || &s.record != record => {
                c.different.push(key.clone());
            }
            Some(_) => {}
        }
    }
    c.unexpected = stored
        .keys()
        .filter(|k| !source.contains_key(*k))
        .cloned()
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(deleted: bool, record: &str) -> StoredItem {
        StoredItem {
            deleted,
            record: record.into(),
            modstamp: 0,
            chunks: Vec::new(),
        }
    }

    #[test]
    fn comparison_names_every_difference() {
        let stored: BTreeMap<String, StoredItem> = [
            ("a".to_owned(), item(false, "1")),
            ("b".to_owned(), item(true, "2")),
            ("c".to_owned(), item(false, "3")),
            ("x".to_owned(), item(false, "9")),
        ]
        .into();
        let source: BTreeMap<String, (bool, String)> = [
            ("a".to_owned(), (false, "1".to_owned())),
            ("b".to_owned(), (false, "2".to_owned())),
            ("c".to_owned(), (false, "4".to_owned())),
            ("d".to_owned(), (false, "5".to_owned())),
        ]
        .into();
        let c = compare(&stored, &source);
        assert_eq!(c.missing, ["d"]);
        assert_eq!(c.unexpected, ["x"]);
        assert_eq!(c.different, ["b", "c"]);
        assert!(!c.matches());
        assert!(compare(&stored, &BTreeMap::new()).unexpected.len() == 4);
        let same: BTreeMap<String, (bool, String)> = stored
            .iter()
            .map(|(k, v)| (k.clone(), (v.deleted, v.record.clone())))
            .collect();
        assert!(compare(&stored, &same).matches());
    }
}
