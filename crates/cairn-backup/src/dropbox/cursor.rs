//! What a Dropbox entity remembers between runs (its `cursor` in the meta store).
//!
//! Unlike a Salesforce entity, a Dropbox entity makes no intermediate progress durable:
//! a run lists the entity's changes, downloads what the vault lacks and writes one delta
//! segment. The cursor below moves only after the snapshot manifest listing that delta
//! is written, so a crash anywhere leaves the previous cursor with the previous
//! segments — a consistent pair — and the next run lists the same changes again (the
//! content already downloaded is found in the vault by its `content_hash`).

use cairn_vault::segments::SegmentRef;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

/// One entity's committed position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropboxCursor {
    /// The Dropbox listing cursor after the last committed run (`None`: list in full).
    #[serde(default)]
    pub list_cursor: Option<String>,
    /// Segments of the committed state, oldest first.
    #[serde(default)]
    pub segments: Vec<SegmentRef>,
    /// Live items (files and folders) in the committed state.
    #[serde(default)]
    pub items: u64,
    /// Bytes of the live files in the committed state (logical sizes).
    #[serde(default)]
    pub bytes: u64,
}

impl DropboxCursor {
    /// The cursor stored for entity `name` (a fresh one when there is none).
    ///
    /// # Errors
    /// [`BackupError::Cursor`] when the stored value is not a Dropbox cursor.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_values_are_refused() {
        let c = DropboxCursor {
            list_cursor: Some("AAE".into()),
            segments: vec![SegmentRef {
                object: "segments/x.seg".into(),
                rows: 3,
                stored_bytes: 10,
                min_key: "/a".into(),
                max_key: "/c".into(),
            }],
            items: 3,
            bytes: 99,
        };
        assert_eq!(DropboxCursor::load("m", Some(&c.to_value())).unwrap(), c);
        assert_eq!(
            DropboxCursor::load("m", None).unwrap(),
            DropboxCursor::default()
        );
        let err = DropboxCursor::load("m", Some(&serde_json::json!({"segments": 7}))).unwrap_err();
        assert!(err.to_string().contains("entity m"), "{err}");
    }
}
