//! Commands: `SHOW`/`LIST`, `DESCRIBE`, `EXPLAIN`, `TERMINATE`, `PAUSE`, `RESUME`, `SET`,
//! `UNSET`, `DEFINE`, `UNDEFINE` and `PRINT`.

use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{QueryTarget, ShowTarget, SourceType, StatementKind};
use crate::error::ParseError;

impl Parser<'_> {
    /// Every statement that is not DDL, DML or a query, at its first word.
    pub(super) fn parse_command(&mut self) -> Result<StatementKind, ParseError> {
        if self.parse_keyword("SHOW") || self.parse_keyword("LIST") {
            self.parse_show()
        } else if self.parse_keyword("DESCRIBE") {
            self.parse_describe()
        } else if self.parse_keyword("EXPLAIN") {
            self.parse_explain()
        } else if self.parse_keyword("TERMINATE") {
            Ok(StatementKind::Terminate(self.parse_query_target()?))
        } else if self.parse_keyword("PAUSE") {
            Ok(StatementKind::Pause(self.parse_query_target()?))
        } else if self.parse_keyword("RESUME") {
            Ok(StatementKind::Resume(self.parse_query_target()?))
        } else if self.parse_keyword("SET") {
            let name = self.parse_string()?;
            self.expect(&Token::Eq)?;
            let value = self.parse_string()?;
            Ok(StatementKind::SetProperty { name, value })
        } else if self.parse_keyword("UNSET") {
            Ok(StatementKind::UnsetProperty {
                name: self.parse_string()?,
            })
        } else if self.parse_keyword("DEFINE") {
            let name = self.parse_identifier()?;
            self.expect(&Token::Eq)?;
            let value = self.parse_string()?;
            Ok(StatementKind::DefineVariable { name, value })
        } else if self.parse_keyword("UNDEFINE") {
            Ok(StatementKind::UndefineVariable {
                name: self.parse_identifier()?,
            })
        } else if self.parse_keyword("PRINT") {
            self.parse_print()
        } else {
            Err(self.expected("a statement"))
        }
    }

    fn parse_show(&mut self) -> Result<StatementKind, ParseError> {
        let all = self.parse_keyword("ALL");
        let what = if self.parse_keyword("TOPICS") {
            ShowTarget::Topics { all }
        } else if all {
            return Err(self.expected("TOPICS"));
        } else if self.parse_keyword("STREAMS") {
            ShowTarget::Streams
        } else if self.parse_keyword("TABLES") {
            ShowTarget::Tables
        } else if self.parse_keyword("QUERIES") {
            ShowTarget::Queries
        } else if self.parse_keyword("PROPERTIES") {
            ShowTarget::Properties
        } else if self.parse_keyword("FUNCTIONS") {
            ShowTarget::Functions
        } else if self.parse_keyword("TYPES") {
            ShowTarget::Types
        } else if self.parse_keyword("VARIABLES") {
            ShowTarget::Variables
        } else {
            return Err(self.expected(
                "STREAMS, TABLES, TOPICS, QUERIES, PROPERTIES, FUNCTIONS, TYPES or VARIABLES",
            ));
        };
        let extended = matches!(
            what,
            ShowTarget::Streams
                | ShowTarget::Tables
                | ShowTarget::Topics { .. }
                | ShowTarget::Queries
        ) && self.parse_keyword("EXTENDED");
        Ok(StatementKind::Show { what, extended })
    }

    fn parse_describe(&mut self) -> Result<StatementKind, ParseError> {
        if self.parse_keyword("FUNCTION") {
            return Ok(StatementKind::DescribeFunction {
                name: self.parse_identifier()?,
            });
        }
        let sources = if self.parse_keyword("STREAMS") {
            Some(SourceType::Stream)
        } else if self.parse_keyword("TABLES") {
            Some(SourceType::Table)
        } else {
            None
        };
        if let Some(source_type) = sources {
            let extended = self.parse_keyword("EXTENDED");
            return Ok(StatementKind::DescribeSources {
                source_type,
                extended,
            });
        }
        // `DESCRIBE EXTENDED x`, or `DESCRIBE x EXTENDED` (also for a source named EXTENDED).
        let mut extended =
            self.peek_keyword("EXTENDED") && matches!(self.peek_nth(1), Token::Word(_));
        if extended {
            self.advance();
        }
        let name = self.parse_identifier()?;
        extended |= self.parse_keyword("EXTENDED");
        Ok(StatementKind::DescribeSource { name, extended })
    }

    fn parse_explain(&mut self) -> Result<StatementKind, ParseError> {
        let is_statement = ["SELECT", "CREATE", "INSERT"]
            .iter()
            .any(|k| self.peek_keyword(k));
        if is_statement {
            let statement = self.parse_statement()?;
            return Ok(StatementKind::ExplainStatement(Box::new(statement)));
        }
        Ok(StatementKind::ExplainQueryId(self.parse_raw_name()?))
    }

    fn parse_query_target(&mut self) -> Result<QueryTarget, ParseError> {
        if self.parse_keyword("ALL") {
            Ok(QueryTarget::All)
        } else {
            Ok(QueryTarget::Id(self.parse_raw_name()?))
        }
    }

    fn parse_print(&mut self) -> Result<StatementKind, ParseError> {
        let topic = match self.peek() {
            Token::SingleQuotedString(_) => self.parse_string()?,
            _ => self.parse_raw_name()?,
        };
        let from_beginning = self.parse_keywords(&["FROM", "BEGINNING"]);
        let interval = if self.parse_keyword("INTERVAL") || self.parse_keyword("SAMPLE") {
            Some(self.parse_u64()?)
        } else {
            None
        };
        let limit = self.parse_clause(&["LIMIT"], Self::parse_u64)?;
        Ok(StatementKind::Print {
            topic,
            from_beginning,
            interval,
            limit,
        })
    }

    /// A name exactly as written: quoted names without their quotes, unquoted ones not
    /// upper-cased (topic names and query ids are case-sensitive).
    fn parse_raw_name(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Token::Word(w) if w.quote_style.is_some() => self.parse_identifier(),
            Token::Word(_) => {
                let name = self.text(self.pos, self.pos + 1);
                self.advance();
                Ok(name)
            }
            _ => Err(self.expected("a name")),
        }
    }
}
