//! The deterministic team generator: the same [`TeamSpec`] always yields the same team.
//!
//! Members (two admins, some invited or suspended), team folders (one archived when there
//! are four or more), folders shared between members, nested folder trees, realistic file
//! names and types, sizes from a few bytes to hundreds of MiB scaled to the byte budget, a
//! share of duplicate content across members and folders, older revisions for some files
//! and some deleted files. Only the plan is random; applying it goes through the same tree
//! mutations the API uses.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::content::{ContentKind, ContentRef, GenContent};
use super::ids::opaque;
use super::model::{MemberStatus, NsKind, Team, TeamInfo, lower};
use super::names::{self, Category};
use super::rng::{Rng, derive};
use super::structure::NewMember;
use super::tree::FileWrite;

/// 2025-06-30T12:00:00Z: generated history ends here, so the team is identical whenever
/// it is generated.
pub const BASE_TIME: i64 = 1_751_284_800;

const DAY: i64 = 86_400;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSpec {
    /// Seed for everything.
    pub seed: u64,
    /// Number of members.
    pub members: u32,
    /// Number of team folders.
    pub team_folders: u32,
    /// Number of live files (deleted files come on top).
    pub files: u64,
    /// Approximate total size of the live files' current revisions.
    pub bytes: u64,
    /// Share of files whose content duplicates another file's, 0..=1.
    pub dup_ratio: f64,
}

impl Default for TeamSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            members: 12,
            team_folders: 4,
            files: 2000,
            bytes: 1 << 30,
            dup_ratio: 0.1,
        }
    }
}

/// An empty team with no members.
#[must_use]
pub fn empty_team(seed: u64, info: TeamInfo) -> Team {
    Team {
        seed,
        salt: derive(&[seed, 0x5A17]),
        epoch: 0,
        info,
        members: Vec::new(),
        namespaces: Default::default(),
        team_folders: Vec::new(),
        contents: Vec::new(),
        next_node: derive(&[seed, 0x1D]) % 1_000_000,
        next_rev: derive(&[seed, 0x4E5]) % 1_000_000,
        seq: 0,
        next_ns: 1_000_000_000 + (seed % 9_000) * 100_000,
        node_ns: HashMap::new(),
        revs: HashMap::new(),
    }
}

fn ascii_slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'é' | 'è' | 'ê' => Some('e'),
            'ü' | 'ú' => Some('u'),
            'ö' | 'ó' => Some('o'),
            'á' | 'à' => Some('a'),
            'ï' | 'í' => Some('i'),
            _ => None,
        })
        .collect()
}

/// The admin's password: deterministic so a restart without persistence keeps it.
#[must_use]
pub fn admin_password(seed: u64) -> String {
    let mut rng = Rng::derived(&[seed, 0xAD_317]);
    format!(
        "{}-{}-{}",
        rng.pick(&["amber", "cobalt", "maple", "harbor", "summit", "willow"]),
        rng.pick(&["falcon", "river", "meadow", "lantern", "compass", "orchid"]),
        rng.range(1000, 9999)
    )
}

struct PlannedFile {
    ns: u64,
    path: String,
    /// Planned content indexes, oldest revision first; the last is current.
    history: Vec<usize>,
    created: i64,
    deleted: bool,
    by: Option<usize>,
}

/// Generates the team described by `spec`.
#[must_use]
pub fn generate(spec: &TeamSpec) -> Team {
    let seed = spec.seed;
    let mut rng = Rng::derived(&[seed, 0x7EA3]);
    let team_name = *rng.pick(&names::TEAMS);
    let domain = format!("{}.example", ascii_slug(team_name));
    let info = TeamInfo {
        name: team_name.to_owned(),
        team_id: opaque("dbtid:", &[seed, 0x7EA3]),
        domain: domain.clone(),
    };
    let mut team = empty_team(seed, info);
    add_members(&mut team, spec, &mut rng, &domain);
    for t in 0..spec.team_folders as usize {
        let base = names::TEAM_FOLDERS[t % names::TEAM_FOLDERS.len()];
        let name = match t / names::TEAM_FOLDERS.len() {
            0 => base.to_owned(),
            n => format!("{base} {}", n + 1),
        };
        let ns = team.add_team_folder(&name);
        if t == 3 {
            team.set_team_folder_archived(ns, true);
        }
    }
    add_shared_folders(&mut team, &mut rng);
    let (folders, plan, planned) = plan_files(&team, spec, &mut rng);
    for (ns, path) in &folders {
        let _ = team.create_folder(*ns, path);
    }
    apply_plan(&mut team, spec, plan, planned);
    // Nobody can hold a cursor from before the team existed: drop the generation log.
    for space in team.namespaces.values_mut() {
        space.log.clear();
    }
    team
}

