//! ksqlDB's aggregate functions (UDAFs): COUNT, SUM, AVG, MIN, MAX, TOPK, COLLECT_LIST, ... as
//! accumulators over single values. An aggregation keeps one accumulator per aggregate call per
//! group; a table aggregation undoes the previous row of a key before adding its new one, and
//! session windows merge accumulators when sessions join.
//!
//! Entry points: [`is_aggregate`] (is this function name an aggregate?) and [`resolve`] (the
//! function for these argument types, with ksqlDB's error when it has none).

use std::any::Any;
use std::cmp::Ordering;
use std::fmt::Debug;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use crate::types::SqlType;
use crate::value::{from_json, list_value, null_of, to_json};

mod attr;
mod collect;
pub mod columnar;
mod count;
mod minmax;
mod offset;
mod stats;
mod sum;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stats;
mod topk;

/// The running state of one aggregate call for one group.
pub trait Accumulator: Send + Sync + Debug {
    /// Adds one input row. `args` holds every argument of the call, literal ones included, in
    /// call order (empty for `COUNT(*)`).
    fn add(&mut self, args: &[ScalarValue]);
    /// Removes a row added before (table aggregations; only called when the function is
    /// [`AggregateFunction::undoable`]).
    fn undo(&mut self, args: &[ScalarValue]);
    /// Folds in another accumulator of the same function (session windows merging); `other`
    /// holds the earlier rows when the two are ordered.
    fn merge(&mut self, other: &dyn Accumulator);
    /// The aggregate's current value, of [`AggregateFunction::return_type`].
    fn result(&self) -> ScalarValue;
    /// The state as JSON, for the changelog.
    fn state(&self) -> Json;
    /// Replaces the state with one [`Accumulator::state`] returned.
    fn restore(&mut self, state: &Json) -> Result<(), String>;
    /// For downcasting in [`Accumulator::merge`].
    fn as_any(&self) -> &dyn Any;
    /// The error ksqlDB would raise for the last row added (e.g. SUM's `Numeric field
    /// overflow`), cleared by the next [`Accumulator::add`]; the row was not applied.
    fn error(&self) -> Option<String> {
        None
    }
}

/// An aggregate function resolved for its argument types.
#[derive(Clone)]
pub struct AggregateFunction {
    /// The function's name, upper case.
    pub name: String,
    /// The type of its results.
    pub return_type: SqlType,
    /// Whether it can undo a row (table aggregations refuse functions that cannot).
    pub undoable: bool,
    /// Its vectorised form, when it has one (COUNT, SUM, AVG, MIN, MAX over numbers).
    pub columnar: Option<columnar::ColumnarKind>,
    make: Arc<dyn Fn() -> Box<dyn Accumulator> + Send + Sync>,
}

impl Debug for AggregateFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.return_type)
    }
}

impl AggregateFunction {
    /// A function whose accumulators `make` builds.
    pub fn new(
        name: &str,
        return_type: SqlType,
        undoable: bool,
        make: impl Fn() -> Box<dyn Accumulator> + Send + Sync + 'static,
    ) -> AggregateFunction {
        AggregateFunction {
            name: name.to_string(),
            return_type,
            undoable,
            columnar: None,
            make: Arc::new(make),
        }
    }

    /// A fresh accumulator (no rows).
    pub fn create(&self) -> Box<dyn Accumulator> {
        (self.make)()
    }

    /// This function with the settings a query's properties give it (`prop` looks one up):
    /// `ksql.functions.collect_list.limit` and `ksql.functions.collect_set.limit`; `None` when
    /// none applies.
    pub fn configured(&self, prop: &dyn Fn(&str) -> Option<String>) -> Option<AggregateFunction> {
        match self.name.as_str() {
            "COLLECT_LIST" | "COLLECT_SET" => {
                let name = format!("ksql.functions.{}.limit", self.name.to_lowercase());
                let limit = prop(&name)?.trim().parse::<i64>().ok()?;
                let SqlType::Array(t) = &self.return_type else {
                    return None;
                };
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                collect::collect(std::slice::from_ref(t), &self.name, limit).ok()
            }
            _ => None,
        }
    }

