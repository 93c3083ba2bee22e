//! Logical schemas of streams and tables: key columns, value columns and header columns, plus
//! the pseudo columns every source has (ROWTIME, ROWPARTITION, ROWOFFSET) and windowed sources'
//! WINDOWSTART/WINDOWEND.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};

use crate::types::SqlType;

/// `ROWTIME`: the record timestamp (BIGINT ms).
pub const ROWTIME: &str = "ROWTIME";
/// `ROWPARTITION`: the partition the record came from (INT).
pub const ROWPARTITION: &str = "ROWPARTITION";
/// `ROWOFFSET`: the record's offset (BIGINT).
pub const ROWOFFSET: &str = "ROWOFFSET";
/// `WINDOWSTART` of a windowed key (BIGINT ms).
pub const WINDOWSTART: &str = "WINDOWSTART";
/// `WINDOWEND` of a windowed key (BIGINT ms).
pub const WINDOWEND: &str = "WINDOWEND";

/// Names no user column may take.
pub const RESERVED: [&str; 5] = [ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND];

/// What part of a record a column comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnKind {
    /// The record key (`KEY` / `PRIMARY KEY`).
    Key,
    /// The record value.
    Value,
    /// `HEADERS` (all headers) or `HEADER('k')` (the last header `k`).
    Header(Option<String>),
}

/// One column of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name, as normalised by the parser.
    pub name: String,
    /// Type.
    pub sql_type: SqlType,
    /// Key, value or header.
    pub kind: ColumnKind,
}

/// A source's columns in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogicalSchema {
    /// Every column.
    pub columns: Vec<Column>,
}

impl LogicalSchema {
    /// Key columns.
    pub fn key(&self) -> Vec<(String, SqlType)> {
        self.of(|k| matches!(k, ColumnKind::Key))
    }

    /// Value columns (record value fields only).
    pub fn value(&self) -> Vec<(String, SqlType)> {
        self.of(|k| matches!(k, ColumnKind::Value))
    }

    fn of(&self, pick: impl Fn(&ColumnKind) -> bool) -> Vec<(String, SqlType)> {
        self.columns
            .iter()
            .filter(|c| pick(&c.kind))
            .map(|c| (c.name.clone(), c.sql_type.clone()))
            .collect()
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Key columns first, then the others, as `SELECT *` and DESCRIBE list them.
    pub fn ordered(&self) -> Vec<&Column> {
        let mut out: Vec<&Column> = self
            .columns
            .iter()
            .filter(|c| c.kind == ColumnKind::Key)
            .collect();
        out.extend(self.columns.iter().filter(|c| c.kind != ColumnKind::Key));
        out
    }

    /// The Arrow schema of a scan of the source: key, value and header columns, then the
    /// pseudo columns (window bounds first when `windowed`).
    pub fn scan_schema(&self, windowed: bool) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .ordered()
            .iter()
            .map(|c| Field::new(&c.name, c.sql_type.to_arrow(), true))
            .collect();
        for (name, t) in pseudo_columns(windowed) {
            fields.push(Field::new(name, t.to_arrow(), true));
        }
        Arc::new(Schema::new(fields))
    }

    /// Formats the schema as ksqlDB does (`` `ID` BIGINT KEY, `NAME` STRING ``); `table` marks
    /// keys as PRIMARY KEY.
    pub fn display(&self, table: bool) -> String {
        self.ordered()
            .iter()
            .map(|c| {
                let suffix = match &c.kind {
                    ColumnKind::Key if table => " PRIMARY KEY".to_string(),
                    ColumnKind::Key => " KEY".to_string(),
                    ColumnKind::Value => String::new(),
                    ColumnKind::Header(None) => " HEADERS".to_string(),
                    ColumnKind::Header(Some(k)) => format!(" HEADER('{k}')"),
                };
                format!("`{}` {}{suffix}", c.name, c.sql_type)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for LogicalSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(false))
    }
}

/// The pseudo columns of a scan, in order.
pub fn pseudo_columns(windowed: bool) -> Vec<(&'static str, SqlType)> {
    let mut out = Vec::new();
    if windowed {
        out.push((WINDOWSTART, SqlType::Bigint));
        out.push((WINDOWEND, SqlType::Bigint));
    }
    out.push((ROWTIME, SqlType::Bigint));
    out.push((ROWPARTITION, SqlType::Int));
    out.push((ROWOFFSET, SqlType::Bigint));
    out
}

/// The type of header columns: `HEADERS` is `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`,
/// `HEADER('k')` is `BYTES`.
pub fn headers_type() -> SqlType {
    SqlType::Array(Box::new(SqlType::Struct(vec![
        ("KEY".into(), SqlType::String),
        ("VALUE".into(), SqlType::Bytes),
    ])))
}
