//! Control-API mutations: update, delete, undelete, hard-delete or insert N records (or
//! N % of an object, or named ids) as a given user, through the same write path the APIs
//! use — automation, validation and cascades included. Selections and generated values
//! are deterministic for a given seed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::EmulatorError;
use crate::salesforce::generator::{blob, text};
use crate::salesforce::rest::write_as;
use crate::salesforce::rng::Rng;
use crate::salesforce::schema::{FieldType, ObjectDef, Storage};
use crate::salesforce::state::Shared;
use crate::salesforce::store::{BlobBody, FieldVal, OrgData, RecRef, RowState, USER_TABLE, Value};
use crate::salesforce::write::RecordError;
use crate::salesforce::write::convert::{Mode, parse_record};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationOp {
    /// Change field values.
    Update,
    /// Move to the recycle bin.
    Delete,
    /// Restore from the recycle bin.
    Undelete,
    /// Delete for good (bypassing or emptying the recycle bin).
    HardDelete,
    /// Create new records.
    Insert,
}

/// A mutation request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mutation {
    /// Operation.
    pub op: MutationOp,
    /// Object API name.
    pub object: String,
    /// Share of the eligible records (0–100).
    #[serde(default)]
    pub percent: Option<f64>,
    /// Number of records (for insert: how many to create).
    #[serde(default)]
    pub count: Option<usize>,
    /// Exact record ids.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Acting user (username or id); the admin by default.
    #[serde(default)]
    pub as_user: Option<String>,
    /// Field values to set (update / insert); generated when absent.
    #[serde(default)]
    pub fields: Option<Map<String, Json>>,
    /// Seed for selection and generated values (default: derived from the org seed).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// What a mutation did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MutationReport {
    /// Records selected (or to insert).
    pub requested: usize,
    /// Records changed.
    pub succeeded: usize,
    /// Records that failed.
    pub failed: usize,
    /// Ids of the records changed (inserted ids for inserts).
    pub ids: Vec<String>,
    /// Failures: (id or empty, status code, message), the first 100.
    pub errors: Vec<(String, String, String)>,
}

fn user_row(org: &OrgData, who: Option<&str>) -> Result<u32, EmulatorError> {
    let Some(who) = who else { return Ok(0) };
    if let Ok(r) = org.resolve_id(who)
        && r.obj as usize == USER_TABLE
    {
        return Ok(r.row);
    }
    let uf = org.schema.objects[USER_TABLE]
        .field("Username")
        .unwrap_or(0);
    org.tables[USER_TABLE]
        .unique
        .get(&uf)
        .and_then(|m| m.get(who.to_ascii_lowercase().as_str()))
        .copied()
        .ok_or_else(|| EmulatorError::BadRequest(format!("unknown user {who}")))
}

/// Deterministically picks `n` of `candidates` (keeps their order).
fn sample(candidates: Vec<u32>, n: usize, rng: &mut Rng) -> Vec<u32> {
    if n >= candidates.len() {
        return candidates;
    }
    let mut keyed: Vec<(u64, u32)> = candidates
        .into_iter()
        .map(|r| (rng.next_u64(), r))
        .collect();
    keyed.select_nth_unstable(n);
    let mut picked: Vec<u32> = keyed[..n].iter().map(|(_, r)| *r).collect();
    picked.sort_unstable();
    picked
}

