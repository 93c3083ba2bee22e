//! `TopicSource`: records of a source's topic decoded into Arrow batches with the source's
//! columns and the pseudo columns (ROWTIME, ROWPARTITION, ROWOFFSET). Records that do not decode
//! are skipped and reported.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use flusso_sql::ast::SourceType;

use crate::catalog::Source;
use crate::log_client::InRecord;
use crate::schema::{headers_type, ColumnKind};
use crate::types::SqlType;
use crate::value::{list_value, null_of, struct_value, to_array};

/// A record that could not be decoded.
#[derive(Debug, Clone)]
pub struct DecodeError {
    /// `key` or `value`.
    pub target: &'static str,
    /// What went wrong.
    pub message: String,
    /// The offending record.
    pub offset: i64,
    /// The raw bytes.
    pub bytes: Option<Vec<u8>>,
}

/// Decoded records: the batch, which rows had no value (tombstones), and decode failures.
pub struct Decoded {
    /// One row per decoded record.
    pub batch: RecordBatch,
    /// Rows whose value was null.
    pub tombstone: Vec<bool>,
    /// Records skipped.
    pub errors: Vec<DecodeError>,
}

impl Decoded {
    /// Rows `start..end`, without the errors.
    pub fn slice(&self, start: usize, end: usize) -> Decoded {
        Decoded {
            batch: self.batch.slice(start, end - start),
            tombstone: self.tombstone[start..end].to_vec(),
            errors: Vec::new(),
        }
    }
}

/// Decodes records of one partition of `source` into the scan schema.
pub fn decode(
    source: &Source,
    scan_schema: &SchemaRef,
    partition: i32,
    records: &[InRecord],
) -> Result<Decoded, String> {
    if let Some(decoded) = decode_primitive_json(source, scan_schema, partition, records)? {
        return Ok(decoded);
    }
    decode_general(source, scan_schema, partition, records)
}

