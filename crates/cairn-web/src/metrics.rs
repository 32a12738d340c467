//! Prometheus metrics: HTTP requests by route and status, sign-in outcomes, and the
//! process figures Linux gives away cheaply.
//!
//! The registry is a few counters behind a mutex, rendered in the text exposition format
//! on `/metrics`. Routes are labelled with their pattern (`/dev/mailbox/{id}`), never the
//! raw path, so label cardinality stays bounded; unmatched requests share one label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;

use crate::state::AppState;

/// Outcome labels of `cairn_sign_ins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in.
    Success,
    /// Wrong email or password, not activated, disabled.
    Failure,
    /// Refused by throttling before the password was checked.
    Throttled,
}

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<(String, u16), u64>,
    seconds_sum: f64,
    count: u64,
}

/// The metrics registry.
#[derive(Debug)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    sign_ins: [AtomicU64; 3],
    started: std::time::SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self {
            routes: Mutex::new(BTreeMap::new()),
            sign_ins: Default::default(),
            started: std::time::SystemTime::now(),
        }
    }

    /// Counts one finished request.
    pub fn record_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock();
        let stats = routes.entry(route.to_owned()).or_default();
        *stats
            .by_status
            .entry((method.to_owned(), status))
            .or_default() += 1;
        stats.seconds_sum += seconds;
        stats.count += 1;
    }

    /// Counts one sign-in attempt.
    pub fn record_sign_in(&self, outcome: SignInOutcome) {
        let index = match outcome {
            SignInOutcome::Success => 0,
            SignInOutcome::Failure => 1,
            SignInOutcome::Throttled => 2,
        };
        self.sign_ins[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP cairn_http_requests_total HTTP requests by route pattern, method and status.\n",
        );
        out.push_str("# TYPE cairn_http_requests_total counter\n");
        let routes = self.routes.lock();
        for (route, stats) in routes.iter() {
            for ((method, status), count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "cairn_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(route),
                    escape_label(method)
                );
            }
        }
        out.push_str("# HELP cairn_http_request_duration_seconds Time spent answering requests.\n");
        out.push_str("# TYPE cairn_http_request_duration_seconds summary\n");
        for (route, stats) in routes.iter() {
            let route = escape_label(route);
            let _ = writeln!(
                out,
                "cairn_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                stats.seconds_sum
            );
            let _ = writeln!(
                out,
                "cairn_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                stats.count
            );
        }
        drop(routes);
        out.push_str("# HELP cairn_sign_ins_total Sign-in attempts by outcome.\n");
        out.push_str("# TYPE cairn_sign_ins_total counter\n");
        for (label, counter) in ["success", "failure", "throttled"]
            .iter()
            .zip(&self.sign_ins)
        {
            let _ = writeln!(
                out,
                "cairn_sign_ins_total{{outcome=\"{label}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        render_process(&mut out, self.started);
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Process metrics in the names the Prometheus client libraries use.
fn render_process(out: &mut String, started: std::time::SystemTime) {
    if let Ok(since_epoch) = started.duration_since(std::time::UNIX_EPOCH) {
        out.push_str(
            "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n",
        );
        out.push_str("# TYPE process_start_time_seconds gauge\n");
        let _ = writeln!(out, "process_start_time_seconds {}", since_epoch.as_secs());
    }
    #[cfg(target_os = "linux")]
    {
        if let Some(rss) = resident_memory_bytes() {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
            out.push_str("# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        if let Some(seconds) = cpu_seconds() {
            out.push_str(
                "# HELP process_cpu_seconds_total Total user and system CPU time in seconds.\n",
            );
            out.push_str("# TYPE process_cpu_seconds_total counter\n");
            let _ = writeln!(out, "process_cpu_seconds_total {seconds}");
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            out.push_str("# HELP process_open_fds Number of open file descriptors.\n");
            out.push_str("# TYPE process_open_fds gauge\n");
            let _ = writeln!(out, "process_open_fds {}", entries.count());
        }
    }
}

/// Page size and clock ticks are 4096 and 100 on every Linux platform Cairn targets.
#[cfg(target_os = "linux")]
fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(target_os = "linux")]
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Middleware: times and counts every request.
pub async fn track_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics().record_request(
        &route,
        &method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_in_exposition_format() {
        let metrics = Metrics::new();
        metrics.record_request("/sign-in", "POST", 303, 0.5);
        metrics.record_request("/sign-in", "POST", 303, 0.25);
        metrics.record_request("/a\"b", "GET", 404, 0.0);
        metrics.record_sign_in(SignInOutcome::Success);
        metrics.record_sign_in(SignInOutcome::Throttled);
        let text = metrics.render();
        assert!(text.contains(
            "cairn_http_requests_total{route=\"/sign-in\",method=\"POST\",status=\"303\"} 2"
        ));
        assert!(text.contains("cairn_http_request_duration_seconds_sum{route=\"/sign-in\"} 0.75"));
        assert!(text.contains("route=\"/a\\\"b\""));
        assert!(text.contains("cairn_sign_ins_total{outcome=\"success\"} 1"));
        assert!(text.contains("cairn_sign_ins_total{outcome=\"failure\"} 0"));
        assert!(text.contains("cairn_sign_ins_total{outcome=\"throttled\"} 1"));
        assert!(text.contains("process_start_time_seconds "));
        #[cfg(target_os = "linux")]
        assert!(text.contains("process_resident_memory_bytes "));
    }
}
