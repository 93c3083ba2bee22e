//! The dashboard's saved dashboards: JSON documents (a title and panels of pull queries) kept
//! in the compacted topic `_flusso_dashboards` — key the dashboard's id, value the document, a
//! tombstone for a deleted one — written and read through the engine's log client, so they are
//! as durable as the log, embedded or a Kafka cluster. The topic is read at start-up.
//!
//! - `GET /api/dashboards`: `{"dashboards": [{"id", "title", "panels", "updated"}]}`;
//! - `GET /api/dashboards/{id}`: the document;
//! - `PUT /api/dashboards/{id}`: saves a document `{"title": …, "panels": [ … ], …}`;
//! - `DELETE /api/dashboards/{id}`: deletes it.
//!
//! Bad input answers 4xx with ksqlDB's error shape.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flusso_engine::{LogClient, OutRecord};
use serde_json::{json, Value};

use crate::error::{ApiError, BodyResult};
use crate::AppState;

/// The compacted topic holding the dashboards.
pub const DASHBOARD_TOPIC: &str = "_flusso_dashboards";
/// The largest document saved.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// The most panels a dashboard has.
pub const MAX_PANELS: usize = 100;
/// The most dashboards kept.
pub const MAX_DASHBOARDS: usize = 1000;

/// The dashboards, by id: read from the topic on first use (at start-up), then kept in step with
/// it. Writes hold the lock, so the topic and the map see them in the same order.
#[derive(Default)]
pub struct Store {
    loaded: tokio::sync::Mutex<Option<BTreeMap<String, Value>>>,
}

type Map = BTreeMap<String, Value>;

impl Store {
    /// The loaded map, locked (the topic is read first if it was not yet).
    async fn lock(
        &self,
        log: &dyn LogClient,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, Map>, ApiError> {
        let mut guard = self.loaded.lock().await;
        if guard.is_none() {
            let map = load(log)
                .await
                .map_err(|e| unavailable(&format!("cannot read the dashboards: {e}")))?;
            *guard = Some(map);
        }
        Ok(tokio::sync::MutexGuard::map(guard, |g| {
            g.get_or_insert_with(Map::new)
        }))
    }

    /// Reads the topic now (at start-up), so a first request finds them ready.
    pub async fn preload(&self, log: &dyn LogClient) {
        if let Err(e) = self.lock(log).await {
            tracing::warn!(error = %e.message, "dashboards not loaded at start-up");
        }
    }
}

fn unavailable(message: &str) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: 50300,
        message: message.to_string(),
        statement: None,
    }
}

/// Every dashboard of the topic: the last record of each key, tombstones removing.
async fn load(log: &dyn LogClient) -> flusso_engine::Result<Map> {
    let mut map = Map::new();
    let Some(partitions) = log.partitions(DASHBOARD_TOPIC).await? else {
        return Ok(map);
    };
    for partition in 0..partitions {
        let (start, end) = log.offsets(DASHBOARD_TOPIC, partition).await?;
        let mut offset = start;
        while offset < end {
            let records = log
                .fetch(DASHBOARD_TOPIC, partition, offset, 1 << 20)
                .await?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            for r in records {
                let Some(id) = r.key.as_ref().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                match r.value.as_ref().map(|v| serde_json::from_slice::<Value>(v)) {
                    None => {
                        map.remove(id);
                    }
                    Some(Ok(doc)) => {
                        map.insert(id.to_string(), doc);
                    }
                    Some(Err(e)) => {
                        tracing::warn!(id, error = %e, "unreadable dashboard skipped");
                    }
                }
            }
        }
    }
    tracing::info!(dashboards = map.len(), "dashboards read");
    Ok(map)
}

/// Writes one record (a document, or a tombstone for `None`) to the topic.
async fn write(log: &dyn LogClient, id: &str, doc: Option<&Value>) -> Result<(), ApiError> {
    let failed = |e: flusso_engine::EngineError| unavailable(&format!("cannot save: {e}"));
    if log
        .partitions(DASHBOARD_TOPIC)
        .await
        .map_err(failed)?
        .is_none()
    {
        log.create_topic(DASHBOARD_TOPIC, 1, true)
            .await
            .map_err(failed)?;
    }
    let record = OutRecord {
        key: Some(id.as_bytes().to_vec()),
        value: doc.map(|d| d.to_string().into_bytes()),
        timestamp: flusso_common::now_ms(),
        headers: Vec::new(),
    };
    log.produce(DASHBOARD_TOPIC, 0, &[record])
        .await
        .map_err(failed)
}

