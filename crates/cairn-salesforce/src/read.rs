//! The incremental read of one object (research note §2.4, §2.6, §3.1): from a
//! [`Checkpoint`], page by page, each page with the checkpoint to persist after storing
//! it, so a killed job resumes where it stopped.
//!
//! - REST: `queryAll` (soft-deleted rows included) of
//!   `SystemModstamp >= watermark - overlap ORDER BY SystemModstamp, Id`, following
//!   `nextRecordsUrl` verbatim. Pages are as big as Salesforce makes them (≤ batchSize).
//! - Bulk API 2.0: when `COUNT()` of the rows to read passes
//!   [`crate::SalesforceConfig::bulk_threshold`] (and the object has no binary fields,
//!   which Bulk cannot select), a `queryAll` job without `ORDER BY` (it would disable PK
//!   chunking), its CSV results chunk by chunk with `Sforce-Locator`. Objects whose
//!   select list would make the GET URI too long (414, §2.4) are read with Bulk too.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::{OrgClient, Request};
use crate::describe::ObjectSchema;
use crate::error::SalesforceError;
use crate::record::{self, RecordVersion, parse_datetime, soql_datetime};
use crate::watermark::{Checkpoint, Cursor};

/// SOQL longer than this is not sent in a GET URI: URI and headers must stay under
/// 16,384 bytes, and field names grow when URL-encoded.
const MAX_REST_SOQL: usize = 10_000;

/// Which API a page came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// REST `queryAll` pages.
    Rest,
    /// Bulk API 2.0 query results.
    Bulk,
}

/// One page of record versions and the checkpoint to persist once they are stored.
#[derive(Debug, Clone)]
pub struct Page {
    /// New record versions (never one already read by an earlier page or run).
    pub records: Vec<RecordVersion>,
    /// Where the read stands after this page.
    pub checkpoint: Checkpoint,
    /// The API used.
    pub path: ReadPath,
}

/// An incremental read of one object. Call [`RecordReader::next_page`] until `None`.
#[derive(Debug)]
pub struct RecordReader {
    client: OrgClient,
    schema: Arc<ObjectSchema>,
    checkpoint: Checkpoint,
}

#[derive(Deserialize)]
struct QueryPage {
    #[serde(rename = "totalSize", default)]
    total_size: u64,
    #[serde(rename = "nextRecordsUrl", default)]
    next_records_url: Option<String>,
    #[serde(default)]
    records: Vec<Map<String, Value>>,
}

impl OrgClient {
    /// Starts (or resumes) reading `schema`'s object from `checkpoint`.
    ///
    /// # Errors
    /// [`SalesforceError::Config`] for an object without `SystemModstamp`.
    pub fn read_records(
        &self,
        schema: Arc<ObjectSchema>,
        checkpoint: Checkpoint,
    ) -> Result<RecordReader, SalesforceError> {
        if !schema.is_incremental() {
            return Err(SalesforceError::Config(format!(
                "{} has no SystemModstamp and cannot be read incrementally",
                schema.name
            )));
        }
        Ok(RecordReader {
            client: self.clone(),
            schema,
            checkpoint,
        })
    }

    /// How many rows (deleted ones included) a read from `checkpoint` would fetch:
    /// `SELECT COUNT()` with the same filter.
    ///
    /// # Errors
    /// API, budget and connection errors.
    pub async fn count_rows(
        &self,
        schema: &ObjectSchema,
        checkpoint: &Checkpoint,
    ) -> Result<u64, SalesforceError> {
        let soql = format!(
            "SELECT COUNT() FROM {}{}",
            schema.name,
            where_clause(self, checkpoint)
        );
        let page: QueryPage = self.get_json(query_request(self, schema, &soql)).await?;
        Ok(page.total_size)
    }
}

impl OrgClient {
    /// A live read of named records (compare against production, restore checks): the
    /// current version of each id in canonical form, `None` for ids that are not live
    /// (deleted or never existed). sObject Collections retrieve, 2,000 ids per call.
    ///
    /// # Errors
    /// Bad ids, API, budget and connection errors.
    pub async fn fetch_records(
        &self,
        schema: &ObjectSchema,
        ids: &[String],
    ) -> Result<Vec<Option<RecordVersion>>, SalesforceError> {
        const IDS_PER_CALL: usize = 2_000;
        crate::describe::check_object_name(&schema.name)?;
        if let Some(bad) = ids.iter().find(|id| {
            !(15..=18).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric())
        }) {
            return Err(SalesforceError::Config(format!(
                "{bad:?} is not a record id"
            )));
        }
        let fields: Vec<&str> = schema
            .selected_fields(true)
            .map(|f| f.name.as_str())
            .collect();
        let path = self.data(&format!("/composite/sobjects/{}", schema.name));
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(IDS_PER_CALL) {
            let body = serde_json::json!({ "ids": batch, "fields": fields });
            let req = Request {
                method: reqwest::Method::POST,
                body: crate::client::Body::Json(body.to_string().into_bytes()),
                ..Request::get(path.clone())
            };
            let records: Vec<Option<Map<String, Value>>> = self.get_json(req).await?;
            if records.len() != batch.len() {
                return Err(SalesforceError::protocol(
                    &path,
                    format!("{} records for {} ids", records.len(), batch.len()),
                ));
            }
            for r in records {
                out.push(match r {
                    Some(r) => Some(
                        record::from_json(schema, r)
                            .map_err(|e| SalesforceError::protocol(&path, e.0))?,
                    ),
                    None => None,
                });
            }
        }
        Ok(out)
    }
}

