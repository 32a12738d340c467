//! `files/upload` (content host): one request up to 150 MiB, committed under a write mode.
//! The body is streamed into the blob store while its `content_hash` is computed; a
//! client-supplied `content_hash` is checked before anything becomes visible.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Ctx, internal};
use super::blobs::{BlobInfo, BlobWriter};
use super::content::ContentRef;
use super::content_hash::{ContentHasher, parse_hex};
use super::metadata::{Metadata, Rendered};
use super::model::Team;
use super::state::Shared;
use super::view::View;
use super::wire::{ApiError, flattened, ok, route_error, tag};
use super::writes::{CommitInfo, Mode, Upload, commit_file, prefetch_existing_hash};

/// Most bytes one request may carry.
pub const MAX_REQUEST_BYTES: u64 = 150 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct UploadArg {
    #[serde(flatten)]
    commit: CommitInfo,
    #[serde(default)]
    content_hash: Option<String>,
}

/// Why streaming a request body into a blob stopped.
#[derive(Debug)]
pub enum BodyError {
    /// More than [`MAX_REQUEST_BYTES`].
    TooLarge,
    /// The client went away or the disk failed.
    Io(String),
}

/// Streams a request body into `writer`; returns the body's length and its own
/// `content_hash` (the hash of just this request's bytes).
///
/// # Errors
/// [`BodyError`] on an oversized body or an IO failure.
pub async fn receive(
    shared: &Shared,
    body: Body,
    writer: &mut BlobWriter,
) -> Result<(u64, [u8; 32]), BodyError> {
    let start = writer.size();
    let mut chunk_hash = ContentHasher::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Io(e.to_string()))?;
        if writer.size() - start + chunk.len() as u64 > MAX_REQUEST_BYTES {
            return Err(BodyError::TooLarge);
        }
        chunk_hash.update(&chunk);
        writer
            .write(&chunk, shared.blobs.dir())
            .await
            .map_err(|e| BodyError::Io(e.to_string()))?;
        shared
            .counters
            .bytes_uploaded
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    Ok((writer.size() - start, chunk_hash.finish()))
}

/// Parses an optional `content_hash` argument.
///
/// # Errors
/// 400 if it is not 64 hex digits.
pub fn parse_hash_arg(ctx: &Ctx, value: Option<&str>) -> Result<Option<[u8; 32]>, ApiError> {
    value
        .map(|h| {
            parse_hex(h).ok_or_else(|| {
                ctx.bad_input(&format!(
                    "HTTP header \"Dropbox-API-Arg\": content_hash: {h:?} must be 64 hexadecimal digits"
                ))
            })
        })
        .transpose()
}

/// Validates a commit's mode and timestamp.
///
/// # Errors
/// 400 naming the bad field.
pub fn validate_commit(
    ctx: &Ctx,
    team: &Team,
    commit: &CommitInfo,
) -> Result<(Mode, Option<i64>), ApiError> {
    commit.validate(team).map_err(|why| ctx.bad_input(&why))
}

/// Commits a received blob at `commit.path`; returns the rendered file or a `WriteError`.
/// The blob is removed when it ends up unused (refused, or identical content).
pub async fn store(
    shared: &Shared,
    view: &View,
    commit: &CommitInfo,
    checked: (Mode, Option<i64>),
    blob: BlobInfo,
) -> Result<Rendered, Value> {
    prefetch_existing_hash(shared, view, &commit.path).await;
    let content = ContentRef::Blob {
        id: blob.id,
        hash: blob.hash,
    };
    let result = {
        let mut team = shared.team.write();
        commit_file(
            shared,
            &mut team,
            view,
            commit,
            checked,
            Upload {
                content,
                size: blob.size,
                hash: blob.hash,
            },
        )
    };
    let used = matches!(&result, Ok(r) if r.content == Some(content));
    if !used {
        shared.blobs.remove(blob.id).await;
    }
    result
}

/// Renders a stored file as the untagged `FileMetadata` upload routes return.
pub async fn file_json(shared: &Shared, rendered: Rendered) -> Value {
    let contents = Shared::contents_for(&shared.team.read(), std::slice::from_ref(&rendered));
    let mut entries = vec![rendered];
    shared.fill_hashes(&mut entries, &contents).await;
    match entries.pop().map(|r| r.meta) {
        Some(Metadata::File(f)) => serde_json::to_value(f).unwrap_or(Value::Null),
        Some(other) => serde_json::to_value(other).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// `files/upload`
pub async fn upload(ctx: Ctx, arg: Value, body: Body) -> Result<Response, ApiError> {
    let arg: UploadArg = ctx.parse(arg)?;
    let checked = validate_commit(&ctx, &ctx.shared.team.read(), &arg.commit)?;
    let expected = parse_hash_arg(&ctx, arg.content_hash.as_deref())?;
    let view = ctx.view()?;
    let mut writer = ctx.shared.blobs.writer();
    match receive(&ctx.shared, body, &mut writer).await {
        Ok(_) => {}
        Err(BodyError::TooLarge) => {
            ctx.shared.blobs.abandon(writer).await;
            return Err(route_error(tag("payload_too_large")));
        }
        Err(BodyError::Io(why)) => {
            ctx.shared.blobs.abandon(writer).await;
            return Err(ctx.bad_input(&format!("could not read the request body: {why}")));
        }
    }
    let blob = ctx
        .shared
        .blobs
        .commit(writer)
        .await
        .map_err(|e| internal(&format!("storing the upload: {e}")))?;
    if expected.is_some_and(|h| h != blob.hash) {
        ctx.shared.blobs.remove(blob.id).await;
        return Err(route_error(tag("content_hash_mismatch")));
    }
    match store(&ctx.shared, &view, &arg.commit, checked, blob).await {
        Ok(rendered) => Ok(ok(&file_json(&ctx.shared, rendered).await)),
        Err(write_error) => Err(route_error(flattened(
            "path",
            json!({ "reason": write_error, "upload_session_id": "" }),
        ))),
    }
}
