//! The plumbing every Salesforce entity shares within a run: the run environment, the
//! write batch that makes progress durable (chunks first, then the segment, then the
//! cursor), tombstones, and the counters computed from the old and new state.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_domain::ids::AccountId;
use cairn_domain::snapshot::UserCounters;
use cairn_domain::{Entity, EntityCounters};
use cairn_salesforce::{Checkpoint, OrgClient};
use cairn_vault::segments::{
    Change, Projection, RecordVersion, Row, SegmentRef, SegmentStore, SegmentWriter, StateOptions,
};
use cairn_vault::{ChunkWriter, Vault};

use crate::context::BackupContext;
use crate::error::Result;
use crate::progress::Progress;
use crate::salesforce::cursor::EntityCursor;

/// Everything an entity's backup needs from its run.
pub(crate) struct Env<'a> {
    pub ctx: &'a BackupContext,
    pub account: AccountId,
    pub client: &'a OrgClient,
    pub vault: &'a Vault,
    pub segs: &'a SegmentStore,
    pub progress: &'a dyn Progress,
    /// Records fetched by the whole run so far.
    pub fetched: AtomicU64,
    /// Metadata components retrieved by the whole run so far.
    pub components: AtomicU64,
}

impl Env<'_> {
    /// Counts `n` fetched records and reports progress.
    pub async fn fetched(&self, n: u64, note: &str) {
        let done = self.fetched.fetch_add(n, Ordering::Relaxed) + n;
        self.progress.progress(done, None, note).await;
    }

    /// Counts `n` retrieved metadata components.
    pub fn retrieved(&self, n: u64) {
        self.components.fetch_add(n, Ordering::Relaxed);
    }

    /// The org's clock (epoch ms), or ours before the org has answered.
    pub fn now_ms(&self) -> i64 {
        self.client
            .server_now_ms()
            .unwrap_or_else(|| self.ctx.clock.now().timestamp_millis())
    }

    /// Saves an entity's cursor.
    pub async fn save_cursor(&self, entity: &Entity, cursor: &EntityCursor) -> Result<()> {
        self.ctx
            .store
            .account(self.account)
            .entities()
            .save_cursor(entity.id, &cursor.to_value())
            .await?;
        Ok(())
    }
}

/// Whether a stored row is a hard-delete tombstone (gone for good) rather than a record
/// in the recycle bin (deleted, with its record kept).
#[must_use]
pub fn is_tombstone(row: &Row) -> bool {
    row.deleted && row.row_hash == Row::hash_record("")
}

/// The version recording that `key` is gone for good at `at_ms`.
#[must_use]
pub fn tombstone(key: String, at_ms: i64) -> RecordVersion {
    RecordVersion {
        key,
        version: at_ms,
        deleted: true,
        modstamp: at_ms,
        ..RecordVersion::default()
    }
}

/// Rows on their way into one durable step of an entity.
#[derive(Default)]
pub(crate) struct Batch {
    segment: Option<SegmentWriter>,
    chunks: Option<ChunkWriter>,
    /// Rows pushed since the last flush.
    pub rows: usize,
    blob_bytes: u64,
}

impl Batch {
    /// The chunk writer of this step (opened on first use).
    pub fn chunks(&mut self, vault: &Vault) -> ChunkWriter {
        self.chunks.get_or_insert_with(|| vault.writer()).clone()
    }

    /// Counts blob bytes stored by this step.
    pub fn add_blob_bytes(&mut self, n: u64) {
        self.blob_bytes += n;
    }

    /// Adds one row.
    pub async fn push(&mut self, segs: &SegmentStore, version: RecordVersion) -> Result<()> {
        self.segment
            .get_or_insert_with(|| segs.writer())
            .push(version)
            .await?;
        self.rows += 1;
        Ok(())
    }

