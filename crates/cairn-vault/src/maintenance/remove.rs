//! `remove`: deleting data for good — whole snapshots of a task, or some entities of
//! them — with the record segments only they use.
//!
//! Segments belong to exactly one (task, entity), so once no manifest lists a segment
//! nothing can need it again; chunks are shared through dedup and are left to
//! [`prune`](super::prune), which finds them unreferenced once the manifests are gone.
//!
//! Order, so `check` passes at every instant and a retry finishes the job:
//! 1. a journal `removals/<32 hex>` (sealed) lists every segment the removal may delete:
//!    those of the affected manifest parts plus the ones the caller knows of (segments
//!    of an unfinished run, listed in no manifest yet);
//! 2. every affected manifest is deleted (whole snapshots) or redacted
//!    ([`Vault::redact_snapshot`]);
//! 3. the journal's segments that no remaining manifest lists are deleted;
//! 4. the journal is deleted.
//!
//! A crash before 2 leaves the manifests and segments intact; after 2 the manifests no
//! longer list what is about to go. Every run of [`remove`] first completes the journals
//! an earlier, interrupted run left, so a retry deletes segments even though no manifest
//! points at them anymore.
//!
//! Concurrent writers: a backup of the same task must not commit a manifest listing the
//! removed entities while this runs (the callers remove deleted tasks and entities, which
//! no backup includes any longer).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{Result, VaultError};
use crate::keys::random_hex;
use crate::pack::{open_json_compressed, seal_json_compressed};
use crate::snapshot::SnapshotManifest;
use crate::vault::Vault;

/// Prefix of removal journals.
pub const REMOVALS_PREFIX: &str = "removals";

/// Prefix of record segment objects.
const SEGMENTS_PREFIX: &str = "segments/";

/// What to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalScope {
    /// The whole snapshots whose labels match.
    Snapshots,
    /// These entities (manifest keys, e.g. `object/Account`) of the matching snapshots;
    /// the snapshots stay, without them.
    Entities(BTreeSet<String>),
}

/// A removal: which snapshots (by label), what of them, and further segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalRequest {
    /// A snapshot is affected when its labels include every one of these pairs (e.g.
    /// `task` = the task id). Must not be empty.
    pub labels: BTreeMap<String, String>,
    /// Whole snapshots or some entities of them.
    pub scope: RemovalScope,
    /// Further segment objects of the removed data that manifests may not list (the
    /// pending segments of an unfinished run). Deleted unless a remaining manifest lists
    /// them.
    pub segments: Vec<String>,
}

/// What [`remove`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemovalReport {
    /// Manifests deleted.
    pub snapshots_deleted: u64,
    /// Manifests rewritten without the removed entities.
    pub snapshots_redacted: u64,
    /// Segment objects deleted (including those of completed earlier journals).
    pub segments_deleted: u64,
    /// Journals of earlier, interrupted removals completed by this run.
    pub journals_completed: u64,
}

/// The sealed journal of one removal.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Journal {
    /// Segments to delete once no manifest lists them.
    segments: BTreeSet<String>,
}

fn journal_object(id: &str) -> String {
    format!("{REMOVALS_PREFIX}/{id}")
}

fn aad(id: &str) -> Vec<u8> {
    format!("removal/{id}").into_bytes()
}

/// Whether `object` names a record segment (`segments/<name>.seg`).
fn is_segment_object(object: &str) -> bool {
    object.strip_prefix(SEGMENTS_PREFIX).is_some_and(|rest| {
        rest.len() > ".seg".len() && rest.ends_with(".seg") && !rest.contains('/')
    })
}

fn matches(manifest: &SnapshotManifest, labels: &BTreeMap<String, String>) -> bool {
    labels
        .iter()
        .all(|(k, v)| manifest.labels.get(k).is_some_and(|have| have == v))
}

