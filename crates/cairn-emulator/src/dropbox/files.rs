//! File routes on the api host: `get_metadata`, `create_folder_v2`, `delete_v2`,
//! `copy_v2`, `move_v2`, `list_revisions`, `restore`.

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Ctx;
use super::ids::{is_rev_shaped, now_unix, parse_rev, timestamp};
use super::metadata::{Metadata, RenderOptions, Rendered};
use super::model::{Node, NodeKind, NsKind, Revision, Team, lower};
use super::ops::{Applied, Op};
use super::route_errors::{conflict, lookup, tree_lookup, tree_write};
use super::state::Shared;
use super::view::{Loc, PathArg, View, parse_path};
use super::wire::{ApiError, nested, ok, route_error, tag};
use super::writes::{Rename, autorename, render_written, resolve_write, writable};

#[derive(Debug, Deserialize)]
struct GetMetadataArg {
    path: String,
    #[serde(default)]
    include_deleted: bool,
    #[serde(default)]
    include_has_explicit_shared_members: bool,
}

#[derive(Debug, Deserialize)]
struct CreateFolderArg {
    path: String,
    #[serde(default)]
    autorename: bool,
}

#[derive(Debug, Deserialize)]
struct DeleteArg {
    path: String,
    #[serde(default)]
    parent_rev: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RelocationArg {
    from_path: String,
    to_path: String,
    #[serde(default)]
    autorename: bool,
}

#[derive(Debug, Deserialize)]
struct ListRevisionsArg {
    path: String,
    #[serde(default)]
    mode: Option<super::wire::UnionArg>,
    #[serde(default = "ten")]
    limit: u64,
    #[serde(default)]
    before_rev: Option<String>,
}

fn ten() -> u64 {
    10
}

#[derive(Debug, Deserialize)]
struct RestoreArg {
    path: String,
    rev: String,
}

/// Renders, fills hashes and returns `entries` (the caller holds no lock).
async fn finish(
    shared: &Shared,
    mut entries: Vec<Rendered>,
    contents: std::collections::HashMap<u64, super::content::GenContent>,
) -> Vec<Metadata> {
    shared.fill_hashes(&mut entries, &contents).await;
    entries.into_iter().map(|r| r.meta).collect()
}

fn untagged_file(meta: Metadata) -> Value {
    match meta {
        Metadata::File(f) => serde_json::to_value(f).unwrap_or(Value::Null),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// `files/get_metadata`
pub async fn get_metadata(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: GetMetadataArg = ctx.parse(arg)?;
    if arg.path.is_empty() {
        return Err(ctx.bad_input("request body: path: the root folder is unsupported"));
    }
    let view = ctx.view()?;
    let opts = RenderOptions {
        explicit_shared_members: arg.include_has_explicit_shared_members,
    };
    let (rendered, contents) = {
        let team = ctx.shared.team.read();
        let parsed =
            parse_path(&team, &arg.path, true).map_err(|e| conflict("path", lookup(&e)))?;
        let loc = team
            .resolve(&view, &parsed)
            .map_err(|e| conflict("path", lookup(&e)))?;
        let rendered = metadata_at(&team, &loc, arg.include_deleted, opts)?;
        let contents = Shared::contents_for(&team, std::slice::from_ref(&rendered));
        (rendered, contents)
    };
    let mut metas = finish(&ctx.shared, vec![rendered], contents).await;
    Ok(ok(&metas.remove(0)))
}

fn metadata_at(
    team: &Team,
    loc: &Loc,
    include_deleted: bool,
    opts: RenderOptions,
) -> Result<Rendered, ApiError> {
    let not_found = || conflict("path", tag("not_found"));
    if loc.is_ns_root() {
        return match loc.prefix_display.as_str() {
            "" => Err(not_found()),
            prefix => team
                .render_mount_point(loc.ns, prefix)
                .ok_or_else(not_found),
        };
    }
    let space = team.ns(loc.ns).ok_or_else(not_found)?;
    if let Some(node) = space.entries.get(&loc.path_lower) {
        if let (Some(rev), NodeKind::File(revs)) = (loc.rev, &node.kind) {
            let r = revs.iter().find(|r| r.rev == rev).ok_or_else(not_found)?;
            return Ok(team.render_file(loc, node, r, opts));
        }
        return Ok(team.render_node(loc, node, opts));
    }
    match space.tombstones.get(&loc.path_lower) {
        Some(t) if include_deleted => Ok(team.render_tombstone(loc, t)),
        _ => Err(not_found()),
    }
}

/// `files/create_folder_v2`
pub fn create_folder(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: CreateFolderArg = ctx.parse(arg)?;
    let view = ctx.view()?;
    let mut team = ctx.shared.team.write();
    let loc = resolve_write(&team, &view, &arg.path).map_err(|e| conflict("path", e))?;
    let exists = team
        .ns(loc.ns)
        .is_some_and(|s| s.entries.contains_key(&loc.path_lower));
    let target = if exists && arg.autorename {
        autorename(&team, loc.ns, &loc.path_display, false, Rename::Number)
    } else {
        loc.path_display.clone()
    };
    let op = Op::CreateFolder {
        ns: loc.ns,
        path: target,
    };
    match ctx.shared.commit(&mut team, op) {
        Ok(Applied::Node(id)) => {
            let rendered = render_written(&team, &loc, id)
                .ok_or_else(|| conflict("path", tag("not_found")))?;
            let meta = match rendered.meta {
                Metadata::Folder(f) => serde_json::to_value(f).unwrap_or(Value::Null),
                other => serde_json::to_value(other).unwrap_or(Value::Null),
            };
            Ok(ok(&json!({ "metadata": meta })))
        }
        Ok(_) => Err(conflict("path", tag("no_write_permission"))),
        Err(e) => Err(conflict("path", tree_write(e))),
    }
}

/// Refuses to delete or move a mount point (a shared or team folder's root).
fn mount_point_error(team: &Team, loc: &Loc) -> Option<Value> {
    if !loc.is_ns_root() {
        return None;
    }
    Some(match team.ns(loc.ns).map(|n| n.kind) {
        Some(NsKind::TeamFolder { .. }) => tag("team_folder"),
        _ => tag("no_write_permission"),
    })
}

/// `files/delete_v2`
pub async fn delete(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: DeleteArg = ctx.parse(arg)?;
    let view = ctx.view()?;
    let (rendered, contents) = {
        let mut team = ctx.shared.team.write();
        let parsed =
            parse_path(&team, &arg.path, false).map_err(|e| conflict("path_lookup", lookup(&e)))?;
        if parsed == PathArg::Root {
            return Err(conflict("path_write", tag("no_write_permission")));
        }
        let loc = team
            .resolve(&view, &parsed)
            .map_err(|e| conflict("path_lookup", lookup(&e)))?;
        if let Some(e) = mount_point_error(&team, &loc) {
            return Err(conflict("path_write", e));
        }
        writable(&team, loc.ns).map_err(|e| conflict("path_write", e))?;
        let node = team
            .ns(loc.ns)
            .and_then(|s| s.entries.get(&loc.path_lower))
            .cloned()
            .ok_or_else(|| conflict("path_lookup", tag("not_found")))?;
        if let Some(parent_rev) = &arg.parent_rev {
            let current = node.current().map(|r| r.rev);
            if current.is_none() || parse_rev(team.salt, parent_rev) != current {
                return Err(conflict("path_write", nested("conflict", tag("file"))));
            }
        }
        let rendered = team.render_node(&loc, &node, RenderOptions::default());
        let op = Op::Delete {
            ns: loc.ns,
            path_lower: loc.path_lower.clone(),
            at: now_unix(),
        };
        ctx.shared
            .commit(&mut team, op)
            .map_err(|e| conflict("path_lookup", tree_lookup(e)))?;
        let contents = Shared::contents_for(&team, std::slice::from_ref(&rendered));
        (rendered, contents)
    };
    let mut metas = finish(&ctx.shared, vec![rendered], contents).await;
    Ok(ok(&json!({ "metadata": metas.remove(0) })))
}

/// `files/copy_v2` and `files/move_v2`
pub async fn relocate(ctx: Ctx, arg: Value, copy: bool) -> Result<Response, ApiError> {
    let arg: RelocationArg = ctx.parse(arg)?;
    let view = ctx.view()?;
    let (rendered, contents) = {
        let mut team = ctx.shared.team.write();
        let from = resolve_from(&team, &view, &arg.from_path, copy)?;
        let to = resolve_write(&team, &view, &arg.to_path).map_err(|e| conflict("to", e))?;
        if from.ns == to.ns && from.path_lower == to.path_lower {
            return Err(conflict(
                "to",
                nested("conflict", tag(node_kind(&team, &from))),
            ));
        }
        if from.ns == to.ns && to.path_lower.starts_with(&format!("{}/", from.path_lower)) {
            return Err(route_error(tag("cant_move_folder_into_itself")));
        }
        let exists = team
            .ns(to.ns)
            .is_some_and(|s| s.entries.contains_key(&to.path_lower));
        let target = if exists && arg.autorename {
            let file = node_kind(&team, &from) == "file";
            autorename(&team, to.ns, &to.path_display, file, Rename::Number)
        } else {
            to.path_display.clone()
        };
        let op = Op::Relocate {
            from_ns: from.ns,
            from: from.path_display.clone(),
            to_ns: to.ns,
            to: target,
            copy,
            at: now_unix(),
            by: Some(view.actor),
        };
        let id = match ctx.shared.commit(&mut team, op) {
            Ok(Applied::Node(id)) => id,
            Ok(_) => return Err(conflict("to", tag("no_write_permission"))),
            Err(super::tree::TreeError::IntoItself) => {
                return Err(route_error(tag("cant_move_folder_into_itself")));
            }
            Err(e @ super::tree::TreeError::NotFound) => {
                return Err(conflict("from_lookup", tree_lookup(e)));
            }
            Err(e) => return Err(conflict("to", tree_write(e))),
        };
        let rendered = render_written(&team, &to, id)
            .ok_or_else(|| conflict("to", tag("no_write_permission")))?;
        let contents = Shared::contents_for(&team, std::slice::from_ref(&rendered));
        (rendered, contents)
    };
    let mut metas = finish(&ctx.shared, vec![rendered], contents).await;
    Ok(ok(&json!({ "metadata": metas.remove(0) })))
}

fn node_kind(team: &Team, loc: &Loc) -> &'static str {
    match team
        .ns(loc.ns)
        .and_then(|s| s.entries.get(&loc.path_lower))
        .map(|n| &n.kind)
    {
        Some(NodeKind::File(_)) => "file",
        _ => "folder",
    }
}

fn resolve_from(team: &Team, view: &View, path: &str, copy: bool) -> Result<Loc, ApiError> {
    let parsed = parse_path(team, path, false).map_err(|e| conflict("from_lookup", lookup(&e)))?;
    if parsed == PathArg::Root {
        return Err(conflict("from_lookup", tag("not_found")));
    }
    let loc = team
        .resolve(view, &parsed)
        .map_err(|e| conflict("from_lookup", lookup(&e)))?;
    if loc.is_ns_root() {
        return Err(route_error(tag(if copy {
            "cant_copy_shared_folder"
        } else {
            "cant_move_shared_folder"
        })));
    }
    if !copy {
        writable(team, loc.ns).map_err(|e| conflict("from_write", e))?;
    }
    let exists = team
        .ns(loc.ns)
        .is_some_and(|s| s.entries.contains_key(&loc.path_lower));
    if !exists {
        return Err(conflict("from_lookup", tag("not_found")));
    }
    Ok(loc)
}

/// The file (live, or deleted with history) at `loc`: a node to render revisions with,
/// its revisions, and when it was deleted.
fn history(team: &Team, loc: &Loc) -> Result<(Node, Vec<Revision>, Option<i64>), ApiError> {
    let space = team
        .ns(loc.ns)
        .ok_or_else(|| conflict("path", tag("not_found")))?;
    if let Some(node) = space.entries.get(&loc.path_lower) {
        return match &node.kind {
            NodeKind::File(revs) => Ok((node.clone(), revs.clone(), None)),
            NodeKind::Folder => Err(conflict("path", tag("not_file"))),
        };
    }
    match space.tombstones.get(&loc.path_lower) {
        Some(t) if !t.folder && !t.revs.is_empty() => Ok((
            Node {
                id: t.id,
                path_display: t.path_display.clone(),
                kind: NodeKind::Folder,
            },
            t.revs.clone(),
            Some(t.deleted_at),
        )),
        Some(t) if t.folder => Err(conflict("path", tag("not_file"))),
        _ => Err(conflict("path", tag("not_found"))),
    }
}

/// `files/list_revisions`
pub async fn list_revisions(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: ListRevisionsArg = ctx.parse(arg)?;
    if !(1..=100).contains(&arg.limit) {
        return Err(ctx.bad_input(&format!(
            "request body: limit: {} is not within range [1, 100]",
            arg.limit
        )));
    }
    let mode = arg.mode.as_ref().map_or("path", |m| m.tag.as_str());
    if mode != "path" && mode != "id" {
        return Err(ctx.bad_input(&format!("request body: mode: unknown tag {mode:?}")));
    }
    let view = ctx.view()?;
    let (entries, contents, is_deleted, server_deleted, has_more) = {
        let team = ctx.shared.team.read();
        let parsed =
            parse_path(&team, &arg.path, false).map_err(|e| conflict("path", lookup(&e)))?;
        if mode == "id" && !matches!(parsed, PathArg::Id(_)) {
            return Err(conflict("path", tag("not_found")));
        }
        let loc = team
            .resolve(&view, &parsed)
            .map_err(|e| conflict("path", lookup(&e)))?;
        let (node, revs, deleted_at) = history(&team, &loc)?;
        let mut newest_first: Vec<&Revision> = revs.iter().rev().collect();
        if let Some(before) = &arg.before_rev {
            if mode == "id" {
                return Err(route_error(tag("before_rev_not_supported")));
            }
            let rev = parse_rev(team.salt, before)
                .filter(|r| revs.iter().any(|x| x.rev == *r))
                .ok_or_else(|| route_error(tag("invalid_before_rev")))?;
            newest_first.retain(|r| r.rev < rev);
        }
        let has_more = newest_first.len() as u64 > arg.limit;
        let loc = Loc {
            path_display: node.path_display.clone(),
            path_lower: lower(&node.path_display),
            ..loc
        };
        let entries: Vec<Rendered> = newest_first
            .into_iter()
            .take(arg.limit as usize)
            .map(|r| team.render_file(&loc, &node, r, RenderOptions::default()))
            .collect();
        let contents = Shared::contents_for(&team, &entries);
        (
            entries,
            contents,
            deleted_at.is_some(),
            deleted_at,
            has_more,
        )
    };
    let metas = finish(&ctx.shared, entries, contents).await;
    let files: Vec<Value> = metas.into_iter().map(untagged_file).collect();
    let mut body = json!({
        "is_deleted": is_deleted,
        "entries": files,
        "has_more": has_more,
    });
    if let Some(at) = server_deleted {
        body["server_deleted"] = Value::String(timestamp(at));
    }
    Ok(ok(&body))
}

/// `files/restore`
pub async fn restore(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: RestoreArg = ctx.parse(arg)?;
    if !is_rev_shaped(&arg.rev) {
        return Err(ctx.bad_input(&format!(
            "request body: rev: {:?} did not match pattern '[0-9a-f]+' of at least 9 characters",
            arg.rev
        )));
    }
    let view = ctx.view()?;
    let (rendered, contents) = {
        let mut team = ctx.shared.team.write();
        let parsed =
            parse_path(&team, &arg.path, false).map_err(|e| conflict("path_lookup", lookup(&e)))?;
        let loc = team
            .resolve(&view, &parsed)
            .map_err(|e| conflict("path_lookup", lookup(&e)))?;
        writable(&team, loc.ns).map_err(|e| conflict("path_write", e))?;
        let rev =
            parse_rev(team.salt, &arg.rev).ok_or_else(|| route_error(tag("invalid_revision")))?;
        let op = Op::Restore {
            ns: loc.ns,
            path_lower: loc.path_lower.clone(),
            rev,
            at: now_unix(),
            by: Some(view.actor),
        };
        let id = match ctx.shared.commit(&mut team, op) {
            Ok(Applied::Node(id)) => id,
            Ok(_) => return Err(conflict("path_lookup", tag("not_found"))),
            Err(super::tree::TreeError::InvalidRevision) => {
                return Err(route_error(tag("invalid_revision")));
            }
            Err(super::tree::TreeError::NotFile) => {
                return Err(conflict("path_lookup", tag("not_file")));
            }
            Err(super::tree::TreeError::NotFound) => {
                return Err(conflict("path_lookup", tag("not_found")));
            }
            Err(e) => return Err(conflict("path_write", tree_write(e))),
        };
        let rendered = render_written(&team, &loc, id)
            .ok_or_else(|| conflict("path_lookup", tag("not_found")))?;
        let contents = Shared::contents_for(&team, std::slice::from_ref(&rendered));
        (rendered, contents)
    };
    let mut metas = finish(&ctx.shared, vec![rendered], contents).await;
    Ok(ok(&untagged_file(metas.remove(0))))
}
