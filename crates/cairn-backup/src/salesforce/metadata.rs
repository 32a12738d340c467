//! One metadata type's backup within a run: retrieve every component (the Metadata API
//! has no incremental read), store the files of new or changed components in the chunk
//! store, and write a row per changed component plus tombstones for removed ones.
//!
//! A component's row is small JSON describing it, with its file's BLAKE3 hash, so the
//! row hash changes exactly when the component does; its chunks are the file's chunks
//! followed by the `-meta.xml` companion's (the file's are those adding up to `size`).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use cairn_domain::Entity;
use cairn_salesforce::{MetadataComponent, MetadataType};
use cairn_vault::segments::{Projection, RecordVersion, Row, StateOptions};
use cairn_vault::{ChunkWriter, Content};

use crate::error::Result;
use crate::salesforce::cursor::EntityCursor;
use crate::salesforce::work::{Batch, Editors, EntityDone, Env, finish_entity, tombstone};

/// The JSON stored for a component (everything but the file bytes).
#[must_use]
pub fn component_record(c: &MetadataComponent) -> String {
    let mut m = serde_json::Map::new();
    m.insert("type".into(), c.component_type.clone().into());
    m.insert("fullName".into(), c.full_name.clone().into());
    m.insert("fileName".into(), c.file_name.clone().into());
    m.insert("size".into(), (c.content.len() as u64).into());
    m.insert(
        "sha".into(),
        blake3::hash(&c.content).to_hex().to_string().into(),
    );
    if let Some(meta) = &c.meta {
        m.insert("metaSize".into(), (meta.len() as u64).into());
        m.insert(
            "metaSha".into(),
            blake3::hash(meta).to_hex().to_string().into(),
        );
    }
    if let Some(t) = c.last_modified_ms {
        m.insert("lastModifiedDate".into(), t.into());
    }
    if let Some(u) = &c.last_modified_by {
        m.insert("lastModifiedById".into(), u.clone().into());
    }
    serde_json::Value::Object(m).to_string()
}

/// Backs up one metadata type entity.
///
/// # Errors
/// Connector, vault and meta store errors.
pub(crate) async fn backup_metadata(
    env: &Env<'_>,
    entity: &Entity,
    mtype: &MetadataType,
) -> Result<Option<EntityDone>> {
    let mut cursor = EntityCursor::load(&entity.name, entity.cursor.as_ref())?;
    let components = env
        .client
        .retrieve_metadata(std::slice::from_ref(mtype))
        .await?;
    if env.progress.is_stopped() {
        return Ok(None);
    }
    env.retrieved(components.len() as u64);
    env.fetched(0, &entity.name).await;
    // The stored state's row hashes: unchanged components are not written again.
    let segments = cursor.all_segments();
    let mut previous: HashMap<String, [u8; 16]> = HashMap::new();
    if !segments.is_empty() {
        let mut state = env
            .segs
            .state(
                &segments,
                StateOptions {
                    projection: Projection::KEYS,
                    include_deleted: false,
                },
            )
            .await?;
        while let Some(row) = state.next().await? {
            previous.insert(row.key, row.row_hash);
        }
    }
    let mut batch = Batch::default();
    let mut editors = Editors::default();
    let mut seen = BTreeSet::new();
    let now = env.now_ms();
    for c in components {
        seen.insert(c.key.clone());
        let record = component_record(&c);
        if previous.get(&c.key) == Some(&Row::hash_record(&record)) {
            continue;
        }
        let writer = batch.chunks(env.vault);
        let body = store_bytes(&writer, &c.content, &c.key).await?;
        let mut chunks = body.chunks;
        let mut size = body.size;
        if let Some(meta) = &c.meta {
            let m = store_bytes(&writer, meta, &c.key).await?;
            size += m.size;
            chunks.extend(m.chunks);
        }
        batch.add_blob_bytes(size);
        editors.note(&c.key, c.last_modified_by.as_deref());
        let version = c.last_modified_ms.unwrap_or(now);
        batch
            .push(
                env.segs,
                RecordVersion {
                    key: c.key.clone(),
                    version,
                    deleted: false,
                    modstamp: version,
                    created_by: String::new(),
                    modified_by: c.last_modified_by.clone().unwrap_or_default(),
                    record,
                    chunks,
                },
            )
            .await?;
    }
    let removed: Vec<String> = previous.into_keys().filter(|k| !seen.contains(k)).collect();
    for key in removed {
        batch.push(env.segs, tombstone(key, now)).await?;
    }
    batch.flush(env, entity, &mut cursor, None).await?;
    finish_entity(env, entity, cursor, &editors).await.map(Some)
}

async fn store_bytes(writer: &ChunkWriter, data: &[u8], what: &str) -> Result<Content> {
    let bytes = Bytes::copy_from_slice(data);
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    Ok(writer.write_stream(stream, what).await?)
}
