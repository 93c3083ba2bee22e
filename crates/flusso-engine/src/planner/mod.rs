//! From statements to plans: expressions ([`expr`]) and stateless queries ([`select`]).

pub mod aggregate;
pub mod expr;
pub mod join;
pub mod registry;
pub mod select;
pub mod statement_text;
pub mod udfs;

use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

use crate::error::Result;

/// The DataFusion session used to coerce, simplify and compile expressions.
pub fn session() -> &'static SessionContext {
    static SESSION: OnceLock<SessionContext> = OnceLock::new();
    SESSION.get_or_init(SessionContext::new)
}

/// Compiles a logical expression over `schema` into a physical one (type coercion included).
pub fn physical(expr: Expr, schema: &SchemaRef) -> Result<Arc<dyn PhysicalExpr>> {
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    Ok(session().create_physical_expr(expr, &df_schema)?)
}
