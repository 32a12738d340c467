//! Writes for restore (research note §3.5–§3.7, pitfalls 16–19): folders, uploads up to
//! 150 MiB in one call, larger files through an upload session in 4 MiB-aligned chunks
//! (resuming after a lost answer via `correct_offset`), and `files/restore`, which brings
//! back a revision Dropbox still has without re-uploading it.
//!
//! Every call carries the `content_hash` of its own bytes, so Dropbox rejects corrupted
//! transfers, and the finished file's hash is checked against what was sent. Hashing runs
//! on the blocking pool: a chunk is tens of MiB. Writes act as the entity's member
//! (Select-User) or, for folders read through the admin, as the admin.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::TeamClient;
use crate::content_hash::{ContentHash, block_digests, combine_blocks};
use crate::entity::Entity;
use crate::error::DropboxError;
use crate::metadata::{FileEntry, FileWire, FolderEntry, FolderWire};
use crate::transport::{Auth, Call, Host, Payload, header_json};

/// Dropbox's limit for the bytes of one request.
pub const MAX_SINGLE_UPLOAD: usize = 150 * 1024 * 1024;

/// What to do when the path is taken (pitfall 19: pick explicitly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Never overwrite: identical content is a no-op, different content conflicts (or is
    /// renamed with `autorename`).
    Add,
    /// Always replace.
    Overwrite,
    /// Replace only if the current revision is this one.
    Update(String),
}

/// Where and how to write a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Path in the entity's namespace, e.g. `/Projects/Plan.docx`.
    pub path: String,
    /// Conflict behaviour.
    pub mode: WriteMode,
    /// On conflict, write as `name (1).ext` instead of failing.
    pub autorename: bool,
    /// Modification time to show (restore the original one).
    pub client_modified: Option<DateTime<Utc>>,
    /// Don't notify the member's devices.
    pub mute: bool,
    /// Treat identical content as a conflict too.
    pub strict_conflict: bool,
}

impl Commit {
    /// `add`, no autorename, muted: a restore that never overwrites silently.
    #[must_use]
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            mode: WriteMode::Add,
            autorename: false,
            client_modified: None,
            mute: true,
            strict_conflict: false,
        }
    }

    fn to_json(&self) -> Value {
        let mode = match &self.mode {
            WriteMode::Add => json!("add"),
            WriteMode::Overwrite => json!("overwrite"),
            WriteMode::Update(rev) => json!({ ".tag": "update", "update": rev }),
        };
        let mut v = json!({
            "path": self.path,
            "mode": mode,
            "autorename": self.autorename,
            "mute": self.mute,
            "strict_conflict": self.strict_conflict,
        });
        if let Some(at) = self.client_modified {
            v["client_modified"] = json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        v
    }
}

#[derive(Debug, Deserialize)]
struct FolderResult {
    metadata: FolderWire,
}

#[derive(Debug, Deserialize)]
struct SessionStart {
    session_id: String,
}

/// Block digests of a chunk, off the async threads.
async fn digests(chunk: Bytes) -> Result<Vec<[u8; 32]>, DropboxError> {
    tokio::task::spawn_blocking(move || block_digests(&chunk))
        .await
        .map_err(|e| DropboxError::protocol("content_hash", format!("hashing failed: {e}")))
}

impl TeamClient {
    async fn write_rpc<T: DeserializeOwned>(
        &self,
        entity: &Entity,
        route: &'static str,
        arg: &Value,
    ) -> Result<T, DropboxError> {
        let auth = self.entity_auth(entity).await?;
        self.inner.rpc(route, Host::Api, auth, arg).await
    }

