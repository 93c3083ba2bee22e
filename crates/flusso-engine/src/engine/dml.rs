//! Persistent queries (`CREATE ... AS SELECT`, `INSERT INTO ... SELECT`) and `INSERT ... VALUES`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{DFSchema, ScalarValue};
use flusso_sql::ast::{CreateAsSelect, Expr as SqlExpr, Property, Query, SourceType};
use flusso_sql::StatementKind;

use super::ddl::{check_formats, check_key_type, formats_from, normalise_column};
use super::properties::{apply_format_props, Props};
use super::{Ctx, Engine, Session, StatementResult};
use crate::catalog::{QueryInfo, Source};
use crate::error::{EngineError, Result};
use crate::format::FormatKind;
use crate::log_client::OutRecord;
use crate::planner::aggregate::configure_functions;
use crate::planner::expr::{ExprTranslator, Scope};
use crate::planner::select::{plan_select, SelectPlan};
use crate::query::push::PushQuery;
use crate::query::sink::RowEncoder;
use crate::query::PersistentQuery;
use crate::schema::{Column, ColumnKind, LogicalSchema, ROWTIME};
use crate::types::SqlType;

type Outcome = (StatementResult, Option<BTreeMap<i32, i64>>);

impl Engine {
    fn source_of(&self, query: &Query) -> Result<Arc<Source>> {
        self.source(&query.from.name)
            .ok_or_else(|| EngineError::statement(format!("{} does not exist.", query.from.name)))
    }

    /// Plans a query: its source (a join's joined source) and plan.
    fn plan_query(
        &self,
        query: &Query,
        types: &std::collections::HashMap<String, SqlType>,
        sink_name: &str,
        persistent: bool,
    ) -> Result<(Arc<Source>, SelectPlan)> {
        if query.joins.is_empty() {
            let source = self.source_of(query)?;
            let plan = plan_select(query, Arc::clone(&source), types, sink_name, persistent)?;
            return Ok((source, plan));
        }
        let plan = crate::planner::join::plan_joined(
            query,
            &|n| self.source(n),
            types,
            sink_name,
            persistent,
        )?;
        Ok((Arc::clone(&plan.source), plan))
    }

    /// Where a new query starts in each source partition (for a join, in each input's
    /// partitions, tables from their beginning).
    async fn start_positions(
        &self,
        plan: &SelectPlan,
        ctx: &Ctx<'_>,
    ) -> Result<BTreeMap<i32, i64>> {
        if let Some(start) = &ctx.start {
            if !start.is_empty() {
                return Ok(start.clone());
            }
        }
        let earliest = ctx
            .prop(&self.inner.config, "auto.offset.reset")
            .map(|v| v.eq_ignore_ascii_case("earliest"))
            .unwrap_or(false);
        let mut out = BTreeMap::new();
        let joined = plan.join.is_some();
        for (i, source) in plan.inputs().iter().enumerate() {
            let partitions = self.inner.log.partitions(&source.topic).await?.unwrap_or(1);
            let from_start = earliest || (joined && source.source_type == SourceType::Table);
            for p in 0..partitions {
                let (start, end) = self.inner.log.offsets(&source.topic, p).await?;
                let slot = if joined {
                    crate::query::join::slot(i, p)
                } else {
                    p
                };
                out.insert(slot, if from_start { start } else { end });
            }
        }
        Ok(out)
    }

