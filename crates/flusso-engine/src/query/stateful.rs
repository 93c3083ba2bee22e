//! The aggregation path of a persistent query: decoded records go through WHERE into the
//! [`Aggregator`]; its updates go through HAVING and the output projection into the sink (a
//! row, or a tombstone when HAVING fails or a session merged away), and into the query's
//! materialized view, which pull queries read.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::compute::{and, not, prep_null_mask_filter};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;

use super::aggregate::{updates_batch, Update};
use super::{sink, HeaderMap, PersistentQuery};
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
    /// The value columns as computed, also for a tombstone (its aggregates are NULL): what a
    /// push query shows.
    pub projected: Vec<ScalarValue>,
    /// Event time.
    pub timestamp: i64,
    /// Offset of the source record (-1 when unknown).
    pub offset: i64,
}

/// Applies HAVING and the output projection to updates.
pub(crate) fn project_updates(
    plan: &SelectPlan,
    agg: &AggregatePlan,
    updates: &[Update],
) -> Result<Vec<AggRow>> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let batch = updates_batch(agg, updates)?;
    let n = batch.num_rows();
    let having = match &agg.having {
        Some(h) => {
            let m = h.evaluate(&batch)?.into_array(n)?;
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
            .map(|c| Ok(c.expr.evaluate(&batch)?.into_array(n)?))
            .collect()
    };
    let keys = eval(&plan.keys)?;
    let values = eval(&plan.values)?;
    let mut out = Vec::with_capacity(n);
    for (i, u) in updates.iter().enumerate() {
        let key = keys
            .iter()
            .map(|a| sink::cell(a, i))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(EngineError::Execution)?;
        let passes =
            u.results.is_some() && having.as_ref().is_none_or(|h| h.is_valid(i) && h.value(i));
        let projected = values
            .iter()
            .map(|a| sink::cell(a, i))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(EngineError::Execution)?;
        let value = passes.then(|| projected.clone());
        out.push(AggRow {
            key,
            window: u.window,
            value,
            projected,
            timestamp: u.timestamp,
            offset: u.offset,
        });
    }
    Ok(out)
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
        // Evaluate the inputs batch-wide; on failure, row by row, reporting the bad rows.
        let prepared = (|| -> Result<_> {
            let pass = pass_mask(&self.plan, batch, tombstone)?;
            let inputs = state.lock().evaluate(batch)?;
            let keys = match agg.table_source {
                true => Some(source_keys(&self.plan, batch)?),
                false => None,
            };
            Ok((pass, inputs, keys))
        })();
        let mut updates = Vec::new();
        match prepared {
            Ok((pass, inputs, keys)) => {
                updates = state.lock().update(&inputs, &pass, keys.as_deref())?;
            }
            Err(e) if batch.num_rows() == 1 => {
                self.row_error(batch, partition, e).await;
            }
            Err(_) => {
                for i in 0..batch.num_rows() {
                    let row = batch.slice(i, 1);
                    let one = (|| -> Result<_> {
                        let pass = pass_mask(&self.plan, &row, &tombstone[i..=i])?;
                        let inputs = state.lock().evaluate(&row)?;
                        let keys = match agg.table_source {
                            true => Some(source_keys(&self.plan, &row)?),
                            false => None,
                        };
                        Ok((pass, inputs, keys))
                    })();
                    match one {
                        Ok((pass, inputs, keys)) => {
                            updates.extend(state.lock().update(&inputs, &pass, keys.as_deref())?)
                        }
                        Err(e) => self.row_error(&row, partition, e).await,
                    }
                }
            }
        }
        self.stats.late.store(state.lock().late, Ordering::Relaxed);
        if self.buffered {
            // Caching on: only the latest update of each group in this step.
            type GroupWindow = (Vec<ScalarValue>, Option<(i64, i64)>);
            let mut last: HashMap<GroupWindow, usize> = HashMap::new();
            for (i, u) in updates.iter().enumerate() {
                last.insert((u.key.clone(), u.window), i);
            }
            let mut keep: Vec<usize> = last.into_values().collect();
            keep.sort_unstable();
            updates = keep.into_iter().map(|i| updates[i].clone()).collect();
        }
        let rows = match project_updates(&self.plan, agg, &updates) {
            Ok(rows) => rows,
            Err(_) => {
                let mut rows = Vec::new();
                for u in &updates {
                    match project_updates(&self.plan, agg, std::slice::from_ref(u)) {
                        Ok(r) => rows.extend(r),
                        Err(e) => {
                            self.stats.errors.fetch_add(1, Ordering::Relaxed);
                            self.processing_log
                                .record_processing_error(
                                    &self.id,
                                    &self.plan.source.topic,
                                    partition,
                                    u.offset,
                                    &e.to_string(),
                                )
                                .await;
                        }
                    }
                }
                rows
            }
        };
        let encoder = sink::RowEncoder {
            sink: &self.sink,
            partitions: self.sink_partitions,
            computed_key: true,
        };
        let headers: &HeaderMap = &HashMap::new();
        let _ = headers;
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
                m.apply(&row);
            }
        }
        Ok(())
    }
}
