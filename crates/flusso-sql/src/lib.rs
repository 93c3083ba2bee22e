//! `flusso-sql`: the ksqlDB dialect, parsed into statements with source positions.
//!
//! The statement layer (`CREATE STREAM`, `INSERT INTO`, `SHOW`, `PRINT`, ...) is written by hand
//! over sqlparser's tokenizer; expressions are parsed by sqlparser itself through a dialect that
//! adds ksqlDB's struct dereference (`a->b`), lambdas (`x => ...`) and `CAST` to ksqlDB types.
//! Unquoted identifiers are upper-cased; quoted ones (`` `x` ``, `"x"`) are kept as written.
//!
//! ```
//! use flusso_sql::ast::{SourceType, StatementKind};
//!
//! let statements = flusso_sql::parse(
//!     "CREATE STREAM pageviews (id INT KEY, url STRING) \
//!          WITH (kafka_topic='pageviews', value_format='JSON');
//!      SELECT url, COUNT(*) FROM pageviews GROUP BY url EMIT CHANGES;",
//! )
//! .unwrap();
//! let StatementKind::CreateSource(create) = &statements[0].kind else { panic!() };
//! assert_eq!(create.source_type, SourceType::Stream);
//! assert_eq!(create.name, "PAGEVIEWS");
//! assert_eq!(create.columns[1].name, "URL");
//! assert!(matches!(statements[1].kind, StatementKind::Query(_)));
//!
//! let error = flusso_sql::parse("SHOW STREAMS;\nDROP STREAM;").unwrap_err();
//! assert_eq!(error.to_string(), "line 2:12: expected an identifier, found ';'");
//! ```

pub mod ast;
mod error;
pub mod lookup;
mod parser;
mod substitute;

pub use ast::{Statement, StatementKind};
pub use error::ParseError;
pub use parser::parse;
pub use substitute::substitute;