/// The fast path: JSON values of primitive columns, a KAFKA or NONE key of at most one column or
/// a JSON key of several primitive columns, no headers, and no TIMESTAMP column or one that is a
/// BIGINT value column without a format. `None` when the source does not qualify.
fn decode_primitive_json(
    source: &Source,
    scan_schema: &SchemaRef,
    partition: i32,
    records: &[InRecord],
) -> Result<Option<Decoded>, String> {
    use crate::format::json_columns::{append, fits, parse_row, Cell, ColumnBuilder};
    use crate::format::FormatKind;
    let key_cols = source.schema.key();
    let value_cols = source.schema.value();
    // The TIMESTAMP column's index among the value columns.
    let ts_index = match &source.timestamp {
        None => None,
        Some((col, None)) => match value_cols.iter().position(|(n, _)| n == col) {
            Some(i) if value_cols[i].1 == SqlType::Bigint => Some(i),
            _ => return Ok(None),
        },
        Some(_) => return Ok(None),
    };
    let qualifies = source.value_format.kind == FormatKind::Json
        && !source.value_format.unwrapped(&value_cols)
        && source.window.is_none()
        && source.schema.columns.len() == key_cols.len() + value_cols.len()
        && match source.key_format.kind {
            FormatKind::Kafka | FormatKind::None => key_cols.len() <= 1,
            // An object of several columns (one column is a bare value).
            FormatKind::Json => key_cols.len() > 1,
            _ => false,
        };
    if !qualifies {
        return Ok(None);
    }
    let n = records.len();
    let mut key_builders = Vec::with_capacity(key_cols.len());
    for (_, t) in &key_cols {
        match ColumnBuilder::new(t, n) {
            Some(b) => key_builders.push(b),
            None => return Ok(None),
        }
    }
    let json_key = source.key_format.kind == FormatKind::Json;
    let key_names: Vec<String> = key_cols.iter().map(|(c, _)| c.clone()).collect();
    let mut builders = Vec::with_capacity(value_cols.len());
    for (_, t) in &value_cols {
        match ColumnBuilder::new(t, n) {
            Some(b) => builders.push(b),
            None => return Ok(None),
        }
    }
    let names: Vec<String> = value_cols.iter().map(|(c, _)| c.clone()).collect();
    let is_table = source.source_type == SourceType::Table;
    let mut rowtime = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n);
    let mut tombstone = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for r in records {
        // A JSON key's cells, when they fit the key columns' builders.
        let key_cells = match (json_key, r.key.as_deref()) {
            (true, Some(bytes)) => match parse_row(bytes, &key_names) {
                Some(Some(c))
                    if c.iter()
                        .zip(&key_builders)
                        .all(|(cell, b)| fits(b, cell.as_ref())) =>
                {
                    Some(c)
                }
                _ => None,
            },
            _ => None,
        };
        let key = match key_cells {
            Some(_) => Ok(None),
            None => source.key_format.decode(r.key.as_deref(), &key_cols, true),
        };
        let key = match key {
            Ok(k) => k,
            Err(message) => {
                errors.push(DecodeError {
                    target: "key",
                    message,
                    offset: r.offset,
                    bytes: r.key.as_ref().map(|b| b.to_vec()),
                });
                continue;
            }
        };
        if is_table && key.is_none() && key_cells.is_none() && !key_cols.is_empty() {
            continue;
        }
        let mut general: Option<Option<Vec<ScalarValue>>> = None;
        let mut cells = None;
        match r.value.as_deref() {
            None => general = Some(None),
            Some(bytes) => match parse_row(bytes, &names) {
                Some(Some(c))
                    if c.iter()
                        .zip(&builders)
                        .all(|(cell, b)| fits(b, cell.as_ref())) =>
                {
                    cells = Some(c)
                }
                Some(None) => general = Some(None),
                _ => match source.value_format.decode(Some(bytes), &value_cols, false) {
                    Ok(v) => general = Some(v),
                    Err(message) => {
                        errors.push(value_error(r, message));
                        continue;
                    }
                },
            },
        }
        let mut timestamp = r.timestamp;
        if let Some(i) = ts_index {
            // A tombstone keeps the record's timestamp.
            let cell = match (&cells, &general) {
                (Some(cells), _) => Some(match &cells[i] {
                    Some(Cell::I64(x)) => ScalarValue::Int64(Some(*x)),
                    _ => ScalarValue::Int64(None),
                }),
                (None, Some(Some(values))) => Some(values[i].clone()),
                _ => None,
            };
            if let Some(cell) = cell {
                match record_time(Some(&cell), &value_cols[i].0, None) {
                    Ok(x) => timestamp = x,
                    Err(message) => {
                        errors.push(value_error(r, message));
                        continue;
                    }
                }
            }
        }
        match (&key_cells, &key) {
            (Some(cells), _) => {
                for (b, cell) in key_builders.iter_mut().zip(cells) {
                    append(b, cell.as_ref());
                }
            }
            (None, Some(values)) => {
                for (i, b) in key_builders.iter_mut().enumerate() {
                    match values.get(i) {
                        Some(v) => b.append_scalar(v),
                        None => b.append_null(),
                    }
                }
            }
            (None, None) => key_builders.iter_mut().for_each(|b| b.append_null()),
        }
        match (cells, general) {
            (Some(cells), _) => {
                for (b, cell) in builders.iter_mut().zip(&cells) {
                    append(b, cell.as_ref());
                }
                tombstone.push(false);
            }
            (None, Some(Some(values))) => {
                for (b, v) in builders.iter_mut().zip(&values) {
                    b.append_scalar(v);
                }
                tombstone.push(false);
            }
            _ => {
                for b in builders.iter_mut() {
                    b.append_null();
                }
                tombstone.push(true);
            }
        }
        rowtime.push(timestamp);
        offsets.push(r.offset);
    }
    let rows = tombstone.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(scan_schema.fields().len());
    for b in key_builders.iter_mut().chain(builders.iter_mut()) {
        arrays.push(b.finish());
    }
    arrays.push(Arc::new(datafusion::arrow::array::Int64Array::from(
        rowtime,
    )));
    arrays.push(Arc::new(datafusion::arrow::array::Int32Array::from(
        vec![partition; rows],
    )));
    arrays.push(Arc::new(datafusion::arrow::array::Int64Array::from(
        offsets,
    )));
    let batch = RecordBatch::try_new_with_options(
        Arc::clone(scan_schema),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| e.to_string())?;
    Ok(Some(Decoded {
        batch,
        tombstone,
        errors,
    }))
}

