//! Processing an ingest job: parse the uploaded CSV, resolve columns (fields, `Id`,
//! `Relationship.ExternalId`), apply rows in batches of 200 through the write path, and
//! build the result files.

use super::{Dialect, IngestResults, JobState, push_field};
use crate::salesforce::rest::write_as;
use crate::salesforce::state::Shared;
use crate::salesforce::store::{IdError, RecRef, RowState, Value};
use crate::salesforce::write::convert::{Mode, by_external_id, from_text, writable};
use crate::salesforce::write::{RecordError, Txn};

const BATCH: usize = 200;

/// A parsed upload: header and rows of raw cells.
struct Upload {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn parse_csv(data: &[u8], d: Dialect) -> Result<Upload, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(d.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(data);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("InvalidBatch : Failed to parse CSV header: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("InvalidBatch : Failed to parse CSV: {e}"))?;
        rows.push(rec.iter().map(str::to_owned).collect());
    }
    Ok(Upload { header, rows })
}

pub(super) fn process(em: &Shared, id: &str, user: u32) {
    let started = std::time::Instant::now();
    let (data, dialect, operation, object, external_id) = {
        let mut jobs = em.bulk.lock();
        let Some(job) = jobs.jobs.get_mut(id) else {
            return;
        };
        if job.state != JobState::UploadComplete {
            return;
        }
        job.state = JobState::InProgress;
        (
            job.data.clone().unwrap_or_default(),
            job.dialect,
            job.operation.clone(),
            job.object.clone(),
            job.external_id.clone(),
        )
    };
    let outcome = run(
        em,
        user,
        &data,
        dialect,
        &operation,
        &object,
        external_id.as_deref(),
    );
    let mut jobs = em.bulk.lock();
    let Some(job) = jobs.jobs.get_mut(id) else {
        return;
    };
    job.modstamp = em.now();
    job.processing_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok((results, processed, failed)) => {
            job.processed = processed;
            job.failed = failed;
            job.ingest_results = Some(results);
            if job.state == JobState::InProgress {
                job.state = JobState::JobComplete;
            }
        }
        Err(msg) => {
            job.state = JobState::Failed;
            job.error = Some(msg);
            job.ingest_results = Some(IngestResults::default());
        }
    }
    drop(jobs);
    em.bulk_done.notify_waiters();
}

/// A resolved CSV column.
enum Col {
    Id,
    Field(usize),
    /// `Rel.ExtField`: (lookup field, external id field name).
    Relation(usize, String),
}

type Outcome = Result<(IngestResults, u64, u64), String>;

