//! `POST /ksql`: runs a batch of statements in order and answers one entity per statement, as
//! ksqlDB does. A failing statement stops the batch; its error carries the entities of the
//! statements before it.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flusso_engine::{EngineError, StatementResult};
use flusso_sql::ast::{SourceType, StatementKind};
use serde_json::{json, Value};

use crate::error::{ApiError, BodyResult};
use crate::{request, AppState};

/// The message ksqlDB answers when a query is sent to `/ksql`.
pub const QUERY_ENDPOINT_MESSAGE: &str =
    "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT";

pub async fn ksql(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: BodyResult,
) -> Response {
    if !accepts_json(&headers) {
        return ApiError {
            status: axum::http::StatusCode::NOT_ACCEPTABLE,
            code: 40600,
            ..ApiError::bad_request(
                "/ksql answers application/vnd.ksql.v1+json or application/json",
            )
        }
        .into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match run(&state, &body).await {
        Ok(entities) => Json(Value::Array(entities)).into_response(),
        Err(e) => {
            state.inner.metrics.record_error();
            e.into_response()
        }
    }
}

/// Whether the request accepts a JSON answer (no Accept header accepts anything).
fn accepts_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(accept) = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
    else {
        return true;
    };
    accept.split(',').any(|media| {
        let media = media.split(';').next().unwrap_or("").trim();
        matches!(
            media,
            "" | "*/*"
                | "application/*"
                | "application/json"
                | "application/vnd.ksql.v1+json"
                | "application/vnd.ksql+json"
        )
    })
}

async fn run(state: &AppState, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let request::SqlRequest { sql, mut session } = request::parse(body, "ksql")?;
    let statements = flusso_sql::parse(&sql)
        .map_err(|e| ApiError::statement(EngineError::from(e).to_string(), &sql, vec![]))?;
    let mut entities = Vec::new();
    for statement in &statements {
        // ksqlDB's statement text ends with its semicolon.
        let text = format!("{};", statement.text);
        if matches!(
            statement.kind,
            StatementKind::Query(_) | StatementKind::Print { .. }
        ) {
            return Err(ApiError {
                code: 40002,
                ..ApiError::statement(QUERY_ENDPOINT_MESSAGE, &text, entities)
            });
        }
        // TERMINATE of a push query (`transient_...`) stops it here; persistent ones go to
        // the engine.
        if let StatementKind::Terminate(flusso_sql::ast::QueryTarget::Id(id)) = &statement.kind {
            let token = {
                let mut open = state.inner.push_queries.lock();
                let key = open.keys().find(|k| k.eq_ignore_ascii_case(id)).cloned();
                key.and_then(|k| open.remove(&k).map(|(t, _)| (k, t)))
            };
            if let Some((query_id, token)) = token {
                token.cancel();
                entities.push(json!({
                    "@type": "terminate_query",
                    "statementText": text,
                    "queryId": query_id,
                    "wasTerminated": true,
                    "warnings": [],
                }));
                continue;
            }
        }
        let result = state
            .engine()
            .execute_statement(statement, &mut session)
            .await
            .map_err(|e| match e {
                EngineError::Request(m) => ApiError::bad_request(m),
                e => ApiError::statement(e.to_string(), &text, entities.clone()),
            })?;
        let result = match (&statement.kind, result) {
            (
                StatementKind::Show {
                    what: flusso_sql::ast::ShowTarget::Queries,
                    ..
                },
                StatementResult::Entity(mut e),
            ) => {
                if let Some(Value::Array(list)) = e.get_mut("queries") {
                    for (id, (_, sql)) in state.inner.push_queries.lock().iter() {
                        list.push(json!({
                            "queryString": sql,
                            "sinks": [],
                            "sinkKafkaTopics": [],
                            "id": id,
                            "statusCount": {"RUNNING": 1},
                            "queryType": "PUSH",
                            "state": "RUNNING",
                        }));
                    }
                }
                StatementResult::Entity(e)
            }
            (_, r) => r,
        };
        if let Some(entity) = entity(state, &statement.kind, &text, result) {
            entities.push(entity);
        }
    }
    Ok(entities)
}

