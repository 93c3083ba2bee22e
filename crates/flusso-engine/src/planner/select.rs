//! Stateless queries: `SELECT ... FROM one source [WHERE ...] [PARTITION BY ...]`, planned into
//! a filter and the key and value projections of the output, as compiled DataFusion physical
//! expressions over the source's scan.
//!
//! Key rules follow ksqlDB: without PARTITION BY a stream's key columns must be selected (they
//! stay the key, under their alias); with PARTITION BY the partitioning expressions become the
//! key, named after the projection item that matches them (or `KSQL_COL_n`), and `*` expands to
//! the value columns followed by the old key columns.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use flusso_sql::ast::{Query, SelectItem, SourceType};
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr, Value};

use super::expr::{ExprTranslator, Scope};
use crate::catalog::Source;
use crate::error::{EngineError, Result};
use crate::schema::{self, RESERVED};
use crate::types::SqlType;

/// One output column.
#[derive(Debug, Clone)]
pub struct OutColumn {
    /// Its name in the sink.
    pub name: String,
    /// Its type.
    pub sql_type: SqlType,
    /// How it is computed from the scan.
    pub expr: Arc<dyn PhysicalExpr>,
    /// A table function (`EXPLODE`): `expr` is the array, one output row per element.
    pub explode: bool,
    /// A PARTITION BY key computed from more than the source's key columns: null for records
    /// without a value, as in ksqlDB (which cannot evaluate it on a missing row).
    pub needs_value: bool,
}

/// A planned stateless query.
#[derive(Debug, Clone)]
pub struct SelectPlan {
    /// The source read.
    pub source: Arc<Source>,
    /// Its scan's Arrow schema.
    pub scan_schema: SchemaRef,
    /// `WHERE`.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// Output key columns.
    pub keys: Vec<OutColumn>,
    /// Output value columns.
    pub values: Vec<OutColumn>,
    /// Whether the output is a stream or a table (a table in, a table out).
    pub output_type: SourceType,
    /// `PARTITION BY` was given (the key changed).
    pub repartitioned: bool,
    /// `LIMIT n` of a push query.
    pub limit: Option<u64>,
    /// For each key column, its position in the projection (`usize::MAX` for a PARTITION BY
    /// key that is not projected).
    pub key_positions: Vec<usize>,
    /// The aggregation, for `GROUP BY` queries: `keys`, `values` and the aggregation's HAVING
    /// are then compiled over its aggregate schema, not over the scan.
    pub aggregate: Option<Arc<super::aggregate::AggregatePlan>>,
    /// The join the query reads, when it has `JOIN`s: `source` is then the joined source.
    pub join: Option<Arc<super::join::JoinPlan>>,
}

impl SelectPlan {
    /// The topic and partition of a position-map entry: the source's partition, or for a join
    /// an input's (see [`crate::query::join::slot`]).
    pub fn slot_topic(&self, slot: i32) -> (&str, i32) {
        match &self.join {
            Some(j) => {
                let (input, partition) = crate::query::join::unslot(slot);
                match j.inputs.get(input) {
                    Some(i) => (i.source.topic.as_str(), partition),
                    None => (self.source.topic.as_str(), partition),
                }
            }
            None => (self.source.topic.as_str(), slot),
        }
    }

    /// The source (and its scan schema) whose records a position-map entry holds: the source,
    /// or a join's input.
    pub fn slot_source(&self, slot: i32) -> (&Arc<Source>, &SchemaRef) {
        match &self.join {
            Some(j) => match j.inputs.get(crate::query::join::unslot(slot).0) {
                Some(i) => (&i.source, &i.scan_schema),
                None => (&self.source, &self.scan_schema),
            },
            None => (&self.source, &self.scan_schema),
        }
    }

    /// The sources read: the source, or a join's inputs.
    pub fn inputs(&self) -> Vec<Arc<Source>> {
        match &self.join {
            Some(j) => j.inputs.iter().map(|i| Arc::clone(&i.source)).collect(),
            None => vec![Arc::clone(&self.source)],
        }
    }

    /// Orders the key columns as the projection lists them (ksqlDB's new query planner) rather
    /// than as the source declares them.
    pub fn keys_in_projection_order(&mut self) {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by_key(|&i| self.key_positions[i]);
        self.keys = order.iter().map(|&i| self.keys[i].clone()).collect();
        self.key_positions = order.iter().map(|&i| self.key_positions[i]).collect();
    }
}

