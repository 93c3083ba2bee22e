//! ksqlDB expressions (sqlparser [`SqlExpr`]s from `flusso-sql`) translated into DataFusion
//! logical [`Expr`]s over a scan's columns, with ksqlDB's literal typing, operators, struct
//! dereference, 1-based subscripts, constructors and casts.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{Case, InList, Like};
use datafusion::logical_expr::{binary_expr, cast, lit, Between, Expr, ExprSchemable, Operator};
use flusso_sql::ast::Expr as SqlExpr;
use sqlparser::ast::{
    self as sql, AccessExpr, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments,
    Subscript, UnaryOperator, Value,
};

use crate::error::{EngineError, Result};
use crate::types::SqlType;

/// The columns an expression can see: qualifier (source name or alias) and column name to the
/// name of the column in the scan's batch.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `(qualifier, column) -> batch column`.
    pub columns: Vec<(Option<String>, String, String)>,
    /// Known qualifiers (source names and aliases).
    pub qualifiers: Vec<String>,
    /// Unqualified names found in several joined sources, with the candidates as ksqlDB lists
    /// them (`I1.F0 or I2.F0`).
    pub ambiguous: Vec<(String, String)>,
}

impl Scope {
    /// Finds a column by optional qualifier and name.
    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(q, n, _)| n == name && (qualifier.is_none() || q.as_deref() == qualifier))
            .map(|(_, _, b)| b.as_str())
    }
}

/// Translates ksqlDB expressions against one scope and Arrow schema.
pub struct ExprTranslator<'a> {
    /// The visible columns.
    pub scope: &'a Scope,
    /// The batch schema the expressions run over.
    pub schema: &'a DFSchema,
    /// `CREATE TYPE` names, for casts.
    pub types: &'a HashMap<String, SqlType>,
    /// Where the expression is (`WHERE`, `SELECT`, ...), for error messages.
    pub clause: &'static str,
    /// Lambda parameters in scope (innermost last) and their element fields.
    pub lambdas: std::cell::RefCell<Vec<(String, datafusion::arrow::datatypes::FieldRef)>>,
}

fn unsupported(what: impl std::fmt::Display) -> EngineError {
    EngineError::statement(format!("unsupported expression: {what}"))
}

/// A numeric literal typed as ksqlDB types it: INT, then BIGINT, DECIMAL for `1.5`, DOUBLE for
/// `1.5E0`.
pub fn number_literal(text: &str) -> Result<ScalarValue> {
    if text.contains(['e', 'E']) {
        return text
            .parse::<f64>()
            .map(|f| ScalarValue::Float64(Some(f)))
            .map_err(|_| EngineError::statement(format!("invalid number: {text}")));
    }
    if let Some((int, frac)) = text.split_once('.') {
        let digits = int
            .trim_start_matches(['-', '+'])
            .trim_start_matches('0')
            .len()
            + frac.len();
        let precision = digits.max(frac.len()).max(1) as u8;
        let scale = frac.len() as i8;
        let unscaled = crate::value::parse_decimal(text, precision.min(38), scale)
            .ok_or_else(|| EngineError::statement(format!("invalid number: {text}")))?;
        return Ok(ScalarValue::Decimal128(
            Some(unscaled),
            precision.min(38),
            scale,
        ));
    }
    if let Ok(i) = text.parse::<i32>() {
        return Ok(ScalarValue::Int32(Some(i)));
    }
    text.parse::<i64>()
        .map(|i| ScalarValue::Int64(Some(i)))
        .map_err(|_| EngineError::statement(format!("invalid number: {text}")))
}

