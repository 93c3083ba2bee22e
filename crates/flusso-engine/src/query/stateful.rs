//! The aggregation path of a persistent query: decoded records go through WHERE into the
//! [`Aggregator`]; its updates go through HAVING and the output projection into the sink (a
//! row, or a tombstone when HAVING fails or a session merged away), and into the query's
//! materialized view, which pull queries read.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use datafusion::arrow::array::{Array, BooleanArray, Int64Array};
use datafusion::arrow::compute::{and, not, prep_null_mask_filter};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;

use super::aggregate::{Aggregator, UpdateBatch};
use super::{sink, PersistentQuery};
use crate::error::{EngineError, Result};
use crate::log_client::OutRecord;
use crate::planner::aggregate::AggregatePlan;
use crate::planner::select::SelectPlan;

/// The WHERE mask of a batch: rows with a value that pass the filter.
pub(crate) fn pass_mask(
    plan: &SelectPlan,
    batch: &RecordBatch,
    tombstone: &[bool],
) -> Result<BooleanArray> {
    let n = batch.num_rows();
    let mut pass = not(&BooleanArray::from(tombstone.to_vec()))?;
    if let Some(f) = &plan.filter {
        let mask = f.evaluate(batch)?.into_array(n)?;
        let mask = mask
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .unwrap_or_else(|| BooleanArray::from(vec![false; n]));
        let mask = if mask.null_count() > 0 {
            prep_null_mask_filter(&mask)
        } else {
            mask
        };
        pass = and(&pass, &mask)?;
    }
    Ok(pass)
}

/// A table source's keys, row by row (its key columns come first in the scan).
pub(crate) fn source_keys(plan: &SelectPlan, batch: &RecordBatch) -> Result<Vec<Vec<ScalarValue>>> {
    let nkeys = plan.source.schema.key().len();
    (0..batch.num_rows())
        .map(|i| {
            (0..nkeys)
                .map(|c| Ok(ScalarValue::try_from_array(batch.column(c), i)?))
                .collect()
        })
        .collect()
}

/// One output row of an aggregation.
#[derive(Debug, Clone)]
pub struct AggRow {
    /// Key columns.
    pub key: Vec<ScalarValue>,
    /// Window of the key.
    pub window: Option<(i64, i64)>,
    /// Value columns; `None` for a tombstone.
    pub value: Option<Vec<ScalarValue>>,
    /// A tombstone's value columns as computed (its aggregates are NULL): what a push query
    /// shows for it. Empty when `value` is set (a push query shows `value`).
    pub projected: Vec<ScalarValue>,
    /// Event time.
    pub timestamp: i64,
    /// Offset of the source record (-1 when unknown).
    pub offset: i64,
}

/// Applies HAVING and the output projection to a batch of updates.
pub(crate) fn project_updates(
    plan: &SelectPlan,
    agg: &AggregatePlan,
    updates: &UpdateBatch,
) -> Result<Vec<AggRow>> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let batch = &updates.batch;
    let n = batch.num_rows();
    let having = match &agg.having {
        Some(h) => {
            let m = h.evaluate(batch)?.into_array(n)?;
            let m = m
                .as_any()
                .downcast_ref::<BooleanArray>()
                .cloned()
                .unwrap_or_else(|| BooleanArray::from(vec![false; n]));
            Some(m)
        }
        None => None,
    };
    let eval = |cols: &[crate::planner::select::OutColumn]| -> Result<Vec<_>> {
        cols.iter()
            .map(|c| Ok(c.expr.evaluate(batch)?.into_array(n)?))
            .collect()
    };
    let keys = eval(&plan.keys)?;
    let values = eval(&plan.values)?;
    // The window bounds and ROWTIME close the aggregate schema.
    let bound = |from_end: usize| -> Option<&Int64Array> {
        batch
            .column(batch.num_columns() - from_end)
            .as_any()
            .downcast_ref::<Int64Array>()
    };
    let (starts, ends, times) = (bound(3), bound(2), bound(1));
    let at = |a: Option<&Int64Array>, i: usize| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
    // Row `i`'s cells, in a vector of their number (the materialized table keeps it).
    let cells =
        |arrays: &[datafusion::arrow::array::ArrayRef], i: usize| -> Result<Vec<ScalarValue>> {
            let mut cells = Vec::with_capacity(arrays.len());
            for a in arrays {
                cells.push(sink::cell(a, i).map_err(EngineError::Execution)?);
            }
            Ok(cells)
        };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let key = cells(&keys, i)?;
        let passes =
            !updates.deleted[i] && having.as_ref().is_none_or(|h| h.is_valid(i) && h.value(i));
        let projected = cells(&values, i)?;
        let (value, projected) = match passes {
            true => (Some(projected), Vec::new()),
            false => (None, projected),
        };
        out.push(AggRow {
            key,
            window: at(starts, i).zip(at(ends, i)),
            value,
            projected,
            timestamp: at(times, i).unwrap_or(0),
            offset: updates.offsets[i],
        });
    }
    Ok(out)
}

