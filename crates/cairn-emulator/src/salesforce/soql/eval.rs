//! Running a bound query: candidate rows (all, by the SystemModstamp log, or by Id), the
//! filter, ORDER BY, OFFSET and LIMIT.
//!
//! SOQL semantics kept here: text compares case-insensitively; `!=` matches nulls; ordered
//! comparisons never match null; default order is ascending with nulls first (descending
//! with nulls last); rows of equal sort key keep Id order.

use std::cmp::Ordering;

use super::bind::Bound;
use super::filter::{LikeTok, Op, Pred, TypedVal};
use crate::salesforce::clock::DAY_MS;
use crate::salesforce::store::{FieldVal, OrgData, RecRef, RowState};

/// Rows of `b.obj` the query returns, in order. `include_deleted` is queryAll.
pub fn run(org: &OrgData, b: &Bound, include_deleted: bool, now: i64) -> Vec<u32> {
    let table = &org.tables[b.obj];
    let obj = b.obj as u32;
    let visible = |row: u32| match table.headers[row as usize].state {
        RowState::Live => true,
        RowState::Deleted => include_deleted,
        RowState::Purged => false,
    };
    let keep = |row: u32| {
        visible(row)
            && b.filter
                .as_ref()
                .is_none_or(|p| matches(org, p, RecRef { obj, row }, now))
    };
    let (mut rows, by_stamp): (Vec<u32>, bool) = if let Some(ids) = &b.ids {
        (
            ids.iter()
                .copied()
                .filter(|&r| (r as usize) < table.len() && keep(r))
                .collect(),
            false,
        )
    } else if let Some((lo, hi)) = b.modstamp {
        (
            table
                .rows_by_modstamp(lo, hi)
                .into_iter()
                .filter(|&r| keep(r))
                .collect(),
            true,
        )
    } else {
        (
            (0..table.len() as u32).filter(|&r| keep(r)).collect(),
            false,
        )
    };
    let sorted_by_stamp_only = by_stamp
        && b.order.len() == 1
        && !b.order[0].desc
        && b.order[0].acc.hops.is_empty()
        && b.order[0].acc.name == "SystemModstamp";
    if !sorted_by_stamp_only {
        if by_stamp {
            rows.sort_unstable();
        }
        if !b.order.is_empty() {
            sort(org, b, &mut rows, now);
        }
    }
    let start = (b.offset as usize).min(rows.len());
    let end = b
        .limit
        .map_or(rows.len(), |l| (start + l as usize).min(rows.len()));
    rows.truncate(end);
    rows.drain(..start);
    rows
}

/// The number of rows a `COUNT()` query returns.
pub fn count(org: &OrgData, b: &Bound, include_deleted: bool, now: i64) -> usize {
    run(org, b, include_deleted, now).len()
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Null,
    Num(f64),
    Text(String),
}

fn key(org: &OrgData, v: FieldVal<'_>) -> Key {
    match v {
        FieldVal::Null | FieldVal::Address(_) | FieldVal::Blob(_) => Key::Null,
        FieldVal::Bool(b) => Key::Num(f64::from(u8::from(b))),
        FieldVal::Num(n) => Key::Num(n),
        FieldVal::Date(d) => Key::Num(f64::from(d) * DAY_MS as f64),
        FieldVal::DateTime(t) => Key::Num(t as f64),
        FieldVal::Str("") => Key::Null,
        FieldVal::Str(s) => Key::Text(s.to_lowercase()),
        FieldVal::Owned(s) if s.is_empty() => Key::Null,
        FieldVal::Owned(s) => Key::Text(s.to_lowercase()),
        FieldVal::Ref(r) => Key::Text(org.id_of(r)),
    }
}

