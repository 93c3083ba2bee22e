//! `SELECT` queries: projection, `FROM` with joins, `WINDOW`, filters, grouping, `EMIT`, `LIMIT`.

use sqlparser::ast::{BinaryOperator, Expr};
use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{
    Duration, Emit, Join, JoinType, Query, Relation, SelectItem, TimeUnit, WindowExpr, WindowKind,
    WithinExpr,
};
use crate::error::ParseError;

/// Words that end a projection item or a relation, so they cannot be bare aliases.
const CLAUSE_WORDS: &[&str] = &[
    "FROM",
    "WHERE",
    "WINDOW",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "ON",
    "WITHIN",
    "AS",
];

impl Parser<'_> {
    /// `SELECT ...`, at `SELECT`.
    pub(super) fn parse_query(&mut self) -> Result<Query, ParseError> {
        self.expect_keyword("SELECT")?;
        let mut projection = Vec::new();
        loop {
            projection.push(self.parse_select_item()?);
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect_keyword("FROM")?;
        let from = self.parse_relation()?;
        let mut joins = Vec::new();
        while let Some(join_type) = self.parse_join_type() {
            joins.push(self.parse_join(join_type)?);
        }
        let window = self.parse_clause(&["WINDOW"], Self::parse_window)?;
        let selection = self.parse_clause(&["WHERE"], Self::parse_expr)?;
        let group_by = self
            .parse_clause(&["GROUP", "BY"], Self::parse_group_by)?
            .unwrap_or_default();
        let partition_by = self
            .parse_clause(&["PARTITION", "BY"], Self::parse_expr_list)?
            .unwrap_or_default();
        let having = self.parse_clause(&["HAVING"], Self::parse_expr)?;
        let emit = if self.parse_keyword("EMIT") {
            if self.parse_keyword("CHANGES") {
                Some(Emit::Changes)
            } else if self.parse_keyword("FINAL") {
                Some(Emit::Final)
            } else {
                return Err(self.expected("CHANGES or FINAL"));
            }
        } else {
            None
        };
        let limit = self.parse_clause(&["LIMIT"], Self::parse_u64)?;
        Ok(Query {
            projection,
            from,
            joins,
            window,
            selection,
            group_by,
            partition_by,
            having,
            emit,
            limit,
        })
    }

    fn parse_select_item(&mut self) -> Result<SelectItem, ParseError> {
        if self.consume(&Token::Mul) {
            return Ok(SelectItem::Wildcard);
        }
        if matches!(self.peek(), Token::Word(_))
            && *self.peek_nth(1) == Token::Period
            && *self.peek_nth(2) == Token::Mul
        {
            let source = self.parse_identifier()?;
            self.pos += 2;
            return Ok(SelectItem::QualifiedWildcard(source));
        }
        let expr = self.parse_expr()?;
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        } = &expr
        {
            if matches!(**right, Expr::Wildcard(_)) {
                return Ok(SelectItem::StructWildcard((**left).clone()));
            }
        }
        let alias = self.parse_optional_alias(CLAUSE_WORDS)?;
        Ok(SelectItem::Expr { expr, alias })
    }

    fn parse_relation(&mut self) -> Result<Relation, ParseError> {
        let name = self.parse_identifier()?;
        let alias = self.parse_optional_alias(CLAUSE_WORDS)?;
        Ok(Relation { name, alias })
    }

    /// Consumes `[INNER|LEFT|RIGHT|FULL] [OUTER] JOIN` if present.
    fn parse_join_type(&mut self) -> Option<JoinType> {
        let join_type = if self.parse_keyword("JOIN") || self.parse_keywords(&["INNER", "JOIN"]) {
            return Some(JoinType::Inner);
        } else if self.peek_keyword("LEFT") {
            JoinType::Left
        } else if self.peek_keyword("RIGHT") {
            JoinType::Right
        } else if self.peek_keyword("FULL") {
            JoinType::Full
        } else {
            return None;
        };
        let outer = usize::from(self.is_keyword_at(1, "OUTER"));
        if !self.is_keyword_at(1 + outer, "JOIN") {
            return None;
        }
        self.pos += 2 + outer;
        Some(join_type)
    }

    fn parse_join(&mut self, join_type: JoinType) -> Result<Join, ParseError> {
        let relation = self.parse_relation()?;
        let within = if self.parse_keyword("WITHIN") {
            let (before, after) = if self.consume(&Token::LParen) {
                let before = self.parse_duration()?;
                self.expect(&Token::Comma)?;
                let after = self.parse_duration()?;
                self.expect(&Token::RParen)?;
                (before, after)
            } else {
                let size = self.parse_duration()?;
                (size, size)
            };
            let grace = self.parse_grace_period()?;
            Some(WithinExpr {
                before,
                after,
                grace,
            })
        } else {
            None
        };
        self.expect_keyword("ON")?;
        let on = self.parse_expr()?;
        Ok(Join {
            join_type,
            relation,
            within,
            on,
        })
    }

    /// `TUMBLING (...)`, `HOPPING (...)` or `SESSION (...)`, after `WINDOW`.
    fn parse_window(&mut self) -> Result<WindowExpr, ParseError> {
        let kind = if self.parse_keyword("TUMBLING") {
            self.expect(&Token::LParen)?;
            self.expect_keyword("SIZE")?;
            WindowKind::Tumbling {
                size: self.parse_duration()?,
            }
        } else if self.parse_keyword("HOPPING") {
            self.expect(&Token::LParen)?;
            self.expect_keyword("SIZE")?;
            let size = self.parse_duration()?;
            self.expect(&Token::Comma)?;
            self.expect_keywords(&["ADVANCE", "BY"])?;
            WindowKind::Hopping {
                size,
                advance: self.parse_duration()?,
            }
        } else if self.parse_keyword("SESSION") {
            self.expect(&Token::LParen)?;
            WindowKind::Session {
                gap: self.parse_duration()?,
            }
        } else {
            return Err(self.expected("TUMBLING, HOPPING or SESSION"));
        };
        let mut window = WindowExpr {
            kind,
            retention: None,
            grace: None,
        };
        while self.consume(&Token::Comma) {
            if window.retention.is_none() && self.parse_keyword("RETENTION") {
                window.retention = Some(self.parse_duration()?);
            } else if window.grace.is_none() && self.peek_keyword("GRACE") {
                window.grace = self.parse_grace_period()?;
            } else {
                return Err(self.expected("RETENTION or GRACE PERIOD"));
            }
        }
        self.expect(&Token::RParen)?;
        Ok(window)
    }

    fn parse_grace_period(&mut self) -> Result<Option<Duration>, ParseError> {
        if self.parse_keywords(&["GRACE", "PERIOD"]) {
            self.parse_duration().map(Some)
        } else {
            Ok(None)
        }
    }

    /// `n unit`, e.g. `30 SECONDS`.
    pub(super) fn parse_duration(&mut self) -> Result<Duration, ParseError> {
        let value = self.parse_u64()?;
        let unit = match self.peek() {
            Token::Word(w) if w.quote_style.is_none() => match w.value.as_str() {
                "MILLISECOND" | "MILLISECONDS" => Some(TimeUnit::Millisecond),
                "SECOND" | "SECONDS" => Some(TimeUnit::Second),
                "MINUTE" | "MINUTES" => Some(TimeUnit::Minute),
                "HOUR" | "HOURS" => Some(TimeUnit::Hour),
                "DAY" | "DAYS" => Some(TimeUnit::Day),
                _ => None,
            },
            _ => None,
        };
        let Some(unit) = unit else {
            return Err(self.expected("a time unit"));
        };
        self.advance();
        Ok(Duration { value, unit })
    }

    /// `GROUP BY e, ...` or `GROUP BY (e, ...)`.
    fn parse_group_by(&mut self) -> Result<Vec<Expr>, ParseError> {
        let start = self.pos;
        let mut exprs = match self.parse_expr_unchecked()? {
            Expr::Tuple(items) if *self.peek() != Token::Comma => items,
            Expr::Nested(item) if *self.peek() != Token::Comma => vec![*item],
            first => vec![first],
        };
        for expr in &exprs {
            self.check_expr(expr)?;
        }
        while self.consume(&Token::Comma) {
            exprs.push(self.parse_expr()?);
        }
        // Grouping expressions are value expressions: a bare predicate (`a AND b`, `a = b`)
        // is a syntax error unless parenthesised.
        if let Some(e) = exprs.iter().find(|e| is_predicate(e)) {
            return Err(ParseError::new(
                format!("a grouping expression cannot be a condition: {e}"),
                self.tokens[start].span.start.line,
                self.tokens[start].span.start.column,
            ));
        }
        Ok(exprs)
    }

    fn parse_expr_list(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut exprs = vec![self.parse_expr()?];
        while self.consume(&Token::Comma) {
            exprs.push(self.parse_expr()?);
        }
        Ok(exprs)
    }
}

/// Whether `e` is a predicate at its top (a boolean operation, comparison, IN, BETWEEN, LIKE,
/// IS [NOT] NULL, IS [NOT] DISTINCT FROM), which ksqlDB's grammar allows only where a condition
/// is expected.
fn is_predicate(e: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator as B;
    match e {
        Expr::BinaryOp { op, .. } => matches!(
            op,
            B::And | B::Or | B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq
        ),
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Not,
            ..
        } => true,
        Expr::InList { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..) => true,
        _ => false,
    }
}