fn add_members(team: &mut Team, spec: &TeamSpec, rng: &mut Rng, domain: &str) {
    let mut emails = BTreeSet::new();
    for i in 0..spec.members as usize {
        let given = names::GIVEN[(i + rng.index(7)) % names::GIVEN.len()];
        let surname = *rng.pick(&names::SURNAMES);
        let base = format!("{}.{}", ascii_slug(given), ascii_slug(surname));
        let mut email = format!("{base}@{domain}");
        let mut n = 2;
        while !emails.insert(email.clone()) {
            email = format!("{base}{n}@{domain}");
            n += 1;
        }
        let admin = i == 0 || (i == 1 && spec.members > 4);
        let roll = rng.below(100);
        let status = if admin || roll >= 11 {
            MemberStatus::Active
        } else if roll < 6 {
            MemberStatus::Invited
        } else {
            MemberStatus::Suspended
        };
        let joined = BASE_TIME - rng.range(60, 900) as i64 * DAY;
        let index = team.add_member(
            NewMember {
                email,
                given_name: given.to_owned(),
                surname: surname.to_owned(),
                admin,
                status: if status == MemberStatus::Invited {
                    MemberStatus::Invited
                } else {
                    MemberStatus::Active
                },
                password: admin.then(|| admin_password(team.seed)),
            },
            joined,
        );
        if status == MemberStatus::Suspended {
            team.set_member_status(index, status, joined + 30 * DAY);
        }
    }
}

fn add_shared_folders(team: &mut Team, rng: &mut Rng) {
    let active: Vec<usize> = (0..team.members.len())
        .filter(|&m| team.members[m].status == MemberStatus::Active)
        .collect();
    if active.len() < 2 {
        return;
    }
    let count = (team.members.len() / 4).min(names::SHARED_FOLDERS.len());
    for f in 0..count {
        let owner = *rng.pick(&active);
        let mut with = Vec::new();
        for _ in 0..rng.range(1, 3) {
            let m = *rng.pick(&active);
            if m != owner && !with.contains(&m) {
                with.push(m);
            }
        }
        team.add_shared_folder(names::SHARED_FOLDERS[f], owner, &with);
    }
}

/// Namespaces that hold content, with their planning weight and who writes there.
fn content_namespaces(team: &Team) -> Vec<(u64, u64, Vec<usize>)> {
    let writers_all: Vec<usize> = (0..team.members.len())
        .filter(|&m| team.members[m].status != MemberStatus::Invited)
        .collect();
    team.namespaces
        .values()
        .filter_map(|space| match space.kind {
            NsKind::MemberHome { member } => (team.members[member].status != MemberStatus::Invited)
                .then(|| (space.id, 2, vec![member])),
            NsKind::TeamFolder { .. } => Some((space.id, 5, writers_all.clone())),
            NsKind::SharedFolder { .. } => Some((space.id, 2, space.shared_with.clone())),
        })
        .collect()
}

