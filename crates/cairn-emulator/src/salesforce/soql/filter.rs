//! WHERE clauses: typing each literal against its field (with Salesforce's
//! `INVALID_QUERY_FILTER_OPERATOR` errors), LIKE patterns, semi-joins, and the index hints
//! (SystemModstamp ranges, Id lists) the evaluator uses.

use std::collections::HashSet;

use super::SoqlError;
use super::bind::{Accessor, bind, final_def, resolve};
use super::dates;
use super::eval;
use super::parser::{Cond, Literal, Path};
use crate::salesforce::clock::{DAY_MS, parse_date, parse_datetime};
use crate::salesforce::ids;
use crate::salesforce::schema::{FieldDef, FieldType, Schema, SysField};
use crate::salesforce::store::{FieldVal, OrgData, RecRef};

/// A typed filter value.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedVal {
    /// null
    Null,
    /// Checkbox.
    Bool(bool),
    /// Number.
    Num(f64),
    /// Text, lower-cased (SOQL compares text case-insensitively).
    Text(String),
    /// A point in time (ms); dates are midnight UTC.
    Time(i64),
    /// A date literal's range `[start, end)` in ms.
    Range(i64, i64),
    /// A record (None: a well-formed id that names nothing).
    Ref(Option<RecRef>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A bound filter.
#[derive(Debug, Clone)]
pub enum Pred {
    /// All.
    And(Vec<Pred>),
    /// Any.
    Or(Vec<Pred>),
    /// Not.
    Not(Box<Pred>),
    /// Comparison.
    Cmp(Accessor, Op, TypedVal),
    /// Membership (`refs` holds packed record references for id fields).
    In {
        /// Field.
        acc: Accessor,
        /// Values.
        values: Vec<TypedVal>,
        /// Packed references, for id/reference fields.
        refs: HashSet<u64>,
        /// NOT IN.
        negated: bool,
    },
    /// LIKE (pattern lower-cased).
    Like(Accessor, Vec<LikeTok>, bool),
    /// INCLUDES / EXCLUDES: any group whose values are all selected.
    Includes(Accessor, Vec<Vec<String>>, bool),
}

/// A piece of a LIKE pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum LikeTok {
    /// `%`
    Any,
    /// `_`
    One,
    /// A literal character (lower-cased).
    Char(char),
}

