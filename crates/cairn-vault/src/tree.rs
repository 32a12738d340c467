//! Directory trees, restic-style: one tree blob per directory, listing its entries with
//! their metadata and, for files, the chunk list, for directories the subtree id.
//!
//! Trees are stored as [`BlobKind::Tree`] blobs in packs, so identical directories
//! deduplicate like content and `check` verifies them like any chunk.

use serde::{Deserialize, Serialize};

use crate::chunk_id::ChunkId;
use crate::error::{Result, VaultError};
use crate::pack::BlobKind;
use crate::vault::Vault;
use crate::writer::ChunkWriter;

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory (see `subtree`).
    Dir,
    /// A symbolic link (see `target`).
    Symlink,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The name (UTF-8; see `raw_name` otherwise).
    pub name: String,
    /// The exact name bytes in hex, when the name is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_name: Option<String>,
    /// Kind of entry.
    pub kind: NodeKind,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Nanoseconds part of the modification time.
    pub mtime_ns: u32,
    /// Size in bytes (files).
    #[serde(default)]
    pub size: u64,
    /// Content chunks in order (files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkId>,
    /// Tree of a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<ChunkId>,
    /// Target of a symlink (hex of the bytes when not UTF-8 is not supported: lossy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Node {
    /// The name as an OS string, exact.
    #[must_use]
    pub fn os_name(&self) -> std::ffi::OsString {
        use std::os::unix::ffi::OsStringExt;
        match self.raw_name.as_deref().and_then(|h| hex::decode(h).ok()) {
            Some(bytes) => std::ffi::OsString::from_vec(bytes),
            None => self.name.clone().into(),
        }
    }

    /// Sets `name` / `raw_name` from an OS name.
    pub fn set_name(&mut self, name: &std::ffi::OsStr) {
        use std::os::unix::ffi::OsStrExt;
        match name.to_str() {
            Some(s) => {
                self.name = s.to_owned();
                self.raw_name = None;
            }
            None => {
                self.name = name.to_string_lossy().into_owned();
                self.raw_name = Some(hex::encode(name.as_bytes()));
            }
        }
    }
}

/// A directory listing, nodes sorted by name bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Entries.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Finds an entry by exact name.
    #[must_use]
    pub fn find(&self, name: &std::ffi::OsStr) -> Option<&Node> {
        self.nodes.iter().find(|n| n.os_name() == name)
    }
}

/// Stores a tree (blocking); returns its id.
///
/// # Errors
/// Encoding or upload failures.
pub fn write_tree_blocking(writer: &ChunkWriter, tree: &Tree) -> Result<ChunkId> {
    let json = serde_json::to_vec(tree).map_err(|e| VaultError::format("tree", e))?;
    writer.write_blob_blocking(BlobKind::Tree, &json)
}

impl Vault {
    /// Reads a tree blob.
    ///
    /// # Errors
    /// Missing or damaged tree (naming its pack), or a blob that is not a tree.
    pub async fn read_tree(&self, id: &ChunkId) -> Result<Tree> {
        let json = self.read_chunk(id).await?;
        serde_json::from_slice(&json).map_err(|e| VaultError::format(format!("tree {id}"), e))
    }
}
