//! `files/list_folder`, `/continue`, `/get_latest_cursor` and `/longpoll`.
//!
//! An initial listing pages through the listed namespace's entries in key order (parents
//! before children), then through each shared or team folder mounted below the path (its
//! mount point first, then its contents when `include_mounted_folders`). The cursor
//! remembers the sequence number at the start; once the listing is done, `/continue`
//! reports every path changed since then, each once, in change order, with its current
//! state (`deleted` when gone). Reset conditions: a control reset, a forced reset of the
//! namespace, mounts that changed under a cursor that includes them, or a cursor from
//! before a restart that lost state.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Duration;

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Ctx;
use super::cursor::{ListCursor, Position};
use super::metadata::{Metadata, RenderOptions, Rendered};
use super::model::{Mount, NodeKind, Team};
use super::route_errors::{conflict, lookup};
use super::state::Shared;
use super::view::{Loc, View, parse_path};
use super::wire::{ApiError, ok, route_error, tag};

#[derive(Debug, Deserialize)]
struct ListFolderArg {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    include_deleted: bool,
    #[serde(default = "yes")]
    include_mounted_folders: bool,
    #[serde(default)]
    include_has_explicit_shared_members: bool,
    limit: Option<u32>,
    shared_link: Option<Value>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct CursorArg {
    cursor: String,
}

#[derive(Debug, Deserialize)]
struct LongpollArg {
    cursor: String,
    #[serde(default = "thirty")]
    timeout: u64,
}

fn thirty() -> u64 {
    30
}

/// The next key under `base` after `after` (or from the start), skipping anything deeper
/// than one level when not recursive.
fn next_key<'a, V>(
    map: &'a BTreeMap<String, V>,
    base: &str,
    after: Option<&str>,
    recursive: bool,
) -> Option<(&'a String, &'a V)> {
    let prefix = format!("{base}/");
    let mut bound = match after {
        Some(a) => Bound::Excluded(a.to_owned()),
        None => Bound::Included(prefix.clone()),
    };
    loop {
        let (key, value) = map.range((bound, Bound::Unbounded)).next()?;
        if !key.starts_with(&prefix) {
            return None;
        }
        if recursive {
            return Some((key, value));
        }
        match key[prefix.len()..].find('/') {
            None => return Some((key, value)),
            // Jump past the whole subtree of that child: '0' is the byte after '/'.
            Some(i) => bound = Bound::Included(format!("{}0", &key[..prefix.len() + i])),
        }
    }
}

/// Mounts of the listed namespace that lie below the listed path.
fn mounts_below(team: &Team, cursor: &ListCursor) -> Vec<Mount> {
    let Some(space) = team.ns(cursor.ns) else {
        return Vec::new();
    };
    let prefix = format!("{}/", cursor.path);
    space
        .mounts
        .iter()
        .filter(|m| {
            m.path_lower.starts_with(&prefix)
                && (cursor.recursive || !m.path_lower[prefix.len()..].contains('/'))
                && team.ns(m.ns).is_some()
        })
        .cloned()
        .collect()
}

fn render_loc(ns: u64, prefix: &str) -> Loc {
    Loc {
        ns,
        path_lower: String::new(),
        path_display: String::new(),
        prefix_lower: prefix.to_lowercase(),
        prefix_display: prefix.to_owned(),
        rev: None,
    }
}

/// Emits the next entry of namespace `ns` below `base` (live or, if asked, deleted).
fn next_in_ns(
    team: &Team,
    ns: u64,
    base: &str,
    prefix: &str,
    after: Option<&str>,
    cursor: &ListCursor,
    opts: RenderOptions,
) -> Option<(Rendered, String)> {
    let space = team.ns(ns)?;
    let live = next_key(&space.entries, base, after, cursor.recursive);
    let dead = if cursor.include_deleted {
        next_key(&space.tombstones, base, after, cursor.recursive)
    } else {
        None
    };
    let loc = render_loc(ns, prefix);
    match (live, dead) {
        (Some((k, node)), Some((d, _))) if k < d => {
            Some((team.render_node(&loc, node, opts), k.clone()))
        }
        (Some((k, node)), None) => Some((team.render_node(&loc, node, opts), k.clone())),
        (_, Some((d, tomb))) => Some((team.render_tombstone(&loc, tomb), d.clone())),
        (None, None) => None,
    }
}

