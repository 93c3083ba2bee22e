//! Checks on expressions from sqlparser that ksqlDB's grammar is stricter about: row values
//! (`(a, b)`) do not exist, and numeric literals must fit their type.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions, Expr, Spanned, UnaryOperator, Value};
use sqlparser::tokenizer::Token;

use super::Parser;
use crate::error::ParseError;

/// 2^63: the magnitude of `i64::MIN`, allowed only right after a unary minus.
const I64_MIN_MAGNITUDE: u128 = 1 << 63;

impl Parser<'_> {
    /// Rejects what sqlparser accepts but ksqlDB's grammar does not.
    pub(super) fn check_expr(&self, expr: &Expr) -> Result<(), ParseError> {
        let mut negated: Vec<*const Expr> = Vec::new();
        let flow = visit_expressions(expr, |e| {
            match e {
                Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: operand,
                } => {
                    negated.push(&raw const **operand);
                }
                Expr::Tuple(items) => {
                    let after_first = items.first().map(|item| item.span().end);
                    return ControlFlow::Break(self.tuple_error(after_first));
                }
                Expr::Value(value) => {
                    if let Value::Number(text, _) = &value.value {
                        let negative = negated.iter().any(|p| std::ptr::eq(*p, e));
                        if !numeric_literal_fits(text, negative) {
                            let start = value.span.start;
                            let sign = if negative { "-" } else { "" };
                            return ControlFlow::Break(ParseError::literal(
                                if text.contains(['e', 'E']) {
                                    format!("Number overflows DOUBLE: {sign}{text}")
                                } else {
                                    format!("Invalid numeric literal: {sign}{text}")
                                },
                                start.line,
                                start.column,
                            ));
                        }
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        });
        match flow {
            ControlFlow::Break(error) => Err(error),
            ControlFlow::Continue(()) => Ok(()),
        }
    }

    /// ksqlDB reports a row value as a missing `)` at its first comma.
    fn tuple_error(&self, after_first: Option<sqlparser::tokenizer::Location>) -> ParseError {
        let comma = after_first.and_then(|after| {
            self.tokens.iter().position(|t| {
                t.token == Token::Comma
                    && (t.span.start.line, t.span.start.column) >= (after.line, after.column)
            })
        });
        match comma {
            Some(index) => self.error_at(index, "missing ')' at ','"),
            None => self.error_here("row values are not supported"),
        }
    }
}

/// Integer literals must fit a BIGINT and floating-point ones a DOUBLE.
fn numeric_literal_fits(text: &str, negative: bool) -> bool {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let limit = if negative {
            I64_MIN_MAGNITUDE
        } else {
            I64_MIN_MAGNITUDE - 1
        };
        return text.parse::<u128>().is_ok_and(|n| n <= limit);
    }
    if text.contains(['e', 'E']) {
        return text.parse::<f64>().is_ok_and(f64::is_finite);
    }
    true
}
