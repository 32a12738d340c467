//! Binding a parsed query to the org: resolving objects, field paths (including parent
//! relationships such as `Owner.Name` and polymorphic ones such as `What.Name`), child
//! relationships of subqueries, and typing every literal against its field — with the
//! errors Salesforce gives when any of that fails.

use super::SoqlError;
use super::filter::{Pred, bind_cond, has_id_filter, hints};
use super::parser::{Path, Query, SelectItem};
use crate::salesforce::schema::{FieldDef, FieldType, ObjectDef, Schema, Storage, SysField};
use crate::salesforce::store::{FieldVal, OrgData, RecRef};

/// Reads one (possibly dotted) field path from a record.
#[derive(Debug, Clone)]
pub struct Accessor {
    /// Reference hops: per hop, the reference field to follow for each possible object.
    pub hops: Vec<Vec<(u32, usize)>>,
    /// The final field for each possible object.
    pub last: Vec<(u32, usize)>,
    /// Type of the final field.
    pub ftype: FieldType,
    /// Canonical dotted name (`Owner.Name`).
    pub name: String,
}

impl Accessor {
    /// Reads the value for record `r` (null when a hop is empty).
    pub fn read<'a>(&self, org: &'a OrgData, mut r: RecRef, now: i64) -> FieldVal<'a> {
        for hop in &self.hops {
            let Some(&(_, f)) = hop.iter().find(|(o, _)| *o == r.obj) else {
                return FieldVal::Null;
            };
            match org.read(r, f, now) {
                FieldVal::Ref(next) => r = next,
                _ => return FieldVal::Null,
            }
        }
        match self.last.iter().find(|(o, _)| *o == r.obj) {
            Some(&(_, f)) => org.read(r, f, now),
            None => FieldVal::Null,
        }
    }

    /// Whether this is the FROM object's own SystemModstamp.
    pub(super) fn is_own_sys(&self, sys: SysField, schema: &Schema) -> bool {
        self.hops.is_empty()
            && self.last.len() == 1
            && matches!(
                schema.objects[self.last[0].0 as usize].fields[self.last[0].1].storage,
                Storage::System(s) if s == sys
            )
    }

    /// Whether this is the FROM object's own field named `name`.
    pub(super) fn is_own(&self, name: &str, schema: &Schema) -> bool {
        self.hops.is_empty()
            && self.last.len() == 1
            && schema.objects[self.last[0].0 as usize].fields[self.last[0].1]
                .name
                .eq_ignore_ascii_case(name)
    }
}

/// What the JSON response shows for one select item.
#[derive(Debug, Clone)]
pub enum Proj {
    /// A field of the current record.
    Field {
        /// Key in the response.
        key: String,
        /// Field index.
        field: usize,
    },
    /// A parent relationship (`Owner`).
    Parent {
        /// Key in the response.
        key: String,
        /// Reference field on the current object.
        ref_field: usize,
        /// Sub-projection per possible parent object.
        targets: Vec<(u32, Vec<Proj>)>,
    },
    /// A child relationship subquery (`Contacts`).
    Children {
        /// Key in the response.
        key: String,
        /// The bound subquery (FROM the child object).
        sub: Box<Bound>,
        /// Field on the child pointing at the parent.
        child_field: usize,
    },
}

/// ORDER BY key.
#[derive(Debug, Clone)]
pub struct OrderKey {
    /// Field.
    pub acc: Accessor,
    /// Descending.
    pub desc: bool,
    /// Nulls sort last.
    pub nulls_last: bool,
}

/// A query bound to the org, ready to run.
#[derive(Debug, Clone)]
pub struct Bound {
    /// FROM object.
    pub obj: usize,
    /// `COUNT()`.
    pub count: bool,
    /// JSON shape.
    pub proj: Vec<Proj>,
    /// Flattened select list (CSV columns) in select order.
    pub columns: Vec<Accessor>,
    /// WHERE.
    pub filter: Option<Pred>,
    /// ORDER BY.
    pub order: Vec<OrderKey>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: u64,
    /// SystemModstamp bounds usable with the modstamp log (inclusive, ms).
    pub modstamp: Option<(i64, i64)>,
    /// Rows named by a top-level `Id =` / `Id IN` filter.
    pub ids: Option<Vec<u32>>,
    /// Whether the select list has child subqueries.
    pub has_children: bool,
    /// Whether the select list reads binary fields.
    pub has_blob: bool,
}

