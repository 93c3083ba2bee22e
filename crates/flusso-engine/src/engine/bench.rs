//! Measurement support for `flusso bench agg`: the same aggregation over the same in-memory
//! Arrow batches, run by Flusso's streaming operator and by DataFusion as a batch query.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use flusso_sql::ast::StatementKind;

use super::Engine;
use crate::error::{EngineError, Result};
use crate::planner::aggregate::AggregatePlan;
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
    /// Seconds DataFusion took for the batch query on one core (one partition).
    pub batch_secs: f64,
    /// Seconds DataFusion took for the batch query with its default configuration (as many
    /// partitions as the machine has cores).
    pub batch_secs_all_cores: f64,
    /// Rows of the batch query's result.
    pub batch_groups: usize,
}

impl Engine {
    /// Decodes every record of `source` into Arrow batches, then runs the aggregation of
    /// `streaming_sql` (a `SELECT ... GROUP BY ... EMIT CHANGES` over `source`) through the
    /// streaming operator, and `batch_sql` through DataFusion over the same batches registered
    /// as table `t` (the scan's columns, ROWTIME included); each side `repeat` times, the
    /// fastest run counting.
    pub async fn aggregate_vs_batch(
        &self,
        source: &str,
        streaming_sql: &str,
        batch_sql: &str,
        repeat: usize,
    ) -> Result<AggregateComparison> {
        let (agg, schema, batches) = self.decoded_aggregation(source, streaming_sql).await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let repeat = repeat.max(1);

        // Streaming: every row updates its group and yields the group's new value.
        let mut streaming_secs = f64::INFINITY;
        let mut streaming_groups = 0;
        for _ in 0..repeat {
            let t0 = Instant::now();
            let mut state = Aggregator::new(Arc::clone(&agg));
            for b in &batches {
                let pass = BooleanArray::from(vec![true; b.num_rows()]);
                let inputs = state.evaluate(b)?;
                std::hint::black_box(state.update_batch(&inputs, &pass, None, false)?);
                state.clear_dirty();
            }
            streaming_secs = streaming_secs.min(t0.elapsed().as_secs_f64());
            streaming_groups = state.len();
        }

        // Batch: DataFusion over the same batches, with its default configuration (the work
        // spread over the machine's cores), then on one core as the streaming operator runs.
        let table = Arc::new(MemTable::try_new(schema, vec![batches])?);
        let mut timings = Vec::new();
        let mut batch_groups = 0;
        for config in [
            datafusion::prelude::SessionConfig::new(),
            datafusion::prelude::SessionConfig::new().with_target_partitions(1),
        ] {
            let ctx = SessionContext::new_with_config(config);
            ctx.register_table("t", Arc::clone(&table) as _)?;
            let mut best = f64::INFINITY;
            for _ in 0..repeat {
                let t0 = Instant::now();
                let result = ctx.sql(batch_sql).await?.collect().await?;
                best = best.min(t0.elapsed().as_secs_f64());
                batch_groups = result.iter().map(|b| b.num_rows()).sum();
            }
            timings.push(best);
        }
        let (batch_secs_all_cores, batch_secs) = (timings[0], timings[1]);
        Ok(AggregateComparison {
            rows,
            streaming_secs,
            streaming_groups,
            batch_secs,
            batch_secs_all_cores,
            batch_groups,
        })
    }

