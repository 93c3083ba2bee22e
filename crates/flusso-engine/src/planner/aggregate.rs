//! Aggregations: `SELECT ... FROM one source [WHERE ...] [WINDOW ...] GROUP BY ... [HAVING ...]`.
//!
//! The plan has three stages, as ksqlDB's: before the aggregation, the WHERE filter, the grouping
//! expressions and the aggregate calls' arguments, all compiled over the source's scan; the
//! aggregation itself (one accumulator per call per group and window, see
//! [`crate::query::aggregate`]); after it, HAVING and the output's key and value columns,
//! compiled over the *aggregate schema*: one column per grouping expression (`__G0`, ...), one
//! per aggregate call (`__A0`, ...) and the window bounds.
//!
//! The projection is rewritten before it is translated: every aggregate call becomes a reference
//! to its `__A` column and every sub-expression equal to a grouping expression a reference to its
//! `__G` column; what still refers to the source is not part of the GROUP BY (ksqlDB's error).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use flusso_sql::ast::{Emit, Query, SelectItem, SourceType, WindowKind};
use sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    VisitMut, VisitorMut,
};

use super::expr::{ExprTranslator, Scope};
use super::select::{item_name, plan_where, source_scope, OutColumn, SelectPlan};
use crate::catalog::{Source, WindowInfo};
use crate::error::{EngineError, Result};
use crate::schema::{ROWTIME, WINDOWEND, WINDOWSTART};
use crate::types::SqlType;
use crate::udaf::{self, AggregateArg, AggregateFunction};

/// Kafka Streams' grace period when a window declares none: 24 hours minus the window size.
const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

/// One aggregate call.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// The function, resolved for its argument types.
    pub function: AggregateFunction,
    /// Its arguments, over the scan.
    pub args: Vec<Arc<dyn PhysicalExpr>>,
}

/// How records are windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowShape {
    /// Fixed windows `size` apart (tumbling: `advance == size`).
    Time {
        /// Window size, ms.
        size: i64,
        /// Hop, ms.
        advance: i64,
    },
    /// Sessions closed by `gap` ms of inactivity.
    Session {
        /// Inactivity gap, ms.
        gap: i64,
    },
}

/// A `WINDOW` clause.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec {
    /// Shape.
    pub shape: WindowShape,
    /// Records whose window ended more than this long before stream time are late, ms.
    pub grace: i64,
    /// How long windows are kept for pull queries, ms.
    pub retention: i64,
    /// `TUMBLING` rather than `HOPPING`.
    pub tumbling: bool,
}

impl WindowSpec {
    /// The windowed-key shape of the output.
    pub fn info(&self) -> WindowInfo {
        match self.shape {
            WindowShape::Time { size, .. } => WindowInfo::Time {
                hopping: !self.tumbling,
                size,
            },
            WindowShape::Session { .. } => WindowInfo::Session,
        }
    }
}

/// The aggregation stage of a plan.
#[derive(Debug, Clone)]
pub struct AggregatePlan {
    /// Grouping expressions, over the scan.
    pub group_by: Vec<Arc<dyn PhysicalExpr>>,
    /// Their types.
    pub group_types: Vec<SqlType>,
    /// Aggregate calls.
    pub calls: Vec<AggregateCall>,
    /// The schema HAVING and the output columns are compiled over.
    pub agg_schema: SchemaRef,
    /// `HAVING`, over the aggregate schema.
    pub having: Option<Arc<dyn PhysicalExpr>>,
    /// `WINDOW`.
    pub window: Option<WindowSpec>,
    /// `EMIT FINAL`: one row per window, when it closes.
    pub emit_final: bool,
    /// The source is a table: updates undo the key's previous row.
    pub table_source: bool,
}

/// Applies the function settings of a query's properties (`prop` looks one up), such as
/// `ksql.functions.collect_list.limit`, to its aggregate calls.
pub fn configure_functions(plan: &mut SelectPlan, prop: &dyn Fn(&str) -> Option<String>) {
    let Some(agg) = &mut plan.aggregate else {
        return;
    };
    let configured: Vec<_> = agg
        .calls
        .iter()
        .map(|c| c.function.configured(prop))
        .collect();
    if configured.iter().all(Option::is_none) {
        return;
    }
    let agg = Arc::make_mut(agg);
    for (call, f) in agg.calls.iter_mut().zip(configured) {
        if let Some(f) = f {
            call.function = f;
        }
    }
}

