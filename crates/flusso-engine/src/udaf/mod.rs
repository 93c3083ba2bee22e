//! ksqlDB's aggregate functions (UDAFs): COUNT, SUM, AVG, MIN, MAX, TOPK, COLLECT_LIST, ... as
//! accumulators over single values. An aggregation keeps one accumulator per aggregate call per
//! group; a table aggregation undoes the previous row of a key before adding its new one, and
//! session windows merge accumulators when sessions join.
//!
//! Entry points: [`is_aggregate`] (is this function name an aggregate?) and [`resolve`] (the
//! function for these argument types, with ksqlDB's error when it has none).

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use crate::types::SqlType;

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
            make: Arc::new(make),
        }
    }

    /// A fresh accumulator (no rows).
    pub fn create(&self) -> Box<dyn Accumulator> {
        (self.make)()
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
pub const NAMES: &[&str] = &["COUNT", "SUM"];

/// The aggregate function `name` (any case) for `args`, or ksqlDB's error message.
pub fn resolve(name: &str, args: &[AggregateArg]) -> Result<AggregateFunction, String> {
    let upper = name.to_ascii_uppercase();
    match upper.as_str() {
        "COUNT" => Ok(AggregateFunction::new(
            "COUNT",
            SqlType::Bigint,
            true,
            || Box::new(Count(0)),
        )),
        _ => Err(format!(
            "Function '{upper}' does not accept parameters ({}).",
            args.iter()
                .map(|a| a.sql_type.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `COUNT(*)`, `COUNT(x)`: rows, or rows where `x` is not null.
#[derive(Debug)]
struct Count(i64);

impl Accumulator for Count {
    fn add(&mut self, args: &[ScalarValue]) {
        if args.first().is_none_or(|a| !a.is_null()) {
            self.0 += 1;
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if args.first().is_none_or(|a| !a.is_null()) {
            self.0 -= 1;
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = other.as_any().downcast_ref::<Count>() {
            self.0 += o.0;
        }
    }
    fn result(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.0))
    }
    fn state(&self) -> Json {
        Json::from(self.0)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.0 = state.as_i64().ok_or("bad COUNT state")?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
