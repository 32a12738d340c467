//! Entities: the units a backup task protects, with stable ids (research note §2.2).
//!
//! The model, chosen so that every namespace is backed up exactly once:
//! - **Member** (id = `dbmid:…`): the member's *home* namespace (`member_folder_id`),
//!   listed with `include_mounted_folders=false`, so team and shared folders mounted in
//!   it are not copied once per member. Active members are read as themselves
//!   (Select-User: rate limits are per member, so members run in parallel); suspended
//!   and other non-active members through the admin (Select-Admin), since Select-User
//!   fails for them (pitfall 22).
//! - **Team folder** (id = `ns:<namespace id>`): each team folder, whatever its status,
//!   read through the admin.
//! - **Shared folder** (id = `ns:<namespace id>`): each shared folder namespace, once,
//!   however many members mount it, read through the admin.
//! - **Namespace** (id = `ns:<namespace id>`): any other namespace the team reports (app
//!   folders, team-space member roots, types added later), so nothing goes unprotected.
//!
//! Every listing uses `Dropbox-API-Path-Root: namespace_id`, so paths are relative to the
//! entity's own namespace and stay valid when a member renames a mount point.

use serde::{Deserialize, Serialize};

use crate::team::NamespaceType;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A member's home folder.
    Member,
    /// A team folder.
    TeamFolder,
    /// A shared folder.
    SharedFolder,
    /// Another namespace (app folder, team-space root, unknown type).
    Namespace,
}

/// An entity's state at discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityStatus {
    /// In use.
    Active,
    /// An invited member who has not joined: nothing to back up yet.
    Invited,
    /// A suspended member: still backed up, through the admin.
    Suspended,
    /// A removed member: gone from the team; keep (archive) what was backed up.
    Removed,
    /// An archived team folder: read-only, still readable.
    Archived,
    /// Inactive or in an unknown state.
    Inactive,
}

/// Who the client acts as when reading an entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "snake_case")]
pub enum Access {
    /// `Dropbox-API-Select-User` with this member.
    Member {
        /// `dbmid:…`
        team_member_id: String,
    },
    /// `Dropbox-API-Select-Admin` with the admin who linked the app (resolved by the
    /// client with `team/token/get_authenticated_admin`).
    Admin,
}

/// One thing a backup task protects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable id: `dbmid:…` for members, `ns:<namespace id>` otherwise.
    pub id: String,
    /// Kind.
    pub kind: EntityKind,
    /// Name to show: the member's full name or the folder's name.
    pub display_name: String,
    /// The member's e-mail.
    pub email: Option<String>,
    /// State at discovery.
    pub status: EntityStatus,
    /// The namespace listed and downloaded from.
    pub namespace_id: String,
    /// The namespace's type.
    pub namespace_type: NamespaceType,
    /// Who to act as.
    pub access: Access,
}

impl Entity {
    /// Whether the entity holds content to back up now (active, suspended or archived).
    #[must_use]
    pub fn has_content(&self) -> bool {
        matches!(
            self.status,
            EntityStatus::Active | EntityStatus::Suspended | EntityStatus::Archived
        )
    }

    /// The stable id of a namespace entity.
    #[must_use]
    pub fn namespace_entity_id(namespace_id: &str) -> String {
        format!("ns:{namespace_id}")
    }
}
