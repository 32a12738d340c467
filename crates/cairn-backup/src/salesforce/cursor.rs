//! What a Salesforce entity remembers between runs (its `cursor` in the meta store).

use cairn_salesforce::{Checkpoint, DeleteCursor};
use cairn_vault::segments::SegmentRef;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

/// One entity's position, saved after every durable step.
///
/// `segments` are the ones a snapshot manifest already lists (the entity's state as of
/// its last successful backup). `pending` are segments written since, durable but in no
/// manifest yet: the current read's progress. When the entity completes, the next
/// manifest lists `segments + pending`, and only after that manifest is written does
/// `pending` move into `segments` — so a crash anywhere leaves a consistent pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCursor {
    /// Record read position (object entities).
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// Delete-log position (object entities).
    #[serde(default)]
    pub deletes: DeleteCursor,
    /// Committed segments, oldest first.
    #[serde(default)]
    pub segments: Vec<SegmentRef>,
    /// Segments of the read in progress, oldest first.
    #[serde(default)]
    pub pending: Vec<SegmentRef>,
    /// Live items in the committed state.
    #[serde(default)]
    pub items: u64,
    /// Blob bytes referenced by the committed state (as written).
    #[serde(default)]
    pub blob_bytes: u64,
    /// Blob bytes written by the read in progress.
    #[serde(default)]
    pub pending_blob_bytes: u64,
}

impl EntityCursor {
    /// The cursor stored for entity `name` (a fresh one when there is none).
    ///
    /// # Errors
    /// [`BackupError::Cursor`] when the stored value is not a cursor.
    pub fn load(name: &str, stored: Option<&serde_json::Value>) -> Result<Self> {
        match stored {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| BackupError::Cursor {
                entity: name.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// The value to store.
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        // A struct of plain fields always serialises.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Every segment of the entity's newest state: committed, then pending.
    #[must_use]
    pub fn all_segments(&self) -> Vec<SegmentRef> {
        self.segments.iter().chain(&self.pending).cloned().collect()
    }

    /// The cursor after the entity's pending read is listed by a written manifest.
    #[must_use]
    pub fn committed(&self, items: u64) -> Self {
        Self {
            checkpoint: self.checkpoint.clone(),
            deletes: self.deletes.clone(),
            segments: self.all_segments(),
            pending: Vec::new(),
            items,
            blob_bytes: self.blob_bytes + self.pending_blob_bytes,
            pending_blob_bytes: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(name: &str) -> SegmentRef {
        SegmentRef {
            object: name.into(),
            rows: 1,
            stored_bytes: 10,
            min_key: "a".into(),
            max_key: "b".into(),
        }
    }

    #[test]
    fn committing_moves_pending_after_segments() {
        let c = EntityCursor {
            segments: vec![seg("s1")],
            pending: vec![seg("s2"), seg("s3")],
            blob_bytes: 5,
            pending_blob_bytes: 7,
            ..EntityCursor::default()
        };
        let done = c.committed(42);
        assert_eq!(done.segments, vec![seg("s1"), seg("s2"), seg("s3")]);
        assert!(done.pending.is_empty());
        assert_eq!(
            (done.items, done.blob_bytes, done.pending_blob_bytes),
            (42, 12, 0)
        );
        let back = EntityCursor::load("x", Some(&done.to_value())).unwrap();
        assert_eq!(back, done);
        assert_eq!(
            EntityCursor::load("x", None).unwrap(),
            EntityCursor::default()
        );
        assert!(EntityCursor::load("x", Some(&serde_json::json!([1]))).is_err());
    }
}
