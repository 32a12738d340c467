//! `Metadata` as Dropbox serialises it: a struct with enumerated subtypes `file`, `folder`
//! and `deleted`, tagged with `.tag`, optional fields omitted when unset.
//!
//! Rendering happens in two steps: under the team lock an entry is turned into a
//! [`Metadata`] whose `content_hash` may still be missing (generated content is hashed on
//! demand), then outside the lock [`super::hashes::HashCache`] fills it in.

use serde::Serialize;

use super::content::ContentRef;
use super::ids::{node_id, rev_string, timestamp};
use super::model::{Node, NodeKind, Revision, Team, Tombstone, file_name};
use super::view::Loc;

/// `sharing_info` of a file inside a shared or team folder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileSharingInfo {
    /// Whether the caller may only read.
    pub read_only: bool,
    /// The shared folder containing the file.
    pub parent_shared_folder_id: String,
    /// Account that last modified the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
}

/// `sharing_info` of a folder inside, or at the root of, a shared folder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FolderSharingInfo {
    /// Whether the caller may only read.
    pub read_only: bool,
    /// The shared folder containing this folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shared_folder_id: Option<String>,
    /// Set when this folder is itself a shared folder's root (a mount point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_folder_id: Option<String>,
    /// Only traversable (never set by the emulator).
    pub traverse_only: bool,
    /// No access (never set by the emulator).
    pub no_access: bool,
}

/// A file's metadata (also the body of `Dropbox-API-Result` on downloads, untagged).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileMetadata {
    /// Last path component.
    pub name: String,
    /// `id:…`
    pub id: String,
    /// Client-supplied modification time.
    pub client_modified: String,
    /// Server modification time.
    pub server_modified: String,
    /// Revision.
    pub rev: String,
    /// Length in bytes.
    pub size: u64,
    /// Lower-cased path in the caller's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    /// Display path in the caller's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
    /// Deprecated duplicate of `sharing_info.parent_shared_folder_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shared_folder_id: Option<String>,
    /// Set inside shared and team folders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_info: Option<FileSharingInfo>,
    /// Always true here (no Paper or cloud documents).
    pub is_downloadable: bool,
    /// Only when the caller asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_explicit_shared_members: Option<bool>,
    /// The 4 MiB-block hash (filled in after rendering for generated content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// A folder's metadata.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FolderMetadata {
    /// Last path component.
    pub name: String,
    /// `id:…`
    pub id: String,
    /// Lower-cased path in the caller's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    /// Display path in the caller's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
    /// Deprecated duplicate of `sharing_info.parent_shared_folder_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shared_folder_id: Option<String>,
    /// Deprecated duplicate of `sharing_info.shared_folder_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_folder_id: Option<String>,
    /// Set for shared folder roots and folders inside shared folders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_info: Option<FolderSharingInfo>,
}

/// A deleted entry's metadata (no id).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeletedMetadata {
    /// Last path component.
    pub name: String,
    /// Lower-cased path in the caller's view.
    pub path_lower: String,
    /// Display path in the caller's view.
    pub path_display: String,
    /// Set inside shared and team folders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shared_folder_id: Option<String>,
}

/// The `Metadata` union.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum Metadata {
    /// A file.
    File(FileMetadata),
    /// A folder.
    Folder(FolderMetadata),
    /// Something that used to be here.
    Deleted(DeletedMetadata),
}

impl Metadata {
    /// The file metadata, if this is a file.
    #[must_use]
    pub fn as_file_mut(&mut self) -> Option<&mut FileMetadata> {
        match self {
            Self::File(f) => Some(f),
            _ => None,
        }
    }
}

/// A rendered entry plus, for files, the content whose hash must still be filled in.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The metadata.
    pub meta: Metadata,
    /// Content of the file revision shown (None for folders and deleted entries).
    pub content: Option<ContentRef>,
}

/// Per-request rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Add `has_explicit_shared_members` to files.
    pub explicit_shared_members: bool,
}

impl Team {
    fn shared_parent(&self, ns: u64) -> Option<String> {
        self.ns(ns)
            .filter(|s| s.is_shared())
            .map(|s| s.id.to_string())
    }

    fn account_of(&self, member: Option<usize>) -> Option<String> {
        member
            .and_then(|m| self.members.get(m))
            .map(|m| m.account_id.clone())
    }