/// Runs a mutation.
pub fn run(em: &Shared, m: &Mutation) -> Result<MutationReport, EmulatorError> {
    let (obj, user, targets) = {
        let org = em.data.read();
        let obj = org
            .schema
            .object(&m.object)
            .ok_or_else(|| EmulatorError::BadRequest(format!("unknown object {}", m.object)))?;
        let user = user_row(&org, m.as_user.as_deref())?;
        let t = &org.tables[obj];
        let mut rng = Rng::for_label(m.seed.unwrap_or(em.seed ^ em.now() as u64), "mutation");
        let targets: Vec<u32> = match (&m.ids, m.op) {
            (_, MutationOp::Insert) => Vec::new(),
            (Some(ids), _) => {
                let mut rows = Vec::new();
                for id in ids {
                    match org.resolve_id(id) {
                        Ok(r) if r.obj as usize == obj => rows.push(r.row),
                        _ => {
                            return Err(EmulatorError::BadRequest(format!(
                                "{id} is not a {} id of this org",
                                m.object
                            )));
                        }
                    }
                }
                rows
            }
            (None, op) => {
                let eligible: Vec<u32> = (0..t.len() as u32)
                    .filter(|&row| match op {
                        MutationOp::Undelete => t
                            .deleted
                            .get(&row)
                            .is_some_and(|d| d.cascade_root.is_none()),
                        _ => t.headers[row as usize].state == RowState::Live,
                    })
                    .collect();
                let n = match (m.count, m.percent) {
                    (Some(c), _) => c,
                    (None, Some(p)) if (0.0..=100.0).contains(&p) => {
                        ((eligible.len() as f64) * p / 100.0).round() as usize
                    }
                    (None, Some(p)) => {
                        return Err(EmulatorError::BadRequest(format!(
                            "percent must be 0–100, got {p}"
                        )));
                    }
                    (None, None) => {
                        return Err(EmulatorError::BadRequest(
                            "give ids, count or percent".into(),
                        ));
                    }
                };
                sample(eligible, n, &mut rng)
            }
        };
        (obj, user, targets)
    };
    let now = em.now();
    let mut report = MutationReport {
        requested: if m.op == MutationOp::Insert {
            m.count.unwrap_or(1)
        } else {
            targets.len()
        },
        succeeded: 0,
        failed: 0,
        ids: Vec::new(),
        errors: Vec::new(),
    };
    let seed = m.seed.unwrap_or(em.seed ^ now as u64);
    let note = |report: &mut MutationReport, id: String, res: Result<(), RecordError>| match res {
        Ok(()) => {
            report.succeeded += 1;
            report.ids.push(id);
        }
        Err(e) => {
            report.failed += 1;
            if report.errors.len() < 100 {
                report.errors.push((id, e.code, e.message));
            }
        }
    };
    match m.op {
        MutationOp::Insert => {
            let n = m.count.unwrap_or(1);
            for chunk_start in (0..n).step_by(1000) {
                let end = (chunk_start + 1000).min(n);
                let results = write_as(em, now, user, "/__emulator/mutate", None, |txn| {
                    (chunk_start..end)
                        .map(|i| {
                            let mut rng = Rng::for_label(seed, "insert").fork(i as u64);
                            let values = match &m.fields {
                                Some(f) => parse_record(txn.org, obj, f, Mode::Insert),
                                None => Ok(generated_insert(txn.org, obj, &mut rng, now)),
                            };
                            values
                                .and_then(|v| txn.insert(obj, v))
                                .map(|r| txn.org.id_of(r))
                        })
                        .collect::<Vec<_>>()
                });
                for r in results {
                    match r {
                        Ok(id) => note(&mut report, id, Ok(())),
                        Err(e) => note(&mut report, String::new(), Err(e)),
                    }
                }
            }
        }
        op => {
            for chunk in targets.chunks(5000) {
                let refs: Vec<RecRef> = chunk
                    .iter()
                    .map(|&row| RecRef {
                        obj: obj as u32,
                        row,
                    })
                    .collect();
                let results = write_as(em, now, user, "/__emulator/mutate", None, |txn| match op {
                    MutationOp::Update => refs
                        .iter()
                        .map(|&r| {
                            let mut rng = Rng::for_label(seed, "update").fork(u64::from(r.row));
                            let values = match &m.fields {
                                Some(f) => parse_record(txn.org, obj, f, Mode::Update),
                                None => generated_update(txn.org, r, &mut rng),
                            };
                            values.and_then(|v| txn.update(r, v))
                        })
                        .collect::<Vec<_>>(),
                    MutationOp::Delete => txn.delete(&refs),
                    MutationOp::Undelete => txn.undelete(&refs),
                    _ => txn.hard_delete(&refs),
                });
                let org = em.data.read();
                for (r, res) in refs.iter().zip(results) {
                    note(&mut report, org.id_of(*r), res);
                }
            }
        }
    }
    Ok(report)
}

/// Fields a generated update changes, in order of preference.
const UPDATABLE: &[&str] = &[
    "Description",
    "Description__c",
    "Notes__c",
    "NextStep",
    "Body",
    "Title",
    "Subject",
    "Phone",
    "Status",
    "Status__c",
    "Visibility",
    "Actual_Hours__c",
    "Keywords",
];

fn generated_text(f: &crate::salesforce::schema::FieldDef, rng: &mut Rng, now: i64) -> Value {
    let s = match f.name.as_str() {
        "Phone" | "MobilePhone" | "Fax" => text::phone("+1 415", rng),
        "Title" => (rng.pick_str(text::TITLES)).to_owned(),
        "Subject" => (rng.pick_str(text::CASE_SUBJECTS)).to_owned(),
        _ => format!(
            "{} (updated {})",
            text::note(rng),
            crate::salesforce::clock::format_date((now / 86_400_000) as i32)
        ),
    };
    let max = f.length.max(1) as usize;
    Value::Text(s.chars().take(max).collect())
}

