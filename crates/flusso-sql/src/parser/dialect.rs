//! The sqlparser dialect used for tokens and expressions: generic SQL plus ksqlDB's struct
//! dereference (`a->b`), lambdas (`x => e`, `(x, y) => e`) and `CAST` to ksqlDB types.

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    BinaryOperator, CastKind, Expr, LambdaFunction, LambdaFunctionParameter, LambdaSyntax,
    OneOrManyWithParens,
};
use sqlparser::dialect::{Dialect, Precedence};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::types::{is_keyword, parse_data_type, to_sql_type, TokenSource};

/// ksqlDB's expression dialect on top of sqlparser.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    // `=>` introduces lambdas, not named arguments.
    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        false
    }

    // `STRUCT(a := 1)`, `MAP('k' := v)`.
    fn supports_named_fn_args_with_assignment_operator(&self) -> bool {
        true
    }

    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        true
    }

    fn parse_prefix(&self, parser: &mut Parser<'_>) -> Option<Result<Expr, ParserError>> {
        if let Some(count) = lambda_params(parser) {
            return Some(parse_lambda(parser, count));
        }
        let is_cast = matches!(&parser.peek_token_ref().token, Token::Word(w) if is_keyword(w, "CAST"))
            && parser.peek_nth_token_ref(1).token == Token::LParen;
        is_cast.then(|| parse_cast(parser))
    }

    fn get_next_precedence(&self, parser: &Parser<'_>) -> Option<Result<u8, ParserError>> {
        matches!(
            parser.peek_token_ref().token,
            Token::Arrow | Token::LBracket
        )
        .then(|| Ok(self.prec_value(Precedence::Period)))
    }

    fn parse_infix(
        &self,
        parser: &mut Parser<'_>,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        match parser.peek_token_ref().token {
            Token::Arrow => Some(parse_dereference(parser, expr)),
            // Subscripts after `->` (sqlparser only takes them straight after an identifier).
            Token::LBracket => {
                let mut access_chain = Vec::new();
                Some(
                    parser
                        .parse_multi_dim_subscript(&mut access_chain)
                        .map(|()| Expr::CompoundFieldAccess {
                            root: Box::new(expr.clone()),
                            access_chain,
                        }),
                )
            }
            _ => None,
        }
    }
}

/// `expr->field`, or `expr->*` (all fields, as `Expr::Wildcard` on the right).
fn parse_dereference(parser: &mut Parser<'_>, expr: &Expr) -> Result<Expr, ParserError> {
    parser.advance_token();
    let right = if parser.consume_token(&Token::Mul) {
        Expr::Wildcard(AttachedToken(parser.get_current_token().clone()))
    } else {
        Expr::Identifier(parser.parse_identifier()?)
    };
    Ok(Expr::BinaryOp {
        left: Box::new(expr.clone()),
        op: BinaryOperator::Arrow,
        right: Box::new(right),
    })
}

/// If a lambda starts here, how many parameters it has (`x =>` or `(x, y) =>`).
fn lambda_params(parser: &Parser<'_>) -> Option<usize> {
    let is_word = |n: usize| matches!(parser.peek_nth_token_ref(n).token, Token::Word(_));
    let is = |n: usize, t: &Token| parser.peek_nth_token_ref(n).token == *t;
    if is_word(0) && is(1, &Token::RArrow) {
        return Some(1);
    }
    if !is(0, &Token::LParen) {
        return None;
    }
    let mut n = 1;
    let mut count = 0;
    loop {
        if !is_word(n) {
            return None;
        }
        count += 1;
        n += 1;
        if is(n, &Token::Comma) {
            n += 1;
        } else if is(n, &Token::RParen) && is(n + 1, &Token::RArrow) {
            return Some(count);
        } else {
            return None;
        }
    }
}

fn parse_lambda(parser: &mut Parser<'_>, count: usize) -> Result<Expr, ParserError> {
    let parenthesised = parser.consume_token(&Token::LParen);
    let mut params = Vec::with_capacity(count);
    for i in 0..count {
        if i > 0 {
            parser.expect_token(&Token::Comma)?;
        }
        params.push(LambdaFunctionParameter {
            name: parser.parse_identifier()?,
            data_type: None,
        });
    }
    if parenthesised {
        parser.expect_token(&Token::RParen)?;
    }
    parser.expect_token(&Token::RArrow)?;
    let body = parser.parse_expr()?;
    let params = if parenthesised {
        OneOrManyWithParens::Many(params)
    } else {
        OneOrManyWithParens::One(params.remove(0))
    };
    Ok(Expr::Lambda(LambdaFunction {
        params,
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// `CAST(expr AS type)` with ksqlDB's type syntax (`MAP<K, V>`, `STRUCT<A INT>`).
fn parse_cast(parser: &mut Parser<'_>) -> Result<Expr, ParserError> {
    parser.advance_token();
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    let is_as = matches!(&parser.peek_token_ref().token, Token::Word(w) if is_keyword(w, "AS"));
    if !is_as {
        return parser.expected("AS", parser.peek_token());
    }
    parser.advance_token();
    let data_type = parse_data_type(&mut SqlSource(parser))?;
    parser.expect_token(&Token::RParen)?;
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type: to_sql_type(&data_type),
        array: false,
        format: None,
    })
}

struct SqlSource<'p, 'a>(&'p mut Parser<'a>);

impl TokenSource for SqlSource<'_, '_> {
    type Error = ParserError;

    fn current(&self) -> &Token {
        &self.0.peek_token_ref().token
    }

    fn advance(&mut self) {
        self.0.advance_token();
    }

    fn error(&self, message: String) -> ParserError {
        ParserError::ParserError(format!("{message}{}", self.0.peek_token_ref().span.start))
    }
}
