//! Small sealed "set" objects that supersede each other: prune marks and content keys.
//!
//! Both are maps persisted as `<prefix>/<32 hex>` objects; a new object may list older
//! ones in `supersedes` (they are then ignored and deleted). Readers take the union of
//! every object not superseded, so concurrent writers never lose each other's entries.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::chunk_id::ChunkId;
use crate::crypto::SubKey;
use crate::error::Result;
use crate::keys::random_hex;
use crate::pack::{open_json_compressed, seal_json_compressed};

/// Prefix of prune-mark objects.
pub const MARKS_PREFIX: &str = "marks";
/// Prefix of content-key objects.
pub const CONTENT_KEYS_PREFIX: &str = "content-keys";

/// Packs marked for deletion, with when they were marked.
pub type Marks = BTreeMap<String, DateTime<Utc>>;
/// External content key → the chunk list of that content.
pub type ContentKeys = BTreeMap<String, Vec<ChunkId>>;

/// One sealed map object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapFile<T> {
    /// Ids of objects under the same prefix this one replaces.
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// The entries.
    pub entries: T,
}

fn aad(prefix: &str, id: &str) -> Vec<u8> {
    format!("{prefix}/{id}").into_bytes()
}

/// Writes a map object under `prefix`; returns its id.
///
/// # Errors
/// Encoding or store failures.
pub async fn write_map<T: Serialize>(
    backend: &Backend,
    meta: &SubKey,
    prefix: &str,
    file: &MapFile<T>,
) -> Result<String> {
    let id = random_hex(16);
    let object = format!("{prefix}/{id}");
    let sealed = seal_json_compressed(meta, &aad(prefix, &id), file, &object)?;
    backend.put_new(&object, Bytes::from(sealed)).await?;
    Ok(id)
}

/// The merged content of every live map object under `prefix`, the ids of all objects
/// read (including superseded ones) and, when `lenient`, the unreadable ones.
///
/// # Errors
/// Store failures; without `lenient`, the first unreadable object.
pub async fn load_map<T>(
    backend: &Backend,
    meta: &SubKey,
    prefix: &str,
    lenient: bool,
) -> Result<(T, Vec<String>, Vec<(String, String)>)>
where
    T: DeserializeOwned + Default + Extend<<T as IntoIterator>::Item> + IntoIterator,
{
    let listed = backend.list(prefix).await?;
    // Owned captures only, so the future is `Send` for every lifetime.
    let names: Vec<String> = listed.iter().map(|o| o.name.clone()).collect();
    let reads = names.into_iter().map(|name| {
        let (backend, meta, prefix) = (backend.clone(), meta.clone(), prefix.to_owned());
        async move {
            let id = name.rsplit('/').next().unwrap_or_default().to_owned();
            let result = match backend.get(&name).await {
                Ok(sealed) => {
                    open_json_compressed::<MapFile<T>>(&meta, &aad(&prefix, &id), &sealed, &name)
                }
                Err(e) => Err(e),
            };
            (id, name, result)
        }
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(8)
        .collect()
        .await;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut ids = Vec::new();
    for (id, name, result) in results {
        match result {
            Ok(f) => {
                ids.push(id.clone());
                files.push((id, f));
            }
            Err(e) if lenient => problems.push((name, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    let superseded: HashSet<String> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().cloned())
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged = T::default();
    for (id, file) in files {
        if !superseded.contains(&id) {
            merged.extend(file.entries);
        }
    }
    ids.sort();
    Ok((merged, ids, problems))
}
