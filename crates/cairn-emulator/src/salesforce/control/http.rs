//! The control API over HTTP: JSON under `/__emulator/`, off the Salesforce paths and
//! not counted against the org's API allowance. Errors are
//! `{"error":{"code":"…","message":"…"}}` with a 4xx status.

// Handlers answer errors with a ready `Response`, so `Result<_, Response>` is by design.
#![allow(clippy::result_large_err)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use super::{Control, Mutation, Settings};
use crate::salesforce::faults::{FaultRule, Latency};
use crate::salesforce::state::Shared;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn ok(v: Json) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "control.bad_json", &e.to_string()))
}

#[derive(serde::Deserialize)]
struct Advance {
    #[serde(default)]
    seconds: Option<i64>,
    #[serde(default)]
    ms: Option<i64>,
}

#[derive(serde::Deserialize)]
struct Limits {
    #[serde(default)]
    daily_api_requests: Option<u64>,
    #[serde(default)]
    reset_usage: bool,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct FaultConfig {
    #[serde(default)]
    rules: Vec<FaultRule>,
    #[serde(default)]
    latency: Option<Latency>,
}

#[derive(serde::Deserialize)]
struct Token {
    token: String,
}

#[derive(serde::Deserialize)]
struct Bin {
    #[serde(default)]
    object: Option<String>,
}

/// `GET /__emulator`: what the control API offers.
pub async fn index() -> Response {
    ok(json!({
        "endpoints": [
            "GET /__emulator/state",
            "GET /__emulator/credentials",
            "POST /__emulator/mutate {op, object, percent|count|ids, as_user?, fields?, seed?}",
            "POST /__emulator/recycle-bin/empty {object?}",
            "GET /__emulator/clock", "POST /__emulator/clock/advance {seconds|ms}",
            "PUT /__emulator/limits {daily_api_requests?, reset_usage?}",
            "GET|PUT|DELETE /__emulator/faults {rules:[{kind, rate?, count?, path_prefix?}], latency?:{ms, path_prefix?}}",
            "POST /__emulator/tokens/expire", "POST /__emulator/tokens/revoke {token}",
            "GET /__emulator/counters", "GET /__emulator/dump",
            "GET|PUT /__emulator/settings", "POST /__emulator/reset",
        ]
    }))
}

/// `/__emulator/{*rest}`.
pub async fn handle(State(em): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let control = Control { em: em.clone() };
    let path = uri
        .path()
        .trim_start_matches("/__emulator/")
        .trim_end_matches('/');
    let result = match (&method, path) {
        (&Method::GET, "state") => Ok(ok(
            serde_json::to_value(control.info()).unwrap_or(Json::Null)
        )),
        (&Method::GET, "credentials") => {
            let c = super::super::credentials_of(&em);
            Ok(ok(json!({
                "username": c.username, "password": c.password, "security_token": c.security_token,
                "client_id": c.client_id, "client_secret": c.client_secret, "access_token": c.access_token,
                "org_id": c.org_id, "user_id": c.user_id, "instance_url": em.base_url,
                "login_url": em.login_base(false), "sandbox_login_url": em.login_base(true),
            })))
        }
        (&Method::POST, "mutate") => parse::<Mutation>(&body).and_then(|m| {
            control
                .mutate(&m)
                .map(|r| ok(serde_json::to_value(r).unwrap_or(Json::Null)))
                .map_err(|e| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "control.bad_request",
                        &e.to_string(),
                    )
                })
        }),
        (&Method::POST, "recycle-bin/empty") => parse::<Bin>(&body).and_then(|b| {
            control
                .empty_recycle_bin(b.object.as_deref())
                .map(|n| ok(json!({"purged": n})))
                .map_err(|e| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "control.bad_request",
                        &e.to_string(),
                    )
                })
        }),
        (&Method::GET, "clock") => Ok(ok(
            json!({"now": crate::salesforce::clock::format_datetime(control.now()), "now_ms": control.now()}),
        )),
        (&Method::POST, "clock/advance") => parse::<Advance>(&body).and_then(|a| {
            let ms = a.ms.unwrap_or(0) + a.seconds.unwrap_or(0) * 1000;
            if ms < 0 {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "control.bad_request",
                    "the clock only moves forward",
                ));
            }
            let now = control.advance_clock(ms);
            Ok(ok(
                json!({"now": crate::salesforce::clock::format_datetime(now), "now_ms": now}),
            ))
        }),
        (&Method::PUT, "limits") => parse::<Limits>(&body).map(|l| {
            if let Some(max) = l.daily_api_requests {
                control.set_api_allowance(max);
            }
            if l.reset_usage {
                control.reset_api_usage();
            }
            ok(json!({"api_usage": control.info().api_usage}))
        }),
        (&Method::GET, "faults") => {
            let (rules, latency) = control.faults();
            Ok(ok(json!({"rules": rules, "latency": latency})))
        }
        (&Method::PUT, "faults") => parse::<FaultConfig>(&body).and_then(|f| {
            if let Some(bad) = f.rules.iter().find(|r| !(0.0..=1.0).contains(&r.rate)) {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "control.bad_request",
                    &format!("rate must be within 0..1, got {}", bad.rate),
                ));
            }
            control.set_faults(f.rules);
            control.set_latency(f.latency.unwrap_or_default());
            let (rules, latency) = control.faults();
            Ok(ok(json!({"rules": rules, "latency": latency})))
        }),
        (&Method::DELETE, "faults") => {
            control.clear_faults();
            Ok(ok(json!({"rules": [], "latency": Latency::default()})))
        }
        (&Method::POST, "tokens/expire") => Ok(ok(json!({"expired": control.expire_sessions()}))),
        (&Method::POST, "tokens/revoke") => {
            parse::<Token>(&body).map(|t| ok(json!({"revoked": control.revoke_token(&t.token)})))
        }
        (&Method::GET, "counters") => Ok(ok(
            serde_json::to_value(control.counters()).unwrap_or(Json::Null)
        )),
        (&Method::GET, "settings") => Ok(ok(
            serde_json::to_value(control.settings()).unwrap_or(Json::Null)
        )),
        (&Method::PUT, "settings") => parse::<Settings>(&body).map(|s| {
            control.apply_settings(&s);
            ok(serde_json::to_value(control.settings()).unwrap_or(Json::Null))
        }),
        (&Method::POST, "reset") => {
            let c = control.clone();
            let _ = tokio::task::spawn_blocking(move || c.reset()).await;
            Ok(ok(json!({"reset": true})))
        }
        (&Method::GET, "dump") => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
            let c = control.clone();
            tokio::task::spawn_blocking(move || {
                let mut w = ChannelWriter {
                    tx,
                    buf: Vec::with_capacity(CHUNK),
                };
                // A client that hangs up ends the stream; nothing to report.
                let _ = c.dump_to(&mut w);
            });
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
            });
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                Body::from_stream(stream),
            )
                .into_response())
        }
        _ => Err(error(
            StatusCode::NOT_FOUND,
            "control.not_found",
            &format!("no control endpoint {method} /__emulator/{path}"),
        )),
    };
    result.unwrap_or_else(|e| e)
}

const CHUNK: usize = 256 * 1024;

/// Sends the dump to the response body in chunks.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}
