//! Running a join: decoded batches of each input go through the join steps in arrival order and
//! come out as one batch in the joined source's scan schema, which the rest of the query (filter,
//! projection, aggregation) reads like any source's batch.
//!
//! Re-keying happens here, in memory: each step evaluates its join expressions on the records
//! that reach it. A query reads every partition of every input itself, so no internal
//! repartition topic is needed and inputs with different partition counts join as they are.

use std::sync::Arc;

use datafusion::arrow::array::{new_null_array, Array, ArrayRef, Int32Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;

use super::join_ops::{Input, Key, Kind, Output, Row, Side, StreamTableJoin};
use super::join_stream::{JoinState, StreamStreamJoin};
use super::join_table::{ForeignKeyJoin, LeftUpdate, TableTableJoin};
use crate::error::{EngineError, Result};
use crate::planner::join::{JoinPlan, Shape};
use hashbrown::HashMap;

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

/// A row of a batch: what a stream-stream join's window stores keep. The store holds the batch
/// alive while it holds any of its rows (for at most the join's retention), and outputs are
/// assembled column by column from the batches, without a value per cell.
#[derive(Debug, Clone)]
pub struct RowRef {
    batch: Arc<RecordBatch>,
    row: u32,
}

/// A row on its way through the join steps: values (what the table operators keep) or a row of
/// a batch (what the stream-stream operator keeps).
#[derive(Debug, Clone)]
enum JRow {
    Values(Row),
    Ref(RowRef),
}

impl JRow {
    /// Cell `idx`.
    fn cell(&self, idx: usize) -> Result<ScalarValue> {
        Ok(match self {
            JRow::Values(r) => r[idx].clone(),
            JRow::Ref(r) => ScalarValue::try_from_array(r.batch.column(idx), r.row as usize)?,
        })
    }

    /// The row as values.
    fn values(self) -> Result<Row> {
        match self {
            JRow::Values(r) => Ok(r),
            JRow::Ref(r) => Ok(r
                .batch
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, r.row as usize))
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into()),
        }
    }

    /// Appends the row's cells to `cells`.
    fn extend_cells(&self, cells: &mut Vec<ScalarValue>) -> Result<()> {
        match self {
            JRow::Values(r) => cells.extend(r.iter().cloned()),
            JRow::Ref(r) => {
                for c in r.batch.columns() {
                    cells.push(ScalarValue::try_from_array(c, r.row as usize)?);
                }
            }
        }
        Ok(())
    }
}

/// An output of one representation as another's.
fn map_output<A, B>(o: Output<A>, f: impl Fn(A) -> B) -> Output<B> {
    Output {
        key: o.key,
        left: o.left.map(&f),
        right: o.right.map(&f),
        ts: o.ts,
        tombstone: o.tombstone,
    }
}

/// The order in which batches read from several inputs go through a join: runs
/// `(batch, start, end)` of rows, the smallest timestamp first across batches, a batch's rows in
/// their order; on equal timestamps the earlier batch goes first (callers put tables first).
/// `times` holds each batch's row timestamps.
pub fn merge_runs(times: &[Vec<i64>]) -> Vec<(usize, usize, usize)> {
    let mut runs = Vec::new();
    let mut heads = vec![0usize; times.len()];
    let head = |i: usize, heads: &[usize]| times[i].get(heads[i]).copied();
    while let Some(best) = (0..times.len())
        .filter(|&i| head(i, &heads).is_some())
        .min_by_key(|&i| head(i, &heads))
    {
        let others = (0..times.len())
            .filter(|&i| i != best)
            .filter_map(|i| head(i, &heads))
            .min()
            .unwrap_or(i64::MAX);
        let start = heads[best];
        let mut end = start + 1;
        while end < times[best].len() && times[best][end] <= others {
            end += 1;
        }
        heads[best] = end;
        runs.push((best, start, end));
    }
    runs
}

/// The ROWTIME of each row of a decoded batch (`i64::MIN` where null).
pub fn row_times(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column_by_name(crate::schema::ROWTIME)
        .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
        .map(|a| a.iter().map(|t| t.unwrap_or(i64::MIN)).collect())
        .unwrap_or_default()
}

