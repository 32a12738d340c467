//! Bulk API 2.0: query jobs (CSV results paged by `Sforce-Locator`) and ingest jobs
//! (CSV upload, `UploadComplete`, successful / failed / unprocessed results).
//!
//! Jobs live in memory (not persisted across restarts) and are processed on the blocking
//! pool right after they become `UploadComplete`; clients poll the job as they would
//! against a real org. Terminal jobs are forgotten after seven days of emulated time.

pub mod ingest;
mod load;
pub mod query;

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use super::api::{ApiError, Ctx};
use super::clock::format_datetime;
use super::ids;
use super::store::{OrgData, RecRef, USER_TABLE};

/// Job lifecycle states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Ingest: waiting for data.
    Open,
    /// Queued for processing.
    UploadComplete,
    /// Processing.
    InProgress,
    /// Done.
    JobComplete,
    /// Failed (see the error message).
    Failed,
    /// Aborted by the client.
    Aborted,
}

impl JobState {
    /// Wire name.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }
    /// Whether the job can no longer change.
    pub fn terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// CSV dialect of a job.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Column delimiter byte.
    pub delimiter: u8,
    /// CRLF line endings.
    pub crlf: bool,
}

impl Dialect {
    /// Parses `columnDelimiter` / `lineEnding` from a job request.
    pub fn from_request(body: &Json) -> Result<Self, ApiError> {
        let delimiter = match body
            .get("columnDelimiter")
            .and_then(Json::as_str)
            .unwrap_or("COMMA")
        {
            "COMMA" => b',',
            "TAB" => b'\t',
            "PIPE" => b'|',
            "SEMICOLON" => b';',
            "CARET" => b'^',
            "BACKQUOTE" => b'`',
            other => {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    format!("InvalidJob : Invalid column delimiter: {other}"),
                ));
            }
        };
        let crlf = match body
            .get("lineEnding")
            .and_then(Json::as_str)
            .unwrap_or("LF")
        {
            "LF" => false,
            "CRLF" => true,
            other => {
                return Err(ApiError::bad(
                    "INVALIDJOB",
                    format!("InvalidJob : Invalid line ending: {other}"),
                ));
            }
        };
        Ok(Self { delimiter, crlf })
    }
    fn delimiter_name(self) -> &'static str {
        match self.delimiter {
            b'\t' => "TAB",
            b'|' => "PIPE",
            b';' => "SEMICOLON",
            b'^' => "CARET",
            b'`' => "BACKQUOTE",
            _ => "COMMA",
        }
    }
    /// The line terminator.
    pub fn eol(self) -> &'static [u8] {
        if self.crlf { b"\r\n" } else { b"\n" }
    }
}

/// Appends one quoted CSV field.
pub fn push_field(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends a CSV row.
pub fn push_row(out: &mut Vec<u8>, d: Dialect, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(d.delimiter);
        }
        push_field(out, f);
    }
    out.extend_from_slice(d.eol());
}

/// Query results ready to page through: the matching rows are fixed when the job
/// completes; their CSV is rendered chunk by chunk when downloaded, so a finished job
/// costs four bytes per row rather than a copy of the data.
#[derive(Debug)]
pub struct QueryResults {
    /// Header row bytes.
    pub header: Vec<u8>,
    /// The query (for the columns).
    pub bound: std::sync::Arc<super::soql::Bound>,
    /// Matching rows of the queried object, in result order.
    pub rows: Vec<u32>,
}

/// Ingest results.
#[derive(Debug, Default)]
pub struct IngestResults {
    /// `sf__Id,sf__Created,…` CSV.
    pub successful: Vec<u8>,
    /// `sf__Id,sf__Error,…` CSV.
    pub failed: Vec<u8>,
    /// Original columns of rows never processed.
    pub unprocessed: Vec<u8>,
}

/// One Bulk job.
#[derive(Debug)]
pub struct Job {
    /// `750…` id.
    pub id: String,
    /// Query or ingest.
    pub ingest: bool,
    /// `query`, `queryAll`, `insert`, `update`, `upsert`, `delete`, `hardDelete`.
    pub operation: String,
    /// Object name.
    pub object: String,
    /// Creator (user row).
    pub created_by: u32,
    /// Created (ms).
    pub created: i64,
    /// Last change (ms).
    pub modstamp: i64,
    /// State.
    pub state: JobState,
    /// API version that created the job.
    pub api_version: u32,
    /// CSV dialect.
    pub dialect: Dialect,
    /// SOQL of a query job.
    pub query: String,
    /// External id field of an upsert.
    pub external_id: Option<String>,
    /// Uploaded CSV of an ingest job.
    pub data: Option<Vec<u8>>,
    /// Rows processed.
    pub processed: u64,
    /// Rows failed.
    pub failed: u64,
    /// Failure reason.
    pub error: Option<String>,
    /// Processing time (ms, real).
    pub processing_ms: u64,
    /// Query output.
    pub results: Option<QueryResults>,
    /// Ingest output.
    pub ingest_results: Option<IngestResults>,
}

