//! Running a join: decoded batches of each input go through the join steps in arrival order and
//! come out as one batch in the joined source's scan schema, which the rest of the query (filter,
//! projection, aggregation) reads like any source's batch.
//!
//! Re-keying happens here, in memory: each step evaluates its join expressions on the records
//! that reach it. A query reads every partition of every input itself, so no internal
//! repartition topic is needed and inputs with different partition counts join as they are.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;

use super::join_ops::{Input, Key, Output, Row, Side, StreamTableJoin};
use super::join_stream::{JoinState, StreamStreamJoin};
use super::join_table::{ForeignKeyJoin, TableTableJoin};
use crate::error::{EngineError, Result};
use crate::planner::join::{JoinPlan, Shape};
use crate::types::SqlType;
use crate::value::{from_json, to_json};
use serde_json::{json, Value as Json};

/// Positions of a join query are kept per input and partition in one map: the input's index
/// times this, plus the partition.
pub const SLOT: i32 = 1 << 20;

/// The position-map slot of `partition` of input `input`.
pub fn slot(input: usize, partition: i32) -> i32 {
    input as i32 * SLOT + partition
}

/// The input and partition of a position-map slot.
pub fn unslot(slot: i32) -> (usize, i32) {
    ((slot / SLOT) as usize, slot % SLOT)
}

/// One join step's operator.
#[derive(Debug)]
enum Operator {
    StreamTable(StreamTableJoin),
    StreamStream(StreamStreamJoin),
    TableTable(TableTableJoin),
    ForeignKey(ForeignKeyJoin),
}

impl Operator {
    fn process(&mut self, input: Input, out: &mut Vec<Output>) {
        match self {
            Operator::StreamTable(j) => j.process(input, out),
            Operator::StreamStream(j) => j.process(input, out),
            Operator::TableTable(j) => j.process(input, out),
            Operator::ForeignKey(j) => j.process(input, out),
        }
    }

    fn import(&mut self, state: JoinState) {
        match self {
            Operator::StreamTable(j) => j.import(
                state
                    .rows
                    .into_iter()
                    .filter_map(|(_, k, r, _, _)| r.map(|r| (k, r)))
                    .collect(),
            ),
            Operator::StreamStream(j) => j.import(state),
            Operator::TableTable(j) => j.import(state),
            Operator::ForeignKey(j) => j.import(state),
        }
    }
}

/// A stream-stream step's state for the changelog: its stored records as JSON texts
/// (`[store, [key], [row] or null, ts, seq]`) and its times.
pub struct JoinSnapshot {
    /// The step.
    pub step: usize,
    /// The stored records.
    pub rows: Vec<String>,
    /// The operator's times.
    pub times: Vec<i64>,
}

/// The state of a running join: one operator per step.
#[derive(Debug)]
pub struct JoinRuntime {
    plan: Arc<JoinPlan>,
    operators: Vec<Operator>,
    /// Per input: a row of typed nulls (a side padded by an outer join).
    nulls: Vec<Row>,
    /// Per step: the width of its left input.
    left_widths: Vec<usize>,
    /// Per step: a left input padded with typed nulls.
    padded_left: Vec<Row>,
    /// Per step: state changed since the last snapshot.
    dirty: Vec<bool>,
}

/// A joined batch: rows in the joined source's scan schema, which of them are tombstones.
pub struct Joined {
    /// The rows.
    pub batch: RecordBatch,
    /// Per row: a table join's tombstone.
    pub tombstone: Vec<bool>,
}

/// A row on its way through the steps, with the offset of the record that caused it.
struct Pending {
    out: Output,
    offset: i64,
}

