//! The one error type of the crate: a message with the line and column it refers to.

use std::fmt;

/// A syntax error, with the 1-based line and column of the offending token.
///
/// `Display` renders `line L:C: message`. Messages start in lowercase and have no trailing period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// What went wrong, in lowercase, without a trailing period.
    pub message: String,
    /// 1-based line of the error.
    pub line: u64,
    /// 1-based column (in characters) of the error.
    pub column: u64,
    /// Whether the text is well-formed but a literal in it is not (a number that overflows its
    /// type). ksqlDB reports these as "Failed to prepare statement" rather than syntax errors.
    pub literal: bool,
}

impl ParseError {
    /// Builds an error at `line:column`.
    pub fn new(message: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            message: message.into(),
            line,
            column,
            literal: false,
        }
    }

    /// Builds an error about an invalid literal at `line:column`.
    pub fn literal(message: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            literal: true,
            ..Self::new(message, line, column)
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}: {}", self.line, self.column, self.message)
    }
}
