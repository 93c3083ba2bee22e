//! ksqlDB's built-in scalar functions, as DataFusion expressions.

use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;

/// Builds the expression calling the ksqlDB scalar function `name` (upper case) on `args`.
pub(crate) fn scalar_call(name: &str, args: Vec<Expr>, schema: &DFSchema) -> Result<Expr, String> {
    let _ = (args, schema);
    Err(format!("Can't find any functions with the name '{name}'"))
}

/// Every scalar function name known.
pub(crate) fn names() -> Vec<&'static str> {
    vec![]
}