impl JoinRuntime {
    /// The operators of `plan`.
    pub fn new(plan: Arc<JoinPlan>) -> Result<JoinRuntime> {
        let operators = plan
            .steps
            .iter()
            .map(|s| match s.shape {
                Shape::StreamTable => Operator::StreamTable(StreamTableJoin::new(s.kind)),
                Shape::StreamStream {
                    before,
                    after,
                    grace,
                } => Operator::StreamStream(StreamStreamJoin::new(s.kind, before, after, grace)),
                Shape::TableTable => Operator::TableTable(TableTableJoin::new(s.kind)),
                Shape::ForeignKey => Operator::ForeignKey(ForeignKeyJoin::new(s.kind)),
            })
            .collect();
        let nulls = plan
            .inputs
            .iter()
            .map(|i| {
                i.renamed
                    .fields()
                    .iter()
                    .map(|f| ScalarValue::try_from(f.data_type()))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map(Row::from)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let left_widths = plan
            .steps
            .iter()
            .map(|s| s.left_schema.fields().len())
            .collect();
        let dirty = vec![false; plan.steps.len()];
        let padded_left = (0..plan.steps.len())
            .map(|s| {
                nulls[..=s]
                    .iter()
                    .flat_map(|n| n.iter().cloned())
                    .collect::<Vec<_>>()
                    .into()
            })
            .collect();
        Ok(JoinRuntime {
            plan,
            operators,
            nulls,
            left_widths,
            padded_left,
            dirty,
        })
    }

    /// The state of the stream-stream steps changed since the last call, as JSON, for the
    /// changelog. (Table inputs are not saved: a restart reads them again from their start.)
    pub fn snapshot(&mut self) -> Vec<JoinSnapshot> {
        let mut out = Vec::new();
        for (s, o) in self.operators.iter().enumerate() {
            if !std::mem::take(&mut self.dirty[s]) {
                continue;
            }
            if let Operator::StreamStream(j) = o {
                let state = j.export();
                // Each stored record as its own JSON text: no tree of the whole state.
                let rows: Vec<String> = state
                    .rows
                    .iter()
                    .map(|(store, key, row, ts, seq)| {
                        json!([
                            store,
                            Json::Array(key.iter().map(to_json).collect()),
                            row.as_ref()
                                .map(|r| Json::Array(r.iter().map(to_json).collect())),
                            ts,
                            seq
                        ])
                        .to_string()
                    })
                    .collect();
                out.push(JoinSnapshot {
                    step: s,
                    rows,
                    times: state.times,
                });
            }
        }
        out
    }

    /// Restores a stream-stream step's state from its snapshot.
    pub fn restore(&mut self, step: usize, state: &Json) -> Result<()> {
        let plan = Arc::clone(&self.plan);
        let Some(s) = plan.steps.get(step) else {
            return Ok(());
        };
        let types = |schema: &SchemaRef| -> Vec<SqlType> {
            schema
                .fields()
                .iter()
                .map(|f| SqlType::from_arrow(f.data_type()).unwrap_or(SqlType::String))
                .collect()
        };
        let left = types(&s.left_schema);
        let right = types(&plan.inputs[step + 1].renamed);
        let key_type = match &s.left_key {
            Some(e) => SqlType::from_arrow(&e.data_type(&s.left_schema)?),
            None => SqlType::from_arrow(&s.right_key.data_type(&plan.inputs[step + 1].renamed)?),
        }
        .unwrap_or(SqlType::String);
        // A key is the join key, then a windowed input's bounds; a record waiting in the outer
        // buffer (stores 2 and 3) has its serialized key appended.
        let key_types = |store: u8, len: usize| -> Vec<SqlType> {
            let mut t = vec![key_type.clone()];
            let bounds = len.saturating_sub(1 + usize::from(store >= 2));
            t.extend(std::iter::repeat_n(SqlType::Bigint, bounds));
            if store >= 2 {
                t.push(SqlType::Bytes);
            }
            t
        };
        let bad = || EngineError::Internal("changelog: bad join state".into());
        let values = |j: &Json, types: &[SqlType]| -> Result<Vec<ScalarValue>> {
            j.as_array()
                .ok_or_else(bad)?
                .iter()
                .zip(types)
                .map(|(v, t)| from_json(v, t).map_err(EngineError::Internal))
                .collect()
        };
        let mut rows = Vec::new();
        for r in state
            .get("rows")
            .and_then(|r| r.as_array())
            .ok_or_else(bad)?
        {
            let r = r.as_array().ok_or_else(bad)?;
            let store = r.first().and_then(|v| v.as_u64()).ok_or_else(bad)? as u8;
            let key_json = r.get(1).ok_or_else(bad)?;
            let len = key_json.as_array().map_or(0, |a| a.len());
            let key = values(key_json, &key_types(store, len))?;
            let row = match r.get(2) {
                Some(Json::Null) | None => None,
                Some(j) => {
                    let width = j.as_array().map_or(0, |a| a.len());
                    let t = if width == left.len() { &left } else { &right };
                    Some(Row::from(values(j, t)?))
                }
            };
            let ts = r.get(3).and_then(|v| v.as_i64()).ok_or_else(bad)?;
            let seq = r.get(4).and_then(|v| v.as_u64()).ok_or_else(bad)?;
            rows.push((store, key, row, ts, seq));
        }
        let times = state
            .get("times")
            .and_then(|t| t.as_array())
            .map(|t| t.iter().filter_map(|v| v.as_i64()).collect())
            .unwrap_or_default();
        self.operators[step].import(JoinState { rows, times });
        Ok(())
    }

    /// Whether a step keeps window stores (a stream-stream join), whose state the changelog
    /// holds.
    pub fn has_window_stores(&self) -> bool {
        self.operators
            .iter()
            .any(|o| matches!(o, Operator::StreamStream(_)))
    }

    /// The inputs that are tables (read again from their start on a restart).
    pub fn table_inputs(&self) -> Vec<usize> {
        self.plan
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| i.source.source_type == flusso_sql::ast::SourceType::Table)
            .map(|(n, _)| n)
            .collect()
    }

    /// Applies a decoded batch of input `input` (in its scan schema) and returns the joined
    /// rows it produces, in order; `partition` is the records' partition.
    pub fn process(
        &mut self,
        input: usize,
        partition: i32,
        batch: &RecordBatch,
        tombstone: &[bool],
    ) -> Result<Joined> {
        let plan = Arc::clone(&self.plan);
        if input >= plan.inputs.len() {
            return Err(EngineError::Internal(format!("no join input {input}")));
        }
        let renamed = RecordBatch::try_new(
            Arc::clone(&plan.inputs[input].renamed),
            batch.columns().to_vec(),
        )?;
        let n = renamed.num_rows();
        let ts = int64_column(&renamed, plan.inputs[input].scan_schema.as_ref(), "ROWTIME")?;
        let offsets = int64_column(
            &renamed,
            plan.inputs[input].scan_schema.as_ref(),
            "ROWOFFSET",
        )?;
        // The step the input enters, and on which side.
        let (first, side) = if input == 0 {
            (0, Side::Left)
        } else {
            (input - 1, Side::Right)
        };
        let step = &plan.steps[first];
        self.dirty[first] = true;
        let key_of = |side: Side| -> Result<Vec<Option<Key>>> {
            let expr = match side {
                Side::Left => step
                    .left_key
                    .as_ref()
                    .ok_or_else(|| EngineError::Internal("join key".into()))?,
                Side::Right => &step.right_key,
            };
            let mut keys = keys(expr.evaluate(&renamed)?.into_array(n)?)?;
            if let Some(session) = step.windowed {
                let scan = plan.inputs[input].scan_schema.as_ref();
                let start = int64_column(&renamed, scan, crate::schema::WINDOWSTART)?;
                let end = int64_column(&renamed, scan, crate::schema::WINDOWEND)?;
                for (i, k) in keys.iter_mut().enumerate() {
                    if let Some(k) = k {
                        k.push(ScalarValue::Int64(start.get(i).copied().flatten()));
                        if session {
                            k.push(ScalarValue::Int64(end.get(i).copied().flatten()));
                        }
                    }
                }
            }
            Ok(keys)
        };
        if plan.steps.len() == 1
            && step.shape == Shape::StreamTable
            && side == Side::Left
            && plan.output.window.is_none()
        {
            let keys = key_of(side)?;
            return self.enrich(partition, &renamed, tombstone, keys, &ts);
        }
        let rows = to_rows(&renamed)?;
        let mut pending: Vec<Pending> = Vec::new();
        let mut out = Vec::new();
        if step.shape == Shape::ForeignKey && side == Side::Left {
            let pk: Vec<ArrayRef> = step
                .left_pk
                .iter()
                .map(|e| e.evaluate(&renamed).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<_, _>>()?;
            let fk = keys(
                step.left_key
                    .as_ref()
                    .ok_or_else(|| EngineError::Internal("foreign key".into()))?
                    .evaluate(&renamed)?
                    .into_array(n)?,
            )?;
            let key_format = &plan.inputs[0].source.key_format;
            let key_columns = plan.inputs[0].source.schema.key();
            for i in 0..n {
                let key: Key = pk
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, i))
                    .collect::<std::result::Result<_, _>>()?;
                let key_bytes = key_format
                    .encode(&key, &key_columns, true)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let row = (!tombstone[i]).then(|| rows[i].clone());
                self.operators[first].process(
                    Input {
                        side,
                        key: (!key.iter().any(|v| v.is_null())).then_some(key),
                        fk: row
                            .as_ref()
                            .and_then(|_| fk[i].as_ref().map(|k| k[0].clone())),
                        row,
                        ts: ts[i].unwrap_or(0),
                        key_bytes,
                    },
                    &mut out,
                );
                pending.extend(out.drain(..).map(|o| Pending {
                    out: o,
                    offset: offsets[i].unwrap_or(-1),
                }));
            }
        } else {
            let keys = key_of(side)?;
            for (i, key) in keys.into_iter().enumerate() {
                self.operators[first].process(
                    Input {
                        side,
                        key,
                        row: (!tombstone[i]).then(|| rows[i].clone()),
                        ts: ts[i].unwrap_or(0),
                        fk: None,
                        key_bytes: Vec::new(),
                    },
                    &mut out,
                );
                pending.extend(out.drain(..).map(|o| Pending {
                    out: o,
                    offset: offsets[i].unwrap_or(-1),
                }));
            }
        }
        // Through the later steps, as their left input.
        for s in first + 1..plan.steps.len() {
            let joined: Vec<Row> = pending.iter().map(|p| self.concat(s - 1, &p.out)).collect();
            let keys: Vec<Option<Key>> = match &plan.steps[s].left_key {
                None => pending
                    .iter()
                    .map(|p| (!p.out.key.is_empty()).then(|| p.out.key.clone()))
                    .collect(),
                Some(expr) => {
                    let batch = rows_to_batch(&plan.steps[s].left_schema, &joined)?;
                    keys(expr.evaluate(&batch)?.into_array(joined.len())?)?
                }
            };
            let mut next = Vec::new();
            for ((p, row), key) in pending.into_iter().zip(joined).zip(keys) {
                self.operators[s].process(
                    Input {
                        side: Side::Left,
                        key,
                        row: (!p.out.tombstone).then_some(row),
                        ts: p.out.ts,
                        fk: None,
                        key_bytes: Vec::new(),
                    },
                    &mut out,
                );
                next.extend(out.drain(..).map(|o| Pending {
                    out: o,
                    offset: p.offset,
                }));
            }
            pending = next;
            self.dirty[s] = true;
        }
        self.assemble(partition, &pending)
    }

