//! `GET /metrics` in Prometheus' text format: per persistent query records in and out, errors,
//! late records, state restored and lag; processing-log errors; open push queries; HTTP requests and their latencies by route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::AppState;

/// How a per-query counter is read.
type QueryCounter = fn(&flusso_engine::PersistentQuery) -> u64;

/// Latency buckets (seconds).
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    /// (route, method, status) → (count, sum of seconds, bucket counts).
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    /// Statement and query errors answered.
    errors: AtomicU64,
}

#[derive(Default, Clone)]
struct Histogram {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

impl Metrics {
    pub fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock();
        // A few dozen series at most: found without allocating a key, added once.
        let key = (route, method, status);
        if !requests
            .keys()
            .any(|(r, m, s)| (r.as_str(), m.as_str(), *s) == key)
        {
            requests.insert(
                (route.to_string(), method.to_string(), status),
                Histogram::default(),
            );
        }
        let Some(h) = requests
            .iter_mut()
            .find(|((r, m, s), _)| (r.as_str(), m.as_str(), *s) == key)
            .map(|(_, h)| h)
        else {
            return;
        };
        h.count += 1;
        h.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.buckets[i] += 1;
            }
        }
    }
}

/// Middleware: times every request (until its response head; streams run on).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    state.inner.metrics.observe(
        route.as_ref().map_or("unmatched", |p| p.as_str()),
        method.as_str(),
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let engine = state.engine();
    let mut out = String::new();
    let queries = engine.queries();
    let counters: [(&str, &str, QueryCounter); 5] = [
        (
            "flusso_query_records_in_total",
            "Records read by a persistent query.",
            |q| q.stats.records_in.load(Ordering::Relaxed),
        ),
        (
            "flusso_query_records_out_total",
            "Records written by a persistent query.",
            |q| q.stats.records_out.load(Ordering::Relaxed),
        ),
        (
            "flusso_query_errors_total",
            "Records a persistent query skipped (decode or evaluation errors).",
            |q| q.stats.errors.load(Ordering::Relaxed),
        ),
        (
            "flusso_query_late_records_total",
            "Records an aggregation dropped because their window had closed.",
            |q| q.stats.late.load(Ordering::Relaxed),
        ),
        (
            "flusso_query_restored_records_total",
            "Changelog records read to restore a query's state at start-up.",
            |q| q.stats.restored.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for q in &queries {
            let _ = writeln!(out, "{name}{{query=\"{}\"}} {}", escape(&q.id), value(q));
        }
    }
    let _ = writeln!(out, "# HELP flusso_query_lag_records Records of the source not yet read by a persistent query.\n# TYPE flusso_query_lag_records gauge");
    for q in &queries {
        let mut lag = 0i64;
        for (topic, partition, position) in q.positions() {
            if let Ok((_, end)) = engine.log().offsets(&topic, partition).await {
                lag += (end - position).max(0);
            }
        }
        let _ = writeln!(
            out,
            "flusso_query_lag_records{{query=\"{}\"}} {lag}",
            escape(&q.id)
        );
    }
    let _ = writeln!(
        out,
        "# HELP flusso_processing_log_errors_total Records written to the processing log.\n# TYPE flusso_processing_log_errors_total counter\nflusso_processing_log_errors_total {}",
        engine.processing_errors()
    );
    let _ = writeln!(
        out,
        "# HELP flusso_push_queries_open Push queries and PRINTs running.\n# TYPE flusso_push_queries_open gauge\nflusso_push_queries_open {}",
        state.inner.push_queries.lock().len()
    );
    let _ = writeln!(
        out,
        "# HELP flusso_http_statement_errors_total Statements and queries refused or failed.\n# TYPE flusso_http_statement_errors_total counter\nflusso_http_statement_errors_total {}",
        state.inner.metrics.errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP flusso_uptime_seconds Seconds since the HTTP API started.\n# TYPE flusso_uptime_seconds gauge\nflusso_uptime_seconds {:.3}",
        state.inner.started.elapsed().as_secs_f64()
    );
    let requests = state.inner.metrics.requests.lock().clone();
    let _ = writeln!(out, "# HELP flusso_http_request_duration_seconds HTTP request latency until the response head.\n# TYPE flusso_http_request_duration_seconds histogram");
    for ((route, method, status), h) in &requests {
        let labels = format!(
            "route=\"{}\",method=\"{method}\",status=\"{status}\"",
            escape(route)
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "flusso_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                h.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "flusso_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "flusso_http_request_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "flusso_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
