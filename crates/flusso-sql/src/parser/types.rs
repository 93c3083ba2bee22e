//! SQL types (`INT`, `ARRAY<t>`, `STRUCT<a t, ...>`, ...), parsed over any token source so the
//! same code serves column definitions and `CAST(x AS type)` inside expressions.

use sqlparser::ast::{
    self as sql, ArrayElemTypeDef, ExactNumberInfo, Ident, ObjectName, StructBracketKind,
    TimezoneInfo,
};
use sqlparser::tokenizer::{Token, Word};

use crate::ast::{DataType, StructField};

/// The little a type parser needs from a token stream.
pub(crate) trait TokenSource {
    /// The error the source reports.
    type Error;
    /// The current token (the last one is always `EOF`).
    fn current(&self) -> &Token;
    /// Moves past the current token.
    fn advance(&mut self);
    /// An error at the current token.
    fn error(&self, message: String) -> Self::Error;
}

/// Parses one type at the current token.
pub(crate) fn parse_data_type<S: TokenSource>(source: &mut S) -> Result<DataType, S::Error> {
    let mut parser = TypeParser {
        source,
        half_gt: false,
    };
    let data_type = parser.data_type()?;
    if parser.half_gt {
        return Err(parser.source.error("unexpected '>' after type".to_owned()));
    }
    Ok(data_type)
}

/// Describes a token for "found X" in messages.
pub(crate) fn describe(token: &Token) -> String {
    match token {
        Token::EOF => "end of input".to_owned(),
        Token::Word(w) if w.quote_style.is_none() => format!("'{}'", w.value),
        other => format!("'{other}'"),
    }
}

/// Whether `word` is the unquoted (upper-cased) keyword `keyword`.
pub(crate) fn is_keyword(word: &Word, keyword: &str) -> bool {
    word.quote_style.is_none() && word.value == keyword
}

struct TypeParser<'s, S> {
    source: &'s mut S,
    /// The current token is `>>` and its first `>` has been used already.
    half_gt: bool,
}

