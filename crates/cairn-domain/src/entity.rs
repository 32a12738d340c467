//! Entities: what a task backs up, and the tags put on them.
//!
//! An [`Entity`] is one Salesforce object (its records) or metadata type, or one Dropbox
//! member or team folder. Discovery creates entities as [`EntityStatus::NotActive`] (or
//! activated, when the task auto-activates); users activate, pause or delete them on a
//! selection; backup runs move them through In Process to Success / Partial / Failed.
//! The connector's incremental position (a Salesforce watermark, a Dropbox cursor) is kept
//! as opaque JSON in [`Entity::cursor`]: only the connector reads it.
//!
//! A [`Tag`] labels entities for filtering; a tag marked `limited_access` hides every
//! entity carrying it from everyone but the account's primary user (F-TASK-6), so an
//! entity's `limited_access` is derived from its tags, never stored twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EntityId, SnapshotId, TagId, TaskId};
use crate::task::Service;

crate::stored_enum! {
    /// What kind of thing an entity is.
    pub enum EntityKind ("entity kind") {
        /// A Salesforce object's records.
        SalesforceObject = ("sf_object", "Object data"),
        /// A Salesforce metadata type's components.
        SalesforceMetadata = ("sf_metadata", "Metadata"),
        /// A Dropbox team member's files.
        DropboxMember = ("dropbox_member", "Member"),
        /// A Dropbox team folder / namespace.
        DropboxTeamFolder = ("dropbox_team_folder", "Team folder"),
    }
}

impl EntityKind {
    /// The service this kind belongs to.
    #[must_use]
    pub fn service(self) -> Service {
        match self {
            Self::SalesforceObject | Self::SalesforceMetadata => Service::Salesforce,
            Self::DropboxMember | Self::DropboxTeamFolder => Service::Dropbox,
        }
    }
}

crate::stored_enum! {
    /// Where an entity stands (F-TASK-4).
    pub enum EntityStatus ("entity status") {
        /// Discovered, not selected for backup.
        NotActive = ("not_active", "Not Active"),
        /// Activated; waiting for its first or next run.
        Scheduled = ("scheduled", "Scheduled"),
        /// The last run backed it up completely.
        Success = ("success", "Success"),
        /// A run is backing it up now.
        InProcess = ("in_process", "In Process"),
        /// The last run failed for it.
        Failed = ("failed", "Failed"),
        /// Paused by a user: kept, not backed up.
        Paused = ("paused", "Paused"),
        /// Gone from the service (a removed member); its backups are kept.
        Archived = ("archived", "Archived"),
        /// The last run stopped part-way (API budget); the next run continues.
        Partial = ("partial", "Partial"),
    }
}

impl EntityStatus {
    /// Whether backup runs include the entity.
    #[must_use]
    pub fn is_active(self) -> bool {
        !matches!(self, Self::NotActive | Self::Paused | Self::Archived)
    }
}

/// A change users make to a selection of entities (F-TASK-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityAction {
    /// Include in backups.
    Activate,
    /// Exclude from backups, keeping what is backed up.
    Pause,
}

impl EntityAction {
    /// The status an entity in `current` gets, or `None` when the action does not apply
    /// (activating an active entity keeps its last outcome; archived entities stay
    /// archived, since the service no longer has them).
    #[must_use]
    pub fn apply(self, current: EntityStatus) -> Option<EntityStatus> {
        match (self, current) {
            (_, EntityStatus::Archived) => None,
            (Self::Activate, EntityStatus::NotActive | EntityStatus::Paused) => {
                Some(EntityStatus::Scheduled)
            }
            (Self::Activate, _) => None,
            (Self::Pause, EntityStatus::Paused | EntityStatus::NotActive) => None,
            (Self::Pause, _) => Some(EntityStatus::Paused),
        }
    }
}

/// Counts of one entity in one backup run, or summed over a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCounters {
    /// Items in the entity at the snapshot (records, files).
    pub items: u64,
    /// Bytes those items take (logical, before dedup and compression).
    pub bytes: u64,
    /// Items new since the previous snapshot.
    pub added: u64,
    /// Items changed since the previous snapshot.
    pub updated: u64,
    /// Items deleted since the previous snapshot.
    pub deleted: u64,
}

impl EntityCounters {
    /// Field-wise sum (saturating).
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            items: self.items.saturating_add(other.items),
            bytes: self.bytes.saturating_add(other.bytes),
            added: self.added.saturating_add(other.added),
            updated: self.updated.saturating_add(other.updated),
            deleted: self.deleted.saturating_add(other.deleted),
        }
    }
}