/// Name of the aggregate schema's column for grouping expression `i`.
fn group_column(i: usize) -> String {
    format!("__G{i}")
}

/// Name of the aggregate schema's column for aggregate call `i`.
fn agg_column(i: usize) -> String {
    format!("__A{i}")
}

fn ident(name: String) -> SqlExpr {
    SqlExpr::Identifier(Ident::with_quote('`', name))
}

/// The text ksqlDB shows for an expression in its messages: binary operations in parentheses.
pub fn ksql_text(e: &SqlExpr) -> String {
    match e {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        } => format!("{}->{}", ksql_text(left), ksql_text(right)),
        SqlExpr::BinaryOp { left, op, right } => {
            format!("({} {op} {})", ksql_text(left), ksql_text(right))
        }
        SqlExpr::Nested(inner) => ksql_text(inner),
        SqlExpr::Function(f) => {
            let args = match &f.args {
                FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => ksql_text(x),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            format!("{}({args})", f.name.to_string().to_uppercase())
        }
        SqlExpr::Identifier(id) => id.value.clone(),
        SqlExpr::CompoundIdentifier(parts) => parts
            .iter()
            .map(|p| p.value.clone())
            .collect::<Vec<_>>()
            .join("."),
        other => other.to_string(),
    }
}

/// A call's positional arguments.
pub(crate) fn call_args(f: &sqlparser::ast::Function) -> Vec<SqlExpr> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn function_name(f: &sqlparser::ast::Function) -> String {
    f.name.to_string().to_uppercase()
}

/// Rewrites aggregate calls and grouping expressions into aggregate-schema references.
struct Rewriter<'a, 'b> {
    tr: &'a ExprTranslator<'b>,
    scan_schema: &'a SchemaRef,
    groups: &'a [Expr],
    calls: &'a mut Vec<(String, Vec<SqlExpr>)>,
    error: Option<EngineError>,
}

impl VisitorMut for Rewriter<'_, '_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::CompoundIdentifier(parts) = e {
            if let [_, last] = parts.as_slice() {
                if last.value == WINDOWSTART || last.value == WINDOWEND {
                    *e = SqlExpr::Identifier(last.clone());
                    return ControlFlow::Continue(());
                }
            }
        }
        if let SqlExpr::Function(f) = e {
            let name = function_name(f);
            if udaf::is_aggregate(&name) {
                let call = (name, call_args(f));
                let i = match self.calls.iter().position(|c| *c == call) {
                    Some(i) => i,
                    None => {
                        self.calls.push(call);
                        self.calls.len() - 1
                    }
                };
                *e = ident(agg_column(i));
                return ControlFlow::Continue(());
            }
        }
        if let Ok(logical) = self.tr.translate(e) {
            let text = logical.to_string();
            if let Some(i) = self.groups.iter().position(|g| g.to_string() == text) {
                *e = ident(group_column(i));
            }
        }
        let _ = self.scan_schema;
        ControlFlow::Continue(())
    }
}

/// Whether `e` still refers to a source column (not a grouping or aggregate column or a window
/// bound).
fn refers_to_source(e: &SqlExpr) -> bool {
    let mut found = false;
    let mut e = e.clone();
    let _ = e.visit(&mut SourceRefs(&mut found));
    found
}

struct SourceRefs<'a>(&'a mut bool);

