//! The state dump: every live file and folder of every namespace, as JSON lines in a
//! deterministic order (namespace id, then lower-cased path), with what a backup must
//! reproduce: ids, revisions, sizes, content hashes, timestamps. Paths are relative to the
//! namespace, the unit a backup captures.

use serde::{Deserialize, Serialize};

use super::content::{ContentRef, GenContent};
use super::ids::{node_id, rev_string, timestamp};
use super::model::{NodeKind, NsKind};
use super::state::Shared;

/// One dumped entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpEntry {
    /// Namespace id.
    pub namespace_id: String,
    /// `team_member_folder`, `team_folder` or `shared_folder`.
    pub namespace_type: String,
    /// Namespace name.
    pub namespace_name: String,
    /// Owner of a member home.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    /// `file` or `folder`.
    pub tag: String,
    /// `id:…`
    pub id: String,
    /// Path in the namespace, lower-cased.
    pub path_lower: String,
    /// Path in the namespace, display casing.
    pub path_display: String,
    /// Current revision (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Size (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `content_hash` (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Server modification time (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_modified: Option<String>,
    /// Client modification time (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_modified: Option<String>,
    /// Number of revisions kept (files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revisions: Option<usize>,
}

/// Builds the dump (hashing generated content as needed, outside the team lock).
pub async fn dump(shared: &Shared) -> Vec<DumpEntry> {
    let (mut entries, pending) = {
        let team = shared.team.read();
        let mut entries = Vec::new();
        let mut pending: Vec<(usize, GenContent)> = Vec::new();
        for space in team.namespaces.values().filter(|s| !s.gone) {
            let owner = match space.kind {
                NsKind::MemberHome { member } => Some(team.members[member].team_member_id.clone()),
                _ => None,
            };
            for (key, node) in &space.entries {
                let mut entry = DumpEntry {
                    namespace_id: space.id.to_string(),
                    namespace_type: space.type_tag().to_owned(),
                    namespace_name: space.name.clone(),
                    team_member_id: owner.clone(),
                    tag: "folder".into(),
                    id: node_id(team.salt, node.id),
                    path_lower: key.clone(),
                    path_display: node.path_display.clone(),
                    rev: None,
                    size: None,
                    content_hash: None,
                    server_modified: None,
                    client_modified: None,
                    revisions: None,
                };
                if let NodeKind::File(revs) = &node.kind
                    && let Some(r) = revs.last()
                {
                    entry.tag = "file".into();
                    entry.rev = Some(rev_string(team.salt, r.rev));
                    entry.size = Some(r.size);
                    entry.server_modified = Some(timestamp(r.server_modified));
                    entry.client_modified = Some(timestamp(r.client_modified));
                    entry.revisions = Some(revs.len());
                    match r.content {
                        ContentRef::Blob { hash, .. } => {
                            entry.content_hash = Some(hex::encode(hash))
                        }
                        ContentRef::Generated { id } => {
                            if let Some(c) = team.gen_content(id) {
                                pending.push((entries.len(), *c));
                            }
                        }
                    }
                }
                entries.push(entry);
            }
        }
        (entries, pending)
    };
    for (index, content) in pending {
        let hash = shared.hashes.hash(content).await;
        entries[index].content_hash = Some(hex::encode(hash));
    }
    entries
}

/// JSON lines, one entry per line.
#[must_use]
pub fn to_jsonl(entries: &[DumpEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        if let Ok(line) = serde_json::to_string(entry) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
