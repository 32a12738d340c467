//! The emulated team: members, namespaces and the file trees inside them.
//!
//! Everything is numbered internally (node ids, revisions, change sequence numbers) and
//! rendered to Dropbox's string forms at the edge (`ids.rs`). Each namespace keeps its live
//! entries keyed by lower-cased path (a `BTreeMap`, so a subtree is a contiguous range and a
//! parent sorts before its children), tombstones for deleted paths (history kept for
//! `list_revisions` / `restore` / `include_deleted`), and a change log of `(seq, path)`
//! that `list_folder/continue` reads. Sequence numbers are team-wide and strictly increasing.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::content::{ContentRef, GenContent};

/// Lower-cases a path the way Dropbox compares paths (case-insensitive, case-preserving).
#[must_use]
pub fn lower(path: &str) -> String {
    path.to_lowercase()
}

/// A team member's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Joined and usable.
    Active,
    /// Invited, never joined: no data yet.
    Invited,
    /// Suspended by an admin: Select-User fails with `user_suspended`.
    Suspended,
    /// Removed from the team.
    Removed,
}

/// One team member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// `dbmid:…`
    pub team_member_id: String,
    /// `dbid:…` (40 characters).
    pub account_id: String,
    /// Login e-mail.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// Lifecycle state.
    pub status: MemberStatus,
    /// Team admin (may authorize the app and use Select-Admin).
    pub admin: bool,
    /// Home namespace (`member_folder_id`, and `root_folder_id` in this classic layout).
    pub home_ns: u64,
    /// Unix seconds of the invitation.
    pub invited_on: i64,
    /// Unix seconds of joining, if joined.
    pub joined_on: Option<i64>,
    /// Unix seconds of suspension, if suspended.
    pub suspended_on: Option<i64>,
    /// Password for the OAuth login page (admins only).
    pub password: Option<String>,
}

impl Member {
    /// "Given Surname".
    #[must_use]
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.surname)
    }
}

/// What a namespace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NsKind {
    /// A member's home folder.
    MemberHome {
        /// Index into `Team::members`.
        member: usize,
    },
    /// A team folder (mounted into every active member's tree while active).
    TeamFolder {
        /// Whether it is archived (then not mounted anywhere).
        archived: bool,
    },
    /// A folder shared between some members.
    SharedFolder {
        /// Index of the owning member.
        owner: usize,
    },
}

/// A shared or team folder mounted inside a member's home.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mount {
    /// The mounted namespace.
    pub ns: u64,
    /// Mount point in the home, lower-cased (e.g. `/finance`).
    pub path_lower: String,
    /// Mount point as displayed.
    pub path_display: String,
}

/// One revision of a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revision {
    /// Revision number (rendered by `ids::rev_string`).
    pub rev: u64,
    /// Where the bytes are.
    pub content: ContentRef,
    /// Length in bytes.
    pub size: u64,
    /// When the server stored it (unix seconds).
    pub server_modified: i64,
    /// What the client claimed (unix seconds).
    pub client_modified: i64,
    /// Index of the member who wrote it.
    pub modified_by: Option<usize>,
}

/// A file or folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum NodeKind {
    /// A folder.
    Folder,
    /// A file with its revisions, oldest first (the last one is current).
    File(Vec<Revision>),
}

/// A live entry in a namespace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Node number (rendered by `ids::node_id`).
    pub id: u64,
    /// Full path within the namespace, case preserved, e.g. `/Projects/Plan.docx`.
    pub path_display: String,
    /// Folder or file.
    pub kind: NodeKind,
}

impl Node {
    /// The last path component.
    #[must_use]
    pub fn name(&self) -> &str {
        file_name(&self.path_display)
    }

    /// The current revision, for files.
    #[must_use]
    pub fn current(&self) -> Option<&Revision> {
        match &self.kind {
            NodeKind::File(revs) => revs.last(),
            NodeKind::Folder => None,
        }
    }
}

/// The last component of a path.
#[must_use]
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The parent of a path (`""` for top-level entries).
#[must_use]
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// What remains of a deleted path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tombstone {
    /// The id the entry had.
    pub id: u64,
    /// The path as it was displayed.
    pub path_display: String,
    /// Whether it was a folder.
    pub folder: bool,
    /// File history (empty for folders and for files that were moved away).
    pub revs: Vec<Revision>,
    /// When it was deleted (unix seconds).
    pub deleted_at: i64,
}

/// One entry of a namespace's change log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Team-wide sequence number.
    pub seq: u64,
    /// The path that changed (lower-cased).
    pub path_lower: String,
}