    /// Makes the step durable: blobs, then the segment, then the cursor (with the read
    /// position `checkpoint` that the stored rows reach).
    pub async fn flush(
        &mut self,
        env: &Env<'_>,
        entity: &Entity,
        cursor: &mut EntityCursor,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<()> {
        if let Some(chunks) = self.chunks.take() {
            chunks.finish().await?;
        }
        if let Some(segment) = self.segment.take() {
            cursor.pending.extend(segment.finish().await?);
        }
        cursor.pending_blob_bytes += std::mem::take(&mut self.blob_bytes);
        self.rows = 0;
        if let Some(cp) = checkpoint {
            cursor.checkpoint = cp.clone();
        }
        env.save_cursor(entity, cursor).await
    }
}

/// The keys of an entity's state that exist at the source (live or in the recycle bin).
pub(crate) async fn stored_keys(
    segs: &SegmentStore,
    segments: &[SegmentRef],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if segments.is_empty() {
        return Ok(out);
    }
    let mut state = segs
        .state(
            segments,
            StateOptions {
                projection: Projection::KEYS,
                include_deleted: true,
            },
        )
        .await?;
    while let Some(row) = state.next().await? {
        if !is_tombstone(&row) {
            out.push(row.key);
        }
    }
    Ok(out)
}

const NO_USER: u32 = u32::MAX;

/// Who changed which record during this run: key → user (`LastModifiedById`).
#[derive(Default)]
pub(crate) struct Editors {
    users: Vec<String>,
    index: HashMap<String, u32>,
    by_key: HashMap<String, u32>,
}

impl Editors {
    /// Notes that `key` was read this run, last changed by `user` (when known).
    pub fn note(&mut self, key: &str, user: Option<&str>) {
        let i = match user.filter(|u| !u.is_empty()) {
            None => NO_USER,
            Some(user) => {
                let next = u32::try_from(self.users.len()).unwrap_or(NO_USER);
                *self.index.entry(user.to_owned()).or_insert_with(|| {
                    self.users.push(user.to_owned());
                    next
                })
            }
        };
        self.by_key.insert(key.to_owned(), i);
    }

    /// Whether `key` was read this run.
    pub fn contains(&self, key: &str) -> bool {
        self.by_key.contains_key(key)
    }

    fn user_of(&self, key: &str) -> Option<&str> {
        self.by_key
            .get(key)
            .and_then(|i| self.users.get(*i as usize))
            .map(String::as_str)
    }
}

/// An entity completed in this run, waiting for the manifest that lists it.
pub(crate) struct EntityDone {
    pub cursor: EntityCursor,
    pub counters: EntityCounters,
    pub users: Vec<UserCounters>,
}

/// Counts what changed between the committed state and the new one (a merge-join on
/// key and row hash: reads four narrow columns) and attributes changes to users.
pub(crate) async fn finish_entity(
    env: &Env<'_>,
    entity: &Entity,
    cursor: EntityCursor,
    editors: &Editors,
) -> Result<EntityDone> {
    let mut c = EntityCounters::default();
    let mut by_user: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    if !cursor.pending.is_empty() {
        let mut diff = env
            .segs
            .diff(&cursor.segments, &cursor.all_segments())
            .await?;
        while let Some(d) = diff.next().await? {
            let slot = match d.change {
                Change::Added => {
                    c.added += 1;
                    0
                }
                Change::Changed => {
                    c.updated += 1;
                    1
                }
                Change::Removed => {
                    c.deleted += 1;
                    2
                }
            };
            if let Some(user) = editors.user_of(&d.key) {
                let t = by_user.entry(user.to_owned()).or_default();
                match slot {
                    0 => t.0 += 1,
                    1 => t.1 += 1,
                    _ => t.2 += 1,
                }
            }
        }
    }
    c.items = (cursor.items + c.added).saturating_sub(c.deleted);
    c.bytes = cursor
        .all_segments()
        .iter()
        .map(|s| s.stored_bytes)
        .sum::<u64>()
        + cursor.blob_bytes
        + cursor.pending_blob_bytes;
    let users = by_user
        .into_iter()
        .map(|(user, (added, updated, deleted))| UserCounters {
            entity_id: entity.id,
            user,
            added,
            updated,
            deleted,
        })
        .collect();
    Ok(EntityDone {
        cursor,
        counters: c,
        users,
    })
}
