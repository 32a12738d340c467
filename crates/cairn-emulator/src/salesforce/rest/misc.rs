//! Small REST resources: the resource index of a version, `/limits` (with the daily
//! allowance that really counts calls) and `/limits/recordCount`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Serialize;

use crate::salesforce::api::{ApiResult, Ctx, Req, Resp};
use crate::salesforce::state::Shared;

/// `GET /services/data/vXX.X/`.
pub fn resources(ctx: &Ctx) -> ApiResult {
    let v = ctx.vpath();
    let mut m = BTreeMap::new();
    for (k, p) in [
        ("composite", "composite"),
        ("jobs", "jobs"),
        ("limits", "limits"),
        ("metadata", "metadata"),
        ("query", "query"),
        ("queryAll", "queryAll"),
        ("sobjects", "sobjects"),
    ] {
        m.insert(k, format!("{v}/{p}"));
    }
    Ok(Resp::json(StatusCode::OK, &m))
}

#[derive(Serialize)]
struct Limit {
    #[serde(rename = "Max")]
    max: u64,
    #[serde(rename = "Remaining")]
    remaining: u64,
}

/// `GET …/limits`.
pub fn limits(em: &Shared, ctx: &Ctx, _req: &Req) -> ApiResult {
    let (used, max) = {
        let mut u = em.usage.lock();
        (u.used(ctx.now), u.max)
    };
    let (data_mb, file_mb, bulk_jobs) = {
        let org = em.data.read();
        // Salesforce counts most records as 2 KB of data storage.
        let records: usize = org.tables.iter().map(|t| t.live_count).sum();
        let files: usize = org
            .tables
            .iter()
            .flat_map(|t| t.blobs.iter())
            .map(|b| b.len())
            .sum();
        let jobs = em.bulk.lock().query_jobs_today(ctx.now);
        (
            (records * 2 / 1024) as u64,
            (files / (1024 * 1024)) as u64,
            jobs,
        )
    };
    let mut m: BTreeMap<&str, Limit> = BTreeMap::new();
    let fixed = |max: u64| Limit {
        max,
        remaining: max,
    };
    m.insert("ConcurrentAsyncGetReportInstances", fixed(200));
    m.insert("ConcurrentSyncReportRuns", fixed(20));
    m.insert(
        "DailyApiRequests",
        Limit {
            max,
            remaining: max.saturating_sub(used),
        },
    );
    m.insert("DailyAsyncApexExecutions", fixed(250_000));
    m.insert("DailyBulkApiBatches", fixed(15_000));
    m.insert(
        "DailyBulkV2QueryJobs",
        Limit {
            max: 10_000,
            remaining: 10_000u64.saturating_sub(bulk_jobs),
        },
    );
    m.insert("DailyBulkV2QueryFileStorageMB", fixed(1_048_576));
    m.insert("DailyDurableStreamingApiEvents", fixed(10_000));
    m.insert("DailyStreamingApiEvents", fixed(10_000));
    m.insert("DailyWorkflowEmails", fixed(390));
    let storage_max = 10_240u64.max(data_mb * 2);
    m.insert(
        "DataStorageMB",
        Limit {
            max: storage_max,
            remaining: storage_max.saturating_sub(data_mb),
        },
    );
    let file_max = 20_480u64.max(file_mb * 2);
    m.insert(
        "FileStorageMB",
        Limit {
            max: file_max,
            remaining: file_max.saturating_sub(file_mb),
        },
    );
    m.insert("HourlyAsyncReportRuns", fixed(1200));
    m.insert("HourlyDashboardRefreshes", fixed(200));
    m.insert("HourlySyncReportRuns", fixed(500));
    m.insert("MassEmail", fixed(10));
    m.insert("SingleEmail", fixed(15));
    m.insert("StreamingApiConcurrentClients", fixed(20));
    Ok(Resp::json(StatusCode::OK, &m))
}

#[derive(Serialize)]
struct Count {
    count: usize,
    name: String,
}

#[derive(Serialize)]
struct Counts {
    #[serde(rename = "sObjects")]
    sobjects: Vec<Count>,
}

/// `GET …/limits/recordCount?sObjects=Account,Contact`.
pub fn record_count(em: &Shared, req: &Req) -> ApiResult {
    let org = em.data.read();
    let wanted: Option<Vec<&str>> = req.param("sObjects").map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let mut out = Vec::new();
    for (i, o) in org.schema.objects.iter().enumerate() {
        let include = match &wanted {
            Some(w) => w.iter().any(|n| n.eq_ignore_ascii_case(&o.name)),
            None => true,
        };
        if include {
            let live = org.tables[i]
                .headers
                .iter()
                .filter(|h| h.state == crate::salesforce::store::RowState::Live)
                .count();
            out.push(Count {
                count: live,
                name: o.name.clone(),
            });
        }
    }
    Ok(Resp::json(StatusCode::OK, &Counts { sobjects: out }))
}