/// A dashboard id: 1 to 64 letters, digits, `-` or `_`.
fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(format!(
            "Invalid dashboard id '{id}': use 1 to 64 letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

/// Checks a document sent to be saved and returns what is stored: the document with its `id`
/// and `updated` (ms) set.
fn check_document(id: &str, body: &[u8], now: i64) -> Result<Value, ApiError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::bad_request(format!(
            "A dashboard is at most {MAX_DOCUMENT_BYTES} bytes; this one has {}",
            body.len()
        )));
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request: {e}")))?;
    let Value::Object(mut object) = doc else {
        return Err(ApiError::bad_request(
            "A dashboard is a JSON object with a \"title\" and \"panels\"",
        ));
    };
    match object.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.chars().count() <= 200 => {}
        _ => {
            return Err(ApiError::bad_request(
                "A dashboard's \"title\" must be a string of 1 to 200 characters",
            ))
        }
    }
    match object.get("panels") {
        Some(Value::Array(panels)) => {
            if panels.len() > MAX_PANELS {
                return Err(ApiError::bad_request(format!(
                    "A dashboard has at most {MAX_PANELS} panels"
                )));
            }
            for (i, p) in panels.iter().enumerate() {
                let sql_ok = p.get("sql").is_some_and(Value::is_string);
                if !p.is_object() || !sql_ok {
                    return Err(ApiError::bad_request(format!(
                        "Panel {} must be an object with a \"sql\" string",
                        i + 1
                    )));
                }
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "A dashboard's \"panels\" must be an array",
            ))
        }
    }
    object.insert("id".into(), Value::String(id.to_string()));
    object.insert("updated".into(), json!(now));
    Ok(Value::Object(object))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Dashboard '{id}' does not exist"))
}

/// `GET /api/dashboards`.
pub async fn list(State(state): State<AppState>) -> Response {
    let map = match state
        .inner
        .dashboards
        .lock(state.engine().log().as_ref())
        .await
    {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let mut items: Vec<Value> = map
        .iter()
        .map(|(id, d)| {
            json!({
                "id": id,
                "title": d.get("title").cloned().unwrap_or(Value::Null),
                "panels": d.get("panels").and_then(Value::as_array).map_or(0, Vec::len),
                "updated": d.get("updated").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    items.sort_by_key(|d| std::cmp::Reverse(d["updated"].as_i64().unwrap_or(0)));
    Json(json!({ "dashboards": items })).into_response()
}

/// `GET /api/dashboards/{id}`.
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let map = match state
        .inner
        .dashboards
        .lock(state.engine().log().as_ref())
        .await
    {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    match map.get(&id) {
        Some(doc) => Json(doc.clone()).into_response(),
        None => not_found(&id).into_response(),
    }
}

/// `PUT /api/dashboards/{id}`.
pub async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: BodyResult,
) -> Response {
    match save(&state, &id, body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn save(state: &AppState, id: &str, body: BodyResult) -> Result<Value, ApiError> {
    let body = body?;
    check_id(id)?;
    let doc = check_document(id, &body, flusso_common::now_ms())?;
    let log = state.engine().log().as_ref();
    let mut map = state.inner.dashboards.lock(log).await?;
    if !map.contains_key(id) && map.len() >= MAX_DASHBOARDS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_DASHBOARDS} dashboards are kept: delete one first"
        )));
    }
    write(log, id, Some(&doc)).await?;
    map.insert(id.to_string(), doc.clone());
    Ok(doc)
}

/// `DELETE /api/dashboards/{id}`.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let log = state.engine().log().as_ref();
    let result = async {
        let mut map = state.inner.dashboards.lock(log).await?;
        if !map.contains_key(&id) {
            return Err(not_found(&id));
        }
        write(log, &id, None).await?;
        map.remove(&id);
        Ok(json!({ "deleted": id }))
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("sales-2024_q1").is_ok());
        for bad in ["", "a b", "../x", "é", &"x".repeat(65)] {
            assert_eq!(check_id(bad).unwrap_err().code, 40000, "{bad}");
        }
    }

    #[test]
    fn documents() {
        let doc = check_document(
            "d1",
            br#"{"title":"Sales","panels":[{"sql":"SELECT * FROM t;"}]}"#,
            7,
        )
        .unwrap();
        assert_eq!(doc["id"], "d1");
        assert_eq!(doc["updated"], 7);
        for bad in [
            &b"nope"[..],
            b"[]",
            br#"{"panels":[]}"#,
            br#"{"title":"","panels":[]}"#,
            br#"{"title":"t"}"#,
            br#"{"title":"t","panels":[1]}"#,
            br#"{"title":"t","panels":[{"title":"no sql"}]}"#,
        ] {
            let e = check_document("d1", bad, 0).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
        let big = format!(
            r#"{{"title":"t","panels":[],"x":"{}"}}"#,
            "a".repeat(MAX_DOCUMENT_BYTES)
        );
        assert!(check_document("d1", big.as_bytes(), 0).is_err());
    }
}
