//! ksqlDB's test-only functions that conformance cases call, registered for the runner only.

use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::DataFusionError;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};

/// `WHENCONDITION(value BOOLEAN, ok BOOLEAN)` and `WHENRESULT(value INT, ok BOOLEAN)`: return
/// `value`, and fail when evaluated on a row whose `ok` is false (the cases check that CASE
/// evaluates its branches lazily).
pub fn register() {
    for (name, t) in [
        ("WHENCONDITION", DataType::Boolean),
        ("WHENRESULT", DataType::Int32),
    ] {
        let udf = create_udf(
            name,
            vec![t.clone(), DataType::Boolean],
            t,
            // Volatile: evaluated per row, never folded at planning time.
            Volatility::Volatile,
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                let ok = arrays[1]
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| DataFusionError::Execution("expected BOOLEAN".into()))?;
                if (0..ok.len()).any(|i| ok.is_valid(i) && !ok.value(i)) {
                    return Err(DataFusionError::Execution(format!(
                        "{name} was evaluated where it should not be"
                    )));
                }
                Ok(ColumnarValue::Array(Arc::clone(&arrays[0])))
            }),
        );
        flusso_engine::register_function(name, udf);
    }
    // `BAD_UDF(throw BOOLEAN)`: 0, or a failure when `throw` is true.
    let udf = create_udf(
        "BAD_UDF",
        vec![DataType::Boolean],
        DataType::Int32,
        Volatility::Volatile,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let throw = arrays[0]
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| DataFusionError::Execution("expected BOOLEAN".into()))?;
            if (0..throw.len()).any(|i| throw.is_valid(i) && throw.value(i)) {
                return Err(DataFusionError::Execution(
                    "BAD_UDF was asked to fail".into(),
                ));
            }
            Ok(ColumnarValue::Array(Arc::new(
                datafusion::arrow::array::Int32Array::from(vec![0; throw.len()]),
            )))
        }),
    );
    flusso_engine::register_function("BAD_UDF", udf);
}