    /// A stream batch through a lone stream-table join, column-wise: the stream's columns are
    /// taken from its batch, only the table's come from stored rows (the common enrichment
    /// join, without a value per cell of the stream).
    fn enrich(
        &mut self,
        partition: i32,
        stream: &RecordBatch,
        tombstone: &[bool],
        keys: Vec<Option<Key>>,
        ts: &[Option<i64>],
    ) -> Result<Joined> {
        let Operator::StreamTable(join) = &self.operators[0] else {
            return Err(EngineError::Internal("not a stream-table join".into()));
        };
        let mut indices: Vec<u32> = Vec::with_capacity(keys.len());
        let mut rights: Vec<Option<Row>> = Vec::with_capacity(keys.len());
        let mut out_keys: Vec<Option<ScalarValue>> = Vec::with_capacity(keys.len());
        for (i, key) in keys.into_iter().enumerate() {
            if tombstone[i] {
                continue;
            }
            let right = key.as_ref().and_then(|k| join.get(k)).cloned();
            if right.is_none() && !join.outer {
                continue;
            }
            indices.push(i as u32);
            rights.push(right);
            out_keys.push(key.and_then(|k| k.into_iter().next()));
        }
        let plan = &self.plan;
        let schema = plan.output.schema.scan_schema(false);
        let take = datafusion::arrow::array::UInt32Array::from(indices);
        let mut joined: Vec<ArrayRef> = stream
            .columns()
            .iter()
            .map(|c| datafusion::arrow::compute::take(c, &take, None))
            .collect::<std::result::Result<_, _>>()?;
        let right_fields = plan.inputs[1].renamed.fields();
        let right_nulls = &self.nulls[1];
        for (c, f) in right_fields.iter().enumerate() {
            joined.push(array_of(
                rights.iter().map(|r| match r {
                    Some(r) => r[c].clone(),
                    None => right_nulls[c].clone(),
                }),
                f.data_type(),
            )?);
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        let key_type = schema.field(0).data_type();
        let null_key = ScalarValue::try_from(key_type)?;
        columns.push(array_of(
            out_keys
                .into_iter()
                .map(|k| k.unwrap_or_else(|| null_key.clone())),
            key_type,
        )?);
        for &idx in &plan.value_index {
            columns.push(Arc::clone(&joined[idx]));
        }
        let m = take.len();
        let times: Int64Array = take.values().iter().map(|&i| ts[i as usize]).collect();
        let scan = plan.inputs[0].scan_schema.as_ref();
        columns.push(Arc::new(times));
        columns.push(Arc::new(Int32Array::from(vec![partition; m])));
        columns.push(Arc::clone(
            &joined[scan.index_of(crate::schema::ROWOFFSET)?],
        ));
        let batch = RecordBatch::try_new(schema, columns)?;
        Ok(Joined {
            batch,
            tombstone: vec![false; m],
        })
    }

    /// The concatenated row of step `s`'s output: its left input's columns, then its right
    /// input's, nulls for a padded side.
    fn concat(&self, s: usize, out: &Output) -> Row {
        let left_width = self.left_widths[s];
        let right_nulls = &self.nulls[s + 1];
        let mut cells: Vec<ScalarValue> = Vec::with_capacity(left_width + right_nulls.len());
        match &out.left {
            Some(l) => cells.extend(l.iter().cloned()),
            None => cells.extend(self.padded_left[s].iter().cloned()),
        }
        match &out.right {
            Some(r) => cells.extend(r.iter().cloned()),
            None => cells.extend(right_nulls.iter().cloned()),
        }
        Row::from(cells)
    }

    /// The joined source's batch of the last step's outputs.
    fn assemble(&self, partition: i32, pending: &[Pending]) -> Result<Joined> {
        let plan = &self.plan;
        let schema = plan.output.schema.scan_schema(plan.output.window.is_some());
        let last = plan.steps.len() - 1;
        // A cell of an output's concatenated row, read from its sides without building it.
        let left_width = self.left_widths[last];
        let (padded_left, right_nulls) = (&self.padded_left[last], &self.nulls[last + 1]);
        let cell = |p: &Pending, idx: usize| -> ScalarValue {
            if idx < left_width {
                match &p.out.left {
                    Some(l) => l[idx].clone(),
                    None => padded_left[idx].clone(),
                }
            } else {
                match &p.out.right {
                    Some(r) => r[idx - left_width].clone(),
                    None => right_nulls[idx - left_width].clone(),
                }
            }
        };
        let key_count = plan.output.schema.key().len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for k in 0..key_count {
            let dt = schema.field(k).data_type();
            let null = ScalarValue::try_from(dt)?;
            columns.push(array_of(
                pending
                    .iter()
                    .map(|p| p.out.key.get(k).cloned().unwrap_or_else(|| null.clone())),
                dt,
            )?);
        }
        for (j, &idx) in plan.value_index.iter().enumerate() {
            let dt = schema.field(key_count + j).data_type();
            columns.push(array_of(pending.iter().map(|p| cell(p, idx)), dt)?);
        }
        if plan.output.window.is_some() {
            let bound = |delta: usize| -> Int64Array {
                pending
                    .iter()
                    .map(|p| {
                        plan.window_index
                            .iter()
                            .flatten()
                            .find_map(|&w| match cell(p, w + delta) {
                                ScalarValue::Int64(Some(v)) => Some(v),
                                _ => None,
                            })
                    })
                    .collect()
            };
            columns.push(Arc::new(bound(0)));
            columns.push(Arc::new(bound(1)));
        }
        columns.push(Arc::new(
            pending
                .iter()
                .map(|p| Some(p.out.ts))
                .collect::<Int64Array>(),
        ));
        columns.push(Arc::new(Int32Array::from(vec![partition; pending.len()])));
        columns.push(Arc::new(
            pending
                .iter()
                .map(|p| Some(p.offset))
                .collect::<Int64Array>(),
        ));
        let batch = RecordBatch::try_new(schema, columns)?;
        Ok(Joined {
            batch,
            tombstone: pending.iter().map(|p| p.out.tombstone).collect(),
        })
    }
}

/// Each row of a batch as a row of values.
fn to_rows(batch: &RecordBatch) -> Result<Vec<Row>> {
    let n = batch.num_rows();
    let mut cells: Vec<Vec<ScalarValue>> = (0..n)
        .map(|_| Vec::with_capacity(batch.num_columns()))
        .collect();
    for col in batch.columns() {
        for (i, row) in cells.iter_mut().enumerate() {
            row.push(ScalarValue::try_from_array(col, i)?);
        }
    }
    Ok(cells.into_iter().map(Row::from).collect())
}

/// Rows of values as a batch of `schema`.
fn rows_to_batch(schema: &SchemaRef, rows: &[Row]) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| array_of(rows.iter().map(|r| r[c].clone()), f.data_type()))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(rows.len())),
    )?)
}

