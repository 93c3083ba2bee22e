//! ksqlDB's SQL types, resolved (named types expanded), and their Arrow layout.
//!
//! | SQL | Arrow |
//! |---|---|
//! | BOOLEAN | Boolean |
//! | INT | Int32 |
//! | BIGINT | Int64 |
//! | DOUBLE | Float64 |
//! | DECIMAL(p, s) | Decimal128(p, s) |
//! | STRING | Utf8 |
//! | BYTES | Binary |
//! | DATE | Date32 (days) |
//! | TIME | Time32(Millisecond) |
//! | TIMESTAMP | Timestamp(Millisecond, no zone) |
//! | ARRAY<T> | List(item: T, nullable) |
//! | MAP<K, V> | Map(entries: Struct(key: K not null, value: V nullable), unsorted) |
//! | STRUCT<f T, ...> | Struct(f: T nullable, ...) |

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::error::{EngineError, Result};

/// A resolved ksqlDB type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `BOOLEAN`.
    Boolean,
    /// `INT`.
    Int,
    /// `BIGINT`.
    Bigint,
    /// `DOUBLE`.
    Double,
    /// `DECIMAL(precision, scale)`.
    Decimal(u8, i8),
    /// `STRING`.
    String,
    /// `BYTES`.
    Bytes,
    /// `DATE`.
    Date,
    /// `TIME`.
    Time,
    /// `TIMESTAMP`.
    Timestamp,
    /// `ARRAY<T>`.
    Array(Box<SqlType>),
    /// `MAP<K, V>`.
    Map(Box<SqlType>, Box<SqlType>),
    /// `STRUCT<name T, ...>`.
    Struct(Vec<(String, SqlType)>),
}

impl SqlType {
    /// Whether this type is or holds a MAP.
    pub fn contains_map(&self) -> bool {
        match self {
            SqlType::Map(..) => true,
            SqlType::Array(e) => e.contains_map(),
            SqlType::Struct(fields) => fields.iter().any(|(_, t)| t.contains_map()),
            _ => false,
        }
    }

    /// Resolves a parsed type, expanding names declared with `CREATE TYPE`.
    pub fn from_ast(
        t: &flusso_sql::ast::DataType,
        types: &HashMap<String, SqlType>,
    ) -> Result<SqlType> {
        use flusso_sql::ast::DataType as A;
        Ok(match t {
            A::Boolean => SqlType::Boolean,
            A::Int => SqlType::Int,
            A::Bigint => SqlType::Bigint,
            A::Double => SqlType::Double,
            A::Decimal { precision, scale } => {
                if *precision == 0 || *precision > 38 {
                    return Err(EngineError::statement(format!(
                        "DECIMAL precision must be between 1 and 38: {precision}"
                    )));
                }
                if scale > precision {
                    return Err(EngineError::statement(format!(
                        "DECIMAL precision must be >= scale: DECIMAL({precision}, {scale})"
                    )));
                }
                SqlType::Decimal(*precision as u8, *scale as i8)
            }
            A::String => SqlType::String,
            A::Bytes => SqlType::Bytes,
            A::Date => SqlType::Date,
            A::Time => SqlType::Time,
            A::Timestamp => SqlType::Timestamp,
            A::Array(e) => SqlType::Array(Box::new(SqlType::from_ast(e, types)?)),
            A::Map(k, v) => SqlType::Map(
                Box::new(SqlType::from_ast(k, types)?),
                Box::new(SqlType::from_ast(v, types)?),
            ),
            A::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| Ok((f.name.clone(), SqlType::from_ast(&f.data_type, types)?)))
                    .collect::<Result<_>>()?,
            ),
            A::Named(name) => types
                .get(name)
                .or_else(|| types.get(&name.to_uppercase()))
                .cloned()
                .ok_or_else(|| EngineError::statement(format!("Unknown type: {name}")))?,
        })
    }

    /// The Arrow type holding values of this type.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::Bigint => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Array(e) => DataType::List(Arc::new(Field::new("item", e.to_arrow(), true))),
            SqlType::Map(k, v) => DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k.to_arrow(), false),
                        Field::new("value", v.to_arrow(), true),
                    ])),
                    false,
                )),
                false,
            ),
            SqlType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(n, t)| Field::new(n, t.to_arrow(), true))
                    .collect::<Fields>(),
            ),
        }
    }

    /// The SQL type of an Arrow type computed by an expression; `None` when ksqlDB has no
    /// equivalent. Narrow integers widen to INT, wide strings to STRING.
    pub fn from_arrow(t: &DataType) -> Option<SqlType> {
        Some(match t {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 => SqlType::Int,
            DataType::UInt8 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => SqlType::Bigint,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s) => SqlType::Decimal(*p, *s),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => SqlType::Bytes,
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::FixedSizeList(f, _) => {
                SqlType::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                    Box::new(SqlType::from_arrow(kv[0].data_type())?),
                    Box::new(SqlType::from_arrow(kv[1].data_type())?),
                ),
                _ => return None,
            },
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| Some((f.name().clone(), SqlType::from_arrow(f.data_type())?)))
                    .collect::<Option<_>>()?,
            ),
            // An untyped NULL (e.g. `SELECT NULL`) has no ksqlDB type; callers decide.
            _ => return None,
        })
    }

    /// Whether the type is numeric (INT, BIGINT, DOUBLE, DECIMAL).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal(..)
        )
    }

    /// Whether the type is ARRAY, MAP or STRUCT.
    pub fn is_nested(&self) -> bool {
        matches!(
            self,
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        )
    }
}

impl fmt::Display for SqlType {
    /// ksqlDB's spelling, as `DESCRIBE` and schemas show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(e) => write!(f, "ARRAY<{e}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{n}` {t}")?;
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_round_trip() {
        let t = SqlType::Struct(vec![
            ("A".into(), SqlType::Array(Box::new(SqlType::Decimal(4, 2)))),
            (
                "B".into(),
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Timestamp)),
            ),
        ]);
        assert_eq!(SqlType::from_arrow(&t.to_arrow()), Some(t.clone()));
        assert_eq!(
            t.to_string(),
            "STRUCT<`A` ARRAY<DECIMAL(4, 2)>, `B` MAP<STRING, TIMESTAMP>>"
        );
    }
}
