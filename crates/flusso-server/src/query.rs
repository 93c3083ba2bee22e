//! Streaming queries: `POST /query` (ksqlDB's chunked JSON array of `StreamedRow`s),
//! `POST /query-stream` (newline-delimited or JSON), `GET /ws/query` (WebSocket) and
//! `POST /close-query`. Push queries and PRINT run as a task that feeds a bounded channel; the
//! response body reads it. A client that goes away drops the body, which ends the task and the
//! query; `/close-query` cancels it by id.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use flusso_engine::{EngineError, PullResult, PushQuery, PushRow, SqlType};
use flusso_sql::ast::StatementKind;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, BodyResult};
use crate::rows::{schema_text, write_streamed_row, write_value_array};
use crate::{request, AppState};

/// What a running query produces, in order.
#[derive(Debug)]
pub enum Event {
    /// First: the query id and the columns (name, type, key).
    Header {
        query_id: String,
        columns: Vec<(String, SqlType, bool)>,
        /// A pull query: its header marks the key columns.
        pull: bool,
    },
    /// A row.
    Row(PushRow),
    /// A line of PRINT output.
    Text(String),
    /// The query ended on its own (`Limit Reached`, `Query Completed`).
    Final(&'static str),
    /// The query failed.
    Error(String),
    /// A pull query's last row was sent.
    End,
}

/// A started query: its events, and the token `/close-query` cancels.
pub struct Running {
    pub id: String,
    pub events: mpsc::Receiver<Event>,
}

/// A query begun: a pull query's whole answer, or a running push query or PRINT.
pub enum Started {
    /// A pull query, answered.
    Pull(PullResult),
    /// A push query or PRINT, running.
    Running(Running),
}

/// A pull query's answer as the events a running query would produce.
fn pull_events(result: PullResult) -> impl Iterator<Item = Event> {
    let header = Event::Header {
        query_id: result.id,
        columns: result.columns,
        pull: true,
    };
    let last = match result.final_message {
        Some(message) => Event::Final(message),
        None => Event::End,
    };
    std::iter::once(header)
        .chain(result.rows.into_iter().map(|columns| {
            Event::Row(PushRow {
                columns,
                tombstone: false,
            })
        }))
        .chain(std::iter::once(last))
}

/// Parses a SELECT or PRINT and begins it: a pull query is answered here (the commonest,
/// `SELECT * FROM t WHERE k = literal;`, without parsing), anything else starts running.
pub async fn begin(
    state: &AppState,
    sql: &str,
    session: &flusso_engine::Session,
) -> Result<Started, ApiError> {
    if let Some(result) = state.engine().pull_key_lookup(sql) {
        return Ok(Started::Pull(result));
    }
    let statements = flusso_sql::parse(sql)
        .map_err(|e| ApiError::statement(EngineError::from(e).to_string(), sql, vec![]))?;
    let [statement] = statements.as_slice() else {
        return Err(ApiError::statement(
            "Expected exactly one statement: a SELECT or a PRINT.",
            sql,
            vec![],
        ));
    };
    if let StatementKind::Query(q) = &statement.kind {
        if q.emit.is_none() {
            return state
                .engine()
                .pull_parsed(q, session)
                .await
                .map(Started::Pull)
                .map_err(|e| {
                    ApiError::statement(e.to_string(), &format!("{};", statement.text), vec![])
                });
        }
    }
    run(state, statement, session).await.map(Started::Running)
}

/// Parses and starts a SELECT (push or pull) or PRINT, its events on a channel.
pub async fn start(
    state: &AppState,
    sql: &str,
    session: &flusso_engine::Session,
) -> Result<Running, ApiError> {
    match begin(state, sql, session).await? {
        Started::Running(running) => Ok(running),
        Started::Pull(result) => {
            let id = result.id.clone();
            let (tx, rx) = mpsc::channel(256);
            tokio::spawn(async move {
                for event in pull_events(result) {
                    if tx.send(event).await.is_err() {
                        break;
                    }
                }
            });
            Ok(Running { id, events: rx })
        }
    }
}

/// Starts a push query or PRINT.
async fn run(
    state: &AppState,
    statement: &flusso_sql::Statement,
    session: &flusso_engine::Session,
) -> Result<Running, ApiError> {
    let text = format!("{};", statement.text);
    let (tx, rx) = mpsc::channel(256);
    // Server shutdown ends every running query.
    let cancel = state.inner.shutdown.child_token();
    let id = match &statement.kind {
        StatementKind::Query(_) => {
            let query = state
                .engine()
                .push_query(&statement.text, session)
                .await
                .map_err(|e| ApiError::statement(e.to_string(), &text, vec![]))?;
            let id = query.id.clone();
            tokio::spawn(forward_push(query, tx, cancel.clone()));
            id
        }
        StatementKind::Print {
            topic,
            from_beginning,
            interval,
            limit,
        } => {
            let log = std::sync::Arc::clone(state.engine().log());
            let partitions = log
                .partitions(topic)
                .await
                .map_err(|e| ApiError::statement(e.to_string(), &text, vec![]))?
                .ok_or_else(|| {
                    ApiError::statement(
                        format!(
                            "Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive."
                        ),
                        &text,
                        vec![],
                    )
                })?;
            let id = format!(
                "PRINT_{}",
                state
                    .inner
                    .print_seq
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1
            );
            let print = Print {
                topic: topic.clone(),
                partitions,
                from_beginning: *from_beginning,
                interval: interval.unwrap_or(1).max(1),
                limit: *limit,
            };
            tokio::spawn(print.run(log, tx, cancel.clone()));
            id
        }
        _ => {
            return Err(ApiError {
                code: 40002,
                ..ApiError::statement(
                    "Only SELECT and PRINT statements can be run through this endpoint; send other statements to /ksql.",
                    &text,
                    vec![],
                )
            })
        }
    };
    state
        .inner
        .push_queries
        .lock()
        .insert(id.clone(), (cancel.clone(), text.clone()));
    // The query leaves the registry when it ends, whichever way (its task cancels the token).
    let registry = state.clone();
    let forget = id.clone();
    tokio::spawn(async move {
        cancel.cancelled().await;
        registry.inner.push_queries.lock().remove(&forget);
    });
    Ok(Running { id, events: rx })
}

async fn forward_push(mut query: PushQuery, tx: mpsc::Sender<Event>, cancel: CancellationToken) {
    let header = Event::Header {
        query_id: query.id.clone(),
        columns: query.columns.clone(),
        pull: false,
    };
    if tx.send(header).await.is_ok() {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tx.closed() => break,
                row = query.rows.recv() => match row {
                    Some(Ok(row)) => {
                        if tx.send(Event::Row(row)).await.is_err() {
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send(Event::Error(e.to_string())).await;
                        break;
                    }
                    None => {
                        let _ = tx.send(Event::Final("Limit Reached")).await;
                        break;
                    }
                },
            }
        }
    }
    cancel.cancel();
}