fn decode_general(
    source: &Source,
    scan_schema: &SchemaRef,
    partition: i32,
    records: &[InRecord],
) -> Result<Decoded, String> {
    let ordered = source.schema.ordered();
    let key_cols = source.schema.key();
    let value_cols = source.schema.value();
    let ncols = scan_schema.fields().len();
    let mut columns: Vec<Vec<ScalarValue>> = (0..ncols)
        .map(|_| Vec::with_capacity(records.len()))
        .collect();
    let mut tombstone = Vec::with_capacity(records.len());
    let mut errors = Vec::new();
    let is_table = source.source_type == SourceType::Table;
    let windowed = source.window.is_some();
    for r in records {
        let (key_bytes, window) = match (source.window, r.key.as_deref()) {
            (Some(info), Some(k)) => match crate::query::sink::split_windowed(k, info) {
                Some((inner, w)) => (Some(inner), Some(w)),
                None => (Some(k), None),
            },
            (_, k) => (k, None),
        };
        let key = match source.key_format.decode(key_bytes, &key_cols, true) {
            Ok(k) => k,
            Err(message) => {
                errors.push(DecodeError {
                    target: "key",
                    message,
                    offset: r.offset,
                    bytes: r.key.as_ref().map(|b| b.to_vec()),
                });
                continue;
            }
        };
        if is_table && key.is_none() && !key_cols.is_empty() {
            continue;
        }
        let value = match source
            .value_format
            .decode(r.value.as_deref(), &value_cols, false)
        {
            Ok(v) => v,
            Err(message) => {
                errors.push(value_error(r, message));
                continue;
            }
        };
        let mut rowtime = r.timestamp;
        if let (Some((ts_col, ts_format)), Some(v)) = (&source.timestamp, &value) {
            let cell = match value_cols.iter().position(|(n, _)| n == ts_col) {
                Some(i) => Some(&v[i]),
                None => key_cols
                    .iter()
                    .position(|(n, _)| n == ts_col)
                    .and_then(|i| key.as_ref().map(|k| &k[i])),
            };
            match record_time(cell, ts_col, ts_format.as_deref()) {
                Ok(ts) => rowtime = ts,
                Err(message) => {
                    errors.push(value_error(r, message));
                    continue;
                }
            }
        }
        let mut ki = 0;
        let mut vi = 0;
        for (ci, c) in ordered.iter().enumerate() {
            let cell = match &c.kind {
                ColumnKind::Key => {
                    let v = key
                        .as_ref()
                        .map(|k| k[ki].clone())
                        .unwrap_or_else(|| null_of(&c.sql_type));
                    ki += 1;
                    v
                }
                ColumnKind::Value => {
                    let v = value
                        .as_ref()
                        .map(|k| k[vi].clone())
                        .unwrap_or_else(|| null_of(&c.sql_type));
                    vi += 1;
                    v
                }
                ColumnKind::Header(None) => headers_value(&r.headers)?,
                ColumnKind::Header(Some(name)) => ScalarValue::Binary(
                    r.headers
                        .iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, v)| v.as_ref().map(|b| b.to_vec())),
                ),
            };
            columns[ci].push(cell);
        }
        let mut ci = ordered.len();
        if windowed {
            columns[ci].push(ScalarValue::Int64(window.map(|w| w.0)));
            columns[ci + 1].push(ScalarValue::Int64(window.map(|w| w.1)));
            ci += 2;
        }
        columns[ci].push(ScalarValue::Int64(Some(rowtime)));
        columns[ci + 1].push(ScalarValue::Int32(Some(partition)));
        columns[ci + 2].push(ScalarValue::Int64(Some(r.offset)));
        tombstone.push(value.is_none());
    }
    let rows = tombstone.len();
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .zip(scan_schema.fields())
        .map(|(cells, f)| {
            let t = SqlType::from_arrow(f.data_type()).unwrap_or(SqlType::String);
            to_array(&t, cells)
        })
        .collect::<Result<_, _>>()?;
    let batch = RecordBatch::try_new_with_options(
        Arc::clone(scan_schema),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| e.to_string())?;
    Ok(Decoded {
        batch,
        tombstone,
        errors,
    })
}