impl<S: TokenSource> TypeParser<'_, S> {
    fn data_type(&mut self) -> Result<DataType, S::Error> {
        let (name, quoted) = match self.source.current() {
            Token::Word(w) if !self.half_gt && !is_keyword(w, "NULL") => {
                (w.value.clone(), w.quote_style.is_some())
            }
            other => {
                let found = describe(other);
                return Err(self.source.error(format!("expected a type, found {found}")));
            }
        };
        self.source.advance();
        if quoted {
            return Ok(DataType::Named(name));
        }
        let data_type = match name.as_str() {
            "BOOLEAN" => DataType::Boolean,
            "INT" | "INTEGER" => DataType::Int,
            "BIGINT" => DataType::Bigint,
            "DOUBLE" => DataType::Double,
            "STRING" | "VARCHAR" => DataType::String,
            "BYTES" => DataType::Bytes,
            "DATE" => DataType::Date,
            "TIME" => DataType::Time,
            "TIMESTAMP" => DataType::Timestamp,
            "DECIMAL" => {
                self.expect(&Token::LParen)?;
                let precision = self.number()?;
                self.expect(&Token::Comma)?;
                let scale = self.number()?;
                self.expect(&Token::RParen)?;
                DataType::Decimal { precision, scale }
            }
            "ARRAY" => {
                self.expect(&Token::Lt)?;
                let element = self.data_type()?;
                self.expect_gt()?;
                DataType::Array(Box::new(element))
            }
            "MAP" => {
                self.expect(&Token::Lt)?;
                let key = self.data_type()?;
                self.expect(&Token::Comma)?;
                let value = self.data_type()?;
                self.expect_gt()?;
                DataType::Map(Box::new(key), Box::new(value))
            }
            // `STRUCT<>` tokenizes as `STRUCT` `<>`.
            "STRUCT" if *self.source.current() == Token::Neq && !self.half_gt => {
                self.source.advance();
                DataType::Struct(Vec::new())
            }
            "STRUCT" => {
                self.expect(&Token::Lt)?;
                let mut fields = Vec::new();
                if !self.at_gt() {
                    loop {
                        let name = match self.source.current() {
                            Token::Word(w) => w.value.clone(),
                            other => {
                                let found = describe(other);
                                let message = format!("expected a field name, found {found}");
                                return Err(self.source.error(message));
                            }
                        };
                        self.source.advance();
                        let data_type = self.data_type()?;
                        fields.push(StructField { name, data_type });
                        if *self.source.current() == Token::Comma && !self.half_gt {
                            self.source.advance();
                        } else {
                            break;
                        }
                    }
                }
                self.expect_gt()?;
                DataType::Struct(fields)
            }
            _ => DataType::Named(name),
        };
        if !matches!(data_type, DataType::Decimal { .. } | DataType::Named(_)) {
            self.skip_type_parameters()?;
        }
        Ok(data_type)
    }

    /// ksqlDB's grammar lets base types take parameters (`VARCHAR(STRING)`); they are ignored.
    fn skip_type_parameters(&mut self) -> Result<(), S::Error> {
        if *self.source.current() != Token::LParen || self.half_gt {
            return Ok(());
        }
        self.source.advance();
        loop {
            match self.source.current() {
                // ksqlDB's `typeParameter`: an integer or the word STRING.
                Token::Number(..) => self.source.advance(),
                Token::Word(w) if is_keyword(w, "STRING") => {
                    self.source.advance();
                }
                other => {
                    let found = describe(other);
                    let message = format!("expected a type parameter, found {found}");
                    return Err(self.source.error(message));
                }
            }
            if *self.source.current() == Token::Comma {
                self.source.advance();
            } else {
                return self.expect(&Token::RParen);
            }
        }
    }

    fn at_gt(&self) -> bool {
        matches!(self.source.current(), Token::Gt | Token::ShiftRight)
    }

    /// Consumes one `>`, splitting `>>` into two.
    fn expect_gt(&mut self) -> Result<(), S::Error> {
        match self.source.current() {
            Token::Gt if !self.half_gt => self.source.advance(),
            Token::ShiftRight if self.half_gt => {
                self.half_gt = false;
                self.source.advance();
            }
            Token::ShiftRight => self.half_gt = true,
            other => {
                let found = describe(other);
                return Err(self.source.error(format!("expected '>', found {found}")));
            }
        }
        Ok(())
    }

    fn expect(&mut self, token: &Token) -> Result<(), S::Error> {
        if self.source.current() == token && !self.half_gt {
            self.source.advance();
            Ok(())
        } else {
            let found = describe(self.source.current());
            Err(self
                .source
                .error(format!("expected '{token}', found {found}")))
        }
    }

    fn number(&mut self) -> Result<u32, S::Error> {
        if let Token::Number(n, _) = self.source.current() {
            if let Ok(n) = n.parse() {
                self.source.advance();
                return Ok(n);
            }
        }
        let found = describe(self.source.current());
        Err(self
            .source
            .error(format!("expected a number, found {found}")))
    }
}

/// The sqlparser type closest to a ksqlDB type, for `Expr::Cast`.
pub(crate) fn to_sql_type(data_type: &DataType) -> sql::DataType {
    match data_type {
        DataType::Boolean => sql::DataType::Boolean,
        DataType::Int => sql::DataType::Int(None),
        DataType::Bigint => sql::DataType::BigInt(None),
        DataType::Double => sql::DataType::Double(ExactNumberInfo::None),
        DataType::Decimal { precision, scale } => sql::DataType::Decimal(
            ExactNumberInfo::PrecisionAndScale(u64::from(*precision), i64::from(*scale)),
        ),
        DataType::String => sql::DataType::String(None),
        DataType::Bytes => sql::DataType::Bytes(None),
        DataType::Date => sql::DataType::Date,
        DataType::Time => sql::DataType::Time(None, TimezoneInfo::None),
        DataType::Timestamp => sql::DataType::Timestamp(None, TimezoneInfo::None),
        DataType::Array(element) => sql::DataType::Array(ArrayElemTypeDef::AngleBracket(Box::new(
            to_sql_type(element),
        ))),
        DataType::Map(key, value) => {
            sql::DataType::Map(Box::new(to_sql_type(key)), Box::new(to_sql_type(value)))
        }
        DataType::Struct(fields) => sql::DataType::Struct(
            fields
                .iter()
                .map(|field| sql::StructField {
                    field_name: Some(Ident::with_quote('`', field.name.clone())),
                    field_type: to_sql_type(&field.data_type),
                    options: None,
                })
                .collect(),
            StructBracketKind::AngleBrackets,
        ),
        DataType::Named(name) => {
            sql::DataType::Custom(ObjectName::from(vec![Ident::new(name.clone())]), vec![])
        }
    }
}