/// A namespace: a member home, a team folder or a shared folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Namespace {
    /// Namespace id (rendered as a digit string).
    pub id: u64,
    /// Node number of its root folder (the folder id a mount point shows).
    pub root_node: u64,
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: NsKind,
    /// Live entries by lower-cased path.
    pub entries: BTreeMap<String, Node>,
    /// Live node number → lower-cased path (for `id:` lookups).
    pub by_id: HashMap<u64, String>,
    /// Deleted paths by lower-cased path.
    pub tombstones: BTreeMap<String, Tombstone>,
    /// Shared and team folders mounted here (member homes only), sorted by path.
    pub mounts: Vec<Mount>,
    /// Members a shared folder is shared with (owner included).
    pub shared_with: Vec<usize>,
    /// Change log, ordered by `seq`.
    pub log: Vec<Change>,
    /// Cursors taken before this sequence number get `reset`.
    pub reset_floor: u64,
    /// Last time the set of mounts changed (cursors that include mounts then `reset`).
    pub mounts_changed: u64,
    /// Whether the namespace was deleted (e.g. its member removed for good).
    pub gone: bool,
}

impl Namespace {
    /// An empty namespace.
    #[must_use]
    pub fn new(id: u64, root_node: u64, name: String, kind: NsKind) -> Self {
        Self {
            id,
            root_node,
            name,
            kind,
            entries: BTreeMap::new(),
            by_id: HashMap::new(),
            tombstones: BTreeMap::new(),
            mounts: Vec::new(),
            shared_with: Vec::new(),
            log: Vec::new(),
            reset_floor: 0,
            mounts_changed: 0,
            gone: false,
        }
    }

    /// Whether this is a shared or team folder (entries then carry `sharing_info`).
    #[must_use]
    pub fn is_shared(&self) -> bool {
        !matches!(self.kind, NsKind::MemberHome { .. })
    }

    /// The `namespace_type` tag.
    #[must_use]
    pub fn type_tag(&self) -> &'static str {
        match self.kind {
            NsKind::MemberHome { .. } => "team_member_folder",
            NsKind::TeamFolder { .. } => "team_folder",
            NsKind::SharedFolder { .. } => "shared_folder",
        }
    }

    /// The mount whose mount point is `path_lower` or an ancestor of it.
    #[must_use]
    pub fn mount_for(&self, path_lower: &str) -> Option<&Mount> {
        self.mounts.iter().find(|m| {
            path_lower == m.path_lower
                || (path_lower.starts_with(&m.path_lower)
                    && path_lower.as_bytes().get(m.path_lower.len()) == Some(&b'/'))
        })
    }
}

/// Team-level facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamInfo {
    /// Team name.
    pub name: String,
    /// `dbtid:…`
    pub team_id: String,
    /// E-mail domain.
    pub domain: String,
}

/// Where a node lives, for `id:` and `rev:` lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevLocation {
    /// Namespace id.
    pub ns: u64,
    /// Node number.
    pub node: u64,
}

/// The whole team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    /// Generator seed (also keys generated content).
    pub seed: u64,
    /// Salt for id and rev encodings.
    pub salt: u64,
    /// Bumped on a control reset: cursors from before get `reset`.
    pub epoch: u64,
    /// Team facts.
    pub info: TeamInfo,
    /// Members, in creation order.
    pub members: Vec<Member>,
    /// Namespaces by id.
    pub namespaces: BTreeMap<u64, Namespace>,
    /// Team folder namespace ids, in creation order.
    pub team_folders: Vec<u64>,
    /// Generated content table, indexed by content id.
    pub contents: Vec<GenContent>,
    /// Next node number.
    pub next_node: u64,
    /// Next revision number.
    pub next_rev: u64,
    /// Last change sequence number handed out.
    pub seq: u64,
    /// Next namespace id.
    pub next_ns: u64,
    /// Node number → namespace (live nodes and tombstones).
    pub node_ns: HashMap<u64, u64>,
    /// Revision number → where the file is.
    pub revs: HashMap<u64, RevLocation>,
}

impl Team {
    /// Index of the member with this `dbmid:` id.
    #[must_use]
    pub fn member_by_id(&self, team_member_id: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.team_member_id == team_member_id)
    }

    /// The namespace with this id, unless deleted.
    #[must_use]
    pub fn ns(&self, id: u64) -> Option<&Namespace> {
        self.namespaces.get(&id).filter(|n| !n.gone)
    }

    /// The first active admin (who authorizes the app and owns the console token).
    #[must_use]
    pub fn first_admin(&self) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.admin && m.status == MemberStatus::Active)
    }

    /// Takes the next sequence number.
    pub fn bump_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Takes the next node number.
    pub fn alloc_node(&mut self) -> u64 {
        self.next_node += 1;
        self.next_node
    }

    /// Takes the next revision number.
    pub fn alloc_rev(&mut self) -> u64 {
        self.next_rev += 1;
        self.next_rev
    }

    /// Size of a content reference's bytes.
    #[must_use]
    pub fn gen_content(&self, id: u64) -> Option<&GenContent> {
        self.contents.get(usize::try_from(id).ok()?)
    }

    /// Namespaces a member can reach: home plus everything mounted there.
    #[must_use]
    pub fn member_namespaces(&self, member: usize) -> Vec<u64> {
        let Some(m) = self.members.get(member) else {
            return Vec::new();
        };
        let mut out = vec![m.home_ns];
        if let Some(home) = self.ns(m.home_ns) {
            out.extend(home.mounts.iter().map(|mount| mount.ns));
        }
        out
    }
}