/// A SQL type written in a CAST, resolved.
pub fn cast_type(t: &sql::DataType, types: &HashMap<String, SqlType>) -> Result<SqlType> {
    use sql::DataType as D;
    Ok(match t {
        D::Boolean | D::Bool => SqlType::Boolean,
        D::Int(_) | D::Integer(_) => SqlType::Int,
        D::BigInt(_) => SqlType::Bigint,
        D::Double(_) | D::DoublePrecision | D::Float(_) => SqlType::Double,
        D::Decimal(info) | D::Numeric(info) => match info {
            sql::ExactNumberInfo::PrecisionAndScale(p, s) => SqlType::Decimal(*p as u8, *s as i8),
            sql::ExactNumberInfo::Precision(p) => SqlType::Decimal(*p as u8, 0),
            sql::ExactNumberInfo::None => return Err(unsupported("DECIMAL without precision")),
        },
        D::String(_) | D::Varchar(_) | D::Text => SqlType::String,
        D::Bytes(_) | D::Bytea => SqlType::Bytes,
        D::Date => SqlType::Date,
        D::Time(..) => SqlType::Time,
        D::Timestamp(..) => SqlType::Timestamp,
        D::Array(sql::ArrayElemTypeDef::AngleBracket(e)) => {
            SqlType::Array(Box::new(cast_type(e, types)?))
        }
        D::Map(k, v) => SqlType::Map(
            Box::new(cast_type(k, types)?),
            Box::new(cast_type(v, types)?),
        ),
        D::Struct(fields, _) => SqlType::Struct(
            fields
                .iter()
                .map(|f| {
                    Ok((
                        f.field_name
                            .as_ref()
                            .map(|n| n.value.clone())
                            .unwrap_or_default(),
                        cast_type(&f.field_type, types)?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        D::Custom(name, _) => {
            let n = name.to_string();
            types
                .get(&n)
                .cloned()
                .ok_or_else(|| EngineError::statement(format!("Unknown type: {n}")))?
        }
        other => return Err(unsupported(other)),
    })
}

impl ExprTranslator<'_> {
    /// Translates one expression.
    pub fn translate(&self, e: &SqlExpr) -> Result<Expr> {
        Ok(match e {
            SqlExpr::Identifier(id) => match self.lambda_variable(&id.value) {
                Some(v) => v,
                None => self.column(None, &id.value).map_err(|e| match e {
                    // ksqlDB places an ambiguous name.
                    EngineError::Statement(m)
                        if m.contains("is ambiguous") && id.span.start.line > 0 =>
                    {
                        EngineError::Statement(format!(
                            "Line: {}, Col: {}: {m}",
                            id.span.start.line, id.span.start.column
                        ))
                    }
                    other => other,
                })?,
            },
            SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => {
                    if self.scope.qualifiers.iter().any(|s| s == &q.value) {
                        self.column(Some(&q.value), &c.value)?
                    } else {
                        return Err(EngineError::statement(format!(
                            "'{}' is not a valid stream/table name or alias.",
                            q.value
                        )));
                    }
                }
                _ => return Err(unsupported(e)),
            },
            SqlExpr::Value(v) => lit(self.value(&v.value)?),
            SqlExpr::Nested(inner) => self.translate(inner)?,
            SqlExpr::UnaryOp { op, expr } => {
                let inner = self.translate(expr)?;
                match op {
                    UnaryOperator::Minus => match inner {
                        Expr::Literal(v, _) => lit(negate(v)?),
                        other => Expr::Negative(Box::new(other)),
                    },
                    UnaryOperator::Plus => inner,
                    UnaryOperator::Not => Expr::Not(Box::new(inner)),
                    other => return Err(unsupported(other)),
                }
            }
            SqlExpr::BinaryOp { left, op, right } => self.binary(left, op, right)?,
            SqlExpr::IsNull(inner) => self.translate(inner)?.is_null(),
            SqlExpr::IsNotNull(inner) => self.translate(inner)?.is_not_null(),
            SqlExpr::IsDistinctFrom(a, b) => binary_expr(
                self.translate(a)?,
                Operator::IsDistinctFrom,
                self.translate(b)?,
            ),
            SqlExpr::IsNotDistinctFrom(a, b) => binary_expr(
                self.translate(a)?,
                Operator::IsNotDistinctFrom,
                self.translate(b)?,
            ),
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between(Between::new(
                Box::new(self.translate(expr)?),
                *negated,
                Box::new(self.translate(low)?),
                Box::new(self.translate(high)?),
            )),
            SqlExpr::InList {
                expr,
                list,
                negated,
            } => {
                let left = self.translate(expr)?;
                let left_type = SqlType::from_arrow(&self.type_of(&left)?);
                // Numeric items widen the type the others are checked against, as in ksqlDB.
                let mut widened: Option<SqlType> = None;
                let mut items = Vec::with_capacity(list.len());
                for x in list {
                    let item = self.translate(x)?;
                    let item_type = SqlType::from_arrow(&self.type_of(&item)?);
                    let target = match &widened {
                        Some(w) => typed_null(w)?,
                        None => left.clone(),
                    };
                    let coerced = match (&left_type, &item) {
                        // Number literals in a list of strings are read as their text.
                        (Some(SqlType::String), Expr::Literal(v, _))
                            if v.data_type().is_numeric() =>
                        {
                            Some(lit(v.to_string()))
                        }
                        (Some(t), _) => self.coerce_in_item(&target, t, item, x)?,
                        (None, _) => Some(self.coerce_to(&target, item, x)?),
                    };
                    if let (Some(l), Some(i)) = (&left_type, &item_type) {
                        if l.is_numeric() && i.is_numeric() {
                            widened = Some(widen_numeric(widened.as_ref().unwrap_or(l), i));
                        }
                    }
                    // `None`: an item that can never be equal (a struct with other fields).
                    items.extend(coerced);
                }
                if items.is_empty() {
                    lit(*negated)
                } else {
                    Expr::InList(InList::new(Box::new(left), items, *negated))
                }
            }
            SqlExpr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                ..
            } => {
                let escape = match escape_char {
                    Some(v) => match &v.value {
                        Value::SingleQuotedString(s) if s.chars().count() == 1 => s.chars().next(),
                        other => {
                            return Err(EngineError::statement(format!(
                                "ESCAPE must be a single character: {other}"
                            )))
                        }
                    },
                    None => None,
                };
                let mut pattern = self.translate(pattern)?;
                if let Some(c) = escape.filter(|c| *c != '\\') {
                    // DataFusion escapes with a backslash only: rewrite the pattern so that the
                    // declared escape character plays that part.
                    pattern = match pattern {
                        Expr::Literal(ScalarValue::Utf8(Some(p)), _) => {
                            lit(p.replace('\\', "\\\\").replace(c, "\\"))
                        }
                        other => {
                            let doubled = datafusion::functions::expr_fn::replace(
                                other,
                                lit("\\"),
                                lit("\\\\"),
                            );
                            datafusion::functions::expr_fn::replace(
                                doubled,
                                lit(c.to_string()),
                                lit("\\"),
                            )
                        }
                    };
                }
                Expr::Like(Like::new(
                    *negated,
                    Box::new(self.translate(expr)?),
                    Box::new(pattern),
                    escape.map(|_| '\\'),
                    false,
                ))
            }
            SqlExpr::Case {
                conditions,
                else_result,
                ..
            } if conditions.iter().all(|w| is_null_sql(&w.result))
                && else_result.as_deref().is_none_or(is_null_sql) =>
            {
                return Err(EngineError::statement(
                    "Invalid Case expression. All case branches have NULL type",
                ))
            }
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case(Case::new(
                operand
                    .as_ref()
                    .map(|o| self.translate(o).map(Box::new))
                    .transpose()?,
                conditions
                    .iter()
                    .map(|w| {
                        Ok((
                            Box::new(self.translate(&w.condition)?),
                            Box::new(self.translate(&w.result)?),
                        ))
                    })
                    .collect::<Result<_>>()?,
                else_result
                    .as_ref()
                    .map(|o| self.translate(o).map(Box::new))
                    .transpose()?,
            )),
            SqlExpr::Cast {
                expr, data_type, ..
            } => {
                let target = cast_type(data_type, self.types)?;
                self.cast_to(self.translate(expr)?, &target)?
            }
            SqlExpr::Array(arr) => {
                let items = arr
                    .elem
                    .iter()
                    .map(|x| self.translate(x))
                    .collect::<Result<Vec<_>>>()?;
                datafusion::functions_nested::expr_fn::make_array(items)
            }
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                // `source.column[...]`: the root is a qualifier, not a column.
                let qualified = match (root.as_ref(), access_chain.first()) {
                    (SqlExpr::Identifier(q), Some(AccessExpr::Dot(SqlExpr::Identifier(c))))
                        if self.scope.qualifiers.contains(&q.value)
                            && self.scope.resolve(None, &q.value).is_none() =>
                    {
                        Some(self.column(Some(&q.value), &c.value)?)
                    }
                    _ => None,
                };
                let (mut out, chain) = match qualified {
                    Some(c) => (c, &access_chain[1..]),
                    None => (self.translate(root)?, &access_chain[..]),
                };
                for access in chain {
                    out = match access {
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            self.subscript(out, self.translate(index)?)?
                        }
                        AccessExpr::Dot(field) => self.field(out, field)?,
                        other => return Err(unsupported(other)),
                    };
                }
                out
            }
            SqlExpr::Function(f) => self.function(f)?,
            SqlExpr::Floor { expr, .. } | SqlExpr::Ceil { expr, .. } => {
                let name = if matches!(e, SqlExpr::Floor { .. }) {
                    "FLOOR"
                } else {
                    "CEIL"
                };
                crate::functions::scalar_call(name, vec![self.translate(expr)?], self.schema)
                    .map_err(EngineError::statement)?
            }
            SqlExpr::Trim {
                expr,
                trim_where: None,
                trim_what: None,
                ..
            } => crate::functions::scalar_call("TRIM", vec![self.translate(expr)?], self.schema)
                .map_err(EngineError::Statement)?,
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.translate(expr)?];
                if let Some(from) = substring_from {
                    args.push(self.translate(from)?);
                }
                if let Some(len) = substring_for {
                    args.push(self.translate(len)?);
                }
                crate::functions::scalar_call("SUBSTRING", args, self.schema)
                    .map_err(EngineError::Statement)?
            }
            other => return Err(unsupported(other)),
        })
    }

    fn lambda_variable(&self, name: &str) -> Option<Expr> {
        let lambdas = self.lambdas.borrow();
        let (n, field) = lambdas.iter().rev().find(|(n, _)| n == name)?;
        Some(Expr::LambdaVariable(
            datafusion::logical_expr::expr::LambdaVariable::new(n.clone(), Some(Arc::clone(field))),
        ))
    }

    /// `TRANSFORM(array, x => ...)` and `FILTER(array, x => ...)` as DataFusion's higher-order
    /// array functions; `None` when the call has another shape (maps, REDUCE).
    fn array_lambda(&self, name: &str, list: &[FunctionArg]) -> Result<Option<Expr>> {
        let [FunctionArg::Unnamed(FunctionArgExpr::Expr(array)), FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Lambda(l)))] =
            list
        else {
            return Ok(None);
        };
        let params: Vec<String> = l.params.iter().map(|p| p.name.value.clone()).collect();
        let [param] = params.as_slice() else {
            return Ok(None);
        };
        let array = self.translate(array)?;
        let element = match self.type_of(&array)? {
            DataType::List(f) | DataType::LargeList(f) => f,
            _ => return Ok(None),
        };
        let field = Arc::new(datafusion::arrow::datatypes::Field::new(
            param,
            element.data_type().clone(),
            true,
        ));
        self.lambdas.borrow_mut().push((param.clone(), field));
        let body = self.translate(&l.body);
        self.lambdas.borrow_mut().pop();
        let lambda = datafusion::logical_expr::expr_fn::lambda([param.clone()], body?);
        Ok(Some(match name {
            "TRANSFORM" => datafusion::functions_nested::expr_fn::array_transform(array, lambda),
            _ => datafusion::functions_nested::expr_fn::array_filter(array, lambda),
        }))
    }

    fn column(&self, qualifier: Option<&str>, name: &str) -> Result<Expr> {
        match self.scope.resolve(qualifier, name) {
            Some(b) => Ok(Expr::Column(Column::new_unqualified(b))),
            None => {
                if qualifier.is_none() {
                    if let Some((_, list)) = self.scope.ambiguous.iter().find(|(n, _)| n == name) {
                        return Err(EngineError::statement(format!(
                            "Column '{name}' is ambiguous. Could be {list}."
                        )));
                    }
                }
                let shown = match qualifier {
                    Some(q) => format!("{q}.{name}"),
                    None => name.to_string(),
                };
                Err(EngineError::statement(format!(
                    "{} column '{shown}' cannot be resolved.",
                    self.clause
                )))
            }
        }
    }

    fn value(&self, v: &Value) -> Result<ScalarValue> {
        Ok(match v {
            Value::Number(n, _) => number_literal(n)?,
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                ScalarValue::Utf8(Some(s.clone()))
            }
            Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
            Value::Null => ScalarValue::Null,
            other => return Err(unsupported(other)),
        })
    }

    fn type_of(&self, e: &Expr) -> Result<DataType> {
        Ok(e.get_type(self.schema)?)
    }

    fn binary(&self, left: &SqlExpr, op: &BinaryOperator, right: &SqlExpr) -> Result<Expr> {
        if *op == BinaryOperator::Arrow {
            let base = self.translate(left)?;
            return self.field(base, right);
        }
        let l = self.translate(left)?;
        let r = self.translate(right)?;
        let comparison = matches!(
            op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
        );
        let arithmetic = matches!(
            op,
            BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo
        );
        if arithmetic && (is_null_literal(&l) || is_null_literal(&r)) {
            let text = |e: &Expr, sql: &SqlExpr| {
                if is_null_literal(e) {
                    "null".to_string()
                } else {
                    sql.to_string().replace(" := ", ":=")
                }
            };
            let type_name = |e: &Expr| -> Result<String> {
                if is_null_literal(e) {
                    return Ok("null".into());
                }
                let t = self.type_of(e)?;
                Ok(SqlType::from_arrow(&t).map_or_else(|| t.to_string(), |t| t.to_string()))
            };
            return Err(EngineError::statement(format!(
                "Error processing expression: ({} {op} {}). Arithmetic on types {} and {} are not supported.",
                text(&l, left),
                text(&r, right),
                type_name(&l)?,
                type_name(&r)?
            )));
        }
        let (l, r) = if comparison {
            if is_null_literal(&l) && is_null_literal(&r) {
                return Err(EngineError::statement(format!(
                    "Comparison with NULL not supported: NULL {op} NULL"
                )));
            }
            if matches!(&l, Expr::Literal(ScalarValue::Utf8(Some(_)), _)) {
                let l = self.coerce_to(&r, l, left)?;
                (l, r)
            } else {
                let r = self.coerce_to(&l, r, right)?;
                (l, r)
            }
        } else {
            (l, r)
        };
        let operator = match op {
            BinaryOperator::Plus => {
                let is_text = |t: &DataType| {
                    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
                };
                if is_text(&self.type_of(&l)?) && is_text(&self.type_of(&r)?) {
                    Operator::StringConcat
                } else {
                    Operator::Plus
                }
            }
            BinaryOperator::Minus => Operator::Minus,
            BinaryOperator::Multiply => Operator::Multiply,
            BinaryOperator::Divide => Operator::Divide,
            BinaryOperator::Modulo => Operator::Modulo,
            BinaryOperator::Eq => Operator::Eq,
            BinaryOperator::NotEq => Operator::NotEq,
            BinaryOperator::Lt => Operator::Lt,
            BinaryOperator::LtEq => Operator::LtEq,
            BinaryOperator::Gt => Operator::Gt,
            BinaryOperator::GtEq => Operator::GtEq,
            BinaryOperator::And => Operator::And,
            BinaryOperator::Or => Operator::Or,
            BinaryOperator::StringConcat => Operator::StringConcat,
            other => return Err(unsupported(other)),
        };
        let e = binary_expr(l, operator, r);
        if comparison {
            // ksqlDB's comparisons are false, not NULL, when an operand is NULL.
            return Ok(Expr::IsTrue(Box::new(e)));
        }
        Ok(e)
    }

    /// `base->field` on a struct (field matched exactly, then case-insensitively).
    fn field(&self, base: Expr, field: &SqlExpr) -> Result<Expr> {
        let name = match field {
            SqlExpr::Identifier(id) => id.value.clone(),
            other => return Err(unsupported(other)),
        };
        match self.type_of(&base)? {
            DataType::Struct(fields) => {
                let found = fields
                    .iter()
                    .find(|f| f.name() == &name)
                    .or_else(|| fields.iter().find(|f| f.name().eq_ignore_ascii_case(&name)))
                    .ok_or_else(|| {
                        EngineError::statement(format!(
                            "Could not find field '{name}' in '{base}'."
                        ))
                    })?;
                Ok(datafusion::functions::core::expr_fn::get_field(
                    base,
                    field_name(found),
                ))
            }
            DataType::Null => Ok(lit(ScalarValue::Null)),
            other => Err(EngineError::statement(format!(
                "Expected STRUCT type for '->' but got {}",
                SqlType::from_arrow(&other)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| other.to_string())
            ))),
        }
    }

    /// `base[index]`: 1-based on arrays (negative counts from the end), by key on maps.
    fn subscript(&self, base: Expr, index: Expr) -> Result<Expr> {
        match self.type_of(&base)? {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => Ok(
                datafusion::functions_nested::expr_fn::array_element(base, index),
            ),
            DataType::Map(..) => {
                Ok(datafusion::functions::core::get_field().call(vec![base, index]))
            }
            other => Err(EngineError::statement(format!(
                "Subscripts are only supported on ARRAY and MAP values, not {other}"
            ))),
        }
    }

    /// Makes `other` comparable with `target` as ksqlDB does: string literals are parsed into
    /// the target's type, nested values are cast when their elements are comparable, and
    /// anything else that differs is refused.
    /// An IN list item made comparable with the tested value of type `tt`: STRUCT and ARRAY
    /// constructors are coerced element by element (struct fields by name, missing ones null);
    /// `None` when the item can never match (a struct with a field the value lacks).
    fn coerce_in_item(
        &self,
        target: &Expr,
        tt: &SqlType,
        item: Expr,
        sql: &SqlExpr,
    ) -> Result<Option<Expr>> {
        let Expr::ScalarFunction(f) = &item else {
            return self.coerce_to(target, item, sql).map(Some);
        };
        match (tt, f.func.name()) {
            (SqlType::Struct(fields), "named_struct") => {
                let mut given = Vec::new();
                for pair in f.args.chunks(2) {
                    let (Expr::Literal(ScalarValue::Utf8(Some(name)), _), [_, value]) =
                        (&pair[0], pair)
                    else {
                        return self.coerce_to(target, item.clone(), sql).map(Some);
                    };
                    if !fields.iter().any(|(n, _)| n == name) {
                        return Ok(None);
                    }
                    given.push((name.clone(), value.clone()));
                }
                let mut args = Vec::with_capacity(fields.len() * 2);
                for (name, t) in fields {
                    args.push(lit(name.clone()));
                    args.push(match given.iter().find(|(n, _)| n == name) {
                        Some((_, v)) => {
                            match self.coerce_in_item(&typed_null(t)?, t, v.clone(), sql) {
                                Ok(Some(v)) => v,
                                Ok(None) => return Ok(None),
                                // A column of the wrong type: ksqlDB names the whole structs.
                                Err(_) if !matches!(v, Expr::Literal(..)) => {
                                    return self.coerce_to(target, item.clone(), sql).map(Some)
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        None => typed_null(t)?,
                    });
                }
                Ok(Some(cast(
                    datafusion::functions::core::expr_fn::named_struct(args),
                    tt.to_arrow(),
                )))
            }
            (SqlType::Array(element), "make_array") => {
                let target = typed_null(element)?;
                let mut items = Vec::with_capacity(f.args.len());
                for a in &f.args {
                    match self.coerce_in_item(&target, element, a.clone(), sql)? {
                        Some(v) => items.push(v),
                        None => return Ok(None),
                    }
                }
                Ok(Some(cast(
                    datafusion::functions_nested::expr_fn::make_array(items),
                    tt.to_arrow(),
                )))
            }
            _ => self.coerce_to(target, item, sql).map(Some),
        }
    }

    fn coerce_to(&self, target: &Expr, other: Expr, other_sql: &SqlExpr) -> Result<Expr> {
        let tt = self.type_of(target)?;
        let ot = self.type_of(&other)?;
        if tt == ot || tt == DataType::Null || ot == DataType::Null {
            return Ok(other);
        }
        let (Some(ts), Some(os)) = (SqlType::from_arrow(&tt), SqlType::from_arrow(&ot)) else {
            return Ok(other);
        };
        let refuse = || {
            EngineError::statement(format!(
                "{}operator does not exist: {ts} = {os} ({})\nHint: You might need to add explicit type casts.",
                if self.clause == "WHERE" {
                    "Invalid Predicate: "
                } else {
                    ""
                },
                other_sql.to_string().replace(" := ", ":=")
            ))
        };
        if ts.is_numeric() && os.is_numeric() {
            return Ok(other);
        }
        // ksqlDB's "magic" conversion: ROWTIME and window bounds compare with timestamp text.
        if let (Expr::Column(c), Expr::Literal(ScalarValue::Utf8(Some(text)), _)) = (target, &other)
        {
            if matches!(c.name.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND")
                && text.trim().parse::<i64>().is_err()
            {
                if let Some(ms) = parse_timestamp_text(text) {
                    return Ok(lit(ms));
                }
            }
        }
        if let (SqlType::String, Expr::Literal(ScalarValue::Utf8(Some(text)), _)) = (&os, &other) {
            let invalid = || {
                EngineError::statement(format!(
                    "{}invalid input syntax for type {}: \"{text}\".",
                    if self.clause == "WHERE" {
                        "Invalid Predicate: "
                    } else {
                        ""
                    },
                    match &ts {
                        SqlType::Decimal(..) => "DECIMAL".to_string(),
                        t => t.to_string(),
                    }
                ))
            };
            return match &ts {
                SqlType::Boolean => parse_boolean(text).map(lit).ok_or_else(invalid),
                SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal(..) => {
                    let t = text.trim();
                    if t.parse::<f64>().is_err() || t.contains(['e', 'E', 'n', 'N', 'i', 'I']) {
                        return Err(invalid());
                    }
                    number_literal(t).map(lit).map_err(|_| invalid())
                }
                SqlType::Date | SqlType::Time | SqlType::Timestamp => Ok(cast(other, tt)),
                _ => Err(refuse()),
            };
        }
        let comparable = |a: &SqlType, b: &SqlType| -> bool { nested_comparable(a, b) };
        if ts.is_nested() && comparable(&ts, &os) {
            if let Expr::Literal(..) | Expr::ScalarFunction(_) = &other {
                return Ok(cast(other, tt));
            }
            return Ok(cast(other, tt));
        }
        if matches!(
            (&ts, &os),
            (
                SqlType::Date | SqlType::Time | SqlType::Timestamp,
                SqlType::Date | SqlType::Time | SqlType::Timestamp
            )
        ) {
            return Ok(other);
        }
        Err(refuse())
    }

    /// A cast with ksqlDB's conversions.
    pub fn cast_to(&self, e: Expr, target: &SqlType) -> Result<Expr> {
        let from = self.type_of(&e)?;
        let to = target.to_arrow();
        if from == to {
            return Ok(e);
        }
        // `STRUCT()` is a struct of the target type with every field null.
        if let (DataType::Struct(empty), DataType::Struct(fields)) = (&from, &to) {
            if empty.is_empty() && matches!(e, Expr::Literal(..)) {
                let columns = fields
                    .iter()
                    .map(|f| datafusion::arrow::array::new_null_array(f.data_type(), 1))
                    .collect();
                let array =
                    datafusion::arrow::array::StructArray::try_new(fields.clone(), columns, None)?;
                return Ok(lit(ScalarValue::Struct(Arc::new(array))));
            }
        }
        if matches!(target, SqlType::String) {
            if let DataType::Float64 | DataType::Float32 = from {
                return Ok(crate::planner::udfs::double_to_string().call(vec![e]));
            }
        }
        Ok(cast(e, to))
    }

    fn function(&self, f: &sql::Function) -> Result<Expr> {
        let name = f.name.to_string().to_uppercase();
        let list = match &f.args {
            FunctionArguments::List(list) => list.args.as_slice(),
            FunctionArguments::None => &[],
            FunctionArguments::Subquery(_) => return Err(unsupported("subquery")),
        };
        if crate::functions::LAMBDA_NAMES.contains(&name.as_str()) {
            if let Some(e) = self.array_lambda(&name, list)? {
                return Ok(e);
            }
        }
        let mut positional = Vec::new();
        let mut named = Vec::new();
        let unit_first = matches!(
            name.as_str(),
            "DATEADD" | "DATESUB" | "TIMEADD" | "TIMESUB" | "TIMESTAMPADD" | "TIMESTAMPSUB"
        );
        for (i, arg) in list.iter().enumerate() {
            if unit_first && i == 0 {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Identifier(id))) = arg {
                    positional.push(lit(id.value.to_uppercase()));
                    continue;
                }
            }
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::BinaryOp {
                    left,
                    op: BinaryOperator::Assignment,
                    right,
                })) => {
                    let key = match (name.as_str(), left.as_ref()) {
                        ("STRUCT", SqlExpr::Identifier(id)) => lit(id.value.clone()),
                        _ => self.translate(left)?,
                    };
                    named.push((key, self.translate(right)?));
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => {
                    positional.push(self.translate(x)?)
                }
                FunctionArg::Unnamed(_) => {
                    return Err(EngineError::statement(format!(
                        "'*' is only valid in COUNT(*), not in {name}"
                    )))
                }
                FunctionArg::Named {
                    name: n,
                    arg: FunctionArgExpr::Expr(x),
                    ..
                } => named.push((lit(n.value.clone()), self.translate(x)?)),
                FunctionArg::ExprNamed {
                    name: n,
                    arg: FunctionArgExpr::Expr(x),
                    ..
                } => {
                    let key = match n {
                        SqlExpr::Identifier(id) => lit(id.value.clone()),
                        other => self.translate(other)?,
                    };
                    named.push((key, self.translate(x)?))
                }
                other => return Err(unsupported(other)),
            }
        }
        match name.as_str() {
            "STRUCT" => {
                let mut args = Vec::new();
                for (k, v) in named {
                    args.push(k);
                    args.push(v);
                }
                if args.is_empty() {
                    // An empty struct: read as a struct of any type with every field null.
                    return Ok(lit(ScalarValue::Struct(Arc::new(
                        datafusion::arrow::array::StructArray::new_empty_fields(1, None),
                    ))));
                }
                Ok(datafusion::functions::core::expr_fn::named_struct(args))
            }
            "MAP" => {
                let (keys, values): (Vec<_>, Vec<_>) = named.into_iter().unzip();
                // A null STRING key is written `"null"` by ksqlDB's serializers; an Arrow map
                // cannot hold a null key, so the key is that text from the start.
                let keys = keys
                    .into_iter()
                    .map(|k| match k {
                        Expr::Literal(ref v, _) if !v.is_null() => Ok(k),
                        k if matches!(self.type_of(&k), Ok(DataType::Utf8)) => Ok(
                            datafusion::logical_expr::when(k.clone().is_null(), lit("null"))
                                .otherwise(k)?,
                        ),
                        k => Ok(k),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(datafusion::functions_nested::map::map(keys, values))
            }
            "ARRAY" => Ok(datafusion::functions_nested::expr_fn::make_array(
                positional,
            )),
            "AS_VALUE" if positional.len() == 1 => Ok(positional.remove(0).alias("AS_VALUE")),
            _ if super::registry::lookup(&name).is_some() => Ok(super::registry::lookup(&name)
                .map(|udf| udf.call(positional))
                .unwrap_or_else(|| lit(ScalarValue::Null))),
            _ => crate::functions::scalar_call(&name, positional, self.schema)
                .map_err(EngineError::Statement),
        }
    }
}

/// Timestamp text as ksqlDB accepts it in comparisons with ROWTIME (`2018-01-01T00:00:00.001`,
/// shorter prefixes, an optional zone), in epoch milliseconds.
fn parse_timestamp_text(text: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Some(chrono::Utc.from_utc_datetime(&dt).timestamp_millis());
        }
    }
    let date = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    Some(
        chrono::Utc
            .from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)
            .timestamp_millis(),
    )
}