/// The entity answering one statement; `None` for those ksqlDB answers with nothing (SET,
/// UNSET, DEFINE, UNDEFINE, INSERT ... VALUES).
fn entity(
    state: &AppState,
    kind: &StatementKind,
    text: &str,
    result: StatementResult,
) -> Option<Value> {
    match (kind, result) {
        (
            StatementKind::SetProperty { .. }
            | StatementKind::UnsetProperty { .. }
            | StatementKind::DefineVariable { .. }
            | StatementKind::UndefineVariable { .. }
            | StatementKind::InsertValues { .. },
            _,
        ) => None,
        (_, StatementResult::Entity(mut e)) => {
            if let Value::Object(o) = &mut e {
                // `@type` first, then the statement, as ksqlDB orders them.
                let mut out = serde_json::Map::new();
                if let Some(t) = o.shift_remove("@type") {
                    out.insert("@type".into(), t);
                }
                out.insert("statementText".into(), json!(text));
                out.append(o);
                out.insert("warnings".into(), json!([]));
                return Some(Value::Object(out));
            }
            Some(e)
        }
        (kind, StatementResult::Message(message)) => {
            Some(current_status(state, kind, text, message, None))
        }
        (kind, StatementResult::QueryCreated { query_id, .. }) => Some(current_status(
            state,
            kind,
            text,
            format!("Created query with ID {query_id}"),
            Some(query_id),
        )),
    }
}

fn current_status(
    state: &AppState,
    kind: &StatementKind,
    text: &str,
    message: String,
    query_id: Option<String>,
) -> Value {
    let seq = state.inner.command_seq.fetch_add(1, Ordering::Relaxed) + 1;
    let mut status = json!({"status": "SUCCESS", "message": message});
    if let Some(id) = &query_id {
        status["queryId"] = json!(id);
    }
    let command_id = command_id(kind);
    state
        .inner
        .statuses
        .lock()
        .push((command_id.clone(), status.clone()));
    json!({
        "@type": "currentStatus",
        "statementText": text,
        "commandId": command_id,
        "commandStatus": status,
        "commandSequenceNumber": seq,
        "warnings": [],
    })
}

/// ksqlDB's command id: `type/entity/action`.
fn command_id(kind: &StatementKind) -> String {
    let source = |t: &SourceType| match t {
        SourceType::Stream => "stream",
        SourceType::Table => "table",
    };
    match kind {
        StatementKind::CreateSource(c) => format!("{}/{}/create", source(&c.source_type), c.name),
        StatementKind::CreateAsSelect(c) => {
            format!("{}/{}/create", source(&c.source_type), c.name)
        }
        StatementKind::InsertInto { target, .. } => format!("stream/{target}/create"),
        StatementKind::DropSource {
            source_type, name, ..
        } => format!("{}/{name}/drop", source(source_type)),
        StatementKind::CreateType { name, .. } => format!("type/{name}/create"),
        StatementKind::DropType { name, .. } => format!("type/{name}/drop"),
        StatementKind::AlterSource {
            source_type, name, ..
        } => format!("{}/{name}/alter", source(source_type)),
        StatementKind::Terminate(t) => format!("terminate/{}/execute", target_name(t)),
        StatementKind::Pause(t) => format!("pause/{}/execute", target_name(t)),
        StatementKind::Resume(t) => format!("resume/{}/execute", target_name(t)),
        _ => "cluster/CLUSTER/execute".into(),
    }
}

fn target_name(t: &flusso_sql::ast::QueryTarget) -> String {
    match t {
        flusso_sql::ast::QueryTarget::All => "ALL".into(),
        flusso_sql::ast::QueryTarget::Id(id) => id.to_uppercase(),
    }
}
