//! The generic row-at-a-time UDF and the helpers every function module uses.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{new_empty_array, Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DFResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::types::SqlType;

/// A function over one row's argument values. `Err` (or a panic-free failure) gives NULL.
pub(crate) type RowFn = dyn Fn(&[ScalarValue]) -> Result<ScalarValue, String> + Send + Sync;

/// The same function over whole columns, for the argument shapes it was written for (say, a
/// string column and constant options): `None` for any other shape, which then runs row by row.
/// It must give exactly what the row form gives, row for row.
pub(crate) type ColumnFn = dyn Fn(&[ColumnarValue]) -> Option<DFResult<ArrayRef>> + Send + Sync;

/// A scalar UDF evaluated row by row through a closure, with a return type fixed at planning.
pub(crate) struct RowUdf {
    name: String,
    signature: Signature,
    ret: DataType,
    strict: bool,
    f: Arc<RowFn>,
    columns: Option<Arc<ColumnFn>>,
}

impl fmt::Debug for RowUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowUdf")
            .field("name", &self.name)
            .field("ret", &self.ret)
            .finish()
    }
}

impl PartialEq for RowUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.ret == other.ret
            && self.strict == other.strict
            && Arc::ptr_eq(&self.f, &other.f)
    }
}

impl Eq for RowUdf {}

impl Hash for RowUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.ret.hash(state);
    }
}

/// The value `v` as a value of type `ret` (typed NULL for NULL).
pub(crate) fn conform(v: ScalarValue, ret: &DataType) -> DFResult<ScalarValue> {
    if v.is_null() {
        return ScalarValue::try_from(ret);
    }
    if &v.data_type() == ret {
        return Ok(v);
    }
    v.cast_to(ret)
}

impl ScalarUDFImpl for RowUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DFResult<DataType> {
        Ok(self.ret.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DFResult<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar && !args.args.is_empty() {
            1
        } else {
            args.number_rows
        };
        if let (false, Some(columns)) = (all_scalar, &self.columns) {
            if let Some(out) = columns(&args.args) {
                let out = out?;
                debug_assert_eq!(out.data_type(), &self.ret);
                return Ok(ColumnarValue::Array(out));
            }
        }
        let mut out = Vec::with_capacity(rows);
        let mut vals = Vec::with_capacity(args.args.len());
        for row in 0..rows {
            vals.clear();
            for a in &args.args {
                vals.push(match a {
                    ColumnarValue::Scalar(s) => s.clone(),
                    ColumnarValue::Array(arr) => ScalarValue::try_from_array(arr, row)?,
                });
            }
            let v = if self.strict && vals.iter().any(|v| v.is_null()) {
                ScalarValue::Null
            } else {
                (self.f)(&vals).unwrap_or(ScalarValue::Null)
            };
            out.push(conform(v, &self.ret).or_else(|_| ScalarValue::try_from(&self.ret))?);
        }
        if all_scalar && !args.args.is_empty() {
            return Ok(ColumnarValue::Scalar(
                out.pop()
                    .map_or_else(|| ScalarValue::try_from(&self.ret), Ok)?,
            ));
        }
        if out.is_empty() {
            return Ok(ColumnarValue::Array(new_empty_array(&self.ret)));
        }
        let arr = ScalarValue::iter_to_array(out)?;
        debug_assert_eq!(arr.len(), rows);
        Ok(ColumnarValue::Array(arr))
    }
}

/// A call being planned: the function name, argument expressions and their Arrow types.
pub(crate) struct Call {
    pub name: String,
    pub args: Vec<Expr>,
    pub types: Vec<DataType>,
}

/// The name ksqlDB registers a function under (as its error messages spell it).
fn ksql_name(name: &str) -> String {
    match name {
        "ABS" => "Abs".into(),
        "CEIL" => "Ceil".into(),
        "FLOOR" => "Floor".into(),
        "ROUND" => "Round".into(),
        "CHR" => "Chr".into(),
        "LPAD" => "LPad".into(),
        "RPAD" => "RPad".into(),
        "ARRAY_JOIN"
        | "ARRAY_LENGTH"
        | "ENTRIES"
        | "GENERATE_SERIES"
        | "IS_JSON_STRING"
        | "JSON_ARRAY_CONTAINS"
        | "JSON_ARRAY_LENGTH"
        | "JSON_CONCAT"
        | "JSON_ITEMS"
        | "JSON_KEYS"
        | "JSON_RECORDS"
        | "TO_JSON_STRING"
        | "ARRAY_CONTAINS"
        | "AS_MAP"
        | "IFNULL"
        | "COALESCE"
        | "NULLIF"
        | "UUID" => name.into(),
        _ => name.to_lowercase(),
    }
}

/// ksqlDB's spelling of an argument type in error messages.
pub(crate) fn type_name(t: &DataType) -> String {
    match SqlType::from_arrow(t) {
        Some(s) => s.to_string(),
        None => "null".into(),
    }
}

