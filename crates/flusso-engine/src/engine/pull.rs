//! Pull queries: `SELECT ... FROM table [WHERE ...] [LIMIT n];` answered from the table's
//! current rows, which the query writing the table keeps ([`crate::query::materialized`]).
//!
//! The rows become one Arrow batch in the table's scan schema and go through the same filter and
//! projection as any query, so WHERE may test any column. A WHERE that pins the key
//! (`K = v`, `K IN (...)`) is answered by key lookups instead of a scan. A source table
//! (`CREATE SOURCE TABLE`) and a stream are read from their topic, bounded by its current end.
//!
//! `SELECT * FROM table WHERE key = literal;`, the commonest, is recognized without parsing
//! ([`flusso_sql::lookup`]) and answered by one hash probe, without planning
//! ([`Engine::pull_key_lookup`]). Joins between tables and aggregations over tables go beyond
//! ksqlDB: DataFusion runs them over the tables' current rows (`pull/relational.rs`).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use flusso_sql::ast::{Query, SourceType};
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr, Value};

mod relational;

use super::{Engine, Session};
use crate::catalog::Source;
use crate::error::{EngineError, Result};
use crate::planner::select::plan_select;
use crate::query::materialized::MatRow;
use crate::query::push::Row;
use crate::query::{project, scan};
use crate::schema::{ROWOFFSET, ROWPARTITION, WINDOWEND, WINDOWSTART};
use crate::types::SqlType;

/// The answer to a pull query.
#[derive(Debug)]
pub struct PullResult {
    /// Query id.
    pub id: String,
    /// Output columns: name, type, whether it is a key.
    pub columns: Vec<(String, SqlType, bool)>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The message a stream's bounded scan ends with ("Query Completed", "Limit Reached").
    pub final_message: Option<&'static str>,
}

const MORE_INFO: &str = " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

fn refuse(what: &str) -> EngineError {
    EngineError::statement(format!("Pull queries don't support {what}.{MORE_INFO}"))
}

/// Names of the pseudo columns a pull query may not use, as they appear in `e`.
fn pseudo_columns_in(e: &SqlExpr) -> Vec<&'static str> {
    let text = e.to_string().to_uppercase();
    [ROWPARTITION, ROWOFFSET]
        .into_iter()
        .filter(|c| text.contains(c))
        .collect()
}

impl Engine {
    /// A new pull query's id (`query_<n>`).
    pub(crate) fn next_pull_id(&self) -> String {
        let n = self
            .inner
            .seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("query_{}", n + 1)
    }

    /// Runs a pull query.
    pub async fn pull_query(&self, sql: &str, session: &Session) -> Result<PullResult> {
        if let Some(result) = self.pull_key_lookup(sql) {
            return Ok(result);
        }
        let statements = flusso_sql::parse(sql)?;
        let (_, query) = super::dml::single_query(&statements)?;
        self.pull_parsed(query, session).await
    }

    /// `SELECT * FROM table WHERE key = literal;` recognized without parsing
    /// ([`flusso_sql::lookup`]) and answered from the materialized rows: the answer
    /// [`Engine::pull_query`] gives, or `None` when the statement is anything else (or anything
    /// about it needs the general path: an error, another column, a source that is not a
    /// materialized single-key table).
    pub fn pull_key_lookup(&self, sql: &str) -> Option<PullResult> {
        use flusso_sql::lookup::LookupLiteral;
        let lookup = flusso_sql::lookup::key_lookup(sql)?;
        // The WHERE clause's pseudo-column check looks at its text.
        let text = match &lookup.literal {
            LookupLiteral::Integer(n) => n.as_str(),
            LookupLiteral::String(s) => s.as_str(),
        };
        if [&lookup.column, text].iter().any(|t| {
            let upper = t.to_uppercase();
            upper.contains(ROWPARTITION) || upper.contains(ROWOFFSET)
        }) {
            return None;
        }
        let source = self.source(&lookup.source)?;
        let key = source.schema.key();
        let [(key_name, key_type)] = key.as_slice() else {
            return None;
        };
        if *key_name != lookup.column || source.source_type != SourceType::Table {
            return None;
        }
        let value = match lookup.literal {
            LookupLiteral::Integer(n) => crate::planner::expr::number_literal(&n).ok()?,
            LookupLiteral::String(s) => ScalarValue::Utf8(Some(s)),
        };
        let key = key_literal(value, key_type)?;
        self.star_rows(&source, &[vec![key]])
    }

