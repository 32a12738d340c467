//! One Salesforce object's backup within a run: delete log, incremental read from the
//! stored checkpoint, blob bodies into the chunk store, hard deletes as tombstones, all
//! made durable in steps so a killed run resumes where the last step ended.

use std::sync::Arc;

use cairn_domain::Entity;
use cairn_salesforce::{
    DeletedScan, ObjectSchema, OrgClient, Page, RecordReader, RecordVersion as SfRecord,
    SalesforceError, hard_deleted,
};
use cairn_vault::ChunkId;
use cairn_vault::segments::RecordVersion;
use futures::StreamExt;

use crate::error::{BackupError, Result};
use crate::salesforce::cursor::EntityCursor;
use crate::salesforce::work::{
    Batch, Editors, EntityDone, Env, finish_entity, is_tombstone, stored_keys, tombstone,
};

/// Backs up one object entity. `Ok(None)`: the run was told to stop (progress kept).
///
/// # Errors
/// Connector errors (budget and disconnection included: the progress up to the last
/// complete page is saved first), vault and meta store errors.
pub(crate) async fn backup_object(env: &Env<'_>, entity: &Entity) -> Result<Option<EntityDone>> {
    let object = entity.external_id.as_str();
    let mut cursor = EntityCursor::load(&entity.name, entity.cursor.as_ref())?;
    if cursor.checkpoint.is_done() {
        cursor.checkpoint = cursor.checkpoint.next_run();
    }
    let schema = Arc::new(env.client.describe(object).await?);
    let scan = env.client.deleted_since(object, &cursor.deletes).await?;
    let reader = env
        .client
        .read_records(schema.clone(), cursor.checkpoint.clone())?;
    // The next page is fetched and parsed while this one is stored.
    let mut pages = PageFeed::start(reader);
    let mut editors = Editors::default();
    let mut batch = Batch::default();
    // The read position every pushed row reaches (a page counts once all its rows are in).
    let mut stored_to = cursor.checkpoint.clone();
    loop {
        if env.progress.is_stopped() {
            return Ok(None);
        }
        let page = match pages.next().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                return Err(keep_progress(
                    env,
                    entity,
                    &mut cursor,
                    &mut batch,
                    &stored_to,
                    e.into(),
                )
                .await);
            }
        };
        let n = page.records.len() as u64;
        if let Err(e) = store_page(env, &mut batch, &mut editors, object, page.records).await {
            return Err(keep_progress(env, entity, &mut cursor, &mut batch, &stored_to, e).await);
        }
        stored_to = page.checkpoint;
        env.fetched(n, &entity.name).await;
        if batch.rows >= env.ctx.options.flush_records {
            batch
                .flush(env, entity, &mut cursor, Some(&stored_to))
                .await?;
        }
    }
    batch
        .flush(env, entity, &mut cursor, Some(&stored_to))
        .await?;
    let gone = match hard_deletes(env, &schema, &cursor, &scan, &editors).await {
        Ok(g) => g,
        Err(e) => return Err(e),
    };
    for t in gone {
        batch.push(env.segs, t).await?;
    }
    cursor.deletes = scan.cursor;
    batch.flush(env, entity, &mut cursor, None).await?;
    finish_entity(env, entity, cursor, &editors).await.map(Some)
}

/// Pages of a [`RecordReader`] read one ahead on their own task, so fetching and parsing
/// the next page overlaps storing this one. Dropping the feed stops the read.
struct PageFeed {
    pages: tokio::sync::mpsc::Receiver<Result<Option<Page>, SalesforceError>>,
    task: tokio::task::JoinHandle<()>,
}

impl PageFeed {
    fn start(mut reader: RecordReader) -> Self {
        let (tx, pages) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(async move {
            loop {
                let page = reader.next_page().await;
                let last = !matches!(page, Ok(Some(_)));
                if tx.send(page).await.is_err() || last {
                    break;
                }
            }
        });
        Self { pages, task }
    }

    async fn next(&mut self) -> Result<Option<Page>, SalesforceError> {
        match self.pages.recv().await {
            Some(page) => page,
            None => Err(SalesforceError::Protocol {
                path: "record read".into(),
                message: "the page reader ended unexpectedly".into(),
            }),
        }
    }
}

impl Drop for PageFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Saves what is stored before passing `error` on, so the next run resumes after it.
async fn keep_progress(
    env: &Env<'_>,
    entity: &Entity,
    cursor: &mut EntityCursor,
    batch: &mut Batch,
    stored_to: &cairn_salesforce::Checkpoint,
    error: BackupError,
) -> BackupError {
    match batch.flush(env, entity, cursor, Some(stored_to)).await {
        Ok(()) => error,
        Err(e) => {
            tracing::warn!(entity = %entity.name, "cannot save progress: {e}");
            error
        }
    }
}

