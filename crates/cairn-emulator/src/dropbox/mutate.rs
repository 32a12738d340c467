//! The control API's "change N% of files": modifications, additions, deletions and
//! renames / moves, applied through the same journaled ops as API writes, so cursors see
//! them exactly as they would see a user's edits.

use serde::{Deserialize, Serialize};

use super::content::{ContentKind, GenContent};
use super::ids::now_unix;
use super::model::{MemberStatus, NodeKind, NsKind, Team, lower, parent};
use super::names::Category;
use super::ops::Op;
use super::rng::Rng;
use super::state::Shared;
use crate::error::EmulatorError;

/// What to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutateRequest {
    /// Share of the candidate files to change, 0..=100.
    pub percent: f64,
    /// Act as this member (`dbmid:…`), on the namespaces they can reach.
    #[serde(default)]
    pub member: Option<String>,
    /// Restrict to one namespace.
    #[serde(default)]
    pub namespace_id: Option<String>,
    /// Seed for the choice of files and kinds (default: derived from the team state).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Kinds of change: `modify`, `add`, `delete`, `rename` (default: all four).
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// One change made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeMade {
    /// `modify`, `add`, `delete` or `rename`.
    pub kind: String,
    /// Namespace.
    pub namespace_id: String,
    /// Path in the namespace (for `add`: the new file).
    pub path: String,
    /// Where a renamed or moved file went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_path: Option<String>,
}

/// What a mutation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutateReport {
    /// Files modified.
    pub modified: usize,
    /// Files added.
    pub added: usize,
    /// Files deleted.
    pub deleted: usize,
    /// Files renamed or moved.
    pub renamed: usize,
    /// Every change, in order.
    pub changes: Vec<ChangeMade>,
}

const KINDS: [&str; 4] = ["modify", "add", "delete", "rename"];

fn target_namespaces(
    team: &Team,
    req: &MutateRequest,
) -> Result<(Vec<u64>, Option<usize>), EmulatorError> {
    let actor = match &req.member {
        Some(id) => {
            let m = team
                .member_by_id(id)
                .ok_or_else(|| EmulatorError::NotFound(format!("no member {id}")))?;
            if team.members[m].status != MemberStatus::Active {
                return Err(EmulatorError::Invalid(format!("member {id} is not active")));
            }
            Some(m)
        }
        None => None,
    };
    let writable = |ns: u64| {
        team.ns(ns)
            .is_some_and(|s| !matches!(s.kind, NsKind::TeamFolder { archived: true }))
    };
    let spaces: Vec<u64> = match (&req.namespace_id, actor) {
        (Some(text), _) => {
            let ns: u64 = text.parse().map_err(|_| {
                EmulatorError::Invalid(format!("namespace_id {text:?} is not a namespace id"))
            })?;
            if team.ns(ns).is_none() {
                return Err(EmulatorError::NotFound(format!("no namespace {ns}")));
            }
            if actor.is_some_and(|m| !team.member_can_access(m, ns)) {
                return Err(EmulatorError::Invalid(format!(
                    "the member cannot reach namespace {ns}"
                )));
            }
            vec![ns]
        }
        (None, Some(m)) => team.member_namespaces(m),
        (None, None) => team.namespaces.keys().copied().collect(),
    };
    Ok((
        spaces.into_iter().filter(|&ns| writable(ns)).collect(),
        actor,
    ))
}

fn free_path(team: &Team, ns: u64, folder: &str, name: &str) -> String {
    let mut path = format!("{folder}/{name}");
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (name.to_owned(), String::new()),
    };
    let mut n = 2;
    while team
        .ns(ns)
        .is_some_and(|s| s.entries.contains_key(&lower(&path)))
    {
        path = format!("{folder}/{stem} ({n}){ext}");
        n += 1;
    }
    path
}

/// Folders of a namespace (display paths, `""` for its root), in key order.
fn folders_of(team: &Team, ns: u64) -> Vec<String> {
    let mut out = vec![String::new()];
    if let Some(space) = team.ns(ns) {
        out.extend(
            space
                .entries
                .values()
                .filter(|n| matches!(n.kind, NodeKind::Folder))
                .map(|n| n.path_display.clone()),
        );
    }
    out
}