/// Something a task backs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Its id.
    pub id: EntityId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// What it is.
    pub kind: EntityKind,
    /// Display name (object API name, member's name, folder name).
    pub name: String,
    /// The service's id for it (object name, team member id, namespace id); unique per
    /// task and kind.
    pub external_id: String,
    /// A member's email address.
    pub email: Option<String>,
    /// Where it stands.
    pub status: EntityStatus,
    /// Tags applied to it, in tag-id order.
    pub tags: Vec<TagId>,
    /// Whether one of its tags is a Limited Access tag.
    pub limited_access: bool,
    /// Counters of its latest backup.
    pub counters: EntityCounters,
    /// The connector's incremental position (watermark, cursor, checkpoint).
    pub cursor: Option<serde_json::Value>,
    /// The latest snapshot that includes it.
    pub last_snapshot_id: Option<SnapshotId>,
    /// When it was last backed up.
    pub last_backup_at: Option<DateTime<Utc>>,
    /// When it was discovered.
    pub created_at: DateTime<Utc>,
    /// When a user deleted it; purged with the task's grace rules.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When discovery archived it (gone from the service); `None` unless it is Archived.
    /// The task's `retain_auto_archived_days` counts from here.
    pub archived_at: Option<DateTime<Utc>>,
}

/// An entity as a connector reports it during discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredEntity {
    /// What it is.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// The service's id for it.
    pub external_id: String,
    /// A member's email address.
    pub email: Option<String>,
}

impl Entity {
    /// A newly discovered entity of `task` in `status`.
    #[must_use]
    pub fn discovered(
        task_id: TaskId,
        found: DiscoveredEntity,
        status: EntityStatus,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EntityId::new(),
            task_id,
            kind: found.kind,
            name: found.name,
            external_id: found.external_id,
            email: found.email,
            status,
            tags: Vec::new(),
            limited_access: false,
            counters: EntityCounters::default(),
            cursor: None,
            last_snapshot_id: None,
            last_backup_at: None,
            created_at: at,
            deleted_at: None,
            archived_at: None,
        }
    }
}

/// Longest tag name accepted.
pub const MAX_TAG_CHARS: usize = 40;

/// Why a tag name was refused. Shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTag {
    /// Nothing but whitespace.
    #[error("Enter a tag name.")]
    Empty,
    /// Longer than [`MAX_TAG_CHARS`].
    #[error("Tag names can be at most {MAX_TAG_CHARS} characters long.")]
    TooLong,
    /// Contains control characters.
    #[error("Tag names cannot contain line breaks or control characters.")]
    ControlCharacters,
}

/// A label for entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Its id.
    pub id: TagId,
    /// Its name, unique in the account.
    pub name: String,
    /// Entities carrying it are visible only to the account's primary user.
    pub limited_access: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Tag {
    /// A new tag with a validated name.
    ///
    /// # Errors
    /// [`InvalidTag`] for an empty, too long or control-character name.
    pub fn new(name: &str, limited_access: bool, at: DateTime<Utc>) -> Result<Self, InvalidTag> {
        let name = name.trim();
        if name.is_empty() {
            return Err(InvalidTag::Empty);
        }
        if name.chars().count() > MAX_TAG_CHARS {
            return Err(InvalidTag::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidTag::ControlCharacters);
        }
        Ok(Self {
            id: TagId::new(),
            name: name.to_owned(),
            limited_access,
            created_at: at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_move_statuses_sensibly() {
        use EntityAction::{Activate, Pause};
        use EntityStatus::*;
        assert_eq!(Activate.apply(NotActive), Some(Scheduled));
        assert_eq!(Activate.apply(Paused), Some(Scheduled));
        assert_eq!(Activate.apply(Success), None);
        assert_eq!(Activate.apply(Archived), None);
        assert_eq!(Pause.apply(Failed), Some(Paused));
        assert_eq!(Pause.apply(NotActive), None);
        assert!(Scheduled.is_active() && Partial.is_active());
        assert!(!Paused.is_active() && !Archived.is_active() && !NotActive.is_active());
    }

    #[test]
    fn labels_match_the_product_vocabulary() {
        let labels: Vec<_> = EntityStatus::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            [
                "Not Active",
                "Scheduled",
                "Success",
                "In Process",
                "Failed",
                "Paused",
                "Archived",
                "Partial"
            ]
        );
        for kind in EntityKind::ALL {
            assert_eq!(kind.as_str().parse::<EntityKind>().unwrap(), *kind);
        }
        assert_eq!(EntityKind::DropboxMember.service(), Service::Dropbox);
    }

    #[test]
    fn tags_are_validated() {
        let now = Utc::now();
        assert_eq!(Tag::new("  VIP ", true, now).unwrap().name, "VIP");
        assert_eq!(Tag::new(" ", false, now).unwrap_err(), InvalidTag::Empty);
        assert_eq!(
            Tag::new(&"x".repeat(41), false, now).unwrap_err(),
            InvalidTag::TooLong
        );
        assert_eq!(
            Tag::new("a\tb", false, now).unwrap_err(),
            InvalidTag::ControlCharacters
        );
    }

    #[test]
    fn counters_add_up() {
        let a = EntityCounters {
            items: 3,
            bytes: 10,
            added: 1,
            updated: 1,
            deleted: 0,
        };
        assert_eq!(a.plus(a).items, 6);
        assert_eq!(
            EntityCounters {
                bytes: u64::MAX,
                ..a
            }
            .plus(a)
            .bytes,
            u64::MAX
        );
    }
}
