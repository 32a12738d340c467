//! How a caller sees the team: a root namespace (with the folders mounted in it) and the
//! resolution of path arguments (`""`, `/a/b`, `id:…`, `rev:…`, `ns:123/a`) to a namespace
//! and a path inside it.
//!
//! Paths are case-insensitive: lookups use the lower-cased form, new entries keep the
//! caller's casing except for ancestors that already exist, whose casing wins (as on
//! Dropbox).

use super::ids::{parse_node_id, parse_rev};
use super::model::{NsKind, Team, lower};

/// The caller's window on the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Root namespace: paths are relative to it.
    pub root: u64,
    /// The acting member (Select-User, or the admin of Select-Admin).
    pub actor: usize,
    /// Select-Admin on a read route: any team namespace is reachable.
    pub whole_team: bool,
}

/// A parsed path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathArg {
    /// `""`: the root.
    Root,
    /// `/a/b` (display casing as given).
    Path(String),
    /// `id:…`
    Id(u64),
    /// `rev:…` (reads only).
    Rev(u64),
    /// `ns:123` or `ns:123/a/b`.
    Ns(u64, String),
}

/// Why a path argument could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Syntactically wrong (`malformed_path`), with an explanation.
    Malformed(String),
    /// Well-formed but nothing there, or not reachable by this caller.
    NotFound,
}

/// Checks one `/a/b` path; `Ok(())` if Dropbox would accept it.
fn check_path(path: &str) -> Result<(), PathError> {
    if path == "/" {
        return Err(PathError::Malformed(
            "the root folder is \"\", not \"/\"".into(),
        ));
    }
    if !path.starts_with('/') {
        return Err(PathError::Malformed("paths start with \"/\"".into()));
    }
    if path.ends_with('/') {
        return Err(PathError::Malformed("paths do not end with \"/\"".into()));
    }
    for part in path[1..].split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(PathError::Malformed(format!(
                "invalid path component {part:?}"
            )));
        }
        if part.len() > 255 {
            return Err(PathError::Malformed("a path component is too long".into()));
        }
        if part.chars().any(|c| c.is_control()) {
            return Err(PathError::Malformed(
                "control characters are not allowed".into(),
            ));
        }
    }
    Ok(())
}

/// Parses a path argument. `allow_rev` is false for write paths.
///
/// # Errors
/// [`PathError::Malformed`] for anything that is none of the accepted forms.
pub fn parse_path(team: &Team, text: &str, allow_rev: bool) -> Result<PathArg, PathError> {
    if text.is_empty() {
        return Ok(PathArg::Root);
    }
    if let Some(rest) = text.strip_prefix("ns:") {
        let (digits, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let ns = digits
            .parse::<u64>()
            .map_err(|_| PathError::Malformed("ns: is followed by a namespace id".into()))?;
        if !tail.is_empty() {
            check_path(tail)?;
        }
        return Ok(PathArg::Ns(ns, tail.to_owned()));
    }
    if text.starts_with("id:") {
        return parse_node_id(team.salt, text)
            .map(PathArg::Id)
            .ok_or(PathError::NotFound);
    }
    if let Some(rev) = text.strip_prefix("rev:") {
        if !allow_rev {
            return Err(PathError::Malformed("rev: paths are read-only".into()));
        }
        return parse_rev(team.salt, rev)
            .map(PathArg::Rev)
            .ok_or(PathError::NotFound);
    }
    check_path(text)?;
    Ok(PathArg::Path(text.to_owned()))
}

/// A resolved location: namespace, path inside it, and how that namespace appears in the
/// caller's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// Namespace id.
    pub ns: u64,
    /// Path inside the namespace, lower-cased (`""` for its root).
    pub path_lower: String,
    /// Path inside the namespace, display casing (existing ancestors' casing applied).
    pub path_display: String,
    /// Mount point of the namespace in the view, lower-cased (`""` when it is the root).
    pub prefix_lower: String,
    /// Mount point, display casing.
    pub prefix_display: String,
    /// Set for `rev:` paths: the revision asked for.
    pub rev: Option<u64>,
}

