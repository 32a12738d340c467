//! Upload sessions: `start`, `append_v2` (and v1 `append`), `finish`, `start_batch`,
//! `finish_batch_v2`, and the deprecated asynchronous `finish_batch` + `/check`.
//!
//! Sequential sessions append in order into a blob writer (a chunk whose `content_hash`
//! does not match is rolled back). Concurrent sessions take 4 MiB-multiple chunks at 4
//! MiB-aligned offsets, written in place into a session file; `finish` checks the chunks
//! cover the file without gaps. Sessions expire after 7 days.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::api::Ctx;
use super::blobs::{BlobInfo, BlobWriter};
use super::content_hash::ContentHasher;
use super::ids::{now_unix, random_token};
use super::state::Shared;
use super::upload::{
    BodyError, MAX_REQUEST_BYTES, file_json, parse_hash_arg, receive, store, validate_commit,
};
use super::view::View;
use super::wire::{ApiError, UnionArg, flattened, nested, ok, route_error, tag};
use super::writes::CommitInfo;

const LIFETIME: i64 = 7 * 86_400;
const MAX_FILE: u64 = (1 << 41) - (1 << 22);
const UNIT: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
enum Data {
    /// `None` while an append holds the writer.
    Sequential(Option<Box<BlobWriter>>),
    Concurrent {
        path: PathBuf,
        chunks: BTreeMap<u64, u64>,
        end: Option<u64>,
    },
}

#[derive(Debug)]
struct Session {
    data: Data,
    offset: u64,
    closed: bool,
    created: i64,
}

/// Open sessions and finished asynchronous batch jobs.
#[derive(Debug, Default)]
pub struct Sessions {
    map: HashMap<String, Session>,
    pub(super) jobs: HashMap<String, Value>,
}

/// Why a session operation failed (rendered per route).
#[derive(Debug)]
enum Fail {
    /// An `UploadSessionLookupError` tag value.
    Lookup(Value),
    /// The chunk's `content_hash` did not match.
    HashMismatch,
    /// Reading the body or the disk failed.
    Io(String),
}