impl Job {
    /// The job info JSON; `full` adds the fields GET returns beyond the create response.
    pub fn info(&self, org: &OrgData, full: bool) -> Json {
        let user = org.id_of(RecRef {
            obj: USER_TABLE as u32,
            row: self.created_by,
        });
        let mut j = json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": user,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modstamp),
            "state": self.state.name(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": f64::from(self.api_version),
            "lineEnding": if self.dialect.crlf { "CRLF" } else { "LF" },
            "columnDelimiter": self.dialect.delimiter_name(),
        });
        let Some(m) = j.as_object_mut() else { return j };
        if self.ingest {
            if let Some(e) = &self.external_id {
                m.insert("externalIdFieldName".into(), json!(e));
            }
            m.insert(
                "contentUrl".into(),
                json!(format!(
                    "services/data/v{}.0/jobs/ingest/{}/batches",
                    self.api_version, self.id
                )),
            );
        }
        if full {
            m.insert(
                "jobType".into(),
                json!(if self.ingest { "V2Ingest" } else { "V2Query" }),
            );
            m.insert("numberRecordsProcessed".into(), json!(self.processed));
            m.insert("retries".into(), json!(0));
            m.insert("totalProcessingTime".into(), json!(self.processing_ms));
            if self.ingest {
                m.insert("numberRecordsFailed".into(), json!(self.failed));
                m.insert("apiActiveProcessingTime".into(), json!(self.processing_ms));
                m.insert("apexProcessingTime".into(), json!(0));
            } else {
                m.insert("isPkChunkingSupported".into(), json!(true));
            }
            if let Some(e) = &self.error {
                m.insert("errorMessage".into(), json!(e));
            }
        }
        j
    }
}

/// All Bulk jobs of the org.
#[derive(Debug, Default)]
pub struct BulkJobs {
    /// By id.
    pub jobs: HashMap<String, Job>,
    next: u64,
    /// Creation times of query jobs (for the daily job allowance).
    query_created: Vec<i64>,
}

const RETENTION_MS: i64 = 7 * 86_400_000;

impl BulkJobs {
    /// A new job id.
    pub fn new_id(&mut self, pod: [u8; 2]) -> String {
        self.next += 1;
        ids::encode_counter("750", pod, 62u64.pow(6) * 2 + self.next)
    }

    /// Drops terminal jobs older than seven days.
    pub fn expire(&mut self, now: i64) {
        self.jobs
            .retain(|_, j| !(j.state.terminal() && now - j.modstamp > RETENTION_MS));
        self.query_created.retain(|t| now - t < 86_400_000);
    }

    /// Records a query job creation.
    pub fn note_query_job(&mut self, now: i64) {
        self.query_created.push(now);
    }

    /// Query jobs created in the last 24 hours.
    pub fn query_jobs_today(&mut self, now: i64) -> u64 {
        self.query_created.retain(|t| now - t < 86_400_000);
        self.query_created.len() as u64
    }
}

/// The job `id` of the right kind, or 404.
pub fn job_not_found(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("Job with id {id} was not found"),
    )
}

/// `{"done":true,"records":[…],"nextRecordsUrl":null}` job lists.
pub fn list(org: &OrgData, jobs: &BulkJobs, ingest: bool, ctx: &Ctx) -> Json {
    let mut v: Vec<&Job> = jobs.jobs.values().filter(|j| j.ingest == ingest).collect();
    v.sort_by_key(|j| (j.created, j.id.clone()));
    let _ = ctx;
    json!({
        "done": true,
        "records": v.iter().map(|j| j.info(org, false)).collect::<Vec<_>>(),
        "nextRecordsUrl": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_escaped() {
        let mut out = Vec::new();
        push_row(
            &mut out,
            Dialect {
                delimiter: b',',
                crlf: true,
            },
            &["a", "b\"c", "line\nbreak", ""],
        );
        assert_eq!(out, b"\"a\",\"b\"\"c\",\"line\nbreak\",\"\"\r\n");
    }
}