pub(super) fn bind_cond(
    org: &OrgData,
    obj: usize,
    alias: Option<&str>,
    c: &Cond,
    now: i64,
) -> Result<Pred, SoqlError> {
    let schema = &org.schema;
    let field = |path: &Path| -> Result<(Accessor, &FieldDef), SoqlError> {
        let acc = resolve(schema, obj, path, alias)?;
        let f = final_def(schema, &acc);
        if !f.filterable() {
            return Err(SoqlError::invalid_field(
                path.pos[0],
                format!("field '{}' can not be filtered in a query call", f.name),
            ));
        }
        Ok((acc, f))
    };
    Ok(match c {
        Cond::And(v) => Pred::And(
            v.iter()
                .map(|c| bind_cond(org, obj, alias, c, now))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(v) => Pred::Or(
            v.iter()
                .map(|c| bind_cond(org, obj, alias, c, now))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(c) => Pred::Not(Box::new(bind_cond(org, obj, alias, c, now)?)),
        Cond::Cmp {
            path,
            op,
            value,
            pos,
        } => {
            let (acc, f) = field(path)?;
            let op = match *op {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            };
            let v = typed(org, f, value, *pos, now)?;
            if f.ftype == FieldType::Boolean && !matches!(op, Op::Eq | Op::Ne) {
                return Err(SoqlError::filter(
                    *pos,
                    format!("invalid operator on boolean field '{}'", f.name),
                ));
            }
            Pred::Cmp(acc, op, v)
        }
        Cond::In {
            path,
            negated,
            values,
            sub,
        } => {
            let (acc, f) = field(path)?;
            let mut typed_vals = Vec::new();
            let mut refs = HashSet::new();
            if let Some(sub) = sub {
                let inner = bind(org, sub, now)?;
                if inner.columns.len() != 1
                    || !matches!(inner.columns[0].ftype, FieldType::Id | FieldType::Reference)
                {
                    return Err(SoqlError::malformed(sub.from_pos, "The selected field in a semi-join or anti-join subquery must be an Id or reference field".into()));
                }
                for row in eval::run(org, &inner, false, now) {
                    let r = RecRef {
                        obj: inner.obj as u32,
                        row,
                    };
                    if let FieldVal::Ref(x) = inner.columns[0].read(org, r, now) {
                        refs.insert(x.pack());
                    }
                }
            } else {
                for (lit, pos) in values {
                    match typed(org, f, lit, *pos, now)? {
                        TypedVal::Ref(Some(r)) => {
                            refs.insert(r.pack());
                        }
                        TypedVal::Ref(None) => {}
                        v => typed_vals.push(v),
                    }
                }
            }
            Pred::In {
                acc,
                values: typed_vals,
                refs,
                negated: *negated,
            }
        }
        Cond::Like {
            path,
            negated,
            pattern,
            pos,
        } => {
            let (acc, f) = field(path)?;
            if !f.ftype.is_textual() {
                return Err(SoqlError::filter(
                    *pos,
                    format!(
                        "invalid operator on {} field '{}'",
                        f.ftype.api_name(),
                        f.name
                    ),
                ));
            }
            Pred::Like(acc, like_pattern(pattern), *negated)
        }
        Cond::Includes {
            path,
            excludes,
            values,
        } => {
            let (acc, f) = field(path)?;
            if f.ftype != FieldType::MultiPicklist {
                return Err(SoqlError::filter(
                    path.pos[0],
                    "includes or excludes operator only valid on multipicklist field".into(),
                ));
            }
            let groups = values
                .iter()
                .map(|v| v.split(';').map(|s| s.trim().to_lowercase()).collect())
                .collect();
            Pred::Includes(acc, groups, *excludes)
        }
    })
}

fn like_pattern(p: &str) -> Vec<LikeTok> {
    let mut out = Vec::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('%' | '_')) => {
                out.push(LikeTok::Char(chars.next().unwrap_or('%')));
            }
            '%' => out.push(LikeTok::Any),
            '_' => out.push(LikeTok::One),
            c => out.extend(c.to_lowercase().map(LikeTok::Char)),
        }
    }
    out
}

fn type_error(f: &FieldDef, pos: usize, kind: &str, quoted: bool) -> SoqlError {
    SoqlError::filter(
        pos,
        format!(
            "value of filter criterion for field '{}' must be of type {kind} and should {}be enclosed in quotes",
            f.name,
            if quoted { "" } else { "not " }
        ),
    )
}