fn where_clause(client: &OrgClient, checkpoint: &Checkpoint) -> String {
    checkpoint
        .watermark
        .lower_bound(client.config().watermark_overlap)
        .map(|lb| format!(" WHERE SystemModstamp >= {}", soql_datetime(lb)))
        .unwrap_or_default()
}

/// `queryAll` where the object has `IsDeleted` (recycle bin), `query` otherwise.
fn query_request(client: &OrgClient, schema: &ObjectSchema, soql: &str) -> Request {
    let resource = if schema.has_field("IsDeleted") {
        "/queryAll/"
    } else {
        "/query/"
    };
    Request::get(client.data(resource)).param("q", soql).header(
        "Sforce-Query-Options",
        format!("batchSize={}", client.config().query_batch_size),
    )
}

/// The fields a read selects, comma-separated.
pub(crate) fn field_list(schema: &ObjectSchema, with_blobs: bool) -> String {
    schema
        .selected_fields(with_blobs)
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl RecordReader {
    /// Where the read stands (after the last page returned).
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The object being read.
    #[must_use]
    pub fn schema(&self) -> &ObjectSchema {
        &self.schema
    }

    /// The next page, or `None` when the read is complete.
    ///
    /// # Errors
    /// API errors; [`SalesforceError::BudgetExhausted`] and
    /// [`SalesforceError::Disconnected`] leave the checkpoint at the last page, so the
    /// next run resumes there.
    pub async fn next_page(&mut self) -> Result<Option<Page>, SalesforceError> {
        loop {
            match self.checkpoint.cursor.clone() {
                Cursor::Done => return Ok(None),
                Cursor::Start => {
                    let config = self.client.config();
                    let soql = format!(
                        "SELECT {} FROM {}{} ORDER BY SystemModstamp ASC, Id ASC",
                        field_list(&self.schema, true),
                        self.schema.name,
                        where_clause(&self.client, &self.checkpoint)
                    );
                    // A select list that would not fit a GET URI (414, §2.4) goes to Bulk,
                    // whose query travels in a POST body.
                    let too_wide = soql.len() > MAX_REST_SOQL;
                    let use_bulk = !self.schema.has_blobs()
                        && (too_wide
                            || (config.bulk_threshold != u64::MAX
                                && self
                                    .client
                                    .count_rows(&self.schema, &self.checkpoint)
                                    .await?
                                    > config.bulk_threshold));
                    if use_bulk {
                        let job_id = self.start_bulk_job().await?;
                        self.checkpoint.cursor = Cursor::Bulk {
                            job_id,
                            locator: None,
                            base: self.checkpoint.watermark.clone(),
                        };
                        continue;
                    }
                    let req = query_request(&self.client, &self.schema, &soql);
                    let page: QueryPage = self.client.get_json(req).await?;
                    return self.rest_page(page).map(Some);
                }
                Cursor::Rest { next_records_url } => {
                    match self
                        .client
                        .get_json::<QueryPage>(Request::get(next_records_url))
                        .await
                    {
                        Ok(page) => return self.rest_page(page).map(Some),
                        Err(e) if e.error_code() == Some("INVALID_QUERY_LOCATOR") => {
                            // Expired cursor: the watermark is exact for ordered reads.
                            tracing::info!(object = %self.schema.name, "query locator expired; querying again from the watermark");
                            self.checkpoint.cursor = Cursor::Start;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Cursor::Bulk {
                    job_id,
                    locator,
                    base,
                } => match self.bulk_chunk(&job_id, locator.as_deref(), &base).await {
                    Ok(page) => return Ok(Some(page)),
                    Err(e) if e.kind() == crate::ErrorKind::NotFound => {
                        tracing::info!(object = %self.schema.name, %job_id, "Bulk job is gone; reading again from its start");
                        self.checkpoint = Checkpoint {
                            watermark: base,
                            cursor: Cursor::Start,
                        };
                    }
                    Err(e) => return Err(e),
                },
            }
        }
    }

    fn rest_page(&mut self, page: QueryPage) -> Result<Page, SalesforceError> {
        let mut records = Vec::with_capacity(page.records.len());
        let mut watermark = self.checkpoint.watermark.clone();
        for r in page.records {
            let (Some(id), Some(stamp)) = (
                r.get("Id").and_then(Value::as_str),
                r.get("SystemModstamp")
                    .and_then(Value::as_str)
                    .and_then(parse_datetime),
            ) else {
                return Err(SalesforceError::protocol(
                    &self.schema.name,
                    "a query record lacks Id or SystemModstamp",
                ));
            };
            if !watermark.admit(id, stamp) {
                continue;
            }
            let version = record::from_json(&self.schema, r)
                .map_err(|e| SalesforceError::protocol(&self.schema.name, e.0))?;
            records.push(version);
        }
        watermark.prune(self.client.config().watermark_overlap);
        self.checkpoint = Checkpoint {
            watermark,
            cursor: match page.next_records_url {
                Some(next_records_url) => Cursor::Rest { next_records_url },
                None => Cursor::Done,
            },
        };
        Ok(Page {
            records,
            checkpoint: self.checkpoint.clone(),
            path: ReadPath::Rest,
        })
    }

    async fn start_bulk_job(&self) -> Result<String, SalesforceError> {
        let soql = format!(
            "SELECT {} FROM {}{}",
            field_list(&self.schema, false),
            self.schema.name,
            where_clause(&self.client, &self.checkpoint)
        );
        let operation = if self.schema.has_field("IsDeleted") {
            "queryAll"
        } else {
            "query"
        };
        crate::bulk::create_query_job(&self.client, operation, &soql).await
    }

    async fn bulk_chunk(
        &mut self,
        job_id: &str,
        locator: Option<&str>,
        base: &crate::watermark::Watermark,
    ) -> Result<Page, SalesforceError> {
        if locator.is_none() {
            // Later chunks exist only once the job is complete.
            crate::bulk::wait_for_job(&self.client, job_id).await?;
        }
        let chunk = crate::bulk::results(&self.client, job_id, locator).await?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(chunk.body.as_ref());
        let names = reader
            .headers()
            .map_err(|e| SalesforceError::protocol(job_id, format!("bad CSV header: {e}")))?
            .clone();
        let mut header = Vec::with_capacity(names.len());
        for name in &names {
            let field_type = self.schema.field_type(name).ok_or_else(|| {
                SalesforceError::protocol(job_id, format!("unexpected CSV column {name}"))
            })?;
            header.push((name.to_owned(), field_type.to_owned()));
        }
        let id_col = header.iter().position(|(n, _)| n == "Id");
        let stamp_col = header.iter().position(|(n, _)| n == "SystemModstamp");
        let (Some(id_col), Some(stamp_col)) = (id_col, stamp_col) else {
            return Err(SalesforceError::protocol(
                job_id,
                "the results lack Id or SystemModstamp",
            ));
        };
        let mut watermark = self.checkpoint.watermark.clone();
        let mut records = Vec::new();
        let mut row = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(SalesforceError::protocol(
                        job_id,
                        format!("bad CSV row: {e}"),
                    ));
                }
            }
            let id = row.get(id_col).unwrap_or_default();
            let Some(stamp) = row.get(stamp_col).and_then(parse_datetime) else {
                return Err(SalesforceError::protocol(
                    job_id,
                    "a row has no SystemModstamp",
                ));
            };
            if !watermark.admit(id, stamp) {
                continue;
            }
            let version = record::from_csv(&self.schema, &header, &row)
                .map_err(|e| SalesforceError::protocol(job_id, e.0))?;
            records.push(version);
        }
        watermark.prune(self.client.config().watermark_overlap);
        self.checkpoint = Checkpoint {
            watermark,
            cursor: match chunk.next_locator {
                Some(next) => Cursor::Bulk {
                    job_id: job_id.to_owned(),
                    locator: Some(next),
                    base: base.clone(),
                },
                None => Cursor::Done,
            },
        };
        Ok(Page {
            records,
            checkpoint: self.checkpoint.clone(),
            path: ReadPath::Bulk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs run reads on a multi-threaded runtime: every public future must be `Send`.
    #[test]
    fn public_futures_are_send() {
        fn send<T: Send>(_: T) {}
        fn check(r: &mut RecordReader, c: &OrgClient, s: &ObjectSchema) {
            send(r.next_page());
            send(c.count_rows(s, &Checkpoint::full()));
            send(c.blob("Attachment", "00P000000000000AAA", "Body"));
            send(c.deleted_since("Account", &crate::DeleteCursor::default()));
            send(c.all_ids(s));
            send(c.retrieve_metadata(&[]));
            send(c.undelete_records(&[]));
            send(c.create_records("Account", Vec::new()));
            send(c.load_limits());
            send(c.fetch_records(s, &[]));
        }
        let _ = check;
    }
}
