//! Mutations of one namespace's tree: write a file revision, create a folder, delete,
//! move or copy a subtree, restore a revision. Each one logs its changed paths.
//!
//! These are the only functions that change entries; route handlers and the control API
//! decide *what* to do (modes, autorename, permissions) and then call these, and so does
//! journal replay, which is why everything they need (times, acting member) is passed in.

use super::content::ContentRef;
use super::model::{
    Change, Namespace, Node, NodeKind, RevLocation, Revision, Team, Tombstone, lower, parent,
};

/// Why a tree mutation was refused; mapped to the route's error union by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeError {
    /// Nothing at the path.
    NotFound,
    /// Expected a file.
    NotFile,
    /// Expected a folder.
    NotFolder,
    /// Something is already at the target: a file.
    ConflictFile,
    /// Something is already at the target: a folder.
    ConflictFolder,
    /// An ancestor of the target is a file.
    ConflictFileAncestor,
    /// The revision does not belong to that path.
    InvalidRevision,
    /// A folder cannot be moved or copied into itself.
    IntoItself,
    /// The namespace does not exist.
    NoNamespace,
}

/// A new file revision to store.
#[derive(Debug, Clone)]
pub struct FileWrite {
    /// Namespace id.
    pub ns: u64,
    /// Full path within the namespace, display case.
    pub path: String,
    /// The bytes.
    pub content: ContentRef,
    /// Their length.
    pub size: u64,
    /// Client-claimed modification time.
    pub client_modified: i64,
    /// Server time of the write.
    pub at: i64,
    /// Acting member.
    pub by: Option<usize>,
}