impl VisitorMut for SourceRefs<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        match e {
            SqlExpr::Identifier(id)
                if !id.value.starts_with("__G")
                    && !id.value.starts_with("__A")
                    && id.value != WINDOWSTART
                    && id.value != WINDOWEND =>
            {
                *self.0 = true;
            }
            SqlExpr::CompoundIdentifier(_) => *self.0 = true,
            SqlExpr::Lambda(_) => return ControlFlow::Continue(()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Whether `e` calls an aggregate function.
fn aggregate_in(e: &SqlExpr) -> Option<String> {
    let mut found = None;
    let mut e = e.clone();
    let _ = e.visit(&mut AggregateFinder(&mut found));
    found
}

struct AggregateFinder<'a>(&'a mut Option<String>);

impl VisitorMut for AggregateFinder<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::Function(f) = e {
            let name = function_name(f);
            if udaf::is_aggregate(&name) && self.0.is_none() {
                *self.0 = Some(name);
            }
        }
        ControlFlow::Continue(())
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Plans an aggregation of `source` for a sink called `sink_name`.
pub fn plan_aggregate(
    query: &Query,
    source: Arc<Source>,
    types: &HashMap<String, SqlType>,
    sink_name: &str,
    persistent: bool,
    joined: Option<&Scope>,
) -> Result<SelectPlan> {
    if query.group_by.is_empty() {
        if query.emit == Some(Emit::Final) && query.window.is_none() {
            return Err(EngineError::statement(
                "EMIT FINAL is only supported for windowed aggregations.",
            ));
        }
        // A push query may aggregate everything into one group; a table needs a key.
        if persistent {
            return Err(EngineError::statement(
                "Aggregate functions need a GROUP BY clause.",
            ));
        }
    }
    if source.value_format.kind == crate::format::FormatKind::Kafka {
        return Err(EngineError::statement(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )));
    }
    if query.window.is_none() && query.emit == Some(Emit::Final) {
        return Err(EngineError::statement(
            "EMIT FINAL is only supported for windowed aggregations.",
        ));
    }
    let (scan_schema, df_schema, scope) = source_scope(&source, &query.from.alias, joined);
    let tr = |clause| ExprTranslator {
        scope: &scope,
        schema: &df_schema,
        types,
        clause,
        lambdas: Default::default(),
    };
    if let Some(w) = &query.selection {
        if source.window.is_none() && uses_bound(w) {
            return Err(EngineError::statement(
                "Error in WHERE expression: Unknown column WINDOWSTART.",
            ));
        }
        if let Some(name) = aggregate_in(w) {
            return Err(EngineError::statement(format!(
                "WHERE clause can not contain aggregate functions: {name} is an aggregate function."
            )));
        }
    }
    let filter = plan_where(&tr("WHERE"), query.selection.as_ref(), &scan_schema)?;

    // Window bounds only in the SELECT clause, outside aggregate calls.
    let bounds_outside_select = query
        .group_by
        .iter()
        .chain(query.having.iter())
        .any(uses_bound)
        || query.projection.iter().any(|i| match i {
            SelectItem::Expr { expr, .. } => {
                let mut args = Vec::new();
                let _ = expr.clone().visit(&mut AggregateArgs(&mut args));
                args.iter().any(uses_bound)
            }
            _ => false,
        });
    if bounds_outside_select {
        return Err(EngineError::statement(
            "Window bounds column WINDOWSTART can only be used in the SELECT clause of windowed aggregations",
        ));
    }
    // Grouping expressions.
    let mut groups: Vec<Expr> = Vec::new();
    let mut group_physical = Vec::new();
    let mut group_types = Vec::new();
    for g in &query.group_by {
        if let Some(name) = aggregate_in(g) {
            return Err(EngineError::statement(format!(
                "GROUP BY does not support aggregate functions: {name} is an aggregate function."
            )));
        }
        let logical = tr("GROUP BY").translate(g)?;
        if groups.iter().any(|g| g.to_string() == logical.to_string()) {
            let text = match g {
                SqlExpr::Identifier(id) => format!("{}.{}", source.name, id.value),
                other => ksql_text(other),
            };
            return Err(EngineError::statement(format!(
                "Duplicate GROUP BY expression: {text}"
            )));
        }
        let p = super::physical(logical.clone(), &scan_schema)?;
        let dt = p.data_type(&scan_schema)?;
        group_types.push(SqlType::from_arrow(&dt).ok_or_else(|| {
            EngineError::statement(format!("GROUP BY expression {g} has no type"))
        })?);
        group_physical.push(p);
        groups.push(logical);
    }