fn headers_value(headers: &[(String, Option<bytes::Bytes>)]) -> Result<ScalarValue, String> {
    let SqlType::Array(element) = headers_type() else {
        return Err("headers type".into());
    };
    let SqlType::Struct(fields) = element.as_ref().clone() else {
        return Err("headers type".into());
    };
    let items = headers
        .iter()
        .map(|(k, v)| {
            struct_value(
                &fields,
                vec![
                    ScalarValue::Utf8(Some(k.clone())),
                    ScalarValue::Binary(v.as_ref().map(|b| b.to_vec())),
                ],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    list_value(&element, items)
}

/// A record skipped because of its value.
fn value_error(r: &InRecord, message: String) -> DecodeError {
    DecodeError {
        target: "value",
        message,
        offset: r.offset,
        bytes: r.value.as_ref().map(|b| b.to_vec()),
    }
}

/// The record's event time from its `TIMESTAMP` column `column`'s cell (`None`: no such cell);
/// a null time is an error.
fn record_time(
    cell: Option<&ScalarValue>,
    column: &str,
    format: Option<&str>,
) -> Result<i64, String> {
    match cell.map(|c| extract_timestamp(c, format)) {
        Some(Ok(Some(ts))) => Ok(ts),
        Some(Ok(None)) | None => Err(format!("timestamp column {column} is null")),
        Some(Err(message)) => Err(message),
    }
}

/// The event time carried by a `TIMESTAMP` column: BIGINT or TIMESTAMP milliseconds, or a STRING
/// parsed with `TIMESTAMP_FORMAT`.
fn extract_timestamp(v: &ScalarValue, format: Option<&str>) -> Result<Option<i64>, String> {
    Ok(match v {
        ScalarValue::Int64(Some(x)) if *x < 0 => {
            return Err(format!(
                "invalid timestamp {x}: timestamps must not be negative"
            ))
        }
        ScalarValue::Int64(x) => *x,
        ScalarValue::Int32(x) => x.map(i64::from),
        ScalarValue::TimestampMillisecond(x, _) => *x,
        ScalarValue::Utf8(Some(s)) => {
            let Some(f) = format else {
                return Err(format!(
                    "TIMESTAMP column is a STRING but no TIMESTAMP_FORMAT was given: {s}"
                ));
            };
            Some(crate::query::timestamp_format::parse(s, f)?)
        }
        ScalarValue::Utf8(None) => None,
        other => return Err(format!("unsupported TIMESTAMP column value {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, FormatKind};
    use crate::schema::{Column, ColumnKind, LogicalSchema};

    fn record(offset: i64, key: Option<&str>, value: Option<&str>) -> InRecord {
        InRecord {
            offset,
            timestamp: 1000 + offset,
            key: key.map(|k| bytes::Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| bytes::Bytes::copy_from_slice(v.as_bytes())),
            headers: Vec::new(),
        }
    }

    /// A JSON key of several columns takes the fast path, and decodes as the general path does:
    /// cells of every type the builders take, coercions, names in another case, null keys,
    /// keys that need the general path and keys that fail.
    #[test]
    fn json_keys_of_several_columns_decode_as_the_general_path() {
        let column = |name: &str, sql_type, kind| Column {
            name: name.into(),
            sql_type,
            kind,
        };
        let source = Source {
            name: "T".into(),
            source_type: SourceType::Table,
            schema: LogicalSchema {
                columns: vec![
                    column("A", SqlType::Bigint, ColumnKind::Key),
                    column("B", SqlType::String, ColumnKind::Key),
                    column("V", SqlType::Double, ColumnKind::Value),
                ],
            },
            topic: "t".into(),
            key_format: Format::new(FormatKind::Json),
            value_format: Format::new(FormatKind::Json),
            timestamp: None,
            is_source: false,
            window: None,
            sql: String::new(),
            written_by: None,
        };
        let records = vec![
            record(0, Some(r#"{"A":1,"B":"x"}"#), Some(r#"{"V":1.5}"#)),
            record(1, Some(r#"{"b":"y","a":2}"#), Some(r#"{"V":2}"#)),
            record(2, Some(r#"{"A":null}"#), Some(r#"{"V":3}"#)),
            record(3, Some(r#"{"A":"4","B":5}"#), Some(r#"{"V":4}"#)),
            record(4, Some("null"), Some(r#"{"V":5}"#)),
            record(5, None, Some(r#"{"V":6}"#)),
            record(6, Some("{bad"), Some(r#"{"V":7}"#)),
            record(7, Some(r#"{"A":8,"B":"z"}"#), None),
            record(8, Some(r#"[1,2]"#), Some(r#"{"V":9}"#)),
        ];
        let scan = source.schema.scan_schema(false);
        let fast = decode_primitive_json(&source, &scan, 0, &records)
            .unwrap()
            .expect("the fast path takes a JSON key of several columns");
        let general = decode_general(&source, &scan, 0, &records).unwrap();
        assert_eq!(fast.batch, general.batch);
        assert_eq!(fast.tombstone, general.tombstone);
        let errors = |d: &Decoded| {
            d.errors
                .iter()
                .map(|e| (e.offset, e.target, e.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(errors(&fast), errors(&general));
        assert_eq!(fast.batch.num_rows(), 5);
        assert_eq!(errors(&fast).len(), 2);
    }
}
