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

/// The most rows written in one append.
const MAX_BATCH_ROWS: usize = 1024;

impl Lines {
    /// A complete non-empty line already received, without waiting for more of the body.
    fn buffered(&mut self) -> Option<Vec<u8>> {
        loop {
            let from = self.scanned.min(self.buffer.len());
            let i = self.buffer[from..].iter().position(|b| *b == b'\n')? + from;
            self.scanned = 0;
            let line: Vec<u8> = self.buffer.drain(..=i).collect();
            let line = line[..line.len() - 1].to_vec();
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        }
    }

    /// The next non-empty line; `None` at the end of the body.
    async fn next(&mut self) -> Option<Result<Vec<u8>, String>> {
        loop {
            if let Some(line) = self.buffered() {
                return Some(Ok(line));
            }
            if self.done {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                self.scanned = 0;
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
        while let Some(first) = lines.next().await {
            // The rows that have already arrived are written together.
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH_ROWS {
                match lines.buffered() {
                    Some(line) => batch.push(Ok(line)),
                    None => break,
                }
            }
            let error = |seq: u64, message: String| json!({"status": "error", "seq": seq, "error_code": 40000, "message": message});
            // Per row: its ack if already known, or its place among the rows to write.
            let mut acks: Vec<Option<Value>> = Vec::with_capacity(batch.len());
            let mut rows = Vec::new();
            for line in batch {
                match line {
                    Err(e) => acks.push(Some(error(0, e))),
                    Ok(line) => match serde_json::from_slice::<Value>(&line) {
                        Ok(Value::Object(row)) => {
                            rows.push(row);
                            acks.push(None);
                        }
                        Ok(_) => acks.push(Some(error(
                            0,
                            "Invalid JSON in inserts stream: a row must be an object".into(),
                        ))),
                        Err(e) => acks.push(Some(error(
                            0,
                            format!("Invalid JSON in inserts stream: {e}"),
                        ))),
                    },
                }
            }
            let refs: Vec<&serde_json::Map<String, Value>> = rows.iter().collect();
            let mut written = match engine.insert_json_rows(&name, &refs).await {
                Ok(results) => results
                    .into_iter()
                    .map(|r| r.map_err(|e| e.to_string()))
                    .collect(),
                Err(e) => vec![Err(e.to_string()); refs.len()],
            }
            .into_iter();
            // One ack per chunk: some clients read each chunk as one JSON object.
            for ack in acks {
                let ack = match ack {
                    Some(mut a) => {
                        a["seq"] = json!(seq);
                        a
                    }
                    None => match written.next() {
                        Some(Ok(())) | None => json!({"status": "ok", "seq": seq}),
                        Some(Err(e)) => error(seq, e),
                    },
                };
                seq += 1;
                if tx.send(format!("{ack}\n")).await.is_err() {
                    return;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(body: &'static str) -> Lines {
        Lines {
            body: Body::from(body).into_data_stream(),
            buffer: Vec::new(),
            scanned: 0,
            done: false,
        }
    }

    #[tokio::test]
    async fn the_last_line_needs_no_newline() {
        let mut l = lines("a\nb\n\nc");
        assert_eq!(l.next().await, Some(Ok(b"a".to_vec())));
        assert_eq!(l.buffered(), Some(b"b".to_vec()));
        assert_eq!(l.buffered(), None);
        assert_eq!(l.next().await, Some(Ok(b"c".to_vec())));
        assert_eq!(l.next().await, None);
    }
}
