//! `get SNAPSHOT DEST`: restores a directory snapshot byte-identical, with modes and
//! modification times.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde::Serialize;

use super::FILES_ENTITY;
use crate::error::{Result, VaultError};
use crate::pack::{open_blob, pack_object};
use crate::snapshot::SnapshotManifest;
use crate::tree::{Node, NodeKind};
use crate::vault::Vault;

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// Files written.
    pub files: u64,
    /// Directories created (not counting the destination).
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Bytes written.
    pub bytes: u64,
}

fn mtime_of(node: &Node) -> SystemTime {
    if node.mtime >= 0 {
        UNIX_EPOCH + Duration::new(node.mtime as u64, node.mtime_ns)
    } else {
        UNIX_EPOCH - Duration::from_secs(node.mtime.unsigned_abs())
            + Duration::from_nanos(u64::from(node.mtime_ns))
    }
}

fn set_meta(path: &Path, file: &std::fs::File, node: &Node) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_modified(mtime_of(node))
        .map_err(|e| VaultError::io(path, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(node.mode))
        .map_err(|e| VaultError::io(path, e))
}

/// Restores the `files` entity of `manifest` into `dest` (created if needed; existing
/// files of the same names are replaced).
///
/// # Errors
/// Missing or damaged data (naming the object; the partly written file is left, never
/// silently wrong: a damaged chunk fails before its bytes are written), IO failures.
pub async fn restore(
    vault: &Vault,
    manifest: &SnapshotManifest,
    dest: &Path,
    threads: usize,
) -> Result<RestoreReport> {
    let root = manifest
        .entities
        .get(FILES_ENTITY)
        .and_then(|e| e.tree)
        .ok_or_else(|| {
            VaultError::Snapshot(manifest.id.clone(), "holds no directory tree".into())
        })?;
    std::fs::create_dir_all(dest).map_err(|e| VaultError::io(dest, e))?;
    let mut report = RestoreReport::default();
    let mut files: Vec<(PathBuf, Node)> = Vec::new();
    let mut dirs: Vec<(PathBuf, Node)> = Vec::new();
    let mut queue = vec![(dest.to_owned(), root)];
    while let Some((dir, tree_id)) = queue.pop() {
        let tree = vault.read_tree(&tree_id).await?;
        for node in tree.nodes {
            let name = node.os_name();
            if name.is_empty()
                || name == "."
                || name == ".."
                || Path::new(&name).components().count() != 1
            {
                return Err(VaultError::format(
                    format!("tree {tree_id}"),
                    "unsafe entry name",
                ));
            }
            let path = dir.join(&name);
            match node.kind {
                NodeKind::Dir => {
                    match std::fs::create_dir(&path) {
                        Ok(()) => {}
                        Err(e)
                            if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                        Err(e) => return Err(VaultError::io(&path, e)),
                    }
                    report.dirs += 1;
                    if let Some(sub) = node.subtree {
                        queue.push((path.clone(), sub));
                    }
                    dirs.push((path, node));
                }
                NodeKind::Symlink => {
                    let _ = std::fs::remove_file(&path);
                    std::os::unix::fs::symlink(node.target.as_deref().unwrap_or_default(), &path)
                        .map_err(|e| VaultError::io(&path, e))?;
                    report.symlinks += 1;
                }
                NodeKind::File => files.push((path, node)),
            }
        }
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    let results: Vec<Result<u64>> = futures::stream::iter(files)
        .map(|(path, node)| restore_file(vault, path, node))
        .buffer_unordered(threads * 2)
        .collect()
        .await;
    for r in results {
        report.bytes += r?;
        report.files += 1;
    }
    // Deepest first, so setting a directory's time is not undone by writing into it.
    for (path, node) in dirs.iter().rev() {
        let file = std::fs::File::open(path).map_err(|e| VaultError::io(path, e))?;
        set_meta(path, &file, node)?;
    }
    Ok(report)
}

async fn restore_file(vault: &Vault, path: PathBuf, node: Node) -> Result<u64> {
    let p = path.clone();
    let mut file = tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_file(&p);
        std::fs::File::create(&p).map_err(|e| VaultError::io(&p, e))
    })
    .await
    .map_err(|e| VaultError::Worker(e.to_string()))??;
    let mut locations = Vec::with_capacity(node.chunks.len());
    {
        let index = vault.index();
        for c in &node.chunks {
            let (pack, entry) = index
                .find(c)
                .ok_or_else(|| VaultError::MissingChunk(c.to_string()))?;
            locations.push((pack_object(pack), *entry));
        }
    }
    let mut fetches = futures::stream::iter(locations)
        .map(|(object, entry)| async move {
            let range = u64::from(entry.offset)..u64::from(entry.offset) + u64::from(entry.len);
            let sealed = vault.backend().get_range(&object, range).await?;
            Ok::<_, VaultError>((object, entry, sealed))
        })
        .buffered(2);
    let mut written = 0u64;
    while let Some(fetched) = fetches.next().await {
        let (object, entry, sealed) = fetched?;
        let keys = vault.keys().clone();
        let p = path.clone();
        file = tokio::task::spawn_blocking(move || {
            let raw = open_blob(&keys, &entry, &sealed, &object)?;
            file.write_all(&raw).map_err(|e| VaultError::io(&p, e))?;
            Ok::<_, VaultError>(file)
        })
        .await
        .map_err(|e| VaultError::Worker(e.to_string()))??;
        written += u64::from(entry.raw_len);
    }
    let p = path.clone();
    tokio::task::spawn_blocking(move || {
        file.flush().map_err(|e| VaultError::io(&p, e))?;
        set_meta(&p, &file, &node)
    })
    .await
    .map_err(|e| VaultError::Worker(e.to_string()))??;
    Ok(written)
}