    /// Whether ksqlDB keeps this function's intermediate value as an ARRAY, MAP or STRUCT
    /// (AVG, TOPK, COLLECT_LIST, ...), which DELIMITED cannot hold: ksqlDB then refuses the
    /// query with "One of the functions used in the statement has an intermediate type that
    /// the value format can not handle. Please remove the function or change the format."
    pub fn intermediate_is_nested(&self) -> bool {
        !matches!(
            self.name.as_str(),
            "COUNT" | "SUM" | "SUM_LIST" | "MIN" | "MAX"
        )
    }
}

/// One argument of an aggregate call: its type, and its value when it is a literal.
#[derive(Debug, Clone)]
pub struct AggregateArg {
    /// The argument's type.
    pub sql_type: SqlType,
    /// Its value when the argument is a literal (TOPK's `k`, LATEST_BY_OFFSET's `n`, ...).
    pub literal: Option<ScalarValue>,
}

/// Whether `name` (any case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Names of the aggregate functions, for SHOW FUNCTIONS.
pub const NAMES: &[&str] = &[
    "ATTR",
    "AVG",
    "COLLECT_LIST",
    "COLLECT_SET",
    "CORRELATION",
    "COUNT",
    "COUNT_DISTINCT",
    "EARLIEST_BY_OFFSET",
    "HISTOGRAM",
    "LATEST_BY_OFFSET",
    "MAX",
    "MIN",
    "STDDEV_SAMP",
    "STDDEV_SAMPLE",
    "SUM",
    "SUM_LIST",
    "TOPK",
    "TOPKDISTINCT",
];

/// The aggregate function `name` (any case) for `args`, or ksqlDB's error message.
pub fn resolve(name: &str, args: &[AggregateArg]) -> Result<AggregateFunction, String> {
    resolve_call(name, args, &[])
}

