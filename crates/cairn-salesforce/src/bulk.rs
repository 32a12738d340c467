//! Bulk API 2.0 query jobs (research note §3.1): create, poll with backoff until
//! `JobComplete`, and fetch the CSV results one `maxRecords` chunk at a time following
//! `Sforce-Locator` (the string `null` at the end, pitfall 14). A locator stays valid as
//! long as the job exists, which is what makes a Bulk read resumable.

use bytes::Bytes;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Body, OrgClient, Request};
use crate::error::SalesforceError;

/// One results chunk.
pub(crate) struct Chunk {
    /// CSV, header row included.
    pub body: Bytes,
    /// The locator of the next chunk; `None` at the end.
    pub next_locator: Option<String>,
}

/// Creates a query job; returns its id.
pub(crate) async fn create_query_job(
    client: &OrgClient,
    operation: &str,
    soql: &str,
) -> Result<String, SalesforceError> {
    let body = json!({
        "operation": operation,
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    });
    let path = client.data("/jobs/query");
    let req = Request {
        method: Method::POST,
        body: Body::Json(body.to_string().into_bytes()),
        ..Request::get(path.clone())
    };
    let info: Value = client.get_json(req).await?;
    info["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SalesforceError::protocol(&path, "the job answer has no id"))
}

/// Polls the job until it completes.
pub(crate) async fn wait_for_job(client: &OrgClient, job_id: &str) -> Result<(), SalesforceError> {
    let policy = &client.config().retry;
    let started = tokio::time::Instant::now();
    let mut attempt = 0u32;
    loop {
        let info: Value = client
            .get_json(Request::get(client.data(&format!("/jobs/query/{job_id}"))))
            .await?;
        match info["state"].as_str().unwrap_or("") {
            "JobComplete" => return Ok(()),
            state @ ("Failed" | "Aborted") => {
                return Err(SalesforceError::BulkJob {
                    job_id: job_id.to_owned(),
                    state: state.to_owned(),
                    message: info["errorMessage"].as_str().unwrap_or("").to_owned(),
                });
            }
            _ => {}
        }
        if started.elapsed() > policy.poll_timeout {
            return Err(SalesforceError::Timeout {
                what: format!("Bulk query job {job_id}"),
                seconds: policy.poll_timeout.as_secs(),
            });
        }
        tokio::time::sleep(policy.poll_wait(attempt)).await;
        attempt += 1;
    }
}

/// Fetches the results chunk at `locator` (`None`: the first).
pub(crate) async fn results(
    client: &OrgClient,
    job_id: &str,
    locator: Option<&str>,
) -> Result<Chunk, SalesforceError> {
    let path = client.data(&format!("/jobs/query/{job_id}/results"));
    let mut req = Request::get(path.clone())
        .param("maxRecords", client.config().bulk_chunk_records.to_string())
        .header("Accept", "text/csv");
    req.stream = true;
    if let Some(l) = locator {
        req = req.param("locator", l);
    }
    let response = client.send(req).await?;
    let next_locator = response
        .headers()
        .get("sforce-locator")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "null")
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|source| SalesforceError::Transport {
            path,
            attempts: 1,
            source,
        })?;
    Ok(Chunk { body, next_locator })
}
