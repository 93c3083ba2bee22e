//! Values and schemas as ksqlDB's REST API writes them.

use datafusion::common::ScalarValue;
use flusso_engine::value::{list_items, map_entries, struct_fields, to_json, to_text};
use flusso_engine::SqlType;
use serde_json::Value;

/// A value in a REST row: like the JSON format, except DATE, TIME and TIMESTAMP, which ksqlDB's
/// API writes as ISO-8601 text (`2021-03-04`, `12:00:00.5`, `2021-03-04T12:00:00.500`).
pub fn rest_value(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Date32(_)
        | ScalarValue::Time32Millisecond(_)
        | ScalarValue::Time32Second(_)
        | ScalarValue::Time64Microsecond(_)
        | ScalarValue::Time64Nanosecond(_)
        | ScalarValue::TimestampMillisecond(..)
        | ScalarValue::TimestampSecond(..)
        | ScalarValue::TimestampMicrosecond(..)
        | ScalarValue::TimestampNanosecond(..) => {
            temporal_text(v).map_or(Value::Null, Value::String)
        }
        ScalarValue::List(_) | ScalarValue::LargeList(_) | ScalarValue::FixedSizeList(_) => {
            Value::Array(
                list_items(v)
                    .unwrap_or_default()
                    .iter()
                    .map(rest_value)
                    .collect(),
            )
        }
        ScalarValue::Struct(_) => Value::Object(
            struct_fields(v)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.clone(), rest_value(v)))
                .collect(),
        ),
        ScalarValue::Map(_) => Value::Object(
            map_entries(v)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (to_text(k).unwrap_or_default(), rest_value(v)))
                .collect(),
        ),
        other => to_json(other),
    }
}

/// [`rest_value`] appended to `out` as JSON text, without building a JSON value for the
/// common scalars (the same bytes `rest_value(v).to_string()` gives).
pub fn write_rest_value(out: &mut String, v: &ScalarValue) {
    use std::fmt::Write;
    match v {
        _ if v.is_null() => out.push_str("null"),
        ScalarValue::Boolean(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        ScalarValue::Int8(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        ScalarValue::Int16(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        ScalarValue::Int32(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        ScalarValue::Int64(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => {
            // serde_json's own escaping.
            match serde_json::to_string(s.as_str()) {
                Ok(text) => out.push_str(&text),
                Err(_) => out.push_str("null"),
            }
        }
        other => out.push_str(&rest_value(other).to_string()),
    }
}

/// A row as ksqlDB's `StreamedRow` (`{"row":{"columns":[...]}}`, `"tombstone":true` added for
/// a tombstone), appended to `out`.
pub fn write_streamed_row(out: &mut String, columns: &[ScalarValue], tombstone: bool) {
    out.push_str("{\"row\":{\"columns\":[");
    for (i, v) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_rest_value(out, v);
    }
    out.push(']');
    if tombstone {
        out.push_str(",\"tombstone\":true");
    }
    out.push_str("}}");
}

/// A row's values as a JSON array (`/query-stream`), appended to `out`.
pub fn write_value_array(out: &mut String, columns: &[ScalarValue]) {
    out.push('[');
    for (i, v) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_rest_value(out, v);
    }
    out.push(']');
}

/// The `schema` text of a query header: `` `A` STRING, `B` INTEGER ``, key columns marked
/// `KEY` when `mark_keys`.
pub fn schema_text(columns: &[(String, SqlType, bool)], mark_keys: bool) -> String {
    columns
        .iter()
        .map(|(n, t, key)| {
            if *key && mark_keys {
                format!("`{n}` {t} KEY")
            } else {
                format!("`{n}` {t}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// DATE as `yyyy-MM-dd`, TIME as Java's `LocalTime` text, TIMESTAMP as
/// `yyyy-MM-dd'T'HH:mm:ss.SSS` (UTC).
fn temporal_text(v: &ScalarValue) -> Option<String> {
    use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
    let millis_of_day = |ms: i64| -> Option<String> {
        let t = NaiveTime::from_num_seconds_from_midnight_opt(
            (ms / 1000) as u32,
            ((ms % 1000) * 1_000_000) as u32,
        )?;
        Some(if t.nanosecond() != 0 {
            t.format("%H:%M:%S%.3f").to_string()
        } else if t.second() != 0 {
            t.format("%H:%M:%S").to_string()
        } else {
            t.format("%H:%M").to_string()
        })
    };
    let timestamp = |ms: i64| -> Option<String> {
        Some(
            DateTime::from_timestamp_millis(ms)?
                .naive_utc()
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string(),
        )
    };
    match v {
        ScalarValue::Date32(Some(d)) => {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
            Some(
                epoch
                    .checked_add_signed(chrono::Duration::days(i64::from(*d)))?
                    .format("%Y-%m-%d")
                    .to_string(),
            )
        }
        ScalarValue::Time32Millisecond(Some(t)) => millis_of_day(i64::from(*t)),
        ScalarValue::Time32Second(Some(t)) => millis_of_day(i64::from(*t) * 1000),
        ScalarValue::Time64Microsecond(Some(t)) => millis_of_day(*t / 1000),
        ScalarValue::Time64Nanosecond(Some(t)) => millis_of_day(*t / 1_000_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => timestamp(*t),
        ScalarValue::TimestampSecond(Some(t), _) => timestamp(*t * 1000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => timestamp(*t / 1000),
        ScalarValue::TimestampNanosecond(Some(t), _) => timestamp(*t / 1_000_000),
        _ => to_text(v),
    }
}
