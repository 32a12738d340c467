//! Discovery (research note §2.2): team info and features, the authenticated admin, every
//! member (removed ones included, so the caller can archive them), team folders and
//! namespaces — turned into [`Entity`]s, each namespace exactly once. See
//! [`crate::entity`] for the model.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::client::TeamClient;
use crate::entity::{Access, Entity, EntityKind, EntityStatus};
use crate::error::DropboxError;
use crate::team::{
    Member, MemberStatus, Namespace, NamespaceType, TeamFeatures, TeamFolder, TeamFolderStatus,
    TeamInfo,
};

/// Everything discovery found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The team.
    pub team: TeamInfo,
    /// Its features.
    pub features: TeamFeatures,
    /// The admin who linked the app (acts for team folders and suspended members).
    pub admin: Member,
    /// Every member, removed ones included.
    pub members: Vec<Member>,
    /// Every team folder.
    pub team_folders: Vec<TeamFolder>,
    /// Every namespace, de-duplicated by id.
    pub namespaces: Vec<Namespace>,
    /// What to back up: members first (by e-mail), then folders (by name), ids unique.
    pub entities: Vec<Entity>,
}

fn member_status(status: &MemberStatus) -> EntityStatus {
    match status {
        MemberStatus::Active => EntityStatus::Active,
        MemberStatus::Invited => EntityStatus::Invited,
        MemberStatus::Suspended => EntityStatus::Suspended,
        MemberStatus::Removed => EntityStatus::Removed,
        MemberStatus::Other(_) => EntityStatus::Inactive,
    }
}

fn folder_status(status: &TeamFolderStatus) -> EntityStatus {
    match status {
        TeamFolderStatus::Active => EntityStatus::Active,
        TeamFolderStatus::Archived | TeamFolderStatus::ArchiveInProgress => EntityStatus::Archived,
        TeamFolderStatus::Inactive | TeamFolderStatus::Other(_) => EntityStatus::Inactive,
    }
}

