//! Journaled changes to the team. Every mutation after generation is one [`Op`]: applied to
//! the in-memory team and, when persistence is on, appended to the journal. Replaying the
//! journal over a freshly generated team rebuilds the exact same state (same ids, revisions
//! and sequence numbers), which is what keeps cursors valid across restarts.

use serde::{Deserialize, Serialize};

use super::content::{ContentRef, GenContent};
use super::model::{MemberStatus, Node, Team};
use super::structure::NewMember;
use super::tree::{FileWrite, TreeError};

/// One change to the team.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Store a new file revision.
    WriteFile {
        /// Namespace.
        ns: u64,
        /// Path inside it (display casing).
        path: String,
        /// Bytes.
        content: ContentRef,
        /// Length.
        size: u64,
        /// Client-claimed time.
        client_modified: i64,
        /// Server time.
        at: i64,
        /// Acting member.
        by: Option<usize>,
    },
    /// Create a folder.
    CreateFolder {
        /// Namespace.
        ns: u64,
        /// Path inside it.
        path: String,
    },
    /// Delete a subtree.
    Delete {
        /// Namespace.
        ns: u64,
        /// Lower-cased path.
        path_lower: String,
        /// Server time.
        at: i64,
    },
    /// Move or copy a subtree.
    Relocate {
        /// Source namespace.
        from_ns: u64,
        /// Source path.
        from: String,
        /// Destination namespace.
        to_ns: u64,
        /// Destination path.
        to: String,
        /// Copy rather than move.
        copy: bool,
        /// Server time.
        at: i64,
        /// Acting member.
        by: Option<usize>,
    },
    /// Restore an old revision.
    Restore {
        /// Namespace.
        ns: u64,
        /// Lower-cased path.
        path_lower: String,
        /// Revision number.
        rev: u64,
        /// Server time.
        at: i64,
        /// Acting member.
        by: Option<usize>,
    },
    /// Register new generated content (control-API edits).
    AddContent {
        /// The content; its id must be the next free one.
        content: GenContent,
    },
    /// Add a member.
    AddMember {
        /// Who.
        member: NewMember,
        /// When.
        at: i64,
    },
    /// Suspend, reactivate or remove a member.
    SetMemberStatus {
        /// Member index.
        member: usize,
        /// New state.
        status: MemberStatus,
        /// When.
        at: i64,
    },
    /// Add a team folder.
    AddTeamFolder {
        /// Its name.
        name: String,
    },
    /// Archive or reactivate a team folder.
    SetTeamFolderArchived {
        /// Namespace.
        ns: u64,
        /// Archived?
        archived: bool,
    },
    /// Delete a team folder permanently.
    DeleteTeamFolder {
        /// Namespace.
        ns: u64,
    },
    /// Invalidate cursors of one namespace, or of all.
    ForceReset {
        /// Namespace, or every namespace.
        ns: Option<u64>,
    },
}

/// What an applied op produced.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The node written, created, moved or restored.
    Node(u64),
    /// The node that was deleted (state before deletion).
    Deleted(Box<Node>),
    /// A new member's index.
    Member(usize),
    /// A new namespace's id.
    Namespace(u64),
    /// Nothing to report.
    Done,
}

impl Team {
    /// Applies one op. On error nothing changed.
    ///
    /// # Errors
    /// The tree mutation's refusal.
    pub fn apply(&mut self, op: &Op) -> Result<Applied, TreeError> {
        Ok(match op {
            Op::WriteFile {
                ns,
                path,
                content,
                size,
                client_modified,
                at,
                by,
            } => Applied::Node(self.write_file(FileWrite {
                ns: *ns,
                path: path.clone(),
                content: *content,
                size: *size,
                client_modified: *client_modified,
                at: *at,
                by: *by,
            })?),
            Op::CreateFolder { ns, path } => Applied::Node(self.create_folder(*ns, path)?),
            Op::Delete { ns, path_lower, at } => {
                Applied::Deleted(Box::new(self.delete_path(*ns, path_lower, *at)?))
            }
            Op::Relocate {
                from_ns,
                from,
                to_ns,
                to,
                copy,
                at,
                by,
            } => Applied::Node(self.relocate((*from_ns, from), (*to_ns, to), *copy, *at, *by)?),
            Op::Restore {
                ns,
                path_lower,
                rev,
                at,
                by,
            } => Applied::Node(self.restore_rev(*ns, path_lower, *rev, *at, *by)?),
            Op::AddContent { content } => {
                let mut content = *content;
                content.id = self.contents.len() as u64;
                self.contents.push(content);
                Applied::Done
            }
            Op::AddMember { member, at } => Applied::Member(self.add_member(member.clone(), *at)),
            Op::SetMemberStatus { member, status, at } => {
                self.set_member_status(*member, *status, *at);
                Applied::Done
            }
            Op::AddTeamFolder { name } => Applied::Namespace(self.add_team_folder(name)),
            Op::SetTeamFolderArchived { ns, archived } => {
                self.set_team_folder_archived(*ns, *archived);
                Applied::Done
            }
            Op::DeleteTeamFolder { ns } => {
                self.delete_team_folder(*ns);
                Applied::Done
            }
            Op::ForceReset { ns } => {
                let seq = self.bump_seq();
                for space in self.namespaces.values_mut() {
                    if ns.is_none_or(|n| n == space.id) {
                        space.reset_floor = seq;
                    }
                }
                Applied::Done
            }
        })
    }
}