    // Rewrite the projection and HAVING.
    let mut calls: Vec<(String, Vec<SqlExpr>)> = Vec::new();
    struct Item {
        original: SqlExpr,
        rewritten: SqlExpr,
        name: String,
    }
    let mut items: Vec<Item> = Vec::new();
    let mut generated = 0usize;
    let translator = tr("SELECT");
    let rewrite = |e: &SqlExpr, calls: &mut Vec<(String, Vec<SqlExpr>)>| -> SqlExpr {
        let mut out = e.clone();
        let mut rw = Rewriter {
            tr: &translator,
            scan_schema: &scan_schema,
            groups: &groups,
            calls,
            error: None,
        };
        let _ = out.visit(&mut rw);
        out
    };
    for item in &query.projection {
        match item {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                for c in source.schema.ordered() {
                    let e = SqlExpr::Identifier(Ident::new(c.name.clone()));
                    items.push(Item {
                        rewritten: rewrite(&e, &mut calls),
                        original: e,
                        name: c.name.clone(),
                    });
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
                items.push(Item {
                    rewritten: rewrite(expr, &mut calls),
                    original: expr.clone(),
                    name,
                });
            }
        }
    }
    let windowed = query.window.is_some();
    if !windowed {
        if let Some(it) = items.iter().find(|i| uses_bound(&i.rewritten)) {
            let _ = it;
            return Err(EngineError::statement(
                "Window bounds column WINDOWSTART can only be used in the SELECT clause of windowed aggregations",
            ));
        }
    }
    if calls.is_empty()
        && query
            .having
            .as_ref()
            .is_none_or(|h| aggregate_in(h).is_none())
    {
        // Unknown functions first, as ksqlDB reports them.
        for it in &items {
            tr("SELECT").translate(&it.original)?;
        }
        return Err(EngineError::statement(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
        ));
    }
    let offending: Vec<String> = items
        .iter()
        .filter(|i| refers_to_source(&i.rewritten))
        .map(|i| ksql_text(&i.original))
        .collect();
    if !offending.is_empty() {
        for it in items.iter().filter(|i| refers_to_source(&i.rewritten)) {
            if let Err(e) = tr("SELECT").translate(&it.rewritten) {
                if e.to_string().contains("Can't find any functions") {
                    return Err(e);
                }
            }
        }
        return Err(EngineError::statement(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
            offending.join(", ")
        )));
    }
    let having_rewritten = match &query.having {
        Some(h) => {
            let r = rewrite(h, &mut calls);
            if refers_to_source(&r) {
                let mut names = Vec::new();
                let _ = r.clone().visit(&mut SourceNames(&mut names));
                return Err(EngineError::statement(format!(
                    "Non-aggregate HAVING expression not part of GROUP BY: {}",
                    names.join(", ")
                )));
            }
            Some(r)
        }
        None => None,
    };
    if calls.is_empty() {
        return Err(EngineError::statement(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
        ));
    }

    // Resolve the aggregate calls.
    let table_source = source.source_type == SourceType::Table;
    let mut resolved = Vec::new();
    for (name, args) in &calls {
        let mut arg_exprs = Vec::new();
        let mut arg_info = Vec::new();
        for a in args {
            if let Some(inner) = aggregate_in(a) {
                return Err(EngineError::statement(format!(
                    "Aggregate functions can not be nested: {name}({inner}())"
                )));
            }
            let logical = tr("SELECT").translate(a)?;
            let literal = match &logical {
                Expr::Literal(v, _) => Some(v.clone()),
                _ => None,
            };
            let p = super::physical(logical, &scan_schema)?;
            let dt = p.data_type(&scan_schema)?;
            let sql_type = SqlType::from_arrow(&dt).ok_or_else(|| {
                EngineError::statement(
                    "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).",
                )
            })?;
            arg_info.push(AggregateArg { sql_type, literal });
            arg_exprs.push(p);
        }
        let texts: Vec<String> = args.iter().map(ksql_text).collect();
        let function =
            udaf::resolve_call(name, &arg_info, &texts).map_err(EngineError::statement)?;
        resolved.push(AggregateCall {
            function,
            args: arg_exprs,
        });
    }
    if table_source {
        let mut refused: Vec<String> = Vec::new();
        for c in resolved.iter().filter(|c| !c.function.undoable) {
            if !refused.contains(&c.function.name) {
                refused.push(c.function.name.clone());
            }
        }
        if !refused.is_empty() {
            let (what, verb) = if refused.len() == 1 {
                ("function", "cannot")
            } else {
                ("functions", "cannot")
            };
            return Err(EngineError::statement(format!(
                "The aggregation {what} {} {verb} be applied to a table source, only to a stream source.",
                join_and(&refused)
            )));
        }
    }

    // The aggregate schema.
    let mut fields = Vec::new();
    for (i, t) in group_types.iter().enumerate() {
        fields.push(Field::new(group_column(i), t.to_arrow(), true));
    }
    for (i, c) in resolved.iter().enumerate() {
        fields.push(Field::new(
            agg_column(i),
            c.function.return_type.to_arrow(),
            true,
        ));
    }
    fields.push(Field::new(WINDOWSTART, SqlType::Bigint.to_arrow(), true));
    fields.push(Field::new(WINDOWEND, SqlType::Bigint.to_arrow(), true));
    fields.push(Field::new(ROWTIME, SqlType::Bigint.to_arrow(), true));
    let agg_schema: SchemaRef = Arc::new(Schema::new(fields));
    let agg_df = DFSchema::try_from(agg_schema.as_ref().clone())?;
    let mut agg_scope = Scope {
        qualifiers: scope.qualifiers.clone(),
        ..Default::default()
    };
    for f in agg_schema.fields() {
        agg_scope
            .columns
            .push((None, f.name().clone(), f.name().clone()));
    }
    let agg_tr = |clause| ExprTranslator {
        scope: &agg_scope,
        schema: &agg_df,
        types,
        clause,
        lambdas: Default::default(),
    };
    let compile = |name: &str, e: &SqlExpr, clause: &'static str| -> Result<OutColumn> {
        let logical = agg_tr(clause).translate(e)?;
        let p = super::physical(logical, &agg_schema)?;
        let dt = p.data_type(&agg_schema)?;
        let sql_type = SqlType::from_arrow(&dt).ok_or_else(|| {
            EngineError::statement(
                "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).",
            )
        })?;
        Ok(OutColumn {
            name: name.to_string(),
            sql_type,
            expr: p,
            explode: false,
            needs_value: false,
        })
    };

    // Keys: the projection items that are exactly a grouping expression.
    let mut key_items: Vec<usize> = Vec::new();
    let mut missing = Vec::new();
    for (gi, g) in query.group_by.iter().enumerate() {
        let target = group_column(gi);
        let matching: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(
                |(_, it)| matches!(&it.rewritten, SqlExpr::Identifier(id) if id.value == target),
            )
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [] => missing.push(ksql_text(g)),
            [one] => key_items.push(*one),
            [first, rest @ ..] => {
                if persistent {
                    let mut names = vec![format!("`{}`", items[*first].name)];
                    names.extend(rest.iter().map(|i| format!("`{}`", items[*i].name)));
                    return Err(EngineError::statement(format!(
                        "The projection contains a key column more than once: {}.",
                        join_and(&names)
                    )));
                }
                key_items.push(*first);
            }
        }
    }
    if !missing.is_empty() && persistent {
        let all: Vec<String> = query.group_by.iter().map(ksql_text).collect();
        let (what, list) = if all.len() == 1 {
            ("expression", all[0].clone())
        } else {
            ("expressions", join_and(&all))
        };
        return Err(EngineError::statement(format!(
            "The query used to build `{sink_name}` must include the grouping {what} {list} in its projection (eg, SELECT {}...).",
            all.join(", ")
        )));
    }
    if !persistent {
        key_items.clear();
    }
    let mut keys = Vec::new();
    for &ki in &key_items {
        keys.push(compile(&items[ki].name, &items[ki].rewritten, "SELECT")?);
    }
    let mut values = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if key_items.contains(&i) {
            continue;
        }
        values.push(compile(&it.name, &it.rewritten, "SELECT")?);
    }
    if persistent && values.is_empty() {
        return Err(EngineError::statement(
            "The projection contains no value columns.",
        ));
    }
    let mut seen: std::collections::HashSet<String> = keys.iter().map(|k| k.name.clone()).collect();
    for c in &values {
        if !seen.insert(c.name.clone()) && persistent {
            return Err(EngineError::statement(format!(
                "Duplicate value columns found in schema: `{}` {}",
                c.name, c.sql_type
            )));
        }
    }
    let having = match &having_rewritten {
        Some(h) => Some(compile("HAVING", h, "HAVING")?.expr),
        None => None,
    };
    let window = query.window.map(|w| {
        let (shape, size, tumbling) = match w.kind {
            WindowKind::Tumbling { size } => {
                let s = size.as_millis() as i64;
                (
                    WindowShape::Time {
                        size: s,
                        advance: s,
                    },
                    s,
                    true,
                )
            }
            WindowKind::Hopping { size, advance } => {
                let s = size.as_millis() as i64;
                (
                    WindowShape::Time {
                        size: s,
                        advance: advance.as_millis() as i64,
                    },
                    s,
                    false,
                )
            }
            WindowKind::Session { gap } => (
                WindowShape::Session {
                    gap: gap.as_millis() as i64,
                },
                gap.as_millis() as i64,
                false,
            ),
        };
        let grace = match w.grace {
            Some(g) => g.as_millis() as i64,
            None => (DEFAULT_GRACE_MS - size).max(0),
        };
        let retention = match w.retention {
            Some(r) => r.as_millis() as i64,
            None => size + grace,
        };
        WindowSpec {
            shape,
            grace,
            retention: retention.max(size + grace),
            tumbling,
        }
    });
    if let Some(WindowSpec {
        shape: WindowShape::Time { size, advance },
        ..
    }) = window
    {
        if advance <= 0 || size <= 0 || advance > size {
            return Err(EngineError::statement(format!(
                "Window advance ({advance} ms) must be greater than zero and no greater than its size ({size} ms)."
            )));
        }
    }
    let _ = ScalarValue::Null;
    let key_positions = key_items.clone();
    Ok(SelectPlan {
        output_type: SourceType::Table,
        source,
        scan_schema,
        filter,
        keys,
        values,
        repartitioned: true,
        limit: query.limit,
        key_positions,
        join: None,
        aggregate: Some(Arc::new(AggregatePlan {
            group_by: group_physical,
            group_types,
            calls: resolved,
            agg_schema,
            having,
            window,
            emit_final: query.emit == Some(Emit::Final),
            table_source,
        })),
    })
}

