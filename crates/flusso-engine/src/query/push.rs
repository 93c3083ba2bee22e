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

/// A running push query.
pub struct PushQuery {
    /// Query id (`transient_...`).
    pub id: String,
    /// Output columns: name, type, whether it is a key.
    pub columns: Vec<(String, SqlType, bool)>,
    /// Rows as they are produced; closed when the LIMIT is reached or the query fails.
    pub rows: mpsc::Receiver<Result<Row>>,
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
    tx: &mpsc::Sender<Result<Row>>,
) -> Result<()> {
    let topic = plan.source.topic.clone();
    let mut remaining = plan.limit.unwrap_or(u64::MAX);
    if remaining == 0 {
        return Ok(());
    }
    loop {
        let mut read = 0;
        for (partition, offset) in positions.clone() {
            let records = log.fetch(&topic, partition, offset, 1 << 20).await?;
            let Some(last) = records.last().map(|r| r.offset) else {
                continue;
            };
            read += records.len();
            positions.insert(partition, last + 1);
            let decoded = scan::decode(&plan.source, &plan.scan_schema, partition, &records)
                .map_err(EngineError::Execution)?;
            for e in &decoded.errors {
                processing_log
                    .deserialization_error(id, &topic, partition, e)
                    .await;
            }
            if decoded.batch.num_rows() == 0 {
                continue;
            }
            for row in project(&plan, &decoded.batch, &decoded.tombstone)? {
                let Some(value) = row.value else { continue };
                let mut out = row.key;
                out.extend(value);
                if tx.send(Ok(out)).await.is_err() {
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
                .map(|(p, o)| (topic.clone(), *p, *o))
                .collect();
            tokio::select! {
                _ = log.wait_for_data(&waiting, Duration::from_millis(500)) => {}
                _ = tx.closed() => return Ok(()),
            }
        }
    }
}
