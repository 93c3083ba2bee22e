//! Joins: the left-deep join tree of `FROM a JOIN b ON … JOIN c ON …`, ksqlDB's validation and
//! messages, its naming of columns (`<ALIAS>_<COL>`) and of the join key, and a *joined source*
//! the rest of the query is planned over as if it were a stream or table read from a topic.
//! The rules are those of `docs/design/joins.md`.
//!
//! Every input's columns (key, value, header and pseudo columns) are renamed `A_col`; a join
//! step's left input is the concatenation of the inputs joined so far, its right input the next
//! source. The joined source has one key column (the join key, named after the first viable
//! column the projection selects, or `ROWKEY` when none is viable; for a foreign-key join the
//! left table's key columns), then every input's renamed columns except the key's namesake, then
//! ROWTIME (the join's output time), ROWPARTITION and ROWOFFSET (of the record that triggered the
//! output) and, for windowed inputs, WINDOWSTART/WINDOWEND.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use flusso_sql::ast::{Expr as SqlExpr, JoinType, Query, Relation, SelectItem, SourceType};
use sqlparser::ast::{BinaryOperator, Ident};

use super::expr::{ExprTranslator, Scope};
use crate::catalog::Source;
use crate::error::{EngineError, Result};
use crate::query::join_ops::Kind;
use crate::schema::{self, Column, ColumnKind, LogicalSchema};
use crate::types::SqlType;

/// One source of a join.
#[derive(Debug, Clone)]
pub struct JoinInput {
    /// The source read.
    pub source: Arc<Source>,
    /// Its qualifier: the alias, or the source's name.
    pub alias: String,
    /// Its scan's schema (as a plain query reads it).
    pub scan_schema: SchemaRef,
    /// The same columns renamed `ALIAS_col`.
    pub renamed: SchemaRef,
}

/// How a join step's two inputs meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Stream-stream, within a window (ms).
    StreamStream {
        /// How far back the right side may be.
        before: i64,
        /// How far ahead.
        after: i64,
        /// `GRACE PERIOD`.
        grace: Option<i64>,
    },
    /// Stream-table: a lookup of the table's current row.
    StreamTable,
    /// Table-table on both primary keys.
    TableTable,
    /// Table-table on a foreign key of the left table.
    ForeignKey,
}

/// One `JOIN` clause: the inputs joined so far (left) with the next source (right).
#[derive(Debug, Clone)]
pub struct JoinStep {
    /// The join kind.
    pub kind: Kind,
    /// How the inputs meet.
    pub shape: Shape,
    /// The left input's join key over `left_schema`; `None` when the left input is already
    /// keyed by it (the previous step's key is used).
    pub left_key: Option<Arc<dyn PhysicalExpr>>,
    /// The right input's join key over its renamed scan.
    pub right_key: Arc<dyn PhysicalExpr>,
    /// Foreign-key joins: the left table's key columns, over `left_schema`.
    pub left_pk: Vec<Arc<dyn PhysicalExpr>>,
    /// The concatenated columns of the inputs joined so far.
    pub left_schema: SchemaRef,
    /// Whether the inputs have windowed keys (the window is then part of the join key):
    /// `Some(true)` for session windows (start and end), `Some(false)` for time windows.
    pub windowed: Option<bool>,
}

/// A planned join: its inputs, its steps, and the joined source the query reads.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    /// The sources, in join order.
    pub inputs: Vec<JoinInput>,
    /// One step per `JOIN`.
    pub steps: Vec<JoinStep>,
    /// The joined source.
    pub output: Arc<Source>,
    /// For each value column of the joined source, its index in the concatenated row.
    pub value_index: Vec<usize>,
    /// Index in the concatenated row of each input's WINDOWSTART (windowed inputs).
    pub window_index: Vec<Option<usize>>,
    /// The scope of the query's expressions: `A.col`, and unambiguous `col`.
    pub scope: Scope,
}

fn kind_of(t: JoinType) -> Kind {
    match t {
        JoinType::Inner => Kind::Inner,
        JoinType::Left => Kind::Left,
        JoinType::Right => Kind::Right,
        JoinType::Full => Kind::Full,
    }
}

fn kind_text(t: JoinType) -> &'static str {
    match t {
        JoinType::Inner => "[INNER] JOIN",
        JoinType::Left => "LEFT [OUTER] JOIN",
        JoinType::Right => "RIGHT [OUTER] JOIN",
        JoinType::Full => "[FULL] OUTER JOIN",
    }
}