/// `PRINT topic`: every record as a line of text.
pub struct Print {
    pub topic: String,
    pub partitions: i32,
    pub from_beginning: bool,
    pub interval: u64,
    pub limit: Option<u64>,
}

impl Print {
    async fn run(
        self,
        log: std::sync::Arc<dyn flusso_engine::LogClient>,
        tx: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) {
        if let Err(e) = self.print(log.as_ref(), &tx, &cancel).await {
            let _ = tx.send(Event::Error(e.to_string())).await;
        }
        cancel.cancel();
    }

    async fn print(
        &self,
        log: &dyn flusso_engine::LogClient,
        tx: &mpsc::Sender<Event>,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let mut positions = Vec::new();
        for p in 0..self.partitions {
            let (start, end) = log.offsets(&self.topic, p).await?;
            positions.push((p, if self.from_beginning { start } else { end }));
        }
        let mut seen = 0u64;
        let mut printed = 0u64;
        let mut formats_shown = false;
        if tx
            .send(Event::Header {
                query_id: String::new(),
                columns: vec![],
                pull: false,
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        loop {
            let mut read = 0;
            for (partition, offset) in positions.iter_mut() {
                let records = log.fetch(&self.topic, *partition, *offset, 1 << 20).await?;
                for r in records {
                    *offset = r.offset + 1;
                    read += 1;
                    seen += 1;
                    if !(seen - 1).is_multiple_of(self.interval) {
                        continue;
                    }
                    if !formats_shown {
                        formats_shown = true;
                        let kf = guess_format(r.key.as_deref());
                        let vf = guess_format(r.value.as_deref());
                        for line in [format!("Key format: {kf}"), format!("Value format: {vf}")] {
                            if tx.send(Event::Text(line)).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    let line = format!(
                        "rowtime: {}, key: {}, value: {}, partition: {partition}",
                        print_time(r.timestamp),
                        print_bytes(r.key.as_deref()),
                        print_bytes(r.value.as_deref()),
                    );
                    if tx.send(Event::Text(line)).await.is_err() {
                        return Ok(());
                    }
                    printed += 1;
                    if self.limit.is_some_and(|l| printed >= l) {
                        let _ = tx.send(Event::Final("Limit Reached")).await;
                        return Ok(());
                    }
                }
            }
            if read == 0 {
                let waiting: Vec<(String, i32, i64)> = positions
                    .iter()
                    .map(|(p, o)| (self.topic.clone(), *p, *o))
                    .collect();
                tokio::select! {
                    _ = log.wait_for_data(&waiting, Duration::from_millis(500)) => {}
                    _ = tx.closed() => return Ok(()),
                    _ = cancel.cancelled() => return Ok(()),
                }
            }
        }
    }
}

/// Text without control characters (other than whitespace).
fn printable(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b)
        .ok()
        .filter(|s| !s.chars().any(|c| c.is_control() && !c.is_whitespace()))
}

fn guess_format(bytes: Option<&[u8]>) -> &'static str {
    match bytes {
        None => "¯\\_(ツ)_/¯ - no data processed",
        Some(b) if serde_json::from_slice::<Value>(b).is_ok_and(|v| v.is_object()) => "JSON",
        Some(b) if printable(b).is_some() => "KAFKA_STRING",
        Some(b) if b.len() == 4 => "KAFKA_INT or KAFKA_STRING",
        Some(b) if b.len() == 8 => "KAFKA_BIGINT or KAFKA_DOUBLE",
        Some(_) => "BYTES",
    }
}

/// A key or value as PRINT shows it: text, a 4- or 8-byte big-endian integer, or hex.
fn print_bytes(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "<null>".into(),
        Some(b) => match (printable(b), b.len()) {
            (Some(s), _) => s.to_string(),
            (None, 4) => i32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string(),
            (None, 8) => {
                i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).to_string()
            }
            (None, _) => b.iter().map(|x| format!("{x:02x}")).collect(),
        },
    }
}