impl Vault {
    /// Deletes one record segment object. Callers make sure no manifest lists it
    /// ([`remove`] does); deleting an absent segment succeeds.
    ///
    /// # Errors
    /// [`VaultError::Invalid`] for a name outside `segments/`; store failures.
    pub async fn delete_segment(&self, object: &str) -> Result<()> {
        if !is_segment_object(object) {
            return Err(VaultError::Invalid(format!(
                "{object} is not a segment object"
            )));
        }
        self.backend().delete(object).await
    }
}

/// Removes what `request` names (see the module documentation for the order).
///
/// # Errors
/// [`VaultError::Invalid`] for a request without labels or naming a non-segment object;
/// an unreadable manifest stops the removal before anything is deleted (it might list
/// the segments); store failures (a retry continues where this stopped).
pub async fn remove(vault: &Vault, request: &RemovalRequest) -> Result<RemovalReport> {
    if request.labels.is_empty() {
        return Err(VaultError::Invalid(
            "a removal must select snapshots by at least one label".into(),
        ));
    }
    if let Some(bad) = request.segments.iter().find(|s| !is_segment_object(s)) {
        return Err(VaultError::Invalid(format!(
            "{bad} is not a segment object"
        )));
    }
    let mut report = RemovalReport::default();
    complete_journals(vault, &mut report).await?;

    let affected: Vec<SnapshotManifest> = vault
        .snapshots()
        .await?
        .into_iter()
        .filter(|m| matches(m, &request.labels))
        .collect();
    let mut journal = Journal {
        segments: request.segments.iter().cloned().collect(),
    };
    for manifest in &affected {
        let parts = manifest
            .entities
            .iter()
            .filter(|(key, _)| match &request.scope {
                RemovalScope::Snapshots => true,
                RemovalScope::Entities(keys) => keys.contains(*key),
            });
        for (_, part) in parts {
            journal
                .segments
                .extend(part.segments.iter().map(|s| s.object.clone()));
        }
    }
    let journal_id = random_hex(16);
    if !journal.segments.is_empty() {
        let object = journal_object(&journal_id);
        let sealed =
            seal_json_compressed(&vault.keys().meta, &aad(&journal_id), &journal, &object)?;
        vault
            .backend()
            .put_new(&object, Bytes::from(sealed))
            .await?;
    }

    for manifest in &affected {
        match &request.scope {
            RemovalScope::Snapshots => {
                vault.delete_snapshot(&manifest.id).await?;
                report.snapshots_deleted += 1;
            }
            RemovalScope::Entities(keys) => {
                if keys.iter().any(|k| manifest.entities.contains_key(k)) {
                    vault.redact_snapshot(&manifest.id, keys).await?;
                    report.snapshots_redacted += 1;
                }
            }
        }
    }

    if !journal.segments.is_empty() {
        report.segments_deleted += sweep(vault, &journal_id, &journal).await?;
    }
    Ok(report)
}

/// Completes journals left by interrupted removals.
async fn complete_journals(vault: &Vault, report: &mut RemovalReport) -> Result<()> {
    for listed in vault.backend().list(REMOVALS_PREFIX).await? {
        let Some(id) = listed.name.rsplit('/').next().map(str::to_owned) else {
            continue;
        };
        let sealed = vault.backend().get(&listed.name).await?;
        let journal: Journal =
            open_json_compressed(&vault.keys().meta, &aad(&id), &sealed, &listed.name)?;
        report.segments_deleted += sweep(vault, &id, &journal).await?;
        report.journals_completed += 1;
    }
    Ok(())
}

/// Deletes the journal's segments no manifest lists, then the journal. Returns how many
/// segments were deleted.
async fn sweep(vault: &Vault, id: &str, journal: &Journal) -> Result<u64> {
    let listed: HashSet<String> = vault
        .snapshots()
        .await?
        .iter()
        .flat_map(|m| m.entities.values())
        .flat_map(|e| e.segments.iter().map(|s| s.object.clone()))
        .collect();
    let mut deleted = 0;
    for object in journal.segments.iter().filter(|s| !listed.contains(*s)) {
        if vault.backend().head(object).await?.is_some() {
            vault.delete_segment(object).await?;
            deleted += 1;
        }
    }
    vault.backend().delete(&journal_object(id)).await?;
    Ok(deleted)
}
