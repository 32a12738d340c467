//! The team as Dropbox describes it: team info and features, members
//! (`members/list_v2`), team folders (`team_folder/list`) and namespaces
//! (`namespaces/list`), parsed from their wire shapes (research note §2). Unions are open:
//! tags this crate does not know become `Other`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `team/get_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInfo {
    /// Team name.
    pub name: String,
    /// `dbtid:…`
    pub team_id: String,
    /// Licenses bought.
    #[serde(default)]
    pub num_licensed_users: u64,
    /// Members provisioned (not removed).
    #[serde(default)]
    pub num_provisioned_users: u64,
    /// Licenses in use.
    #[serde(default)]
    pub num_used_licenses: u64,
}

/// The `team/features/get_values` answers that matter for backup and restore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamFeatures {
    /// Monthly data-transport (upload) call limit; `None` when unlimited or unknown.
    pub upload_api_rate_limit: Option<u64>,
    /// The team uses the team-space model (a shared team root).
    pub has_team_shared_dropbox: bool,
    /// Members' homes are distinct from their roots.
    pub has_distinct_member_homes: bool,
}

/// A member's lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Joined and usable.
    Active,
    /// Invited, not joined: no data yet.
    Invited,
    /// Suspended: reachable only through Select-Admin.
    Suspended,
    /// Removed from the team.
    Removed,
    /// A state this crate does not know.
    Other(String),
}

