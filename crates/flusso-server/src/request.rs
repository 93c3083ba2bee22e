//! Request bodies: ksqlDB's `KsqlRequest` (`/ksql`, `/query`) and `QueryStreamArgs`
//! (`/query-stream`), turned into statement text and an engine session.

use std::collections::BTreeMap;

use flusso_engine::Session;
use serde_json::Value;

use crate::error::ApiError;

/// A parsed request: the SQL (variables substituted) and the session it runs in.
pub struct SqlRequest {
    /// The statements, after `${var}` substitution.
    pub sql: String,
    /// Properties and variables of the request.
    pub session: Session,
}

/// [`parse`] of a request body that may have failed to arrive.
pub fn from_body(body: crate::error::BodyResult, sql_field: &str) -> Result<SqlRequest, ApiError> {
    parse(&body?, sql_field)
}

/// Parses a JSON body with the SQL under `sql_field` (`ksql` or `sql`) and the properties under
/// `streamsProperties` or `properties`.
pub fn parse(body: &[u8], sql_field: &str) -> Result<SqlRequest, ApiError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request: {e}")))?;
    let Some(object) = request.as_object() else {
        return Err(ApiError::bad_request(
            "Invalid JSON in request: expected an object",
        ));
    };
    let sql = match object.get(sql_field) {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "Invalid JSON in request: \"{sql_field}\" must be a string"
            )))
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "Invalid JSON in request: the field \"{sql_field}\" is required"
            )))
        }
    };
    let mut session = Session::default();
    for field in ["streamsProperties", "properties", "requestProperties"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(props)) => {
                for (k, v) in props {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    // ksqlDB accepts Kafka Streams' consumer properties with or without the
                    // `ksql.streams.` prefix.
                    // (Both names are kept: the engine reads the short one, SHOW PROPERTIES
                    // lists the one sent.)
                    if let Some(short) = k.strip_prefix("ksql.streams.") {
                        session.properties.insert(short.to_string(), v.clone());
                    }
                    session.properties.insert(k.clone(), v);
                }
            }
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid JSON in request: \"{field}\" must be an object"
                )))
            }
        }
    }
    match object.get("sessionVariables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(vars)) => {
            for (k, v) in vars {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                session.variables.insert(k.clone(), v);
            }
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid JSON in request: \"sessionVariables\" must be an object",
            ))
        }
    }
    let sql = substitute(&sql, &session.variables)?;
    Ok(SqlRequest { sql, session })
}

/// `${var}` substitution with the request's variables.
pub fn substitute(sql: &str, variables: &BTreeMap<String, String>) -> Result<String, ApiError> {
    if variables.is_empty() || !sql.contains("${") {
        return Ok(sql.to_string());
    }
    let vars = variables.clone().into_iter().collect();
    flusso_sql::substitute(sql, &vars).map_err(|e| {
        ApiError::statement(
            format!("line {}:{}: {}", e.line, e.column, e.message),
            sql,
            vec![],
        )
    })
}