fn is_null_sql(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Value(v) if v.value == Value::Null)
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(ScalarValue::Null, _))
}

/// ksqlDB's lenient boolean text: any prefix of true/false/yes/no, case-insensitive.
fn parse_boolean(text: &str) -> Option<bool> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return None;
    }
    if "true".starts_with(&t) || "yes".starts_with(&t) {
        Some(true)
    } else if "false".starts_with(&t) || "no".starts_with(&t) {
        Some(false)
    } else {
        None
    }
}

/// Whether two nested types compare element-wise.
/// A NULL of a type.
fn typed_null(t: &SqlType) -> Result<Expr> {
    Ok(lit(ScalarValue::try_from(&t.to_arrow())?))
}

/// The numeric type both `a` and `b` fit (ksqlDB's widening: INT < BIGINT < DECIMAL < DOUBLE,
/// decimals keeping the larger integral and fractional parts).
fn widen_numeric(a: &SqlType, b: &SqlType) -> SqlType {
    let as_decimal = |t: &SqlType| match t {
        SqlType::Int => Some((10u8, 0i8)),
        SqlType::Bigint => Some((19, 0)),
        SqlType::Decimal(p, s) => Some((*p, *s)),
        _ => None,
    };
    match (a, b) {
        (SqlType::Double, _) | (_, SqlType::Double) => SqlType::Double,
        (SqlType::Int, SqlType::Int) => SqlType::Int,
        (SqlType::Int | SqlType::Bigint, SqlType::Int | SqlType::Bigint) => SqlType::Bigint,
        _ => match (as_decimal(a), as_decimal(b)) {
            (Some((p1, s1)), Some((p2, s2))) => {
                let scale = s1.max(s2);
                let integral = (p1 as i16 - s1 as i16).max(p2 as i16 - s2 as i16);
                SqlType::Decimal((integral + scale as i16).min(38) as u8, scale)
            }
            _ => a.clone(),
        },
    }
}