fn generated_update(
    org: &OrgData,
    r: RecRef,
    rng: &mut Rng,
) -> Result<Vec<(usize, Value)>, RecordError> {
    let def = &org.schema.objects[r.obj as usize];
    for name in UPDATABLE {
        let Some(fi) = def.field(name) else { continue };
        let f = &def.fields[fi];
        if !f.updateable || !matches!(f.storage, Storage::Column(_)) {
            continue;
        }
        let v = if !f.picklist.is_empty() {
            let current = org.read(r, fi, 0);
            let options: Vec<&str> = f
                .picklist
                .iter()
                .map(|p| p.value.as_str())
                .filter(|v| FieldVal::Str(v) != current)
                .collect();
            if options.is_empty() {
                continue;
            }
            Value::Text((*rng.pick(&options)).to_owned())
        } else {
            match f.ftype {
                FieldType::Double | FieldType::Currency | FieldType::Int => {
                    Value::Num(rng.range(1, 200) as f64)
                }
                _ if f.ftype.is_textual() => generated_text(f, rng, 0),
                _ => continue,
            }
        };
        return Ok(vec![(fi, v)]);
    }
    Err(RecordError::new(
        "CANNOT_UPDATE",
        format!(
            "no field of {} can be changed by a generated update; pass fields",
            def.name
        ),
    ))
}

fn random_live(org: &OrgData, target: &str, rng: &mut Rng) -> Option<RecRef> {
    let ti = org.schema.object(target)?;
    let t = &org.tables[ti];
    if t.live_count == 0 {
        return None;
    }
    for _ in 0..64 {
        let row = rng.below(t.len() as u64) as u32;
        if t.headers[row as usize].state == RowState::Live {
            return Some(RecRef {
                obj: ti as u32,
                row,
            });
        }
    }
    (0..t.len() as u32)
        .find(|&row| t.headers[row as usize].state == RowState::Live)
        .map(|row| RecRef {
            obj: ti as u32,
            row,
        })
}

/// Values for a plausible new record: every required field plus a few common ones.
fn generated_insert(org: &OrgData, obj: usize, rng: &mut Rng, now: i64) -> Vec<(usize, Value)> {
    let def: &ObjectDef = &org.schema.objects[obj];
    let (first, last) = text::person(rng);
    let company = text::company(rng);
    let mut out = Vec::new();
    for (fi, f) in def.fields.iter().enumerate() {
        if !f.createable
            || !matches!(f.storage, Storage::Column(_))
            || f.ftype == FieldType::Boolean
        {
            continue;
        }
        let wanted = !f.nillable
            || matches!(
                f.name.as_str(),
                "FirstName"
                    | "Email"
                    | "Phone"
                    | "Description"
                    | "Industry"
                    | "AccountId"
                    | "Subject"
                    | "Amount"
                    | "Body"
            );
        if !wanted || (f.defaulted_on_create && f.name == "OwnerId") {
            continue;
        }
        let v = match f.ftype {
            FieldType::Reference => {
                match f.reference_to.iter().find_map(|t| random_live(org, t, rng)) {
                    Some(r) => Value::Ref(r),
                    None => continue,
                }
            }
            FieldType::Base64 => {
                let (kind, _, _, _) = blob::file_kind(rng);
                Value::Blob(BlobBody::Generated {
                    seed: rng.next_u64(),
                    len: rng.range(200, 20_000) as u32,
                    kind,
                })
            }
            FieldType::Date => Value::Date((now / 86_400_000 + rng.range(-30, 90)) as i32),
            FieldType::DateTime => {
                Value::DateTime(now - now.rem_euclid(1000) + rng.range(1, 48) * 3_600_000)
            }
            FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent => {
                Value::Num(if f.ftype == FieldType::Percent {
                    50.0
                } else {
                    rng.range(1, 100_000) as f64
                })
            }
            _ if !f.picklist.is_empty() => Value::Text(
                f.picklist
                    .iter()
                    .find(|p| p.default)
                    .unwrap_or(&f.picklist[0])
                    .value
                    .clone(),
            ),
            FieldType::Email => Value::Text(text::email(first, last, "example.com", rng)),
            _ => Value::Text(
                match f.name.as_str() {
                    "LastName" => last.to_owned(),
                    "FirstName" => first.to_owned(),
                    "Company" | "Name" if def.name != "Opportunity" => company.clone(),
                    "Name" => text::deal_name(&company, rng),
                    "Username" => format!(
                        "{}.{}{}@inserted.example.com",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        rng.below(1_000_000)
                    ),
                    "Alias" => format!("u{}", rng.below(9_999_999)),
                    "PathOnClient" => format!("{}.txt", rng.pick(text::FILE_STEMS)),
                    "Phone" => text::phone("+1 415", rng),
                    "Description" | "Body" => text::description(&company, rng),
                    _ => format!(
                        "{} {}",
                        rng.pick(text::ACTIVITY_SUBJECTS),
                        rng.below(10_000)
                    ),
                }
                .chars()
                .take(f.length.max(1) as usize)
                .collect(),
            ),
        };
        out.push((fi, v));
    }
    out
}
