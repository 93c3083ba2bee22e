//! Transient push queries (`SELECT ... EMIT CHANGES [LIMIT n]`): the same stateless plan as a
//! persistent query, but rows go to the caller through a bounded channel instead of a topic.
//! Dropping the [`PushQuery`] stops its task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::common::ScalarValue;
use tokio::sync::mpsc;

use super::{project, scan};
use crate::error::{EngineError, Result};
use crate::log_client::LogClient;
use crate::planner::select::SelectPlan;
use crate::processing_log::ProcessingLog;
use crate::types::SqlType;

/// One row of a push query: key columns then value columns.
pub type Row = Vec<ScalarValue>;

/// A row as a push query emits it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRow {
    /// Key columns then value columns.
    pub columns: Row,
    /// A table's row was deleted: the value columns are null.
    pub tombstone: bool,
}

/// A running push query.
pub struct PushQuery {
    /// Query id (`transient_...`).
    pub id: String,
    /// Output columns: name, type, whether it is a key.
    pub columns: Vec<(String, SqlType, bool)>,
    /// Rows as they are produced; closed when the LIMIT is reached or the query fails.
    pub rows: mpsc::Receiver<Result<PushRow>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushQuery {
    /// Starts reading `plan`'s source from `positions`.
    pub(crate) fn start(
        id: String,
        plan: SelectPlan,
        positions: BTreeMap<i32, i64>,
        log: Arc<dyn LogClient>,
        processing_log: ProcessingLog,
    ) -> PushQuery {
        let columns = plan
            .keys
            .iter()
            .map(|k| (k.name.clone(), k.sql_type.clone(), true))
            .chain(
                plan.values
                    .iter()
                    .map(|v| (v.name.clone(), v.sql_type.clone(), false)),
            )
            .collect();
        let (tx, rx) = mpsc::channel(1024);
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = run(&task_id, plan, positions, log, processing_log, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        PushQuery {
            id,
            columns,
            rows: rx,
            task,
        }
    }
}

async fn run(
    id: &str,
    plan: SelectPlan,
    mut positions: BTreeMap<i32, i64>,
    log: Arc<dyn LogClient>,
    processing_log: ProcessingLog,
    tx: &mpsc::Sender<Result<PushRow>>,
) -> Result<()> {
    let is_table = plan.output_type == flusso_sql::ast::SourceType::Table;
    let mut remaining = plan.limit.unwrap_or(u64::MAX);
    if remaining == 0 {
        return Ok(());
    }
    let mut aggregator = plan
        .aggregate
        .clone()
        .map(super::aggregate::Aggregator::new);
    // Rows of the aggregation currently shown, so that a tombstone only follows a row.
    let mut shown: std::collections::HashSet<(Row, Option<(i64, i64)>)> = Default::default();
    let mut joiner = match &plan.join {
        Some(j) => Some(super::join::JoinRuntime::new(Arc::clone(j))?),
        None => None,
    };
    let tables = joiner
        .as_ref()
        .map(|j| j.table_inputs())
        .unwrap_or_default();
    loop {
        let mut read = 0;
        let mut fetched: Vec<(i32, i32, scan::Decoded)> = Vec::new();
        for (slot, offset) in positions.clone() {
            let (topic, partition) = plan.slot_topic(slot);
            let records = log.fetch(topic, partition, offset, 1 << 20).await?;
            let Some(last) = records.last().map(|r| r.offset) else {
                continue;
            };
            read += records.len();
            positions.insert(slot, last + 1);
            let (source, scan_schema) = plan.slot_source(slot);
            let decoded = scan::decode(source, scan_schema, partition, &records)
                .map_err(EngineError::Execution)?;
            for e in &decoded.errors {
                processing_log
                    .deserialization_error(id, topic, partition, e)
                    .await;
            }
            fetched.push((slot, partition, decoded));
        }
        if joiner.is_some() {
            // A join's inputs go through in timestamp order across inputs, tables first on
            // ties, as a persistent query's do.
            fetched.sort_by_key(|(slot, _, _)| !tables.contains(&super::join::unslot(*slot).0));
            let times: Vec<Vec<i64>> = fetched
                .iter()
                .map(|(_, _, d)| super::join::row_times(&d.batch))
                .collect();
            fetched = super::join::merge_runs(&times)
                .into_iter()
                .map(|(i, start, end)| (fetched[i].0, fetched[i].1, fetched[i].2.slice(start, end)))
                .collect();
        }
        for (slot, partition, mut decoded) in fetched {
            if let Some(joiner) = joiner.as_mut() {
                let joined = joiner.process(
                    super::join::unslot(slot).0,
                    partition,
                    &decoded.batch,
                    &decoded.tombstone,
                )?;
                decoded.batch = joined.batch;
                decoded.tombstone = joined.tombstone;
            }
            if decoded.batch.num_rows() == 0 {
                continue;
            }
            if let (Some(agg), Some(state)) = (&plan.aggregate, aggregator.as_mut()) {
                // An aggregation's changes: rows, and tombstones of rows shown before.
                for row in aggregate_rows(&plan, agg, state, &decoded.batch, &decoded.tombstone)? {
                    let tombstone = row.value.is_none();
                    let k = (row.key.clone(), row.window);
                    if tombstone && !shown.remove(&k) {
                        continue;
                    }
                    if !tombstone {
                        shown.insert(k);
                    }
                    let mut columns = row.key;
                    columns.extend(row.value.unwrap_or(row.projected));
                    if tx.send(Ok(PushRow { columns, tombstone })).await.is_err() {
                        return Ok(());
                    }
                    remaining -= 1;
                    if remaining == 0 {
                        return Ok(());
                    }
                }
                continue;
            }
            let rows = project(&plan, &decoded.batch, &decoded.tombstone)?;
            for (i, row) in rows.into_iter().enumerate() {
                let tombstone = row.value.is_none();
                if is_table && plan.filter.is_some() {
                    // A row failing WHERE deletes only a row shown before.
                    let k = (row.key.clone(), row.window);
                    if !tombstone {
                        shown.insert(k);
                    } else if !decoded.tombstone.get(i).copied().unwrap_or(true)
                        && !shown.remove(&k)
                    {
                        continue;
                    }
                }
                let value = match row.value {
                    Some(v) => v,
                    // A table's deletion shows as a tombstone row; a stream's null value is
                    // not a row.
                    None if is_table && row.key.is_empty() && row.deleted.is_some() => {
                        row.deleted.unwrap_or_default()
                    }
                    None if is_table && !row.key.iter().all(|k| k.is_null()) => plan
                        .values
                        .iter()
                        .map(|c| crate::value::null_of(&c.sql_type))
                        .collect(),
                    None => continue,
                };
                if is_table && row.key.len() == 1 && row.key[0].is_null() {
                    continue;
                }
                let mut columns = row.key;
                columns.extend(value);
                if tx.send(Ok(PushRow { columns, tombstone })).await.is_err() {
                    return Ok(());
                }
                remaining -= 1;
                if remaining == 0 {
                    return Ok(());
                }
            }
        }
        if read == 0 {
            let waiting: Vec<(String, i32, i64)> = positions
                .iter()
                .map(|(s, o)| {
                    let (topic, p) = plan.slot_topic(*s);
                    (topic.to_string(), p, *o)
                })
                .collect();
            tokio::select! {
                _ = log.wait_for_data(&waiting, Duration::from_millis(500)) => {}
                _ = tx.closed() => return Ok(()),
            }
        }
    }
}

/// A batch through a transient aggregation: its updates as output rows.
fn aggregate_rows(
    plan: &SelectPlan,
    agg: &crate::planner::aggregate::AggregatePlan,
    state: &mut super::aggregate::Aggregator,
    batch: &datafusion::arrow::record_batch::RecordBatch,
    tombstone: &[bool],
) -> Result<Vec<super::stateful::AggRow>> {
    // A row that cannot be evaluated or projected is skipped, as a persistent query logs and
    // skips it.
    let (updates, _) = super::stateful::aggregate_batch(plan, agg, state, batch, tombstone, false)?;
    // Rows an accumulator refused are skipped too.
    let _ = state.take_errors();
    Ok(super::stateful::project_all(plan, agg, &updates).0)
}
