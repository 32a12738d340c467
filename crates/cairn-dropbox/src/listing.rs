//! Incremental listing of one entity (research note §2.2 steps 4–5, §3.2).
//!
//! Without a cursor: `files/list_folder` of the namespace root, recursive, without
//! deleted entries and without mounted folders, then `continue` until `has_more` is false.
//! With a cursor: `continue` from it, which reports changes — deletions included — since
//! the cursor was taken. Each page comes with the cursor that follows it: persist that
//! cursor only once the page is applied, and a crash resumes exactly there. A `reset`
//! answer ends the stream with [`DropboxError::CursorReset`]: list again from scratch and
//! reconcile (what the full listing lacks was deleted).

use std::time::Duration;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::TeamClient;
use crate::entity::Entity;
use crate::error::DropboxError;
use crate::metadata::{Change, MetadataWire};
use crate::transport::{Auth, Host};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    /// Entries, to apply in order.
    pub changes: Vec<Change>,
    /// The cursor after this page: persist it once the page is applied.
    pub cursor: String,
    /// Whether more pages follow (the stream yields them).
    pub has_more: bool,
}

/// What a long-poll saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollResult {
    /// Whether the cursor has changes to list.
    pub changes: bool,
    /// Wait this long before polling again, when Dropbox asks.
    pub backoff: Option<Duration>,
}

#[derive(Debug, Deserialize)]
struct PageWire {
    entries: Vec<MetadataWire>,
    cursor: String,
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct CursorWire {
    cursor: String,
}

#[derive(Debug, Deserialize)]
struct PollWire {
    changes: bool,
    #[serde(default)]
    backoff: Option<u64>,
}

enum Next {
    Start,
    Continue(String),
    Done,
}

impl TeamClient {
    fn list_arg(&self) -> Value {
        json!({
            "path": "",
            "recursive": true,
            "include_deleted": false,
            "include_mounted_folders": false,
            "include_non_downloadable_files": true,
            "limit": self.inner.app.config().list_page_limit,
        })
    }

    async fn list_page(&self, auth: &Auth, next: &Next) -> Result<ListPage, DropboxError> {
        let (route, arg) = match next {
            Next::Continue(cursor) => ("files/list_folder/continue", json!({ "cursor": cursor })),
            Next::Start | Next::Done => ("files/list_folder", self.list_arg()),
        };
        let page: PageWire = self
            .inner
            .rpc(route, Host::Api, auth.clone(), &arg)
            .await
            .map_err(|e| match e {
                e if route == "files/list_folder/continue"
                    && e.tags().first().is_some_and(|t| t == "reset") =>
                {
                    DropboxError::CursorReset
                }
                other => other,
            })?;
        let mut changes = Vec::with_capacity(page.entries.len());
        for entry in page.entries {
            if let Some(change) = entry.into_change(route)? {
                changes.push(change);
            }
        }
        Ok(ListPage {
            changes,
            cursor: page.cursor,
            has_more: page.has_more,
        })
    }

    /// Lists `entity` from `cursor` (or in full when `None`) as a stream of pages; the
    /// last page has `has_more == false` and its cursor is the next run's checkpoint.
    /// Pages are fetched one at a time, as they are consumed: listings of one namespace
    /// are never run in parallel (pitfall 15).
    ///
    /// Errors end the stream: [`DropboxError::CursorReset`] when the cursor is no longer
    /// valid, any other [`DropboxError`] otherwise.
    pub fn list_changes(
        &self,
        entity: &Entity,
        cursor: Option<&str>,
    ) -> impl Stream<Item = Result<ListPage, DropboxError>> + Send + 'static {
        let client = self.clone();
        let entity = entity.clone();
        let first = match cursor {
            Some(c) => Next::Continue(c.to_owned()),
            None => Next::Start,
        };
        futures::stream::try_unfold(
            (client, entity, None::<Auth>, first),
            |(client, entity, auth, next)| async move {
                if matches!(next, Next::Done) {
                    return Ok(None);
                }
                let auth = match auth {
                    Some(a) => a,
                    None => client.entity_auth(&entity).await?,
                };
                let page = client.list_page(&auth, &next).await?;
                tracing::debug!(entity = %entity.id, entries = page.changes.len(), has_more = page.has_more, "listed a page");
                let after = if page.has_more {
                    Next::Continue(page.cursor.clone())
                } else {
                    Next::Done
                };
                Ok(Some((page, (client, entity, Some(auth), after))))
            },
        )
    }

    /// A cursor for the entity's current state without listing it
    /// (`list_folder/get_latest_cursor`): changes after this moment will be reported.
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn latest_cursor(&self, entity: &Entity) -> Result<String, DropboxError> {
        let auth = self.entity_auth(entity).await?;
        let wire: CursorWire = self
            .inner
            .rpc(
                "files/list_folder/get_latest_cursor",
                Host::Api,
                auth,
                &self.list_arg(),
            )
            .await?;
        Ok(wire.cursor)
    }

    /// Waits up to `timeout` (30..=480 s; Dropbox adds up to 90 s of jitter) for changes
    /// after `cursor` (`list_folder/longpoll` on the notify host, unauthenticated).
    ///
    /// # Errors
    /// [`DropboxError::CursorReset`] when the cursor is no longer valid; any other
    /// [`DropboxError`].
    pub async fn wait_for_changes(
        &self,
        cursor: &str,
        timeout: Duration,
    ) -> Result<PollResult, DropboxError> {
        let secs = timeout.as_secs().clamp(30, 480);
        let call = crate::transport::Call {
            route: "files/list_folder/longpoll",
            host: Host::Notify,
            auth: Auth::None,
            payload: crate::transport::Payload::Rpc(
                json!({ "cursor": cursor, "timeout": secs })
                    .to_string()
                    .into_bytes(),
            ),
            timeout: Some(Duration::from_secs(secs + 90)),
        };
        let (response, _permit) = self.inner.execute(&call).await.map_err(|e| match e {
            e if e.tags().first().is_some_and(|t| t == "reset") => DropboxError::CursorReset,
            other => other,
        })?;
        let wire: PollWire = response.json().await.map_err(|e| {
            DropboxError::protocol(call.route, format!("the answer does not parse: {e}"))
        })?;
        Ok(PollResult {
            changes: wire.changes,
            backoff: wire.backoff.map(Duration::from_secs),
        })
    }
}
