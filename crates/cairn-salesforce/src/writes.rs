//! Writes for restore (research note §2.9, §4.1): sObject Collections create, update and
//! delete, 200 records per call with `allOrNone: false`, and the SOAP partner `undelete`
//! (the only way to bring a record back from the recycle bin with its id). Results come
//! back per item in request order; an HTTP 200 does not mean every item succeeded
//! (pitfall 10: item errors carry `statusCode`). Items refused with `UNABLE_TO_LOCK_ROW`
//! are retried with backoff.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{Body, OrgClient, Request, SESSION_PLACEHOLDER};
use crate::describe::check_object_name;
use crate::error::SalesforceError;
use crate::xml::{esc, parse_xml};

/// Records per sObject Collections call, and ids per `undelete`.
pub const BATCH: usize = 200;
/// Times an item refused with `UNABLE_TO_LOCK_ROW` is sent again.
const LOCK_RETRIES: u32 = 5;

/// Why one item failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteError {
    /// `REQUIRED_FIELD_MISSING`, `DUPLICATE_VALUE`, …
    #[serde(rename = "statusCode")]
    pub status_code: String,
    /// Salesforce's message.
    #[serde(default)]
    pub message: String,
    /// Fields involved.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The outcome of one item, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteResult {
    /// The record id (the new id for a create).
    #[serde(default)]
    pub id: Option<String>,
    /// Whether this item was written.
    pub success: bool,
    /// The errors of a failed item.
    #[serde(default)]
    pub errors: Vec<WriteError>,
}

impl WriteResult {
    fn locked(&self) -> bool {
        !self.success
            && self
                .errors
                .iter()
                .any(|e| e.status_code == "UNABLE_TO_LOCK_ROW")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
}

impl OrgClient {
    /// Creates records of `object` (no `Id`); returns one result per record, in order.
    ///
    /// # Errors
    /// Request-level failures (malformed request, budget, connection); item failures are
    /// in the results.
    pub async fn create_records(
        &self,
        object: &str,
        records: Vec<Map<String, Value>>,
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        self.save(object, records, Op::Create).await
    }

    /// Updates records of `object` (each with its `Id`); one result per record, in order.
    ///
    /// # Errors
    /// As [`OrgClient::create_records`].
    pub async fn update_records(
        &self,
        object: &str,
        records: Vec<Map<String, Value>>,
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        if records
            .iter()
            .any(|r| r.get("Id").and_then(Value::as_str).is_none())
        {
            return Err(SalesforceError::Config(
                "every record to update needs its Id".into(),
            ));
        }
        self.save(object, records, Op::Update).await
    }

    async fn save(
        &self,
        object: &str,
        mut records: Vec<Map<String, Value>>,
        op: Op,
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        check_object_name(object)?;
        for r in &mut records {
            r.insert("attributes".into(), json!({ "type": object }));
        }
        let method = match op {
            Op::Create => Method::POST,
            Op::Update => Method::PATCH,
        };
        let mut out = Vec::with_capacity(records.len());
        for batch in records.chunks(BATCH) {
            let results = self
                .with_lock_retries(batch.len(), |pending: &[usize]| {
                    let body = json!({
                        "allOrNone": false,
                        "records": pending.iter().map(|&i| &batch[i]).collect::<Vec<_>>(),
                    });
                    Request {
                        method: method.clone(),
                        body: Body::Json(body.to_string().into_bytes()),
                        ..Request::get(self.data("/composite/sobjects"))
                    }
                })
                .await?;
            out.extend(results);
        }
        Ok(out)
    }

    /// Deletes records (to the recycle bin); one result per id, in order.
    ///
    /// # Errors
    /// As [`OrgClient::create_records`].
    pub async fn delete_records(
        &self,
        ids: &[String],
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        check_ids(ids)?;
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let results = self
                .with_lock_retries(batch.len(), |pending: &[usize]| {
                    let list: Vec<&str> = pending.iter().map(|&i| batch[i].as_str()).collect();
                    Request {
                        method: Method::DELETE,
                        ..Request::get(self.data("/composite/sobjects"))
                            .param("ids", list.join(","))
                            .param("allOrNone", "false")
                    }
                })
                .await?;
            out.extend(results);
        }
        Ok(out)
    }