    /// Starts a planned query writing `sink`, resuming from committed offsets if any.
    async fn launch(
        &self,
        id: String,
        sql: &str,
        plan: SelectPlan,
        sink: Arc<Source>,
        ctx: &Ctx<'_>,
    ) -> Result<BTreeMap<i32, i64>> {
        let mut plan = plan;
        configure_functions(&mut plan, &|n| {
            ctx.prop(&self.inner.config, n).map(str::to_string)
        });
        let start = self.start_positions(&plan, ctx).await?;
        let mut positions = start.clone();
        for (topic, p, o) in self
            .inner
            .log
            .committed(&format!("_flusso_query_{id}"))
            .await?
        {
            let slots: Vec<i32> = positions
                .keys()
                .copied()
                .filter(|s| plan.slot_topic(*s) == (topic.as_str(), p))
                .collect();
            for s in slots {
                positions.insert(s, o);
            }
        }
        let sink_partitions = self.inner.log.partitions(&sink.topic).await?.unwrap_or(1);
        let source_names: Vec<String> = plan.inputs().iter().map(|s| s.name.clone()).collect();
        let mut q = PersistentQuery::new(
            id.clone(),
            sql.to_string(),
            plan,
            Arc::clone(&sink),
            sink_partitions,
            positions,
            Arc::clone(&self.inner.log),
            self.inner.processing_log.clone(),
        );
        // Caching on: an aggregation emits the latest update per group per step.
        q.buffered = [
            "ksql.streams.cache.max.bytes.buffering",
            "cache.max.bytes.buffering",
            "ksql.streams.statestore.cache.max.bytes",
            "statestore.cache.max.bytes",
        ]
        .iter()
        .find_map(|n| ctx.prop(&self.inner.config, n))
        .and_then(|v| v.parse::<i64>().ok())
        .is_some_and(|b| b > 0);
        let q = Arc::new(q);
        self.inner.catalog.write().queries.insert(
            id.clone(),
            QueryInfo {
                id: id.clone(),
                sql: sql.to_string(),
                sink: sink.name.clone(),
                sources: source_names,
            },
        );
        q.restore().await?;
        self.start_query(q);
        Ok(start)
    }