impl MemberStatus {
    fn from_tag(tag: &str) -> Self {
        match tag {
            "active" => Self::Active,
            "invited" => Self::Invited,
            "suspended" => Self::Suspended,
            "removed" => Self::Removed,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A team member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `dbmid:…`: stable for the member's time on the team.
    pub team_member_id: String,
    /// `dbid:…`
    pub account_id: Option<String>,
    /// Sign-in e-mail.
    pub email: String,
    /// Whether the e-mail is verified.
    pub email_verified: bool,
    /// Full name as Dropbox displays it.
    pub display_name: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// Lifecycle state.
    pub status: MemberStatus,
    /// Namespace id of the member's home folder.
    pub member_folder_id: String,
    /// Namespace id of the member's root (differs from the home in team-space teams).
    pub root_folder_id: Option<String>,
    /// An id set by the team's directory sync.
    pub external_id: Option<String>,
    /// When the member joined.
    pub joined_on: Option<DateTime<Utc>>,
    /// Admin role names (`Team`, `User management`, …); empty for non-admins.
    pub roles: Vec<String>,
}

/// A team folder's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamFolderStatus {
    /// In use.
    Active,
    /// Archived: read-only, not mounted for members.
    Archived,
    /// Being archived.
    ArchiveInProgress,
    /// Inactive.
    Inactive,
    /// A state this crate does not know.
    Other(String),
}

impl TeamFolderStatus {
    fn from_tag(tag: &str) -> Self {
        match tag {
            "active" => Self::Active,
            "archived" => Self::Archived,
            "archive_in_progress" => Self::ArchiveInProgress,
            "inactive" => Self::Inactive,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A team folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamFolder {
    /// Its namespace id.
    pub team_folder_id: String,
    /// Name.
    pub name: String,
    /// State.
    pub status: TeamFolderStatus,
    /// The team space root of a team-space team.
    pub is_team_shared_dropbox: bool,
}

/// What a namespace is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamespaceType {
    /// An app folder.
    AppFolder,
    /// A shared folder.
    SharedFolder,
    /// A team folder.
    TeamFolder,
    /// A member's home.
    TeamMemberFolder,
    /// A member's root in a team-space team.
    TeamMemberRoot,
    /// A type this crate does not know.
    Other(String),
}

impl NamespaceType {
    fn from_tag(tag: &str) -> Self {
        match tag {
            "app_folder" => Self::AppFolder,
            "shared_folder" => Self::SharedFolder,
            "team_folder" => Self::TeamFolder,
            "team_member_folder" => Self::TeamMemberFolder,
            "team_member_root" => Self::TeamMemberRoot,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire tag.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::AppFolder => "app_folder",
            Self::SharedFolder => "shared_folder",
            Self::TeamFolder => "team_folder",
            Self::TeamMemberFolder => "team_member_folder",
            Self::TeamMemberRoot => "team_member_root",
            Self::Other(tag) => tag,
        }
    }
}

/// A namespace of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// Namespace id (digits).
    pub namespace_id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub namespace_type: NamespaceType,
    /// Owner, for member folders and app folders.
    pub team_member_id: Option<String>,
}

// ---- wire shapes ------------------------------------------------------------------

fn tag_of(v: &Value) -> &str {
    v.get(".tag").and_then(Value::as_str).unwrap_or("other")
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberPage {
    pub members: Vec<MemberInfoWire>,
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberInfoWire {
    profile: ProfileWire,
    #[serde(default)]
    roles: Vec<RoleWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AdminWire {
    pub admin_profile: ProfileWire,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProfileWire {
    team_member_id: String,
    #[serde(default)]
    account_id: Option<String>,
    email: String,
    #[serde(default)]
    email_verified: bool,
    status: Value,
    name: NameWire,
    member_folder_id: String,
    #[serde(default)]
    root_folder_id: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    joined_on: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct NameWire {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    surname: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Debug, Deserialize)]
struct RoleWire {
    name: String,
}

impl ProfileWire {
    pub(crate) fn into_member(self, roles: Vec<String>) -> Member {
        let display_name = if self.name.display_name.is_empty() {
            format!("{} {}", self.name.given_name, self.name.surname)
                .trim()
                .to_owned()
        } else {
            self.name.display_name
        };
        Member {
            team_member_id: self.team_member_id,
            account_id: self.account_id,
            email: self.email,
            email_verified: self.email_verified,
            display_name,
            given_name: self.name.given_name,
            surname: self.name.surname,
            status: MemberStatus::from_tag(tag_of(&self.status)),
            member_folder_id: self.member_folder_id,
            root_folder_id: self.root_folder_id,
            external_id: self.external_id,
            joined_on: self.joined_on,
            roles,
        }
    }
}

impl From<MemberInfoWire> for Member {
    fn from(info: MemberInfoWire) -> Self {
        let roles = info.roles.into_iter().map(|r| r.name).collect();
        info.profile.into_member(roles)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TeamFolderPage {
    pub team_folders: Vec<TeamFolderWire>,
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TeamFolderWire {
    team_folder_id: String,
    name: String,
    status: Value,
    #[serde(default)]
    is_team_shared_dropbox: bool,
}

impl From<TeamFolderWire> for TeamFolder {
    fn from(w: TeamFolderWire) -> Self {
        Self {
            status: TeamFolderStatus::from_tag(tag_of(&w.status)),
            team_folder_id: w.team_folder_id,
            name: w.name,
            is_team_shared_dropbox: w.is_team_shared_dropbox,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NamespacePage {
    pub namespaces: Vec<NamespaceWire>,
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NamespaceWire {
    namespace_id: String,
    name: String,
    namespace_type: Value,
    #[serde(default)]
    team_member_id: Option<String>,
}

impl From<NamespaceWire> for Namespace {
    fn from(w: NamespaceWire) -> Self {
        Self {
            namespace_type: NamespaceType::from_tag(tag_of(&w.namespace_type)),
            namespace_id: w.namespace_id,
            name: w.name,
            team_member_id: w.team_member_id,
        }
    }
}

/// Parses `features/get_values`: `{"values": [{".tag": name, name: {…}}]}`.
pub(crate) fn parse_features(body: &Value) -> TeamFeatures {
    let mut features = TeamFeatures::default();
    let Some(values) = body.get("values").and_then(Value::as_array) else {
        return features;
    };
    for value in values {
        let name = tag_of(value);
        let inner = value.get(name).unwrap_or(&Value::Null);
        match name {
            "upload_api_rate_limit" => {
                features.upload_api_rate_limit = (tag_of(inner) == "limit")
                    .then(|| inner.get("limit").and_then(Value::as_u64))
                    .flatten();
            }
            "has_team_shared_dropbox" | "has_distinct_member_homes" => {
                let flag = inner.get(name).and_then(Value::as_bool).unwrap_or(false);
                if name == "has_team_shared_dropbox" {
                    features.has_team_shared_dropbox = flag;
                } else {
                    features.has_distinct_member_homes = flag;
                }
            }
            _ => {}
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_parse_from_the_v2_shape_with_open_status() {
        let wire: MemberInfoWire = serde_json::from_value(json!({
            "profile": {
                "team_member_id": "dbmid:1", "account_id": "dbid:1", "email": "a@x.example",
                "email_verified": true,
                "status": {".tag": "removed", "is_recoverable": true, "is_disconnected": false},
                "name": {"given_name": "Ada", "surname": "Byron", "familiar_name": "Ada",
                         "display_name": "Ada Byron", "abbreviated_name": "AB"},
                "membership_type": {".tag": "full"}, "groups": [],
                "member_folder_id": "100", "root_folder_id": "100",
                "joined_on": "2024-01-02T03:04:05Z", "future_field": 1
            },
            "roles": [{"role_id": "pid_dbtmr:x", "name": "Team", "description": "…"}]
        }))
        .unwrap();
        let m = Member::from(wire);
        assert_eq!(m.status, MemberStatus::Removed);
        assert_eq!(m.display_name, "Ada Byron");
        assert_eq!(m.roles, ["Team"]);
        assert_eq!(
            m.joined_on.unwrap().to_rfc3339(),
            "2024-01-02T03:04:05+00:00"
        );
        assert_eq!(
            MemberStatus::from_tag("ghost"),
            MemberStatus::Other("ghost".into())
        );
    }

    #[test]
    fn features_parse_nested_unions() {
        let f = parse_features(&json!({"values": [
            {".tag": "upload_api_rate_limit", "upload_api_rate_limit": {".tag": "limit", "limit": 25000}},
            {".tag": "has_team_shared_dropbox", "has_team_shared_dropbox": {".tag": "has_team_shared_dropbox", "has_team_shared_dropbox": true}},
            {".tag": "has_distinct_member_homes", "has_distinct_member_homes": {".tag": "has_distinct_member_homes", "has_distinct_member_homes": false}},
            {".tag": "other"}
        ]}));
        assert_eq!(f.upload_api_rate_limit, Some(25000));
        assert!(f.has_team_shared_dropbox);
        assert!(!f.has_distinct_member_homes);
        let unlimited = parse_features(&json!({"values": [
            {".tag": "upload_api_rate_limit", "upload_api_rate_limit": {".tag": "unlimited"}}
        ]}));
        assert_eq!(unlimited.upload_api_rate_limit, None);
    }

    #[test]
    fn namespaces_and_team_folders_keep_unknown_tags() {
        let ns: NamespaceWire = serde_json::from_value(json!({
            "name": "X", "namespace_id": "7", "namespace_type": {".tag": "brand_new"}
        }))
        .unwrap();
        let ns = Namespace::from(ns);
        assert_eq!(ns.namespace_type, NamespaceType::Other("brand_new".into()));
        assert_eq!(ns.namespace_type.as_str(), "brand_new");
        let tf: TeamFolderWire = serde_json::from_value(json!({
            "team_folder_id": "9", "name": "Finance", "status": {".tag": "archived"},
            "is_team_shared_dropbox": false, "sync_setting": {".tag": "default"}
        }))
        .unwrap();
        assert_eq!(TeamFolder::from(tf).status, TeamFolderStatus::Archived);
    }
}