/// One join step's operator.
#[derive(Debug)]
enum Operator {
    StreamTable(StreamTableJoin),
    StreamStream(StreamStreamJoin<RowRef>),
    TableTable(TableTableJoin),
    ForeignKey(ForeignKeyJoin),
    /// A lone foreign-key step, its rows kept encoded; it runs through
    /// [`EncodedForeignKey::process`], not [`Operator::process`].
    EncodedForeignKey(Box<EncodedForeignKey>),
}

impl Operator {
    /// Applies one record. A stream-stream step takes rows of batches, the others values.
    fn process(&mut self, input: Input<JRow>, out: &mut Vec<Output<JRow>>) -> Result<()> {
        let Input {
            side,
            key,
            row,
            ts,
            fk,
            key_bytes,
        } = input;
        if let Operator::StreamStream(j) = self {
            let row = match row {
                None => None,
                Some(JRow::Ref(r)) => Some(r),
                Some(JRow::Values(_)) => {
                    return Err(EngineError::Internal(
                        "a stream-stream join step got values".into(),
                    ))
                }
            };
            let mut o = Vec::new();
            j.process(
                Input {
                    side,
                    key,
                    row,
                    ts,
                    fk,
                    key_bytes,
                },
                &mut o,
            );
            out.extend(o.into_iter().map(|o| map_output(o, JRow::Ref)));
            return Ok(());
        }
        let input = Input {
            side,
            key,
            row: row.map(JRow::values).transpose()?,
            ts,
            fk,
            key_bytes,
        };
        let mut o = Vec::new();
        match self {
            Operator::StreamTable(j) => j.process(input, &mut o),
            Operator::TableTable(j) => j.process(input, &mut o),
            Operator::ForeignKey(j) => j.process(input, &mut o),
            Operator::StreamStream(_) => {}
            Operator::EncodedForeignKey(_) => {
                return Err(EngineError::Internal(
                    "an encoded foreign-key step got values".into(),
                ))
            }
        }
        out.extend(o.into_iter().map(|o| map_output(o, JRow::Values)));
        Ok(())
    }
}

/// A stream-stream step's state for the changelog: its stored records in parts, each an Arrow
/// IPC stream of one store's records (see [`JoinRuntime::snapshot`]), and its times.
pub struct JoinSnapshot {
    /// The step.
    pub step: usize,
    /// The parts.
    pub parts: Vec<Vec<u8>>,
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
    /// Per step: its left input's columns as one-row arrays of nulls.
    null_left: Vec<Vec<ArrayRef>>,
    /// Per step: its right input's columns as one-row arrays of nulls.
    null_right: Vec<Vec<ArrayRef>>,
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
struct Pending<R = JRow, K = Key> {
    out: Output<R, K>,
    offset: i64,
}

/// A row kept encoded (Arrow's row format).
type Encoded = Arc<[u8]>;
/// A key kept encoded.
type EncodedKey = Box<[u8]>;
/// An encoded foreign-key step's output on its way out.
type EncodedPending = Pending<Encoded, EncodedKey>;

/// A query's only step when it is a foreign-key join: the join keeps its left keys and both
/// sides' rows in Arrow's row format (a few bytes a cell instead of a `ScalarValue` each), and
/// its outputs are decoded into columns a batch at a time. The left table of a foreign-key join
/// is held whole, so this is most of such a query's memory.
#[derive(Debug)]
pub struct EncodedForeignKey {
    join: ForeignKeyJoin<EncodedKey, Encoded>,
    /// The left table's key columns.
    pk: RowConverter,
    /// Per side (0 left, 1 right): the input's columns.
    rows: [RowConverter; 2],
    /// Per side: a row of nulls (a side padded by a LEFT join, or either side of a tombstone).
    null_rows: [Box<[u8]>; 2],
}

impl EncodedForeignKey {
    /// The encoded form of `plan`'s join, when it is one foreign-key step over types Arrow's
    /// row format holds.
    fn of(plan: &JoinPlan, kind: Kind) -> Option<EncodedForeignKey> {
        let [step] = plan.steps.as_slice() else {
            return None;
        };
        if step.shape != Shape::ForeignKey || plan.output.window.is_some() || plan.inputs.len() != 2
        {
            return None;
        }
        let converter = |types: Vec<DataType>| {
            RowConverter::new(types.into_iter().map(SortField::new).collect()).ok()
        };
        let pk = converter(
            step.left_pk
                .iter()
                .map(|e| e.data_type(&step.left_schema))
                .collect::<std::result::Result<_, _>>()
                .ok()?,
        )?;
        let side = |s: usize| {
            let fields = plan.inputs[s].renamed.fields();
            let rows = converter(fields.iter().map(|f| f.data_type().clone()).collect())?;
            let nulls: Vec<ArrayRef> = fields
                .iter()
                .map(|f| new_null_array(f.data_type(), 1))
                .collect();
            let null_row: Box<[u8]> = rows.convert_columns(&nulls).ok()?.row(0).as_ref().into();
            Some((rows, null_row))
        };
        let (left, null_left) = side(0)?;
        let (right, null_right) = side(1)?;
        Some(EncodedForeignKey {
            join: ForeignKeyJoin::new(kind),
            pk,
            rows: [left, right],
            null_rows: [null_left, null_right],
        })
    }