/// The name ksqlDB gives an unaliased projection item: a column's own name, a struct field's
/// name, or `None` (a generated `KSQL_COL_n`).
pub(super) fn natural_name(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::Identifier(id) => Some(id.value.clone()),
        SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        SqlExpr::BinaryOp {
            op: BinaryOperator::Arrow,
            right,
            ..
        } => natural_name(right),
        SqlExpr::Nested(inner) => natural_name(inner),
        _ => None,
    }
}

struct Item {
    explode: bool,
    name: String,
    logical: Expr,
    /// A plain reference to this scan column.
    column: Option<String>,
}

/// The output name of a projection item: its alias (not a reserved name), its natural name, or
/// the next `KSQL_COL_n`.
pub(super) fn item_name(
    alias: Option<&str>,
    expr: &SqlExpr,
    generated: &mut usize,
) -> Result<String> {
    if let Some(a) = alias {
        if RESERVED.contains(&a) {
            return Err(EngineError::statement(format!(
                "`{a}` is a reserved column name. You cannot use it as an alias for a column."
            )));
        }
        return Ok(a.to_string());
    }
    Ok(natural_name(expr).unwrap_or_else(|| {
        let n = format!("KSQL_COL_{generated}");
        *generated += 1;
        n
    }))
}

/// The scan of `source` (aliased `alias`): its Arrow schema and the columns visible by name,
/// plain and qualified.
pub(super) fn source_scope(
    source: &Source,
    alias: &Option<String>,
    joined: Option<&Scope>,
) -> (SchemaRef, DFSchema, Scope) {
    let windowed = source.window.is_some();
    let scan_schema = source.schema.scan_schema(windowed);
    let df_schema =
        DFSchema::try_from(scan_schema.as_ref().clone()).unwrap_or_else(|_| DFSchema::empty());
    if let Some(scope) = joined {
        return (scan_schema, df_schema, scope.clone());
    }
    let mut scope = Scope::default();
    scope.qualifiers.push(source.name.clone());
    if let Some(a) = alias {
        scope.qualifiers.push(a.clone());
    }
    for f in scan_schema.fields() {
        for q in &scope.qualifiers {
            scope
                .columns
                .push((Some(q.clone()), f.name().clone(), f.name().clone()));
        }
    }
    (scan_schema, df_schema, scope)
}

/// `WHERE`, compiled over the scan; ksqlDB's error when it is not boolean.
pub(super) fn plan_where(
    tr: &ExprTranslator<'_>,
    selection: Option<&SqlExpr>,
    scan_schema: &SchemaRef,
) -> Result<Option<Arc<dyn PhysicalExpr>>> {
    let Some(w) = selection else {
        return Ok(None);
    };
    let e = tr.translate(w)?;
    let t = super::physical(e, scan_schema)?;
    let dt = t.data_type(scan_schema)?;
    if dt != datafusion::arrow::datatypes::DataType::Boolean
        && dt != datafusion::arrow::datatypes::DataType::Null
    {
        return Err(EngineError::statement(format!(
            "Type error in WHERE expression: Should evaluate to boolean but is {w} ({}) instead.",
            SqlType::from_arrow(&dt)
                .map(|t| t.to_string())
                .unwrap_or_else(|| dt.to_string())
        )));
    }
    Ok(Some(t))
}

/// Plans `query` reading `source`, for a sink called `sink_name`.
pub fn plan_select(
    query: &Query,
    source: Arc<Source>,
    types: &HashMap<String, SqlType>,
    sink_name: &str,
    persistent: bool,
) -> Result<SelectPlan> {
    if !query.joins.is_empty() {
        return Err(EngineError::statement("joins are planned by planner::join"));
    }
    plan_select_in(query, source, types, sink_name, persistent, None)
}