/// `path` itself and everything below it, in key order.
fn subtree_keys(ns: &Namespace, path_lower: &str) -> Vec<String> {
    let prefix = format!("{path_lower}/");
    ns.entries
        .range(path_lower.to_owned()..)
        .take_while(|(k, _)| k.as_str() == path_lower || k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

impl Team {
    fn ns_mut(&mut self, ns: u64) -> Result<&mut Namespace, TreeError> {
        self.namespaces
            .get_mut(&ns)
            .filter(|n| !n.gone)
            .ok_or(TreeError::NoNamespace)
    }

    /// Records that `path_lower` changed in `ns`.
    pub fn log_change(&mut self, ns: u64, path_lower: String) {
        let seq = self.bump_seq();
        if let Some(n) = self.namespaces.get_mut(&ns) {
            n.log.push(Change { seq, path_lower });
        }
    }

    /// Creates the missing ancestors of `path` as folders.
    fn ensure_parents(&mut self, ns: u64, path: &str) -> Result<(), TreeError> {
        let mut missing = Vec::new();
        let mut at = parent(path);
        while !at.is_empty() {
            let key = lower(at);
            match self.ns_mut(ns)?.entries.get(&key) {
                Some(node) if matches!(node.kind, NodeKind::File(_)) => {
                    return Err(TreeError::ConflictFileAncestor);
                }
                Some(_) => break,
                None => missing.push(at.to_owned()),
            }
            at = parent(at);
        }
        for folder in missing.into_iter().rev() {
            self.insert_node(ns, &folder, NodeKind::Folder, None)?;
        }
        Ok(())
    }

    /// Inserts a brand-new node (the caller checked the path is free), reusing a
    /// tombstone's history when a file comes back to a deleted path.
    fn insert_node(
        &mut self,
        ns: u64,
        path: &str,
        kind: NodeKind,
        keep_id: Option<u64>,
    ) -> Result<u64, TreeError> {
        let key = lower(path);
        let id = match keep_id {
            Some(id) => id,
            None => self.alloc_node(),
        };
        let space = self.ns_mut(ns)?;
        let tomb = space.tombstones.remove(&key);
        let kind = match (kind, tomb) {
            (NodeKind::File(mut revs), Some(t)) if !t.folder => {
                let mut history = t.revs;
                history.append(&mut revs);
                NodeKind::File(history)
            }
            (kind, _) => kind,
        };
        if let NodeKind::File(revs) = &kind {
            for r in revs {
                self.revs.insert(r.rev, RevLocation { ns, node: id });
            }
        }
        let node = Node {
            id,
            path_display: path.to_owned(),
            kind,
        };
        let space = self.ns_mut(ns)?;
        space.by_id.insert(id, key.clone());
        space.entries.insert(key.clone(), node);
        self.node_ns.insert(id, ns);
        self.log_change(ns, key);
        Ok(id)
    }

    /// Stores a new revision at `w.path`, creating the file (and missing parents) if
    /// needed. Returns the node number.
    pub fn write_file(&mut self, w: FileWrite) -> Result<u64, TreeError> {
        let key = lower(&w.path);
        let rev = self.alloc_rev();
        let revision = Revision {
            rev,
            content: w.content,
            size: w.size,
            server_modified: w.at,
            client_modified: w.client_modified,
            modified_by: w.by,
        };
        let existing = self.ns_mut(w.ns)?.entries.get_mut(&key);
        match existing {
            Some(Node {
                kind: NodeKind::Folder,
                ..
            }) => Err(TreeError::ConflictFolder),
            Some(node) => {
                let id = node.id;
                if let NodeKind::File(revs) = &mut node.kind {
                    revs.push(revision);
                }
                self.revs.insert(rev, RevLocation { ns: w.ns, node: id });
                self.log_change(w.ns, key);
                Ok(id)
            }
            None => {
                self.ensure_parents(w.ns, &w.path)?;
                self.insert_node(w.ns, &w.path, NodeKind::File(vec![revision]), None)
            }
        }
    }

    /// Creates a folder (and missing parents). Returns the node number.
    pub fn create_folder(&mut self, ns: u64, path: &str) -> Result<u64, TreeError> {
        match self.ns_mut(ns)?.entries.get(&lower(path)) {
            Some(Node {
                kind: NodeKind::Folder,
                ..
            }) => return Err(TreeError::ConflictFolder),
            Some(_) => return Err(TreeError::ConflictFile),
            None => {}
        }
        self.ensure_parents(ns, path)?;
        self.insert_node(ns, path, NodeKind::Folder, None)
    }

    /// Deletes `path_lower` and everything below it; returns the removed top node.
    pub fn delete_path(&mut self, ns: u64, path_lower: &str, at: i64) -> Result<Node, TreeError> {
        let space = self.ns_mut(ns)?;
        if !space.entries.contains_key(path_lower) {
            return Err(TreeError::NotFound);
        }
        let keys = subtree_keys(space, path_lower);
        let mut top = None;
        // Children first, so a reader applying changes in order never orphans anything.
        for key in keys.into_iter().rev() {
            let space = self.ns_mut(ns)?;
            let Some(node) = space.entries.remove(&key) else {
                continue;
            };
            space.by_id.remove(&node.id);
            let (folder, revs) = match &node.kind {
                NodeKind::Folder => (true, Vec::new()),
                NodeKind::File(revs) => (false, revs.clone()),
            };
            space.tombstones.insert(
                key.clone(),
                Tombstone {
                    id: node.id,
                    path_display: node.path_display.clone(),
                    folder,
                    revs,
                    deleted_at: at,
                },
            );
            self.log_change(ns, key.clone());
            if key == path_lower {
                top = Some(node);
            }
        }
        top.ok_or(TreeError::NotFound)
    }

    /// Moves or copies the subtree at `from` (in `from_ns`) to `to` (in `to_ns`).
    /// A move keeps ids and history; a copy gets new ids and one fresh revision per file.
    /// Returns the node number at the destination.
    pub fn relocate(
        &mut self,
        (from_ns, from): (u64, &str),
        (to_ns, to): (u64, &str),
        copy: bool,
        at: i64,
        by: Option<usize>,
    ) -> Result<u64, TreeError> {
        let from_key = lower(from);
        let to_key = lower(to);
        if from_ns == to_ns && (to_key.starts_with(&format!("{from_key}/"))) {
            return Err(TreeError::IntoItself);
        }
        let source = self.ns_mut(from_ns)?;
        if !source.entries.contains_key(&from_key) {
            return Err(TreeError::NotFound);
        }
        let nodes: Vec<Node> = subtree_keys(source, &from_key)
            .iter()
            .filter_map(|k| source.entries.get(k).cloned())
            .collect();
        match self.ns_mut(to_ns)?.entries.get(&to_key) {
            Some(Node {
                kind: NodeKind::Folder,
                ..
            }) => return Err(TreeError::ConflictFolder),
            Some(_) => return Err(TreeError::ConflictFile),
            None => {}
        }
        self.ensure_parents(to_ns, to)?;
        if !copy {
            // Tombstones for the old paths carry no history: it moved with the file.
            for node in nodes.iter().rev() {
                let key = lower(&node.path_display);
                let space = self.ns_mut(from_ns)?;
                space.entries.remove(&key);
                space.by_id.remove(&node.id);
                space.tombstones.insert(
                    key.clone(),
                    Tombstone {
                        id: node.id,
                        path_display: node.path_display.clone(),
                        folder: matches!(node.kind, NodeKind::Folder),
                        revs: Vec::new(),
                        deleted_at: at,
                    },
                );
                self.log_change(from_ns, key);
            }
        }
        // Re-root by the stored path of the top node (not the caller's casing of it).
        let from_len = nodes.first().map_or(from.len(), |n| n.path_display.len());
        let mut top = 0;
        for node in nodes {
            let new_path = format!("{to}{}", &node.path_display[from_len..]);
            let (kind, keep_id) = if copy {
                let kind = match node.kind {
                    NodeKind::Folder => NodeKind::Folder,
                    NodeKind::File(revs) => {
                        let last = revs.last().cloned();
                        let rev = self.alloc_rev();
                        NodeKind::File(
                            last.map(|r| Revision {
                                rev,
                                server_modified: at,
                                modified_by: by,
                                ..r
                            })
                            .into_iter()
                            .collect(),
                        )
                    }
                };
                (kind, None)
            } else {
                (node.kind, Some(node.id))
            };
            let id = self.insert_node(to_ns, &new_path, kind, keep_id)?;
            if top == 0 {
                top = id;
            }
        }
        Ok(top)
    }

    /// Makes revision `rev` of the file at `path_lower` current again (as a new revision).
    pub fn restore_rev(
        &mut self,
        ns: u64,
        path_lower: &str,
        rev: u64,
        at: i64,
        by: Option<usize>,
    ) -> Result<u64, TreeError> {
        let space = self.ns_mut(ns)?;
        let (old, path) = if let Some(node) = space.entries.get(path_lower) {
            match &node.kind {
                NodeKind::Folder => return Err(TreeError::NotFile),
                NodeKind::File(revs) => (
                    revs.iter().find(|r| r.rev == rev).cloned(),
                    node.path_display.clone(),
                ),
            }
        } else if let Some(t) = space.tombstones.get(path_lower) {
            (
                t.revs.iter().find(|r| r.rev == rev).cloned(),
                t.path_display.clone(),
            )
        } else {
            return Err(TreeError::NotFound);
        };
        let old = old.ok_or(TreeError::InvalidRevision)?;
        self.write_file(FileWrite {
            ns,
            path,
            content: old.content,
            size: old.size,
            client_modified: old.client_modified,
            at,
            by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::model::{NsKind, TeamInfo};

    fn team() -> Team {
        let mut t = Team {
            seed: 1,
            salt: 2,
            epoch: 0,
            info: TeamInfo {
                name: "T".into(),
                team_id: "dbtid:x".into(),
                domain: "t.example".into(),
            },
            members: Vec::new(),
            namespaces: Default::default(),
            team_folders: Vec::new(),
            contents: Vec::new(),
            next_node: 0,
            next_rev: 0,
            seq: 0,
            next_ns: 10,
            node_ns: Default::default(),
            revs: Default::default(),
        };
        t.namespaces.insert(
            10,
            Namespace::new(10, 1, "Home".into(), NsKind::TeamFolder { archived: false }),
        );
        t
    }

    fn write(t: &mut Team, path: &str, id: u64) -> Result<u64, TreeError> {
        t.write_file(FileWrite {
            ns: 10,
            path: path.into(),
            content: ContentRef::Generated { id },
            size: 5,
            client_modified: 1,
            at: 2,
            by: None,
        })
    }

    #[test]
    fn writing_creates_parents_and_appends_revisions() {
        let mut t = team();
        let id = write(&mut t, "/A/B/f.txt", 0).unwrap();
        assert_eq!(write(&mut t, "/a/b/F.TXT", 1).unwrap(), id);
        let ns = &t.namespaces[&10];
        assert!(matches!(ns.entries["/a"].kind, NodeKind::Folder));
        let node = &ns.entries["/a/b/f.txt"];
        assert_eq!(
            node.path_display, "/A/B/f.txt",
            "casing of the first write is kept"
        );
        assert!(matches!(&node.kind, NodeKind::File(r) if r.len() == 2));
        assert_eq!(
            write(&mut t, "/A/B/f.txt/x", 2),
            Err(TreeError::ConflictFileAncestor)
        );
        assert_eq!(write(&mut t, "/A", 2), Err(TreeError::ConflictFolder));
    }

    #[test]
    fn delete_keeps_history_and_rewrite_continues_it() {
        let mut t = team();
        write(&mut t, "/d/f", 0).unwrap();
        let before = t.seq;
        t.delete_path(10, "/d", 9).unwrap();
        let ns = &t.namespaces[&10];
        assert!(ns.entries.is_empty());
        assert_eq!(ns.tombstones.len(), 2);
        assert!(ns.log.iter().filter(|c| c.seq > before).count() == 2);
        write(&mut t, "/d/f", 1).unwrap();
        let node = &t.namespaces[&10].entries["/d/f"];
        assert!(matches!(&node.kind, NodeKind::File(r) if r.len() == 2));
    }

    #[test]
    fn move_keeps_ids_and_copy_makes_new_ones() {
        let mut t = team();
        let id = write(&mut t, "/src/f", 0).unwrap();
        t.relocate((10, "/src"), (10, "/dst"), false, 5, None)
            .unwrap();
        let ns = &t.namespaces[&10];
        assert_eq!(ns.entries["/dst/f"].id, id);
        assert!(!ns.entries.contains_key("/src/f"));
        t.relocate((10, "/dst"), (10, "/copy"), true, 6, None)
            .unwrap();
        let ns = &t.namespaces[&10];
        assert_ne!(ns.entries["/copy/f"].id, id);
        assert_eq!(
            t.relocate((10, "/dst"), (10, "/dst/in"), false, 7, None),
            Err(TreeError::IntoItself)
        );
        assert_eq!(
            t.relocate((10, "/dst"), (10, "/copy"), false, 7, None),
            Err(TreeError::ConflictFolder)
        );
    }

    #[test]
    fn restore_brings_back_an_old_revision_as_a_new_one() {
        let mut t = team();
        write(&mut t, "/f", 0).unwrap();
        let first = t.next_rev;
        write(&mut t, "/f", 1).unwrap();
        t.restore_rev(10, "/f", first, 3, None).unwrap();
        let node = &t.namespaces[&10].entries["/f"];
        let cur = node.current().unwrap();
        assert_eq!(cur.content, ContentRef::Generated { id: 0 });
        assert_ne!(cur.rev, first);
        assert_eq!(
            t.restore_rev(10, "/f", 999, 3, None),
            Err(TreeError::InvalidRevision)
        );
    }
}