/// Applies a mutation request.
///
/// # Errors
/// [`EmulatorError::Invalid`] / [`EmulatorError::NotFound`] for a bad request.
pub fn mutate(shared: &Shared, req: &MutateRequest) -> Result<MutateReport, EmulatorError> {
    if !(0.0..=100.0).contains(&req.percent) {
        return Err(EmulatorError::Invalid(
            "percent must be between 0 and 100".into(),
        ));
    }
    let kinds: Vec<&str> = if req.kinds.is_empty() {
        KINDS.to_vec()
    } else {
        req.kinds.iter().map(String::as_str).collect()
    };
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(k)) {
        return Err(EmulatorError::Invalid(format!(
            "unknown kind {bad:?}; use modify, add, delete or rename"
        )));
    }
    let mut team = shared.team.write();
    let (spaces, actor) = target_namespaces(&team, req)?;
    let mut candidates: Vec<(u64, String)> = Vec::new();
    for &ns in &spaces {
        if let Some(space) = team.ns(ns) {
            candidates.extend(
                space
                    .entries
                    .iter()
                    .filter(|(_, n)| matches!(n.kind, NodeKind::File(_)))
                    .map(|(k, _)| (ns, k.clone())),
            );
        }
    }
    let wanted = ((req.percent / 100.0) * candidates.len() as f64).round() as usize;
    let wanted = if req.percent > 0.0 && !candidates.is_empty() {
        wanted.max(1)
    } else {
        wanted
    };
    let mut rng = Rng::derived(&[req.seed.unwrap_or(team.seq), team.seed, team.epoch]);
    // Partial Fisher-Yates: the first `wanted` slots become a uniform sample.
    for i in 0..wanted.min(candidates.len()) {
        let j = i + rng.index(candidates.len() - i);
        candidates.swap(i, j);
    }
    candidates.truncate(wanted);
    let writers: Vec<usize> = (0..team.members.len())
        .filter(|&m| team.members[m].status == MemberStatus::Active)
        .collect();
    let mut report = MutateReport::default();
    let now = now_unix();
    for (ns, key) in candidates {
        let Some(node) = team.ns(ns).and_then(|s| s.entries.get(&key)).cloned() else {
            continue;
        };
        let Some(current) = node.current().cloned() else {
            continue;
        };
        let by = actor.or_else(|| (!writers.is_empty()).then(|| *rng.pick(&writers)));
        let kind = *rng.pick(&kinds);
        let folder = parent(&node.path_display).to_owned();
        let mut ops = Vec::new();
        let mut change = ChangeMade {
            kind: kind.to_owned(),
            namespace_id: ns.to_string(),
            path: node.path_display.clone(),
            new_path: None,
        };
        match kind {
            "modify" | "add" => {
                let (name, content_kind, size) = if kind == "add" {
                    let category = Category::pick(&mut rng);
                    let name = category.file_name(&mut rng);
                    let size = (current.size.max(1) as f64 * (0.5 + rng.unit())) as u64;
                    (Some(name.clone()), ContentKind::for_name(&name), size)
                } else {
                    let size = (current.size.max(1) as f64 * (0.8 + rng.unit() * 0.45)) as u64;
                    (None, ContentKind::for_name(node.name()), size.max(1))
                };
                let content_id = team.contents.len() as u64;
                ops.push(Op::AddContent {
                    content: GenContent {
                        id: content_id,
                        size,
                        kind: content_kind,
                    },
                });
                let path = match name {
                    Some(name) => free_path(&team, ns, &folder, &name),
                    None => node.path_display.clone(),
                };
                change.path.clone_from(&path);
                ops.push(Op::WriteFile {
                    ns,
                    path,
                    content: super::content::ContentRef::Generated { id: content_id },
                    size,
                    client_modified: now,
                    at: now,
                    by,
                });
            }
            "delete" => ops.push(Op::Delete {
                ns,
                path_lower: key.clone(),
                at: now,
            }),
            _ => {
                // Half rename in place, half move to another folder of the namespace.
                let folders = folders_of(&team, ns);
                let elsewhere: Vec<&String> = folders.iter().filter(|f| **f != folder).collect();
                let to = if rng.chance(0.5) && !elsewhere.is_empty() {
                    let target = (*rng.pick(&elsewhere)).clone();
                    free_path(&team, ns, &target, node.name())
                } else {
                    let (stem, ext) = match node.name().rsplit_once('.') {
                        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
                        _ => (node.name().to_owned(), String::new()),
                    };
                    let suffix = rng.pick(&["final", "v2", "reviewed", "old", "signed"]);
                    free_path(&team, ns, &folder, &format!("{stem} - {suffix}{ext}"))
                };
                change.new_path = Some(to.clone());
                ops.push(Op::Relocate {
                    from_ns: ns,
                    from: node.path_display.clone(),
                    to_ns: ns,
                    to,
                    copy: false,
                    at: now,
                    by,
                });
            }
        }
        let mut applied = true;
        for op in ops {
            applied &= shared.commit(&mut team, op).is_ok();
        }
        if applied {
            match kind {
                "modify" => report.modified += 1,
                "add" => report.added += 1,
                "delete" => report.deleted += 1,
                _ => report.renamed += 1,
            }
            report.changes.push(change);
        }
    }
    Ok(report)
}
