//! The fast path for JSON values whose columns are all primitive (BOOLEAN, INT, BIGINT, DOUBLE,
//! STRING): records are parsed straight into Arrow builders, without an intermediate document.
//! A record the fast path cannot take (a string where a number is expected, ...) is left to the
//! general decoder, whose values are appended instead.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use datafusion::common::ScalarValue;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::types::SqlType;

/// A builder for one primitive column.
pub enum ColumnBuilder {
    /// BOOLEAN.
    Boolean(BooleanBuilder),
    /// INT.
    Int(Int32Builder),
    /// BIGINT.
    Bigint(Int64Builder),
    /// DOUBLE.
    Double(Float64Builder),
    /// STRING.
    String(StringBuilder),
}

impl ColumnBuilder {
    /// A builder for `t`, if it is primitive.
    pub fn new(t: &SqlType, capacity: usize) -> Option<ColumnBuilder> {
        Some(match t {
            SqlType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            SqlType::Int => ColumnBuilder::Int(Int32Builder::with_capacity(capacity)),
            SqlType::Bigint => ColumnBuilder::Bigint(Int64Builder::with_capacity(capacity)),
            SqlType::Double => ColumnBuilder::Double(Float64Builder::with_capacity(capacity)),
            SqlType::String => {
                ColumnBuilder::String(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            _ => return None,
        })
    }

    /// Appends a NULL.
    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Bigint(b) => b.append_null(),
            ColumnBuilder::Double(b) => b.append_null(),
            ColumnBuilder::String(b) => b.append_null(),
        }
    }

    /// Appends a value decoded by the general path (of this column's type).
    pub fn append_scalar(&mut self, v: &ScalarValue) {
        match (self, v) {
            (ColumnBuilder::Boolean(b), ScalarValue::Boolean(x)) => b.append_option(*x),
            (ColumnBuilder::Int(b), ScalarValue::Int32(x)) => b.append_option(*x),
            (ColumnBuilder::Bigint(b), ScalarValue::Int64(x)) => b.append_option(*x),
            (ColumnBuilder::Double(b), ScalarValue::Float64(x)) => b.append_option(*x),
            (ColumnBuilder::String(b), ScalarValue::Utf8(x)) => b.append_option(x.as_deref()),
            (me, _) => me.append_null(),
        }
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        use datafusion::arrow::array::ArrayBuilder;
        match self {
            ColumnBuilder::Boolean(b) => b.len(),
            ColumnBuilder::Int(b) => b.len(),
            ColumnBuilder::Bigint(b) => b.len(),
            ColumnBuilder::Double(b) => b.len(),
            ColumnBuilder::String(b) => b.len(),
        }
    }

    /// Drops rows past `len` (a record abandoned half-way).
    pub fn truncate(&mut self, len: usize) -> bool {
        self.len() == len
    }

    /// The finished column.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Bigint(b) => Arc::new(b.finish()),
            ColumnBuilder::Double(b) => Arc::new(b.finish()),
            ColumnBuilder::String(b) => Arc::new(b.finish()),
        }
    }
}

/// One value parsed for a column, before it is appended; strings borrow the record.
pub enum Cell<'de> {
    /// JSON null.
    Null,
    /// true / false.
    Bool(bool),
    /// An integer.
    I64(i64),
    /// A number with a fraction or exponent.
    F64(f64),
    /// A string.
    Str(Cow<'de, str>),
}

/// Parses one JSON object into cells by column (names matched exactly, then ignoring case).
/// `None` when the record is not a plain object of primitives (the caller falls back).
#[allow(clippy::type_complexity)]
pub fn parse_row<'de>(
    bytes: &'de [u8],
    names: &[String],
) -> Option<Option<Vec<Option<Cell<'de>>>>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut cells: Vec<Option<Cell<'de>>> = (0..names.len()).map(|_| None).collect();
    let result = RowSeed {
        names,
        cells: &mut cells,
    }
    .deserialize(&mut de);
    match result {
        Ok(true) if de.end().is_ok() => Some(Some(cells)),
        Ok(false) if de.end().is_ok() => Some(None),
        _ => None,
    }
}

/// Appends a parsed cell to a builder with ksqlDB's JSON coercions for the common cases;
/// `false` when the cell needs the general path.
pub fn fits(builder: &ColumnBuilder, cell: Option<&Cell<'_>>) -> bool {
    matches!(
        (builder, cell),
        (_, None | Some(Cell::Null))
            | (ColumnBuilder::Boolean(_), Some(Cell::Bool(_)))
            | (ColumnBuilder::Int(_), Some(Cell::I64(_)))
            | (ColumnBuilder::Bigint(_), Some(Cell::I64(_)))
            | (ColumnBuilder::Double(_), Some(Cell::F64(_) | Cell::I64(_)))
            | (ColumnBuilder::String(_), Some(Cell::Str(_)))
    )
}

/// Appends a cell that [`fits`].
pub fn append(builder: &mut ColumnBuilder, cell: Option<&Cell<'_>>) {
    match (builder, cell) {
        (ColumnBuilder::Boolean(b), Some(Cell::Bool(x))) => b.append_value(*x),
        (ColumnBuilder::Int(b), Some(Cell::I64(x))) => b.append_value(*x as i32),
        (ColumnBuilder::Bigint(b), Some(Cell::I64(x))) => b.append_value(*x),
        (ColumnBuilder::Double(b), Some(Cell::F64(x))) => b.append_value(*x),
        (ColumnBuilder::Double(b), Some(Cell::I64(x))) => b.append_value(*x as f64),
        (ColumnBuilder::String(b), Some(Cell::Str(s))) => b.append_value(s),
        (b, _) => b.append_null(),
    }
}

struct RowSeed<'a, 'de> {
    names: &'a [String],
    cells: &'a mut Vec<Option<Cell<'de>>>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, 'de> {
    /// `true` for an object, `false` for JSON null.
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(idx) = map.next_key_seed(KeySeed { names: self.names })? {
            match idx {
                Some(i) => {
                    let cell = map.next_value_seed(CellSeed)?;
                    self.cells[i] = Some(cell);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }
}

/// Finds a key's column without allocating.
struct KeySeed<'a> {
    names: &'a [String],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self
            .names
            .iter()
            .position(|n| n.as_str() == key)
            .or_else(|| self.names.iter().position(|n| n.eq_ignore_ascii_case(key))))
    }
}

struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = Cell<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell<'de>, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a primitive JSON value")
    }

    fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Cell<'de>, E> {
        Ok(Cell::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Cell<'de>, E> {
        Ok(Cell::I64(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cell<'de>, E> {
        i64::try_from(v)
            .map(Cell::I64)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Cell<'de>, E> {
        Ok(Cell::F64(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(v)))
    }

    /// Numbers arrive as a one-entry map when serde_json keeps their exact text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell<'de>, A::Error> {
        use serde::de::Error;
        let Some(key) = map.next_key::<Cow<'de, str>>()? else {
            return Err(A::Error::custom("nested object"));
        };
        if key != NUMBER_TOKEN {
            return Err(A::Error::custom("nested object"));
        }
        let text: Cow<'de, str> = map.next_value()?;
        if text.contains(['.', 'e', 'E']) {
            text.parse::<f64>()
                .map(Cell::F64)
                .map_err(|_| A::Error::custom("bad number"))
        } else {
            text.parse::<i64>()
                .map(Cell::I64)
                .map_err(|_| A::Error::custom("bad number"))
        }
    }
}