/// Builds the entity list from what the team routes reported (pure, so it is unit-tested).
#[must_use]
pub fn plan_entities(
    members: &[Member],
    team_folders: &[TeamFolder],
    namespaces: &[Namespace],
) -> Vec<Entity> {
    let mut covered: HashSet<String> = HashSet::new();
    let mut people = Vec::new();
    let mut seen_members = HashSet::new();
    for m in members {
        if !seen_members.insert(m.team_member_id.clone()) {
            continue;
        }
        covered.insert(m.member_folder_id.clone());
        // Select-User works for active members only; the admin reads everyone else.
        let access = match m.status {
            MemberStatus::Active => Access::Member {
                team_member_id: m.team_member_id.clone(),
            },
            _ => Access::Admin,
        };
        people.push(Entity {
            id: m.team_member_id.clone(),
            kind: EntityKind::Member,
            display_name: m.display_name.clone(),
            email: Some(m.email.clone()),
            status: member_status(&m.status),
            namespace_id: m.member_folder_id.clone(),
            namespace_type: NamespaceType::TeamMemberFolder,
            access,
        });
    }
    people.sort_by(|a, b| a.email.cmp(&b.email).then_with(|| a.id.cmp(&b.id)));

    // Folders keyed by namespace id: one entity per namespace however often it appears.
    let mut folders: BTreeMap<String, Entity> = BTreeMap::new();
    for tf in team_folders {
        if covered.contains(&tf.team_folder_id) {
            continue;
        }
        folders
            .entry(tf.team_folder_id.clone())
            .or_insert_with(|| Entity {
                id: Entity::namespace_entity_id(&tf.team_folder_id),
                kind: EntityKind::TeamFolder,
                display_name: tf.name.clone(),
                email: None,
                status: folder_status(&tf.status),
                namespace_id: tf.team_folder_id.clone(),
                namespace_type: NamespaceType::TeamFolder,
                access: Access::Admin,
            });
    }
    for ns in namespaces {
        if covered.contains(&ns.namespace_id) || folders.contains_key(&ns.namespace_id) {
            continue;
        }
        let kind = match ns.namespace_type {
            NamespaceType::SharedFolder => EntityKind::SharedFolder,
            NamespaceType::TeamFolder => EntityKind::TeamFolder,
            // A member home without a member (listed between two calls, or a member the
            // list did not return) is still content: keep it as a plain namespace.
            _ => EntityKind::Namespace,
        };
        folders.insert(
            ns.namespace_id.clone(),
            Entity {
                id: Entity::namespace_entity_id(&ns.namespace_id),
                kind,
                display_name: ns.name.clone(),
                email: None,
                status: EntityStatus::Active,
                namespace_id: ns.namespace_id.clone(),
                namespace_type: ns.namespace_type.clone(),
                access: Access::Admin,
            },
        );
    }
    let mut rest: Vec<Entity> = folders.into_values().collect();
    rest.sort_by(|a, b| {
        let rank = |e: &Entity| match e.kind {
            EntityKind::TeamFolder => 0,
            EntityKind::SharedFolder => 1,
            _ => 2,
        };
        rank(a)
            .cmp(&rank(b))
            .then_with(|| {
                a.display_name
                    .to_lowercase()
                    .cmp(&b.display_name.to_lowercase())
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    people.extend(rest);
    people
}

impl TeamClient {
    /// Discovers the team and what to back up. Run it at the start of every backup: new
    /// members and folders appear, removed members come back with
    /// [`EntityStatus::Removed`].
    ///
    /// # Errors
    /// Any [`DropboxError`] of the team routes.
    pub async fn discover(&self) -> Result<Discovery, DropboxError> {
        let team = self.team_info().await?;
        let features = self.features().await?;
        let admin = self.authenticated_admin().await?;
        let members = self.members(true).await?;
        let team_folders = self.team_folders().await?;
        let mut seen = HashSet::new();
        let namespaces: Vec<Namespace> = self
            .namespaces()
            .await?
            .into_iter()
            .filter(|ns| seen.insert(ns.namespace_id.clone()))
            .collect();
        let entities = plan_entities(&members, &team_folders, &namespaces);
        tracing::info!(
            team = %team.name,
            members = members.len(),
            team_folders = team_folders.len(),
            namespaces = namespaces.len(),
            entities = entities.len(),
            "discovered the Dropbox team"
        );
        Ok(Discovery {
            team,
            features,
            admin,
            members,
            team_folders,
            namespaces,
            entities,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, email: &str, home: &str, status: MemberStatus) -> Member {
        Member {
            team_member_id: id.into(),
            account_id: None,
            email: email.into(),
            email_verified: true,
            display_name: email.into(),
            given_name: String::new(),
            surname: String::new(),
            status,
            member_folder_id: home.into(),
            root_folder_id: Some(home.into()),
            external_id: None,
            joined_on: None,
            roles: vec![],
        }
    }

    fn ns(id: &str, name: &str, t: NamespaceType) -> Namespace {
        Namespace {
            namespace_id: id.into(),
            name: name.into(),
            namespace_type: t,
            team_member_id: None,
        }
    }

    #[test]
    fn every_namespace_becomes_exactly_one_entity() {
        let members = vec![
            member("dbmid:b", "b@x", "2", MemberStatus::Active),
            member("dbmid:a", "a@x", "1", MemberStatus::Suspended),
            member("dbmid:c", "c@x", "3", MemberStatus::Removed),
        ];
        let folders = vec![TeamFolder {
            team_folder_id: "10".into(),
            name: "Finance".into(),
            status: TeamFolderStatus::Archived,
            is_team_shared_dropbox: false,
        }];
        let namespaces = vec![
            ns("1", "A", NamespaceType::TeamMemberFolder),
            ns("2", "B", NamespaceType::TeamMemberFolder),
            ns("10", "Finance", NamespaceType::TeamFolder),
            ns("20", "Plans", NamespaceType::SharedFolder),
            ns("20", "Plans", NamespaceType::SharedFolder),
            ns("30", "Orphan home", NamespaceType::TeamMemberFolder),
            ns("40", "App", NamespaceType::AppFolder),
        ];
        let entities = plan_entities(&members, &folders, &namespaces);
        let ids: Vec<&str> = entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "dbmid:a", "dbmid:b", "dbmid:c", "ns:10", "ns:20", "ns:40", "ns:30"
            ]
        );
        let by_id = |id: &str| entities.iter().find(|e| e.id == id).unwrap();
        assert_eq!(by_id("dbmid:a").access, Access::Admin);
        assert_eq!(by_id("dbmid:a").status, EntityStatus::Suspended);
        assert_eq!(
            by_id("dbmid:b").access,
            Access::Member {
                team_member_id: "dbmid:b".into()
            }
        );
        assert!(!by_id("dbmid:c").has_content());
        assert_eq!(by_id("ns:10").status, EntityStatus::Archived);
        assert!(by_id("ns:10").has_content());
        assert_eq!(by_id("ns:20").kind, EntityKind::SharedFolder);
        assert_eq!(by_id("ns:30").kind, EntityKind::Namespace);
        let unique: HashSet<&str> = entities.iter().map(|e| e.namespace_id.as_str()).collect();
        assert_eq!(unique.len(), entities.len());
    }
}
