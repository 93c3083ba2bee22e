//! The small endpoints: server info, health, command status, property checks, metadata,
//! probes, and `TERMINATE CLUSTER`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, BodyResult};
use crate::AppState;

/// The cluster id every Flusso server reports (one embedded log, one cluster).
const CLUSTER_ID: &str = "flusso-embedded";
const SERVICE_ID: &str = "default_";

fn server_state(state: &AppState) -> &'static str {
    if state.inner.shutdown.is_cancelled() {
        "TERMINATING"
    } else {
        "READY"
    }
}

pub async fn root() -> Redirect {
    Redirect::temporary("/info")
}

pub async fn info(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "KsqlServerInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "kafkaClusterId": CLUSTER_ID,
            "ksqlServiceId": SERVICE_ID,
            "serverStatus": if state.inner.shutdown.is_cancelled() { "DEGRADED" } else { "RUNNING" },
        }
    }))
}

pub async fn healthcheck(State(state): State<AppState>) -> Response {
    let kafka = state.engine().log().topics().await.is_ok();
    let body = json!({
        "isHealthy": kafka,
        "details": {
            "metastore": {"isHealthy": true},
            "kafka": {"isHealthy": kafka},
            "commandRunner": {"isHealthy": true},
        },
        "serverState": server_state(&state),
    });
    let status = if kafka {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

pub async fn chc() -> Json<Value> {
    Json(json!({}))
}

pub async fn statuses(State(state): State<AppState>) -> Json<Value> {
    let statuses: serde_json::Map<String, Value> = state
        .inner
        .statuses
        .lock()
        .iter()
        .map(|(id, s)| (id.clone(), s["status"].clone()))
        .collect();
    Json(json!({"commandStatuses": statuses}))
}

pub async fn status(
    State(state): State<AppState>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Response {
    let id = format!("{kind}/{entity}/{action}");
    let found = state
        .inner
        .statuses
        .lock()
        .iter()
        .rev()
        .find(|(c, _)| c.eq_ignore_ascii_case(&id))
        .map(|(_, s)| s.clone());
    match found {
        Some(s) => Json(s).into_response(),
        None => ApiError::not_found(format!("Command not found: {id}")).into_response(),
    }
}

/// Properties a request may override (ksqlDB refuses server-only ones).
pub async fn is_valid_property(Path(property): Path<String>) -> Response {
    let denied = [
        "ksql.service.id",
        "ksql.internal.topic.replicas",
        "ksql.persistence.wrap.single.values",
        "bootstrap.servers",
    ];
    if denied.contains(&property.as_str()) {
        return ApiError::bad_request(format!(
            "One or more properties overrides set locally are prohibited by the KSQL server (use UNSET to reset their default value): [{property}]"
        ))
        .into_response();
    }
    if !known_property(&property) {
        return ApiError::bad_request(format!(
            "Not recognizable as ksql, streams, consumer, or producer property: '{property}'"
        ))
        .into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        "true".to_string(),
    )
        .into_response()
}

/// Whether ksqlDB resolves a property name: any `ksql.` name, or a Kafka Streams, consumer or
/// producer setting, bare or under its prefix (`ksql.streams.`, `consumer.`, `producer.`, …).
fn known_property(name: &str) -> bool {
    const CLIENT: &[&str] = &[
        "acks",
        "application.id",
        "auto.commit.interval.ms",
        "auto.offset.reset",
        "batch.size",
        "bootstrap.servers",
        "buffer.memory",
        "buffered.records.per.partition",
        "cache.max.bytes.buffering",
        "client.id",
        "commit.interval.ms",
        "compression.type",
        "connections.max.idle.ms",
        "default.deserialization.exception.handler",
        "default.production.exception.handler",
        "delivery.timeout.ms",
        "enable.auto.commit",
        "enable.idempotence",
        "fetch.max.bytes",
        "fetch.max.wait.ms",
        "fetch.min.bytes",
        "group.id",
        "group.instance.id",
        "heartbeat.interval.ms",
        "isolation.level",
        "linger.ms",
        "max.block.ms",
        "max.in.flight.requests.per.connection",
        "max.partition.fetch.bytes",
        "max.poll.interval.ms",
        "max.poll.records",
        "max.request.size",
        "max.task.idle.ms",
        "metadata.max.age.ms",
        "num.standby.replicas",
        "num.stream.threads",
        "partition.assignment.strategy",
        "poll.ms",
        "processing.guarantee",
        "receive.buffer.bytes",
        "reconnect.backoff.ms",
        "replication.factor",
        "request.timeout.ms",
        "retries",
        "retry.backoff.ms",
        "security.protocol",
        "send.buffer.bytes",
        "session.timeout.ms",
        "state.dir",
        "statestore.cache.max.bytes",
        "topology.optimization",
        "transaction.timeout.ms",
        "transactional.id",
    ];
    const PREFIXES: &[&str] = &[
        "ksql.streams.consumer.",
        "ksql.streams.producer.",
        "ksql.streams.",
        "consumer.",
        "producer.",
        "main.consumer.",
        "restore.consumer.",
        "global.consumer.",
        "admin.",
    ];
    let bare = PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    (name.starts_with("ksql.") && !name.starts_with("ksql.streams."))
        || CLIENT.contains(&bare)
        || bare.starts_with("ssl.")
        || bare.starts_with("sasl.")
}

pub async fn metadata() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commitId": "",
        "clusterId": {
            "scope": {"path": [], "clusters": {"kafka-cluster": CLUSTER_ID, "ksql-cluster": SERVICE_ID}},
            "id": "",
        },
    }))
}

pub async fn metadata_id() -> Json<Value> {
    Json(json!({
        "scope": {"path": [], "clusters": {"kafka-cluster": CLUSTER_ID, "ksql-cluster": SERVICE_ID}},
        "id": "",
    }))
}

pub async fn cluster_status(State(state): State<AppState>) -> Json<Value> {
    let _ = &state;
    Json(json!({"clusterStatus": {}}))
}

/// `POST /ksql/terminate`: terminates every persistent query (ksqlDB's TERMINATE CLUSTER). Sources
/// and topics stay; `deleteTopicList` is accepted and ignored.
pub async fn terminate_cluster(State(state): State<AppState>, body: BodyResult) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !body.is_empty() && serde_json::from_slice::<Value>(&body).is_err() {
        return ApiError::bad_request("Invalid JSON in request").into_response();
    }
    let mut session = flusso_engine::Session::default();
    match state.engine().execute("TERMINATE ALL;", &mut session).await {
        Ok(_) => Json(json!([{
            "@type": "currentStatus",
            "statementText": "TERMINATE CLUSTER;",
            "commandId": "cluster/CLUSTER/terminate",
            "commandStatus": {"status": "SUCCESS", "message": "Cluster terminated"},
            "commandSequenceNumber": 0,
            "warnings": [],
        }]))
        .into_response(),
        Err(e) => ApiError::bad_request(e.to_string()).into_response(),
    }
}