impl Loc {
    /// The path as the caller sees it, lower-cased.
    #[must_use]
    pub fn view_lower(&self) -> String {
        format!("{}{}", self.prefix_lower, self.path_lower)
    }

    /// The path as the caller sees it, display casing.
    #[must_use]
    pub fn view_display(&self) -> String {
        format!("{}{}", self.prefix_display, self.path_display)
    }

    /// Whether this is the root of its namespace.
    #[must_use]
    pub fn is_ns_root(&self) -> bool {
        self.path_lower.is_empty()
    }
}

impl Team {
    /// Whether the caller may use namespace `ns` at all.
    #[must_use]
    pub fn view_can_access(&self, view: &View, ns: u64) -> bool {
        let Some(space) = self.ns(ns) else {
            return false;
        };
        if view.whole_team || ns == view.root || self.member_can_access(view.actor, ns) {
            return true;
        }
        // Admins reach every team folder, mounted or not (archived ones included).
        let admin = self.members.get(view.actor).is_some_and(|m| m.admin);
        admin && matches!(space.kind, NsKind::TeamFolder { .. })
    }

    /// Where namespace `ns` appears in the view: `Some(("", ""))` for the root, the mount
    /// point for a folder mounted in the root, `None` if it is not in the view's tree.
    #[must_use]
    pub fn mount_prefix(&self, view: &View, ns: u64) -> Option<(String, String)> {
        if ns == view.root {
            return Some((String::new(), String::new()));
        }
        let root = self.ns(view.root)?;
        root.mounts
            .iter()
            .find(|m| m.ns == ns)
            .map(|m| (m.path_lower.clone(), m.path_display.clone()))
    }

