//! JSON: a record is a JSON object keyed by column name (matched case-insensitively), or, for a
//! single unwrapped column, the bare value. Coercions follow ksqlDB's JSON deserializer.

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use crate::types::SqlType;
use crate::value::{from_json, lookup_field, null_of, write_json, write_str};

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
    // Room for the names, their quotes and separators, and short values.
    let names: usize = columns.iter().map(|(n, _)| n.len()).sum();
    let mut out = Vec::with_capacity(names + 16 * values.len() + 2);
    if unwrapped && values.len() == 1 {
        write_json(&values[0], &mut out);
        return out;
    }
    // The text of the object `to_json` would build, written directly.
    out.push(b'{');
    for (i, ((name, _), v)) in columns.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(name, &mut out);
        out.push(b':');
        write_json(v, &mut out);
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::to_json;

    /// The text `encode` writes is that of the object `to_json` builds, for every kind of cell.
    #[test]
    fn encode_writes_what_to_json_builds() {
        let values = vec![
            ScalarValue::Int64(Some(-42)),
            ScalarValue::Int32(None),
            ScalarValue::Utf8(Some("a \"quoted\"\n\u{e9}\u{1}".into())),
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Float64(Some(1.5e-7)),
            ScalarValue::Float64(Some(f64::NAN)),
            ScalarValue::Decimal128(Some(12345), 10, 2),
            ScalarValue::TimestampMillisecond(Some(1_700_000_000_000), None),
            ScalarValue::Date32(Some(19_000)),
            ScalarValue::Binary(Some(vec![0, 255, 7])),
            ScalarValue::List(ScalarValue::new_list_nullable(
                &[ScalarValue::Int32(Some(1)), ScalarValue::Int32(None)],
                &datafusion::arrow::datatypes::DataType::Int32,
            )),
        ];
        let columns: Vec<(String, SqlType)> = (0..values.len())
            .map(|i| (format!("C\"{i}"), SqlType::Bigint))
            .collect();
        let expected = Json::Object(
            columns
                .iter()
                .zip(&values)
                .map(|((n, _), v)| (n.clone(), to_json(v)))
                .collect(),
        );
        let written = encode(&values, &columns, false);
        assert_eq!(written, serde_json::to_vec(&expected).unwrap());
        for v in &values {
            let one = encode(std::slice::from_ref(v), &columns[..1], true);
            assert_eq!(one, serde_json::to_vec(&to_json(v)).unwrap(), "{v:?}");
        }
    }
}