fn print_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn stream_body(
    events: mpsc::Receiver<Event>,
    mut render: impl FnMut(Event) -> Option<String> + Send + 'static,
    closing: Option<&'static str>,
) -> Body {
    let stream = tokio_stream_from(events)
        .filter_map(move |e| {
            let chunk = render(e);
            async move { chunk.map(|c| Ok::<_, Infallible>(Bytes::from(c))) }
        })
        .chain(futures::stream::iter(closing.map(|c| {
            Ok::<_, Infallible>(Bytes::from_static(c.as_bytes()))
        })));
    Body::from_stream(stream)
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn wants(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains(media))
}

/// `POST /query`: a JSON array of ksqlDB's `StreamedRow`s, written as they come.
pub async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: BodyResult,
) -> Response {
    let request::SqlRequest { sql, session } = match request::from_body(body, "ksql") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    streamed_rows(&state, &headers, &sql, &session).await
}

/// A query answered as ksqlDB's `StreamedRow` array (`/query`, and `/query-stream` asked for
/// `application/vnd.ksql.v1+json`).
async fn streamed_rows(
    state: &AppState,
    headers: &HeaderMap,
    sql: &str,
    session: &flusso_engine::Session,
) -> Response {
    let started = match begin(state, sql, session).await {
        Ok(r) => r,
        Err(e) => {
            state.inner.metrics.record_error();
            return e.into_response();
        }
    };
    let content_type = if wants(headers, "application/vnd.ksql.v1+json") {
        "application/vnd.ksql.v1+json"
    } else {
        "application/json"
    };
    let mut print = false;
    let mut pull_mode = false;
    let render = move |e: Event| -> Option<String> {
        match e {
            Event::Header {
                query_id,
                columns: c,
                ..
            } if query_id.is_empty() && c.is_empty() => {
                print = true;
                None
            }
            Event::Header {
                query_id,
                columns: c,
                pull,
            } => {
                let header =
                    json!({"header": {"queryId": query_id, "schema": schema_text(&c, pull)}});
                pull_mode = pull;
                if pull {
                    // A pull query's rows are all known: a complete JSON array, as ksqlDB's.
                    Some(format!("[{header}"))
                } else {
                    Some(format!("[{header},\n"))
                }
            }
            Event::Row(row) if pull_mode => {
                let mut out = String::with_capacity(64);
                out.push_str(",\n");
                write_streamed_row(&mut out, &row.columns, row.tombstone);
                Some(out)
            }
            Event::Row(row) => {
                let mut out = String::with_capacity(64);
                write_streamed_row(&mut out, &row.columns, row.tombstone);
                out.push_str(",\n");
                Some(out)
            }
            Event::End => Some("]\n".to_string()),
            Event::Final(m) if pull_mode => Some(format!(",\n{}]\n", json!({"finalMessage": m}))),
            Event::Text(line) => Some(format!("{line}\n")),
            Event::Final(m) if print => Some(format!("{m}\n")),
            Event::Final(m) => Some(format!("{}]\n", json!({"finalMessage": m}))),
            Event::Error(m) if print => Some(format!("{m}\n")),
            Event::Error(m) => Some(format!(
                "{}]\n",
                json!({"errorMessage": {"@type": "generic_error", "error_code": 50000, "message": m}})
            )),
        }
    };
    let body = match started {
        Started::Pull(result) => pull_body(result, render),
        Started::Running(running) => stream_body(running.events, render, None),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A pull query's answer, rendered at once: the chunks its events would stream, one per event
/// as before (some clients read one JSON document per chunk), with no task or channel.
fn pull_body(result: PullResult, mut render: impl FnMut(Event) -> Option<String>) -> Body {
    let chunks: Vec<Result<Bytes, Infallible>> = pull_events(result)
        .filter_map(|event| render(event).map(|c| Ok(Bytes::from(c))))
        .collect();
    Body::from_stream(futures::stream::iter(chunks))
}

fn streamed_row(row: &PushRow) -> String {
    let mut out = String::with_capacity(64);
    write_streamed_row(&mut out, &row.columns, row.tombstone);
    out
}

fn column_types(columns: &[(String, SqlType, bool)]) -> (Vec<String>, Vec<String>) {
    columns
        .iter()
        .map(|(n, t, _)| (n.clone(), t.to_string()))
        .unzip()
}

/// `POST /query-stream`: a header object, then one JSON array per row; newline-delimited
/// (`application/vnd.ksqlapi.delimited.v1`, the default) or as one JSON array
/// (`application/json`).
pub async fn query_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: BodyResult,
) -> Response {
    let request::SqlRequest { sql, session } = match request::from_body(body, "sql") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if wants(&headers, "application/vnd.ksql.v1+json") {
        return streamed_rows(&state, &headers, &sql, &session).await;
    }
    let print = sql
        .trim_start()
        .get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case("PRINT"));
    if print
        && wants(&headers, "application/json")
        && !wants(&headers, "application/vnd.ksqlapi.delimited.v1")
    {
        return ApiError {
            status: StatusCode::NOT_ACCEPTABLE,
            code: 40600,
            ..ApiError::bad_request(
                "PRINT answers plain text lines: accept application/vnd.ksqlapi.delimited.v1",
            )
        }
        .into_response();
    }
    let started = match begin(&state, &sql, &session).await {
        Ok(r) => r,
        Err(e) => {
            state.inner.metrics.record_error();
            return e.into_response();
        }
    };
    let json_array = wants(&headers, "application/json")
        && !wants(&headers, "application/vnd.ksqlapi.delimited.v1");
    let id = match &started {
        Started::Pull(result) => result.id.clone(),
        Started::Running(running) => running.id.clone(),
    };
    let mut first = true;
    let render = move |e: Event| -> Option<String> {
        let (text, end) = match e {
            // PRINT: its lines as they are.
            Event::Header {
                query_id, columns, ..
            } if query_id.is_empty() && columns.is_empty() => return None,
            Event::Text(line) => return Some(format!("{line}\n")),
            Event::Header { columns, .. } => {
                let (names, types) = column_types(&columns);
                (
                    json!({"queryId": id, "columnNames": names, "columnTypes": types}).to_string(),
                    false,
                )
            }
            Event::Row(row) => {
                let mut text = String::with_capacity(48);
                write_value_array(&mut text, &row.columns);
                (text, false)
            }
            Event::Final(_) | Event::End => return json_array.then(|| "]\n".to_string()),
            Event::Error(m) => (
                json!({"@type": "generic_error", "error_code": 50000, "message": m}).to_string(),
                true,
            ),
        };
        let out = if !json_array {
            format!("{text}\n")
        } else if first {
            format!("[{text}")
        } else if end {
            format!(",\n{text}]\n")
        } else {
            format!(",\n{text}")
        };
        first = false;
        Some(out)
    };
    let content_type = if json_array {
        "application/json"
    } else {
        "application/vnd.ksqlapi.delimited.v1"
    };
    let body = match started {
        Started::Pull(result) => pull_body(result, render),
        Started::Running(running) => stream_body(running.events, render, None),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `POST /close-query` `{"queryId": "..."}`.
pub async fn close_query(State(state): State<AppState>, body: BodyResult) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("queryId").and_then(|q| q.as_str()).map(String::from));
    let Some(id) = id else {
        return ApiError::bad_request("Invalid JSON in request: the field \"queryId\" is required")
            .into_response();
    };
    let token = state.inner.push_queries.lock().remove(&id);
    match token {
        Some((t, _)) => {
            t.cancel();
            StatusCode::OK.into_response()
        }
        None => ApiError::bad_request(format!("No query with id {id}")).into_response(),
    }
}

