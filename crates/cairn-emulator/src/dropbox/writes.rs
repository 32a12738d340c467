//! Shared pieces of the write routes: resolving a write target, permission checks,
//! autorename, and committing an uploaded file under a `WriteMode`.
//!
//! `WriteMode` semantics (research note §3.5, spec `WriteMode`): writing to an empty path
//! never conflicts; writing onto a folder always conflicts; identical content never
//! conflicts and writes nothing unless `strict_conflict`; `add` autorenames to
//! `name (2).ext`; `overwrite` always replaces; `update(rev)` replaces only when `rev` is
//! current and otherwise autorenames to `name (conflicted copy).ext`.

use serde::Deserialize;
use serde_json::Value;

use super::content::ContentRef;
use super::ids::{now_unix, parse_rev, parse_timestamp};
use super::metadata::{RenderOptions, Rendered};
use super::model::{Node, NodeKind, NsKind, Team, lower};
use super::ops::{Applied, Op};
use super::route_errors::{tree_write, write_path};
use super::state::Shared;
use super::view::{Loc, PathArg, View, parse_path};
use super::wire::{UnionArg, nested, tag};

/// Autorename strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rename {
    /// `name (2).ext`, `name (3).ext`…
    Number,
    /// `name (conflicted copy).ext`, `name (conflicted copy 2).ext`…
    Conflicted,
}

/// A free path in `ns` next to `path`, following the strategy.
#[must_use]
pub fn autorename(team: &Team, ns: u64, path: &str, file: bool, strategy: Rename) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if file && !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let taken = |candidate: &str| {
        team.ns(ns)
            .is_some_and(|s| s.entries.contains_key(&lower(candidate)))
    };
    for n in 1..10_000 {
        let suffix = match (strategy, n) {
            (Rename::Number, n) => format!(" ({})", n + 1),
            (Rename::Conflicted, 1) => " (conflicted copy)".to_owned(),
            (Rename::Conflicted, n) => format!(" (conflicted copy {n})"),
        };
        let candidate = format!("{dir}/{stem}{suffix}{ext}");
        if !taken(&candidate) {
            return candidate;
        }
    }
    format!("{dir}/{stem} ({}){ext}", now_unix())
}

/// Whether `ns` accepts writes; `Err` is a `WriteError`.
pub fn writable(team: &Team, ns: u64) -> Result<(), Value> {
    match team.ns(ns).map(|n| n.kind) {
        None => Err(tag("no_write_permission")),
        Some(NsKind::TeamFolder { archived: true }) => Err(tag("no_write_permission")),
        Some(_) => Ok(()),
    }
}

/// Resolves a write path; `Err` is a `WriteError`. The namespace root itself is refused
/// (it is a folder: `conflict/folder`).
pub fn resolve_write(team: &Team, view: &View, path: &str) -> Result<Loc, Value> {
    let parsed = parse_path(team, path, false).map_err(|e| write_path(&e))?;
    if parsed == PathArg::Root {
        return Err(nested("conflict", tag("folder")));
    }
    let loc = team.resolve(view, &parsed).map_err(|e| write_path(&e))?;
    writable(team, loc.ns)?;
    if loc.is_ns_root() {
        return Err(nested("conflict", tag("folder")));
    }
    Ok(loc)
}

/// `CommitInfo`, the target of an upload.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitInfo {
    /// Target path.
    pub path: String,
    /// Write mode (defaults to `add`).
    #[serde(default)]
    pub mode: Option<UnionArg>,
    /// Rename on conflict.
    #[serde(default)]
    pub autorename: bool,
    /// Client modification time.
    #[serde(default)]
    pub client_modified: Option<String>,
    /// Suppress notifications (accepted, no effect here).
    #[serde(default)]
    pub mute: bool,
    /// Treat identical content as a conflict too.
    #[serde(default)]
    pub strict_conflict: bool,
}

/// The parsed write mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never overwrite.
    Add,
    /// Always overwrite.
    Overwrite,
    /// Overwrite if the current revision is this one.
    Update(u64),
}

impl CommitInfo {
    /// Checks mode and timestamp; `Err` is a message for a 400.
    pub fn validate(&self, team: &Team) -> Result<(Mode, Option<i64>), String> {
        let mode = match &self.mode {
            None => Mode::Add,
            Some(m) => match m.tag.as_str() {
                "add" => Mode::Add,
                "overwrite" => Mode::Overwrite,
                "update" => {
                    let rev = m.inner_str().ok_or("mode: update needs a rev")?;
                    Mode::Update(
                        parse_rev(team.salt, rev)
                            .ok_or_else(|| format!("mode: {rev:?} is not a valid rev"))?,
                    )
                }
                other => return Err(format!("mode: unknown tag {other:?}")),
            },
        };
        let client_modified = match &self.client_modified {
            None => None,
            Some(text) => Some(parse_timestamp(text).ok_or_else(|| {
                format!("client_modified: {text:?} is not a timestamp like 2015-05-12T15:50:38Z")
            })?),
        };
        Ok((mode, client_modified))
    }
}