/// Stores one page: blob bodies first (a few downloads in flight), then the rows.
async fn store_page(
    env: &Env<'_>,
    batch: &mut Batch,
    editors: &mut Editors,
    object: &str,
    records: Vec<SfRecord>,
) -> Result<()> {
    let needs_blobs = records
        .iter()
        .any(|r| !r.deleted && !r.blob_fields.is_empty());
    let writer = needs_blobs.then(|| batch.chunks(env.vault));
    // Owned captures only: the stream's futures must be `Send` for every lifetime.
    let client = env.client.clone();
    let object_name = object.to_owned();
    let downloads = records.into_iter().map(move |r| {
        let (writer, client, object) = (writer.clone(), client.clone(), object_name.clone());
        async move {
            match writer {
                Some(w) if !r.deleted && !r.blob_fields.is_empty() => {
                    let (chunks, bytes) = blob_chunks(&client, &w, &object, &r).await?;
                    Ok((r, chunks, bytes))
                }
                _ => Ok((r, Vec::new(), 0)),
            }
        }
    });
    let bodies: Vec<Result<(SfRecord, Vec<ChunkId>, u64)>> = futures::stream::iter(downloads)
        .buffered(env.ctx.options.blob_concurrency.max(1))
        .collect()
        .await;
    for body in bodies {
        let (r, chunks, bytes) = body?;
        batch.add_blob_bytes(bytes);
        editors.note(&r.key, r.modified_by.as_deref());
        batch.push(env.segs, to_version(r, chunks)).await?;
    }
    Ok(())
}

/// A connector record as a stored row (version and modstamp: `SystemModstamp` in ms).
fn to_version(r: SfRecord, chunks: Vec<ChunkId>) -> RecordVersion {
    RecordVersion {
        key: r.key,
        version: r.modstamp_ms,
        deleted: r.deleted,
        modstamp: r.modstamp_ms,
        created_by: r.created_by.unwrap_or_default(),
        modified_by: r.modified_by.unwrap_or_default(),
        record: r.record,
        chunks,
    }
}

/// Downloads a record's blob fields into the chunk store: their chunks in field order,
/// and the bytes stored. A body that is gone (`NOT_FOUND`) is skipped.
async fn blob_chunks(
    client: &OrgClient,
    writer: &cairn_vault::ChunkWriter,
    object: &str,
    r: &SfRecord,
) -> Result<(Vec<ChunkId>, u64)> {
    let mut chunks = Vec::new();
    let mut bytes = 0;
    for field in &r.blob_fields {
        let blob = match client.blob(object, &r.key, field).await {
            Ok(b) => b,
            Err(e) if e.error_code() == Some("NOT_FOUND") => continue,
            Err(e) => return Err(e.into()),
        };
        let stream = blob
            .stream
            .map(|part| part.map_err(|e: SalesforceError| std::io::Error::other(e.to_string())));
        let content = writer
            .write_stream(stream, &format!("{object}/{}.{field}", r.key))
            .await?;
        bytes += content.size;
        chunks.extend(content.chunks);
    }
    Ok((chunks, bytes))
}

/// Tombstones for the records gone for good since the last run: from the delete log
/// (ids not read again this run whose stored version predates the deletion), or, when
/// the log no longer covers the window, by comparing every stored id with the org's.
async fn hard_deletes(
    env: &Env<'_>,
    schema: &ObjectSchema,
    cursor: &EntityCursor,
    scan: &DeletedScan,
    editors: &Editors,
) -> Result<Vec<RecordVersion>> {
    let segments = cursor.all_segments();
    if segments.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if scan.needs_reconciliation {
        let existing = env.client.all_ids(schema).await?;
        let known = stored_keys(env.segs, &segments).await?;
        let now = env.now_ms();
        for id in hard_deleted(known.iter().map(String::as_str), &existing) {
            out.push(tombstone(id, now));
        }
        return Ok(out);
    }
    let mut seen = std::collections::HashSet::new();
    for d in &scan.deleted {
        if editors.contains(&d.id) || !seen.insert(d.id.as_str()) {
            continue;
        }
        if let Some(row) = env.segs.lookup(&segments, &d.id).await?
            && !is_tombstone(&row)
            && row.version < d.deleted_at_ms
        {
            out.push(tombstone(d.id.clone(), d.deleted_at_ms));
        }
    }
    Ok(out)
}