/// An expression as ksqlDB prints it in join messages: binary operations in parentheses.
fn ksql_text(e: &SqlExpr) -> String {
    match e {
        SqlExpr::BinaryOp { left, op, right } => {
            format!("({} {op} {})", ksql_text(left), ksql_text(right))
        }
        SqlExpr::Nested(inner) => ksql_text(inner),
        SqlExpr::Value(v) if v.value == sqlparser::ast::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// An expression's text without the outer parentheses.
fn plain_text(e: &SqlExpr) -> String {
    let t = ksql_text(e);
    match e {
        SqlExpr::BinaryOp { .. } => t[1..t.len() - 1].to_string(),
        _ => t,
    }
}

/// A column reference: `(qualifier, name)`.
fn column_ref(e: &SqlExpr) -> Option<(Option<&str>, &str)> {
    match e {
        SqlExpr::Identifier(id) => Some((None, id.value.as_str())),
        SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
            [q, c] => Some((Some(q.value.as_str()), c.value.as_str())),
            _ => None,
        },
        SqlExpr::Nested(inner) => column_ref(inner),
        _ => None,
    }
}

/// Every column reference in an expression (lambda variables included; they resolve nowhere).
fn column_refs(e: &SqlExpr) -> Vec<(Option<String>, String, sqlparser::tokenizer::Location)> {
    use sqlparser::ast::Visit;
    let mut out = Vec::new();
    let _ = e.visit(&mut ColumnCollector(&mut out, 0));
    out
}

struct ColumnCollector<'a>(
    &'a mut Vec<(Option<String>, String, sqlparser::tokenizer::Location)>,
    u8,
);

impl sqlparser::ast::Visitor for ColumnCollector<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &SqlExpr) -> std::ops::ControlFlow<()> {
        match e {
            // `q.column[...]`: a qualified column, whose qualifier is visited next.
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                if let (
                    SqlExpr::Identifier(q),
                    Some(sqlparser::ast::AccessExpr::Dot(SqlExpr::Identifier(c))),
                ) = (root.as_ref(), access_chain.first())
                {
                    self.0
                        .push((Some(q.value.clone()), c.value.clone(), q.span.start));
                    // Its qualifier and column identifiers are visited next.
                    self.1 = 2;
                }
            }
            SqlExpr::Identifier(_) if self.1 > 0 => self.1 -= 1,
            SqlExpr::Identifier(id) => self.0.push((None, id.value.clone(), id.span.start)),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => self.0.push((
                Some(parts[0].value.clone()),
                parts[1].value.clone(),
                parts[0].span.start,
            )),
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    }
}

/// The input columns of a source: name, type, and whether it is a key column.
fn input_columns(source: &Source) -> Vec<(String, SqlType, ColumnKind)> {
    let mut out: Vec<(String, SqlType, ColumnKind)> = source
        .schema
        .ordered()
        .iter()
        .map(|c| (c.name.clone(), c.sql_type.clone(), c.kind.clone()))
        .collect();
    for (n, t) in schema::pseudo_columns(source.window.is_some()) {
        out.push((n.to_string(), t, ColumnKind::Value));
    }
    out
}

/// The columns `SELECT *` / `A.*` shows of an input: keys, window bounds, values and headers.
fn star_columns(source: &Source) -> Vec<String> {
    let mut out: Vec<String> = source.schema.key().into_iter().map(|(n, _)| n).collect();
    if source.window.is_some() {
        out.push(schema::WINDOWSTART.into());
        out.push(schema::WINDOWEND.into());
    }
    out.extend(
        source
            .schema
            .columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Key)
            .map(|c| c.name.clone()),
    );
    out
}

/// The columns `SELECT *` shows of an input when the join is repartitioned (PARTITION BY):
/// values and headers, pseudo columns, then keys, as ksqlDB lays out a join's value schema.
fn repartition_star_columns(source: &Source) -> Vec<String> {
    let mut out: Vec<String> = source
        .schema
        .columns
        .iter()
        .filter(|c| c.kind != ColumnKind::Key)
        .map(|c| c.name.clone())
        .collect();
    out.extend(
        schema::pseudo_columns(source.window.is_some())
            .into_iter()
            .map(|(n, _)| n.to_string()),
    );
    out.extend(source.schema.key().into_iter().map(|(n, _)| n));
    out
}

fn renamed(alias: &str, col: &str) -> String {
    format!("{alias}_{col}")
}