impl Call {
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// "Function 'x' does not accept parameters (A, B)."
    pub fn bad<T>(&self) -> Result<T, String> {
        let list = self.types.iter().map(type_name).collect::<Vec<_>>();
        Err(format!(
            "Function '{}' does not accept parameters ({}).",
            ksql_name(&self.name),
            list.join(", ")
        ))
    }

    /// Whether argument `i` exists and has one of the kinds, or is an untyped NULL.
    pub fn is(&self, i: usize, kind: Kind) -> bool {
        self.types
            .get(i)
            .is_some_and(|t| *t == DataType::Null || kind.matches(t))
    }

    /// Whether every argument matches the kinds given, in order.
    pub fn all(&self, kinds: &[Kind]) -> bool {
        self.len() == kinds.len() && kinds.iter().enumerate().all(|(i, k)| self.is(i, *k))
    }

    /// A row function over all arguments; NULL in any argument gives NULL.
    pub fn strict(
        &self,
        ret: DataType,
        f: impl Fn(&[ScalarValue]) -> Result<ScalarValue, String> + Send + Sync + 'static,
    ) -> Result<Expr, String> {
        Ok(self.expr(ret, true, Arc::new(f), None))
    }

    /// A row function over all arguments (NULL in any gives NULL), with a whole-column form
    /// for the shapes `columns` handles.
    pub fn strict_columns(
        &self,
        ret: DataType,
        f: impl Fn(&[ScalarValue]) -> Result<ScalarValue, String> + Send + Sync + 'static,
        columns: impl Fn(&[ColumnarValue]) -> Option<DFResult<ArrayRef>> + Send + Sync + 'static,
    ) -> Result<Expr, String> {
        Ok(self.expr(ret, true, Arc::new(f), Some(Arc::new(columns))))
    }

    /// A row function over all arguments that handles NULLs itself.
    pub fn lenient(
        &self,
        ret: DataType,
        f: impl Fn(&[ScalarValue]) -> Result<ScalarValue, String> + Send + Sync + 'static,
    ) -> Result<Expr, String> {
        Ok(self.expr(ret, false, Arc::new(f), None))
    }

    fn expr(
        &self,
        ret: DataType,
        strict: bool,
        f: Arc<RowFn>,
        columns: Option<Arc<ColumnFn>>,
    ) -> Expr {
        let volatility = Volatility::Immutable;
        udf_expr(
            &self.name,
            self.args.clone(),
            ret,
            strict,
            volatility,
            f,
            columns,
        )
    }
}

/// The expression calling a [`RowUdf`].
pub(crate) fn row_expr(
    name: &str,
    args: Vec<Expr>,
    ret: DataType,
    strict: bool,
    volatility: Volatility,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue, String> + Send + Sync + 'static,
) -> Expr {
    udf_expr(name, args, ret, strict, volatility, Arc::new(f), None)
}

fn udf_expr(
    name: &str,
    args: Vec<Expr>,
    ret: DataType,
    strict: bool,
    volatility: Volatility,
    f: Arc<RowFn>,
    columns: Option<Arc<ColumnFn>>,
) -> Expr {
    let signature = if args.is_empty() {
        Signature::nullary(volatility)
    } else {
        Signature::any(args.len(), volatility)
    };
    let udf = RowUdf {
        name: format!("ksql_{}", name.to_lowercase()),
        signature,
        ret,
        strict,
        f,
        columns,
    };
    ScalarUDF::new_from_impl(udf).call(args)
}

/// Argument `i` as a string column (`Utf8`), when it is one.
pub(crate) fn str_column(args: &[ColumnarValue], i: usize) -> Option<&StringArray> {
    match args.get(i)? {
        ColumnarValue::Array(a) => a.as_any().downcast_ref::<StringArray>(),
        ColumnarValue::Scalar(_) => None,
    }
}

/// Argument `i` as a constant, when it is one.
pub(crate) fn constant(args: &[ColumnarValue], i: usize) -> Option<&ScalarValue> {
    match args.get(i)? {
        ColumnarValue::Scalar(v) => Some(v),
        ColumnarValue::Array(_) => None,
    }
}