fn run(
    em: &Shared,
    user: u32,
    data: &[u8],
    d: Dialect,
    op: &str,
    object: &str,
    ext: Option<&str>,
) -> Outcome {
    let upload = parse_csv(data, d)?;
    let (obj, cols, ext_field) = {
        let org = em.data.read();
        let obj = org
            .schema
            .object(object)
            .ok_or_else(|| format!("InvalidJob : Invalid object: {object}"))?;
        let def = &org.schema.objects[obj];
        let mode = if op == "insert" {
            Mode::Insert
        } else {
            Mode::Update
        };
        let mut cols = Vec::new();
        for h in &upload.header {
            let col = if h.eq_ignore_ascii_case("Id") {
                Col::Id
            } else if let Some(fi) = def.field(h) {
                let f = &def.fields[fi];
                let upsert_key = ext.is_some_and(|e| e.eq_ignore_ascii_case(&f.name));
                if !(writable(&org, f, mode)
                    || (op == "upsert" && (writable(&org, f, Mode::Insert) || upsert_key)))
                {
                    return Err(format!(
                        "InvalidBatch : Field name not found or not writable : {h}"
                    ));
                }
                Col::Field(fi)
            } else if let Some((rel, ext_name)) = h.split_once('.')
                && let Some(&fi) = def.rel_index.get(&rel.to_ascii_lowercase())
            {
                Col::Relation(fi, ext_name.to_owned())
            } else {
                return Err(format!("InvalidBatch : Field name not found : {h}"));
            };
            cols.push(col);
        }
        if matches!(op, "update" | "delete" | "hardDelete")
            && !cols.iter().any(|c| matches!(c, Col::Id))
        {
            return Err("InvalidBatch : Id column is required for this operation".into());
        }
        let ext_field = ext.and_then(|e| def.field(e));
        (obj, cols, ext_field)
    };
    let mut successful_batches: Vec<Vec<u8>> = Vec::new();
    let mut failed_batches: Vec<Vec<u8>> = Vec::new();
    let (mut processed, mut failed) = (0u64, 0u64);
    for chunk in upload.rows.chunks(BATCH) {
        let results = write_as(em, em.now(), user, "/jobs/ingest", None, |txn| {
            if matches!(op, "delete" | "hardDelete") {
                delete_batch(txn, obj, op, &cols, chunk)
            } else {
                chunk
                    .iter()
                    .map(|row| apply_row(txn, obj, op, &cols, row, ext_field))
                    .collect::<Vec<_>>()
            }
        });
        let org = em.data.read();
        let mut ok_csv = Vec::new();
        let mut err_csv = Vec::new();
        for (row, res) in chunk.iter().zip(results) {
            processed += 1;
            match res {
                Ok((r, created)) => {
                    push_field(&mut ok_csv, &org.id_of(r));
                    ok_csv.push(d.delimiter);
                    push_field(&mut ok_csv, if created { "true" } else { "false" });
                    push_cells(&mut ok_csv, d, row);
                }
                Err((r, e)) => {
                    failed += 1;
                    push_field(&mut err_csv, &r.map(|r| org.id_of(r)).unwrap_or_default());
                    err_csv.push(d.delimiter);
                    let fields = e.fields.join(",");
                    push_field(
                        &mut err_csv,
                        &format!("{}:{}:{} --", e.code, e.message, fields),
                    );
                    push_cells(&mut err_csv, d, row);
                }
            }
        }
        successful_batches.push(ok_csv);
        failed_batches.push(err_csv);
    }
    // Batches complete out of order on a real org: results come back last batch first.
    let header_tail = |out: &mut Vec<u8>| {
        for h in &upload.header {
            out.push(d.delimiter);
            push_field(out, h);
        }
        out.extend_from_slice(d.eol());
    };
    let mut successful = Vec::new();
    push_field(&mut successful, "sf__Id");
    successful.push(d.delimiter);
    push_field(&mut successful, "sf__Created");
    header_tail(&mut successful);
    for b in successful_batches.iter().rev() {
        successful.extend_from_slice(b);
    }
    let mut failed_csv = Vec::new();
    push_field(&mut failed_csv, "sf__Id");
    failed_csv.push(d.delimiter);
    push_field(&mut failed_csv, "sf__Error");
    header_tail(&mut failed_csv);
    for b in failed_batches.iter().rev() {
        failed_csv.extend_from_slice(b);
    }
    let mut unprocessed = Vec::new();
    for (i, h) in upload.header.iter().enumerate() {
        if i > 0 {
            unprocessed.push(d.delimiter);
        }
        push_field(&mut unprocessed, h);
    }
    unprocessed.extend_from_slice(d.eol());
    Ok((
        IngestResults {
            successful,
            failed: failed_csv,
            unprocessed,
        },
        processed,
        failed,
    ))
}

fn push_cells(out: &mut Vec<u8>, d: Dialect, row: &[String]) {
    for c in row {
        out.push(d.delimiter);
        push_field(out, c);
    }
    out.extend_from_slice(d.eol());
}

type RowResult = Result<(RecRef, bool), (Option<RecRef>, RecordError)>;

/// Deletes a batch in one pass: cascades are found with one scan per batch, not per row.
fn delete_batch(
    txn: &mut Txn<'_>,
    obj: usize,
    op: &str,
    cols: &[Col],
    rows: &[Vec<String>],
) -> Vec<RowResult> {
    let id_col = cols.iter().position(|c| matches!(c, Col::Id)).unwrap_or(0);
    let resolved: Vec<Result<RecRef, RecordError>> = rows
        .iter()
        .map(|row| {
            let cell = row.get(id_col).map_or("", String::as_str);
            match txn.org.resolve_id(cell) {
                Ok(r) if r.obj as usize == obj => Ok(r),
                Err(IdError::Malformed) if !cell.is_empty() => Err(RecordError::new(
                    "MALFORMED_ID",
                    format!("malformed id {cell}"),
                )),
                Err(IdError::Malformed) => Err(RecordError::new(
                    "MISSING_ARGUMENT",
                    "Id not specified in a delete call",
                )),
                _ => Err(RecordError::new(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                )),
            }
        })
        .collect();
    let targets: Vec<RecRef> = resolved
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let mut done = if op == "delete" {
        txn.delete(&targets)
    } else {
        txn.hard_delete(&targets)
    }
    .into_iter();
    resolved
        .into_iter()
        .map(|r| match r {
            Ok(r) => match done.next().unwrap_or(Ok(())) {
                Ok(()) => Ok((r, false)),
                Err(e) => Err((Some(r), e)),
            },
            Err(e) => Err((None, e)),
        })
        .collect()
}

