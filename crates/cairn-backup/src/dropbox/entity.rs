//! One Dropbox entity's part of a run: list its changes, reconcile them with the stored
//! state, fetch the content the vault lacks and write one delta segment.
//!
//! Items are keyed by `path_lower` (Dropbox paths are case-insensitive). A row's record
//! is the entry's metadata as JSON (`tag` `file` or `folder`, with `rev`, `size`,
//! `content_hash`, times); the file's content chunks are in the row's chunk column. Its
//! version is the file's `server_modified` in milliseconds: revs are opaque strings, and
//! within a segment there is only one row per key anyway. Removed items are tombstones.
//!
//! Deletions: an incremental listing reports a deleted folder once, not each item in
//! it, so a deleted path removes everything stored below it. A full listing (first run,
//! or after the cursor was reset) reports only what exists, so what the stored state
//! has beyond it was deleted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_domain::EntityCounters;
use cairn_dropbox::{Change, DropboxError, Entity, FileEntry, FolderEntry, TeamClient};
use cairn_vault::segments::{Projection, RecordVersion, SegmentStore, StateOptions};
use cairn_vault::{ChunkId, ChunkWriter, Content, Vault};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::dropbox::cursor::DropboxCursor;
use crate::error::{BackupError, Result};
use crate::progress::Progress;
use crate::salesforce::{is_tombstone, tombstone};

/// The vault's content key of a Dropbox `content_hash`.
#[must_use]
pub fn content_key(hash_hex: &str) -> String {
    format!("dropbox-content/{hash_hex}")
}

/// What the run as a whole counts.
#[derive(Debug, Default)]
pub(crate) struct RunStats {
    /// Files whose content was downloaded.
    pub files_fetched: AtomicU64,
    /// Bytes downloaded.
    pub bytes_fetched: AtomicU64,
    /// Changed files whose content the vault (or this run) already had.
    pub files_reused: AtomicU64,
    /// Listing entries seen.
    pub entries_listed: AtomicU64,
}

/// Everything an entity's backup needs from its run.
pub(crate) struct Env<'a> {
    pub client: &'a TeamClient,
    pub vault: &'a Vault,
    pub segs: &'a SegmentStore,
    pub progress: &'a dyn Progress,
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// Content fetched by this run, by content key (the vault learns it only when an
    /// entity's chunk session finishes).
    pub fetched: &'a parking_lot::Mutex<HashMap<String, Vec<ChunkId>>>,
    pub stats: &'a RunStats,
}

/// An entity backed up in this run, waiting for the manifest that lists it.
#[derive(Debug)]
pub(crate) struct EntityDone {
    /// The cursor to save once the manifest is written.
    pub cursor: DropboxCursor,
    /// This run's counters.
    pub counters: EntityCounters,
}

/// The new state of one changed key.
#[derive(Debug, Clone)]
enum Item {
    File(FileEntry),
    Folder(FolderEntry),
    Gone,
}

/// What the committed state holds for a key (what reconciling needs).
#[derive(Debug, Clone, Default, Deserialize)]
struct Stored {
    #[serde(default)]
    rev: Option<String>,
    #[serde(default)]
    size: u64,
}

/// Backs up `entity` from its committed `cursor`. `Ok(None)` when told to stop.
pub(crate) async fn backup_entity(
    env: &Env<'_>,
    entity: &Entity,
    name: &str,
    cursor: &DropboxCursor,
) -> Result<Option<EntityDone>> {
    let Some((changes, list_cursor, full)) = list(env, entity, cursor).await? else {
        return Ok(None);
    };
    if changes.is_empty() && !full {
        return Ok(Some(EntityDone {
            cursor: DropboxCursor {
                list_cursor: Some(list_cursor),
                ..cursor.clone()
            },
            counters: EntityCounters {
                items: cursor.items,
                bytes: cursor.bytes,
                ..EntityCounters::default()
            },
        }));
    }
    let stored = stored_state(env.segs, cursor).await?;
    let next = reconcile(changes, &stored, full);

    // Content first: every file row must be able to name its chunks.
    let chunks = match fetch_content(env, entity, name, &next).await? {
        Some(c) => c,
        None => return Ok(None),
    };

    let mut counters = EntityCounters::default();
    let mut items = cursor.items;
    let mut bytes = cursor.bytes;
    let mut segment = None;
    for (key, item) in next {
        let before = stored.get(&key);
        if let Some(old) = before {
            bytes = bytes.saturating_sub(old.size);
        }
        let version = match &item {
            Item::Gone => {
                counters.deleted += 1;
                items = items.saturating_sub(1);
                tombstone(key, 0)
            }
            Item::File(f) => {
                bytes += f.size;
                let chunks = f
                    .content_hash
                    .as_ref()
                    .and_then(|h| chunks.get(&content_key(&h.to_hex())).cloned())
                    .or_else(|| chunks.get(&f.path_lower).cloned())
                    .unwrap_or_default();
                file_row(key, f, chunks)?
            }
            Item::Folder(f) => folder_row(key, f)?,
        };
        if !matches!(item, Item::Gone) {
            if before.is_some() {
                counters.updated += 1;
            } else {
                counters.added += 1;
                items += 1;
            }
        }
        segment
            .get_or_insert_with(|| env.segs.writer())
            .push(version)
            .await?;
    }
    let mut segments = cursor.segments.clone();
    if let Some(w) = segment {
        segments.extend(w.finish().await?);
    }
    counters.items = items;
    counters.bytes = bytes;
    Ok(Some(EntityDone {
        cursor: DropboxCursor {
            list_cursor: Some(list_cursor),
            segments,
            items,
            bytes,
        },
        counters,
    }))
}

