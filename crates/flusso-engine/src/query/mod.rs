//! Running queries. A persistent query reads its source's partitions from the positions it
//! committed, decodes records into Arrow batches ([`scan`]), applies the plan's filter and
//! projections (DataFusion physical expressions) and writes the rows to its sink ([`sink`]).
//!
//! Changelog semantics of the stateless operator: on a stream, a row failing `WHERE` is dropped
//! and a record with a null value passes through a plain projection as a null value (dropped by
//! any `WHERE`); on a table, a row failing `WHERE` or a tombstone becomes a tombstone of its key.

pub mod aggregate;
mod changelog;
mod columnar;
mod fast_json;
pub mod join;
pub mod join_ops;
pub mod join_stream;
pub mod join_table;
pub mod materialized;
pub use materialized::table_rows;
pub mod push;
pub mod scan;
pub mod sink;
pub mod stateful;
pub mod timestamp_format;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use flusso_sql::ast::SourceType;
use parking_lot::Mutex;

use crate::catalog::Source;
use crate::error::{EngineError, Result};
use crate::log_client::{InRecord, LogClient, OutRecord};
use crate::planner::select::SelectPlan;
use crate::processing_log::ProcessingLog;

/// Records read per partition per step.
const FETCH_BYTES: usize = 1 << 20;

/// How often a stateful query writes its changed state to its changelog while input flows.
const CHANGELOG_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// How often a stream-stream join writes its window stores (whole) to its changelog, caught up
/// or not (a clean stop writes them too; after a crash at most this much input is read again).
const JOIN_CHANGELOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Counters of one query.
#[derive(Debug, Default)]
pub struct QueryStats {
    /// Records read.
    pub records_in: AtomicU64,
    /// Records written.
    pub records_out: AtomicU64,
    /// Records skipped because they failed to decode or evaluate.
    pub errors: AtomicU64,
    /// Changelog records written (state changes, tombstones and positions).
    pub changelog_out: AtomicU64,
    /// Changelog records read while restoring state.
    pub restored: AtomicU64,
    /// Records dropped because their window had closed (stream time past its end and grace).
    pub late: AtomicU64,
    /// Milliseconds the restore of the state from the changelog took.
    pub restore_state_ms: AtomicU64,
    /// Milliseconds the rebuild of the table's rows (for pull queries) took.
    pub restore_rows_ms: AtomicU64,
}

/// A persistent query: `CREATE STREAM ... AS SELECT`, `INSERT INTO ... SELECT`.
pub struct PersistentQuery {
    /// Query id.
    pub id: String,
    /// Its statement.
    pub sql: String,
    /// The plan.
    pub plan: SelectPlan,
    /// The sink.
    pub sink: Arc<Source>,
    /// The sink topic's partitions.
    pub sink_partitions: i32,
    /// Partitions of the source topic and the next offset to read in each.
    positions: Mutex<BTreeMap<i32, i64>>,
    /// Set by PAUSE.
    pub paused: AtomicBool,
    /// Set by TERMINATE.
    pub terminated: AtomicBool,
    /// Counters.
    pub stats: QueryStats,
    log: Arc<dyn LogClient>,
    processing_log: ProcessingLog,
    /// Serialises steps.
    step_lock: tokio::sync::Mutex<()>,
    /// The direct JSON writer, when the sink qualifies.
    fast_json: Option<fast_json::FastJson>,
    /// The aggregation's state, for `GROUP BY` queries.
    aggregator: Option<Mutex<aggregate::Aggregator>>,
    /// The join's state, for queries with `JOIN`s.
    joiner: Option<Mutex<join::JoinRuntime>>,
    /// The sink table's current rows (table sinks), for pull queries.
    pub materialized: Option<Arc<materialized::Materialized>>,
    /// Caching on (`cache.max.bytes.buffering` > 0): an aggregation emits only the latest
    /// update of each group per step.
    pub buffered: bool,
    /// When the changelog was last written.
    changelog_written: Mutex<std::time::Instant>,
    /// A stateful query's positions as of its state in the changelog: what it may commit.
    checkpointed: Mutex<Option<BTreeMap<i32, i64>>>,
    /// Per join step: how many parts of its state the changelog holds.
    join_parts: Mutex<std::collections::HashMap<usize, usize>>,
}