fn folder_tree(team: &Team, ns: u64, files: u64, rng: &mut Rng) -> Vec<String> {
    let top_names: &[&str] = if team.is_home(ns) {
        &names::HOME_FOLDERS
    } else {
        &names::SHARED_SUBFOLDERS
    };
    let mut folders = vec![String::new()];
    let mut taken = BTreeSet::new();
    let tops = rng.range(3, 6).min(files.max(1));
    for _ in 0..tops {
        let path = format!("/{}", rng.pick(top_names));
        if taken.insert(lower(&path)) {
            folders.push(path);
        }
    }
    let wanted = (files / 6).max(tops);
    let mut attempts = 0;
    while (folders.len() as u64) < wanted + 1 && attempts < wanted * 4 {
        attempts += 1;
        let parent = folders[1 + rng.index(folders.len() - 1)].clone();
        if parent.matches('/').count() >= 4 {
            continue;
        }
        let path = format!("{parent}/{}", rng.pick(&names::SUBFOLDERS));
        if taken.insert(lower(&path)) {
            folders.push(path);
        }
    }
    folders
}

fn unique_path(folder: &str, name: &str, taken: &mut BTreeSet<String>) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let mut path = format!("{folder}/{name}");
    let mut n = 2;
    while !taken.insert(lower(&path)) {
        path = format!("{folder}/{stem} ({n}){ext}");
        n += 1;
    }
    path
}

/// Planned folders, files and contents (kind and unscaled size).
type Plan = (
    Vec<(u64, String)>,
    Vec<PlannedFile>,
    Vec<(ContentKind, f64)>,
);

fn plan_files(team: &Team, spec: &TeamSpec, rng: &mut Rng) -> Plan {
    let spaces = content_namespaces(team);
    let total_weight: u64 = spaces.iter().map(|s| s.1).sum();
    let mut all_folders = Vec::new();
    let mut plan: Vec<PlannedFile> = Vec::new();
    let mut planned: Vec<(ContentKind, f64)> = Vec::new();
    let mut live: Vec<usize> = Vec::new();
    if total_weight == 0 {
        return (all_folders, plan, planned);
    }
    // Deleted files come on top of the live ones.
    let extra = spec.files / 25;
    let total_files = spec.files + extra;
    let mut counts: Vec<u64> = spaces
        .iter()
        .map(|s| total_files * s.1 / total_weight)
        .collect();
    let assigned: u64 = counts.iter().sum();
    for i in 0..(total_files - assigned) as usize {
        let slots = counts.len();
        counts[i % slots] += 1;
    }
    for ((ns, _, writers), count) in spaces.iter().zip(counts) {
        let folders = folder_tree(team, *ns, count, rng);
        let mut taken: BTreeSet<String> = folders.iter().map(|f| lower(f)).collect();
        all_folders.extend(folders.iter().skip(1).map(|f| (*ns, f.clone())));
        for _ in 0..count {
            let folder = if rng.chance(0.1) {
                ""
            } else {
                folders[rng.index(folders.len())].as_str()
            };
            let created = BASE_TIME - rng.range(2, 730) as i64 * DAY - rng.below(DAY as u64) as i64;
            let by = (!writers.is_empty()).then(|| *rng.pick(writers));
            let dup_of = (!live.is_empty() && rng.chance(spec.dup_ratio))
                .then(|| live[rng.index(live.len())]);
            let (name, current) = if let Some(source) = dup_of {
                let src = &plan[source];
                let src_name = src.path.rsplit('/').next().unwrap_or("copy").to_owned();
                let name = if rng.chance(0.3) {
                    format!("Copy of {src_name}")
                } else {
                    src_name
                };
                (name, *src.history.last().unwrap_or(&0))
            } else {
                let category = Category::pick(rng);
                let name = category.file_name(rng);
                planned.push((ContentKind::for_name(&name), category.raw_size(rng)));
                (name, planned.len() - 1)
            };
            let mut history = Vec::new();
            if dup_of.is_none() && rng.chance(0.12) {
                let (kind, raw) = planned[current];
                for _ in 0..rng.range(1, 3) {
                    planned.push((kind, raw * (0.6 + rng.unit() * 0.5)));
                    history.push(planned.len() - 1);
                }
            }
            history.push(current);
            let path = unique_path(folder, &name, &mut taken);
            // Exactly `extra` deletions, spread evenly over the plan.
            let i = plan.len() as u64;
            let deleted = (i + 1) * extra / total_files > i * extra / total_files;
            if !deleted {
                live.push(plan.len());
            }
            plan.push(PlannedFile {
                ns: *ns,
                path,
                history,
                created,
                deleted,
                by,
            });
        }
    }
    (all_folders, plan, planned)
}

