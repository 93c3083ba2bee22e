//! ksqlDB's test-only functions that conformance cases call, registered for the runner only.

use std::sync::Arc;

use datafusion::arrow::array::{new_empty_array, Array, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::DataFusionError;
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};

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
    flusso_engine::register_function("BAD_UDF", ScalarUDF::new_from_impl(BadUdf::new()));
}

/// `BAD_UDF(throw BOOLEAN)`: 0, or a failure when `throw` is true; `BAD_UDF(x INT)`: always a
/// failure (a STRING never returned).
#[derive(Debug, PartialEq, Eq, Hash)]
struct BadUdf {
    signature: Signature,
}

impl BadUdf {
    fn new() -> BadUdf {
        BadUdf {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Int32]),
                ],
                // Volatile: evaluated per row, never folded at planning time.
                Volatility::Volatile,
            ),
        }
    }
}

impl ScalarUDFImpl for BadUdf {
    fn name(&self) -> &str {
        "BAD_UDF"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(match arg_types.first() {
            Some(DataType::Int32) => DataType::Utf8,
            _ => DataType::Int32,
        })
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(throw) = arrays[0].as_any().downcast_ref::<BooleanArray>() else {
            if arrays[0].is_empty() {
                return Ok(ColumnarValue::Array(new_empty_array(&DataType::Utf8)));
            }
            return Err(DataFusionError::Execution("boom!".into()));
        };
        if (0..throw.len()).any(|i| throw.is_valid(i) && throw.value(i)) {
            return Err(DataFusionError::Execution(
                "BAD_UDF was asked to fail".into(),
            ));
        }
        Ok(ColumnarValue::Array(Arc::new(
            datafusion::arrow::array::Int32Array::from(vec![0; throw.len()]),
        )))
    }
}