impl PersistentQuery {
    /// The plan as text, for EXPLAIN: source, filter, key and value expressions, sink.
    pub fn describe_plan(&self) -> String {
        let p = &self.plan;
        let mut out = format!(
            " > [ SINK ] | topic: {} | partitions: {}\n",
            self.sink.topic, self.sink_partitions
        );
        let cols = |cs: &[crate::planner::select::OutColumn]| {
            cs.iter()
                .map(|c| format!("{} := {}", c.name, c.expr))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "\t\t > [ PROJECT ] | keys: [{}] | values: [{}]\n",
            cols(&p.keys),
            cols(&p.values)
        ));
        if let Some(f) = &p.filter {
            out.push_str(&format!("\t\t\t\t > [ FILTER ] | {f}\n"));
        }
        out.push_str(&format!(
            "\t\t\t\t\t\t > [ SOURCE ] | {} | topic: {}\n",
            p.source.name, p.source.topic
        ));
        out
    }

    /// A query starting from `positions` (the committed offsets, or the start of each partition).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        sql: String,
        plan: SelectPlan,
        sink: Arc<Source>,
        sink_partitions: i32,
        positions: BTreeMap<i32, i64>,
        log: Arc<dyn LogClient>,
        processing_log: ProcessingLog,
    ) -> PersistentQuery {
        let plan_for_fast = plan.clone();
        let sink_for_fast = Arc::clone(&sink);
        PersistentQuery {
            id,
            sql,
            plan,
            sink,
            sink_partitions,
            positions: Mutex::new(positions),
            paused: AtomicBool::new(false),
            terminated: AtomicBool::new(false),
            stats: QueryStats::default(),
            log,
            processing_log,
            step_lock: tokio::sync::Mutex::new(()),
            fast_json: match sink_for_fast.source_type {
                SourceType::Stream => fast_json::FastJson::new(&plan_for_fast, &sink_for_fast),
                SourceType::Table => None,
            },
            aggregator: plan_for_fast
                .aggregate
                .clone()
                .map(|a| Mutex::new(aggregate::Aggregator::new(a))),
            joiner: plan_for_fast
                .join
                .clone()
                .and_then(|j| join::JoinRuntime::new(j).ok().map(Mutex::new)),
            materialized: (sink_for_fast.source_type == SourceType::Table)
                .then(|| Arc::new(materialized::Materialized::new())),
            buffered: false,
            changelog_written: Mutex::new(std::time::Instant::now()),
            checkpointed: Mutex::new(None),
            join_parts: Mutex::new(Default::default()),
        }
    }

    /// The consumer group the query commits its offsets under.
    pub fn group(&self) -> String {
        format!("_flusso_query_{}", self.id)
    }

    /// The source topic and the next offset per partition.
    pub fn positions(&self) -> Vec<(String, i32, i64)> {
        self.positions
            .lock()
            .iter()
            .map(|(s, o)| {
                let (topic, p) = self.plan.slot_topic(*s);
                (topic.to_string(), p, *o)
            })
            .collect()
    }

    /// Stops the query's task between two steps, then writes its pending state to the changelog
    /// and commits its positions: a clean stop, after which a restart continues exactly.
    pub async fn stop(&self, task: tokio::task::JoinHandle<()>) -> Result<()> {
        let _guard = self.step_lock.lock().await;
        task.abort();
        let _ = task.await;
        self.write_changelog().await?;
        self.commit().await
    }

    /// Commits the current positions.
    pub async fn commit(&self) -> Result<()> {
        if self.aggregator.is_none() && self.joiner.is_none() {
            let positions = self.positions();
            return self.log.commit(&self.group(), &positions).await;
        }
        // A stateful query commits no further than its state in the changelog reflects:
        // otherwise a crash before the next changelog write would skip records whose effect on
        // the state was lost.
        let Some(checkpointed) = self.checkpointed.lock().clone() else {
            return Ok(());
        };
        let positions: Vec<(String, i32, i64)> = checkpointed
            .iter()
            .map(|(s, o)| {
                let (topic, p) = self.plan.slot_topic(*s);
                (topic.to_string(), p, *o)
            })
            .collect();
        self.log.commit(&self.group(), &positions).await
    }

    /// Reads what is available once from every partition and processes it; returns how many
    /// records were read.
    pub async fn step(&self) -> Result<usize> {
        if self.paused.load(Ordering::Relaxed) || self.terminated.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let _guard = self.step_lock.lock().await;
        let mut partitions: Vec<(i32, i64)> = self
            .positions
            .lock()
            .iter()
            .map(|(p, o)| (*p, *o))
            .collect();
        if let Some(joiner) = &self.joiner {
            // Within equal timestamps a join reads its table inputs first: a stream record then
            // meets the table as it is, also right after a restart, when the tables are read
            // again from their start.
            let tables = joiner.lock().table_inputs();
            partitions.sort_by_key(|(s, _)| !tables.contains(&join::unslot(*s).0));
        }
        let mut total = 0;
        if self.joiner.is_some() {
            total = self.step_join(partitions).await?;
            partitions = Vec::new();
        }
        for (slot, offset) in partitions {
            let Some((last, records)) = self.fetch_slot(slot, offset).await? else {
                continue;
            };
            total += records.len();
            let out = self.process(slot, &records).await?;
            self.produce_out(out).await?;
            self.positions.lock().insert(slot, last + 1);
        }
        // State goes to the changelog at most every CHANGELOG_INTERVAL while input flows, and
        // whenever the query has caught up (changes to one group in between are written once).
        let windowed_join = self
            .joiner
            .as_ref()
            .is_some_and(|j| j.lock().has_window_stores());
        let due = if windowed_join {
            self.changelog_written.lock().elapsed() >= JOIN_CHANGELOG_INTERVAL
        } else {
            total == 0 || self.changelog_written.lock().elapsed() >= CHANGELOG_INTERVAL
        };
        if due {
            self.write_changelog().await?;
            *self.changelog_written.lock() = std::time::Instant::now();
        }
        Ok(total)
    }

    /// Turns source records into sink records by partition; `slot` is the position-map entry
    /// they were read from.
    async fn process(
        &self,
        slot: i32,
        records: &[InRecord],
    ) -> Result<BTreeMap<i32, Vec<OutRecord>>> {
        let decoded = self.decode(slot, records).await?;
        self.process_decoded(slot, records, decoded).await
    }

    /// Decodes records read from `slot`; those that do not decode go to the processing log.
    async fn decode(&self, slot: i32, records: &[InRecord]) -> Result<scan::Decoded> {
        let plan = &self.plan;
        let (topic, partition) = plan.slot_topic(slot);
        let (source, scan_schema) = plan.slot_source(slot);
        let decoded = scan::decode(source, scan_schema, partition, records)
            .map_err(EngineError::Execution)?;
        for e in &decoded.errors {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            self.processing_log
                .deserialization_error(&self.id, topic, partition, e)
                .await;
        }
        Ok(decoded)
    }

    /// Reads once from a position-map entry: the last offset read and the records, `None`
    /// when there is nothing new.
    async fn fetch_slot(&self, slot: i32, offset: i64) -> Result<Option<(i64, Vec<InRecord>)>> {
        let (topic, partition) = self.plan.slot_topic(slot);
        let records = self
            .log
            .fetch(topic, partition, offset, FETCH_BYTES)
            .await?;
        let Some(last) = records.last().map(|r| r.offset) else {
            return Ok(None);
        };
        self.stats
            .records_in
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(Some((last, records)))
    }

    /// Appends sink records, by partition, and counts them.
    async fn produce_out(&self, out: BTreeMap<i32, Vec<OutRecord>>) -> Result<()> {
        for (p, recs) in out {
            self.stats
                .records_out
                .fetch_add(recs.len() as u64, Ordering::Relaxed);
            self.log.produce(&self.sink.topic, p, &recs).await?;
        }
        Ok(())
    }

    /// Reads what is available once from every input partition of a join and processes the
    /// records in timestamp order across them (the record with the smallest timestamp first,
    /// as Kafka Streams picks among its partitions); returns how many records were read.
    async fn step_join(&self, partitions: Vec<(i32, i64)>) -> Result<usize> {
        let mut total = 0;
        let mut inputs: Vec<(i32, i64, scan::Decoded)> = Vec::new();
        for (slot, offset) in partitions {
            let Some((last, records)) = self.fetch_slot(slot, offset).await? else {
                continue;
            };
            total += records.len();
            let decoded = self.decode(slot, &records).await?;
            inputs.push((slot, last, decoded));
        }
        let lasts: Vec<(i32, i64)> = inputs.iter().map(|(s, l, _)| (*s, *l)).collect();
        self.process_join_inputs(inputs.into_iter().map(|(s, _, d)| (s, d)).collect())
            .await?;
        for (slot, last) in lasts {
            self.positions.lock().insert(slot, last + 1);
        }
        Ok(total)
    }

    /// Processes a join's decoded inputs in timestamp order across them.
    async fn process_join_inputs(&self, inputs: Vec<(i32, scan::Decoded)>) -> Result<()> {
        let times: Vec<Vec<i64>> = inputs
            .iter()
            .map(|(_, d)| join::row_times(&d.batch))
            .collect();
        for (i, start, end) in join::merge_runs(&times) {
            let (slot, decoded) = &inputs[i];
            let out = self
                .process_decoded(*slot, &[], decoded.slice(start, end))
                .await?;
            self.produce_out(out).await?;
        }
        Ok(())
    }

    /// The source a query reads from `topic` and its scan schema: the columns, in order, of a
    /// batch given to [`PersistentQuery::process_batches`]. `None` when it does not read `topic`.
    pub fn input(&self, topic: &str) -> Option<(Arc<Source>, SchemaRef)> {
        self.plan
            .inputs()
            .into_iter()
            .enumerate()
            .find_map(|(i, s)| {
                (s.topic == topic).then(|| {
                    let slot = match &self.plan.join {
                        Some(_) => join::slot(i, 0),
                        None => 0,
                    };
                    let (source, schema) = self.plan.slot_source(slot);
                    (Arc::clone(source), Arc::clone(schema))
                })
            })
    }

    /// Processes batches that did not come through the log, as if they had been read from
    /// `(topic, partition)`: an embedding program that makes its records itself hands them to
    /// the plan already decoded (the Nexmark runner's in-process path). Each batch has the scan
    /// schema [`PersistentQuery::input`] gives, pseudo columns included; none is a tombstone.
    /// The query's positions in the log do not move.
    pub async fn process_batches(&self, batches: &[(&str, i32, RecordBatch)]) -> Result<()> {
        let _guard = self.step_lock.lock().await;
        let slots: Vec<i32> = self.positions.lock().keys().copied().collect();
        let mut inputs = Vec::new();
        for (topic, partition, batch) in batches {
            for &slot in &slots {
                if self.plan.slot_topic(slot) != (*topic, *partition) {
                    continue;
                }
                let (_, schema) = self.plan.slot_source(slot);
                if batch.schema().fields() != schema.fields() {
                    return Err(EngineError::Execution(format!(
                        "a batch for {topic} does not have the scan schema {schema}"
                    )));
                }
                self.stats
                    .records_in
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                let rows = batch.num_rows();
                inputs.push((
                    slot,
                    scan::Decoded {
                        batch: batch.clone(),
                        tombstone: vec![false; rows],
                        errors: Vec::new(),
                    },
                ));
            }
        }
        if let Some(joiner) = &self.joiner {
            // Tables first within equal timestamps, as `step` reads them.
            let tables = joiner.lock().table_inputs();
            inputs.sort_by_key(|(s, _)| !tables.contains(&join::unslot(*s).0));
            return self.process_join_inputs(inputs).await;
        }
        for (slot, decoded) in inputs {
            let out = self.process_decoded(slot, &[], decoded).await?;
            self.produce_out(out).await?;
        }
        Ok(())
    }

    /// Turns a decoded batch read from `slot` into sink records by partition.
    async fn process_decoded(
        &self,
        slot: i32,
        records: &[InRecord],
        mut decoded: scan::Decoded,
    ) -> Result<BTreeMap<i32, Vec<OutRecord>>> {
        let plan = &self.plan;
        let (_, partition) = plan.slot_topic(slot);
        if let Some(joiner) = &self.joiner {
            let joined = joiner.lock().process(
                join::unslot(slot).0,
                partition,
                &decoded.batch,
                &decoded.tombstone,
            )?;
            decoded.batch = joined.batch;
            decoded.tombstone = joined.tombstone;
        }
        let mut out = BTreeMap::new();
        if decoded.batch.num_rows() == 0 {
            return Ok(out);
        }
        // Records keep their headers through the query, as Kafka Streams forwards them.
        let headers: HeaderMap = records
            .iter()
            .filter(|r| !r.headers.is_empty())
            .map(|r| {
                (
                    r.offset,
                    r.headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_ref().map(|b| b.to_vec())))
                        .collect(),
                )
            })
            .collect();
        let headers = &headers;
        if let Some(agg) = &plan.aggregate {
            self.process_aggregate(agg, partition, &decoded.batch, &decoded.tombstone, &mut out)
                .await?;
            return Ok(out);
        }
        match self.evaluate(
            &decoded.batch,
            &decoded.tombstone,
            partition,
            headers,
            &mut out,
        ) {
            Ok(()) => {}
            Err(_) if decoded.batch.num_rows() > 1 => {
                // Find the offending rows: evaluate one row at a time.
                for i in 0..decoded.batch.num_rows() {
                    let row = decoded.batch.slice(i, 1);
                    if let Err(e) = self.evaluate(
                        &row,
                        &decoded.tombstone[i..=i],
                        partition,
                        headers,
                        &mut out,
                    ) {
                        self.row_error(&row, partition, e).await;
                    }
                }
            }
            Err(e) => self.row_error(&decoded.batch, partition, e).await,
        }
        Ok(out)
    }

    async fn row_error(&self, row: &RecordBatch, partition: i32, e: EngineError) {
        self.record_error(partition, offset_of(row, 0), &e).await;
    }

    /// Counts an error of the record at `offset` and writes it to the processing log.
    async fn record_error(&self, partition: i32, offset: i64, e: &EngineError) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.processing_log
            .record_processing_error(
                &self.id,
                &self.plan.source.topic,
                partition,
                offset,
                &e.to_string(),
            )
            .await;
    }

    fn evaluate(
        &self,
        batch: &RecordBatch,
        tombstone: &[bool],
        partition: i32,
        headers: &HeaderMap,
        out: &mut BTreeMap<i32, Vec<OutRecord>>,
    ) -> Result<()> {
        if let Some(fast) = &self.fast_json {
            let projected = project_arrays(&self.plan, batch, tombstone)?;
            return fast_json::encode(
                fast,
                &self.sink,
                self.sink_partitions,
                &projected,
                partition,
                headers,
                out,
            );
        }
        let rows = project(&self.plan, batch, tombstone)?;
        // The sink's TIMESTAMP column: a value column, or a key column.
        let timestamp_col = self.sink.timestamp.as_ref().and_then(|(c, _)| {
            match self.plan.values.iter().position(|v| &v.name == c) {
                Some(i) => Some((false, i)),
                None => self
                    .plan
                    .keys
                    .iter()
                    .position(|k| &k.name == c)
                    .map(|i| (true, i)),
            }
        });
        let is_table = self.plan.output_type == SourceType::Table;
        let encoder =
            sink::RowEncoder::new(&self.sink, self.sink_partitions, self.plan.repartitioned);
        // A table join's row failing WHERE deletes the key's row only if it was shown (the
        // join hands its filter the old row, as Kafka Streams does).
        let join_filter = is_table && self.joiner.is_some() && self.plan.filter.is_some();
        for (i, row) in rows.into_iter().enumerate() {
            if is_table && row.key.len() == 1 && row.key[0].is_null() {
                continue;
            }
            if join_filter
                && row.value.is_none()
                && !tombstone.get(i).copied().unwrap_or(true)
                && !self
                    .materialized
                    .as_ref()
                    .is_some_and(|m| m.contains(&row.key, row.window))
            {
                continue;
            }
            let mut ts = row.timestamp;
            if let (Some((in_key, i)), Some(values)) = (timestamp_col, &row.value) {
                let format = self.sink.timestamp.as_ref().and_then(|(_, f)| f.as_deref());
                let cell = if in_key { &row.key[i] } else { &values[i] };
                match sink_timestamp(cell, format) {
                    Some(t) => ts = t,
                    // ksqlDB drops records whose event time is missing or invalid.
                    None => continue,
                }
            }
            if let Some(m) = &self.materialized {
                m.upsert(&row.key, row.window, row.value.as_deref(), ts);
            }
            let record_headers = headers.get(&row.offset).cloned().unwrap_or_default();
            encoder
                .encode_windowed(
                    &row.key,
                    row.window,
                    row.value.as_deref(),
                    ts,
                    partition,
                    record_headers,
                    out,
                )
                .map_err(EngineError::Execution)?;
        }
        Ok(())
    }
}