    /// Applies a batch of input `input` (in its renamed schema, with its records' timestamps
    /// and offsets); the outputs, in order.
    fn process(
        &mut self,
        plan: &JoinPlan,
        input: usize,
        batch: &RecordBatch,
        tombstone: &[bool],
        ts: &[Option<i64>],
        offsets: &[Option<i64>],
    ) -> Result<Vec<EncodedPending>> {
        let step = &plan.steps[0];
        let n = batch.num_rows();
        let rows = self.rows[usize::from(input != 0)].convert_columns(batch.columns())?;
        let row = |i: usize| (!tombstone[i]).then(|| Arc::<[u8]>::from(rows.row(i).as_ref()));
        let mut pending = Vec::new();
        let mut out = Vec::new();
        let mut collect = |out: &mut Vec<_>, i: usize| {
            let offset = offsets[i].unwrap_or(-1);
            pending.extend(out.drain(..).map(|o| Pending { out: o, offset }));
        };
        if input == 0 {
            let pk: Vec<ArrayRef> = step
                .left_pk
                .iter()
                .map(|e| e.evaluate(batch).and_then(|v| v.into_array(n)))
                .collect::<std::result::Result<_, _>>()?;
            let pk_rows = self.pk.convert_columns(&pk)?;
            let fk = step
                .left_key
                .as_ref()
                .ok_or_else(|| EngineError::Internal("foreign key".into()))?
                .evaluate(batch)?
                .into_array(n)?;
            let key_format = &plan.inputs[0].source.key_format;
            let key_columns = plan.inputs[0].source.schema.key();
            for (i, &ts) in ts.iter().enumerate().take(n) {
                let present = !pk.iter().any(|a| a.is_null(i));
                let row = row(i);
                // Only a stored row's serialized key is ever read.
                let (key_bytes, fk) = if present && row.is_some() {
                    let (_, key_bytes) = left_key(key_format, &key_columns, &pk, i)?;
                    let fk = (!fk.is_null(i))
                        .then(|| ScalarValue::try_from_array(&fk, i))
                        .transpose()?;
                    (key_bytes, fk)
                } else {
                    (Vec::new(), None)
                };
                let update = LeftUpdate {
                    key: present.then(|| Box::from(pk_rows.row(i).as_ref())),
                    row,
                    fk,
                    key_bytes,
                    ts: ts.unwrap_or(0),
                };
                self.join.left_update(update, &mut out);
                collect(&mut out, i);
            }
        } else {
            let rk = step.right_key.evaluate(batch)?.into_array(n)?;
            for (i, &ts) in ts.iter().enumerate().take(n) {
                let key = (!rk.is_null(i))
                    .then(|| ScalarValue::try_from_array(&rk, i))
                    .transpose()?;
                self.join
                    .right_update(key, row(i), ts.unwrap_or(0), &mut out);
                collect(&mut out, i);
            }
        }
        Ok(pending)
    }
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
                Shape::ForeignKey => match EncodedForeignKey::of(&plan, s.kind) {
                    Some(encoded) => Operator::EncodedForeignKey(Box::new(encoded)),
                    None => Operator::ForeignKey(ForeignKeyJoin::new(s.kind)),
                },
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
        let null_arrays = |schema: &SchemaRef| -> Vec<ArrayRef> {
            schema
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), 1))
                .collect()
        };
        let null_left = plan
            .steps
            .iter()
            .map(|s| null_arrays(&s.left_schema))
            .collect();
        let null_right = plan.inputs[1..]
            .iter()
            .map(|i| null_arrays(&i.renamed))
            .collect();
        Ok(JoinRuntime {
            plan,
            operators,
            nulls,
            left_widths,
            padded_left,
            null_left,
            null_right,
            dirty,
        })
    }

    /// The state of the stream-stream steps changed since the last call, for the changelog, in
    /// parts of at most `part_rows` stored records. A part is an Arrow IPC stream of one batch:
    /// `store` (the operator's store number, equal in a part), the key's values `k0`, `k1` …,
    /// `ts`, `seq`, then the stored row's columns. (Table inputs are not saved: a restart reads
    /// them again from their start.)
    pub fn snapshot(&mut self, part_rows: usize) -> Result<Vec<JoinSnapshot>> {
        let mut out = Vec::new();
        for (s, o) in self.operators.iter().enumerate() {
            if !std::mem::take(&mut self.dirty[s]) {
                continue;
            }
            let Operator::StreamStream(j) = o else {
                continue;
            };
            let state = j.export();
            let rows: Vec<(u8, &Key, &RowRef, i64, u64)> = state
                .rows
                .iter()
                .filter_map(|(store, k, r, ts, seq)| r.as_ref().map(|r| (*store, k, r, *ts, *seq)))
                .collect();
            let mut parts = Vec::new();
            for run in rows.chunk_by(|a, b| a.0 == b.0 && a.1.len() == b.1.len()) {
                for part in run.chunks(part_rows.max(1)) {
                    parts.push(encode_part(part)?);
                }
            }
            out.push(JoinSnapshot {
                step: s,
                parts,
                times: state.times,
            });
        }
        Ok(out)
    }

    /// Restores a stream-stream step's state from the parts of its snapshot.
    pub fn restore(&mut self, step: usize, parts: &[Vec<u8>], times: Vec<i64>) -> Result<()> {
        if step >= self.plan.steps.len() {
            return Ok(());
        }
        let mut rows = Vec::new();
        for part in parts {
            let bad = |e: String| EngineError::Internal(format!("changelog: bad join state: {e}"));
            let reader =
                datafusion::arrow::ipc::reader::StreamReader::try_new(part.as_slice(), None)
                    .map_err(|e| bad(e.to_string()))?;
            for batch in reader {
                let batch = batch.map_err(|e| bad(e.to_string()))?;
                let schema = batch.schema();
                let index = |name: &str| schema.index_of(name).map_err(|e| bad(e.to_string()));
                let (store, ts, seq) = (index("store")?, index("ts")?, index("seq")?);
                let store = batch
                    .column(store)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::UInt8Array>()
                    .ok_or_else(|| bad("store".into()))?;
                let ts = batch
                    .column(ts)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| bad("ts".into()))?;
                let seq = batch
                    .column(seq)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::UInt64Array>()
                    .ok_or_else(|| bad("seq".into()))?;
                let keys: Vec<usize> = (0..)
                    .map_while(|k| schema.index_of(&format!("k{k}")).ok())
                    .collect();
                let first_cell = index("seq")? + 1;
                let cells = Arc::new(
                    batch.project(&(first_cell..batch.num_columns()).collect::<Vec<_>>())?,
                );
                for i in 0..batch.num_rows() {
                    let key = keys
                        .iter()
                        .map(|&k| ScalarValue::try_from_array(batch.column(k), i))
                        .collect::<std::result::Result<Key, _>>()?;
                    let row = RowRef {
                        batch: Arc::clone(&cells),
                        row: i as u32,
                    };
                    rows.push((store.value(i), key, Some(row), ts.value(i), seq.value(i)));
                }
            }
        }
        if let Some(Operator::StreamStream(j)) = self.operators.get_mut(step) {
            j.import(JoinState { rows, times });
        }
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
        let renamed = Arc::new(RecordBatch::try_new(
            Arc::clone(&plan.inputs[input].renamed),
            batch.columns().to_vec(),
        )?);
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
        if let Operator::EncodedForeignKey(join) = &mut self.operators[first] {
            let pending = join.process(&plan, input, &renamed, tombstone, &ts, &offsets)?;
            return self.assemble_encoded(partition, &pending);
        }
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
        let rows: Vec<JRow> = match self.operators[first] {
            Operator::StreamStream(_) => (0..n)
                .map(|i| {
                    JRow::Ref(RowRef {
                        batch: Arc::clone(&renamed),
                        row: i as u32,
                    })
                })
                .collect(),
            _ => to_rows(&renamed)?.into_iter().map(JRow::Values).collect(),
        };
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
                let (key, key_bytes) = left_key(key_format, &key_columns, &pk, i)?;
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
                )?;
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
                )?;
                pending.extend(out.drain(..).map(|o| Pending {
                    out: o,
                    offset: offsets[i].unwrap_or(-1),
                }));
            }
        }
        // Through the later steps, as their left input.
        for s in first + 1..plan.steps.len() {
            let joined: Vec<Row> = pending
                .iter()
                .map(|p| self.concat(s - 1, &p.out))
                .collect::<Result<_>>()?;
            let stream_stream = matches!(self.operators[s], Operator::StreamStream(_));
            let batch = match (&plan.steps[s].left_key, stream_stream) {
                (None, false) => None,
                _ => Some(Arc::new(rows_to_batch(
                    &plan.steps[s].left_schema,
                    &joined,
                )?)),
            };
            let keys: Vec<Option<Key>> = match (&plan.steps[s].left_key, &batch) {
                (Some(expr), Some(batch)) => keys(expr.evaluate(batch)?.into_array(joined.len())?)?,
                _ => pending
                    .iter()
                    .map(|p| (!p.out.key.is_empty()).then(|| p.out.key.clone()))
                    .collect(),
            };
            let mut next = Vec::new();
            for (i, ((p, row), key)) in pending.into_iter().zip(joined).zip(keys).enumerate() {
                let row = match (&batch, stream_stream) {
                    (Some(batch), true) => JRow::Ref(RowRef {
                        batch: Arc::clone(batch),
                        row: i as u32,
                    }),
                    _ => JRow::Values(row),
                };
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
                )?;
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
    fn concat(&self, s: usize, out: &Output<JRow>) -> Result<Row> {
        let left_width = self.left_widths[s];
        let right_nulls = &self.nulls[s + 1];
        let mut cells: Vec<ScalarValue> = Vec::with_capacity(left_width + right_nulls.len());
        match &out.left {
            Some(l) => l.extend_cells(&mut cells)?,
            None => cells.extend(self.padded_left[s].iter().cloned()),
        }
        match &out.right {
            Some(r) => r.extend_cells(&mut cells)?,
            None => cells.extend(right_nulls.iter().cloned()),
        }
        Ok(Row::from(cells))
    }

    /// The joined source's batch of the last step's outputs.
    fn assemble(&self, partition: i32, pending: &[Pending]) -> Result<Joined> {
        let plan = &self.plan;
        let schema = plan.output.schema.scan_schema(plan.output.window.is_some());
        let last = plan.steps.len() - 1;
        // A cell of an output's concatenated row, read from its sides without building it.
        let left_width = self.left_widths[last];
        let (padded_left, right_nulls) = (&self.padded_left[last], &self.nulls[last + 1]);
        let cell = |p: &Pending, idx: usize| -> Result<ScalarValue> {
            if idx < left_width {
                match &p.out.left {
                    Some(l) => l.cell(idx),
                    None => Ok(padded_left[idx].clone()),
                }
            } else {
                match &p.out.right {
                    Some(r) => r.cell(idx - left_width),
                    None => Ok(right_nulls[idx - left_width].clone()),
                }
            }
        };
        // Rows of batches only (a stream-stream step's outputs): value columns are gathered
        // from the batches column by column.
        let is_ref = |r: &Option<JRow>| !matches!(r, Some(JRow::Values(_)));
        fn as_ref(r: &Option<JRow>) -> Option<&RowRef> {
            match r {
                Some(JRow::Ref(r)) => Some(r),
                _ => None,
            }
        }
        let gathered = pending
            .iter()
            .all(|p| is_ref(&p.out.left) && is_ref(&p.out.right))
            .then(|| {
                (
                    Gathered::of(pending.iter().map(|p| as_ref(&p.out.left))),
                    Gathered::of(pending.iter().map(|p| as_ref(&p.out.right))),
                )
            });
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
            let column = match &gathered {
                Some((left, right)) => {
                    let a = if idx < left_width {
                        left.column(idx, &self.null_left[last][idx])?
                    } else {
                        let c = idx - left_width;
                        right.column(c, &self.null_right[last][c])?
                    };
                    fit(&a, dt)?
                }
                None => array_of(
                    pending
                        .iter()
                        .map(|p| cell(p, idx))
                        .collect::<Result<Vec<_>>>()?
                        .into_iter(),
                    dt,
                )?,
            };
            columns.push(column);
        }
        if plan.output.window.is_some() {
            let bound = |delta: usize| -> Int64Array {
                pending
                    .iter()
                    .map(|p| {
                        plan.window_index.iter().flatten().find_map(|&w| {
                            match cell(p, w + delta).ok()? {
                                ScalarValue::Int64(Some(v)) => Some(v),
                                _ => None,
                            }
                        })
                    })
                    .collect()
            };
            columns.push(Arc::new(bound(0)));
            columns.push(Arc::new(bound(1)));
        }
        finish(schema, columns, partition, pending)
    }

    /// The joined source's batch of an encoded foreign-key step's outputs: keys and rows are
    /// decoded a column at a time.
    fn assemble_encoded(&self, partition: i32, pending: &[EncodedPending]) -> Result<Joined> {
        let Operator::EncodedForeignKey(join) = &self.operators[0] else {
            return Err(EngineError::Internal(
                "not an encoded foreign-key join".into(),
            ));
        };
        let plan = &self.plan;
        let schema = plan.output.schema.scan_schema(false);
        let m = pending.len();
        let parser = join.pk.parser();
        let keys = join
            .pk
            .convert_rows(pending.iter().map(|p| parser.parse(&p.out.key)))?;
        let key_count = plan.output.schema.key().len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for k in 0..key_count {
            let dt = schema.field(k).data_type();
            columns.push(match keys.get(k) {
                Some(a) => fit(a, dt)?,
                None => new_null_array(dt, m),
            });
        }
        let side = |s: usize, row: fn(&EncodedPending) -> Option<&[u8]>| {
            let parser = join.rows[s].parser();
            join.rows[s].convert_rows(
                pending
                    .iter()
                    .map(|p| parser.parse(row(p).unwrap_or(&join.null_rows[s]))),
            )
        };
        let left = side(0, |p| p.out.left.as_deref())?;
        let right = side(1, |p| p.out.right.as_deref())?;
        let left_width = self.left_widths[0];
        for (j, &idx) in plan.value_index.iter().enumerate() {
            let dt = schema.field(key_count + j).data_type();
            let a = if idx < left_width {
                &left[idx]
            } else {
                &right[idx - left_width]
            };
            columns.push(fit(a, dt)?);
        }
        finish(schema, columns, partition, pending)
    }
}

