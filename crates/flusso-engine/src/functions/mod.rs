//! ksqlDB's built-in scalar functions, as DataFusion expressions.
//!
//! Most functions are row-at-a-time closures over [`ScalarValue`]s wrapped in a generic
//! [`udf::RowUdf`]: the argument types are checked and the return type fixed when the call is
//! planned, so each function follows ksqlDB's Java implementation closely (null handling,
//! 1-based indexes, Java string semantics). A failure while evaluating a row gives NULL, as
//! ksqlDB logs the error and writes NULL for the expression.

pub(crate) mod catalog;
mod collections;
mod conditional;
mod datetime;
mod json;
mod math;
mod string;
#[cfg(test)]
mod tests;
mod text;
mod udf;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::logical_expr::{Expr, ExprSchemable};

pub(crate) use udf::Call;

/// Builds the expression calling the ksqlDB scalar function `name` (upper case) on `args`.
pub(crate) fn scalar_call(name: &str, args: Vec<Expr>, schema: &DFSchema) -> Result<Expr, String> {
    let types = args
        .iter()
        .map(|a| a.get_type(schema).map_err(|e| e.to_string()))
        .collect::<Result<Vec<DataType>, String>>()?;
    let name = name.to_uppercase();
    let call = Call {
        name: name.clone(),
        args,
        types,
    };
    for build in [
        string::build,
        conditional::build,
        math::build,
        json::build,
        collections::build,
        datetime::build,
    ] {
        if let Some(result) = build(&name, &call) {
            return result;
        }
    }
    Err(format!("Can't find any functions with the name '{name}'"))
}

/// Every scalar function name known, upper case, sorted (for SHOW FUNCTIONS and completion).
pub(crate) fn names() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = [
        string::NAMES,
        text::NAMES,
        conditional::NAMES,
        math::NAMES,
        json::NAMES,
        collections::NAMES,
        datetime::NAMES,
    ]
    .concat();
    all.sort_unstable();
    all.dedup();
    all
}

/// The higher-order functions over arrays, which the planner builds from their lambda argument
/// (`TRANSFORM(arr, x => x + 1)`), so [`scalar_call`] never sees them.
pub(crate) const LAMBDA_NAMES: &[&str] = &["FILTER", "TRANSFORM"];

/// The table functions, which the planner expands into one row per element.
pub(crate) const TABLE_NAMES: &[&str] = &["EXPLODE"];
