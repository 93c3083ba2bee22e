//! ksqlDB's error bodies: `{"@type", "error_code", "message"}`, plus `statementText` and
//! `entities` for statement errors. The code is the HTTP status × 100 plus a detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An error answered to an HTTP request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// ksqlDB's `error_code` (40000 bad request, 40001 bad statement, ...).
    pub code: u32,
    /// The message.
    pub message: String,
    /// For statement errors: the statement, and the entities of the statements before it.
    pub statement: Option<(String, Vec<Value>)>,
}

impl ApiError {
    /// 400 / 40000: a malformed request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40000,
            message: message.into(),
            statement: None,
        }
    }

    /// 400 / 40001: a statement that cannot be run.
    pub fn statement(message: impl Into<String>, text: &str, entities: Vec<Value>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40001,
            message: message.into(),
            statement: Some((text.to_string(), entities)),
        }
    }

    /// 404 / 40400.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: 40400,
            message: message.into(),
            statement: None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        match &self.statement {
            None => json!({
                "@type": "generic_error",
                "error_code": self.code,
                "message": self.message,
            }),
            Some((text, entities)) => json!({
                "@type": "statement_error",
                "error_code": self.code,
                "message": self.message,
                "statementText": text,
                "entities": entities,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: 40500,
        message: "Method Not Allowed".into(),
        statement: None,
    }
}

/// A request body that could not be read (too large, broken connection) as ksqlDB's error.
impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> ApiError {
        let status = r.status();
        ApiError {
            status,
            code: u32::from(status.as_u16()) * 100,
            message: r.body_text(),
            statement: None,
        }
    }
}

/// The body of a request, or the error to answer.
pub type BodyResult = Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>;