/// A string column mapped row by row into a new one: `f` writes a row's result into the
/// buffer and says whether it is non-null; nulls stay null.
pub(crate) fn map_strings(
    input: &StringArray,
    mut f: impl FnMut(&str, &mut String) -> bool,
) -> ArrayRef {
    let mut out = StringBuilder::with_capacity(input.len(), input.value_data().len());
    let mut buf = String::new();
    for v in input.iter() {
        match v {
            Some(x) => {
                buf.clear();
                if f(x, &mut buf) {
                    out.append_value(&buf);
                } else {
                    out.append_null();
                }
            }
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

/// Kinds of argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Bytes,
    /// INT (and narrower integers).
    Int,
    /// BIGINT.
    Bigint,
    /// INT or BIGINT.
    Integral,
    Double,
    Decimal,
    /// Any numeric type.
    Numeric,
    Bool,
    Date,
    Time,
    Timestamp,
    Array,
    Map,
    Struct,
    Any,
}

impl Kind {
    pub fn matches(self, t: &DataType) -> bool {
        use DataType as D;
        match self {
            Kind::Str => matches!(t, D::Utf8 | D::LargeUtf8 | D::Utf8View),
            Kind::Bytes => matches!(t, D::Binary | D::LargeBinary | D::BinaryView),
            Kind::Int => matches!(t, D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16),
            Kind::Bigint => matches!(t, D::Int64 | D::UInt32),
            Kind::Integral => Kind::Int.matches(t) || Kind::Bigint.matches(t),
            Kind::Double => matches!(t, D::Float16 | D::Float32 | D::Float64),
            Kind::Decimal => matches!(t, D::Decimal128(..)),
            Kind::Numeric => {
                Kind::Integral.matches(t) || Kind::Double.matches(t) || Kind::Decimal.matches(t)
            }
            Kind::Bool => matches!(t, D::Boolean),
            Kind::Date => matches!(t, D::Date32),
            Kind::Time => matches!(t, D::Time32(_) | D::Time64(_)),
            Kind::Timestamp => matches!(t, D::Timestamp(..)),
            Kind::Array => matches!(t, D::List(_) | D::LargeList(_) | D::FixedSizeList(..)),
            Kind::Map => matches!(t, D::Map(..)),
            Kind::Struct => matches!(t, D::Struct(_)),
            Kind::Any => true,
        }
    }
}

/// Text of a string value.
pub(crate) fn s(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

/// Bytes of a BYTES value.
pub(crate) fn b(v: &ScalarValue) -> Option<&[u8]> {
    match v {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => Some(b),
        _ => None,
    }
}

/// An integer value (any width), or a DATE/TIME/TIMESTAMP's number.
pub(crate) fn i(v: &ScalarValue) -> Option<i64> {
    Some(match v {
        ScalarValue::Int8(Some(x)) => *x as i64,
        ScalarValue::Int16(Some(x)) => *x as i64,
        ScalarValue::Int32(Some(x)) => *x as i64,
        ScalarValue::Int64(Some(x)) => *x,
        ScalarValue::UInt8(Some(x)) => *x as i64,
        ScalarValue::UInt16(Some(x)) => *x as i64,
        ScalarValue::UInt32(Some(x)) => *x as i64,
        ScalarValue::UInt64(Some(x)) => *x as i64,
        ScalarValue::Date32(Some(x)) => *x as i64,
        ScalarValue::Time32Millisecond(Some(x)) => *x as i64,
        ScalarValue::TimestampMillisecond(Some(x), _) => *x,
        _ => return None,
    })
}

/// A numeric value as a double.
pub(crate) fn f(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Float64(Some(x)) => Some(*x),
        ScalarValue::Float32(Some(x)) => Some(*x as f64),
        ScalarValue::Decimal128(Some(u), _, sc) => {
            crate::value::decimal_to_string(*u, *sc).parse().ok()
        }
        other => i(other).map(|x| x as f64),
    }
}

/// A STRING value.
pub(crate) fn utf8(x: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(x.into()))
}

/// The Arrow type of ARRAY<item>.
pub(crate) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(datafusion::arrow::datatypes::Field::new(
        "item", item, true,
    )))
}

/// The Arrow type of MAP<key, value> as types.rs lays it out.
pub(crate) fn map_of(key: &DataType, value: &DataType) -> DataType {
    match (SqlType::from_arrow(key), SqlType::from_arrow(value)) {
        (Some(k), Some(v)) => SqlType::Map(Box::new(k), Box::new(v)).to_arrow(),
        _ => SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)).to_arrow(),
    }
}

/// The element type of an ARRAY type (Null for an untyped NULL).
pub(crate) fn item_type(t: &DataType) -> DataType {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            f.data_type().clone()
        }
        _ => DataType::Null,
    }
}

/// The key and value types of a MAP type.
pub(crate) fn map_types(t: &DataType) -> Option<(DataType, DataType)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                Some((kv[0].data_type().clone(), kv[1].data_type().clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The ksqlDB normal form of a computed type: Utf8View → Utf8, Int8/16 → Int32 and so on.
pub(crate) fn normal(t: &DataType) -> DataType {
    SqlType::from_arrow(t).map_or_else(|| t.clone(), |s| s.to_arrow())
}

/// Whether an array `arr` is all nulls (helper for tests and checks).
pub(crate) fn all_null(arr: &dyn Array) -> bool {
    arr.null_count() == arr.len()
}