    /// The aggregation of `sql` (a `SELECT ... GROUP BY ... EMIT CHANGES` over `source`) and
    /// every record of `source` decoded into Arrow batches, with their schema.
    async fn decoded_aggregation(
        &self,
        source: &str,
        sql: &str,
    ) -> Result<(Arc<AggregatePlan>, SchemaRef, Vec<RecordBatch>)> {
        let source = self
            .source(source)
            .ok_or_else(|| EngineError::statement(format!("{source} does not exist.")))?;
        let statements = flusso_sql::parse(sql)?;
        let Some(StatementKind::Query(query)) = statements.first().map(|s| &s.kind) else {
            return Err(EngineError::statement("expected a SELECT"));
        };
        let types = self.inner.catalog.read().types.clone();
        let plan = plan_select(query, Arc::clone(&source), &types, "bench", false)?;
        let agg = plan
            .aggregate
            .clone()
            .ok_or_else(|| EngineError::statement("expected an aggregation"))?;
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
        Ok((agg, Arc::clone(&plan.scan_schema), batches))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::query::aggregate::{DirtyGroup, UpdateBatch};
    use crate::{EmbeddedLog, EngineConfig, LogClient, Session};

    /// The updates of every batch, in both forms.
    fn run(state: &mut Aggregator, batches: &[RecordBatch], latest: bool) -> Vec<UpdateBatch> {
        batches
            .iter()
            .map(|b| {
                let pass = BooleanArray::from(vec![true; b.num_rows()]);
                let inputs = state.evaluate(b).unwrap();
                state.update_batch(&inputs, &pass, None, latest).unwrap()
            })
            .collect()
    }

    fn sorted<T: std::fmt::Debug>(items: Vec<T>) -> Vec<String> {
        let mut v: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
        v.sort();
        v
    }

    /// Changelog states with the BY_OFFSET functions' process-wide sequence stamps zeroed
    /// (the two forms draw different numbers; only their order within a group matters).
    fn unstamped(dirty: Vec<DirtyGroup>) -> Vec<DirtyGroup> {
        dirty
            .into_iter()
            .map(|(k, mut state)| {
                if let Some(s) = &mut state {
                    zero(s);
                }
                (k, state)
            })
            .collect()
    }

    /// Zeroes the sequence stamps in a state.
    fn zero(j: &mut serde_json::Value) {
        match j {
            serde_json::Value::Object(m) => {
                if let Some(seq) = m.get_mut("seq") {
                    *seq = serde_json::Value::from(0);
                }
                m.values_mut().for_each(zero);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(zero),
            _ => {}
        }
    }

    /// The changelog records' text, stamps zeroed.
    fn records_text(agg: &mut Aggregator) -> Vec<String> {
        let records = agg.take_dirty_records().unwrap();
        sorted(
            records
                .into_iter()
                .map(|(k, v)| {
                    let v = v.map(|v| {
                        let mut j: serde_json::Value = serde_json::from_slice(&v).unwrap();
                        zero(&mut j);
                        j.to_string()
                    });
                    (String::from_utf8(k).unwrap(), v)
                })
                .collect(),
        )
    }

    /// The vectorised aggregation gives the row-by-row one's updates, changelog and state, on
    /// nulls, late records, several windows per record and retention.
    #[tokio::test]
    async fn vectorised_and_row_aggregations_agree() {
        let dir = tempfile::tempdir().unwrap();
        let log = flusso_log::Log::open(flusso_log::LogConfig::new(dir.path())).unwrap();
        let client: Arc<dyn LogClient> = EmbeddedLog::new(log);
        let config = EngineConfig {
            properties: BTreeMap::new(),
            spawn_queries: false,
            durable: false,
        };
        let engine = Engine::open(client, config).await.unwrap();
        let mut session = Session::default();
        engine
            .execute(
                "CREATE STREAM s (k VARCHAR KEY, c INT, a INT, b DOUBLE, l BIGINT) \
                 WITH (kafka_topic='s', value_format='JSON', partitions=1);",
                &mut session,
            )
            .await
            .unwrap();
        let mut inserts = String::new();
        for i in 0..400i64 {
            let k = ["'x'", "'y'", "'z'", "NULL"][(i * 7 % 4) as usize];
            let c = if i % 5 == 0 {
                "NULL".to_string()
            } else {
                (i % 3).to_string()
            };
            let a = if i % 6 == 0 {
                "NULL".to_string()
            } else {
                (i * 1_000_003 % 2_147_483_647).to_string()
            };
            let b = if i % 9 == 0 {
                "NULL".to_string()
            } else {
                format!("{}.25", i % 17 - 8)
            };
            // Time moves on with some records out of order, a few beyond any grace.
            let t = i * 1_000 - if i % 11 == 0 { 95_000 } else { 0 };
            inserts.push_str(&format!(
                "INSERT INTO s (ROWTIME, k, c, a, b, l) VALUES ({t}, {k}, {c}, {a}, {b}, {i});\n"
            ));
        }
        engine.execute(&inserts, &mut session).await.unwrap();
        for sql in [
            "SELECT k, COUNT(*), COUNT(a), SUM(a), SUM(b), SUM(l), AVG(a), AVG(b), MIN(a), MAX(b), MIN(l) FROM s GROUP BY k EMIT CHANGES;",
            "SELECT k, c, COUNT(*), MAX(a) FROM s GROUP BY k, c EMIT CHANGES;",
            "SELECT k, c, LATEST_BY_OFFSET(l), EARLIEST_BY_OFFSET(a), LATEST_BY_OFFSET(b) FROM s GROUP BY k, c EMIT CHANGES;",
            "SELECT c, COUNT(*), LATEST_BY_OFFSET(a), EARLIEST_BY_OFFSET(b) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY c EMIT CHANGES;",
            "SELECT k, COUNT(*), SUM(b) FROM s WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY k EMIT CHANGES;",
            "SELECT c, COUNT(*), AVG(l) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS, RETENTION 60 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY c EMIT CHANGES;",
            "SELECT k, COUNT(*), SUM(b), MAX(a) FROM s WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY k EMIT FINAL;",
            "SELECT c, COUNT(*), AVG(l) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY c EMIT FINAL;",
            "SELECT k, c, COUNT(*) FROM s WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS, RETENTION 30 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k, c EMIT FINAL;",
        ] {
            let (agg, _, batches) = engine.decoded_aggregation("S", sql).await.unwrap();
            // One record per batch as well as whole batches.
            let singles: Vec<RecordBatch> = batches
                .iter()
                .flat_map(|b| (0..b.num_rows()).map(|i| b.slice(i, 1)))
                .collect();
            for input in [&batches, &singles] {
                for latest in [false, true] {
                    let mut fast = Aggregator::new(Arc::clone(&agg));
                    assert!(fast.is_vectorised(), "{sql}");
                    let mut rows = Aggregator::row_by_row(Arc::clone(&agg));
                    let a = run(&mut fast, input, latest);
                    let b = run(&mut rows, input, latest);
                    for (x, y) in a.iter().zip(&b) {
                        assert_eq!(x.batch, y.batch, "{sql}");
                        assert_eq!(x.offsets, y.offsets, "{sql}");
                        assert_eq!(x.deleted, y.deleted, "{sql}");
                    }
                    let emitted: usize = a.iter().map(|u| u.len()).sum();
                    let expected: usize = b.iter().map(|u| u.len()).sum();
                    assert_eq!(emitted, expected, "{sql}");
                    // EMIT FINAL over whole batches releases only the windows still retained.
                    let floor = match (sql.contains("EMIT FINAL"), input.len() > 100) {
                        (true, false) => 0,
                        (true, true) => 20,
                        (false, _) => 50,
                    };
                    assert!(latest || emitted > floor, "{sql}: {emitted} updates");
                    if sql.contains("WINDOW") {
                        assert!(fast.late() > 0, "{sql}: no late records");
                    }
                    assert_eq!(fast.len(), rows.len(), "{sql}");
                    assert_eq!(fast.late(), rows.late(), "{sql}");
                    let dirty = unstamped(rows.take_dirty().unwrap());
                    assert_eq!(
                        sorted(unstamped(fast.take_dirty().unwrap())),
                        sorted(dirty.clone()),
                        "{sql}"
                    );
                    // The changelog records, written directly, are those states' JSON text.
                    let want = sorted(
                        dirty
                            .iter()
                            .map(|((key, window), state)| {
                                let g: Vec<_> = key.iter().map(crate::value::to_json).collect();
                                let w = window.map(|(s, e)| serde_json::json!([s, e]));
                                let k = serde_json::json!({"g": g, "w": w}).to_string();
                                (k, state.as_ref().map(|s| s.to_string()))
                            })
                            .collect(),
                    );
                    for mut other in [
                        Aggregator::new(Arc::clone(&agg)),
                        Aggregator::row_by_row(Arc::clone(&agg)),
                    ] {
                        run(&mut other, input, latest);
                        assert_eq!(records_text(&mut other), want, "{sql}");
                    }
                    assert_eq!(
                        sorted(fast.all_updates().unwrap()),
                        sorted(rows.all_updates().unwrap()),
                        "{sql}"
                    );
                }
            }
            // A state written by one form restores into the other.
            let mut rows = Aggregator::row_by_row(Arc::clone(&agg));
            run(&mut rows, &batches, false);
            let mut fast = Aggregator::new(Arc::clone(&agg));
            for ((key, window), state) in rows.take_dirty().unwrap() {
                match state {
                    Some(s) => fast.restore(key, window, &s).unwrap(),
                    None => fast.remove(&key, window).unwrap(),
                }
            }
            assert_eq!(
                sorted(fast.all_updates().unwrap()),
                sorted(rows.all_updates().unwrap()),
                "{sql}"
            );
            // Records after the restore find the restored groups.
            let again = sql.replace("EMIT FINAL", "EMIT CHANGES");
            if again == sql {
                let a = run(&mut fast, &batches, false);
                let b = run(&mut rows, &batches, false);
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(x.batch, y.batch, "{sql}: after a restore");
                }
                assert_eq!(fast.len(), rows.len(), "{sql}: after a restore");
            }
        }
    }
}
