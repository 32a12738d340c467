//! Verified, resumable downloads (research note §3.4, §5).
//!
//! A file is fetched by revision (`rev:…`), not by path, so a rename or a newer revision
//! during the backup cannot hand back other bytes than the ones listed. Bytes stream
//! through as they arrive while [`ContentHasher`] hashes them; at the end the hash and
//! size must match the listing, or the stream fails with
//! [`DropboxError::ContentHashMismatch`] / [`DropboxError::SizeMismatch`] — so a caller
//! writing the bytes must only commit them once the stream has ended cleanly. A dropped
//! connection or a stall resumes with `Range: bytes=<received>-`. The acting member's
//! slot is held while the body streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::CONTENT_RANGE;
use serde_json::json;

use crate::client::TeamClient;
use crate::content_hash::ContentHasher;
use crate::entity::Entity;
use crate::error::DropboxError;
use crate::limiter::MemberPermit;
use crate::metadata::FileEntry;
use crate::observe::{Counters, RetryEvent};
use crate::transport::{Auth, Call, Host, Payload, header_json};

const ROUTE: &str = "files/download";

/// The bytes of one file revision, verified against its listing when the stream ends.
pub struct Download {
    inner: BoxStream<'static, Result<Bytes, DropboxError>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download").finish_non_exhaustive()
    }
}

