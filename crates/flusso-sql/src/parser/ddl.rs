//! `CREATE STREAM|TABLE|TYPE`, `INSERT`, `DROP` and `ALTER`.

use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{
    ColumnConstraint, ColumnDef, CreateAsSelect, CreateSource, Property, SourceType, StatementKind,
};
use crate::error::ParseError;

impl Parser<'_> {
    /// `CREATE ...`, at `CREATE`.
    pub(super) fn parse_create(&mut self) -> Result<StatementKind, ParseError> {
        self.expect_keyword("CREATE")?;
        let or_replace = self.parse_keywords(&["OR", "REPLACE"]);
        let source_at = self.pos;
        let is_source = self.parse_keyword("SOURCE");
        if !or_replace && !is_source && self.parse_keyword("TYPE") {
            let if_not_exists = self.parse_keywords(&["IF", "NOT", "EXISTS"]);
            let name = self.parse_identifier()?;
            self.expect_keyword("AS")?;
            let data_type = self.parse_data_type()?;
            return Ok(StatementKind::CreateType {
                name,
                data_type,
                if_not_exists,
            });
        }
        let source_type = self.parse_source_type()?;
        let if_not_exists = self.parse_keywords(&["IF", "NOT", "EXISTS"]);
        let name = self.parse_identifier()?;
        let columns_at = self.pos;
        let columns = if *self.peek() == Token::LParen {
            self.parse_column_list(source_type)?
        } else {
            Vec::new()
        };
        let properties = self.parse_with_properties()?;
        if !self.parse_keyword("AS") {
            return Ok(StatementKind::CreateSource(CreateSource {
                source_type,
                name,
                or_replace,
                is_source,
                if_not_exists,
                columns,
                properties,
            }));
        }
        if is_source {
            return Err(self.error_at(source_at, "a SOURCE stream or table cannot be AS SELECT"));
        }
        if !columns.is_empty() {
            return Err(self.error_at(columns_at, "a column list is not allowed with AS SELECT"));
        }
        let query = Box::new(self.parse_query()?);
        Ok(StatementKind::CreateAsSelect(CreateAsSelect {
            source_type,
            name,
            or_replace,
            if_not_exists,
            properties,
            query,
        }))
    }

    /// `INSERT INTO ...`, at `INSERT`.
    pub(super) fn parse_insert(&mut self) -> Result<StatementKind, ParseError> {
        self.expect_keywords(&["INSERT", "INTO"])?;
        let target = self.parse_identifier()?;
        let mut columns = Vec::new();
        if self.consume(&Token::LParen) {
            loop {
                columns.push(self.parse_identifier()?);
                if !self.consume(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen)?;
            if !self.peek_keyword("VALUES") {
                return Err(self.expected("VALUES"));
            }
        }
        if self.parse_keyword("VALUES") {
            self.expect(&Token::LParen)?;
            let mut values = Vec::new();
            if *self.peek() != Token::RParen {
                loop {
                    values.push(self.parse_expr()?);
                    if !self.consume(&Token::Comma) {
                        break;
                    }
                }
            }
            self.expect(&Token::RParen)?;
            return Ok(StatementKind::InsertValues {
                target,
                columns,
                values,
            });
        }
        let properties = self.parse_with_properties()?;
        if !self.peek_keyword("SELECT") {
            return Err(self.expected("SELECT or VALUES"));
        }
        let query = Box::new(self.parse_query()?);
        Ok(StatementKind::InsertInto {
            target,
            properties,
            query,
        })
    }

    /// `DROP STREAM|TABLE|TYPE ...`, at `DROP`.
    pub(super) fn parse_drop(&mut self) -> Result<StatementKind, ParseError> {
        self.expect_keyword("DROP")?;
        if self.parse_keyword("TYPE") {
            let if_exists = self.parse_keywords(&["IF", "EXISTS"]);
            let name = self.parse_identifier()?;
            return Ok(StatementKind::DropType { name, if_exists });
        }
        let source_type = self.parse_source_type()?;
        let if_exists = self.parse_keywords(&["IF", "EXISTS"]);
        let name = self.parse_identifier()?;
        let delete_topic = self.parse_keywords(&["DELETE", "TOPIC"]);
        Ok(StatementKind::DropSource {
            source_type,
            name,
            if_exists,
            delete_topic,
        })
    }

    /// `ALTER STREAM|TABLE name ADD [COLUMN] col type, ...`, at `ALTER`.
    pub(super) fn parse_alter(&mut self) -> Result<StatementKind, ParseError> {
        self.expect_keyword("ALTER")?;
        let source_type = self.parse_source_type()?;
        let name = self.parse_identifier()?;
        self.expect_keyword("ADD")?;
        let mut columns = Vec::new();
        loop {
            self.parse_keyword("COLUMN");
            let name = self.parse_identifier()?;
            let data_type = self.parse_data_type()?;
            columns.push(ColumnDef {
                name,
                data_type,
                constraint: None,
            });
            if !self.consume(&Token::Comma) {
                break;
            }
            self.parse_keyword("ADD");
        }
        Ok(StatementKind::AlterSource {
            source_type,
            name,
            columns,
        })
    }

    pub(super) fn parse_source_type(&mut self) -> Result<SourceType, ParseError> {
        if self.parse_keyword("STREAM") {
            Ok(SourceType::Stream)
        } else if self.parse_keyword("TABLE") {
            Ok(SourceType::Table)
        } else {
            Err(self.expected("STREAM or TABLE"))
        }
    }

    /// `(col type [constraint], ...)`; streams take `KEY` columns, tables `PRIMARY KEY` ones.
    fn parse_column_list(&mut self, source_type: SourceType) -> Result<Vec<ColumnDef>, ParseError> {
        self.expect(&Token::LParen)?;
        let mut columns = Vec::new();
        loop {
            let start = self.pos;
            let column = self.parse_column_def()?;
            let wrong_key = match (source_type, &column.constraint) {
                (SourceType::Table, Some(ColumnConstraint::Key)) => {
                    Some(("KEY", "PRIMARY KEY", "tables"))
                }
                (SourceType::Stream, Some(ColumnConstraint::PrimaryKey)) => {
                    Some(("PRIMARY KEY", "KEY", "streams"))
                }
                _ => None,
            };
            if let Some((used, wanted, kind)) = wrong_key {
                let name = &column.name;
                let message = format!(
                    "column `{name}` is a '{used}' column: please use '{wanted}' for {kind}"
                );
                return Err(self.error_at(start, message));
            }
            columns.push(column);
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen)?;
        Ok(columns)
    }

    fn parse_column_def(&mut self) -> Result<ColumnDef, ParseError> {
        let name = self.parse_identifier()?;
        let data_type = self.parse_data_type()?;
        let constraint = if self.parse_keyword("KEY") {
            Some(ColumnConstraint::Key)
        } else if self.parse_keywords(&["PRIMARY", "KEY"]) {
            Some(ColumnConstraint::PrimaryKey)
        } else if self.parse_keyword("HEADERS") {
            Some(ColumnConstraint::Headers)
        } else if self.parse_keyword("HEADER") {
            self.expect(&Token::LParen)?;
            let key = self.parse_string()?;
            self.expect(&Token::RParen)?;
            Some(ColumnConstraint::Header(key))
        } else {
            None
        };
        Ok(ColumnDef {
            name,
            data_type,
            constraint,
        })
    }

    /// `[WITH (name = literal, ...)]`.
    pub(super) fn parse_with_properties(&mut self) -> Result<Vec<Property>, ParseError> {
        if !self.parse_keyword("WITH") {
            return Ok(Vec::new());
        }
        self.expect(&Token::LParen)?;
        let mut properties = Vec::new();
        loop {
            let name = match self.peek() {
                Token::Word(_) => self.parse_identifier()?.to_uppercase(),
                Token::SingleQuotedString(_) => self.parse_string()?.to_uppercase(),
                _ => return Err(self.expected("a property name")),
            };
            self.expect(&Token::Eq)?;
            let value = self.parse_literal()?;
            properties.push(Property { name, value });
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen)?;
        Ok(properties)
    }
}