/// Headers of the records read, by offset (only records that have some).
pub type HeaderMap = std::collections::HashMap<i64, Vec<(String, Option<Vec<u8>>)>>;

/// The event time a sink's TIMESTAMP column gives: BIGINT or TIMESTAMP ms, or a STRING in the
/// TIMESTAMP_FORMAT; `None` when missing, negative or unparseable.
fn sink_timestamp(v: &ScalarValue, format: Option<&str>) -> Option<i64> {
    let t = match v {
        ScalarValue::Int64(Some(t)) | ScalarValue::TimestampMillisecond(Some(t), _) => *t,
        ScalarValue::Int32(Some(t)) => i64::from(*t),
        ScalarValue::Utf8(Some(s)) => timestamp_format::parse(s, format?).ok()?,
        _ => return None,
    };
    (t >= 0).then_some(t)
}

/// One output row of a stateless query.
#[derive(Debug, Clone)]
pub struct OutRow {
    /// Offset of the source record.
    pub offset: i64,
    /// Key columns.
    pub key: Vec<ScalarValue>,
    /// Value columns; `None` for a tombstone (table) or a null value (stream).
    pub value: Option<Vec<ScalarValue>>,
    /// The source record's event time.
    pub timestamp: i64,
    /// The window of a windowed source's key.
    pub window: Option<(i64, i64)>,
    /// A table's deleted row as the projection computes it (key columns kept, value columns
    /// null): what a push query shows for the tombstone.
    pub deleted: Option<Vec<ScalarValue>>,
}