/// [`resolve`], given also the SQL text of each argument, which ksqlDB quotes when an argument
/// that must be a literal (TOPK's `k`, EARLIEST_BY_OFFSET's `n`, ...) is not one.
pub fn resolve_call(
    name: &str,
    args: &[AggregateArg],
    texts: &[String],
) -> Result<AggregateFunction, String> {
    let upper = name.to_ascii_uppercase();
    let types: Vec<SqlType> = args.iter().map(|a| a.sql_type.clone()).collect();
    let resolved = match upper.as_str() {
        "COUNT" => count::count(&types),
        "COUNT_DISTINCT" => count::count_distinct(&types),
        "SUM" => sum::sum(&types),
        "SUM_LIST" => sum::sum_list(&types),
        "AVG" => sum::avg(&types),
        "MIN" | "MAX" => minmax::min_max(&upper, &types),
        "TOPK" => topk::topk(args),
        "TOPKDISTINCT" => topk::topk_distinct(args),
        "COLLECT_LIST" => collect::collect_list(&types),
        "COLLECT_SET" => collect::collect_set(&types),
        "HISTOGRAM" => collect::histogram(&types),
        "EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET" => offset::by_offset(&upper, args),
        "STDDEV_SAMP" | "STDDEV_SAMPLE" => stats::stddev(&upper, &types),
        "CORRELATION" => stats::correlation(&types),
        "ATTR" => attr::attr(&types),
        _ => Err(Fail::NoMatch),
    };
    let resolved = resolved.map(|mut f| {
        f.columnar = columnar::kind(&upper, &types);
        f
    });
    resolved.map_err(|fail| match fail {
        Fail::NoMatch => format!(
            "Function '{}' does not accept parameters ({}).",
            display_name(&upper),
            types
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Fail::NotLiteral(i) => {
            let text = texts.get(i).map(String::as_str).unwrap_or("");
            format!(
                "Parameter {} passed to function {upper} must be a literal constant, but was \
                 expression: '{text}'",
                i + 1
            )
        }
        Fail::Message(m) => m,
    })
}

/// The name ksqlDB's error messages use: the one its UDAF annotation declares.
fn display_name(upper: &str) -> &str {
    match upper {
        "AVG" => "avg",
        "SUM_LIST" => "sum_list",
        "COLLECT_LIST" => "collect_list",
        "COLLECT_SET" => "collect_set",
        "HISTOGRAM" => "histogram",
        "CORRELATION" => "correlation",
        other => other,
    }
}

/// Why [`resolve`] found no function.
#[derive(Debug)]
pub(crate) enum Fail {
    /// No signature takes these argument types.
    NoMatch,
    /// The argument at this index must be a literal.
    NotLiteral(usize),
    /// Any other message.
    Message(String),
}

/// A function of one of the resolvers.
pub(crate) type Resolved = Result<AggregateFunction, Fail>;

/// The value of a literal INT argument (`Err` when it is not a literal).
pub(crate) fn int_literal(args: &[AggregateArg], i: usize) -> Result<i32, Fail> {
    match args.get(i).and_then(|a| a.literal.as_ref()) {
        None => Err(Fail::NotLiteral(i)),
        Some(ScalarValue::Int32(Some(v))) => Ok(*v),
        Some(ScalarValue::Int64(Some(v))) => {
            i32::try_from(*v).map_err(|_| Fail::Message(FACTORY_FAILED.into()))
        }
        Some(_) => Err(Fail::Message(FACTORY_FAILED.into())),
    }
}

/// The value of a literal BOOLEAN argument (`Err` when it is not a literal).
pub(crate) fn bool_literal(args: &[AggregateArg], i: usize) -> Result<bool, Fail> {
    match args.get(i).and_then(|a| a.literal.as_ref()) {
        None => Err(Fail::NotLiteral(i)),
        Some(ScalarValue::Boolean(Some(v))) => Ok(*v),
        Some(_) => Err(Fail::Message(FACTORY_FAILED.into())),
    }
}

/// ksqlDB's message when a UDAF factory throws (e.g. on a NULL literal).
pub(crate) const FACTORY_FAILED: &str = "Failed to invoke UDAF factory method";

/// `other` as the accumulator type `T`.
pub(crate) fn downcast<T: 'static>(other: &dyn Accumulator) -> Option<&T> {
    other.as_any().downcast_ref::<T>()
}

/// `v` as a value of `t`: a typed NULL when it is null, `None` when it has another type (the
/// row is then ignored).
pub(crate) fn coerce(v: &ScalarValue, t: &SqlType) -> Option<ScalarValue> {
    if v.is_null() {
        return Some(null_of(t));
    }
    let arrow = t.to_arrow();
    let dt = v.data_type();
    if dt == arrow {
        return Some(v.clone());
    }
    match (t, v) {
        // Another scale: rescale (rounding half up like ksqlDB's casts).
        (SqlType::Decimal(p, s), ScalarValue::Decimal128(Some(u), _, vs)) => {
            rescale(*u, *vs, *s, *p).map(|u| ScalarValue::Decimal128(Some(u), *p, *s))
        }
        _ if SqlType::from_arrow(&dt).as_ref() == Some(t) || same_shape(t, v) => {
            v.cast_to(&arrow).ok()
        }
        _ => None,
    }
}

/// Nested values whose Arrow field names or nullability differ from the canonical layout.
fn same_shape(t: &SqlType, v: &ScalarValue) -> bool {
    matches!(
        (t, v),
        (SqlType::Array(_), ScalarValue::List(_))
            | (SqlType::Map(..), ScalarValue::Map(_))
            | (SqlType::Struct(_), ScalarValue::Struct(_))
    )
}