/// A joined batch of `schema` from its key, value (and window) `columns` and `pending`'s
/// timestamps, offsets and tombstones.
fn finish<R, K>(
    schema: SchemaRef,
    mut columns: Vec<ArrayRef>,
    partition: i32,
    pending: &[Pending<R, K>],
) -> Result<Joined> {
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

/// Row `i`'s left-table key of a foreign-key join (`pk`: its key columns), as values and
/// serialized in the table's key format (empty when it cannot be).
fn left_key(
    key_format: &crate::format::Format,
    key_columns: &[(String, crate::types::SqlType)],
    pk: &[ArrayRef],
    i: usize,
) -> Result<(Key, Vec<u8>)> {
    let key: Key = pk
        .iter()
        .map(|a| ScalarValue::try_from_array(a, i))
        .collect::<std::result::Result<_, _>>()?;
    let key_bytes = key_format
        .encode(&key, key_columns, true)
        .ok()
        .flatten()
        .unwrap_or_default();
    Ok((key, key_bytes))
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
    fit(&array, dt)
}

/// `a` as an array of `dt` (cast when its type differs).
fn fit(a: &ArrayRef, dt: &DataType) -> Result<ArrayRef> {
    Ok(if a.data_type() == dt {
        Arc::clone(a)
    } else {
        datafusion::arrow::compute::cast(a, dt)?
    })
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

/// Rows of batches, gathered for `interleave`: source 0 is an array of nulls, then each
/// distinct batch.
struct Gathered<'a> {
    batches: Vec<&'a RecordBatch>,
    indices: Vec<(usize, usize)>,
}

impl<'a> Gathered<'a> {
    /// The sources of `rows` (`None`: the row of nulls).
    fn of(rows: impl Iterator<Item = Option<&'a RowRef>>) -> Gathered<'a> {
        let mut batches: Vec<&RecordBatch> = Vec::new();
        let mut seen: HashMap<*const RecordBatch, usize> = HashMap::new();
        let mut last: Option<(*const RecordBatch, usize)> = None;
        let mut indices = Vec::with_capacity(rows.size_hint().0);
        for r in rows {
            let Some(r) = r else {
                indices.push((0, 0));
                continue;
            };
            let ptr = Arc::as_ptr(&r.batch);
            let source = match last {
                Some((p, source)) if p == ptr => source,
                _ => {
                    let source = *seen.entry(ptr).or_insert_with(|| {
                        batches.push(&r.batch);
                        batches.len()
                    });
                    last = Some((ptr, source));
                    source
                }
            };
            indices.push((source, r.row as usize));
        }
        Gathered { batches, indices }
    }

    /// Column `c` of the rows; `nulls` is a one-row array of nulls of its type.
    fn column(&self, c: usize, nulls: &ArrayRef) -> Result<ArrayRef> {
        let mut arrays: Vec<&dyn Array> = Vec::with_capacity(self.batches.len() + 1);
        arrays.push(nulls.as_ref());
        arrays.extend(self.batches.iter().map(|b| b.column(c).as_ref()));
        Ok(datafusion::arrow::compute::interleave(
            &arrays,
            &self.indices,
        )?)
    }
}

/// One part of a stream-stream step's snapshot: records of one store, with keys of one length,
/// as an Arrow IPC stream (see [`JoinRuntime::snapshot`]).
fn encode_part(part: &[(u8, &Key, &RowRef, i64, u64)]) -> Result<Vec<u8>> {
    use datafusion::arrow::array::{UInt64Array, UInt8Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    let Some(first) = part.first() else {
        return Ok(Vec::new());
    };
    let mut fields = vec![Field::new("store", DataType::UInt8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt8Array::from(vec![first.0; part.len()]))];
    for k in 0..first.1.len() {
        let a = ScalarValue::iter_to_array(part.iter().map(|r| r.1[k].clone()))?;
        fields.push(Field::new(format!("k{k}"), a.data_type().clone(), true));
        columns.push(a);
    }
    fields.push(Field::new("ts", DataType::Int64, false));
    columns.push(Arc::new(part.iter().map(|r| r.3).collect::<Int64Array>()));
    fields.push(Field::new("seq", DataType::UInt64, false));
    columns.push(Arc::new(part.iter().map(|r| r.4).collect::<UInt64Array>()));
    let rows = Gathered::of(part.iter().map(|r| Some(r.2)));
    for c in 0..first.2.batch.num_columns() {
        let nulls = new_null_array(first.2.batch.column(c).data_type(), 1);
        let a = rows.column(c, &nulls)?;
        fields.push(Field::new(format!("c{c}"), a.data_type().clone(), true));
        columns.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    let mut bytes = Vec::new();
    let mut writer = datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut bytes, &schema)?;
    writer.write(&batch)?;
    writer.finish()?;
    drop(writer);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::merge_runs;

    #[test]
    fn join_merge_runs_orders_by_time_then_input() {
        // Input 0 (a table, first on ties) and input 1 (a stream).
        let times = vec![vec![1, 5, 5, 9], vec![0, 5, 6, 7, 10]];
        let runs = merge_runs(&times);
        assert_eq!(
            runs,
            vec![(1, 0, 1), (0, 0, 3), (1, 1, 4), (0, 3, 4), (1, 4, 5)]
        );
        // Every row once, each input's rows in order.
        let rows: usize = runs.iter().map(|(_, s, e)| e - s).sum();
        assert_eq!(rows, 9);
        assert!(merge_runs(&[vec![], vec![]]).is_empty());
    }
}