/// A stateless plan applied to a batch, column-wise: key and value columns of the rows kept,
/// which of them have a value (the others are tombstones), and their event times.
pub struct Projected {
    /// Key columns.
    pub keys: Vec<ArrayRef>,
    /// Value columns.
    pub values: Vec<ArrayRef>,
    /// Per row: whether it has a value.
    pub pass: Vec<bool>,
    /// Per row: event time.
    pub rowtime: datafusion::arrow::array::Int64Array,
    /// Per row: the source record's offset.
    pub offsets: datafusion::arrow::array::Int64Array,
    /// Per row: the window of a windowed source's key (start, end).
    pub windows: Option<(
        datafusion::arrow::array::Int64Array,
        datafusion::arrow::array::Int64Array,
    )>,
}

/// Applies a stateless plan to a decoded batch: the filter, then the key and value projections.
pub fn project_arrays(
    plan: &SelectPlan,
    batch: &RecordBatch,
    tombstone: &[bool],
) -> Result<Projected> {
    let is_table = plan.output_type == SourceType::Table;
    let n = batch.num_rows();
    // Rows that produce a value.
    let pass = stateful::pass_mask(plan, batch, tombstone)?;
    // Streams without WHERE forward null values; tables turn non-passing rows into tombstones.
    let emit_tombstones = is_table || (plan.filter.is_none() && tombstone.iter().any(|t| *t));
    let (batch, pass): (RecordBatch, Vec<bool>) = if emit_tombstones {
        (batch.clone(), (0..n).map(|i| pass.value(i)).collect())
    } else {
        let filtered = filter_record_batch(batch, &pass)?;
        let m = filtered.num_rows();
        (filtered, vec![true; m])
    };
    let m = batch.num_rows();
    let eval = |cols: &[crate::planner::select::OutColumn]| -> Result<Vec<ArrayRef>> {
        cols.iter()
            .map(|c| Ok(c.expr.evaluate(&batch)?.into_array(m)?))
            .collect()
    };
    let mut keys = if plan.repartitioned && m == 1 {
        // A PARTITION BY expression that fails on a record gives it a null key (ksqlDB logs
        // the error and keeps the record); failing batches are retried one row at a time.
        plan.keys
            .iter()
            .map(
                |c| match c.expr.evaluate(&batch).and_then(|v| v.into_array(m)) {
                    Ok(a) => Ok(a),
                    Err(_) => Ok(datafusion::arrow::array::new_null_array(
                        &c.sql_type.to_arrow(),
                        m,
                    )),
                },
            )
            .collect::<Result<Vec<_>>>()?
    } else {
        eval(&plan.keys)?
    };
    if emit_tombstones && plan.keys.iter().any(|k| k.needs_value) {
        // Only the unfiltered batch still holds rows without a value.
        let tomb = BooleanArray::from(tombstone.to_vec());
        for (k, c) in keys.iter_mut().zip(&plan.keys) {
            if c.needs_value {
                *k = datafusion::arrow::compute::nullif(k, &tomb)?;
            }
        }
    }
    let values = eval(&plan.values)?;
    let rowtime = batch
        .column_by_name(crate::schema::ROWTIME)
        .and_then(|a| {
            a.as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
        })
        .cloned()
        .ok_or_else(|| EngineError::Internal("no ROWTIME".into()))?;
    let offsets = batch
        .column_by_name(crate::schema::ROWOFFSET)
        .and_then(|a| {
            a.as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
        })
        .cloned()
        .ok_or_else(|| EngineError::Internal("no ROWOFFSET".into()))?;
    let bound = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|a| {
                a.as_any()
                    .downcast_ref::<datafusion::arrow::array::Int64Array>()
            })
            .cloned()
    };
    let windows = match (
        bound(crate::schema::WINDOWSTART),
        bound(crate::schema::WINDOWEND),
    ) {
        (Some(s), Some(e)) if plan.source.window.is_some() => Some((s, e)),
        _ => None,
    };
    Ok(Projected {
        keys,
        values,
        pass,
        rowtime,
        offsets,
        windows,
    })
}