/// An array of `dt` from values (typed nulls where a value is missing).
fn array_of(values: impl Iterator<Item = ScalarValue>, dt: &DataType) -> Result<ArrayRef> {
    let values: Vec<ScalarValue> = values.collect();
    if values.is_empty() {
        return Ok(datafusion::arrow::array::new_empty_array(dt));
    }
    let array = ScalarValue::iter_to_array(values.into_iter().map(|v| {
        if v.is_null() {
            ScalarValue::try_from(dt).unwrap_or(v)
        } else {
            v
        }
    }))?;
    if array.data_type() != dt {
        return Ok(datafusion::arrow::compute::cast(&array, dt)?);
    }
    Ok(array)
}

/// Join keys of an evaluated key expression: `None` for a null key.
fn keys(array: ArrayRef) -> Result<Vec<Option<Key>>> {
    (0..array.len())
        .map(|i| {
            Ok(if array.is_null(i) {
                None
            } else {
                Some(vec![ScalarValue::try_from_array(&array, i)?])
            })
        })
        .collect()
}

/// An Int64 column by name, as options.
fn int64_column(
    batch: &RecordBatch,
    scan: &datafusion::arrow::datatypes::Schema,
    name: &str,
) -> Result<Vec<Option<i64>>> {
    let idx = scan.index_of(name)?;
    let a = batch
        .column(idx)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| EngineError::Internal(format!("{name} is not BIGINT")))?;
    Ok(a.iter().collect())
}