/// Rows of a batch that failed, by index, with their error.
pub(crate) type RowErrors = Vec<(usize, EngineError)>;

/// The updates of one batch of records through an aggregation, with the rows that failed: the
/// inputs are evaluated batch-wide, or when that fails row by row, a failing row being skipped
/// and returned with its error (`(row index, error)`).
pub(crate) fn aggregate_batch(
    plan: &SelectPlan,
    agg: &AggregatePlan,
    state: &mut Aggregator,
    batch: &RecordBatch,
    tombstone: &[bool],
    latest_only: bool,
) -> Result<(Vec<UpdateBatch>, RowErrors)> {
    let prepare = |state: &Aggregator, rows: &RecordBatch, tombstone: &[bool]| -> Result<_> {
        let pass = pass_mask(plan, rows, tombstone)?;
        let inputs = state.evaluate(rows)?;
        let keys = match agg.table_source {
            true => Some(source_keys(plan, rows)?),
            false => None,
        };
        Ok((pass, inputs, keys))
    };
    match prepare(state, batch, tombstone) {
        Ok((pass, inputs, keys)) => {
            let updates = state.update_batch(&inputs, &pass, keys.as_deref(), latest_only)?;
            Ok((vec![updates], Vec::new()))
        }
        Err(e) if batch.num_rows() == 1 => Ok((Vec::new(), vec![(0, e)])),
        Err(_) => {
            let (mut updates, mut errors) = (Vec::new(), Vec::new());
            for i in 0..batch.num_rows() {
                let row = batch.slice(i, 1);
                match prepare(state, &row, &tombstone[i..=i]) {
                    Ok((pass, inputs, keys)) => updates.push(state.update_batch(
                        &inputs,
                        &pass,
                        keys.as_deref(),
                        latest_only,
                    )?),
                    Err(e) => errors.push((i, e)),
                }
            }
            Ok((updates, errors))
        }
    }
}

/// [`project_updates`] over several batches; an update that fails is skipped and returned with
/// its error (`(source offset, error)`).
pub(crate) fn project_all(
    plan: &SelectPlan,
    agg: &AggregatePlan,
    batches: &[UpdateBatch],
) -> (Vec<AggRow>, Vec<(i64, EngineError)>) {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for updates in batches {
        match project_updates(plan, agg, updates) {
            Ok(r) => rows.extend(r),
            Err(_) => {
                for i in 0..updates.len() {
                    match project_updates(plan, agg, &updates.row(i)) {
                        Ok(r) => rows.extend(r),
                        Err(e) => errors.push((updates.offsets[i], e)),
                    }
                }
            }
        }
    }
    (rows, errors)
}

impl PersistentQuery {
    /// The aggregation path of [`PersistentQuery::process`].
    pub(super) async fn process_aggregate(
        &self,
        agg: &AggregatePlan,
        partition: i32,
        batch: &RecordBatch,
        tombstone: &[bool],
        out: &mut BTreeMap<i32, Vec<OutRecord>>,
    ) -> Result<()> {
        let Some(state) = &self.aggregator else {
            return Err(EngineError::Internal("aggregation without state".into()));
        };
        let (updates, failed, refused, horizon) = {
            let mut state = state.lock();
            let (updates, failed) =
                aggregate_batch(&self.plan, agg, &mut state, batch, tombstone, self.buffered)?;
            self.stats.late.store(state.late(), Ordering::Relaxed);
            (
                updates,
                failed,
                state.take_errors(),
                state.retention_horizon(),
            )
        };
        for (i, e) in failed {
            self.row_error(&batch.slice(i, 1), partition, e).await;
        }
        let (rows, failed) = project_all(&self.plan, agg, &updates);
        let refused = refused
            .into_iter()
            .map(|(offset, e)| (offset, EngineError::Execution(e)));
        for (offset, e) in failed.into_iter().chain(refused) {
            self.record_error(partition, offset, &e).await;
        }
        let encoder = sink::RowEncoder::new(&self.sink, self.sink_partitions, true);
        for row in rows {
            // A tombstone only deletes a row that exists (HAVING failing again stays silent).
            if row.value.is_none() {
                if let Some(m) = &self.materialized {
                    if !m.contains(&row.key, row.window) {
                        continue;
                    }
                }
            }
            encoder
                .encode_windowed(
                    &row.key,
                    row.window,
                    row.value.as_deref(),
                    row.timestamp,
                    partition,
                    Vec::new(),
                    out,
                )
                .map_err(EngineError::Execution)?;
            if let Some(m) = &self.materialized {
                m.apply(row);
            }
        }
        if let (Some(m), Some(horizon)) = (&self.materialized, horizon) {
            m.expire(horizon);
        }
        Ok(())
    }
}