fn sort(org: &OrgData, b: &Bound, rows: &mut Vec<u32>, now: i64) {
    let obj = b.obj as u32;
    let mut keyed: Vec<(Vec<Key>, u32)> = rows
        .iter()
        .map(|&row| {
            let r = RecRef { obj, row };
            (
                b.order
                    .iter()
                    .map(|o| key(org, o.acc.read(org, r, now)))
                    .collect(),
                row,
            )
        })
        .collect();
    keyed.sort_by(|(ka, ra), (kb, rb)| {
        for (i, o) in b.order.iter().enumerate() {
            let (a, b) = (&ka[i], &kb[i]);
            let ord = match (a, b) {
                (Key::Null, Key::Null) => Ordering::Equal,
                (Key::Null, _) => {
                    if o.nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (_, Key::Null) => {
                    if o.nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                _ => {
                    let c = a.partial_cmp(b).unwrap_or(Ordering::Equal);
                    if o.desc { c.reverse() } else { c }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        ra.cmp(rb)
    });
    *rows = keyed.into_iter().map(|(_, r)| r).collect();
}

/// Whether record `r` satisfies `p`.
pub fn matches(org: &OrgData, p: &Pred, r: RecRef, now: i64) -> bool {
    match p {
        Pred::And(v) => v.iter().all(|p| matches(org, p, r, now)),
        Pred::Or(v) => v.iter().any(|p| matches(org, p, r, now)),
        Pred::Not(p) => !matches(org, p, r, now),
        Pred::Cmp(acc, op, val) => compare(org, &acc.read(org, r, now), *op, val),
        Pred::In {
            acc,
            values,
            refs,
            negated,
        } => {
            let v = acc.read(org, r, now);
            let hit = match &v {
                FieldVal::Ref(x) => refs.contains(&x.pack()),
                _ => values.iter().any(|t| compare(org, &v, Op::Eq, t)),
            };
            if *negated {
                // NOT IN never matches a null value.
                !hit && !v.is_null()
            } else {
                hit
            }
        }
        Pred::Like(acc, pat, negated) => {
            let v = acc.read(org, r, now);
            let hit = v
                .as_str()
                .is_some_and(|s| like(&s.to_lowercase().chars().collect::<Vec<_>>(), pat));
            hit != *negated
        }
        Pred::Includes(acc, groups, excludes) => {
            let v = acc.read(org, r, now);
            let selected: Vec<String> = v
                .as_str()
                .map(|s| s.split(';').map(|x| x.trim().to_lowercase()).collect())
                .unwrap_or_default();
            let hit = groups
                .iter()
                .any(|g| g.iter().all(|x| selected.contains(x)));
            hit != *excludes
        }
    }
}

fn like(s: &[char], p: &[LikeTok]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(LikeTok::Any) => (0..=s.len()).any(|i| like(&s[i..], &p[1..])),
        Some(LikeTok::One) => !s.is_empty() && like(&s[1..], &p[1..]),
        Some(LikeTok::Char(c)) => s.first() == Some(c) && like(&s[1..], &p[1..]),
    }
}

fn as_time(v: &FieldVal<'_>) -> Option<i64> {
    match v {
        FieldVal::Date(d) => Some(i64::from(*d) * DAY_MS),
        FieldVal::DateTime(t) => Some(*t),
        _ => None,
    }
}

fn ord_matches(ord: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
    }
}

fn compare(org: &OrgData, v: &FieldVal<'_>, op: Op, t: &TypedVal) -> bool {
    let null = v.is_null();
    match t {
        TypedVal::Null => match op {
            Op::Eq => null,
            Op::Ne => !null,
            _ => false,
        },
        _ if null => op == Op::Ne,
        TypedVal::Bool(b) => matches!(v, FieldVal::Bool(x) if ord_matches(x.cmp(b), op)),
        TypedVal::Num(n) => match v {
            FieldVal::Num(x) => x.partial_cmp(n).is_some_and(|o| ord_matches(o, op)),
            _ => false,
        },
        TypedVal::Text(s) => match v.as_str() {
            Some(x) => {
                let ord = if x.is_ascii() && s.is_ascii() {
                    cmp_ascii_ci(x, s)
                } else {
                    x.to_lowercase().cmp(s)
                };
                ord_matches(ord, op)
            }
            None => false,
        },
        TypedVal::Time(t) => as_time(v).is_some_and(|x| ord_matches(x.cmp(t), op)),
        TypedVal::Range(a, b) => as_time(v).is_some_and(|x| match op {
            Op::Eq => x >= *a && x < *b,
            Op::Ne => x < *a || x >= *b,
            Op::Lt => x < *a,
            Op::Le => x < *b,
            Op::Gt => x >= *b,
            Op::Ge => x >= *a,
        }),
        TypedVal::Ref(target) => match v {
            FieldVal::Ref(x) => {
                let eq = Some(*x) == *target;
                match op {
                    Op::Eq => eq,
                    Op::Ne => !eq,
                    _ => target.is_some_and(|t| ord_matches(org.id_of(*x).cmp(&org.id_of(t)), op)),
                }
            }
            _ => false,
        },
    }
}

fn cmp_ascii_ci(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::salesforce::generator::{self, Profile};
    use crate::salesforce::schema::Schema;
    use crate::salesforce::soql::{bind, parse};

    fn org() -> OrgData {
        let schema = Arc::new(Schema::build());
        let plan = generator::plan(schema, 11, Profile::Small, 1_790_000_000_000);
        generator::generate(&plan, 2)
    }

    fn rows(org: &OrgData, q: &str) -> Vec<u32> {
        let b = bind(org, &parse(q).unwrap(), 1_790_000_000_000).unwrap();
        run(org, &b, false, 1_790_000_000_000)
    }

    #[test]
    fn filters_sort_and_page() {
        let org = org();
        let all = rows(&org, "SELECT Id FROM Account");
        assert_eq!(
            all.len(),
            org.tables[org.schema.object("Account").unwrap()].len()
        );
        let banking = rows(&org, "SELECT Id FROM Account WHERE Industry = 'BANKING'");
        let banking2 = rows(&org, "SELECT Id FROM Account WHERE Industry IN ('banking')");
        assert_eq!(banking, banking2);
        assert!(!banking.is_empty() && banking.len() < all.len());
        let not_banking = rows(&org, "SELECT Id FROM Account WHERE Industry != 'Banking'");
        assert_eq!(
            banking.len() + not_banking.len(),
            all.len(),
            "!= includes nulls"
        );
        let limited = rows(
            &org,
            "SELECT Id FROM Account ORDER BY Name LIMIT 5 OFFSET 2",
        );
        let sorted = rows(&org, "SELECT Id FROM Account ORDER BY Name");
        assert_eq!(limited, sorted[2..7].to_vec());
        let like = rows(&org, "SELECT Id FROM Account WHERE Name LIKE '%inc.'");
        assert!(!like.is_empty());
        let stamped = rows(
            &org,
            "SELECT Id FROM Account WHERE SystemModstamp > 2000-01-01T00:00:00Z ORDER BY SystemModstamp",
        );
        assert_eq!(stamped.len(), all.len());
        let future = rows(
            &org,
            "SELECT Id FROM Account WHERE SystemModstamp > 2099-01-01T00:00:00Z",
        );
        assert!(future.is_empty());
        let recent = rows(
            &org,
            "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:365",
        );
        assert!(!recent.is_empty() && recent.len() < all.len());
        let owned = rows(
            &org,
            "SELECT Id FROM Contact WHERE Account.Name != null AND Owner.IsActive = true",
        );
        assert!(!owned.is_empty());
    }

    #[test]
    fn bind_errors_match_salesforce() {
        let org = org();
        let err = |q: &str| bind(&org, &parse(q).unwrap(), 0).unwrap_err();
        let e = err("SELECT Id FROM Acount");
        assert_eq!((e.code, e.pos), ("INVALID_TYPE", 15));
        let e = err("SELECT Nme FROM Account");
        assert_eq!((e.code, e.pos), ("INVALID_FIELD", 7));
        assert!(
            e.message
                .starts_with("No such column 'Nme' on entity 'Account'.")
        );
        let e = err("SELECT Id FROM Account WHERE CreatedDate > 2020-01-01");
        assert_eq!(e.code, "INVALID_QUERY_FILTER_OPERATOR");
        let e = err("SELECT Id FROM Account WHERE Name = 5");
        assert_eq!(e.code, "INVALID_QUERY_FILTER_OPERATOR");
        let e = err("SELECT Id FROM Account WHERE Id = 'nope'");
        assert_eq!(e.message, "invalid ID field: nope");
        let e = err("SELECT Id FROM ContentDocumentLink");
        assert_eq!(e.code, "MALFORMED_QUERY");
        let e = err("SELECT Foo.Name FROM Contact");
        assert!(
            e.message
                .starts_with("Didn't understand relationship 'Foo'")
        );
        let e = err("SELECT Id FROM Account WHERE Description = 'x'");
        assert_eq!(e.code, "INVALID_FIELD");
    }
}
