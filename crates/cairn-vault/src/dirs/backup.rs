//! `put DIR`: a local directory as a snapshot.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use super::FILES_ENTITY;
use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};
use crate::snapshot::{EntityCounters, EntityManifest, SnapshotManifest};
use crate::tree::{Node, NodeKind, Tree, write_tree_blocking};
use crate::vault::Vault;
use crate::writer::{ChunkWriter, Content, WriteStats};

/// Options of [`put_dir`].
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Labels for the manifest (`source` is always set to the directory).
    pub labels: BTreeMap<String, String>,
    /// Snapshot whose unchanged files (same size and mtime) are reused without reading;
    /// `None` picks the latest snapshot of the same `source`.
    pub parent: Option<String>,
    /// Read every file even when a parent says it is unchanged.
    pub no_parent: bool,
    /// Worker threads for chunking (0 = number of CPUs).
    pub threads: usize,
}

/// What [`put_dir`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PutReport {
    /// The new snapshot's id.
    pub snapshot: String,
    /// The parent used for change detection.
    pub parent: Option<String>,
    /// Files in the snapshot.
    pub files: u64,
    /// Directories in the snapshot (not counting the root).
    pub dirs: u64,
    /// Logical bytes of all files.
    pub bytes: u64,
    /// Files read (new or changed).
    pub files_read: u64,
    /// Files taken unchanged from the parent.
    pub files_unchanged: u64,
    /// Chunk-store figures of this run.
    pub write: WriteStats,
}

struct Scanned {
    name: OsString,
    kind: NodeKind,
    mode: u32,
    mtime: i64,
    mtime_ns: u32,
    size: u64,
    child: Option<usize>,
    target: Option<String>,
}

struct ScannedDir {
    path: PathBuf,
    entries: Vec<Scanned>,
}

fn scan(root: &Path) -> Result<Vec<ScannedDir>> {
    let mut dirs = vec![ScannedDir {
        path: root.to_owned(),
        entries: Vec::new(),
    }];
    let mut i = 0;
    while i < dirs.len() {
        let path = dirs[i].path.clone();
        let mut names: Vec<_> = std::fs::read_dir(&path)
            .map_err(|e| VaultError::io(&path, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| VaultError::io(&path, e))?;
        names.sort();
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let full = path.join(&name);
            let meta = std::fs::symlink_metadata(&full).map_err(|e| VaultError::io(&full, e))?;
            let ft = meta.file_type();
            let (kind, target, child) = if ft.is_dir() {
                dirs.push(ScannedDir {
                    path: full.clone(),
                    entries: Vec::new(),
                });
                (NodeKind::Dir, None, Some(dirs.len() - 1))
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&full).map_err(|e| VaultError::io(&full, e))?;
                (
                    NodeKind::Symlink,
                    Some(t.to_string_lossy().into_owned()),
                    None,
                )
            } else if ft.is_file() {
                (NodeKind::File, None, None)
            } else {
                // Sockets, FIFOs and devices are not backed up.
                continue;
            };
            entries.push(Scanned {
                name,
                kind,
                mode: meta.mode() & 0o7777,
                mtime: meta.mtime(),
                mtime_ns: meta.mtime_nsec() as u32,
                size: if kind == NodeKind::File {
                    meta.len()
                } else {
                    0
                },
                child,
                target,
            });
        }
        dirs[i].entries = entries;
        i += 1;
    }
    Ok(dirs)
}

/// Loads the parent's tree for every scanned directory that has one.
async fn parent_trees(
    vault: &Vault,
    dirs: &[ScannedDir],
    root: Option<ChunkId>,
) -> Result<Vec<Option<Tree>>> {
    let mut trees: Vec<Option<Tree>> = vec![None; dirs.len()];
    let Some(root) = root else { return Ok(trees) };
    trees[0] = Some(vault.read_tree(&root).await?);
    for i in 0..dirs.len() {
        let Some(parent) = trees[i].take() else {
            continue;
        };
        for entry in &dirs[i].entries {
            if let (Some(child), Some(node)) = (entry.child, parent.find(&entry.name))
                && node.kind == NodeKind::Dir
                && let Some(sub) = node.subtree
            {
                trees[child] = Some(vault.read_tree(&sub).await?);
            }
        }
        trees[i] = Some(parent);
    }
    Ok(trees)
}

