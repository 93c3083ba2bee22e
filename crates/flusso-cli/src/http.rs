//! The HTTP API: `GET /healthcheck` and `POST /ksql` (statements), in ksqlDB's shapes. The full
//! ksqlDB-compatible surface (queries, streaming, the dashboard) grows on this router.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flusso_engine::{Engine, EngineError, Session, StatementResult};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

async fn healthcheck() -> Json<Value> {
    Json(json!({
        "isHealthy": true,
        "details": {
            "metastore": { "isHealthy": true },
            "kafka": { "isHealthy": true }
        }
    }))
}

/// A ksqlDB-shaped error response.
fn error(status: StatusCode, code: u32, message: String, statement: &str) -> Response {
    (
        status,
        Json(json!({
            "@type": "statement_error",
            "error_code": code,
            "message": message,
            "statementText": statement,
            "entities": [],
        })),
    )
        .into_response()
}

fn entity(result: &StatementResult, text: &str, seq: usize) -> Value {
    match result {
        StatementResult::Message(m) => json!({
            "@type": "currentStatus",
            "statementText": text,
            "commandId": format!("statement/{seq}"),
            "commandStatus": { "status": "SUCCESS", "message": m },
            "commandSequenceNumber": seq,
            "warnings": [],
        }),
        StatementResult::QueryCreated { query_id, sink } => json!({
            "@type": "currentStatus",
            "statementText": text,
            "commandId": format!("stream/{sink}/create"),
            "commandStatus": {
                "status": "SUCCESS",
                "message": format!("Created query with ID {query_id}"),
                "queryId": query_id,
            },
            "commandSequenceNumber": seq,
            "warnings": [],
        }),
        StatementResult::Listing { what, rows } => json!({
            "@type": what.to_lowercase(),
            "statementText": text,
            "rows": rows.iter().map(|r| {
                let mut o = serde_json::Map::new();
                o.insert("name".into(), json!(r.name));
                for (k, v) in &r.fields {
                    o.insert(k.clone(), json!(v));
                }
                Value::Object(o)
            }).collect::<Vec<_>>(),
            "warnings": [],
        }),
    }
}

async fn ksql(State(engine): State<Engine>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                40000,
                format!("Invalid JSON in request: {e}"),
                "",
            )
        }
    };
    let Some(text) = request.get("ksql").and_then(|k| k.as_str()) else {
        return error(
            StatusCode::BAD_REQUEST,
            40000,
            "the request has no \"ksql\" field".into(),
            "",
        );
    };
    let mut session = Session::default();
    if let Some(props) = request.get("streamsProperties").and_then(|p| p.as_object()) {
        for (k, v) in props {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            session.properties.insert(k.clone(), v);
        }
    }
    let statements = match flusso_sql::parse(text) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                40001,
                EngineError::from(e).to_string(),
                text,
            )
        }
    };
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if matches!(
            s.kind,
            flusso_sql::StatementKind::Query(_) | flusso_sql::StatementKind::Print { .. }
        ) {
            return error(
                StatusCode::BAD_REQUEST,
                40002,
                "SELECT and PRINT statements are served by the /query endpoint".into(),
                &s.text,
            );
        }
        match engine.execute_statement(s, &mut session).await {
            Ok(r) => out.push(entity(&r, &s.text, i)),
            Err(e) => return error(StatusCode::BAD_REQUEST, 40001, e.to_string(), &s.text),
        }
    }
    Json(Value::Array(out)).into_response()
}

/// The router of the HTTP API.
pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/healthcheck", get(healthcheck))
        .route("/ksql", post(ksql))
        .with_state(engine)
}

/// Serves the HTTP API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    engine: Engine,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::debug!(?addr, "http api serving");
    axum::serve(listener, router(engine))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