    fn next_query_id(&self, prefix: &str) -> String {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}_{n}")
    }

    pub(super) async fn create_as_select(
        &self,
        c: &CreateAsSelect,
        ctx: &Ctx<'_>,
    ) -> Result<Outcome> {
        let kind = match c.source_type {
            SourceType::Stream => "stream",
            SourceType::Table => "table",
        };
        if c.query.limit.is_some() {
            return Err(EngineError::statement(format!(
                "CREATE {} AS SELECT statements don't support LIMIT clause.",
                kind.to_uppercase()
            )));
        }
        if let Some(existing) = self.source(&c.name) {
            if c.if_not_exists {
                return Ok((
                    StatementResult::Message(format!("{} already exists", c.name)),
                    None,
                ));
            }
            if !c.or_replace || existing.is_source {
                return Err(EngineError::statement(format!(
                    "Cannot add {kind} '{}': A {} with the same name already exists",
                    c.name,
                    existing.kind_name().to_lowercase()
                )));
            }
            return Err(EngineError::statement(
                "CREATE OR REPLACE of a running query is not supported yet",
            ));
        }
        let types = self.inner.catalog.read().types.clone();
        let (source, mut plan) = self.plan_query(&c.query, &types, &c.name, true)?;
        if c.source_type == SourceType::Table && plan.output_type == SourceType::Stream {
            return Err(EngineError::statement(
                "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.",
            ));
        }
        if c.source_type == SourceType::Stream && plan.output_type == SourceType::Table {
            return Err(EngineError::statement(
                "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
            ));
        }
        let new_planner = ctx
            .properties
            .get("ksql.new.query.planner.enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if new_planner {
            plan.keys_in_projection_order();
        }
        let props = Props::new(&c.properties)?;
        let mut columns = Vec::new();
        for k in &plan.keys {
            check_key_type(&k.name, &k.sql_type)?;
            columns.push(Column {
                name: k.name.clone(),
                sql_type: k.sql_type.clone(),
                kind: ColumnKind::Key,
            });
        }
        for v in &plan.values {
            columns.push(Column {
                name: v.name.clone(),
                sql_type: v.sql_type.clone(),
                kind: ColumnKind::Value,
            });
        }
        let schema = LogicalSchema { columns };
        let has_key = !plan.keys.is_empty();
        let (key_name, value_name) = props.formats()?;
        for name in [&key_name, &value_name].into_iter().flatten() {
            FormatKind::parse(name)?;
        }
        let explicit_key = props.string("KEY_FORMAT");
        if !has_key
            && explicit_key
                .as_deref()
                .is_some_and(|k| !k.eq_ignore_ascii_case("NONE"))
        {
            return Err(EngineError::statement(
                "Key format specified for stream without key columns.",
            ));
        }
        let (mut key_format, mut value_format) = formats_from(
            &props,
            &self.inner.config,
            ctx.properties,
            Some((&source.key_format, &source.value_format)),
            has_key,
        )?;
        if has_key && key_format.kind == FormatKind::None && explicit_key.is_none() {
            key_format = crate::format::Format::new(FormatKind::Kafka);
        }
        if props.formats()?.1.is_none() && value_format.kind == FormatKind::Delimited {
            value_format.delimiter = source.value_format.delimiter;
        }
        let default_wrap = ctx
            .prop(&self.inner.config, "ksql.persistence.wrap.single.values")
            .and_then(|v| v.parse::<bool>().ok());
        apply_format_props(
            &props,
            &mut key_format,
            &mut value_format,
            schema.value().len(),
            default_wrap,
        )?;
        if let Some(agg) = &plan.aggregate {
            let simple = matches!(value_format.kind, FormatKind::Delimited | FormatKind::Kafka);
            let complex = agg
                .calls
                .iter()
                .any(|c| c.function.intermediate_is_nested());
            if simple && complex {
                return Err(EngineError::statement(
                    "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
                ));
            }
        }
        check_formats(&key_format, &value_format, &schema).map_err(|e| match e {
            // ksqlDB adds the statement, as it prints it, to a key format's refusal.
            EngineError::Statement(m) if m.starts_with("Key format does not support schema") => {
                match crate::planner::statement_text::ksql_statement_text(c) {
                    Some(text) => EngineError::Statement(format!("{m}\nStatement: {text}")),
                    None => EngineError::Statement(m),
                }
            }
            other => other,
        })?;
        let prefix = ctx
            .prop(&self.inner.config, "ksql.output.topic.name.prefix")
            .unwrap_or("")
            .to_string();
        let topic = props
            .string("KAFKA_TOPIC")
            .unwrap_or_else(|| format!("{prefix}{}", c.name));
        let timestamp = match props.string("TIMESTAMP") {
            Some(col) => {
                let col = normalise_column(&col);
                if schema.column(&col).is_none() {
                    return Err(EngineError::statement(format!(
                        "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{col}'"
                    )));
                }
                Some((col, props.string("TIMESTAMP_FORMAT")))
            }
            None => None,
        };
        // The sink topic.
        let partitions = match props.int("PARTITIONS")? {
            Some(p) => p as i32,
            None => match ctx.prop(&self.inner.config, "ksql.sink.partitions") {
                Some(p) => p.parse().unwrap_or(1),
                None => self.inner.log.partitions(&source.topic).await?.unwrap_or(1),
            },
        };
        match self.inner.log.partitions(&topic).await? {
            Some(existing) if props.has("PARTITIONS") && existing != partitions => {
                return Err(EngineError::statement(format!(
                    "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {partitions} partitions (topic has {existing})."
                )));
            }
            Some(_) => {}
            None => {
                self.inner
                    .log
                    .create_topic(&topic, partitions, c.source_type == SourceType::Table)
                    .await?;
            }
        }
        let id = self.next_query_id(match c.source_type {
            SourceType::Stream => "CSAS",
            SourceType::Table => "CTAS",
        });
        let id = format!("{}_{}_{}", &id[..4], c.name, &id[5..]);
        let sink = Arc::new(Source {
            name: c.name.clone(),
            source_type: c.source_type,
            schema,
            topic,
            key_format,
            value_format,
            timestamp,
            is_source: false,
            window: match &plan.aggregate {
                Some(a) => a.window.map(|w| w.info()),
                None => source.window,
            },
            sql: ctx.text.to_string(),
            written_by: Some(id.clone()),
        });
        self.inner
            .catalog
            .write()
            .sources
            .insert(c.name.clone(), Arc::clone(&sink));
        let start = self.launch(id.clone(), ctx.text, plan, sink, ctx).await?;
        Ok((
            StatementResult::QueryCreated {
                query_id: id,
                sink: c.name.clone(),
            },
            Some(start),
        ))
    }

    pub(super) async fn insert_into(
        &self,
        target: &str,
        properties: &[Property],
        query: &Query,
        ctx: &Ctx<'_>,
    ) -> Result<Outcome> {
        let _ = Props::new(properties)?;
        let sink = self
            .source(target)
            .ok_or_else(|| EngineError::statement(format!("{target} does not exist.")))?;
        if sink.source_type == SourceType::Table {
            return Err(EngineError::statement(format!(
                "INSERT INTO can only be used to insert into a stream. {target} is a table."
            )));
        }
        if sink.is_source {
            return Err(EngineError::statement(format!(
                "Cannot insert into read-only stream: {target}"
            )));
        }
        let types = self.inner.catalog.read().types.clone();
        let (source, plan) = self.plan_query(query, &types, target, true)?;
        if source.source_type == SourceType::Table {
            return Err(EngineError::statement(format!(
                "INSERT INTO can only be used to insert from a stream. {} is a table.",
                source.name
            )));
        }
        let result: Vec<(String, SqlType, bool)> = plan
            .keys
            .iter()
            .map(|k| (k.name.clone(), k.sql_type.clone(), true))
            .chain(
                plan.values
                    .iter()
                    .map(|v| (v.name.clone(), v.sql_type.clone(), false)),
            )
            .collect();
        let expected: Vec<(String, SqlType, bool)> = sink
            .schema
            .ordered()
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.sql_type.clone(),
                    c.kind == ColumnKind::Key,
                )
            })
            .collect();
        if result != expected {
            let show = |cols: &[(String, SqlType, bool)]| {
                cols.iter()
                    .map(|(n, t, k)| format!("`{n}` {t}{}", if *k { " KEY" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(EngineError::statement(format!(
                "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                show(&result),
                show(&expected)
            )));
        }
        let id = format!(
            "INSERTQUERY_{}",
            self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1
        );
        let start = self
            .launch(id.clone(), ctx.text, plan, Arc::clone(&sink), ctx)
            .await?;
        Ok((
            StatementResult::QueryCreated {
                query_id: id,
                sink: target.to_string(),
            },
            Some(start),
        ))
    }

    /// The stream or table `INSERT ... VALUES` and `/inserts-stream` may write to.
    fn insertable(&self, target: &str) -> Result<Arc<Source>> {
        let sink = self.source(target).ok_or_else(|| {
            EngineError::statement(format!(
                "Cannot insert values into an unknown stream/table: `{target}`"
            ))
        })?;
        if sink.is_source {
            return Err(EngineError::statement(format!(
                "Cannot insert values into read-only {}: {target}",
                sink.kind_name().to_lowercase()
            )));
        }
        Ok(sink)
    }

    pub(super) async fn insert_values(
        &self,
        target: &str,
        columns: &[String],
        values: &[SqlExpr],
        _ctx: &Ctx<'_>,
    ) -> Result<StatementResult> {
        let sink = self.insertable(target)?;
        let all: Vec<&Column> = sink.schema.ordered();
        let names: Vec<String> = if columns.is_empty() {
            all.iter()
                .filter(|c| !matches!(c.kind, ColumnKind::Header(_)))
                .map(|c| c.name.clone())
                .collect()
        } else {
            columns.to_vec()
        };
        if !columns.is_empty() && names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Failed to prepare statement: Expected number columns and values to match: {}, {}",
                names.len(),
                values.len()
            )));
        }
        for name in &names {
            if matches!(
                name.as_str(),
                "ROWPARTITION" | "ROWOFFSET" | "WINDOWSTART" | "WINDOWEND"
            ) {
                return Err(EngineError::statement(format!(
                    "Inserting into column `{name}` is not allowed."
                )));
            }
        }
        if names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Expected a value for each column. Expected Columns: [{}]. Got [{}]",
                names.join(", "),
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let empty = Arc::new(Schema::empty());
        let df = DFSchema::try_from(empty.as_ref().clone())?;
        let scope = Scope::default();
        let types = self.inner.catalog.read().types.clone();
        let tr = ExprTranslator {
            scope: &scope,
            schema: &df,
            types: &types,
            clause: "VALUES",
            lambdas: Default::default(),
        };
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&empty),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let mut cells: BTreeMap<String, ScalarValue> = BTreeMap::new();
        let mut timestamp = flusso_common::now_ms();
        for (name, e) in names.iter().zip(values) {
            let logical = tr.translate(e)?;
            if name == ROWTIME {
                let p = crate::planner::physical(
                    datafusion::logical_expr::cast(
                        logical,
                        datafusion::arrow::datatypes::DataType::Int64,
                    ),
                    &empty,
                )?;
                if let ScalarValue::Int64(Some(t)) =
                    ScalarValue::try_from_array(&p.evaluate(&batch)?.into_array(1)?, 0)?
                {
                    timestamp = t;
                }
                continue;
            }
            let column = sink.schema.column(name).ok_or_else(|| {
                EngineError::statement(format!("Column name {name} does not exist."))
            })?;
            if matches!(column.kind, ColumnKind::Header(_)) {
                return Err(EngineError::statement(format!(
                    "Cannot insert into HEADER columns: {name}"
                )));
            }
            let casted = tr.cast_to(logical, &column.sql_type)?;
            let p = crate::planner::physical(casted, &empty)?;
            let v = ScalarValue::try_from_array(&p.evaluate(&batch)?.into_array(1)?, 0)?;
            cells.insert(name.clone(), v);
        }
        let pick = |cols: Vec<(String, SqlType)>| -> Vec<ScalarValue> {
            cols.iter()
                .map(|(n, t)| {
                    cells
                        .get(n)
                        .cloned()
                        .unwrap_or_else(|| crate::value::null_of(t))
                })
                .collect()
        };
        let key = pick(sink.key_columns());
        let value = pick(sink.value_columns());
        self.write_row(&sink, &key, &value, timestamp).await?;
        Ok(StatementResult::Message("Inserted".into()))
    }

    /// Encodes one row with the sink's formats and appends it to its topic.
    async fn write_row(
        &self,
        sink: &Source,
        key: &[ScalarValue],
        value: &[ScalarValue],
        timestamp: i64,
    ) -> Result<()> {
        let partitions = self.inner.log.partitions(&sink.topic).await?.unwrap_or(1);
        let encoder = RowEncoder::new(sink, partitions, true);
        let mut out = BTreeMap::new();
        encoder
            .encode(key, Some(value), timestamp, 0, vec![], &mut out)
            .map_err(EngineError::Execution)?;
        for (p, records) in out {
            let records: Vec<OutRecord> = records;
            self.inner.log.produce(&sink.topic, p, &records).await?;
        }
        Ok(())
    }

    /// Inserts one row given as a JSON object (`/inserts-stream`): column names match
    /// case-insensitively, missing columns are null, `ROWTIME` sets the record's time.
    pub async fn insert_json(
        &self,
        target: &str,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        self.insert_json_rows(target, &[row])
            .await?
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Inserts rows given as JSON objects, appending them together (one append per partition).
    /// The outer error refuses the whole call (an unknown target, a failed append); the inner
    /// results say, row by row, whether each row could be encoded.
    pub async fn insert_json_rows(
        &self,
        target: &str,
        rows: &[&serde_json::Map<String, serde_json::Value>],
    ) -> Result<Vec<Result<()>>> {
        let sink = self.insertable(target)?;
        let partitions = self.inner.log.partitions(&sink.topic).await?.unwrap_or(1);
        let encoder = RowEncoder::new(&sink, partitions, true);
        let (key_columns, value_columns) = (sink.key_columns(), sink.value_columns());
        let mut out = BTreeMap::new();
        let mut results = Vec::with_capacity(rows.len());
        for row in rows {
            let encoded = (|| -> Result<()> {
                for name in row.keys() {
                    let known = name.eq_ignore_ascii_case(ROWTIME)
                        || sink
                            .schema
                            .columns
                            .iter()
                            .any(|c| c.name.eq_ignore_ascii_case(name));
                    if !known {
                        return Err(EngineError::statement(format!(
                            "Column name {} does not exist.",
                            name.to_uppercase()
                        )));
                    }
                }
                let cell = |(n, t): &(String, SqlType)| -> Result<ScalarValue> {
                    match crate::value::lookup_field(row, n) {
                        None | Some(serde_json::Value::Null) => Ok(crate::value::null_of(t)),
                        Some(j) => crate::value::from_json(j, t).map_err(|e| {
                            EngineError::statement(format!(
                                "Failed to convert value for column {n}: {e}"
                            ))
                        }),
                    }
                };
                let key = key_columns.iter().map(cell).collect::<Result<Vec<_>>>()?;
                let value = value_columns.iter().map(cell).collect::<Result<Vec<_>>>()?;
                let timestamp = crate::value::lookup_field(row, ROWTIME)
                    .and_then(|t| t.as_i64())
                    .unwrap_or_else(flusso_common::now_ms);
                encoder
                    .encode(&key, Some(&value), timestamp, 0, vec![], &mut out)
                    .map_err(EngineError::Execution)
            })();
            results.push(encoded);
        }
        for (p, records) in out {
            let records: Vec<OutRecord> = records;
            self.inner.log.produce(&sink.topic, p, &records).await?;
        }
        Ok(results)
    }

    /// Starts a transient push query (`SELECT ... EMIT CHANGES [LIMIT n]`). It reads from the
    /// end of the source unless `auto.offset.reset` is `earliest`.
    pub async fn push_query(&self, sql: &str, session: &Session) -> Result<PushQuery> {
        let statements = flusso_sql::parse(sql)?;
        let (statement, query) = single_query(&statements)?;
        if query.emit.is_none() {
            return Err(EngineError::statement(
                "a push query needs EMIT CHANGES (without it, it is a pull query)",
            ));
        }
        let types = self.inner.catalog.read().types.clone();
        let (source, mut plan) = self.plan_query(query, &types, "transient", false)?;
        let ctx = Ctx {
            text: &statement.text,
            properties: &session.properties,
            start: None,
        };
        configure_functions(&mut plan, &|n| {
            ctx.prop(&self.inner.config, n).map(str::to_string)
        });
        let positions = self.start_positions(&plan, &ctx).await?;
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        // A query asked to read only new records is what ksqlDB calls a scalable push query.
        let latest_only = session
            .properties
            .get("auto.offset.reset")
            .is_some_and(|v| v.eq_ignore_ascii_case("latest"));
        let id = if latest_only {
            format!("SCALABLE_PUSH_QUERY_{n}")
        } else {
            format!("transient_{}_{n}", source.name)
        };
        Ok(PushQuery::start(
            id,
            plan,
            positions,
            Arc::clone(&self.inner.log),
            self.inner.processing_log.clone(),
        ))
    }
}

/// The one SELECT of a query's text.
pub(super) fn single_query(
    statements: &[flusso_sql::Statement],
) -> Result<(&flusso_sql::Statement, &Query)> {
    let [statement] = statements else {
        return Err(EngineError::statement(
            "expected exactly one SELECT statement",
        ));
    };
    let StatementKind::Query(query) = &statement.kind else {
        return Err(EngineError::statement("expected a SELECT statement"));
    };
    Ok((statement, query))
}