/// The hash of a content if known without computing it.
#[must_use]
pub fn known_hash(shared: &Shared, content: &ContentRef) -> Option<[u8; 32]> {
    match content {
        ContentRef::Blob { hash, .. } => Some(*hash),
        ContentRef::Generated { id } => shared.hashes.get(*id),
    }
}

/// Makes sure the hash of whatever file is at `path` is cached, so the identical-content
/// rule can be applied under the write lock without hashing there.
pub async fn prefetch_existing_hash(shared: &Shared, view: &View, path: &str) {
    let pending = {
        let team = shared.team.read();
        let Ok(parsed) = parse_path(&team, path, false) else {
            return;
        };
        let Ok(loc) = team.resolve(view, &parsed) else {
            return;
        };
        team.ns(loc.ns)
            .and_then(|s| s.entries.get(&loc.path_lower))
            .and_then(Node::current)
            .and_then(|r| match r.content {
                ContentRef::Generated { id } => team.gen_content(id).copied(),
                ContentRef::Blob { .. } => None,
            })
    };
    if let Some(content) = pending {
        shared.hashes.hash(content).await;
    }
}

/// An uploaded file ready to be committed.
#[derive(Debug, Clone, Copy)]
pub struct Upload {
    /// Where its bytes are.
    pub content: ContentRef,
    /// Length.
    pub size: u64,
    /// `content_hash`.
    pub hash: [u8; 32],
}

/// Stores uploaded content at `commit.path` under the write mode. Returns the rendered
/// file, or a `WriteError` value.
pub fn commit_file(
    shared: &Shared,
    team: &mut Team,
    view: &View,
    commit: &CommitInfo,
    (mode, client_modified): (Mode, Option<i64>),
    upload: Upload,
) -> Result<Rendered, Value> {
    let Upload {
        content,
        size,
        hash,
    } = upload;
    let loc = resolve_write(team, view, &commit.path)?;
    let now = now_unix();
    let existing: Option<Node> = team
        .ns(loc.ns)
        .and_then(|s| s.entries.get(&loc.path_lower))
        .cloned();
    let mut target = loc.path_display.clone();
    if let Some(node) = &existing {
        let (current_rev, current_hash) = match &node.kind {
            NodeKind::Folder => (None, None),
            NodeKind::File(revs) => match revs.last() {
                Some(r) => (Some(r.rev), known_hash(shared, &r.content)),
                None => (None, None),
            },
        };
        let is_folder = matches!(node.kind, NodeKind::Folder);
        let identical = !is_folder && current_hash == Some(hash);
        let conflict = match mode {
            _ if is_folder => true,
            _ if identical && !commit.strict_conflict => {
                // Nothing is written; the existing file is the result.
                let loc = Loc {
                    path_display: node.path_display.clone(),
                    ..loc
                };
                return Ok(team.render_node(&loc, node, RenderOptions::default()));
            }
            Mode::Add => true,
            Mode::Overwrite => false,
            Mode::Update(rev) => current_rev != Some(rev),
        };
        if conflict {
            if !commit.autorename {
                return Err(nested(
                    "conflict",
                    tag(if is_folder { "folder" } else { "file" }),
                ));
            }
            let strategy = match mode {
                Mode::Update(_) => Rename::Conflicted,
                _ => Rename::Number,
            };
            target = autorename(team, loc.ns, &loc.path_display, true, strategy);
        } else {
            target = node.path_display.clone();
        }
    }
    let op = Op::WriteFile {
        ns: loc.ns,
        path: target,
        content,
        size,
        client_modified: client_modified.unwrap_or(now),
        at: now,
        by: Some(view.actor),
    };
    match shared.commit(team, op) {
        Ok(Applied::Node(id)) => {
            render_written(team, &loc, id).ok_or_else(|| tag("no_write_permission"))
        }
        Ok(_) => Err(tag("no_write_permission")),
        Err(e) => Err(tree_write(e)),
    }
}

/// Renders the node `id` in namespace `loc.ns` after a write.
#[must_use]
pub fn render_written(team: &Team, loc: &Loc, id: u64) -> Option<Rendered> {
    let space = team.ns(loc.ns)?;
    let key = space.by_id.get(&id)?;
    let node = space.entries.get(key)?;
    Some(team.render_node(loc, node, RenderOptions::default()))
}
