//! Blob bodies (research note §2.11): `ContentVersion.VersionData`, `Attachment.Body`,
//! `Document.Body` (any `base64` field) are read from
//! `…/sobjects/{Obj}/{id}/{Field}` as a byte stream — never through query results (which
//! hold a URL) or Bulk (which cannot select them), and never buffered whole.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::client::{OrgClient, Request};
use crate::describe::check_object_name;
use crate::error::SalesforceError;

/// The bytes of a blob as they arrive.
pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, SalesforceError>> + Send>>;

/// An open blob download.
pub struct Blob {
    /// `Content-Length`, when sent.
    pub length: Option<u64>,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// The body.
    pub stream: BlobStream,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("length", &self.length)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl OrgClient {
    /// Opens the body of a binary field of one record.
    ///
    /// # Errors
    /// A bad object, id or field name; API errors (`NOT_FOUND` when the record or its
    /// body is gone), budget and connection errors. Errors while streaming come through
    /// the stream.
    pub async fn blob(&self, object: &str, id: &str, field: &str) -> Result<Blob, SalesforceError> {
        check_object_name(object)?;
        check_object_name(field)?;
        if !(15..=18).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SalesforceError::Config(format!(
                "{id:?} is not a record id"
            )));
        }
        let path = self.data(&format!("/sobjects/{object}/{id}/{field}"));
        let mut req = Request::get(path.clone());
        req.stream = true;
        let response = self.send(req).await?;
        self.stats().count_blob_download();
        let length = response.content_length();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let stream = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|source| SalesforceError::Transport {
                path: path.clone(),
                attempts: 1,
                source,
            })
        });
        Ok(Blob {
            length,
            content_type,
            stream: Box::pin(stream),
        })
    }
}