/// Backs up `root` as a new snapshot: files are chunked in parallel on blocking
/// workers, unchanged files (vs the parent) are reused without reading, trees are
/// written bottom-up, then the index and finally the manifest.
///
/// # Errors
/// Unreadable source files (naming them), store failures. On error no manifest is
/// written; uploaded packs become garbage for prune.
pub async fn put_dir(vault: &Vault, root: &Path, options: PutOptions) -> Result<PutReport> {
    let root = std::fs::canonicalize(root).map_err(|e| VaultError::io(root, e))?;
    if !root.is_dir() {
        return Err(VaultError::Invalid(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    let source = root.display().to_string();
    let scan_root = root.clone();
    let dirs = tokio::task::spawn_blocking(move || scan(&scan_root))
        .await
        .map_err(|e| VaultError::Worker(e.to_string()))??;

    let parent = if options.no_parent {
        None
    } else if let Some(id) = &options.parent {
        Some(vault.resolve_snapshot(id).await?)
    } else {
        vault.snapshots().await?.into_iter().rev().find(|s| {
            s.labels.get("source") == Some(&source) && s.entities.contains_key(FILES_ENTITY)
        })
    };
    let parent_root = parent
        .as_ref()
        .and_then(|p| p.entities.get(FILES_ENTITY))
        .and_then(|e| e.tree);
    let parents = parent_trees(vault, &dirs, parent_root).await?;

    // Decide per file: reuse the parent's chunks or read it.
    let mut reused: Vec<Vec<Option<Content>>> = Vec::with_capacity(dirs.len());
    let mut jobs: Vec<(usize, usize, PathBuf)> = Vec::new();
    let mut deleted = 0u64;
    {
        let index = vault.index();
        for (d, dir) in dirs.iter().enumerate() {
            let mut row = Vec::with_capacity(dir.entries.len());
            for (e, entry) in dir.entries.iter().enumerate() {
                if entry.kind != NodeKind::File {
                    row.push(None);
                    continue;
                }
                let old = parents[d].as_ref().and_then(|t| t.find(&entry.name));
                match old {
                    Some(n)
                        if n.kind == NodeKind::File
                            && n.size == entry.size
                            && n.mtime == entry.mtime
                            && n.mtime_ns == entry.mtime_ns
                            && n.chunks.iter().all(|c| index.has_live(c)) =>
                    {
                        row.push(Some(Content {
                            chunks: n.chunks.clone(),
                            size: n.size,
                        }));
                    }
                    _ => {
                        row.push(None);
                        jobs.push((d, e, dir.path.join(&entry.name)));
                    }
                }
            }
            if let Some(t) = &parents[d] {
                deleted += t
                    .nodes
                    .iter()
                    .filter(|n| {
                        n.kind == NodeKind::File
                            && !dir.entries.iter().any(|e| e.name == n.os_name())
                    })
                    .count() as u64;
            }
            reused.push(row);
        }
    }
    let added = jobs
        .iter()
        .filter(|(d, e, _)| {
            parents[*d]
                .as_ref()
                .and_then(|t| t.find(&dirs[*d].entries[*e].name))
                .is_none()
        })
        .count() as u64;

    let read_count = jobs.len() as u64;
    let writer = vault.writer();
    let written = write_content(&writer, dirs, jobs, reused, options.threads).await;
    let (root_id, counters, dir_count) = match written {
        Ok(v) => v,
        // A failed upload surfaces in the workers as a closed channel; report its cause.
        Err(e) => return Err(writer.finish().await.err().unwrap_or(e)),
    };
    let write = writer.finish().await?;

    let mut labels = options.labels;
    labels.insert("source".into(), source);
    let mut manifest = SnapshotManifest::new(labels);
    manifest.entities.insert(
        FILES_ENTITY.into(),
        EntityManifest {
            tree: Some(root_id),
            counters: EntityCounters {
                added,
                updated: read_count.saturating_sub(added),
                deleted,
                ..counters
            },
            ..EntityManifest::default()
        },
    );
    vault.write_snapshot(&manifest).await?;
    Ok(PutReport {
        snapshot: manifest.id,
        parent: parent.map(|p| p.id),
        files: counters.items,
        dirs: dir_count,
        bytes: counters.bytes,
        files_read: read_count,
        files_unchanged: counters.items - read_count,
        write,
    })
}

/// Reads the changed files and writes every tree; returns the root tree, the counters
/// and the number of directories below the root.
async fn write_content(
    writer: &ChunkWriter,
    dirs: Vec<ScannedDir>,
    jobs: Vec<(usize, usize, PathBuf)>,
    mut reused: Vec<Vec<Option<Content>>>,
    threads: usize,
) -> Result<(ChunkId, EntityCounters, u64)> {
    let results = read_files(writer, jobs.clone(), threads).await?;
    for ((d, e, _), content) in jobs.iter().zip(results) {
        reused[*d][*e] = Some(content);
    }

    // Trees bottom-up (children have larger indices than their parents).
    let tree_writer = writer.clone();
    tokio::task::spawn_blocking(move || -> Result<_> {
        let mut ids: Vec<Option<ChunkId>> = vec![None; dirs.len()];
        let mut counters = EntityCounters::default();
        for d in (0..dirs.len()).rev() {
            let mut tree = Tree::default();
            for (e, entry) in dirs[d].entries.iter().enumerate() {
                let mut node = Node {
                    name: String::new(),
                    raw_name: None,
                    kind: entry.kind,
                    mode: entry.mode,
                    mtime: entry.mtime,
                    mtime_ns: entry.mtime_ns,
                    size: 0,
                    chunks: Vec::new(),
                    subtree: None,
                    target: entry.target.clone(),
                };
                node.set_name(&entry.name);
                match entry.kind {
                    NodeKind::File => {
                        let content = reused[d][e].take().unwrap_or_default();
                        node.size = content.size;
                        node.chunks = content.chunks;
                        counters.items += 1;
                        counters.bytes += node.size;
                    }
                    NodeKind::Dir => node.subtree = entry.child.and_then(|c| ids[c]),
                    NodeKind::Symlink => {}
                }
                tree.nodes.push(node);
            }
            ids[d] = Some(write_tree_blocking(&tree_writer, &tree)?);
        }
        let root = ids[0].ok_or_else(|| VaultError::Worker("no root tree".into()))?;
        Ok((root, counters, dirs.len() as u64 - 1))
    })
    .await
    .map_err(|e| VaultError::Worker(e.to_string()))?
}

/// Chunks `jobs` on `threads` blocking workers; results in job order.
async fn read_files(
    writer: &ChunkWriter,
    jobs: Vec<(usize, usize, PathBuf)>,
    threads: usize,
) -> Result<Vec<Content>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    let count = jobs.len();
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<Vec<Option<Content>>>> = Arc::new(Mutex::new(vec![None; count]));
    let mut workers = Vec::new();
    for _ in 0..threads.min(count.max(1)) {
        let (jobs, next, failed, results, writer) = (
            Arc::clone(&jobs),
            Arc::clone(&next),
            Arc::clone(&failed),
            Arc::clone(&results),
            writer.clone(),
        );
        workers.push(tokio::task::spawn_blocking(move || -> Result<()> {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs.len() || failed.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let path = &jobs[i].2;
                let outcome = std::fs::File::open(path)
                    .map_err(|e| VaultError::io(path, e))
                    .and_then(|f| writer.write_reader_blocking(f, &path.display().to_string()));
                match outcome {
                    Ok(content) => results.lock()[i] = Some(content),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }));
    }
    let mut first_error = None;
    for w in workers {
        if let Err(e) = w.await.map_err(|e| VaultError::Worker(e.to_string()))? {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let results = std::mem::take(&mut *results.lock());
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}
