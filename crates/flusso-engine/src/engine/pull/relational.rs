//! Pull queries beyond ksqlDB's: joins between tables and aggregations (aggregate functions,
//! `GROUP BY`, `HAVING`) over tables' current rows, run by DataFusion.
//!
//! Each table in the query becomes an in-memory table of its current rows (key columns, window
//! bounds for a windowed table, value columns, ROWTIME), its columns renamed `__<n>_<column>` so
//! that two tables' columns never clash. Expressions are translated by Flusso's expression
//! planner ([`ExprTranslator`]) over those columns, so names, literals and functions behave as in
//! any other query; aggregate calls are ksqlDB's own aggregate functions ([`crate::udaf`])
//! wrapped as DataFusion aggregate UDFs. The plan — scans, joins, WHERE, the aggregation, HAVING,
//! the projection, LIMIT — is built with DataFusion's `LogicalPlanBuilder` and run by DataFusion.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DataFusionError, ScalarValue};
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    lit, Accumulator as DfAccumulator, AggregateUDF, AggregateUDFImpl, Expr, ExprSchemable,
    JoinType as DfJoinType, LogicalPlanBuilder, Signature, Volatility,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use flusso_sql::ast::{JoinType, Query, SelectItem};
use sqlparser::ast::{Expr as SqlExpr, Ident, VisitMut, VisitorMut};

use super::{rows_batch, PullResult};
use crate::catalog::Source;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::planner::aggregate::ksql_text;
use crate::planner::expr::{ExprTranslator, Scope};
use crate::schema::{RESERVED, WINDOWEND, WINDOWSTART};
use crate::types::SqlType;
use crate::udaf;

/// Whether an expression calls an aggregate function.
pub(super) fn has_aggregate(e: &SqlExpr) -> bool {
    struct Finder(bool);
    impl VisitorMut for Finder {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
            if let SqlExpr::Function(f) = e {
                if udaf::is_aggregate(&f.name.to_string()) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut finder = Finder(false);
    let _ = e.clone().visit(&mut finder);
    finder.0
}

/// Whether a pull query aggregates (an aggregate call in SELECT or HAVING).
pub(super) fn aggregates(query: &Query) -> bool {
    query.projection.iter().any(|i| match i {
        SelectItem::Expr { expr, .. } => has_aggregate(expr),
        SelectItem::StructWildcard(expr) => has_aggregate(expr),
        _ => false,
    }) || query.having.as_ref().is_some_and(has_aggregate)
}

/// Replaces every aggregate call with a reference to its result column (`__A<i>`), collecting
/// the calls (name, arguments, text; one per distinct text).
struct CallRewriter<'a> {
    calls: &'a mut Vec<(String, Vec<SqlExpr>, String)>,
}

impl VisitorMut for CallRewriter<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        let SqlExpr::Function(f) = e else {
            return ControlFlow::Continue(());
        };
        let name = f.name.to_string();
        if !udaf::is_aggregate(&name) {
            return ControlFlow::Continue(());
        }
        let args = crate::planner::aggregate::call_args(f);
        let text = e.to_string();
        let i = match self.calls.iter().position(|(_, _, t)| *t == text) {
            Some(i) => i,
            None => {
                self.calls.push((name.to_ascii_uppercase(), args, text));
                self.calls.len() - 1
            }
        };
        *e = SqlExpr::Identifier(Ident::with_quote('`', agg_column(i)));
        ControlFlow::Continue(())
    }
}

fn agg_column(i: usize) -> String {
    format!("__A{i}")
}

fn group_column(i: usize) -> String {
    format!("__G{i}")
}

/// One table of the query.
struct Relation {
    source: Arc<Source>,
    /// Its name and alias.
    qualifiers: Vec<String>,
    /// `(column, internal column)`, in scan order.
    columns: Vec<(String, String)>,
}

impl Relation {
    fn internal(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, i)| i.as_str())
    }

    /// The columns `*` stands for: keys, window bounds, values.
    fn star(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .source
            .schema
            .key()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if self.source.window.is_some() {
            out.push(WINDOWSTART.to_string());
            out.push(WINDOWEND.to_string());
        }
        out.extend(self.source.schema.value().into_iter().map(|(n, _)| n));
        out
    }
}