/// `GET /ws/query?request=<KsqlRequest JSON>`: the schema, then one `StreamedRow` per message.
pub async fn ws_query(
    State(state): State<AppState>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(raw) = params.get("request") else {
        return ApiError::bad_request("The \"request\" query parameter is required")
            .into_response();
    };
    let request::SqlRequest { sql, session } = match request::parse(raw.as_bytes(), "ksql") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match start(&state, &sql, &session).await {
        Ok(running) => ws.on_upgrade(move |socket| ws_send(socket, running)),
        // As ksqlDB: the socket opens, then closes with 1003 and the error as the reason.
        Err(e) => ws.on_upgrade(move |mut socket| async move {
            let reason: String = e.message.chars().take(120).collect();
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1003,
                    reason: reason.into(),
                })))
                .await;
        }),
    }
}

async fn ws_send(mut socket: WebSocket, mut running: Running) {
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_string().into(),
        }))
    };
    loop {
        let event = tokio::select! {
            event = running.events.recv() => event,
            // The client's messages: a close (or a broken socket) ends the query.
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = socket.send(close(1000, "closed")).await;
                    return;
                }
                Some(Ok(_)) => continue,
            },
        };
        let Some(event) = event else {
            return;
        };
        let message = match event {
            Event::Header { columns, .. } => {
                let fields: Vec<Value> = columns
                    .iter()
                    .map(|(n, t, _)| json!({"name": n, "schema": flusso_engine::schema_json(t)}))
                    .collect();
                Message::Text(Value::Array(fields).to_string().into())
            }
            Event::Row(row) => Message::Text(streamed_row(&row).into()),
            Event::Text(line) => Message::Text(line.into()),
            Event::Final(_) | Event::End => {
                let _ = socket.send(close(1000, "done")).await;
                return;
            }
            Event::Error(m) => {
                let _ = socket.send(close(1011, &m)).await;
                return;
            }
        };
        if socket.send(message).await.is_err() {
            return;
        }
    }
}