    /// Sends `n` items, then again the ones refused with `UNABLE_TO_LOCK_ROW`, with
    /// backoff; `request` builds a call for the given item indexes.
    async fn with_lock_retries(
        &self,
        n: usize,
        request: impl Fn(&[usize]) -> Request,
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        let mut results: Vec<Option<WriteResult>> = vec![None; n];
        let mut pending: Vec<usize> = (0..n).collect();
        let mut round = 0u32;
        while !pending.is_empty() {
            let req = request(&pending);
            let path = req.path.clone();
            let answer: Vec<WriteResult> = self.get_json(req).await?;
            if answer.len() != pending.len() {
                return Err(SalesforceError::protocol(
                    &path,
                    format!("{} results for {} items", answer.len(), pending.len()),
                ));
            }
            let mut again = Vec::new();
            for (&i, r) in pending.iter().zip(answer) {
                if r.locked() && round < LOCK_RETRIES {
                    again.push(i);
                }
                results[i] = Some(r);
            }
            if !again.is_empty() {
                round += 1;
                tokio::time::sleep(self.config().retry.backoff(round)).await;
            }
            pending = again;
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Brings records back from the recycle bin with their ids (SOAP `undelete`, 200 ids
    /// per call); one result per id, in order.
    ///
    /// # Errors
    /// SOAP faults, budget and connection errors; item failures are in the results.
    pub async fn undelete_records(
        &self,
        ids: &[String],
    ) -> Result<Vec<WriteResult>, SalesforceError> {
        check_ids(ids)?;
        let path = format!("/services/Soap/u/{}", self.config().api_version);
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let list: String = batch
                .iter()
                .map(|id| format!("<ids>{}</ids>", esc(id)))
                .collect();
            let envelope = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Header xmlns=\"urn:partner.soap.sforce.com\"><SessionHeader><sessionId>{SESSION_PLACEHOLDER}</sessionId></SessionHeader></soapenv:Header><soapenv:Body xmlns=\"urn:partner.soap.sforce.com\"><undelete>{list}</undelete></soapenv:Body></soapenv:Envelope>"
            );
            let req = Request {
                method: Method::POST,
                body: Body::Soap {
                    action: "\"\"".into(),
                    envelope,
                },
                ..Request::get(path.clone())
            };
            let text = self.send(req).await?.text().await.map_err(|source| {
                SalesforceError::Transport {
                    path: path.clone(),
                    attempts: 1,
                    source,
                }
            })?;
            let bad = |message: String| SalesforceError::Soap {
                operation: "undelete".into(),
                message,
            };
            let root = parse_xml(&text).map_err(|e| bad(format!("the answer is not XML: {e}")))?;
            let response = root
                .find("undeleteResponse")
                .ok_or_else(|| bad("no undeleteResponse in the answer".into()))?;
            let results: Vec<WriteResult> = response
                .all("result")
                .map(|r| WriteResult {
                    id: r.text_of("id").filter(|s| !s.is_empty()).map(str::to_owned),
                    success: r.text_of("success") == Some("true"),
                    errors: r
                        .all("errors")
                        .map(|e| WriteError {
                            status_code: e.text_of("statusCode").unwrap_or_default().to_owned(),
                            message: e.text_of("message").unwrap_or_default().to_owned(),
                            fields: e.all("fields").map(|f| f.text.clone()).collect(),
                        })
                        .collect(),
                })
                .collect();
            if results.len() != batch.len() {
                return Err(bad(format!(
                    "{} results for {} ids",
                    results.len(),
                    batch.len()
                )));
            }
            out.extend(results);
        }
        Ok(out)
    }
}

fn check_ids(ids: &[String]) -> Result<(), SalesforceError> {
    match ids
        .iter()
        .find(|id| !(15..=18).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        Some(bad) => Err(SalesforceError::Config(format!(
            "{bad:?} is not a record id"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_results_parse_with_status_codes() {
        let body = r#"[{"id":"001RM000003oLruYAE","success":true,"errors":[]},
            {"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"x","fields":[]}]}]"#;
        let r: Vec<WriteResult> = serde_json::from_str(body).unwrap();
        assert!(r[0].success && !r[0].locked());
        assert!(r[1].locked() && r[1].id.is_none());
    }

    #[test]
    fn ids_are_checked() {
        check_ids(&["001000000000001AAA".into()]).unwrap();
        assert!(check_ids(&["001,002".into()]).is_err());
    }
}
