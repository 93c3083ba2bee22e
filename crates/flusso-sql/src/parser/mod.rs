//! The statement parser: a hand-written recursive-descent layer over sqlparser's tokenizer, which
//! hands expressions to sqlparser's own expression parser.
//!
//! * `mod.rs` — the token cursor, script splitting, statement dispatch and shared helpers;
//! * `ddl.rs` — `CREATE`, `DROP`, `ALTER`, `INSERT`;
//! * `query.rs` — `SELECT` with joins, windows and `EMIT`;
//! * `commands.rs` — `SHOW`, `DESCRIBE`, `SET`, `PRINT` and the other commands;
//! * `dialect.rs`, `types.rs` — the sqlparser dialect and the type grammar.

mod commands;
mod ddl;
mod dialect;
mod query;
mod types;
mod validate;

use sqlparser::ast::Expr;
use sqlparser::parser::{Parser as SqlParser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::ast::{self, Literal, Statement, StatementKind};
use crate::error::ParseError;

use dialect::KsqlDialect;
use types::{describe, is_keyword, TokenSource};

/// Parses a script of `;`-separated statements. The last `;` may be left out.
pub fn parse(sql: &str) -> Result<Vec<Statement>, ParseError> {
    let mut parser = Parser::new(sql)?;
    let mut statements = Vec::new();
    loop {
        while parser.consume(&Token::SemiColon) {}
        if *parser.peek() == Token::EOF {
            return Ok(statements);
        }
        parser.begin_statement();
        let start = parser.pos;
        let kind = parser.parse_statement()?;
        let end = parser.pos;
        if !parser.consume(&Token::SemiColon) && *parser.peek() != Token::EOF {
            return Err(parser.expected("';' or end of input"));
        }
        statements.push(Statement {
            kind,
            location: parser.location(start),
            text: parser.text(start, end),
        });
    }
}

/// The token cursor shared by all statement parsers.
pub(crate) struct Parser<'a> {
    sql: &'a str,
    /// Tokens without whitespace and comments; unquoted words upper-cased; ends with `EOF`.
    tokens: Vec<TokenWithSpan>,
    pos: usize,
    /// Index of the `;` (or `EOF`) ending the current statement.
    statement_end: usize,
    /// Byte offset of each line's start.
    line_starts: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn new(sql: &'a str) -> Result<Self, ParseError> {
        let tokens = Tokenizer::new(&KsqlDialect, sql)
            .tokenize_with_location()
            .map_err(|e| {
                ParseError::new(
                    lowercase_first(&e.message),
                    e.location.line,
                    e.location.column,
                )
            })?;
        let mut tokens: Vec<TokenWithSpan> = tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|mut t| {
                if let Token::Word(w) = &mut t.token {
                    if w.quote_style.is_none() {
                        w.value = w.value.to_uppercase();
                    }
                }
                t
            })
            .collect();
        let end = tokens
            .last()
            .map_or_else(|| Location::new(1, 1), |t| t.span.end);
        tokens.push(TokenWithSpan::new(Token::EOF, Span::new(end, end)));
        let line_starts = std::iter::once(0)
            .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let statement_end = tokens.len() - 1;
        Ok(Self {
            sql,
            tokens,
            pos: 0,
            statement_end,
            line_starts,
        })
    }

    fn begin_statement(&mut self) {
        self.statement_end = self.tokens[self.pos..]
            .iter()
            .position(|t| matches!(t.token, Token::SemiColon | Token::EOF))
            .map_or(self.tokens.len() - 1, |i| self.pos + i);
    }

    fn parse_statement(&mut self) -> Result<StatementKind, ParseError> {
        if self.peek_keyword("CREATE") {
            self.parse_create()
        } else if self.peek_keyword("INSERT") {
            self.parse_insert()
        } else if self.peek_keyword("DROP") {
            self.parse_drop()
        } else if self.peek_keyword("ALTER") {
            self.parse_alter()
        } else if self.peek_keyword("SELECT") {
            Ok(StatementKind::Query(Box::new(self.parse_query()?)))
        } else {
            self.parse_command()
        }
    }

    // ----- positions and text -----

    fn location(&self, index: usize) -> ast::Location {
        let start = self.tokens[index].span.start;
        ast::Location {
            line: start.line,
            column: start.column,
        }
    }

    /// Byte offset of a (1-based) line and column.
    fn offset(&self, line: u64, column: u64) -> usize {
        let Some(&line_start) = usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| self.line_starts.get(l))
        else {
            return self.sql.len();
        };
        let skip = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
        self.sql[line_start..]
            .char_indices()
            .nth(skip)
            .map_or(self.sql.len(), |(i, _)| line_start + i)
    }

    /// The source text of tokens `start..end`.
    fn text(&self, start: usize, end: usize) -> String {
        if end <= start {
            return String::new();
        }
        let from = self.tokens[start].span.start;
        let to = self.tokens[end - 1].span.end;
        let (from, to) = (
            self.offset(from.line, from.column),
            self.offset(to.line, to.column),
        );
        self.sql.get(from..to).unwrap_or_default().trim().to_owned()
    }

    // ----- the cursor -----

    fn peek(&self) -> &Token {
        &self.tokens[self.pos].token
    }

    fn peek_nth(&self, n: usize) -> &Token {
        let index = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[index].token
    }

    fn advance(&mut self) {
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
    }

    fn consume(&mut self, token: &Token) -> bool {
        let found = self.peek() == token;
        if found {
            self.advance();
        }
        found
    }

    fn expect(&mut self, token: &Token) -> Result<(), ParseError> {
        if self.consume(token) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{token}'")))
        }
    }

    /// Whether the token `n` ahead is the unquoted keyword `keyword` (upper case).
    fn is_keyword_at(&self, n: usize, keyword: &str) -> bool {
        matches!(self.peek_nth(n), Token::Word(w) if is_keyword(w, keyword))
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        self.is_keyword_at(0, keyword)
    }

    fn parse_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.advance();
        }
        found
    }

    /// Parses a clause that `keywords` introduce: `then` runs after them; `None` if they are absent.
    fn parse_clause<T>(
        &mut self,
        keywords: &[&str],
        then: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        if self.parse_keywords(keywords) {
            then(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Consumes all of `keywords` in sequence, or none of them.
    fn parse_keywords(&mut self, keywords: &[&str]) -> bool {
        let found = keywords
            .iter()
            .enumerate()
            .all(|(i, k)| self.is_keyword_at(i, k));
        if found {
            self.pos += keywords.len();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), ParseError> {
        if self.parse_keyword(keyword) {
            Ok(())
        } else {
            Err(self.expected(keyword))
        }
    }

    fn expect_keywords(&mut self, keywords: &[&str]) -> Result<(), ParseError> {
        for keyword in keywords {
            self.expect_keyword(keyword)?;
        }
        Ok(())
    }

    // ----- errors -----

    fn error_at(&self, index: usize, message: impl Into<String>) -> ParseError {
        let start = self.tokens[index.min(self.tokens.len() - 1)].span.start;
        ParseError::new(message, start.line, start.column)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn expected(&self, what: &str) -> ParseError {
        self.error_here(format!("expected {what}, found {}", describe(self.peek())))
    }

    // ----- shared grammar pieces -----

    /// An identifier (quoted or not), normalised. ksqlDB's digit-led identifiers (`1R`), which
    /// tokenize as a number touching a word, are accepted too.
    fn parse_identifier(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Token::Word(w) => {
                let value = w.value.clone();
                self.advance();
                Ok(value)
            }
            Token::Number(n, false) => match self.peek_nth(1) {
                Token::Word(w)
                    if w.quote_style.is_none()
                        && self.tokens[self.pos].span.end
                            == self.tokens[self.pos + 1].span.start =>
                {
                    let value = format!("{n}{}", w.value);
                    self.pos += 2;
                    Ok(value)
                }
                _ => Err(self.expected("an identifier")),
            },
            _ => Err(self.expected("an identifier")),
        }
    }

    /// An identifier not among `reserved` (unquoted), for optional aliases.
    fn parse_optional_alias(&mut self, reserved: &[&str]) -> Result<Option<String>, ParseError> {
        if self.parse_keyword("AS") {
            return self.parse_identifier().map(Some);
        }
        match self.peek() {
            Token::Word(w) if w.quote_style.is_some() || !reserved.contains(&w.value.as_str()) => {
                self.parse_identifier().map(Some)
            }
            Token::Number(..) if matches!(self.peek_nth(1), Token::Word(_)) => {
                self.parse_identifier().map(Some)
            }
            _ => Ok(None),
        }
    }

    fn parse_string(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Token::SingleQuotedString(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.expected("a string literal")),
        }
    }

    fn parse_u64(&mut self) -> Result<u64, ParseError> {
        if let Token::Number(n, _) = self.peek() {
            if let Ok(n) = n.parse() {
                self.advance();
                return Ok(n);
            }
        }
        Err(self.expected("a non-negative integer"))
    }

    /// A literal: string, (signed) number, boolean or null.
    fn parse_literal(&mut self) -> Result<Literal, ParseError> {
        let negative = self.consume(&Token::Minus);
        let literal = match self.peek() {
            Token::Number(n, _) => {
                Literal::Number(if negative { format!("-{n}") } else { n.clone() })
            }
            _ if negative => return Err(self.expected("a number")),
            Token::SingleQuotedString(s) => Literal::String(s.clone()),
            Token::Word(w) if w.quote_style.is_none() && w.value == "TRUE" => {
                Literal::Boolean(true)
            }
            Token::Word(w) if w.quote_style.is_none() && w.value == "FALSE" => {
                Literal::Boolean(false)
            }
            Token::Word(w) if w.quote_style.is_none() && w.value == "NULL" => Literal::Null,
            _ => return Err(self.expected("a literal")),
        };
        self.advance();
        Ok(literal)
    }

    fn parse_data_type(&mut self) -> Result<ast::DataType, ParseError> {
        types::parse_data_type(self)
    }

    /// One expression, by sqlparser, stopping at the first token that cannot continue it.
    fn parse_expr(&mut self) -> Result<Expr, ParseError> {
        let expr = self.parse_expr_unchecked()?;
        self.check_expr(&expr)?;
        Ok(expr)
    }

    /// [`Self::parse_expr`] without [`Self::check_expr`], for callers that take row values apart.
    fn parse_expr_unchecked(&mut self) -> Result<Expr, ParseError> {
        self.with_sql_parser(|parser| parser.parse_expr())
    }

    /// Runs sqlparser on the rest of the current statement and moves past what it consumed.
    fn with_sql_parser<T>(
        &mut self,
        f: impl FnOnce(&mut SqlParser<'_>) -> Result<T, ParserError>,
    ) -> Result<T, ParseError> {
        let end = self.statement_end.max(self.pos);
        // Up to and including the `;`, so sqlparser's messages name it.
        let mut tokens = self.tokens[self.pos..=end].to_vec();
        if tokens.last().is_some_and(|t| t.token != Token::EOF) {
            tokens.push(TokenWithSpan::new(Token::EOF, self.tokens[end].span));
        }
        let mut parser = SqlParser::new(&KsqlDialect).with_tokens_with_locations(tokens);
        let result = f(&mut parser);
        let consumed = parser.index().min(end - self.pos);
        match result {
            Ok(value) => {
                self.pos += consumed;
                Ok(value)
            }
            Err(error) => Err(self.convert_error(error, self.pos + consumed)),
        }
    }

    fn convert_error(&self, error: ParserError, index: usize) -> ParseError {
        let message = match error {
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
            ParserError::RecursionLimitExceeded => "expression nested too deeply".to_owned(),
        };
        if let Some((text, line, column)) = split_location(&message) {
            return ParseError::new(reword(text), line, column);
        }
        self.error_at(index, reword(&message))
    }
}

impl TokenSource for Parser<'_> {
    type Error = ParseError;

    fn current(&self) -> &Token {
        self.peek()
    }

    fn advance(&mut self) {
        Parser::advance(self);
    }

    fn error(&self, message: String) -> ParseError {
        self.error_here(message)
    }
}

/// Splits sqlparser's `"... at Line: L, Column: C"` into the message and the position.
fn split_location(message: &str) -> Option<(&str, u64, u64)> {
    let at = message.rfind(" at Line: ")?;
    let (line, column) = message[at + " at Line: ".len()..].split_once(", Column: ")?;
    Some((
        &message[..at],
        line.trim().parse().ok()?,
        column.trim().parse().ok()?,
    ))
}

/// sqlparser's `Expected: X, found: Y` in this crate's style: `expected X, found 'Y'`.
fn reword(message: &str) -> String {
    let Some((expected, found)) = message
        .strip_prefix("Expected: ")
        .and_then(|rest| rest.rsplit_once(", found: "))
    else {
        return lowercase_first(message);
    };
    let found = match found.trim() {
        "EOF" => "end of input".to_owned(),
        token => format!("'{token}'"),
    };
    format!("expected {expected}, found {found}")
}

fn lowercase_first(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