/// Lists the entity's changes since `cursor` (in full without one, or when Dropbox
/// reset it). Returns the changes in order, the cursor after them and whether the
/// listing was a full one; `None` when told to stop.
async fn list(
    env: &Env<'_>,
    entity: &Entity,
    cursor: &DropboxCursor,
) -> Result<Option<(Vec<Change>, String, bool)>> {
    let mut from = cursor.list_cursor.clone();
    'listing: loop {
        let full = from.is_none();
        let mut changes = Vec::new();
        let mut last = from.clone().unwrap_or_default();
        let pages = env.client.list_changes(entity, from.as_deref());
        futures::pin_mut!(pages);
        loop {
            if env.progress.is_stopped() {
                return Ok(None);
            }
            match pages.try_next().await {
                Ok(Some(page)) => {
                    env.stats
                        .entries_listed
                        .fetch_add(page.changes.len() as u64, Ordering::Relaxed);
                    changes.extend(page.changes);
                    last = page.cursor;
                }
                Ok(None) => return Ok(Some((changes, last, full))),
                Err(DropboxError::CursorReset) if !full => {
                    tracing::info!(entity = %entity.id, "cursor reset: listing in full");
                    from = None;
                    continue 'listing;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Path, revision and size of every live item in the committed state.
async fn stored_state(
    segs: &SegmentStore,
    cursor: &DropboxCursor,
) -> Result<BTreeMap<String, Stored>> {
    let mut out = BTreeMap::new();
    if cursor.segments.is_empty() {
        return Ok(out);
    }
    let mut state = segs
        .state(
            &cursor.segments,
            StateOptions {
                projection: Projection {
                    record: true,
                    ..Projection::KEYS
                },
                include_deleted: false,
            },
        )
        .await?;
    while let Some(row) = state.next().await? {
        if is_tombstone(&row) {
            continue;
        }
        let stored: Stored = serde_json::from_str(&row.record).unwrap_or_default();
        out.insert(row.key, stored);
    }
    Ok(out)
}

/// Keys equal to `path` or below it, among `keys` (sorted).
fn under<'a, V>(keys: &'a BTreeMap<String, V>, path: &str) -> Vec<&'a String> {
    let below = format!("{path}/");
    keys.range(path.to_owned()..)
        .take_while(|(k, _)| k.starts_with(path))
        .filter(|(k, _)| k.as_str() == path || k.starts_with(&below))
        .map(|(k, _)| k)
        .collect()
}

/// The changed keys and their new state, after applying `changes` in order over the
/// committed state `stored`. Unchanged items (same rev, folders already stored) and
/// deletions of what was never stored are dropped.
fn reconcile(
    changes: Vec<Change>,
    stored: &BTreeMap<String, Stored>,
    full: bool,
) -> BTreeMap<String, Item> {
    let mut next: BTreeMap<String, Item> = BTreeMap::new();
    for change in changes {
        match change {
            Change::File(f) => {
                next.insert(f.path_lower.clone(), Item::File(f));
            }
            Change::Folder(f) => {
                next.insert(f.path_lower.clone(), Item::Folder(f));
            }
            Change::Deleted { path_lower, .. } => {
                let gone: Vec<String> = under(&next, &path_lower)
                    .into_iter()
                    .chain(under(stored, &path_lower))
                    .cloned()
                    .collect();
                for k in gone {
                    next.insert(k, Item::Gone);
                }
                next.insert(path_lower, Item::Gone);
            }
        }
    }
    if full {
        for k in stored.keys() {
            next.entry(k.clone()).or_insert(Item::Gone);
        }
    }
    next.retain(|k, item| match (item, stored.get(k)) {
        (Item::Gone, old) => old.is_some(),
        (Item::Folder(_), Some(old)) => old.rev.is_some(),
        (Item::File(f), Some(old)) => old.rev.as_deref() != Some(f.rev.as_str()),
        (_, None) => true,
    });
    next
}

/// Makes sure the vault has the content of every changed file: reuses what the vault or
/// this run already has by `content_hash`, downloads the rest (each distinct content
/// once, verified) and records the new content keys. Returns content key → chunks
/// (files without a `content_hash` are keyed by path); `None` when told to stop.
async fn fetch_content(
    env: &Env<'_>,
    entity: &Entity,
    name: &str,
    next: &BTreeMap<String, Item>,
) -> Result<Option<HashMap<String, Vec<ChunkId>>>> {
    let mut have: HashMap<String, Vec<ChunkId>> = HashMap::new();
    let mut wanted: BTreeMap<String, &FileEntry> = BTreeMap::new();
    for item in next.values() {
        let Item::File(f) = item else { continue };
        if !f.is_downloadable {
            continue;
        }
        let key = match &f.content_hash {
            Some(h) => content_key(&h.to_hex()),
            None => f.path_lower.clone(),
        };
        if have.contains_key(&key) || wanted.contains_key(&key) {
            env.stats.files_reused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if f.size == 0 {
            have.insert(key, Vec::new());
            continue;
        }
        let known = env
            .fetched
            .lock()
            .get(&key)
            .cloned()
            .or_else(|| env.vault.content_chunks(&key));
        match known {
            Some(chunks) if f.content_hash.is_some() => {
                env.stats.files_reused.fetch_add(1, Ordering::Relaxed);
                have.insert(key, chunks);
            }
            _ => {
                wanted.insert(key, f);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(Some(have));
    }
    let writer = env.vault.writer();
    let total = wanted.len() as u64;
    let done = AtomicU64::new(0);
    // Futures of a named async fn, collected first: a closure in the stream would make
    // the run's future `Send` only for one lifetime (spawned runners need all).
    let jobs: Vec<_> = wanted
        .into_iter()
        .map(|(key, file)| fetch_one(env, &writer, entity, name, key, file.clone(), &done, total))
        .collect();
    let mut downloads = futures::stream::iter(jobs).buffer_unordered(env.concurrency.max(1));
    let mut new: Vec<(String, Vec<ChunkId>)> = Vec::new();
    while let Some(result) = downloads.next().await {
        let (key, content) = result?;
        if env.progress.is_stopped() {
            return Ok(None);
        }
        new.push((key, content.chunks));
    }
    drop(downloads);
    for (key, chunks) in &new {
        if key.starts_with("dropbox-content/") {
            writer.record_content_key(key.clone(), chunks.clone());
        }
    }
    // Chunks (and content keys) are durable before any segment refers to them.
    writer.finish().await?;
    let mut fetched = env.fetched.lock();
    for (key, chunks) in new {
        fetched.insert(key.clone(), chunks.clone());
        have.insert(key, chunks);
    }
    Ok(Some(have))
}

/// Downloads one distinct content and reports progress.
#[allow(clippy::too_many_arguments)]
async fn fetch_one(
    env: &Env<'_>,
    writer: &ChunkWriter,
    entity: &Entity,
    name: &str,
    key: String,
    file: FileEntry,
    done: &AtomicU64,
    total: u64,
) -> Result<(String, Content)> {
    let content = download(env.client, writer, entity, &file).await?;
    env.stats.files_fetched.fetch_add(1, Ordering::Relaxed);
    env.stats
        .bytes_fetched
        .fetch_add(content.size, Ordering::Relaxed);
    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
    env.progress.progress(n, Some(total), name).await;
    Ok((key, content))
}

/// Streams one file revision into the chunk writer. A verification failure
/// (`content_hash` or size) comes back as the connector's error, not the writer's.
async fn download(
    client: &TeamClient,
    writer: &ChunkWriter,
    entity: &Entity,
    file: &FileEntry,
) -> Result<Content> {
    let failure: Arc<parking_lot::Mutex<Option<DropboxError>>> = Arc::default();
    let slot = Arc::clone(&failure);
    let bytes = client.download(entity, file).map(move |item| {
        item.map_err(|e| {
            let message = e.to_string();
            *slot.lock() = Some(e);
            std::io::Error::other(message)
        })
    });
    match writer.write_stream(bytes, &file.path_display).await {
        Ok(content) => Ok(content),
        Err(e) => match failure.lock().take() {
            Some(d) => Err(d.into()),
            None => Err(e.into()),
        },
    }
}

fn record_json(value: serde_json::Value) -> Result<String> {
    serde_json::to_string(&value).map_err(|e| BackupError::Config(format!("record JSON: {e}")))
}

fn file_row(key: String, f: &FileEntry, chunks: Vec<ChunkId>) -> Result<RecordVersion> {
    let ms = f.server_modified.timestamp_millis();
    let record = record_json(serde_json::json!({
        "tag": "file",
        "id": f.id,
        "name": f.name,
        "path_display": f.path_display,
        "rev": f.rev,
        "size": f.size,
        "content_hash": f.content_hash.as_ref().map(|h| h.to_hex()),
        "server_modified": f.server_modified,
        "client_modified": f.client_modified,
        "is_downloadable": f.is_downloadable,
        "parent_shared_folder_id": f.parent_shared_folder_id,
    }))?;
    Ok(RecordVersion {
        key,
        version: ms,
        deleted: false,
        modstamp: ms,
        created_by: String::new(),
        modified_by: f.modified_by.clone().unwrap_or_default(),
        record,
        chunks,
    })
}

fn folder_row(key: String, f: &FolderEntry) -> Result<RecordVersion> {
    let record = record_json(serde_json::json!({
        "tag": "folder",
        "id": f.id,
        "name": f.name,
        "path_display": f.path_display,
        "shared_folder_id": f.shared_folder_id,
    }))?;
    Ok(RecordVersion {
        key,
        record,
        ..RecordVersion::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, rev: &str) -> FileEntry {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        FileEntry {
            id: format!("id:{path}"),
            name: path.rsplit('/').next().unwrap().into(),
            path_lower: path.into(),
            path_display: path.into(),
            rev: rev.into(),
            size: 3,
            content_hash: None,
            server_modified: t,
            client_modified: t,
            is_downloadable: true,
            parent_shared_folder_id: None,
            modified_by: None,
        }
    }

    fn stored(entries: &[(&str, Option<&str>)]) -> BTreeMap<String, Stored> {
        entries
            .iter()
            .map(|(k, rev)| {
                (
                    (*k).to_owned(),
                    Stored {
                        rev: rev.map(str::to_owned),
                        size: 3,
                    },
                )
            })
            .collect()
    }

    fn gone(path: &str) -> Change {
        Change::Deleted {
            path_lower: path.into(),
            path_display: path.into(),
        }
    }

    fn summary(next: &BTreeMap<String, Item>) -> Vec<(String, &'static str)> {
        next.iter()
            .map(|(k, v)| {
                let what = match v {
                    Item::File(_) => "file",
                    Item::Folder(_) => "folder",
                    Item::Gone => "gone",
                };
                (k.clone(), what)
            })
            .collect()
    }

    #[test]
    fn a_deleted_folder_takes_everything_below_it_and_nothing_beside_it() {
        let old = stored(&[
            ("/a", None),
            ("/a/x", Some("1")),
            ("/a/y/z", Some("1")),
            ("/a-b", Some("1")),
            ("/ab", Some("1")),
        ]);
        let next = reconcile(
            vec![
                Change::File(file("/a/new", "5")),
                gone("/a"),
                Change::File(file("/a2", "6")),
            ],
            &old,
            false,
        );
        assert_eq!(
            summary(&next),
            [
                ("/a".to_owned(), "gone"),
                ("/a/x".to_owned(), "gone"),
                ("/a/y/z".to_owned(), "gone"),
                ("/a2".to_owned(), "file"),
            ]
        );
    }

    #[test]
    fn a_full_listing_removes_what_it_lacks_and_keeps_unchanged_revs_out() {
        let old = stored(&[
            ("/keep", Some("1")),
            ("/edit", Some("1")),
            ("/lost", Some("1")),
        ]);
        let next = reconcile(
            vec![
                Change::File(file("/keep", "1")),
                Change::File(file("/edit", "2")),
                Change::File(file("/new", "1")),
            ],
            &old,
            true,
        );
        assert_eq!(
            summary(&next),
            [
                ("/edit".to_owned(), "file"),
                ("/lost".to_owned(), "gone"),
                ("/new".to_owned(), "file"),
            ]
        );
        // An incremental listing never deletes by absence.
        let next = reconcile(vec![Change::File(file("/new", "1"))], &old, false);
        assert_eq!(summary(&next), [("/new".to_owned(), "file")]);
        // Deleting what was never stored writes nothing.
        assert!(reconcile(vec![gone("/nothing")], &old, false).is_empty());
    }
}
