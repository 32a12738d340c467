//! Delete, undelete and hard delete with Salesforce's relationship semantics.
//!
//! Deleting a record moves it to the recycle bin (`IsDeleted = true`, visible to
//! queryAll), cascades to children whose lookup cascades (master-detail, contacts of an
//! account, activities, notes, attachments, files), clears lookups that don't, and
//! refuses when a restricting lookup points at it. Undelete brings back the record with
//! its cascade-deleted children and restores the lookups the delete cleared. Hard delete
//! (and recycle-bin purge after 15 days) removes rows for good; their ids stay reserved.

use std::collections::{HashMap, HashSet};

use super::{RecordError, Txn, Undo};
use crate::salesforce::schema::OnDelete;
use crate::salesforce::store::{Cell, DeleteInfo, RecRef, RowState};

/// Recycle-bin retention.
pub const RECYCLE_BIN_MS: i64 = 15 * 86_400_000;

impl Txn<'_> {
    /// Children of any record in `parents` through lookups with behaviour `which`:
    /// (child, field index, parent).
    fn children_of(
        &self,
        parents: &HashSet<RecRef>,
        which: OnDelete,
    ) -> Vec<(RecRef, usize, RecRef)> {
        let parent_objs: HashSet<u32> = parents.iter().map(|r| r.obj).collect();
        let mut out = Vec::new();
        for (oi, def) in self.org.schema.objects.iter().enumerate() {
            for (fi, f) in def.fields.iter().enumerate() {
                let Some(col) = f.column() else { continue };
                if f.on_delete != which
                    || !f.reference_to.iter().any(|t| {
                        self.org
                            .schema
                            .object(t)
                            .is_some_and(|ti| parent_objs.contains(&(ti as u32)))
                    })
                {
                    continue;
                }
                let t = &self.org.tables[oi];
                for row in 0..t.len() {
                    if let Cell::Ref(p) = t.cols[col].get(row)
                        && parents.contains(&p)
                        && t.headers[row].state == RowState::Live
                    {
                        out.push((
                            RecRef {
                                obj: oi as u32,
                                row: row as u32,
                            },
                            fi,
                            p,
                        ));
                    }
                }
            }
        }
        out
    }

    fn move_to_bin(&mut self, r: RecRef, info: DeleteInfo) {
        self.snapshot(r);
        let mut h = *self.org.header(r);
        h.state = RowState::Deleted;
        h.modstamp = self.now;
        h.modified = self.now;
        h.modified_by = self.user;
        self.org.tables[r.obj as usize].set_header(r.row, h);
        let prev = self.org.tables[r.obj as usize].deleted.insert(r.row, info);
        self.undo.push(Undo::DeleteInfo { r, prev });
        self.unindex(r);
    }

    fn unindex(&mut self, r: RecRef) {
        let fields: Vec<usize> = self.org.tables[r.obj as usize]
            .unique
            .keys()
            .copied()
            .collect();
        for fi in fields {
            let key: Option<Box<str>> = self
                .org
                .read(r, fi, self.now)
                .as_str()
                .map(|s| s.to_ascii_lowercase().into());
            if let Some(key) = key
                && let Some(m) = self.org.tables[r.obj as usize].unique.get_mut(&fi)
                && m.get(&key) == Some(&r.row)
            {
                m.remove(&key);
                self.undo.push(Undo::Unique {
                    obj: r.obj,
                    field: fi,
                    key,
                    prev: Some(r.row),
                });
            }
        }
    }

    fn reindex(&mut self, r: RecRef) -> Result<(), RecordError> {
        let fields: Vec<usize> = self.org.tables[r.obj as usize]
            .unique
            .keys()
            .copied()
            .collect();
        for fi in fields {
            let key: Option<Box<str>> = self
                .org
                .read(r, fi, self.now)
                .as_str()
                .map(|s| s.to_ascii_lowercase().into());
            let Some(key) = key else { continue };
            let m = self.org.tables[r.obj as usize].unique.get_mut(&fi);
            if let Some(m) = m {
                if let Some(&other) = m.get(&key)
                    && other != r.row
                {
                    return Err(RecordError::new(
                        "UNDELETE_FAILED",
                        "Undelete failed: a record with the same unique value exists",
                    ));
                }
                let prev = m.insert(key.clone(), r.row);
                self.undo.push(Undo::Unique {
                    obj: r.obj,
                    field: fi,
                    key,
                    prev,
                });
            }
        }
        Ok(())
    }

    /// Deletes records; one result per target, in order.
    pub fn delete(&mut self, targets: &[RecRef]) -> Vec<Result<(), RecordError>> {
        let mut results = Vec::with_capacity(targets.len());
        let mut ok: Vec<RecRef> = Vec::new();
        for &r in targets {
            let def = &self.org.schema.objects[r.obj as usize];
            let res = match self.org.state(r) {
                RowState::Deleted => {
                    Err(RecordError::new("ENTITY_IS_DELETED", "entity is deleted"))
                }
                RowState::Purged => Err(RecordError::new(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                )),
                RowState::Live if !def.flags.deletable => Err(RecordError::new(
                    "INVALID_TYPE_FOR_OPERATION",
                    format!("entity type cannot be deleted: {}", def.label),
                )),
                RowState::Live => self.lock_fault(),
            };
            if res.is_ok() {
                ok.push(r);
            }
            results.push(res);
        }
        // Restricting lookups refuse the delete of their parent.
        let set: HashSet<RecRef> = ok.iter().copied().collect();
        let mut blocked: HashMap<RecRef, Vec<String>> = HashMap::new();
        for (child, fi, parent) in self.children_of(&set, OnDelete::Restrict) {
            let def = &self.org.schema.objects[child.obj as usize];
            if !def.fields[fi].custom {
                continue;
            }
            blocked
                .entry(parent)
                .or_default()
                .push(def.label_plural.clone());
        }
        for (i, &r) in targets.iter().enumerate() {
            if let Some(kinds) = blocked.get(&r)
                && results[i].is_ok()
            {
                let name = self.org.schema.objects[r.obj as usize].label.clone();
                results[i] = Err(RecordError::new(
                    "DELETE_FAILED",
                    format!(
                        "Your attempt to delete {name} could not be completed because it is associated with the following {}.",
                        kinds[0].to_lowercase()
                    ),
                ));
            }
        }
        let roots: Vec<RecRef> = targets
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(t, _)| *t)
            .collect();
        self.delete_roots(&roots);
        results
    }

    fn delete_roots(&mut self, roots: &[RecRef]) {
        if roots.is_empty() {
            return;
        }
        // Cascade level by level; every cascaded row remembers its root.
        let mut root_of: HashMap<RecRef, RecRef> = roots.iter().map(|r| (*r, *r)).collect();
        let mut frontier: HashSet<RecRef> = roots.iter().copied().collect();
        let mut cascaded: Vec<RecRef> = Vec::new();
        let mut cleared: HashMap<RecRef, Vec<(RecRef, usize)>> = HashMap::new();
        while !frontier.is_empty() {
            let mut next = HashSet::new();
            for (child, _fi, parent) in self.children_of(&frontier, OnDelete::Cascade) {
                if root_of.contains_key(&child) {
                    continue;
                }
                let root = root_of[&parent];
                root_of.insert(child, root);
                cascaded.push(child);
                next.insert(child);
            }
            for (child, fi, parent) in self.children_of(&frontier, OnDelete::SetNull) {
                if root_of.contains_key(&child) {
                    continue;
                }
                cleared
                    .entry(root_of[&parent])
                    .or_default()
                    .push((child, fi));
            }
            frontier = next;
        }
        for list in cleared.values() {
            for &(child, fi) in list {
                if root_of.contains_key(&child) {
                    continue;
                }
                self.snapshot(child);
                let mut h = *self.org.header(child);
                h.modstamp = self.now;
                self.org.tables[child.obj as usize].set_header(child.row, h);
                self.set_cell(child, fi, &crate::salesforce::store::Value::Null);
            }
        }
        for &r in roots {
            let info = DeleteInfo {
                at: self.now,
                by: self.user,
                cascade_root: None,
                cleared: cleared.remove(&r).unwrap_or_default(),
            };
            let direct_purge = !self.org.schema.objects[r.obj as usize].flags.undeletable;
            self.move_to_bin(r, info);
            if direct_purge {
                self.purge_row(r);
            }
        }
        for c in cascaded {
            let root = root_of[&c];
            self.move_to_bin(
                c,
                DeleteInfo {
                    at: self.now,
                    by: self.user,
                    cascade_root: Some(root),
                    cleared: Vec::new(),
                },
            );
        }
    }

    /// Restores records from the recycle bin, with their cascade-deleted children and
    /// cleared lookups.
    pub fn undelete(&mut self, targets: &[RecRef]) -> Vec<Result<(), RecordError>> {
        let mut results = Vec::with_capacity(targets.len());
        for &r in targets {
            let def = &self.org.schema.objects[r.obj as usize];
            let info = self.org.tables[r.obj as usize].deleted.get(&r.row).cloned();
            let res = match (self.org.state(r), info) {
                (RowState::Deleted, Some(info)) if info.cascade_root.is_none() => {
                    if !def.flags.undeletable {
                        Err(RecordError::new(
                            "UNDELETE_FAILED",
                            format!("entity type cannot be undeleted: {}", def.label),
                        ))
                    } else {
                        self.restore_tree(r, info)
                    }
                }
                (RowState::Deleted, Some(_)) => Err(RecordError::new(
                    "UNDELETE_FAILED",
                    "Undelete failed: the record was deleted with its parent; undelete the parent",
                )),
                _ => Err(RecordError::new(
                    "UNDELETE_FAILED",
                    "Entity is not in the recycle bin",
                )),
            };
            results.push(res);
        }
        results
    }

    fn restore_tree(&mut self, root: RecRef, info: DeleteInfo) -> Result<(), RecordError> {
        let sp = self.savepoint();
        let mut rows = vec![root];
        for (oi, t) in self.org.tables.iter().enumerate() {
            for (row, d) in &t.deleted {
                if d.cascade_root == Some(root) {
                    rows.push(RecRef {
                        obj: oi as u32,
                        row: *row,
                    });
                }
            }
        }
        rows.sort();
        for r in rows {
            if self.org.state(r) != RowState::Deleted {
                continue;
            }
            self.snapshot(r);
            let mut h = *self.org.header(r);
            h.state = RowState::Live;
            h.modstamp = self.now;
            h.modified = self.now;
            h.modified_by = self.user;
            self.org.tables[r.obj as usize].set_header(r.row, h);
            let prev = self.org.tables[r.obj as usize].deleted.remove(&r.row);
            self.undo.push(Undo::DeleteInfo { r, prev });
            if let Err(e) = self.reindex(r) {
                self.rollback_to(sp);
                return Err(e);
            }
        }
        for (child, fi) in info.cleared {
            if self.org.state(child) == RowState::Live
                && self.org.read(child, fi, self.now).is_null()
            {
                self.snapshot(child);
                let mut h = *self.org.header(child);
                h.modstamp = self.now;
                self.org.tables[child.obj as usize].set_header(child.row, h);
                self.set_cell(child, fi, &crate::salesforce::store::Value::Ref(root));
            }
        }
        Ok(())
    }

    fn purge_row(&mut self, r: RecRef) {
        self.snapshot(r);
        let mut h = *self.org.header(r);
        h.state = RowState::Purged;
        h.modstamp = self.now;
        let t = &mut self.org.tables[r.obj as usize];
        t.set_header(r.row, h);
        t.earliest_delete_available = t.earliest_delete_available.max(self.now);
        let prev = t.deleted.remove(&r.row);
        self.undo.push(Undo::DeleteInfo { r, prev });
    }

    /// Hard-deletes records (live ones are deleted with their cascade first); the rows
    /// and their cascade-deleted children are gone for good.
    pub fn hard_delete(&mut self, targets: &[RecRef]) -> Vec<Result<(), RecordError>> {
        let before: Vec<RowState> = targets.iter().map(|r| self.org.state(*r)).collect();
        let live: Vec<RecRef> = targets
            .iter()
            .copied()
            .filter(|r| self.org.state(*r) == RowState::Live)
            .collect();
        let deleted = self.delete(&live);
        let mut live_results: HashMap<RecRef, Result<(), RecordError>> =
            live.into_iter().zip(deleted).collect();
        let mut results = Vec::with_capacity(targets.len());
        for (i, &r) in targets.iter().enumerate() {
            let res = match before[i] {
                RowState::Purged => Err(RecordError::new("ENTITY_IS_DELETED", "entity is deleted")),
                RowState::Live => match live_results.remove(&r) {
                    Some(Err(e)) => Err(e),
                    _ => {
                        if self.org.state(r) == RowState::Deleted {
                            self.purge_tree(r);
                        }
                        Ok(())
                    }
                },
                RowState::Deleted => {
                    self.purge_tree(r);
                    Ok(())
                }
            };
            results.push(res);
        }
        results
    }

    fn purge_tree(&mut self, root: RecRef) {
        let mut rows = vec![root];
        for (oi, t) in self.org.tables.iter().enumerate() {
            for (row, d) in &t.deleted {
                if d.cascade_root == Some(root) {
                    rows.push(RecRef {
                        obj: oi as u32,
                        row: *row,
                    });
                }
            }
        }
        for r in rows {
            self.purge_row(r);
        }
    }

    /// Empties the recycle bin (of one object, or all): every deleted root and its
    /// cascade is purged. Returns the number of rows purged.
    pub fn empty_recycle_bin(&mut self, obj: Option<usize>, older_than: Option<i64>) -> usize {
        let mut roots = Vec::new();
        for (oi, t) in self.org.tables.iter().enumerate() {
            if obj.is_some_and(|o| o != oi) {
                continue;
            }
            for (row, d) in &t.deleted {
                if d.cascade_root.is_none() && older_than.is_none_or(|cut| d.at < cut) {
                    roots.push(RecRef {
                        obj: oi as u32,
                        row: *row,
                    });
                }
            }
        }
        roots.sort();
        let before: usize = self.org.tables.iter().map(|t| t.deleted.len()).sum();
        for r in roots {
            self.purge_tree(r);
        }
        let after: usize = self.org.tables.iter().map(|t| t.deleted.len()).sum();
        before - after
    }
}
