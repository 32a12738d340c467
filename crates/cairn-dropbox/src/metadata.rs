//! File, folder and deletion entries as a listing reports them, parsed from Dropbox's
//! `Metadata` union (research note §3.3). Paths are relative to the listed namespace's
//! root; index by `id` and `path_lower`, show `path_display` (pitfall 9).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content_hash::ContentHash;
use crate::error::DropboxError;

/// A file's current revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// `id:…`: stable across renames and moves.
    pub id: String,
    /// Last path component, display casing.
    pub name: String,
    /// Lower-cased path in the namespace.
    pub path_lower: String,
    /// Path in the namespace, display casing.
    pub path_display: String,
    /// Revision (hex, at least 9 characters): what a download fetches.
    pub rev: String,
    /// Length in bytes.
    pub size: u64,
    /// Dropbox's 4 MiB-block hash (absent on some non-downloadable files).
    pub content_hash: Option<ContentHash>,
    /// When Dropbox stored this revision (use this, not `client_modified`, for changes).
    pub server_modified: DateTime<Utc>,
    /// What the client claimed (unverified; restore it as the file's mtime).
    pub client_modified: DateTime<Utc>,
    /// `false` for Paper and cloud documents, which need `files/export`.
    pub is_downloadable: bool,
    /// The shared or team folder holding the file.
    pub parent_shared_folder_id: Option<String>,
    /// Account that last modified the file (`dbid:…`), inside shared folders.
    pub modified_by: Option<String>,
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderEntry {
    /// `id:…`
    pub id: String,
    /// Last path component.
    pub name: String,
    /// Lower-cased path in the namespace.
    pub path_lower: String,
    /// Path in the namespace, display casing.
    pub path_display: String,
    /// Set when the folder is the mount point of a shared or team folder, whose content
    /// is not listed here but backed up once as its own entity.
    pub shared_folder_id: Option<String>,
    /// The shared or team folder holding this folder.
    pub parent_shared_folder_id: Option<String>,
}

/// One entry of a listing page, to be applied strictly in order (research note §3.2):
/// a file replaces what was at its path, a folder creates one, a deletion removes the
/// path and everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tag", rename_all = "snake_case")]
pub enum Change {
    /// A file added or changed.
    File(FileEntry),
    /// A folder added.
    Folder(FolderEntry),
    /// Something removed (a file, or a folder with its subtree).
    Deleted {
        /// Lower-cased path.
        path_lower: String,
        /// Path, display casing.
        path_display: String,
    },
}

impl Change {
    /// The lower-cased path the change applies to.
    #[must_use]
    pub fn path_lower(&self) -> &str {
        match self {
            Self::File(f) => &f.path_lower,
            Self::Folder(f) => &f.path_lower,
            Self::Deleted { path_lower, .. } => path_lower,
        }
    }
}