fn nested_comparable(a: &SqlType, b: &SqlType) -> bool {
    match (a, b) {
        (x, y) if x == y => true,
        (x, y) if x.is_numeric() && y.is_numeric() => true,
        (SqlType::Array(x), SqlType::Array(y)) => nested_comparable(x, y),
        (SqlType::Map(k1, v1), SqlType::Map(k2, v2)) => {
            nested_comparable(k1, k2) && nested_comparable(v1, v2)
        }
        (SqlType::Struct(f1), SqlType::Struct(f2)) => f2
            .iter()
            .all(|(n, t)| f1.iter().any(|(m, u)| m == n && nested_comparable(u, t))),
        _ => false,
    }
}

fn field_name(f: &Arc<datafusion::arrow::datatypes::Field>) -> String {
    f.name().clone()
}

fn negate(v: ScalarValue) -> Result<ScalarValue> {
    Ok(match v {
        ScalarValue::Int32(Some(i)) => ScalarValue::Int32(Some(-i)),
        ScalarValue::Int64(Some(i)) if i == i32::MAX as i64 + 1 => {
            ScalarValue::Int32(Some(i32::MIN))
        }
        ScalarValue::Int64(Some(i)) => ScalarValue::Int64(Some(-i)),
        ScalarValue::Float64(Some(f)) => ScalarValue::Float64(Some(-f)),
        ScalarValue::Decimal128(Some(u), p, s) => ScalarValue::Decimal128(Some(-u), p, s),
        other => other.arithmetic_negate()?,
    })
}