fn apply_row(
    txn: &mut Txn<'_>,
    obj: usize,
    op: &str,
    cols: &[Col],
    row: &[String],
    ext_field: Option<usize>,
) -> RowResult {
    let mut id: Option<RecRef> = None;
    let mut values: Vec<(usize, Value)> = Vec::new();
    for (col, cell) in cols.iter().zip(row) {
        match col {
            Col::Id => {
                if cell.is_empty() {
                    continue;
                }
                id = Some(match txn.org.resolve_id(cell) {
                    Ok(r) if r.obj as usize == obj => r,
                    Ok(_) | Err(IdError::NotFound) => {
                        return Err((
                            None,
                            RecordError::new(
                                "INVALID_CROSS_REFERENCE_KEY",
                                "invalid cross reference id",
                            ),
                        ));
                    }
                    Err(IdError::Malformed) => {
                        return Err((
                            None,
                            RecordError::new("MALFORMED_ID", format!("malformed id {cell}")),
                        ));
                    }
                });
            }
            Col::Field(fi) => {
                if cell.is_empty() {
                    continue;
                }
                let f = &txn.org.schema.objects[obj].fields[*fi];
                let v = if cell == "#N/A" {
                    Value::Null
                } else {
                    from_text(txn.org, f, cell).map_err(|e| (id, e))?
                };
                values.push((*fi, v));
            }
            Col::Relation(fi, ext_name) => {
                if cell.is_empty() {
                    continue;
                }
                let f = &txn.org.schema.objects[obj].fields[*fi];
                let v = if cell == "#N/A" {
                    Value::Null
                } else {
                    by_external_id(txn.org, f, ext_name, cell).map_err(|e| (id, e))?
                };
                values.push((*fi, v));
            }
        }
    }
    match op {
        "insert" => txn
            .insert(obj, values)
            .map(|r| (r, true))
            .map_err(|e| (None, e)),
        "update" => {
            let r = id.ok_or_else(|| {
                (
                    None,
                    RecordError::new("MISSING_ARGUMENT", "Id not specified in an update call"),
                )
            })?;
            txn.update(r, values)
                .map(|()| (r, false))
                .map_err(|e| (Some(r), e))
        }
        "delete" | "hardDelete" => {
            let r = id.ok_or_else(|| {
                (
                    None,
                    RecordError::new("MISSING_ARGUMENT", "Id not specified in a delete call"),
                )
            })?;
            let res = if op == "delete" {
                txn.delete(&[r])
            } else {
                txn.hard_delete(&[r])
            };
            res.into_iter()
                .next()
                .unwrap_or(Ok(()))
                .map(|()| (r, false))
                .map_err(|e| (Some(r), e))
        }
        _ => {
            let Some(ef) = ext_field else {
                return Err((
                    None,
                    RecordError::new("MISSING_ARGUMENT", "External ID was blank for upsert"),
                ));
            };
            let key = values.iter().find(|(f, _)| *f == ef).and_then(|(_, v)| {
                if let Value::Text(s) = v {
                    Some(s.clone())
                } else {
                    None
                }
            });
            let existing = if txn.org.schema.objects[obj].fields[ef].name == "Id" {
                id
            } else {
                key.as_ref().and_then(|k| {
                    txn.org.tables[obj]
                        .unique
                        .get(&ef)
                        .and_then(|m| m.get(k.to_ascii_lowercase().as_str()))
                        .map(|&row| RecRef {
                            obj: obj as u32,
                            row,
                        })
                        .filter(|r| txn.org.state(*r) == RowState::Live)
                })
            };
            match existing {
                Some(r) => {
                    values.retain(|(f, _)| *f != ef);
                    txn.update(r, values)
                        .map(|()| (r, false))
                        .map_err(|e| (Some(r), e))
                }
                None if key.is_none() => Err((
                    None,
                    RecordError::new("MISSING_ARGUMENT", "External ID was blank for upsert"),
                )),
                None => txn
                    .insert(obj, values)
                    .map(|r| (r, true))
                    .map_err(|e| (None, e)),
            }
        }
    }
}