// ---- wire shapes ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub(crate) enum MetadataWire {
    File(FileWire),
    Folder(FolderWire),
    Deleted(DeletedWire),
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileWire {
    name: String,
    id: String,
    client_modified: DateTime<Utc>,
    server_modified: DateTime<Utc>,
    rev: String,
    size: u64,
    #[serde(default)]
    path_lower: Option<String>,
    #[serde(default)]
    path_display: Option<String>,
    #[serde(default)]
    parent_shared_folder_id: Option<String>,
    #[serde(default)]
    sharing_info: Option<SharingWire>,
    #[serde(default = "yes")]
    is_downloadable: bool,
    #[serde(default)]
    content_hash: Option<ContentHash>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct SharingWire {
    #[serde(default)]
    parent_shared_folder_id: Option<String>,
    #[serde(default)]
    shared_folder_id: Option<String>,
    #[serde(default)]
    modified_by: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FolderWire {
    name: String,
    id: String,
    #[serde(default)]
    path_lower: Option<String>,
    #[serde(default)]
    path_display: Option<String>,
    #[serde(default)]
    parent_shared_folder_id: Option<String>,
    #[serde(default)]
    shared_folder_id: Option<String>,
    #[serde(default)]
    sharing_info: Option<SharingWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeletedWire {
    path_lower: Option<String>,
    path_display: Option<String>,
}

fn paths(
    route: &str,
    what: &str,
    lower: Option<String>,
    display: Option<String>,
) -> Result<(String, String), DropboxError> {
    match (lower, display) {
        (Some(l), Some(d)) => Ok((l, d)),
        (Some(l), None) => Ok((l.clone(), l)),
        _ => Err(DropboxError::protocol(
            route,
            format!("a {what} entry came without a path"),
        )),
    }
}

impl FileWire {
    pub(crate) fn into_entry(self, route: &str) -> Result<FileEntry, DropboxError> {
        let (path_lower, path_display) = paths(route, "file", self.path_lower, self.path_display)?;
        if self.rev.is_empty() || !self.rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DropboxError::protocol(
                route,
                format!("file {path_display} has a malformed rev {:?}", self.rev),
            ));
        }
        let sharing = self.sharing_info;
        Ok(FileEntry {
            id: self.id,
            name: self.name,
            path_lower,
            path_display,
            rev: self.rev,
            size: self.size,
            content_hash: self.content_hash,
            server_modified: self.server_modified,
            client_modified: self.client_modified,
            is_downloadable: self.is_downloadable,
            parent_shared_folder_id: self.parent_shared_folder_id.or_else(|| {
                sharing
                    .as_ref()
                    .and_then(|s| s.parent_shared_folder_id.clone())
            }),
            modified_by: sharing.and_then(|s| s.modified_by),
        })
    }
}

impl FolderWire {
    pub(crate) fn into_entry(self, route: &str) -> Result<FolderEntry, DropboxError> {
        let (path_lower, path_display) =
            paths(route, "folder", self.path_lower, self.path_display)?;
        let sharing = self.sharing_info;
        Ok(FolderEntry {
            id: self.id,
            name: self.name,
            path_lower,
            path_display,
            shared_folder_id: self
                .shared_folder_id
                .or_else(|| sharing.as_ref().and_then(|s| s.shared_folder_id.clone())),
            parent_shared_folder_id: self
                .parent_shared_folder_id
                .or_else(|| sharing.and_then(|s| s.parent_shared_folder_id)),
        })
    }
}

impl MetadataWire {
    /// The change this entry describes; `None` for entry kinds this crate does not know.
    pub(crate) fn into_change(self, route: &str) -> Result<Option<Change>, DropboxError> {
        Ok(Some(match self {
            Self::File(f) => Change::File(f.into_entry(route)?),
            Self::Folder(f) => Change::Folder(f.into_entry(route)?),
            Self::Deleted(d) => {
                let (path_lower, path_display) =
                    paths(route, "deleted", d.path_lower, d.path_display)?;
                Change::Deleted {
                    path_lower,
                    path_display,
                }
            }
            Self::Unknown => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Option<Change>, DropboxError> {
        serde_json::from_value::<MetadataWire>(v)
            .unwrap()
            .into_change("files/list_folder")
    }

    #[test]
    fn spec_examples_parse() {
        let file = parse(json!({".tag": "file", "name": "Prime_Numbers.txt", "id": "id:a4ayc_80_OEAAAAAAAAAXw",
            "path_lower": "/homework/math/prime_numbers.txt", "path_display": "/Homework/math/Prime_Numbers.txt",
            "client_modified": "2015-05-12T15:50:38Z", "server_modified": "2015-05-12T15:50:38Z",
            "rev": "a1c10ce0dd78", "size": 7212, "is_downloadable": true,
            "content_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sharing_info": {"read_only": true, "parent_shared_folder_id": "84528192421", "modified_by": "dbid:x"}}))
        .unwrap()
        .unwrap();
        let Change::File(f) = file else {
            panic!("not a file")
        };
        assert_eq!(f.size, 7212);
        assert_eq!(f.parent_shared_folder_id.as_deref(), Some("84528192421"));
        assert_eq!(f.modified_by.as_deref(), Some("dbid:x"));
        assert_eq!(f.server_modified.timestamp(), 1_431_445_838);

        let mount = parse(json!({".tag": "folder", "name": "Finance", "id": "id:f",
            "path_lower": "/finance", "path_display": "/Finance",
            "sharing_info": {"read_only": false, "shared_folder_id": "123", "traverse_only": false, "no_access": false}}))
        .unwrap()
        .unwrap();
        let Change::Folder(folder) = mount else {
            panic!("not a folder")
        };
        assert_eq!(folder.shared_folder_id.as_deref(), Some("123"));

        let gone = parse(
            json!({".tag": "deleted", "name": "pi.txt", "path_lower": "/homework/math/pi.txt",
            "path_display": "/Homework/math/pi.txt"}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(gone.path_lower(), "/homework/math/pi.txt");
        assert_eq!(parse(json!({".tag": "hologram"})).unwrap(), None);
    }

    #[test]
    fn entries_without_paths_or_with_bad_revs_are_refused() {
        let base = json!({".tag": "file", "name": "a", "id": "id:a", "client_modified": "2015-05-12T15:50:38Z",
            "server_modified": "2015-05-12T15:50:38Z", "rev": "0123456789", "size": 1});
        assert!(matches!(
            parse(base.clone()),
            Err(DropboxError::Protocol { .. })
        ));
        let mut bad = base;
        bad["path_lower"] = json!("/a");
        bad["rev"] = json!("rev\"injected");
        assert!(matches!(parse(bad), Err(DropboxError::Protocol { .. })));
    }
}
