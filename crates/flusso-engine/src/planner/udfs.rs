//! Small scalar UDFs the planner needs for ksqlDB semantics DataFusion does not share.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

use crate::value::java_double_to_string;

/// `DOUBLE -> STRING` as Java writes doubles (`1.0`, `1.0E7`).
pub fn double_to_string() -> ScalarUDF {
    create_udf(
        "ksql_double_to_string",
        vec![DataType::Float64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let input = datafusion::arrow::compute::cast(&arrays[0], &DataType::Float64)?;
            let input = input
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| datafusion::error::DataFusionError::Internal("not f64".into()))?;
            let mut out = StringBuilder::with_capacity(input.len(), input.len() * 8);
            for i in 0..input.len() {
                if input.is_null(i) {
                    out.append_null();
                } else {
                    out.append_value(java_double_to_string(input.value(i)));
                }
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    )
}
