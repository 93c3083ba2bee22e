//! The dashboard's topic viewer: topics with their partitions' offsets, and records of one
//! partition from an offset or from the end, read through the engine's log client (the embedded
//! log or a Kafka cluster alike).
//!
//! - `GET /api/topics`: `{"topics": [{"name", "internal", "partitions": [{"partition", "start",
//!   "end"}]}]}`;
//! - `GET /api/topics/{name}/records?partition=P&offset=O&limit=N`: up to `N` records of
//!   partition `P` from offset `O`, or the last `N` without `offset` (or with `offset=end`):
//!   `{"topic", "partition", "start", "end", "next", "records": [{"partition", "offset",
//!   "timestamp", "key", "value", "headers": [{"key", "value"}]}]}`, keys, values and header
//!   values in base64 (`null` when absent).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::AppState;

/// Records answered by default, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// Bytes of records answered at most (a few large records stop a page early).
const MAX_BYTES: usize = 4 << 20;

fn log_error(e: flusso_engine::EngineError) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: 50300,
        message: format!("cannot read the log: {e}"),
        statement: None,
    }
}

/// Topics the log and the engine keep for themselves (`__consumer_offsets`, `_flusso_commands`,
/// changelogs, the dashboards).
fn internal(name: &str) -> bool {
    name.starts_with('_')
}

/// `GET /api/topics`.
pub async fn list(State(state): State<AppState>) -> Response {
    match topics(&state).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn topics(state: &AppState) -> Result<Value, ApiError> {
    let log = state.engine().log();
    let mut names = log.topics().await.map_err(log_error)?;
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some(count) = log.partitions(&name).await.map_err(log_error)? else {
            continue;
        };
        let mut partitions = Vec::with_capacity(count.max(0) as usize);
        for p in 0..count {
            let (start, end) = log.offsets(&name, p).await.unwrap_or((0, 0));
            partitions.push(json!({"partition": p, "start": start, "end": end}));
        }
        out.push(json!({
            "name": name,
            "internal": internal(&name),
            "partitions": partitions,
        }));
    }
    Ok(json!({ "topics": out }))
}

/// `GET /api/topics/{name}/records`.
pub async fn records(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match read(&state, &name, &params).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn int_param(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match params.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("'{name}' must be an integer, not '{v}'"))),
    }
}

async fn read(
    state: &AppState,
    name: &str,
    params: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let log = state.engine().log();
    let Some(count) = log.partitions(name).await.map_err(log_error)? else {
        return Err(ApiError::not_found(format!(
            "Topic '{name}' does not exist"
        )));
    };
    let partition = int_param(params, "partition")?.unwrap_or(0);
    if partition < 0 || partition >= i64::from(count) {
        return Err(ApiError::bad_request(format!(
            "Topic '{name}' has partitions 0 to {}; there is no partition {partition}",
            count - 1
        )));
    }
    let partition = partition as i32;
    let limit = int_param(params, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "'limit' must be from 1 to {MAX_LIMIT}"
        )));
    }
    let (start, end) = log.offsets(name, partition).await.map_err(log_error)?;
    let from_end = params.get("offset").is_some_and(|o| o == "end");
    let offset = if from_end {
        None
    } else {
        int_param(params, "offset")?
    };
    let mut offset = match offset {
        Some(o) if o < 0 => {
            return Err(ApiError::bad_request("'offset' must not be negative"));
        }
        Some(o) => o.max(start),
        None => (end - limit).max(start),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut records = Vec::new();
    let mut bytes = 0usize;
    'read: while offset < end && (records.len() as i64) < limit && bytes < MAX_BYTES {
        let batch = log
            .fetch(name, partition, offset, 1 << 20)
            .await
            .map_err(log_error)?;
        if batch.is_empty() {
            break;
        }
        for r in batch {
            if records.len() as i64 >= limit || bytes >= MAX_BYTES {
                break 'read;
            }
            offset = r.offset + 1;
            bytes +=
                r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len());
            let headers: Vec<Value> = r
                .headers
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v.as_ref().map(|v| b64.encode(v))}))
                .collect();
            records.push(json!({
                "partition": partition,
                "offset": r.offset,
                "timestamp": r.timestamp,
                "key": r.key.as_ref().map(|k| b64.encode(k)),
                "value": r.value.as_ref().map(|v| b64.encode(v)),
                "headers": headers,
            }));
        }
    }
    Ok(json!({
        "topic": name,
        "partition": partition,
        "start": start,
        "end": end,
        "next": offset,
        "records": records,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_topics() {
        assert!(internal("_flusso_commands"));
        assert!(internal("_flusso_dashboards"));
        assert!(!internal("readings"));
        assert!(!internal("default_ksql_processing_log"));
    }
}