fn no_such_column(pos: usize, field: &str, entity: &str) -> SoqlError {
    SoqlError::invalid_field(
        pos,
        format!(
            "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// Resolves `path` starting at object `obj`.
pub(super) fn resolve(
    schema: &Schema,
    obj: usize,
    path: &Path,
    alias: Option<&str>,
) -> Result<Accessor, SoqlError> {
    let mut parts: Vec<(&str, usize)> = path
        .parts
        .iter()
        .map(String::as_str)
        .zip(path.pos.iter().copied())
        .collect();
    if parts.len() > 1
        && (alias.is_some_and(|a| a.eq_ignore_ascii_case(parts[0].0))
            || schema.objects[obj].name.eq_ignore_ascii_case(parts[0].0))
    {
        parts.remove(0);
    }
    let mut current: Vec<u32> = vec![obj as u32];
    let mut hops = Vec::new();
    let mut names = Vec::new();
    let (last, rels) = parts
        .split_last()
        .ok_or_else(|| SoqlError::malformed(0, "unexpected token: <EOF>".into()))?;
    for (seg, pos) in rels {
        let mut hop = Vec::new();
        let mut next: Vec<u32> = Vec::new();
        let mut canonical = None;
        for &o in &current {
            let def = &schema.objects[o as usize];
            if let Some(&fi) = def.rel_index.get(&seg.to_ascii_lowercase()) {
                let f = &def.fields[fi];
                canonical = f.relationship_name.clone();
                hop.push((o, fi));
                for t in &f.reference_to {
                    if let Some(ti) = schema.object(t)
                        && !next.contains(&(ti as u32))
                    {
                        next.push(ti as u32);
                    }
                }
            }
        }
        if hop.is_empty() {
            return Err(SoqlError::invalid_field(
                *pos,
                format!(
                    "Didn't understand relationship '{seg}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            ));
        }
        names.push(canonical.unwrap_or_else(|| (*seg).to_owned()));
        hops.push(hop);
        current = next;
    }
    let (seg, pos) = last;
    let mut found = Vec::new();
    let mut ftype = None;
    let mut canonical = None;
    for &o in &current {
        let def = &schema.objects[o as usize];
        let fi = def.field(seg).or_else(|| {
            // Polymorphic `Name` maps to each object's name field (Case → CaseNumber).
            (!hops.is_empty() && seg.eq_ignore_ascii_case("Name"))
                .then(|| def.name_field())
                .flatten()
        });
        if let Some(fi) = fi {
            found.push((o, fi));
            ftype.get_or_insert(def.fields[fi].ftype);
            canonical.get_or_insert_with(|| {
                if def.fields[fi].name_field && seg.eq_ignore_ascii_case("Name") {
                    "Name".to_owned()
                } else {
                    def.fields[fi].name.clone()
                }
            });
        }
    }
    let Some(ftype) = ftype else {
        let entity = current
            .first()
            .map_or("", |o| schema.objects[*o as usize].name.as_str());
        return Err(no_such_column(*pos, seg, entity));
    };
    names.push(canonical.unwrap_or_default());
    Ok(Accessor {
        hops,
        last: found,
        ftype,
        name: names.join("."),
    })
}

/// Binds `q` to the org. `now` evaluates date literals.
///
/// # Errors
/// The Salesforce error for unknown objects and fields, mistyped literals, unsupported
/// combinations and implementation restrictions.
pub fn bind(org: &OrgData, q: &Query, now: i64) -> Result<Bound, SoqlError> {
    let schema = &org.schema;
    let obj = schema.object(&q.from).ok_or_else(|| {
        SoqlError::invalid_type(
            q.from_pos,
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                q.from
            ),
        )
    })?;
    bind_on(org, q, obj, now)
}

fn bind_on(org: &OrgData, q: &Query, obj: usize, now: i64) -> Result<Bound, SoqlError> {
    let schema = &org.schema;
    let def = &schema.objects[obj];
    let alias = q.alias.as_deref();
    let mut columns: Vec<Accessor> = Vec::new();
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut children: Vec<(usize, Proj)> = Vec::new();
    let mut has_children = false;
    for item in &q.select {
        match item {
            SelectItem::Field(p) => {
                let acc = resolve(schema, obj, p, alias)?;
                if columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&acc.name))
                {
                    return Err(SoqlError::invalid_field(
                        p.pos[0],
                        format!("duplicate field selected: {}", acc.name),
                    ));
                }
                paths.push(acc.name.split('.').map(str::to_owned).collect());
                columns.push(acc);
            }
            SelectItem::Fields(which, pos) => {
                if which != "STANDARD" && q.limit.is_none_or(|l| l > 200) {
                    return Err(SoqlError::malformed(
                        *pos,
                        "The SOQL FIELDS function must have a LIMIT of at most 200".into(),
                    ));
                }
                for (fi, f) in def.fields.iter().enumerate() {
                    let wanted = match which.as_str() {
                        "CUSTOM" => f.custom,
                        "STANDARD" => !f.custom,
                        _ => true,
                    };
                    if wanted && !columns.iter().any(|c| c.name == f.name) {
                        paths.push(vec![f.name.clone()]);
                        columns.push(Accessor {
                            hops: Vec::new(),
                            last: vec![(obj as u32, fi)],
                            ftype: f.ftype,
                            name: f.name.clone(),
                        });
                    }
                }
            }
            SelectItem::SubQuery(sub, pos) => {
                let Some(&ci) = def.child_rel_index.get(&sub.from.to_ascii_lowercase()) else {
                    return Err(SoqlError::invalid_type(
                        sub.from_pos,
                        format!(
                            "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                            sub.from
                        ),
                    ));
                };
                let rel = &def.children[ci];
                if sub.count {
                    return Err(SoqlError::malformed(
                        *pos,
                        "unexpected token: 'COUNT'".into(),
                    ));
                }
                let bound = bind_on(org, sub, rel.child, now)?;
                has_children = true;
                children.push((
                    paths.len() + children.len(),
                    Proj::Children {
                        key: rel.name.clone().unwrap_or_default(),
                        sub: Box::new(bound),
                        child_field: rel.field,
                    },
                ));
            }
        }
    }
    let mut proj = build_proj(schema, obj as u32, &paths);
    for (at, c) in children {
        let at = at.min(proj.len());
        proj.insert(at, c);
    }
    let has_blob = columns.iter().any(|c| c.ftype == FieldType::Base64);
    let filter = q
        .where_
        .as_ref()
        .map(|c| bind_cond(org, obj, alias, c, now))
        .transpose()?;
    let mut order = Vec::new();
    for o in &q.order {
        let acc = resolve(schema, obj, &o.path, alias)?;
        let f = final_def(schema, &acc);
        if !f.sortable() {
            return Err(SoqlError::invalid_field(
                o.path.pos[0],
                format!("field '{}' can not be sorted in a query call", f.name),
            ));
        }
        order.push(OrderKey {
            acc,
            desc: o.desc,
            nulls_last: o.nulls_last.unwrap_or(o.desc),
        });
    }
    let offset = match q.offset {
        Some((n, pos)) if n > 2000 => {
            return Err(SoqlError {
                code: "NUMBER_OUTSIDE_VALID_RANGE",
                pos,
                message: "Maximum SOQL offset allowed is 2000".into(),
            });
        }
        Some((n, _)) => n,
        None => 0,
    };
    let (modstamp, ids) = hints(schema, filter.as_ref());
    if def.flags.needs_id_filter && !has_id_filter(schema, filter.as_ref()) {
        return Err(SoqlError::malformed(
            q.from_pos,
            "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.".into(),
        ));
    }
    Ok(Bound {
        obj,
        count: q.count,
        proj,
        columns,
        filter,
        order,
        limit: q.limit,
        offset,
        modstamp,
        ids,
        has_children,
        has_blob,
    })
}

pub(super) fn final_def<'a>(schema: &'a Schema, acc: &Accessor) -> &'a FieldDef {
    let (o, f) = acc.last[0];
    &schema.objects[o as usize].fields[f]
}

/// Groups canonical paths into the nested JSON shape, in first-appearance order.
fn build_proj(schema: &Schema, obj: u32, paths: &[Vec<String>]) -> Vec<Proj> {
    let def = &schema.objects[obj as usize];
    let mut out: Vec<Proj> = Vec::new();
    let mut groups: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for p in paths {
        if p.len() == 1 {
            if let Some(fi) = def.field(&p[0]).or_else(|| {
                p[0].eq_ignore_ascii_case("Name")
                    .then(|| def.name_field())
                    .flatten()
            }) {
                out.push(Proj::Field {
                    key: p[0].clone(),
                    field: fi,
                });
            }
        } else if let Some(g) = groups.iter_mut().find(|(k, _)| k == &p[0]) {
            g.1.push(p[1..].to_vec());
        } else {
            groups.push((p[0].clone(), vec![p[1..].to_vec()]));
            out.push(Proj::Parent {
                key: p[0].clone(),
                ref_field: usize::MAX,
                targets: Vec::new(),
            });
        }
    }
    for item in &mut out {
        if let Proj::Parent {
            key,
            ref_field,
            targets,
        } = item
        {
            let Some(&fi) = def.rel_index.get(&key.to_ascii_lowercase()) else {
                continue;
            };
            *ref_field = fi;
            let tails = &groups
                .iter()
                .find(|(k, _)| k == key)
                .map(|g| g.1.clone())
                .unwrap_or_default();
            for t in &def.fields[fi].reference_to {
                if let Some(ti) = schema.object(t) {
                    targets.push((ti as u32, build_proj(schema, ti as u32, tails)));
                }
            }
        }
    }
    out
}

/// The object definition a bound query reads.
pub fn object<'a>(org: &'a OrgData, b: &Bound) -> &'a ObjectDef {
    &org.schema.objects[b.obj]
}