/// Plans `query` reading `source`, its expressions resolved in `joined` (a join's scope) when
/// given.
pub(super) fn plan_select_in(
    query: &Query,
    source: Arc<Source>,
    types: &HashMap<String, SqlType>,
    sink_name: &str,
    persistent: bool,
    joined: Option<&Scope>,
) -> Result<SelectPlan> {
    if query.window.is_some()
        || !query.group_by.is_empty()
        || query.having.is_some()
        || (!persistent && query.emit.is_some() && super::aggregate::projection_aggregates(query))
    {
        return super::aggregate::plan_aggregate(
            query, source, types, sink_name, persistent, joined,
        );
    }
    let (scan_schema, df_schema, scope) = source_scope(&source, &query.from.alias, joined);
    let tr = |clause| ExprTranslator {
        scope: &scope,
        schema: &df_schema,
        types,
        clause,
        lambdas: Default::default(),
    };
    let filter = plan_where(&tr("WHERE"), query.selection.as_ref(), &scan_schema)?;

    let repartitioned = !query.partition_by.is_empty();
    let key_names: Vec<String> = source.schema.key().into_iter().map(|(n, _)| n).collect();
    // Expand the projection.
    let mut items: Vec<Item> = Vec::new();
    let mut generated = 0usize;
    let star_columns = || -> Vec<String> {
        let value: Vec<String> = source
            .schema
            .columns
            .iter()
            .filter(|c| c.kind != schema::ColumnKind::Key)
            .map(|c| c.name.clone())
            .collect();
        if repartitioned {
            value.into_iter().chain(key_names.iter().cloned()).collect()
        } else if source.window.is_some() && !persistent {
            // A windowed source's key includes its window.
            key_names
                .iter()
                .cloned()
                .chain([
                    schema::WINDOWSTART.to_string(),
                    schema::WINDOWEND.to_string(),
                ])
                .chain(value)
                .collect()
        } else {
            key_names.iter().cloned().chain(value).collect()
        }
    };
    for item in &query.projection {
        match item {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                if let SelectItem::QualifiedWildcard(q) = item {
                    if !scope.qualifiers.contains(q) {
                        return Err(EngineError::statement(format!(
                            "'{q}' is not a valid stream/table name or alias."
                        )));
                    }
                }
                for c in star_columns() {
                    items.push(Item {
                        explode: false,
                        logical: Expr::Column(datafusion::common::Column::new_unqualified(&c)),
                        column: Some(c.clone()),
                        name: c,
                    });
                }
            }
            SelectItem::StructWildcard(e) => {
                let base = tr("SELECT").translate(e)?;
                let dt = super::physical(base.clone(), &scan_schema)?.data_type(&scan_schema)?;
                let datafusion::arrow::datatypes::DataType::Struct(fields) = dt else {
                    return Err(EngineError::statement(format!("{e}->* needs a STRUCT")));
                };
                for f in fields.iter() {
                    items.push(Item {
                        explode: false,
                        name: f.name().clone(),
                        logical: datafusion::functions::core::expr_fn::get_field(
                            base.clone(),
                            f.name().clone(),
                        ),
                        column: None,
                    });
                }
            }
            SelectItem::Expr { expr, alias } => {
                let exploded = match expr {
                    SqlExpr::Function(f)
                        if crate::functions::TABLE_NAMES
                            .iter()
                            .any(|t| f.name.to_string().eq_ignore_ascii_case(t)) =>
                    {
                        match &f.args {
                            sqlparser::ast::FunctionArguments::List(l) if l.args.len() == 1 => {
                                match &l.args[0] {
                                    sqlparser::ast::FunctionArg::Unnamed(
                                        sqlparser::ast::FunctionArgExpr::Expr(inner),
                                    ) => Some(inner.clone()),
                                    _ => None,
                                }
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if exploded.is_some() && source.source_type == SourceType::Table {
                    return Err(EngineError::statement(
                        "Table source is not supported with table functions",
                    ));
                }
                let logical = match &exploded {
                    Some(inner) => tr("SELECT").translate(inner)?,
                    None => tr("SELECT").translate(expr)?,
                };
                let column = match &logical {
                    Expr::Column(c) => Some(c.name.clone()),
                    _ => None,
                };
                let name = item_name(alias.as_deref(), expr, &mut generated)?;
                let column = if exploded.is_some() { None } else { column };
                items.push(Item {
                    explode: exploded.is_some(),
                    name,
                    logical,
                    column,
                });
            }
        }
    }

    let has_star = query
        .projection
        .iter()
        .any(|i| matches!(i, SelectItem::Wildcard | SelectItem::QualifiedWildcard(_)));
    // Keys.
    let mut key_items: Vec<usize> = Vec::new();
    let mut extra_keys: Vec<(String, Expr)> = Vec::new();
    if repartitioned {
        let is_null = |e: &SqlExpr| matches!(e, SqlExpr::Value(v) if v.value == Value::Null);
        if query.partition_by.iter().any(is_null) {
            if query.partition_by.len() > 1 {
                return Err(EngineError::statement(
                    "Cannot PARTITION BY multiple columns including NULL",
                ));
            }
        } else {
            let mut missing = Vec::new();
            for p in &query.partition_by {
                let pe = tr("PARTITION BY").translate(p)?;
                let pe_text = pe.to_string();
                match items.iter().position(|i| i.logical.to_string() == pe_text) {
                    Some(i) if !key_items.contains(&i) => key_items.push(i),
                    Some(_) => {}
                    None if !persistent || has_star => {
                        let name = natural_name(p).unwrap_or_else(|| {
                            let n = format!("KSQL_COL_{generated}");
                            generated += 1;
                            n
                        });
                        extra_keys.push((name, pe))
                    }
                    None => missing.push(format!("{}.{}", source.name, p)),
                }
            }
            if !missing.is_empty() {
                // ksqlDB names every partitioning expression once one is missing.
                let all: Vec<String> = query
                    .partition_by
                    .iter()
                    .map(|p| format!("{}.{}", source.name, p))
                    .collect();
                let (what, list) = if all.len() == 1 {
                    ("expression", all[0].clone())
                } else {
                    ("expressions", all.join(" and "))
                };
                return Err(EngineError::statement(format!(
                    "The query used to build `{sink_name}` must include the partitioning {what} {list} in its projection (eg, SELECT {}...).",
                    all.join(", ")
                )));
            }
        }
    } else {
        let mut missing = Vec::new();
        for k in &key_names {
            match items
                .iter()
                .position(|i| i.column.as_deref() == Some(k.as_str()))
            {
                Some(i) => key_items.push(i),
                None => missing.push(k.clone()),
            }
        }
        if !missing.is_empty() && persistent {
            let (what, list) = if key_names.len() == 1 {
                ("column", key_names[0].clone())
            } else {
                ("columns", key_names.join(" and "))
            };
            return Err(EngineError::statement(format!(
                "The query used to build `{sink_name}` must include the key {what} {list} in its projection (eg, SELECT {}...).",
                key_names.join(", ")
            )));
        }
    }
    // A key selected twice.
    for &ki in &key_items {
        let dups: Vec<&str> = items
            .iter()
            .enumerate()
            .filter(|(i, it)| *i != ki && it.logical == items[ki].logical && !key_items.contains(i))
            .map(|(_, it)| it.name.as_str())
            .collect();
        if !dups.is_empty() && persistent {
            let mut names = vec![items[ki].name.as_str()];
            names.extend(dups);
            names.sort_unstable();
            return Err(EngineError::statement(format!(
                "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                items[ki]
                    .column
                    .clone()
                    .unwrap_or_else(|| items[ki].name.clone()),
                names.join(" and ")
            )));
        }
    }

    let source_keys: Vec<String> = source.schema.key().into_iter().map(|(n, _)| n).collect();
    let compile = |name: &str, e: &Expr, explode: bool| -> Result<OutColumn> {
        let p = super::physical(e.clone(), &scan_schema)?;
        let dt = p.data_type(&scan_schema)?;
        let sql_type = SqlType::from_arrow(&dt).ok_or_else(|| {
            let _ = name;
            EngineError::statement(
                "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).",
            )
        })?;
        let sql_type = match (explode, sql_type) {
            (false, t) => t,
            (true, SqlType::Array(element)) => *element,
            (true, other) => {
                return Err(EngineError::statement(format!(
                    "Function 'explode' does not accept parameters ({other})."
                )))
            }
        };
        let needs_value = repartitioned
            && e.column_refs()
                .iter()
                .any(|c| !source_keys.contains(&c.name));
        Ok(OutColumn {
            name: name.to_string(),
            sql_type,
            expr: p,
            explode,
            needs_value,
        })
    };
    if !persistent {
        // A transient query's rows are its projection, in order.
        key_items.clear();
        extra_keys.clear();
    }
    let mut keys = Vec::new();
    let mut key_positions: Vec<usize> = key_items.clone();
    key_positions.extend(std::iter::repeat_n(usize::MAX, extra_keys.len()));
    for &ki in &key_items {
        keys.push(compile(
            &items[ki].name,
            &items[ki].logical,
            items[ki].explode,
        )?);
    }
    for (n, e) in &extra_keys {
        keys.push(compile(n, e, false)?);
    }
    let mut values = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if key_items.contains(&i) {
            continue;
        }
        if persistent && RESERVED.contains(&it.name.as_str()) {
            return Err(EngineError::statement(format!(
                "Reserved column name in select: `{}`. Please remove or alias the column.",
                it.name
            )));
        }
        values.push(compile(&it.name, &it.logical, it.explode)?);
    }
    let mut seen = std::collections::HashSet::new();
    for c in keys.iter().chain(&values) {
        if !seen.insert(c.name.clone()) && persistent {
            return Err(EngineError::statement(format!(
                "Duplicate column name: `{}`",
                c.name
            )));
        }
    }
    if persistent && values.is_empty() {
        return Err(EngineError::statement(
            "The projection contains no value columns.",
        ));
    }
    let _ = ScalarValue::Null;
    Ok(SelectPlan {
        output_type: source.source_type,
        source,
        scan_schema,
        filter,
        keys,
        values,
        repartitioned,
        limit: query.limit,
        key_positions,
        aggregate: None,
        join: None,
    })
}
