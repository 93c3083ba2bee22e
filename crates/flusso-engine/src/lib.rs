//! `flusso-engine`: Flusso's streaming SQL engine.
//!
//! It holds the catalog of streams, tables and types (kept in the command topic), turns
//! statements into continuous queries over topics, and encodes and decodes records in ksqlDB's
//! formats. Arrow and DataFusion come through `datafusion`.

#![allow(dead_code)]

mod error;
mod format;
mod functions;
mod types;
mod value;

pub use error::{EngineError, Result};
pub use format::{Format, FormatKind};
pub use types::SqlType;
