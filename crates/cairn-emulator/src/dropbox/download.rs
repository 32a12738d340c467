//! `files/download` (content host): streams a file revision with its metadata in
//! `Dropbox-API-Result`, supporting `Range` (single range: `a-b`, `a-`, `-n`), `ETag` /
//! `If-None-Match` and `GET` with `?arg=`. Generated content is produced while streaming,
//! so no download ever holds a whole file.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::api::{Ctx, internal};
use super::content::{ContentRef, GenContent, stream as generated_stream};
use super::metadata::{Metadata, RenderOptions};
use super::model::NodeKind;
use super::route_errors::{conflict, lookup};
use super::state::Shared;
use super::view::{PathArg, parse_path};
use super::wire::{ApiError, header_safe_json, tag};

#[derive(Debug, Deserialize)]
struct DownloadArg {
    path: String,
    #[serde(default)]
    rev: Option<String>,
}

/// Where a download's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Generated content.
    Generated(GenContent),
    /// An uploaded blob.
    Blob(u64),
}

/// A parsed `Range` header against a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: the whole file.
    Full,
    /// `start..end` (end exclusive).
    Partial(u64, u64),
    /// Not satisfiable: 416.
    Unsatisfiable,
}

/// Parses a `Range` header value. Multiple ranges are not supported and get the whole
/// file, which HTTP allows.
#[must_use]
pub fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.is_empty(), b.is_empty()) {
        (true, true) => return RangeRequest::Full,
        (true, false) => b.parse::<u64>().ok().map(|n| {
            if n == 0 || size == 0 {
                None
            } else {
                Some((size.saturating_sub(n), size))
            }
        }),
        (false, _) => a.parse::<u64>().ok().map(|start| {
            let end = if b.is_empty() {
                Some(size)
            } else {
                b.parse::<u64>().ok().map(|e| (e + 1).min(size))
            };
            end.filter(|&e| start < size && start < e)
                .map(|e| (start, e))
        }),
    };
    match parsed {
        None => RangeRequest::Full,
        Some(None) => RangeRequest::Unsatisfiable,
        Some(Some((s, e))) => RangeRequest::Partial(s, e),
    }
}

/// Streams `source[start..end]`, counting bytes served.
///
/// # Errors
/// IO errors opening an uploaded blob.
pub async fn body_stream(
    shared: &Arc<Shared>,
    source: Source,
    start: u64,
    end: u64,
) -> std::io::Result<Body> {
    let stream = match source {
        Source::Generated(content) => {
            generated_stream(shared.team.read().seed, content, start, end).boxed()
        }
        Source::Blob(id) => shared.blobs.stream(id, start, end).await?,
    };
    let counter = shared.clone();
    Ok(Body::from_stream(stream.map(move |chunk| {
        if let Ok(bytes) = &chunk {
            counter
                .counters
                .bytes_downloaded
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        chunk
    })))
}

/// `files/download`
pub async fn download(ctx: Ctx, arg: Value) -> Result<Response, ApiError> {
    let arg: DownloadArg = ctx.parse(arg)?;
    let view = ctx.view()?;
    let (rendered, source, size, contents) = {
        let team = ctx.shared.team.read();
        let parsed =
            parse_path(&team, &arg.path, true).map_err(|e| conflict("path", lookup(&e)))?;
        if parsed == PathArg::Root {
            return Err(conflict("path", tag("not_file")));
        }
        let mut loc = team
            .resolve(&view, &parsed)
            .map_err(|e| conflict("path", lookup(&e)))?;
        if let Some(rev) = &arg.rev {
            loc.rev = Some(
                super::ids::parse_rev(team.salt, rev)
                    .ok_or_else(|| conflict("path", tag("not_found")))?,
            );
        }
        let space = team
            .ns(loc.ns)
            .ok_or_else(|| conflict("path", tag("not_found")))?;
        if loc.is_ns_root() {
            return Err(conflict("path", tag("not_file")));
        }
        let node = space
            .entries
            .get(&loc.path_lower)
            .ok_or_else(|| conflict("path", tag("not_found")))?;
        let NodeKind::File(revs) = &node.kind else {
            return Err(conflict("path", tag("not_file")));
        };
        let revision = match loc.rev {
            Some(rev) => revs.iter().find(|r| r.rev == rev),
            None => revs.last(),
        }
        .ok_or_else(|| conflict("path", tag("not_found")))?;
        let source = match revision.content {
            ContentRef::Generated { id } => Source::Generated(
                *team
                    .gen_content(id)
                    .ok_or_else(|| internal("generated content missing"))?,
            ),
            ContentRef::Blob { id, .. } => Source::Blob(id),
        };
        let rendered = team.render_file(&loc, node, revision, RenderOptions::default());
        let contents = Shared::contents_for(&team, std::slice::from_ref(&rendered));
        (rendered, source, revision.size, contents)
    };
    let mut entries = vec![rendered];
    ctx.shared.fill_hashes(&mut entries, &contents).await;
    let Some(Metadata::File(file)) = entries.pop().map(|r| r.meta) else {
        return Err(internal("download of a non-file"));
    };
    let etag = format!("\"{}\"", file.rev);
    let result_header = header_safe_json(&file);
    let if_none_match = ctx
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let mut builder = Response::builder()
        .header("dropbox-api-result", result_header)
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes");
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|_| internal("building a response"));
    }
    let range = ctx
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(RangeRequest::Full, |v| parse_range(v, size));
    let (status, start, end) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, size),
        RangeRequest::Partial(s, e) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {s}-{}/{size}", e - 1));
            (StatusCode::PARTIAL_CONTENT, s, e)
        }
        RangeRequest::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .map_err(|_| internal("building a response"));
        }
    };
    let body = body_stream(&ctx.shared, source, start, end)
        .await
        .map_err(|e| internal(&format!("reading stored content: {e}")))?;
    let mut response = builder
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, end - start)
        .body(body)
        .map_err(|_| internal("building a response"))?;
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeRequest::Partial(0, 10));
        assert_eq!(
            parse_range("bytes=90-", 100),
            RangeRequest::Partial(90, 100)
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            RangeRequest::Partial(90, 100)
        );
        assert_eq!(
            parse_range("bytes=-500", 100),
            RangeRequest::Partial(0, 100)
        );
        assert_eq!(
            parse_range("bytes=50-500", 100),
            RangeRequest::Partial(50, 100)
        );
        assert_eq!(parse_range("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeRequest::Full);
        assert_eq!(parse_range("items=0-1", 100), RangeRequest::Full);
        assert_eq!(parse_range("bytes=x-1", 100), RangeRequest::Full);
        assert_eq!(parse_range("bytes=0-0", 0), RangeRequest::Unsatisfiable);
    }
}
