//! `POST /inserts-stream`: the first JSON object names the target stream, every following
//! newline-separated object is a row. Each row is acknowledged as it is written
//! (`{"status":"ok","seq":n}`), while the request body is still arriving; a bad row gets an
//! error line with its `seq` and the rest go on.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::AppState;

/// Splits a byte stream into lines.
struct Lines {
    body: axum::body::BodyDataStream,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already known to hold no newline.
    scanned: usize,
    done: bool,
}

/// The longest row accepted.
const MAX_LINE_BYTES: usize = crate::MAX_BODY_BYTES;

impl Lines {
    /// The next non-empty line; `None` at the end of the body.
    async fn next(&mut self) -> Option<Result<Vec<u8>, String>> {
        loop {
            if let Some(j) = self.buffer[self.scanned..].iter().position(|b| *b == b'\n') {
                let i = self.scanned + j;
                self.scanned = 0;
                let line: Vec<u8> = self.buffer.drain(..=i).collect();
                let line = line[..line.len() - 1].to_vec();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(Ok(line));
            }
            if self.done {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                return Some(Ok(std::mem::take(&mut self.buffer)));
            }
            self.scanned = self.buffer.len();
            if self.buffer.len() > MAX_LINE_BYTES {
                self.done = true;
                self.buffer.clear();
                return Some(Err(format!(
                    "a line of the request is longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Some(Err(e.to_string())),
                None => self.done = true,
            }
        }
    }
}

pub async fn inserts_stream(State(state): State<AppState>, body: Body) -> Response {
    let mut lines = Lines {
        body: body.into_data_stream(),
        buffer: Vec::new(),
        scanned: 0,
        done: false,
    };
    let first = match lines.next().await {
        Some(Ok(line)) => line,
        Some(Err(e)) if e.contains("longer than") => {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: 41300,
                ..ApiError::bad_request(e)
            }
            .into_response()
        }
        Some(Err(e)) => return ApiError::bad_request(e).into_response(),
        None => {
            return ApiError::bad_request("Invalid JSON in request: the body is empty")
                .into_response()
        }
    };
    let target = match serde_json::from_slice::<Value>(&first) {
        Ok(v) => match v.get("target").and_then(|t| t.as_str()) {
            Some(t) => t.to_string(),
            None => {
                return ApiError::bad_request(
                    "Invalid JSON in request: the field \"target\" is required",
                )
                .into_response()
            }
        },
        Err(e) => {
            return ApiError::bad_request(format!("Invalid JSON in request: {e}")).into_response()
        }
    };
    let name = target.to_uppercase();
    let name = if state.engine().source(&name).is_some() {
        name
    } else {
        target.clone()
    };
    match state.engine().source(&name) {
        Some(s) if s.kind_name() == "STREAM" => {}
        Some(_) => {
            return ApiError::bad_request(format!(
                "Cannot insert into a table using the inserts-stream endpoint: {name}"
            ))
            .into_response()
        }
        None => {
            return ApiError::bad_request(format!("Cannot insert into unknown stream: {target}"))
                .into_response()
        }
    }
    let (tx, rx) = mpsc::channel::<String>(256);
    let engine = state.engine().clone();
    tokio::spawn(async move {
        let mut seq = 0u64;
        while let Some(line) = lines.next().await {
            let ack = match line {
                Err(e) => {
                    json!({"status": "error", "seq": seq, "error_code": 40000, "message": e})
                }
                Ok(line) => match serde_json::from_slice::<Value>(&line) {
                    Ok(Value::Object(row)) => match engine.insert_json(&name, &row).await {
                        Ok(()) => json!({"status": "ok", "seq": seq}),
                        Err(e) => json!({
                            "status": "error", "seq": seq, "error_code": 40000,
                            "message": e.to_string(),
                        }),
                    },
                    Ok(_) => json!({
                        "status": "error", "seq": seq, "error_code": 40000,
                        "message": "Invalid JSON in inserts stream: a row must be an object",
                    }),
                    Err(e) => json!({
                        "status": "error", "seq": seq, "error_code": 40000,
                        "message": format!("Invalid JSON in inserts stream: {e}"),
                    }),
                },
            };
            seq += 1;
            if tx.send(format!("{ack}\n")).await.is_err() {
                return;
            }
        }
    });
    let mut rx = rx;
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(|line| Ok::<_, Infallible>(Bytes::from(line)));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/vnd.ksqlapi.delimited.v1")],
        Body::from_stream(stream),
    )
        .into_response()
}