/// Plans the join of `query` over the catalog's sources (`lookup`), for a sink `sink_name`.
/// Returns the join plan and the query rewritten to read the joined source: every select
/// item named as ksqlDB names it, stars expanded.
pub fn plan_join(
    query: &Query,
    lookup: &dyn Fn(&str) -> Option<Arc<Source>>,
    types: &HashMap<String, SqlType>,
    sink_name: &str,
    persistent: bool,
) -> Result<(JoinPlan, Query)> {
    // Inputs.
    let relations: Vec<&Relation> = std::iter::once(&query.from)
        .chain(query.joins.iter().map(|j| &j.relation))
        .collect();
    let mut inputs: Vec<JoinInput> = Vec::new();
    for r in &relations {
        let source = lookup(&r.name)
            .ok_or_else(|| EngineError::statement(format!("{} does not exist.", r.name)))?;
        let alias = r.alias.clone().unwrap_or_else(|| r.name.clone());
        if let Some(prev) = inputs.iter().find(|i| i.source.name == source.name) {
            if relations.len() == 2 {
                return Err(EngineError::statement(format!(
                    "Can not join '{}' to '{}': self joins are not yet supported.",
                    prev.source.name, source.name
                )));
            }
            return Err(EngineError::statement(format!(
                "N-way joins do not support multiple occurrences of the same source. Source: '{}'",
                source.name
            )));
        }
        let scan_schema = source.schema.scan_schema(source.window.is_some());
        let renamed_schema = Arc::new(Schema::new(
            scan_schema
                .fields()
                .iter()
                .map(|f| Field::new(renamed(&alias, f.name()), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        inputs.push(JoinInput {
            source,
            alias,
            scan_schema,
            renamed: renamed_schema,
        });
    }
    let qualifier_of = |q: &str| -> Option<usize> {
        inputs
            .iter()
            .position(|i| i.alias == q)
            .or_else(|| inputs.iter().position(|i| i.source.name == q))
    };
    // Which inputs have a column named `c`.
    let owners = |c: &str| -> Vec<usize> {
        inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| i.scan_schema.field_with_name(c).is_ok())
            .map(|(n, _)| n)
            .collect()
    };
    // Resolves a column reference to (input, column).
    let resolve = |q: Option<&str>, c: &str| -> Result<Option<(usize, String)>> {
        match q {
            Some(q) => {
                let Some(i) = qualifier_of(q) else {
                    return Err(EngineError::statement(format!(
                        "'{q}' is not a valid stream/table name or alias."
                    )));
                };
                Ok(inputs[i]
                    .scan_schema
                    .field_with_name(c)
                    .ok()
                    .map(|_| (i, c.to_string())))
            }
            None => {
                let o = owners(c);
                match o.as_slice() {
                    [i] => Ok(Some((*i, c.to_string()))),
                    [] => Ok(None),
                    many => Err(EngineError::statement(format!(
                        "Column '{c}' is ambiguous. Could be {}.",
                        many.iter()
                            .map(|i| format!("{}.{c}", inputs[*i].alias))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ))),
                }
            }
        }
    };

    // The full scope: every input's renamed columns.
    let all_fields: Vec<Field> = inputs
        .iter()
        .flat_map(|i| i.renamed.fields().iter().map(|f| f.as_ref().clone()))
        .collect();
    let all_schema = Arc::new(Schema::new(all_fields));
    let all_df = DFSchema::try_from(all_schema.as_ref().clone())?;
    let mut on_scope = Scope::default();
    for input in &inputs {
        on_scope.qualifiers.push(input.alias.clone());
        if input.alias != input.source.name {
            on_scope.qualifiers.push(input.source.name.clone());
        }
        for f in input.scan_schema.fields() {
            let target = renamed(&input.alias, f.name());
            on_scope
                .columns
                .push((Some(input.alias.clone()), f.name().clone(), target.clone()));
            if input.alias != input.source.name {
                on_scope.columns.push((
                    Some(input.source.name.clone()),
                    f.name().clone(),
                    target.clone(),
                ));
            }
            if owners(f.name()).len() == 1 {
                on_scope.columns.push((None, f.name().clone(), target));
            }
        }
    }

    // The join tree: per JOIN, the ON sides and their inputs.
    struct Criteria {
        left: SqlExpr,
        right: SqlExpr,
        left_input: usize,
        left_col: Option<String>,
        right_col: Option<String>,
    }
    let mut criteria: Vec<Criteria> = Vec::new();
    // ON conditions with every column qualified, as ksqlDB prints them.
    let ons: Vec<SqlExpr> = query
        .joins
        .iter()
        .map(|j| {
            let mut on = j.on.clone();
            let _ = sqlparser::ast::visit_expressions_mut(&mut on, |e| {
                if let SqlExpr::Identifier(id) = e {
                    if let Ok(Some((i, c))) = resolve(None, &id.value) {
                        *e = SqlExpr::CompoundIdentifier(vec![
                            Ident::new(&inputs[i].alias),
                            Ident::new(c),
                        ]);
                    }
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
            on
        })
        .collect();
    for (n, on) in ons.iter().enumerate() {
        let new = n + 1;
        let on = match on {
            SqlExpr::Nested(inner) => inner.as_ref(),
            other => other,
        };
        let (a, b) = match on {
            SqlExpr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => (left.as_ref(), right.as_ref()),
            SqlExpr::BinaryOp {
                op: BinaryOperator::And | BinaryOperator::Or,
                ..
            } => {
                return Err(EngineError::statement(format!(
                    "Invalid join condition: joins on multiple conditions are not yet supported. Got {}.",
                    ksql_text(on)
                )))
            }
            _ => {
                return Err(EngineError::statement(
                    "Only equality join criteria is supported.",
                ))
            }
        };
        let sources_of = |e: &SqlExpr| -> Result<Vec<usize>> {
            let mut out = Vec::new();
            for (q, c, at) in column_refs(e) {
                let place = |m: String| {
                    if at.line > 0 {
                        format!("Line: {}, Col: {}: {m}", at.line, at.column)
                    } else {
                        m
                    }
                };
                let resolved = resolve(q.as_deref(), &c).map_err(|e| match e {
                    EngineError::Statement(m) if m.contains("is ambiguous") => {
                        EngineError::Statement(format!(
                            "Exception while preparing statement: {}",
                            place(m)
                        ))
                    }
                    other => other,
                })?;
                match resolved {
                    Some((i, _)) => {
                        if !out.contains(&i) {
                            out.push(i)
                        }
                    }
                    None => {
                        let shown = match &q {
                            Some(q) => format!("{q}.{c}"),
                            None => c.clone(),
                        };
                        return Err(EngineError::statement(place(format!(
                            "JOIN ON column '{shown}' cannot be resolved."
                        ))));
                    }
                }
            }
            Ok(out)
        };
        let (sa, sb) = (sources_of(a)?, sources_of(b)?);
        for (side, s) in [(a, &sa), (b, &sb)] {
            if s.len() != 1 {
                return Err(EngineError::statement(format!(
                    "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                    plain_text(side),
                    ksql_text(on)
                )));
            }
        }
        if sa[0] == sb[0] {
            let name = &inputs[sa[0]].source.name;
            return Err(EngineError::statement(format!(
                "Each side of the join must reference exactly one source and not the same source. Left side references `{name}` and right references `{name}`"
            )));
        }
        let (left, right, li) = if sb[0] == new && sa[0] < new {
            (a, b, sa[0])
        } else if sa[0] == new && sb[0] < new {
            (b, a, sb[0])
        } else {
            let name = |i: usize| inputs[i].source.name.clone();
            return Err(EngineError::statement(format!(
                "A join criteria is expected to reference the source (`{}`) in the FROM clause, instead the right source references `{}` and the left source references `{}`",
                name(new),
                name(sb[0]),
                name(sa[0])
            )));
        };
        let col = |e: &SqlExpr, i: usize| -> Option<String> {
            column_ref(e).map(|(_, c)| renamed(&inputs[i].alias, c))
        };
        criteria.push(Criteria {
            left_col: col(left, li),
            right_col: col(right, new),
            left: left.clone(),
            right: right.clone(),
            left_input: li,
        });
        // Windowed inputs.
        let (lw, rw) = (inputs[li].source.window, inputs[new].source.window);
        match (lw, rw) {
            (Some(l), Some(r)) => {
                let session = |w: &crate::catalog::WindowInfo| w.is_session();
                if session(&l) != session(&r) {
                    let name = |w: &crate::catalog::WindowInfo| w.type_name();
                    return Err(EngineError::statement(format!(
                        "Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources",
                        name(&l),
                        name(&r)
                    )));
                }
            }
            (Some(w), None) | (None, Some(w)) => {
                let (windowed, plain) = if lw.is_some() { (li, new) } else { (new, li) };
                return Err(EngineError::statement(format!(
                    "Can not join windowed source to non-windowed source.\n`{}` is {} windowed\n`{}` is not windowed",
                    inputs[windowed].source.name,
                    w.type_name(),
                    inputs[plain].source.name
                )));
            }
            (None, None) => {}
        }
    }
    // KAFKA value format.
    let kafka: Vec<&str> = inputs
        .iter()
        .filter(|i| i.source.value_format.kind == crate::format::FormatKind::Kafka)
        .map(|i| i.source.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return Err(EngineError::statement(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }

    // Steps: shapes, keys, equivalence sets and viable key columns.
    fn tr<'a>(
        scope: &'a Scope,
        schema: &'a DFSchema,
        types: &'a HashMap<String, SqlType>,
    ) -> ExprTranslator<'a> {
        ExprTranslator {
            scope,
            schema,
            types,
            clause: "JOIN ON",
            lambdas: Default::default(),
        }
    }
    let mut steps: Vec<JoinStep> = Vec::new();
    // Equivalence set (ON expression texts) and viable key columns of the tree so far.
    let mut equivalence: Vec<String> = Vec::new();
    let mut viable: Vec<String> = Vec::new();
    let mut any_stream = inputs[0].source.source_type == SourceType::Stream;
    let mut left_fields: Vec<Field> = inputs[0]
        .renamed
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut fk_join = false;
    for (n, ((j, c), on)) in query.joins.iter().zip(&criteria).zip(&ons).enumerate() {
        let right = &inputs[n + 1];
        let left_schema = Arc::new(Schema::new(left_fields.clone()));
        let left_type = if any_stream {
            SourceType::Stream
        } else {
            SourceType::Table
        };
        let right_type = right.source.source_type;
        let left_name = inputs[0].source.name.clone();
        let got_written = || plain_text(on);
        let right_pk: Vec<(String, SqlType)> = right.source.schema.key();
        let right_on_pk = right_pk.len() == 1
            && c.right_col.as_deref() == Some(renamed(&right.alias, &right_pk[0].0).as_str());
        let left_text = c.left.to_string();
        let left_in_set = n > 0 && equivalence.contains(&left_text);
        let left_on_pk = if n == 0 {
            let pk = inputs[0].source.schema.key();
            pk.len() == 1
                && c.left_col.as_deref() == Some(renamed(&inputs[0].alias, &pk[0].0).as_str())
        } else {
            left_in_set
        };
        let shape = match (left_type, right_type) {
            (SourceType::Stream, SourceType::Stream) => {
                let Some(w) = j.within else {
                    return Err(EngineError::statement(
                        "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
                    ));
                };
                Shape::StreamStream {
                    before: w.before.as_millis() as i64,
                    after: w.after.as_millis() as i64,
                    grace: w.grace.map(|g| g.as_millis() as i64),
                }
            }
            (SourceType::Table, SourceType::Stream) => {
                return Err(EngineError::statement(format!(
                    "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} {}.",
                    left_name,
                    kind_text(j.join_type),
                    right.source.name
                )))
            }
            (SourceType::Stream, SourceType::Table) => {
                if matches!(j.join_type, JoinType::Full | JoinType::Right) {
                    return Err(EngineError::statement(match j.join_type {
                        JoinType::Full => format!(
                            "Invalid join type: full-outer join not supported for stream-table join. Got {} {} {}.",
                            left_name,
                            kind_text(j.join_type),
                            right.source.name
                        ),
                        _ => format!("Invalid join type encountered: {}", kind_text(j.join_type)),
                    }));
                }
                if !right_on_pk {
                    return Err(EngineError::statement(format!(
                        "Invalid join condition: stream-table joins require to join on the table's primary key. Got {}.",
                        got_written()
                    )));
                }
                if j.within.is_some() {
                    return Err(EngineError::statement(
                        "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your join again.",
                    ));
                }
                Shape::StreamTable
            }
            (SourceType::Table, SourceType::Table) => {
                if !right_on_pk {
                    return Err(EngineError::statement(format!(
                        "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {}.",
                        got_written()
                    )));
                }
                if j.within.is_some() {
                    return Err(EngineError::statement(
                        "A window definition was provided for a Table-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your Table-Table join again.",
                    ));
                }
                if left_on_pk {
                    Shape::TableTable
                } else {
                    if n > 0 {
                        return Err(EngineError::statement(format!(
                            "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {}.",
                            got_written()
                        )));
                    }
                    match j.join_type {
                        JoinType::Right => {
                            return Err(EngineError::statement(
                                "RIGHT OUTER JOIN on a foreign key is not supported",
                            ))
                        }
                        JoinType::Full => {
                            return Err(EngineError::statement(format!(
                                "Invalid join type: full-outer join not supported for foreign-key table-table join. Got {} {} {}.",
                                left_name,
                                kind_text(j.join_type),
                                right.source.name
                            )))
                        }
                        _ => {}
                    }
                    if inputs[0].source.window.is_some() || right.source.window.is_some() {
                        return Err(EngineError::statement(
                            "Foreign-key table-table joins are not supported on windowed tables.",
                        ));
                    }
                    Shape::ForeignKey
                }
            }
        };
        // Keys and their types.
        let left_df = DFSchema::try_from(left_schema.as_ref().clone())?;
        let left_logical = tr(&on_scope, &left_df, types).translate(&c.left)?;
        let right_df = DFSchema::try_from(right.renamed.as_ref().clone())?;
        let right_logical = tr(&on_scope, &right_df, types).translate(&c.right)?;
        let left_expr = super::physical(left_logical, &left_schema)?;
        let right_expr = super::physical(right_logical, &right.renamed)?;
        let lt = left_expr.data_type(&left_schema)?;
        let rt = right_expr.data_type(&right.renamed)?;
        if lt != rt {
            let show = |e: &SqlExpr, t: &datafusion::arrow::datatypes::DataType| {
                format!(
                    "{}{{{}}}",
                    plain_text(e),
                    SqlType::from_arrow(t)
                        .map(|t| crate::format::kafka_type_name(&t))
                        .unwrap_or_else(|| t.to_string())
                )
            };
            return Err(EngineError::statement(format!(
                "Invalid join condition: types don't match. Got {} = {}.",
                show(&c.left, &lt),
                show(&c.right, &rt)
            )));
        }
        if let Some(t) = SqlType::from_arrow(&lt) {
            if t.contains_map() {
                return Err(EngineError::statement(format!(
                    "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                    c.left_col.clone().unwrap_or_else(|| "ROWKEY".into()),
                    t
                )));
            }
        }
        let left_pk = if shape == Shape::ForeignKey {
            inputs[0]
                .source
                .schema
                .key()
                .iter()
                .map(|(k, _)| {
                    let name = renamed(&inputs[0].alias, k);
                    let idx = left_schema.index_of(&name)?;
                    Ok(
                        Arc::new(datafusion::physical_expr::expressions::Column::new(
                            &name, idx,
                        )) as Arc<dyn PhysicalExpr>,
                    )
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let windowed = inputs[c.left_input].source.window.map(|w| w.is_session());
        if windowed.is_some() && (c.left_col.is_none() || c.right_col.is_none()) {
            return Err(EngineError::statement(
                "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
            ));
        }
        steps.push(JoinStep {
            kind: kind_of(j.join_type),
            shape,
            left_key: if left_in_set && shape != Shape::ForeignKey {
                None
            } else {
                Some(left_expr)
            },
            right_key: right_expr,
            left_pk,
            left_schema,
            windowed,
        });
        // Equivalence set and viable columns of this node.
        let right_text = c.right.to_string();
        let mut set = vec![left_text.clone(), right_text.clone()];
        if equivalence.contains(&left_text) || equivalence.contains(&right_text) {
            set.extend(equivalence.iter().cloned());
        }
        let mut next_viable: Vec<String> = Vec::new();
        // Viable: the left child's, then the left ON column, then the right ON column, those
        // in the equivalence set.
        let in_set =
            |col: &str| -> bool { set_columns(&set, &on_scope).contains(&col.to_string()) };
        for v in viable.iter() {
            if in_set(v) && !next_viable.contains(v) {
                next_viable.push(v.clone());
            }
        }
        for v in [&c.left_col, &c.right_col].into_iter().flatten() {
            if in_set(v) && !next_viable.contains(v) {
                next_viable.push(v.clone());
            }
        }
        if j.join_type == JoinType::Full {
            set.clear();
            next_viable.clear();
        }
        fk_join = shape == Shape::ForeignKey;
        if fk_join {
            // A foreign-key join's result is keyed by the left table's key.
            let pk = inputs[0].source.schema.key();
            set = pk
                .iter()
                .map(|(k, _)| format!("{}.{k}", inputs[0].alias))
                .collect();
            next_viable = pk
                .iter()
                .map(|(k, _)| renamed(&inputs[0].alias, k))
                .collect();
        }
        equivalence = set;
        viable = next_viable;
        if right_type == SourceType::Stream {
            any_stream = true;
        }
        left_fields.extend(right.renamed.fields().iter().map(|f| f.as_ref().clone()));
    }
    let output_type = if any_stream {
        SourceType::Stream
    } else {
        SourceType::Table
    };

    // Rewrite the projection: stars expanded, column references named as ksqlDB names them.
    let clash = |c: &str| {
        owners(c).len() > 1
            || [schema::ROWTIME, schema::ROWPARTITION, schema::ROWOFFSET].contains(&c)
    };
    let synthetic_name = || {
        let used = |n: &str| inputs.iter().any(|i| i.source.schema.column(n).is_some());
        if !used("ROWKEY")
            && !inputs.iter().any(|i| {
                i.source
                    .schema
                    .columns
                    .iter()
                    .any(|c| c.name.starts_with("ROWKEY_"))
            })
        {
            return "ROWKEY".to_string();
        }
        (1..)
            .map(|m| format!("ROWKEY_{m}"))
            .find(|n| !used(n))
            .unwrap_or_else(|| "ROWKEY".into())
    };
    let item_for = |i: usize, c: &str| SelectItem::Expr {
        expr: SqlExpr::CompoundIdentifier(vec![Ident::new(&inputs[i].alias), Ident::new(c)]),
        alias: Some(renamed(&inputs[i].alias, c)),
    };
    let synthetic = if fk_join || !viable.is_empty() {
        None
    } else {
        Some(synthetic_name())
    };
    let mut projection: Vec<SelectItem> = Vec::new();
    for item in &query.projection {
        match item {
            SelectItem::Wildcard => {
                if let Some(s) = &synthetic {
                    projection.push(SelectItem::Expr {
                        expr: SqlExpr::Identifier(Ident::new(s)),
                        alias: None,
                    });
                }
                for (i, input) in inputs.iter().enumerate() {
                    // Before a PARTITION BY, ksqlDB's star reads the join's value schema: each
                    // input's values, pseudo columns, then keys.
                    let columns = if !query.partition_by.is_empty() {
                        repartition_star_columns(&input.source)
                    } else {
                        star_columns(&input.source)
                    };
                    for c in columns {
                        projection.push(item_for(i, &c));
                    }
                }
            }
            SelectItem::QualifiedWildcard(q) => {
                let Some(i) = qualifier_of(q) else {
                    return Err(EngineError::statement(format!(
                        "'{q}' is not a valid stream/table name or alias."
                    )));
                };
                for c in star_columns(&inputs[i].source) {
                    projection.push(item_for(i, &c));
                }
            }
            SelectItem::Expr { expr, alias: None } => match column_ref(expr) {
                Some((Some(q), c)) if clash(c) => projection.push(SelectItem::Expr {
                    expr: expr.clone(),
                    alias: Some(renamed(q, c)),
                }),
                _ => projection.push(item.clone()),
            },
            other => projection.push(other.clone()),
        }
    }
    // The projection's plain column references, as renamed columns.
    let mut projected: Vec<String> = Vec::new();
    for item in &projection {
        if let SelectItem::Expr { expr, .. } = item {
            if let Some((q, c)) = column_ref(expr) {
                let resolved = resolve(q, c).map_err(|e| match (e, expr) {
                    (EngineError::Statement(m), SqlExpr::Identifier(id))
                        if id.span.start.line > 0 =>
                    {
                        EngineError::Statement(format!(
                            "Line: {}, Col: {}: {m}",
                            id.span.start.line, id.span.start.column
                        ))
                    }
                    (e, _) => e,
                })?;
                if let Some((i, c)) = resolved {
                    projected.push(renamed(&inputs[i].alias, &c));
                } else if q.is_none() && synthetic.as_deref() == Some(c) {
                    projected.push(c.to_string());
                }
            }
        }
    }

    // The joined source's key.
    let key_columns: Vec<(String, SqlType)> = if fk_join {
        inputs[0]
            .source
            .schema
            .key()
            .into_iter()
            .map(|(k, t)| (renamed(&inputs[0].alias, &k), t))
            .collect()
    } else {
        let c = criteria
            .last()
            .ok_or_else(|| EngineError::Internal("no join".into()))?;
        let key_type = column_type_of(&c.left, &on_scope, types, &all_schema, &all_df)?;
        let name = match &synthetic {
            Some(s) => s.clone(),
            None => viable
                .iter()
                .find(|v| projected.contains(v))
                .cloned()
                .unwrap_or_else(|| viable[0].clone()),
        };
        vec![(name, key_type)]
    };
    // The key must be projected.
    if persistent {
        if fk_join {
            let missing: Vec<String> = key_columns
                .iter()
                .filter(|(k, _)| !projected.contains(k))
                .map(|(k, _)| {
                    k.strip_prefix(&format!("{}_", inputs[0].alias))
                        .unwrap_or(k)
                        .to_string()
                })
                .collect();
            if !missing.is_empty() {
                let what = if missing.len() == 1 {
                    "column"
                } else {
                    "columns"
                };
                return Err(EngineError::statement(format!(
                    "Primary key {what} missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (`{}`). Missing {what}: {}.",
                    inputs[0].alias,
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        } else if !projected.contains(&key_columns[0].0) {
            let shown: Vec<String> = match &synthetic {
                Some(s) => vec![s.clone()],
                None => viable
                    .iter()
                    .map(|v| {
                        inputs
                            .iter()
                            .find_map(|i| {
                                v.strip_prefix(&format!("{}_", i.alias))
                                    .map(|c| format!("{}.{c}", i.alias))
                            })
                            .unwrap_or_else(|| v.clone())
                    })
                    .collect(),
            };
            let (what, list) = match shown.as_slice() {
                [one] => ("expression", one.clone()),
                [init @ .., last] => ("expressions", format!("{} or {last}", init.join(", "))),
                [] => ("expression", String::new()),
            };
            let mut msg = format!(
                "Key missing from projection (ie, SELECT).{}\nThe query used to build `{sink_name}` must include the join {what} {list} in its projection (eg, SELECT {}...).",
                if synthetic.is_some() { " See https://cnfl.io/2LV7ouS." } else { " " },
                shown.first().cloned().unwrap_or_default()
            );
            if let Some(s) = &synthetic {
                msg.push_str(&format!("\n{s} was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased. "));
            }
            return Err(EngineError::statement(msg));
        }
    }

    // The joined source: key, then every input's columns but the key's namesake, then pseudo
    // columns.
    let mut columns: Vec<Column> = key_columns
        .iter()
        .map(|(n, t)| Column {
            name: n.clone(),
            sql_type: t.clone(),
            kind: ColumnKind::Key,
        })
        .collect();
    let mut value_index = Vec::new();
    let mut window_index = Vec::new();
    let mut offset = 0;
    for input in &inputs {
        let cols = input_columns(&input.source);
        window_index.push(
            input
                .source
                .window
                .map(|_| offset + input.scan_schema.index_of(schema::WINDOWSTART).unwrap_or(0)),
        );
        for (k, (name, t, _)) in cols.iter().enumerate() {
            let r = renamed(&input.alias, name);
            if !key_columns.iter().any(|(kn, _)| kn == &r) {
                columns.push(Column {
                    name: r,
                    sql_type: t.clone(),
                    kind: ColumnKind::Value,
                });
                value_index.push(offset + k);
            }
        }
        offset += cols.len();
    }
    let first = &inputs[0].source;
    let output = Arc::new(Source {
        name: first.name.clone(),
        source_type: output_type,
        schema: LogicalSchema { columns },
        topic: first.topic.clone(),
        key_format: first.key_format.clone(),
        value_format: first.value_format.clone(),
        timestamp: None,
        is_source: true,
        window: first.window,
        sql: String::new(),
        written_by: None,
    });
    // The query's scope over the joined source.
    let mut scope = Scope::default();
    for (q, c, target) in &on_scope.columns {
        let target = if key_columns.iter().any(|(k, _)| k == target)
            || output.schema.column(target).is_some()
        {
            target.clone()
        } else {
            continue;
        };
        scope.columns.push((q.clone(), c.clone(), target));
    }
    // Key columns renamed away from a value column stay reachable by their qualified name.
    if let Some(s) = &synthetic {
        scope.columns.push((None, s.clone(), s.clone()));
    }
    scope.qualifiers = on_scope.qualifiers.clone();
    scope.ambiguous = inputs
        .iter()
        .flat_map(|i| i.scan_schema.fields().iter().map(|f| f.name().clone()))
        .filter(|c| owners(c).len() > 1)
        .map(|c| {
            let list = owners(&c)
                .iter()
                .map(|i| format!("{}.{c}", inputs[*i].alias))
                .collect::<Vec<_>>()
                .join(" or ");
            (c, list)
        })
        .collect();
    let mut rewritten = query.clone();
    rewritten.projection = projection;
    rewritten.joins.clear();
    rewritten.from = Relation {
        name: output.name.clone(),
        alias: None,
    };
    Ok((
        JoinPlan {
            inputs,
            steps,
            output,
            value_index,
            window_index,
            scope,
        },
        rewritten,
    ))
}

/// The renamed columns an equivalence set's expressions reference directly.
fn set_columns(set: &[String], scope: &Scope) -> Vec<String> {
    set.iter()
        .filter_map(|text| {
            let parts: Vec<&str> = text.split('.').collect();
            match parts.as_slice() {
                [q, c] => scope.resolve(Some(q), c).map(str::to_string),
                [c] => scope.resolve(None, c).map(str::to_string),
                _ => None,
            }
        })
        .collect()
}

/// The ksqlDB type of a join's left ON expression.
fn column_type_of(
    e: &SqlExpr,
    scope: &Scope,
    types: &HashMap<String, SqlType>,
    schema: &SchemaRef,
    df: &DFSchema,
) -> Result<SqlType> {
    let tr = ExprTranslator {
        scope,
        schema: df,
        types,
        clause: "JOIN ON",
        lambdas: Default::default(),
    };
    let logical: Expr = tr.translate(e)?;
    let p = super::physical(logical, schema)?;
    let dt = p.data_type(schema)?;
    SqlType::from_arrow(&dt).ok_or_else(|| EngineError::statement("join key of unknown type"))
}

/// Plans a query with `JOIN`s: the join, then the rest of the query over the joined source.
pub fn plan_joined(
    query: &Query,
    lookup: &dyn Fn(&str) -> Option<Arc<Source>>,
    types: &HashMap<String, SqlType>,
    sink_name: &str,
    persistent: bool,
) -> Result<super::select::SelectPlan> {
    let (join, rewritten) = plan_join(query, lookup, types, sink_name, persistent)?;
    // The window bounds of a windowed aggregation are not columns of a join's sources.
    if query.window.is_some() {
        for item in &query.projection {
            if let SelectItem::Expr { expr, .. } = item {
                if let Some((None, c)) = column_ref(expr) {
                    if c == schema::WINDOWSTART || c == schema::WINDOWEND {
                        return Err(EngineError::statement(format!(
                            "SELECT column '{c}' cannot be resolved."
                        )));
                    }
                }
            }
        }
    }
    let mut plan = super::select::plan_select_in(
        &rewritten,
        Arc::clone(&join.output),
        types,
        sink_name,
        persistent,
        Some(&join.scope),
    )?;
    let join = Arc::new(join);
    // The operators can be built (typed nulls for every input column): checked here, so that a
    // query never starts without its join state.
    crate::query::join::JoinRuntime::new(Arc::clone(&join))?;
    plan.join = Some(join);
    Ok(plan)
}
