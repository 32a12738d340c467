//! Changes to the team's shape: members, team folders, shared folders and their mounts.
//!
//! Used by the generator, the control API and journal replay alike. Mount changes bump a
//! namespace's `mounts_changed` mark so cursors that include mounted folders `reset`
//! rather than silently missing a newly mounted tree.

use super::ids::opaque;
use super::model::{Member, MemberStatus, Mount, Namespace, NsKind, Team, lower};
use super::rng::derive;

/// What is needed to add a member.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NewMember {
    /// Login e-mail.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// Team admin.
    pub admin: bool,
    /// Initial state (`active` or `invited`).
    pub status: MemberStatus,
    /// Password for the OAuth login page (admins).
    pub password: Option<String>,
}

impl Team {
    fn new_namespace(&mut self, name: String, kind: NsKind) -> u64 {
        let id = self.next_ns;
        self.next_ns += 1;
        let root = self.alloc_node();
        self.namespaces
            .insert(id, Namespace::new(id, root, name, kind));
        self.node_ns.insert(root, id);
        id
    }

    /// Adds a member with a home namespace; active team folders are mounted there.
    pub fn add_member(&mut self, new: NewMember, at: i64) -> usize {
        let index = self.members.len();
        let key = derive(&[self.seed, 0x4D45_4D42, index as u64]);
        let home_ns = self.new_namespace(
            format!("{} {}", new.given_name, new.surname),
            NsKind::MemberHome { member: index },
        );
        let active = new.status == MemberStatus::Active;
        self.members.push(Member {
            team_member_id: opaque("dbmid:", &[key, 1]),
            account_id: opaque("dbid:", &[key, 2]),
            email: new.email,
            given_name: new.given_name,
            surname: new.surname,
            status: new.status,
            admin: new.admin,
            home_ns,
            invited_on: at,
            joined_on: active.then_some(at),
            suspended_on: None,
            password: new.password,
        });
        let folders: Vec<u64> = self.team_folders.clone();
        for ns in folders {
            if matches!(
                self.ns(ns).map(|n| n.kind),
                Some(NsKind::TeamFolder { archived: false })
            ) {
                self.mount(index, ns);
            }
        }
        index
    }

    /// Changes a member's state (suspend, reactivate, remove).
    pub fn set_member_status(&mut self, member: usize, status: MemberStatus, at: i64) {
        if let Some(m) = self.members.get_mut(member) {
            m.status = status;
            match status {
                MemberStatus::Active => {
                    m.suspended_on = None;
                    m.joined_on.get_or_insert(at);
                }
                MemberStatus::Suspended => m.suspended_on = Some(at),
                MemberStatus::Invited | MemberStatus::Removed => {}
            }
        }
    }

    /// Mounts namespace `ns` at the top of `member`'s home under its own name (suffixed
    /// ` (2)`, ` (3)`… if that name is taken).
    pub fn mount(&mut self, member: usize, ns: u64) {
        let Some(home_id) = self.members.get(member).map(|m| m.home_ns) else {
            return;
        };
        let Some(name) = self.ns(ns).map(|n| n.name.clone()) else {
            return;
        };
        let seq = self.bump_seq();
        let Some(home) = self.namespaces.get_mut(&home_id) else {
            return;
        };
        if home.mounts.iter().any(|m| m.ns == ns) {
            return;
        }
        let mut display = format!("/{name}");
        let mut n = 2;
        while home.entries.contains_key(&lower(&display))
            || home.mounts.iter().any(|m| m.path_lower == lower(&display))
        {
            display = format!("/{name} ({n})");
            n += 1;
        }
        home.mounts.push(Mount {
            ns,
            path_lower: lower(&display),
            path_display: display,
        });
        home.mounts.sort_by(|a, b| a.path_lower.cmp(&b.path_lower));
        home.mounts_changed = seq;
    }

    /// Removes the mount of `ns` from every member's home.
    pub fn unmount_everywhere(&mut self, ns: u64) {
        let seq = self.bump_seq();
        for space in self.namespaces.values_mut() {
            let before = space.mounts.len();
            space.mounts.retain(|m| m.ns != ns);
            if space.mounts.len() != before {
                space.mounts_changed = seq;
            }
        }
    }

    /// Adds a team folder and mounts it for every member who is not removed.
    pub fn add_team_folder(&mut self, name: &str) -> u64 {
        let ns = self.new_namespace(name.to_owned(), NsKind::TeamFolder { archived: false });
        self.team_folders.push(ns);
        for member in 0..self.members.len() {
            if self.members[member].status != MemberStatus::Removed {
                self.mount(member, ns);
            }
        }
        ns
    }

    /// Archives (unmounts) or reactivates (remounts) a team folder.
    pub fn set_team_folder_archived(&mut self, ns: u64, archived: bool) {
        let Some(space) = self.namespaces.get_mut(&ns) else {
            return;
        };
        if !matches!(space.kind, NsKind::TeamFolder { .. }) {
            return;
        }
        space.kind = NsKind::TeamFolder { archived };
        if archived {
            self.unmount_everywhere(ns);
        } else {
            for member in 0..self.members.len() {
                if self.members[member].status != MemberStatus::Removed {
                    self.mount(member, ns);
                }
            }
        }
    }

    /// Permanently deletes a team folder: its namespace disappears.
    pub fn delete_team_folder(&mut self, ns: u64) {
        self.unmount_everywhere(ns);
        self.team_folders.retain(|&t| t != ns);
        if let Some(space) = self.namespaces.get_mut(&ns) {
            space.gone = true;
        }
    }

    /// Adds a folder owned by `owner`, shared with `members`, mounted in all their homes.
    pub fn add_shared_folder(&mut self, name: &str, owner: usize, members: &[usize]) -> u64 {
        let ns = self.new_namespace(name.to_owned(), NsKind::SharedFolder { owner });
        let mut with = vec![owner];
        with.extend(members.iter().copied().filter(|&m| m != owner));
        for &m in &with {
            self.mount(m, ns);
        }
        if let Some(space) = self.namespaces.get_mut(&ns) {
            space.shared_with = with;
        }
        ns
    }

    /// Whether `member` may use namespace `ns` (home or mounted there).
    #[must_use]
    pub fn member_can_access(&self, member: usize, ns: u64) -> bool {
        self.member_namespaces(member).contains(&ns)
    }

    /// Whether `ns` is a member's home.
    #[must_use]
    pub fn is_home(&self, ns: u64) -> bool {
        matches!(self.ns(ns).map(|n| n.kind), Some(NsKind::MemberHome { .. }))
    }

    /// Members' status check helper: usable through Select-User.
    #[must_use]
    pub fn member_status(&self, member: usize) -> Option<MemberStatus> {
        self.members.get(member).map(|m| m.status)
    }
}