/// Types a literal for field `f`.
fn typed(
    org: &OrgData,
    f: &FieldDef,
    lit: &Literal,
    pos: usize,
    now: i64,
) -> Result<TypedVal, SoqlError> {
    if *lit == Literal::Null {
        return Ok(TypedVal::Null);
    }
    match f.ftype {
        FieldType::Id | FieldType::Reference => match lit {
            Literal::Str(s) => {
                if ids::parse(s).is_none() {
                    return Err(SoqlError::filter(pos, format!("invalid ID field: {s}")));
                }
                Ok(TypedVal::Ref(org.resolve_id(s).ok()))
            }
            _ => Err(type_error(f, pos, "id", true)),
        },
        FieldType::Boolean => match lit {
            Literal::Bool(b) => Ok(TypedVal::Bool(*b)),
            _ => Err(type_error(f, pos, "boolean", false)),
        },
        FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent => {
            match lit {
                Literal::Num(n) => n
                    .parse()
                    .map(TypedVal::Num)
                    .map_err(|_| type_error(f, pos, "double", false)),
                _ => Err(type_error(
                    f,
                    pos,
                    if f.ftype == FieldType::Int {
                        "integer"
                    } else {
                        "double"
                    },
                    false,
                )),
            }
        }
        FieldType::Date => match lit {
            Literal::Date(d) => parse_date(d)
                .map(|d| TypedVal::Time(i64::from(d) * DAY_MS))
                .ok_or_else(|| type_error(f, pos, "date", false)),
            Literal::DateKeyword(k, n) => date_range(k, *n, now, pos),
            _ => Err(type_error(f, pos, "date", false)),
        },
        FieldType::DateTime => match lit {
            Literal::DateTime(d) => parse_datetime(d, false)
                .map(TypedVal::Time)
                .ok_or_else(|| type_error(f, pos, "dateTime", false)),
            Literal::DateKeyword(k, n) => date_range(k, *n, now, pos),
            _ => Err(type_error(f, pos, "dateTime", false)),
        },
        _ => match lit {
            Literal::Str(s) => Ok(TypedVal::Text(s.to_lowercase())),
            _ => Err(type_error(f, pos, "string", true)),
        },
    }
}

fn date_range(k: &str, n: Option<i64>, now: i64, pos: usize) -> Result<TypedVal, SoqlError> {
    dates::range(k, n, now)
        .map(|(a, b)| TypedVal::Range(a, b))
        .ok_or_else(|| SoqlError::malformed(pos, format!("unexpected token: {k}")))
}

fn conjuncts(p: Option<&Pred>) -> Vec<&Pred> {
    match p {
        Some(Pred::And(v)) => v.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// SystemModstamp bounds and Id lists from top-level conjuncts.
pub(super) fn hints(schema: &Schema, p: Option<&Pred>) -> (Option<(i64, i64)>, Option<Vec<u32>>) {
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    let mut used = false;
    let mut ids: Option<Vec<u32>> = None;
    for c in conjuncts(p) {
        match c {
            Pred::Cmp(acc, op, v) if acc.is_own_sys(SysField::SystemModstamp, schema) => {
                let (a, b) = match v {
                    TypedVal::Time(t) => (*t, *t + 1),
                    TypedVal::Range(a, b) => (*a, *b),
                    _ => continue,
                };
                match op {
                    Op::Eq => {
                        lo = lo.max(a);
                        hi = hi.min(b - 1);
                    }
                    Op::Gt => lo = lo.max(b),
                    Op::Ge => lo = lo.max(a),
                    Op::Lt => hi = hi.min(a - 1),
                    Op::Le => hi = hi.min(b - 1),
                    Op::Ne => continue,
                }
                used = true;
            }
            Pred::Cmp(acc, Op::Eq, TypedVal::Ref(r)) if acc.is_own_sys(SysField::Id, schema) => {
                ids = Some(r.map(|r| vec![r.row]).unwrap_or_default());
            }
            Pred::In {
                acc,
                refs,
                negated: false,
                values,
            } if acc.is_own_sys(SysField::Id, schema) && values.is_empty() => {
                let obj = acc.last[0].0;
                let mut rows: Vec<u32> = refs
                    .iter()
                    .map(|p| RecRef::unpack(*p))
                    .filter(|r| r.obj == obj)
                    .map(|r| r.row)
                    .collect();
                rows.sort_unstable();
                ids = Some(rows);
            }
            _ => {}
        }
    }
    (used.then_some((lo, hi)), ids)
}

pub(super) fn has_id_filter(schema: &Schema, p: Option<&Pred>) -> bool {
    conjuncts(p).iter().any(|c| match c {
        Pred::Cmp(acc, Op::Eq, _)
        | Pred::In {
            acc,
            negated: false,
            ..
        } => {
            acc.is_own("ContentDocumentId", schema)
                || acc.is_own("LinkedEntityId", schema)
                || acc.is_own_sys(SysField::Id, schema)
        }
        _ => false,
    })
}