/// An unscaled decimal at scale `from` rescaled to `to` (half up); `None` when it overflows
/// `precision`.
pub(crate) fn rescale(u: i128, from: i8, to: i8, precision: u8) -> Option<i128> {
    let shift = (to as i32 - from as i32).unsigned_abs();
    let factor = 10i128.checked_pow(shift)?;
    let u = if to >= from {
        u.checked_mul(factor)?
    } else {
        let (q, r) = (u / factor, u % factor);
        if r.unsigned_abs() * 2 >= factor.unsigned_abs() {
            q + u.signum()
        } else {
            q
        }
    };
    (u.unsigned_abs() < 10u128.checked_pow(precision as u32)?).then_some(u)
}

/// Java's `compareTo` of two non-null values of one comparable type (numbers, DECIMAL, STRING
/// by UTF-16 units, BYTES by signed bytes, DATE, TIME, TIMESTAMP); `None` for other values.
pub(crate) fn compare(a: &ScalarValue, b: &ScalarValue) -> Option<Ordering> {
    use ScalarValue as S;
    Some(match (a, b) {
        (S::Int32(Some(x)), S::Int32(Some(y))) => x.cmp(y),
        (S::Int64(Some(x)), S::Int64(Some(y))) => x.cmp(y),
        (S::Float64(Some(x)), S::Float64(Some(y))) => java_double_cmp(*x, *y),
        (S::Decimal128(Some(x), _, sx), S::Decimal128(Some(y), _, sy)) if sx == sy => x.cmp(y),
        (S::Utf8(Some(x)), S::Utf8(Some(y))) => x.encode_utf16().cmp(y.encode_utf16()),
        (S::Binary(Some(x)), S::Binary(Some(y))) => {
            x.iter().map(|b| *b as i8).cmp(y.iter().map(|b| *b as i8))
        }
        (S::Date32(Some(x)), S::Date32(Some(y))) => x.cmp(y),
        (S::Time32Millisecond(Some(x)), S::Time32Millisecond(Some(y))) => x.cmp(y),
        (S::TimestampMillisecond(Some(x), _), S::TimestampMillisecond(Some(y), _)) => x.cmp(y),
        _ => return None,
    })
}

/// Java's `Double.compare`: -0.0 below 0.0, NaN above everything.
fn java_double_cmp(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => x.total_cmp(&y),
    }
}

/// Whether ksqlDB's comparable aggregates (MIN, MAX, TOPKDISTINCT) take this type.
pub(crate) fn is_comparable(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Int
            | SqlType::Bigint
            | SqlType::Double
            | SqlType::Decimal(..)
            | SqlType::String
            | SqlType::Bytes
            | SqlType::Date
            | SqlType::Time
            | SqlType::Timestamp
    )
}

/// An ARRAY of `element` (NULL if the items do not fit, which valid input never causes).
pub(crate) fn array_of(element: &SqlType, items: Vec<ScalarValue>) -> ScalarValue {
    list_value(element, items)
        .unwrap_or_else(|_| null_of(&SqlType::Array(Box::new(element.clone()))))
}

/// A double as JSON state (non-finite values as text).
pub(crate) fn f64_json(x: f64) -> Json {
    serde_json::Number::from_f64(x)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(x.to_string()))
}

/// A double from [`f64_json`].
pub(crate) fn json_f64(j: &Json) -> Option<f64> {
    match j {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Values as a JSON array, for state.
pub(crate) fn values_json<'a>(values: impl IntoIterator<Item = &'a ScalarValue>) -> Json {
    Json::Array(values.into_iter().map(to_json).collect())
}

/// Values of type `t` from [`values_json`].
pub(crate) fn json_values(j: &Json, t: &SqlType) -> Result<Vec<ScalarValue>, String> {
    j.as_array()
        .ok_or("bad aggregate state")?
        .iter()
        .map(|v| from_json(v, t))
        .collect()
}

/// A field of a JSON state object.
pub(crate) fn field<'a>(state: &'a Json, name: &str) -> Result<&'a Json, String> {
    state
        .get(name)
        .ok_or_else(|| format!("bad aggregate state: no {name}"))
}