    /// Runs a parsed pull query.
    pub async fn pull_parsed(&self, query: &Query, session: &Session) -> Result<PullResult> {
        let prop = |name: &str| -> Option<&str> {
            session
                .properties
                .get(name)
                .or_else(|| session.properties.get(&format!("ksql.streams.{name}")))
                .map(|s| s.as_str())
        };
        // Joins between tables and aggregations over tables run on DataFusion
        // (`relational.rs`); ksqlDB's refusals stay for the rest: joins with a stream (or
        // WITHIN), GROUP BY without an aggregate function, aggregations over a stream.
        let aggregates = relational::aggregates(query);
        let all_tables = std::iter::once(&query.from)
            .chain(query.joins.iter().map(|j| &j.relation))
            .all(|r| {
                self.source(&r.name)
                    .is_some_and(|s| s.source_type == SourceType::Table)
            });
        if !query.joins.is_empty()
            && (!all_tables || query.joins.iter().any(|j| j.within.is_some()))
        {
            return Err(refuse("JOIN clauses"));
        }
        if query.window.is_some() {
            return Err(refuse("WINDOW clauses"));
        }
        if !query.group_by.is_empty() && (!aggregates || !all_tables) {
            return Err(refuse("GROUP BY clauses"));
        }
        let relational = !query.joins.is_empty() || (aggregates && all_tables);
        if query.limit.is_some()
            && prop("ksql.query.pull.limit.clause.enabled").is_some_and(|v| v == "false")
        {
            return Err(EngineError::statement(format!(
                "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true.{MORE_INFO}"
            )));
        }
        let mut bad: Vec<&str> = Vec::new();
        for item in &query.projection {
            if let flusso_sql::ast::SelectItem::Expr { expr, .. } = item {
                bad.extend(pseudo_columns_in(expr));
            }
        }
        if !bad.is_empty() {
            return Err(EngineError::statement(format!(
                "Pull queries don't support the following columns in SELECT clauses: {}",
                bad.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(w) = &query.selection {
            let bad = pseudo_columns_in(w);
            if !bad.is_empty() {
                return Err(EngineError::statement(format!(
                    "Pull queries don't support the following columns in WHERE clauses: {}",
                    bad.iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if relational {
            let types = self.inner.catalog.read().types.clone();
            return self.pull_relational(query, &types).await;
        }
        let source = self.source(&query.from.name).ok_or_else(|| {
            EngineError::statement(format!("{} does not exist.", query.from.name))
        })?;
        if let Some(result) = self.star_lookup(query, &source) {
            return Ok(result);
        }
        let types = self.inner.catalog.read().types.clone();
        let plan = plan_select(query, Arc::clone(&source), &types, "pull", false)?;
        let id = self.next_pull_id();

        let batch = match source.source_type {
            SourceType::Table => {
                let materialized = self
                    .queries()
                    .into_iter()
                    .find(|q| q.sink.name == source.name)
                    .and_then(|q| q.materialized.clone());
                let rows = match materialized {
                    Some(m) => match key_lookup(query, &source) {
                        Some(keys) => keys.iter().flat_map(|k| m.get(k)).collect(),
                        None => {
                            if prop("ksql.query.pull.table.scan.enabled")
                                .is_some_and(|v| v == "false")
                            {
                                let ranges = prop("ksql.query.pull.range.scan.enabled")
                                    .is_none_or(|v| v != "false");
                                check_key_predicates(query, &source, ranges)?;
                            }
                            m.scan()
                        }
                    },
                    None if source.is_source => {
                        crate::query::materialized::table_rows(self.inner.log.as_ref(), &source)
                            .await?
                    }
                    None => return Err(not_queryable(&source.name)),
                };
                Some(rows_batch(&plan.scan_schema, &source, &rows)?)
            }
            SourceType::Stream => None,
        };
        let mut rows: Vec<Row> = Vec::new();
        let limit = query.limit.unwrap_or(u64::MAX) as usize;
        let mut push = |batch: &RecordBatch, tombstone: &[bool]| -> Result<bool> {
            for r in project(&plan, batch, tombstone)? {
                if let Some(v) = r.value {
                    if rows.len() >= limit {
                        return Ok(false);
                    }
                    rows.push(v);
                }
            }
            Ok(rows.len() < limit)
        };
        match batch {
            Some(b) => {
                let n = b.num_rows();
                push(&b, &vec![false; n])?;
            }
            None => {
                // A stream: every record up to the topic's current end.
                let log = Arc::clone(&self.inner.log);
                let partitions = log.partitions(&source.topic).await?.unwrap_or(0);
                'partitions: for p in 0..partitions {
                    let (mut pos, end) = log.offsets(&source.topic, p).await?;
                    while pos < end {
                        let records = log.fetch(&source.topic, p, pos, 1 << 20).await?;
                        let Some(last) = records.last().map(|r| r.offset) else {
                            break;
                        };
                        let records: Vec<_> =
                            records.into_iter().filter(|r| r.offset < end).collect();
                        let decoded = scan::decode(&source, &plan.scan_schema, p, &records)
                            .map_err(EngineError::Execution)?;
                        if !push(&decoded.batch, &decoded.tombstone)? {
                            break 'partitions;
                        }
                        pos = last + 1;
                    }
                }
            }
        }
        let limited = query.limit.is_some_and(|l| rows.len() as u64 >= l);
        let key_names: Vec<String> = source.schema.key().into_iter().map(|(n, _)| n).collect();
        let windowed = source.window.is_some();
        let columns = plan
            .values
            .iter()
            .map(|c| {
                let column = c
                    .expr
                    .downcast_ref::<datafusion::physical_expr::expressions::Column>()
                    .map(|col| col.name().to_string());
                let is_key = source.source_type == SourceType::Table
                    && column.is_some_and(|n| {
                        n == c.name
                            && (key_names.contains(&n)
                                || (windowed && (n == WINDOWSTART || n == WINDOWEND)))
                    });
                (c.name.clone(), c.sql_type.clone(), is_key)
            })
            .collect();
        Ok(PullResult {
            id,
            columns,
            rows,
            final_message: match source.source_type {
                SourceType::Stream if limited => Some("Limit Reached"),
                SourceType::Stream => Some("Query Completed"),
                SourceType::Table => None,
            },
        })
    }
}

/// ksqlDB's error for a table no query materializes.
fn not_queryable(name: &str) -> EngineError {
    EngineError::statement(format!(
        "The `{name}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'. See https://cnfl.io/queries for more info."
    ))
}

impl Engine {
    /// Every current row of a table: the materialized rows of the query writing it, or a
    /// source table's topic read to its end.
    async fn current_rows(&self, source: &Source) -> Result<Vec<MatRow>> {
        let materialized = self
            .queries()
            .into_iter()
            .find(|q| q.sink.name == source.name)
            .and_then(|q| q.materialized.clone());
        match materialized {
            Some(m) => Ok(m.scan()),
            None if source.is_source => {
                crate::query::materialized::table_rows(self.inner.log.as_ref(), source).await
            }
            None => Err(not_queryable(&source.name)),
        }
    }

    /// The common dashboard query, `SELECT * FROM table WHERE key = literal;`, answered from the
    /// materialized rows without planning; `None` for anything else.
    fn star_lookup(&self, query: &Query, source: &Source) -> Option<PullResult> {
        if source.source_type != SourceType::Table
            || query.limit.is_some()
            || !matches!(
                query.projection.as_slice(),
                [flusso_sql::ast::SelectItem::Wildcard]
            )
            || !matches!(
                query.selection.as_ref(),
                Some(SqlExpr::BinaryOp {
                    op: BinaryOperator::Eq,
                    ..
                })
            )
        {
            return None;
        }
        let keys = key_lookup(query, source)?;
        self.star_rows(source, &keys)
    }

    /// Every column of the rows of `keys` in a materialized table; `None` when the table is
    /// not materialized.
    fn star_rows(&self, source: &Source, keys: &[Vec<ScalarValue>]) -> Option<PullResult> {
        let m = self
            .queries()
            .into_iter()
            .find(|q| q.sink.name == source.name)
            .and_then(|q| q.materialized.clone())?;
        let windowed = source.window.is_some();
        let mut columns: Vec<(String, SqlType, bool)> = source
            .schema
            .key()
            .into_iter()
            .map(|(n, t)| (n, t, true))
            .collect();
        if windowed {
            columns.push((WINDOWSTART.to_string(), SqlType::Bigint, true));
            columns.push((WINDOWEND.to_string(), SqlType::Bigint, true));
        }
        columns.extend(
            source
                .schema
                .value()
                .into_iter()
                .map(|(n, t)| (n, t, false)),
        );
        let rows = keys
            .iter()
            .flat_map(|k| m.get(k))
            .map(|r| {
                let mut row = r.key;
                if windowed {
                    let (s, e) = r.window.unzip();
                    row.push(ScalarValue::Int64(s));
                    row.push(ScalarValue::Int64(e));
                }
                row.extend(r.value);
                row
            })
            .collect();
        Some(PullResult {
            id: self.next_pull_id(),
            columns,
            rows,
            final_message: None,
        })
    }
}

/// Keys a WHERE clause pins a single-key table to (`K = v`, `K IN (...)`, under AND), as
/// values of the key's type; `None` when it does not.
fn key_lookup(query: &Query, source: &Source) -> Option<Vec<Vec<ScalarValue>>> {
    let key = source.schema.key();
    let [(key_name, key_type)] = key.as_slice() else {
        return None;
    };
    let literal = |e: &SqlExpr| -> Option<ScalarValue> {
        let v = match e {
            SqlExpr::Value(v) => match &v.value {
                Value::Number(n, _) => crate::planner::expr::number_literal(n).ok()?,
                Value::SingleQuotedString(s) => ScalarValue::Utf8(Some(s.clone())),
                _ => return None,
            },
            _ => return None,
        };
        key_literal(v, key_type)
    };
    let is_key = |e: &SqlExpr| match e {
        SqlExpr::Identifier(id) => &id.value == key_name,
        SqlExpr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| &p.value == key_name),
        _ => false,
    };
    fn conjuncts<'a>(e: &'a SqlExpr, out: &mut Vec<&'a SqlExpr>) {
        match e {
            SqlExpr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                conjuncts(left, out);
                conjuncts(right, out);
            }
            SqlExpr::Nested(inner) => conjuncts(inner, out),
            other => out.push(other),
        }
    }
    let mut parts = Vec::new();
    conjuncts(query.selection.as_ref()?, &mut parts);
    for p in parts {
        match p {
            SqlExpr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let v = if is_key(left) {
                    literal(right)
                } else if is_key(right) {
                    literal(left)
                } else {
                    None
                };
                if let Some(v) = v {
                    return Some(vec![vec![v]]);
                }
            }
            SqlExpr::InList {
                expr,
                list,
                negated: false,
            } if is_key(expr) => {
                let values: Option<Vec<Vec<ScalarValue>>> =
                    list.iter().map(|e| literal(e).map(|v| vec![v])).collect();
                if let Some(v) = values {
                    return Some(v);
                }
            }
            _ => {}
        }
    }
    None
}

/// A literal as a value of the key's type, when it is of the key type's family (a string never
/// looks up a number key).
fn key_literal(v: ScalarValue, key_type: &SqlType) -> Option<ScalarValue> {
    let same_family = matches!(
        (&v, key_type),
        (ScalarValue::Utf8(_), SqlType::String)
            | (
                ScalarValue::Int32(_) | ScalarValue::Int64(_),
                SqlType::Int | SqlType::Bigint
            )
    );
    if !same_family {
        return None;
    }
    v.cast_to(&key_type.to_arrow()).ok()
}

/// Rows of a table as a batch in its scan schema.
fn rows_batch(
    scan_schema: &datafusion::arrow::datatypes::SchemaRef,
    source: &Source,
    rows: &[MatRow],
) -> Result<RecordBatch> {
    let windowed = source.window.is_some();
    let ordered = source.schema.ordered();
    let nkeys = source.schema.key().len();
    let mut columns: Vec<Vec<ScalarValue>> = (0..scan_schema.fields().len())
        .map(|_| Vec::with_capacity(rows.len()))
        .collect();
    for r in rows {
        let mut ci = 0;
        for (i, c) in ordered.iter().enumerate() {
            let v = if i < nkeys {
                r.key.get(i).cloned()
            } else {
                r.value.get(i - nkeys).cloned()
            };
            columns[ci].push(v.unwrap_or_else(|| crate::value::null_of(&c.sql_type)));
            ci += 1;
        }
        if windowed {
            columns[ci].push(ScalarValue::Int64(r.window.map(|w| w.0)));
            columns[ci + 1].push(ScalarValue::Int64(r.window.map(|w| w.1)));
            ci += 2;
        }
        columns[ci].push(ScalarValue::Int64(Some(r.rowtime)));
        columns[ci + 1].push(ScalarValue::Int32(Some(0)));
        columns[ci + 2].push(ScalarValue::Int64(None));
    }
    let arrays = columns
        .into_iter()
        .zip(scan_schema.fields())
        .map(|(cells, f)| {
            let t = SqlType::from_arrow(f.data_type()).unwrap_or(SqlType::String);
            crate::value::to_array(&t, cells).map_err(EngineError::Execution)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(scan_schema),
        arrays,
        &datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(rows.len())),
    )?)
}

/// Without table scans, ksqlDB answers only queries whose every disjunct pins every key column
/// with `=` (or `IN`) to an expression of no column; its messages otherwise.
fn check_key_predicates(query: &Query, source: &Source, range_scans: bool) -> Result<()> {
    use crate::planner::aggregate::ksql_text;
    let Some(selection) = &query.selection else {
        return Err(EngineError::statement(
            "Query requires table scan to be enabled",
        ));
    };
    let keys = source.schema.key();
    let key_list = keys
        .iter()
        .map(|(n, t)| format!("`{n}` {t} KEY"))
        .collect::<Vec<_>>()
        .join(", ");
    let key_of = |e: &SqlExpr| -> Option<String> {
        let name = match e {
            SqlExpr::Identifier(id) => &id.value,
            SqlExpr::CompoundIdentifier(parts) => &parts.last()?.value,
            SqlExpr::Nested(inner) => return key_of_nested(inner, &keys),
            _ => return None,
        };
        keys.iter().find(|(k, _)| k == name).map(|(k, _)| k.clone())
    };
    let mentions_column = |e: &SqlExpr| {
        let text = e.to_string();
        text.chars().any(|c| c.is_ascii_alphabetic())
            && !matches!(e, SqlExpr::Value(_))
            && !text.starts_with('\'')
            && columns_in(e)
    };
    let mentions_key = |e: &SqlExpr| {
        let text = e.to_string().to_uppercase();
        keys.iter().any(|(k, _)| text.contains(k.as_str()))
    };
    fn split<'a>(e: &'a SqlExpr, op: &BinaryOperator, out: &mut Vec<&'a SqlExpr>) {
        match e {
            SqlExpr::BinaryOp { left, op: o, right } if o == op => {
                split(left, op, out);
                split(right, op, out);
            }
            SqlExpr::Nested(inner) => split(inner, op, out),
            other => out.push(other),
        }
    }
    let mut disjuncts = Vec::new();
    split(selection, &BinaryOperator::Or, &mut disjuncts);
    let several = disjuncts.len() > 1;
    let windowed = source.window.is_some();
    for d in disjuncts {
        let mut conjuncts = Vec::new();
        split(d, &BinaryOperator::And, &mut conjuncts);
        // (key, is `=`) per comparison of a key column; IN lists.
        let mut compared: Vec<(String, bool)> = Vec::new();
        let mut within: Vec<String> = Vec::new();
        for c in conjuncts {
            match c {
                SqlExpr::BinaryOp { left, op, right } => {
                    let (key, other) = match (key_of(left), key_of(right)) {
                        (Some(k), _) => (k, right),
                        (None, Some(k)) => (k, left),
                        (None, None) => {
                            if mentions_key(left) || mentions_key(right) {
                                return Err(EngineError::statement(
                                    "A comparison must directly reference a key column.",
                                ));
                            }
                            continue;
                        }
                    };
                    if matches!(other.as_ref(), SqlExpr::Value(v) if v.value == Value::Null) {
                        return Err(EngineError::statement(format!(
                            "Primary key columns can not be NULL: {}",
                            ksql_text(c).replace("NULL", "null")
                        )));
                    }
                    if mentions_column(other) {
                        return Err(EngineError::statement(
                            "A comparison must be between a key column and a resolvable expression.",
                        ));
                    }
                    if *op == BinaryOperator::NotEq {
                        return Err(EngineError::statement(format!(
                            "Bound on key columns '[{key_list}]' must currently be '='. "
                        )));
                    }
                    compared.push((key, *op == BinaryOperator::Eq));
                }
                SqlExpr::InList { expr, list, .. } => {
                    if let Some(k) = key_of(expr) {
                        if list
                            .iter()
                            .any(|e| matches!(e, SqlExpr::Value(v) if v.value == Value::Null))
                        {
                            return Err(EngineError::statement(format!(
                                "Primary key columns can not be NULL: ({k} = null)"
                            )));
                        }
                        if list.iter().any(columns_in) {
                            return Err(EngineError::statement(
                                "A comparison must be between a key column and a resolvable expression.",
                            ));
                        }
                        within.push(k);
                    }
                }
                _ => {}
            }
        }
        let mut seen: Vec<String> = compared
            .iter()
            .map(|(k, _)| k.clone())
            .chain(within.iter().cloned())
            .collect();
        let total = seen.len();
        seen.sort();
        seen.dedup();
        if total > seen.len() {
            return Err(EngineError::statement(
                "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
            ));
        }
        if seen.is_empty() {
            return Err(EngineError::statement(format!(
                "WHERE clause missing key column for disjunct: {}",
                ksql_text(d)
            )));
        }
        if seen.len() < keys.len() {
            return Err(EngineError::statement(
                "Multi-column sources must specify every key in the WHERE clause.",
            ));
        }
        if compared.iter().any(|(_, eq)| !eq) {
            if !range_scans {
                return Err(EngineError::statement(format!(
                    "Bound on key columns '[{key_list}]' must currently be '='. "
                )));
            }
            if windowed || several || keys.len() > 1 {
                return Err(EngineError::statement(
                    "Query requires table scan to be enabled",
                ));
            }
        }
    }
    Ok(())
}

fn key_of_nested(e: &SqlExpr, keys: &[(String, SqlType)]) -> Option<String> {
    match e {
        SqlExpr::Identifier(id) => keys
            .iter()
            .find(|(k, _)| *k == id.value)
            .map(|(k, _)| k.clone()),
        _ => None,
    }
}

/// Whether an expression refers to any column.
fn columns_in(e: &SqlExpr) -> bool {
    match e {
        SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_) => true,
        SqlExpr::Value(_) => false,
        SqlExpr::BinaryOp { left, right, .. } => columns_in(left) || columns_in(right),
        SqlExpr::UnaryOp { expr, .. } | SqlExpr::Nested(expr) | SqlExpr::Cast { expr, .. } => {
            columns_in(expr)
        }
        SqlExpr::Function(f) => match &f.args {
            sqlparser::ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(x)) => {
                    columns_in(x)
                }
                _ => false,
            }),
            _ => false,
        },
        _ => false,
    }
}
