//! Measurement support for `flusso bench agg`: the same aggregation over the same in-memory
//! Arrow batches, run by Flusso's streaming operator and by DataFusion as a batch query.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use flusso_sql::ast::StatementKind;

use super::Engine;
use crate::error::{EngineError, Result};
use crate::planner::select::plan_select;
use crate::query::aggregate::Aggregator;
use crate::query::scan;

/// Timings of one comparison.
#[derive(Debug, Clone, Copy)]
pub struct AggregateComparison {
    /// Input rows.
    pub rows: usize,
    /// Seconds the streaming operator took (every update computed, in input order).
    pub streaming_secs: f64,
    /// Groups the streaming operator holds at the end.
    pub streaming_groups: usize,
    /// Seconds DataFusion took for the batch query.
    pub batch_secs: f64,
    /// Rows of the batch query's result.
    pub batch_groups: usize,
}

impl Engine {
    /// Decodes every record of `source` into Arrow batches, then runs the aggregation of
    /// `streaming_sql` (a `SELECT ... GROUP BY ... EMIT CHANGES` over `source`) through the
    /// streaming operator, and `batch_sql` through DataFusion over the same batches registered
    /// as table `t` (the scan's columns, ROWTIME included).
    pub async fn aggregate_vs_batch(
        &self,
        source: &str,
        streaming_sql: &str,
        batch_sql: &str,
    ) -> Result<AggregateComparison> {
        let source = self
            .source(source)
            .ok_or_else(|| EngineError::statement(format!("{source} does not exist.")))?;
        let statements = flusso_sql::parse(streaming_sql)?;
        let Some(StatementKind::Query(query)) = statements.first().map(|s| &s.kind) else {
            return Err(EngineError::statement("expected a SELECT"));
        };
        let types = self.inner.catalog.read().types.clone();
        let plan = plan_select(query, Arc::clone(&source), &types, "bench", false)?;
        let agg = plan
            .aggregate
            .clone()
            .ok_or_else(|| EngineError::statement("expected an aggregation"))?;
        // The input, decoded once.
        let log = Arc::clone(&self.inner.log);
        let mut batches: Vec<RecordBatch> = Vec::new();
        let partitions = log.partitions(&source.topic).await?.unwrap_or(0);
        for p in 0..partitions {
            let (mut pos, end) = log.offsets(&source.topic, p).await?;
            while pos < end {
                let records = log.fetch(&source.topic, p, pos, 1 << 20).await?;
                let Some(last) = records.last().map(|r| r.offset) else {
                    break;
                };
                let decoded = scan::decode(&source, &plan.scan_schema, p, &records)
                    .map_err(EngineError::Execution)?;
                batches.push(decoded.batch);
                pos = last + 1;
            }
        }
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();

        // Streaming: every row updates its group and yields the group's new value.
        let t0 = Instant::now();
        let mut state = Aggregator::new(Arc::clone(&agg));
        let mut updates = 0usize;
        for b in &batches {
            let pass = BooleanArray::from(vec![true; b.num_rows()]);
            let inputs = state.evaluate(b)?;
            updates += state.update(&inputs, &pass, None)?.len();
            state.clear_dirty();
        }
        let streaming_secs = t0.elapsed().as_secs_f64();
        let streaming_groups = state.len();
        let _ = updates;

        // Batch: DataFusion over the same batches.
        let ctx = SessionContext::new();
        let table = MemTable::try_new(Arc::clone(&plan.scan_schema), vec![batches])?;
        ctx.register_table("t", Arc::new(table))?;
        let t0 = Instant::now();
        let result = ctx.sql(batch_sql).await?.collect().await?;
        let batch_secs = t0.elapsed().as_secs_f64();
        let batch_groups = result.iter().map(|b| b.num_rows()).sum();
        Ok(AggregateComparison {
            rows,
            streaming_secs,
            streaming_groups,
            batch_secs,
            batch_groups,
        })
    }
}
