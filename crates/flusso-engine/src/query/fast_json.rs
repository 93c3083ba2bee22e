//! The direct writer for the common sink: JSON values of primitive columns and a KAFKA (or no)
//! key. Rows are encoded straight from the projected Arrow columns, without per-cell values.

use std::collections::BTreeMap;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::sink::partition_for;
use super::Projected;
use crate::catalog::Source;
use crate::error::{EngineError, Result};
use crate::format::FormatKind;
use crate::log_client::OutRecord;
use crate::planner::select::SelectPlan;
use crate::value::{java_double_to_string, json_decimal, write_int, write_json};

/// What the writer needs, prepared once per query.
pub struct FastJson {
    /// `"NAME":` per value column, escaped.
    prefixes: Vec<Vec<u8>>,
}

fn primitive(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Utf8
            | DataType::Decimal128(_, _)
    )
}

impl FastJson {
    /// The writer for `plan` into `sink`, if the sink qualifies.
    pub fn new(plan: &SelectPlan, sink: &Source) -> Option<FastJson> {
        let value_cols = sink.value_columns();
        let qualifies = sink.value_format.kind == FormatKind::Json
            && !sink.value_format.unwrapped(&value_cols)
            && matches!(sink.key_format.kind, FormatKind::Kafka | FormatKind::None)
            && plan.keys.len() <= 1
            && sink.timestamp.is_none()
            && sink.window.is_none()
            && plan.aggregate.is_none()
            && plan
                .values
                .iter()
                .all(|c| !c.explode && primitive(&c.sql_type.to_arrow()))
            && plan.keys.iter().all(|c| {
                let t = c.sql_type.to_arrow();
                primitive(&t) && !matches!(t, DataType::Boolean | DataType::Decimal128(_, _))
            });
        if !qualifies {
            return None;
        }
        let prefixes = plan
            .values
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = Vec::new();
                if i > 0 {
                    p.push(b',');
                }
                let _ = serde_json::to_writer(&mut p, &c.name);
                p.push(b':');
                p
            })
            .collect();
        Some(FastJson { prefixes })
    }
}

/// Writes cell `i` of `a` as [`crate::value::to_json`] writes its value; the primitive types
/// straight from the column, any other through its value.
pub(crate) fn write_cell(out: &mut Vec<u8>, a: &ArrayRef, i: usize) -> Result<()> {
    if a.is_null(i) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    let bad = || EngineError::Internal(format!("unexpected column type {}", a.data_type()));
    match a.data_type() {
        DataType::Utf8 => {
            let s = a
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(bad)?
                .value(i);
            serde_json::to_writer(&mut *out, s)
                .map_err(|e| EngineError::Execution(e.to_string()))?;
        }
        DataType::Int32 => {
            let v = a
                .as_any()
                .downcast_ref::<Int32Array>()
                .ok_or_else(bad)?
                .value(i);
            write_int(i64::from(v), out);
        }
        DataType::Int64 => {
            let v = a
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(bad)?
                .value(i);
            write_int(v, out);
        }
        DataType::Decimal128(_, scale) => {
            let v = a
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .ok_or_else(bad)?
                .value(i);
            out.extend_from_slice(json_decimal(v, *scale).as_bytes());
        }
        DataType::Float64 => {
            let v = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(bad)?
                .value(i);
            if v.is_finite() {
                out.extend_from_slice(java_double_to_string(v).as_bytes());
            } else {
                let _ = serde_json::to_writer(&mut *out, &java_double_to_string(v));
            }
        }
        DataType::Boolean => {
            let v = a
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(bad)?
                .value(i);
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        _ => write_json(&ScalarValue::try_from_array(a, i)?, out),
    }
    Ok(())
}

fn key_bytes(a: &ArrayRef, i: usize) -> Result<Option<Vec<u8>>> {
    if a.is_null(i) {
        return Ok(None);
    }
    let bad = || EngineError::Internal(format!("unexpected key type {}", a.data_type()));
    Ok(Some(match a.data_type() {
        DataType::Utf8 => a
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(bad)?
            .value(i)
            .as_bytes()
            .to_vec(),
        DataType::Int32 => a
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(bad)?
            .value(i)
            .to_be_bytes()
            .to_vec(),
        DataType::Int64 => a
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(bad)?
            .value(i)
            .to_be_bytes()
            .to_vec(),
        DataType::Float64 => a
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(bad)?
            .value(i)
            .to_be_bytes()
            .to_vec(),
        _ => return Err(bad()),
    }))
}

/// Encodes projected rows into records by partition.
pub fn encode(
    fast: &FastJson,
    sink: &Source,
    partitions: i32,
    p: &Projected,
    source_partition: i32,
    headers: &super::HeaderMap,
    out: &mut BTreeMap<i32, Vec<OutRecord>>,
) -> Result<()> {
    let is_table = sink.source_type == flusso_sql::ast::SourceType::Table;
    for (i, passed) in p.pass.iter().enumerate() {
        let key = match p.keys.first() {
            Some(k) => key_bytes(k, i)?,
            None => None,
        };
        if is_table && key.is_none() && !p.keys.is_empty() {
            continue;
        }
        let value = if *passed {
            let mut v = Vec::with_capacity(16 * fast.prefixes.len() + 2);
            v.push(b'{');
            for (prefix, col) in fast.prefixes.iter().zip(&p.values) {
                v.extend_from_slice(prefix);
                write_cell(&mut v, col, i)?;
            }
            v.push(b'}');
            Some(v)
        } else {
            None
        };
        let partition = match &key {
            Some(k) => partition_for(k, partitions),
            None => source_partition % partitions.max(1),
        };
        out.entry(partition).or_default().push(OutRecord {
            key,
            value,
            timestamp: p.rowtime.value(i),
            headers: if headers.is_empty() {
                vec![]
            } else {
                headers
                    .get(&p.offsets.value(i))
                    .cloned()
                    .unwrap_or_default()
            },
        });
    }
    Ok(())
}