struct BoundFinder<'a>(&'a mut bool);

impl VisitorMut for BoundFinder<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        let name = match e {
            SqlExpr::Identifier(id) => Some(&id.value),
            SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| &p.value),
            _ => None,
        };
        if name.is_some_and(|n| n == WINDOWSTART || n == WINDOWEND) {
            *self.0 = true;
        }
        ControlFlow::Continue(())
    }
}

/// The source columns an expression still refers to, in order, once each.
struct SourceNames<'a>(&'a mut Vec<String>);

impl VisitorMut for SourceNames<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        if refers_to_source(e)
            && matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_))
        {
            let text = ksql_text(e);
            if !self.0.contains(&text) {
                self.0.push(text);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether an expression names a window bound.
fn uses_bound(e: &SqlExpr) -> bool {
    let mut found = false;
    let mut e = e.clone();
    let _ = e.visit(&mut BoundFinder(&mut found));
    found
}

/// The arguments of the aggregate calls in an expression.
struct AggregateArgs<'a>(&'a mut Vec<SqlExpr>);

impl VisitorMut for AggregateArgs<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::Function(f) = e {
            if udaf::is_aggregate(&function_name(f)) {
                if let FunctionArguments::List(l) = &f.args {
                    for a in &l.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                            self.0.push(x.clone());
                        }
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether a projection calls an aggregate function.
pub fn projection_aggregates(query: &Query) -> bool {
    query.projection.iter().any(|i| match i {
        SelectItem::Expr { expr, .. } => aggregate_in(expr).is_some(),
        _ => false,
    })
}