fn apply_plan(
    team: &mut Team,
    spec: &TeamSpec,
    plan: Vec<PlannedFile>,
    planned: Vec<(ContentKind, f64)>,
) {
    let live_raw: f64 = plan
        .iter()
        .filter(|f| !f.deleted)
        .filter_map(|f| f.history.last().map(|&c| planned[c].1))
        .sum();
    let factor = if live_raw > 0.0 {
        spec.bytes as f64 / live_raw
    } else {
        0.0
    };
    team.contents = planned
        .iter()
        .enumerate()
        .map(|(id, &(kind, raw))| GenContent {
            id: id as u64,
            size: (raw * factor).round() as u64,
            kind,
        })
        .collect();
    let mut rng = Rng::derived(&[spec.seed, 0x71AE]);
    for file in plan {
        let mut at = file.created;
        let revisions = file.history.len();
        for (i, content) in file.history.into_iter().enumerate() {
            let size = team.contents[content].size;
            let _ = team.write_file(FileWrite {
                ns: file.ns,
                path: file.path.clone(),
                content: ContentRef::Generated { id: content as u64 },
                size,
                client_modified: at - rng.below(3 * DAY as u64) as i64,
                at,
                by: file.by,
            });
            if i + 1 < revisions {
                at = (at + rng.range(1, 30) as i64 * DAY).min(BASE_TIME - DAY);
            }
        }
        if file.deleted {
            let _ = team.delete_path(file.ns, &lower(&file.path), at + DAY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::model::NodeKind;

    fn small() -> TeamSpec {
        TeamSpec {
            seed: 42,
            members: 9,
            team_folders: 4,
            files: 300,
            bytes: 50 << 20,
            dup_ratio: 0.2,
        }
    }

    fn fingerprint(team: &Team) -> Vec<String> {
        let mut out = Vec::new();
        for space in team.namespaces.values() {
            for (k, node) in &space.entries {
                let cur = node.current().map(|r| (r.rev, r.size, r.content));
                out.push(format!("{}:{k}:{}:{cur:?}", space.id, node.id));
            }
        }
        out
    }

    #[test]
    fn the_same_spec_generates_the_same_team() {
        let a = generate(&small());
        let b = generate(&small());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let other = generate(&TeamSpec {
            seed: 43,
            ..small()
        });
        assert_ne!(fingerprint(&a), fingerprint(&other));
    }

    #[test]
    fn the_team_has_the_promised_shape() {
        let spec = small();
        let team = generate(&spec);
        assert_eq!(team.members.len(), 9);
        assert!(team.members[0].admin && team.members[1].admin);
        assert_eq!(team.team_folders.len(), 4);
        let archived = team
            .namespaces
            .values()
            .filter(|n| matches!(n.kind, NsKind::TeamFolder { archived: true }))
            .count();
        assert_eq!(archived, 1);
        let files: Vec<_> = team
            .namespaces
            .values()
            .flat_map(|n| n.entries.values())
            .filter_map(|n| n.current().map(|r| (n, r)))
            .collect();
        assert_eq!(files.len() as u64, spec.files);
        let bytes: u64 = files.iter().map(|(_, r)| r.size).sum();
        let ratio = bytes as f64 / spec.bytes as f64;
        assert!((0.99..1.01).contains(&ratio), "total bytes {bytes}");
        let with_history = files
            .iter()
            .filter(|(n, _)| matches!(&n.kind, NodeKind::File(r) if r.len() > 1))
            .count();
        assert!(with_history > 0);
        let tombstones: usize = team.namespaces.values().map(|n| n.tombstones.len()).sum();
        assert!(tombstones > 0);
        let mut contents: Vec<_> = files.iter().map(|(_, r)| r.content).collect();
        contents.sort_by_key(|c| format!("{c:?}"));
        contents.dedup();
        assert!(contents.len() < files.len(), "some files share content");
        let home = &team.namespaces[&team.members[0].home_ns];
        assert!(home.mounts.len() >= 3, "active team folders are mounted");
    }
}