/// A ksqlDB aggregate function as a DataFusion aggregate UDF.
#[derive(Debug)]
struct KsqlAggregate {
    /// Unique within the query (two calls of one function are two UDFs).
    id: usize,
    function: udaf::AggregateFunction,
    /// Arguments the ksqlDB function takes (COUNT(*) takes none, DataFusion gets one).
    arity: usize,
    return_type: DataType,
    signature: Signature,
}

impl PartialEq for KsqlAggregate {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.function.name == other.function.name
    }
}

impl Eq for KsqlAggregate {}

impl Hash for KsqlAggregate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.function.name.hash(state);
    }
}

impl AggregateUDFImpl for KsqlAggregate {
    fn name(&self) -> &str {
        &self.function.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn accumulator(
        &self,
        _args: AccumulatorArgs<'_>,
    ) -> datafusion::error::Result<Box<dyn DfAccumulator>> {
        Ok(Box::new(KsqlAccumulator {
            state: self.function.create(),
            function: self.function.clone(),
            arity: self.arity,
            return_type: self.return_type.clone(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs<'_>) -> datafusion::error::Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[state]", args.name),
            DataType::Utf8,
            true,
        ))])
    }
}

/// A ksqlDB accumulator fed DataFusion's batches; its partial state is its changelog JSON.
#[derive(Debug)]
struct KsqlAccumulator {
    state: Box<dyn udaf::Accumulator>,
    function: udaf::AggregateFunction,
    arity: usize,
    return_type: DataType,
}

impl DfAccumulator for KsqlAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> datafusion::error::Result<()> {
        let rows = values.first().map_or(0, |a| a.len());
        let inputs = &values[..self.arity.min(values.len())];
        let mut args = Vec::with_capacity(inputs.len());
        for r in 0..rows {
            args.clear();
            for a in inputs {
                args.push(ScalarValue::try_from_array(a, r)?);
            }
            self.state.add(&args);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> datafusion::error::Result<ScalarValue> {
        let v = self.state.result();
        if v.data_type() == self.return_type {
            Ok(v)
        } else if v.is_null() {
            ScalarValue::try_from(&self.return_type)
        } else {
            v.cast_to(&self.return_type)
        }
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> datafusion::error::Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(
            self.state.state().to_string(),
        ))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> datafusion::error::Result<()> {
        let Some(states) = states.first() else {
            return Ok(());
        };
        let states = states.as_string::<i32>();
        for i in 0..states.len() {
            if states.is_null(i) {
                continue;
            }
            let json: serde_json::Value = serde_json::from_str(states.value(i))
                .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            let mut other = self.function.create();
            other.restore(&json).map_err(DataFusionError::Execution)?;
            self.state.merge(other.as_ref());
        }
        Ok(())
    }
}

/// The output name of a projection item: its alias, its natural name, or `KSQL_COL_<n>`.
fn item_name(alias: Option<&str>, expr: &SqlExpr, generated: &mut usize) -> Result<String> {
    if let Some(a) = alias {
        if RESERVED.contains(&a) {
            return Err(EngineError::statement(format!(
                "`{a}` is a reserved column name. You cannot use it as an alias for a column."
            )));
        }
        return Ok(a.to_string());
    }
    fn natural(e: &SqlExpr) -> Option<String> {
        match e {
            SqlExpr::Identifier(id) => Some(id.value.clone()),
            SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
            SqlExpr::BinaryOp {
                op: sqlparser::ast::BinaryOperator::Arrow,
                right,
                ..
            } => natural(right),
            SqlExpr::Nested(inner) => natural(inner),
            _ => None,
        }
    }
    Ok(natural(expr).unwrap_or_else(|| {
        let n = format!("KSQL_COL_{generated}");
        *generated += 1;
        n
    }))
}

/// The projection: (output name, expression over the plan, is a key).
type Output = Vec<(String, Expr, bool)>;

impl Engine {
    /// Runs a pull query that joins tables or aggregates over a table.
    pub(super) async fn pull_relational(
        &self,
        query: &Query,
        types: &HashMap<String, SqlType>,
    ) -> Result<PullResult> {
        // The tables, their current rows as in-memory tables.
        let names = std::iter::once(&query.from).chain(query.joins.iter().map(|j| &j.relation));
        let mut relations: Vec<Relation> = Vec::new();
        let mut scans: Vec<LogicalPlanBuilder> = Vec::new();
        let mut fields: Vec<Field> = Vec::new();
        let mut scope = Scope::default();
        for (n, r) in names.enumerate() {
            let source = self
                .source(&r.name)
                .ok_or_else(|| EngineError::statement(format!("{} does not exist.", r.name)))?;
            let rows = self.current_rows(&source).await?;
            let scan_schema = source.schema.scan_schema(source.window.is_some());
            let batch = rows_batch(&scan_schema, &source, &rows)?;
            let mut qualifiers = vec![source.name.clone()];
            qualifiers.extend(r.alias.clone());
            let mut columns = Vec::new();
            let mut renamed = Vec::new();
            for f in scan_schema.fields() {
                let internal = format!("__{n}_{}", f.name());
                for q in &qualifiers {
                    scope
                        .columns
                        .push((Some(q.clone()), f.name().clone(), internal.clone()));
                }
                columns.push((f.name().clone(), internal.clone()));
                let field = Field::new(&internal, f.data_type().clone(), true);
                renamed.push(field.clone());
                fields.push(field);
            }
            scope.qualifiers.extend(qualifiers.iter().cloned());
            let schema = Arc::new(Schema::new(renamed));
            let batch = RecordBatch::try_new_with_options(
                Arc::clone(&schema),
                batch.columns().to_vec(),
                &datafusion::arrow::record_batch::RecordBatchOptions::new()
                    .with_row_count(Some(batch.num_rows())),
            )?;
            let table = MemTable::try_new(schema, vec![vec![batch]])?;
            scans.push(LogicalPlanBuilder::scan(
                format!("t{n}"),
                provider_as_source(Arc::new(table)),
                None,
            )?);
            relations.push(Relation {
                source,
                qualifiers,
                columns,
            });
        }
        let df_schema = DFSchema::try_from(Schema::new(fields.clone()))?;
        let tr = |clause| ExprTranslator {
            scope: &scope,
            schema: &df_schema,
            types,
            clause,
            lambdas: Default::default(),
        };

        // FROM ... JOIN ... ON ...
        let mut scans = scans.into_iter();
        let mut plan = scans
            .next()
            .ok_or_else(|| EngineError::statement("a pull query needs a FROM clause"))?;
        for (join, right) in query.joins.iter().zip(scans) {
            let on = tr("ON").translate(&join.on)?;
            let join_type = match join.join_type {
                JoinType::Inner => DfJoinType::Inner,
                JoinType::Left => DfJoinType::Left,
                JoinType::Right => DfJoinType::Right,
                JoinType::Full => DfJoinType::Full,
            };
            plan = plan.join_on(right.build()?, join_type, vec![on])?;
        }
        if let Some(w) = &query.selection {
            plan = plan.filter(tr("WHERE").translate(w)?)?;
        }

        let mut generated = 0usize;
        let joined = relations.len() > 1;
        let output: Output = if aggregates(query) || !query.group_by.is_empty() {
            let (p, output) =
                self.plan_aggregation(query, plan, &relations, &scope, &fields, types)?;
            plan = p;
            output
        } else {
            let mut output = Output::new();
            let first_keys: Vec<String> = relations[0]
                .source
                .schema
                .key()
                .into_iter()
                .filter_map(|(k, _)| relations[0].internal(&k).map(str::to_string))
                .collect();
            let is_key = |e: &Expr| matches!(e, Expr::Column(c) if first_keys.contains(&c.name));
            for item in &query.projection {
                match item {
                    SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                        for r in &relations {
                            if let SelectItem::QualifiedWildcard(q) = item {
                                if !r.qualifiers.contains(q) {
                                    continue;
                                }
                            }
                            let prefix = r.qualifiers.last().cloned().unwrap_or_default();
                            for c in r.star() {
                                let Some(internal) = r.internal(&c) else {
                                    continue;
                                };
                                let e = Expr::Column(Column::new_unqualified(internal));
                                let name = if joined { format!("{prefix}_{c}") } else { c };
                                let key = is_key(&e);
                                output.push((name, e, key));
                            }
                        }
                    }
                    SelectItem::StructWildcard(e) => {
                        return Err(EngineError::statement(format!(
                            "Pull queries over joins and aggregations don't support {}->*",
                            ksql_text(e)
                        )))
                    }
                    SelectItem::Expr { expr, alias } => {
                        let name = item_name(alias.as_deref(), expr, &mut generated)?;
                        let e = tr("SELECT").translate(expr)?;
                        let key = is_key(&e);
                        output.push((name, e, key));
                    }
                }
            }
            output
        };
        let projection: Vec<Expr> = output
            .iter()
            .map(|(name, e, _)| e.clone().alias(name))
            .collect();
        plan = plan.project(projection)?;
        if let Some(n) = query.limit {
            plan = plan.limit(0, Some(n as usize))?;
        }
        let plan = plan.build()?;

        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        let mut rows = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        .map(|c| ScalarValue::try_from_array(c, r))
                        .collect::<std::result::Result<Vec<_>, _>>()?,
                );
            }
        }
        let out_schema = batches.first().map(|b| b.schema());
        let columns = output
            .iter()
            .enumerate()
            .map(|(i, (name, e, key))| {
                let dt = match &out_schema {
                    Some(s) => s.field(i).data_type().clone(),
                    None => e.get_type(&df_schema).unwrap_or(DataType::Utf8),
                };
                let t = SqlType::from_arrow(&dt).unwrap_or(SqlType::String);
                (name.clone(), t, *key)
            })
            .collect();
        Ok(PullResult {
            id: self.next_pull_id(),
            columns,
            rows,
            final_message: None,
        })
    }

    /// The aggregation: grouping expressions (`__G<i>`) and ksqlDB aggregate calls (`__A<i>`)
    /// over `plan`, then HAVING; the projection rewritten over them.
    fn plan_aggregation(
        &self,
        query: &Query,
        mut plan: LogicalPlanBuilder,
        relations: &[Relation],
        scope: &Scope,
        fields: &[Field],
        types: &HashMap<String, SqlType>,
    ) -> Result<(LogicalPlanBuilder, Output)> {
        let df_schema = DFSchema::try_from(Schema::new(fields.to_vec()))?;
        let tr = |clause| ExprTranslator {
            scope,
            schema: &df_schema,
            types,
            clause,
            lambdas: Default::default(),
        };
        // SELECT items (`*` is every column of the tables) and HAVING, calls rewritten.
        let mut calls: Vec<(String, Vec<SqlExpr>, String)> = Vec::new();
        let mut items: Vec<(String, SqlExpr, SqlExpr)> = Vec::new();
        let mut generated = 0usize;
        for item in &query.projection {
            let mut add = |name: String, e: SqlExpr, calls: &mut Vec<_>| {
                let mut rewritten = e.clone();
                let _ = rewritten.visit(&mut CallRewriter { calls });
                items.push((name, e, rewritten));
            };
            match item {
                SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                    for r in relations {
                        for c in r.star() {
                            let e = SqlExpr::CompoundIdentifier(vec![
                                Ident::with_quote('`', r.qualifiers[0].clone()),
                                Ident::with_quote('`', c.clone()),
                            ]);
                            add(c, e, &mut calls);
                        }
                    }
                }
                SelectItem::StructWildcard(e) => {
                    return Err(EngineError::statement(format!(
                        "Non-aggregate SELECT expression(s) not part of GROUP BY: {}->*\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
                        ksql_text(e)
                    )));
                }
                SelectItem::Expr { expr, alias } => {
                    let name = item_name(alias.as_deref(), expr, &mut generated)?;
                    add(name, expr.clone(), &mut calls);
                }
            }
        }
        let having = query.having.as_ref().map(|h| {
            let mut rewritten = h.clone();
            let _ = rewritten.visit(&mut CallRewriter { calls: &mut calls });
            rewritten
        });
        if calls.is_empty() {
            return Err(EngineError::statement(
                "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
            ));
        }
        // The aggregate calls.
        let mut aggregate_exprs = Vec::new();
        let mut result_fields = Vec::new();
        let mut after_scope = scope.clone();
        for (i, (name, args, _text)) in calls.iter().enumerate() {
            let translated = args
                .iter()
                .map(|a| tr("SELECT").translate(a))
                .collect::<Result<Vec<_>>>()?;
            let described = translated
                .iter()
                .map(|e| {
                    let dt = e.get_type(&df_schema)?;
                    Ok(udaf::AggregateArg {
                        sql_type: SqlType::from_arrow(&dt).unwrap_or(SqlType::String),
                        literal: match e {
                            Expr::Literal(v, _) => Some(v.clone()),
                            _ => None,
                        },
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let texts: Vec<String> = args.iter().map(ksql_text).collect();
            let function =
                udaf::resolve_call(name, &described, &texts).map_err(EngineError::statement)?;
            let return_type = function.return_type.to_arrow();
            let arity = translated.len();
            let udf = AggregateUDF::new_from_impl(KsqlAggregate {
                id: i,
                function,
                arity,
                return_type: return_type.clone(),
                signature: Signature::variadic_any(Volatility::Immutable),
            });
            let inputs = if translated.is_empty() {
                vec![lit(true)]
            } else {
                translated
            };
            aggregate_exprs.push(udf.call(inputs).alias(agg_column(i)));
            result_fields.push(Field::new(agg_column(i), return_type, true));
            after_scope
                .columns
                .push((None, agg_column(i), agg_column(i)));
        }
        // The grouping expressions.
        let mut groups: Vec<Expr> = Vec::new();
        for g in &query.group_by {
            if has_aggregate(g) {
                return Err(EngineError::statement(format!(
                    "GROUP BY does not support aggregate functions: {}",
                    ksql_text(g)
                )));
            }
            groups.push(tr("GROUP BY").translate(g)?);
        }
        let group_exprs: Vec<Expr> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| g.clone().alias(group_column(i)))
            .collect();
        plan = plan.aggregate(group_exprs, aggregate_exprs)?;

        // HAVING and the projection, over the aggregate's output.
        let mut after_fields = fields.to_vec();
        after_fields.extend(result_fields);
        let after_schema = DFSchema::try_from(Schema::new(after_fields))?;
        let after = |clause| ExprTranslator {
            scope: &after_scope,
            schema: &after_schema,
            types,
            clause,
            lambdas: Default::default(),
        };
        let rebase = |e: Expr| -> Result<Expr> {
            Ok(e.transform_down(|x| {
                Ok(match groups.iter().position(|g| *g == x) {
                    Some(i) => Transformed::new(
                        Expr::Column(Column::new_unqualified(group_column(i))),
                        true,
                        TreeNodeRecursion::Jump,
                    ),
                    None => Transformed::no(x),
                })
            })?
            .data)
        };
        let outside = |e: &Expr| {
            e.column_refs()
                .iter()
                .any(|c| !c.name.starts_with("__G") && !c.name.starts_with("__A"))
        };
        if let Some(h) = &having {
            let e = rebase(after("HAVING").translate(h)?)?;
            if outside(&e) {
                return Err(EngineError::statement(format!(
                    "Non-aggregate HAVING expression not part of GROUP BY: {}",
                    ksql_text(query.having.as_ref().unwrap_or(h))
                )));
            }
            plan = plan.filter(e)?;
        }
        let mut output = Output::new();
        let mut offending = Vec::new();
        for (name, original, rewritten) in items {
            let e = rebase(after("SELECT").translate(&rewritten)?)?;
            if outside(&e) {
                offending.push(ksql_text(&original));
                continue;
            }
            let key = matches!(&e, Expr::Column(c) if c.name.starts_with("__G"));
            output.push((name, e, key));
        }
        if !offending.is_empty() {
            return Err(EngineError::statement(format!(
                "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
                offending.join(", ")
            )));
        }
        Ok((plan, output))
    }
}