    /// Renders a file revision found at `loc` (`view_display` is the full view path).
    #[must_use]
    pub fn render_file(
        &self,
        loc: &Loc,
        node: &Node,
        rev: &Revision,
        opts: RenderOptions,
    ) -> Rendered {
        let view_display = format!("{}{}", loc.prefix_display, node.path_display);
        let parent = self.shared_parent(loc.ns);
        let content_hash = match rev.content {
            ContentRef::Blob { hash, .. } => Some(hex::encode(hash)),
            ContentRef::Generated { .. } => None,
        };
        let meta = FileMetadata {
            name: node.name().to_owned(),
            id: node_id(self.salt, node.id),
            client_modified: timestamp(rev.client_modified),
            server_modified: timestamp(rev.server_modified),
            rev: rev_string(self.salt, rev.rev),
            size: rev.size,
            path_lower: Some(view_display.to_lowercase()),
            path_display: Some(view_display),
            parent_shared_folder_id: parent.clone(),
            sharing_info: parent.map(|p| FileSharingInfo {
                read_only: false,
                parent_shared_folder_id: p,
                modified_by: self.account_of(rev.modified_by),
            }),
            is_downloadable: true,
            has_explicit_shared_members: opts.explicit_shared_members.then_some(false),
            content_hash,
        };
        Rendered {
            meta: Metadata::File(meta),
            content: Some(rev.content),
        }
    }

    /// Renders a folder inside a namespace.
    #[must_use]
    pub fn render_folder(&self, loc: &Loc, node: &Node) -> Rendered {
        let view_display = format!("{}{}", loc.prefix_display, node.path_display);
        let parent = self.shared_parent(loc.ns);
        let meta = FolderMetadata {
            name: node.name().to_owned(),
            id: node_id(self.salt, node.id),
            path_lower: Some(view_display.to_lowercase()),
            path_display: Some(view_display),
            parent_shared_folder_id: parent.clone(),
            shared_folder_id: None,
            sharing_info: parent.map(|p| FolderSharingInfo {
                read_only: false,
                parent_shared_folder_id: Some(p),
                shared_folder_id: None,
                traverse_only: false,
                no_access: false,
            }),
        };
        Rendered {
            meta: Metadata::Folder(meta),
            content: None,
        }
    }

    /// Renders a namespace root as it appears at its mount point (a shared folder).
    #[must_use]
    pub fn render_mount_point(&self, ns: u64, prefix_display: &str) -> Option<Rendered> {
        let space = self.ns(ns)?;
        let shared = space.id.to_string();
        let meta = FolderMetadata {
            name: file_name(prefix_display).to_owned(),
            id: node_id(self.salt, space.root_node),
            path_lower: Some(prefix_display.to_lowercase()),
            path_display: Some(prefix_display.to_owned()),
            parent_shared_folder_id: None,
            shared_folder_id: Some(shared.clone()),
            sharing_info: Some(FolderSharingInfo {
                read_only: false,
                parent_shared_folder_id: None,
                shared_folder_id: Some(shared),
                traverse_only: false,
                no_access: false,
            }),
        };
        Some(Rendered {
            meta: Metadata::Folder(meta),
            content: None,
        })
    }

    /// Renders a deleted path.
    #[must_use]
    pub fn render_deleted(&self, ns: u64, prefix_display: &str, path_display: &str) -> Rendered {
        let view_display = format!("{prefix_display}{path_display}");
        Rendered {
            meta: Metadata::Deleted(DeletedMetadata {
                name: file_name(path_display).to_owned(),
                path_lower: view_display.to_lowercase(),
                path_display: view_display,
                parent_shared_folder_id: self.shared_parent(ns),
            }),
            content: None,
        }
    }

    /// Renders a live node (file: its current revision).
    #[must_use]
    pub fn render_node(&self, loc: &Loc, node: &Node, opts: RenderOptions) -> Rendered {
        match &node.kind {
            NodeKind::Folder => self.render_folder(loc, node),
            NodeKind::File(revs) => match revs.last() {
                Some(rev) => self.render_file(loc, node, rev, opts),
                None => self.render_folder(loc, node),
            },
        }
    }

    /// Renders a tombstone as a `deleted` entry.
    #[must_use]
    pub fn render_tombstone(&self, loc: &Loc, tomb: &Tombstone) -> Rendered {
        self.render_deleted(loc.ns, &loc.prefix_display, &tomb.path_display)
    }
}