/// The next entry of the initial listing, advancing the cursor; `None` when done.
fn next_listed(team: &Team, cursor: &mut ListCursor, opts: RenderOptions) -> Option<Rendered> {
    let mounts = mounts_below(team, cursor);
    while let Some(pos) = cursor.listing.clone() {
        let found = if pos.stage == 0 {
            next_in_ns(
                team,
                cursor.ns,
                &cursor.path,
                &cursor.prefix,
                pos.after.as_deref(),
                cursor,
                opts,
            )
        } else if let Some(mount) = mounts.get(pos.stage as usize - 1) {
            let at = format!("{}{}", cursor.prefix, mount.path_display);
            match pos.after.as_deref() {
                None => team
                    .render_mount_point(mount.ns, &at)
                    .map(|r| (r, String::new())),
                Some(after) if cursor.recursive && cursor.include_mounted => {
                    let after = (!after.is_empty()).then_some(after);
                    next_in_ns(team, mount.ns, "", &at, after, cursor, opts)
                }
                Some(_) => None,
            }
        } else {
            cursor.listing = None;
            return None;
        };
        match found {
            Some((rendered, key)) => {
                cursor.listing = Some(Position {
                    stage: pos.stage,
                    after: Some(key),
                });
                return Some(rendered);
            }
            None => {
                cursor.listing = Some(Position {
                    stage: pos.stage + 1,
                    after: None,
                });
            }
        }
    }
    None
}

/// Changed paths since `cursor.seq`, latest change per path, in change order:
/// `(seq, namespace, path, display prefix)`.
fn changed_paths(team: &Team, cursor: &ListCursor) -> Vec<(u64, u64, String, String)> {
    let mut latest: HashMap<(u64, String), (u64, String)> = HashMap::new();
    let mut scan = |ns: u64, base: &str, recursive: bool, prefix: &str| {
        let Some(space) = team.ns(ns) else {
            return;
        };
        let start = space.log.partition_point(|c| c.seq <= cursor.seq);
        let below = format!("{base}/");
        for change in &space.log[start..] {
            let Some(rest) = change.path_lower.strip_prefix(below.as_str()) else {
                continue;
            };
            if !recursive && rest.contains('/') {
                continue;
            }
            latest.insert(
                (ns, change.path_lower.clone()),
                (change.seq, prefix.to_owned()),
            );
        }
    };
    scan(cursor.ns, &cursor.path, cursor.recursive, &cursor.prefix);
    if cursor.recursive && cursor.include_mounted {
        for mount in mounts_below(team, cursor) {
            let at = format!("{}{}", cursor.prefix, mount.path_display);
            scan(mount.ns, "", true, &at);
        }
    }
    let mut out: Vec<_> = latest
        .into_iter()
        .map(|((ns, path), (seq, prefix))| (seq, ns, path, prefix))
        .collect();
    out.sort_unstable_by_key(|c| c.0);
    out
}

/// Renders the current state of a changed path.
fn render_change(
    team: &Team,
    ns: u64,
    path: &str,
    prefix: &str,
    opts: RenderOptions,
) -> Option<Rendered> {
    let space = team.ns(ns)?;
    let loc = render_loc(ns, prefix);
    if let Some(node) = space.entries.get(path) {
        return Some(team.render_node(&loc, node, opts));
    }
    let display = space
        .tombstones
        .get(path)
        .map_or_else(|| path.to_owned(), |t| t.path_display.clone());
    Some(team.render_deleted(ns, prefix, &display))
}