impl Stream for Download {
    type Item = Result<Bytes, DropboxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct Body {
    bytes: BoxStream<'static, reqwest::Result<Bytes>>,
    /// Leading bytes to drop: a server that ignored `Range` resent them.
    skip: u64,
    _permit: MemberPermit,
}

struct State {
    client: TeamClient,
    entity: Entity,
    file: FileEntry,
    auth: Option<Auth>,
    body: Option<Body>,
    received: u64,
    hasher: ContentHasher,
    resumes: u32,
}

/// Where a `206`'s `Content-Range: bytes a-b/n` starts.
fn range_start(value: &str) -> Option<u64> {
    value
        .trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

impl State {
    async fn open(&mut self) -> Result<(), DropboxError> {
        let auth = match &self.auth {
            Some(a) => a.clone(),
            None => {
                let a = self.client.entity_auth(&self.entity).await?;
                self.auth = Some(a.clone());
                a
            }
        };
        let call = Call {
            route: ROUTE,
            host: Host::Content,
            auth,
            payload: Payload::Download {
                arg: header_json(&json!({ "path": format!("rev:{}", self.file.rev) })),
                from: self.received,
            },
            timeout: None,
        };
        let (response, permit) = self.client.inner.execute(&call).await?;
        if let Some(rev) = response
            .headers()
            .get("dropbox-api-result")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            .and_then(|v| v.get("rev").and_then(|r| r.as_str()).map(str::to_owned))
            && rev != self.file.rev
        {
            return Err(DropboxError::protocol(
                ROUTE,
                format!(
                    "asked for revision {} of {} and got {rev}",
                    self.file.rev, self.file.path_display
                ),
            ));
        }
        let skip = if response.status() == StatusCode::PARTIAL_CONTENT {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start)
                .ok_or_else(|| {
                    DropboxError::protocol(ROUTE, "a partial answer without a usable Content-Range")
                })?;
            if start > self.received {
                return Err(DropboxError::protocol(
                    ROUTE,
                    format!(
                        "asked for bytes from {} and got them from {start}",
                        self.received
                    ),
                ));
            }
            self.received - start
        } else {
            self.received
        };
        self.body = Some(Body {
            bytes: response.bytes_stream().boxed(),
            skip,
            _permit: permit,
        });
        Ok(())
    }

    /// Drops the broken body and decides whether to try again.
    async fn interrupted(&mut self, reason: String) -> Result<(), DropboxError> {
        self.body = None;
        let policy = &self.client.inner.app.config().retry;
        self.resumes += 1;
        if self.resumes > policy.max_download_resumes {
            return Err(DropboxError::DownloadInterrupted {
                path: self.file.path_display.clone(),
                received: self.received,
                reason,
            });
        }
        let wait = policy.backoff(self.resumes);
        Counters::bump(&self.client.inner.counters.download_resumes, 1);
        tracing::warn!(path = %self.file.path_display, received = self.received, %reason, ?wait, "download broke off; resuming");
        self.client.inner.observer.retrying(&RetryEvent {
            route: ROUTE.into(),
            member: match &self.auth {
                Some(Auth::User { team_member_id, .. } | Auth::Admin { team_member_id, .. }) => {
                    Some(team_member_id.clone())
                }
                _ => None,
            },
            cause: reason,
            wait,
            attempt: self.resumes,
        });
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn verify(&self) -> Result<(), DropboxError> {
        if self.received != self.file.size {
            return Err(DropboxError::SizeMismatch {
                path: self.file.path_display.clone(),
                expected: self.file.size,
                actual: self.received,
            });
        }
        if let Some(expected) = self.file.content_hash {
            let actual = self.hasher.clone().finalize();
            if actual != expected {
                return Err(DropboxError::ContentHashMismatch {
                    path: self.file.path_display.clone(),
                    expected: expected.to_hex(),
                    actual: actual.to_hex(),
                });
            }
        }
        Ok(())
    }

    /// The next verified chunk; `None` once everything arrived and matched.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, DropboxError> {
        let idle = self.client.inner.app.config().timeouts.idle;
        loop {
            if self.received == self.file.size && self.body.is_none() && self.resumes > 0 {
                // Broke off right after the last byte: nothing left to fetch.
                self.verify()?;
                return Ok(None);
            }
            let Some(body) = self.body.as_mut() else {
                self.open().await?;
                continue;
            };
            let next = tokio::time::timeout(idle, body.bytes.next()).await;
            match next {
                Ok(Some(Ok(mut chunk))) => {
                    if body.skip > 0 {
                        let drop = usize::try_from(body.skip)
                            .unwrap_or(usize::MAX)
                            .min(chunk.len());
                        chunk = chunk.slice(drop..);
                        body.skip -= drop as u64;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    let len = chunk.len() as u64;
                    if self.received + len > self.file.size {
                        return Err(DropboxError::SizeMismatch {
                            path: self.file.path_display.clone(),
                            expected: self.file.size,
                            actual: self.received + len,
                        });
                    }
                    self.hasher.update(&chunk);
                    self.received += len;
                    Counters::bump(&self.client.inner.counters.bytes_downloaded, len);
                    return Ok(Some(chunk));
                }
                Ok(None) if self.received >= self.file.size => {
                    self.body = None;
                    self.verify()?;
                    return Ok(None);
                }
                Ok(None) => {
                    let reason = format!("the body ended after {} bytes", self.received);
                    self.interrupted(reason).await?;
                }
                Ok(Some(Err(e))) => self.interrupted(e.to_string()).await?,
                Err(_) => {
                    self.interrupted(format!("no data for {idle:?}")).await?;
                }
            }
        }
    }
}

impl TeamClient {
    /// Streams `file`'s listed revision from `entity`'s namespace, verifying size and
    /// `content_hash` at the end (the last item is the error if they differ). Nothing
    /// happens until the stream is polled.
    #[must_use]
    pub fn download(&self, entity: &Entity, file: &FileEntry) -> Download {
        let state = State {
            client: self.clone(),
            entity: entity.clone(),
            file: file.clone(),
            auth: None,
            body: None,
            received: 0,
            hasher: ContentHasher::new(),
            resumes: 0,
        };
        let inner = futures::stream::try_unfold(state, |mut state| async move {
            Ok(state.next_chunk().await?.map(|chunk| (chunk, state)))
        })
        .boxed();
        Download { inner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes */200"), None);
        assert_eq!(range_start("items 1-2/3"), None);
    }
}
