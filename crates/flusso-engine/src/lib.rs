//! `flusso-engine`: Flusso's streaming SQL engine.
//!
//! It holds the catalog of streams, tables and types (kept in the command topic), turns
//! statements into continuous queries over topics, and encodes and decodes records in ksqlDB's
//! formats. Arrow and DataFusion come through `datafusion`.

#![allow(dead_code)]

mod catalog;
mod engine;
mod error;
mod format;
mod functions;
pub mod kafka_log;
mod log_client;
mod planner;
mod processing_log;
mod query;
mod schema;
mod types;
pub mod udaf;
pub mod value;

pub use catalog::{Catalog, Source, WindowInfo};
pub use engine::{
    fields_json, properties, schema_json, AggregateComparison, Engine, EngineConfig, PullResult,
    Session, StatementResult, COMMAND_TOPIC,
};
pub use error::{EngineError, Result};
pub use format::{Format, FormatKind};
pub use log_client::{EmbeddedLog, InRecord, LogClient, OutRecord};
pub use planner::registry::register_function;
pub use processing_log::{PROCESSING_LOG_STREAM, PROCESSING_LOG_TOPIC};
pub use query::push::{PushQuery, PushRow, Row};
pub use query::sink::{partition_for, split_windowed, window_suffix};
pub use query::PersistentQuery;
pub use schema::{Column, ColumnKind, LogicalSchema};
pub use types::SqlType;