    /// One upload-style call; its JSON answer.
    async fn upload_call<T: DeserializeOwned>(
        &self,
        auth: &Auth,
        route: &'static str,
        arg: &Value,
        body: Bytes,
    ) -> Result<T, DropboxError> {
        let config = self.inner.app.config();
        // Allow at least 1 MiB/s on top of the usual request time.
        let timeout = config.timeouts.request + Duration::from_secs(body.len() as u64 >> 20);
        let call = Call {
            route,
            host: Host::Content,
            auth: auth.clone(),
            payload: Payload::Upload {
                arg: header_json(arg),
                body,
            },
            timeout: Some(timeout),
        };
        let (response, _permit) = self.inner.execute(&call).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|source| DropboxError::Transport {
                route: route.into(),
                attempts: 1,
                source,
            })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| DropboxError::protocol(route, format!("the answer does not parse: {e}")))
    }

    /// Creates a folder (and missing parents). An existing folder is a conflict error
    /// ([`DropboxError::is_conflict`]).
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn create_folder(
        &self,
        entity: &Entity,
        path: &str,
    ) -> Result<FolderEntry, DropboxError> {
        const ROUTE: &str = "files/create_folder_v2";
        let result: FolderResult = self
            .write_rpc(entity, ROUTE, &json!({ "path": path, "autorename": false }))
            .await?;
        result.metadata.into_entry(ROUTE)
    }

    /// Makes revision `rev` the current content of `path` again (no data transfer, history
    /// kept). Prefer this to re-uploading when Dropbox still has the revision.
    ///
    /// # Errors
    /// Any [`DropboxError`] (`invalid_revision` when Dropbox no longer has it).
    pub async fn restore_revision(
        &self,
        entity: &Entity,
        path: &str,
        rev: &str,
    ) -> Result<FileEntry, DropboxError> {
        const ROUTE: &str = "files/restore";
        let file: FileWire = self
            .write_rpc(entity, ROUTE, &json!({ "path": path, "rev": rev }))
            .await?;
        file.into_entry(ROUTE)
    }

    /// Uploads a file of at most 150 MiB in one call.
    ///
    /// # Errors
    /// [`DropboxError::Config`] for more than 150 MiB (use [`TeamClient::upload_stream`]),
    /// any other [`DropboxError`].
    pub async fn upload(
        &self,
        entity: &Entity,
        commit: &Commit,
        data: Bytes,
    ) -> Result<FileEntry, DropboxError> {
        if data.len() > MAX_SINGLE_UPLOAD {
            return Err(DropboxError::Config(format!(
                "{} bytes is more than one upload call carries; use upload_stream",
                data.len()
            )));
        }
        let auth = self.entity_auth(entity).await?;
        let hash = combine_blocks(&digests(data.clone()).await?);
        self.upload_whole(&auth, commit, data, hash).await
    }

    async fn upload_whole(
        &self,
        auth: &Auth,
        commit: &Commit,
        data: Bytes,
        hash: ContentHash,
    ) -> Result<FileEntry, DropboxError> {
        const ROUTE: &str = "files/upload";
        let mut arg = commit.to_json();
        arg["content_hash"] = json!(hash.to_hex());
        let file: FileWire = self.upload_call(auth, ROUTE, &arg, data).await?;
        let entry = file.into_entry(ROUTE)?;
        check_written(&entry, hash)?;
        Ok(entry)
    }

    /// Uploads a file of any size from a stream: one call when it fits in one chunk
    /// ([`crate::DropboxConfig::upload_chunk_size`]), an upload session otherwise. At most
    /// one chunk is held in memory.
    ///
    /// # Errors
    /// [`DropboxError::Input`] when the stream fails, any other [`DropboxError`].
    pub async fn upload_stream<S, E>(
        &self,
        entity: &Entity,
        commit: &Commit,
        content: S,
    ) -> Result<FileEntry, DropboxError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::error::Error + Send + Sync + 'static,
    {
        let chunk_size = self.inner.app.config().upload_chunk_size;
        let auth = self.entity_auth(entity).await?;
        let mut content = std::pin::pin!(content);
        let mut buffer = BytesMut::new();
        let mut all_digests: Vec<[u8; 32]> = Vec::new();
        let mut session: Option<String> = None;
        let mut offset = 0u64;
        loop {
            let mut ended = false;
            while buffer.len() < chunk_size {
                match content.next().await {
                    Some(Ok(piece)) => buffer.extend_from_slice(&piece),
                    Some(Err(e)) => {
                        return Err(DropboxError::Input {
                            source: Box::new(e),
                        });
                    }
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            let take = buffer.len().min(chunk_size);
            let chunk = buffer.split_to(take).freeze();
            let chunk_digests = digests(chunk.clone()).await?;
            let chunk_hash = combine_blocks(&chunk_digests);
            all_digests.extend_from_slice(&chunk_digests);
            if ended && buffer.is_empty() {
                let whole = combine_blocks(&all_digests);
                let Some(id) = session else {
                    return self.upload_whole(&auth, commit, chunk, whole).await;
                };
                return self
                    .finish_session(&auth, commit, &id, offset, chunk, chunk_hash, whole)
                    .await;
            }
            let len = chunk.len() as u64;
            match &session {
                None => {
                    let started: SessionStart = self
                        .upload_call(
                            &auth,
                            "files/upload_session/start",
                            &json!({ "close": false, "content_hash": chunk_hash.to_hex() }),
                            chunk,
                        )
                        .await?;
                    session = Some(started.session_id);
                }
                Some(id) => self.append(&auth, id, offset, chunk, chunk_hash).await?,
            }
            offset += len;
        }
    }

    async fn append(
        &self,
        auth: &Auth,
        session: &str,
        offset: u64,
        chunk: Bytes,
        hash: ContentHash,
    ) -> Result<(), DropboxError> {
        let len = chunk.len() as u64;
        let arg = json!({
            "cursor": { "session_id": session, "offset": offset },
            "close": false,
            "content_hash": hash.to_hex(),
        });
        match self
            .upload_call::<Value>(auth, "files/upload_session/append_v2", &arg, chunk)
            .await
        {
            Ok(_) => Ok(()),
            // An earlier attempt arrived but its answer was lost (pitfall 17).
            Err(DropboxError::Api(failure))
                if failure.error[".tag"] == "incorrect_offset"
                    && failure.error["correct_offset"].as_u64() == Some(offset + len) =>
            {
                tracing::info!(session, offset, "append already stored; continuing");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish_session(
        &self,
        auth: &Auth,
        commit: &Commit,
        session: &str,
        offset: u64,
        last: Bytes,
        last_hash: ContentHash,
        whole: ContentHash,
    ) -> Result<FileEntry, DropboxError> {
        const ROUTE: &str = "files/upload_session/finish";
        let arg = json!({
            "cursor": { "session_id": session, "offset": offset },
            "commit": commit.to_json(),
            "content_hash": last_hash.to_hex(),
        });
        let file: FileWire = self.upload_call(auth, ROUTE, &arg, last).await?;
        let entry = file.into_entry(ROUTE)?;
        check_written(&entry, whole)?;
        Ok(entry)
    }
}

fn check_written(entry: &FileEntry, sent: ContentHash) -> Result<(), DropboxError> {
    match entry.content_hash {
        Some(stored) if stored != sent => Err(DropboxError::ContentHashMismatch {
            path: entry.path_display.clone(),
            expected: sent.to_hex(),
            actual: stored.to_hex(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_serialise_as_commit_info() {
        let mut c = Commit::new("/A/b.txt");
        assert_eq!(
            c.to_json(),
            json!({"path": "/A/b.txt", "mode": "add", "autorename": false, "mute": true, "strict_conflict": false})
        );
        c.mode = WriteMode::Update("0123456789".into());
        c.client_modified = Some(DateTime::from_timestamp(1_431_445_838, 0).unwrap());
        let v = c.to_json();
        assert_eq!(v["mode"], json!({".tag": "update", "update": "0123456789"}));
        assert_eq!(v["client_modified"], "2015-05-12T15:50:38Z");
    }
}