fn incorrect_offset(correct: u64) -> Fail {
    Fail::Lookup(flattened(
        "incorrect_offset",
        json!({ "correct_offset": correct }),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct Cursor {
    session_id: String,
    offset: u64,
}

#[derive(Debug, Deserialize)]
struct StartArg {
    #[serde(default)]
    close: bool,
    #[serde(default)]
    session_type: Option<UnionArg>,
    #[serde(default)]
    content_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AppendArg {
    cursor: Cursor,
    #[serde(default)]
    close: bool,
    #[serde(default)]
    content_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FinishArg {
    pub(super) cursor: Cursor,
    pub(super) commit: CommitInfo,
    #[serde(default)]
    content_hash: Option<String>,
}

pub(super) fn concurrent_type(
    ctx: &Ctx,
    session_type: Option<&UnionArg>,
) -> Result<bool, ApiError> {
    match session_type.map(|t| t.tag.as_str()) {
        None | Some("sequential") => Ok(false),
        Some("concurrent") => Ok(true),
        Some(other) => Err(ctx.bad_input(&format!("session_type: unknown tag {other:?}"))),
    }
}

pub(super) fn new_session(shared: &Shared, concurrent: bool) -> String {
    let id = format!("pid_upload_session:{}", random_token("", 30));
    let data = if concurrent {
        Data::Concurrent {
            path: shared.blobs.session_path(&id),
            chunks: BTreeMap::new(),
            end: None,
        }
    } else {
        Data::Sequential(Some(Box::new(shared.blobs.writer())))
    };
    shared.sessions.lock().map.insert(
        id.clone(),
        Session {
            data,
            offset: 0,
            closed: false,
            created: now_unix(),
        },
    );
    id
}

/// Looks a live session up, dropping it if expired.
fn with_session<T>(
    shared: &Shared,
    id: &str,
    f: impl FnOnce(&mut Session) -> Result<T, Fail>,
) -> Result<T, Fail> {
    let mut sessions = shared.sessions.lock();
    let expired = sessions
        .map
        .get(id)
        .is_some_and(|s| now_unix() - s.created > LIFETIME);
    if expired {
        sessions.map.remove(id);
    }
    let session = sessions
        .map
        .get_mut(id)
        .ok_or(Fail::Lookup(tag("not_found")))?;
    f(session)
}

/// Appends a request body to a session at `offset`.
async fn append(
    shared: &Shared,
    id: &str,
    offset: u64,
    body: Body,
    close: bool,
    expected: Option<[u8; 32]>,
) -> Result<(), Fail> {
    // Concurrent chunks may arrive after the closing one; only data past the end, or a
    // second close, is refused there.
    let concurrent = with_session(shared, id, |s| match &s.data {
        Data::Concurrent { end, .. } => {
            if end.is_some_and(|e| offset >= e) || (close && end.is_some()) {
                return Err(Fail::Lookup(tag("closed")));
            }
            Ok(true)
        }
        Data::Sequential(_) if s.closed => Err(Fail::Lookup(tag("closed"))),
        Data::Sequential(_) => Ok(false),
    })?;
    if concurrent {
        return append_concurrent(shared, id, offset, body, close, expected).await;
    }
    let mut writer = with_session(shared, id, |s| {
        if offset != s.offset {
            return Err(incorrect_offset(s.offset));
        }
        match &mut s.data {
            Data::Sequential(w) => w.take().ok_or_else(|| incorrect_offset(s.offset)),
            Data::Concurrent { .. } => Err(Fail::Lookup(tag("not_found"))),
        }
    })?;
    let checkpoint = writer.checkpoint();
    let outcome = match receive(shared, body, &mut writer).await {
        Err(BodyError::TooLarge) => Err(Fail::Lookup(tag("payload_too_large"))),
        Err(BodyError::Io(why)) => Err(Fail::Io(why)),
        Ok(_) if writer.size() > MAX_FILE => Err(Fail::Lookup(tag("too_large"))),
        Ok((_, hash)) if expected.is_some_and(|e| e != hash) => Err(Fail::HashMismatch),
        Ok(_) => Ok(()),
    };
    if outcome.is_err() {
        writer
            .rollback(checkpoint)
            .await
            .map_err(|e| Fail::Io(e.to_string()))?;
    }
    let size = writer.size();
    let mut sessions = shared.sessions.lock();
    if let Some(s) = sessions.map.get_mut(id) {
        s.offset = size;
        s.closed |= close && outcome.is_ok();
        s.data = Data::Sequential(Some(writer));
    }
    outcome
}

async fn append_concurrent(
    shared: &Shared,
    id: &str,
    offset: u64,
    body: Body,
    close: bool,
    expected: Option<[u8; 32]>,
) -> Result<(), Fail> {
    if !offset.is_multiple_of(UNIT) {
        return Err(Fail::Lookup(tag("concurrent_session_invalid_offset")));
    }
    let path = with_session(shared, id, |s| match &s.data {
        Data::Concurrent { path, .. } => Ok(path.clone()),
        Data::Sequential(_) => Err(Fail::Lookup(tag("not_found"))),
    })?;
    let io = |e: std::io::Error| Fail::Io(e.to_string());
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)
        .await
        .map_err(io)?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(io)?;
    let mut hasher = ContentHasher::new();
    let mut len = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Fail::Io(e.to_string()))?;
        len += chunk.len() as u64;
        if len > MAX_REQUEST_BYTES {
            return Err(Fail::Lookup(tag("payload_too_large")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
        shared
            .counters
            .bytes_uploaded
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    file.flush().await.map_err(io)?;
    if !close && !len.is_multiple_of(UNIT) {
        return Err(Fail::Lookup(tag("concurrent_session_invalid_data_size")));
    }
    if offset + len > MAX_FILE {
        return Err(Fail::Lookup(tag("too_large")));
    }
    if expected.is_some_and(|e| e != hasher.finish()) {
        return Err(Fail::HashMismatch);
    }
    with_session(shared, id, |s| {
        if let Data::Concurrent { chunks, end, .. } = &mut s.data {
            chunks.insert(offset, len);
            if close {
                *end = Some(offset + len);
                s.closed = true;
            }
        }
        Ok(())
    })
}

/// Reads the whole body; true if it held any byte.
async fn has_data(body: Body) -> bool {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        if chunk.is_ok_and(|c| !c.is_empty()) {
            return true;
        }
    }
    false
}

fn append_error(fail: Fail, ctx: &Ctx) -> ApiError {
    match fail {
        Fail::Lookup(v) => route_error(v),
        Fail::HashMismatch => route_error(tag("content_hash_mismatch")),
        Fail::Io(why) => ctx.bad_input(&format!("could not read the request body: {why}")),
    }
}

/// `files/upload_session/start`
pub async fn start(ctx: Ctx, arg: Value, body: Body) -> Result<Response, ApiError> {
    let arg: StartArg = ctx.parse(arg)?;
    let concurrent = concurrent_type(&ctx, arg.session_type.as_ref())?;
    let expected = parse_hash_arg(&ctx, arg.content_hash.as_deref())?;
    if concurrent {
        if arg.close {
            return Err(route_error(tag("concurrent_session_close_not_allowed")));
        }
        if has_data(body).await {
            return Err(route_error(tag("concurrent_session_data_not_allowed")));
        }
        return Ok(ok(&json!({ "session_id": new_session(&ctx.shared, true) })));
    }
    let id = new_session(&ctx.shared, false);
    if let Err(fail) = append(&ctx.shared, &id, 0, body, arg.close, expected).await {
        if let Some(s) = ctx.shared.sessions.lock().map.remove(&id)
            && let Data::Sequential(Some(w)) = s.data
        {
            drop(w);
        }
        return Err(append_error(fail, &ctx));
    }
    Ok(ok(&json!({ "session_id": id })))
}

/// `files/upload_session/append_v2`
pub async fn append_v2(ctx: Ctx, arg: Value, body: Body) -> Result<Response, ApiError> {
    let arg: AppendArg = ctx.parse(arg)?;
    let expected = parse_hash_arg(&ctx, arg.content_hash.as_deref())?;
    append(
        &ctx.shared,
        &arg.cursor.session_id,
        arg.cursor.offset,
        body,
        arg.close,
        expected,
    )
    .await
    .map_err(|f| append_error(f, &ctx))?;
    Ok(ok(&Value::Null))
}

/// `files/upload_session/append` (v1: the argument is the cursor itself).
pub async fn append_v1(ctx: Ctx, arg: Value, body: Body) -> Result<Response, ApiError> {
    let cursor: Cursor = ctx.parse(arg)?;
    append(
        &ctx.shared,
        &cursor.session_id,
        cursor.offset,
        body,
        false,
        None,
    )
    .await
    .map_err(|f| append_error(f, &ctx))?;
    Ok(ok(&Value::Null))
}

/// Takes a closed (or, for single finishes, any) session out and turns its data into a
/// blob; `Err` is an `UploadSessionFinishError` value.
async fn take_blob(
    shared: &Shared,
    cursor: &Cursor,
    require_closed: bool,
) -> Result<BlobInfo, Value> {
    let lookup = |v: Value| nested("lookup_failed", v);
    let session = {
        let mut sessions = shared.sessions.lock();
        let live = sessions
            .map
            .get(&cursor.session_id)
            .filter(|s| now_unix() - s.created <= LIFETIME)
            .ok_or_else(|| lookup(tag("not_found")))?;
        match &live.data {
            Data::Sequential(None) => {
                return Err(lookup(flattened(
                    "incorrect_offset",
                    json!({ "correct_offset": live.offset }),
                )));
            }
            Data::Sequential(Some(_)) if cursor.offset != live.offset => {
                return Err(lookup(flattened(
                    "incorrect_offset",
                    json!({ "correct_offset": live.offset }),
                )));
            }
            Data::Sequential(Some(_)) if require_closed && !live.closed => {
                return Err(lookup(tag("not_closed")));
            }
            Data::Concurrent { .. } if !live.closed => {
                return Err(tag("concurrent_session_not_closed"));
            }
            _ => {}
        }
        sessions
            .map
            .remove(&cursor.session_id)
            .ok_or_else(|| lookup(tag("not_found")))?
    };
    match session.data {
        Data::Sequential(Some(writer)) => shared
            .blobs
            .commit(*writer)
            .await
            .map_err(|_| lookup(tag("not_found"))),
        Data::Concurrent { path, chunks, end } => {
            let end = end.unwrap_or(0);
            let mut expected = 0;
            for (&offset, &len) in &chunks {
                if offset != expected {
                    break;
                }
                expected = offset + len;
            }
            if expected != end {
                let _ = tokio::fs::remove_file(&path).await;
                return Err(tag("concurrent_session_missing_data"));
            }
            let hashed = path.clone();
            let hash = tokio::task::spawn_blocking(move || hash_file(&hashed, end))
                .await
                .map_err(|_| tag("concurrent_session_missing_data"))?
                .map_err(|_| tag("concurrent_session_missing_data"))?;
            shared
                .blobs
                .adopt(&path, end, hash)
                .await
                .map_err(|_| tag("concurrent_session_missing_data"))
        }
        Data::Sequential(None) => Err(lookup(tag("not_found"))),
    }
}

/// Hashes the first `len` bytes of a file (truncating anything beyond).
fn hash_file(path: &std::path::Path, len: u64) -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    file.set_len(len)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut hasher = ContentHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// Finishes one session into a file; `Err` is an `UploadSessionFinishError` value.
pub(super) async fn finish_one(
    shared: &Shared,
    view: &View,
    entry: &FinishArg,
    checked: (super::writes::Mode, Option<i64>),
    require_closed: bool,
) -> Result<Value, Value> {
    let blob = take_blob(shared, &entry.cursor, require_closed).await?;
    let rendered = store(shared, view, &entry.commit, checked, blob)
        .await
        .map_err(|e| nested("path", e))?;
    Ok(file_json(shared, rendered).await)
}

/// `files/upload_session/finish`
pub async fn finish(ctx: Ctx, arg: Value, body: Body) -> Result<Response, ApiError> {
    let arg: FinishArg = ctx.parse(arg)?;
    let checked = validate_commit(&ctx, &ctx.shared.team.read(), &arg.commit)?;
    let expected = parse_hash_arg(&ctx, arg.content_hash.as_deref())?;
    let view = ctx.view()?;
    let concurrent = with_session(&ctx.shared, &arg.cursor.session_id, |s| {
        Ok(matches!(s.data, Data::Concurrent { .. }))
    });
    let mut cursor_offset = arg.cursor.offset;
    match concurrent {
        Ok(true) => {
            if has_data(body).await {
                return Err(route_error(tag("concurrent_session_data_not_allowed")));
            }
        }
        Ok(false) => {
            let closed = with_session(&ctx.shared, &arg.cursor.session_id, |s| Ok(s.closed))
                .unwrap_or(false);
            if !closed {
                append(
                    &ctx.shared,
                    &arg.cursor.session_id,
                    arg.cursor.offset,
                    body,
                    true,
                    expected,
                )
                .await
                .map_err(|fail| match fail {
                    Fail::Lookup(v) => route_error(nested("lookup_failed", v)),
                    Fail::HashMismatch => route_error(tag("content_hash_mismatch")),
                    Fail::Io(why) => {
                        ctx.bad_input(&format!("could not read the request body: {why}"))
                    }
                })?;
                cursor_offset = with_session(&ctx.shared, &arg.cursor.session_id, |s| Ok(s.offset))
                    .unwrap_or(cursor_offset);
            } else if has_data(body).await {
                return Err(route_error(nested("lookup_failed", tag("closed"))));
            }
        }
        Err(_) => return Err(route_error(nested("lookup_failed", tag("not_found")))),
    }
    let entry = FinishArg {
        cursor: Cursor {
            session_id: arg.cursor.session_id.clone(),
            offset: cursor_offset,
        },
        commit: arg.commit.clone(),
        content_hash: None,
    };
    match finish_one(&ctx.shared, &view, &entry, checked, false).await {
        Ok(file) => Ok(ok(&file)),
        Err(e) => Err(route_error(e)),
    }
}

/// Number of open sessions (control API info).
#[must_use]
pub fn open_sessions(shared: &Shared) -> usize {
    shared.sessions.lock().map.len()
}

/// Drops every session (control reset).
pub fn clear(shared: &Shared) {
    let mut sessions = shared.sessions.lock();
    sessions.map.clear();
    sessions.jobs.clear();
}
