//! JSON: a record is a JSON object keyed by column name (matched case-insensitively), or, for a
//! single unwrapped column, the bare value. Coercions follow ksqlDB's JSON deserializer.

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use crate::types::SqlType;
use crate::value::{from_json, lookup_field, null_of, to_json};

pub(super) fn decode(
    bytes: &[u8],
    columns: &[(String, SqlType)],
    unwrapped: bool,
) -> Result<Option<Vec<ScalarValue>>, String> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| format!("Invalid JSON: {e}"))?;
    if unwrapped && columns.len() == 1 {
        return Ok(Some(vec![from_json(&json, &columns[0].1)?]));
    }
    match json {
        Json::Null => Ok(None),
        Json::Object(obj) => columns
            .iter()
            .map(|(name, t)| match lookup_field(&obj, name) {
                Some(v) => from_json(v, t),
                None => Ok(null_of(t)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(format!(
            "Can't convert type. sourceType: {}, requiredType: STRUCT<{}>",
            match other {
                Json::Array(_) => "ARRAY",
                Json::String(_) => "STRING",
                Json::Number(_) => "NUMBER",
                _ => "BOOLEAN",
            },
            columns
                .iter()
                .map(|(n, t)| format!("`{n}` {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub(super) fn encode(
    values: &[ScalarValue],
    columns: &[(String, SqlType)],
    unwrapped: bool,
) -> Vec<u8> {
    let json = if unwrapped && values.len() == 1 {
        to_json(&values[0])
    } else {
        Json::Object(
            columns
                .iter()
                .zip(values)
                .map(|((n, _), v)| (n.clone(), to_json(v)))
                .collect(),
        )
    };
    serde_json::to_vec(&json).unwrap_or_default()
}