    /// Applies the casing of existing ancestors to a path inside `ns`.
    #[must_use]
    pub fn canonical_display(&self, ns: u64, path: &str) -> String {
        let Some(space) = self.ns(ns) else {
            return path.to_owned();
        };
        let mut at = path;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            if let Some(node) = space.entries.get(&lower(parent)) {
                return format!("{}{}", node.path_display, &path[parent.len()..]);
            }
            at = parent;
        }
        path.to_owned()
    }

    /// Resolves a path argument in the caller's view.
    ///
    /// # Errors
    /// [`PathError::NotFound`] when an id, revision or namespace is unknown or out of
    /// reach (the path itself need not exist: callers check that).
    pub fn resolve(&self, view: &View, arg: &PathArg) -> Result<Loc, PathError> {
        let in_ns = |ns: u64, path: &str, rev: Option<u64>| -> Result<Loc, PathError> {
            if !self.view_can_access(view, ns) {
                return Err(PathError::NotFound);
            }
            let (prefix_lower, prefix_display) = self.mount_prefix(view, ns).unwrap_or_default();
            Ok(Loc {
                ns,
                path_lower: lower(path),
                path_display: self.canonical_display(ns, path),
                prefix_lower,
                prefix_display,
                rev,
            })
        };
        match arg {
            PathArg::Root => in_ns(view.root, "", None),
            PathArg::Path(path) => {
                let key = lower(path);
                let mount = self.ns(view.root).and_then(|r| r.mount_for(&key));
                match mount {
                    Some(m) => {
                        // Strip the mount point by components: lower-casing can change a
                        // string's byte length, so byte offsets of `path_lower` don't apply.
                        let depth = m.path_lower.matches('/').count();
                        let inner: String = path
                            .split('/')
                            .skip(depth + 1)
                            .flat_map(|part| ["/", part])
                            .collect();
                        in_ns(m.ns, &inner, None)
                    }
                    None => in_ns(view.root, path, None),
                }
            }
            PathArg::Ns(ns, path) => in_ns(*ns, path, None),
            PathArg::Id(node) => {
                let ns = *self.node_ns.get(node).ok_or(PathError::NotFound)?;
                let space = self.ns(ns).ok_or(PathError::NotFound)?;
                if *node == space.root_node {
                    return in_ns(ns, "", None);
                }
                let key = space.by_id.get(node).ok_or(PathError::NotFound)?;
                let display = space.entries.get(key).map(|n| n.path_display.clone());
                in_ns(ns, &display.ok_or(PathError::NotFound)?, None)
            }
            PathArg::Rev(rev) => {
                let at = *self.revs.get(rev).ok_or(PathError::NotFound)?;
                let space = self.ns(at.ns).ok_or(PathError::NotFound)?;
                let key = space.by_id.get(&at.node).ok_or(PathError::NotFound)?;
                let display = space.entries.get(key).map(|n| n.path_display.clone());
                in_ns(at.ns, &display.ok_or(PathError::NotFound)?, Some(*rev))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::generator::{TeamSpec, generate};

    fn team() -> Team {
        generate(&TeamSpec {
            seed: 5,
            members: 6,
            team_folders: 2,
            files: 60,
            bytes: 1 << 20,
            dup_ratio: 0.0,
        })
    }

    #[test]
    fn malformed_paths_are_refused() {
        let t = team();
        for bad in ["/", "a/b", "/a/", "/a//b", "/a/../b", "/a\u{0}"] {
            assert!(
                matches!(parse_path(&t, bad, true), Err(PathError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(parse_path(&t, "", true), Ok(PathArg::Root));
        assert_eq!(
            parse_path(&t, "ns:12/x", true),
            Ok(PathArg::Ns(12, "/x".into()))
        );
        assert!(matches!(
            parse_path(&t, "rev:0011", false),
            Err(PathError::Malformed(_))
        ));
    }

    #[test]
    fn mounted_paths_resolve_into_the_mounted_namespace() {
        let t = team();
        let member = 0;
        let view = View {
            root: t.members[member].home_ns,
            actor: member,
            whole_team: false,
        };
        let mount = t.ns(view.root).unwrap().mounts[0].clone();
        let inside = format!("{}/Sub/File.txt", mount.path_display.to_uppercase());
        let loc = t.resolve(&view, &PathArg::Path(inside)).unwrap();
        assert_eq!(loc.ns, mount.ns);
        assert_eq!(loc.path_lower, "/sub/file.txt");
        assert_eq!(loc.prefix_lower, mount.path_lower);
        let home = t
            .resolve(&view, &PathArg::Path("/elsewhere".into()))
            .unwrap();
        assert_eq!(home.ns, view.root);
    }

    #[test]
    fn mount_names_whose_lowercase_is_longer_still_resolve() {
        let mut t = team();
        let ns = t.add_team_folder("İstanbul Office");
        let view = View {
            root: t.members[0].home_ns,
            actor: 0,
            whole_team: false,
        };
        let loc = t
            .resolve(&view, &PathArg::Path("/İstanbul Office/Plans/a.txt".into()))
            .unwrap();
        assert_eq!(loc.ns, ns);
        assert_eq!(loc.path_display, "/Plans/a.txt");
    }

    #[test]
    fn ids_resolve_and_foreign_namespaces_are_out_of_reach() {
        let t = team();
        let view = View {
            root: t.members[2].home_ns,
            actor: 2,
            whole_team: false,
        };
        let other_home = t.members[3].home_ns;
        assert_eq!(
            t.resolve(&view, &PathArg::Ns(other_home, String::new())),
            Err(PathError::NotFound)
        );
        let admin_view = View {
            whole_team: true,
            ..view
        };
        assert!(
            t.resolve(&admin_view, &PathArg::Ns(other_home, String::new()))
                .is_ok()
        );
        let space = t.ns(view.root).unwrap();
        if let Some(node) = space.entries.values().next() {
            let loc = t.resolve(&view, &PathArg::Id(node.id)).unwrap();
            assert_eq!(loc.path_display, node.path_display);
        }
    }
}