/// Applies a stateless plan to a decoded batch, row by row.
pub fn project(plan: &SelectPlan, batch: &RecordBatch, tombstone: &[bool]) -> Result<Vec<OutRow>> {
    let Projected {
        keys,
        values,
        pass,
        rowtime,
        offsets,
        windows,
    } = project_arrays(plan, batch, tombstone)?;
    let m = pass.len();
    let explode_columns: Vec<bool> = plan.values.iter().map(|c| c.explode).collect();
    let mut out = Vec::with_capacity(m);
    for (i, passed) in pass.iter().enumerate() {
        let key: Vec<ScalarValue> = keys
            .iter()
            .map(|a| sink::cell(a, i))
            .collect::<Result<_, _>>()
            .map_err(EngineError::Execution)?;
        let cells = |i: usize| {
            values
                .iter()
                .map(|a| sink::cell(a, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(EngineError::Execution)
        };
        let (value, deleted) = if *passed {
            (Some(cells(i)?), None)
        } else if plan.output_type == SourceType::Table {
            (None, cells(i).ok())
        } else {
            (None, None)
        };
        let timestamp = rowtime.value(i);
        let offset = offsets.value(i);
        let window = windows
            .as_ref()
            .and_then(|(s, e)| (s.is_valid(i) && e.is_valid(i)).then(|| (s.value(i), e.value(i))));
        match value {
            Some(v) if explode_columns.iter().any(|e| *e) => explode_row(
                &plan.values,
                &explode_columns,
                key,
                v,
                (timestamp, offset, window),
                &mut out,
            ),
            value => out.push(OutRow {
                offset,
                key,
                value,
                timestamp,
                window,
                deleted,
            }),
        }
    }
    Ok(out)
}

/// `EXPLODE`: one row per element of the longest exploded array, shorter ones padded with NULL;
/// no row when every exploded array is NULL or empty.
fn explode_row(
    columns: &[crate::planner::select::OutColumn],
    explode: &[bool],
    key: Vec<ScalarValue>,
    values: Vec<ScalarValue>,
    (timestamp, offset, window): (i64, i64, Option<(i64, i64)>),
    out: &mut Vec<OutRow>,
) {
    let lists: Vec<Option<Vec<ScalarValue>>> = values
        .iter()
        .zip(explode)
        .map(|(v, e)| {
            if *e {
                crate::value::list_items(v)
            } else {
                None
            }
        })
        .collect();
    let n = lists
        .iter()
        .map(|l| l.as_ref().map_or(0, |l| l.len()))
        .max()
        .unwrap_or(0);
    for j in 0..n {
        let row: Vec<ScalarValue> = values
            .iter()
            .zip(&lists)
            .zip(columns)
            .zip(explode)
            .map(|(((v, list), c), e)| {
                if *e {
                    list.as_ref()
                        .and_then(|l| l.get(j).cloned())
                        .unwrap_or_else(|| crate::value::null_of(&c.sql_type))
                } else {
                    v.clone()
                }
            })
            .collect();
        out.push(OutRow {
            offset,
            key: key.clone(),
            value: Some(row),
            timestamp,
            window,
            deleted: None,
        });
    }
}

fn offset_of(batch: &RecordBatch, row: usize) -> i64 {
    batch
        .column_by_name(crate::schema::ROWOFFSET)
        .and_then(|a| ScalarValue::try_from_array(a, row).ok())
        .and_then(|v| match v {
            ScalarValue::Int64(o) => o,
            _ => None,
        })
        .unwrap_or(-1)
}

/// Keeps `dyn Array` in scope for downcasts.
#[allow(unused)]
fn _array(a: &dyn Array) -> usize {
    a.len()
}
