//! The engine's error type.

use flusso_sql::ParseError;

/// Result with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine, by category.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The statement text does not parse.
    #[error("{}", parse_message(.0))]
    Parse(#[from] ParseError),
    /// The statement parses but cannot be executed as written (unknown source, bad type, ...).
    #[error("{0}")]
    Statement(String),
    /// The request is refused as a whole, as ksqlDB refuses it while validating its
    /// statements (a generic 400 error, without the statement).
    #[error("{0}")]
    Request(String),
    /// A record could not be processed at run time.
    #[error("{0}")]
    Execution(String),
    /// The log (embedded or Kafka) refused an operation.
    #[error("{0}")]
    Log(String),
    /// DataFusion failed while planning or evaluating.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A bug: an invariant did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// ksqlDB's text for a parse error. Literal errors come from its AST builder, whose positions are
/// one column further right than its syntax errors'.
fn parse_message(e: &ParseError) -> String {
    if e.literal {
        format!(
            "Failed to prepare statement: line {}:{}: {}",
            e.line,
            e.column + 1,
            e.message
        )
    } else {
        // Messages in the grammar's own words go on a line of their own, as ksqlDB puts them.
        let separator = match e.message.starts_with("missing ") {
            true => "\n",
            false => ": ",
        };
        format!(
            "line {}:{}: Syntax Error{separator}{}",
            e.line, e.column, e.message
        )
    }
}

impl EngineError {
    /// A statement error with this message.
    pub fn statement(message: impl Into<String>) -> Self {
        EngineError::Statement(message.into())
    }

    /// An execution error with this message.
    pub fn execution(message: impl Into<String>) -> Self {
        EngineError::Execution(message.into())
    }
}

impl From<flusso_log::LogError> for EngineError {
    fn from(e: flusso_log::LogError) -> Self {
        EngineError::Log(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for EngineError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        EngineError::Execution(e.to_string())
    }
}