/// Checks a cursor against the team; `Err` is the response to give.
fn check_cursor(team: &Team, cursor: &ListCursor, caller: Option<&View>) -> Result<(), ApiError> {
    let reset = || route_error(tag("reset"));
    if cursor.epoch != team.epoch || cursor.seq > team.seq {
        return Err(reset());
    }
    let Some(space) = team.ns(cursor.ns) else {
        return Err(reset());
    };
    if space.reset_floor > cursor.seq
        || (cursor.include_mounted && space.mounts_changed > cursor.seq)
    {
        return Err(reset());
    }
    if cursor.include_mounted
        && mounts_below(team, cursor)
            .iter()
            .any(|m| team.ns(m.ns).is_some_and(|s| s.reset_floor > cursor.seq))
    {
        return Err(reset());
    }
    if let Some(view) = caller
        && !team.view_can_access(view, cursor.ns)
    {
        return Err(reset());
    }
    if !cursor.path.is_empty()
        && !matches!(
            space.entries.get(&cursor.path).map(|n| &n.kind),
            Some(NodeKind::Folder)
        )
    {
        return Err(conflict("path", tag("not_found")));
    }
    Ok(())
}

struct Page {
    entries: Vec<Rendered>,
    cursor: ListCursor,
    has_more: bool,
}

/// One page from `cursor`: the rest of the initial listing, or changes.
fn page(team: &Team, mut cursor: ListCursor, opts: RenderOptions) -> Page {
    let limit = cursor.limit as usize;
    let mut entries = Vec::new();
    if cursor.listing.is_some() {
        while entries.len() < limit {
            match next_listed(team, &mut cursor, opts) {
                Some(r) => entries.push(r),
                None => break,
            }
        }
        // Look one entry ahead so `has_more` is exact; the peeked entry is not consumed.
        let has_more = cursor.listing.is_some() && {
            let mut probe = cursor.clone();
            next_listed(team, &mut probe, opts).is_some()
        };
        if !has_more {
            cursor.listing = None;
        }
        return Page {
            entries,
            cursor,
            has_more,
        };
    }
    let changes = changed_paths(team, &cursor);
    let has_more = changes.len() > limit;
    for (seq, ns, path, prefix) in changes.into_iter().take(limit) {
        if let Some(r) = render_change(team, ns, &path, &prefix, opts) {
            entries.push(r);
        }
        cursor.seq = seq;
    }
    if !has_more {
        cursor.seq = team.seq;
    }
    Page {
        entries,
        cursor,
        has_more,
    }
}

async fn respond(
    ctx: &Ctx,
    mut page: Page,
    contents: HashMap<u64, super::content::GenContent>,
) -> Response {
    ctx.shared.fill_hashes(&mut page.entries, &contents).await;
    let entries: Vec<Metadata> = page.entries.into_iter().map(|r| r.meta).collect();
    ok(&json!({
        "entries": entries,
        "cursor": page.cursor.encode(),
        "has_more": page.has_more,
    }))
}

/// Builds the starting cursor for a `list_folder`-style argument.
fn start_cursor(
    ctx: &Ctx,
    team: &Team,
    arg: &ListFolderArg,
    listing: bool,
) -> Result<ListCursor, ApiError> {
    let limit = match arg.limit {
        None => 2000,
        Some(l @ 1..=2000) => l,
        Some(l) => {
            return Err(ctx.bad_input(&format!(
                "request body: limit: {l} is not within range [1, 2000]"
            )));
        }
    };
    if arg.shared_link.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(
            ctx.bad_input("request body: shared_link: listing shared links is not supported")
        );
    }
    let view = ctx.view()?;
    let parsed = parse_path(team, &arg.path, false).map_err(|e| conflict("path", lookup(&e)))?;
    let loc = team
        .resolve(&view, &parsed)
        .map_err(|e| conflict("path", lookup(&e)))?;
    if !loc.is_ns_root() {
        let space = team
            .ns(loc.ns)
            .ok_or_else(|| conflict("path", tag("not_found")))?;
        match space.entries.get(&loc.path_lower).map(|n| &n.kind) {
            None => return Err(conflict("path", tag("not_found"))),
            Some(NodeKind::File(_)) => return Err(conflict("path", tag("not_folder"))),
            Some(NodeKind::Folder) => {}
        }
    }
    Ok(ListCursor {
        salt: team.salt,
        epoch: team.epoch,
        root: view.root,
        actor: view.actor,
        whole_team: view.whole_team,
        ns: loc.ns,
        path: loc.path_lower.clone(),
        prefix: loc.prefix_display.clone(),
        recursive: arg.recursive,
        include_deleted: arg.include_deleted,
        include_mounted: arg.include_mounted_folders,
        limit,
        seq: team.seq,
        listing: listing.then_some(Position {
            stage: 0,
            after: None,
        }),
    })
}

