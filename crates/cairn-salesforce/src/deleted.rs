//! Deletions (research note §2.5, §2.6): soft deletes come with the record read
//! (`queryAll` returns `IsDeleted = true` rows); getDeleted reports what the delete log
//! holds for a window; and because the log only reaches 15 days back and is trimmed when
//! the recycle bin is purged, a window it no longer fully covers calls for a full Id
//! reconciliation — the only way to see hard deletes reliably (pitfall 9).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{OrgClient, Request};
use crate::describe::{ObjectSchema, check_object_name};
use crate::error::SalesforceError;
use crate::record::{format_datetime, parse_datetime};
use crate::watermark::{Checkpoint, Cursor, Watermark};

const MINUTE_MS: i64 = 60_000;
/// getDeleted reaches 15 days back.
const DELETE_LOG_MS: i64 = 15 * 24 * 3600 * 1000;

/// Where the deletion scan of one object stands. Persist it with the object's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteCursor {
    /// The delete log has been read up to here (`latestDateCovered`, epoch ms).
    pub covered_to_ms: Option<i64>,
}

/// One record the delete log reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRecord {
    /// Record id.
    pub id: String,
    /// When it was deleted (epoch ms).
    pub deleted_at_ms: i64,
}

/// The result of one deletion scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedScan {
    /// Records deleted in the window.
    pub deleted: Vec<DeletedRecord>,
    /// The cursor to persist.
    pub cursor: DeleteCursor,
    /// The log does not fully cover the window (too old, or trimmed by a purge): compare
    /// the backed-up ids with [`OrgClient::all_ids`] to find hard deletes.
    pub needs_reconciliation: bool,
}

fn floor_minute(ms: i64) -> i64 {
    ms - ms.rem_euclid(MINUTE_MS)
}

impl OrgClient {
    /// Reads the delete log of `object` since `cursor`, up to the org's current minute
    /// (seconds are ignored by getDeleted). A first call (no cursor) only starts the log
    /// at the org's current time: a full read needs no deletions.
    ///
    /// # Errors
    /// API, budget and connection errors (an `INVALID_REPLICATION_DATE` window becomes
    /// `needs_reconciliation` instead).
    pub async fn deleted_since(
        &self,
        object: &str,
        cursor: &DeleteCursor,
    ) -> Result<DeletedScan, SalesforceError> {
        check_object_name(object)?;
        let now = match self.server_now_ms() {
            Some(t) => t,
            None => {
                // One cheap call teaches us the org's clock.
                self.load_limits().await?;
                self.server_now_ms()
                    .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
            }
        };
        let end = floor_minute(now);
        let empty = |cursor: DeleteCursor, reconcile: bool| DeletedScan {
            deleted: Vec::new(),
            cursor,
            needs_reconciliation: reconcile,
        };
        let Some(start) = cursor.covered_to_ms.map(floor_minute) else {
            return Ok(empty(
                DeleteCursor {
                    covered_to_ms: Some(end),
                },
                false,
            ));
        };
        if end <= start {
            return Ok(empty(cursor.clone(), false));
        }
        let moved = DeleteCursor {
            covered_to_ms: Some(end),
        };
        if now - start >= DELETE_LOG_MS {
            return Ok(empty(moved, true));
        }
        let req = Request::get(self.data(&format!("/sobjects/{object}/deleted/")))
            .param("start", format_datetime(start))
            .param("end", format_datetime(end));
        let body: Value = match self.get_json(req).await {
            Ok(v) => v,
            // A window too old, or with more than 600,000 deletions: the log cannot
            // answer, reconciliation can.
            Err(e)
                if matches!(
                    e.error_code(),
                    Some("INVALID_REPLICATION_DATE" | "EXCEEDED_ID_LIMIT")
                ) =>
            {
                return Ok(empty(moved, true));
            }
            Err(e) => return Err(e),
        };
        let mut deleted = Vec::new();
        for r in body["deletedRecords"].as_array().into_iter().flatten() {
            let (Some(id), Some(at)) = (
                r["id"].as_str(),
                r["deletedDate"].as_str().and_then(parse_datetime),
            ) else {
                return Err(SalesforceError::protocol(
                    object,
                    "a deletedRecords entry lacks id or deletedDate",
                ));
            };
            deleted.push(DeletedRecord {
                id: id.to_owned(),
                deleted_at_ms: at,
            });
        }
        let earliest = body["earliestDateAvailable"]
            .as_str()
            .and_then(parse_datetime);
        let latest = body["latestDateCovered"]
            .as_str()
            .and_then(parse_datetime)
            .unwrap_or(end);
        Ok(DeletedScan {
            deleted,
            cursor: DeleteCursor {
                covered_to_ms: Some(latest.max(start)),
            },
            needs_reconciliation: earliest.is_some_and(|e| e > start),
        })
    }

    /// Every record id of the object, the recycle bin included, sorted — for
    /// reconciliation. Uses Bulk above the configured threshold.
    ///
    /// # Errors
    /// API, budget and connection errors.
    pub async fn all_ids(&self, schema: &ObjectSchema) -> Result<Vec<String>, SalesforceError> {
        let id_only = ObjectSchema {
            name: schema.name.clone(),
            fields: schema
                .fields
                .iter()
                .filter(|f| matches!(f.name.as_str(), "Id" | "SystemModstamp" | "IsDeleted"))
                .cloned()
                .collect(),
            describe: Value::Null,
        };
        let id_only = std::sync::Arc::new(id_only);
        let mut reader = self.read_records(
            id_only,
            Checkpoint {
                watermark: Watermark::default(),
                cursor: Cursor::Start,
            },
        )?;
        let mut ids = Vec::new();
        while let Some(page) = reader.next_page().await? {
            ids.extend(page.records.into_iter().map(|r| r.key));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// The ids in `known` (what the backup holds) that are not in `existing` (sorted, from
/// [`OrgClient::all_ids`]): the records hard-deleted or purged since.
#[must_use]
pub fn hard_deleted<'a>(
    known: impl IntoIterator<Item = &'a str>,
    existing: &[String],
) -> Vec<String> {
    let mut gone: Vec<String> = known
        .into_iter()
        .filter(|id| existing.binary_search_by(|e| e.as_str().cmp(id)).is_err())
        .map(str::to_owned)
        .collect();
    gone.sort_unstable();
    gone.dedup();
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_deletes_are_the_known_ids_no_longer_there() {
        let existing = vec!["a".to_owned(), "c".to_owned()];
        assert_eq!(
            hard_deleted(["a", "b", "c", "d", "b"], &existing),
            ["b", "d"]
        );
        assert!(hard_deleted([], &existing).is_empty());
    }

    #[test]
    fn windows_are_whole_minutes() {
        assert_eq!(floor_minute(125_000), 120_000);
        assert_eq!(floor_minute(120_000), 120_000);
    }
}
