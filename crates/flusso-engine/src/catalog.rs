//! The catalog: streams, tables, named types and persistent queries, as the command topic's
//! replay left them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use flusso_sql::ast::SourceType;

use crate::format::Format;
use crate::schema::LogicalSchema;
use crate::types::SqlType;

/// How a windowed source's keys are windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowInfo {
    /// Tumbling or hopping windows of this size (ms).
    Time {
        /// `TUMBLING` or `HOPPING`.
        hopping: bool,
        /// Window size in ms.
        size: i64,
    },
    /// Session windows.
    Session,
}

impl WindowInfo {
    /// Session windows.
    pub fn is_session(&self) -> bool {
        matches!(self, WindowInfo::Session)
    }

    /// `SESSION`, `HOPPING` or `TUMBLING`.
    pub fn type_name(&self) -> &'static str {
        match self {
            WindowInfo::Session => "SESSION",
            WindowInfo::Time { hopping: true, .. } => "HOPPING",
            WindowInfo::Time { hopping: false, .. } => "TUMBLING",
        }
    }
}

/// A stream or table.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name (normalised).
    pub name: String,
    /// Stream or table.
    pub source_type: SourceType,
    /// Its columns.
    pub schema: LogicalSchema,
    /// The topic it reads or writes.
    pub topic: String,
    /// Key format.
    pub key_format: Format,
    /// Value format.
    pub value_format: Format,
    /// `TIMESTAMP='col'` and `TIMESTAMP_FORMAT`.
    pub timestamp: Option<(String, Option<String>)>,
    /// `CREATE SOURCE ...`: read-only.
    pub is_source: bool,
    /// Windowed keys (`WINDOW_TYPE`, or a windowed aggregation's output).
    pub window: Option<WindowInfo>,
    /// The statement that made it.
    pub sql: String,
    /// The query writing it, for C*AS sinks.
    pub written_by: Option<String>,
}

impl Source {
    /// `STREAM` or `TABLE`.
    pub fn kind_name(&self) -> &'static str {
        match self.source_type {
            SourceType::Stream => "STREAM",
            SourceType::Table => "TABLE",
        }
    }

    /// Key columns.
    pub fn key_columns(&self) -> Vec<(String, SqlType)> {
        self.schema.key()
    }

    /// Value columns.
    pub fn value_columns(&self) -> Vec<(String, SqlType)> {
        self.schema.value()
    }
}

/// A persistent query as the catalog knows it.
#[derive(Debug, Clone)]
pub struct QueryInfo {
    /// `CSAS_OUTPUT_1`, `INSERTQUERY_3`, ...
    pub id: String,
    /// The statement text.
    pub sql: String,
    /// The sink.
    pub sink: String,
    /// The sources read.
    pub sources: Vec<String>,
}

/// Everything the engine has been told, in memory.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// Streams and tables by name.
    pub sources: BTreeMap<String, Arc<Source>>,
    /// `CREATE TYPE` names.
    pub types: HashMap<String, SqlType>,
    /// Persistent queries by id.
    pub queries: BTreeMap<String, QueryInfo>,
}

impl Catalog {
    /// A source by name.
    pub fn source(&self, name: &str) -> Option<Arc<Source>> {
        self.sources.get(name).cloned()
    }

    /// Sources over a topic.
    pub fn sources_on_topic(&self, topic: &str) -> Vec<Arc<Source>> {
        self.sources
            .values()
            .filter(|s| s.topic == topic)
            .cloned()
            .collect()
    }

    /// Queries reading a source.
    pub fn readers_of(&self, source: &str) -> Vec<&QueryInfo> {
        self.queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == source))
            .collect()
    }

    /// Queries writing a source.
    pub fn writers_of(&self, source: &str) -> Vec<&QueryInfo> {
        self.queries.values().filter(|q| q.sink == source).collect()
    }
}