/// `files/list_folder`
pub async fn list_folder(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: ListFolderArg = ctx.parse(arg)?;
    let opts = RenderOptions {
        explicit_shared_members: arg.include_has_explicit_shared_members,
    };
    let (page, contents) = {
        let team = ctx.shared.team.read();
        let cursor = start_cursor(&ctx, &team, &arg, true)?;
        let page = page(&team, cursor, opts);
        let contents = Shared::contents_for(&team, &page.entries);
        (page, contents)
    };
    Ok(respond(&ctx, page, contents).await)
}

fn decode(ctx: &Ctx, team: &Team, text: &str) -> Result<ListCursor, ApiError> {
    ListCursor::decode(text)
        .filter(|c| c.salt == team.salt)
        .ok_or_else(|| ctx.bad_input(&format!("Invalid \"cursor\" parameter: {text:?}")))
}

/// `files/list_folder/continue`
pub async fn list_folder_continue(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: CursorArg = ctx.parse(arg)?;
    let view = ctx.view()?;
    let (page, contents) = {
        let team = ctx.shared.team.read();
        let cursor = decode(&ctx, &team, &arg.cursor)?;
        check_cursor(&team, &cursor, Some(&view))?;
        let page = page(&team, cursor, RenderOptions::default());
        let contents = Shared::contents_for(&team, &page.entries);
        (page, contents)
    };
    Ok(respond(&ctx, page, contents).await)
}

/// `files/list_folder/get_latest_cursor`
pub fn get_latest_cursor(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: ListFolderArg = ctx.parse(arg)?;
    let team = ctx.shared.team.read();
    let cursor = start_cursor(&ctx, &team, &arg, false)?;
    Ok(ok(&json!({ "cursor": cursor.encode() })))
}

/// `files/list_folder/longpoll` (notify host, no authentication).
pub async fn longpoll(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: LongpollArg = ctx.parse(arg)?;
    if !(30..=480).contains(&arg.timeout) {
        return Err(ctx.bad_input(&format!(
            "request body: timeout: {} is not within range [30, 480]",
            arg.timeout
        )));
    }
    let mut wait = Duration::from_secs(arg.timeout);
    if let Some(cap) = ctx.shared.config.max_longpoll_wait {
        wait = wait.min(cap);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut changed = ctx.shared.changed.subscribe();
    let cursor = {
        let team = ctx.shared.team.read();
        decode(&ctx, &team, &arg.cursor)?
    };
    loop {
        {
            let team = ctx.shared.team.read();
            check_cursor(&team, &cursor, None)?;
            if cursor.listing.is_some() || !changed_paths(&team, &cursor).is_empty() {
                return Ok(ok(&json!({ "changes": true })));
            }
            changed.borrow_and_update();
        }
        match tokio::time::timeout_at(deadline, changed.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Ok(ok(&json!({ "changes": false }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_key_walks_children_or_subtrees() {
        let mut map = BTreeMap::new();
        for k in ["/a", "/a b", "/a/x", "/a/x/deep", "/a/y", "/b"] {
            map.insert(k.to_owned(), ());
        }
        let walk = |base: &str, recursive: bool| {
            let mut out = Vec::new();
            let mut after: Option<String> = None;
            while let Some((k, _)) = next_key(&map, base, after.as_deref(), recursive) {
                out.push(k.clone());
                after = Some(k.clone());
            }
            out
        };
        assert_eq!(walk("", false), ["/a", "/a b", "/b"]);
        assert_eq!(walk("/a", false), ["/a/x", "/a/y"]);
        assert_eq!(walk("/a", true), ["/a/x", "/a/x/deep", "/a/y"]);
        assert_eq!(walk("", true).len(), 6);
    }
}
