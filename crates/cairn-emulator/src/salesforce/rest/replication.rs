//! getUpdated / getDeleted: ids changed or deleted in a window, at minute granularity,
//! within the last 30 (updated) or 15 (deleted) days, capped at 600,000 ids.

use axum::http::{Method, StatusCode};
use serde::Serialize;

use super::describe::object_index;
use crate::salesforce::api::{ApiError, ApiResult, Ctx, Req, Resp};
use crate::salesforce::clock::{DAY_MS, format_datetime, parse_datetime};
use crate::salesforce::state::Shared;
use crate::salesforce::store::{RecRef, RowState};

const MAX_IDS: usize = 600_000;

fn minute(t: i64) -> i64 {
    t - t.rem_euclid(60_000)
}

fn window(req: &Req, ctx: &Ctx, max_days: i64) -> Result<(i64, i64), ApiError> {
    let get = |name: &str| -> Result<i64, ApiError> {
        let v = req.param(name).ok_or_else(|| {
            ApiError::bad(
                "MISSING_ARGUMENT",
                format!("Required parameter '{name}' is missing"),
            )
        })?;
        parse_datetime(v, true).ok_or_else(|| {
            ApiError::bad(
                "INVALID_REPLICATION_DATE",
                format!("Invalid {name} date: {v}"),
            )
        })
    };
    let (start, end) = (minute(get("start")?), minute(get("end")?));
    if end <= start {
        return Err(ApiError::bad(
            "INVALID_REPLICATION_DATE",
            "start date must chronologically precede end date",
        ));
    }
    if start < ctx.now - max_days * DAY_MS {
        return Err(ApiError::bad(
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be more than {max_days} days ago"),
        ));
    }
    Ok((start, end.min(minute(ctx.now))))
}

#[derive(Serialize)]
struct Updated {
    ids: Vec<String>,
    #[serde(rename = "latestDateCovered")]
    latest: String,
}

fn check(em: &Shared, req: &Req, name: &str) -> Result<usize, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::method(req.method.as_str()));
    }
    let org = em.data.read();
    let obj = object_index(&org, name)?;
    if !org.schema.objects[obj].flags.replicateable {
        return Err(ApiError::bad(
            "INVALID_TYPE",
            format!(
                "sObject type '{}' does not support replication",
                org.schema.objects[obj].name
            ),
        ));
    }
    Ok(obj)
}

/// `GET …/sobjects/{Obj}/updated/?start=…&end=…`.
pub fn updated(em: &Shared, ctx: &Ctx, req: &Req, name: &str) -> ApiResult {
    let obj = check(em, req, name)?;
    let (start, end) = window(req, ctx, 30)?;
    let org = em.data.read();
    let t = &org.tables[obj];
    let rows: Vec<u32> = if end > start {
        t.rows_by_modstamp(start, end - 1)
            .into_iter()
            .filter(|r| t.headers[*r as usize].state == RowState::Live)
            .collect()
    } else {
        Vec::new()
    };
    if rows.len() > MAX_IDS {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. narrow the time span",
        ));
    }
    let mut rows = rows;
    rows.sort_unstable();
    let ids = rows
        .into_iter()
        .map(|row| {
            org.id_of(RecRef {
                obj: obj as u32,
                row,
            })
        })
        .collect();
    Ok(Resp::json(
        StatusCode::OK,
        &Updated {
            ids,
            latest: format_datetime(end),
        },
    ))
}

#[derive(Serialize)]
struct DeletedRecord {
    id: String,
    #[serde(rename = "deletedDate")]
    deleted_date: String,
}

#[derive(Serialize)]
struct Deleted {
    #[serde(rename = "deletedRecords")]
    records: Vec<DeletedRecord>,
    #[serde(rename = "earliestDateAvailable")]
    earliest: String,
    #[serde(rename = "latestDateCovered")]
    latest: String,
}

/// `GET …/sobjects/{Obj}/deleted/?start=…&end=…`.
pub fn deleted(em: &Shared, ctx: &Ctx, req: &Req, name: &str) -> ApiResult {
    let obj = check(em, req, name)?;
    let (start, end) = window(req, ctx, 15)?;
    let org = em.data.read();
    let t = &org.tables[obj];
    let mut found: Vec<(u32, i64)> = t
        .deleted
        .iter()
        .filter(|(row, d)| {
            d.at >= start && d.at < end && t.headers[**row as usize].state == RowState::Deleted
        })
        .map(|(row, d)| (*row, d.at))
        .collect();
    if found.len() > MAX_IDS {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. narrow the time span",
        ));
    }
    found.sort_unstable_by_key(|(row, at)| (*at, *row));
    let earliest = minute(t.earliest_delete_available.max(ctx.now - 15 * DAY_MS));
    Ok(Resp::json(
        StatusCode::OK,
        &Deleted {
            records: found
                .into_iter()
                .map(|(row, at)| DeletedRecord {
                    id: org.id_of(RecRef {
                        obj: obj as u32,
                        row,
                    }),
                    deleted_date: format_datetime(at),
                })
                .collect(),
            earliest: format_datetime(earliest),
            latest: format_datetime(end),
        },
    ))
}
